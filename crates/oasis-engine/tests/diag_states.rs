//! Every diagnosis state is reachable from evidence, has plain-language next steps free of
//! developer jargon, and serialises under its agreed snake_case name.
// Helpers outside #[test] functions unwrap too: a failed fixture read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oasis_engine::diag::at::{AtProbe, ProbeError};
use oasis_engine::diag::classify::{Action, Diagnosis, Evidence, State, diagnose};
use oasis_engine::diag::timeline::{FlapConfig, Timeline};
use oasis_engine::event::ChipIdentity;
use oasis_transport::TransportErrorKind;
use oasis_transport::enumerate::{
    Accessibility, SerialPortInfo, Snapshot, UsbDeviceInfo, UsbInterfaceInfo,
};

fn iface(number: u8, protocol: u8, tty: Option<&str>) -> UsbInterfaceInfo {
    UsbInterfaceInfo {
        number,
        class: 0xFF,
        subclass: 0xFF,
        protocol,
        endpoints: 2,
        driver: Some("option".into()),
        tty: tty.map(str::to_string),
    }
}

fn dev(vid: u16, pid: u16, path: &str, interfaces: Vec<UsbInterfaceInfo>) -> UsbDeviceInfo {
    UsbDeviceInfo {
        vid,
        pid,
        bcd_device: 0,
        bus: 1,
        address: 4,
        port_path: path.into(),
        speed: None,
        manufacturer: None,
        product: None,
        serial: None,
        interfaces,
        access: Accessibility::Accessible,
    }
}

fn ec25() -> UsbDeviceInfo {
    dev(
        0x2C7C,
        0x0125,
        "1-1.2",
        (0..5)
            .map(|n| iface(n, 0xFF, (n == 2).then_some("/dev/ttyUSB2")))
            .collect(),
    )
}

fn edl() -> UsbDeviceInfo {
    let mut d = dev(0x05C6, 0x9008, "1-1.2", vec![iface(0, 0xFF, None)]);
    d.product = Some("QUSB__BULK_SN:1A2B3C4D".into());
    d
}

fn with(usb: Vec<UsbDeviceInfo>) -> Evidence {
    Evidence {
        snapshot: Snapshot {
            usb,
            ..Snapshot::default()
        },
        ..Evidence::default()
    }
}

fn probe(port: &str, answered: bool, error: Option<TransportErrorKind>) -> AtProbe {
    AtProbe {
        port: port.into(),
        answered,
        model: answered.then(|| "EC25".to_string()),
        full_revision: answered.then(|| "EC25EFAR06A06M4G_01.001.01.001".to_string()),
        error: error.map(|kind| ProbeError {
            kind,
            message: format!("{kind}"),
        }),
        ..AtProbe::default()
    }
}

/// One piece of evidence per state.
fn cases() -> Vec<(State, Evidence)> {
    let mut out = Vec::new();
    let mut ok = with(vec![ec25()]);
    ok.at.push(probe("/dev/ttyUSB2", true, None));
    out.push((State::NormalAtOk, ok));
    let mut silent = with(vec![ec25()]);
    silent.at.push(probe("/dev/ttyUSB2", false, None));
    out.push((State::NormalAtSilent, silent));
    out.push((State::EdlWaiting, with(vec![edl()])));
    let mut running = with(vec![edl()]);
    running.firehose_running = Some(true);
    out.push((State::EdlProgrammerRunning, running));
    out.push((
        State::MemoryDump,
        with(vec![dev(
            0x05C6,
            0x900E,
            "1-1.2",
            vec![iface(0, 0xFF, None)],
        )]),
    ));
    let mut busy = with(vec![ec25()]);
    busy.at
        .push(probe("/dev/ttyUSB2", false, Some(TransportErrorKind::Busy)));
    out.push((State::ClaimedByDriver, busy));
    let mut denied = edl();
    denied.access =
        Accessibility::PermissionDenied("Access denied (insufficient permissions)".into());
    out.push((State::NoPermission, with(vec![denied])));
    out.push((State::NotOnUsb, with(vec![])));
    let mut tl = Timeline::new(FlapConfig::default());
    for i in 0..4 {
        tl.observe(f64::from(i) * 3.0, &with(vec![ec25()]).snapshot);
        tl.observe(f64::from(i) * 3.0 + 1.0, &Snapshot::default());
    }
    out.push((
        State::Flapping,
        Evidence {
            timeline: Some(tl.events().to_vec()),
            ..Evidence::default()
        },
    ));
    out.push((
        State::NotFirehoseModule,
        with(vec![dev(
            0x2C7C,
            0x6002,
            "1-1.2",
            vec![iface(0, 0xFF, None)],
        )]),
    ));
    out
}

/// Words a lab technician should never have to read in a next step.
const JARGON: &[&str] = &[
    "libusb",
    "errno",
    "ioctl",
    "sysfs",
    "usbfs",
    "kernel",
    "panic",
    "unwrap",
    "stderr",
    "EACCES",
    "EBUSY",
    "HDLC",
    "Sahara",
    "Firehose",
    "0x",
    "TransportError",
    "rusb",
    "serialport",
    "enumerat",
];

fn check_plain(d: &Diagnosis) {
    assert!(!d.title.is_empty() && !d.summary.is_empty(), "{d:#?}");
    assert!(!d.next_steps.is_empty(), "{:?} has no next steps", d.state);
    for s in &d.next_steps {
        assert!(
            s.text.ends_with('.'),
            "{:?}: a sentence: {}",
            d.state,
            s.text
        );
        for w in JARGON {
            assert!(
                !s.text.contains(w),
                "{:?}: jargon {w:?} in {:?}",
                d.state,
                s.text
            );
        }
    }
    for w in ["libusb", "errno", "ioctl"] {
        assert!(!d.title.contains(w) && !d.summary.contains(w), "{d:#?}");
    }
}

#[test]
fn diag_every_state_is_reached_with_plain_next_steps() {
    let cases = cases();
    assert_eq!(cases.len(), 10);
    for (want, ev) in cases {
        let d = diagnose(&ev);
        assert_eq!(d.state, want, "{d:#?}");
        check_plain(&d);
        assert!(!d.evidence.is_empty(), "{want:?}: no evidence lines");
    }
}

#[test]
fn diag_state_names_are_the_agreed_set() {
    let names: Vec<String> = cases()
        .into_iter()
        .map(|(s, _)| {
            serde_json::to_string(&s)
                .unwrap()
                .trim_matches('"')
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "normal_at_ok",
            "normal_at_silent",
            "edl_waiting",
            "edl_programmer_running",
            "memory_dump",
            "claimed_by_driver",
            "no_permission",
            "not_on_usb",
            "flapping",
            "not_firehose_module",
        ]
    );
    let a = serde_json::to_string(&Action::InstallUdevRule).unwrap();
    assert_eq!(a, "\"install_udev_rule\"");
}

#[test]
fn diag_physical_and_platform_steps_are_named() {
    let all: Vec<Diagnosis> = cases().into_iter().map(|(_, e)| diagnose(&e)).collect();
    let text = |s: State| -> String {
        let d = all.iter().find(|d| d.state == s).unwrap();
        d.next_steps
            .iter()
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let off = text(State::NotOnUsb);
    for w in ["PWRKEY", "USB_BOOT", "1.8 V", "cable", "hub"] {
        assert!(off.contains(w), "not_on_usb lacks {w}: {off}");
    }
    assert!(text(State::EdlWaiting).contains("Qualcomm HS-USB QDLoader 9008"));
    assert!(text(State::NoPermission).contains("udev rule"));
    assert!(text(State::NoPermission).contains("Quectel USB driver"));
    assert!(
        text(State::MemoryDump).contains("EC25") || text(State::MemoryDump).contains("USB_BOOT")
    );
    // A normal EC25 names its own pad.
    let silent = text(State::NormalAtSilent);
    assert!(silent.contains("EC25 / EG25-G's USB_BOOT pad"), "{silent}");
}

#[test]
fn diag_evidence_lines_name_what_was_seen() {
    let mut ev = with(vec![edl()]);
    ev.chip = Some(ChipIdentity {
        hw_id: Some("000480e100000000".into()),
        pk_hash: Some("cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f".into()),
        serial: Some("1a2b3c4d".into()),
        ..ChipIdentity::default()
    });
    let d = diagnose(&ev);
    assert_eq!(d.state, State::EdlWaiting);
    assert!(
        d.evidence
            .iter()
            .any(|e| e == "05C6:9008: serial number 1A2B3C4D"),
        "{:?}",
        d.evidence
    );
    assert!(
        d.evidence
            .iter()
            .any(|e| e.contains("HW ID 000480e100000000 (MDM9207)"))
    );
    assert!(d.evidence.iter().any(|e| e.contains("Qualcomm test key")));
    assert_eq!(
        d.next_steps[0].action,
        Some(Action::Flash),
        "identity known: flash first"
    );
    assert!(d.next_steps[0].text.contains("MDM9207"));
}

#[test]
fn diag_most_urgent_board_is_diagnosed_first_and_all_are_listed() {
    let mut second = edl();
    second.port_path = "2-1".into();
    let mut ev = with(vec![ec25(), second]);
    ev.at.push(probe("/dev/ttyUSB2", true, None));
    let d = diagnose(&ev);
    assert_eq!(d.state, State::EdlWaiting);
    assert_eq!(d.port_path.as_deref(), Some("2-1"));
    assert_eq!(d.devices.len(), 2);
    assert_eq!(
        d.devices[1].state,
        State::NormalAtOk,
        "the EC25 on its own is fine"
    );
}

#[test]
fn diag_serial_only_module_answering_at_is_normal() {
    let mut ev = Evidence::default();
    ev.snapshot.serial.push(SerialPortInfo::named("/dev/ttyS0"));
    ev.at.push(probe("/dev/ttyS0", true, None));
    let d = diagnose(&ev);
    assert_eq!(d.state, State::NormalAtOk);
    assert!(d.summary.contains("/dev/ttyS0"), "{}", d.summary);
    // And permission problems on the AT port are their own state.
    let mut ev = with(vec![ec25()]);
    ev.at.push(probe(
        "/dev/ttyUSB2",
        false,
        Some(TransportErrorKind::PermissionDenied),
    ));
    assert_eq!(diagnose(&ev).state, State::NoPermission);
}

#[test]
fn diag_diagnosis_round_trips_through_json() {
    for (_, ev) in cases() {
        let d = diagnose(&ev);
        let back: Diagnosis = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        let ev_back: Evidence = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(diagnose(&ev_back), d, "evidence replays to the same answer");
    }
}

/// When USB cannot be listed at all (no USB subsystem, a container), the diagnosis says so
/// instead of claiming nothing is attached, and names the port that stayed silent.
#[test]
fn diag_usb_that_cannot_be_listed_is_not_reported_as_empty() {
    use oasis_engine::diag::at::AtProbe;
    use oasis_engine::diag::{Evidence, State, diagnose};
    use oasis_transport::enumerate::Snapshot;

    let snapshot = Snapshot {
        usb_error: Some("USB subsystem not available (no /sys/bus/usb)".into()),
        ..Snapshot::default()
    };
    let d = diagnose(&Evidence {
        snapshot: snapshot.clone(),
        ..Evidence::default()
    });
    assert_eq!(d.state, State::NotOnUsb);
    assert_eq!(d.title, "USB could not be looked at");
    assert!(d.summary.contains("no /sys/bus/usb"), "{}", d.summary);

    let silent = AtProbe {
        port: "/dev/ttyUSB2".into(),
        answered: false,
        ..AtProbe::default()
    };
    let d = diagnose(&Evidence {
        snapshot,
        at: vec![silent],
        ..Evidence::default()
    });
    assert_eq!(
        d.title,
        "Port does not answer, and USB could not be looked at"
    );
    assert!(
        d.summary.contains("/dev/ttyUSB2 did not answer AT"),
        "{}",
        d.summary
    );
    assert!(!d.next_steps.is_empty());
}
