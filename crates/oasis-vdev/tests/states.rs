//! The DM (DIAG) port of a board in normal mode — the download-mode switch a real module
//! answers, DIAG errors for the rest — and the other states a board can be put in: memory dump,
//! claimed, no permission, flapping, not a Qualcomm module, and the scenario per state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::time::{Duration, Instant};

use common::{T, cmd, firehose, is_ack, read1, responses};
use oasis_proto::Help;
use oasis_proto::sahara::{SaharaPacket, mode};
use oasis_transport::{LinkKind, Transport, TransportErrorKind};
use oasis_vdev::{
    AfterReset, BoardOptions, BoardState, HostAccess, Profile, StartIn, VdevError, VirtualBoard,
    VirtualLink, scenarios,
};

const SWITCH: [u8; 7] = [0x4B, 0x65, 0x01, 0x00, 0x54, 0x0F, 0x7E];

fn normal(profile: Profile) -> VirtualBoard {
    let opts = BoardOptions {
        start_in: StartIn::Normal,
        ..BoardOptions::default()
    };
    VirtualBoard::new(profile, opts)
}

fn all(link: &mut VirtualLink) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(d) = read1(link) {
        out.extend(d);
    }
    out
}

fn hello(bytes: &[u8]) -> SaharaPacket {
    SaharaPacket::decode(bytes).unwrap().unwrap().0
}

fn hello_resp(m: u32) -> Vec<u8> {
    SaharaPacket::HelloResp {
        version: 2,
        version_supported: 1,
        status: 0,
        mode: m,
        reserved: [0; 6],
    }
    .encode()
}

#[test]
fn the_dm_port_switches_a_running_module_to_download_mode() {
    let b = normal(Profile::eg25());
    let mut at = b.connect();
    assert_eq!(read1(&mut at).unwrap(), b"\r\nRDY\r\n");
    let mut dm = b.connect_dm().unwrap();
    assert_eq!(dm.link_kind(), LinkKind::Stream);
    assert!(dm.describe().contains("DM port"), "{}", dm.describe());
    dm.write_all(&SWITCH, T).unwrap();
    // The echo is waiting: the module has not left yet.
    assert_eq!(b.state(), BoardState::Rebooting);
    assert_eq!(read1(&mut dm).unwrap(), SWITCH);
    // Echo read: it drops off USB and comes back in EDL by itself.
    assert_eq!(b.state(), BoardState::Sahara);
    assert_eq!(read1(&mut dm), Err(TransportErrorKind::Disconnected));
    assert_eq!(read1(&mut at), Err(TransportErrorKind::Disconnected));
    assert_eq!(b.resets(), 1);
    let mut edl = b.connect();
    assert_eq!(edl.link_kind(), LinkKind::Packet);
    match hello(&read1(&mut edl).unwrap()) {
        SaharaPacket::Hello { mode: m, .. } => assert_eq!(m, mode::IMAGE_TX_PENDING),
        other => panic!("{other:?}"),
    }
    assert!(matches!(b.after_reset(), Ok(AfterReset::Edl(_))));
    let e = b.connect_dm().unwrap_err();
    assert!(matches!(e, VdevError::NoDmPort { .. }), "{e}");
    assert!(e.to_string().contains("EDL"), "{e}");
    assert!(e.help().unwrap().contains("normal mode"));
    assert!(b.host_notes().is_empty(), "{:?}", b.host_notes());
}

#[test]
fn a_leading_flag_and_split_writes_are_accepted_and_a_fresh_connect_finds_hello() {
    let b = normal(Profile::bg95());
    let mut dm = b.connect_dm().unwrap();
    dm.write_all(&[0x7E, 0x4B, 0x65], T).unwrap();
    assert_eq!(read1(&mut dm), Err(TransportErrorKind::Timeout));
    dm.write_all(&SWITCH[2..], T).unwrap();
    // The host never reads the echo; connecting anew finds the board in EDL anyway.
    let mut edl = b.connect();
    assert!(matches!(
        hello(&read1(&mut edl).unwrap()),
        SaharaPacket::Hello { .. }
    ));
    assert_eq!(b.state(), BoardState::Sahara);
    assert_eq!(
        dm.write_all(&SWITCH, T).unwrap_err().kind,
        TransportErrorKind::Disconnected
    );
}

#[test]
fn other_diag_requests_get_diag_errors_and_bad_frames_are_dropped() {
    let b = normal(Profile::eg25());
    let mut dm = b.connect_dm().unwrap();
    // Legacy DMSS download (3A): not this module's way; DIAG "bad command" + the request.
    dm.write_all(&[0x3A, 0xA1, 0x6E, 0x7E], T).unwrap();
    let r = all(&mut dm);
    assert_eq!(r.first(), Some(&0x13), "{r:02x?}");
    assert_eq!(r.get(1), Some(&0x3A));
    assert_eq!(r.last(), Some(&0x7E));
    // Extended build ID (QFirehose reads the version this way).
    dm.write_all(&[0x7E, 0x7C, 0x93, 0x49, 0x7E], T).unwrap();
    let r = all(&mut dm);
    assert_eq!(r[0], 0x7C);
    assert!(
        r.windows(16).any(|w| w == b"EG25GGBR07A08M2G"),
        "{}",
        String::from_utf8_lossy(&r)
    );
    // The switch frame with a wrong CRC: dropped, the module stays up, the host is judged.
    dm.write_all(&[0x4B, 0x65, 0x01, 0x00, 0x55, 0x0F, 0x7E], T)
        .unwrap();
    assert_eq!(read1(&mut dm), Err(TransportErrorKind::Timeout));
    assert_eq!(b.state(), BoardState::Normal);
    assert!(b.host_notes().iter().any(|n| n.contains("bad CRC")));
    // The AT port is untouched by DIAG traffic.
    let mut at = b.connect();
    assert_eq!(read1(&mut at).unwrap(), b"\r\nRDY\r\n");
    assert_eq!(read1(&mut at), Err(TransportErrorKind::Timeout));
}

#[test]
fn a_flashed_board_has_its_dm_port_back_after_the_reset() {
    let (b, mut l) = firehose(Profile::eg25(), &[]);
    assert!(b.connect_dm().is_err());
    let r = cmd(&mut l, "<power value=\"reset\"/>");
    assert!(is_ack(responses(&r)[0]));
    // The reset ACK was read: the board boots by itself, nobody needs to look first.
    assert_eq!(b.state(), BoardState::Normal);
    let mut dm = b.connect_dm().unwrap();
    dm.write_all(&SWITCH, T).unwrap();
    assert_eq!(read1(&mut dm).unwrap(), SWITCH);
    assert_eq!(b.state(), BoardState::Sahara);
    assert_eq!(b.resets(), 2);
}

#[test]
fn a_module_that_is_not_qualcomm_has_no_dm_port() {
    let b = normal(Profile::ec200t());
    let e = b.connect_dm().unwrap_err();
    assert!(e.to_string().contains("not a Qualcomm module"), "{e}");
    let mut at = b.connect();
    at.write_all(b"ATI\r", T).unwrap();
    let text = String::from_utf8(all(&mut at)).unwrap();
    assert!(text.contains("EC200T"), "{text}");
}

#[test]
fn memory_dump_mode_offers_the_dump_and_refuses_a_flash() {
    let opts = BoardOptions {
        start_in: StartIn::MemoryDump,
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(Profile::bg95(), opts);
    assert_eq!(b.state(), BoardState::MemoryDump);
    let mut l = b.connect();
    assert!(l.describe().contains("900e"), "{}", l.describe());
    match hello(&read1(&mut l).unwrap()) {
        SaharaPacket::Hello { mode: m, .. } => assert_eq!(m, mode::MEMORY_DEBUG),
        other => panic!("{other:?}"),
    }
    l.write_all(&hello_resp(mode::MEMORY_DEBUG), T).unwrap();
    let SaharaPacket::MemoryDebug {
        table_addr,
        table_len,
    } = hello(&read1(&mut l).unwrap())
    else {
        panic!("no MEMORY_DEBUG")
    };
    let read = SaharaPacket::MemoryRead {
        addr: table_addr,
        length: table_len,
    };
    l.write_all(&read.encode(), T).unwrap();
    let table = read1(&mut l).unwrap();
    assert_eq!(table.len(), table_len as usize);
    assert!(table.windows(10).any(|w| w == b"DDRCS0.BIN"));
    // RESET: the board reboots into its firmware.
    l.write_all(&SaharaPacket::Reset.encode(), T).unwrap();
    assert_eq!(hello(&read1(&mut l).unwrap()), SaharaPacket::ResetResp);
    assert_eq!(b.state(), BoardState::Normal);

    // A host that asks to upload a programmer to a crashed board gets INVALID_MODE.
    let b = VirtualBoard::new(
        Profile::bg95(),
        BoardOptions {
            start_in: StartIn::MemoryDump,
            ..BoardOptions::default()
        },
    );
    let mut l = b.connect();
    read1(&mut l).unwrap();
    l.write_all(&hello_resp(mode::IMAGE_TX_PENDING), T).unwrap();
    assert_eq!(
        hello(&read1(&mut l).unwrap()),
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x18
        }
    );
    assert!(!b.host_notes().is_empty());
}

#[test]
fn claimed_and_forbidden_boards_refuse_every_link() {
    for (access, kind) in [
        (
            HostAccess::ClaimedBy("ModemManager".into()),
            TransportErrorKind::Busy,
        ),
        (
            HostAccess::NoPermission,
            TransportErrorKind::PermissionDenied,
        ),
    ] {
        let opts = BoardOptions {
            access: access.clone(),
            start_in: StartIn::Normal,
            ..BoardOptions::default()
        };
        let b = VirtualBoard::new(Profile::eg25(), opts);
        assert_eq!(b.access(), access);
        let mut at = b.connect();
        assert_eq!(read1(&mut at), Err(kind));
        assert_eq!(at.write_all(b"AT\r", T).unwrap_err().kind, kind);
        let mut dm = b.connect_dm().unwrap();
        let e = dm.write_all(&SWITCH, T).unwrap_err();
        assert_eq!(e.kind, kind);
        assert_eq!(b.state(), BoardState::Normal, "nothing reached the board");
    }
}

#[test]
fn a_flapping_board_leaves_and_comes_back_fresh() {
    let opts = BoardOptions {
        flap: Some(Duration::from_millis(40)),
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(Profile::bg95(), opts);
    let mut l = b.connect();
    let start = Instant::now();
    let (mut gone, mut back) = (false, false);
    while start.elapsed() < Duration::from_secs(2) && !(gone && back) {
        match b.state() {
            BoardState::Gone => gone = true,
            BoardState::Sahara if gone => back = true,
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(gone && back, "gone {gone}, back {back}");
    assert!(b.resets() >= 1);
    // The first link died with the first disconnect; a new one finds a fresh HELLO.
    let mut buf = [0u8; 64];
    assert!(l.read(&mut buf, T).is_err());
    let deadline = Instant::now() + Duration::from_secs(2);
    let found = loop {
        if b.state() == BoardState::Sahara {
            let mut fresh = b.connect();
            if let Ok(d) = read1(&mut fresh) {
                break Some(d);
            }
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(matches!(hello(&found.unwrap()), SaharaPacket::Hello { .. }));
    // Unplugged for good: it no longer comes back.
    b.unplug();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(b.state(), BoardState::Gone);
}

#[test]
fn every_scenario_builds_the_board_it_describes() {
    let all = scenarios();
    let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "scenario names are unique");
    for s in &all {
        let b = (s.build)();
        let expect = match s.name {
            "normal-eg25" | "silent-eg25" | "ec200t" => BoardState::Normal,
            "healthy-bg95" | "failing-flash-bg95" | "claimed-bg95" | "no-permission-bg95"
            | "flapping-bg95" => BoardState::Sahara,
            "programmer-bg95" => BoardState::Firehose,
            "dump-bg95" => BoardState::MemoryDump,
            "unplugged-eg25" => BoardState::Gone,
            other => panic!("a scenario this test does not know: {other}"),
        };
        assert_eq!(b.state(), expect, "{}", s.name);
    }
    let silent = (all[3].build)();
    let mut at = silent.connect();
    at.write_all(b"AT\r", T).unwrap();
    assert_eq!(read1(&mut at), Err(TransportErrorKind::Timeout));
    assert!(silent.connect_dm().is_ok(), "DIAG still runs");
}
