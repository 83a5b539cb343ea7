//! Byte transports for Oasis: the one narrow seam between protocol code and the OS.
//!
//! Everything that moves bytes to or from a board implements [`Transport`]: serial ports
//! (COM, ttyUSB/ttyACM, cu.*, pseudo-terminals), USB bulk endpoints through rusb, the
//! in-process virtual device, and the recording/replay wrappers. Protocol code never names
//! rusb or serialport. This crate must not print, draw or exit.
//!
//! * [`PortSpec::parse`] + [`open`]: what the user typed → a boxed [`Transport`]
//!   ([`serial::SerialTransport`] or [`usb::UsbTransport`]).
//! * [`enumerate::snapshot`]: what is attached, with evidence for the diagnosis.
//! * [`bus::Bus`]: list and open boards in one place ([`SystemBus`] here; the virtual boards'
//!   bus in oasis-vdev; [`LinkBus`] for a link the caller opened); every open comes with its
//!   claim on the port.
//! * [`lock::PortLock`]: one Oasis process per port.
//! * [`recording::RecordingTransport`], [`replay::ReplayTransport`], [`transcript::Transcript`]:
//!   transcripts for support bundles and `oasis-cli replay`.
//!
//! # Platform notes
//!
//! **Linux.** A board in EDL shows up as `05c6:9008` and the kernel's `qcserial` driver binds it
//! as `/dev/ttyUSBn`. Oasis can use either: the tty as a serial port, or the USB device through
//! libusb (`usb`), in which case it detaches `qcserial` from the interface on open and gives it
//! back on close. libusb needs write access to `/dev/bus/usb/BBB/DDD`: install the udev rule
//! (`packaging/linux`, e.g. `SUBSYSTEM=="usb", ATTR{idVendor}=="05c6", ATTR{idProduct}=="9008",
//! TAG+="uaccess"`) and re-plug, or the open fails with `PermissionDenied`. A ttyUSB port needs
//! the `dialout` (or `uucp`) group. ModemManager probes new ttys and may grab a 9008 port for a
//! moment: it is reported as `Busy`. Machines without usbfs (containers) report
//! `Unsupported` "USB subsystem not available". Enumeration reads sysfs only, so listing never
//! disturbs a board.
//!
//! **Windows.** With Qualcomm's or Quectel's driver the board appears as "Qualcomm HS-USB
//! QDLoader 9008 (COMn)": use it as a serial port (`COM7`). Oasis sets 115200 8N1 anyway (some
//! driver builds refuse I/O until the DCB is set), asserts DTR and RTS and purges only the
//! transmit buffer, because the HELLO is already waiting in the receive buffer and is sent only
//! once. To use `usb` instead, bind WinUSB to the 9008 device with Zadig; a device held by the
//! QDLoader driver is listed as `Busy`. A COM port opened by QPST/QFIL is `Busy` too.
//!
//! **macOS.** No driver is needed: libusb opens the 9008 device directly (`usb`). Serial ports
//! are `/dev/cu.*`; they are opened without the flush serialport would otherwise do.
//!
//! **Link kinds.** USB keeps transfer boundaries ([`LinkKind::Packet`]): one Sahara packet or
//! Firehose document per read. Serial links are streams ([`LinkKind::Stream`]): packets may
//! arrive split or glued and the caller reassembles them.
#![deny(missing_docs)]

use std::time::Duration;

mod error;
mod scan;
mod spec;
mod sysfs;

pub mod bus;
pub mod enumerate;
pub mod lock;
pub mod recording;
pub mod replay;
pub mod serial;
pub mod transcript;
pub mod usb;

pub use bus::{Bus, BusHandle, Claim, JoinedBus, LinkBus, Opened, QuietLink, SystemBus};
pub use error::{TransportError, TransportErrorKind};
pub use oasis_proto::Help;
pub use spec::{PortSpec, UsbSelector, is_virtual_name, open};

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
    /// Whether the board's programmer can see the zero-length packets that end a transfer
    /// whose length is a multiple of the max packet size (Firehose `ZlpAwareHost`). USB
    /// through libusb sends them; a Linux or macOS tty of a 9008 board does not (the kernel
    /// keeps ZLPs off for QDL interfaces); Qualcomm's QDLoader COM port on Windows does.
    fn sends_zlp(&self) -> bool {
        self.link_kind() == LinkKind::Packet
    }
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
    fn sends_zlp(&self) -> bool {
        (**self).sends_zlp()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl std::fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("link", &self.describe())
            .field("kind", &self.link_kind())
            .finish()
    }
}
