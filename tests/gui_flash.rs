//! Clicking through the guided flash in the whole app (kittest, no display, no GPU): a whole
//! flash on the real engine over a virtual board ending on the success verdict, and, on a stub
//! backend the test feeds event by event, the failure verdict, the progress screen with "do not
//! unplug", cancelling, the confirm countdown, and the question when the window is closed
//! during a flash.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use common::{ManualBackend, app, click, demo_package, engine_app, has_label, run_until, temp_dir};
use egui_kittest::kittest::Queryable;
use oasis::backend::{BackendMsg, BoardInfo, BoardMode, BoardState};
use oasis::job::{JobOutcome, human_duration};
use oasis::state::FlashStage;
use oasis_engine::event::{ErrorKind, ErrorReport, Event, Phase, PhasePlan, Verdict};

type H = egui_kittest::Harness<'static, oasis::OasisApp>;

/// Select `board`, wait for its compatibility verdict, and open the confirmation.
fn start_on(h: &mut H, board: &str) {
    click(h, board);
    run_until(h, 30, "the compatibility verdict", |h| {
        h.state().state.flash.compat.is_some()
    });
    // A board in download mode cannot tell its model: the engine says so, and lets it flash.
    h.get_by_label("Compatible, with caveats");
    click(h, "Start flash");
}

#[test]
fn a_whole_flash_ends_on_a_success_verdict() {
    let dir = temp_dir("flash-ok");
    let mut h = engine_app(&dir, Some(demo_package()));
    // Package card, board list, compatibility verdict.
    h.get_by_label(&format!("BG95 (M3LA)  ·  {}", oasis::demo::NAME));
    start_on(&mut h, "Virtual BG95-M3 #1 (healthy)");
    assert_eq!(h.state().state.selected.as_deref(), Some("virtual:1"));
    // The confirmation names what it erases.
    h.get_by_label("This ERASES on Virtual BG95-M3 #1 (healthy):");
    let erases = h.state().state.package.summary.clone().unwrap().erases;
    assert!(!erases.is_empty());
    for region in &erases {
        h.get_by_label(&format!("  • {region}"));
    }
    click(&mut h, "Erase and flash");
    run_until(&mut h, 120, "the verdict", |h| {
        h.state().state.flash.stage == FlashStage::Done
    });
    h.get_by_label("Flash succeeded");
    let Some(JobOutcome::Finished(v)) = h.state().state.flash.progress.outcome.clone() else {
        panic!("expected a success");
    };
    assert!(v.confirmed, "{v:?}");
    h.get_by_label(&v.summary);
    assert!(!v.verified.is_empty());
    h.get_by_label(&v.verified.join(", "));
    h.get_by_label(&human_duration(v.seconds));
    h.get_by_label(&format!("{} (confirmed after restart)", oasis::demo::NAME));
    // The run's log has the job, and the per-run file exists.
    let log = h.state().logbook();
    assert!(
        log.lines()
            .iter()
            .any(|l| l.source == "job 1" && l.text.starts_with("finished"))
    );
    // The file is written by the logbook's own thread: wait until it has caught up.
    log.sync();
    let file = std::fs::read_to_string(log.path().unwrap()).unwrap();
    assert!(file.contains("[job 1] finished"), "{file}");
    // Back to a new flash.
    click(&mut h, "Flash another board");
    assert_eq!(h.state().state.flash.stage, FlashStage::Setup);
    h.get_by_label("Start flash");
}

#[test]
fn a_failing_flash_explains_the_cause_and_shows_the_raw_log() {
    let dir = temp_dir("flash-fail");
    let backend = ManualBackend::new(vec![manual_board()]);
    let (tx, calls) = (backend.tx.clone(), backend.calls.clone());
    let mut h = app(Box::new(backend), &dir, Some(demo_package()));
    h.run();
    h.get_by_label("Start flash").click();
    h.run();
    h.get_by_label("Erase and flash").click();
    h.run();
    let job = calls.lock().unwrap().flashes[0].job;
    let line = "ERROR: Failed to write page 0x2c40, no good block left";
    let events = [
        Event::PhaseStarted {
            phase: Phase::Program,
        },
        Event::DeviceLog { line: line.into() },
        Event::Failed(ErrorReport {
            kind: ErrorKind::Nak,
            message: "The board refused to write partition \"modem\": it ran out of good NAND \
                      blocks in that region."
                .into(),
            hint: Some(
                "The module's flash is worn or damaged. Try once more; if it fails again at the \
                 same partition, replace the module."
                    .into(),
            ),
            phase: Some(Phase::Program),
            partition: Some("modem".into()),
            device_log: vec![line.into()],
        }),
    ];
    for event in events {
        tx.send(BackendMsg::Job { job, event }).unwrap();
    }
    h.run();
    assert_eq!(h.state().state.flash.stage, FlashStage::Done);
    h.get_by_label("Flash failed");
    h.get_by_label_contains("ran out of good NAND blocks");
    h.get_by_label("while writing, partition modem");
    h.get_by_label("What to do next");
    h.get_by_label_contains("replace the module");
    h.get_by_label("The board said:");
    h.get_by_label(line);
    assert!(
        h.query_by_label_contains("failed (Nak)").is_none(),
        "raw log folded"
    );
    h.get_by_label("Show raw log").click();
    h.run();
    h.get_by_label_contains("failed (Nak)");
    h.get_by_label("Hide raw log");
}

#[test]
fn nothing_flashes_without_the_confirmation() {
    let dir = temp_dir("flash-confirm");
    let backend = ManualBackend::new(vec![manual_board()]);
    let calls = backend.calls.clone();
    let mut h = app(Box::new(backend), &dir, Some(demo_package()));
    h.run();
    h.get_by_label("Start flash").click();
    h.run();
    h.get_by_label("Erase and flash");
    h.get_by_label("Cancel").click();
    h.run();
    assert!(!has_label(&h, "Erase and flash"));
    assert_eq!(h.state().state.flash.stage, FlashStage::Setup);
    assert!(h.state().state.flash.job.is_none());
    assert!(calls.lock().unwrap().flashes.is_empty(), "nothing was sent");
}

#[test]
fn first_run_opens_the_demo_package_and_a_bad_path_explains_itself() {
    let dir = temp_dir("flash-nopkg");
    let mut h = engine_app(&dir, None);
    // First run: the built-in demo package is written to the data folder (off the UI
    // thread) and opened.
    run_until(&mut h, 30, "the demo package", |h| {
        let st = &h.state().state;
        st.settings.last_package.is_some() && st.package.summary.is_some()
    });
    let opened = h.state().state.settings.last_package.clone().unwrap();
    assert!(
        opened.starts_with(dir.join("demo-package")),
        "{}",
        opened.display()
    );
    assert!(
        opened
            .join("update/firehose/prog_firehose_nand_mdm9x05.elf")
            .is_file()
    );
    // A wrong path says what to do (the package reader's own help), and the Flash button
    // says why it is off.
    h.state_mut().edits.package_path = "/nonexistent/firmware".into();
    click(&mut h, "Open");
    run_until(&mut h, 30, "the package error", |h| {
        h.query_by_label_contains("cannot use package /nonexistent/firmware")
            .is_some()
    });
    h.get_by_label_contains("a package is a folder or a .zip");
    h.get_by_label("Open a package first.");
    // Browse with no dialog available points at the path field.
    click(&mut h, "Folder…");
    assert!(
        h.state()
            .state
            .status
            .as_deref()
            .unwrap_or("")
            .contains("Type or paste the path")
    );
}

fn manual_board() -> BoardInfo {
    BoardInfo {
        id: "1-1.4".into(),
        port_path: "1-1.4".into(),
        title: "Quectel BG95-M3".into(),
        mode: BoardMode::Edl,
        state: BoardState::EdlWaiting,
        detail: "05C6:9008 on 1-1.4".into(),
        is_virtual: false,
        revision: None,
        imei: None,
        serial: Some("1a2b3c4d".into()),
    }
}

#[test]
fn progress_shows_step_partition_rate_eta_and_do_not_unplug_while_critical() {
    let dir = temp_dir("flash-progress");
    let backend = ManualBackend::new(vec![manual_board()]);
    let (tx, calls) = (backend.tx.clone(), backend.calls.clone());
    let mut h = app(Box::new(backend), &dir, Some(demo_package()));
    h.run();
    h.get_by_label("Start flash").click();
    h.run();
    h.get_by_label("Erase and flash").click();
    h.run();
    let job = calls.lock().unwrap().flashes[0].clone();
    assert_eq!(job.board, "1-1.4");
    let send = |e: Event| {
        tx.send(BackendMsg::Job {
            job: job.job,
            event: e,
        })
        .unwrap()
    };
    let plan = [Phase::Upload, Phase::Erase, Phase::Program, Phase::Verify]
        .map(|phase| PhasePlan {
            phase,
            weight: phase.weight(),
            bytes: 0,
        })
        .to_vec();
    send(Event::PlanReady {
        phases: plan,
        steps: 4,
        total_bytes: 1 << 20,
    });
    send(Event::PhaseStarted {
        phase: Phase::Program,
    });
    send(Event::Progress {
        phase: Phase::Program,
        partition: Some("sbl".into()),
        done: 512 << 10,
        total: 1 << 20,
        rate: 2.0 * 1024.0 * 1024.0,
        overall: 0.42,
        eta_seconds: Some(75.0),
        critical: true,
    });
    h.run();
    h.get_by_label("Flashing Quectel BG95-M3");
    h.get_by_label(
        "Writing  ·  partition sbl  ·  512.0 KiB of 1.0 MiB  ·  2.0 MiB/s  ·  about 1 min 15 s left",
    );
    h.get_by_label("Do not unplug the board or cut its power now.");
    send(Event::Progress {
        phase: Phase::Program,
        partition: Some("sbl".into()),
        done: 1 << 20,
        total: 1 << 20,
        rate: 2.0 * 1024.0 * 1024.0,
        overall: 0.9,
        eta_seconds: Some(3.0),
        critical: false,
    });
    h.run();
    assert!(!has_label(
        &h,
        "Do not unplug the board or cut its power now."
    ));
    // Cancel goes to the backend; the job ends as the backend says.
    h.get_by_label("Cancel flash").click();
    h.run();
    assert_eq!(calls.lock().unwrap().cancels, vec![job.job]);
    send(Event::Failed(ErrorReport {
        kind: ErrorKind::Cancelled,
        message: "You cancelled the flash.".into(),
        hint: Some("Start the flash again to finish it.".into()),
        phase: Some(Phase::Program),
        partition: None,
        device_log: vec![],
    }));
    h.run();
    h.get_by_label("Flash failed");
    h.get_by_label("You cancelled the flash.");
}

#[test]
fn closing_the_window_during_a_flash_asks_first() {
    let dir = temp_dir("flash-close");
    let backend = ManualBackend::new(vec![manual_board()]);
    let calls = backend.calls.clone();
    let mut h = app(Box::new(backend), &dir, Some(demo_package()));
    h.run();
    h.get_by_label("Start flash").click();
    h.run();
    h.get_by_label("Erase and flash").click();
    h.run();
    let close = |h: &mut egui_kittest::Harness<'static, oasis::OasisApp>| {
        h.input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .events
            .push(egui::ViewportEvent::Close);
        h.run();
    };
    close(&mut h);
    h.get_by_label("Close Oasis?");
    h.get_by_label("A flash of Quectel BG95-M3 is running.");
    h.get_by_label("Keep flashing").click();
    h.run();
    assert!(!has_label(&h, "Close Oasis?"));
    assert!(calls.lock().unwrap().cancels.is_empty());
    close(&mut h);
    h.get_by_label("Stop and close").click();
    h.run();
    assert_eq!(
        calls.lock().unwrap().cancels.len(),
        1,
        "the running job was cancelled"
    );
    assert!(h.state().state.close_confirmed);
}

#[test]
fn a_timed_flash_moves_the_bar_and_ends() {
    // The engine flashing a virtual board paced like a real one: events arrive from its worker
    // threads while the UI runs.
    let dir = temp_dir("flash-timed");
    let mut h = engine_app(&dir, Some(demo_package()));
    start_on(&mut h, "Virtual BG95-M3 #1 (healthy)");
    h.get_by_label("Erase and flash").click();
    h.step();
    let mut fractions = Vec::new();
    run_until(&mut h, 120, "the verdict", |h| {
        fractions.push(h.state().state.flash.progress.overall);
        h.state().state.flash.stage == FlashStage::Done
    });
    assert!(
        fractions.iter().any(|f| *f > 0.05 && *f < 0.95),
        "the bar went through the middle: {fractions:?}"
    );
    assert!(
        fractions.windows(2).all(|w| w[1] >= w[0]),
        "never backwards: {fractions:?}"
    );
    h.get_by_label("Flash succeeded");
}

/// The demo package with one more step at the end: an erase of the whole flash (no sector
/// count), as some vendor packages have; md5.txt is updated so it opens clean.
fn whole_flash_erasing_package(dir: &std::path::Path) -> std::path::PathBuf {
    let from = demo_package().join(oasis::demo::NAME);
    let root = dir.join(oasis::demo::NAME);
    for e in walk(&from) {
        let to = root.join(e.strip_prefix(&from).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&e, &to).unwrap();
    }
    let xml = root.join("update/firehose/rawprogram_nand_p2K_b128K.xml");
    let text = std::fs::read_to_string(&xml).unwrap().replace(
        "</data>",
        "  <erase PAGES_PER_BLOCK=\"64\" SECTOR_SIZE_IN_BYTES=\"2048\" \
         physical_partition_number=\"0\" start_sector=\"0\"/>\n</data>",
    );
    std::fs::write(&xml, text).unwrap();
    let pkg = oasis_package::Package::open(&root, &oasis_package::OpenOptions::default()).unwrap();
    let md5 = std::fs::read_to_string(root.join("md5.txt")).unwrap();
    let mut lines: Vec<String> = md5.lines().map(str::to_owned).collect();
    for e in &pkg.md5.entries {
        if let oasis_package::md5sum::Md5Status::Mismatch { actual, .. } = &e.status {
            let line = &mut lines[e.line as usize - 1];
            let (head, _) = line.rsplit_once(':').unwrap();
            *line = format!("{head}:{}", actual.to_ascii_uppercase());
        }
    }
    std::fs::write(root.join("md5.txt"), lines.join("\r\n") + "\r\n").unwrap();
    let pkg = oasis_package::Package::open(&root, &oasis_package::OpenOptions::default()).unwrap();
    assert_eq!(pkg.md5.mismatches().count(), 0);
    root
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_destructive_flash_without_a_backup_needs_the_override_ticked() {
    let dir = temp_dir("flash-override");
    let backend = ManualBackend::new(vec![manual_board()]);
    let (tx, calls) = (backend.tx.clone(), backend.calls.clone());
    let package = whole_flash_erasing_package(&dir);
    let mut h = app(Box::new(backend), &dir, Some(package));
    h.run();
    let destructive = h.state().state.package.summary.clone().unwrap().destructive;
    assert!(
        destructive
            .iter()
            .any(|d| d.whole_flash && d.why.contains("the whole flash")),
        "{destructive:?}"
    );
    // Backup on (the default): the dialog says so and needs no override.
    h.get_by_label("Start flash").click();
    h.run();
    h.get_by_label_contains("is backed up first");
    let text = oasis::ui::flash::override_text(&destructive);
    assert!(!has_label(&h, &text));
    h.get_by_label("Cancel").click();
    h.run();
    // Backup off: the Flash button does nothing until the override is ticked.
    h.state_mut().state.settings.backup_before_flash = false;
    h.get_by_label("Start flash").click();
    h.run();
    h.get_by_label("Erase and flash").click();
    h.run();
    assert_eq!(h.state().state.flash.stage, FlashStage::Setup);
    assert!(h.state().state.flash.confirming);
    assert!(calls.lock().unwrap().flashes.is_empty(), "nothing was sent");
    h.get_by_label(&text).click();
    h.run();
    assert!(h.state().state.flash.no_backup_override);
    h.get_by_label("Erase and flash").click();
    h.run();
    assert_ne!(h.state().state.flash.stage, FlashStage::Setup);
    assert_eq!(h.state().state.flash.backup_dir, None, "no backup asked");
    let job = calls.lock().unwrap().flashes[0].clone();
    assert_eq!(job.options.backup, None, "no backup asked of the engine");
    tx.send(BackendMsg::Job {
        job: job.job,
        event: Event::Finished(Verdict {
            summary: "Flashed and verified.".into(),
            verified: vec!["sbl".into()],
            skipped: Vec::new(),
            bytes: 1 << 20,
            seconds: 3.0,
            confirmed: false,
            running_revision: None,
        }),
    })
    .unwrap();
    h.run();
    assert_eq!(h.state().state.flash.stage, FlashStage::Done);
    h.get_by_label("No backup was taken (off in Settings).");
}

#[test]
fn the_confirm_phase_counts_down_and_a_failed_confirmation_offers_the_diagnosis() {
    let dir = temp_dir("flash-confirm");
    let backend = ManualBackend::new(vec![manual_board()]);
    let (tx, calls) = (backend.tx.clone(), backend.calls.clone());
    let mut h = app(Box::new(backend), &dir, Some(demo_package()));
    h.run();
    h.get_by_label("Start flash").click();
    h.run();
    h.get_by_label("Erase and flash").click();
    h.run();
    let job = calls.lock().unwrap().flashes[0].clone();
    // Every app flash asks for a backup and a support bundle in the data folder.
    let o = &job.options;
    assert!(o.backup.as_ref().unwrap().starts_with(dir.join("backups")));
    assert!(o.bundle.as_ref().unwrap().starts_with(dir.join("bundles")));
    assert_eq!(
        o.bundle_on_failure.as_deref(),
        Some(dir.join("bundles").as_path())
    );
    let send = |e: Event| {
        tx.send(BackendMsg::Job {
            job: job.job,
            event: e,
        })
        .unwrap()
    };
    send(Event::PhaseStarted {
        phase: Phase::Confirm,
    });
    send(Event::Progress {
        phase: Phase::Confirm,
        partition: None,
        done: 18,
        total: 60,
        rate: 0.0,
        overall: 0.97,
        eta_seconds: None,
        critical: false,
    });
    h.run();
    h.get_by_label("Waiting for the board to restart… 42 s left");
    send(Event::Failed(ErrorReport {
        kind: ErrorKind::Timeout,
        message: "the board did not come back on USB within 60 s".into(),
        hint: None,
        phase: Some(Phase::Confirm),
        partition: None,
        device_log: vec![],
    }));
    h.run();
    h.get_by_label("the board did not come back on USB within 60 s");
    h.get_by_label("Diagnose this board").click();
    h.run_steps(3);
    assert_eq!(h.state().state.tab, oasis::state::Tab::Diagnostics);
    assert_eq!(calls.lock().unwrap().diagnosed.len(), 1);
}
