//! Oasis engine: runs the protocol core over a transport as jobs that emit one event stream,
//! and diagnoses what state a board is in.
//!
//! Nothing here prints, draws or exits; front-ends consume [`event::Event`]s.
#![deny(missing_docs)]

pub mod event;
