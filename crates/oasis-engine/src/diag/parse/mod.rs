//! Parsers that turn recorded USB evidence into enumeration types: `usb-devices` text,
//! `lsusb -v` text, raw descriptor blobs and fwupd emulation JSON. [`listing`] tells them apart,
//! so a listing a remote lab saved is diagnosed as if the board were here
//! (`oasis-cli diagnose --usb-dump FILE`).
//!
//! They read what is there and invent nothing: truncated dumps give the interfaces that are
//! complete, fields that are absent stay `None`, and bad input is an error, never a panic.

mod descriptors;
mod fwupd;
mod lsusb;
mod usb_devices;

pub use descriptors::descriptors;
pub use fwupd::{FwupdRecord, fwupd_json};
pub use lsusb::{lsusb_interfaces, lsusb_verbose};
pub use usb_devices::usb_devices;

use oasis_transport::enumerate::Snapshot;

use super::DiagError;

/// The port path a raw descriptor dump's device is given (a blob does not say where it was).
pub(crate) const DUMP_PORT_PATH: &str = "dump";

/// A saved USB listing as a snapshot, whatever wrote it: fwupd emulation JSON, `lsusb -v`
/// text (or an excerpt of it with the ids), `usb-devices` text (`T:`/`D:`/`P:`… lines) or a raw descriptor blob (a device
/// descriptor first, put on port path `DUMP_PORT_PATH`).
pub fn listing(bytes: &[u8]) -> Result<Snapshot, DiagError> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim_start);
    let snapshot = |usb| Snapshot {
        usb,
        ..Snapshot::default()
    };
    match text {
        Some(t) if t.starts_with('{') => {
            let r = fwupd_json(t)?;
            Ok(Snapshot {
                usb: r.usb,
                serial: r.serial,
                usb_error: None,
            })
        }
        // `lsusb -v`, whole or an excerpt that starts inside a device descriptor.
        Some(t)
            if t.contains("Device Descriptor:")
                || t.lines().any(|l| l.trim_start().starts_with("idVendor")) =>
        {
            lsusb_verbose(t).map(snapshot)
        }
        Some(t) if t.lines().any(|l| l.starts_with("T:")) => usb_devices(t).map(snapshot),
        // A USB device descriptor: bLength 18, bDescriptorType 1.
        _ if bytes.starts_with(&[18, 1]) => {
            descriptors(bytes, DUMP_PORT_PATH).map(|d| snapshot(vec![d]))
        }
        _ => Err(DiagError::UnknownListing {
            what: match text {
                Some("") => "the file is empty".to_owned(),
                Some(t) => format!(
                    "text starting {:?}",
                    t.lines()
                        .next()
                        .unwrap_or_default()
                        .chars()
                        .take(40)
                        .collect::<String>()
                ),
                None => format!(
                    "binary, starting {}",
                    bytes
                        .iter()
                        .take(8)
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                ),
            },
        }),
    }
}

/// Parse a number written in decimal or with a `0x` prefix in hex.
pub(crate) fn parse_num(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parse a version written as `3.18` into BCD `0x0318`.
pub(crate) fn parse_bcd_version(s: &str) -> Option<u16> {
    let (maj, min) = s.trim().split_once('.')?;
    let maj = u16::from_str_radix(maj, 16).ok()?;
    let min = u16::from_str_radix(min, 16).ok()?;
    (maj <= 0xFF && min <= 0xFF).then_some((maj << 8) | min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_bcd() {
        assert_eq!(parse_num("0x2c7c"), Some(0x2C7C));
        assert_eq!(parse_num("255"), Some(255));
        assert_eq!(parse_num("zz"), None);
        assert_eq!(parse_bcd_version("3.18"), Some(0x0318));
        assert_eq!(parse_bcd_version("0.00"), Some(0));
        assert_eq!(parse_bcd_version("318"), None);
    }

    #[test]
    fn a_listing_is_read_in_the_format_it_was_saved_in() {
        let text = oasis_testkit::usb::Device::bg95_modem_mode().usb_devices_text();
        let snap = listing(text.as_bytes()).unwrap();
        assert_eq!(snap.usb, usb_devices(&text).unwrap());
        assert_eq!((snap.usb[0].vid, snap.usb[0].pid), (0x2C7C, 0x0700));

        let lsusb = "\nBus 001 Device 007: ID 05c6:9008 Qualcomm, Inc. Gobi Wireless Modem (QDL mode)\n\
                     Device Descriptor:\n  bLength                18\n  idVendor           0x05c6\n\
                     \x20 idProduct          0x9008\n";
        let snap = listing(lsusb.as_bytes()).unwrap();
        assert_eq!(snap.usb, lsusb_verbose(lsusb).unwrap());
        assert_eq!((snap.usb[0].vid, snap.usb[0].pid), (0x05C6, 0x9008));

        let blob = [
            0x12, 0x01, 0, 2, 0, 0, 0, 64, 0xC6, 0x05, 0x08, 0x90, 0, 0, 1, 2, 0, 1,
        ];
        let snap = listing(&blob).unwrap();
        assert_eq!((snap.usb[0].vid, snap.usb[0].pid), (0x05C6, 0x9008));
        assert_eq!(snap.usb[0].port_path, DUMP_PORT_PATH);

        let snap = listing(br#"{"UsbDevices": []}"#).unwrap();
        assert!(snap.usb.is_empty() && snap.serial.is_empty());
        // A JSON file that is not fwupd's says what it lacks.
        assert!(matches!(listing(b"{}"), Err(DiagError::Json { .. })));
    }

    #[test]
    fn anything_else_is_named_not_guessed() {
        let e = listing(b"hello world\nsecond line").unwrap_err();
        assert!(e.to_string().contains("\"hello world\""), "{e}");
        assert!(crate::Help::help(&e).is_some());
        let e = listing(&[0xff, 0xfe, 0x00, 0x01]).unwrap_err();
        assert!(e.to_string().contains("binary, starting fffe0001"), "{e}");
        let e = listing(b"  \n").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }
}
