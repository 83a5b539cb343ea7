//! Linux sysfs reader for USB devices (`/sys/bus/usb/devices`): ids, strings, speed, port path,
//! interfaces with their bound driver and tty, all without opening a device.
//!
//! The root directory is a parameter so tests can point it at a fake tree.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::enumerate::UsbInterfaceInfo;

/// Where Linux lists USB devices.
pub(crate) const USB_DEVICES: &str = "/sys/bus/usb/devices";

/// One USB device as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SysUsbDevice {
    /// Directory name = port path (`1-1.4`).
    pub port_path: String,
    pub vid: u16,
    pub pid: u16,
    pub bcd_device: u16,
    pub bus: u8,
    pub devnum: u8,
    /// Raw `speed` attribute in Mbit/s (`480`, `1.5`).
    pub speed: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
    pub interfaces: Vec<UsbInterfaceInfo>,
}

fn attr(dir: &Path, name: &str) -> Option<String> {
    let text = fs::read_to_string(dir.join(name)).ok()?;
    let text = text.trim_end_matches(['\n', '\r', '\0']).trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn hex_attr<T: TryFrom<u32>>(dir: &Path, name: &str) -> Option<T> {
    let text = attr(dir, name)?;
    let v = u32::from_str_radix(text.trim_start_matches("0x"), 16).ok()?;
    T::try_from(v).ok()
}

fn dec_attr<T: std::str::FromStr>(dir: &Path, name: &str) -> Option<T> {
    attr(dir, name)?.parse().ok()
}

/// Basename of the `driver` symlink, if a driver is bound.
fn driver(dir: &Path) -> Option<String> {
    let target = fs::read_link(dir.join("driver")).ok()?;
    target.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// The tty an interface exposes: `ttyUSBn` (usb-serial: qcserial, option) directly under the
/// interface, or `tty/ttyACMn` (cdc-acm).
fn tty(dir: &Path) -> Option<String> {
    let names = |d: &Path| -> Vec<String> {
        let Ok(rd) = fs::read_dir(d) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("tty") && n.len() > 3)
            .collect();
        v.sort();
        v
    };
    let direct = names(dir);
    let name = direct
        .into_iter()
        .next()
        .or_else(|| names(&dir.join("tty")).into_iter().next())?;
    Some(format!("/dev/{name}"))
}

/// Read every USB device (not interfaces, not root hubs) under `root`.
pub(crate) fn usb_devices(root: &Path) -> io::Result<Vec<SysUsbDevice>> {
    let mut entries: Vec<(String, PathBuf)> = fs::read_dir(root)?
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for (name, path) in &entries {
        if name.contains(':') || name.starts_with("usb") {
            continue; // an interface, or a root hub
        }
        let Some(dev) = read_device(name, path, &entries) else {
            continue;
        };
        out.push(dev);
    }
    Ok(out)
}

fn read_device(name: &str, dir: &Path, all: &[(String, PathBuf)]) -> Option<SysUsbDevice> {
    let vid = hex_attr(dir, "idVendor")?;
    let pid = hex_attr(dir, "idProduct")?;
    let prefix = format!("{name}:");
    let mut interfaces: Vec<UsbInterfaceInfo> = all
        .iter()
        .filter(|(n, _)| n.starts_with(&prefix))
        .filter_map(|(_, p)| read_interface(p))
        .collect();
    interfaces.sort_by_key(|i| i.number);
    Some(SysUsbDevice {
        port_path: name.to_string(),
        vid,
        pid,
        bcd_device: hex_attr(dir, "bcdDevice").unwrap_or(0),
        bus: dec_attr(dir, "busnum").unwrap_or(0),
        devnum: dec_attr(dir, "devnum").unwrap_or(0),
        speed: attr(dir, "speed"),
        manufacturer: attr(dir, "manufacturer"),
        product: attr(dir, "product"),
        serial: attr(dir, "serial"),
        interfaces,
    })
}

fn read_interface(dir: &Path) -> Option<UsbInterfaceInfo> {
    Some(UsbInterfaceInfo {
        number: hex_attr(dir, "bInterfaceNumber")?,
        class: hex_attr(dir, "bInterfaceClass")?,
        subclass: hex_attr(dir, "bInterfaceSubClass").unwrap_or(0),
        protocol: hex_attr(dir, "bInterfaceProtocol").unwrap_or(0),
        endpoints: hex_attr(dir, "bNumEndpoints").unwrap_or(0),
        driver: driver(dir),
        tty: tty(dir),
    })
}

/// Human form of the sysfs `speed` attribute (Mbit/s).
pub(crate) fn speed_text(mbit: &str) -> String {
    match mbit {
        "1.5" => "low (1.5 Mbit/s)".into(),
        "12" => "full (12 Mbit/s)".into(),
        "480" => "high (480 Mbit/s)".into(),
        "5000" => "super (5 Gbit/s)".into(),
        "10000" => "super+ (10 Gbit/s)".into(),
        "20000" => "super+ (20 Gbit/s)".into(),
        other => format!("{other} Mbit/s"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Write a fake sysfs device (and its interfaces) under `root`.
    pub(crate) fn fake_device(root: &Path, name: &str, attrs: &[(&str, &str)]) -> PathBuf {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        for (k, v) in attrs {
            fs::write(dir.join(k), format!("{v}\n")).unwrap();
        }
        dir
    }

    #[cfg(unix)]
    pub(crate) fn link_driver(dir: &Path, driver: &str) {
        std::os::unix::fs::symlink(
            format!("../../../bus/usb-serial/drivers/{driver}"),
            dir.join("driver"),
        )
        .unwrap();
    }

    #[test]
    fn reads_devices_interfaces_drivers_and_ttys() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fake_device(root, "usb1", &[("idVendor", "1d6b"), ("idProduct", "0002")]);
        fake_device(
            root,
            "1-1.4",
            &[
                ("idVendor", "2c7c"),
                ("idProduct", "0125"),
                ("bcdDevice", "0318"),
                ("busnum", "1"),
                ("devnum", "7"),
                ("speed", "480"),
                ("manufacturer", "Quectel"),
                ("product", "EC25-E"),
                ("serial", "0123456789ABCDEF"),
            ],
        );
        for (n, class, proto) in [(0, "ff", "ff"), (2, "ff", "00"), (4, "ff", "ff")] {
            let ifdir = fake_device(
                root,
                &format!("1-1.4:1.{n}"),
                &[
                    ("bInterfaceNumber", &format!("{n:02x}")),
                    ("bInterfaceClass", class),
                    ("bInterfaceSubClass", "ff"),
                    ("bInterfaceProtocol", proto),
                    ("bNumEndpoints", "03"),
                ],
            );
            if n == 2 {
                fs::create_dir_all(ifdir.join("ttyUSB2")).unwrap();
                #[cfg(unix)]
                link_driver(&ifdir, "option");
            }
        }
        let devs = usb_devices(root).unwrap();
        assert_eq!(devs.len(), 1, "{devs:?}");
        let d = &devs[0];
        assert_eq!(
            (d.vid, d.pid, d.bcd_device, d.bus, d.devnum),
            (0x2c7c, 0x0125, 0x0318, 1, 7)
        );
        assert_eq!(d.port_path, "1-1.4");
        assert_eq!(d.product.as_deref(), Some("EC25-E"));
        assert_eq!(
            d.interfaces.iter().map(|i| i.number).collect::<Vec<_>>(),
            vec![0, 2, 4]
        );
        let at = &d.interfaces[1];
        assert_eq!(at.tty.as_deref(), Some("/dev/ttyUSB2"));
        #[cfg(unix)]
        assert_eq!(at.driver.as_deref(), Some("option"));
        assert_eq!(d.interfaces[0].driver, None);
        assert_eq!(speed_text(d.speed.as_deref().unwrap()), "high (480 Mbit/s)");
    }

    #[test]
    fn cdc_acm_tty_sits_one_level_down() {
        let t = tempfile::tempdir().unwrap();
        fake_device(
            t.path(),
            "3-2",
            &[("idVendor", "05c6"), ("idProduct", "9008")],
        );
        let ifdir = fake_device(
            t.path(),
            "3-2:1.0",
            &[("bInterfaceNumber", "00"), ("bInterfaceClass", "02")],
        );
        fs::create_dir_all(ifdir.join("tty").join("ttyACM0")).unwrap();
        let devs = usb_devices(t.path()).unwrap();
        assert_eq!(devs[0].interfaces[0].tty.as_deref(), Some("/dev/ttyACM0"));
    }

    #[test]
    fn garbage_attributes_skip_the_device_without_panic() {
        let t = tempfile::tempdir().unwrap();
        fake_device(
            t.path(),
            "1-3",
            &[("idVendor", "zzzz"), ("idProduct", "0125")],
        );
        fake_device(
            t.path(),
            "1-4",
            &[
                ("idVendor", "05c6"),
                ("idProduct", "9008"),
                ("busnum", "999"),
            ],
        );
        let devs = usb_devices(t.path()).unwrap();
        assert_eq!(devs.len(), 1);
        assert_eq!(
            devs[0].bus, 0,
            "an out-of-range bus number is dropped, not wrapped"
        );
    }
}
