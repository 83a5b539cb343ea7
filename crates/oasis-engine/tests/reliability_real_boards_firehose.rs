//! Reliability suite, real programmers (issue 13, points 3–6): virtual boards that behave the
//! way real Firehose programmers do, not the way the host expects. Each case fails without the
//! engine behaviour it names:
//! - the EG25-G programmer announces 8 functions (no getsha256digest, patch,
//!   setbootablestoragedrive): verification reads back with `PAGES_PER_BLOCK`, and a package
//!   needing an unannounced command is refused before anything is written;
//! - a single-threaded programmer that logs after its ACKs, or whose first configure takes
//!   seconds, takes nothing while the host has not read it: the host drains before writing;
//! - an image larger than its partition is refused before a byte goes to the board;
//! - a NAK in the middle of raw data reaches the user in the board's own words.
//!
//! Packages: the demo package in the repo (assets/demo-package), copied and changed per case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod link_support;
mod reliability_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use link_support::OnLink;
use oasis_engine::{ErrorKind, Event, FlashOptions, FlashRequest, Phase, spawn_flash};
use oasis_transport::{LinkKind, Transport, TransportError};
use oasis_vdev::{BoardOptions, FaultSpec, Profile, Quirks, VirtualBoard};
use reliability_support::{Run, flash, short_timeouts};

const DEMO: &str = "BG95M3LAR02A03_01.300.01.300";

/// A copy of the repo's demo package in a temp dir (md5.txt removed when `edit` changes it).
fn demo_copy(edit: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo-package");
    let tmp = tempfile::tempdir().unwrap();
    common::copy_dir(&src.join(DEMO), &tmp.path().join(DEMO));
    let root = tmp.path().join(DEMO);
    edit(&root);
    (tmp, root)
}

fn unchanged(_: &Path) {}

/// Without the md5 list: the test changed the package on purpose.
fn drop_md5(root: &Path) {
    std::fs::remove_file(root.join("md5.txt")).unwrap();
}

fn board(profile: &str, quirks: &[&str], faults: &[&str]) -> VirtualBoard {
    let mut o = BoardOptions::with_faults(FaultSpec::parse_all(faults).unwrap());
    o.quirks = Quirks::parse(quirks).unwrap();
    VirtualBoard::new(Profile::by_name(profile).unwrap(), o)
}

fn request(root: &Path, profile: &str, short: bool) -> FlashRequest {
    let mut o = FlashOptions::default();
    if short {
        o.timeouts = short_timeouts();
    }
    FlashRequest::new(root, format!("virtual:{profile}"))
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o)
}

fn infos(run: &Run) -> Vec<String> {
    run.events
        .iter()
        .filter_map(|e| match e {
            Event::Info { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The flash succeeded, verified every program step, and the board holds the package.
fn succeeds(run: &Run, board: &VirtualBoard, root: &Path, what: &str) {
    match &run.out {
        Ok(v) => assert_eq!(v.verified.len(), 7, "{what}: verified {:?}", v.verified),
        Err(r) => panic!("{what}: {r:#?}\nboard notes: {:?}", board.host_notes()),
    }
    common::check_event_order(&run.events);
    let compared = common::check_storage(board, root, &oasis_package::OpenOptions::default());
    assert!(compared > 0, "{what}: nothing compared");
}

// ---- 3. Programmers that offer less ----------------------------------------------------

#[test]
fn the_eg25_programmer_verifies_by_read_back_with_pages_per_block() {
    let (_tmp, root) = demo_copy(unchanged);
    let b = board("eg25", &[], &[]);
    let run = flash(request(&root, "eg25", true), &b);
    succeeds(&run, &b, &root, "eg25");
    let said = infos(&run);
    assert!(
        said.iter()
            .any(|m| m.contains("program configure power benchmark read getstorageinfo erase nop")),
        "the EG25-G programmer's own list: {said:#?}"
    );
    assert!(
        said.iter()
            .any(|m| m.contains("verified by reading the data back")),
        "{said:#?}"
    );
    let notes = b.host_notes();
    assert!(
        !notes.iter().any(|n| n.contains("host sent")),
        "nothing the programmer does not offer was sent: {notes:?}"
    );
}

#[test]
fn a_nand_read_without_pages_per_block_is_refused_by_the_board() {
    // The board's side of the same rule, so the case above cannot pass by accident.
    use oasis_proto::firehose::{Command, Region};
    let b = VirtualBoard::new(
        Profile::eg25(),
        BoardOptions {
            start_in: oasis_vdev::StartIn::Firehose,
            ..BoardOptions::default()
        },
    );
    let mut link = b.connect();
    let region = Region {
        sector_size: 2048,
        num_sectors: 64,
        physical_partition: 0,
        start_sector: "0".into(),
    };
    let read = |extra: Vec<(String, String)>| Command::Read {
        region: region.clone(),
        extra,
    };
    let answer = |link: &mut oasis_vdev::VirtualLink, cmd: Command| {
        link.write_all(&cmd.encode().unwrap(), Duration::from_secs(1))
            .unwrap();
        let mut all = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        while let Ok(n) = link.read(&mut buf, Duration::from_millis(50)) {
            all.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&all).into_owned()
    };
    let bad = answer(&mut link, read(Vec::new()));
    assert!(
        bad.contains("PAGES_PER_BLOCK&apos;=0 must be equal to disk pages per block 64")
            && bad.contains("NAK"),
        "{bad}"
    );
    let good = answer(
        &mut link,
        read(vec![("PAGES_PER_BLOCK".into(), "64".into())]),
    );
    assert!(good.contains("rawmode=\"true\""), "{good}");
}

#[test]
fn a_package_needing_an_unannounced_command_is_refused_before_anything_is_written() {
    let (_tmp, root) = demo_copy(|root| {
        drop_md5(root);
        let p = root.join("update/firehose/patch_p2K_b128K.xml");
        let xml = std::fs::read_to_string(&p).unwrap().replace(
            "</patches>",
            "  <patch SECTOR_SIZE_IN_BYTES=\"2048\" byte_offset=\"16\" filename=\"DISK\" physical_partition_number=\"0\" size_in_bytes=\"4\" start_sector=\"1\" value=\"0\" what=\"test\"/>\n</patches>",
        );
        std::fs::write(&p, xml).unwrap();
    });
    let b = board("eg25", &[], &[]);
    let run = flash(request(&root, "eg25", true), &b);
    let r = run.failure("patch on the EG25-G programmer");
    assert_eq!(r.kind, ErrorKind::Refused, "{r:#?}");
    assert!(
        r.message.contains("<patch>") && r.message.contains("does not offer"),
        "{}",
        r.message
    );
    assert!(
        b.written_ranges().is_empty(),
        "nothing may be written before the refusal: {:?}",
        b.written_ranges()
    );
    assert!(
        !b.host_notes().iter().any(|n| n.contains("<patch>")),
        "{:?}",
        b.host_notes()
    );
}

// ---- 4. Drain before you write ---------------------------------------------------------

#[test]
fn a_single_threaded_programmer_that_logs_after_its_acks_is_drained_before_each_write() {
    let (_tmp, root) = demo_copy(unchanged);
    let b = board("eg25", &["logs-after-ack", "single-threaded"], &[]);
    let run = flash(request(&root, "eg25", true), &b);
    succeeds(&run, &b, &root, "logs after ACK");
    let logs = run
        .events
        .iter()
        .filter(|e| matches!(e, Event::DeviceLog { line } if line.contains("Finished handling")))
        .count();
    assert!(
        logs > 10,
        "the logs after the ACKs reached the user: {logs}"
    );
}

#[test]
fn a_first_configure_that_takes_seconds_is_waited_for_not_sent_again() {
    let (_tmp, root) = demo_copy(unchanged);
    let b = board("eg25", &["slow-configure", "single-threaded"], &[]);
    // Default timeouts: storage initialisation takes longer than a shortened configure budget.
    let run = flash(request(&root, "eg25", false), &b);
    succeeds(&run, &b, &root, "slow configure");
}

#[test]
fn every_quirk_together_over_a_byte_stream_link() {
    let (_tmp, root) = demo_copy(unchanged);
    let o = BoardOptions {
        quirks: Quirks::parse(&["logs-after-ack", "slow-configure", "single-threaded"]).unwrap(),
        link: Some(LinkKind::Stream),
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(Profile::eg25(), o);
    let run = flash(request(&root, "eg25", false), &b);
    succeeds(&run, &b, &root, "all quirks, stream");
}

// ---- 5. An image larger than its partition ---------------------------------------------

/// A link that counts what the host wrote.
struct Counting {
    inner: oasis_vdev::VirtualLink,
    written: Arc<AtomicU64>,
}

impl Transport for Counting {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        self.written.fetch_add(buf.len() as u64, Ordering::SeqCst);
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

#[test]
fn an_image_larger_than_its_partition_is_refused_before_a_byte_is_sent() {
    // rpm.mbn (8 KiB) gets a partition of 2 sectors of 2048 bytes: written whole it would run
    // past the partition into sectors the package does not own.
    let (_tmp, root) = demo_copy(|root| {
        drop_md5(root);
        let p = root.join("update/firehose/rawprogram_nand_p2K_b128K.xml");
        let xml = std::fs::read_to_string(&p).unwrap().replace(
            "filename=\"..\\rpm.mbn\" num_partition_sectors=\"256\"",
            "filename=\"..\\rpm.mbn\" num_partition_sectors=\"2\"",
        );
        assert!(xml.contains("num_partition_sectors=\"2\""));
        std::fs::write(&p, xml).unwrap();
    });
    let b = board("eg25", &[], &[]);
    let written = Arc::new(AtomicU64::new(0));
    let link = Counting {
        inner: b.connect(),
        written: written.clone(),
    };
    let h = spawn_flash(
        request(&root, "eg25", true).on_link(Box::new(link)),
        Box::new(|_| {}),
    );
    let r = h.join().expect_err("an oversized image must be refused");
    assert_eq!(r.kind, ErrorKind::BadInput, "{r:#?}");
    assert_eq!(r.kind.exit_code(), 2);
    for part in ["rpm.mbn", "8192 bytes", "4096 bytes"] {
        assert!(r.message.contains(part), "{part} in: {}", r.message);
    }
    assert_eq!(written.load(Ordering::SeqCst), 0, "bytes went to the board");
    assert!(b.written_ranges().is_empty());
}

#[test]
fn an_open_size_entry_is_still_planned_from_the_file() {
    // num_partition_sectors="0": the size comes from the file, as before.
    let (_tmp, root) = demo_copy(|root| {
        drop_md5(root);
        let p = root.join("update/firehose/rawprogram_nand_p2K_b128K.xml");
        let xml = std::fs::read_to_string(&p).unwrap().replace(
            "filename=\"..\\rpm.mbn\" num_partition_sectors=\"256\"",
            "filename=\"..\\rpm.mbn\" num_partition_sectors=\"0\"",
        );
        assert!(xml.contains("num_partition_sectors=\"0\""));
        std::fs::write(&p, xml).unwrap();
    });
    let b = board("eg25", &[], &[]);
    let run = flash(request(&root, "eg25", true), &b);
    succeeds(&run, &b, &root, "open size");
}

// ---- 6. A NAK in the middle of raw data ------------------------------------------------

#[test]
fn a_nak_in_the_middle_of_raw_data_reaches_the_user_in_the_boards_words() {
    let (_tmp, root) = demo_copy(unchanged);
    // The second program step (MIBIB, 64 KiB = 8 payloads) fails half-way.
    let b = board("eg25", &[], &["nak-in-data:program#2"]);
    let run = flash(request(&root, "eg25", true), &b);
    let r = run.failure("NAK in raw data");
    assert_eq!(
        (r.kind, r.phase),
        (ErrorKind::Nak, Some(Phase::Program)),
        "{r:#?}"
    );
    let words = "NAND program operation failed";
    assert!(
        r.device_log.iter().any(|l| l.contains(words)),
        "the board's own words: {r:#?}"
    );
    assert!(!r.message.contains("timed out"), "{}", r.message);
}
