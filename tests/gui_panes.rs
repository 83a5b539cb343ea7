//! The other panes through the whole app: diagnostics for every board state (a stub backend
//! answering as the test says) and its probe, identity and switch actions on the real engine over
//! a virtual board, bench mode with three boards at once and a retry, the log filter, and
//! settings that survive a restart.

mod common;

use common::{ManualBackend, app, click, demo_package, engine_app, has_label, run_until, temp_dir};
use egui_kittest::kittest::Queryable;
use oasis::backend::{BackendMsg, BoardInfo, BoardMode, BoardState, BoardStateText, Diagnosis};
use oasis::bench::SlotStatus;
use oasis::state::Tab;
use oasis_engine::diag::timeline::TimelineKind;
use oasis_engine::diag::{Action, NextStep};
use oasis_engine::event::{ChipIdentity, ErrorKind, ErrorReport, Event, Verdict};

/// A board as a backend lists it.
fn board(id: &str, title: &str, mode: BoardMode, state: BoardState) -> BoardInfo {
    BoardInfo {
        id: id.into(),
        port_path: id.into(),
        title: title.into(),
        mode,
        state,
        detail: format!("{mode:?} on {id}"),
        is_virtual: true,
        revision: (mode == BoardMode::Normal).then(|| "BG95M3LAR02A03".into()),
        imei: (mode == BoardMode::Normal).then(|| "867698041234562".into()),
        serial: None,
    }
}

/// Three boards: two in download mode, one running its firmware.
fn demo_boards() -> Vec<BoardInfo> {
    vec![
        board(
            "virtual:1",
            "Virtual BG95-M3 #1 (healthy)",
            BoardMode::Edl,
            BoardState::EdlWaiting,
        ),
        board(
            "virtual:2",
            "Virtual BG95-M3 #2 (with firmware)",
            BoardMode::Normal,
            BoardState::NormalAtOk,
        ),
        board(
            "virtual:3",
            "Virtual BG95-M3 #3 (worn NAND)",
            BoardMode::Edl,
            BoardState::EdlWaiting,
        ),
    ]
}

#[test]
fn diagnostics_shows_every_board_state_with_its_evidence_and_next_steps() {
    let dir = temp_dir("diag");
    let gallery: Vec<BoardInfo> = BoardState::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| {
            board(
                &format!("gallery:{i}"),
                &format!("Board {}", i + 1),
                BoardMode::NotFirehose,
                *s,
            )
        })
        .collect();
    let backend = ManualBackend::new(gallery);
    let (tx, calls) = (backend.tx.clone(), backend.calls.clone());
    let mut h = app(Box::new(backend), &dir, None);
    h.run_steps(3);
    h.get_by_label("Diagnostics").click();
    h.run_steps(3);
    for (i, state) in BoardState::ALL.iter().enumerate() {
        let id = format!("gallery:{i}");
        // A diagnosis is pending (a spinner turns) until the test answers it.
        h.get_by_label(&format!("Board {}", i + 1)).click();
        h.run_steps(3);
        h.get_by_label("Diagnose").click();
        h.run_steps(3);
        assert_eq!(
            calls.lock().unwrap().diagnosed.last(),
            Some(&id),
            "the app asked for a diagnosis of the selected board"
        );
        let view = Diagnosis {
            state: *state,
            title: state.title().to_owned(),
            summary: format!("summary of {}", state.slug()),
            evidence: vec![format!("evidence of {}", state.slug())],
            next_steps: vec![NextStep {
                text: format!("first step for {}", state.slug()),
                action: None,
            }],
            devices: Vec::new(),
            port_path: None,
        };
        tx.send(BackendMsg::Diagnosis {
            board: id,
            result: Ok(view),
        })
        .unwrap();
        h.run_steps(3);
        let shown = h.state().state.diag.diagnosis.clone().unwrap().unwrap();
        assert_eq!(shown.state, *state);
        // The state's title appears on the card (and as the board's badge).
        assert!(
            h.query_all_by_label(state.title()).count() >= 2,
            "{}",
            state.slug()
        );
        h.get_by_label(&format!("summary of {}", state.slug()));
        h.get_by_label("What Oasis saw");
        h.get_by_label("What to do next");
        h.get_by_label(&format!("  1. first step for {}", state.slug()));
        h.get_by_label(&format!("  • evidence of {}", state.slug()));
        // A step without an action has no button.
        for (_, label) in STEP_BUTTONS {
            assert!(!has_label(&h, label), "{label}");
        }
    }
}

/// The buttons a next step gets for the engine's actions.
const STEP_BUTTONS: [(Action, &str); 4] = [
    (Action::ProbeAt, "Ask over AT now"),
    (Action::SwitchToDownload, "Switch now"),
    (Action::ReadChipIdentity, "Read identity now"),
    (Action::Flash, "Go to Flash"),
];

#[test]
fn the_next_steps_offer_the_actions_the_diagnosis_names() {
    let dir = temp_dir("diag-steps");
    // A module that is no Qualcomm target: its mode alone enables neither the switch nor the
    // identity.
    let backend = ManualBackend::new(vec![board(
        "1-1.2",
        "Board on 1-1.2",
        BoardMode::NotFirehose,
        BoardState::NormalAtSilent,
    )]);
    let (tx, calls) = (backend.tx.clone(), backend.calls.clone());
    let mut h = app(Box::new(backend), &dir, None);
    h.run();
    h.get_by_label("Diagnostics").click();
    h.run_steps(3);
    let step = |text: &str, action| NextStep {
        text: text.into(),
        action,
    };
    let diagnosis = |next_steps| BackendMsg::Diagnosis {
        board: "1-1.2".into(),
        result: Ok(Diagnosis {
            state: BoardState::NormalAtSilent,
            title: BoardState::NormalAtSilent.title().to_owned(),
            summary: "no port answers AT".into(),
            evidence: vec!["2C7C:0700 present".into()],
            next_steps,
            devices: Vec::new(),
            port_path: None,
        }),
    };
    tx.send(diagnosis(vec![
        step("Ask again.", Some(Action::ProbeAt)),
        step("Switch it.", Some(Action::SwitchToDownload)),
        step("Read its chip.", Some(Action::ReadChipIdentity)),
        step("Flash it.", Some(Action::Flash)),
        step("Power it off and on.", Some(Action::Reset)),
    ]))
    .unwrap();
    h.run_steps(3);
    h.get_by_label("  5. Power it off and on.");
    for (_, label) in STEP_BUTTONS {
        h.get_by_label(label);
    }
    // Each button asks the backend for its action on this board.
    h.get_by_label("Ask over AT now").click();
    h.run_steps(3);
    h.get_by_label("Switch now").click();
    h.run_steps(3);
    h.get_by_label("Read identity now").click();
    h.run_steps(3);
    {
        let c = calls.lock().unwrap();
        assert_eq!(c.probed, ["1-1.2"]);
        assert_eq!(c.switched, ["1-1.2"]);
        assert_eq!(c.identities, ["1-1.2"]);
    }
    h.get_by_label("Go to Flash").click();
    h.run_steps(3);
    assert_eq!(h.state().state.tab, Tab::Flash);
    // A diagnosis that names no action offers no button.
    h.get_by_label("Diagnostics").click();
    h.run_steps(3);
    tx.send(diagnosis(vec![step("Check the cable.", None)]))
        .unwrap();
    h.run_steps(3);
    h.get_by_label("  1. Check the cable.");
    for (_, label) in STEP_BUTTONS {
        assert!(!has_label(&h, label), "{label}");
    }
}

#[test]
fn diagnostics_probes_at_reads_identity_and_switches_to_download_mode() {
    let dir = temp_dir("diag-actions");
    let mut h = engine_app(&dir, None);
    click(&mut h, "Diagnostics");
    // The running board: USB tree with interface roles, AT answers per port.
    click(&mut h, "Virtual EG25-G #2 (with firmware)");
    click(&mut h, "Diagnose");
    run_until(&mut h, 30, "the diagnosis of #2", |h| {
        matches!(&h.state().state.diag.diagnosis,
            Some(Ok(d)) if d.devices.iter().any(|u| u.port_path == "virtual:2"))
    });
    let d = h.state().state.diag.diagnosis.clone().unwrap().unwrap();
    let node = &d.devices[0];
    h.get_by_label(&format!(
        "{} {} on virtual:2",
        node.id, node.identity.family
    ));
    assert!(node.id.starts_with("2C7C:"), "{node:?}");
    h.get_by_label("DM/DIAG port");
    h.get_by_label("AT command port");
    click(&mut h, "Probe AT");
    run_until(&mut h, 30, "the AT probe", |h| {
        h.state().state.diag.at.is_some()
    });
    let ports = h.state().state.diag.at.clone().unwrap().unwrap();
    let port = &ports[0];
    assert!(port.probe.answered, "{ports:?}");
    h.get_by_label(&format!("{} ({})", port.probe.port, port.role.describe()));
    let (cmd, answer) = port
        .answers()
        .iter()
        .find(|(c, _)| c == "ATI")
        .cloned()
        .unwrap_or_else(|| panic!("{ports:?}"));
    // Every port that answered ATI (the AT port and the modem port of a module) shows it.
    let with_ati = ports
        .iter()
        .filter(|p| p.answers().iter().any(|(c, _)| c == "ATI"))
        .count();
    assert_eq!(h.query_all_by_label(&cmd).count(), with_ati);
    assert!(answer.contains("EG25"), "{answer}");
    assert!(h.query_all_by_label(&answer).count() >= 1);
    // The engine's diagnosis of a running module offers Flash and the switch beside its steps;
    // its switch button: the board comes back as 9008 and its chip can be read.
    h.get_by_label("Go to Flash");
    assert!(
        d.next_steps
            .iter()
            .any(|s| s.action == Some(Action::SwitchToDownload)),
        "{d:?}"
    );
    click(&mut h, "Switch now");
    run_until(&mut h, 30, "the switch", |h| {
        h.state().state.diag.switched.is_some()
    });
    let text = h.state().state.diag.switched.clone().unwrap();
    let text = text.unwrap_or_else(|e| panic!("{e:?}"));
    h.get_by_label(&text);
    // It leaves the list for a moment and comes back as 05C6:9008, still the selected board.
    run_until(&mut h, 30, "the board in download mode", |h| {
        let st = &h.state().state;
        st.selected_board()
            .is_some_and(|b| b.id == "virtual:2" && b.mode == BoardMode::Edl)
    });
    click(&mut h, "Read chip identity");
    run_until(&mut h, 30, "the chip identity", |h| {
        h.state().state.diag.identity.is_some()
    });
    let id = h.state().state.diag.identity.clone().unwrap();
    let id = id.unwrap_or_else(|e| panic!("{e:?}"));
    h.get_by_label("Chip identity");
    h.get_by_label(id.chip.as_deref().unwrap());
    h.get_by_label(id.hw_id.as_deref().unwrap());
    h.get_by_label(id.serial.as_deref().unwrap());
    // The hot-plug timeline is drawn (its legend names the modes): the running board left
    // and came back in download mode.
    h.get_by_label("Hot-plug timeline");
    // The engine's own events, the virtual board under its name: it left running its firmware
    // and came back in download mode on the same port.
    run_until(&mut h, 30, "the board's return in the timeline", |h| {
        h.state().state.timeline.iter().any(|e| {
            matches!(&e.kind, TimelineKind::ModeChanged { from_path, to_path, from, to, .. }
                if from_path == "virtual:2" && to_path == "virtual:2"
                    && from.mode == Some(BoardMode::Normal) && to.mode == Some(BoardMode::Edl))
        })
    });
    let timeline = h.state().state.timeline.clone();
    assert!(
        timeline.iter().any(|e| matches!(&e.kind,
            TimelineKind::Disappeared { port_path, device, .. }
                if port_path == "virtual:2" && device.mode == Some(BoardMode::Normal))),
        "{timeline:?}"
    );
    assert!(
        h.query_all_by_label("download (9008)").count() >= 2,
        "legend beside the badges"
    );
}

fn verdict(seconds: f64, revision: &str) -> Event {
    Event::Finished(Verdict {
        summary: "Flashed, verified, and the board is running the new firmware.".into(),
        verified: vec!["sbl".into(), "modem".into()],
        skipped: Vec::new(),
        bytes: 3 << 20,
        seconds,
        confirmed: true,
        running_revision: Some(revision.into()),
    })
}

fn nand_failure() -> Event {
    Event::Failed(ErrorReport {
        kind: ErrorKind::Nak,
        message: "The board refused to write partition \"modem\": it ran out of good NAND blocks."
            .into(),
        hint: Some("Replace the module if it fails again.".into()),
        phase: Some(oasis_engine::event::Phase::Program),
        partition: Some("modem".into()),
        device_log: Vec::new(),
    })
}

#[test]
fn bench_mode_flashes_three_boards_at_once_and_retries_the_failed_one() {
    const NEW: &str = "BG95M3LAR02A03_01.202.01.202";
    let dir = temp_dir("bench");
    let backend = ManualBackend::new(demo_boards());
    let (tx, calls) = (backend.tx.clone(), backend.calls.clone());
    let mut h = app(Box::new(backend), &dir, Some(demo_package()));
    h.run();
    h.get_by_label("Bench").click();
    h.run();
    assert_eq!(h.state().state.bench.slots().len(), 3);
    h.get_by_label("Auto-start when a board is plugged in")
        .click();
    h.step();
    // Armed: all three start together, one flash request per board.
    assert_eq!(h.state().state.bench.running_jobs().len(), 3);
    let jobs = calls.lock().unwrap().flashes.clone();
    let mut boards: Vec<&str> = jobs.iter().map(|j| j.board.as_str()).collect();
    boards.sort_unstable();
    assert_eq!(boards, ["virtual:1", "virtual:2", "virtual:3"]);
    let job_of = |board: &str| jobs.iter().find(|j| j.board == board).unwrap().job;
    let send = |board: &str, event: Event| {
        tx.send(BackendMsg::Job {
            job: job_of(board),
            event,
        })
        .unwrap();
    };
    let serial = "1a2b3c4d";
    send(
        "virtual:1",
        Event::ChipIdentity(ChipIdentity {
            serial: Some(serial.into()),
            ..ChipIdentity::default()
        }),
    );
    send("virtual:1", verdict(12.4, NEW));
    // The running board goes normal -> 9008 -> normal with the new revision.
    let mut listed = demo_boards();
    listed[1].mode = BoardMode::Edl;
    listed[1].state = BoardState::EdlWaiting;
    listed[1].revision = None;
    tx.send(BackendMsg::Boards(listed.clone())).unwrap();
    h.step();
    assert_eq!(h.state().state.bench.slots()[1].mode, BoardMode::Edl);
    listed[1].mode = BoardMode::Normal;
    listed[1].state = BoardState::NormalAtOk;
    listed[1].revision = Some(NEW.into());
    tx.send(BackendMsg::Boards(listed)).unwrap();
    send("virtual:2", verdict(20.0, NEW));
    send("virtual:3", nand_failure());
    h.run();
    assert!(h.state().state.bench.running_jobs().is_empty());
    let statuses: Vec<SlotStatus> = h
        .state()
        .state
        .bench
        .slots()
        .iter()
        .map(|s| s.status.clone())
        .collect();
    assert_eq!(statuses[0], SlotStatus::Passed);
    assert_eq!(statuses[1], SlotStatus::Passed);
    assert!(matches!(&statuses[2], SlotStatus::Failed(why) if why.contains("NAND")));
    assert_eq!(h.query_all_by_label("passed").count(), 2);
    h.get_by_label("failed");
    // The slot of the running board followed it through normal -> 9008 -> normal.
    let running = &h.state().state.bench.slots()[1];
    assert_eq!(running.port_path, "virtual:2");
    assert_eq!(running.mode, BoardMode::Normal);
    assert_eq!(running.old_revision.as_deref(), Some("BG95M3LAR02A03"));
    assert_eq!(running.new_revision.as_deref(), Some(NEW));
    // Retry the failed slot only.
    h.get_by_label("Retry failed slots").click();
    h.step();
    assert_eq!(h.state().state.bench.running_jobs().len(), 1);
    let retry = calls.lock().unwrap().flashes[3].clone();
    assert_eq!(
        retry.board, "virtual:3",
        "only the failed slot is flashed again"
    );
    assert_eq!(calls.lock().unwrap().flashes.len(), 4);
    tx.send(BackendMsg::Job {
        job: retry.job,
        event: nand_failure(),
    })
    .unwrap();
    h.run();
    assert!(h.state().state.bench.running_jobs().is_empty());
    assert_eq!(h.state().state.bench.slots()[2].attempts, 2);
    // The report: CSV with one row per slot.
    let report = dir.join("report.csv");
    h.state_mut().edits.report_path = report.display().to_string();
    h.get_by_label("Save report").click();
    h.run();
    // The report is written off the UI thread; its answer arrives a few frames later.
    run_until(&mut h, 10, "the report", |h| {
        h.state().state.last_report.is_some()
    });
    let csv = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "port,chip_serial,imei,old_revision,new_revision,result,duration_s"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1].starts_with("virtual:1,"), "{csv}");
    assert!(lines[1].contains(",passed,12.4"), "{csv}");
    assert!(
        lines[1].contains(serial),
        "chip serial in the report: {csv}"
    );
    assert!(
        lines[2].contains(&format!(",BG95M3LAR02A03,{NEW},passed,20.0")),
        "{csv}"
    );
    assert!(
        lines[2].contains(",867698041234562,"),
        "IMEI in the report: {csv}"
    );
    assert!(lines[3].starts_with("virtual:3,"), "{csv}");
    assert!(lines[3].contains("failed: "), "{csv}");
    h.get_by_label_contains("Report saved to");
}

#[test]
fn the_log_pane_filters_and_names_its_file() {
    let dir = temp_dir("log");
    let backend = ManualBackend::new(demo_boards());
    let mut h = app(Box::new(backend), &dir, Some(demo_package()));
    h.run();
    h.get_by_label("Log").click();
    h.run();
    h.get_by_label_contains("Saved to ");
    let path = h.state().logbook().path().unwrap().to_owned();
    assert!(path.starts_with(dir.join("logs")));
    assert!(has_label(&h, &format!("Saved to {}", path.display())));
    let total = h.state().logbook().lines().len();
    assert!(total >= 3);
    h.state_mut().edits.log_filter = "package".into();
    h.run();
    let shown = h.query_all_by_label_contains("[package]").count();
    assert!(shown >= 1 && shown < total, "{shown} of {total}");
    assert!(h.query_by_label_contains("[app]").is_none());
}

#[test]
fn settings_survive_a_restart() {
    let dir = temp_dir("settings");
    {
        let backend = ManualBackend::new(demo_boards());
        let mut h = app(Box::new(backend), &dir, Some(demo_package()));
        h.run();
        h.get_by_label("Settings").click();
        h.run();
        h.get_by_label("Show virtual boards (demo and training)")
            .click();
        h.run();
        assert!(!h.state().state.settings.show_virtual_boards);
        h.get_by_label("Restart the board and check its new revision")
            .click();
        h.run();
        assert!(!h.state().state.settings.confirm_after_reset);
    }
    // The second run is on the engine: its three virtual boards arrive, and stay hidden.
    let mut h = engine_app(&dir, None);
    let s = &h.state().state.settings;
    assert!(!s.show_virtual_boards);
    assert!(!s.confirm_after_reset);
    // The last package is reopened, and virtual boards stay hidden.
    assert_eq!(s.last_package.as_deref(), Some(demo_package().as_path()));
    run_until(&mut h, 30, "the last package", |h| {
        h.state().state.package.summary.is_some()
    });
    assert_eq!(h.state().state.tab, Tab::Flash);
    h.get_by_label("0 board(s) attached");
    // About box: version and build.
    h.get_by_label("About").click();
    h.run();
    h.get_by_label(env!("CARGO_PKG_VERSION"));
    h.get_by_label("oasis-engine (virtual demo boards only)");
    assert!(!has_label(&h, "scripted boards (no engine)"));
}

#[test]
fn backup_before_flashing_is_on_by_default_and_its_setting_survives_a_restart() {
    assert!(oasis::settings::Settings::default().backup_before_flash);
    let dir = temp_dir("backup-setting");
    {
        let backend = ManualBackend::new(demo_boards());
        let mut h = app(Box::new(backend), &dir, Some(demo_package()));
        h.run();
        assert!(h.state().state.settings.backup_before_flash);
        h.get_by_label("Settings").click();
        h.run();
        h.get_by_label("Back up calibration data before flashing")
            .click();
        h.run();
        assert!(!h.state().state.settings.backup_before_flash);
    }
    let backend = ManualBackend::new(demo_boards());
    let mut h = app(Box::new(backend), &dir, None);
    h.run();
    assert!(!h.state().state.settings.backup_before_flash);
}

#[test]
fn identifiers_are_masked_by_default_and_the_setting_keeps_them_across_a_restart() {
    assert!(!oasis::settings::Settings::default().include_identifiers);
    let dir = temp_dir("identifiers-setting");
    {
        let backend = ManualBackend::new(demo_boards());
        let mut h = app(Box::new(backend), &dir, Some(demo_package()));
        h.run();
        h.get_by_label("Settings").click();
        h.run();
        h.get_by_label("Include IMEI, ICCID and chip serial in bundles and ticket summaries")
            .click();
        h.run();
        let s = &h.state().state.settings;
        assert!(s.include_identifiers);
        assert!(s.flash_options().include_identifiers);
    }
    let backend = ManualBackend::new(demo_boards());
    let mut h = app(Box::new(backend), &dir, None);
    h.run();
    assert!(h.state().state.settings.include_identifiers);
}
