//! Property tests: random, truncated and oversized input to every decoder, splitter and host
//! machine never panics and ends in a specific error or "need more"; encodings round-trip.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use oasis_proto::firehose::logs::{chip_serial, sha256_digest, storage_info, supported_functions};
use oasis_proto::firehose::xml::{escape, unescape};
use oasis_proto::firehose::{
    Command, ConfigureNegotiation, Op, Region, StreamItem, Transaction, XmlStream, parse_document,
};
use oasis_proto::sahara::packet::{MAX_PACKET_LEN, required_len};
use oasis_proto::sahara::{HostGoal, SaharaError, SaharaHost, SaharaPacket};
use proptest::prelude::*;

fn goal() -> impl Strategy<Value = HostGoal> {
    prop_oneof![
        Just(HostGoal::Upload),
        Just(HostGoal::IdentityThenUpload),
        Just(HostGoal::IdentityOnly)
    ]
}

/// Plausible device packets (so the machine gets deep), mixed with random bytes.
fn device_chunk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1u32..4, 0u32..4).prop_map(|(v, m)| SaharaPacket::Hello {
            version: v,
            version_supported: 1,
            max_cmd_packet_len: 0x400,
            mode: m,
            reserved: [0; 6]
        }
        .encode()),
        (0u32..30, 0u32..0x3000, 0u32..0x2000).prop_map(|(i, o, l)| SaharaPacket::ReadData {
            image_id: i,
            offset: o,
            length: l
        }
        .encode()),
        (0u64..30, any::<u64>(), any::<u64>()).prop_map(|(i, o, l)| SaharaPacket::ReadData64 {
            image_id: i,
            offset: o,
            length: l
        }
        .encode()),
        (0u32..20, 0u32..0x30).prop_map(|(i, s)| SaharaPacket::EndImageTx {
            image_id: i,
            status: s
        }
        .encode()),
        (0u32..3).prop_map(|s| SaharaPacket::DoneResp { image_tx_status: s }.encode()),
        Just(SaharaPacket::CmdReady.encode()),
        Just(SaharaPacket::ResetResp.encode()),
        (0u32..12, 0u32..200).prop_map(|(c, l)| SaharaPacket::CmdExecuteResp {
            client_cmd: c,
            data_length: l
        }
        .encode()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sahara_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        match SaharaPacket::decode(&bytes) {
            Ok(None) => prop_assert!(bytes.len() < MAX_PACKET_LEN),
            Ok(Some((p, n))) => {
                prop_assert!((8..=bytes.len()).contains(&n));
                if required_len(p.command()).is_none_or(|r| r == n) {
                    prop_assert_eq!(p.encode(), bytes[..n].to_vec());
                }
            }
            Err(e) => {
                let specific = matches!(
                    e,
                    SaharaError::BadLength { .. } | SaharaError::Oversize { .. } | SaharaError::ShortPacket { .. }
                );
                prop_assert!(specific, "{}", e);
            }
        }
    }

    #[test]
    fn sahara_truncated_is_need_more_and_oversize_is_an_error(cut in 0usize..0x20, extra in (MAX_PACKET_LEN as u32 + 1)..u32::MAX) {
        let full = SaharaPacket::ReadData64 { image_id: 13, offset: 0, length: 4 }.encode();
        prop_assert_eq!(SaharaPacket::decode(&full[..cut.min(full.len() - 1)]).unwrap(), None);
        let mut big = full.clone();
        big[4..8].copy_from_slice(&extra.to_le_bytes());
        let is_oversize = matches!(SaharaPacket::decode(&big), Err(SaharaError::Oversize { .. }));
        prop_assert!(is_oversize);
    }

    #[test]
    fn sahara_host_never_panics(
        goal in goal(),
        image_len in 0usize..0x3000,
        script in proptest::collection::vec((device_chunk(), any::<bool>(), 1usize..64), 0..24),
    ) {
        let mut h = SaharaHost::new(goal, Some(vec![0xAB; image_len]));
        let mut failed = false;
        for (bytes, silence, split) in script {
            for piece in bytes.chunks(split) {
                let r = h.feed(piece);
                if failed {
                    prop_assert_eq!(r.clone(), Err(SaharaError::Finished));
                }
                failed |= r.is_err();
            }
            if silence && !failed {
                failed |= h.on_silence().is_err();
            }
            // IdentityOnly never serves an image; others serve only what was asked.
            let (served, len) = h.progress();
            let expected_len = if goal == HostGoal::IdentityOnly { 0 } else { image_len as u64 };
            prop_assert_eq!(len, expected_len);
            prop_assert!(served <= 0x2000 * 24);
        }
    }

    #[test]
    fn parse_document_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_document(&bytes);
    }

    #[test]
    fn mutated_documents_never_panic(pos in 0usize..120, byte in any::<u8>(), cut in 0usize..120) {
        let mut d = br#"<?xml version="1.0" encoding="UTF-8" ?><data><log value="a &amp; b" /><response value="ACK" rawmode="true" /></data>"#.to_vec();
        let p = pos % d.len();
        d[p] = byte;
        d.truncate(cut.max(1) + p.min(d.len() - 1));
        if let Ok(doc) = parse_document(&d) {
            prop_assert!(doc.elements.len() <= 2);
        }
    }

    #[test]
    fn stream_splits_any_chunking_like_one_read(splits in proptest::collection::vec(1usize..40, 1..30), junk in "[ \r\n\t]{0,3}") {
        let docs = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<data>\n<log value=\"INFO: x\" />\n</data>",
            "<data><response value=\"ACK\" rawmode=\"true\" /></data>",
            "<?xml version=\"1.0\" ?><data/>",
        ];
        let all: String = docs.iter().map(|d| format!("{junk}{d}")).collect();
        let mut s = XmlStream::new();
        let mut got = Vec::new();
        let mut rest = all.as_bytes();
        let mut i = 0;
        while !rest.is_empty() {
            let n = splits[i % splits.len()].min(rest.len());
            s.push(&rest[..n]);
            rest = &rest[n..];
            i += 1;
            while let Some(item) = s.next_item().unwrap() {
                let StreamItem::Document(d) = item else { panic!() };
                got.push(String::from_utf8(d).unwrap());
            }
        }
        prop_assert_eq!(got, docs.iter().map(|d| d.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn stream_and_ops_never_panic_on_random_bytes(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..10),
        raw in 0u64..64,
        xmlish in proptest::collection::vec("(<\\?xml ?>|<data>|</data>|<response value=\"(ACK|NAK)\" rawmode=\"(true|false)\" />|<log value=\"x\"/>|junk|<)", 0..12),
    ) {
        let cmd = Command::Read { region: Region::new(16, 0, 0, 2), extra: vec![] };
        let (mut op, _) = Op::start(&cmd).unwrap();
        let mut s = XmlStream::new();
        s.expect_raw(raw);
        let mut tx = Transaction::new("nop");
        let mut t2 = XmlStream::new();
        for c in chunks.iter().map(Vec::as_slice).chain(xmlish.iter().map(|x| x.as_bytes())) {
            s.push(c);
            t2.push(c);
            if !op.is_over() {
                let _ = op.poll(&mut s);
            }
            for _ in 0..64 {
                if let Ok(None) = tx.poll(&mut t2) {
                    break;
                }
            }
        }
    }

    #[test]
    fn configure_negotiation_never_panics(attrs in proptest::collection::vec(("(value|MaxPayloadSizeToTargetInBytes|MaxPayloadSizeToTargetInBytesSupported|MaxXMLSizeInBytes)", "(ACK|NAK|0|512|4096|0x2000|99999999999|-1|x)"), 0..6), rounds in 1usize..5) {
        let (mut n, _) = ConfigureNegotiation::start("nand", 2048);
        let inner: String = attrs.iter().map(|(k, v)| format!(" {k}=\"{v}\"")).collect();
        let doc = parse_document(format!("<data><response{inner} /></data>").as_bytes()).unwrap();
        for _ in 0..rounds {
            let mut tx = Transaction::new("configure");
            let reply = tx.on_document(&doc).unwrap();
            if n.on_reply(reply).is_err() {
                break;
            }
        }
    }

    #[test]
    fn log_parsers_never_panic(lines in proptest::collection::vec(".{0,80}", 0..8)) {
        let _ = supported_functions(&lines);
        let _ = chip_serial(&lines);
        let _ = sha256_digest(&lines);
        let _ = storage_info(&lines);
    }

    #[test]
    fn escaping_round_trips(s in ".{0,60}") {
        prop_assert_eq!(unescape(&escape(&s)), s.clone());
        let el = Command::Program { region: Region { sector_size: 512, num_sectors: 1, physical_partition: 0, start_sector: s.clone() }, extra: vec![("label".into(), s.clone())] };
        let doc = parse_document(&el.encode().unwrap()).unwrap();
        prop_assert_eq!(Command::from_element(&doc.elements[0]).unwrap(), el);
    }
}
