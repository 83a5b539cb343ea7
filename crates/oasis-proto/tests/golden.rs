//! Golden tests on lines quoted from public logs: Sahara bytes from edl debug output, identity
//! values and Firehose excerpts; whole QFirehose session logs of the real-world corpus in the
//! ignored `realworld_*` tests.
//! Excerpts may be truncated or carry markdown: everything is extracted tolerantly.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use oasis_proto::firehose::logs::{chip_serial, split_function_list, supported_functions};
use oasis_proto::firehose::{
    Command, ConfigureNegotiation, ConfigureStep, Document, Element, FirehoseError, Op,
    Transaction, VendorCommand, XmlStream, parse_document,
};
use oasis_proto::sahara::identity::trim_pk_hash;
use oasis_proto::sahara::{HostAction, HostGoal, Outcome, SaharaHost, SaharaPacket, exec};

/// Lines quoted from public logs (the sources are named in docs/protocol.md): edl debug output
/// in bkerler/edl issues 342 (HELLO + SWITCH_MODE), 398 (HELLO_RESP + READ_DATA_64), 67
/// (READ_DATA), 701 (SDX55 identity) and 61 (MSM8998 identity); Firehose log lines from
/// fwupd pull request 10582 (two supported-function formats), the u0d7i/uz801 README (MSM8916
/// function list) and Biktorgj/quectel_eg25_recovery issue 29 (erase NAK). Only the lines
/// these tests read are kept.
fn excerpt(rel: &str) -> Option<&'static str> {
    Some(match rel {
        "issue-excerpts/edl-sahara-hello-hex-debug.txt" => {
            "DeviceClass - [LIB]: TX:0c0000000c00000003000000\n\
             DeviceClass - [LIB]: RX:010000003000000002000000010000000004000003000000000000000000000000000000000000000000000000000000\n"
        }
        "issue-excerpts/edl-sahara-hello-resp-and-read-data-64-hex-debug.txt" => {
            "DeviceClass - [LIB]: TX:020000003000000002000000010000000000000000000000000000000000000000000000000000000000000000000000\n\
             DeviceClass - [LIB]: RX:12000000200000000d0000000000000000000000000000004000000000000000\n"
        }
        "issue-excerpts/edl-sahara-read-data-hex-debug.txt" => {
            "RX:03000000140000000d0000000010000000100000\n"
        }
        "issue-excerpts/edl-sahara-sdx55-hwid-pkhash-sha384-padded.txt" => {
            "HWID:              0x000cf0e1000098a9 (MSM_ID:0x000cf0e1,OEM_ID:0x0000,MODEL_ID:0x98a9)\n\
             PK_HASH:           0x311c9f9c9e294e7955167cd75271acfbf6d4b1837313e4efbc1b257b94d2fffe2d46e84f9cb0f37aac9bfe736ac1713d000000000000000000000000000000000000000000000000000000000000000000000000000000000000\n\
             Serial:            0x7512103a\n"
        }
        "issue-excerpts/edl-sahara-msm8998-hwid-loader-autodetect.txt" => {
            "HWID:              0x0005e0e100010004 (MSM_ID:0x0005e0e1,OEM_ID:0x0001,MODEL_ID:0x0004)\n\
             PK_HASH:           0xc30dec2471cea311e6918657367b51068a39583bbf89fd68b379bcd5a709ab1b\n\
             Serial:            0x1b0262c4\n\
             sahara - Detected loader: Loaders/Loaders/0005e0e100010004_c30dec2471cea311_fhprg.bin\n"
        }
        "issue-excerpts/firehose-supported-functions-two-formats.txt" => {
            "<log value=\"INFO: Supported Functions (15):\" />\n\
             <log value=\"INFO: program\" />\n\
             <log value=\"INFO: read\" />\n\
             ...\n\
             <log value=\"INFO: getsha256digest\" />\n\
             <log value=\"INFO: End of supported functions 15\" />\n\
             or\n\
             <log value=\"Supported Functions: program read ... getsha256digest \"/>\n"
        }
        "issue-excerpts/edl-firehose-msm8916-uz801-supported-functions.txt" => {
            "firehose - TargetName=MSM8916\n\
             firehose - MemoryName=eMMC\n\
             firehose_client - Supported functions:\n\
             configure,program,firmwarewrite,patch,setbootablestoragedrive,ufs,emmc,power,benchmark,read,getstorageinfo,getcrc16digest,getsha256digest,erase,peek,poke,nop,xml\n"
        }
        "issue-excerpts/eg25g-firehose-erase-NAK-start_sector-unaligned.txt" => {
            "<erase PAGES_PER_BLOCK=\"64\" SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"576\" start_sector=\"13952\"/>\n\
             <log value=\"start_sector = 13952 and num_partition_sectors =0x240)\"/>\n\
             <log value=\"start_sector unaligned\"/>\n\
             <response value=\"NAK\"/>\n\
             firehose_protocol.c firehose_main 672 fail\n"
        }
        _ => return None,
    })
}

/// A quoted excerpt, or a file of the real-world corpus (`OASIS_REALWORLD`; only the ignored
/// `realworld_*` tests read whole QFirehose logs from there).
fn read(rel: &str) -> String {
    if let Some(t) = excerpt(rel) {
        return t.to_owned();
    }
    let base = std::env::var("OASIS_REALWORLD").unwrap_or_default();
    let path = format!("{base}/transcripts/{rel}");
    String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .into_owned()
}

/// Hex digits right after `marker` (an optional `0x` skipped), decoded; tolerant of
/// spaces before the digits and of an odd trailing digit.
fn hex_after(text: &str, marker: &str) -> Vec<u8> {
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len();
    let rest = text[at..].trim_start();
    let rest = rest.strip_prefix("0x").unwrap_or(rest);
    let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (0..digits.len() / 2)
        .map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn u64_after(text: &str, marker: &str) -> u64 {
    hex_after(text, marker)
        .iter()
        .fold(0, |a, &b| (a << 8) | u64::from(b))
}

/// Lines holding one Firehose element, without timestamps or log prefixes.
fn xml_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let at = l.find('<')?;
            let el = l[at..].trim_end();
            let name: String = el[1..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let after = el[1 + name.len()..].chars().next()?;
            let ok = !name.is_empty() && (after == ' ' || after == '/') && el.ends_with("/>");
            ok.then(|| el.to_string())
        })
        .collect()
}

fn element(line: &str) -> Element {
    let doc = parse_document(format!("<data>{line}</data>").as_bytes()).unwrap();
    assert_eq!(doc.elements.len(), 1, "{line}");
    doc.elements[0].clone()
}

fn sent(actions: &[HostAction]) -> Vec<u8> {
    match actions {
        [HostAction::Send(b), ..] => b.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn edl_hello_with_mode_3_and_switch_mode() {
    let t = read("issue-excerpts/edl-sahara-hello-hex-debug.txt");
    let rx = hex_after(&t, "RX:");
    let (hello, n) = SaharaPacket::decode(&rx).unwrap().unwrap();
    assert_eq!(n, 0x30);
    assert_eq!(
        hello,
        SaharaPacket::Hello {
            version: 2,
            version_supported: 1,
            max_cmd_packet_len: 0x400,
            mode: 3,
            reserved: [0; 6]
        }
    );
    assert_eq!(hello.encode(), rx);
    let tx = hex_after(&t, "TX:");
    let (sw, _) = SaharaPacket::decode(&tx).unwrap().unwrap();
    assert_eq!(sw, SaharaPacket::CmdSwitchMode { mode: 3 });
    assert_eq!(sw.encode(), tx);
    // A plain upload answers a mode-3 HELLO with image transfer (mode 0), version 2/1.
    let mut h = SaharaHost::new(HostGoal::Upload, Some(vec![0; 16]));
    let resp = sent(&h.feed(&rx).unwrap());
    assert_eq!(
        SaharaPacket::decode(&resp).unwrap().unwrap().0,
        SaharaPacket::hello_resp(0)
    );
}

#[test]
fn edl_hello_resp_bytes_match_ours_and_read_data_64_is_served() {
    let t = read("issue-excerpts/edl-sahara-hello-resp-and-read-data-64-hex-debug.txt");
    let tx = hex_after(&t, "TX:");
    assert_eq!(
        SaharaPacket::hello_resp(0).encode(),
        tx,
        "our HELLO_RESP equals edl's on the wire"
    );
    let rx = hex_after(&t, "RX:");
    let (p, _) = SaharaPacket::decode(&rx).unwrap().unwrap();
    assert_eq!(
        p,
        SaharaPacket::ReadData64 {
            image_id: 0xd,
            offset: 0,
            length: 0x40
        }
    );
    let img: Vec<u8> = (0..0x100u32).map(|i| i as u8).collect();
    let mut h = SaharaHost::new(HostGoal::Upload, Some(img.clone()));
    h.feed(
        &SaharaPacket::Hello {
            version: 2,
            version_supported: 1,
            max_cmd_packet_len: 0x400,
            mode: 0,
            reserved: [0; 6],
        }
        .encode(),
    )
    .unwrap();
    assert_eq!(sent(&h.feed(&rx).unwrap()), img[..0x40]);
}

#[test]
fn edl_read_data_image_13_offset_0x1000() {
    let t = read("issue-excerpts/edl-sahara-read-data-hex-debug.txt");
    let rx = hex_after(&t, "RX:");
    let (p, n) = SaharaPacket::decode(&rx).unwrap().unwrap();
    assert_eq!(n, 0x14);
    assert_eq!(
        p,
        SaharaPacket::ReadData {
            image_id: 0xd,
            offset: 0x1000,
            length: 0x1000
        }
    );
    assert_eq!(p.encode(), rx);
}

/// Feed the identity values an edl excerpt printed through the host machine as command-mode
/// replies, and check what comes out equals the excerpt's own decoding.
fn identity_from_excerpt(t: &str) -> oasis_proto::sahara::Identity {
    let hwid = u64_after(t, "HWID:");
    let serial = u64_after(t, "Serial:") as u32;
    let pk = hex_after(t, "PK_HASH:");
    let mut h = SaharaHost::new(HostGoal::IdentityOnly, None);
    let hello = SaharaPacket::Hello {
        version: 2,
        version_supported: 1,
        max_cmd_packet_len: 0x400,
        mode: 0,
        reserved: [0; 6],
    };
    h.feed(&hello.encode()).unwrap();
    h.feed(&SaharaPacket::CmdReady.encode()).unwrap();
    // The host asks only what the programmer check needs (no SBL version, as edl).
    let answers: [(u32, Vec<u8>); 3] = [
        (exec::SERIAL_NUM_READ, serial.to_le_bytes().to_vec()),
        (exec::MSM_HW_ID_READ, hwid.to_le_bytes().to_vec()),
        (exec::OEM_PK_HASH_READ, pk),
    ];
    let mut last = Vec::new();
    for (cmd, data) in answers {
        let resp = SaharaPacket::CmdExecuteResp {
            client_cmd: cmd,
            data_length: data.len() as u32,
        };
        h.feed(&resp.encode()).unwrap();
        last = h.feed(&data).unwrap();
    }
    match last.last() {
        Some(HostAction::Finished(Outcome::IdentityRead { identity, .. })) => identity.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sdx55_padded_sha384_pk_hash_and_hwid() {
    let t = read("issue-excerpts/edl-sahara-sdx55-hwid-pkhash-sha384-padded.txt");
    let raw = hex_after(&t, "PK_HASH:");
    assert!(raw.len() > 48, "the excerpt pads the hash");
    let id = identity_from_excerpt(&t);
    let pk = id.pk_hash.clone().unwrap();
    assert_eq!(pk.len(), 48);
    assert_eq!(pk, raw[..48]);
    assert_eq!(trim_pk_hash(&raw).unwrap(), pk);
    assert_eq!(id.msm_id(), Some(u64_after(&t, "MSM_ID:") as u32));
    assert_eq!(id.oem_id(), Some(u64_after(&t, "OEM_ID:") as u16));
    assert_eq!(id.model_id(), Some(u64_after(&t, "MODEL_ID:") as u16));
    assert_eq!(id.hw_id_hex().as_deref(), Some("000cf0e1000098a9"));
    assert_eq!(id.serial, Some(0x7512_103a));
}

#[test]
fn msm8998_hwid_serial_and_sha256_pk_hash() {
    let t = read("issue-excerpts/edl-sahara-msm8998-hwid-loader-autodetect.txt");
    let id = identity_from_excerpt(&t);
    assert_eq!(id.hw_id_hex().as_deref(), Some("0005e0e100010004"));
    assert_eq!(
        (id.msm_id(), id.oem_id(), id.model_id()),
        (Some(0x0005_e0e1), Some(1), Some(4))
    );
    assert_eq!(id.serial, Some(0x1b02_62c4));
    // The loader file name edl picked is `<hwid>_<first 16 hex of pk hash>_fhprg.bin`.
    let name = format!(
        "{}_{}",
        id.hw_id_hex().unwrap(),
        &id.pk_hash_hex().unwrap()[..16]
    );
    assert!(t.contains(&name), "{name}");
    assert_eq!(id.pk_hash.unwrap().len(), 32);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_qfirehose_sahara_session_replayed_through_the_host_machine() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_qfirehose_sahara_session_replayed_through_the_host_machine",
    ) else {
        return;
    };
    let t = read("qfirehose/MCU_local.log.txt");
    let lines: Vec<&str> = t.lines().collect();
    let mut reqs = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.contains("RECEIVED <-- SAHARA_READ_DATA_ID") {
            let nums: Vec<u64> = lines[i + 1]
                .split_whitespace()
                .filter_map(|w| u64::from_str_radix(w.strip_prefix("0x")?, 16).ok())
                .collect();
            reqs.push((nums[0], nums[1], nums[2]));
        }
    }
    assert!(reqs.len() > 10, "{}", reqs.len());
    let size = reqs.iter().map(|r| r.1 + r.2).max().unwrap() as usize;
    let img: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let mut h = SaharaHost::new(HostGoal::Upload, Some(img.clone()));
    assert!(t.contains("SAHARA_MODE_IMAGE_TX_PENDING"));
    let hello = SaharaPacket::Hello {
        version: 2,
        version_supported: 1,
        max_cmd_packet_len: 0x400,
        mode: 0,
        reserved: [0; 6],
    };
    h.feed(&hello.encode()).unwrap();
    for (id, off, len) in &reqs {
        let p = SaharaPacket::ReadData {
            image_id: *id as u32,
            offset: *off as u32,
            length: *len as u32,
        };
        assert_eq!(
            sent(&h.feed(&p.encode()).unwrap()),
            img[*off as usize..(*off + *len) as usize]
        );
    }
    assert!(t.contains("image_id = 13, status = 0"));
    let done = sent(
        &h.feed(
            &SaharaPacket::EndImageTx {
                image_id: 13,
                status: 0,
            }
            .encode(),
        )
        .unwrap(),
    );
    assert_eq!(done, SaharaPacket::Done.encode());
    let a = h
        .feed(&SaharaPacket::DoneResp { image_tx_status: 1 }.encode())
        .unwrap();
    assert!(matches!(
        a.last(),
        Some(HostAction::Finished(Outcome::Uploaded { image_id: 13, .. }))
    ));
}

fn is_target_line(l: &str) -> bool {
    l.starts_with("<log") || l.starts_with("<response")
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_qfirehose_firehose_sessions_decode() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_qfirehose_firehose_sessions_decode")
    else {
        return;
    };
    for file in [
        "MCU_local.log.txt",
        "Ubuntu_remote.log.txt",
        "pcie_mhi.log.txt",
        "MCU_remote.log.txt",
    ] {
        let t = read(&format!("qfirehose/{file}"));
        let lines = xml_lines(&t);
        // Every host command line parses into a typed command and survives a round trip.
        let mut programs = 0;
        for l in lines.iter().filter(|l| !is_target_line(l)) {
            let cmd = Command::from_element(&element(l)).unwrap_or_else(|e| panic!("{l}: {e}"));
            programs += usize::from(matches!(cmd, Command::Program { .. }));
            let again = parse_document(&cmd.encode().unwrap()).unwrap();
            assert_eq!(
                Command::from_element(&again.elements[0]).unwrap(),
                cmd,
                "{l}"
            );
        }
        // The board's lines, glued into CRLF documents as a COM port would deliver them.
        let mut blob = Vec::new();
        for l in lines.iter().filter(|l| is_target_line(l)) {
            blob.extend(
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<data>\r\n{l}\r\n</data>\r\n"
                )
                .bytes(),
            );
        }
        let mut s = XmlStream::new();
        s.push(&blob);
        let mut tx = Transaction::new("session");
        let (mut replies, mut rawmode_acks) = (Vec::new(), 0);
        let mut startup_logs = None;
        while let Some(r) = tx.poll(&mut s).unwrap() {
            startup_logs.get_or_insert_with(|| r.logs().to_vec());
            rawmode_acks += usize::from(r.rawmode());
            replies.push(r);
        }
        assert_eq!(
            rawmode_acks, programs,
            "{file}: one rawmode ACK per <program>"
        );
        // These two logs carry the whole start-up list (the others elide it with "......").
        if ["MCU_local.log.txt", "Ubuntu_remote.log.txt"].contains(&file) {
            let logs = startup_logs.clone().unwrap();
            let f = supported_functions(&logs).unwrap();
            assert_eq!(f.len(), 15, "{file}: {f:?}");
            assert!(
                f.contains(&"getsha256digest".to_string()) && f.contains(&"benchmark".to_string())
            );
            assert_eq!(chip_serial(&logs), Some(0));
        }
        if let Some(cfg) = replies
            .iter()
            .find(|r| r.attr("MaxXMLSizeInBytes").is_some())
        {
            let (mut n, first) = ConfigureNegotiation::start("nand", 4096);
            let ConfigureStep::Done(d) = n.on_reply(cfg.clone()).unwrap() else {
                panic!("{file}")
            };
            assert_eq!((d.payload, d.max_xml), (8192, 4096), "{file}");
            assert_eq!(d.memory_name.as_deref(), Some("nand"));
            // Our configure carries the same attributes QFirehose sent.
            let theirs = lines.iter().find(|l| l.starts_with("<configure")).unwrap();
            assert_eq!(
                Command::from_element(&element(theirs)).unwrap(),
                first,
                "{file}"
            );
        }
    }
}

#[test]
fn supported_functions_two_formats_excerpt() {
    let t = read("issue-excerpts/firehose-supported-functions-two-formats.txt");
    let logs: Vec<String> = xml_lines(&t)
        .iter()
        .filter_map(|l| element(l).attr("value").map(str::to_string))
        .collect();
    let split = logs
        .iter()
        .position(|l| l.starts_with("Supported Functions:"))
        .unwrap();
    let per_line = supported_functions(&logs[..split]).unwrap();
    assert_eq!(per_line, ["program", "read", "getsha256digest"]);
    let one_line = supported_functions(&logs[split..]).unwrap();
    assert_eq!(one_line, ["program", "read", "getsha256digest"]);
}

#[test]
fn msm8916_comma_separated_functions_and_no_benchmark() {
    let t = read("issue-excerpts/edl-firehose-msm8916-uz801-supported-functions.txt");
    let line = t.lines().find(|l| l.starts_with("configure,")).unwrap();
    let f = split_function_list(line);
    assert_eq!(f.len(), 18);
    assert_eq!(f[0], "configure");
    assert!(f.contains(&"getcrc16digest".to_string()));
    assert_eq!(
        supported_functions(&[format!("Supported Functions: {line}")]).unwrap(),
        f
    );
    // It lists benchmark; Oasis still cannot send it.
    assert!(matches!(
        VendorCommand::new("benchmark", vec![]),
        Err(FirehoseError::Forbidden { .. })
    ));
    let el = Element::new("Benchmark").with("trials", "1");
    assert!(matches!(
        Command::from_element(&el),
        Err(FirehoseError::Forbidden { .. })
    ));
    let doc = Document { elements: vec![el] };
    assert!(
        String::from_utf8(doc.encode())
            .unwrap()
            .contains("Benchmark"),
        "Document is generic"
    );
}

#[test]
fn eg25g_erase_nak_keeps_start_sector_unaligned() {
    let t = read("issue-excerpts/eg25g-firehose-erase-NAK-start_sector-unaligned.txt");
    let lines = xml_lines(&t);
    let erase = Command::from_element(&element(&lines[0])).unwrap();
    let Command::Erase {
        sector_size,
        start_sector,
        num_sectors,
        extra,
        ..
    } = &erase
    else {
        panic!()
    };
    assert_eq!(
        (*sector_size, start_sector.as_deref(), *num_sectors),
        (2048, Some("13952"), Some(576))
    );
    assert_eq!(extra, &[("PAGES_PER_BLOCK".to_string(), "64".to_string())]);
    let (mut op, _) = Op::start(&erase).unwrap();
    let mut s = XmlStream::new();
    for l in lines.iter().filter(|l| is_target_line(l)) {
        s.push(format!("<data>{l}</data>\n").as_bytes());
    }
    let e = op.poll(&mut s).unwrap_err();
    let FirehoseError::Nak { command, logs, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(command, "erase");
    assert_eq!(
        logs.last().map(String::as_str),
        Some("start_sector unaligned")
    );
    assert!(e.to_string().contains("start_sector unaligned"));
}
