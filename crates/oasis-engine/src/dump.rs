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
use std::path::{Path, PathBuf};

use oasis_package::nand::{PartitionTable, mibib_table, parse_mibib};
use oasis_package::{OpenOptions, Package, StepOp};
use oasis_proto::firehose::Region as FhRegion;
use oasis_transport::Transport;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
use crate::regions::{self, SectorReader};
use crate::session::{self, BoardReader, Session};

/// File name of the manifest inside a dump folder.
pub const MANIFEST: &str = "manifest.json";
/// Version of the dump manifest.
pub const FORMAT: u32 = 1;
/// Largest raw read asked of the link at once.
const READ_CHUNK: usize = 1024 * 1024;

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
    let pkg = Package::open(&req.package, &open).map_err(|e| pkgmap::package_error(&e))?;
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

/// Create `dir` (it must not exist, or be empty).
fn prepare_dir(dir: &Path) -> Result<(), EngineError> {
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(EngineError::BadInput {
            what: format!("the output folder {} is not empty", dir.display()),
            help: Some("name a new folder: a dump never overwrites files".to_owned()),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        out_err(format!(
            "cannot create the output folder {}: {e}",
            dir.display()
        ))
    })
}

/// Run a read-back job, opening the port.
pub(crate) fn dump_job(req: &DumpRequest, em: &mut Emitter) -> Result<Verdict, EngineError> {
    let src = source(req)?;
    prepare_dir(&req.out)?;
    em.plan_ready(phases(src.programmer.bytes.len() as u64), 0, 0);
    em.start_phase(Phase::Connect, 0);
    let fallback = port::default_profile(&src.memory, src.sector_size);
    let opened = port::open(&req.port, fallback, &req.timeouts, em)?;
    let _lock = opened.lock;
    let imei = opened.before.and_then(|p| p.imei);
    dump_on(req, &src, opened.link, imei, em)
}

/// Run a read-back job over a link the caller opened.
pub(crate) fn dump_job_on(
    req: &DumpRequest,
    link: Box<dyn Transport>,
    em: &mut Emitter,
) -> Result<Verdict, EngineError> {
    let src = source(req)?;
    prepare_dir(&req.out)?;
    em.plan_ready(phases(src.programmer.bytes.len() as u64), 0, 0);
    em.start_phase(Phase::Connect, 0);
    dump_on(req, &src, link, None, em)
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
        true,
        t,
        em,
    )?;
    // NAND programmers refuse a <read> without the device's PAGES_PER_BLOCK.
    session::nand_reads(&mut s.fh, &src.memory, src.pages_per_block, em);
    let (table, table_source, mut notes) = board_table(&mut s, src, t, em)?;
    let wanted = choose(req, &table, &table_source, src)?;
    let total: u64 = wanted
        .iter()
        .map(|(_, r)| r.sectors.saturating_mul(u64::from(src.sector_size)))
        .sum();
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

/// The labelled partitions of the board: NAND its MIBIB (where the package's table puts it),
/// eMMC/UFS its GPTs; the package's table when the board's does not read back valid.
fn board_table(
    s: &mut Session,
    src: &Source,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<(Vec<Labelled>, String, Vec<String>), EngineError> {
    let mut notes = Vec::new();
    let from_pkg = |tbl: &PartitionTable| -> Vec<Labelled> {
        tbl.partitions
            .iter()
            .map(|p| Labelled {
                label: p.short_name().to_owned(),
                lun: p.physical_partition_number,
                start: p.start_sector,
                sectors: p.sectors,
            })
            .collect()
    };
    let mut reader = BoardReader {
        fh: &mut s.fh,
        em,
        t,
    };
    if src.memory.eq_ignore_ascii_case("nand") {
        let ppb = src
            .table
            .as_ref()
            .and_then(|t| t.pages_per_block)
            .or(src.pages_per_block)
            .unwrap_or(64)
            .max(1);
        if let Some(start) = src
            .table
            .as_ref()
            .and_then(|t| t.find("MIBIB"))
            .map(|p| p.start_sector)
        {
            let bytes = reader.read_sectors(0, start, u64::from(ppb.min(64)), src.sector_size)?;
            if let Ok((_, entries)) = parse_mibib(Path::new("board MIBIB"), &bytes) {
                let tbl = mibib_table(Path::new("board"), &entries, ppb);
                if !tbl.partitions.is_empty() {
                    return Ok((from_pkg(&tbl), "the board's MIBIB".to_owned(), notes));
                }
            }
            notes.push(
                "the board's MIBIB did not read back with a valid magic: using the package's partition table"
                    .to_owned(),
            );
        }
    } else {
        let mut luns: Vec<u32> = src
            .table
            .as_ref()
            .map(|t| {
                t.partitions
                    .iter()
                    .map(|p| p.physical_partition_number)
                    .collect()
            })
            .unwrap_or_default();
        luns.extend(src.plan.iter().map(|p| p.lun));
        if src.memory.eq_ignore_ascii_case("ufs") {
            luns.extend(0..6);
        }
        luns.push(0);
        luns.sort_unstable();
        luns.dedup();
        let mut found = Vec::new();
        for lun in luns {
            match regions::read_gpt(&mut reader, lun, src.sector_size) {
                Ok(Some(entries)) => found.extend(entries.into_iter().filter_map(|e| {
                    let sectors = e.last.checked_sub(e.first)?.checked_add(1)?;
                    Some(Labelled {
                        label: e.label,
                        lun,
                        start: e.first,
                        sectors: Some(sectors),
                    })
                })),
                Ok(None) => {}
                Err(e) => notes.push(format!(
                    "the GPT of physical partition {lun} could not be read: {e}"
                )),
            }
        }
        if !found.is_empty() {
            return Ok((found, "the board's GPT".to_owned(), notes));
        }
        notes.push("the board's GPT did not read back valid".to_owned());
    }
    if let Some(tbl) = &src.table {
        let name = tbl.file.as_ref().and_then(|f| f.file_name()).map_or_else(
            || "the package's partition table".to_owned(),
            |n| format!("the package's {}", n.to_string_lossy()),
        );
        return Ok((from_pkg(tbl), name, notes));
    }
    Ok((
        src.plan.clone(),
        "the package's rawprogram labels".to_owned(),
        notes,
    ))
}

/// What to read: the named partitions (all of them with `all`), then the raw ranges.
fn choose(
    req: &DumpRequest,
    table: &[Labelled],
    table_source: &str,
    src: &Source,
) -> Result<Vec<(String, RawRange)>, EngineError> {
    let size = |p: &Labelled| -> Option<u64> {
        p.sectors.filter(|n| *n > 0).or_else(|| {
            src.plan
                .iter()
                .find(|q| q.label.eq_ignore_ascii_case(&p.label) && q.lun == p.lun)
                .and_then(|q| q.sectors)
                .filter(|n| *n > 0)
        })
    };
    let as_range = |p: &Labelled, n: u64| RawRange {
        physical_partition: p.lun,
        start_sector: p.start,
        sectors: n,
    };
    let mut out = Vec::new();
    if req.all {
        for p in table {
            if let Some(n) = size(p) {
                out.push((p.label.clone(), as_range(p, n)));
            }
        }
    }
    let mut unknown = Vec::new();
    for name in &req.partitions {
        let short = name.split_once(':').map_or(name.as_str(), |(a, b)| {
            if a.chars().all(|c| c.is_ascii_digit()) {
                b
            } else {
                name.as_str()
            }
        });
        match table.iter().find(|p| p.label.eq_ignore_ascii_case(short)) {
            Some(p) => {
                let Some(n) = size(p) else {
                    return Err(EngineError::BadInput {
                        what: format!(
                            "the partition '{}' has no size in {table_source} (it grows to the end of the storage)",
                            p.label
                        ),
                        help: Some(format!(
                            "read it as a range: --raw {}:{}:SECTORS",
                            p.lun, p.start
                        )),
                    });
                };
                if !out.iter().any(|(l, _): &(String, RawRange)| l == &p.label) {
                    out.push((p.label.clone(), as_range(p, n)));
                }
            }
            None => unknown.push(name.clone()),
        }
    }
    if !unknown.is_empty() {
        let labels: Vec<&str> = table.iter().map(|p| p.label.as_str()).collect();
        return Err(EngineError::BadInput {
            what: format!(
                "no partition named {} in {table_source}; the partitions are: {}",
                unknown
                    .iter()
                    .map(|u| format!("'{u}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if labels.is_empty() {
                    "(none)".to_owned()
                } else {
                    labels.join(", ")
                }
            ),
            help: Some(
                "name one of those with --partition, or read a sector range with --raw START:SECTORS"
                    .to_owned(),
            ),
        });
    }
    for r in &req.raw {
        out.push(("raw".to_owned(), *r));
    }
    Ok(out)
}

fn file_name(label: &str, r: &RawRange, taken: &[DumpEntry]) -> String {
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if label == "raw" {
        format!(
            "raw-lun{}-{}-{}",
            r.physical_partition, r.start_sector, r.sectors
        )
    } else if clean.is_empty() || clean.eq_ignore_ascii_case("manifest") {
        format!("partition-{clean}")
    } else {
        clean
    };
    let mut name = format!("{base}.bin");
    let mut n = 2;
    while taken.iter().any(|b| b.file.eq_ignore_ascii_case(&name)) {
        name = format!("{base}-{n}.bin");
        n += 1;
    }
    name
}

/// Lines a programmer sends about bad blocks it skipped (or could not read around).
fn bad_block_lines(logs: &[String]) -> impl Iterator<Item = &String> {
    logs.iter().filter(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("bad block") || l.contains("badblock") || l.contains("bad_block")
    })
}

/// One `<read>` of `r` into `out`: its SHA-256 and the programmer's bad-block lines.
#[allow(clippy::too_many_arguments)] // one Firehose <read>: every attribute is needed
fn read_logged(
    fh: &mut Firehose,
    em: &mut Emitter,
    label: &str,
    r: &RawRange,
    sector_size: u32,
    t: &Timeouts,
    out: &mut dyn Write,
) -> Result<([u8; 32], Vec<String>), EngineError> {
    let cmd = fh.read_command(FhRegion {
        sector_size,
        num_sectors: r.sectors,
        physical_partition: r.physical_partition,
        start_sector: r.start_sector.to_string(),
    });
    let part = Some(label);
    let reply = fh.transact(em, &cmd, part, t.program_ack)?;
    if !reply.is_ack() || !reply.rawmode() {
        return Err(fh.nak("<read>", part, reply.logs()));
    }
    let mut said: Vec<String> = bad_block_lines(reply.logs()).cloned().collect();
    let mut hasher = Sha256::new();
    let mut left = r.sectors.saturating_mul(u64::from(sector_size));
    let mut buf = vec![0u8; usize::try_from(left).unwrap_or(READ_CHUNK).min(READ_CHUNK)];
    while left > 0 {
        em.check_cancel()
            .map_err(|_| EngineError::CancelledMidTransfer {
                partition: label.to_owned(),
                writing: false,
            })?;
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        fh.read_raw(chunk, t.read_chunk, part)?;
        hasher.update(&*chunk);
        out.write_all(chunk)
            .map_err(|e| out_err(format!("cannot write the copy of '{label}': {e}")))?;
        left -= n as u64;
        em.advance(n as u64);
    }
    let done = fh.wait_response(em, "<read> (end of data)", part, t.read_chunk)?;
    said.extend(bad_block_lines(done.logs()).cloned());
    if !done.is_ack() {
        return Err(fh.nak("<read>", part, done.logs()));
    }
    Ok((hasher.finalize().into(), said))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ranges_parse_with_and_without_a_lun() {
        assert_eq!(
            RawRange::parse("640:64").unwrap(),
            RawRange {
                physical_partition: 0,
                start_sector: 640,
                sectors: 64
            }
        );
        assert_eq!(
            RawRange::parse("4:0x10:8").unwrap(),
            RawRange {
                physical_partition: 4,
                start_sector: 16,
                sectors: 8
            }
        );
        for bad in ["", "12", "a:1", "1:0", "1:2:3:4", "99999999999:1:1"] {
            let e = RawRange::parse(bad).unwrap_err();
            assert!(e.contains("--raw"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_programmers_bad_block_lines_are_kept() {
        let logs: Vec<String> = [
            "INFO: Reading 640 pages",
            "WARN: Skipping bad block 37",
            "INFO: badblock table updated",
            "INFO: Finished",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let kept: Vec<&String> = bad_block_lines(&logs).collect();
        assert_eq!(kept, vec![&logs[1], &logs[2]]);
    }

    #[test]
    fn file_names_stay_in_the_folder_and_do_not_collide() {
        let r = RawRange {
            physical_partition: 0,
            start_sector: 1,
            sectors: 2,
        };
        assert_eq!(file_name("../etc/passwd", &r, &[]), "___etc_passwd.bin");
        assert_eq!(file_name("raw", &r, &[]), "raw-lun0-1-2.bin");
        assert_eq!(file_name("manifest", &r, &[]), "partition-manifest.bin");
    }
}
