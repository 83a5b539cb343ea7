//! oasis-package: vendor firmware packages (Quectel folders, Qualcomm flat and meta builds, zips)
//! read into a [`Package`] with a brick-safe flash [`plan`](Package::plan). Reads files only; never
//! talks to a device, prints, or writes outside its own private temp folder.
//!
//! Entry point: [`Package::open`]. Parsers for each file kind are public for tools and tests:
//! [`rawprogram`], [`patch`], [`contents`], [`md5sum`], [`sparse`], [`nand`], and the
//! [`programmer`] identity reader.
#![deny(missing_docs)]

mod archive;
pub mod contents;
pub mod data;
mod discover;
#[cfg(test)]
mod discover_tests;
mod error;
mod facts;
mod fsutil;
pub mod jail;
pub mod md5sum;
pub mod naming;
pub mod nand;
pub mod number;
mod package;
pub mod patch;
pub mod plan;
pub mod programmer;
pub mod rawprogram;
pub mod sparse;
mod summary;
pub mod xml;

pub use data::{Piece, PieceReader, ProgramData};
pub use error::{EscapeKind, NumberProblem, PackageError, SparseProblem};
pub use naming::{FirmwareName, StorageType};
pub use nand::{Partition, PartitionTable, TableSource};
pub use oasis_proto::Help;
pub use package::{Choice, OpenOptions, Package, PackageKind, ProgrammerInfo};
pub use plan::{MissingImage, OversizedImage, PatchSpec, PlanStep, SkippedEntry, StepOp};
