//! Shared helpers of the GUI tests: building the whole app in a kittest harness, a backend the
//! test drives event by event, and temp folders.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use oasis::backend::{Backend, BackendMsg, FlashJob, JobId, Waker};
use oasis::picker::NoPicker;
use oasis::{AppOptions, OasisApp};
use oasis_package::Help;

/// A fresh, empty temp folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oasis-gui-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The demo package shipped in assets/.
pub fn demo_package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join("demo-package")
}

/// The whole app in a harness, with this backend and data folder.
pub fn app(
    backend: Box<dyn Backend>,
    data_dir: &Path,
    package: Option<PathBuf>,
) -> Harness<'static, OasisApp> {
    let data_dir = data_dir.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .with_max_steps(40)
        .build_eframe(move |cc| {
            OasisApp::new(
                cc,
                AppOptions {
                    backend,
                    data_dir: Some(data_dir),
                    package,
                    picker: Some(Box::new(NoPicker)),
                },
            )
        })
}

/// Step the harness until `done` holds (or panic after `secs`).
pub fn run_until(
    h: &mut Harness<'static, OasisApp>,
    secs: u64,
    what: &str,
    mut done: impl FnMut(&Harness<'static, OasisApp>) -> bool,
) {
    let t = Instant::now();
    while !done(h) {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
}

/// True when a node with exactly this label exists.
pub fn has_label(h: &Harness<'static, OasisApp>, label: &str) -> bool {
    h.query_by_label(label).is_some()
}

/// What the manual backend was asked to do.
#[derive(Debug, Default, Clone)]
pub struct Calls {
    /// Flash jobs started.
    pub flashes: Vec<FlashJob>,
    /// Jobs cancelled.
    pub cancels: Vec<JobId>,
    /// Boards diagnosed.
    pub diagnosed: Vec<String>,
    /// Boards whose AT ports were probed.
    pub probed: Vec<String>,
    /// Boards whose chip identity was asked for.
    pub identities: Vec<String>,
    /// Boards switched to download mode.
    pub switched: Vec<String>,
}

/// A backend whose answers the test sends itself, one message at a time; it records calls.
pub struct ManualBackend {
    pub tx: Sender<BackendMsg>,
    rx: Receiver<BackendMsg>,
    pub calls: Arc<Mutex<Calls>>,
    boards: Vec<oasis::backend::BoardInfo>,
}

impl ManualBackend {
    /// A manual backend that lists `boards` and opens packages for real (synchronously).
    pub fn new(boards: Vec<oasis::backend::BoardInfo>) -> ManualBackend {
        let (tx, rx) = unbounded();
        ManualBackend {
            tx,
            rx,
            calls: Arc::default(),
            boards,
        }
    }
}

impl Backend for ManualBackend {
    fn name(&self) -> String {
        "manual test backend".into()
    }
    fn receiver(&self) -> Receiver<BackendMsg> {
        self.rx.clone()
    }
    fn set_waker(&mut self, _waker: Waker) {}
    fn refresh_boards(&mut self) {
        let _ = self.tx.send(BackendMsg::Boards(self.boards.clone()));
    }
    fn open_package(&mut self, path: &Path) {
        // Opened for real, on the calling thread: the summary is the package's own.
        let result = oasis_package::Package::open(path, &oasis_package::OpenOptions::default())
            .map(|p| oasis::backend::summarize(&p))
            .map_err(|e| oasis::backend::BackendError::Package {
                path: path.to_owned(),
                reason: e.to_string(),
                help: e.help().map(String::from).unwrap_or_default(),
            });
        let _ = self.tx.send(BackendMsg::Package {
            path: path.to_owned(),
            result,
        });
    }
    fn check_compat(&mut self, package: &Path, board: &str) {
        let report = oasis::backend::Compat {
            overall: oasis::backend::Level::Green,
            checks: vec![oasis::backend::CompatCheck {
                name: "Chip".into(),
                status: oasis::backend::Level::Green,
                reason: "same chip".into(),
            }],
            answer: "Yes: same chip.".into(),
        };
        let _ = self.tx.send(BackendMsg::Compat {
            board: board.into(),
            package: package.into(),
            report,
        });
    }
    fn start_flash(&mut self, job: FlashJob) {
        self.calls.lock().unwrap().flashes.push(job);
    }
    fn cancel(&mut self, job: JobId) {
        self.calls.lock().unwrap().cancels.push(job);
    }
    fn diagnose(&mut self, board: &str) {
        self.calls.lock().unwrap().diagnosed.push(board.into());
    }
    fn probe_at(&mut self, board: &str) {
        self.calls.lock().unwrap().probed.push(board.into());
    }
    fn read_identity(&mut self, board: &str) {
        self.calls.lock().unwrap().identities.push(board.into());
    }
    fn switch_to_download(&mut self, board: &str) {
        self.calls.lock().unwrap().switched.push(board.into());
    }
}

/// The whole app on the real engine backend with the three virtual demo boards (no USB
/// watcher), once the package (if any) and the boards have arrived.
pub fn engine_app(dir: &Path, package: Option<PathBuf>) -> Harness<'static, OasisApp> {
    let backend = oasis::backend::engine::EngineBackend::new(false);
    let want_package = package.is_some();
    let mut h = app(Box::new(backend), dir, package);
    run_until(&mut h, 30, "the package and the boards", |h| {
        let st = &h.state().state;
        (!want_package || st.package.summary.is_some()) && st.boards.len() == 3
    });
    h
}

/// Click the widget with this label and run the frames that handle it and show the result.
pub fn click(h: &mut Harness<'static, OasisApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(3);
}

/// Pick `board` on the Flash tab, wait for its compatibility verdict, start, confirm, and wait
/// for the verdict of the flash.
pub fn flash(h: &mut Harness<'static, OasisApp>, board: &str) {
    click(h, board);
    run_until(h, 20, "the compatibility verdict", |h| {
        h.state().state.flash.compat.is_some()
    });
    click(h, "Start flash");
    click(h, "Erase and flash");
    run_until(h, 120, "the verdict", |h| {
        h.state().state.flash.stage == oasis::state::FlashStage::Done
    });
}

/// The verdict of a flash that succeeded (panics with the outcome otherwise).
pub fn verdict(h: &Harness<'static, OasisApp>) -> oasis_engine::Verdict {
    match h.state().state.flash.progress.outcome.clone() {
        Some(oasis::job::JobOutcome::Finished(v)) => v,
        other => panic!("expected a success, got {other:?}"),
    }
}
