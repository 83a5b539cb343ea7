//! How [`crate::enumerate::snapshot`] fills its evidence: sysfs on Linux (nothing opened), libusb
//! elsewhere (devices opened only to read strings), serialport for serial ports.

use std::path::Path;
use std::time::Duration;

use rusb::UsbContext;
use serde::{Deserialize, Serialize};

use crate::enumerate::{Accessibility, SerialPortInfo, Snapshot, UsbDeviceInfo, UsbInterfaceInfo};
use crate::sysfs::{self, SysUsbDevice};
use crate::usb::{QUALCOMM_VID, QUECTEL_VID, is_edl_interface};
use crate::{TransportError, TransportErrorKind};

/// Whether a device is one Oasis lists.
fn of_interest(vid: u16, interfaces: &[UsbInterfaceInfo]) -> bool {
    vid == QUALCOMM_VID
        || vid == QUECTEL_VID
        || interfaces
            .iter()
            .any(|i| is_edl_interface(i.class, i.subclass, i.protocol))
}

fn edl_interface(interfaces: &[UsbInterfaceInfo]) -> Option<&UsbInterfaceInfo> {
    interfaces
        .iter()
        .find(|i| is_edl_interface(i.class, i.subclass, i.protocol))
}

/// Everything attached now.
pub(crate) fn snapshot() -> Snapshot {
    let serial = serial_ports();
    let (usb, usb_error) = match usb_devices(&serial) {
        Ok(list) => (list, None),
        Err(e) => (
            Vec::new(),
            Some(e.detail.clone().unwrap_or_else(|| e.to_string())),
        ),
    };
    Snapshot {
        usb,
        serial,
        usb_error,
    }
}

fn usb_devices(serial: &[SerialPortInfo]) -> Result<Vec<UsbDeviceInfo>, TransportError> {
    if cfg!(target_os = "linux") {
        let root = Path::new(sysfs::USB_DEVICES);
        if !root.is_dir() {
            return Err(TransportError::new(
                TransportErrorKind::Unsupported,
                "list devices",
                "usb",
            )
            .with_detail("USB subsystem not available (no /sys/bus/usb)"));
        }
        return usb_from_sysfs(root, Path::new("/dev/bus/usb"));
    }
    libusb_devices(serial)
}

/// List devices of interest from a sysfs tree; `devfs` holds the usbfs nodes `BBB/DDD`.
pub(crate) fn usb_from_sysfs(
    root: &Path,
    devfs: &Path,
) -> Result<Vec<UsbDeviceInfo>, TransportError> {
    let devices = sysfs::usb_devices(root).map_err(|e| {
        TransportError::new(TransportErrorKind::Unsupported, "list devices", "usb").with_detail(
            format!("USB subsystem not available: {}: {e}", root.display()),
        )
    })?;
    Ok(devices
        .into_iter()
        .filter(|d| of_interest(d.vid, &d.interfaces))
        .map(|d| from_sysfs(d, devfs))
        .collect())
}

fn from_sysfs(d: SysUsbDevice, devfs: &Path) -> UsbDeviceInfo {
    let access = sysfs_access(&d, devfs);
    UsbDeviceInfo {
        vid: d.vid,
        pid: d.pid,
        bcd_device: d.bcd_device,
        bus: d.bus,
        address: d.devnum,
        port_path: d.port_path,
        speed: d.speed.as_deref().map(sysfs::speed_text),
        manufacturer: d.manufacturer,
        product: d.product,
        serial: d.serial,
        interfaces: d.interfaces,
        access,
    }
}

/// Busy when a driver holds the EDL interface; else whether the usbfs node opens read-write.
fn sysfs_access(d: &SysUsbDevice, devfs: &Path) -> Accessibility {
    let Some(edl) = edl_interface(&d.interfaces) else {
        return Accessibility::Accessible; // Oasis talks to these through their serial ports
    };
    if let Some(driver) = &edl.driver {
        let who = match driver.as_str() {
            "usbfs" => "usbfs (another program holds it through libusb)".to_string(),
            "qcserial" => "qcserial (kernel driver; Oasis detaches it on open)".to_string(),
            other => other.to_string(),
        };
        return Accessibility::Busy(who);
    }
    let node = devfs
        .join(format!("{:03}", d.bus))
        .join(format!("{:03}", d.devnum));
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&node)
    {
        Ok(_) => Accessibility::Accessible,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Accessibility::PermissionDenied(format!("{}: {e}", node.display()))
        }
        Err(_) => Accessibility::Unknown,
    }
}

/// List devices of interest through libusb (Windows, macOS; on Linux only when asked). Devices
/// are opened to read their strings; a refusal is recorded as their accessibility.
pub fn libusb_devices(serial: &[SerialPortInfo]) -> Result<Vec<UsbDeviceInfo>, TransportError> {
    let ctx = crate::usb::context("usb")?;
    let list = ctx
        .devices()
        .map_err(|e| crate::usb::map_rusb(e, "list devices", "usb"))?;
    let mut out = Vec::new();
    for device in list.iter() {
        if let Some(info) = libusb_device(&device, serial) {
            out.push(info);
        }
    }
    Ok(out)
}

fn libusb_device(
    device: &rusb::Device<rusb::Context>,
    serial: &[SerialPortInfo],
) -> Option<UsbDeviceInfo> {
    let desc = device.device_descriptor().ok()?;
    let config = device
        .active_config_descriptor()
        .or_else(|_| device.config_descriptor(0))
        .ok();
    let mut interfaces: Vec<UsbInterfaceInfo> = config
        .iter()
        .flat_map(|c| c.interfaces())
        .filter_map(|i| i.descriptors().next())
        .map(|d| UsbInterfaceInfo {
            number: d.interface_number(),
            class: d.class_code(),
            subclass: d.sub_class_code(),
            protocol: d.protocol_code(),
            endpoints: d.num_endpoints(),
            driver: None,
            tty: None,
        })
        .collect();
    if !of_interest(desc.vendor_id(), &interfaces) {
        return None;
    }
    let ports = device.port_numbers().unwrap_or_default();
    let (strings, access) = match device.open() {
        Ok(h) => (
            crate::usb::read_strings(&h, &desc, Duration::from_millis(300)),
            Accessibility::Accessible,
        ),
        Err(e) => (Default::default(), open_refusal(e)),
    };
    let single_interface = interfaces.len() == 1;
    for i in &mut interfaces {
        i.tty = tty_for(
            serial,
            desc.vendor_id(),
            desc.product_id(),
            strings.serial.as_deref(),
            i.number,
            single_interface,
        );
    }
    Some(UsbDeviceInfo {
        vid: desc.vendor_id(),
        pid: desc.product_id(),
        bcd_device: version_bcd(desc.device_version()),
        bus: device.bus_number(),
        address: device.address(),
        port_path: crate::usb::port_path(device.bus_number(), &ports),
        speed: speed_text(device.speed()),
        manufacturer: strings.manufacturer,
        product: strings.product,
        serial: strings.serial,
        interfaces,
        access,
    })
}

fn open_refusal(e: rusb::Error) -> Accessibility {
    match e {
        rusb::Error::Access => Accessibility::PermissionDenied(e.to_string()),
        rusb::Error::Busy => Accessibility::Busy(e.to_string()),
        // Windows: a device bound to a non-WinUSB driver (QDLoader / qcusbser) cannot be opened.
        rusb::Error::NotSupported => Accessibility::Busy(format!(
            "{e}: another driver (e.g. the Qualcomm QDLoader COM driver) owns it"
        )),
        _ => Accessibility::Unknown,
    }
}

fn version_bcd(v: rusb::Version) -> u16 {
    (u16::from(v.major()) << 8) | (u16::from(v.minor() & 0xF) << 4) | u16::from(v.sub_minor() & 0xF)
}

fn speed_text(s: rusb::Speed) -> Option<String> {
    let mbit = match s {
        rusb::Speed::Low => "1.5",
        rusb::Speed::Full => "12",
        rusb::Speed::High => "480",
        rusb::Speed::Super => "5000",
        rusb::Speed::SuperPlus => "10000",
        _ => return None,
    };
    Some(sysfs::speed_text(mbit))
}

/// The serial port that sits on this device's interface, if the port list says so. A device
/// with a single interface (the 9008 QDLoader port) has no `MI_xx` in its Windows hardware id,
/// so its COM port carries no interface number: it is the device's only port.
fn tty_for(
    serial: &[SerialPortInfo],
    vid: u16,
    pid: u16,
    sn: Option<&str>,
    iface: u8,
    single_interface: bool,
) -> Option<String> {
    serial
        .iter()
        .filter(|p| p.vid == Some(vid) && p.pid == Some(pid))
        .filter(|p| p.interface == Some(iface) || (single_interface && p.interface.is_none()))
        .find(|p| sn.is_none() || p.serial_number.is_none() || p.serial_number.as_deref() == sn)
        .map(|p| p.name.clone())
}

/// What a listed serial port is to Oasis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortRole {
    /// A board in download mode (05C6:9008, "Qualcomm HS-USB QDLoader 9008").
    Download,
    /// A board in crash-dump mode (05C6:900E).
    MemoryDump,
    /// One port of a module running its firmware (Quectel 2C7C or a Qualcomm composite: AT,
    /// DM, NMEA, modem).
    Module,
}

/// Whether a serial port the OS lists belongs to a board Oasis offers, and as what. Only
/// Qualcomm (05C6) and Quectel (2C7C) ports qualify, and ports without a USB identity whose
/// name says QDLoader 9008 or Quectel (Windows friendly names); every other port (FTDI, CH340,
/// the PC's own COM1, Bluetooth serial) is never offered as a board.
pub fn board_port_role(p: &SerialPortInfo) -> Option<PortRole> {
    match (p.vid, p.pid) {
        (Some(QUALCOMM_VID), Some(0x9008)) => Some(PortRole::Download),
        (Some(QUALCOMM_VID), Some(0x900E)) => Some(PortRole::MemoryDump),
        (Some(QUALCOMM_VID | QUECTEL_VID), _) => Some(PortRole::Module),
        (Some(_), _) => None,
        (None, _) => {
            let name = format!(
                "{} {}",
                p.product.as_deref().unwrap_or(""),
                p.manufacturer.as_deref().unwrap_or("")
            )
            .to_ascii_lowercase();
            if name.contains("qdloader") || name.contains("9008") {
                Some(PortRole::Download)
            } else if name.contains("quectel") {
                Some(PortRole::Module)
            } else {
                None
            }
        }
    }
}

/// macOS lists each USB serial port twice, `/dev/tty.X` (waits for carrier on open) and
/// `/dev/cu.X` (the calling unit, which opens at once): keep the `cu` one.
fn prefer_callout(ports: Vec<SerialPortInfo>) -> Vec<SerialPortInfo> {
    let names: Vec<String> = ports.iter().map(|p| p.name.clone()).collect();
    ports
        .into_iter()
        .filter(|p| {
            p.name
                .strip_prefix("/dev/tty.")
                .is_none_or(|rest| !names.iter().any(|n| *n == format!("/dev/cu.{rest}")))
        })
        .collect()
}

/// Serial ports with their USB identity. serialport's scan panics where `/sys/class/tty` is
/// missing; that is checked first and any other panic is contained.
pub(crate) fn serial_ports() -> Vec<SerialPortInfo> {
    if cfg!(target_os = "linux") && !Path::new("/sys/class/tty").is_dir() {
        return Vec::new();
    }
    let Ok(Ok(ports)) = std::panic::catch_unwind(serialport::available_ports) else {
        return Vec::new();
    };
    prefer_callout(ports.into_iter().map(serial_info).collect())
}

fn serial_info(p: serialport::SerialPortInfo) -> SerialPortInfo {
    let mut info = SerialPortInfo::named(p.port_name);
    if let serialport::SerialPortType::UsbPort(u) = p.port_type {
        info.vid = Some(u.vid);
        info.pid = Some(u.pid);
        info.interface = u.interface;
        info.serial_number = u.serial_number;
        info.manufacturer = u.manufacturer;
        info.product = u.product;
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysfs::tests::fake_device;

    fn edl_tree(root: &Path, driver: Option<&str>) {
        fake_device(
            root,
            "1-1",
            &[
                ("idVendor", "05c6"),
                ("idProduct", "9008"),
                ("busnum", "1"),
                ("devnum", "2"),
                ("speed", "480"),
                ("product", "QUSB__BULK_SN:0AB1C2D3"),
            ],
        );
        let ifdir = fake_device(
            root,
            "1-1:1.0",
            &[
                ("bInterfaceNumber", "00"),
                ("bInterfaceClass", "ff"),
                ("bInterfaceSubClass", "ff"),
                ("bInterfaceProtocol", "ff"),
                ("bNumEndpoints", "02"),
            ],
        );
        #[cfg(unix)]
        if let Some(d) = driver {
            crate::sysfs::tests::link_driver(&ifdir, d);
        }
        #[cfg(not(unix))]
        let _ = (driver, ifdir);
        // Something Oasis must not list.
        fake_device(root, "1-2", &[("idVendor", "046d"), ("idProduct", "c52b")]);
    }

    #[test]
    fn sysfs_edl_device_accessible_when_node_opens() {
        let t = tempfile::tempdir().unwrap();
        let (sys, dev) = (t.path().join("sys"), t.path().join("dev"));
        edl_tree(&sys, None);
        std::fs::create_dir_all(dev.join("001")).unwrap();
        std::fs::write(dev.join("001").join("002"), b"").unwrap();
        let list = usb_from_sysfs(&sys, &dev).unwrap();
        assert_eq!(
            list.len(),
            1,
            "only the 05c6 device is of interest: {list:?}"
        );
        let d = &list[0];
        assert_eq!((d.vid, d.pid, d.bus, d.address), (0x05c6, 0x9008, 1, 2));
        assert_eq!(d.product.as_deref(), Some("QUSB__BULK_SN:0AB1C2D3"));
        assert_eq!(d.speed.as_deref(), Some("high (480 Mbit/s)"));
        assert_eq!(d.access, Accessibility::Accessible);
    }

    #[test]
    fn sysfs_edl_device_missing_node_is_unknown_not_error() {
        let t = tempfile::tempdir().unwrap();
        edl_tree(t.path(), None);
        let list = usb_from_sysfs(t.path(), &t.path().join("nodev")).unwrap();
        assert_eq!(list[0].access, Accessibility::Unknown);
    }

    #[cfg(unix)]
    #[test]
    fn sysfs_edl_interface_held_by_qcserial_is_busy() {
        let t = tempfile::tempdir().unwrap();
        edl_tree(t.path(), Some("qcserial"));
        let list = usb_from_sysfs(t.path(), t.path()).unwrap();
        match &list[0].access {
            Accessibility::Busy(who) => assert!(who.contains("qcserial"), "{who}"),
            other => panic!("expected Busy, got {other:?}"),
        }
    }

    #[test]
    fn missing_sysfs_root_is_an_error_not_a_panic() {
        let t = tempfile::tempdir().unwrap();
        let err = usb_from_sysfs(&t.path().join("absent"), t.path()).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Unsupported);
        assert!(
            err.to_string().contains("USB subsystem not available"),
            "{err}"
        );
    }

    #[test]
    fn tty_matching_uses_vid_pid_interface() {
        let port = |name: &str, iface| SerialPortInfo {
            name: name.into(),
            vid: Some(0x2c7c),
            pid: Some(0x0125),
            interface: Some(iface),
            serial_number: Some("X1".into()),
            manufacturer: None,
            product: None,
        };
        let ports = [port("/dev/ttyUSB1", 1), port("/dev/ttyUSB2", 2)];
        assert_eq!(
            tty_for(&ports, 0x2c7c, 0x0125, Some("X1"), 2, false).as_deref(),
            Some("/dev/ttyUSB2")
        );
        assert_eq!(
            tty_for(&ports, 0x2c7c, 0x0125, Some("OTHER"), 2, false),
            None
        );
        assert_eq!(tty_for(&ports, 0x05c6, 0x9008, None, 0, true), None);
    }

    fn com(
        name: &str,
        ids: Option<(u16, u16)>,
        iface: Option<u8>,
        product: &str,
    ) -> SerialPortInfo {
        SerialPortInfo {
            name: name.into(),
            vid: ids.map(|i| i.0),
            pid: ids.map(|i| i.1),
            interface: iface,
            serial_number: None,
            manufacturer: None,
            product: (!product.is_empty()).then(|| product.into()),
        }
    }

    #[test]
    fn the_9008_com_port_without_an_interface_number_is_its_devices_port() {
        // Windows: "USB\VID_05C6&PID_9008\..." has no MI_xx, so no interface number.
        let ports = [com(
            "COM7",
            Some((0x05c6, 0x9008)),
            None,
            "Qualcomm HS-USB QDLoader 9008 (COM7)",
        )];
        assert_eq!(
            tty_for(&ports, 0x05c6, 0x9008, None, 0, true).as_deref(),
            Some("COM7")
        );
        // On a composite device a port without a number is not guessed onto an interface.
        assert_eq!(tty_for(&ports, 0x05c6, 0x9008, None, 0, false), None);
    }

    #[test]
    fn only_qualcomm_and_quectel_ports_are_boards() {
        use PortRole::{Download, MemoryDump, Module};
        let cases = [
            (
                com(
                    "COM7",
                    Some((0x05c6, 0x9008)),
                    None,
                    "Qualcomm HS-USB QDLoader 9008 (COM7)",
                ),
                Some(Download),
            ),
            (
                com("COM8", Some((0x05c6, 0x900e)), None, ""),
                Some(MemoryDump),
            ),
            (
                com(
                    "COM9",
                    Some((0x2c7c, 0x0125)),
                    Some(2),
                    "Quectel USB AT Port (COM9)",
                ),
                Some(Module),
            ),
            (
                com("/dev/ttyUSB2", Some((0x2c7c, 0x0700)), Some(2), ""),
                Some(Module),
            ),
            (
                com("COM10", None, None, "Qualcomm HS-USB QDLoader 9008 (COM10)"),
                Some(Download),
            ),
            (
                com("COM11", None, None, "Quectel USB DM Port (COM11)"),
                Some(Module),
            ),
            // Not boards: an FTDI adapter, a CH340, the PC's own UART, Bluetooth serial.
            (
                com(
                    "COM3",
                    Some((0x0403, 0x6001)),
                    None,
                    "USB Serial Port (COM3)",
                ),
                None,
            ),
            (
                com(
                    "COM4",
                    Some((0x1a86, 0x7523)),
                    None,
                    "USB-SERIAL CH340 (COM4)",
                ),
                None,
            ),
            (com("COM1", None, None, "Communications Port (COM1)"), None),
            (
                com(
                    "COM5",
                    None,
                    None,
                    "Standard Serial over Bluetooth link (COM5)",
                ),
                None,
            ),
            (com("/dev/ttyS0", None, None, ""), None),
        ];
        for (port, want) in cases {
            assert_eq!(board_port_role(&port), want, "{port:?}");
        }
    }

    #[test]
    fn macos_keeps_the_callout_twin_of_each_port() {
        let ports = vec![
            com("/dev/tty.usbmodem1101", Some((0x2c7c, 0x0125)), Some(2), ""),
            com("/dev/cu.usbmodem1101", Some((0x2c7c, 0x0125)), Some(2), ""),
            com("/dev/tty.Bluetooth-Incoming-Port", None, None, ""),
            com("/dev/ttyUSB0", None, None, ""),
        ];
        let names: Vec<String> = prefer_callout(ports).into_iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "/dev/cu.usbmodem1101",
                "/dev/tty.Bluetooth-Incoming-Port",
                "/dev/ttyUSB0"
            ]
        );
    }
}
