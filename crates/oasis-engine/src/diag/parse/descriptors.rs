//! Parser for a raw USB descriptor blob (device descriptor followed by the first
//! configuration's descriptors), as usbfs, libusb and fwupd record it. Bounds-checked.

use oasis_transport::enumerate::{Accessibility, UsbDeviceInfo, UsbInterfaceInfo};

use crate::diag::DiagError;

const DEVICE: u8 = 1;
const CONFIG: u8 = 2;
const INTERFACE: u8 = 4;

fn desc_err(offset: usize, expected: &'static str, got: String) -> DiagError {
    DiagError::Descriptor {
        offset,
        expected,
        got,
    }
}

fn le16(b: &[u8], at: usize, offset: usize) -> Result<u16, DiagError> {
    match b.get(at..at + 2) {
        Some([lo, hi]) => Ok(u16::from_le_bytes([*lo, *hi])),
        _ => Err(desc_err(
            offset + at,
            "two bytes",
            "end of data".to_string(),
        )),
    }
}

fn interface(d: &[u8], offset: usize) -> Result<UsbInterfaceInfo, DiagError> {
    match d {
        [_, _, number, _alt, endpoints, class, subclass, protocol, ..] => Ok(UsbInterfaceInfo {
            number: *number,
            class: *class,
            subclass: *subclass,
            protocol: *protocol,
            endpoints: *endpoints,
            driver: None,
            tty: None,
        }),
        _ => Err(desc_err(
            offset,
            "an interface descriptor of 9 bytes",
            format!("{} bytes", d.len()),
        )),
    }
}

/// Parse a descriptor blob into a device seen on `port_path`. Only alternate setting 0 of the
/// first configuration is kept; string descriptors are not in the blob, so strings are `None`.
pub fn descriptors(blob: &[u8], port_path: &str) -> Result<UsbDeviceInfo, DiagError> {
    let mut dev: Option<UsbDeviceInfo> = None;
    let mut configs = 0;
    let mut offset = 0;
    while offset < blob.len() {
        let len = usize::from(blob.get(offset).copied().unwrap_or(0));
        let Some(d) = blob.get(offset..offset + len).filter(|_| len >= 2) else {
            let got = format!("bLength {len} with {} bytes left", blob.len() - offset);
            return Err(desc_err(offset, "a descriptor that fits the data", got));
        };
        match (d.get(1).copied().unwrap_or(0), dev.as_mut()) {
            (DEVICE, None) => {
                if len < 18 {
                    return Err(desc_err(
                        offset,
                        "a device descriptor of 18 bytes",
                        format!("{len} bytes"),
                    ));
                }
                dev = Some(UsbDeviceInfo {
                    vid: le16(d, 8, offset)?,
                    pid: le16(d, 10, offset)?,
                    bcd_device: le16(d, 12, offset)?,
                    bus: 0,
                    address: 0,
                    port_path: port_path.to_string(),
                    speed: None,
                    manufacturer: None,
                    product: None,
                    serial: None,
                    interfaces: Vec::new(),
                    access: Accessibility::Unknown,
                });
            }
            (ty, None) => {
                return Err(desc_err(
                    offset,
                    "the device descriptor first",
                    format!("descriptor type {ty}"),
                ));
            }
            (CONFIG, Some(_)) => {
                configs += 1;
                if configs > 1 {
                    break;
                }
            }
            (INTERFACE, Some(dev)) => {
                let alt = d.get(3).copied().unwrap_or(0);
                let iface = interface(d, offset)?;
                if alt == 0 {
                    dev.interfaces.push(iface);
                }
            }
            _ => {}
        }
        offset += len;
    }
    dev.ok_or_else(|| desc_err(0, "a device descriptor", "no data".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_blobs_are_errors() {
        assert!(descriptors(&[], "x").is_err());
        assert!(matches!(
            descriptors(&[0x00, 0x01], "x"),
            Err(DiagError::Descriptor { offset: 0, .. })
        ));
        // bLength runs past the end.
        assert!(descriptors(&[0x12, 0x01, 0x00], "x").is_err());
        // Configuration before device.
        assert!(descriptors(&[0x09, 0x02, 0, 0, 0, 0, 0, 0, 0], "x").is_err());
        // Short interface descriptor.
        let mut b = vec![
            0x12, 0x01, 0, 2, 0, 0, 0, 64, 0xC6, 0x05, 0x08, 0x90, 0, 0, 1, 2, 0, 1,
        ];
        b.extend([0x05, 0x04, 0, 0, 2]);
        assert!(matches!(
            descriptors(&b, "x"),
            Err(DiagError::Descriptor { offset: 18, .. })
        ));
    }
}
