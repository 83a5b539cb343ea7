//! The real backend: flashes, diagnoses and probes through oasis-engine, on named worker
//! threads, for real USB boards (enumeration poller) and for Oasis's virtual boards — which
//! go the whole way a module goes: switched from normal mode over their DM port, flashed, and
//! confirmed after the reset. Every answer is a `BackendMsg` followed by a wake-up of the UI.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crossbeam_channel::{Receiver, Sender, unbounded};
use oasis_engine::Help;
use oasis_engine::diag::at::AtProbe;
use oasis_engine::diag::compat::{BoardFacts, PackageFacts};
use oasis_engine::diag::{Evidence, diagnose};
use oasis_engine::{ErrorKind, ErrorReport, Event, JobHandle, Timeouts};
use oasis_package::{OpenOptions, Package};
use oasis_transport::BusHandle;
use oasis_transport::enumerate::Snapshot;

use super::engine_boards::{
    Virtual, at_config, at_result, board_err, demo_boards, diagnosis_view, probe_virtual,
    switch_real, switch_virtual, ttys_with_roles, virtual_evidence, virtual_info,
};
use super::engine_serial::{SerialBoard, link_for, serial_boards, with_port};
use super::engine_watch::{Shared, watch};

mod dump;
mod flash;

use super::{
    Backend, BackendError, BackendMsg, BoardMode, CompatCheck, CompatReport, FlashJob, JobId,
    Level, Waker, no_waker, summarize,
};
use flash::{is_demo_package, start_job};

/// The engine-backed backend.
pub struct EngineBackend {
    tx: Sender<BackendMsg>,
    rx: Receiver<BackendMsg>,
    waker: Arc<Mutex<Waker>>,
    virtuals: Vec<Virtual>,
    shared: Arc<Mutex<Shared>>,
    jobs: Jobs,
    workers: super::workers::Workers,
    watch_usb: bool,
}

/// A job the backend was asked for: being checked and started, or running.
enum JobSlot {
    /// The start-up check runs; `cancelled` when the user cancelled meanwhile.
    Starting { cancelled: bool },
    /// The engine job.
    Running(JobHandle),
}

/// The jobs, shared with the threads that start them.
type Jobs = Arc<Mutex<HashMap<JobId, JobSlot>>>;

fn lock_jobs(jobs: &Jobs) -> MutexGuard<'_, HashMap<JobId, JobSlot>> {
    jobs.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for EngineBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBackend")
            .field("virtual_boards", &self.virtuals.len())
            .field("jobs", &lock_jobs(&self.jobs).len())
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
    /// A board seen only through serial ports.
    Serial(SerialBoard),
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
            jobs: Arc::new(Mutex::new(HashMap::new())),
            workers: super::workers::Workers::default(),
            watch_usb,
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
        let serial = || {
            serial_boards(&sh.snapshot, &sh.manual)
                .into_iter()
                .find(|b| b.id == id)
                .map(Target::Serial)
        };
        sh.snapshot
            .usb
            .iter()
            .find(|d| d.port_path == id)
            .cloned()
            .map(Target::Real)
            .or_else(serial)
            .ok_or_else(|| BackendError::NoSuchBoard {
                board: id.to_owned(),
            })
    }

    /// Use this enumeration as what is attached (the USB poller replaces it with each of its
    /// snapshots; tests and a backend without the poller set it here).
    pub fn observe(&self, snapshot: Snapshot) {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot = snapshot;
    }

    /// The mode board `id` is in now.
    fn mode_of(&self, id: &str, target: &Target) -> BoardMode {
        match target {
            Target::Virtual(v) => virtual_info(v).mode,
            Target::Real(_) | Target::Serial(_) => self
                .shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .real_list()
                .into_iter()
                .find(|b| b.id == id)
                .map_or(BoardMode::Unknown, |b| b.mode),
        }
    }

    /// Run `work` on a named worker thread and send what it returns; at most one per `name`
    /// and `subject` (a board, a package) at a time, and a bounded number overall.
    fn work<F>(&mut self, name: &str, subject: &str, work: F)
    where
        F: FnOnce() -> BackendMsg + Send + 'static,
    {
        let finished = match self.workers.begin(&format!("{name}:{subject}")) {
            Ok(f) => f,
            // The same request is still running: its answer will come.
            Err(super::workers::NotStarted::AlreadyRunning) => return,
            Err(super::workers::NotStarted::Busy) => {
                self.reply().send(BackendMsg::Notice(format!(
                    "{name} for {subject} not started: {} requests are already running; try again in a moment",
                    super::workers::MAX_WORKERS
                )));
                return;
            }
        };
        let reply = self.reply();
        let spawned = std::thread::Builder::new()
            .name(format!("oasis-{name}"))
            .spawn(move || {
                let msg = work();
                drop(finished);
                reply.send(msg);
            });
        if let Err(e) = spawned {
            self.reply()
                .send(BackendMsg::Notice(format!("could not start {name}: {e}")));
        }
    }
}

/// AT probes of a board: the virtual AT port, or every serial port of a real device.
fn probe_target(t: &Target) -> Vec<(AtProbe, String)> {
    match t {
        Target::Virtual(v) => probe_virtual(v)
            .map(|p| (p, "AT command port".to_owned()))
            .into_iter()
            .collect(),
        Target::Real(d) | Target::Serial(SerialBoard { device: d, .. }) => ttys_with_roles(d)
            .into_iter()
            .filter(|(_, role)| role.contains("AT") || role.contains("modem"))
            .map(|(tty, role)| {
                let probe = with_port(&tty, || {
                    oasis_engine::diag::at::probe_on(&BusHandle::system(), &tty, &at_config())
                });
                (probe, role)
            })
            .collect(),
    }
}

fn identity_of(t: &Target) -> Result<oasis_engine::ChipIdentity, String> {
    match t {
        Target::Virtual(v) => {
            let _session = v.port.session()?;
            let mut link = v.board.connect();
            oasis_engine::read_chip_identity_on(&mut link, &Timeouts::default())
                .map_err(|r| r.message)
        }
        Target::Real(d) => oasis_engine::read_chip_identity(&BusHandle::system(), &link_for(d))
            .map_err(|r| r.message),
        Target::Serial(b) => with_port(&b.flash_port, || {
            oasis_engine::read_chip_identity(&BusHandle::system(), &b.flash_port)
                .map_err(|r| r.message)
        }),
    }
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
    // A serial link carries the board's one Sahara HELLO: it is kept for the flash, which reads
    // the chip identity first anyway.
    let chip = match (mode, t) {
        (_, Target::Serial(_)) => None,
        (BoardMode::Download, _) => identity_of(t).ok(),
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
    if is_demo_package(&pkg) && !matches!(t, Target::Virtual(_)) {
        checks.push(CompatCheck {
            name: "Demo".into(),
            level: Level::Bad,
            reason: "this is Oasis's demo package, not firmware: it only goes onto virtual boards"
                .into(),
        });
    }
    CompatReport { checks }
}

impl Backend for EngineBackend {
    fn name(&self) -> String {
        if self.watch_usb {
            "oasis-engine (USB and virtual boards)".to_owned()
        } else {
            "oasis-engine (virtual demo boards only)".to_owned()
        }
    }

    fn receiver(&self) -> Receiver<BackendMsg> {
        self.rx.clone()
    }

    fn set_waker(&mut self, waker: Waker) {
        *self.waker.lock().unwrap_or_else(PoisonError::into_inner) = waker;
    }

    fn refresh_boards(&mut self) {
        let mut list: Vec<_> = self.virtuals.iter().map(virtual_info).collect();
        let timeline = {
            let sh = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            list.extend(sh.real_list());
            sh.timeline.clone()
        };
        let reply = self.reply();
        reply.send(BackendMsg::Boards(list));
        reply.send(BackendMsg::Timeline(timeline));
    }

    fn open_package(&mut self, path: &Path) {
        let path = path.to_owned();
        let subject = path.display().to_string();
        self.work("package", &subject, move || {
            let result = Package::open(&path, &OpenOptions::default())
                .map(|p| summarize(&p))
                .map_err(|e| BackendError::Package {
                    path: path.clone(),
                    reason: e.to_string(),
                    help: e.help().map(String::from).unwrap_or_default(),
                });
            BackendMsg::Package { path, result }
        });
    }

    fn check_compat(&mut self, package: &Path, board: &str) {
        let (package, board) = (package.to_owned(), board.to_owned());
        let target = self.target(&board);
        let mode = match &target {
            Ok(t) => self.mode_of(&board, t),
            Err(_) => BoardMode::Absent,
        };
        let subject = format!("{}@{board}", package.display());
        self.work("compat", &subject, move || {
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
        let id = job.job;
        let target = match self.target(&job.board) {
            Ok(t) => t,
            Err(e) => {
                let report = ErrorReport {
                    kind: ErrorKind::Port,
                    message: e.to_string(),
                    hint: e.help().map(String::from),
                    phase: None,
                    partition: None,
                    device_log: Vec::new(),
                };
                self.reply().send(BackendMsg::Job {
                    job: id,
                    event: Event::Failed(report),
                });
                return;
            }
        };
        let mode = self.mode_of(&job.board, &target);
        {
            let mut jobs = lock_jobs(&self.jobs);
            jobs.retain(|_, s| !matches!(s, JobSlot::Running(h) if h.is_finished()));
            jobs.insert(id, JobSlot::Starting { cancelled: false });
        }
        let (jobs, reply) = (Arc::clone(&self.jobs), self.reply());
        let spawned = std::thread::Builder::new()
            .name(format!("oasis-start-{id}"))
            .spawn(move || start_job(job, target, mode, &jobs, &reply));
        if let Err(e) = spawned {
            lock_jobs(&self.jobs).remove(&id);
            let report = ErrorReport {
                kind: ErrorKind::Internal,
                message: format!("could not start the flash: {e}"),
                hint: None,
                phase: None,
                partition: None,
                device_log: Vec::new(),
            };
            self.reply().send(BackendMsg::Job {
                job: id,
                event: Event::Failed(report),
            });
        }
    }

    fn cancel(&mut self, job: JobId) {
        match lock_jobs(&self.jobs).get_mut(&job) {
            Some(JobSlot::Starting { cancelled }) => *cancelled = true,
            Some(JobSlot::Running(h)) => h.cancel(),
            None => {}
        }
    }

    fn diagnose(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        let (snapshot, timeline, virtual_timeline) = {
            let sh = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            (
                sh.snapshot.clone(),
                sh.engine_timeline.clone(),
                sh.virtual_timeline.clone(),
            )
        };
        let subject = board.clone();
        self.work("diagnose", &subject, move || {
            let result = target.map(|t| {
                let evidence = match &t {
                    Target::Virtual(v) => virtual_evidence(v, &virtual_timeline),
                    Target::Real(_) => Evidence {
                        snapshot,
                        timeline: Some(timeline),
                        at: probe_target(&t).into_iter().map(|(p, _)| p).collect(),
                        chip: None,
                        firehose_running: None,
                    },
                    Target::Serial(b) => Evidence {
                        snapshot: Snapshot {
                            usb: vec![b.device.clone()],
                            ..Snapshot::default()
                        },
                        timeline: None,
                        at: probe_target(&t).into_iter().map(|(p, _)| p).collect(),
                        chip: None,
                        firehose_running: None,
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
        let subject = board.clone();
        self.work("at-probe", &subject, move || {
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
        let subject = board.clone();
        self.work("identity", &subject, move || {
            let result = target.and_then(|t| {
                identity_of(&t).map_err(|why| board_err(&board, "reading the chip identity", why))
            });
            BackendMsg::Identity { board, result }
        });
    }

    fn collect_dump(&mut self, job: super::DumpJob) {
        self.start_dump(job);
    }

    fn set_manual_ports(&mut self, ports: Vec<super::ManualPort>) {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .manual = ports;
    }

    fn switch_to_download(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        let subject = board.clone();
        self.work("switch", &subject, move || {
            let result = target.and_then(|t| match t {
                Target::Virtual(v) => switch_virtual(&board, &v),
                Target::Real(d) | Target::Serial(SerialBoard { device: d, .. }) => {
                    switch_real(&board, &d)
                }
            });
            BackendMsg::Switched { board, result }
        });
    }
}
