//! Sahara memory-debug (crash dump) host machine and region-table checks, driven by hand-made
//! device packets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use oasis_proto::Help;
use oasis_proto::sahara::memdebug::{
    DumpHost, DumpStep, Limits, MAX_CHUNK, MemDebugError, RawRegion, TableWidth, check_table,
    encode_table, parse_table,
};
use oasis_proto::sahara::{SaharaPacket, SaharaStatus, mode};

fn hello(m: u32) -> Vec<u8> {
    SaharaPacket::Hello {
        version: 2,
        version_supported: 1,
        max_cmd_packet_len: 0x400,
        mode: m,
        reserved: [0; 6],
    }
    .encode()
}

fn raw(index: usize, base: u64, length: u64, name: &str) -> RawRegion {
    RawRegion {
        index,
        save_pref: 0,
        base,
        length,
        description: format!("desc {index}"),
        filename: name.to_owned(),
    }
}

fn sends(steps: &[DumpStep]) -> Vec<SaharaPacket> {
    steps
        .iter()
        .filter_map(|s| match s {
            DumpStep::Send(b) => Some(SaharaPacket::decode(b).unwrap().unwrap().0),
            _ => None,
        })
        .collect()
}

fn data(steps: &[DumpStep]) -> Vec<u8> {
    steps
        .iter()
        .filter_map(|s| match s {
            DumpStep::Data(d) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// HELLO and the offer, up to the table; returns the machine and the parsed regions.
fn open_session(width: TableWidth, regions: &[RawRegion]) -> (DumpHost, Vec<RawRegion>) {
    let mut h = DumpHost::new();
    let s = h.feed(&hello(mode::MEMORY_DEBUG)).unwrap();
    assert_eq!(
        sends(&s),
        vec![SaharaPacket::hello_resp(mode::MEMORY_DEBUG)],
        "HELLO_RESP in mode 2"
    );
    let table = encode_table(regions, width);
    let offer = match width {
        TableWidth::Bits32 => SaharaPacket::MemoryDebug {
            table_addr: 0x0860_0000,
            table_len: table.len() as u32,
        },
        TableWidth::Bits64 => SaharaPacket::MemoryDebug64 {
            table_addr: 0x0860_0000,
            table_len: table.len() as u64,
        },
    };
    let s = h.feed(&offer.encode()).unwrap();
    let want = match width {
        TableWidth::Bits32 => SaharaPacket::MemoryRead {
            addr: 0x0860_0000,
            length: table.len() as u32,
        },
        TableWidth::Bits64 => SaharaPacket::MemoryRead64 {
            addr: 0x0860_0000,
            length: table.len() as u64,
        },
    };
    assert_eq!(sends(&s), vec![want], "the table is read first");
    // The table arrives split in two.
    let (a, b) = table.split_at(10);
    assert!(h.feed(a).unwrap().is_empty());
    let s = h.feed(b).unwrap();
    let [
        DumpStep::Table {
            width: w,
            regions: got,
            length,
            ..
        },
    ] = s.as_slice()
    else {
        panic!("{s:?}")
    };
    assert_eq!((*w, *length), (width, table.len() as u64));
    assert!(h.is_idle());
    (h, got.clone())
}

#[test]
fn a_32_bit_session_reads_chunks_and_resets() {
    let regions = [raw(0, 0x8000_0000, 0x100, "DDRCS0.BIN")];
    let (mut h, got) = open_session(TableWidth::Bits32, &regions);
    assert_eq!(got[0].filename, "DDRCS0.BIN");
    assert_eq!((got[0].base, got[0].length), (0x8000_0000, 0x100));
    let p = h.read(0x8000_0000, 0x100).unwrap();
    assert_eq!(
        SaharaPacket::decode(&p).unwrap().unwrap().0,
        SaharaPacket::MemoryRead {
            addr: 0x8000_0000,
            length: 0x100
        }
    );
    assert!(h.read(0, 1).is_err(), "one read at a time");
    let bytes: Vec<u8> = (0..0x100u32).map(|i| (i * 13) as u8).collect();
    let mut steps = Vec::new();
    for piece in bytes.chunks(7) {
        steps.extend(h.feed(piece).unwrap());
    }
    assert_eq!(data(&steps), bytes, "raw bytes, no header");
    assert_eq!(steps.last(), Some(&DumpStep::ChunkDone));
    let reset = h.reset();
    assert_eq!(
        SaharaPacket::decode(&reset).unwrap().unwrap().0,
        SaharaPacket::Reset
    );
    let s = h.feed(&SaharaPacket::ResetResp.encode()).unwrap();
    assert_eq!(s, vec![DumpStep::ResetDone]);
}

#[test]
fn a_64_bit_table_reads_above_4_gib() {
    let regions = [
        raw(0, 0x8000_0000, 0x1000, "DDRCS0.BIN"),
        raw(1, 0x1_0000_0000, 0x1000, "DDRCS1.BIN"),
    ];
    let (mut h, got) = open_session(TableWidth::Bits64, &regions);
    assert_eq!(got[1].base, 0x1_0000_0000);
    let p = h.read(0x1_0000_0000, 16).unwrap();
    assert_eq!(
        SaharaPacket::decode(&p).unwrap().unwrap().0,
        SaharaPacket::MemoryRead64 {
            addr: 0x1_0000_0000,
            length: 16
        }
    );
    // Data glued in one transfer with nothing after it.
    let s = h.feed(&[0xAB; 16]).unwrap();
    assert_eq!(data(&s), vec![0xAB; 16]);
    assert!(h.is_idle());
    assert!(h.read(0, MAX_CHUNK + 1).is_err(), "at most 512 KiB a read");
}

#[test]
fn a_refused_read_is_reported_and_the_next_read_works() {
    let (mut h, _) = open_session(TableWidth::Bits32, &[raw(0, 0x1000, 0x40, "A.BIN")]);
    h.read(0x1000, 0x40).unwrap();
    let refusal = SaharaPacket::EndImageTx {
        image_id: 0,
        status: 0x19,
    }
    .encode();
    // Split inside the packet: the machine waits for the whole refusal.
    assert!(h.feed(&refusal[..8]).unwrap().is_empty());
    let s = h.feed(&refusal[8..]).unwrap();
    assert_eq!(
        s,
        vec![DumpStep::ReadRefused {
            status: SaharaStatus(0x19)
        }]
    );
    assert!(h.is_idle());
    h.read(0x1000, 0x40).unwrap();
    let s = h.feed(&[1; 0x40]).unwrap();
    assert_eq!(data(&s).len(), 0x40);
}

#[test]
fn a_board_not_in_dump_mode_is_named() {
    let mut h = DumpHost::new();
    let e = h.feed(&hello(mode::IMAGE_TX_PENDING)).unwrap_err();
    assert_eq!(e, MemDebugError::NotDumpMode { mode: 0 });
    assert!(e.to_string().contains("not in crash-dump mode"), "{e}");
    assert!(e.help().unwrap().contains("900E"));
    let mut h = DumpHost::new();
    assert_eq!(
        h.feed(b"<?xml version").unwrap_err(),
        MemDebugError::FirehoseRunning
    );
}

#[test]
fn bad_table_offers_are_refused() {
    for len in [0u32, 10, 0x20_0000] {
        let mut h = DumpHost::new();
        h.feed(&hello(mode::MEMORY_DEBUG)).unwrap();
        let e = h
            .feed(
                &SaharaPacket::MemoryDebug {
                    table_addr: 0x100,
                    table_len: len,
                }
                .encode(),
            )
            .unwrap_err();
        assert!(
            matches!(e, MemDebugError::BadTableLength { len: l, entry: 52 } if l == u64::from(len)),
            "{e:?}"
        );
    }
    // The board refuses to send the table.
    let mut h = DumpHost::new();
    h.feed(&hello(mode::MEMORY_DEBUG)).unwrap();
    h.feed(
        &SaharaPacket::MemoryDebug {
            table_addr: 0x100,
            table_len: 52,
        }
        .encode(),
    )
    .unwrap();
    let e = h
        .feed(
            &SaharaPacket::EndImageTx {
                image_id: 0,
                status: 0x19,
            }
            .encode(),
        )
        .unwrap_err();
    assert!(matches!(e, MemDebugError::TableRefused { .. }), "{e:?}");
}

#[test]
fn silence_nudges_once_then_times_out() {
    let mut h = DumpHost::new();
    let s = h.on_silence().unwrap();
    assert_eq!(
        sends(&s),
        vec![SaharaPacket::hello_resp(mode::MEMORY_DEBUG)]
    );
    let e = h.on_silence().unwrap_err();
    assert!(matches!(e, MemDebugError::Timeout { .. }), "{e:?}");
}

#[test]
fn tables_round_trip_in_both_widths() {
    let regions = vec![
        raw(0, 0x0800_0000, 0x4_0000, "OCIMEM.BIN"),
        raw(1, 0x8000_0000, 0x20_0000, "DDRCS0.BIN"),
    ];
    for w in [TableWidth::Bits32, TableWidth::Bits64] {
        let t = encode_table(&regions, w);
        assert_eq!(t.len(), 2 * w.entry_len());
        assert_eq!(parse_table(&t, w).unwrap(), regions);
    }
    assert_eq!(TableWidth::Bits32.entry_len(), 52);
    assert_eq!(TableWidth::Bits64.entry_len(), 64);
    assert!(parse_table(&[0; 51], TableWidth::Bits32).is_err());
}

#[test]
fn bad_entries_are_refused_and_names_made_plain() {
    let entries = vec![
        raw(0, 0x1000, 0x1000, "GOOD.BIN"),
        raw(1, 0x5000, 0, "ZERO.BIN"),
        raw(2, 0x10_0000, u64::MAX, "HUGE.BIN"),
        raw(3, 0xFFFF_F000, 0x2000, "WRAP.BIN"),
        raw(4, 0x1800, 0x1000, "OVERLAP.BIN"),
        raw(5, 0x9000, 0x100, "../../etc/cron.d/x"),
        raw(6, 0xA000, 0x100, "good.bin"),
        raw(7, 0xB000, 0x100, ""),
    ];
    let c = check_table(&entries, TableWidth::Bits32, &Limits::default());
    let refused: Vec<(&str, &str)> = c
        .refused
        .iter()
        .map(|r| (r.name.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused[0].0 == "ZERO.BIN" && refused[0].1.contains("length of 0"));
    assert!(refused[1].0 == "HUGE.BIN" && refused[1].1.contains("corrupt table"));
    assert!(refused[2].0 == "WRAP.BIN" && refused[2].1.contains("32-bit address space"));
    assert!(refused[3].0 == "OVERLAP.BIN" && refused[3].1.contains("overlaps GOOD.BIN"));
    let files: Vec<&str> = c.regions.iter().map(|r| r.file_name.as_str()).collect();
    assert_eq!(
        files,
        vec!["GOOD.BIN", "etc_cron.d_x", "good_2.bin", "region7.bin"]
    );
    for f in &files {
        assert!(!f.contains('/') && !f.contains('\\') && !f.starts_with('.'));
    }
    assert!(c.notes.iter().any(|n| n.contains("../../etc/cron.d/x")));
    assert!(c.notes.iter().any(|n| n.contains("used twice")));
    // In a 64-bit table the same high region is fine.
    let c = check_table(
        &[raw(0, 0xFFFF_F000, 0x2000, "HIGH.BIN")],
        TableWidth::Bits64,
        &Limits::default(),
    );
    assert!(c.refused.is_empty());
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn device_chunk() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (0u32..4).prop_map(hello),
            (any::<u32>(), 0u32..0x200).prop_map(|(a, l)| SaharaPacket::MemoryDebug {
                table_addr: a,
                table_len: l
            }
            .encode()),
            (any::<u64>(), any::<u64>()).prop_map(|(a, l)| SaharaPacket::MemoryDebug64 {
                table_addr: a,
                table_len: l
            }
            .encode()),
            any::<u32>().prop_map(|s| SaharaPacket::EndImageTx {
                image_id: 0,
                status: s
            }
            .encode()),
            Just(SaharaPacket::ResetResp.encode()),
            proptest::collection::vec(any::<u8>(), 0..300),
        ]
    }

    proptest! {
        #[test]
        fn the_dump_host_takes_any_bytes(
            chunks in proptest::collection::vec(device_chunk(), 0..12),
            reads in proptest::collection::vec((any::<u64>(), 0u64..0x9_0000), 0..6),
        ) {
            let mut h = DumpHost::new();
            let mut reads = reads.into_iter();
            for c in chunks {
                match h.feed(&c) {
                    Ok(_) => {}
                    Err(e) => {
                        prop_assert!(!e.to_string().is_empty());
                        break;
                    }
                }
                if h.is_idle()
                    && let Some((a, l)) = reads.next()
                {
                    let _ = h.read(a, l);
                }
            }
            let _ = h.on_silence();
        }

        #[test]
        fn any_table_gives_plain_unique_names(
            bytes in proptest::collection::vec(any::<u8>(), 52..52 * 8),
            wide in any::<bool>(),
        ) {
            let width = if wide { TableWidth::Bits64 } else { TableWidth::Bits32 };
            let Ok(raw) = parse_table(&bytes, width) else { return Ok(()) };
            let c = check_table(&raw, width, &Limits::default());
            let mut seen = std::collections::HashSet::new();
            for r in &c.regions {
                prop_assert!(r.length > 0);
                prop_assert!(!r.file_name.is_empty());
                prop_assert!(r.file_name.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch)));
                prop_assert!(!r.file_name.starts_with('.') && !r.file_name.contains(".."));
                prop_assert!(seen.insert(r.file_name.to_ascii_lowercase()));
            }
            prop_assert_eq!(c.regions.len() + c.refused.len(), raw.len());
        }
    }
}
