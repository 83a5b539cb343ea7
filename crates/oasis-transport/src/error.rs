//! Transport errors: a kind a caller can act on, plus the OS error and what was attempted.

use std::borrow::Cow;
use std::fmt;

use oasis_proto::Help;

/// What went wrong on a link, independent of the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No such port or device.
    NotFound,
    /// The OS refused access (udev rule, group membership, driver).
    PermissionDenied,
    /// Another driver or process holds the device or port.
    Busy,
    /// The device went away (unplugged, rebooted, re-enumerated).
    Disconnected,
    /// Nothing arrived, or the write did not complete, within the timeout.
    Timeout,
    /// The platform cannot do this (e.g. no USB subsystem).
    Unsupported,
    /// Any other I/O failure.
    Io,
    /// Several devices match what was asked for (e.g. `usb` with two EDL boards attached);
    /// the detail lists them.
    Ambiguous,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::NotFound => "not found",
            Self::PermissionDenied => "permission denied",
            Self::Busy => "busy (claimed by another driver or program)",
            Self::Disconnected => "disconnected",
            Self::Timeout => "timed out",
            Self::Unsupported => "not supported here",
            Self::Io => "I/O error",
            Self::Ambiguous => "ambiguous (several devices match)",
        };
        f.write_str(s)
    }
}

/// A failed transport operation.
#[derive(Debug, thiserror::Error)]
#[error("{op} on {link}: {kind}{}{}", .detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(), .written.map(|w| format!("; {w} bytes were written before the failure")).unwrap_or_default())]
pub struct TransportError {
    /// The kind of failure.
    pub kind: TransportErrorKind,
    /// What was being done: "open", "read", "write", "claim interface", ...
    pub op: &'static str,
    /// The link it happened on.
    pub link: String,
    /// The OS or library error text, kept as it was.
    pub detail: Option<String>,
    /// For writes: how many bytes went out before the failure.
    pub written: Option<usize>,
}

impl TransportError {
    /// A new error without OS detail.
    pub fn new(kind: TransportErrorKind, op: &'static str, link: impl Into<String>) -> Self {
        Self {
            kind,
            op,
            link: link.into(),
            detail: None,
            written: None,
        }
    }
    /// Attach the OS or library error text.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    /// Record how many bytes were written before a write failed.
    #[must_use]
    pub fn with_written(mut self, written: usize) -> Self {
        self.written = Some(written);
        self
    }
    /// True for [`TransportErrorKind::Timeout`].
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }
}

impl Help for TransportError {
    /// What a user can try next, where there is something to try.
    fn help(&self) -> Option<Cow<'_, str>> {
        match self.kind {
            TransportErrorKind::NotFound => {
                Some("check the cable and the port name; run `oasis-cli devices` to list boards")
            }
            TransportErrorKind::PermissionDenied => Some(
                "on Linux install the Oasis udev rule (packaging/linux) and re-plug the board; on Windows use the Qualcomm/Quectel driver's COM port",
            ),
            TransportErrorKind::Busy => Some(
                "close QPST/QFIL, ModemManager or any other tool using the port, or unbind the qcserial driver, then retry",
            ),
            TransportErrorKind::Disconnected => Some(
                "the board left USB: check the cable and power; if it rebooted, run `oasis-cli diagnose`",
            ),
            TransportErrorKind::Timeout => Some(
                "the board stopped answering: power-cycle it into download mode (USB_BOOT) and retry",
            ),
            TransportErrorKind::Unsupported => {
                Some("this machine has no USB subsystem; use a serial port or `virtual`")
            }
            TransportErrorKind::Io => None,
            TransportErrorKind::Ambiguous => Some(
                "several boards are attached: name one with usb:BUS-PORT or usb:SERIAL (see `oasis-cli devices`)",
            ),
        }
        .map(Cow::Borrowed)
    }
}
