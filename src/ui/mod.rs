//! The panels. Each draws from `&AppState` (and its own edit buffers) and returns what the user
//! asked for as a [`UiAction`]; the app carries it out. Panels never call the backend.

pub mod bench;
pub mod boards;
pub mod diagnostics;
pub mod dump;
pub mod flash;
pub mod log;
pub mod package;
pub mod settings;
pub mod timeline;
pub mod verdict;

use std::path::PathBuf;

use egui::{Color32, RichText};

use crate::backend::Level;
use crate::state::Tab;

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum UiAction {
    /// Show another tab.
    SelectTab(Tab),
    /// Open the folder picker for a package.
    BrowseFolder,
    /// Open the file picker for a zipped package.
    BrowseZip,
    /// Open the package at this path.
    OpenPackage(PathBuf),
    /// Open the demo package built into the app.
    OpenDemo,
    /// Pick a board.
    SelectBoard(String),
    /// Ask for a fresh board list.
    RefreshBoards,
    /// The Flash button: opens the confirmation.
    RequestFlash,
    /// The user confirmed the destructive steps.
    ConfirmFlash,
    /// The user backed out of the confirmation.
    DismissConfirm,
    /// Tick or untick "erase without a backup" in the confirmation.
    NoBackupOverride(bool),
    /// Save a copy of the finished job's support bundle (picker, defaulting to the bundles folder).
    SaveBundle,
    /// Copy the finished job's Markdown summary to the clipboard.
    CopySummary,
    /// Stop the running flash.
    CancelFlash,
    /// Back from the verdict to a new flash.
    NewFlash,
    /// Fold or unfold the raw log on the verdict screen.
    ToggleRawLog,
    /// Diagnose the board.
    Diagnose(String),
    /// Probe the board's AT ports.
    ProbeAt(String),
    /// Read the chip identity.
    ReadIdentity(String),
    /// Switch the board to download mode.
    SwitchToDownload(String),
    /// Arm or disarm auto-start in bench mode.
    BenchArm(bool),
    /// Start one bench slot now.
    BenchStart(String),
    /// Retry every failed slot.
    BenchRetryFailed,
    /// Start a slot over for the next board.
    BenchNextBoard(String),
    /// Write the bench report to the path in the field (or a default).
    BenchSaveReport,
    /// Pick where the bench report goes.
    BenchBrowseReport,
    /// The settings draft changed: apply and persist it.
    ApplySettings,
    /// Open or close the About box.
    About(bool),
    /// Keep the window open (close question answered "no").
    KeepOpen,
    /// Stop running jobs and close.
    ConfirmClose,
    /// Collect the crash dump of a board in memory-dump mode (05C6:900E).
    CollectDump(String),
    /// Stop the running crash-dump job (what arrived is kept).
    CancelDump,
}

/// The colour of a level.
pub fn level_color(level: Level) -> Color32 {
    match level {
        Level::Green => Color32::from_rgb(46, 160, 67),
        Level::Amber => Color32::from_rgb(214, 140, 20),
        Level::Red => Color32::from_rgb(200, 50, 50),
    }
}

/// A coloured pill with text, for states and verdicts.
pub fn badge(ui: &mut egui::Ui, text: &str, level: Level) -> egui::Response {
    let frame = egui::Frame::new()
        .fill(level_color(level))
        .corner_radius(8.0)
        .inner_margin(egui::Margin::symmetric(6, 1));
    frame
        .show(ui, |ui| {
            ui.label(RichText::new(text).color(Color32::WHITE).small().strong())
        })
        .inner
}

/// A numbered step heading of the guided flash.
pub fn step_heading(ui: &mut egui::Ui, n: u32, title: &str) {
    ui.add_space(6.0);
    ui.label(RichText::new(format!("{n}. {title}")).heading().strong());
}

/// Keep the first action the user took this frame.
pub fn first(a: Option<UiAction>, b: Option<UiAction>) -> Option<UiAction> {
    a.or(b)
}
