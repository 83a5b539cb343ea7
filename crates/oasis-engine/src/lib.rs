//! Oasis engine: runs the protocol core over a transport as jobs that emit one event stream,
//! and diagnoses what state a board is in.
//!
//! Nothing here prints, draws or exits; front-ends consume [`event::Event`]s.
//!
//! A flash is one call: [`spawn_flash`] (or [`spawn_flash_channel`]) with a [`FlashRequest`]
//! starts a worker thread named `oasis-flash-<port>` that emits `PlanReady`, the phases, and
//! exactly one `Finished` or `Failed`. [`JobHandle::cancel`] stops it between two chunks.
//! [`spawn_flash_on`] runs the same job over a link the caller opened (a virtual board whose
//! storage a test inspects, a recorded session). [`read_chip_identity`] reads serial, HW ID
//! and PK hash in Sahara command mode and leaves the board waiting for a programmer.
#![deny(missing_docs)]

mod chipinfo;
mod confirm;
mod connect;
pub mod diag;
pub mod error;
pub mod event;
mod firehose;
mod flow;
pub mod job;
pub mod options;
mod pkgmap;
mod plan;
mod port;
pub mod progress;
mod pump;
mod sahara;
mod steps;
mod usbswitch;

pub use chipinfo::{read_chip_identity, read_chip_identity_on};
pub use error::EngineError;
pub use event::{ChipIdentity, ErrorKind, ErrorReport, Event, Phase, Verdict};
pub use job::{JobHandle, spawn_flash, spawn_flash_channel, spawn_flash_on};
pub use options::{FlashOptions, FlashRequest, Timeouts};
