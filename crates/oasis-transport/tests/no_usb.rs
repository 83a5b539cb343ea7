//! On a machine without a USB subsystem (containers, this CI) nothing panics: enumeration
//! reports `usb_error`, opening USB is `Unsupported`. Skipped where USB exists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oasis_transport::enumerate;
use oasis_transport::usb::UsbTransport;
use oasis_transport::{PortSpec, TransportErrorKind, UsbSelector};

fn has_usb() -> bool {
    if cfg!(target_os = "linux") && std::path::Path::new("/sys/bus/usb").exists() {
        println!("SKIP: this machine has a USB subsystem");
        return true;
    }
    !cfg!(target_os = "linux")
}

#[test]
fn snapshot_without_usb_is_empty_with_a_reason() {
    if has_usb() {
        return;
    }
    let snap = enumerate::snapshot();
    assert!(snap.usb.is_empty());
    let why = snap.usb_error.expect("usb_error says why");
    assert!(why.contains("USB subsystem not available"), "{why}");
}

#[test]
fn opening_usb_without_usb_is_unsupported() {
    if has_usb() {
        return;
    }
    let err = UsbTransport::open(&UsbSelector::Any).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Unsupported, "{err}");
    assert!(
        err.to_string().contains("USB subsystem not available"),
        "{err}"
    );
    let err = oasis_transport::open(&PortSpec::parse("usb:1-1.4")).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Unsupported, "{err}");
    assert_eq!(err.link, "usb:1-1.4");
    assert_eq!(
        enumerate::libusb_devices(&[]).unwrap_err().kind,
        TransportErrorKind::Unsupported
    );
}
