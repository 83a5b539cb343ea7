//! `dump` reads back what a flash wrote, byte for byte, and writes nothing: the demo package is
//! flashed onto an in-process virtual BG95 (programmer left running), then its partitions are
//! read back by label and as a raw range, and compared with the package's images and with the
//! board's storage; the dump's link carries no program/erase/patch and the storage is unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod link_support;
mod safety_support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use link_support::OnLink;
use oasis_engine::dump::{DumpManifest, RawRange};
use oasis_engine::{
    DumpRequest, ErrorKind, FlashOptions, FlashRequest, Phase, spawn_dump, spawn_flash,
};
use oasis_package::{OpenOptions, Package, StepOp};
use oasis_transport::{LinkKind, Transport, TransportError};
use oasis_vdev::{BoardOptions, VirtualBoard};
use safety_support::{board, phases, power_cycle, quick, run, sha256};

fn demo() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-package/BG95M3LAR02A03_01.300.01.300"
    ))
}

/// Host writes of a link, kept for the test to inspect.
struct Tap {
    inner: Box<dyn Transport>,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Transport for Tap {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        self.sent.lock().unwrap().extend_from_slice(buf);
        self.inner.write_all(buf, timeout)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.inner.read(buf, timeout)
    }
    fn link_kind(&self) -> LinkKind {
        self.inner.link_kind()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// A BG95 holding the demo package, its programmer still running.
fn flashed() -> VirtualBoard {
    let b = board("bg95");
    let mut o = FlashOptions::default();
    o.no_reset = true;
    o.timeouts = quick();
    let req = FlashRequest::new(demo(), "virtual:bg95")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(b.connect())), sink));
    out.unwrap();
    b
}

fn storage(b: &VirtualBoard) -> Vec<(u32, u64, u64, String)> {
    b.written_ranges()
        .into_iter()
        .map(|r| {
            let data = b.read_storage(r.lun, r.start_sector, r.sectors);
            (r.lun, r.start_sector, r.sectors, sha256(&data))
        })
        .collect()
}

fn dump(
    b: &VirtualBoard,
    out: &Path,
    labels: &[&str],
    all: bool,
    raw: &[RawRange],
) -> (
    Result<oasis_engine::Verdict, oasis_engine::ErrorReport>,
    Vec<oasis_engine::Event>,
    Vec<u8>,
) {
    let mut req = DumpRequest::new("virtual:bg95", demo(), out);
    req.bus = oasis_vdev::bus::demand();
    req.partitions = labels.iter().map(|s| (*s).to_owned()).collect();
    req.all = all;
    req.raw = raw.to_vec();
    req.timeouts = quick();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let tap = Tap {
        inner: Box::new(b.connect()),
        sent: Arc::clone(&sent),
    };
    let (outcome, events) = run(|sink| spawn_dump(req.on_link(Box::new(tap)), sink));
    let bytes = sent.lock().unwrap().clone();
    (outcome, events, bytes)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_partition_reads_back_what_the_flash_wrote_and_nothing_is_written() {
    // Power-cycled after the flash: the dump goes through Sahara (identity, upload) itself.
    let b = power_cycle(&flashed(), BoardOptions::default());
    let before = storage(&b);
    assert!(!before.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dump");
    let (outcome, events, sent) = dump(&b, &out, &[], true, &[]);
    let v = outcome.unwrap();
    assert!(phases(&events).contains(&Phase::Read), "{events:?}");
    // Nothing was written: no writing command went out, and the storage is as it was.
    for cmd in [
        &b"<program"[..],
        b"<erase",
        b"<patch",
        b"<setbootablestoragedrive",
    ] {
        assert!(
            !contains(&sent, cmd),
            "{} sent",
            String::from_utf8_lossy(cmd)
        );
    }
    assert!(contains(&sent, b"<read"));
    assert_eq!(storage(&b), before);

    let m: DumpManifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.kind, "oasis-dump");
    assert_eq!(m.table_source, "the board's MIBIB");
    assert_eq!(m.memory, "nand");
    assert_eq!(v.bytes, m.total_bytes());
    assert_eq!(
        m.board.serial,
        Some(format!("{:08x}", b.profile().serial)),
        "{m:?}"
    );
    // Each file is what the board holds, and its manifest line says so.
    for e in &m.entries {
        let data = std::fs::read(out.join(&e.file)).unwrap();
        assert_eq!(data.len() as u64, e.bytes, "{}", e.label);
        assert_eq!(sha256(&data), e.sha256, "{}", e.label);
        assert_eq!(
            data,
            b.read_storage(e.physical_partition, e.start_sector, e.sectors),
            "{}",
            e.label
        );
    }
    // And every image of the package is in the partition it was written to, byte for byte.
    let pkg = Package::open(&demo(), &OpenOptions::default()).unwrap();
    let mut compared = 0;
    for s in pkg.plan.iter().filter(|s| matches!(s.op, StepOp::Program)) {
        let Some(path) = &s.path else { continue };
        let image = std::fs::read(path).unwrap();
        let start: u64 = s.start_sector.parse().unwrap();
        let e = m
            .entries
            .iter()
            .find(|e| e.start_sector <= start && start < e.start_sector + e.sectors)
            .unwrap_or_else(|| panic!("no partition holds sector {start}: {m:?}"));
        let data = std::fs::read(out.join(&e.file)).unwrap();
        let off = usize::try_from((start - e.start_sector) * u64::from(e.sector_size)).unwrap();
        assert_eq!(
            &data[off..off + image.len()],
            &image[..],
            "{} in {}",
            path.display(),
            e.label
        );
        compared += 1;
    }
    assert!(compared >= 5, "{compared} images compared");
}

#[test]
fn labels_and_raw_ranges_and_an_unknown_label() {
    let b = flashed();
    let tmp = tempfile::tempdir().unwrap();
    // A label (any case, with a `0:` prefix) and a raw range of the same pages.
    let out = tmp.path().join("one");
    let (outcome, _, _) = dump(
        &b,
        &out,
        &["0:sbl"],
        false,
        &[RawRange {
            physical_partition: 0,
            start_sector: 0,
            sectors: 8,
        }],
    );
    outcome.unwrap();
    let m: DumpManifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.entries.len(), 2, "{m:?}");
    assert_eq!(m.entries[1].label, "raw");
    assert_eq!(m.entries[1].file, "raw-lun0-0-8.bin");
    let sbl = std::fs::read(out.join(&m.entries[0].file)).unwrap();
    let raw = std::fs::read(out.join(&m.entries[1].file)).unwrap();
    assert_eq!(&sbl[..raw.len()], &raw[..]);
    let image = std::fs::read(demo().join("update/sbl1.mbn")).unwrap();
    assert_eq!(&sbl[..image.len()], &image[..]);

    // An unknown label: bad input naming it and the labels there are; no file written.
    let out = tmp.path().join("two");
    let (outcome, _, sent) = dump(&b, &out, &["nosuch"], false, &[]);
    let r = outcome.unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput);
    assert!(r.message.contains("'nosuch'"), "{}", r.message);
    assert!(r.message.contains("SBL"), "{}", r.message);
    assert!(!contains(&sent, b"<program"));
    let files: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(files.is_empty(), "{files:?}");

    // A folder that is not empty is refused before the board is touched.
    let (outcome, _, sent) = dump(&b, tmp.path(), &["SBL"], false, &[]);
    assert_eq!(outcome.unwrap_err().kind, ErrorKind::BadInput);
    assert!(sent.is_empty());
}

/// A disk without room for what was asked is refused before the first partition is read
/// (a disk that fills half way would leave half a dump); the board stays in download mode.
#[test]
fn a_disk_without_room_for_the_dump_is_refused_before_reading() {
    let b = flashed();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("full");
    let mut req = DumpRequest::new("virtual:bg95", demo(), &out);
    req.bus = oasis_vdev::bus::demand();
    req.all = true;
    req.timeouts = quick();
    // More room than any disk has.
    req.reserve = u64::MAX / 2;
    let (outcome, _) = run(|sink| spawn_dump(req.on_link(Box::new(b.connect())), sink));
    let r = outcome.unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused, "{r:?}");
    assert!(r.message.contains("free"), "{}", r.message);
    assert!(
        r.hint.as_deref().is_some_and(|h| h.contains("--out")),
        "{r:?}"
    );
    let files: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(files.is_empty(), "{files:?}");
}

/// A GPT disk image: protective MBR sector, header at LBA 1, 128 entries of 128 bytes at LBA 2.
fn gpt(entries: &[(&str, u64, u64)]) -> Vec<u8> {
    let mut d = vec![0u8; 512 * 34];
    d[512..520].copy_from_slice(b"EFI PART");
    d[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
    d[512 + 80..512 + 84].copy_from_slice(&128u32.to_le_bytes());
    d[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
    for (i, (name, first, last)) in entries.iter().enumerate() {
        let at = 1024 + i * 128;
        d[at] = 0xA2; // a non-zero type GUID
        d[at + 32..at + 40].copy_from_slice(&first.to_le_bytes());
        d[at + 40..at + 48].copy_from_slice(&last.to_le_bytes());
        for (j, c) in name.encode_utf16().enumerate() {
            d[at + 56 + 2 * j..at + 58 + 2 * j].copy_from_slice(&c.to_le_bytes());
        }
    }
    d
}

/// eMMC: labels come from the board's GPT (LUN 0), raw ranges may name a boot partition.
#[test]
fn emmc_labels_come_from_the_boards_gpt_and_raw_ranges_pick_a_lun() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    // A package that only names its programmer and one rawprogram step (not flashed here).
    std::fs::write(
        pkg.join("rawprogram0.xml"),
        r#"<?xml version="1.0" ?>
<data>
  <program SECTOR_SIZE_IN_BYTES="512" filename="" label="modem" num_partition_sectors="64" physical_partition_number="0" start_sector="100"/>
</data>
"#,
    )
    .unwrap();
    std::fs::write(
        pkg.join("prog_emmc_firehose_8916.mbn"),
        safety_support::sha256(b"programmer").repeat(64),
    )
    .unwrap();
    // Its programmer already runs (the file above is no ELF a boot ROM would take).
    let b = VirtualBoard::new(
        oasis_vdev::Profile::emmc(),
        BoardOptions {
            start_in: oasis_vdev::StartIn::Firehose,
            ..BoardOptions::default()
        },
    );
    b.write_storage(0, 0, &gpt(&[("modem", 100, 163), ("persist", 200, 215)]))
        .unwrap();
    let persist: Vec<u8> = (0..16 * 512).map(|i| (i % 251) as u8).collect();
    b.write_storage(0, 200, &persist).unwrap();
    let boot: Vec<u8> = (0..4 * 512).map(|i| (i % 13) as u8).collect();
    b.write_storage(1, 8, &boot).unwrap();
    let out = tmp.path().join("dump");
    let mut req = DumpRequest::new("virtual:emmc", &pkg, &out);
    req.bus = oasis_vdev::bus::demand();
    req.partitions = vec!["persist".into()];
    req.raw = vec![RawRange::parse("1:8:4").unwrap()];
    req.timeouts = quick();
    let (outcome, events) = run(|sink| spawn_dump(req.on_link(Box::new(b.connect())), sink));
    outcome.unwrap_or_else(|e| panic!("{e:?}\n{events:?}"));
    let m: DumpManifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.table_source, "the board's GPT");
    assert_eq!(m.entries[0].label, "persist");
    assert_eq!(std::fs::read(out.join("persist.bin")).unwrap(), persist);
    assert_eq!(m.entries[1].physical_partition, 1);
    assert_eq!(std::fs::read(out.join("raw-lun1-8-4.bin")).unwrap(), boot);
}
