//! The one seam between the window and the outside world: everything the UI asks of boards,
//! packages and the flash engine goes through [`Backend`], and every answer comes back as a
//! [`BackendMsg`] on a crossbeam channel.
//!
//! The UI thread never opens a port or blocks: [`engine::EngineBackend`] answers from its own
//! named worker threads, which call the [`Waker`] after every send so egui repaints.

pub mod engine;
pub mod engine_boards;
pub mod engine_serial;
mod engine_watch;
mod summary;
mod types;
mod workers;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::Receiver;
use oasis_engine::event::{ChipIdentity, Event};

pub use summary::summarize;

pub use types::{
    AtPortResult, BackendError, BoardInfo, BoardMode, BoardState, BoardStateText, Compat,
    CompatCheck, Destructive, Diagnosis, Level, LevelText, ManualPort, ManualPortKind, Md5Status,
    ModeText, PackageSummary, TimelineEvent, Verification,
};

/// Stable identity of a board in the list (the virtual board name, the USB port path, or
/// `serial:<port>` for a board seen only as a serial port).
pub type BoardId = String;

/// Identity of one flash job, chosen by the UI.
pub type JobId = u64;

/// Wakes the UI after a worker sent a message (`egui::Context::request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The backend the app starts with: the engine, with real USB boards and the virtual demo
/// boards.
pub fn default_backend() -> Box<dyn Backend> {
    Box::new(engine::EngineBackend::new(true))
}

/// The backend of `oasis --demo` (demos and training): the engine with the virtual demo boards
/// only; no real USB device is watched or listed.
pub fn demo_backend() -> Box<dyn Backend> {
    Box::new(engine::EngineBackend::new(false))
}

/// A waker that repaints the given egui context.
pub fn egui_waker(ctx: &egui::Context) -> Waker {
    let ctx = ctx.clone();
    Arc::new(move || ctx.request_repaint())
}

/// One flash the UI asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct FlashJob {
    /// Chosen by the UI; every [`BackendMsg::Job`] of this flash carries it.
    pub job: JobId,
    /// Package folder or zip.
    pub package: PathBuf,
    /// The board to flash.
    pub board: BoardId,
    /// Verification and timeouts.
    /// The engine's options for the job (from the settings, plus the app's safety net).
    pub options: oasis_engine::FlashOptions,
}

/// One crash-dump collection the UI asks for (a board in memory-dump mode, 05C6:900E).
#[derive(Debug, Clone, PartialEq)]
pub struct DumpJob {
    /// Chosen by the UI; every [`BackendMsg::Job`] of this dump carries it.
    pub job: JobId,
    /// The crashed board.
    pub board: BoardId,
    /// The dump folder (created; must be new).
    pub out: PathBuf,
    /// Where the support bundle that references the dump goes.
    pub bundle: Option<PathBuf>,
}

/// An answer from the backend.
#[derive(Debug, Clone)]
pub enum BackendMsg {
    /// The current list of boards (sent whenever it changes, and on request).
    Boards(Vec<BoardInfo>),
    /// A package was opened (or could not be).
    Package {
        /// The path that was asked for.
        path: PathBuf,
        /// Its summary, or why it cannot be used.
        result: Result<PackageSummary, BackendError>,
    },
    /// The compatibility verdict of a package against a board.
    Compat {
        /// The board.
        board: BoardId,
        /// The package.
        package: PathBuf,
        /// One line per check.
        report: Compat,
    },
    /// One engine event of a flash job, in the engine's documented order.
    Job {
        /// The job.
        job: JobId,
        /// The event.
        event: Event,
    },
    /// A diagnosis of one board.
    Diagnosis {
        /// The board.
        board: BoardId,
        /// What state it is in and what to do, or why it could not be diagnosed.
        result: Result<Diagnosis, BackendError>,
    },
    /// AT probe results, one entry per serial port of the board.
    AtProbe {
        /// The board.
        board: BoardId,
        /// The results.
        result: Result<Vec<AtPortResult>, BackendError>,
    },
    /// The chip identity read through Sahara command mode.
    Identity {
        /// The board.
        board: BoardId,
        /// The identity.
        result: Result<ChipIdentity, BackendError>,
    },
    /// Outcome of a switch to download mode.
    Switched {
        /// The board.
        board: BoardId,
        /// A plain sentence on success.
        result: Result<String, BackendError>,
    },
    /// The hot-plug timeline so far (oldest first).
    Timeline(Vec<TimelineEvent>),
    /// A line for the log that belongs to no job.
    Notice(String),
}

/// What the UI needs from boards, packages and the engine. Every method returns at once; the
/// answers arrive on [`Backend::receiver`].
pub trait Backend {
    /// A short name for the About box (which boards the backend reaches).
    fn name(&self) -> String;
    /// The channel every answer arrives on.
    fn receiver(&self) -> Receiver<BackendMsg>;
    /// Install the function workers call after each send (once, when the app starts).
    fn set_waker(&mut self, waker: Waker);
    /// Ask for a fresh board list ([`BackendMsg::Boards`]).
    fn refresh_boards(&mut self);
    /// Open and summarise a package folder or zip ([`BackendMsg::Package`]).
    fn open_package(&mut self, path: &Path);
    /// Check a package against a board ([`BackendMsg::Compat`]).
    fn check_compat(&mut self, package: &Path, board: &str);
    /// Start a flash ([`BackendMsg::Job`] events, ending in `Finished` or `Failed`).
    fn start_flash(&mut self, job: FlashJob);
    /// Ask a running job to stop at the next safe point (ends as `Failed(Cancelled)`).
    fn cancel(&mut self, job: JobId);
    /// Diagnose a board ([`BackendMsg::Diagnosis`]).
    fn diagnose(&mut self, board: &str);
    /// Probe the board's serial ports with AT identity commands ([`BackendMsg::AtProbe`]).
    fn probe_at(&mut self, board: &str);
    /// Read the chip identity over Sahara ([`BackendMsg::Identity`]).
    fn read_identity(&mut self, board: &str);
    /// Switch a board in normal mode to download mode ([`BackendMsg::Switched`]).
    fn switch_to_download(&mut self, board: &str);
    /// Collect the crash dump of a board in memory-dump mode ([`BackendMsg::Job`] events of
    /// `job.job`, ending in `Finished` or `Failed`; [`Backend::cancel`] stops it). Backends
    /// that cannot (test doubles) ignore the request.
    fn collect_dump(&mut self, job: DumpJob) {
        let _ = job;
    }

    /// The serial ports the user added by hand in Settings: each is listed as a board (a
    /// backend without real ports ignores them).
    fn set_manual_ports(&mut self, ports: Vec<ManualPort>) {
        let _ = ports;
    }
}
