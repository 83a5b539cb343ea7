//! Whole-board behaviour: faults on the Firehose link, resets into the AT modem, stream
//! framing, the link model, scenarios.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::time::{Duration, Instant};

use common::{T, cmd, firehose, is_ack, logs, program, read1, responses};
use oasis_transport::{LinkKind, Transport, TransportErrorKind};
use oasis_vdev::{
    AfterReset, BoardOptions, BoardState, FaultSpec, LinkModel, Profile, ResetBehaviour, StartIn,
    VirtualBoard, VirtualLink,
};

fn at(link: &mut VirtualLink, cmd: &str) -> String {
    link.write_all(format!("{cmd}\r").as_bytes(), T).unwrap();
    let mut s = String::new();
    while let Ok(d) = read1(link) {
        s.push_str(&String::from_utf8_lossy(&d));
    }
    s
}

fn reset_to_modem(b: &VirtualBoard, l: &mut VirtualLink) -> VirtualLink {
    let r = cmd(l, "<power value=\"reset\"/>");
    assert!(is_ack(responses(&r)[0]));
    assert_eq!(read1(l), Err(TransportErrorKind::Disconnected));
    match b.after_reset().unwrap() {
        AfterReset::Modem(m) => m,
        other => panic!("expected the modem, got {other:?}"),
    }
}

#[test]
fn after_reset_the_modem_reports_the_flashed_revision() {
    let (b, mut l) = firehose(Profile::bg95(), &[]);
    assert!(matches!(
        b.after_reset(),
        Err(oasis_vdev::VdevError::NotReset { .. })
    ));
    let mut image = vec![0u8; 4 * 2048];
    let rev = b"QC_IMAGE_VERSION_STRING=MPSS.JO.3.0 BG95M3LAR02A04_01.200.01.200\0";
    image[3000..3000 + rev.len()].copy_from_slice(rev);
    let (_, end) = program(&mut l, 2048, 0, "128", &image, 8192);
    assert!(is_ack(responses(&end)[0]));
    let mut m = reset_to_modem(&b, &mut l);
    assert_eq!(m.link_kind(), LinkKind::Stream);
    assert_eq!(read1(&mut m).unwrap(), b"\r\nRDY\r\n");
    assert_eq!(at(&mut m, "ATE0"), "ATE0\r\r\nOK\r\n");
    assert_eq!(
        at(&mut m, "AT+QGMR"),
        "\r\nBG95M3LAR02A04_01.200.01.200\r\n\r\nOK\r\n"
    );
    assert!(at(&mut m, "ATI").contains("Revision: BG95M3LAR02A04\r\n"));
    assert_eq!(b.state(), BoardState::Normal);
    // The old EDL link is dead for good.
    assert_eq!(
        l.write_all(b"x", T).unwrap_err().kind,
        TransportErrorKind::Disconnected
    );
}

#[test]
fn revision_is_unchanged_when_nothing_carries_one_or_as_configured() {
    let (b, mut l) = firehose(Profile::eg25(), &[]);
    let before = b.revision();
    let mut m = reset_to_modem(&b, &mut l);
    assert!(at(&mut m, "AT+QGMR").contains(&before));

    let opts = BoardOptions {
        start_in: StartIn::Firehose,
        revision_after_reset: Some("EG25GGBR07A08M2G_01.003.01.003".into()),
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(Profile::eg25(), opts);
    let mut l = b.connect();
    let mut m = reset_to_modem(&b, &mut l);
    assert!(at(&mut m, "AT+CGMR").contains("\r\nEG25GGBR07A08M2G\r\n"));
    assert!(at(&mut m, "AT+QGMR").contains("_01.003.01.003"));
}

fn board_with(after: ResetBehaviour) -> (VirtualBoard, VirtualLink) {
    let opts = BoardOptions {
        start_in: StartIn::Firehose,
        after_reset: after,
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(Profile::bg95(), opts);
    let l = b.connect();
    (b, l)
}

#[test]
fn reset_behaviours() {
    let (b, mut l) = board_with(ResetBehaviour::NeverComesBack);
    cmd(&mut l, "<power value=\"reset\"/>");
    assert!(matches!(b.after_reset().unwrap(), AfterReset::Gone));
    assert_eq!(b.state(), BoardState::Gone);

    let (b, mut l) = board_with(ResetBehaviour::BackInEdl);
    cmd(&mut l, "<power value=\"reset\"/>");
    let AfterReset::Edl(mut e) = b.after_reset().unwrap() else {
        panic!()
    };
    assert_eq!(read1(&mut e).unwrap()[..4], [1, 0, 0, 0], "a fresh HELLO");

    let (b, mut l) = board_with(ResetBehaviour::AtSilent);
    cmd(&mut l, "<power value=\"reset\"/>");
    let AfterReset::Modem(mut m) = b.after_reset().unwrap() else {
        panic!()
    };
    assert_eq!(at(&mut m, "ATI"), "");

    let (b, mut l) = board_with(ResetBehaviour::Normal);
    cmd(&mut l, "<power value=\"reset_to_edl\"/>");
    assert!(matches!(b.after_reset().unwrap(), AfterReset::Edl(_)));
    let (b, mut l) = board_with(ResetBehaviour::Normal);
    cmd(&mut l, "<power value=\"off\"/>");
    assert!(matches!(b.after_reset().unwrap(), AfterReset::Gone));
}

#[test]
fn require_sbl_falls_back_to_edl_without_a_boot_header() {
    let opts = BoardOptions {
        start_in: StartIn::Firehose,
        require_sbl: true,
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(Profile::bg95(), opts.clone());
    let mut l = b.connect();
    cmd(&mut l, "<power value=\"reset\"/>");
    assert!(matches!(b.after_reset().unwrap(), AfterReset::Edl(_)));
    let b = VirtualBoard::new(Profile::bg95(), opts);
    let mut l = b.connect();
    let mut sbl = vec![0u8; 2048];
    sbl[..4].copy_from_slice(&0x844B_DCD1u32.to_le_bytes());
    program(&mut l, 2048, 0, "0", &sbl, 2048);
    cmd(&mut l, "<power value=\"reset\"/>");
    assert!(matches!(b.after_reset().unwrap(), AfterReset::Modem(_)));
}

#[test]
fn nak_fault_on_program_fails_after_the_data_with_a_nand_log() {
    let (b, mut l) = firehose(Profile::bg95(), &["nak:program#2"]);
    let data = vec![0x5A; 4 * 2048];
    let (_, end) = program(&mut l, 2048, 0, "0", &data, 8192);
    assert!(is_ack(responses(&end)[0]));
    let (first, end) = program(&mut l, 2048, 0, "64", &data, 8192);
    assert_eq!(responses(&first)[0].attr("rawmode"), Some("true"));
    assert!(!is_ack(responses(&end)[0]));
    assert!(logs(&end)[0].contains("NAND program operation failed"));
    assert_eq!(b.read_storage(0, 64, 1), vec![0xFF; 2048]);
    let r = cmd(&mut l, "<nop/>");
    assert!(is_ack(responses(&r)[0]));
}

#[test]
fn stall_garbage_truncate_faults() {
    let (_b, mut l) = firehose(Profile::bg95(), &["stall:configure"]);
    common::send(
        &mut l,
        "<configure MemoryName=\"nand\" MaxPayloadSizeToTargetInBytes=\"8192\"/>",
    );
    assert_eq!(read1(&mut l), Err(TransportErrorKind::Timeout));

    let (_b, mut l) = firehose(Profile::bg95(), &["garbage:nop"]);
    common::send(&mut l, "<nop/>");
    let g = read1(&mut l).unwrap();
    assert!(!g.starts_with(b"<?xml"));

    let (_b, mut l) = firehose(Profile::bg95(), &["truncate:nop"]);
    common::send(&mut l, "<nop/>");
    let t = read1(&mut l).unwrap();
    assert!(t.starts_with(b"<?xml") && !String::from_utf8_lossy(&t).contains("</data>"));
    assert_eq!(read1(&mut l), Err(TransportErrorKind::Timeout));
}

#[test]
fn unplug_faults() {
    let (b, mut l) = firehose(Profile::bg95(), &["unplug:program#1@4096"]);
    let data = vec![0x11; 4 * 2048];
    let first = cmd(
        &mut l,
        "<program SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"4\" physical_partition_number=\"0\" start_sector=\"0\"/>",
    );
    assert!(is_ack(responses(&first)[0]));
    let e = l.write_all(&data, T).unwrap_err();
    assert_eq!(
        (e.kind, e.written),
        (TransportErrorKind::Disconnected, Some(4096))
    );
    assert_eq!(
        b.read_storage(0, 0, 2),
        vec![0x11; 4096],
        "what arrived was written"
    );
    assert_eq!(b.read_storage(0, 2, 1), vec![0xFF; 2048]);
    assert_eq!(read1(&mut l), Err(TransportErrorKind::Disconnected));
    assert_eq!(b.state(), BoardState::Gone);

    let b = VirtualBoard::new(
        Profile::bg95(),
        BoardOptions::with_faults(FaultSpec::parse_all(&["unplug@100"]).unwrap()),
    );
    let mut l = b.connect();
    read1(&mut l).unwrap();
    let e = l.write_all(&[0u8; 200], T).unwrap_err();
    assert_eq!(e.written, Some(100));

    let (_b, mut l) = firehose(Profile::bg95(), &["unplug:read#1@3000"]);
    common::send(
        &mut l,
        "<read PAGES_PER_BLOCK=\"64\" SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"4\" physical_partition_number=\"0\" start_sector=\"0\"/>",
    );
    let got: usize = std::iter::from_fn(|| read1(&mut l).ok())
        .filter(|t| !t.starts_with(b"<?xml"))
        .map(|t| t.len())
        .sum();
    assert_eq!(got, 3000);
    assert_eq!(read1(&mut l), Err(TransportErrorKind::Disconnected));
}

#[test]
fn short_reads_split_every_transfer() {
    let b = VirtualBoard::new(
        Profile::bg95(),
        BoardOptions::with_faults(FaultSpec::parse_all(&["short-reads:7"]).unwrap()),
    );
    let mut l = b.connect();
    let mut hello = Vec::new();
    while let Ok(d) = read1(&mut l) {
        assert!(d.len() <= 7);
        hello.extend(d);
    }
    assert_eq!(hello.len(), 48);
}

#[test]
fn stream_link_takes_split_and_glued_host_writes() {
    let opts = BoardOptions {
        start_in: StartIn::Firehose,
        link: Some(LinkKind::Stream),
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(Profile::bg95(), opts);
    let mut l = b.connect();
    let data: Vec<u8> = (0..2 * 2048).map(|i| (i % 251) as u8).collect();
    // A serial host configures ZlpAwareHost=0 (a tty carries no zero-length packets).
    let mut bytes =
        b"<?xml version=\"1.0\" ?><data><configure MemoryName=\"nand\" ZlpAwareHost=\"0\"/></data>"
            .to_vec();
    bytes.extend(b"<?xml version=\"1.0\" ?><data><program SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"2\" physical_partition_number=\"0\" start_sector=\"64\"/></data>");
    bytes.extend(&data);
    bytes.extend(b"<?xml version=\"1.0\" ?><data><nop/></data>");
    for piece in bytes.chunks(333) {
        l.write_all(piece, T).unwrap();
    }
    let mut all = Vec::new();
    while let Ok(d) = read1(&mut l) {
        all.extend(d);
    }
    let text = String::from_utf8_lossy(&all);
    assert_eq!(text.matches("value=\"ACK\"").count(), 4, "{text}");
    assert_eq!(b.read_storage(0, 64, 2), data);
}

#[test]
fn latency_and_throughput_are_simulated_time() {
    let opts = BoardOptions {
        start_in: StartIn::Firehose,
        model: LinkModel {
            throughput: Some(1_000_000),
            latency: Some(Duration::from_millis(50)),
            nand_program_rate: None,
        },
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(Profile::bg95(), opts);
    let mut l = b.connect();
    common::send(&mut l, "<nop/>");
    assert_eq!(
        read1_with(&mut l, Duration::from_millis(10)),
        Err(TransportErrorKind::Timeout)
    );
    assert!(read1_with(&mut l, Duration::from_millis(500)).is_ok());
    let t0 = Instant::now();
    l.write_all(&[b' '; 100_000], T).unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(90),
        "100 kB at 1 MB/s"
    );
}

fn read1_with(l: &mut VirtualLink, t: Duration) -> Result<Vec<u8>, TransportErrorKind> {
    let mut buf = vec![0u8; 65536];
    l.read(&mut buf, t)
        .map(|n| buf[..n].to_vec())
        .map_err(|e| e.kind)
}

#[test]
fn scenarios_build_what_they_say() {
    let all = oasis_vdev::scenarios();
    assert_eq!(all.len(), 11);
    let healthy = (all[0].build)();
    assert_eq!(healthy.state(), BoardState::Sahara);
    let normal = (all[1].build)();
    let mut m = normal.connect();
    assert_eq!(read1(&mut m).unwrap(), b"\r\nRDY\r\n");
    assert!(at(&mut m, "ATI").contains("\r\nEG25\r\n"));
    let failing = (all[2].build)();
    assert!(failing.profile().name == "bg95");
}

/// The fenced block under `### <cmd>` in a lukejenkins transcript.
fn transcript_block(md: &str, cmd: &str) -> Vec<String> {
    let after = md.split(&format!("### {cmd}\n")).nth(1).unwrap();
    let body = after.split("```").nth(1).unwrap();
    body.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn info_lines(reply: &str) -> Vec<String> {
    reply
        .split("\r\n")
        .filter(|l| !l.is_empty() && *l != "OK")
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_at_replies_parse_like_the_real_transcripts() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_at_replies_parse_like_the_real_transcripts")
    else {
        return;
    };
    for (file, profile) in [
        (
            "lukejenkins-cwd_BG95M3LAR02A03_01.011.01.011.md",
            Profile::bg95(),
        ),
        (
            "lukejenkins-cwd_EG25GGBR07A08M2G_01.002.01.002.md",
            Profile::eg25(),
        ),
    ] {
        let md = String::from_utf8(common::fixture(&format!("transcripts/at/{file}"))).unwrap();
        let qgmr = transcript_block(&md, "AT+QGMR");
        let opts = BoardOptions {
            start_in: StartIn::Normal,
            revision_after_reset: None,
            ..BoardOptions::default()
        };
        let mut p = profile;
        p.revision = qgmr[0].clone();
        let b = VirtualBoard::new(p, opts);
        let mut m = b.connect();
        assert_eq!(read1(&mut m).unwrap(), b"\r\nRDY\r\n");
        at(&mut m, "ATE0");
        assert_eq!(
            info_lines(&at(&mut m, "ATI")),
            transcript_block(&md, "ATI"),
            "{file}"
        );
        assert_eq!(info_lines(&at(&mut m, "AT+QGMR")), qgmr, "{file}");
    }
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_programmer_start_up_and_configure_match_the_real_rm500q_log() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_programmer_start_up_and_configure_match_the_real_rm500q_log",
    ) else {
        return;
    };
    let log =
        String::from_utf8(common::fixture("transcripts/qfirehose/MCU_local.log.txt")).unwrap();
    let real: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("]: ").map(|(_, r)| r.trim()))
        .filter(|l| l.starts_with("<log value=\"INFO: ") || l.starts_with("<response"))
        .collect();
    let image = common::fixture("loaders/0008b0e100310000_1030cd12ce708f29_fhprg.bin");
    let b = VirtualBoard::new(Profile::sdx55(), BoardOptions::default());
    let mut l = b.connect();
    // Minimal host: answer every READ_DATA_64 from the file.
    use oasis_proto::sahara::SaharaPacket;
    read1(&mut l).unwrap();
    l.write_all(&SaharaPacket::hello_resp(0).encode(), T)
        .unwrap();
    loop {
        let pkt = SaharaPacket::decode(&read1(&mut l).unwrap())
            .unwrap()
            .unwrap()
            .0;
        match pkt {
            SaharaPacket::ReadData64 { offset, length, .. } => {
                let (o, n) = (offset as usize, length as usize);
                l.write_all(&image[o..o + n], T).unwrap();
            }
            SaharaPacket::EndImageTx { status: 0, .. } => break,
            other => panic!("{other:?}"),
        }
    }
    l.write_all(&SaharaPacket::Done.encode(), T).unwrap();
    read1(&mut l).unwrap();
    let ours: Vec<String> = common::drain(&mut l)
        .iter()
        .map(|d| {
            String::from_utf8_lossy(d)
                .lines()
                .nth(2)
                .unwrap()
                .to_string()
        })
        .collect();
    // Chip serial differs per board; everything else of the start-up is the real board's.
    let keep = |s: &&str| !s.contains("Chip serial num");
    let real_startup: Vec<&str> = real.iter().take(20).copied().filter(keep).collect();
    let ours_startup: Vec<&str> = ours.iter().map(String::as_str).filter(keep).collect();
    assert_eq!(ours_startup, real_startup);
    let r = common::drain(&mut {
        common::send(
            &mut l,
            "<configure MemoryName=\"nand\" MaxPayloadSizeToTargetInBytes=\"8192\" ZlpAwareHost=\"1\" SkipStorageInit=\"0\"/>",
        );
        l
    });
    let ours: Vec<String> = r
        .iter()
        .map(|d| {
            String::from_utf8_lossy(d)
                .lines()
                .nth(2)
                .unwrap()
                .to_string()
        })
        .collect();
    let real_cfg: Vec<&str> = real.iter().skip(20).take(3).copied().collect();
    assert_eq!(ours, real_cfg);
}
