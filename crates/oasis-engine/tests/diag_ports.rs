//! Finding a board's DM and AT ports: by interface tty (Linux), by interface number (serial
//! enumeration), and by the Windows driver's friendly names.
// Helpers outside #[test] functions unwrap too: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oasis_engine::diag::parse::usb_devices;
use oasis_engine::diag::ports::{at_ports, dm_port};
use oasis_transport::enumerate::{SerialPortInfo, Snapshot};

/// The real-world corpus (`OASIS_REALWORLD`); read only by the ignored `realworld_*` tests.
fn fix() -> String {
    std::env::var("OASIS_REALWORLD").unwrap_or_default()
}

fn port(name: &str, pid: u16, interface: Option<u8>, product: Option<&str>) -> SerialPortInfo {
    SerialPortInfo {
        name: name.into(),
        vid: Some(0x2C7C),
        pid: Some(pid),
        interface,
        serial_number: Some("884328a2".into()),
        manufacturer: None,
        product: product.map(str::to_string),
    }
}

fn bg95() -> oasis_transport::enumerate::UsbDeviceInfo {
    let text = std::fs::read_to_string(format!(
        "{}/usb/usb-devices/quectel-bg95-2c7c-0700-usbnet-modem.txt",
        fix()
    ))
    .unwrap();
    usb_devices(&text).unwrap().remove(0)
}

/// The same module layout, generated (oasis-testkit) rather than read from the corpus.
fn kit_bg95() -> oasis_transport::enumerate::UsbDeviceInfo {
    let text = oasis_testkit::usb::Device::bg95_modem_mode().usb_devices_text();
    usb_devices(&text).unwrap().remove(0)
}

#[test]
fn diag_ports_by_interface_tty_and_number() {
    let mut dev = kit_bg95();
    dev.interfaces[0].tty = Some("/dev/ttyUSB0".into());
    dev.interfaces[2].tty = Some("/dev/ttyUSB2".into());
    let snap = Snapshot {
        usb: vec![dev.clone()],
        serial: vec![port("/dev/ttyUSB3", 0x0700, Some(4), None)],
        usb_error: None,
    };
    assert_eq!(dm_port(&snap, &dev).as_deref(), Some("/dev/ttyUSB0"));
    // AT port first, then the second modem on interface 4 (BG95 "modem" mode).
    assert_eq!(at_ports(&snap, &dev), ["/dev/ttyUSB2", "/dev/ttyUSB3"]);
}

#[test]
fn diag_ports_by_windows_friendly_name_and_serial_number() {
    let dev = kit_bg95();
    let mut other_board = port("COM9", 0x0700, None, Some("Quectel USB DM Port (COM9)"));
    other_board.serial_number = Some("deadbeef".into());
    let snap = Snapshot {
        usb: vec![dev.clone()],
        serial: vec![
            other_board,
            port("COM5", 0x0700, None, Some("Quectel USB DM Port (COM5)")),
            port("COM7", 0x0700, None, Some("Quectel USB AT Port (COM7)")),
            port("COM8", 0x0125, None, Some("Quectel USB AT Port (COM8)")),
        ],
        usb_error: None,
    };
    assert_eq!(dm_port(&snap, &dev).as_deref(), Some("COM5"));
    assert_eq!(at_ports(&snap, &dev), ["COM7"]);
    assert_eq!(dm_port(&Snapshot::default(), &dev), None);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_ports_by_interface_tty_and_number() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_diag_ports_by_interface_tty_and_number")
    else {
        return;
    };
    let mut dev = bg95();
    dev.interfaces[0].tty = Some("/dev/ttyUSB0".into());
    dev.interfaces[2].tty = Some("/dev/ttyUSB2".into());
    let snap = Snapshot {
        usb: vec![dev.clone()],
        serial: vec![port("/dev/ttyUSB3", 0x0700, Some(4), None)],
        usb_error: None,
    };
    assert_eq!(dm_port(&snap, &dev).as_deref(), Some("/dev/ttyUSB0"));
    // AT port first, then the second modem on interface 4 (BG95 "modem" mode).
    assert_eq!(at_ports(&snap, &dev), ["/dev/ttyUSB2", "/dev/ttyUSB3"]);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_ports_by_windows_friendly_name_and_serial_number() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_diag_ports_by_windows_friendly_name_and_serial_number")
    else {
        return;
    };
    let dev = bg95();
    let mut other_board = port("COM9", 0x0700, None, Some("Quectel USB DM Port (COM9)"));
    other_board.serial_number = Some("deadbeef".into());
    let snap = Snapshot {
        usb: vec![dev.clone()],
        serial: vec![
            other_board,
            port("COM5", 0x0700, None, Some("Quectel USB DM Port (COM5)")),
            port("COM7", 0x0700, None, Some("Quectel USB AT Port (COM7)")),
            port("COM8", 0x0125, None, Some("Quectel USB AT Port (COM8)")),
        ],
        usb_error: None,
    };
    assert_eq!(dm_port(&snap, &dev).as_deref(), Some("COM5"));
    assert_eq!(at_ports(&snap, &dev), ["COM7"]);
    assert_eq!(dm_port(&Snapshot::default(), &dev), None);
}
