//! The other panes through the whole app: diagnostics for every board state, bench mode with
//! three boards at once, the log filter, and settings that survive a restart.

mod common;

use std::time::Duration;

use common::{app, demo_package, has_label, run_until, temp_dir};
use egui_kittest::kittest::Queryable;
use oasis::backend::fake::FakeBackend;
use oasis::backend::{BoardState, BoardStateText};
use oasis::bench::SlotStatus;
use oasis::state::Tab;

#[test]
fn diagnostics_shows_every_board_state_with_its_evidence_and_next_steps() {
    let dir = temp_dir("diag");
    let backend = FakeBackend::new(FakeBackend::gallery_boards(), Duration::ZERO);
    let mut h = app(Box::new(backend), &dir, None);
    h.run();
    h.get_by_label("Diagnostics").click();
    h.run();
    for (i, state) in BoardState::ALL.iter().enumerate() {
        h.get_by_label(&format!("Board {}", i + 1)).click();
        h.run();
        h.get_by_label("Diagnose").click();
        h.run();
        let shown = h.state().state.diag.diagnosis.clone().unwrap().unwrap();
        assert_eq!(shown.state, *state);
        // The state's title appears on the card (and as the board's badge).
        assert!(
            h.query_all_by_label(state.title()).count() >= 2,
            "{}",
            state.slug()
        );
        h.get_by_label("What Oasis saw");
        h.get_by_label("What to do next");
        h.get_by_label(&format!("  1. {}", shown.next_steps[0]));
        h.get_by_label(&format!("  • {}", shown.evidence[0]));
    }
}

#[test]
fn diagnostics_probes_at_reads_identity_and_switches_to_download_mode() {
    let dir = temp_dir("diag-actions");
    let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::ZERO);
    let mut h = app(Box::new(backend), &dir, None);
    h.run();
    h.get_by_label("Diagnostics").click();
    h.run();
    // The running board: USB tree with interface roles, AT answers per port.
    h.get_by_label("Virtual BG95-M3 #2 (with firmware)").click();
    h.run();
    h.get_by_label("Diagnose").click();
    h.run();
    h.get_by_label("2C7C:0700 Quectel BG95-M3 on virtual:2");
    h.get_by_label("DIAG");
    h.get_by_label("AT");
    h.get_by_label("Probe AT").click();
    h.run();
    h.get_by_label("/dev/ttyUSB2 (AT)");
    h.get_by_label("ATI");
    h.get_by_label("Quectel BG95-M3 Revision: BG95M3LAR02A03");
    // Switch to download mode: the board comes back as 9008 and its chip can be read.
    h.get_by_label("Switch to download mode").click();
    h.run();
    h.get_by_label("The board left USB and came back as 05C6:9008 (download mode).");
    h.get_by_label("Read chip identity").click();
    h.run();
    h.get_by_label("Chip identity");
    h.get_by_label("MDM9205");
    h.get_by_label("001070e100000000");
    // The hot-plug timeline is drawn (its legend names the modes).
    h.get_by_label("Hot-plug timeline");
    // Three arrivals, then the running board leaving and coming back as 9008.
    assert_eq!(h.state().state.timeline.len(), 5);
    assert!(
        h.query_all_by_label("download (9008)").count() >= 2,
        "legend beside the badges"
    );
}

#[test]
fn bench_mode_flashes_three_boards_at_once_and_retries_the_failed_one() {
    let dir = temp_dir("bench");
    let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::from_millis(2));
    let mut h = app(Box::new(backend), &dir, Some(demo_package()));
    h.run();
    h.get_by_label("Bench").click();
    h.run();
    assert_eq!(h.state().state.bench.slots().len(), 3);
    h.get_by_label("Auto-start when a board is plugged in")
        .click();
    h.step();
    // Armed: all three start together.
    assert_eq!(h.state().state.bench.running_jobs().len(), 3);
    run_until(&mut h, 30, "all slots to finish", |h| {
        h.state().state.bench.running_jobs().is_empty()
    });
    h.run();
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
    assert_eq!(running.old_revision.as_deref(), Some("BG95M3LAR02A03"));
    assert_eq!(
        running.new_revision.as_deref(),
        Some("BG95M3LAR02A03_01.202.01.202")
    );
    // Retry the failed slot only.
    h.get_by_label("Retry failed slots").click();
    h.step();
    assert_eq!(h.state().state.bench.running_jobs().len(), 1);
    run_until(&mut h, 30, "the retry", |h| {
        h.state().state.bench.running_jobs().is_empty()
    });
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
    let serial = h.state().state.bench.slots()[0]
        .progress
        .identity
        .clone()
        .unwrap()
        .serial;
    assert!(
        lines[1].contains(&serial.unwrap()),
        "chip serial in the report: {csv}"
    );
    assert!(
        lines[2].contains(",BG95M3LAR02A03,BG95M3LAR02A03_01.202.01.202,passed,"),
        "{csv}"
    );
    assert!(lines[3].contains("failed: "), "{csv}");
    h.get_by_label_contains("Report saved to");
}

#[test]
fn the_log_pane_filters_and_names_its_file() {
    let dir = temp_dir("log");
    let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::ZERO);
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
        let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::ZERO);
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
    let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::ZERO);
    let mut h = app(Box::new(backend), &dir, None);
    h.run();
    let s = &h.state().state.settings;
    assert!(!s.show_virtual_boards);
    assert!(!s.confirm_after_reset);
    // The last package is reopened, and virtual boards stay hidden.
    assert_eq!(s.last_package.as_deref(), Some(demo_package().as_path()));
    assert!(h.state().state.package.summary.is_some());
    assert_eq!(h.state().state.tab, Tab::Flash);
    h.get_by_label("0 board(s) attached");
    // About box: version and build.
    h.get_by_label("About").click();
    h.run();
    h.get_by_label(env!("CARGO_PKG_VERSION"));
    h.get_by_label("scripted boards (no engine)");
}

#[test]
fn backup_before_flashing_is_on_by_default_and_its_setting_survives_a_restart() {
    assert!(oasis::settings::Settings::default().backup_before_flash);
    let dir = temp_dir("backup-setting");
    {
        let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::ZERO);
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
    let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::ZERO);
    let mut h = app(Box::new(backend), &dir, None);
    h.run();
    assert!(!h.state().state.settings.backup_before_flash);
}

#[test]
fn identifiers_are_masked_by_default_and_the_setting_keeps_them_across_a_restart() {
    assert!(!oasis::settings::Settings::default().include_identifiers);
    let dir = temp_dir("identifiers-setting");
    {
        let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::ZERO);
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
    let backend = FakeBackend::new(FakeBackend::demo_boards(), Duration::ZERO);
    let mut h = app(Box::new(backend), &dir, None);
    h.run();
    assert!(h.state().state.settings.include_identifiers);
}
