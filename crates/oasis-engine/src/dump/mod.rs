//! Reading a board back: partitions by label (from the board's own MIBIB or GPT, else the
//! package's table) or raw sector ranges, each into a file of the output folder, with
//! `manifest.json` (label, start, sectors, bytes, SHA-256, board identity, time).
//!
//! Nothing is written to the board: the job sends `configure` and `<read>` only (and the
//! Sahara upload of the programmer). On NAND the programmer skips bad blocks itself while it
//! reads (qdl, QFirehose and edl leave that to it too); the log lines it sends about bad
//! blocks are kept with the partition in the manifest. The board stays in download mode.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use oasis_package::nand::PartitionTable;
use oasis_package::{OpenOptions, Package, StepOp};
use oasis_transport::Transport;
use serde::{Deserialize, Serialize};

use crate::backup::BoardInfo;
use crate::connect::ProgrammerImage;
use crate::error::EngineError;
use crate::event::{Phase, PhasePlan, Verdict};
use crate::firehose::Firehose;
use crate::options::Timeouts;
use crate::paths;
use crate::pkgmap;
use crate::port;
use crate::progress::Emitter;
use crate::session;

/// File name of the manifest inside a dump folder.
pub const MANIFEST: &str = "manifest.json";
/// Version of the dump manifest.
pub const FORMAT: u32 = 1;

mod layout;

use layout::{board_table, choose, file_name};

/// A raw sector range: `START:SECTORS`, or `LUN:START:SECTORS` on storage with physical
/// partitions (UFS LUNs, eMMC boot partitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRange {
    /// Physical partition (LUN).
    pub physical_partition: u32,
    /// First sector (NAND: page).
    pub start_sector: u64,
    /// Number of sectors.
    pub sectors: u64,
}

impl RawRange {
    /// Parse `START:SECTORS` or `LUN:START:SECTORS` (decimal, or hex with `0x`).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let num = |s: &str, what: &str| -> Result<u64, String> {
            let t = s.trim();
            let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => t.parse::<u64>().ok(),
            };
            v.ok_or_else(|| format!("--raw {spec}: {what} '{t}' is not a number"))
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let (lun, start, sectors) = match parts.as_slice() {
            [s, n] => (0, num(s, "START")?, num(n, "SECTORS")?),
            [l, s, n] => {
                let lun = u32::try_from(num(l, "LUN")?)
                    .map_err(|_| format!("--raw {spec}: LUN '{l}' is too large"))?;
                (lun, num(s, "START")?, num(n, "SECTORS")?)
            }
            _ => {
                return Err(format!(
                    "--raw {spec}: expected START:SECTORS or LUN:START:SECTORS"
                ));
            }
        };
        if sectors == 0 {
            return Err(format!("--raw {spec}: SECTORS must be at least 1"));
        }
        Ok(Self {
            physical_partition: lun,
            start_sector: start,
            sectors,
        })
    }
}

/// A read-back job: which board, which package (programmer and partition table), what, where.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DumpRequest {
    /// The board's port (any form `flash` takes).
    pub port: String,
    /// The package made for the module (its programmer and partition table).
    pub package: PathBuf,
    /// The output folder (created; must be new or empty).
    pub out: PathBuf,
    /// Partitions to read, by label.
    pub partitions: Vec<String>,
    /// Read every partition of the table.
    pub all: bool,
    /// Raw sector ranges to read.
    pub raw: Vec<RawRange>,
    /// Programmer to use instead of the package's.
    pub programmer: Option<PathBuf>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Bytes that must stay free on the disk beyond the files read (0 = the default, 16 MiB).
    pub reserve: u64,
    /// Where the port is found and opened (this computer unless the caller says otherwise).
    pub bus: oasis_transport::BusHandle,
}

impl DumpRequest {
    /// Read back from the board on `port` with `package`'s programmer into `out`.
    pub fn new(
        port: impl Into<String>,
        package: impl Into<PathBuf>,
        out: impl Into<PathBuf>,
    ) -> Self {
        Self {
            port: port.into(),
            package: package.into(),
            out: out.into(),
            ..Self::default()
        }
    }
}

/// One partition (or raw range) read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpEntry {
    /// The label (`raw` for a raw range).
    pub label: String,
    /// Physical partition (LUN).
    pub physical_partition: u32,
    /// First sector (NAND: page).
    pub start_sector: u64,
    /// Number of sectors.
    pub sectors: u64,
    /// Sector (page) size.
    pub sector_size: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file (lower-case hex).
    pub sha256: String,
    /// File in the output folder.
    pub file: String,
    /// What the programmer said while reading it (bad blocks skipped, on NAND).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// `manifest.json` of a dump folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpManifest {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// What this folder is: `oasis-dump`.
    pub kind: String,
    /// When it was read (UTC, ISO 8601).
    pub created: String,
    /// The tool and version that read it.
    pub tool: String,
    /// The board, when known (a dump is the user's own data: identifiers are kept).
    pub board: BoardInfo,
    /// Storage type (`nand`, `emmc`, `ufs`).
    pub memory: String,
    /// Sector (page) size.
    pub sector_size: u32,
    /// Where the labels came from.
    pub table_source: String,
    /// The package used.
    pub package: String,
    /// What was read, in order.
    pub entries: Vec<DumpEntry>,
    /// Facts noted while locating the partitions.
    pub notes: Vec<String>,
}

impl DumpManifest {
    /// Total bytes read.
    pub fn total_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.bytes).sum()
    }
}

/// A partition the board can be asked for by label.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Labelled {
    label: String,
    lun: u32,
    start: u64,
    sectors: Option<u64>,
}

struct Source {
    programmer: ProgrammerImage,
    table: Option<PartitionTable>,
    /// Labels and sizes of the package's plan (program steps), for tables without sizes.
    plan: Vec<Labelled>,
    memory: String,
    sector_size: u32,
    pages_per_block: Option<u32>,
    package: String,
    _package: Package,
}

fn source(req: &DumpRequest) -> Result<Source, EngineError> {
    if req.partitions.is_empty() && req.raw.is_empty() && !req.all {
        return Err(EngineError::BadInput {
            what: "nothing to read: name partitions, --all, or a --raw range".to_owned(),
            help: Some(
                "e.g. `oasis-cli dump --port PORT --package PKG --out DIR --partition modem`"
                    .to_owned(),
            ),
        });
    }
    let mut notes = Vec::new();
    let mut open = OpenOptions::default();
    open.programmer.clone_from(&req.programmer);
    let pkg = Package::open(&req.package, &open)?;
    let programmer = pkgmap::load_programmer(&pkg, &mut notes)?;
    let sector_size = pkg
        .sector_size
        .or_else(|| pkg.plan.first().map(|s| s.sector_size))
        .unwrap_or(512);
    let plan = pkg
        .plan
        .iter()
        .filter(|s| matches!(s.op, StepOp::Program) && !s.label.is_empty())
        .filter_map(|s| {
            Some(Labelled {
                label: s.label.clone(),
                lun: s.physical_partition_number,
                start: s.start_sector.trim().parse().ok()?,
                sectors: s.sectors,
            })
        })
        .collect();
    Ok(Source {
        programmer,
        table: pkg.partitions.clone(),
        plan,
        memory: pkgmap::memory_name(&pkg, sector_size, &mut notes),
        sector_size,
        pages_per_block: pkg.pages_per_block,
        package: pkg.root.display().to_string(),
        _package: pkg,
    })
}

fn phases(programmer: u64) -> Vec<PhasePlan> {
    [
        (Phase::Connect, 0),
        (Phase::Identify, 0),
        (Phase::Upload, programmer),
        (Phase::Configure, 0),
        (Phase::Read, 0),
    ]
    .into_iter()
    .map(|(phase, bytes)| PhasePlan {
        phase,
        weight: phase.weight(),
        bytes,
    })
    .collect()
}

fn out_err(what: String) -> EngineError {
    EngineError::Backup {
        what,
        help: "choose a writable folder on a disk with free space (an empty or new folder)"
            .to_owned(),
    }
}

/// Run a read-back job, opening the port.
pub(crate) fn dump_job(req: &DumpRequest, em: &mut Emitter) -> Result<Verdict, EngineError> {
    let src = source(req)?;
    crate::paths::fresh_dir(&req.out, "dump")?;
    em.plan_ready(phases(src.programmer.bytes.len() as u64), 0, 0);
    em.start_phase(Phase::Connect, 0);
    let fallback = port::default_profile(&src.memory, src.sector_size);
    let opened = port::open(&req.bus, &req.port, fallback, &req.timeouts, em)?;
    let _claim = opened.claim;
    let imei = opened.before.and_then(|p| p.imei);
    dump_on(req, &src, opened.link, imei, em)
}

fn dump_on(
    req: &DumpRequest,
    src: &Source,
    link: Box<dyn Transport>,
    imei: Option<String>,
    em: &mut Emitter,
) -> Result<Verdict, EngineError> {
    let t = &req.timeouts;
    em.info(format!("connected to {}", link.describe()));
    let mut s = session::start(
        link,
        &src.programmer,
        &src.memory,
        src.sector_size,
        src.pages_per_block,
        true,
        t,
        em,
    )?;
    let (table, table_source, mut notes) = board_table(&mut s, src, t, em)?;
    let wanted = choose(req, &table, &table_source, src)?;
    let total: u64 = wanted
        .iter()
        .map(|(_, r)| r.sectors.saturating_mul(u64::from(src.sector_size)))
        .sum();
    // A disk that fills half way leaves half a dump: refused before the first read.
    crate::paths::ensure_space(
        &req.out,
        total,
        req.reserve,
        em,
        "free some space or name a folder on another disk with --out; nothing was read and the board stays in download mode",
    )?;
    em.start_phase(Phase::Read, total);
    let mut entries: Vec<DumpEntry> = Vec::new();
    for (label, r) in &wanted {
        em.check_cancel()?;
        em.set_partition(Some(label));
        let file = file_name(label, r, &entries);
        let path = req.out.join(&file);
        let f = File::create(&path)
            .map_err(|e| out_err(format!("cannot create {}: {e}", path.display())))?;
        let mut w = BufWriter::new(f);
        let (sha, said) = read_logged(&mut s.fh, em, label, r, src.sector_size, t, &mut w)?;
        w.flush()
            .map_err(|e| out_err(format!("cannot write {}: {e}", path.display())))?;
        for n in &said {
            em.info(format!("{label}: the programmer says: {n}"));
        }
        entries.push(DumpEntry {
            label: label.clone(),
            physical_partition: r.physical_partition,
            start_sector: r.start_sector,
            sectors: r.sectors,
            sector_size: src.sector_size,
            bytes: r.sectors.saturating_mul(u64::from(src.sector_size)),
            sha256: hex::encode(sha),
            file,
            notes: said,
        });
    }
    notes.retain(|n| !n.is_empty());
    let manifest = DumpManifest {
        format: FORMAT,
        kind: "oasis-dump".to_owned(),
        created: paths::iso8601(paths::now_unix()),
        tool: format!("oasis {}", env!("CARGO_PKG_VERSION")),
        board: BoardInfo::from_identity(s.identity.as_ref(), imei),
        memory: src.memory.to_ascii_lowercase(),
        sector_size: src.sector_size,
        table_source,
        package: src.package.clone(),
        entries,
        notes,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| EngineError::Internal(format!("manifest not serialisable: {e}")))?;
    let mpath = req.out.join(MANIFEST);
    std::fs::write(&mpath, text + "\n")
        .map_err(|e| out_err(format!("cannot write {}: {e}", mpath.display())))?;
    let names: Vec<&str> = manifest.entries.iter().map(|e| e.label.as_str()).collect();
    Ok(Verdict {
        summary: format!(
            "read {} ({} bytes) into {}; the board stays in download mode",
            names.join(", "),
            manifest.total_bytes(),
            req.out.display()
        ),
        verified: Vec::new(),
        skipped: Vec::new(),
        bytes: manifest.total_bytes(),
        seconds: em.elapsed(),
        confirmed: false,
        running_revision: None,
    })
}

/// Lines a programmer sends about bad blocks it skipped (or could not read around).
fn bad_block_lines(logs: &[String]) -> impl Iterator<Item = &String> {
    logs.iter().filter(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("bad block") || l.contains("badblock") || l.contains("bad_block")
    })
}

/// One `<read>` of `r` into `out`: its SHA-256 and the programmer's bad-block lines.
fn read_logged(
    fh: &mut Firehose,
    em: &mut Emitter,
    label: &str,
    r: &RawRange,
    sector_size: u32,
    t: &Timeouts,
    out: &mut dyn Write,
) -> Result<([u8; 32], Vec<String>), EngineError> {
    let (sha, logs) = session::read_range_logged(
        fh,
        em,
        label,
        r.physical_partition,
        r.start_sector,
        r.sectors,
        sector_size,
        t,
        out,
    )?;
    Ok((sha, bad_block_lines(&logs).cloned().collect()))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
