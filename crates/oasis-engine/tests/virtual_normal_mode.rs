//! A virtual EG25-G running its firmware, flashed the whole way with the real EG25-G fixture
//! package: switched to download mode through its DM port (diag's download-mode command),
//! flashed, reset, and confirmed on its AT port with the revision it now reports — through a
//! caller-owned board plugged into a virtual bus (what the app does) and through the CLI
//! spelling `virtual:eg25@normal` on an on-demand virtual bus. Both take the path a real module
//! takes: found on the bus's USB listing, switched over its DM port, followed until 9008 is back.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{REVISION, check_event_order, check_storage, package_copy};
use oasis_engine::{
    ErrorKind, ErrorReport, Event, FlashOptions, FlashRequest, Phase, Verdict, spawn_flash,
};
use oasis_package::OpenOptions;
use oasis_vdev::{BoardOptions, BoardState, Profile, StartIn, VirtualBoard};

fn running(profile: Profile) -> VirtualBoard {
    let opts = BoardOptions {
        start_in: StartIn::Normal,
        ..BoardOptions::default()
    };
    VirtualBoard::new(profile, opts)
}

fn confirming() -> FlashOptions {
    let mut o = FlashOptions::default();
    o.confirm = true;
    o
}

/// Flash `board`, which the test keeps, plugged into a virtual bus under the request's port
/// name (what the app does with its demo boards).
fn run_virtual(
    req: FlashRequest,
    board: &VirtualBoard,
) -> (Result<Verdict, ErrorReport>, Vec<Event>) {
    let bus = oasis_vdev::bus::with_board(board, &req.port);
    let req = req.on_bus(bus.handle());
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = spawn_flash(
        req,
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    );
    let out = h.join();
    (out, rx.try_iter().collect())
}

fn phases(events: &[Event]) -> Vec<Phase> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PhaseStarted { phase } => Some(*phase),
            _ => None,
        })
        .collect()
}

/// The Info lines sent while `phase` ran.
fn infos_in(events: &[Event], phase: Phase) -> Vec<String> {
    let mut current = None;
    let mut out = Vec::new();
    for e in events {
        match e {
            Event::PhaseStarted { phase } => current = Some(*phase),
            Event::PhaseFinished { .. } => current = None,
            Event::Info { message } if current == Some(phase) => out.push(message.clone()),
            _ => {}
        }
    }
    out
}

#[test]
fn a_running_eg25_is_switched_flashed_and_confirmed() {
    let (_tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let board = running(Profile::eg25());
    let before = board.revision();
    assert_ne!(before, REVISION);
    let req = FlashRequest::new(&root, "virtual:2").with_options(confirming());
    let (out, events) = run_virtual(req, &board);
    let verdict = out.unwrap_or_else(|r| panic!("{r:?}\nevents: {events:#?}"));
    check_event_order(&events);
    // The switch happened inside Connect, over the DM port, with the module's echo.
    let connect = infos_in(&events, Phase::Connect);
    assert!(connect.iter().any(|m| m.contains("DM port")), "{connect:?}");
    assert!(connect.iter().any(|m| m.contains("echoed")), "{connect:?}");
    assert!(
        connect.iter().any(|m| m.contains("back in download mode")),
        "{connect:?}"
    );
    let seen = phases(&events);
    for p in [
        Phase::Connect,
        Phase::Identify,
        Phase::Upload,
        Phase::Configure,
        Phase::Erase,
        Phase::Program,
        Phase::Verify,
        Phase::Reset,
        Phase::Confirm,
    ] {
        assert!(seen.contains(&p), "phase {p:?} missing from {seen:?}");
    }
    // Confirmed with what the board reports over AT after its reboot.
    assert!(verdict.confirmed, "{verdict:?}");
    assert_eq!(verdict.running_revision.as_deref(), Some(REVISION));
    assert!(verdict.summary.contains("confirmed"), "{}", verdict.summary);
    assert!(!verdict.verified.is_empty());
    assert_eq!(board.state(), BoardState::Normal);
    assert_eq!(board.revision(), REVISION);
    assert_eq!(
        board.resets(),
        2,
        "one restart into EDL, one into the new firmware"
    );
    let compared = check_storage(&board, &root, &OpenOptions::default());
    assert!(compared > 0);
    let notes = board.host_notes();
    assert!(notes.is_empty(), "the board judged the host: {notes:?}");
}

#[test]
fn the_cli_spelling_virtual_profile_at_normal_takes_the_same_way() {
    let (_tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let req = FlashRequest::new(&root, "virtual:eg25@normal")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(confirming());
    let (tx, rx) = crossbeam_channel::unbounded();
    let out = spawn_flash(
        req,
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    )
    .join();
    let events: Vec<Event> = rx.try_iter().collect();
    let verdict = out.unwrap_or_else(|r| panic!("{r:?}\nevents: {events:#?}"));
    check_event_order(&events);
    assert!(
        infos_in(&events, Phase::Connect)
            .iter()
            .any(|m| m.contains("echoed")),
        "{events:#?}"
    );
    assert!(verdict.confirmed);
    assert_eq!(verdict.running_revision.as_deref(), Some(REVISION));
}

#[test]
fn a_module_without_a_dm_port_is_refused_and_left_running() {
    let (_tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let board = running(Profile::ec200t());
    let req = FlashRequest::new(&root, "virtual:ec200t").with_options(confirming());
    let (out, events) = run_virtual(req, &board);
    let r = out.unwrap_err();
    check_event_order(&events);
    assert_eq!(r.kind, ErrorKind::Refused, "{r:?}");
    assert_eq!(r.phase, Some(Phase::Connect));
    assert!(r.message.contains("not a Qualcomm module"), "{}", r.message);
    assert_eq!(board.state(), BoardState::Normal);
    assert!(board.written_ranges().is_empty());
}

#[test]
fn a_bad_package_never_switches_the_board() {
    let tmp = tempfile::tempdir().unwrap();
    let board = running(Profile::eg25());
    let req =
        FlashRequest::new(tmp.path().join("nothing-here"), "virtual:2").with_options(confirming());
    let (out, events) = run_virtual(req, &board);
    assert_eq!(out.unwrap_err().kind, ErrorKind::BadInput);
    assert!(!phases(&events).contains(&Phase::Connect));
    assert_eq!(
        board.state(),
        BoardState::Normal,
        "still running its firmware"
    );
    assert_eq!(board.resets(), 0);
}

#[test]
fn a_board_already_in_download_mode_is_flashed_and_confirmed_too() {
    let (_tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let board = VirtualBoard::new(Profile::eg25(), BoardOptions::default());
    let req = FlashRequest::new(&root, "virtual:1").with_options(confirming());
    let (out, events) = run_virtual(req, &board);
    let verdict = out.unwrap_or_else(|r| panic!("{r:?}"));
    assert!(
        !infos_in(&events, Phase::Connect)
            .iter()
            .any(|m| m.contains("DM port")),
        "no switch for a board in download mode"
    );
    assert!(verdict.confirmed);
    assert_eq!(verdict.running_revision.as_deref(), Some(REVISION));
    assert_eq!(board.resets(), 1);
}
