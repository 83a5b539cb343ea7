//! Parser for the Linux `usb-devices` / `/sys/kernel/debug/usb/devices` text format
//! (`T:`, `D:`, `P:`, `S:`, `C:`, `I:`, `E:` lines).

use std::collections::HashMap;

use oasis_transport::enumerate::{Accessibility, UsbDeviceInfo, UsbInterfaceInfo};

use super::parse_bcd_version;
use crate::diag::DiagError;

const FORMAT: &str = "usb-devices";

/// The value of `key=` in a `usb-devices` line, with the padding after `=` skipped
/// (`Dev#=  2` gives `2`).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("{key}=");
    let mut from = 0;
    while let Some(pos) = line.get(from..)?.find(&pat) {
        let at = from + pos;
        let boundary = at == 0 || line[..at].ends_with(char::is_whitespace);
        if boundary {
            let rest = line[at + pat.len()..].trim_start();
            return Some(rest.split_whitespace().next().unwrap_or(""));
        }
        from = at + pat.len();
    }
    None
}

/// A hex byte field such as `Cls=ff(vend.)` → 0xff.
fn hex_field(line: &str, key: &'static str, n: usize) -> Result<u8, DiagError> {
    let raw = field(line, key).ok_or(DiagError::MissingField {
        format: FORMAT,
        field: key,
    })?;
    let digits: String = raw.chars().take_while(char::is_ascii_hexdigit).collect();
    u8::from_str_radix(&digits, 16).map_err(|_| bad(n, key, raw, "two hex digits"))
}

fn dec_field(line: &str, key: &'static str, n: usize) -> Result<u32, DiagError> {
    let raw = field(line, key).ok_or(DiagError::MissingField {
        format: FORMAT,
        field: key,
    })?;
    raw.parse()
        .map_err(|_| bad(n, key, raw, "a decimal number"))
}

fn bad(line: usize, field: &'static str, got: &str, expected: &'static str) -> DiagError {
    DiagError::BadField {
        format: FORMAT,
        line,
        field,
        got: got.to_string(),
        expected,
    }
}

/// Topology of one `T:` line.
struct Topo {
    bus: u8,
    level: u32,
    parent: u32,
    port: u32,
    dev: u32,
}

fn topo(line: &str, n: usize) -> Result<Topo, DiagError> {
    let small = |k: &'static str| -> Result<u32, DiagError> { dec_field(line, k, n) };
    let bus = small("Bus")?;
    Ok(Topo {
        bus: u8::try_from(bus)
            .map_err(|_| bad(n, "Bus", &bus.to_string(), "a bus number below 256"))?,
        level: small("Lev")?,
        parent: small("Prnt")?,
        port: small("Port")?,
        dev: small("Dev#")?,
    })
}

/// Builds the physical port path (`1-1.4`) from the topology lines seen so far. A parent that
/// is not in the dump leaves `?` segments: `1-?.2`.
fn port_path(t: &Topo, paths: &HashMap<(u8, u32), (u32, String)>) -> String {
    if t.level == 0 {
        return format!("usb{}", t.bus);
    }
    let port = t.port + 1;
    match paths.get(&(t.bus, t.parent)) {
        Some((0, _)) => format!("{}-{port}", t.bus),
        Some((_, parent)) => format!("{parent}.{port}"),
        None if t.level == 1 => format!("{}-{port}", t.bus),
        None => {
            let unknown = "?.".repeat(t.level as usize - 1);
            format!("{}-{unknown}{port}", t.bus)
        }
    }
}

fn new_device(t: &Topo, path: String, speed: Option<&str>) -> UsbDeviceInfo {
    UsbDeviceInfo {
        vid: 0,
        pid: 0,
        bcd_device: 0,
        bus: t.bus,
        address: u8::try_from(t.dev).unwrap_or(u8::MAX),
        port_path: path,
        speed: speed.map(|s| format!("{s} Mbit/s")),
        manufacturer: None,
        product: None,
        serial: None,
        interfaces: Vec::new(),
        access: Accessibility::Unknown,
    }
}

fn interface(line: &str, n: usize) -> Result<Option<UsbInterfaceInfo>, DiagError> {
    // Only alternate setting 0: other settings repeat the same interface number.
    if dec_field(line, "Alt", n).unwrap_or(0) != 0 {
        return Ok(None);
    }
    let number = dec_field(line, "If#", n)?;
    let driver = field(line, "Driver").filter(|d| !d.is_empty() && *d != "(none)");
    Ok(Some(UsbInterfaceInfo {
        number: u8::try_from(number).map_err(|_| bad(n, "If#", &number.to_string(), "0..=255"))?,
        class: hex_field(line, "Cls", n)?,
        subclass: hex_field(line, "Sub", n)?,
        protocol: hex_field(line, "Prot", n)?,
        endpoints: u8::try_from(dec_field(line, "#EPs", n)?).unwrap_or(u8::MAX),
        driver: driver.map(str::to_string),
        tty: None,
    }))
}

fn product_line(dev: &mut UsbDeviceInfo, line: &str, n: usize) -> Result<(), DiagError> {
    let vid = field(line, "Vendor").unwrap_or_default();
    let pid = field(line, "ProdID").unwrap_or_default();
    dev.vid = u16::from_str_radix(vid, 16).map_err(|_| bad(n, "Vendor", vid, "four hex digits"))?;
    dev.pid = u16::from_str_radix(pid, 16).map_err(|_| bad(n, "ProdID", pid, "four hex digits"))?;
    if let Some(rev) = field(line, "Rev") {
        dev.bcd_device =
            parse_bcd_version(rev).ok_or_else(|| bad(n, "Rev", rev, "a version like 3.18"))?;
    }
    Ok(())
}

fn string_line(dev: &mut UsbDeviceInfo, line: &str) {
    let body = line.get(2..).unwrap_or("").trim_start();
    if let Some((key, value)) = body.split_once('=') {
        let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
        match key {
            "Manufacturer" => dev.manufacturer = value,
            "Product" => dev.product = value,
            "SerialNumber" => dev.serial = value,
            _ => {}
        }
    }
}

/// Parse `usb-devices` output into devices, in the order listed (root hubs included; filter
/// with [`crate::diag::usb_table::identify_device`]). Port paths are rebuilt from the
/// `Lev`/`Prnt`/`Port` fields.
pub fn usb_devices(text: &str) -> Result<Vec<UsbDeviceInfo>, DiagError> {
    let mut out: Vec<UsbDeviceInfo> = Vec::new();
    let mut paths: HashMap<(u8, u32), (u32, String)> = HashMap::new();
    let mut in_active_config = true;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        if line.starts_with("T:") {
            let t = topo(line, n)?;
            let path = port_path(&t, &paths);
            paths.insert((t.bus, t.dev), (t.level, path.clone()));
            out.push(new_device(&t, path, field(line, "Spd")));
            in_active_config = true;
            continue;
        }
        let Some(dev) = out.last_mut() else {
            continue;
        };
        if line.starts_with("P:") {
            product_line(dev, line, n)?;
        } else if line.starts_with("S:") {
            string_line(dev, line);
        } else if line.starts_with("C:") {
            in_active_config = line.starts_with("C:*");
        } else if line.starts_with("I:")
            && in_active_config
            && let Some(iface) = interface(line, n)?
        {
            dev.interfaces.push(iface);
        }
    }
    if out.is_empty() {
        return Err(DiagError::MissingField {
            format: FORMAT,
            field: "T:",
        });
    }
    if let Some(d) = out.iter().find(|d| d.vid == 0 && d.pid == 0) {
        return Err(DiagError::MissingField {
            format: FORMAT,
            field: if d.port_path.is_empty() {
                "P:"
            } else {
                "P: (Vendor/ProdID)"
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_skips_padding_and_respects_boundaries() {
        let l = "T:  Bus=01 Lev=02 Prnt=02 Port=01 Cnt=01 Dev#=  3 Spd=480  MxCh= 0";
        assert_eq!(field(l, "Dev#"), Some("3"));
        assert_eq!(field(l, "Lev"), Some("02"));
        assert_eq!(field(l, "Port"), Some("01"));
        assert_eq!(field("I:* If#= 0 Alt= 0 #EPs= 2", "EPs"), None);
    }

    #[test]
    fn nested_path_uses_parent_from_the_same_dump() {
        let text = "T:  Bus=01 Lev=00 Prnt=00 Port=00 Cnt=00 Dev#=  1 Spd=480  MxCh= 4\n\
                    P:  Vendor=1d6b ProdID=0002 Rev= 5.15\n\
                    T:  Bus=01 Lev=01 Prnt=01 Port=00 Cnt=01 Dev#=  2 Spd=480  MxCh= 4\n\
                    P:  Vendor=05e3 ProdID=0610 Rev= 6.63\n\
                    T:  Bus=01 Lev=02 Prnt=02 Port=03 Cnt=01 Dev#=  5 Spd=480  MxCh= 0\n\
                    P:  Vendor=05c6 ProdID=9008 Rev= 0.00\n\
                    C:* #Ifs= 1 Cfg#= 1 Atr=80 MxPwr=2mA\n\
                    I:* If#= 0 Alt= 0 #EPs= 2 Cls=ff(vend.) Sub=ff Prot=ff Driver=qcserial\n";
        let devs = usb_devices(text).unwrap();
        assert_eq!(devs.len(), 3);
        assert_eq!(devs[0].port_path, "usb1");
        assert_eq!(devs[1].port_path, "1-1");
        assert_eq!(devs[2].port_path, "1-1.4");
        assert_eq!(devs[2].interfaces[0].driver.as_deref(), Some("qcserial"));
    }

    #[test]
    fn bad_vendor_is_named() {
        let text = "T:  Bus=01 Lev=01 Prnt=01 Port=00 Cnt=01 Dev#=  2 Spd=12\nP:  Vendor=zz ProdID=900e Rev= 0.00\n";
        let err = usb_devices(text).unwrap_err();
        assert!(
            matches!(
                err,
                DiagError::BadField {
                    line: 2,
                    field: "Vendor",
                    ..
                }
            ),
            "{err}"
        );
        assert!(usb_devices("").is_err());
    }
}
