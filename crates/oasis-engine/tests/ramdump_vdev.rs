//! Crash dumps from the virtual crashed board (Sahara memory debug), in process: every region
//! byte-exact against what the board served, 32- and 64-bit tables, and the board's faults
//! (a refused region, an unplug mid-region), cancel, filters and refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod link_support;

use std::path::Path;
use std::sync::{Arc, Mutex};

use link_support::OnLink;
use oasis_engine::ramdump::{DumpManifest, DumpStatus, RamdumpRequest, RegionStatus};
use oasis_engine::{ErrorKind, ErrorReport, Event, Phase, Verdict, spawn_ramdump};
use oasis_vdev::dump::{region_bytes, regions};
use oasis_vdev::{BoardOptions, BoardState, FaultSpec, LinkModel, Profile, StartIn, VirtualBoard};
use sha2::{Digest, Sha256};

fn crashed(profile: &str, faults: &[&str]) -> VirtualBoard {
    VirtualBoard::new(
        Profile::by_name(profile).unwrap(),
        BoardOptions {
            start_in: StartIn::MemoryDump,
            faults: FaultSpec::parse_all(faults).unwrap(),
            ..BoardOptions::default()
        },
    )
}

fn run(board: &VirtualBoard, req: RamdumpRequest) -> (Result<Verdict, ErrorReport>, Vec<Event>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = Arc::clone(&events);
    let h = spawn_ramdump(
        req.on_link(Box::new(board.connect())),
        Box::new(move |e| ev.lock().unwrap().push(e)),
    );
    let out = h.join();
    let events = events.lock().unwrap().clone();
    (out, events)
}

fn request(out: &Path) -> RamdumpRequest {
    RamdumpRequest::new("virtual:test", out)
}

/// Every collected file equals what the board serves, and its SHA-256 is in the manifest.
fn assert_byte_exact(profile: &str, dir: &Path, m: &DumpManifest) {
    let p = Profile::by_name(profile).unwrap();
    for r in m.collected() {
        let region = regions(&p)
            .into_iter()
            .find(|x| x.file_name == r.name)
            .unwrap();
        let want = region_bytes(&p, &region);
        let got = std::fs::read(dir.join(&r.file)).unwrap();
        assert!(got == want, "{} differs from what the board served", r.file);
        assert_eq!(
            r.sha256.as_deref(),
            Some(hex::encode(Sha256::digest(&want)).as_str())
        );
    }
}

#[test]
fn every_region_of_the_32_bit_board_is_collected_byte_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let board = crashed("bg95", &[]);
    let (out, events) = run(&board, request(&dir));
    let v = out.unwrap();
    let m = DumpManifest::load(&dir).unwrap();
    assert_eq!(m.status, DumpStatus::Complete);
    assert_eq!(m.table.width, 32);
    let names: Vec<&str> = m.regions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "OCIMEM.BIN",
            "CODERAM.BIN",
            "DATARAM.BIN",
            "MSGRAM.BIN",
            "DDRCS0.BIN",
            "load.cmm"
        ]
    );
    assert!(m.missing.is_empty());
    assert_byte_exact("bg95", &dir, &m);
    let total: u64 = regions(&Profile::bg95()).iter().map(|r| r.length).sum();
    assert_eq!((m.bytes, v.bytes), (total, total));
    assert!(m.note.contains("secrets"));
    assert_eq!(m.identity.sahara_version, Some(2));
    assert!(m.reset, "the board confirmed the reset");
    // Nothing else in the folder: no leftover .part or temp files.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 7, "{files:?}");
    // The board rebooted into its firmware.
    assert_eq!(board.state(), BoardState::Normal);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Progress { phase: Phase::RamDump, total, .. } if *total == m.bytes
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PhaseStarted {
            phase: Phase::Reset
        }
    )));
    assert!(matches!(events.last(), Some(Event::Finished(_))));
}

#[test]
fn the_64_bit_board_serves_a_region_above_4_gib() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let board = crashed("sdx55", &[]);
    let (out, _) = run(&board, request(&dir));
    out.unwrap();
    let m = DumpManifest::load(&dir).unwrap();
    assert_eq!((m.status, m.table.width), (DumpStatus::Complete, 64));
    let high = m.regions.iter().find(|r| r.name == "DDRCS1.BIN").unwrap();
    assert_eq!(high.base, 0x1_0000_0000);
    assert_byte_exact("sdx55", &dir, &m);
}

#[test]
fn a_refused_region_is_named_and_the_rest_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    // Read 1 is the table, 2 OCIMEM, 3 CODERAM.
    let board = crashed("bg95", &["nak:memory-read#3"]);
    let (out, _) = run(&board, request(&dir));
    let v = out.unwrap();
    assert!(
        v.summary.contains("not collected: CODERAM.BIN"),
        "{}",
        v.summary
    );
    let m = DumpManifest::load(&dir).unwrap();
    assert_eq!(m.status, DumpStatus::Partial);
    assert_eq!(m.missing, vec!["CODERAM.BIN".to_owned()]);
    let bad = m.regions.iter().find(|r| r.name == "CODERAM.BIN").unwrap();
    assert_eq!(bad.status, RegionStatus::Failed);
    assert!(bad.error.as_deref().unwrap().contains("0x19"), "{bad:?}");
    assert!(!dir.join("CODERAM.BIN").exists());
    assert_eq!(m.collected().count(), 5);
    assert_byte_exact("bg95", &dir, &m);
    assert_eq!(board.state(), BoardState::Normal, "reset after the rest");
}

#[test]
fn an_unplug_mid_region_keeps_what_arrived() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    // Read 4 is DATARAM (80 KiB): the board leaves after 4096 bytes of it.
    let board = crashed("bg95", &["unplug:memory-read#4@4096"]);
    let (out, _) = run(&board, request(&dir));
    let v = out.unwrap();
    assert!(v.summary.contains("2 of 6"), "{}", v.summary);
    let m = DumpManifest::load(&dir).unwrap();
    assert_eq!(m.status, DumpStatus::Partial);
    assert!(!m.reset);
    let st: Vec<(&str, RegionStatus)> = m
        .regions
        .iter()
        .map(|r| (r.name.as_str(), r.status))
        .collect();
    assert_eq!(st[0], ("OCIMEM.BIN", RegionStatus::Collected));
    assert_eq!(st[1], ("CODERAM.BIN", RegionStatus::Collected));
    assert_eq!(st[2], ("DATARAM.BIN", RegionStatus::Failed));
    assert!(st[3..].iter().all(|(_, s)| *s == RegionStatus::Missing));
    let part = &m.regions[2];
    assert_eq!((part.file.as_str(), part.bytes), ("DATARAM.BIN.part", 4096));
    let p = Profile::bg95();
    let dataram = regions(&p).into_iter().nth(2).unwrap();
    assert_eq!(
        std::fs::read(dir.join("DATARAM.BIN.part")).unwrap(),
        region_bytes(&p, &dataram)[..4096]
    );
    assert_byte_exact("bg95", &dir, &m);
    assert_eq!(m.missing.len(), 4);
}

#[test]
fn nothing_collected_is_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let board = crashed("bg95", &["unplug:memory-read#2"]);
    let (out, _) = run(&board, request(&dir));
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::Disconnected, "{r:?}");
    assert_eq!(r.kind.exit_code(), 1);
    let m = DumpManifest::load(&dir).unwrap();
    assert_eq!(m.status, DumpStatus::Failed);
    assert_eq!(m.missing.len(), 6);
}

#[test]
fn regions_can_be_chosen_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let board = crashed("bg95", &[]);
    let mut req = request(&dir);
    req.regions = vec!["ddrcs0".into(), "MSG RAM".into()];
    run(&board, req).0.unwrap();
    let m = DumpManifest::load(&dir).unwrap();
    let names: Vec<&str> = m.regions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["MSGRAM.BIN", "DDRCS0.BIN"]);
    assert_byte_exact("bg95", &dir, &m);

    let dir = tmp.path().join("dump2");
    let board = crashed("bg95", &[]);
    let mut req = request(&dir);
    req.regions = vec!["NOPE.BIN".into()];
    let r = run(&board, req).0.unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput);
    assert!(r.message.contains("\"NOPE.BIN\""), "{}", r.message);
    assert!(r.hint.unwrap().contains("DDRCS0.BIN"));
    assert_eq!(board.state(), BoardState::MemoryDump, "the dump is kept");
}

#[test]
fn a_board_in_download_mode_is_not_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let board = VirtualBoard::new(Profile::bg95(), BoardOptions::default());
    let r = run(&board, request(&dir)).0.unwrap_err();
    assert!(
        r.message.contains("not in crash-dump mode"),
        "{}",
        r.message
    );
    assert!(r.hint.unwrap().contains("900E"));
    assert_eq!(board.state(), BoardState::Sahara);
}

#[test]
fn a_folder_in_use_or_a_full_disk_is_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("other.txt"), "x").unwrap();
    let board = crashed("bg95", &[]);
    let r = run(&board, request(tmp.path())).0.unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput);
    assert!(r.message.contains("not empty"), "{}", r.message);

    let dir = tmp.path().join("dump");
    let mut req = request(&dir);
    req.reserve = u64::MAX / 2;
    let r = run(&board, req).0.unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused, "{r:?}");
    assert!(r.message.contains("free"), "{}", r.message);
    assert_eq!(board.state(), BoardState::MemoryDump, "the dump is kept");
}

#[test]
fn cancel_keeps_what_was_collected_and_the_board_keeps_its_dump() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let board = VirtualBoard::new(
        Profile::bg95(),
        BoardOptions {
            start_in: StartIn::MemoryDump,
            model: LinkModel {
                throughput: Some(2 * 1024 * 1024),
                ..LinkModel::default()
            },
            ..BoardOptions::default()
        },
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = spawn_ramdump(
        request(&dir).on_link(Box::new(board.connect())),
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    );
    for ev in rx.iter() {
        // Cancel at the first progress of the dump: the slow link leaves most regions unread.
        if matches!(
            ev,
            Event::Progress {
                phase: Phase::RamDump,
                ..
            }
        ) {
            h.cancel();
        }
    }
    let r = h.join().unwrap_err();
    assert_eq!(r.kind, ErrorKind::Cancelled);
    let m = DumpManifest::load(&dir).unwrap();
    assert_eq!(m.status, DumpStatus::Cancelled);
    assert!(m.missing.contains(&"DDRCS0.BIN".to_owned()));
    assert!(!m.reset);
    assert_byte_exact("bg95", &dir, &m);
    assert_eq!(board.state(), BoardState::MemoryDump);
}

#[test]
fn the_support_bundle_references_the_dump_without_its_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let zip_path = tmp.path().join("bundle.zip");
    let board = crashed("bg95", &["nak:memory-read#3"]);
    let mut req = request(&dir);
    req.bundle = Some(zip_path.clone());
    let (out, events) = run(&board, req);
    out.unwrap();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::BundleWritten { path } if *path == zip_path
    )));
    let mut z = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut names: Vec<String> = z.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "bundle.json",
            "events.jsonl",
            "log.txt",
            "outcome.json",
            "ramdump.json",
            "summary.md"
        ]
    );
    let read = |z: &mut zip::ZipArchive<std::fs::File>, n: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name(n).unwrap(), &mut s).unwrap();
        s
    };
    let reference: serde_json::Value = serde_json::from_str(&read(&mut z, "ramdump.json")).unwrap();
    let folder = std::fs::canonicalize(&dir).unwrap();
    assert_eq!(reference["dump_folder"], folder.display().to_string());
    assert_eq!(reference["manifest"]["missing"][0], "CODERAM.BIN");
    let summary = read(&mut z, "summary.md");
    assert!(summary.contains("Not collected: CODERAM.BIN"), "{summary}");
    assert!(summary.contains("may contain secrets"));
    // No region data inside: the bundle stays small.
    let total: u64 = (0..z.len()).map(|i| z.by_index(i).unwrap().size()).sum();
    assert!(total < 64 * 1024, "{total} bytes");
}

#[test]
fn a_running_module_is_not_switched_or_rebooted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut req = RamdumpRequest::new("virtual:eg25@normal", tmp.path().join("dump"));
    req.bus = oasis_vdev::bus::demand();
    let (sink, rx) = oasis_engine::event_channel();
    let h = spawn_ramdump(req, sink);
    let events: Vec<Event> = rx.iter().collect();
    let r = h.join().unwrap_err();
    assert!(
        r.message.contains("not in crash-dump mode"),
        "{}",
        r.message
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Info { message } if message.contains("switching"))),
        "{events:?}"
    );
}
