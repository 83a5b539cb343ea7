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

use std::path::PathBuf;

use oasis_proto::sahara::memdebug::{Limits, MAX_CHUNK, MemDebugError};
use oasis_transport::Transport;

use crate::Help;
use crate::bundle::Timeline;
use crate::error::EngineError;
use crate::event::{Event, Phase, PhasePlan, Verdict};
use crate::job::{JobHandle, spawn_job, thread_name};
use crate::options::Timeouts;
use crate::paths::{iso8601, now_unix};
use crate::progress::Emitter;

mod bundle;
mod manifest;
mod session;

use session::{Link, Offered, Stop, handshake, read_region, reset_board, select};

pub use bundle::{bundle_reference, write_dump_bundle};
pub use manifest::{
    DumpIdentity, DumpManifest, DumpStatus, FORMAT, MANIFEST, ManifestRefused, ManifestRegion,
    ManifestTable, RegionStatus, SECRETS_NOTE,
};

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
    /// [`Event::BundleWritten`] names it.
    pub bundle: Option<PathBuf>,
    /// Where the port is found and opened (this computer unless the caller says otherwise).
    pub bus: oasis_transport::BusHandle,
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

/// Start a crash-dump job on its own thread (`oasis-ramdump-<port>`); events go to `sink`.
pub fn spawn_ramdump(req: RamdumpRequest, sink: Box<dyn FnMut(Event) + Send>) -> JobHandle {
    let name = thread_name("ramdump", &req.port);
    let timeline = req.bundle.is_some().then(Timeline::default);
    let sink = crate::bundle::run::tee(sink, timeline.clone());
    spawn_job(name, sink, move |em| {
        let result = ramdump_job(&req, em);
        if let (Some(path), Some(tl)) = (&req.bundle, &timeline) {
            let outcome = match &result {
                Ok(v) => Ok(v.clone()),
                Err(e) => Err(e.to_report(em.phase(), em.partition())),
            };
            match write_dump_bundle(path, &req, &tl.snapshot(), &outcome) {
                Ok(()) => em.bundle_written(path),
                Err(e) => em.info(format!("the support bundle could not be written: {e}")),
            }
        }
        result
    })
}

/// The port, opened as it is: unlike a flash, a module in normal mode is never switched (it
/// has no dump to give, and switching would reboot it).
fn open_port(req: &RamdumpRequest) -> Result<oasis_transport::Opened, EngineError> {
    let (target, _) = crate::port::resolve(&req.bus, &req.port, "bg95")?;
    let spec = oasis_transport::PortSpec::parse(&target);
    match req.bus.open(&spec) {
        Ok(o) => Ok(o),
        Err(e) if e.kind == oasis_transport::TransportErrorKind::NotFound => {
            let sel = match &spec {
                oasis_transport::PortSpec::Usb(sel) => sel.clone(),
                oasis_transport::PortSpec::Serial(_) => return Err(e.into()),
            };
            let snap = req.bus.snapshot();
            if crate::usbswitch::normal_mode_modules(&snap.usb, &sel).is_empty() {
                Err(e.into())
            } else {
                Err(not_crashed("runs its firmware (normal mode)"))
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn not_crashed(state: &str) -> EngineError {
    EngineError::Protocol {
        what: format!("the board {state}: it is not in crash-dump mode"),
        device_log: Vec::new(),
        help: MemDebugError::NotDumpMode { mode: 0 }
            .help()
            .map(String::from),
    }
}

fn identity_of(link: &dyn Transport) -> DumpIdentity {
    let mut id = DumpIdentity::default();
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
fn ramdump_job(req: &RamdumpRequest, em: &mut Emitter) -> Result<Verdict, EngineError> {
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
    crate::paths::fresh_dir(&req.out, "crash dump")?;
    em.start_phase(Phase::Connect, 0);
    let opened = open_port(req)?;
    let (link, _claim) = (opened.link, opened.claim);
    let mut identity = identity_of(&*link);
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
    crate::paths::ensure_space(
        &req.out,
        total,
        req.reserve,
        em,
        "free some space or name a folder on another disk with --out; nothing was read and the board keeps its dump",
    )?;
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
        crate::progress::human_bytes(manifest.bytes),
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
