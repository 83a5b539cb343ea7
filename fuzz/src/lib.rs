//! Oasis fuzz entry points: one function per fuzz target, shared with the stable corpus-replay
//! tests in the workspace (which include these files with `#[path]`). No I/O, no printing.
#![deny(missing_docs)]

pub mod package_entries;
pub mod proto_entries;
