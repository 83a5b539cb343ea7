//! Every real fixture package, flashed onto the in-process virtual board it was made for: the
//! absent images are generated, the run must succeed with the documented event order, and the
//! board's storage must hold the package byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{check_event_order, check_storage, flash_board, generic_programmer, package_copy};
use oasis_engine::{Event, FlashOptions, FlashRequest, Phase};
use oasis_package::OpenOptions;
use oasis_vdev::{AfterReset, BoardOptions, Profile, VirtualBoard};

fn flash_fixture(
    name: &str,
    profile: &str,
    programmer: Option<std::path::PathBuf>,
    allow_full_erase: bool,
) -> (VirtualBoard, Vec<Event>) {
    let (_tmp, root) = package_copy(name);
    let board = VirtualBoard::new(Profile::by_name(profile).unwrap(), BoardOptions::default());
    let mut opts = FlashOptions::default();
    opts.programmer.clone_from(&programmer);
    opts.allow_full_erase = allow_full_erase;
    let req = FlashRequest::new(&root, format!("virtual:{profile}"))
        .on_bus(oasis_vdev::bus::demand())
        .with_options(opts);
    let (out, events) = flash_board(req, &board);
    let verdict = match out {
        Ok(v) => v,
        Err(r) => panic!("{name} on {profile}: {r:?}\nevents: {events:#?}"),
    };
    check_event_order(&events);
    assert!(matches!(events.last(), Some(Event::Finished(_))));
    let notes = board.host_notes();
    assert!(notes.is_empty(), "the board judged the host: {notes:?}");
    let open = OpenOptions {
        programmer,
        ..OpenOptions::default()
    };
    let compared = check_storage(&board, &root, &open);
    assert!(compared > 0, "nothing compared for {name}");
    assert_eq!(verdict.summary, "verified, not yet confirmed running");
    assert!(!verdict.verified.is_empty());
    assert!(verdict.bytes >= compared);
    assert!(
        matches!(board.after_reset(), Ok(AfterReset::Modem(_))),
        "the board was reset into normal mode at the end"
    );
    let phases: Vec<Phase> = events
        .iter()
        .filter_map(|e| match e {
            Event::PhaseStarted { phase } => Some(*phase),
            _ => None,
        })
        .collect();
    for p in [
        Phase::Connect,
        Phase::Identify,
        Phase::Upload,
        Phase::Configure,
        Phase::Program,
        Phase::Verify,
        Phase::Reset,
    ] {
        assert!(
            phases.contains(&p),
            "{name}: phase {p:?} missing from {phases:?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ChipIdentity(c) if c.hw_id.is_some()))
    );
    (board, events)
}

#[test]
fn quectel_eg25g_nand_package_onto_eg25() {
    let (board, events) = flash_fixture("quectel-eg25g-nand-2022", "eg25", None, false);
    // The generated image with the revision string landed: the board now runs it.
    assert_eq!(board.revision(), common::REVISION);
    // NAND: erases come before any program, and the boot loader region is critical meanwhile.
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PhaseStarted {
            phase: Phase::Erase
        }
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Progress { critical: true, .. }))
    );
}

#[test]
fn qdl_ufs_package_onto_ufs_with_a_generic_programmer() {
    let (_, events) = flash_fixture("qdl-tests-ufs", "ufs", Some(generic_programmer()), false);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PhaseStarted {
            phase: Phase::Patch
        }
    )));
}

#[test]
fn uz801_emmc_package_onto_emmc() {
    // The package rewrites modemst/fsg/persist: refused unless the user allows it.
    let (_, events) = flash_fixture("uz801-emmc", "emmc", None, true);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PhaseStarted {
            phase: Phase::Program
        }
    )));
}
