//! Parser for `lsusb -v` text, also in its whitespace-collapsed and pyusb (`key : value`)
//! variants. Excerpts cut mid-device are fine: incomplete interfaces are dropped.

use oasis_transport::enumerate::{Accessibility, UsbDeviceInfo, UsbInterfaceInfo};

use super::{parse_bcd_version, parse_num};
use crate::diag::DiagError;

const FORMAT: &str = "lsusb -v";

/// One `key value rest…` line, with an optional `:` token after the key (pyusb style).
struct Kv<'a> {
    key: &'a str,
    value: &'a str,
    rest: String,
}

fn kv(line: &str) -> Option<Kv<'_>> {
    let mut toks = line.split_whitespace();
    let key = toks.next()?;
    let mut value = toks.next()?;
    if value == ":" {
        value = toks.next()?;
    }
    Some(Kv {
        key,
        value,
        rest: toks.collect::<Vec<_>>().join(" "),
    })
}

#[derive(Default)]
struct PartialIface {
    number: Option<u8>,
    alt: u8,
    endpoints: Option<u8>,
    class: Option<u8>,
    subclass: Option<u8>,
    protocol: Option<u8>,
}

impl PartialIface {
    fn finish(self) -> Option<UsbInterfaceInfo> {
        if self.alt != 0 {
            return None;
        }
        Some(UsbInterfaceInfo {
            number: self.number?,
            class: self.class?,
            subclass: self.subclass?,
            protocol: self.protocol?,
            endpoints: self.endpoints.unwrap_or(0),
            driver: None,
            tty: None,
        })
    }
}

fn byte(kv: &Kv<'_>, n: usize, field: &'static str) -> Result<u8, DiagError> {
    parse_num(kv.value)
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| DiagError::BadField {
            format: FORMAT,
            line: n,
            field,
            got: kv.value.to_string(),
            expected: "a number 0..=255",
        })
}

/// The complete interfaces (alternate setting 0) described in an `lsusb -v` or pyusb dump.
pub fn lsusb_interfaces(text: &str) -> Result<Vec<UsbInterfaceInfo>, DiagError> {
    let mut out = Vec::new();
    let mut cur: Option<PartialIface> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let Some(kv) = kv(line) else { continue };
        match kv.key {
            "bInterfaceNumber" => {
                if let Some(done) = cur.take().and_then(PartialIface::finish) {
                    out.push(done);
                }
                cur = Some(PartialIface {
                    number: Some(byte(&kv, n, "bInterfaceNumber")?),
                    ..PartialIface::default()
                });
            }
            "bAlternateSetting" | "bNumEndpoints" | "bInterfaceClass" | "bInterfaceSubClass"
            | "bInterfaceProtocol" => {
                let Some(c) = cur.as_mut() else { continue };
                let b = byte(&kv, n, "interface field")?;
                let v = Some(b);
                match kv.key {
                    "bAlternateSetting" => c.alt = b,
                    "bNumEndpoints" => c.endpoints = v,
                    "bInterfaceClass" => c.class = v,
                    "bInterfaceSubClass" => c.subclass = v,
                    _ => c.protocol = v,
                }
            }
            _ => {}
        }
    }
    out.extend(cur.and_then(PartialIface::finish));
    Ok(out)
}

/// A string descriptor line such as `iProduct 2 QUSB__BULK`: index 0 or `(error)` is `None`.
fn string_value(kv: &Kv<'_>) -> Option<String> {
    let text = kv.rest.trim();
    (kv.value != "0" && !text.is_empty() && text != "(error)").then(|| text.to_string())
}

/// `Bus 001 Device 006: ID 2c7c:0125 …` → (bus, address).
fn header(line: &str) -> Option<(u8, u8)> {
    let mut t = line.split_whitespace();
    if t.next()? != "Bus" {
        return None;
    }
    let bus = t.next()?.parse().ok()?;
    if t.next()? != "Device" {
        return None;
    }
    let addr = t.next()?.trim_end_matches(':').parse().ok()?;
    Some((bus, addr))
}

/// Split a dump into one chunk per device (at `Bus NNN Device NNN:` headers).
fn chunks(text: &str) -> Vec<(Option<(u8, u8)>, String)> {
    let mut out: Vec<(Option<(u8, u8)>, String)> = vec![(None, String::new())];
    for line in text.lines() {
        if let Some(h) = header(line) {
            out.push((Some(h), String::new()));
        }
        if let Some(last) = out.last_mut() {
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out.retain(|(h, body)| h.is_some() || body.contains("idVendor"));
    out
}

fn device(head: Option<(u8, u8)>, body: &str) -> Result<UsbDeviceInfo, DiagError> {
    let (bus, address) = head.unwrap_or((0, 0));
    let mut dev = UsbDeviceInfo {
        vid: 0,
        pid: 0,
        bcd_device: 0,
        bus,
        address,
        port_path: match head {
            Some((b, a)) => format!("bus {b} device {a}"),
            None => "unknown".to_string(),
        },
        speed: None,
        manufacturer: None,
        product: None,
        serial: None,
        interfaces: lsusb_interfaces(body)?,
        access: Accessibility::Unknown,
    };
    let (mut vid, mut pid) = (None, None);
    for (i, line) in body.lines().enumerate() {
        if line.contains("Couldn't open device") {
            dev.access = Accessibility::PermissionDenied(line.trim().to_string());
        }
        let Some(kv) = kv(line) else { continue };
        let word = |v: &str| parse_num(v).and_then(|x| u16::try_from(x).ok());
        let bad = |field: &'static str| DiagError::BadField {
            format: FORMAT,
            line: i + 1,
            field,
            got: kv.value.to_string(),
            expected: "a 16-bit number",
        };
        match kv.key {
            "idVendor" => vid = Some(word(kv.value).ok_or_else(|| bad("idVendor"))?),
            "idProduct" => pid = Some(word(kv.value).ok_or_else(|| bad("idProduct"))?),
            "bcdDevice" => {
                dev.bcd_device = parse_bcd_version(kv.value).ok_or_else(|| bad("bcdDevice"))?
            }
            "iManufacturer" => dev.manufacturer = string_value(&kv),
            "iProduct" => dev.product = string_value(&kv),
            "iSerial" => dev.serial = string_value(&kv),
            _ => {}
        }
    }
    let missing = |field| DiagError::MissingField {
        format: FORMAT,
        field,
    };
    dev.vid = vid.ok_or_else(|| missing("idVendor"))?;
    dev.pid = pid.ok_or_else(|| missing("idProduct"))?;
    Ok(dev)
}

/// Parse `lsusb -v` output into devices. `Couldn't open device` (lsusb run without the right
/// to open it) is recorded as [`Accessibility::PermissionDenied`]. Port paths are not in this
/// format; they read `bus B device D`.
pub fn lsusb_verbose(text: &str) -> Result<Vec<UsbDeviceInfo>, DiagError> {
    let parts = chunks(text);
    if parts.is_empty() {
        return Err(DiagError::MissingField {
            format: FORMAT,
            field: "idVendor",
        });
    }
    parts
        .into_iter()
        .map(|(h, body)| device(h, &body))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_settings_and_truncation() {
        let text = "bInterfaceNumber 0\nbAlternateSetting 0\nbNumEndpoints 2\nbInterfaceClass 255\n\
                    bInterfaceSubClass 255\nbInterfaceProtocol 48\n\
                    bInterfaceNumber 0\nbAlternateSetting 1\nbNumEndpoints 0\nbInterfaceClass 255\n\
                    bInterfaceSubClass 255\nbInterfaceProtocol 48\n\
                    bInterfaceNumber 1\nbAlternateSetting 0\nbNumEndpoints 2\nbInterfaceClass 255\n";
        let ifs = lsusb_interfaces(text).unwrap();
        assert_eq!(ifs.len(), 1);
        assert_eq!(
            (ifs[0].class, ifs[0].protocol, ifs[0].endpoints),
            (255, 48, 2)
        );
    }

    #[test]
    fn bad_number_is_an_error_not_a_panic() {
        let text = "idVendor 0xzz\nidProduct 0x9008\n";
        assert!(matches!(
            lsusb_verbose(text),
            Err(DiagError::BadField {
                field: "idVendor",
                line: 1,
                ..
            })
        ));
        assert!(lsusb_verbose("nothing here").is_err());
    }
}
