//! `oasis-cli diagnose --usb-dump FILE`: a USB listing saved on another machine (a lab's
//! `usb-devices` or `lsusb -v` output, fwupd emulation JSON, a raw descriptor dump) diagnosed as
//! if the board were attached here; a file that is none of them is named with what it looked
//! like (exit 2). The real-world corpus listings (ignored without `OASIS_REALWORLD`) are read
//! as they are.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{cli, json_one, realworld_dir, show};

fn diagnose(file: &std::path::Path) -> std::process::Output {
    let f = file.to_str().unwrap();
    cli()
        .args(["diagnose", "--usb-dump", f, "--json"])
        .output()
        .unwrap()
}

#[test]
fn a_saved_usb_devices_listing_is_diagnosed_without_looking_at_this_computer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("usb-devices.txt");
    let text = oasis_testkit::usb::Device::bg95_modem_mode().usb_devices_text();
    std::fs::write(&file, text).unwrap();
    let out = diagnose(&file);
    assert!(out.status.success(), "{}", show(&out));
    let v = json_one(&out);
    let devices = v["diagnosis"]["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{v}");
    assert_eq!(devices[0]["id"], "2C7C:0700");
    assert_eq!(devices[0]["identity"]["mode"], "normal");
    // Nothing was asked: no AT answers, no chip identity.
    assert_eq!(v["at"], serde_json::json!([]));
    assert!(v["chip"].is_null());
    assert_eq!(v["usb_dump"], file.to_str().unwrap());

    let text = cli()
        .args(["diagnose", "--usb-dump", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("this computer's USB was not looked at"),
        "{stdout}"
    );
}

#[test]
fn a_raw_9008_descriptor_dump_is_a_board_waiting_in_download_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("9008.bin");
    let device = [
        0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0xC6, 0x05, 0x08, 0x90, 0x00, 0x00, 0x01,
        0x02, 0x00, 0x01,
    ];
    std::fs::write(&file, device).unwrap();
    let v = json_one(&diagnose(&file));
    assert_eq!(v["diagnosis"]["state"], "edl_waiting", "{v}");
}

#[test]
fn a_file_that_is_no_usb_listing_is_named_with_what_it_looked_like() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "the board is dead\n").unwrap();
    let out = diagnose(&file);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let v = json_one(&out);
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("notes.txt"), "{message}");
    assert!(message.contains("the board is dead"), "{message}");
    assert!(v["hint"].as_str().unwrap().contains("lsusb -v"), "{v}");

    let missing = dir.path().join("absent.txt");
    let out = diagnose(&missing);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        json_one(&out)["message"]
            .as_str()
            .unwrap()
            .contains("absent.txt")
    );

    // A saved listing is not this computer's port: both at once are refused by the parser.
    let out = cli()
        .args(["diagnose", "--usb-dump", "x.txt", "--port", "COM7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_saved_usb_listings_are_diagnosed_as_a_technician_expects() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_saved_usb_listings_are_diagnosed_as_a_technician_expects",
    ) else {
        return;
    };
    let usb = realworld_dir().join("usb");
    for (file, state, id) in [
        (
            "fwupd-emulation/qc-ec25au-setup.json",
            "edl_waiting",
            Some("05C6:9008"),
        ),
        ("fwupd-emulation/qc-em160r-setup.json", "not_on_usb", None),
        (
            "usb-devices/motorola-22b8-900e-qc_dload.txt",
            "memory_dump",
            Some("22B8:900E"),
        ),
        (
            "usb-devices/quectel-bg95-2c7c-0700-usbnet-modem.txt",
            "normal_at_silent",
            Some("2C7C:0700"),
        ),
        (
            "lsusb-excerpts/quectel-bg96-2c7c-0296.lsusb-v.excerpt.txt",
            "normal_at_silent",
            Some("2C7C:0296"),
        ),
        (
            "lsusb-excerpts/quectel-ep06e-stuck-edl-05c6-9008.lsusb-v.whitespace-collapsed.excerpt.txt",
            "no_permission",
            Some("05C6:9008"),
        ),
        (
            "qc-ec25au-edl-9008.descriptors.bin",
            "edl_waiting",
            Some("05C6:9008"),
        ),
    ] {
        let out = diagnose(&usb.join(file));
        assert!(out.status.success(), "{file}: {}", show(&out));
        let v = json_one(&out);
        assert_eq!(v["diagnosis"]["state"], state, "{file}: {v}");
        let first = v["diagnosis"]["devices"][0]["id"]
            .as_str()
            .map(str::to_owned);
        assert_eq!(first.as_deref(), id, "{file}");
    }
}
