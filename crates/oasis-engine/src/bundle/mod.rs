//! Support bundles: one zip that lets someone else see, and replay, what happened.
//!
//! Members: `summary.md` (the ticket text, [`markdown_summary`]), `log.txt` (human log),
//! `events.jsonl` (event timeline, `t` in seconds), `outcome.json`, `devices.json` (USB and
//! serial enumeration with interface roles), `package.json` (the package's files with size and
//! SHA-256, not the images), `identity.json` (the board's chip identity), `request.json` (port,
//! options, timeouts) and `transcript.jsonl` (every byte of the session, as
//! `oasis_transport::recording` writes it). `oasis-cli replay BUNDLE` runs the same job with the
//! transcript as the board ([`replay`]).

pub mod elide;
pub mod prune;
mod record;
pub mod redact;
pub mod replay;
pub(crate) mod run;
mod summary;

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use oasis_transport::enumerate::{Snapshot, snapshot};
use oasis_transport::transcript::Transcript;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

pub use record::{RequestRecord, TimeoutsMs};
pub use summary::{SummaryInput, log_line, markdown_summary};

use crate::Help;
use crate::diag::usb_table::device_roles;
use crate::event::{ChipIdentity, ErrorReport, Event, Verdict};
use crate::options::FlashRequest;
use crate::paths;

/// Start of the `Info` message naming a bundle the job wrote (the path follows).
pub(crate) const WRITTEN_PREFIX: &str = "support bundle written to ";
/// Version of the bundle layout.
pub const FORMAT: u32 = 1;
/// Most package files listed in `package.json`.
const MAX_PACKAGE_FILES: usize = 5000;

/// Why a bundle could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A file could not be created, read or written.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The zip is damaged or not a zip.
    #[error("{} is not a readable support bundle: {detail}", .path.display())]
    Zip {
        /// The file.
        path: PathBuf,
        /// What the zip reader said.
        detail: String,
    },
    /// A member the operation needs is missing or unreadable.
    #[error("the support bundle {} has no usable {member}: {detail}", .path.display())]
    Member {
        /// The bundle.
        path: PathBuf,
        /// The member (`request.json`, `transcript.jsonl`, ...).
        member: &'static str,
        /// Why it is unusable.
        detail: String,
    },
}

/// Every bundle error has advice: [`Help::help`] is never `None` here.
impl Help for BundleError {
    /// What the user can do.
    fn help(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(match self {
            Self::Io { .. } => {
                "choose a writable path, or check that the file exists and is readable"
            }
            Self::Zip { .. } => "name the .zip that `oasis-cli flash --bundle` (or the app) wrote",
            Self::Member { .. } => {
                "the bundle is incomplete: it was written by a job that never reached the board, or it was altered"
            }
        }))
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BundleError + 'a {
    move |source| BundleError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Events with their time since the job started, collected as they are sent.
#[derive(Debug, Clone)]
pub struct Timeline {
    start: Instant,
    events: Arc<Mutex<Vec<(f64, Event)>>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            events: Arc::default(),
        }
    }
}

impl Timeline {
    /// Record one event.
    pub fn push(&self, ev: &Event) {
        let t = self.start.elapsed().as_secs_f64();
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((t, ev.clone()));
    }

    /// The events so far.
    pub fn snapshot(&self) -> Vec<(f64, Event)> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// `bundle.json`: what wrote the bundle, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleInfo {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// When it was written (UTC).
    pub created: String,
    /// The Oasis version.
    pub tool: String,
    /// Operating system.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// True when raw host writes were stored as zeros (a long session): the replay then
    /// does not compare host bytes.
    #[serde(default)]
    pub raw_data_elided: bool,
}

/// `outcome.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// True when the job succeeded.
    pub ok: bool,
    /// The verdict, on success.
    pub verdict: Option<Verdict>,
    /// The report, on failure.
    pub error: Option<ErrorReport>,
}

impl OutcomeRecord {
    /// From a job's outcome.
    pub(crate) fn from_outcome(o: &Result<Verdict, ErrorReport>) -> Self {
        match o {
            Ok(v) => Self {
                ok: true,
                verdict: Some(v.clone()),
                error: None,
            },
            Err(r) => Self {
                ok: false,
                verdict: None,
                error: Some(r.clone()),
            },
        }
    }
}

/// Everything a bundle is written from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BundleInput<'a> {
    /// The request (port, package, options).
    pub request: &'a FlashRequest,
    /// The event timeline.
    pub events: &'a [(f64, Event)],
    /// How the job ended (`None` while it runs).
    pub outcome: Option<&'a Result<Verdict, ErrorReport>>,
    /// The session transcript file, if one was recorded.
    pub transcript: Option<&'a Path>,
    /// The enumeration to include (`None` = take one now).
    pub devices: Option<&'a Snapshot>,
    /// Mask the board's identifiers (IMEI, ICCID, chip serial) in every member ([`redact`]);
    /// `None` keeps them.
    pub redact: Option<&'a redact::Redactor>,
}

/// `devices.json`: the enumeration, each USB device with its interface roles.
pub(crate) fn devices_json(snap: &Snapshot) -> serde_json::Value {
    let usb: Vec<serde_json::Value> = snap
        .usb
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut v {
                let roles: Vec<serde_json::Value> = device_roles(d)
                    .into_iter()
                    .map(|(n, r)| serde_json::json!({"interface": n, "role": r, "means": r.describe()}))
                    .collect();
                m.insert("roles".into(), serde_json::Value::Array(roles));
            }
            v
        })
        .collect();
    serde_json::json!({"usb": usb, "serial": snap.serial, "usb_error": snap.usb_error})
}

fn sha256_file(path: &Path) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(hex::encode(h.finalize()))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<serde_json::Value>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if out.len() >= MAX_PACKAGE_FILES {
            return;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(root, &p, out);
        } else if meta.is_file() {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            out.push(serde_json::json!({
                "path": rel.to_string_lossy().replace('\\', "/"),
                "bytes": meta.len(),
                "sha256": sha256_file(&p),
            }));
        }
    }
}

/// `package.json`: every file of the package with its size and SHA-256 (not the contents).
pub(crate) fn package_json(package: &Path) -> serde_json::Value {
    let mut files = Vec::new();
    if package.is_dir() {
        walk(package, package, &mut files);
    } else if package.is_file() {
        let bytes = std::fs::metadata(package).map(|m| m.len()).unwrap_or(0);
        files.push(serde_json::json!({
            "path": package.file_name().map(|n| n.to_string_lossy().into_owned()),
            "bytes": bytes,
            "sha256": sha256_file(package),
        }));
    }
    serde_json::json!({
        "package": package.display().to_string(),
        "files": files,
        "truncated": files.len() >= MAX_PACKAGE_FILES,
    })
}

fn identity_of(events: &[(f64, Event)]) -> Option<ChipIdentity> {
    events.iter().find_map(|(_, e)| match e {
        Event::ChipIdentity(id) => Some(id.clone()),
        _ => None,
    })
}

struct Zip {
    w: zip::ZipWriter<File>,
    path: PathBuf,
    redact: Option<redact::Redactor>,
}

impl Zip {
    fn member(&mut self, name: &str, bytes: &[u8]) -> Result<(), BundleError> {
        let masked = self.redact.as_ref().map(|r| redact::member(r, name, bytes));
        let bytes = masked.as_deref().unwrap_or(bytes);
        self.start(name, bytes.len() as u64)?;
        self.w
            .write_all(bytes)
            .map_err(io("cannot write", &self.path))
    }

    fn start(&mut self, name: &str, len: u64) -> Result<(), BundleError> {
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(len >= u64::from(u32::MAX));
        self.w.start_file(name, opts).map_err(|e| BundleError::Zip {
            path: self.path.clone(),
            detail: e.to_string(),
        })
    }

    fn json(&mut self, name: &str, v: &impl Serialize) -> Result<(), BundleError> {
        let text = serde_json::to_vec_pretty(v).unwrap_or_default();
        self.member(name, &text)
    }
}

/// The redactor of one bundle: `base` plus the chip serials the session named.
fn redactor_for(base: &redact::Redactor, events: &[(f64, Event)]) -> redact::Redactor {
    let mut r = base.clone();
    for (_, e) in events {
        if let Event::ChipIdentity(id) = e
            && let Some(s) = &id.serial
        {
            r.add_serial(s);
        }
    }
    r.add_serials_from_log(events.iter().filter_map(|(_, e)| match e {
        Event::DeviceLog { line } => Some(line.as_str()),
        _ => None,
    }));
    r
}

/// Write a support bundle to `path` (a new zip; an existing file is replaced).
pub(crate) fn write_bundle(path: &Path, input: &BundleInput<'_>) -> Result<(), BundleError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io("cannot create the folder of", path))?;
    }
    let file = File::create(path).map_err(io("cannot create", path))?;
    let mut z = Zip {
        w: zip::ZipWriter::new(file),
        path: path.to_path_buf(),
        redact: input.redact.map(|r| redactor_for(r, input.events)),
    };
    let transcript_len = input
        .transcript
        .and_then(|t| std::fs::metadata(t).ok())
        .map_or(0, |m| m.len());
    let elide = transcript_len > elide::ELIDE_ABOVE;
    write_words(&mut z, input)?;
    let snap = input.devices.cloned().unwrap_or_else(snapshot);
    z.json("devices.json", &devices_json(&snap))?;
    z.json("package.json", &package_json(&input.request.package))?;
    z.json("identity.json", &identity_of(input.events))?;
    z.json("request.json", &RequestRecord::from(input.request))?;
    let mut elided = 0;
    if let Some(t) = input.transcript {
        let f = File::open(t).map_err(io("cannot read the transcript", t))?;
        // Zeros put back for compacted writes can make it larger than the file: zip64.
        z.start("transcript.jsonl", u64::MAX)?;
        elided = match &z.redact {
            Some(r) => {
                let mut w = redact::LineWriter::new(&mut z.w, r);
                let n = elide::copy_transcript(&mut BufReader::new(f), &mut w, elide);
                w.flush().and(n)
            }
            None => elide::copy_transcript(&mut BufReader::new(f), &mut z.w, elide),
        }
        .map_err(io("cannot write", path))?;
    }
    z.json(
        "bundle.json",
        &BundleInfo {
            format: FORMAT,
            created: paths::iso8601(paths::now_unix()),
            tool: format!("oasis {}", env!("CARGO_PKG_VERSION")),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            raw_data_elided: elided > 0,
        },
    )?;
    z.w.finish().map_err(|e| BundleError::Zip {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    Ok(())
}

/// The members for people and timelines: `summary.md`, `log.txt`, `events.jsonl`,
/// `outcome.json`.
fn write_words(z: &mut Zip, input: &BundleInput<'_>) -> Result<(), BundleError> {
    let events: Vec<Event> = input.events.iter().map(|(_, e)| e.clone()).collect();
    let identity = identity_of(input.events);
    let md = markdown_summary(&SummaryInput {
        port: &input.request.port,
        package: Some(&input.request.package),
        identity: identity.as_ref(),
        outcome: input.outcome,
        events: &events,
        bundle: None,
    });
    z.member("summary.md", md.as_bytes())?;
    let mut log: String = input
        .events
        .iter()
        .filter_map(|(t, e)| log_line(*t, e))
        .map(|l| l + "\n")
        .collect();
    // The bundle is written before the job's terminal event: end the log with its outcome.
    let end = input.events.last().map_or(0.0, |(t, _)| *t);
    let last = input.outcome.map(|o| match o {
        Ok(v) => Event::Finished(v.clone()),
        Err(r) => Event::Failed(r.clone()),
    });
    if let Some(line) = last.and_then(|e| log_line(end, &e)) {
        log.push_str(&line);
        log.push('\n');
    }
    z.member("log.txt", log.as_bytes())?;
    let mut timeline = String::new();
    for (t, e) in input.events {
        let mut v = serde_json::to_value(e).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("t".into(), serde_json::json!(t));
        }
        timeline.push_str(&v.to_string());
        timeline.push('\n');
    }
    z.member("events.jsonl", timeline.as_bytes())?;
    if let Some(o) = input.outcome {
        z.json("outcome.json", &OutcomeRecord::from_outcome(o))?;
    }
    Ok(())
}

/// A bundle read back.
#[derive(Debug, Clone)]
pub struct LoadedBundle {
    /// The bundle file.
    pub path: PathBuf,
    /// The request it recorded.
    pub request: RequestRecord,
    /// How the recorded job ended, if it was recorded.
    pub outcome: Option<OutcomeRecord>,
    /// The session transcript, if one was recorded.
    pub transcript: Option<Transcript>,
    /// The Markdown summary it holds.
    pub summary: String,
    /// `bundle.json`, when present.
    pub info: Option<BundleInfo>,
}

fn read_member(
    zip: &mut zip::ZipArchive<BufReader<File>>,
    path: &Path,
    member: &'static str,
) -> Result<Option<Vec<u8>>, BundleError> {
    let mut f = match zip.by_name(member) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => {
            return Err(BundleError::Member {
                path: path.to_path_buf(),
                member,
                detail: e.to_string(),
            });
        }
    };
    let mut out = Vec::new();
    f.read_to_end(&mut out).map_err(|e| BundleError::Member {
        path: path.to_path_buf(),
        member,
        detail: e.to_string(),
    })?;
    Ok(Some(out))
}

fn parse<T: for<'de> Deserialize<'de>>(
    path: &Path,
    member: &'static str,
    bytes: &[u8],
) -> Result<T, BundleError> {
    serde_json::from_slice(bytes).map_err(|e| BundleError::Member {
        path: path.to_path_buf(),
        member,
        detail: e.to_string(),
    })
}

/// Read a bundle.
pub fn load_bundle(path: &Path) -> Result<LoadedBundle, BundleError> {
    let file = File::open(path).map_err(io("cannot open", path))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| BundleError::Zip {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let missing = |member| BundleError::Member {
        path: path.to_path_buf(),
        member,
        detail: "not in the zip".to_owned(),
    };
    let req =
        read_member(&mut zip, path, "request.json")?.ok_or_else(|| missing("request.json"))?;
    let request: RequestRecord = parse(path, "request.json", &req)?;
    let outcome = match read_member(&mut zip, path, "outcome.json")? {
        Some(b) => Some(parse(path, "outcome.json", &b)?),
        None => None,
    };
    let transcript = match read_member(&mut zip, path, "transcript.jsonl")? {
        Some(b) => Some(
            Transcript::from_reader(&b[..], Path::new("transcript.jsonl")).map_err(|e| {
                BundleError::Member {
                    path: path.to_path_buf(),
                    member: "transcript.jsonl",
                    detail: e.to_string(),
                }
            })?,
        ),
        None => None,
    };
    let info = match read_member(&mut zip, path, "bundle.json")? {
        Some(b) => Some(parse(path, "bundle.json", &b)?),
        None => None,
    };
    let summary = read_member(&mut zip, path, "summary.md")?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Ok(LoadedBundle {
        path: path.to_path_buf(),
        request,
        outcome,
        transcript,
        summary,
        info,
    })
}

/// A fresh name for an automatic bundle in `dir`: `oasis-<time>.zip` (a suffix when taken).
pub(crate) fn auto_path(dir: &Path) -> PathBuf {
    let stamp = paths::compact_stamp(paths::now_unix());
    let mut p = dir.join(format!("oasis-{stamp}.zip"));
    let mut n = 2;
    while p.exists() {
        p = dir.join(format!("oasis-{stamp}-{n}.zip"));
        n += 1;
    }
    p
}
