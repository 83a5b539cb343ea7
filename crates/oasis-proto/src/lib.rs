//! oasis-proto (being written).
#![deny(missing_docs)]
