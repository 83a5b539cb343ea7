//! Confirmation after the reset, resume after an interrupted flash, and support bundles that
//! replay to the same failure — all on in-process virtual boards.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;
mod link_support;
mod safety_support;

use std::path::{Path, PathBuf};

use common::{REVISION, package_copy};
use link_support::OnLink;
use oasis_engine::bundle::load_bundle;
use oasis_engine::bundle::replay::replay_bundle;
use oasis_engine::{ErrorKind, Event, FlashOptions, FlashRequest, Phase, spawn_flash};
use oasis_package::{OpenOptions, Package, StepOp};
use oasis_vdev::{BoardOptions, FaultSpec, Profile, ResetBehaviour, VirtualBoard};
use safety_support::{infos, power_cycle, quick, run};

/// The EG25-G package in a folder named like its release, so it states its revision.
fn named_package() -> (tempfile::TempDir, PathBuf) {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let named = tmp.path().join(REVISION);
    std::fs::rename(&root, &named).unwrap();
    (tmp, named)
}

fn eg25(after: ResetBehaviour, revision: Option<&str>) -> VirtualBoard {
    let o = BoardOptions {
        after_reset: after,
        revision_after_reset: revision.map(str::to_owned),
        ..BoardOptions::default()
    };
    VirtualBoard::new(Profile::by_name("eg25").unwrap(), o)
}

fn confirm_on(
    board: VirtualBoard,
    pkg: &Path,
) -> (
    Result<oasis_engine::Verdict, oasis_engine::ErrorReport>,
    Vec<Event>,
) {
    let mut o = FlashOptions::default();
    o.confirm = true;
    o.timeouts = quick();
    // A board in download mode cannot say what it ran: the caller tells, as the app does
    // with the revision it saw on the board's AT port before.
    o.previous_revision = Some(board.revision());
    let bus = oasis_vdev::bus::with_board(&board, "virtual:eg25");
    let req = FlashRequest::new(pkg, "virtual:eg25")
        .on_bus(bus.handle())
        .with_options(o);
    run(|sink| spawn_flash(req, sink))
}

#[test]
fn confirmed_running_the_new_revision() {
    let (_tmp, pkg) = named_package();
    let (out, events) = confirm_on(eg25(ResetBehaviour::Normal, None), &pkg);
    let v = out.unwrap_or_else(|r| panic!("{r:?}"));
    assert!(v.confirmed);
    assert_eq!(v.running_revision.as_deref(), Some(REVISION));
    assert_eq!(
        v.summary,
        format!("verified; running {REVISION}, confirmed")
    );
    assert_eq!(
        safety_support::phases(&events).last(),
        Some(&Phase::Confirm)
    );
}

#[test]
fn each_way_the_board_fails_to_come_back_has_its_verdict() {
    let (_tmp, pkg) = named_package();
    let old = Profile::by_name("eg25").unwrap().revision;
    let cases = [
        (
            eg25(ResetBehaviour::NeverComesBack, None),
            ErrorKind::Disconnected,
            "never came back on USB",
        ),
        (
            eg25(ResetBehaviour::BackInEdl, None),
            ErrorKind::Protocol,
            "came back in download mode (05C6:9008)",
        ),
        (
            eg25(ResetBehaviour::AtSilent, None),
            ErrorKind::Timeout,
            "stayed silent to AT",
        ),
        (
            eg25(ResetBehaviour::Normal, Some(&old)),
            ErrorKind::VerifyMismatch,
            "the revision did not change",
        ),
    ];
    for (board, kind, words) in cases {
        let (out, events) = confirm_on(board, &pkg);
        let r = out.unwrap_err();
        assert_eq!(r.kind, kind, "{words}: {r:?}");
        assert_eq!(r.phase, Some(Phase::Confirm));
        assert!(
            r.message.starts_with("Confirming the new firmware: "),
            "{}",
            r.message
        );
        assert!(r.message.contains(words), "{words}: {}", r.message);
        assert!(r.hint.is_some());
        // The flash itself completed: everything was verified before the reset.
        assert!(events.iter().any(|e| matches!(
            e,
            Event::PhaseFinished {
                phase: Phase::Verify
            }
        )));
    }
}

/// Program labels of a package in the order the engine runs them.
fn program_labels(root: &Path, bytes: bool) -> Vec<(String, u64)> {
    let pkg = Package::open(root, &OpenOptions::default()).unwrap();
    pkg.plan
        .iter()
        .filter(|s| s.op == StepOp::Program && s.data.is_some())
        .map(|s| {
            (
                s.label.clone(),
                if bytes {
                    s.data.as_ref().unwrap().total_bytes
                } else {
                    0
                },
            )
        })
        .collect()
}

fn resume_after_unplug(package: &str, profile: &str, allow: bool) {
    let (_tmp, root) = package_copy(package);
    let faults = FaultSpec::parse_all(&["unplug:program#3"]).unwrap();
    let first = VirtualBoard::new(
        Profile::by_name(profile).unwrap(),
        BoardOptions::with_faults(faults),
    );
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.allow_full_erase = allow;
    o.resume = true;
    let req = FlashRequest::new(&root, format!("virtual:{profile}"))
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o.clone());
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(first.connect())), sink));
    assert_eq!(out.unwrap_err().kind, ErrorKind::Disconnected);
    // The cable is back: the same flash again, on the board as the fault left it.
    let board = power_cycle(&first, BoardOptions::default());
    let req = FlashRequest::new(&root, format!("virtual:{profile}"))
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, events) = run(|sink| spawn_flash(req.on_link(Box::new(board.connect())), sink));
    let v = out.unwrap_or_else(|r| panic!("{package}: {r:?}"));
    let programs = program_labels(&root, true);
    let done: Vec<String> = programs.iter().take(2).map(|(l, _)| l.clone()).collect();
    assert_eq!(
        v.skipped, done,
        "{package}: the two programs finished before the unplug"
    );
    let rest: Vec<String> = programs.iter().skip(2).map(|(l, _)| l.clone()).collect();
    assert_eq!(
        v.verified, rest,
        "{package}: only the remaining partitions were written"
    );
    let rest_bytes: u64 = programs.iter().skip(2).map(|(_, b)| b).sum();
    assert_eq!(v.bytes, rest_bytes);
    assert!(
        v.summary
            .contains("2 partition(s) already on the board were skipped"),
        "{}",
        v.summary
    );
    let text = infos(&events).join("\n");
    assert!(
        text.contains(&format!("resume: '{}' already holds", done[0])),
        "{text}"
    );
    common::check_storage(&board, &root, &OpenOptions::default());
    assert!(board.host_notes().is_empty(), "{:?}", board.host_notes());
}

#[test]
fn an_interrupted_emmc_flash_resumes_with_only_the_remaining_partitions() {
    resume_after_unplug("uz801-emmc", "emmc", true);
}

#[test]
fn an_interrupted_nand_flash_resumes_skipping_erase_and_program_together() {
    resume_after_unplug("quectel-eg25g-nand-2022", "eg25", false);
}

/// A bundle of a flash on a bare `virtual` (the package chose the board) replays: the
/// transcript stands under the name the flash opens, not under the name the user typed.
#[test]
fn a_bundle_of_a_bare_virtual_port_replays() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let bundle = tmp.path().join("support.zip");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.bundle = Some(bundle.clone());
    let req = FlashRequest::new(&root, "virtual")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, _) = run(|sink| spawn_flash(req, sink));
    out.unwrap_or_else(|r| panic!("{r:?}"));
    let loaded = load_bundle(&bundle).unwrap();
    assert_eq!(loaded.request.port, "virtual");
    let report = replay_bundle(&loaded, None, Box::new(|_| {})).unwrap();
    assert!(report.reproduced, "{report:?}");
    assert!(report.replayed.is_ok(), "{report:?}");
    assert_eq!(report.mismatch, None);
}

#[test]
fn a_bundle_from_a_failed_flash_replays_to_the_same_error() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let faults = FaultSpec::parse_all(&["nak:program#2"]).unwrap();
    let board = VirtualBoard::new(
        Profile::by_name("eg25").unwrap(),
        BoardOptions::with_faults(faults),
    );
    let bundle = tmp.path().join("support.zip");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.bundle = Some(bundle.clone());
    let req = FlashRequest::new(&root, "virtual:eg25")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, events) = run(|sink| spawn_flash(req.on_link(Box::new(board.connect())), sink));
    let failed = out.unwrap_err();
    assert_eq!(failed.kind, ErrorKind::Nak);
    let text = infos(&events).join("\n");
    assert!(
        text.contains(&format!("support bundle written to {}", bundle.display())),
        "{text}"
    );
    let zip = zip::ZipArchive::new(std::fs::File::open(&bundle).unwrap()).unwrap();
    let names: Vec<&str> = zip.file_names().collect();
    for m in [
        "summary.md",
        "log.txt",
        "events.jsonl",
        "outcome.json",
        "devices.json",
        "package.json",
        "identity.json",
        "request.json",
        "transcript.jsonl",
    ] {
        assert!(names.contains(&m), "{m} missing from {names:?}");
    }
    let mut zip = zip;
    let mut log = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("log.txt").unwrap(), &mut log).unwrap();
    assert!(
        log.contains("FAILED (nak): Writing: the board refused <program>"),
        "{log}"
    );
    // The serial is masked by default (bundle_privacy.rs): a short hash and its last 4 digits.
    assert!(
        log.contains("chip identity: serial [serial ") && log.contains("..4c64]"),
        "{log}"
    );
    assert!(!log.contains("0cf94c64"), "{log}");
    let mut pkg = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("package.json").unwrap(), &mut pkg).unwrap();
    assert!(
        pkg.contains("prog_nand_firehose_9x07.mbn") && pkg.contains("\"sha256\""),
        "{pkg}"
    );
    let loaded = load_bundle(&bundle).unwrap();
    assert!(
        loaded.summary.contains("failed (`nak`)"),
        "{}",
        loaded.summary
    );
    assert_eq!(
        loaded.outcome.as_ref().unwrap().error.as_ref().unwrap(),
        &failed
    );
    let report = replay_bundle(&loaded, None, Box::new(|_| {})).unwrap();
    let again = report.replayed.clone().unwrap_err();
    assert!(report.reproduced, "{report:?}");
    assert_eq!((again.kind, &again.message), (failed.kind, &failed.message));
    assert_eq!(report.mismatch, None);
}

#[test]
fn a_bundle_is_written_on_failure_into_the_given_folder_only() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let dir = tmp.path().join("bundles");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.bundle_on_failure = Some(dir.clone());
    // Success: nothing written.
    let req = FlashRequest::new(&root, "virtual:eg25")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o.clone());
    let ok = safety_support::board("eg25");
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(ok.connect())), sink));
    out.unwrap();
    assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none());
    // Failure: one bundle, named in the log.
    let faults = FaultSpec::parse_all(&["stall:erase#1"]).unwrap();
    let bad = VirtualBoard::new(
        Profile::by_name("eg25").unwrap(),
        BoardOptions::with_faults(faults),
    );
    let req = FlashRequest::new(&root, "virtual:eg25")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, events) = run(|sink| spawn_flash(req.on_link(Box::new(bad.connect())), sink));
    assert_eq!(out.unwrap_err().kind, ErrorKind::Timeout);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = infos(&events).join("\n");
    assert!(text.contains(&files[0].display().to_string()), "{text}");
    assert!(load_bundle(&files[0]).unwrap().transcript.is_some());
}

/// The same bundle with its raw host writes elided (as a long session's bundle is written).
fn elided_copy(bundle: &Path, to: &Path) {
    use std::io::{Read, Write};
    let mut zin = zip::ZipArchive::new(std::fs::File::open(bundle).unwrap()).unwrap();
    let mut zout = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let names: Vec<String> = zin.file_names().map(str::to_owned).collect();
    for name in names {
        let mut data = Vec::new();
        zin.by_name(&name).unwrap().read_to_end(&mut data).unwrap();
        if name == "transcript.jsonl" {
            let mut out = Vec::new();
            let n = oasis_engine::bundle::elide::copy_transcript(&mut &data[..], &mut out, true)
                .unwrap();
            assert!(n > 10, "{n} raw writes elided");
            data = out;
        } else if name == "bundle.json" {
            let mut v: serde_json::Value = serde_json::from_slice(&data).unwrap();
            v["raw_data_elided"] = serde_json::json!(true);
            data = serde_json::to_vec(&v).unwrap();
        }
        zout.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zout.write_all(&data).unwrap();
    }
    zout.finish().unwrap();
}

#[test]
fn a_bundle_with_elided_raw_data_still_replays_to_the_same_error() {
    let (tmp, root) = package_copy("uz801-emmc");
    let faults = FaultSpec::parse_all(&["nak:program#4"]).unwrap();
    let board = VirtualBoard::new(
        Profile::by_name("emmc").unwrap(),
        BoardOptions::with_faults(faults),
    );
    let bundle = tmp.path().join("full.zip");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.allow_full_erase = true;
    o.bundle = Some(bundle.clone());
    let req = FlashRequest::new(&root, "virtual:emmc")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(board.connect())), sink));
    let failed = out.unwrap_err();
    let small = tmp.path().join("small.zip");
    elided_copy(&bundle, &small);
    let loaded = load_bundle(&small).unwrap();
    assert!(loaded.info.as_ref().unwrap().raw_data_elided);
    let report = replay_bundle(&loaded, None, Box::new(|_| {})).unwrap();
    assert!(report.reproduced, "{report:?}");
    assert_eq!(report.replayed.unwrap_err().message, failed.message);
    assert!(
        report.notes.iter().any(|n| n.contains("not compared")),
        "{:?}",
        report.notes
    );
}

#[test]
fn a_flash_that_failed_in_verify_resumes_without_writing_anything() {
    let (_tmp, root) = package_copy("quectel-eg25g-nand-2022");
    // The EG25-G programmer verifies (and resumes) by reading back.
    let faults = FaultSpec::parse_all(&["stall:read#1"]).unwrap();
    let first = VirtualBoard::new(
        Profile::by_name("eg25").unwrap(),
        BoardOptions::with_faults(faults),
    );
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    let req = FlashRequest::new(&root, "virtual:eg25")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o.clone());
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(first.connect())), sink));
    assert_eq!(out.unwrap_err().phase, Some(Phase::Verify));
    let board = power_cycle(&first, BoardOptions::default());
    o.resume = true;
    let req = FlashRequest::new(&root, "virtual:eg25")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, events) = run(|sink| spawn_flash(req.on_link(Box::new(board.connect())), sink));
    let v = out.unwrap_or_else(|r| panic!("{r:?}"));
    let all: Vec<String> = program_labels(&root, false)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(v.skipped, all, "everything was already on the board");
    assert_eq!(v.bytes, 0);
    assert!(v.verified.is_empty());
    // No erase ran (each went with its skipped program), and the "do not unplug" window closed.
    assert_eq!(board.nand_overwrites(), 0);
    let last = events.iter().rev().find_map(|e| match e {
        Event::Progress { critical, .. } => Some(*critical),
        _ => None,
    });
    assert_ne!(
        last,
        Some(true),
        "the last progress still says DO NOT UNPLUG"
    );
    common::check_storage(&board, &root, &OpenOptions::default());
}

#[test]
fn a_long_sessions_bundle_keeps_raw_data_as_hashes_and_still_replays() {
    let (tmp, root) = package_copy("uz801-emmc");
    // A 6 MiB image: the recording passes its 8 MiB threshold while it is written.
    std::fs::write(
        root.join("persist.bin"),
        common::pseudo_random("big persist", 6 << 20),
    )
    .unwrap();
    let faults = FaultSpec::parse_all(&["nak:program#27"]).unwrap();
    let board = VirtualBoard::new(
        Profile::by_name("emmc").unwrap(),
        BoardOptions::with_faults(faults),
    );
    let bundle = tmp.path().join("long.zip");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.allow_full_erase = true;
    o.bundle = Some(bundle.clone());
    let req = FlashRequest::new(&root, "virtual:emmc")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(board.connect())), sink));
    let failed = out.unwrap_err();
    assert_eq!(failed.kind, ErrorKind::Nak, "{failed:?}");
    let size = std::fs::metadata(&bundle).unwrap().len();
    assert!(size < 2 << 20, "the bundle is {size} bytes");
    let loaded = load_bundle(&bundle).unwrap();
    assert!(loaded.info.as_ref().unwrap().raw_data_elided);
    let report = replay_bundle(&loaded, None, Box::new(|_| {})).unwrap();
    assert!(report.reproduced, "{report:?}");
    assert_eq!(report.replayed.unwrap_err().message, failed.message);
}

#[test]
fn at_port_virtual_over_a_plain_link_is_refused_before_writing() {
    let (_tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let board = safety_support::board("eg25");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.at_port = Some("virtual".into());
    let req = FlashRequest::new(&root, "/dev/ttyUSB0").with_options(o);
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(board.connect())), sink));
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput);
    assert!(r.message.contains("--at-port virtual"), "{}", r.message);
    assert!(board.written_ranges().is_empty());
}
