//! Oasis desktop app: the egui window (guided flash, diagnostics, bench, log, settings) over one
//! backend seam. The binary in main.rs only opens the window; everything lives here so tests can
//! drive the whole app headless with egui_kittest.
#![deny(missing_docs)]

pub mod app;
pub mod assets;
pub mod backend;
pub mod bench;
pub mod demo;
pub mod error;
pub mod job;
pub mod logbook;
pub mod picker;
pub mod settings;
pub mod state;
pub mod ui;

pub use app::{AppOptions, OasisApp};
