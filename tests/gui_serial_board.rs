//! A board that exists only as a serial port — as a module in download mode is on a Windows
//! lab PC with the QDLoader driver ("Qualcomm HS-USB QDLoader 9008 (COMn)"), or on Linux as a
//! `ttyUSBn` — flashed from the app over the REAL engine backend: the port is added in
//! Settings, listed as a board with its state badge and link, flashed with backup and
//! verification, and confirmed after the restart on the same port. A pseudo-terminal served
//! by oasis-vdev stands in for the COM port. Unix only (ptys).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::path::{Path, PathBuf};

use common::{app, run_until, temp_dir};
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use oasis::backend::engine::EngineBackend;
use oasis::backend::{BoardMode, BoardState};
use oasis::job::JobOutcome;
use oasis::state::FlashStage;
use oasis_package::{OpenOptions, Package};
use oasis_vdev::{BoardOptions, Profile, StartIn, serve_pty};

type H = egui_kittest::Harness<'static, oasis::OasisApp>;

fn click(h: &mut H, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(3);
}

/// The demo package with its programmer's demo mark changed (the app keeps the demo package
/// off anything but its own virtual boards, and a pty is a real port to it), md5.txt updated.
fn test_package(dir: &Path) -> PathBuf {
    let root = oasis::demo::install(dir).unwrap();
    let prog = root.join("update/firehose/prog_firehose_nand_mdm9x05.elf");
    let mut bytes = std::fs::read(&prog).unwrap();
    let (from, to) = (b"OASIS.DEMO", b"OASIS.TEST");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the demo programmer carries its mark");
    bytes[at..at + to.len()].copy_from_slice(to);
    std::fs::write(&prog, &bytes).unwrap();
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    let text = std::fs::read_to_string(root.join("md5.txt")).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    for e in &pkg.md5.entries {
        if let oasis_package::md5sum::Md5Status::Mismatch { expected, actual } = &e.status {
            let line = &mut lines[e.line as usize - 1];
            let fixed = line
                .replace(expected.as_str(), &actual.to_ascii_lowercase())
                .replace(&expected.to_ascii_uppercase(), &actual.to_ascii_uppercase());
            *line = fixed;
        }
    }
    std::fs::write(root.join("md5.txt"), lines.concat()).unwrap();
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    assert_eq!(pkg.md5.mismatches().count(), 0, "md5.txt updated");
    root
}

#[test]
fn a_board_seen_only_as_a_serial_port_is_flashed_and_confirmed_from_the_app() {
    let dir = temp_dir("serial-board");
    let package = test_package(&dir.join("pkg"));
    let link = dir.join("ttyQDL");
    let board = serve_pty(
        &link,
        Profile::bg95(),
        Vec::new(),
        BoardOptions {
            start_in: StartIn::Edl,
            ..BoardOptions::default()
        },
    )
    .unwrap();
    let port = link.display().to_string();
    let id = format!("serial:{port}");

    // No virtual boards and no USB poller: the only board is the serial port.
    let backend = EngineBackend::with_virtuals(Vec::new(), false);
    let mut h = app(Box::new(backend), &dir, Some(package));
    run_until(&mut h, 20, "the package", |h| {
        h.state().state.package.summary.is_some()
    });
    assert!(h.state().state.boards.is_empty());

    // Settings: add the port by hand, as a download-mode port.
    click(&mut h, "Settings");
    h.get_by_role_and_label(Role::TextInput, "Serial port")
        .focus();
    h.run_steps(2);
    h.get_by_role_and_label(Role::TextInput, "Serial port")
        .type_text(&port);
    h.run_steps(2);
    assert_eq!(h.state().edits.new_port.0, port, "typed into the field");
    click(&mut h, "Add port");
    run_until(&mut h, 20, "the serial board in the list", |h| {
        h.state().state.boards.iter().any(|b| b.id == id)
    });
    let row = h.state().state.boards[0].clone();
    assert_eq!(row.mode, BoardMode::Edl, "{row:?}");
    assert_eq!(row.state, BoardState::EdlWaiting, "{row:?}");
    assert!(!row.is_virtual);
    assert!(
        row.detail.contains(&format!("via {port} (serial port)")),
        "{row:?}"
    );
    assert_eq!(
        h.state().state.settings.manual_ports[0].name,
        port,
        "the port is kept in the settings"
    );

    // Flash it: compatibility, the confirmation of what is erased, then the engine.
    click(&mut h, "Flash");
    click(&mut h, &row.title);
    run_until(&mut h, 20, "the compatibility verdict", |h| {
        h.state().state.flash.compat.is_some()
    });
    click(&mut h, "Start flash");
    click(&mut h, "Erase and flash");
    run_until(&mut h, 120, "the verdict", |h| {
        h.state().state.flash.stage == FlashStage::Done
    });
    let log = h.state().logbook().of_source("job 1").join("\n");
    let v = match h.state().state.flash.progress.outcome.clone() {
        Some(JobOutcome::Finished(v)) => v,
        other => panic!("expected a success, got {other:?}\n{log}"),
    };
    assert!(!v.verified.is_empty(), "partitions verified: {v:?}");
    // Followed through the restart on the same port and asked over AT.
    assert!(v.confirmed, "{v:?}");
    assert_eq!(v.running_revision.as_deref(), Some(oasis::demo::NAME));
    h.get_by_label("Flash succeeded");
    assert!(log.contains("Uploading programmer"), "{log}");
    assert!(log.to_ascii_lowercase().contains("backup"), "{log}");
    assert!(log.contains(&port), "the log names the serial port: {log}");
    // The board itself took the new firmware.
    assert_eq!(board.board().revision(), oasis::demo::NAME);
}

/// A module running its firmware behind a serial port added by hand as an AT port (a UART
/// adapter on its main UART): the Diagnostics tab diagnoses it over that port and its AT probe
/// reads the module's identity there.
#[test]
fn the_diagnostics_tab_probes_a_module_over_a_serial_at_port() {
    let dir = temp_dir("serial-at");
    let link = dir.join("ttyUART");
    let _board = serve_pty(
        &link,
        Profile::bg95(),
        Vec::new(),
        BoardOptions {
            start_in: StartIn::Normal,
            ..BoardOptions::default()
        },
    )
    .unwrap();
    let port = link.display().to_string();
    // The port was added in Settings in an earlier run (settings.json in the data folder).
    let settings = serde_json::json!({
        "manual_ports": [{ "name": port, "kind": "At" }],
        "show_virtual_boards": false,
    });
    let storage = serde_json::json!({ "oasis.settings": settings.to_string() });
    std::fs::write(dir.join("settings.json"), storage.to_string()).unwrap();
    let backend = EngineBackend::with_virtuals(Vec::new(), false);
    let mut h = app(Box::new(backend), &dir, None);
    let id = format!("serial:{port}");
    run_until(&mut h, 20, "the serial board in the list", |h| {
        h.state().state.boards.iter().any(|b| b.id == id)
    });
    let row = h.state().state.boards[0].clone();
    assert_eq!(row.mode, BoardMode::Normal, "{row:?}");
    click(&mut h, "Diagnostics");
    click(&mut h, &row.title);
    run_until(&mut h, 20, "the diagnosis", |h| {
        h.state().state.diag.diagnosis.is_some()
    });
    let d = h.state().state.diag.diagnosis.clone().unwrap().unwrap();
    assert_eq!(d.state, BoardState::NormalAtOk, "{d:?}");
    click(&mut h, "Probe AT");
    run_until(&mut h, 20, "the AT probe", |h| {
        h.state().state.diag.at.is_some()
    });
    let ports = h.state().state.diag.at.clone().unwrap().unwrap();
    assert_eq!(ports.len(), 1, "{ports:?}");
    assert_eq!(ports[0].probe.port, port);
    assert!(ports[0].probe.answered, "{ports:?}");
    assert!(
        ports[0]
            .answers()
            .iter()
            .any(|(c, a)| c == "AT+QGMR" && a.contains("BG95M3")),
        "{ports:?}"
    );
}
