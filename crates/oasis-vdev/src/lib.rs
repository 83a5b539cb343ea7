//! oasis-vdev (being written).
#![deny(missing_docs)]
