//! Diagnostics: what state a board is in, why, and what to do next.
//!
//! Evidence (a USB/serial [`Snapshot`](oasis_transport::enumerate::Snapshot), a hot-plug
//! [`timeline`], [`at`] probes, the Sahara chip identity) goes into the pure
//! [`classify::diagnose`], which returns a [`classify::Diagnosis`]: a state, plain words, the
//! facts seen and ordered next steps. [`compat::check`] answers "does this firmware fit this
//! board?" before a flash. Nothing here prints; only [`at`], [`dload`] and
//! [`timeline::Poller`] touch a port or a thread, and only through the `Transport` trait or a
//! caller-supplied enumeration function.

pub mod at;
pub mod classify;
pub mod compat;
pub mod dload;
mod error;
pub mod parse;
pub mod ports;
pub mod timeline;
pub mod usb_table;

pub use classify::{
    Action, DeviceView, Diagnosis, Evidence, InterfaceView, NextStep, State, diagnose,
};
pub use error::DiagError;
