//! The flash job against virtual boards that misbehave or do not fit: each failure ends in
//! one `Failed` with the right kind, the board's words, the phase and partition; safety
//! refusals happen before anything is written; cancel, verify mismatch, read-back fallback,
//! byte-stream framing and a programmer that already runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;
mod link_support;

use common::{check_event_order, check_storage, flash_board, package_copy};
use link_support::OnLink;
use oasis_engine::{ErrorKind, Event, FlashOptions, FlashRequest, Phase, Timeouts, spawn_flash};
use oasis_package::OpenOptions;
use oasis_transport::LinkKind;
use oasis_vdev::{BoardOptions, BoardState, FaultSpec, Profile, StartIn, VirtualBoard};

const EG25: &str = "quectel-eg25g-nand-2022";

fn fast() -> FlashOptions {
    let mut o = FlashOptions::default();
    o.timeouts = Timeouts::default().scaled(0.1);
    o
}

fn board(profile: Profile, faults: &[&str]) -> VirtualBoard {
    let faults = faults
        .iter()
        .map(|f| FaultSpec::parse(f).unwrap())
        .collect();
    VirtualBoard::new(profile, BoardOptions::with_faults(faults))
}

fn eg25() -> Profile {
    Profile::by_name("eg25").unwrap()
}

fn failing(
    profile: Profile,
    faults: &[&str],
) -> (oasis_engine::ErrorReport, Vec<Event>, VirtualBoard) {
    let (_tmp, root) = package_copy(EG25);
    let b = board(profile, faults);
    let (out, events) = flash_board(
        FlashRequest::new(&root, "virtual:eg25")
            .on_bus(oasis_vdev::bus::demand())
            .with_options(fast()),
        &b,
    );
    check_event_order(&events);
    let report = out.expect_err("the flash should fail");
    assert!(matches!(events.last(), Some(Event::Failed(r)) if *r == report));
    (report, events, b)
}

#[test]
fn nak_on_program_names_the_partition_and_keeps_the_boards_log() {
    let (r, _, _) = failing(eg25(), &["nak:program#3"]);
    assert_eq!(r.kind, ErrorKind::Nak);
    assert_eq!(r.phase, Some(Phase::Program));
    assert!(r.partition.is_some());
    assert!(!r.device_log.is_empty(), "{r:?}");
    assert!(
        r.message.contains(&r.device_log[r.device_log.len() - 1]),
        "{}",
        r.message
    );
}

#[test]
fn a_stall_during_verification_times_out_naming_the_command() {
    // The EG25-G programmer has no getsha256digest: verification reads back.
    let (r, _, _) = failing(eg25(), &["stall:read#2"]);
    assert_eq!(r.kind, ErrorKind::Timeout);
    assert_eq!(r.phase, Some(Phase::Verify));
    assert!(
        r.message
            .starts_with("Verifying: no answer to <read> for partition"),
        "{}",
        r.message
    );
}

#[test]
fn a_board_fused_to_another_root_is_refused_before_the_upload() {
    let mut p = eg25();
    p.fused_root = Some(vec![0x5a; 32]);
    let (r, events, b) = failing(p, &[]);
    assert_eq!(r.kind, ErrorKind::Refused);
    assert!(
        r.message.contains("does not fit this board"),
        "{}",
        r.message
    );
    assert!(!events.iter().any(|e| matches!(
        e,
        Event::PhaseStarted {
            phase: Phase::Upload
        }
    )));
    assert!(b.written_ranges().is_empty());
    assert_eq!(
        b.state(),
        BoardState::Sahara,
        "the board still waits for a programmer"
    );
}

#[test]
fn an_unplug_mid_write_is_a_disconnect() {
    let (r, _, _) = failing(eg25(), &["unplug:program#2"]);
    assert_eq!(r.kind, ErrorKind::Disconnected);
}

#[test]
fn sahara_auth_failure_explains_the_status() {
    let (r, _, _) = failing(eg25(), &["sahara-status:0x25"]);
    assert_eq!(r.kind, ErrorKind::Nak);
    assert_eq!(r.phase, Some(Phase::Upload));
    assert!(
        r.message.contains("image authentication failure"),
        "{}",
        r.message
    );
    assert!(r.hint.unwrap().contains("signed"));
}

#[test]
fn corrupted_storage_is_a_verify_mismatch_naming_the_partition() {
    let (_tmp, root) = package_copy(EG25);
    let b = board(eg25(), &[]);
    let target = b.clone();
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = spawn_flash(
        FlashRequest::new(&root, "virtual:eg25")
            .on_bus(oasis_vdev::bus::demand())
            .with_options(fast())
            .on_link(Box::new(b.connect())),
        Box::new(move |e: Event| {
            if matches!(
                e,
                Event::PhaseStarted {
                    phase: Phase::Verify
                }
            ) {
                // Flip one programmed page (the first of TZ) behind the host's back.
                let tz = oasis_testkit::package::NandLayout::default()
                    .sectors_of("TZ")
                    .unwrap()
                    .0;
                let mut page = target.read_storage(0, tz, 1);
                page[10] ^= 0xff;
                target.write_storage(0, tz, &page).unwrap();
            }
            let _ = tx.send(e);
        }),
    );
    let r = h.join().unwrap_err();
    let events: Vec<Event> = rx.try_iter().collect();
    check_event_order(&events);
    assert_eq!(r.kind, ErrorKind::VerifyMismatch);
    // The label comes from the package's partition table (TZ).
    let label = r.partition.clone().unwrap();
    assert!(label.eq_ignore_ascii_case("tz"), "{r:?}");
    assert!(r.message.contains(&format!("'{label}'")), "{}", r.message);
}

#[test]
fn cancel_while_waiting_ends_as_cancelled_within_a_second() {
    let (_tmp, root) = package_copy(EG25);
    let b = board(eg25(), &["stall:program#2"]);
    let mut opts = FlashOptions::default();
    opts.timeouts.program_final = std::time::Duration::from_secs(60);
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = spawn_flash(
        FlashRequest::new(&root, "virtual:eg25")
            .on_bus(oasis_vdev::bus::demand())
            .with_options(opts)
            .on_link(Box::new(b.connect())),
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    );
    let mut progs = 0;
    for e in rx.iter() {
        if let Event::Progress {
            phase: Phase::Program,
            ..
        } = e
        {
            progs += 1;
            break;
        }
    }
    assert_eq!(progs, 1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    h.cancel();
    let r = h.join().unwrap_err();
    assert_eq!(r.kind, ErrorKind::Cancelled);
    assert!(r.hint.unwrap().contains("download mode"));
    let events: Vec<Event> = rx.try_iter().collect();
    assert!(matches!(events.last(), Some(Event::Failed(_))));
}

fn succeeds(profile: Profile, options: BoardOptions) -> (Vec<Event>, VirtualBoard) {
    let (_tmp, root) = package_copy(EG25);
    let b = VirtualBoard::new(profile, options);
    let (out, events) = flash_board(
        FlashRequest::new(&root, "virtual:eg25")
            .on_bus(oasis_vdev::bus::demand())
            .with_options(fast()),
        &b,
    );
    if let Err(r) = out {
        panic!("{r:?}");
    }
    check_event_order(&events);
    assert!(check_storage(&b, &root, &OpenOptions::default()) > 0);
    (events, b)
}

fn has_info(events: &[Event], text: &str) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::Info { message } if message.contains(text)))
}

#[test]
fn read_back_when_the_programmer_has_no_digest() {
    let mut p = eg25();
    p.supported_functions.retain(|f| f != "getsha256digest");
    let (events, _) = succeeds(p, BoardOptions::default());
    assert!(has_info(&events, "verified by reading the data back"));
}

#[test]
fn byte_stream_framing_and_short_reads() {
    let opts = BoardOptions {
        link: Some(LinkKind::Stream),
        faults: vec![FaultSpec::parse("short-reads:61").unwrap()],
        ..BoardOptions::default()
    };
    succeeds(eg25(), opts);
}

#[test]
fn a_programmer_already_running_skips_sahara() {
    let opts = BoardOptions {
        start_in: StartIn::Firehose,
        ..BoardOptions::default()
    };
    let (events, _) = succeeds(eg25(), opts);
    assert!(has_info(&events, "already running"));
    assert!(!events.iter().any(|e| matches!(e, Event::ChipIdentity(_))));
}

#[test]
fn a_sha384_test_root_board_accepts_the_package() {
    // BG95 boards report a 48-byte (SHA-384) test root: the programmer check must accept it.
    let (events, _) = succeeds(Profile::by_name("bg95").unwrap(), BoardOptions::default());
    let id = events
        .iter()
        .find_map(|e| match e {
            Event::ChipIdentity(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(id.pk_hash.map(|h| h.len()), Some(96));
    assert_eq!(id.chip.as_deref(), Some("MDM9205"));
}

#[test]
fn bad_input_fails_after_an_empty_plan() {
    let b = board(eg25(), &[]);
    // The kit package as generated: its large images are absent.
    let raw = oasis_testkit::corpus::package(EG25);
    let (out, events) = flash_board(
        FlashRequest::new(&raw, "virtual:eg25")
            .on_bus(oasis_vdev::bus::demand())
            .with_options(fast()),
        &b,
    );
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput);
    assert!(r.message.contains("missing"));
    assert_eq!(events.len(), 2);
    check_event_order(&events);
}

#[test]
fn chip_identity_leaves_the_board_ready_for_a_flash() {
    let b = board(eg25(), &[]);
    let bus = oasis_transport::LinkBus::before(
        "virtual:eg25",
        Box::new(b.connect()),
        oasis_transport::BusHandle::default(),
    );
    let id = oasis_engine::read_chip_identity(&bus, "virtual:eg25").unwrap();
    assert_eq!(id.hw_id.as_deref(), Some("000480e100000000"));
    assert_eq!(id.chip.as_deref(), Some("MDM9207"));
    assert_eq!(
        id.serial.as_deref(),
        Some(format!("{:08x}", eg25().serial).as_str())
    );
    assert_eq!(b.state(), BoardState::Sahara);
    drop(bus);
    let (_tmp, root) = package_copy(EG25);
    let (out, events) = flash_board(
        FlashRequest::new(&root, "virtual:eg25")
            .on_bus(oasis_vdev::bus::demand())
            .with_options(fast()),
        &b,
    );
    check_event_order(&events);
    out.unwrap();
}

#[test]
fn a_programmer_for_another_chip_is_refused_before_the_upload() {
    // An MSM8226 programmer (raw 80-byte header, HW_ID 008050e1…, kit-generated) offered to an
    // MSM8916 board.
    let (_tmp, root) = package_copy("uz801-emmc");
    let b = board(Profile::by_name("emmc").unwrap(), &[]);
    let mut opts = fast();
    opts.allow_full_erase = true;
    opts.programmer = Some(oasis_testkit::corpus::programmer("raw80_oem.bin"));
    let (out, events) = flash_board(
        FlashRequest::new(&root, "virtual:emmc")
            .on_bus(oasis_vdev::bus::demand())
            .with_options(opts),
        &b,
    );
    check_event_order(&events);
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused);
    assert!(
        r.message.contains("MSM8226") && r.message.contains("MSM8916"),
        "{}",
        r.message
    );
    assert!(!events.iter().any(|e| matches!(
        e,
        Event::PhaseStarted {
            phase: Phase::Upload
        }
    )));
    assert_eq!(b.state(), BoardState::Sahara);
}
