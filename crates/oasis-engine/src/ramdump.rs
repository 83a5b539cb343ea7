//! Crash dumps: collect the RAM of a module that crashed into Sahara memory-debug mode
//! (05C6:900E) into a folder, one file per region plus `manifest.json`, then reset it.
//!
//! The job answers HELLO in mode 2, reads the region table, checks it
//! ([`oasis_proto::sahara::memdebug::check_table`]: zero, huge, overflowing and overlapping
//! regions are refused, file names are made plain), checks the free disk space, and reads each
//! region in chunks of at most 512 KiB, hashing as it goes. A region the board refuses is
//! named in the manifest and the others are still read; a lost link stops the job but keeps
//! what arrived. The manifest is rewritten after every region, so a cancel (Ctrl-C), an unplug
//! or a crash of Oasis leaves a manifest that says what is missing. The board is reset (it
//! reboots) only after every region was tried; a cancelled or interrupted job leaves it in
//! dump mode so the dump can be collected again.
//!
//! Events: `PlanReady`, `Connect`, `RamDump` (progress per region, rate, ETA), `Reset`, then
//! `Finished` (at least one region collected) or `Failed`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crossbeam_channel::Receiver;
use oasis_proto::sahara::memdebug::{
    CheckedTable, DumpHost, DumpStep, Limits, MAX_CHUNK, MemDebugError, Region, check_table,
};
use oasis_transport::{Transport, TransportErrorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bundle::{Timeline, WRITTEN_PREFIX};
use crate::error::EngineError;
use crate::event::{ErrorReport, Event, Phase, PhasePlan, Verdict};
use crate::job::{JobHandle, spawn_job, thread_name};
use crate::options::Timeouts;
use crate::paths::{iso8601, now_unix};
use crate::progress::Emitter;

/// Name of the manifest in a dump folder.
pub const MANIFEST: &str = "manifest.json";
/// `format` field of the manifest.
pub const FORMAT: &str = "oasis-ramdump";
/// What every manifest says about its content.
pub const SECRETS_NOTE: &str = "A crash dump is a copy of the module's RAM at the time of the crash: it may contain secrets (keys, credentials, network and personal data). Share it only privately, with the module vendor's support.";
/// Kept free on the disk beyond the dump itself.
const SPACE_MARGIN: u64 = 16 * 1024 * 1024;

/// A crash-dump job.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RamdumpRequest {
    /// The board's port (any form `flash` takes; `virtual:bg95@dump` for the virtual board).
    pub port: String,
    /// The dump folder (created; must be new or empty).
    pub out: PathBuf,
    /// Only these regions (file name, description or file name without extension; any case).
    /// Empty = all.
    pub regions: Vec<String>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Bounds on the region table.
    pub limits: Limits,
    /// Bytes that must stay free on the disk beyond the dump itself (0 = the default,
    /// 16 MiB).
    pub reserve: u64,
    /// Write a support bundle here when the job ends: the log, events, outcome and the dump's
    /// manifest, with the dump folder named (the RAM files themselves stay out of it). An
    /// `Info` event starting with [`crate::bundle::WRITTEN_PREFIX`] names it.
    pub bundle: Option<PathBuf>,
}

impl RamdumpRequest {
    /// A dump of the board on `port` into `out`.
    pub fn new(port: impl Into<String>, out: impl Into<PathBuf>) -> Self {
        Self {
            port: port.into(),
            out: out.into(),
            ..Self::default()
        }
    }
}

/// State of the whole dump, as the manifest says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpStatus {
    /// Being collected (a manifest left like this means Oasis stopped unexpectedly).
    InProgress,
    /// Every selected region was collected.
    Complete,
    /// Some regions were collected, some not (see `missing`).
    Partial,
    /// The user cancelled; what was collected is kept.
    Cancelled,
    /// Nothing could be collected.
    Failed,
}

/// State of one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionStatus {
    /// Not read yet.
    Pending,
    /// Read whole; the file and SHA-256 are final.
    Collected,
    /// The board refused it, or the link failed during it (`<file>.part` holds what arrived).
    Failed,
    /// Not read (the job stopped before it).
    Missing,
}

/// One region in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRegion {
    /// File name the board gave.
    pub name: String,
    /// Description the board gave.
    pub description: String,
    /// File in the dump folder (`<file>.part` while incomplete).
    pub file: String,
    /// Start address, hex (`0x80000000`).
    pub address: String,
    /// Start address.
    pub base: u64,
    /// Length in bytes.
    pub length: u64,
    /// The table's `save_pref` word.
    pub save_pref: u64,
    /// State.
    pub status: RegionStatus,
    /// Bytes received.
    pub bytes: u64,
    /// SHA-256 of the file (collected regions).
    pub sha256: Option<String>,
    /// Why it is not collected.
    pub error: Option<String>,
}

/// A table entry that was not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRefused {
    /// Position in the table.
    pub index: usize,
    /// Name as the board gave it.
    pub name: String,
    /// Why it was refused.
    pub reason: String,
}

/// What is known about the board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpIdentity {
    /// Sahara version from HELLO.
    pub sahara_version: Option<u32>,
    /// Chip serial (hex), when the port or board tells it.
    pub serial: Option<String>,
    /// Chip name, when known.
    pub chip: Option<String>,
    /// Module model, when known (virtual boards).
    pub model: Option<String>,
}

/// The region table as offered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestTable {
    /// 32 or 64 (MEMORY_DEBUG or MEMORY_DEBUG_64).
    pub width: u32,
    /// Table address, hex.
    pub address: String,
    /// Table length in bytes.
    pub length: u64,
    /// Entries in the table.
    pub entries: usize,
}

/// `manifest.json` of a dump folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpManifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Manifest version (1).
    pub version: u32,
    /// State of the dump.
    pub status: DumpStatus,
    /// [`SECRETS_NOTE`].
    pub note: String,
    /// When collection started (UTC, ISO 8601).
    pub started: String,
    /// When it ended.
    pub finished: Option<String>,
    /// The port it was read from.
    pub port: String,
    /// The board, as far as known.
    pub identity: DumpIdentity,
    /// The table.
    pub table: ManifestTable,
    /// Regions selected for reading, in table order.
    pub regions: Vec<ManifestRegion>,
    /// Table entries refused before reading.
    pub refused: Vec<ManifestRefused>,
    /// File names of selected regions that are not collected.
    pub missing: Vec<String>,
    /// Changes made to the board's file names, and other facts.
    pub notes: Vec<String>,
    /// Bytes collected.
    pub bytes: u64,
    /// Whether the board was reset (rebooted) at the end.
    pub reset: bool,
}

impl DumpManifest {
    /// Read `manifest.json` from a dump folder.
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| EngineError::BadInput {
            what: format!("cannot read {}: {e}", path.display()),
            help: Some("name a folder written by `oasis-cli ramdump`".to_owned()),
        })?;
        serde_json::from_str(&text).map_err(|e| EngineError::BadInput {
            what: format!("{} is not a crash-dump manifest: {e}", path.display()),
            help: None,
        })
    }

    /// Regions collected whole.
    pub fn collected(&self) -> impl Iterator<Item = &ManifestRegion> {
        self.regions
            .iter()
            .filter(|r| r.status == RegionStatus::Collected)
    }

    fn refresh(&mut self) {
        self.missing = self
            .regions
            .iter()
            .filter(|r| r.status != RegionStatus::Collected)
            .map(|r| r.name.clone())
            .collect();
        self.bytes = self.collected().map(|r| r.bytes).sum();
    }

    fn save(&mut self, dir: &Path) -> Result<(), EngineError> {
        self.refresh();
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| EngineError::Internal(format!("manifest: {e}")))?;
        let tmp = dir.join(format!("{MANIFEST}.tmp"));
        let io = |e: std::io::Error| EngineError::Io {
            file: dir.join(MANIFEST).display().to_string(),
            source: e,
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, dir.join(MANIFEST)).map_err(io)
    }
}

/// Start a crash-dump job on its own thread (`oasis-ramdump-<port>`); events go to `sink`.
pub fn spawn_ramdump(req: RamdumpRequest, sink: Box<dyn FnMut(Event) + Send>) -> JobHandle {
    spawn_with(req, None, sink)
}

/// [`spawn_ramdump`] over a link the caller opened (`req.port` then only names the job).
pub fn spawn_ramdump_on(
    req: RamdumpRequest,
    link: Box<dyn Transport>,
    sink: Box<dyn FnMut(Event) + Send>,
) -> JobHandle {
    spawn_with(req, Some(link), sink)
}

fn spawn_with(
    req: RamdumpRequest,
    link: Option<Box<dyn Transport>>,
    sink: Box<dyn FnMut(Event) + Send>,
) -> JobHandle {
    let name = thread_name("ramdump", &req.port);
    let timeline = req.bundle.is_some().then(Timeline::default);
    let sink = crate::bundle::run::tee(sink, timeline.clone());
    spawn_job(name, sink, move |em| {
        let result = ramdump_job(&req, link, em);
        if let (Some(path), Some(tl)) = (&req.bundle, &timeline) {
            let outcome = match &result {
                Ok(v) => Ok(v.clone()),
                Err(e) => Err(e.to_report(em.phase(), em.partition())),
            };
            match write_dump_bundle(path, &req, &tl.snapshot(), &outcome) {
                Ok(()) => em.info(format!("{WRITTEN_PREFIX}{}", path.display())),
                Err(e) => em.info(format!("the support bundle could not be written: {e}")),
            }
        }
        result
    })
}

/// Write a support bundle for a crash-dump job: `summary.md`, `log.txt`, `events.jsonl`,
/// `outcome.json`, `ramdump.json` (the dump's manifest and folder) and `bundle.json`. The
/// region files are not copied: they may hold secrets, and they are large.
pub fn write_dump_bundle(
    path: &Path,
    req: &RamdumpRequest,
    events: &[(f64, Event)],
    outcome: &Result<Verdict, ErrorReport>,
) -> Result<(), String> {
    use zip::write::SimpleFileOptions;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut z = zip::ZipWriter::new(file);
    let folder = std::fs::canonicalize(&req.out).unwrap_or_else(|_| req.out.clone());
    let manifest = DumpManifest::load(&req.out).ok();
    let mut md = format!(
        "# Oasis crash dump\n\n- Port: `{}`\n- Dump folder: `{}`\n",
        req.port,
        folder.display()
    );
    match outcome {
        Ok(v) => md.push_str(&format!("- Result: {}\n", v.summary)),
        Err(r) => md.push_str(&format!("- Result: failed: {}\n", r.message)),
    }
    if let Some(m) = &manifest {
        md.push_str(&format!(
            "- Status: {:?}, {} of {} regions, {} bytes\n",
            m.status,
            m.collected().count(),
            m.regions.len(),
            m.bytes
        ));
        if !m.missing.is_empty() {
            md.push_str(&format!("- Not collected: {}\n", m.missing.join(", ")));
        }
        md.push_str("\n| region | address | length | SHA-256 |\n|---|---|---|---|\n");
        for r in &m.regions {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                r.name,
                r.address,
                r.length,
                r.sha256.as_deref().unwrap_or("not collected")
            ));
        }
    }
    md.push_str(&format!(
        "\nThe dump files are not in this bundle. {SECRETS_NOTE}\n"
    ));
    let mut log = String::new();
    let mut timeline = String::new();
    for (t, e) in events {
        if let Event::Info { message } = e {
            log.push_str(&format!("{t:8.3} {message}\n"));
        }
        let mut v = serde_json::to_value(e).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("t".into(), serde_json::json!(t));
        }
        timeline.push_str(&v.to_string());
        timeline.push('\n');
    }
    let record = crate::bundle::OutcomeRecord::from_outcome(outcome);
    let reference = serde_json::json!({
        "dump_folder": folder.display().to_string(),
        "manifest": manifest,
    });
    let info = crate::bundle::BundleInfo {
        format: crate::bundle::FORMAT,
        created: iso8601(now_unix()),
        tool: format!("oasis {}", env!("CARGO_PKG_VERSION")),
        os: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        raw_data_elided: false,
    };
    let members: [(&str, Vec<u8>); 6] = [
        ("summary.md", md.into_bytes()),
        ("log.txt", log.into_bytes()),
        ("events.jsonl", timeline.into_bytes()),
        (
            "outcome.json",
            serde_json::to_vec_pretty(&record).unwrap_or_default(),
        ),
        (
            "ramdump.json",
            serde_json::to_vec_pretty(&reference).unwrap_or_default(),
        ),
        (
            "bundle.json",
            serde_json::to_vec_pretty(&info).unwrap_or_default(),
        ),
    ];
    for (name, bytes) in members {
        z.start_file(name, SimpleFileOptions::default())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        z.write_all(&bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    z.finish().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

/// [`spawn_ramdump`] with the events on an unbounded crossbeam channel.
pub fn spawn_ramdump_channel(req: RamdumpRequest) -> (JobHandle, Receiver<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let handle = spawn_ramdump(
        req,
        Box::new(move |ev| {
            let _ = tx.send(ev);
        }),
    );
    (handle, rx)
}

/// The `ramdump.json` member of a crash-dump support bundle: the dump folder it references
/// (`dump_folder`) and the dump's manifest (`manifest`).
pub fn bundle_reference(bundle: &Path) -> Result<serde_json::Value, String> {
    let file = File::open(bundle).map_err(|e| format!("{}: {e}", bundle.display()))?;
    let mut z = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", bundle.display()))?;
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut z
            .by_name("ramdump.json")
            .map_err(|e| format!("{}: ramdump.json: {e}", bundle.display()))?,
        &mut text,
    )
    .map_err(|e| format!("{}: {e}", bundle.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: ramdump.json: {e}", bundle.display()))
}

/// An opened port: the link, the in-process board (virtual ports), the port claim.
type Opened = (
    Box<dyn Transport>,
    Option<oasis_vdev::VirtualBoard>,
    Option<oasis_transport::lock::PortLock>,
);

/// The port, opened as it is: unlike a flash, a module in normal mode is never switched (it
/// has no dump to give, and switching would reboot it).
fn open_port(port: &str, em: &mut Emitter) -> Result<Opened, EngineError> {
    let spec = oasis_transport::PortSpec::parse(port);
    if let oasis_transport::PortSpec::Virtual(profile) = &spec {
        let board = crate::port::virtual_board(profile.as_deref(), "bg95")?;
        em.info(format!(
            "virtual board '{}' ({})",
            board.profile().name,
            board.profile().model
        ));
        if board.state() == oasis_vdev::BoardState::Normal {
            return Err(not_crashed("runs its firmware (normal mode)"));
        }
        return Ok((Box::new(board.connect()), Some(board), None));
    }
    let name = match &spec {
        oasis_transport::PortSpec::Serial(_) => port.to_owned(),
        other => other.to_string(),
    };
    let lock = oasis_transport::lock::PortLock::acquire(&name)?;
    let link = oasis_transport::open(&spec)?;
    Ok((link, None, Some(lock)))
}

fn not_crashed(state: &str) -> EngineError {
    EngineError::Protocol {
        what: format!("the board {state}: it is not in crash-dump mode"),
        device_log: Vec::new(),
        help: MemDebugError::NotDumpMode { mode: 0 }
            .help()
            .map(str::to_owned),
    }
}

/// Create the dump folder; it must be new or empty.
fn prepare_out(out: &Path) -> Result<(), EngineError> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !out.is_dir() || !empty {
            return Err(EngineError::BadInput {
                what: format!(
                    "the dump folder {} already exists and is not empty",
                    out.display()
                ),
                help: Some(
                    "name a new folder for --out (a dump is never mixed with other files)"
                        .to_owned(),
                ),
            });
        }
    }
    std::fs::create_dir_all(out).map_err(|e| EngineError::BadInput {
        what: format!("cannot create the dump folder {}: {e}", out.display()),
        help: Some("choose a writable folder for --out".to_owned()),
    })
}

/// Free bytes on the disk holding `dir`, when the OS tells.
pub fn free_space(dir: &Path) -> Option<u64> {
    fs4::available_space(dir).ok()
}

fn from_memdebug(e: MemDebugError, waited: Duration) -> EngineError {
    let help = e.help().map(str::to_owned);
    match e {
        MemDebugError::Timeout { waiting_for } => EngineError::Timeout {
            command: format!("Sahara memory debug ({waiting_for})"),
            partition: None,
            waited,
        },
        MemDebugError::TableRefused { status } => EngineError::SaharaStatus {
            status: status.0,
            explanation: format!(
                "{} (the board would not send its crash-dump region table)",
                status.explain()
            ),
            help,
        },
        other => EngineError::Protocol {
            what: other.to_string(),
            device_log: Vec::new(),
            help,
        },
    }
}

struct Link {
    link: Box<dyn Transport>,
    buf: Vec<u8>,
}

impl Link {
    fn send(&mut self, bytes: &[u8], t: Duration, what: &str) -> Result<(), EngineError> {
        self.link
            .write_all(bytes, t)
            .map_err(|e| EngineError::from_transport(e, what, None, t))
    }
}

/// The table as offered, after the handshake.
struct Offered {
    host: DumpHost,
    checked: CheckedTable,
    table: ManifestTable,
    raw_count: usize,
}

/// HELLO → HELLO_RESP(2) → MEMORY_DEBUG(_64) → table.
fn handshake(link: &mut Link, t: &Timeouts, limits: &Limits) -> Result<Offered, EngineError> {
    let mut host = DumpHost::new();
    let mut first = true;
    loop {
        let wait = if first {
            t.sahara_first
        } else {
            t.sahara_packet
        };
        let steps = match link.link.read(&mut link.buf, wait) {
            Ok(n) => {
                first = false;
                let data = link.buf.get(..n).unwrap_or_default().to_vec();
                host.feed(&data).map_err(|e| from_memdebug(e, wait))?
            }
            Err(e) if e.kind == TransportErrorKind::Timeout => {
                host.on_silence().map_err(|e| from_memdebug(e, wait))?
            }
            Err(e) => return Err(e.into()),
        };
        for step in steps {
            match step {
                DumpStep::Send(b) => link.send(&b, t.sahara_packet, "Sahara HELLO_RESP")?,
                DumpStep::Table {
                    width,
                    address,
                    length,
                    regions,
                } => {
                    let checked = check_table(&regions, width, limits);
                    return Ok(Offered {
                        host,
                        checked,
                        table: ManifestTable {
                            width: width.bits(),
                            address: format!("0x{address:x}"),
                            length,
                            entries: regions.len(),
                        },
                        raw_count: regions.len(),
                    });
                }
                other => {
                    return Err(EngineError::Protocol {
                        what: format!("the board sent {other:?} before its region table"),
                        device_log: Vec::new(),
                        help: None,
                    });
                }
            }
        }
    }
}

fn matches(r: &Region, want: &str) -> bool {
    let w = want.trim().to_ascii_lowercase();
    let stem = |s: &str| {
        s.rsplit_once('.')
            .map_or(s.to_owned(), |(a, _)| a.to_owned())
    };
    [
        r.name.to_ascii_lowercase(),
        r.file_name.to_ascii_lowercase(),
        r.description.to_ascii_lowercase(),
        stem(&r.name.to_ascii_lowercase()),
        stem(&r.file_name.to_ascii_lowercase()),
    ]
    .contains(&w)
}

/// The regions to read: all, or those named in the request.
fn select(checked: &CheckedTable, wanted: &[String]) -> Result<Vec<Region>, EngineError> {
    if wanted.is_empty() {
        return Ok(checked.regions.clone());
    }
    let unknown: Vec<&String> = wanted
        .iter()
        .filter(|w| !checked.regions.iter().any(|r| matches(r, w)))
        .collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = checked.regions.iter().map(|r| r.name.as_str()).collect();
        return Err(EngineError::BadInput {
            what: format!(
                "the board's dump has no region {}",
                unknown
                    .iter()
                    .map(|u| format!("{u:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            help: Some(format!(
                "its regions are: {} (the board keeps its dump until it is reset)",
                names.join(", ")
            )),
        });
    }
    Ok(checked
        .regions
        .iter()
        .filter(|r| wanted.iter().any(|w| matches(r, w)))
        .cloned()
        .collect())
}

/// Why reading a region stopped.
enum Stop {
    /// The board refused a chunk; it still takes reads.
    Refused(String),
    /// The link (or the protocol) failed: nothing more can be read.
    Link(EngineError),
    /// The dump folder could not be written.
    Disk(EngineError),
    /// The user cancelled.
    Cancelled,
}

/// Read one region into `<out>/<file>.part`, renamed to `<file>` when whole. Returns the
/// SHA-256; `got` counts the bytes received either way.
fn read_region(
    link: &mut Link,
    host: &mut DumpHost,
    r: &Region,
    out: &Path,
    t: &Timeouts,
    em: &mut Emitter,
    got: &mut u64,
) -> Result<String, Stop> {
    let part = out.join(format!("{}.part", r.file_name));
    let disk = |e: std::io::Error, p: &Path| {
        Stop::Disk(EngineError::Io {
            file: p.display().to_string(),
            source: e,
        })
    };
    let mut file = BufWriter::new(File::create(&part).map_err(|e| disk(e, &part))?);
    let mut sha = Sha256::new();
    let wait = t.sahara_packet.max(t.read_chunk);
    while *got < r.length {
        if em.check_cancel().is_err() {
            let _ = file.flush();
            return Err(Stop::Cancelled);
        }
        let addr = r.base + *got;
        let n = (r.length - *got).min(MAX_CHUNK);
        let packet = host
            .read(addr, n)
            .map_err(|e| Stop::Link(from_memdebug(e, wait)))?;
        link.send(&packet, t.sahara_packet, "MEMORY_READ")
            .map_err(Stop::Link)?;
        loop {
            let steps = match link.link.read(&mut link.buf, wait) {
                Ok(k) => {
                    let data = link.buf.get(..k).unwrap_or_default().to_vec();
                    host.feed(&data)
                        .map_err(|e| Stop::Link(from_memdebug(e, wait)))?
                }
                Err(e) => {
                    let _ = file.flush();
                    return Err(Stop::Link(EngineError::from_transport(
                        e,
                        &format!("MEMORY_READ at 0x{addr:x}"),
                        Some(&r.name),
                        wait,
                    )));
                }
            };
            let mut done = false;
            for step in steps {
                match step {
                    DumpStep::Data(d) => {
                        file.write_all(&d).map_err(|e| disk(e, &part))?;
                        sha.update(&d);
                        *got += d.len() as u64;
                        em.advance(d.len() as u64);
                    }
                    DumpStep::ChunkDone => done = true,
                    DumpStep::ReadRefused { status } => {
                        let _ = file.flush();
                        return Err(Stop::Refused(format!(
                            "the board refused to read {n} bytes at 0x{addr:x}: status {status}"
                        )));
                    }
                    DumpStep::Send(b) => link
                        .send(&b, t.sahara_packet, "Sahara reply")
                        .map_err(Stop::Link)?,
                    other => {
                        return Err(Stop::Link(EngineError::Protocol {
                            what: format!("the board sent {other:?} during a memory read"),
                            device_log: Vec::new(),
                            help: None,
                        }));
                    }
                }
            }
            if done {
                break;
            }
        }
    }
    file.flush().map_err(|e| disk(e, &part))?;
    drop(file);
    let fin = out.join(&r.file_name);
    std::fs::rename(&part, &fin).map_err(|e| disk(e, &fin))?;
    Ok(hex::encode(sha.finalize()))
}

fn human(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

fn identity_of(link: &dyn Transport, board: Option<&oasis_vdev::VirtualBoard>) -> DumpIdentity {
    let mut id = DumpIdentity::default();
    if let Some(b) = board {
        let p = b.profile();
        id.serial = Some(format!("{:08x}", p.serial));
        id.chip = Some(p.chip.clone());
        id.model = Some(p.model.clone());
        return id;
    }
    // Newer boot ROMs name their serial in the USB product string: `QUSB__BULK_SN:1A2B3C4D`.
    let d = link.describe();
    if let Some((_, rest)) = d.split_once("_SN:") {
        let hexs: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        if !hexs.is_empty() {
            id.serial = Some(hexs.to_ascii_lowercase());
        }
    }
    id
}

/// The whole job.
fn ramdump_job(
    req: &RamdumpRequest,
    link: Option<Box<dyn Transport>>,
    em: &mut Emitter,
) -> Result<Verdict, EngineError> {
    let t = &req.timeouts;
    em.plan_ready(
        [Phase::Connect, Phase::RamDump, Phase::Reset]
            .into_iter()
            .map(|phase| PhasePlan {
                phase,
                weight: phase.weight(),
                bytes: 0,
            })
            .collect(),
        0,
        0,
    );
    prepare_out(&req.out)?;
    em.start_phase(Phase::Connect, 0);
    let (link, board, _lock) = match link {
        Some(l) => (l, None, None),
        None => open_port(&req.port, em)?,
    };
    let mut identity = identity_of(&*link, board.as_ref());
    let mut link = Link {
        link,
        buf: vec![0u8; MAX_CHUNK as usize + 64],
    };
    let started = iso8601(now_unix());
    let Offered {
        mut host,
        checked,
        table,
        raw_count,
    } = handshake(&mut link, t, &req.limits)?;
    identity.sahara_version = Some(host.version()).filter(|v| *v > 0);
    em.info(format!(
        "the board offers a crash dump: {raw_count} regions in a {}-bit table at {}",
        table.width, table.address
    ));
    for r in &checked.refused {
        em.info(format!(
            "region {} ({}) is not read: {}",
            r.index, r.name, r.reason
        ));
    }
    for n in &checked.notes {
        em.info(n.clone());
    }
    let selected = select(&checked, &req.regions)?;
    if selected.is_empty() {
        return Err(EngineError::Protocol {
            what: "the board's crash-dump table offers no region that can be read".to_owned(),
            device_log: Vec::new(),
            help: Some("the table is corrupt; power-cycle the board (the dump is then lost) and report its firmware revision".to_owned()),
        });
    }
    let total: u64 = selected.iter().map(|r| r.length).sum();
    let reserve = if req.reserve == 0 {
        SPACE_MARGIN
    } else {
        req.reserve
    };
    match free_space(&req.out) {
        Some(free) if free < total.saturating_add(reserve) => {
            return Err(EngineError::Refused {
                reason: format!(
                    "the dump needs {} but the disk of {} has only {} free",
                    human(total),
                    req.out.display(),
                    human(free)
                ),
                help: "free some space or name a folder on another disk with --out; nothing was read and the board keeps its dump".to_owned(),
            });
        }
        Some(_) => {}
        None => em.info("the free disk space could not be checked"),
    }
    let mut manifest = DumpManifest {
        format: FORMAT.to_owned(),
        version: 1,
        status: DumpStatus::InProgress,
        note: SECRETS_NOTE.to_owned(),
        started,
        finished: None,
        port: req.port.clone(),
        identity,
        table,
        regions: selected
            .iter()
            .map(|r| ManifestRegion {
                name: r.name.clone(),
                description: r.description.clone(),
                file: r.file_name.clone(),
                address: format!("0x{:x}", r.base),
                base: r.base,
                length: r.length,
                save_pref: r.save_pref,
                status: RegionStatus::Pending,
                bytes: 0,
                sha256: None,
                error: None,
            })
            .collect(),
        refused: checked
            .refused
            .iter()
            .map(|r| ManifestRefused {
                index: r.index,
                name: r.name.clone(),
                reason: r.reason.clone(),
            })
            .collect(),
        missing: Vec::new(),
        notes: checked.notes.clone(),
        bytes: 0,
        reset: false,
    };
    manifest.save(&req.out)?;
    em.start_phase(Phase::RamDump, total);
    let mut first_error: Option<EngineError> = None;
    let mut stopped: Option<Stop> = None;
    for (i, r) in selected.iter().enumerate() {
        em.set_partition(Some(&r.file_name));
        let mut got = 0u64;
        let result = read_region(&mut link, &mut host, r, &req.out, t, em, &mut got);
        let entry = &mut manifest.regions[i];
        entry.bytes = got;
        match result {
            Ok(sha) => {
                entry.status = RegionStatus::Collected;
                entry.sha256 = Some(sha);
            }
            Err(stop) => {
                entry.status = RegionStatus::Failed;
                entry.file = format!("{}.part", r.file_name);
                if got == 0 {
                    let _ = std::fs::remove_file(req.out.join(&entry.file));
                    entry.file = r.file_name.clone();
                }
                // The progress bar skips what will not arrive.
                em.advance(r.length - got);
                match stop {
                    Stop::Refused(why) => {
                        em.info(format!("{} not collected: {why}", r.name));
                        entry.error = Some(why.clone());
                        first_error.get_or_insert(EngineError::Protocol {
                            what: why,
                            device_log: Vec::new(),
                            help: None,
                        });
                    }
                    other => {
                        entry.error = Some(match &other {
                            Stop::Link(e) | Stop::Disk(e) => e.to_string(),
                            _ => "cancelled by the user".to_owned(),
                        });
                        stopped = Some(other);
                        break;
                    }
                }
            }
        }
        manifest.save(&req.out)?;
    }
    for r in &mut manifest.regions {
        if r.status == RegionStatus::Pending {
            r.status = RegionStatus::Missing;
            r.error = Some("not read: the job stopped before this region".to_owned());
        }
    }
    em.set_partition(None);
    let collected = manifest.collected().count();
    let reset = stopped.is_none();
    if reset {
        em.start_phase(Phase::Reset, 0);
        manifest.reset = reset_board(&mut link, &mut host, t);
        em.info(if manifest.reset {
            "the board was reset: it reboots (its RAM dump is gone)"
        } else {
            "the board did not confirm the reset; power-cycle it when done"
        });
    }
    manifest.finished = Some(iso8601(now_unix()));
    manifest.status = match (&stopped, collected) {
        (Some(Stop::Cancelled), _) => DumpStatus::Cancelled,
        (_, 0) => DumpStatus::Failed,
        _ if collected == manifest.regions.len() => DumpStatus::Complete,
        _ => DumpStatus::Partial,
    };
    manifest.save(&req.out)?;
    let failed: Vec<&str> = manifest
        .regions
        .iter()
        .filter(|r| r.status != RegionStatus::Collected)
        .map(|r| r.name.as_str())
        .collect();
    match stopped {
        Some(Stop::Cancelled) => {
            em.info(format!(
                "cancelled: {collected} of {} regions kept in {}; the board still offers its dump",
                manifest.regions.len(),
                req.out.display()
            ));
            return Err(EngineError::Cancelled);
        }
        Some(Stop::Link(e) | Stop::Disk(e)) if collected == 0 => return Err(e),
        Some(Stop::Link(e) | Stop::Disk(e)) => {
            em.info(format!("the dump stopped early: {e}"));
        }
        _ => {}
    }
    if collected == 0 {
        return Err(first_error.unwrap_or_else(|| EngineError::Protocol {
            what: "no region of the crash dump could be read".to_owned(),
            device_log: Vec::new(),
            help: None,
        }));
    }
    let mut summary = format!(
        "crash dump: {collected} of {} regions ({}) in {}",
        manifest.regions.len(),
        human(manifest.bytes),
        req.out.display()
    );
    if !failed.is_empty() {
        summary.push_str(&format!("; not collected: {}", failed.join(", ")));
    }
    Ok(Verdict {
        summary,
        verified: Vec::new(),
        skipped: Vec::new(),
        bytes: manifest.bytes,
        seconds: em.elapsed(),
        confirmed: false,
        running_revision: None,
    })
}

/// Send RESET and wait (bounded) for RESET_RESP. True when the board confirmed.
fn reset_board(link: &mut Link, host: &mut DumpHost, t: &Timeouts) -> bool {
    let packet = host.reset();
    if link.send(&packet, t.sahara_packet, "RESET").is_err() {
        return false;
    }
    let deadline = std::time::Instant::now() + t.reset;
    while std::time::Instant::now() < deadline {
        match link.link.read(&mut link.buf, t.sahara_packet) {
            Ok(n) => {
                let data = link.buf.get(..n).unwrap_or_default().to_vec();
                match host.feed(&data) {
                    Ok(steps) if steps.contains(&DumpStep::ResetDone) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            // A board that reboots at once may drop the link before its answer is read.
            Err(e) if e.kind == TransportErrorKind::Disconnected => return true,
            Err(_) => return false,
        }
    }
    false
}
