//! Refusals the flash makes itself once it sees the board, before anything is written: the
//! demo package on a board that is not simulated (when the front-end asks for that rule, as
//! the app does), and a module running another model's firmware (never switched).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::path::PathBuf;

use oasis_engine::{ErrorKind, FlashOptions, FlashRequest, event_channel, spawn_flash};
use oasis_vdev::BoardState;

fn demo_package() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-package/BG95M3LAR02A03_01.300.01.300"
    ))
}

fn demo_rule() -> FlashOptions {
    let mut o = FlashOptions::default();
    o.demo_only_on_virtual = true;
    o
}

/// A board served on a pseudo-terminal is, to the host, hardware on a serial port.
#[cfg(unix)]
#[test]
fn the_demo_package_is_refused_on_a_board_that_is_not_simulated() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyDEMO");
    let svc = oasis_vdev::serve_pty(
        &link,
        oasis_vdev::Profile::bg95(),
        Vec::new(),
        oasis_vdev::BoardOptions::default(),
    )
    .unwrap();
    let req =
        FlashRequest::new(demo_package(), link.display().to_string()).with_options(demo_rule());
    let (sink, _rx) = event_channel();
    let h = spawn_flash(req, sink);
    let r = h.join().unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused, "{r:?}");
    assert_eq!(r.phase, Some(oasis_engine::Phase::Connect));
    assert!(r.message.contains("demo package"), "{}", r.message);
    assert!(svc.board().written_ranges().is_empty());
    assert_eq!(
        svc.board().state(),
        BoardState::Sahara,
        "nothing was sent to it"
    );
}

#[test]
fn the_demo_package_goes_onto_a_virtual_board() {
    let req = FlashRequest::new(demo_package(), "virtual:bg95")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(demo_rule());
    let (sink, _rx) = event_channel();
    let h = spawn_flash(req, sink);
    let v = h.join().unwrap_or_else(|r| panic!("{r:?}"));
    assert!(!v.verified.is_empty());
}

#[test]
fn a_module_running_another_models_firmware_is_left_running() {
    let vbus = oasis_vdev::VirtualBus::new(oasis_vdev::BusTiming::default());
    let board = oasis_vdev::bus::board_for("eg25@normal", "bg95").unwrap();
    vbus.plug_as(board.clone(), Some("virtual:other"));
    let req = FlashRequest::new(demo_package(), "virtual:other").on_bus(vbus.handle());
    let (sink, _rx) = event_channel();
    let h = spawn_flash(req, sink);
    let r = h.join().unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused, "{r:?}");
    assert!(r.message.contains("Nothing was written"), "{}", r.message);
    assert!(r.message.contains("EG25"), "{}", r.message);
    assert_eq!(board.state(), BoardState::Normal, "not switched");
    assert_eq!(board.resets(), 0);
    assert!(board.written_ranges().is_empty());
}
