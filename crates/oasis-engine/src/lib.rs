//! Oasis engine: runs the protocol core over a transport as jobs that emit one event stream,
//! and diagnoses what state a board is in.
//!
//! Nothing here prints, draws or exits; front-ends consume [`event::Event`]s.
//!
//! A flash is one call: [`spawn_flash`] with a [`FlashRequest`] and a sink ([`event_channel`]
//! makes one with its channel) starts a worker thread named `oasis-flash-<port>` that
//! emits `PlanReady`, the phases, and exactly one `Finished` or `Failed`. [`JobHandle::cancel`]
//! stops it between two chunks. Every job kind has this one entry, and every job opens its
//! port on the request's bus: a link the caller opened (a virtual board whose storage a test
//! inspects, a recorded session) is put on that bus with [`oasis_transport::LinkBus`].
//! [`read_chip_identity`] reads serial, HW ID and PK hash in Sahara command mode and leaves
//! the board waiting for a programmer.
//!
//! The safety net: [`FlashOptions::backup`] reads the board-unique regions (EFS2/NV,
//! modemst1/2, fsg, persist) into a folder before anything is written ([`backup`]);
//! [`spawn_backup`] and [`spawn_restore`] do that alone, and restore refuses another board's
//! backup. After the reset the Confirm phase follows the board to its AT port and names what
//! did not happen ([`ConfirmFailure`]). [`FlashOptions::resume`] skips program steps the board
//! already holds. [`bundle`] writes support bundles (zip) and replays them offline;
//! [`markdown_summary`] is the short text for a support ticket. [`paths::data_dir`] is where
//! the app and the CLI keep backups and automatic bundles.
//!
//! Crash dumps: [`spawn_ramdump`] collects the RAM of a module in Sahara memory-debug mode
//! (05C6:900E) into a folder with a manifest ([`ramdump`]), then resets it.
#![deny(missing_docs)]

pub mod backup;
pub mod bundle;
mod chipinfo;
mod connect;
pub mod diag;
pub mod dump;
pub mod error;
pub mod event;
mod firehose;
mod flash;
pub mod job;
pub mod options;
pub mod paths;
mod port;
pub mod progress;
pub mod ramdump;
pub mod regions;
pub mod restore;
mod sahara;
mod session;
mod usbswitch;

// The pipeline's stages keep their short paths (`crate::flow`, `oasis_engine::refuse`).
pub use flash::refuse;
use flash::{confirm, execute, flow, pkgmap, plan, pump, resume, steps};

pub use bundle::{SummaryInput, markdown_summary};
pub use chipinfo::read_chip_identity;
pub use dump::DumpRequest;
pub use error::{ConfirmFailure, EngineError};
pub use event::{ChipIdentity, ErrorKind, ErrorReport, Event, Phase, Verdict};
pub use job::{JobHandle, event_channel, spawn_backup, spawn_dump, spawn_flash, spawn_restore};
/// The one advice trait of every Oasis error (defined in `oasis-proto`).
pub use oasis_proto::Help;
pub use options::{FlashOptions, FlashRequest, Timeouts};
pub use ramdump::{RamdumpRequest, spawn_ramdump};
pub use restore::{BackupRequest, RestoreRequest};
pub use usbswitch::{Sent, normal_mode_modules, switch_module};
