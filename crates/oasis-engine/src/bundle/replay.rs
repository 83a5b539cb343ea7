//! `oasis-cli replay BUNDLE`: run the bundle's job again with its transcript as the board
//! (`ReplayTransport`, strict: every host byte must match the recording), and say whether the
//! same outcome came out (same error kind and message).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use oasis_transport::replay::{ReplayMode, ReplayTransport};
use oasis_transport::{LinkBus, LinkKind, Transport, TransportError, TransportErrorKind};

use super::{BundleError, LoadedBundle, OutcomeRecord};
use crate::event::{ErrorReport, Event, Phase, Verdict};
use crate::job::spawn_flash;

/// Longest pause on a replayed read timeout (the recording answers at once; this only keeps a
/// waiting loop from spinning).
const PAUSE: Duration = Duration::from_millis(5);

/// A replay transport the caller can still look at once the job has it.
#[derive(Debug, Clone)]
struct Shared(Arc<Mutex<ReplayTransport>>);

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut ReplayTransport) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Transport for Shared {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        self.with(|t| t.write_all(buf, timeout))
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let r = self.with(|t| t.read(buf, timeout));
        if matches!(&r, Err(e) if e.kind == TransportErrorKind::Timeout) {
            std::thread::sleep(PAUSE.min(timeout));
        }
        r
    }
    fn link_kind(&self) -> LinkKind {
        self.with(|t| t.link_kind())
    }
    fn describe(&self) -> String {
        self.with(|t| t.describe())
    }
}

/// What a replay showed.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    /// How the recorded job ended, if the bundle says.
    pub recorded: Option<OutcomeRecord>,
    /// How the replayed job ended.
    pub replayed: Result<Verdict, ErrorReport>,
    /// Same outcome: both succeeded, or both failed with the same error kind and message.
    pub reproduced: bool,
    /// The first host byte that differed from the recording, if any.
    pub mismatch: Option<String>,
    /// Facts about the replay (what could not be replayed and why).
    pub notes: Vec<String>,
}

fn same(recorded: Option<&OutcomeRecord>, replayed: &Result<Verdict, ErrorReport>) -> bool {
    match (recorded, replayed) {
        (Some(r), Err(x)) => r
            .error
            .as_ref()
            .is_some_and(|e| e.kind == x.kind && e.message == x.message),
        (Some(r), Ok(_)) => r.ok,
        (None, _) => false,
    }
}

fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("oasis-replay-{}-{nanos}", std::process::id()))
}

/// Replay `b`; `package` overrides the package path the bundle recorded (the bundle holds
/// only its hashes). Events of the replayed job go to `sink`.
pub fn replay_bundle(
    b: &LoadedBundle,
    package: Option<&Path>,
    sink: Box<dyn FnMut(Event) + Send>,
) -> Result<ReplayReport, BundleError> {
    let Some(transcript) = b.transcript.clone() else {
        return Err(BundleError::Member {
            path: b.path.clone(),
            member: "transcript.jsonl",
            detail: "the job never opened the board, so there is nothing to replay".to_owned(),
        });
    };
    let mut notes = Vec::new();
    let mut req = b.request.to_request();
    if let Some(p) = package {
        req.package = p.to_path_buf();
    }
    // The transcript covers the download-mode link only: the AT port after the reset is not in it.
    req.options.confirm = false;
    req.options.at_port = None;
    let scratch = req.options.backup.as_ref().map(|_| scratch_dir());
    if let Some(dir) = &scratch {
        req.options.backup = Some(dir.clone());
        notes.push(format!(
            "the backup the job took is written to a scratch folder ({})",
            dir.display()
        ));
    }
    let recorded = b.outcome.clone();
    if recorded
        .as_ref()
        .and_then(|r| r.error.as_ref())
        .is_some_and(|e| e.phase == Some(Phase::Confirm))
    {
        notes.push("the recorded failure happened after the reset (Confirm), outside the transcript: the replay cannot reach it".to_owned());
    }
    let elided = b.info.as_ref().is_some_and(|i| i.raw_data_elided);
    let mode = if elided {
        notes.push("the bundle stores the session's raw data as zeros (a long session): host bytes are not compared, only the board's answers are replayed".to_owned());
        ReplayMode::Lenient
    } else {
        ReplayMode::Strict
    };
    let link = Shared(Arc::new(Mutex::new(ReplayTransport::new(transcript, mode))));
    // The transcript is the board: it stands on the request's bus under the port's name (a
    // bare `virtual` given a profile first, as the flash would fill it in before opening).
    req.port = crate::port::fill_virtual_profile(&req.port, "replay");
    req.bus = LinkBus::before(req.port.clone(), Box::new(link.clone()), req.bus.clone());
    let replayed = spawn_flash(req, sink).join();
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    let mismatch = link.with(|t| t.mismatch()).map(|m| m.to_string());
    Ok(ReplayReport {
        reproduced: same(recorded.as_ref(), &replayed),
        recorded,
        replayed,
        mismatch,
        notes,
    })
}
