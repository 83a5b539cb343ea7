//! Bench helpers: generated flat packages (UFS or NAND, dense deterministic data or sparse
//! files), a byte- and exchange-counting transport wrapper, and a timestamping event sink.
//! Used only by the benches in this folder; nothing here asserts timings.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use oasis_engine::{ErrorReport, Event, FlashRequest, Verdict, spawn_flash_on};
use oasis_transport::{LinkKind, Transport, TransportError};

/// A boxed error for bench plumbing.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The shared real-world fixtures (CI clones the repo with `shared/` beside it).
pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/realworld"
    ))
}

/// The test-signed, HW-agnostic MDM9x07 Firehose programmer every generated package uses.
pub fn programmer() -> PathBuf {
    fixtures().join("loaders/000480e100000000_cc3153a80293939b_fhprg_9x07.mbn")
}

/// Storage a generated package targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// UFS, 4096-byte sectors, LUN 0 then LUN 4 (virtual profile `ufs`).
    Ufs,
    /// NAND, 2048-byte pages, 64 pages per block, erase before program (profile `eg25`).
    Nand,
}

/// How image bytes are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Deterministic pseudo-random bytes everywhere.
    Dense,
    /// A sparse file: a 4 KiB block of deterministic bytes at the start of every MiB, holes
    /// elsewhere (reads as zeros, which the UFS board does not store).
    Sparse,
}

/// xorshift64* stream, seeded.
fn fill_random(seed: u64, buf: &mut [u8]) {
    let mut x = seed | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

fn write_image(path: &Path, len: u64, fill: Fill, seed: u64) -> Result<(), BoxError> {
    let mut f = File::create(path)?;
    const MIB: u64 = 1024 * 1024;
    match fill {
        Fill::Dense => {
            let mut buf = vec![0u8; MIB as usize];
            let mut left = len;
            let mut k = 0;
            while left > 0 {
                let n = left.min(MIB) as usize;
                fill_random(seed ^ (k << 20), &mut buf[..n]);
                f.write_all(&buf[..n])?;
                left -= n as u64;
                k += 1;
            }
        }
        Fill::Sparse => {
            f.set_len(len)?;
            let mut block = vec![0u8; 4096];
            let mut at = 0;
            while at < len {
                fill_random(seed ^ at, &mut block);
                let n = (len - at).min(4096) as usize;
                f.seek(SeekFrom::Start(at))?;
                f.write_all(&block[..n])?;
                at += MIB;
            }
        }
    }
    Ok(())
}

/// A generated flat package: `images` files of `image_bytes` each, laid out one after another.
#[derive(Debug)]
pub struct GenPackage {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
    /// Virtual profile the layout fits.
    pub profile: &'static str,
    /// Bytes in all images.
    pub total: u64,
}

impl GenPackage {
    /// Generate a package in a temp dir (under `OASIS_BENCH_TMP` when set, else the system's).
    pub fn new(
        layout: Layout,
        images: u32,
        image_bytes: u64,
        fill: Fill,
    ) -> Result<Self, BoxError> {
        let dir = match std::env::var_os("OASIS_BENCH_TMP") {
            Some(p) => tempfile::tempdir_in(p)?,
            None => tempfile::tempdir()?,
        };
        let mut xml = String::from("<?xml version=\"1.0\" ?>\n<data>\n");
        let (ss, profile) = match layout {
            Layout::Ufs => (4096u64, "ufs"),
            Layout::Nand => (2048u64, "eg25"),
        };
        // UFS LUN 0 holds 2 GiB, LUN 4 1 GiB: fill LUN 0 up to 1.5 GiB, then go on in LUN 4.
        let lun0_cap = 1536 * 1024 * 1024 / ss;
        let (mut lun, mut sector) = (
            0u32,
            match layout {
                Layout::Ufs => 6,
                Layout::Nand => 0,
            },
        );
        for i in 0..images {
            let name = format!("image{i}.bin");
            write_image(
                &dir.path().join(&name),
                image_bytes,
                fill,
                0x5EED + u64::from(i),
            )?;
            let sectors = image_bytes.div_ceil(ss);
            if layout == Layout::Ufs && lun == 0 && sector + sectors > lun0_cap {
                (lun, sector) = (4, 0);
            }
            let common = match layout {
                Layout::Ufs => format!("SECTOR_SIZE_IN_BYTES=\"4096\" physical_partition_number=\"{lun}\""),
                Layout::Nand => {
                    "PAGES_PER_BLOCK=\"64\" SECTOR_SIZE_IN_BYTES=\"2048\" physical_partition_number=\"0\"".to_owned()
                }
            };
            if layout == Layout::Nand {
                xml.push_str(&format!(
                    "  <erase {common} num_partition_sectors=\"{sectors}\" start_sector=\"{sector}\"/>\n"
                ));
            }
            xml.push_str(&format!(
                "  <program {common} filename=\"{name}\" label=\"bench{i}\" num_partition_sectors=\"{sectors}\" start_sector=\"{sector}\"/>\n"
            ));
            // NAND partitions start on a block boundary (64 pages).
            sector += match layout {
                Layout::Ufs => sectors,
                Layout::Nand => sectors.div_ceil(64) * 64,
            };
        }
        xml.push_str("</data>\n");
        std::fs::write(dir.path().join("rawprogram0.xml"), xml)?;
        std::fs::copy(programmer(), dir.path().join("prog_firehose_bench.mbn"))?;
        Ok(Self {
            dir,
            profile,
            total: u64::from(images) * image_bytes,
        })
    }

    /// Read every file once so the page cache holds the package (the figures measure Oasis,
    /// not the disk). Returns the bytes read.
    pub fn warm_cache(&self) -> Result<u64, BoxError> {
        let mut total = 0;
        let mut buf = vec![0u8; 1 << 20];
        for e in std::fs::read_dir(self.root())? {
            let mut f = File::open(e?.path())?;
            loop {
                let n = std::io::Read::read(&mut f, &mut buf)?;
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
        }
        Ok(total)
    }

    /// The package folder.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A request for this package on `virtual:<profile>` (default options, our programmer).
    pub fn request(&self) -> FlashRequest {
        let mut o = oasis_engine::FlashOptions::default();
        o.programmer = Some(self.root().join("prog_firehose_bench.mbn"));
        FlashRequest::new(self.root(), format!("virtual:{}", self.profile)).with_options(o)
    }
}

/// Byte and exchange counts seen by [`Counting`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Bytes the host wrote.
    pub host_bytes: u64,
    /// Bytes the board sent.
    pub board_bytes: u64,
    /// Host writes that followed a read (each one a command the board then answers).
    pub exchanges: u64,
    /// Board answers the host waited for: successful reads that followed a write (a program
    /// has two: the rawmode ACK after the command, the final ACK after the data).
    pub turnarounds: u64,
    /// All host writes.
    pub writes: u64,
}

/// A transport wrapper that counts bytes each way and host→board exchanges.
#[derive(Debug)]
pub struct Counting<T> {
    inner: T,
    counts: Arc<Mutex<Counts>>,
    last_was_read: bool,
}

impl<T> Counting<T> {
    /// Wrap `inner`; the counts are readable through the returned handle.
    pub fn new(inner: T) -> (Self, Arc<Mutex<Counts>>) {
        let counts = Arc::new(Mutex::new(Counts::default()));
        (
            Self {
                inner,
                counts: Arc::clone(&counts),
                last_was_read: true,
            },
            counts,
        )
    }
}

impl<T: Transport> Transport for Counting<T> {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        {
            let mut c = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            c.host_bytes += buf.len() as u64;
            c.writes += 1;
            if self.last_was_read {
                c.exchanges += 1;
            }
        }
        self.last_was_read = false;
        self.inner.write_all(buf, timeout)
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let n = self.inner.read(buf, timeout)?;
        let mut c = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        c.board_bytes += n as u64;
        if !self.last_was_read {
            c.turnarounds += 1;
        }
        drop(c);
        self.last_was_read = true;
        Ok(n)
    }

    fn link_kind(&self) -> LinkKind {
        self.inner.link_kind()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Every event of a job with the time it arrived, and the job's outcome.
#[derive(Debug)]
pub struct Timed {
    /// When the job was spawned.
    pub start: Instant,
    /// Events and their arrival times.
    pub events: Vec<(Instant, Event)>,
    /// The outcome.
    pub out: Result<Verdict, ErrorReport>,
}

impl Timed {
    /// Time of the first event matching `f`.
    pub fn first(&self, f: impl Fn(&Event) -> bool) -> Option<Instant> {
        self.events.iter().find(|(_, e)| f(e)).map(|(t, _)| *t)
    }

    /// Time of the last event matching `f`.
    pub fn last(&self, f: impl Fn(&Event) -> bool) -> Option<Instant> {
        self.events
            .iter()
            .rev()
            .find(|(_, e)| f(e))
            .map(|(t, _)| *t)
    }

    /// The verdict, or the failure as an error.
    pub fn verdict(&self) -> Result<&Verdict, BoxError> {
        self.out
            .as_ref()
            .map_err(|r| format!("flash failed: {r:?}").into())
    }
}

/// Run `req` over `link`, timestamping every event on arrival.
pub fn run_timed(req: FlashRequest, link: Box<dyn Transport>) -> Timed {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let start = Instant::now();
    let h = spawn_flash_on(
        req,
        link,
        Box::new(move |e| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((Instant::now(), e));
        }),
    );
    let out = h.join();
    let events = std::mem::take(&mut *events.lock().unwrap_or_else(PoisonError::into_inner));
    Timed { start, events, out }
}

/// Megabytes (10^6) per second.
pub fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}
