//! oasis-proto: sans-IO Sahara and Firehose protocol core (bytes in, actions out; no I/O,
//! no threads, no clock, no printing).
#![deny(missing_docs)]

pub mod firehose;
pub mod sahara;
