//! The whole path `diagnose(snapshot())` against a faked sysfs (umockdev): a board in download
//! mode held by qcserial, and an EC25 in normal mode, described here and enumerated by the real
//! transport code. Skipped with a message when `umockdev-run` is not installed.
// umockdev fakes Linux sysfs and usbfs: these tests exist only on Linux.
#![cfg(target_os = "linux")]
// Helpers outside #[test] functions unwrap too: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use oasis_engine::diag::classify::{Evidence, State, diagnose};

const USB1: &str = "/devices/pci0000:00/0000:00:14.0/usb1";

/// A umockdev device description: a root hub, a 9008 on port 1-1 (interface bound to
/// qcserial) and an EC25 on port 1-2 (five interfaces bound to option).
fn testbed() -> String {
    let mut s = String::new();
    let mut dev = |path: &str, lines: &[&str]| {
        s.push_str(&format!("P: {path}\n"));
        for l in lines {
            s.push_str(l);
            s.push('\n');
        }
        s.push('\n');
    };
    dev(
        USB1,
        &[
            "E: SUBSYSTEM=usb",
            "E: DEVTYPE=usb_device",
            "A: idVendor=1d6b",
            "A: idProduct=0002",
            "A: busnum=1",
            "A: devnum=1",
        ],
    );
    dev(
        &format!("{USB1}/1-1"),
        &[
            "E: SUBSYSTEM=usb",
            "E: DEVTYPE=usb_device",
            "A: idVendor=05c6",
            "A: idProduct=9008",
            "A: bcdDevice=0000",
            "A: busnum=1",
            "A: devnum=7",
            "A: speed=480",
            "A: product=QUSB__BULK",
        ],
    );
    dev(
        &format!("{USB1}/1-1/1-1:1.0"),
        &[
            "E: SUBSYSTEM=usb",
            "E: DEVTYPE=usb_interface",
            "L: driver=../../../../../../bus/usb/drivers/qcserial",
            "A: bInterfaceNumber=00",
            "A: bInterfaceClass=ff",
            "A: bInterfaceSubClass=ff",
            "A: bInterfaceProtocol=ff",
            "A: bNumEndpoints=02",
        ],
    );
    dev(
        &format!("{USB1}/1-2"),
        &[
            "E: SUBSYSTEM=usb",
            "E: DEVTYPE=usb_device",
            "A: idVendor=2c7c",
            "A: idProduct=0125",
            "A: bcdDevice=0318",
            "A: busnum=1",
            "A: devnum=8",
            "A: speed=480",
            "A: manufacturer=Quectel",
            "A: product=EC25-E",
        ],
    );
    for n in 0..5 {
        let ifnum = format!("A: bInterfaceNumber=0{n}");
        dev(
            &format!("{USB1}/1-2/1-2:1.{n}"),
            &[
                "E: SUBSYSTEM=usb",
                "E: DEVTYPE=usb_interface",
                &ifnum,
                "A: bInterfaceClass=ff",
                "A: bInterfaceSubClass=ff",
                "A: bInterfaceProtocol=ff",
                "A: bNumEndpoints=02",
            ],
        );
    }
    s
}

#[test]
fn diag_snapshot_under_umockdev_is_classified() {
    let Ok(out) = Command::new("umockdev-run").arg("--version").output() else {
        eprintln!("skipped: umockdev-run is not installed (apt-get install umockdev)");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let desc = dir.path().join("boards.umockdev");
    std::fs::write(&desc, testbed()).unwrap();
    let out = Command::new("umockdev-run")
        .arg("-d")
        .arg(&desc)
        .arg("--")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "diag_inner_classify_live_snapshot",
            "--nocapture",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "inner test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("STATE edl_waiting"), "{stdout}");
    assert!(
        stdout.contains("1 passed"),
        "the inner test really ran: {stdout}"
    );
}

/// Runs only inside the umockdev testbed (started by the test above).
#[test]
#[ignore = "run by diag_snapshot_under_umockdev_is_classified inside umockdev"]
fn diag_inner_classify_live_snapshot() {
    if std::env::var_os("UMOCKDEV_DIR").is_none() {
        eprintln!("skipped: only meaningful inside umockdev-run");
        return;
    }
    let snap = oasis_transport::enumerate::snapshot();
    assert_eq!(snap.usb_error, None, "{snap:?}");
    let d = diagnose(&Evidence {
        snapshot: snap.clone(),
        ..Evidence::default()
    });
    println!(
        "STATE {}",
        serde_json::to_string(&d.state).unwrap().trim_matches('"')
    );
    // qcserial holds the download interface: Oasis detaches it, so the board is just waiting.
    assert_eq!(d.state, State::EdlWaiting, "{d:#?}\n{snap:#?}");
    assert!(
        d.evidence[0].contains("driver qcserial"),
        "{:?}",
        d.evidence
    );
    assert_eq!(d.port_path.as_deref(), Some("1-1"));
    assert_eq!(
        d.devices.len(),
        2,
        "the root hub is not a board: {:#?}",
        d.devices
    );
    let ec25 = d.devices.iter().find(|v| v.id == "2C7C:0125").unwrap();
    assert_eq!(ec25.state, State::NormalAtSilent);
    assert_eq!(ec25.interfaces.len(), 5);
}
