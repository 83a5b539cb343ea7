//! Parser for fwupd device-emulation JSON (`*-setup.json`): USB devices (`FuUsbDevice`),
//! ModemManager-backed modems (DeviceIds, port map, recorded AT replies) and non-USB ports
//! (a PCIe `wwan` Firehose port).

use oasis_transport::enumerate::{
    Accessibility, SerialPortInfo, Snapshot, UsbDeviceInfo, UsbInterfaceInfo,
};
use serde_json::Value;

use crate::diag::DiagError;

/// What one fwupd emulation file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FwupdRecord {
    /// USB devices.
    pub usb: Vec<UsbDeviceInfo>,
    /// Serial-like ports (AT, GNSS, wwan) named in the file.
    pub serial: Vec<SerialPortInfo>,
    /// Firmware version fwupd read (`Version`), e.g. `EG25GGCR07A02M1G_30.202.30.202`.
    pub firmware_version: Option<String>,
    /// Recorded replies read from the AT port, decoded, in order.
    pub at_replies: Vec<String>,
    /// Devices that are not on USB, described in words (e.g. "PCIe 1EAC:100D").
    pub non_usb: Vec<String>,
}

impl FwupdRecord {
    /// The record as an enumeration snapshot.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            usb: self.usb.clone(),
            serial: self.serial.clone(),
            usb_error: None,
        }
    }
}

fn json_err(detail: impl Into<String>) -> DiagError {
    DiagError::Json {
        detail: detail.into(),
    }
}

/// Decode standard base64 (with or without padding); `None` on any bad character.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    Some(out)
}

fn u16_of(v: &Value, key: &str) -> Option<u16> {
    v.get(key)?.as_u64().and_then(|x| u16::try_from(x).ok())
}

fn byte_of(v: &Value, key: &str) -> Option<u8> {
    v.get(key)?.as_u64().and_then(|x| u8::try_from(x).ok())
}

fn usb_interfaces(dev: &Value) -> Result<Vec<UsbInterfaceInfo>, DiagError> {
    let Some(list) = dev.get("UsbInterfaces").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    list.iter()
        .enumerate()
        .map(|(i, it)| {
            let field = |k: &str| {
                byte_of(it, k).ok_or_else(|| json_err(format!("UsbInterfaces[{i}] has no {k}")))
            };
            Ok(UsbInterfaceInfo {
                number: byte_of(it, "InterfaceNumber")
                    .unwrap_or(u8::try_from(i).unwrap_or(u8::MAX)),
                class: field("InterfaceClass")?,
                subclass: field("InterfaceSubClass")?,
                protocol: field("InterfaceProtocol")?,
                endpoints: it
                    .get("UsbEndpoints")
                    .and_then(Value::as_array)
                    .map_or(0, |e| u8::try_from(e.len()).unwrap_or(u8::MAX)),
                driver: None,
                tty: None,
            })
        })
        .collect()
}

fn blank_device(vid: u16, pid: u16, bcd: u16, port_path: String) -> UsbDeviceInfo {
    UsbDeviceInfo {
        vid,
        pid,
        bcd_device: bcd,
        bus: 0,
        address: 0,
        port_path,
        speed: None,
        manufacturer: None,
        product: None,
        serial: None,
        interfaces: Vec::new(),
        access: Accessibility::Unknown,
    }
}

/// Event data strings of a device (`Events` or `UsbEvents`).
fn event_data(dev: &Value) -> impl Iterator<Item = &str> {
    ["Events", "UsbEvents"]
        .into_iter()
        .filter_map(|k| dev.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(|e| e.get("Data").and_then(Value::as_str))
}

fn fu_usb_device(dev: &Value) -> Result<UsbDeviceInfo, DiagError> {
    let vid = u16_of(dev, "IdVendor").ok_or_else(|| json_err("FuUsbDevice has no IdVendor"))?;
    let pid = u16_of(dev, "IdProduct").ok_or_else(|| json_err("FuUsbDevice has no IdProduct"))?;
    let path = dev
        .get("PlatformId")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    // The uevent PRODUCT=vid/pid/bcd line carries the device release.
    let bcd = event_data(dev)
        .flat_map(str::lines)
        .find_map(|l| l.strip_prefix("PRODUCT="))
        .and_then(|p| p.rsplit('/').next())
        .and_then(|b| u16::from_str_radix(b, 16).ok())
        .unwrap_or(0);
    let mut out = blank_device(vid, pid, bcd, path.to_string());
    out.interfaces = usb_interfaces(dev)?;
    Ok(out)
}

/// `USB\VID_2C7C&PID_0125&REV_0318` → (vid, pid, rev).
fn windows_id(s: &str) -> Option<(u16, u16, u16)> {
    let body = s.strip_prefix("USB\\")?;
    let mut vid = None;
    let mut pid = None;
    let mut rev = 0;
    for part in body.split('&') {
        if let Some(v) = part.strip_prefix("VID_") {
            vid = u16::from_str_radix(v, 16).ok();
        } else if let Some(v) = part.strip_prefix("PID_") {
            pid = u16::from_str_radix(v, 16).ok();
        } else if let Some(v) = part.strip_prefix("REV_") {
            rev = u16::from_str_radix(v, 16).unwrap_or(0);
        }
    }
    Some((vid?, pid?, rev))
}

fn modem_device(dev: &Value, rec: &mut FwupdRecord) -> Result<(), DiagError> {
    let ids = dev
        .get("DeviceIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let best = ids
        .filter_map(Value::as_str)
        .filter_map(windows_id)
        .max_by_key(|(_, _, rev)| *rev);
    let Some((vid, pid, rev)) = best else {
        return Err(json_err(
            "device has DeviceIds but none of the form USB\\VID_xxxx&PID_xxxx",
        ));
    };
    let path = dev
        .get("PhysicalId")
        .and_then(Value::as_str)
        .and_then(|p| p.rsplit('/').next())
        .unwrap_or("unknown");
    rec.usb.push(blank_device(vid, pid, rev, path.to_string()));
    if let Some(ports) = dev.get("Ports").and_then(Value::as_object) {
        for (role, file) in ports {
            let Some(file) = file.as_str().filter(|f| f.contains("/tty")) else {
                continue;
            };
            rec.serial.push(SerialPortInfo {
                name: file.to_string(),
                vid: Some(vid),
                pid: Some(pid),
                interface: None,
                serial_number: None,
                manufacturer: None,
                product: Some(format!("{role} port")),
            });
        }
    }
    rec.firmware_version = dev
        .get("Version")
        .and_then(Value::as_str)
        .map(str::to_string);
    for data in event_data(dev) {
        let text = base64_decode(data).map(|b| String::from_utf8_lossy(&b).into_owned());
        rec.at_replies.extend(text);
    }
    Ok(())
}

fn udev_port(dev: &Value, rec: &mut FwupdRecord) {
    let file = dev
        .get("DeviceFile")
        .and_then(Value::as_str)
        .unwrap_or("unknown port");
    let pci = event_data(dev)
        .flat_map(str::lines)
        .find_map(|l| l.strip_prefix("PCI_ID="))
        .map(str::to_string);
    let what = match &pci {
        Some(id) => format!("PCIe {id} ({file})"),
        None => file.to_string(),
    };
    rec.serial.push(SerialPortInfo {
        name: file.to_string(),
        vid: None,
        pid: None,
        interface: None,
        serial_number: None,
        manufacturer: None,
        product: Some(what.clone()),
    });
    rec.non_usb.push(what);
}

/// Parse a fwupd emulation file.
pub fn fwupd_json(text: &str) -> Result<FwupdRecord, DiagError> {
    let root: Value = serde_json::from_str(text).map_err(|e| json_err(e.to_string()))?;
    let devices = root
        .get("UsbDevices")
        .and_then(Value::as_array)
        .ok_or_else(|| json_err("no UsbDevices array"))?;
    let mut rec = FwupdRecord::default();
    for (i, dev) in devices.iter().enumerate() {
        let gtype = dev.get("GType").and_then(Value::as_str).unwrap_or("");
        if gtype == "FuUsbDevice" {
            rec.usb.push(fu_usb_device(dev)?);
        } else if dev.get("DeviceIds").is_some() {
            modem_device(dev, &mut rec)?;
        } else if dev.get("DeviceFile").is_some() {
            udev_port(dev, &mut rec);
        } else {
            return Err(json_err(format!(
                "UsbDevices[{i}] ({gtype:?}) has no USB ids and no device file"
            )));
        }
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_text() {
        assert_eq!(base64_decode("DQpFUlJPUg0K").unwrap(), b"\r\nERROR\r\n");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode("TQ").unwrap(), b"M");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn windows_ids() {
        assert_eq!(
            windows_id("USB\\VID_2C7C&PID_0125&REV_0318"),
            Some((0x2C7C, 0x0125, 0x0318))
        );
        assert_eq!(windows_id("USB\\VID_2C7C"), None);
        assert!(fwupd_json("{}").is_err());
        assert!(fwupd_json("not json").is_err());
    }
}
