//! Firehose programmer: configure negotiation, program/read/erase/digest/patch, host judging.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{T, cmd, docs, firehose, is_ack, logs, program, responses};
use oasis_transport::Transport;
use oasis_vdev::{Profile, StorageKind};
use sha2::{Digest, Sha256};

fn configure(l: &mut impl Transport, mem: &str, size: u64) -> Vec<oasis_proto::firehose::Element> {
    cmd(
        l,
        &format!(
            "<configure MemoryName=\"{mem}\" MaxPayloadSizeToTargetInBytes=\"{size}\" ZlpAwareHost=\"1\" SkipStorageInit=\"0\"/>"
        ),
    )
}

#[test]
fn configure_naks_with_the_max_then_acks_it() {
    let (b, mut l) = firehose(Profile::bg95(), &[]);
    let r = configure(&mut l, "nand", 1_048_576);
    let resp = responses(&r)[0];
    assert!(!is_ack(resp));
    assert_eq!(resp.attr("MaxPayloadSizeToTargetInBytes"), Some("8192"));
    let r = configure(&mut l, "NAND", 8192);
    let resp = responses(&r)[0];
    assert!(is_ack(resp));
    assert_eq!(
        resp.attr("MaxPayloadSizeToTargetInBytesSupported"),
        Some("8192")
    );
    assert_eq!(resp.attr("MaxXMLSizeInBytes"), Some("4096"));
    assert_eq!(resp.attr("MemoryName"), Some("nand"));
    assert!(logs(&r).contains(&"INFO: Calling handler for configure".to_string()));
    assert_eq!(b.negotiated_payload(), Some(8192));

    let (_b, mut l) = firehose(Profile::ufs(), &[]);
    assert!(is_ack(responses(&configure(&mut l, "ufs", 1 << 20))[0]));
    let r = configure(&mut l, "emmc", 1 << 20);
    assert!(!is_ack(responses(&r)[0]));
    assert!(logs(&r).iter().any(|s| s.contains("not supported")));
}

#[test]
fn old_programmer_echoes_the_accepted_size_and_names_its_target() {
    let (_b, mut l) = firehose(Profile::emmc(), &[]);
    let r = configure(&mut l, "eMMC", 65536);
    let resp = responses(&r)[0];
    assert!(is_ack(resp));
    assert_eq!(
        resp.attr("MaxPayloadSizeToTargetInBytesSupported"),
        Some("65536")
    );
    assert_eq!(resp.attr("TargetName"), Some("MSM8916"));
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn program_read_digest_on_nand() {
    let (b, mut l) = firehose(Profile::bg95(), &[]);
    configure(&mut l, "nand", 8192);
    let r = cmd(
        &mut l,
        "<erase SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"128\" physical_partition_number=\"0\" start_sector=\"64\" PAGES_PER_BLOCK=\"64\"/>",
    );
    assert!(is_ack(responses(&r)[0]));
    assert!(logs(&r).contains(&"INFO: Erasing start sector 64, num sectors 128".to_string()));
    let data = pattern(40 * 2048, 7);
    let (first, end) = program(&mut l, 2048, 0, "64", &data, 8192);
    assert_eq!(responses(&first)[0].attr("rawmode"), Some("true"));
    assert!(is_ack(responses(&end)[0]), "{end:?}");
    assert_eq!(b.read_storage(0, 64, 40), data);
    assert_eq!(b.written_ranges()[0].start_sector, 64);
    assert_eq!(b.written_ranges()[0].sectors, 40);
    assert_eq!(b.read_storage(0, 104, 1), vec![0xFF; 2048]);

    // Read back through the protocol: ACK rawmode=true, data in payload-sized chunks, ACK.
    let read = "<read PAGES_PER_BLOCK=\"64\" SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"40\" physical_partition_number=\"0\" start_sector=\"64\"/>";
    common::send(&mut l, read);
    let all = common::drain(&mut l);
    let raw: Vec<u8> = all
        .iter()
        .filter(|t| !t.starts_with(b"<?xml"))
        .flatten()
        .copied()
        .collect();
    assert_eq!(raw, data);
    assert!(
        all.iter()
            .filter(|t| !t.starts_with(b"<?xml"))
            .all(|t| t.len() <= 8192)
    );
    assert!(String::from_utf8_lossy(all.last().unwrap()).contains("rawmode=\"false\""));

    let r = cmd(
        &mut l,
        "<getsha256digest SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"40\" physical_partition_number=\"0\" start_sector=\"64\"/>",
    );
    let want = format!("INFO: Digest {}", hex::encode(Sha256::digest(&data)));
    assert!(logs(&r).contains(&want), "{:?}", logs(&r));
    assert!(is_ack(responses(&r)[0]));

    // Programming again without erase: NAND bits only clear (old & new); counted.
    let (_, end) = program(&mut l, 2048, 0, "64", &vec![0x0F; 2048], 2048);
    assert!(is_ack(responses(&end)[0]));
    assert_eq!(b.nand_overwrites(), 1);
    assert!(
        b.read_storage(0, 64, 1)
            .iter()
            .zip(&data)
            .all(|(n, o)| *n == o & 0x0F)
    );
}

#[test]
fn chunks_larger_than_payload_or_not_whole_sectors_are_refused() {
    let (b, mut l) = firehose(Profile::bg95(), &[]);
    configure(&mut l, "nand", 4096);
    let data = pattern(8 * 2048, 1);
    let (_, end) = program(&mut l, 2048, 0, "0", &data, 8192);
    assert!(!is_ack(responses(&end)[0]));
    assert!(logs(&end)[0].contains("larger than MaxPayloadSizeToTargetInBytes=4096"));
    assert!(b.host_notes().iter().any(|n| n.contains("4096")));

    let (_b, mut l) = firehose(Profile::bg95(), &[]);
    let (_, end) = program(&mut l, 2048, 0, "0", &data, 3000);
    assert!(!is_ack(responses(&end)[0]));
    assert!(logs(&end)[0].contains("not a multiple of the sector size 2048"));
    // The rest of that data phase is swallowed: the next command works.
    assert!(is_ack(responses(&cmd(&mut l, "<nop/>"))[0]));
}

#[test]
fn wrong_sector_size_and_out_of_range_are_naked_with_reasons() {
    let (_b, mut l) = firehose(Profile::sdx55(), &[]);
    let r = cmd(
        &mut l,
        "<program SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"1\" physical_partition_number=\"0\" start_sector=\"0\"/>",
    );
    assert!(!is_ack(responses(&r)[0]));
    assert!(
        logs(&r)
            .iter()
            .any(|s| s
                .contains("'SECTOR_SIZE_IN_BYTES'=2048 must be equal to disk sector size 4096"))
    );
    let r = cmd(
        &mut l,
        "<program SECTOR_SIZE_IN_BYTES=\"4096\" num_partition_sectors=\"128\" physical_partition_number=\"0\" start_sector=\"131008\"/>",
    );
    assert!(!is_ack(responses(&r)[0]));
    assert!(logs(&r).iter().any(|s| s.contains("goes past the end")));
}

#[test]
fn p2k_b128k_package_on_a_256k_block_nand_gets_start_sector_unaligned() {
    // The real failure (EG25-G issue): a package made for 64 pages/block sent to a NAND with
    // 128 pages/block.
    let mut p = Profile::eg25();
    p.storage = StorageKind::Nand {
        page_size: 2048,
        pages_per_block: 128,
        total_blocks: 1024,
    };
    let (_b, mut l) = firehose(p, &[]);
    let r = cmd(
        &mut l,
        "<erase PAGES_PER_BLOCK=\"64\" SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"576\" start_sector=\"13952\"/>",
    );
    // The programmer's answer in the public report of this failure (Biktorgj/quectel_eg25_recovery
    // issue 29, see docs/protocol.md): a p2K_b128K package erased on a 256K-block NAND.
    let real = "<log value=\"start_sector = 13952 and num_partition_sectors =0x240)\"/>\n\
                <log value=\"start_sector unaligned\"/>\n\
                <response value=\"NAK\"/>\n";
    for l in logs(&r).iter().filter(|s| !s.starts_with("INFO")) {
        assert!(
            real.contains(&format!("<log value=\"{l}\"/>")),
            "{l} not in the real log"
        );
    }
    assert!(logs(&r).contains(&"start_sector unaligned".to_string()));
    assert!(!is_ack(responses(&r)[0]));
}

#[test]
fn erase_without_count_erases_the_whole_nand() {
    let (b, mut l) = firehose(Profile::bg95(), &[]);
    b.write_storage(0, 1000, &[1; 2048]).unwrap();
    let r = cmd(
        &mut l,
        "<erase SECTOR_SIZE_IN_BYTES=\"512\" label=\"erase whole disk\" start_sector=\"0\" physical_partition_number=\"0\"/>",
    );
    assert!(is_ack(responses(&r)[0]));
    assert!(b.written_ranges().is_empty());
}

fn gpt_header(disk_sectors: u64) -> Vec<u8> {
    let mut h = vec![0u8; 4096];
    h[..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&1u64.to_le_bytes());
    h[72..80].copy_from_slice(&2u64.to_le_bytes());
    h[80..84].copy_from_slice(&4u32.to_le_bytes());
    h[84..88].copy_from_slice(&128u32.to_le_bytes());
    let _ = disk_sectors;
    h
}

#[test]
fn gpt_patches_from_the_real_patch_file_fix_the_crcs_on_ufs() {
    let (b, mut l) = firehose(Profile::ufs(), &[]);
    let n = Profile::ufs().storage.sectors(0).unwrap();
    let mut entries = vec![0u8; 4096];
    entries[..16].copy_from_slice(b"partition-type-1");
    b.write_storage(0, 1, &gpt_header(n)).unwrap();
    b.write_storage(0, 2, &entries).unwrap();
    b.write_storage(0, n - 1, &gpt_header(n)).unwrap();
    b.write_storage(0, n - 5, &entries).unwrap();
    // A kit-generated GPT patch set (oasis-testkit): the file-targeted patches, then the DISK ones.
    let xml = oasis_testkit::package::gpt_patches(4096, 0, 0, None)
        + &oasis_testkit::package::gpt_patches(4096, 0, 0, Some(0));
    let mut sent = 0;
    for line in xml.lines().filter(|l| l.contains("<patch ")) {
        let r = cmd(&mut l, line.trim());
        assert!(is_ack(responses(&r)[0]), "{line}: {r:?}");
        sent += 1;
    }
    assert!(sent > 10);
    let hdr = b.read_storage(0, 1, 1);
    assert_eq!(
        u64::from_le_bytes(hdr[32..40].try_into().unwrap()),
        n - 1,
        "backup LBA"
    );
    assert_eq!(
        u64::from_le_bytes(hdr[48..56].try_into().unwrap()),
        n - 6,
        "last usable LBA"
    );
    let entries_crc = crc32fast::hash(&b.read_storage(0, 2, 1));
    assert_eq!(
        u32::from_le_bytes(hdr[88..92].try_into().unwrap()),
        entries_crc
    );
    let mut zeroed = hdr[..92].to_vec();
    zeroed[16..20].fill(0);
    assert_eq!(
        u32::from_le_bytes(hdr[16..20].try_into().unwrap()),
        crc32fast::hash(&zeroed),
        "header CRC"
    );
    let backup = b.read_storage(0, n - 1, 1);
    assert_eq!(
        u64::from_le_bytes(backup[72..80].try_into().unwrap()),
        n - 5
    );
    let mut z = backup[..92].to_vec();
    z[16..20].fill(0);
    assert_eq!(
        u32::from_le_bytes(backup[16..20].try_into().unwrap()),
        crc32fast::hash(&z)
    );
    // File-targeted patches are not for the device: noted, acknowledged, nothing written.
    assert!(b.host_notes().iter().any(|n| n.contains("gpt_main0.bin")));
}

#[test]
fn storage_info_nop_bootable_power() {
    let (b, mut l) = firehose(Profile::ufs(), &[]);
    let r = cmd(&mut l, "<getstorageinfo physical_partition_number=\"0\"/>");
    let json = logs(&r)
        .into_iter()
        .find(|s| s.contains("storage_info"))
        .unwrap();
    assert!(
        json.contains("\"total_blocks\":524288") && json.contains("\"mem_type\":\"UFS\""),
        "{json}"
    );
    common::send(&mut l, "<getstorageinfo physical_partition_number=\"0\"/>");
    let raw = common::drain(&mut l);
    assert!(
        raw.iter()
            .any(|t| String::from_utf8_lossy(t).contains("{&quot;storage_info&quot;"))
    );
    assert!(is_ack(responses(&cmd(&mut l, "<nop value=\"ping\"/>"))[0]));
    assert!(is_ack(
        responses(&cmd(&mut l, "<setbootablestoragedrive value=\"1\"/>"))[0]
    ));
    assert!(!is_ack(
        responses(&cmd(&mut l, "<setbootablestoragedrive value=\"9\"/>"))[0]
    ));
    let r = cmd(&mut l, "<power value=\"reset\" DelayInSeconds=\"10\"/>");
    assert!(is_ack(responses(&r)[0]));
    assert!(matches!(
        common::read1(&mut l),
        Err(oasis_transport::TransportErrorKind::Disconnected)
    ));
    assert_eq!(b.resets(), 1);
}

#[test]
fn refusals_look_like_a_real_programmer() {
    let (b, mut l) = firehose(Profile::bg95(), &[]);
    let r = cmd(
        &mut l,
        "<benchmark trials=\"1\" TestWritePerformance=\"1\"/>",
    );
    assert!(!is_ack(responses(&r)[0]));
    assert!(logs(&r)[0].contains("benchmark"));
    let r = cmd(&mut l, "<frobnicate/>");
    assert!(!is_ack(responses(&r)[0]));
    assert!(logs(&r)[0].contains("Unrecognized tag 'frobnicate'"));
    l.write_all(
        b"<?xml version=\"1.0\" ?><data><program SECTOR_SIZE_IN_BYTES=\"2048",
        T,
    )
    .unwrap();
    let r = docs(&mut l);
    assert!(!is_ack(responses(&r)[0]));
    assert!(logs(&r)[0].contains("XML not formed correctly"));
    let r = cmd(
        &mut l,
        "<program SECTOR_SIZE_IN_BYTES=\"2048\" physical_partition_number=\"0\" start_sector=\"0\"/>",
    );
    assert!(!is_ack(responses(&r)[0]));
    assert!(
        logs(&r)[0].contains("num_partition_sectors"),
        "{:?}",
        logs(&r)
    );
    assert!(b.host_notes().len() >= 2);
}
