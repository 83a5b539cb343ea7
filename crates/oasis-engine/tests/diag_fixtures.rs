//! Diagnosis on USB dumps, a generated one (oasis-testkit) and the real ones of the real-world
//! corpus (`OASIS_REALWORLD`, ignored without it): usb-devices text, lsusb -v excerpts, the raw
//! 9008 descriptor blob and fwupd emulation JSON, each parsed as it is and classified into the
//! state a technician would expect.
// Helpers outside #[test] functions unwrap too: a failed fixture read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oasis_engine::diag::DiagError;
use oasis_engine::diag::at::{AtProbe, parse::parse_secure_boot};
use oasis_engine::diag::classify::{Action, Evidence, State, diagnose};
use oasis_engine::diag::parse::{
    descriptors, fwupd_json, lsusb_interfaces, lsusb_verbose, usb_devices,
};
use oasis_engine::diag::usb_table::{NetKind, Role, UsbMode, device_roles, identify_device};
use oasis_transport::enumerate::{Accessibility, Snapshot, UsbDeviceInfo};

/// The real-world corpus (`OASIS_REALWORLD`); read only by the ignored `realworld_*` tests.
fn fix() -> String {
    std::env::var("OASIS_REALWORLD").unwrap_or_default()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{}/{rel}", fix())).unwrap()
}

fn evidence(usb: Vec<UsbDeviceInfo>) -> Evidence {
    Evidence {
        snapshot: Snapshot {
            usb,
            ..Snapshot::default()
        },
        ..Evidence::default()
    }
}

fn answered(port: &str) -> AtProbe {
    AtProbe {
        port: port.into(),
        answered: true,
        ..AtProbe::default()
    }
}

/// A BG95 in modem mode (usb-devices text): no interface 3, a second modem port on 4, AT silent
/// until asked, answering once asked.
fn check_bg95_modem_mode(text: &str) {
    let devs = usb_devices(text).unwrap();
    let [bg95] = devs.as_slice() else {
        panic!("{devs:?}")
    };
    assert_eq!((bg95.vid, bg95.pid), (0x2C7C, 0x0700));
    assert_eq!(
        bg95.port_path, "1-?.2",
        "level 2, port 01, parent not in the dump"
    );
    assert_eq!(bg95.serial.as_deref(), Some("884328a2"));
    assert_eq!(bg95.speed.as_deref(), Some("480 Mbit/s"));
    let roles = device_roles(bg95);
    assert_eq!(
        roles,
        vec![
            (0, Role::Diag),
            (1, Role::Nmea),
            (2, Role::At),
            (4, Role::Modem)
        ]
    );
    assert!(
        bg95.interfaces
            .iter()
            .all(|i| i.driver.as_deref() == Some("option"))
    );

    let d = diagnose(&evidence(devs.clone()));
    assert_eq!(d.state, State::NormalAtSilent);
    assert_eq!(
        d.next_steps[0].action,
        Some(Action::ProbeAt),
        "not asked yet: ask first"
    );
    assert!(d.title.contains("not been asked"), "{}", d.title);

    let mut ev = evidence(devs);
    ev.at.push(answered("/dev/ttyUSB2"));
    let d = diagnose(&ev);
    assert_eq!(d.state, State::NormalAtOk);
    assert_eq!(d.devices[0].identity.family, "BG95");
}

#[test]
fn diag_bg95_modem_mode_has_no_interface_3_and_a_second_modem_on_4() {
    // The layout generated (oasis-testkit); the real dump is checked by the realworld twin.
    check_bg95_modem_mode(&oasis_testkit::usb::Device::bg95_modem_mode().usb_devices_text());
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_bg95_modem_mode_has_no_interface_3_and_a_second_modem_on_4() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_diag_bg95_modem_mode_has_no_interface_3_and_a_second_modem_on_4",
    ) else {
        return;
    };
    check_bg95_modem_mode(&read(
        "usb/usb-devices/quectel-bg95-2c7c-0700-usbnet-modem.txt",
    ));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_bg95_rmnet_mode_interface_3_is_qmi() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_diag_bg95_rmnet_mode_interface_3_is_qmi")
    else {
        return;
    };
    let devs = usb_devices(&read(
        "usb/usb-devices/quectel-bg95-2c7c-0700-usbnet-rmnet.txt",
    ))
    .unwrap();
    let roles = device_roles(&devs[0]);
    assert_eq!(roles[3], (3, Role::Network(NetKind::Qmi)));
    let mut ev = evidence(devs);
    ev.at.push(AtProbe {
        port: "/dev/ttyUSB2".into(),
        ..AtProbe::default()
    });
    let d = diagnose(&ev);
    assert_eq!(d.state, State::NormalAtSilent);
    assert!(d.title.contains("does not answer"), "{}", d.title);
    assert!(
        d.evidence
            .iter()
            .any(|e| e.contains("/dev/ttyUSB2 did not answer")),
        "{:?}",
        d.evidence
    );
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_motorola_900e_qc_dload_is_crash_dump_with_a_note() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_diag_motorola_900e_qc_dload_is_crash_dump_with_a_note")
    else {
        return;
    };
    let devs = usb_devices(&read("usb/usb-devices/motorola-22b8-900e-qc_dload.txt")).unwrap();
    let id = identify_device(&devs[0]).unwrap();
    assert_eq!(id.mode, UsbMode::MemoryDump);
    assert!(!id.known);
    let d = diagnose(&evidence(devs));
    assert_eq!(d.state, State::MemoryDump);
    assert!(
        d.evidence[0].starts_with("22B8:900E on USB port 1-1, interface ff/ff/ff, driver option"),
        "{:?}",
        d.evidence
    );
    assert!(d.evidence.iter().any(|e| e.contains("another vendor")));
    assert!(d.next_steps.iter().any(|s| s.action == Some(Action::Reset)));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_raw_9008_descriptor_blob_is_edl_waiting() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_diag_raw_9008_descriptor_blob_is_edl_waiting")
    else {
        return;
    };
    let blob = std::fs::read(format!("{}/usb/qc-ec25au-edl-9008.descriptors.bin", fix())).unwrap();
    let dev = descriptors(&blob, "1-1.4").unwrap();
    assert_eq!((dev.vid, dev.pid, dev.bcd_device), (0x05C6, 0x9008, 0));
    assert_eq!(dev.interfaces.len(), 1);
    let i = &dev.interfaces[0];
    assert_eq!(
        (i.class, i.subclass, i.protocol, i.endpoints),
        (0xFF, 0xFF, 0xFF, 2)
    );

    let d = diagnose(&evidence(vec![dev.clone()]));
    assert_eq!(d.state, State::EdlWaiting);
    assert_eq!(d.port_path.as_deref(), Some("1-1.4"));
    assert_eq!(d.next_steps[0].action, Some(Action::ReadChipIdentity));
    assert!(
        d.next_steps
            .iter()
            .any(|s| s.text.contains("Qualcomm HS-USB QDLoader 9008"))
    );

    // The same board with a programmer already running, or held by qcserial.
    let mut ev = evidence(vec![dev.clone()]);
    ev.firehose_running = Some(true);
    assert_eq!(diagnose(&ev).state, State::EdlProgrammerRunning);
    // qcserial bound to it (the usual Linux case) does not block Oasis: it detaches it.
    let mut bound = dev.clone();
    bound.access =
        Accessibility::Busy("qcserial (kernel driver; Oasis detaches it on open)".into());
    bound.interfaces[0].driver = Some("qcserial".into());
    let d = diagnose(&evidence(vec![bound]));
    assert_eq!(d.state, State::EdlWaiting);
    assert!(
        d.evidence[0]
            .starts_with("05C6:9008 on USB port 1-1.4, interface ff/ff/ff, driver qcserial"),
        "{:?}",
        d.evidence
    );
    assert!(
        d.evidence
            .iter()
            .any(|e| e.contains("Oasis can still reach it"))
    );
    // Another program holding it through libusb does.
    let mut held = dev;
    held.access = Accessibility::Busy("usbfs (another program holds it through libusb)".into());
    held.interfaces[0].driver = Some("usbfs".into());
    let d = diagnose(&evidence(vec![held]));
    assert_eq!(d.state, State::ClaimedByDriver);
    assert!(d.summary.contains("another program"), "{}", d.summary);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_fwupd_ec25au_setup_is_edl_on_platform_path() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_diag_fwupd_ec25au_setup_is_edl_on_platform_path")
    else {
        return;
    };
    let rec = fwupd_json(&read("usb/fwupd-emulation/qc-ec25au-setup.json")).unwrap();
    let [dev] = rec.usb.as_slice() else {
        panic!("{rec:?}")
    };
    assert_eq!((dev.vid, dev.pid), (0x05C6, 0x9008));
    assert_eq!(dev.port_path, "1-2");
    assert_eq!(dev.interfaces[0].endpoints, 2);
    assert_eq!(
        diagnose(&evidence(rec.usb.clone())).state,
        State::EdlWaiting
    );
    // The descriptor blob fwupd recorded is the fixture's .bin, and parses the same.
    let blob = std::fs::read(format!("{}/usb/qc-ec25au-edl-9008.descriptors.bin", fix())).unwrap();
    let from_blob = descriptors(&blob, "1-2").unwrap();
    assert_eq!(from_blob.interfaces[0].class, dev.interfaces[0].class);
    assert_eq!((from_blob.vid, from_blob.pid), (dev.vid, dev.pid));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_fwupd_eg25g_modem_answers_at_with_secure_boot_off() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_diag_fwupd_eg25g_modem_answers_at_with_secure_boot_off",
    ) else {
        return;
    };
    let rec = fwupd_json(&read("usb/fwupd-emulation/qc-eg25ggc-fastboot-setup.json")).unwrap();
    assert_eq!(
        (rec.usb[0].vid, rec.usb[0].pid, rec.usb[0].bcd_device),
        (0x2C7C, 0x0125, 0x0318)
    );
    assert_eq!(rec.usb[0].port_path, "1-2");
    assert_eq!(
        rec.firmware_version.as_deref(),
        Some("EG25GGCR07A02M1G_30.202.30.202")
    );
    assert!(
        rec.serial
            .iter()
            .any(|s| s.name == "/dev/ttyUSB2" && s.vid == Some(0x2C7C))
    );
    // Six recorded ERROR replies and one secbootstat answer.
    assert_eq!(
        rec.at_replies
            .iter()
            .filter(|r| r.contains("ERROR"))
            .count(),
        6
    );
    let secboot = rec
        .at_replies
        .iter()
        .find(|r| r.contains("secbootstat"))
        .unwrap();
    let lines: Vec<String> = secboot.lines().map(str::to_string).collect();
    assert_eq!(parse_secure_boot(&lines), Some(false));

    let mut ev = evidence(rec.usb.clone());
    ev.snapshot.serial = rec.serial.clone();
    ev.at.push(AtProbe {
        full_revision: rec.firmware_version.clone(),
        secure_boot: Some(false),
        ..answered("/dev/ttyUSB2")
    });
    let d = diagnose(&ev);
    assert_eq!(d.state, State::NormalAtOk);
    assert!(
        d.summary.contains("EG25GGCR07A02M1G_30.202.30.202"),
        "{}",
        d.summary
    );
    assert!(d.evidence.iter().any(|e| e.contains("secure boot off")));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_fwupd_em160r_on_pcie_is_not_on_usb() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_diag_fwupd_em160r_on_pcie_is_not_on_usb")
    else {
        return;
    };
    let rec = fwupd_json(&read("usb/fwupd-emulation/qc-em160r-setup.json")).unwrap();
    assert!(rec.usb.is_empty());
    assert_eq!(
        rec.non_usb,
        vec!["PCIe 1EAC:100D (/dev/wwan0firehose0)".to_string()]
    );
    let d = diagnose(&oasis_engine::diag::Evidence {
        snapshot: rec.snapshot(),
        ..Evidence::default()
    });
    assert_eq!(d.state, State::NotOnUsb);
    assert!(d.next_steps.iter().any(|s| s.text.contains("PCIe")));
    assert!(d.evidence.iter().any(|e| e.contains("wwan0firehose0")));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_lsusb_excerpts_of_normal_modules() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_diag_lsusb_excerpts_of_normal_modules")
    else {
        return;
    };
    let cases = [
        (
            "quectel-ec25-2c7c-0125.lsusb-v.excerpt.txt",
            0x0125,
            Some("Android"),
            0x0318,
            255,
        ),
        (
            "quectel-ec21-2c7c-0121.lsusb-v.excerpt.txt",
            0x0121,
            None,
            0x0318,
            255,
        ),
        (
            "quectel-bg96-2c7c-0296.lsusb-v.excerpt.txt",
            0x0296,
            None,
            0x0000,
            255,
        ),
        (
            "quectel-rm520n-gl-2c7c-0801.lsusb-v.excerpt.txt",
            0x0801,
            Some("Quectel"),
            0x0504,
            0x30,
        ),
    ];
    for (file, pid, maker, bcd, proto0) in cases {
        let devs = lsusb_verbose(&read(&format!("usb/lsusb-excerpts/{file}"))).unwrap();
        let [d] = devs.as_slice() else {
            panic!("{file}: {devs:?}")
        };
        assert_eq!((d.vid, d.pid), (0x2C7C, pid), "{file}");
        assert_eq!(d.bcd_device, bcd, "{file}");
        assert_eq!(d.manufacturer.as_deref(), maker, "{file}");
        assert_eq!(d.interfaces[0].protocol, proto0, "{file}");
        assert_eq!(
            device_roles(d)[0].1,
            Role::Diag,
            "{file}: interface 0 is DIAG"
        );
        assert_eq!(
            diagnose(&evidence(devs.clone())).state,
            State::NormalAtSilent,
            "{file}"
        );
    }
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_lsusb_rm520n_header_and_serial() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_diag_lsusb_rm520n_header_and_serial")
    else {
        return;
    };
    let devs = lsusb_verbose(&read(
        "usb/lsusb-excerpts/quectel-rm520n-gl-2c7c-0801.lsusb-v.excerpt.txt",
    ))
    .unwrap();
    assert_eq!((devs[0].bus, devs[0].address), (7, 2));
    assert_eq!(devs[0].serial.as_deref(), Some("ef319748"));
    assert_eq!(
        identify_device(&devs[0]).unwrap().chip.as_deref(),
        Some("SDX62")
    );
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_ep06_stuck_in_edl_seen_by_lsusb_without_rights_is_no_permission() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_diag_ep06_stuck_in_edl_seen_by_lsusb_without_rights_is_no_permission",
    ) else {
        return;
    };
    let text = read(
        "usb/lsusb-excerpts/quectel-ep06e-stuck-edl-05c6-9008.lsusb-v.whitespace-collapsed.excerpt.txt",
    );
    let devs = lsusb_verbose(&text).unwrap();
    let d0 = &devs[0];
    assert_eq!((d0.vid, d0.pid), (0x05C6, 0x9008));
    assert_eq!(d0.product.as_deref(), Some("QUSB__BULK"));
    assert!(matches!(d0.access, Accessibility::PermissionDenied(_)));
    let d = diagnose(&evidence(devs));
    assert_eq!(d.state, State::NoPermission);
    assert_eq!(d.next_steps[0].action, Some(Action::InstallUdevRule));
    assert!(d.evidence.iter().any(|e| e.contains("refused access")));
    // Once the rule is in place the same board is simply waiting in download mode.
    let mut fixed = lsusb_verbose(&text).unwrap();
    fixed[0].access = Accessibility::Accessible;
    assert_eq!(diagnose(&evidence(fixed)).state, State::EdlWaiting);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_pyusb_config_dump_has_no_ids_but_its_interface_is_edl() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_diag_pyusb_config_dump_has_no_ids_but_its_interface_is_edl",
    ) else {
        return;
    };
    let text = read("usb/lsusb-excerpts/edl-9008-msm8917-pyusb-config.excerpt.txt");
    assert!(matches!(
        lsusb_verbose(&text),
        Err(DiagError::MissingField {
            field: "idVendor",
            ..
        })
    ));
    let ifs = lsusb_interfaces(&text).unwrap();
    assert_eq!(ifs.len(), 1);
    assert_eq!(
        (
            ifs[0].class,
            ifs[0].subclass,
            ifs[0].protocol,
            ifs[0].endpoints
        ),
        (0xFF, 0xFF, 0xFF, 2)
    );
    // edl printed it while waiting for a 9008: put the ids back and classify.
    let blob = std::fs::read(format!("{}/usb/qc-ec25au-edl-9008.descriptors.bin", fix())).unwrap();
    let mut dev = descriptors(&blob, "bus 1 device 9").unwrap();
    dev.interfaces = ifs;
    assert_eq!(diagnose(&evidence(vec![dev])).state, State::EdlWaiting);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_every_fixture_parses_without_panic_when_truncated() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_diag_every_fixture_parses_without_panic_when_truncated",
    ) else {
        return;
    };
    for dir in [
        "usb/usb-devices",
        "usb/lsusb-excerpts",
        "usb/fwupd-emulation",
    ] {
        for entry in std::fs::read_dir(format!("{}/{dir}", fix())).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for cut in (0..text.len())
                .step_by(37)
                .filter(|c| text.is_char_boundary(*c))
            {
                let part = &text[..cut];
                let _ = usb_devices(part);
                let _ = lsusb_verbose(part);
                let _ = lsusb_interfaces(part);
                let _ = fwupd_json(part);
            }
        }
    }
    let blob = std::fs::read(format!("{}/usb/qc-ec25au-edl-9008.descriptors.bin", fix())).unwrap();
    for cut in 0..blob.len() {
        let _ = descriptors(&blob[..cut], "x");
    }
}
