//! The whole app over the REAL backend: oasis-engine flashing Oasis's virtual boards (oasis-vdev)
//! with the demo package — a flash that succeeds, one the board's NAND fails, the diagnosis of a
//! running module over its AT port, and two bench slots at once. Built with the `engine` feature.
#![allow(unexpected_cfgs)]
#![cfg(feature = "engine")]

mod common;

use common::{app, run_until, temp_dir};
use egui_kittest::kittest::Queryable;
use oasis::backend::BoardState;
use oasis::backend::engine::EngineBackend;
use oasis::bench::SlotStatus;
use oasis::state::FlashStage;

/// Click a widget and let the frame that handles it and the one that shows the result run.
fn click(h: &mut egui_kittest::Harness<'static, oasis::OasisApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(3);
}

fn engine_app(name: &str) -> egui_kittest::Harness<'static, oasis::OasisApp> {
    let dir = temp_dir(name);
    let package = match oasis::demo::install(&dir) {
        Ok(p) => p,
        Err(e) => panic!("demo package: {e}"),
    };
    let mut h = app(Box::new(EngineBackend::new(false)), &dir, Some(package));
    run_until(&mut h, 20, "the package and the boards", |h| {
        h.state().state.package.summary.is_some() && h.state().state.boards.len() == 3
    });
    h
}

fn flash(h: &mut egui_kittest::Harness<'static, oasis::OasisApp>, board: &str) {
    click(h, board);
    run_until(h, 20, "the compatibility verdict", |h| {
        h.state().state.flash.compat.is_some()
    });
    click(h, "Start flash");
    click(h, "Erase and flash");
    run_until(h, 120, "the verdict", |h| {
        h.state().state.flash.stage == FlashStage::Done
    });
}

#[test]
fn the_engine_flashes_the_demo_package_onto_a_virtual_bg95() {
    let mut h = engine_app("engine-ok");
    h.get_by_label("BG95 (M3LA)  ·  BG95M3LAR02A03_01.300.01.300");
    flash(&mut h, "Virtual BG95-M3 #1 (healthy)");
    h.get_by_label("Flash succeeded");
    let log = h.state().logbook().of_source("job 1").join("\n");
    assert!(log.contains("Uploading programmer"), "{log}");
    assert!(log.contains("finished"), "{log}");
    // The board reboots into its new firmware; the list follows it.
    run_until(&mut h, 20, "the board back in normal mode", |h| {
        h.state().state.boards[0].revision.as_deref() == Some("BG95M3LAR02A03_01.300.01.300")
    });
}

#[test]
fn a_nand_failure_on_the_virtual_board_ends_on_a_failure_verdict() {
    let mut h = engine_app("engine-fail");
    flash(&mut h, "Virtual BG95-M3 #3 (worn NAND)");
    h.get_by_label("Flash failed");
    h.get_by_label("What to do next");
    let outcome = h.state().state.flash.progress.outcome.clone();
    let Some(oasis::job::JobOutcome::Failed(r)) = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert_eq!(r.kind, oasis_engine::ErrorKind::Nak, "{r:?}");
    click(&mut h, "Show raw log");
    h.get_by_label_contains("failed (Nak)");
}

#[test]
fn the_running_virtual_module_is_diagnosed_over_its_at_port() {
    let mut h = engine_app("engine-diag");
    click(&mut h, "Diagnostics");
    click(&mut h, "Virtual EG25-G #2 (with firmware)");
    run_until(
        &mut h,
        20,
        "the diagnosis of #2",
        |h| matches!(&h.state().state.diag.diagnosis, Some(Ok(d)) if d.usb.iter().any(|u| u.port_path == "virtual:2")),
    );
    let d = h.state().state.diag.diagnosis.clone().unwrap().unwrap();
    assert_eq!(d.state, BoardState::NormalAtOk, "{d:?}");
    click(&mut h, "Probe AT");
    run_until(&mut h, 20, "the AT probe", |h| {
        h.state().state.diag.at.is_some()
    });
    let ports = h.state().state.diag.at.clone().unwrap().unwrap();
    assert!(ports[0].answered);
    assert!(
        ports[0]
            .answers
            .iter()
            .any(|(c, a)| c == "AT+QGMR" && a.contains("EG25GGBR07A08M2G"))
    );
    // Its firmware is for another model: the BG95 demo package is refused.
    click(&mut h, "Flash");
    run_until(&mut h, 20, "the compatibility verdict", |h| {
        h.state().state.flash.compat.is_some()
    });
    h.get_by_label("Not compatible");
}

#[test]
fn bench_runs_the_three_virtual_boards_at_once() {
    let mut h = engine_app("engine-bench");
    click(&mut h, "Bench");
    click(&mut h, "Auto-start when a board is plugged in");
    // All three started together (the EG25 is refused at once, the others run in parallel).
    assert!(
        h.state()
            .state
            .bench
            .slots()
            .iter()
            .all(|s| s.attempts == 1)
    );
    assert!(h.state().state.bench.running_jobs().len() >= 2);
    run_until(&mut h, 120, "the bench", |h| {
        h.state().state.bench.running_jobs().is_empty()
    });
    let slots = h.state().state.bench.slots();
    assert_eq!(slots[0].status, SlotStatus::Passed, "{:?}", slots[0].status);
    assert_eq!(
        slots[0]
            .progress
            .identity
            .as_ref()
            .and_then(|i| i.serial.clone())
            .as_deref(),
        Some("1a2b3c4d")
    );
    // The running EG25 cannot be switched (no DIAG on a virtual board), the third has bad NAND.
    assert!(
        matches!(&slots[1].status, SlotStatus::Failed(why) if why.contains("DIAG")),
        "{:?}",
        slots[1].status
    );
    assert!(
        matches!(slots[2].status, SlotStatus::Failed(_)),
        "{:?}",
        slots[2].status
    );
    // Slot 1 follows its board back to normal mode and records the revision it now reports.
    run_until(&mut h, 20, "the new revision", |h| {
        h.state().state.bench.slots()[0].new_revision.as_deref() == Some(oasis::demo::NAME)
    });
    let slot = &h.state().state.bench.slots()[0];
    assert_eq!(slot.old_revision, None, "it was in download mode before");
    assert_eq!(slot.imei.as_deref(), Some("866425051234567"));
}
