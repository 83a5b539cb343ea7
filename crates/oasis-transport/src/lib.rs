//! Byte transports for Oasis: the one narrow seam between protocol code and the OS.
//!
//! Everything that moves bytes to or from a board implements [`Transport`]: serial ports
//! (COM, ttyUSB/ttyACM, cu.*, pseudo-terminals), USB bulk endpoints through rusb, the
//! in-process virtual device, and the recording/replay wrappers. Protocol code never names
//! rusb or serialport. This crate must not print, draw or exit.
#![deny(missing_docs)]

use std::time::Duration;

mod error;
pub mod enumerate;
pub use error::{TransportError, TransportErrorKind};

/// How a link delivers data: this decides how the host frames Sahara packets and Firehose
/// documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LinkKind {
    /// Each `read` returns exactly one device transfer (USB bulk): packet boundaries are kept.
    Packet,
    /// A byte stream (serial, pty): packets and documents may arrive split or glued together.
    Stream,
}

/// A bidirectional byte link to one board, with a timeout on every read and write.
///
/// Contract:
/// * `write_all` writes every byte or fails; on failure the error says how many bytes went out
///   (`TransportError::written`). Packet links send a zero-length packet after a write whose
///   length is a multiple of the endpoint's max packet size.
/// * `read` waits at most `timeout` and returns `Ok(n)` with `n >= 1`, or an error whose kind is
///   [`TransportErrorKind::Timeout`] when nothing arrived. It never returns `Ok(0)`: zero-length
///   packets are swallowed by the implementation.
/// * Nothing is flushed or discarded on open: a HELLO already waiting is delivered to the
///   first `read`.
pub trait Transport: Send {
    /// Write all of `buf` within `timeout`.
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError>;
    /// Read what is available (at most `buf.len()` bytes), waiting at most `timeout`.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
    /// Whether the link keeps packet boundaries.
    fn link_kind(&self) -> LinkKind;
    /// A short human description of the link, e.g. `/dev/ttyUSB0` or `usb 1-1.4 (05c6:9008)`.
    fn describe(&self) -> String;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        (**self).write_all(buf, timeout)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        (**self).read(buf, timeout)
    }
    fn link_kind(&self) -> LinkKind {
        (**self).link_kind()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}
