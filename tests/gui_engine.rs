//! The whole app over the REAL backend: oasis-engine flashing Oasis's virtual boards (oasis-vdev)
//! — the demo package onto a BG95 (confirmed after the restart), one the board's NAND fails, the
//! EG25-G running its firmware switched over its DM port and flashed with the real EG25-G
//! package, the diagnosis of a running module over its AT port, bench mode with all three boards,
//! and the support bundle of a failed flash. The app's real-board path over the virtual bus
//! (plug to unplug, every diagnosis state, port claims) is in `gui_bus.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::path::{Path, PathBuf};

use common::{app, click, flash, run_until, temp_dir, verdict};
use egui_kittest::kittest::Queryable;
use oasis::backend::engine::EngineBackend;
use oasis::backend::{BoardMode, BoardState};
use oasis::bench::SlotStatus;
use oasis::job::JobOutcome;
use oasis_package::{OpenOptions, Package, StepOp};

type H = egui_kittest::Harness<'static, oasis::OasisApp>;

/// The revision string the generated image of the EG25-G package carries (its own name).
const EG25_REVISION: &str = "EG25GGBR07A08M2G_30.006.30.006";
const EG25_TITLE: &str = "Virtual EG25-G #2 (with firmware)";

/// The app on the engine backend with the demo boards; `package` (else the demo package) open.
fn engine_app(name: &str, package: Option<PathBuf>) -> H {
    let dir = temp_dir(name);
    let package = match package {
        Some(p) => p,
        None => oasis::demo::install(&dir).unwrap_or_else(|e| panic!("demo package: {e}")),
    };
    let mut h = app(Box::new(EngineBackend::new(false)), &dir, Some(package));
    run_until(&mut h, 20, "the package and the boards", |h| {
        h.state().state.package.summary.is_some() && h.state().state.boards.len() == 3
    });
    h
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Deterministic filler bytes (xorshift) seeded by the file name.
fn filler(seed: &str, len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in seed.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The kit-generated Quectel NAND package (oasis-testkit, EG25-G layout) in `dir`, with the
/// images it lacks generated
/// small (at most 16 KiB, the first carrying the package's revision string) and md5.txt
/// updated with their real digests (as the package reader computed them), so it opens clean.
fn eg25_package(dir: &Path) -> PathBuf {
    let root = dir.join("EG25GGBR07A08M2G_30.006.30.006");
    copy_dir(
        &oasis_testkit::corpus::package(oasis_testkit::corpus::QUECTEL_NAND),
        &root,
    );
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    for (i, m) in pkg.missing_images.iter().enumerate() {
        let part = pkg
            .plan
            .iter()
            .find(|s| s.op == StepOp::Program && s.file.as_deref() == Some(m.file.as_str()))
            .and_then(|s| s.bytes())
            .filter(|b| *b > 200)
            .unwrap_or(16 * 1024);
        let mut data = filler(&m.path, part.min(16 * 1024) as usize - 100);
        if i == 0 {
            data[64..64 + EG25_REVISION.len()].copy_from_slice(EG25_REVISION.as_bytes());
        }
        let dst = root.join(&m.path);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(&dst, &data).unwrap();
    }
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    let text = std::fs::read_to_string(root.join("md5.txt")).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    for e in &pkg.md5.entries {
        if let oasis_package::md5sum::Md5Status::Mismatch { actual, .. } = &e.status {
            let line = &mut lines[e.line as usize - 1];
            let body = line.trim_end_matches(['\r', '\n']);
            let (head, _) = body.rsplit_once(':').unwrap();
            let ending = line[body.len()..].to_owned();
            *line = format!("{head}:{}{ending}", actual.to_ascii_uppercase());
        }
    }
    std::fs::write(root.join("md5.txt"), lines.concat()).unwrap();
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    assert!(pkg.missing_images.is_empty());
    assert_eq!(pkg.md5.mismatches().count(), 0);
    root
}

#[test]
fn the_engine_flashes_the_demo_package_onto_a_virtual_bg95() {
    let mut h = engine_app("engine-ok", None);
    h.get_by_label("BG95 (M3LA)  ·  BG95M3LAR02A03_01.300.01.300");
    flash(&mut h, "Virtual BG95-M3 #1 (healthy)");
    h.get_by_label("Flash succeeded");
    let v = verdict(&h);
    // The engine followed the board through its restart and asked it over AT.
    assert!(v.confirmed, "{v:?}");
    assert_eq!(v.running_revision.as_deref(), Some(oasis::demo::NAME));
    h.get_by_label(&format!("{} (confirmed after restart)", oasis::demo::NAME));
    let log = h.state().logbook().of_source("job 1").join("\n");
    assert!(log.contains("Uploading programmer"), "{log}");
    assert!(log.contains("finished"), "{log}");
    run_until(&mut h, 20, "the board back in normal mode", |h| {
        h.state().state.boards[0].revision.as_deref() == Some(oasis::demo::NAME)
    });
}

#[test]
fn a_nand_failure_on_the_virtual_board_ends_on_a_failure_verdict() {
    let mut h = engine_app("engine-fail", None);
    flash(&mut h, "Virtual BG95-M3 #3 (worn NAND)");
    h.get_by_label("Flash failed");
    h.get_by_label("What to do next");
    let outcome = h.state().state.flash.progress.outcome.clone();
    let Some(JobOutcome::Failed(r)) = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert_eq!(r.kind, oasis_engine::ErrorKind::Nak, "{r:?}");
    click(&mut h, "Show raw log");
    h.get_by_label_contains("failed (Nak)");
}

#[test]
fn the_running_eg25_is_switched_over_its_dm_port_flashed_and_confirmed() {
    let dir = temp_dir("engine-eg25-pkg");
    let mut h = engine_app("engine-eg25", Some(eg25_package(&dir)));
    assert_eq!(h.state().state.boards[1].mode, BoardMode::Normal);
    flash(&mut h, EG25_TITLE);
    h.get_by_label("Flash succeeded");
    let v = verdict(&h);
    assert!(v.confirmed, "{v:?}");
    assert_eq!(v.running_revision.as_deref(), Some(EG25_REVISION));
    h.get_by_label(&format!("{EG25_REVISION} (confirmed after restart)"));
    let log = h.state().logbook().of_source("job 1").join("\n");
    assert!(log.contains("DM port"), "{log}");
    assert!(log.contains("echoed"), "{log}");
    run_until(&mut h, 20, "the board back in normal mode", |h| {
        let b = &h.state().state.boards[1];
        b.mode == BoardMode::Normal && b.revision.as_deref() == Some(EG25_REVISION)
    });
}

#[test]
fn the_running_virtual_module_is_diagnosed_over_its_at_port_and_switched() {
    let mut h = engine_app("engine-diag", None);
    click(&mut h, "Diagnostics");
    click(&mut h, EG25_TITLE);
    run_until(
        &mut h,
        20,
        "the diagnosis of #2",
        |h| matches!(&h.state().state.diag.diagnosis, Some(Ok(d)) if d.devices.iter().any(|u| u.port_path == "virtual:2")),
    );
    let d = h.state().state.diag.diagnosis.clone().unwrap().unwrap();
    assert_eq!(d.state, BoardState::NormalAtOk, "{d:?}");
    click(&mut h, "Probe AT");
    run_until(&mut h, 20, "the AT probe", |h| {
        h.state().state.diag.at.is_some()
    });
    let ports = h.state().state.diag.at.clone().unwrap().unwrap();
    assert!(ports[0].probe.answered, "{ports:?}");
    assert!(
        ports[0]
            .answers()
            .iter()
            .any(|(c, a)| c == "AT+QGMR" && a.contains("EG25GGBR07A08M2G")),
        "{ports:?}"
    );
    // Its firmware is for another model: the BG95 demo package is refused.
    click(&mut h, "Flash");
    run_until(&mut h, 20, "the compatibility verdict", |h| {
        h.state().state.flash.compat.is_some()
    });
    h.get_by_label("Not compatible");
    // The Diagnostics pane's switch goes through the board's DM port.
    click(&mut h, "Diagnostics");
    click(&mut h, "Switch to download mode");
    run_until(&mut h, 20, "the switch", |h| {
        h.state().state.diag.switched.is_some()
    });
    let switched = h.state().state.diag.switched.clone().unwrap();
    let text = switched.unwrap_or_else(|e| panic!("{e:?}"));
    assert!(text.contains("echoed"), "{text}");
    run_until(&mut h, 20, "the board in download mode", |h| {
        h.state().state.boards[1].mode == BoardMode::Edl
    });
}

fn slot_outcome(h: &H, i: usize) -> Option<JobOutcome> {
    h.state().state.bench.slots()[i].progress.outcome.clone()
}

/// The first bench round with the demo package: #1 passes confirmed, the running EG25 is
/// refused before anything is switched or written, the worn NAND fails.
fn check_first_bench_round(h: &H) {
    let slots = h.state().state.bench.slots().to_vec();
    assert_eq!(slots[0].status, SlotStatus::Passed, "{:?}", slots[0].status);
    assert!(matches!(slot_outcome(h, 0), Some(JobOutcome::Finished(v)) if v.confirmed));
    assert_eq!(slots[0].new_revision.as_deref(), Some(oasis::demo::NAME));
    assert_eq!(
        slots[0].old_revision, None,
        "it was in download mode before"
    );
    let serial = slots[0]
        .progress
        .identity
        .as_ref()
        .and_then(|i| i.serial.clone());
    assert_eq!(serial.as_deref(), Some("1a2b3c4d"));
    let SlotStatus::Failed(why) = &slots[1].status else {
        panic!("{:?}", slots[1].status);
    };
    assert!(why.contains("Nothing was written"), "{why}");
    assert!(why.contains("EG25"), "{why}");
    assert_eq!(
        slots[1].mode,
        BoardMode::Normal,
        "still running its firmware"
    );
    assert!(
        matches!(slot_outcome(h, 2), Some(JobOutcome::Failed(r)) if r.kind == oasis_engine::ErrorKind::Nak),
        "{:?}",
        slots[2].status
    );
}

/// Open `package` on the Flash tab and come back to the bench.
fn open_package(h: &mut H, package: &Path) {
    click(h, "Flash");
    h.state_mut().edits.package_path = package.display().to_string();
    click(h, "Open");
    run_until(h, 20, "the package", |h| {
        let summary = h.state().state.package.summary.as_ref();
        summary.is_some_and(|p| p.path == package)
    });
    click(h, "Bench");
}

/// Run slot #2 again and return the modes it was seen in until its verdict.
fn retry_eg25_slot(h: &mut H) -> Vec<BoardMode> {
    let retries = h.get_all_by_label("Retry").count();
    assert_eq!(retries, 2, "the EG25 and the worn-NAND slot");
    h.get_all_by_label("Retry").next().unwrap().click();
    h.run_steps(3);
    assert_eq!(h.state().state.bench.slots()[1].status, SlotStatus::Running);
    let mut modes = vec![BoardMode::Normal];
    run_until(h, 120, "the EG25 slot", |h| {
        let s = &h.state().state.bench.slots()[1];
        if modes.last() != Some(&s.mode) {
            modes.push(s.mode);
        }
        s.status != SlotStatus::Running
    });
    run_until(h, 20, "the EG25 back in normal mode", |h| {
        h.state().state.bench.slots()[1].mode == BoardMode::Normal
    });
    modes
}

#[test]
fn bench_runs_the_three_virtual_boards_and_follows_the_eg25_through_its_modes() {
    let mut h = engine_app("engine-bench", None);
    click(&mut h, "Bench");
    click(&mut h, "Auto-start when a board is plugged in");
    let slots = h.state().state.bench.slots().to_vec();
    let attempts: Vec<u32> = slots.iter().map(|s| s.attempts).collect();
    assert_eq!(attempts, vec![1, 1, 1], "all three started together");
    run_until(&mut h, 120, "the bench", |h| {
        h.state().state.bench.running_jobs().is_empty()
    });
    check_first_bench_round(&h);
    // With its own package the EG25 slot goes normal → 9008 → normal and is confirmed.
    let dir = temp_dir("engine-bench-pkg");
    open_package(&mut h, &eg25_package(&dir));
    let modes = retry_eg25_slot(&mut h);
    let download = modes.iter().position(|m| *m == BoardMode::Edl);
    assert!(download.is_some_and(|i| i > 0), "{modes:?}");
    let s = &h.state().state.bench.slots()[1];
    assert_eq!(s.status, SlotStatus::Passed, "{:?}", s.status);
    assert!(matches!(slot_outcome(&h, 1), Some(JobOutcome::Finished(v)) if v.confirmed));
    assert_eq!(
        s.old_revision.as_deref(),
        Some("EG25GGBR07A08M2G_01.002.01.002")
    );
    assert_eq!(s.new_revision.as_deref(), Some(EG25_REVISION));
    assert_eq!(s.imei.as_deref(), Some("867698041234562"));
    assert_eq!(s.attempts, 2);
    // Two verified and confirmed, the worn NAND failed.
    let statuses: Vec<SlotStatus> = h
        .state()
        .state
        .bench
        .slots()
        .iter()
        .map(|s| s.status.clone())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == SlotStatus::Passed)
            .count(),
        2
    );
    assert!(matches!(statuses[2], SlotStatus::Failed(_)));
}

#[test]
fn a_flash_with_backup_on_names_the_backup_folder_in_the_verdict() {
    let mut h = engine_app("engine-backup", None);
    assert!(h.state().state.settings.backup_before_flash);
    flash(&mut h, "Virtual BG95-M3 #1 (healthy)");
    h.get_by_label("Flash succeeded");
    let dir = h.state().state.flash.backup_dir.clone().unwrap();
    assert!(
        dir.starts_with(temp_dir_path("engine-backup").join("backups")),
        "{dir:?}"
    );
    assert!(dir.join("manifest.json").is_file(), "{dir:?}");
    h.get_by_label(&format!("Calibration data backed up to {}", dir.display()));
}

#[test]
fn a_failing_flash_saves_its_bundle_and_copies_a_summary_with_the_error() {
    let mut h = engine_app("engine-bundle", None);
    flash(&mut h, "Virtual BG95-M3 #3 (worn NAND)");
    h.get_by_label("Flash failed");
    let bundle = h.state().state.flash.bundle_written.clone().unwrap();
    assert!(bundle.is_file(), "{bundle:?}");
    assert!(bundle.starts_with(temp_dir_path("engine-bundle").join("bundles")));
    h.get_by_label(&format!("Support bundle saved in {}", bundle.display()));
    let loaded = oasis_engine::bundle::load_bundle(&bundle).unwrap();
    assert!(
        loaded.outcome.is_some_and(|o| !o.ok),
        "the bundle records the failure"
    );
    click(&mut h, "Copy summary for a support ticket");
    h.get_by_label("Copied");
    let Some(JobOutcome::Failed(r)) = h.state().state.flash.progress.outcome.clone() else {
        panic!("expected a failure");
    };
    let md = h.state().state.flash.copied_summary.clone().unwrap();
    assert!(md.starts_with("### Oasis support summary"), "{md}");
    assert!(md.contains(&r.message), "{md}");
    assert!(md.contains(&bundle.display().to_string()), "{md}");
    // The chip serial is masked (a short hash and its last 4 digits) unless the setting keeps it.
    let serial = h
        .state()
        .state
        .flash
        .progress
        .identity
        .as_ref()
        .and_then(|i| i.serial.clone())
        .expect("the board told its serial");
    assert!(!md.contains(&serial), "{md}");
    let inside = oasis_engine::bundle::load_bundle(&bundle).unwrap().summary;
    assert!(
        !inside.contains(&serial) && inside.contains("[serial "),
        "{inside}"
    );
    // The same mask in the bundle and in the copied summary.
    let mask = |t: &str| {
        t.split("[serial ")
            .nth(1)
            .and_then(|r| r.split(']').next())
            .map(str::to_owned)
    };
    assert_eq!(mask(&md), mask(&inside), "{md}\n{inside}");
    assert!(
        md.contains("[serial ") && md.contains(&format!("..{}]", &serial[4..])),
        "{md}"
    );
    h.state_mut().state.settings.include_identifiers = true;
    click(&mut h, "Copy summary for a support ticket");
    let md = h.state().state.flash.copied_summary.clone().unwrap();
    assert!(md.contains(&serial), "{md}");
    // No file dialog here: the button says where the bundle stays.
    click(&mut h, "Save support bundle");
    h.get_by_label_contains("the bundle stays in");
}

/// The data folder `engine_app(name)` uses (without emptying it).
fn temp_dir_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("oasis-gui-{name}-{}", std::process::id()))
}

/// The package is opened once, when it is picked: the compatibility check and the flash use
/// that opening (a downloaded zip deleted after it was opened is flashed from what was
/// unpacked then).
#[test]
fn the_package_opened_when_picked_is_the_one_checked_and_flashed() {
    let dir = temp_dir("engine-opened-once-zip");
    let folder = oasis::demo::install(&dir).unwrap_or_else(|e| panic!("demo package: {e}"));
    let zip = dir.join("BG95M3LAR02A03_01.300.01.300.zip");
    oasis_testkit::zip_tree(&folder, &zip, "BG95M3LAR02A03_01.300.01.300");
    let mut h = engine_app("engine-opened-once", Some(zip.clone()));
    std::fs::remove_file(&zip).unwrap();
    flash(&mut h, "Virtual BG95-M3 #1 (healthy)");
    let compat = h.state().state.flash.compat.clone();
    h.get_by_label("Flash succeeded");
    assert!(verdict(&h).confirmed);
    assert!(
        compat.is_some_and(|c| c.checks.iter().all(|c| c.name != "Package")),
        "checked against the package as it was opened"
    );
}
