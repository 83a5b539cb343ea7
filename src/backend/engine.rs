//! The real backend: flashes, diagnoses and probes through oasis-engine, on named worker
//! threads, for real USB boards (enumeration poller) and for Oasis's virtual boards. Every
//! answer is a `BackendMsg` followed by a wake-up of the UI.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use oasis_engine::diag::at::{ProbeConfig, probe};
use oasis_engine::diag::compat::{BoardFacts, PackageFacts};
use oasis_engine::diag::{Evidence, diagnose};
use oasis_engine::{FlashOptions as EngineOptions, FlashRequest, JobHandle, Timeouts};
use oasis_package::{OpenOptions, Package};
use oasis_transport::enumerate::Snapshot;

use super::engine_boards::{
    Virtual, at_result, demo_boards, diagnosis_view, real_boards, ttys_with_roles, virtual_info,
    virtual_snapshot,
};
use super::engine_watch::{Shared, watch};
use super::{
    Backend, BackendError, BackendMsg, BoardMode, CompatCheck, CompatReport, FlashJob, JobId,
    Level, Verification, Waker, no_waker, summarize,
};

/// Marker the demo programmer carries: the demo package must never reach real hardware.
const DEMO_MARK: &[u8] = b"QC_IMAGE_VERSION_STRING=OASIS.DEMO";

/// The engine-backed backend.
pub struct EngineBackend {
    tx: Sender<BackendMsg>,
    rx: Receiver<BackendMsg>,
    waker: Arc<Mutex<Waker>>,
    virtuals: Vec<Virtual>,
    shared: Arc<Mutex<Shared>>,
    jobs: HashMap<JobId, JobHandle>,
}

impl std::fmt::Debug for EngineBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBackend")
            .field("virtual_boards", &self.virtuals.len())
            .field("jobs", &self.jobs.len())
            .finish_non_exhaustive()
    }
}

/// What a worker needs to answer: the channel and the UI's wake-up.
#[derive(Clone)]
struct Reply {
    tx: Sender<BackendMsg>,
    waker: Arc<Mutex<Waker>>,
}

impl Reply {
    fn send(&self, msg: BackendMsg) {
        let _ = self.tx.send(msg);
        let w = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        w();
    }
}

/// Which board an id names.
enum Target {
    Virtual(Virtual),
    Real(oasis_transport::enumerate::UsbDeviceInfo),
}

impl EngineBackend {
    /// A backend with the demo virtual boards; `watch_usb` starts the USB enumeration poller
    /// (tests leave it off so the list holds only virtual boards).
    pub fn new(watch_usb: bool) -> EngineBackend {
        EngineBackend::with_virtuals(demo_boards(), watch_usb)
    }

    /// A backend with these virtual boards.
    pub fn with_virtuals(virtuals: Vec<Virtual>, watch_usb: bool) -> EngineBackend {
        let (tx, rx) = unbounded();
        let waker = Arc::new(Mutex::new(no_waker()));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let reply = Reply {
            tx: tx.clone(),
            waker: Arc::clone(&waker),
        };
        let (v, s) = (virtuals.clone(), Arc::clone(&shared));
        let spawned = std::thread::Builder::new()
            .name("oasis-boards".into())
            .spawn(move || watch(&v, &s, watch_usb, &|m| reply.send(m)));
        if let Err(e) = spawned {
            let _ = tx.send(BackendMsg::Notice(format!("board list not watched: {e}")));
        }
        EngineBackend {
            tx,
            rx,
            waker,
            virtuals,
            shared,
            jobs: HashMap::new(),
        }
    }

    fn reply(&self) -> Reply {
        Reply {
            tx: self.tx.clone(),
            waker: Arc::clone(&self.waker),
        }
    }

    fn target(&self, id: &str) -> Result<Target, BackendError> {
        if let Some(v) = self.virtuals.iter().find(|v| v.id == id) {
            return Ok(Target::Virtual(v.clone()));
        }
        let sh = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        sh.snapshot
            .usb
            .iter()
            .find(|d| d.port_path == id)
            .cloned()
            .map(Target::Real)
            .ok_or_else(|| BackendError::NoSuchBoard {
                board: id.to_owned(),
            })
    }

    fn snapshot(&self) -> Snapshot {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot
            .clone()
    }

    /// Run `work` on a named worker thread and send what it returns.
    fn work<F>(&self, name: &str, work: F)
    where
        F: FnOnce() -> BackendMsg + Send + 'static,
    {
        let reply = self.reply();
        let spawned = std::thread::Builder::new()
            .name(format!("oasis-{name}"))
            .spawn(move || reply.send(work()));
        if let Err(e) = spawned {
            self.reply()
                .send(BackendMsg::Notice(format!("could not start {name}: {e}")));
        }
    }
}

fn board_err(board: &str, action: &'static str, reason: impl Into<String>) -> BackendError {
    BackendError::Board {
        board: board.to_owned(),
        action,
        reason: reason.into(),
    }
}

fn at_config() -> ProbeConfig {
    ProbeConfig {
        per_command: Duration::from_millis(800),
        total: Duration::from_secs(8),
        drain: Duration::from_millis(100),
    }
}

/// AT probes of a board: the virtual AT port, or every serial port of a real device.
fn probe_target(t: &Target) -> Vec<(oasis_engine::diag::at::AtProbe, String)> {
    match t {
        Target::Virtual(v) if v.board.state() == oasis_vdev::BoardState::Normal => {
            let mut link = v.board.connect();
            vec![(
                probe(&mut link, &format!("{} AT port", v.id), &at_config()),
                "AT command port".into(),
            )]
        }
        Target::Virtual(_) => Vec::new(),
        Target::Real(d) => ttys_with_roles(d)
            .into_iter()
            .filter(|(_, role)| role.contains("AT") || role.contains("modem"))
            .map(|(tty, role)| (oasis_engine::diag::at::probe_port(&tty, &at_config()), role))
            .collect(),
    }
}

fn identity_of(t: &Target) -> Result<oasis_engine::ChipIdentity, String> {
    match t {
        Target::Virtual(v) => {
            let mut link = v.board.connect();
            oasis_engine::read_chip_identity_on(&mut link, &Timeouts::default())
                .map_err(|r| r.message)
        }
        Target::Real(d) => {
            oasis_engine::read_chip_identity(&format!("usb:{}", d.port_path)).map_err(|r| r.message)
        }
    }
}

fn is_demo_package(pkg: &Package) -> bool {
    pkg.programmer
        .as_ref()
        .and_then(|p| std::fs::read(&p.path).ok())
        .is_some_and(|b| b.windows(DEMO_MARK.len()).any(|w| w == DEMO_MARK))
}

fn compat_report(package: &Path, t: &Target, mode: BoardMode) -> CompatReport {
    let pkg = match Package::open(package, &OpenOptions::default()) {
        Ok(p) => p,
        Err(e) => {
            return CompatReport {
                checks: vec![CompatCheck {
                    name: "Package".into(),
                    level: Level::Bad,
                    reason: e.to_string(),
                }],
            };
        }
    };
    let probes = probe_target(t);
    let probe = probes.iter().map(|(p, _)| p).find(|p| p.answered);
    let chip = match mode {
        BoardMode::Download => identity_of(t).ok(),
        _ => None,
    };
    let facts = BoardFacts::from_evidence(probe, chip.as_ref());
    let verdict = oasis_engine::diag::compat::check(&PackageFacts::from_package(&pkg), &facts);
    let mut checks: Vec<CompatCheck> = verdict
        .checks
        .iter()
        .map(|c| CompatCheck {
            name: c.name.clone(),
            level: match c.status {
                oasis_engine::diag::compat::Level::Green => Level::Ok,
                oasis_engine::diag::compat::Level::Amber => Level::Warn,
                oasis_engine::diag::compat::Level::Red => Level::Bad,
            },
            reason: c.reason.clone(),
        })
        .collect();
    if is_demo_package(&pkg) && matches!(t, Target::Real(_)) {
        checks.push(CompatCheck {
            name: "Demo".into(),
            level: Level::Bad,
            reason: "this is Oasis's demo package, not firmware: it only goes onto virtual boards"
                .into(),
        });
    }
    if let Target::Virtual(v) = t
        && mode == BoardMode::Normal
    {
        checks.push(CompatCheck {
            name: "Mode".into(),
            level: Level::Bad,
            reason: format!("{} runs its firmware and the virtual board has no DIAG port to switch it to download mode", v.title),
        });
    }
    CompatReport { checks }
}

/// Engine options for a job. `follow` is whether the engine can follow the board after its
/// reset to confirm the new firmware (real USB boards; a virtual board given as a bare link
/// cannot be followed, its new revision shows in the board list instead).
fn engine_options(job: &FlashJob, follow: bool) -> EngineOptions {
    let mut o = EngineOptions::default();
    o.verify = job.options.verification != Verification::Off;
    o.confirm = follow && job.options.confirm_after_reset;
    // The user confirmed the destructive steps, named one by one, in the dialog before this.
    o.allow_full_erase = true;
    o.timeouts.command = Duration::from_secs(u64::from(job.options.command_timeout_s));
    o.timeouts.edl_switch = Duration::from_secs(u64::from(job.options.reenumerate_timeout_s));
    o.no_reset = false;
    o
}

impl Backend for EngineBackend {
    fn name(&self) -> String {
        "oasis-engine (USB and virtual boards)".to_owned()
    }

    fn receiver(&self) -> Receiver<BackendMsg> {
        self.rx.clone()
    }

    fn set_waker(&mut self, waker: Waker) {
        *self.waker.lock().unwrap_or_else(PoisonError::into_inner) = waker;
    }

    fn refresh_boards(&mut self) {
        let mut list: Vec<_> = self.virtuals.iter().map(virtual_info).collect();
        list.extend(real_boards(&self.snapshot()));
        let timeline = self
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .timeline
            .clone();
        let reply = self.reply();
        reply.send(BackendMsg::Boards(list));
        reply.send(BackendMsg::Timeline(timeline));
    }

    fn open_package(&mut self, path: &Path) {
        let path = path.to_owned();
        self.work("package", move || {
            let result = Package::open(&path, &OpenOptions::default())
                .map(|p| summarize(&p))
                .map_err(|e| BackendError::Package {
                    path: path.clone(),
                    reason: e.to_string(),
                });
            BackendMsg::Package { path, result }
        });
    }

    fn check_compat(&mut self, package: &Path, board: &str) {
        let (package, board) = (package.to_owned(), board.to_owned());
        let target = self.target(&board);
        let mode = match &target {
            Ok(Target::Virtual(v)) => virtual_info(v).mode,
            Ok(Target::Real(_)) => real_boards(&self.snapshot())
                .into_iter()
                .find(|b| b.id == board)
                .map_or(BoardMode::Unknown, |b| b.mode),
            Err(_) => BoardMode::Absent,
        };
        self.work("compat", move || {
            let report = match target {
                Ok(t) => compat_report(&package, &t, mode),
                Err(e) => CompatReport {
                    checks: vec![CompatCheck {
                        name: "Board".into(),
                        level: Level::Bad,
                        reason: e.to_string(),
                    }],
                },
            };
            BackendMsg::Compat {
                board,
                package,
                report,
            }
        });
    }

    fn start_flash(&mut self, job: FlashJob) {
        let reply = self.reply();
        let id = job.job;
        let sink = Box::new(move |event| reply.send(BackendMsg::Job { job: id, event }));
        let handle = match self.target(&job.board) {
            Ok(Target::Virtual(v)) if v.board.state() == oasis_vdev::BoardState::Normal => {
                let report = oasis_engine::ErrorReport {
                    kind: oasis_engine::ErrorKind::Refused,
                    message: format!(
                        "{} runs its firmware, and a virtual board emulates no DIAG port to switch it to download mode.",
                        v.title
                    ),
                    hint: Some("Flash a virtual board that is in download mode.".into()),
                    phase: Some(oasis_engine::Phase::Connect),
                    partition: None,
                    device_log: Vec::new(),
                };
                self.reply().send(BackendMsg::Job {
                    job: id,
                    event: oasis_engine::Event::Failed(report),
                });
                return;
            }
            Ok(Target::Virtual(v)) => {
                let req = FlashRequest::new(&job.package, v.id.clone())
                    .with_options(engine_options(&job, false));
                oasis_engine::spawn_flash_on(req, Box::new(v.board.connect()), sink)
            }
            Ok(Target::Real(d)) => {
                let req = FlashRequest::new(&job.package, format!("usb:{}", d.port_path))
                    .with_options(engine_options(&job, true));
                oasis_engine::spawn_flash(req, sink)
            }
            Err(e) => {
                let report = oasis_engine::ErrorReport {
                    kind: oasis_engine::ErrorKind::Port,
                    message: e.to_string(),
                    hint: Some(e.help()),
                    phase: None,
                    partition: None,
                    device_log: Vec::new(),
                };
                self.reply().send(BackendMsg::Job {
                    job: id,
                    event: oasis_engine::Event::Failed(report),
                });
                return;
            }
        };
        self.jobs.retain(|_, h| !h.is_finished());
        self.jobs.insert(id, handle);
    }

    fn cancel(&mut self, job: JobId) {
        if let Some(h) = self.jobs.get(&job) {
            h.cancel();
        }
    }

    fn diagnose(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        let snapshot = self.snapshot();
        let timeline = self
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .engine_timeline
            .clone();
        self.work("diagnose", move || {
            let result = target.map(|t| {
                let probes = probe_target(&t);
                let evidence = Evidence {
                    snapshot: match &t {
                        Target::Virtual(v) => virtual_snapshot(v),
                        Target::Real(_) => snapshot,
                    },
                    timeline: matches!(t, Target::Real(_)).then_some(timeline),
                    at: probes.into_iter().map(|(p, _)| p).collect(),
                    chip: None,
                    firehose_running: match &t {
                        Target::Virtual(v) => match v.board.state() {
                            oasis_vdev::BoardState::Firehose => Some(true),
                            oasis_vdev::BoardState::Sahara => Some(false),
                            _ => None,
                        },
                        Target::Real(_) => None,
                    },
                };
                diagnosis_view(&diagnose(&evidence), &board)
            });
            BackendMsg::Diagnosis { board, result }
        });
    }

    fn probe_at(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        self.work("at-probe", move || {
            let result = target.map(|t| {
                probe_target(&t)
                    .iter()
                    .map(|(p, role)| at_result(p, role))
                    .collect()
            });
            BackendMsg::AtProbe { board, result }
        });
    }

    fn read_identity(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        self.work("identity", move || {
            let result = target.and_then(|t| {
                identity_of(&t).map_err(|why| board_err(&board, "reading the chip identity", why))
            });
            BackendMsg::Identity { board, result }
        });
    }

    fn switch_to_download(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        self.work("switch", move || {
            let result = target.and_then(|t| match t {
                Target::Virtual(_) => Err(board_err(
                    &board,
                    "switching to download mode",
                    "the virtual board emulates no DIAG port; flash a virtual board that is already in download mode",
                )),
                Target::Real(d) => switch_real(&board, &d),
            });
            BackendMsg::Switched { board, result }
        });
    }
}

fn switch_real(
    board: &str,
    d: &oasis_transport::enumerate::UsbDeviceInfo,
) -> Result<String, BackendError> {
    let Some((dm, _)) = ttys_with_roles(d)
        .into_iter()
        .find(|(_, r)| r.contains("DIAG"))
    else {
        return Err(board_err(
            board,
            "switching to download mode",
            "no DM/DIAG serial port on this board",
        ));
    };
    let mut port = oasis_transport::serial::SerialTransport::open(&dm)
        .map_err(|e| board_err(board, "opening the DM port", e.to_string()))?;
    oasis_engine::diag::dload::switch_to_edl(&mut port, Duration::from_secs(5))
        .map_err(|e| board_err(board, "switching to download mode", e.to_string()))?;
    Ok(format!(
        "Sent the download-mode command on {dm}; the board re-appears as 05C6:9008."
    ))
}
