//! Firehose host helpers driven by hand-made board documents: configure negotiation,
//! program/read raw handling, NAKs with the board's logs, digest, storage info, power.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use oasis_proto::Help;
use oasis_proto::firehose::ops::{digest_from, pad_to_sector, sectors_for, storage_info_from};
use oasis_proto::firehose::{
    Command, ConfigureNegotiation, ConfigureStep, FirehoseError, Op, OpEvent, PowerAction, Region,
    Reply, Transaction, XmlStream, parse_document, raw_chunks,
};

fn doc(inner: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<data>\n{inner}\n</data>").into_bytes()
}

fn reply(inner: &str) -> Reply {
    let mut tx = Transaction::new("test");
    tx.on_document(&parse_document(&doc(inner)).unwrap())
        .unwrap()
}

fn sent_payload(cmd: &Command) -> u64 {
    let Command::Configure(c) = cmd else {
        panic!("{cmd:?}")
    };
    c.max_payload_to_target
}

#[test]
fn configure_nak_with_size_then_ack() {
    let (mut n, first) = ConfigureNegotiation::start("eMMC", 512);
    assert_eq!(sent_payload(&first), 1024 * 1024);
    let step = n
        .on_reply(reply(
            r#"<log value="ERROR: MaxPayloadSizeToTargetInBytes too large" /><response value="NAK" MaxPayloadSizeToTargetInBytes="49152" />"#,
        ))
        .unwrap();
    let ConfigureStep::Resend(again) = step else {
        panic!("{step:?}")
    };
    assert_eq!(sent_payload(&again), 49152);
    let ConfigureStep::Done(done) = n
        .on_reply(reply(
            r#"<response value="ACK" MemoryName="eMMC" MaxPayloadSizeToTargetInBytes="49152" MaxXMLSizeInBytes="4096" TargetName="MSM8916" Version="1" />"#,
        ))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(done.payload, 49152);
    assert_eq!(done.target_name.as_deref(), Some("MSM8916"));
    assert_eq!(done.memory_name.as_deref(), Some("eMMC"));
    assert_eq!(done.version.as_deref(), Some("1"));
    assert_eq!(
        done.logs,
        ["ERROR: MaxPayloadSizeToTargetInBytes too large"]
    );
}

#[test]
fn configure_ack_with_larger_supported_is_bounded() {
    let (mut n, first) = ConfigureNegotiation::start("nand", 4096);
    assert_eq!(sent_payload(&first), 8192);
    // Case-insensitive attribute names; each ACK offers more.
    for (i, offer) in [65536u64, 131072].into_iter().enumerate() {
        let r = reply(&format!(
            r#"<response value="ACK" maxpayloadsizetotargetinbytes="{}" MAXPAYLOADSIZETOTARGETINBYTESSUPPORTED="{offer}" />"#,
            n.asked()
        ));
        let ConfigureStep::Resend(c) = n.on_reply(r).unwrap() else {
            panic!("round {i}")
        };
        assert_eq!(sent_payload(&c), offer);
    }
    // Third offer: no more renegotiation, accept what was ACKed.
    let r = reply(
        r#"<response value="ACK" MaxPayloadSizeToTargetInBytes="131072" MaxPayloadSizeToTargetInBytesSupported="1048576" />"#,
    );
    let ConfigureStep::Done(d) = n.on_reply(r).unwrap() else {
        panic!()
    };
    assert_eq!((d.payload, d.max_xml), (131072, 4096));
}

#[test]
fn configure_payload_rounds_to_sectors_and_nak_without_size_fails() {
    let (mut n, _) = ConfigureNegotiation::start("nand", 4096);
    let r = reply(r#"<response value="ACK" MaxPayloadSizeToTargetInBytes="6000" />"#);
    let ConfigureStep::Done(d) = n.on_reply(r).unwrap() else {
        panic!()
    };
    assert_eq!(d.payload, 4096);

    let (mut n, _) = ConfigureNegotiation::start("ufs", 4096);
    let e = n
        .on_reply(reply(
            r#"<log value="storage init failed" /><response value="NAK" />"#,
        ))
        .unwrap_err();
    assert!(
        matches!(&e, FirehoseError::Nak { command, logs, .. } if command == "configure" && logs == &["storage init failed"])
    );
    assert!(e.to_string().contains("storage init failed"), "{e}");

    let (mut n, _) = ConfigureNegotiation::start("nand", 4096);
    let e = n
        .on_reply(reply(
            r#"<response value="ACK" MaxPayloadSizeToTargetInBytes="2048" />"#,
        ))
        .unwrap_err();
    assert!(matches!(e, FirehoseError::BadValue { .. }), "{e}");
}

#[test]
fn program_op_raw_out_and_final_ack() {
    let cmd = Command::Program {
        region: Region::new(4096, 0, 640, 4),
        extra: vec![("PAGES_PER_BLOCK".into(), "64".into())],
    };
    let (mut op, bytes) = Op::start(&cmd).unwrap();
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .contains("<program SECTOR_SIZE_IN_BYTES=\"4096\"")
    );
    let mut s = XmlStream::new();
    s.push(&doc(r#"<log value="INFO: Calling handler for program" />"#));
    s.push(&doc(r#"<response value="ACK" rawmode="true" />"#));
    let ev = op.poll(&mut s).unwrap();
    assert_eq!(
        ev,
        vec![
            OpEvent::Log("INFO: Calling handler for program".into()),
            OpEvent::SendRaw { bytes: 16384 }
        ]
    );
    s.push(&doc(r#"<response value="ACK" rawmode="false" />"#));
    op.raw_sent().unwrap();
    let ev = op.poll(&mut s).unwrap();
    let [OpEvent::Done(r)] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert!(r.is_ack() && !r.rawmode());
    assert_eq!(r.logs(), ["INFO: Calling handler for program"]);
    assert!(op.is_over());
}

#[test]
fn program_final_nak_keeps_all_logs_and_attempt_retry() {
    let cmd = Command::Program {
        region: Region::new(2048, 0, 0, 1),
        extra: vec![],
    };
    let (mut op, _) = Op::start(&cmd).unwrap();
    let mut s = XmlStream::new();
    s.push(&doc(
        r#"<log value="first" /><response value="ACK" rawmode="true" />"#,
    ));
    op.poll(&mut s).unwrap();
    op.raw_sent().unwrap();
    s.push(&doc(
        r#"<log value="ERROR: Failed to write" /><response value="NAK" AttemptRetry="1" />"#,
    ));
    let e = op.poll(&mut s).unwrap_err();
    let FirehoseError::Nak {
        command,
        logs,
        attrs,
    } = e
    else {
        panic!()
    };
    assert_eq!(command, "program");
    assert_eq!(logs, ["first", "ERROR: Failed to write"]);
    assert!(attrs.contains(&("AttemptRetry".into(), "1".into())));
    assert_eq!(op.poll(&mut s), Err(FirehoseError::Finished));
}

#[test]
fn read_op_takes_exactly_n_sectors_then_final_ack_even_glued() {
    let cmd = Command::Read {
        region: Region::new(512, 0, 34, 3),
        extra: vec![],
    };
    let (mut op, _) = Op::start(&cmd).unwrap();
    let data: Vec<u8> = (0..1536u32).map(|i| (i % 253) as u8).collect();
    // ACK, the sector data (which itself looks like XML in places) and the final ACK in one read.
    let mut all = doc(r#"<response value="ACK" rawmode="true" />"#);
    let mut raw = data.clone();
    raw[..7].copy_from_slice(b"</data>");
    all.extend(&raw);
    all.extend(doc(r#"<response value="ACK" rawmode="false" />"#));
    let mut s = XmlStream::new();
    let mut got = Vec::new();
    let mut done = None;
    for piece in all.chunks(100) {
        s.push(piece);
        for e in op.poll(&mut s).unwrap() {
            match e {
                OpEvent::RawData(d) => got.extend(d),
                OpEvent::Done(r) => done = Some(r),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(got, raw);
    assert_eq!(op.raw_received(), 1536);
    assert!(done.unwrap().is_ack());
}

#[test]
fn rawmode_mismatch_and_first_nak() {
    let cmd = Command::Program {
        region: Region::new(512, 0, 0, 1),
        extra: vec![],
    };
    let (mut op, _) = Op::start(&cmd).unwrap();
    let mut s = XmlStream::new();
    s.push(&doc(r#"<response value="ACK" rawmode="false" />"#));
    assert!(matches!(
        op.poll(&mut s),
        Err(FirehoseError::RawModeMismatch {
            expected: true,
            got: false,
            ..
        })
    ));
    // The real EG25-G NAK: the log says why.
    let erase = Command::Erase {
        sector_size: 2048,
        physical_partition: 0,
        start_sector: Some("13952".into()),
        num_sectors: Some(576),
        extra: vec![("PAGES_PER_BLOCK".into(), "64".into())],
    };
    let (mut op, _) = Op::start(&erase).unwrap();
    let mut s = XmlStream::new();
    s.push(b"<log value=\"start_sector = 13952 and num_partition_sectors =0x240)\"/><log value=\"start_sector unaligned\"/><response value=\"NAK\"/>");
    s.push(b"<data><log value=\"start_sector unaligned\"/><response value=\"NAK\"/></data>");
    let e = op.poll(&mut s).unwrap_err();
    assert!(e.to_string().contains("start_sector unaligned"), "{e}");
    assert!(e.help().unwrap().contains("layout"));
    assert!(
        Op::start(&Command::Read {
            region: Region::new(512, 0, 0, 0),
            extra: vec![]
        })
        .is_err()
    );
}

#[test]
fn digest_storage_info_power_nop() {
    let hex = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
    let cmd = Command::GetSha256Digest {
        region: Region::new(4096, 0, 0, 2),
    };
    let (mut op, _) = Op::start(&cmd).unwrap();
    let mut s = XmlStream::new();
    s.push(&doc(&format!(
        r#"<log value="INFO: Digest {hex}" /><response value="ACK" />"#
    )));
    let ev = op.poll(&mut s).unwrap();
    let Some(OpEvent::Done(r)) = ev.last() else {
        panic!()
    };
    let d = digest_from(r).unwrap();
    assert_eq!(hex::encode(d), hex);
    assert_eq!(
        digest_from(&reply(r#"<response value="ACK" />"#)),
        Err(FirehoseError::DigestMissing { count: 0 })
    );

    let (mut op, bytes) = Op::start(&Command::GetStorageInfo {
        physical_partition: 0,
    })
    .unwrap();
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .contains(r#"<getstorageinfo physical_partition_number="0" />"#)
    );
    s.push(&doc(r#"<log value="INFO: {&quot;storage_info&quot;: {&quot;total_blocks&quot;:1024, &quot;page_size&quot;:2048, &quot;mem_type&quot;:&quot;NAND&quot;}}" /><response value="ACK" />"#));
    let ev = op.poll(&mut s).unwrap();
    let Some(OpEvent::Done(r)) = ev.last() else {
        panic!()
    };
    let si = storage_info_from(r).unwrap().unwrap();
    assert_eq!(
        (si.total_blocks, si.page_size, si.block_size),
        (Some(1024), Some(2048), None)
    );

    let power = Command::Power {
        action: PowerAction::ResetToEdl,
        delay_seconds: Some(10),
    };
    let (mut op, bytes) = Op::start(&power).unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        r#"<?xml version="1.0" ?><data><power value="reset_to_edl" DelayInSeconds="10" /></data>"#
    );
    s.push(&doc(
        r#"<response value="ACK" /><log value="INFO: bsp_target_reset() 1" />"#,
    ));
    let ev = op.poll(&mut s).unwrap();
    assert_eq!(ev.len(), 2, "{ev:?}");

    let (_, bytes) = Op::start(&Command::Nop).unwrap();
    assert_eq!(bytes, br#"<?xml version="1.0" ?><data><nop /></data>"#);
}

#[test]
fn raw_chunking_whole_sectors_and_zero_padding() {
    let chunks: Vec<_> = raw_chunks(10_000, 4096, 8192).unwrap().collect();
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        (chunks[0].offset, chunks[0].data_len, chunks[0].len),
        (0, 8192, 8192)
    );
    assert_eq!(
        (chunks[1].offset, chunks[1].data_len, chunks[1].len),
        (8192, 1808, 4096)
    );
    assert_eq!(sectors_for(10_000, 4096), 3);
    // Payload not a sector multiple: rounded down; smaller than a sector: one sector.
    assert!(
        raw_chunks(10_000, 4096, 10_000)
            .unwrap()
            .all(|c| c.len % 4096 == 0 && c.len <= 8192)
    );
    assert_eq!(
        raw_chunks(512, 4096, 100).unwrap().next().unwrap().len,
        4096
    );
    assert_eq!(raw_chunks(0, 512, 512).unwrap().count(), 0);
    assert!(raw_chunks(1, 0, 512).is_err());
    let total: usize = raw_chunks(3 * 1024 * 1024 + 1, 512, 1 << 20)
        .unwrap()
        .map(|c| c.len)
        .sum();
    assert_eq!(total, 3 * 1024 * 1024 + 512);
    let p = pad_to_sector(&[1, 2, 3], 512);
    assert_eq!(p.len(), 512);
    assert!(p[3..].iter().all(|&b| b == 0));
}
