//! Oasis virtual device: a faithful Qualcomm board (Sahara PBL, Firehose programmer, sparse
//! storage, AT modem after reset) in memory or on a pseudo-terminal — for demos, training and
//! tests. It judges the host like a real board does: protocol violations get the NAK or status
//! a real board would send.
//!
//! A board in normal mode also has its DM (DIAG) port ([`VirtualBoard::connect_dm`]): the DIAG
//! download-mode command sends it back to EDL the way a running module goes. Boards can start
//! in every state a technician meets ([`StartIn`], [`HostAccess`], `BoardOptions::flap`, the
//! [`scenarios()`]): normal mode with or without AT, EDL, programmer running, memory dump,
//! claimed by another program, no permission, off the bus, flapping, or a module that is not
//! a Qualcomm one.
//!
//! ```
//! use oasis_vdev::{BoardOptions, Profile, VirtualBoard};
//! use oasis_transport::Transport;
//! let board = VirtualBoard::new(Profile::by_name("bg95")?, BoardOptions::default());
//! let mut link = board.connect();
//! let mut hello = [0u8; 64];
//! let n = link.read(&mut hello, std::time::Duration::from_secs(1))?;
//! assert_eq!((n, hello[0]), (48, 1)); // Sahara HELLO
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod at;
mod board;
pub mod bus;
mod device;
mod diag;
pub mod dump;
mod error;
pub mod fault;
mod firehose;
mod image;
mod options;
mod outbox;
pub mod profile;
mod pty;
pub mod quirks;
mod sahara;
pub mod scenarios;
mod secboot;
pub mod storage;

pub use at::AtModem;
pub use board::{AfterReset, BoardState, VirtualBoard, VirtualLink};
pub use bus::{BusTiming, VirtualBus};
pub use error::VdevError;
pub use fault::{FaultKind, FaultSpec};
pub use options::{BoardOptions, HostAccess, LinkModel, ResetBehaviour, StartIn};
pub use profile::{Profile, StorageKind};
pub use pty::{PtyService, serve_pty};
pub use quirks::{BootQuirks, ProgrammerQuirks, Quirks};
pub use scenarios::{Scenario, scenarios};
pub use storage::{Storage, WrittenRange};
