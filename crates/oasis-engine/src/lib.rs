//! Oasis engine: runs the protocol core over a transport as jobs that emit one event stream,
//! and diagnoses what state a board is in.
//!
//! Nothing here prints, draws or exits; front-ends consume [`event::Event`]s.
//!
//! A flash is one call: [`spawn_flash`] (or [`spawn_flash_channel`]) with a [`FlashRequest`]
//! starts a worker thread named `oasis-flash-<port>` that emits `PlanReady`, the phases, and
//! exactly one `Finished` or `Failed`. [`JobHandle::cancel`] stops it between two chunks.
#![deny(missing_docs)]

pub mod diag;
pub mod error;
pub mod event;
mod flow;
pub mod job;
pub mod options;
pub mod progress;

pub use error::EngineError;
pub use event::{ChipIdentity, ErrorKind, ErrorReport, Event, Phase, Verdict};
pub use job::{JobHandle, spawn_flash, spawn_flash_channel};
pub use options::{FlashOptions, FlashRequest, Timeouts};
