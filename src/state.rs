//! What the window shows, as plain data: the app folds backend messages into [`AppState`] and
//! panels read it. Text the user is typing lives apart, in [`Edits`]. No handles, no locks.

use std::path::PathBuf;
use std::time::Instant;

use oasis_engine::Help;
use oasis_engine::event::ChipIdentity;

use crate::backend::{
    AtPortResult, BackendError, BoardInfo, Compat, Diagnosis, JobId, PackageSummary, TimelineEvent,
};
use crate::bench::Bench;
use crate::job::JobProgress;
use crate::logbook::Severity;
use crate::settings::Settings;

/// The tabs of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The guided flash.
    Flash,
    /// Board diagnostics.
    Diagnostics,
    /// Several boards at once.
    Bench,
    /// The run's log.
    Log,
    /// Settings.
    Settings,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 5] = [
        Tab::Flash,
        Tab::Diagnostics,
        Tab::Bench,
        Tab::Log,
        Tab::Settings,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Flash => "Flash",
            Tab::Diagnostics => "Diagnostics",
            Tab::Bench => "Bench",
            Tab::Log => "Log",
            Tab::Settings => "Settings",
        }
    }
}

/// An error as the UI shows it: what happened and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorView {
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl From<&BackendError> for ErrorView {
    fn from(e: &BackendError) -> Self {
        ErrorView {
            message: e.to_string(),
            help: e.help().map(String::from).unwrap_or_default(),
        }
    }
}

/// The package step.
#[derive(Debug, Clone, Default)]
pub struct PackageView {
    /// Being opened now.
    pub opening: Option<PathBuf>,
    /// The open package.
    pub summary: Option<PackageSummary>,
    /// Why the last open failed.
    pub error: Option<ErrorView>,
}

/// Where the guided flash stands.
#[derive(Debug, Clone, PartialEq)]
pub enum FlashStage {
    /// Choosing package and board.
    Setup,
    /// A flash is running.
    Running,
    /// The verdict of the last flash.
    Done,
}

/// The guided flash.
#[derive(Debug, Clone)]
pub struct FlashView {
    /// Where it stands.
    pub stage: FlashStage,
    /// The current or last job.
    pub job: Option<JobId>,
    /// The board it runs on.
    pub board_title: String,
    /// Its progress.
    pub progress: JobProgress,
    /// When it started (for the elapsed time).
    pub started: Option<Instant>,
    /// Compatibility of the open package with the selected board.
    pub compat: Option<Compat>,
    /// The destructive-step confirmation is open.
    pub confirming: bool,
    /// The raw log is unfolded on the verdict screen.
    pub show_raw_log: bool,
    /// The job's log lines, kept for the verdict screen.
    pub raw_log: Vec<String>,
    /// The confirmation's "erase without a backup" override is ticked.
    pub no_backup_override: bool,
    /// Where the job backs up the calibration data (None: no backup asked).
    pub backup_dir: Option<PathBuf>,
    /// The backup's manifest was found after the job (checked once, at its end).
    pub backup_written: bool,
    /// Where the job's support bundle goes.
    pub bundle: Option<PathBuf>,
    /// The bundle the engine said it wrote (and that exists).
    pub bundle_written: Option<PathBuf>,
    /// The job's events (for the support-ticket summary).
    pub events: Vec<oasis_engine::event::Event>,
    /// The port the job ran on (for the support-ticket summary).
    pub port: String,
    /// The summary last copied to the clipboard.
    pub copied_summary: Option<String>,
    /// Where the user saved a copy of the bundle, or why it failed.
    pub bundle_saved: Option<Result<PathBuf, String>>,
}

impl Default for FlashView {
    fn default() -> Self {
        FlashView {
            stage: FlashStage::Setup,
            job: None,
            board_title: String::new(),
            progress: JobProgress::default(),
            started: None,
            compat: None,
            confirming: false,
            show_raw_log: false,
            raw_log: Vec::new(),
            no_backup_override: false,
            backup_dir: None,
            backup_written: false,
            bundle: None,
            bundle_written: None,
            events: Vec::new(),
            port: String::new(),
            copied_summary: None,
            bundle_saved: None,
        }
    }
}

/// The diagnostics pane.
#[derive(Debug, Clone, Default)]
pub struct DiagView {
    /// The diagnosis of the selected board.
    pub diagnosis: Option<Result<Diagnosis, ErrorView>>,
    /// AT probe results.
    pub at: Option<Result<Vec<AtPortResult>, ErrorView>>,
    /// Chip identity.
    pub identity: Option<Result<ChipIdentity, ErrorView>>,
    /// Outcome of the last switch to download mode.
    pub switched: Option<Result<String, ErrorView>>,
    /// Requests sent and not yet answered.
    pub pending: Vec<DiagRequest>,
}

/// A Diagnostics request to the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagRequest {
    /// The diagnosis of a board.
    Diagnose,
    /// AT probes of its ports.
    ProbeAt,
    /// Its chip identity (Sahara command mode).
    ReadIdentity,
    /// The DIAG switch to download mode.
    Switch,
}

impl DiagRequest {
    /// What the pane says while it runs.
    pub fn doing(self) -> &'static str {
        match self {
            Self::Diagnose => "Diagnosing",
            Self::ProbeAt => "Probing AT ports",
            Self::ReadIdentity => "Reading chip identity",
            Self::Switch => "Switching to download mode",
        }
    }
}

/// Everything the panels read.
#[derive(Debug)]
pub struct AppState {
    /// The tab shown.
    pub tab: Tab,
    /// The live board list.
    pub boards: Vec<BoardInfo>,
    /// The board picked for flash and diagnostics.
    pub selected: Option<String>,
    /// The package step.
    pub package: PackageView,
    /// The guided flash.
    pub flash: FlashView,
    /// The diagnostics pane.
    pub diag: DiagView,
    /// Hot-plug timeline.
    pub timeline: Vec<TimelineEvent>,
    /// Bench mode.
    pub bench: Bench,
    /// Persisted settings.
    pub settings: Settings,
    /// The close-during-flash question is open.
    pub close_prompt: bool,
    /// The user confirmed closing.
    pub close_confirmed: bool,
    /// The About box is open.
    pub about_open: bool,
    /// A one-line status message (last notice).
    pub status: Option<String>,
    /// The backend's name, for the About box.
    pub backend_name: String,
    /// The per-run log file, if any.
    pub log_path: Option<PathBuf>,
    /// Where the last bench report went.
    pub last_report: Option<Result<PathBuf, ErrorView>>,
    /// The last crash-dump job ("Collect crash dump").
    pub dump: crate::ui::dump::DumpView,
}

impl AppState {
    /// A fresh state with these settings.
    pub fn new(settings: Settings, backend_name: String) -> AppState {
        AppState {
            tab: Tab::Flash,
            boards: Vec::new(),
            selected: None,
            package: PackageView::default(),
            flash: FlashView::default(),
            diag: DiagView::default(),
            timeline: Vec::new(),
            bench: Bench::default(),
            settings,
            close_prompt: false,
            close_confirmed: false,
            about_open: false,
            status: None,
            backend_name,
            log_path: None,
            last_report: None,
            dump: crate::ui::dump::DumpView::default(),
        }
    }

    /// The selected board's entry.
    pub fn selected_board(&self) -> Option<&BoardInfo> {
        let id = self.selected.as_ref()?;
        self.boards.iter().find(|b| &b.id == id)
    }

    /// Boards the list shows (virtual ones only when the setting allows).
    pub fn visible_boards(&self) -> impl Iterator<Item = &BoardInfo> {
        let show_virtual = self.settings.show_virtual_boards;
        self.boards
            .iter()
            .filter(move |b| show_virtual || !b.is_virtual)
    }

    /// True while any flash (guided or bench) runs.
    pub fn busy(&self) -> bool {
        self.flash.stage == FlashStage::Running || !self.bench.running_jobs().is_empty()
    }

    /// True while a board must not be unplugged.
    pub fn critical(&self) -> bool {
        (self.flash.stage == FlashStage::Running && self.flash.progress.critical)
            || self.bench.any_critical()
    }
}

/// Text the user is typing (kept apart from the state panels read).
#[derive(Debug, Clone)]
pub struct Edits {
    /// The package path field.
    pub package_path: String,
    /// The log filter.
    pub log_filter: String,
    /// The least severity the log shows.
    pub log_min: Severity,
    /// The bench report path field.
    pub report_path: String,
    /// Settings being edited.
    pub settings: Settings,
    /// The serial port being added by hand in Settings, and what it carries.
    pub new_port: (String, crate::backend::ManualPortKind),
}

impl Edits {
    /// Edit buffers starting from these settings.
    pub fn new(settings: &Settings) -> Edits {
        Edits {
            package_path: settings
                .last_package
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            log_filter: String::new(),
            log_min: Severity::Info,
            report_path: String::new(),
            settings: settings.clone(),
            new_port: Default::default(),
        }
    }
}
