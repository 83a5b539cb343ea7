//! Parsers that turn recorded USB evidence into enumeration types, for replay and tests:
//! `usb-devices` text, `lsusb -v` text, raw descriptor blobs and fwupd emulation JSON.
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
}
