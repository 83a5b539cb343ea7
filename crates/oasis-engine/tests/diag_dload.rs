//! The DIAG switch-to-download-mode frame, the HDLC encoder it comes from, the switch over a
//! scripted DM port, and following the board until 05C6:9008 appears.
// Helpers outside #[test] functions unwrap too: a failed fixture read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::time::Duration;

use oasis_engine::Help;
use oasis_engine::diag::DiagError;
use oasis_engine::diag::dload::{
    SWITCH_TO_EDL, SWITCH_TO_EDL_PAYLOAD, SwitchOutcome, crc16_x25, follow_to_edl, hdlc_decode,
    hdlc_encode, switch_to_edl,
};
use oasis_transport::enumerate::{Accessibility, Snapshot, UsbDeviceInfo, UsbInterfaceInfo};
use oasis_transport::{LinkKind, Transport, TransportError, TransportErrorKind};
use proptest::prelude::*;

#[test]
fn diag_switch_frame_is_the_documented_constant() {
    assert_eq!(crc16_x25(&SWITCH_TO_EDL_PAYLOAD), 0x0F54);
    assert_eq!(hdlc_encode(&SWITCH_TO_EDL_PAYLOAD, false), SWITCH_TO_EDL);
    assert_eq!(SWITCH_TO_EDL, [0x4B, 0x65, 0x01, 0x00, 0x54, 0x0F, 0x7E]);
    // QFirehose's extended build-id request, with a leading flag.
    assert_eq!(hdlc_encode(&[0x7C], true), [0x7E, 0x7C, 0x93, 0x49, 0x7E]);
    assert_eq!(
        hdlc_decode(&[0x7E, 0x7C, 0x93, 0x49, 0x7E]).unwrap(),
        [0x7C]
    );
    // CRC-16/X.25 check value.
    assert_eq!(crc16_x25(b"123456789"), 0x906E);
}

#[test]
fn diag_flags_and_escapes_inside_payload_are_escaped() {
    let payload = [0x7E, 0x01, 0x7D, 0x02];
    let framed = hdlc_encode(&payload, false);
    assert_eq!(&framed[..6], &[0x7D, 0x5E, 0x01, 0x7D, 0x5D, 0x02]);
    assert_eq!(
        framed.iter().filter(|b| **b == 0x7E).count(),
        1,
        "only the closing flag"
    );
    assert_eq!(hdlc_decode(&framed).unwrap(), payload);
}

proptest! {
    #[test]
    fn diag_hdlc_round_trips(payload in proptest::collection::vec(any::<u8>(), 1..64), lead in any::<bool>()) {
        let framed = hdlc_encode(&payload, lead);
        prop_assert_eq!(hdlc_decode(&framed).unwrap(), payload);
    }

    #[test]
    fn diag_hdlc_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = hdlc_decode(&bytes);
    }
}

/// A DM port: what is waiting before the command, then what it answers after it.
struct DmPort {
    before: VecDeque<Vec<u8>>,
    after: VecDeque<Result<Vec<u8>, TransportErrorKind>>,
    written: Vec<u8>,
}

impl DmPort {
    fn new(before: &[&[u8]], after: Vec<Result<Vec<u8>, TransportErrorKind>>) -> Self {
        Self {
            before: before.iter().map(|b| b.to_vec()).collect(),
            after: after.into(),
            written: Vec::new(),
        }
    }
}

impl Transport for DmPort {
    fn write_all(&mut self, buf: &[u8], _timeout: Duration) -> Result<(), TransportError> {
        self.written.extend_from_slice(buf);
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let next = if self.written.is_empty() {
            self.before.pop_front().map(Ok)
        } else {
            self.after.pop_front()
        };
        match next {
            Some(Ok(bytes)) => {
                buf[..bytes.len()].copy_from_slice(&bytes);
                Ok(bytes.len())
            }
            Some(Err(kind)) => Err(TransportError::new(kind, "read", "dm")),
            None => {
                std::thread::sleep(timeout);
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    "read",
                    "dm",
                ))
            }
        }
    }
    fn link_kind(&self) -> LinkKind {
        LinkKind::Stream
    }
    fn describe(&self) -> String {
        "dm".into()
    }
}

#[test]
fn diag_echo_after_log_frames_is_success() {
    let log = hdlc_encode(&[0x79, 0x00, 0x01, 0x02], false);
    let mut echo = log.clone();
    echo.extend_from_slice(&SWITCH_TO_EDL[..3]);
    let mut port = DmPort::new(
        &[&hdlc_encode(&[0x10, 0x00], false)],
        vec![Ok(echo), Ok(SWITCH_TO_EDL[3..].to_vec())],
    );
    let out = switch_to_edl(&mut port, Duration::from_millis(500)).unwrap();
    assert_eq!(out, SwitchOutcome::Echoed);
    assert_eq!(port.written, SWITCH_TO_EDL, "exactly the frame, once");
}

#[test]
fn diag_error_frame_is_refused() {
    let mut port = DmPort::new(
        &[],
        vec![Ok(hdlc_encode(&[0x13, 0x4B, 0x65, 0x01, 0x00], false))],
    );
    let err = switch_to_edl(&mut port, Duration::from_millis(500)).unwrap_err();
    assert!(
        matches!(&err, DiagError::Refused { reply_hex } if reply_hex == "134b650100"),
        "{err}"
    );
    assert!(err.help().is_some());
}

#[test]
fn diag_silence_is_no_echo_within_the_timeout() {
    let mut port = DmPort::new(&[], vec![]);
    let err = switch_to_edl(&mut port, Duration::from_millis(200)).unwrap_err();
    assert!(
        matches!(err, DiagError::NoEcho { waited_ms: 200, .. }),
        "{err}"
    );
}

#[test]
fn diag_port_vanishing_means_the_board_is_restarting() {
    let mut port = DmPort::new(&[], vec![Err(TransportErrorKind::Disconnected)]);
    assert_eq!(
        switch_to_edl(&mut port, Duration::from_millis(500)).unwrap(),
        SwitchOutcome::PortGone
    );
}

fn dev(vid: u16, pid: u16, path: &str) -> UsbDeviceInfo {
    UsbDeviceInfo {
        vid,
        pid,
        bcd_device: 0,
        bus: 1,
        address: 9,
        port_path: path.into(),
        speed: None,
        manufacturer: None,
        product: Some("QUSB__BULK".into()),
        serial: None,
        interfaces: vec![UsbInterfaceInfo {
            number: 0,
            class: 0xFF,
            subclass: 0xFF,
            protocol: 0xFF,
            endpoints: 2,
            driver: None,
            tty: None,
        }],
        access: Accessibility::Accessible,
    }
}

fn scripted(steps: Vec<Vec<UsbDeviceInfo>>) -> impl FnMut() -> Snapshot {
    let mut steps: VecDeque<Vec<UsbDeviceInfo>> = steps.into();
    move || {
        let usb = if steps.len() > 1 {
            steps.pop_front()
        } else {
            steps.front().cloned()
        };
        Snapshot {
            usb: usb.unwrap_or_default(),
            ..Snapshot::default()
        }
    }
}

#[test]
fn diag_follow_prefers_the_same_port_and_ignores_other_boards() {
    let other = dev(0x05C6, 0x9008, "5-1");
    let poll = scripted(vec![
        vec![other.clone(), dev(0x2C7C, 0x0125, "1-1.4")],
        vec![other.clone()],
        vec![other.clone(), dev(0x05C6, 0x9008, "1-1.4")],
    ]);
    let found = follow_to_edl(
        poll,
        Some("1-1.4"),
        Duration::from_secs(2),
        Duration::from_millis(1),
    )
    .unwrap();
    assert_eq!(found.port_path, "1-1.4");

    // A board already in download mode elsewhere is never taken.
    let poll = scripted(vec![
        vec![other.clone(), dev(0x2C7C, 0x0125, "1-1.4")],
        vec![other],
    ]);
    let err = follow_to_edl(
        poll,
        Some("1-1.4"),
        Duration::from_millis(50),
        Duration::from_millis(5),
    )
    .unwrap_err();
    assert!(
        matches!(&err, DiagError::EdlNotSeen { last_seen, .. } if last_seen == &["05C6:9008 on 5-1"]),
        "{err}"
    );
}

#[test]
fn diag_follow_accepts_a_new_path_after_re_enumeration() {
    let poll = scripted(vec![
        vec![dev(0x2C7C, 0x0700, "2-1")],
        vec![],
        vec![dev(0x05C6, 0x9008, "3-1")],
    ]);
    let found = follow_to_edl(
        poll,
        Some("2-1"),
        Duration::from_secs(2),
        Duration::from_millis(1),
    )
    .unwrap();
    assert_eq!(found.port_path, "3-1");
}

#[test]
fn diag_follow_gives_up_in_time() {
    let err = follow_to_edl(
        scripted(vec![vec![]]),
        None,
        Duration::from_millis(100),
        Duration::from_millis(10),
    )
    .unwrap_err();
    assert!(matches!(err, DiagError::EdlNotSeen { .. }));
    assert!(err.to_string().contains("05C6:9008"));
}
