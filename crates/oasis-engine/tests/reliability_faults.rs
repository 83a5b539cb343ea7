//! Reliability suite, fault matrix: every fault the virtual board can inject, in every phase,
//! against real fixture packages (EG25-G NAND: erase/program/read-back; qdl UFS: GPT patches and
//! set-bootable). Each failing case must end with the right error kind, in the right phase, with
//! a message that starts with the phase's title and names the partition being handled (where
//! one is), a hint, the documented event order, no hang (watchdog) and no panic; then the
//! board, power-cycled with its half-written storage, must take the same package again and hold
//! it byte for byte. Tolerated faults (noise before an answer, split reads, a Sahara restart)
//! must not fail the flash at all. Timeouts are scaled to 3 % so stalls end in well under 1 s.
//! The matrix and its results are recorded in RELIABILITY.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod reliability_support;

use oasis_engine::{ErrorKind, Event, Phase};
use reliability_support::{Fixture, flash, reflash_succeeds};

/// Which fixture a case runs on.
#[derive(Clone, Copy)]
enum Pkg {
    Nand,
    Ufs,
}

impl Pkg {
    fn fixture(self) -> Fixture {
        match self {
            Pkg::Nand => Fixture::nand(),
            Pkg::Ufs => Fixture::ufs(),
        }
    }
}

/// Phases that work on one partition at a time: their failures must name it.
fn names_a_partition(phase: Phase) -> bool {
    matches!(
        phase,
        Phase::Erase | Phase::Program | Phase::Verify | Phase::Patch
    )
}

/// Run `spec` on a fresh board and check the failure; then check the board is re-flashable.
/// `{prog}` and `{prog_end}` in the spec stand for the first program step's raw size facts.
fn fails(pkg: Pkg, spec: &str, kind: ErrorKind, phase: Phase) -> oasis_engine::ErrorReport {
    let fx = pkg.fixture();
    let (label, bytes) = fx.first_program();
    let spec = spec.replace("{prog_end}", &(bytes - 1).to_string());
    let board = fx.board(&[spec.as_str()]);
    let run = flash(fx.request(), &board);
    let r = run.failure(&spec).clone();
    assert_eq!((r.kind, r.phase), (kind, Some(phase)), "{spec}: {r:#?}");
    assert!(
        r.message.starts_with(&format!("{}: ", phase.title())),
        "{spec}: the message does not name the phase: {}",
        r.message
    );
    assert!(
        r.hint.as_deref().is_some_and(|h| !h.is_empty()),
        "{spec}: no hint"
    );
    if names_a_partition(phase) {
        let part = r
            .partition
            .as_deref()
            .unwrap_or_else(|| panic!("{spec}: no partition in {r:#?}"));
        if phase == Phase::Program && spec.contains("#2") {
            assert_ne!(
                part, label,
                "{spec}: the second program step is the one that failed"
            );
        } else if phase == Phase::Program {
            assert_eq!(
                part, label,
                "{spec}: the first program step is the one that failed"
            );
        }
        if kind != ErrorKind::Disconnected {
            // Disconnects do not name it in the message yet: see disconnect_message_names_the_partition.
            assert!(
                r.message.contains(part),
                "{spec}: message without '{part}': {}",
                r.message
            );
        }
    }
    common::check_event_order(&run.events);
    assert!(matches!(run.events.last(), Some(Event::Failed(_))));
    reflash_succeeds(&fx, &board, &spec);
    r
}

/// Run `spec` and require a verified flash anyway.
fn tolerated(pkg: Pkg, spec: &str) {
    let fx = pkg.fixture();
    let board = fx.board(&[spec]);
    let run = flash(fx.request(), &board);
    match &run.out {
        Ok(v) => assert!(!v.verified.is_empty(), "{spec}: nothing verified"),
        Err(r) => panic!("{spec} should be tolerated: {r:#?}"),
    }
    common::check_event_order(&run.events);
    common::check_storage(&board, &fx.root, &fx.open_options());
}

macro_rules! fault_cases {
    ($($name:ident: $pkg:ident $spec:literal => $kind:ident in $phase:ident;)*) => {$(
        #[test]
        fn $name() {
            fails(Pkg::$pkg, $spec, ErrorKind::$kind, Phase::$phase);
        }
    )*};
}

fault_cases! {
    // NAK on every kind of command.
    nak_configure: Nand "nak:configure" => Nak in Configure;
    nak_erase: Nand "nak:erase" => Nak in Erase;
    nak_program: Nand "nak:program" => Nak in Program;
    // The EG25-G programmer has no getsha256digest: its verification reads back.
    nak_read_back: Nand "nak:read" => Nak in Verify;
    nak_digest: Ufs "nak:getsha256digest" => Nak in Verify;
    nak_patch: Ufs "nak:patch" => Nak in Patch;
    nak_setbootable: Ufs "nak:setbootablestoragedrive" => Nak in Patch;
    nak_program_ufs: Ufs "nak:program" => Nak in Program;
    // A stall in every phase.
    stall_hello: Nand "stall:hello" => Timeout in Identify;
    // Silent after HELLO_RESP mode 3 looks like a boot ROM without command mode: it is
    // answered for image transfer, and a board that stays silent times out there.
    stall_cmd_ready: Nand "stall:cmd-ready" => Timeout in Upload;
    // A board silent to an EXECUTE: the identity is given up once and the upload tried; a
    // board that stays silent then times out there.
    stall_execute: Nand "stall:execute" => Timeout in Upload;
    stall_read_data: Nand "stall:read-data" => Timeout in Upload;
    stall_end_image: Nand "stall:end-image" => Timeout in Upload;
    stall_done_resp: Nand "stall:done-resp" => Timeout in Upload;
    stall_startup: Nand "stall:startup" => Timeout in Configure;
    stall_configure: Nand "stall:configure" => Timeout in Configure;
    stall_erase: Nand "stall:erase" => Timeout in Erase;
    stall_program: Nand "stall:program" => Timeout in Program;
    stall_second_program: Nand "stall:program#2" => Timeout in Program;
    stall_read_back: Nand "stall:read" => Timeout in Verify;
    stall_digest: Ufs "stall:getsha256digest" => Timeout in Verify;
    stall_patch: Ufs "stall:patch" => Timeout in Patch;
    // Unplug at the start, middle and end of the raw data, and during Sahara.
    unplug_raw_start: Nand "unplug:program@0" => Disconnected in Program;
    unplug_raw_middle: Nand "unplug:program" => Disconnected in Program;
    unplug_raw_end: Nand "unplug:program@{prog_end}" => Disconnected in Program;
    unplug_raw_middle_ufs: Ufs "unplug:program" => Disconnected in Program;
    unplug_in_sahara: Nand "unplug@100" => Disconnected in Identify;
    // Garbage where a Sahara packet belongs; truncated answers everywhere.
    garbage_hello: Nand "garbage:hello" => Protocol in Identify;
    garbage_read_data: Nand "garbage:read-data" => Protocol in Upload;
    truncate_hello: Nand "truncate:hello" => Timeout in Identify;
    truncate_read_data: Nand "truncate:read-data" => Timeout in Upload;
    truncate_configure: Nand "truncate:configure" => Timeout in Configure;
    truncate_erase: Nand "truncate:erase" => Timeout in Erase;
    truncate_program: Nand "truncate:program" => Timeout in Program;
    truncate_read_back: Nand "truncate:read" => Timeout in Verify;
    truncate_digest: Ufs "truncate:getsha256digest" => Timeout in Verify;
    truncate_patch: Ufs "truncate:patch" => Timeout in Patch;
    // Sahara: a wrong command, every authentication failure, a programmer that never starts.
    sahara_wrong_read_data: Nand "sahara-wrong:read-data" => Protocol in Upload;
    sahara_wrong_done: Nand "sahara-wrong:done-resp" => Protocol in Upload;
    sahara_status_21: Nand "sahara-status:0x21" => Nak in Upload;
    sahara_status_22: Nand "sahara-status:0x22" => Nak in Upload;
    sahara_status_23: Nand "sahara-status:0x23" => Nak in Upload;
    sahara_status_25: Nand "sahara-status:0x25" => Nak in Upload;
    no_programmer: Nand "no-programmer" => Timeout in Configure;
}

#[test]
fn auth_failures_say_the_programmer_is_not_signed_for_the_board() {
    for code in ["0x21", "0x25"] {
        let r = fails(
            Pkg::Nand,
            &format!("sahara-status:{code}"),
            ErrorKind::Nak,
            Phase::Upload,
        );
        assert!(r.message.contains(code), "{}", r.message);
        assert!(r.hint.unwrap().contains("signed"));
    }
}

#[test]
fn nak_keeps_the_boards_words() {
    let r = fails(Pkg::Nand, "nak:program", ErrorKind::Nak, Phase::Program);
    assert!(!r.device_log.is_empty());
    assert!(
        r.message.contains(r.device_log.last().unwrap().as_str()),
        "{}",
        r.message
    );
}

#[test]
fn tolerated_noise_before_answers() {
    for spec in [
        "garbage:startup",
        "garbage:configure",
        "garbage:erase",
        "garbage:program",
    ] {
        tolerated(Pkg::Nand, spec);
    }
    tolerated(Pkg::Ufs, "garbage:patch");
    // A programmer that restarts without acknowledging the reset: written and verified.
    tolerated(Pkg::Nand, "stall:power");
}

#[test]
fn tolerated_split_reads_and_sahara_restart() {
    tolerated(Pkg::Nand, "short-reads:7");
    tolerated(Pkg::Ufs, "short-reads:100");
    tolerated(Pkg::Nand, "sahara-reset");
}

/// Known gap (engine): `EngineError::Transport` displays only the transport error, so a
/// disconnect during `<program>` says "Writing: write on … disconnected" without the partition
/// (the report's `partition` field has it). Fix in crates/oasis-engine/src/error.rs: add
/// `partition_suffix(.partition)` to the `Transport` variant's `#[error]`.
#[test]
fn disconnect_message_names_the_partition() {
    let r = fails(
        Pkg::Nand,
        "unplug:program",
        ErrorKind::Disconnected,
        Phase::Program,
    );
    let part = r.partition.clone().unwrap();
    assert!(r.message.contains(&part), "{}", r.message);
}

/// Known gap (engine): a Sahara stall is reported as "no answer … within 0.0 s", because
/// `from_sahara` in crates/oasis-engine/src/sahara.rs builds the timeout with
/// `waited: Duration::ZERO`. Fix: pass the read's `wait` into the error at the `on_silence` call.
#[test]
fn sahara_timeout_states_the_wait() {
    let r = fails(
        Pkg::Nand,
        "stall:read-data",
        ErrorKind::Timeout,
        Phase::Upload,
    );
    assert!(!r.message.contains("within 0.0 s"), "{}", r.message);
}
