//! The real backend: flashes, diagnoses and probes through oasis-engine, on named worker
//! threads, for every board on its bus: real USB boards and serial ports, and Oasis's virtual
//! boards, which sit on a virtual bus and go the whole way a module goes (listed from the bus,
//! switched from normal mode over their DM port, flashed, and confirmed after the reset). The
//! backend never opens a virtual board itself. Every answer is a `BackendMsg` followed by a
//! wake-up of the UI.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crossbeam_channel::{Receiver, Sender, unbounded};
use oasis_engine::Help;
use oasis_engine::diag::at::AtProbe;
use oasis_engine::diag::compat::{BoardFacts, PackageFacts};
use oasis_engine::diag::diagnose;
use oasis_engine::diag::usb_table::Role;
use oasis_engine::{ErrorKind, ErrorReport, Event, JobHandle};
use oasis_package::{OpenOptions, Package};
use oasis_transport::enumerate::{Snapshot, UsbDeviceInfo};
use oasis_transport::{BusHandle, JoinedBus};
use oasis_vdev::{BusTiming, VirtualBus};

use super::engine_boards::{
    Label, Virtual, board_err, demo_boards, diagnosis_view, evidence_on, probe_device, switch_real,
};
use super::engine_serial::{SerialBoard, link_for, serial_boards, with_port};
use super::engine_watch::{Links, Shared, View, relabelled, watch};

mod dump;
mod flash;

use super::types::blocked;
use super::{
    Backend, BackendError, BackendMsg, BoardMode, Compat, FlashJob, JobId, Level, Waker, summarize,
};
use flash::start_job;
use oasis_engine::refuse::is_demo_package;

/// The engine-backed backend.
pub struct EngineBackend {
    tx: Sender<BackendMsg>,
    rx: Receiver<BackendMsg>,
    waker: Arc<OnceLock<Waker>>,
    /// The virtual boards' bus (demo and training boards; tests plug and unplug here).
    vbus: VirtualBus,
    /// Where boards are opened: the virtual bus, then this computer.
    bus: BusHandle,
    shared: Arc<Mutex<Shared>>,
    jobs: Jobs,
    workers: super::workers::Workers,
    watch_usb: bool,
    /// The latest listing the watcher published, and where the next ones arrive.
    view: Arc<View>,
    views: Receiver<Arc<View>>,
    /// Where the hand-added serial ports go to the watcher.
    manual: Sender<Vec<super::ManualPort>>,
    /// The package the user picked last, as it was opened then (the package worker sends it):
    /// the compatibility checks and the flash use it instead of opening (and hashing) it again.
    package: Option<Arc<Package>>,
    packages: (Sender<Arc<Package>>, Receiver<Arc<Package>>),
}

/// The engine jobs the backend started (flashes, crash dumps), by the UI's job id: only the UI
/// thread's calls touch it, so it takes no lock.
type Jobs = HashMap<JobId, JobHandle>;

impl std::fmt::Debug for EngineBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBackend")
            .field("bus", &self.bus)
            .field("jobs", &self.jobs.len())
            .finish_non_exhaustive()
    }
}

/// What a worker needs to answer: the channel and the UI's wake-up.
#[derive(Clone)]
struct Reply {
    tx: Sender<BackendMsg>,
    waker: Arc<OnceLock<Waker>>,
}

impl Reply {
    fn send(&self, msg: BackendMsg) {
        let _ = self.tx.send(msg);
        if let Some(w) = self.waker.get() {
            w();
        }
    }
}

/// Plugs virtual boards into a running backend's virtual bus and pulls them out.
#[derive(Debug, Clone)]
pub struct Socket {
    vbus: VirtualBus,
    shared: std::sync::Weak<Mutex<Shared>>,
}

impl Socket {
    /// Plug `v` in; the board list shows it once the bus shows it.
    pub fn plug(&self, v: Virtual) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        // Plugged and named under the watcher's lock: no listing shows it nameless.
        let mut sh = shared.lock().unwrap_or_else(PoisonError::into_inner);
        let n = self.vbus.plug_as(v.board, Some(&v.id));
        sh.view.labels.push(Label {
            port_path: VirtualBus::port_path(n),
            id: v.id,
            title: v.title,
        });
    }

    /// Pull the board listed as `id` out (a cable pulled); `false` when there is none.
    pub fn unplug(&self, id: &str) -> bool {
        let Some(shared) = self.shared.upgrade() else {
            return false;
        };
        let path = shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .view
            .labels
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.port_path.clone());
        path.and_then(|p| p.strip_prefix("0-").and_then(|n| n.parse().ok()))
            .is_some_and(|n| self.vbus.unplug(n))
    }
}

/// Which board an id names.
enum Target {
    /// A USB device on the bus (real, or a virtual board: `virtual` says which).
    Usb {
        device: UsbDeviceInfo,
        is_virtual: bool,
    },
    /// A board seen only through serial ports.
    Serial(SerialBoard),
}

impl EngineBackend {
    /// A backend with the demo virtual boards; `watch_usb` lists this computer's USB and serial
    /// ports too (tests and `--demo` leave it off so the list holds only virtual boards).
    pub fn new(watch_usb: bool) -> EngineBackend {
        EngineBackend::with_virtuals(demo_boards(), watch_usb)
    }

    /// A backend with these virtual boards plugged into its virtual bus.
    pub fn with_virtuals(virtuals: Vec<Virtual>, watch_usb: bool) -> EngineBackend {
        let (tx, rx) = unbounded();
        let waker = Arc::new(OnceLock::new());
        let vbus = VirtualBus::new(BusTiming::default());
        let bus = BusHandle::new(JoinedBus::new(vec![vbus.handle(), BusHandle::system()]));
        let listed = if watch_usb {
            bus.clone()
        } else {
            vbus.handle()
        };
        let (views_tx, views_rx) = unbounded();
        let (manual_tx, manual_rx) = unbounded();
        let backend = EngineBackend {
            tx,
            rx,
            waker,
            vbus,
            bus,
            shared: Arc::new(Mutex::new(Shared::default())),
            jobs: HashMap::new(),
            workers: super::workers::Workers::default(),
            watch_usb,
            view: Arc::default(),
            views: views_rx,
            manual: manual_tx,
            package: None,
            packages: unbounded(),
        };
        for v in virtuals {
            backend.plug(v);
        }
        let (reply, s, bus) = (
            backend.reply(),
            Arc::clone(&backend.shared),
            backend.bus.clone(),
        );
        let links = Links {
            views: views_tx,
            manual: manual_rx,
        };
        let spawned = std::thread::Builder::new()
            .name("oasis-boards".into())
            .spawn(move || watch(listed, watch_usb, &bus, &s, &links, &|m| reply.send(m)));
        if let Err(e) = spawned {
            backend
                .reply()
                .send(BackendMsg::Notice(format!("board list not watched: {e}")));
        }
        backend
    }

    /// Plug a virtual board into the backend's virtual bus; the board list shows it as it
    /// shows a module that was plugged in.
    pub fn plug(&self, v: Virtual) {
        self.socket().plug(v);
    }

    /// Where virtual boards are plugged in and pulled out while the app runs (demos, training,
    /// tests): a handle that outlives nothing (it lets go once the backend is gone).
    pub fn socket(&self) -> Socket {
        Socket {
            vbus: self.vbus.clone(),
            shared: Arc::downgrade(&self.shared),
        }
    }

    fn reply(&self) -> Reply {
        Reply {
            tx: self.tx.clone(),
            waker: Arc::clone(&self.waker),
        }
    }

    /// The latest listing the watcher published (taken from its channel: no lock).
    fn view(&mut self) -> Arc<View> {
        while let Ok(v) = self.views.try_recv() {
            self.view = v;
        }
        Arc::clone(&self.view)
    }

    /// The package opened from `path`, if it is the one the user picked last.
    fn opened(&mut self, path: &Path) -> Option<Arc<Package>> {
        while let Ok(p) = self.packages.1.try_recv() {
            self.package = Some(p);
        }
        self.package.clone().filter(|p| p.source == path)
    }

    fn target(&mut self, id: &str) -> Result<Target, BackendError> {
        let sh = self.view();
        let label = sh.labels.iter().find(|l| l.id == id);
        let path = label.map_or(id, |l| l.port_path.as_str());
        let serial = || {
            serial_boards(&sh.snapshot, &sh.manual)
                .into_iter()
                .find(|b| b.id == id)
                .map(Target::Serial)
        };
        sh.snapshot
            .usb
            .iter()
            .find(|d| d.port_path == path)
            .cloned()
            .map(|device| Target::Usb {
                device,
                is_virtual: label.is_some(),
            })
            .or_else(serial)
            .ok_or_else(|| BackendError::NoSuchBoard {
                board: id.to_owned(),
            })
    }

    /// The board a job names; when there is none, job `id` fails with the reason.
    fn job_target(&mut self, id: JobId, board: &str) -> Option<Target> {
        match self.target(board) {
            Ok(t) => Some(t),
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
                None
            }
        }
    }

    /// The mode board `id` is in now (`None` once it has left).
    fn mode_of(&mut self, id: &str) -> Option<BoardMode> {
        self.view()
            .boards
            .iter()
            .find(|b| b.id == id)
            .map(|b| b.mode)
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

/// The USB device behind a target.
fn device_of(t: &Target) -> &UsbDeviceInfo {
    match t {
        Target::Usb { device, .. } | Target::Serial(SerialBoard { device, .. }) => device,
    }
}

/// AT probes of a board: every AT or modem port of its device, each opened on the bus.
fn probe_target(bus: &BusHandle, t: &Target) -> Vec<(AtProbe, Role)> {
    probe_device(bus, device_of(t))
}

fn identity_of(bus: &BusHandle, t: &Target) -> Result<oasis_engine::ChipIdentity, ErrorReport> {
    let port = match t {
        Target::Usb { device, .. } => link_for(device),
        Target::Serial(b) => b.flash_port.clone(),
    };
    with_port(&port, || oasis_engine::read_chip_identity(bus, &port))
}

fn compat_report(
    bus: &BusHandle,
    package: Result<Arc<Package>, String>,
    t: &Target,
    mode: Option<BoardMode>,
) -> Compat {
    let pkg = match package {
        Ok(p) => p,
        Err(e) => return blocked("Package", e),
    };
    let probes = probe_target(bus, t);
    let probe = probes.iter().map(|(p, _)| p).find(|p| p.answered);
    // A serial link carries the board's one Sahara HELLO: it is kept for the flash, which reads
    // the chip identity first anyway.
    let chip = match (mode, t) {
        (_, Target::Serial(_)) => None,
        (Some(BoardMode::Edl), _) => identity_of(bus, t).ok(),
        _ => None,
    };
    let facts = BoardFacts::from_evidence(probe, chip.as_ref());
    let mut verdict = oasis_engine::diag::compat::check(&PackageFacts::from_package(&pkg), &facts);
    let on_hardware = !matches!(
        t,
        Target::Usb {
            is_virtual: true,
            ..
        }
    );
    if on_hardware && is_demo_package(&pkg) {
        let demo = blocked(
            "Demo",
            "this is Oasis's demo package, not firmware: it only goes onto virtual boards",
        );
        verdict.checks.extend(demo.checks);
        verdict.overall = Level::Red;
        verdict.answer = demo.answer;
    }
    verdict
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
        // Set once, when the app starts; the workers wake the UI through it without a lock.
        let _ = self.waker.set(waker);
    }

    fn refresh_boards(&mut self) {
        let view = self.view();
        let (list, timeline) = (view.boards.clone(), view.timeline.clone());
        let reply = self.reply();
        reply.send(BackendMsg::Boards(list));
        reply.send(BackendMsg::Timeline(timeline));
    }

    fn open_package(&mut self, path: &Path) {
        let path = path.to_owned();
        let subject = path.display().to_string();
        let opened = self.packages.0.clone();
        self.work("package", &subject, move || {
            let result = Package::open(&path, &OpenOptions::default())
                .map(|p| {
                    let summary = summarize(&p);
                    // Sent before the summary: the backend has it when the UI asks for a check.
                    let _ = opened.send(Arc::new(p));
                    summary
                })
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
            Ok(_) => self.mode_of(&board),
            Err(_) => None,
        };
        let bus = self.bus.clone();
        let subject = format!("{}@{board}", package.display());
        let picked = self.opened(&package);
        self.work("compat", &subject, move || {
            let report = match target {
                Ok(t) => {
                    let pkg = picked
                        .filter(|p| p.changed_on_disk().is_none())
                        .map_or_else(
                            || {
                                Package::open(&package, &OpenOptions::default())
                                    .map(Arc::new)
                                    // The package reader's advice goes with its reason.
                                    .map_err(|e| match e.help() {
                                        Some(h) => format!("{e}; {h}"),
                                        None => e.to_string(),
                                    })
                            },
                            Ok,
                        );
                    compat_report(&bus, pkg, &t, mode)
                }
                Err(e) => blocked("Board", e.to_string()),
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
        let Some(target) = self.job_target(id, &job.board) else {
            return;
        };
        // The engine makes every check that needs the board on its own job thread.
        let pkg = self.opened(&job.package);
        let handle = start_job(&self.bus, job, pkg, target, &self.reply());
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
        let view = self.view();
        let (snapshot, timeline) = (view.snapshot.clone(), view.engine_timeline.clone());
        let bus = self.bus.clone();
        let subject = board.clone();
        self.work("diagnose", &subject, move || {
            let result = target.map(|t| {
                let (snapshot, timeline) = match &t {
                    Target::Usb { .. } => (snapshot, Some(timeline)),
                    Target::Serial(b) => (
                        Snapshot {
                            usb: vec![b.device.clone()],
                            ..Snapshot::default()
                        },
                        None,
                    ),
                };
                let d = device_of(&t);
                let mut evidence = evidence_on(&bus, snapshot, d, timeline);
                let virtual_board = matches!(
                    t,
                    Target::Usb {
                        is_virtual: true,
                        ..
                    }
                );
                if !virtual_board {
                    return diagnosis_view(&diagnose(&evidence), &d.port_path, &d.port_path);
                }
                // A virtual board is named as the list names it, in every line of its
                // diagnosis (not by its path on the virtual bus).
                let path = d.port_path.clone();
                let rename = |p: &str| {
                    if p == path {
                        board.clone()
                    } else {
                        p.to_owned()
                    }
                };
                for u in &mut evidence.snapshot.usb {
                    u.port_path = rename(&u.port_path);
                }
                evidence.timeline = evidence
                    .timeline
                    .take()
                    .map(|t| t.into_iter().map(|e| relabelled(e, rename)).collect());
                diagnosis_view(&diagnose(&evidence), &board, &board)
            });
            BackendMsg::Diagnosis { board, result }
        });
    }

    fn probe_at(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        let bus = self.bus.clone();
        let subject = board.clone();
        self.work("at-probe", &subject, move || {
            let result = target.map(|t| {
                probe_target(&bus, &t)
                    .iter()
                    .map(|(probe, role)| super::AtPortResult {
                        role: *role,
                        probe: probe.clone(),
                    })
                    .collect()
            });
            BackendMsg::AtProbe { board, result }
        });
    }

    fn read_identity(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        let bus = self.bus.clone();
        let subject = board.clone();
        self.work("identity", &subject, move || {
            let result = target.and_then(|t| {
                identity_of(&bus, &t)
                    .map_err(|r| board_err(&board, "reading the chip identity", r.message, r.hint))
            });
            BackendMsg::Identity { board, result }
        });
    }

    fn collect_dump(&mut self, job: super::DumpJob) {
        self.start_dump(job);
    }

    fn set_manual_ports(&mut self, ports: Vec<super::ManualPort>) {
        // The watcher takes them on its next round and lists them.
        let _ = self.manual.send(ports);
    }

    fn switch_to_download(&mut self, board: &str) {
        let board = board.to_owned();
        let target = self.target(&board);
        let bus = self.bus.clone();
        let subject = board.clone();
        self.work("switch", &subject, move || {
            let result = target.and_then(|t| switch_real(&bus, &board, device_of(&t)));
            BackendMsg::Switched { board, result }
        });
    }
}
