//! Support bundles keep the board's identifiers private by default: every member of a bundle
//! (the transcript's board bytes included) is free of the IMEI and the chip serial in all
//! their spellings; the masks are stable (two bundles of one board match); the identifiers are
//! kept on request; a redacted bundle still replays; usage errors write no bundle; the bundles
//! folder is pruned to its cap.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod link_support;
mod safety_support;

use std::io::Read;
use std::path::{Path, PathBuf};

use link_support::OnLink;
use oasis_engine::bundle::load_bundle;
use oasis_engine::bundle::replay::replay_bundle;
use oasis_engine::{FlashOptions, FlashRequest, spawn_flash};
use oasis_vdev::{BoardOptions, FaultSpec, Profile, StartIn, VirtualBoard};
use safety_support::{infos, quick, run};

fn demo() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-package/BG95M3LAR02A03_01.300.01.300"
    ))
}

/// Every member of a zip, by name.
fn members(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().to_owned(), b)
        })
        .collect()
}

/// The board's bytes in a transcript, decoded (what a reader of the hex would see).
fn board_bytes(transcript: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in String::from_utf8_lossy(transcript).lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if v["dir"] == "rx" {
            out.extend(hex::decode(v["hex"].as_str().unwrap()).unwrap());
        }
    }
    out
}

/// The spellings of a board's identifiers a reader could search for.
fn secrets(p: &Profile) -> Vec<String> {
    vec![
        p.imei.clone(),
        p.iccid.clone().unwrap(),
        format!("{:08x}", p.serial),
        format!("{:08X}", p.serial),
        format!("{:x}", p.serial),
        p.serial.to_string(),
    ]
}

fn leaks(zip: &Path, p: &Profile) -> Vec<String> {
    let mut found = Vec::new();
    for (name, bytes) in members(zip) {
        let mut hay = vec![bytes.clone()];
        if name == "transcript.jsonl" {
            hay.push(board_bytes(&bytes));
        }
        for h in hay {
            let text = String::from_utf8_lossy(&h).to_ascii_lowercase();
            for s in secrets(p) {
                if text.contains(&s.to_ascii_lowercase()) {
                    found.push(format!("{s} in {name}"));
                }
            }
        }
    }
    found
}

fn text_of(zip: &Path, member: &str) -> String {
    members(zip)
        .into_iter()
        .find(|(n, _)| n == member)
        .map(|(_, b)| String::from_utf8(b).unwrap())
        .unwrap_or_else(|| panic!("no {member} in {}", zip.display()))
}

/// A BG95 in normal mode (its AT port tells the IMEI before the switch), flashed with a bundle.
fn flash_running(data: &Path, zip: &Path, keep: bool) -> Profile {
    let p = Profile::bg95();
    let b = VirtualBoard::new(
        p.clone(),
        BoardOptions {
            start_in: StartIn::Normal,
            ..BoardOptions::default()
        },
    );
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.bundle = Some(zip.to_path_buf());
    o.bundle_on_failure = Some(data.join("bundles"));
    o.include_identifiers = keep;
    let bus = oasis_vdev::bus::with_board(&b, "virtual:bg95@normal");
    let req = FlashRequest::new(demo(), "virtual:bg95@normal")
        .on_bus(bus.handle())
        .with_options(o);
    let (out, events) = run(|sink| spawn_flash(req, sink));
    out.unwrap();
    // The session did see the identifiers: they are there to be masked.
    let log = infos(&events).join("\n");
    assert!(log.contains(&p.imei), "{log}");
    assert!(log.contains(p.iccid.as_deref().unwrap()), "{log}");
    p
}

#[test]
fn a_default_bundle_holds_no_imei_or_serial_and_the_masks_are_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let one = tmp.path().join("one.zip");
    let two = tmp.path().join("two.zip");
    let p = flash_running(&data, &one, false);
    flash_running(&data, &two, false);
    for z in [&one, &two] {
        let found = leaks(z, &p);
        assert!(found.is_empty(), "{found:?}");
    }
    // The masks: a short hash and the last four digits, the same in both bundles.
    let log = text_of(&one, "log.txt");
    let tail = &p.imei[p.imei.len() - 4..];
    let mask = log
        .split('[')
        .find(|s| s.starts_with("IMEI "))
        .and_then(|s| s.split(']').next())
        .unwrap_or_else(|| panic!("no IMEI mask in {log}"))
        .to_owned();
    assert!(mask.ends_with(&format!("..{tail}")), "{mask}");
    assert!(text_of(&two, "log.txt").contains(&format!("[{mask}]")));
    let iccid = p.iccid.clone().unwrap();
    assert!(
        log.contains(&format!("..{}]", &iccid[iccid.len() - 4..])) && log.contains("[ICCID "),
        "{log}"
    );
    let serial_mask = format!("..{}]", &format!("{:08x}", p.serial)[4..]);
    assert!(
        text_of(&one, "identity.json").contains(&serial_mask),
        "{}",
        text_of(&one, "identity.json")
    );
    assert!(data.join("identifier-key").is_file());
}

#[test]
fn include_identifiers_keeps_them() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("kept.zip");
    let p = flash_running(&tmp.path().join("data"), &zip, true);
    let found = leaks(&zip, &p);
    assert!(found.iter().any(|f| f.contains(&p.imei)), "{found:?}");
    assert!(
        found
            .iter()
            .any(|f| f.contains(p.iccid.as_deref().unwrap())),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains(&format!("{:08x}", p.serial))),
        "{found:?}"
    );
}

#[test]
fn a_redacted_bundle_replays_and_reproduces_the_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Profile::bg95();
    let b = VirtualBoard::new(
        p.clone(),
        BoardOptions::with_faults(vec![FaultSpec::parse("nak:program#2").unwrap()]),
    );
    let zip = tmp.path().join("failed.zip");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.bundle = Some(zip.clone());
    o.bundle_on_failure = Some(tmp.path().join("data/bundles"));
    let req = FlashRequest::new(demo(), "virtual:bg95")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(b.connect())), sink));
    let failed = out.unwrap_err();
    assert!(leaks(&zip, &p).is_empty(), "{:?}", leaks(&zip, &p));
    let loaded = load_bundle(&zip).unwrap();
    let report = replay_bundle(&loaded, None, Box::new(|_| {})).unwrap();
    assert!(report.reproduced, "{report:?}");
    assert_eq!(report.mismatch, None);
    let again = report.replayed.unwrap_err();
    assert_eq!((again.kind, again.message), (failed.kind, failed.message));
}

#[test]
fn usage_errors_write_no_bundle_and_the_folder_is_pruned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data/bundles");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.bundle_on_failure = Some(dir.clone());
    // A package path that does not exist; a port that does not exist.
    for (pkg, port) in [
        (tmp.path().join("no-such-package"), "virtual:bg95"),
        (demo(), "/dev/ttyOASIS-no-such-port"),
        // A virtual board that does not exist (unknown quirk, unknown profile).
        (demo(), "virtual:bg95+no-such-quirk"),
        (demo(), "virtual:no-such-profile"),
    ] {
        let req = FlashRequest::new(&pkg, port).with_options(o.clone());
        let (out, events) = run(|sink| oasis_engine::spawn_flash(req, sink));
        assert!(out.is_err());
        assert!(
            !infos(&events)
                .iter()
                .any(|i| i.starts_with("support bundle written")),
            "{events:?}"
        );
        assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none());
    }
    // A board failure does write one; with a cap of zero only the newest stays.
    std::fs::create_dir_all(&dir).unwrap();
    let old = dir.join("oasis-20000101-000000.zip");
    std::fs::write(&old, vec![0u8; 4096]).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1))
        .unwrap();
    o.bundle_cap_bytes = Some(0);
    let b = VirtualBoard::new(
        Profile::bg95(),
        BoardOptions::with_faults(vec![FaultSpec::parse("nak:program#1").unwrap()]),
    );
    let req = FlashRequest::new(demo(), "virtual:bg95")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, events) = run(|sink| spawn_flash(req.on_link(Box::new(b.connect())), sink));
    assert!(out.is_err());
    let written: Vec<String> = infos(&events)
        .into_iter()
        .filter_map(|i| {
            i.strip_prefix("support bundle written to ")
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(written.len(), 1, "{events:?}");
    assert!(Path::new(&written[0]).is_file());
    assert!(!old.exists(), "the older bundle was not pruned");
    assert!(
        infos(&events)
            .iter()
            .any(|i| i.contains("removed 1 older support bundle")),
        "{events:?}"
    );
}
