//! Round trips: every Sahara packet and every Firehose command (encode → parse → same
//! fields), attribute escaping, and the exact wire form of a few commands.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use oasis_proto::firehose::xml::{escape, unescape};
use oasis_proto::firehose::{
    Command, Configure, Patch, PowerAction, Region, VendorCommand, parse_document,
};
use oasis_proto::sahara::SaharaPacket;
use oasis_proto::sahara::packet::{command_name, required_len};

fn all_packets() -> Vec<SaharaPacket> {
    use SaharaPacket as P;
    vec![
        P::Hello {
            version: 3,
            version_supported: 1,
            max_cmd_packet_len: 0x400,
            mode: 0,
            reserved: [1, 2, 3, 4, 5, 6],
        },
        P::HelloResp {
            version: 2,
            version_supported: 1,
            status: 0,
            mode: 3,
            reserved: [0; 6],
        },
        P::ReadData {
            image_id: 13,
            offset: 0x1000,
            length: 0x1000,
        },
        P::ReadData64 {
            image_id: 13,
            offset: 1 << 40,
            length: 0x10_0000,
        },
        P::EndImageTx {
            image_id: 13,
            status: 0x25,
        },
        P::Done,
        P::DoneResp { image_tx_status: 1 },
        P::Reset,
        P::ResetResp,
        P::MemoryDebug {
            table_addr: 0x1234,
            table_len: 52,
        },
        P::MemoryDebug64 {
            table_addr: 1 << 33,
            table_len: 64,
        },
        P::MemoryRead {
            addr: 0x8000_0000,
            length: 0x8_0000,
        },
        P::MemoryRead64 {
            addr: 1 << 35,
            length: 0x8_0000,
        },
        P::CmdReady,
        P::CmdSwitchMode { mode: 0 },
        P::CmdExecute { client_cmd: 3 },
        P::CmdExecuteResp {
            client_cmd: 3,
            data_length: 48,
        },
        P::CmdExecuteData { client_cmd: 3 },
        P::ResetStateMachine,
        P::Unknown {
            command: 0x14,
            body: vec![1, 2, 3, 4],
        },
    ]
}

#[test]
fn every_sahara_packet_round_trips_with_its_documented_length() {
    let packets = all_packets();
    assert_eq!(packets.len(), 20);
    for p in packets {
        let bytes = p.encode();
        let len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        assert_eq!(len, bytes.len(), "{}", p.name());
        if let Some(required) = required_len(p.command()) {
            assert_eq!(
                bytes.len(),
                required,
                "{} length per docs/protocol.md §1",
                p.name()
            );
        }
        assert_eq!(
            SaharaPacket::decode(&bytes).unwrap(),
            Some((p.clone(), len))
        );
        assert_ne!(command_name(p.command()), "unknown");
    }
}

#[test]
fn longer_known_packets_are_accepted_and_glued_packets_split() {
    // A HELLO with extra trailing words (newer targets may append fields).
    let mut long = all_packets()[0].encode();
    long[4..8].copy_from_slice(&0x34u32.to_le_bytes());
    long.extend([9, 9, 9, 9]);
    let (p, n) = SaharaPacket::decode(&long).unwrap().unwrap();
    assert_eq!((p.name(), n), ("HELLO", 0x34));
    let mut glued = SaharaPacket::CmdReady.encode();
    glued.extend(SaharaPacket::Done.encode());
    let (a, n) = SaharaPacket::decode(&glued).unwrap().unwrap();
    assert_eq!((a, n), (SaharaPacket::CmdReady, 8));
    assert_eq!(
        SaharaPacket::decode(&glued[n..]).unwrap().unwrap().0,
        SaharaPacket::Done
    );
}

fn region() -> Region {
    Region {
        sector_size: 4096,
        num_sectors: 139,
        physical_partition: 0,
        start_sector: "NUM_DISK_SECTORS-5.".into(),
    }
}

fn all_commands() -> Vec<Command> {
    let odd = "..\\a&b<c>\"d\" 'e'.mbn".to_string();
    vec![
        Command::Configure(Configure::new("nand", 8192)),
        Command::Configure(Configure {
            memory_name: "UFS".into(),
            max_payload_to_target: 1 << 20,
            zlp_aware_host: false,
            skip_storage_init: true,
            verbose: true,
            always_validate: true,
            max_digest_table_size: None,
            extra: vec![("PAGES_PER_BLOCK".into(), "64".into())],
        }),
        Command::Program {
            region: region(),
            extra: vec![
                ("filename".into(), odd.clone()),
                ("PAGES_PER_BLOCK".into(), "64".into()),
                ("last_sector".into(), "12735".into()),
            ],
        },
        Command::Read {
            region: region(),
            extra: vec![],
        },
        Command::Erase {
            sector_size: 2048,
            physical_partition: 0,
            start_sector: Some("0".into()),
            num_sectors: Some(640),
            extra: vec![("PAGES_PER_BLOCK".into(), "64".into())],
        },
        Command::Erase {
            sector_size: 512,
            physical_partition: 1,
            start_sector: None,
            num_sectors: None,
            extra: vec![("label".into(), "erase whole disk".into())],
        },
        Command::Patch(Patch {
            sector_size: 4096,
            byte_offset: 88,
            filename: "DISK".into(),
            physical_partition: 0,
            size_in_bytes: 4,
            start_sector: "NUM_DISK_SECTORS-5.".into(),
            value: "CRC32(NUM_DISK_SECTORS-5.,4096)".into(),
            what: Some("Update Backup Header with Partition Array CRC & <stuff>".into()),
        }),
        Command::GetSha256Digest { region: region() },
        Command::GetStorageInfo {
            physical_partition: 2,
        },
        Command::Nop,
        Command::Power {
            action: PowerAction::Reset,
            delay_seconds: Some(10),
        },
        Command::Power {
            action: PowerAction::Off,
            delay_seconds: None,
        },
        Command::Power {
            action: PowerAction::ResetToEdl,
            delay_seconds: None,
        },
        Command::SetBootableStorageDrive { value: 1 },
        Command::Vendor(
            VendorCommand::new(
                "firmwarewrite",
                vec![
                    ("SECTOR_SIZE_IN_BYTES".into(), "512".into()),
                    ("note".into(), odd),
                ],
            )
            .unwrap(),
        ),
    ]
}

#[test]
fn every_firehose_command_round_trips() {
    for cmd in all_commands() {
        let bytes = cmd.encode().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("<?xml version=\"1.0\" ?><data><"),
            "{text}"
        );
        assert!(text.ends_with(" /></data>"), "{text}");
        let doc = parse_document(&bytes).unwrap();
        assert_eq!(doc.elements.len(), 1, "one command per document");
        assert_eq!(
            doc.elements[0],
            cmd.to_element().unwrap(),
            "attribute order kept"
        );
        assert_eq!(
            Command::from_element(&doc.elements[0]).unwrap(),
            cmd,
            "{text}"
        );
    }
}

#[test]
fn exact_wire_forms() {
    let cfg = Command::Configure(Configure::new("nand", 8192))
        .encode()
        .unwrap();
    assert_eq!(
        String::from_utf8(cfg).unwrap(),
        r#"<?xml version="1.0" ?><data><configure MemoryName="nand" Verbose="0" AlwaysValidate="0" MaxDigestTableSizeInBytes="2048" MaxPayloadSizeToTargetInBytes="8192" ZlpAwareHost="1" SkipStorageInit="0" /></data>"#
    );
    // Quectel vendor lines go out verbatim, in their own attribute order.
    let attrs = vec![
        ("SECTOR_SIZE_IN_BYTES".to_string(), "4096".to_string()),
        ("a_rawdata_start_sector".into(), "100".into()),
        ("vendor".into(), "quectel".into()),
        ("c_project_name".into(), "EC25&EG25".into()),
    ];
    let v = Command::Vendor(VendorCommand::new("erase", attrs).unwrap());
    assert_eq!(
        String::from_utf8(v.encode().unwrap()).unwrap(),
        r#"<?xml version="1.0" ?><data><erase SECTOR_SIZE_IN_BYTES="4096" a_rawdata_start_sector="100" vendor="quectel" c_project_name="EC25&amp;EG25" /></data>"#
    );
}

#[test]
fn escaping_and_invalid_names() {
    let v = "a&b<c>d\"e'f &amp;";
    assert_eq!(escape(v), "a&amp;b&lt;c&gt;d&quot;e&apos;f &amp;amp;");
    assert_eq!(unescape(&escape(v)), v);
    for bad in ["", "1abc", "a b", "a\"b", "x>"] {
        assert!(VendorCommand::new(bad, vec![]).is_err(), "{bad:?}");
        assert!(
            VendorCommand::new("ok", vec![(bad.to_string(), "v".into())]).is_err(),
            "{bad:?}"
        );
    }
    let dup = Command::Program {
        region: region(),
        extra: vec![("start_sector".into(), "1".into())],
    };
    assert!(
        dup.encode().is_err(),
        "an extra may not shadow a standard attribute"
    );
}

#[test]
fn device_side_parsing_names_missing_and_bad_attributes() {
    let doc =
        parse_document(br#"<data><program SECTOR_SIZE_IN_BYTES="4096" start_sector="0" /></data>"#)
            .unwrap();
    let e = Command::from_element(&doc.elements[0]).unwrap_err();
    assert!(e.to_string().contains("num_partition_sectors"), "{e}");
    let doc = parse_document(br#"<data><read sector_size_in_bytes="0x1000" num_partition_sectors="x" start_sector="0" /></data>"#).unwrap();
    let e = Command::from_element(&doc.elements[0]).unwrap_err();
    assert!(
        e.to_string().contains("`num_partition_sectors` = `x`"),
        "{e}"
    );
    let doc = parse_document(br#"<data><power value="explode" /></data>"#).unwrap();
    assert!(Command::from_element(&doc.elements[0]).is_err());
    // Case-insensitive names and hex numbers are accepted, as the programmer does.
    let doc = parse_document(br#"<data><Configure memoryname="eMMC" maxpayloadsizetotargetinbytes="0x100000" ZLPAwareHost="0" /></data>"#).unwrap();
    let Command::Configure(c) = Command::from_element(&doc.elements[0]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (
            c.memory_name.as_str(),
            c.max_payload_to_target,
            c.zlp_aware_host
        ),
        ("eMMC", 1 << 20, false)
    );
}
