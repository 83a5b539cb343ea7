//! oasis-package (being written).
#![deny(missing_docs)]
pub mod programmer;
