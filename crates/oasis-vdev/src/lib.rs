//! Oasis virtual device: a faithful Qualcomm board (Sahara PBL, Firehose programmer, sparse
//! storage, AT modem after reset) in memory or on a pseudo-terminal — for demos, training and
//! tests. It judges the host like a real board does: protocol violations get the NAK or status
//! a real board would send.
#![deny(missing_docs)]

pub mod at;
mod error;
pub mod fault;
mod image;
pub mod profile;
pub mod storage;

pub use at::AtModem;
pub use error::VdevError;
pub use fault::{FaultKind, FaultSpec};
pub use profile::{Profile, StorageKind};
pub use storage::{Storage, WrittenRange};
