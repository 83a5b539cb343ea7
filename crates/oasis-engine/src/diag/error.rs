//! The one error type of the diagnostics module: each variant names what it saw.

use std::borrow::Cow;

use crate::Help;
use oasis_transport::TransportError;

/// What went wrong while gathering or parsing diagnostic evidence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiagError {
    /// A line of a text dump (usb-devices, lsusb -v) has a field that does not parse.
    #[error("{format} line {line}: field `{field}` has value {got:?}, expected {expected}")]
    BadField {
        /// Which dump format ("usb-devices", "lsusb -v").
        format: &'static str,
        /// 1-based line number.
        line: usize,
        /// The field name.
        field: &'static str,
        /// What was found.
        got: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A dump lacks a field without which no device can be described.
    #[error("{format}: no `{field}` found")]
    MissingField {
        /// Which dump format.
        format: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A raw USB descriptor blob is malformed.
    #[error("USB descriptor at offset {offset}: expected {expected}, got {got}")]
    Descriptor {
        /// Byte offset of the bad descriptor.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
        /// What was found.
        got: String,
    },
    /// A fwupd emulation JSON file is not in the expected shape.
    #[error("fwupd emulation JSON: {detail}")]
    Json {
        /// What was wrong.
        detail: String,
    },
    /// A link operation failed.
    #[error("{during}: {source}")]
    Transport {
        /// What Oasis was doing ("sending the download-mode command", ...).
        during: &'static str,
        /// The transport error.
        #[source]
        source: TransportError,
    },
    /// The board did not echo the DIAG download-mode command.
    #[error(
        "the DIAG port did not echo the download-mode command within {waited_ms} ms; got {got_hex:?}"
    )]
    NoEcho {
        /// How long Oasis waited.
        waited_ms: u64,
        /// What arrived instead, as hex (empty when nothing arrived).
        got_hex: String,
    },
    /// The board answered the DIAG command with an error frame.
    #[error("the DIAG port refused the download-mode command (reply {reply_hex})")]
    Refused {
        /// The reply frame payload, as hex.
        reply_hex: String,
    },
    /// No download-mode device (05C6:9008) appeared in time.
    #[error("no board in download mode (05C6:9008) appeared within {waited_s:.1} s{}", .prefer_path.as_deref().map(|p| format!(" (expected on USB port {p})")).unwrap_or_default())]
    EdlNotSeen {
        /// Seconds waited.
        waited_s: f64,
        /// The port path the board was on before the switch.
        prefer_path: Option<String>,
        /// What was on USB at the last look, one `VID:PID on path` per entry.
        last_seen: Vec<String>,
    },
    /// An HDLC frame is malformed.
    #[error("HDLC frame: {what} (frame {frame_hex})")]
    Hdlc {
        /// What is wrong ("bad CRC", "dangling escape", "too short").
        what: &'static str,
        /// The frame as hex.
        frame_hex: String,
    },
    /// A saved USB listing in none of the formats Oasis reads.
    #[error("not a USB listing Oasis reads ({what})")]
    UnknownListing {
        /// What the file looked like.
        what: String,
    },
    /// A background thread could not be started.
    #[error("could not start the {name} thread: {source}")]
    Thread {
        /// Thread name.
        name: String,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Help for DiagError {
    /// What a user can try next, where there is something to try.
    fn help(&self) -> Option<Cow<'_, str>> {
        let line = match self {
            Self::Transport { source, .. } => return source.help(),
            Self::NoEcho { .. } | Self::Refused { .. } => Some(
                "the port may not be the module's DM/DIAG port: pick the DM port (interface 0 on most Quectel modules), or hold USB_BOOT at 1.8 V while powering on",
            ),
            Self::EdlNotSeen { .. } => Some(
                "check the cable; on Windows install the \"Qualcomm HS-USB QDLoader 9008\" driver; or power the board off, hold USB_BOOT at 1.8 V and power it on",
            ),
            Self::BadField { .. }
            | Self::MissingField { .. }
            | Self::Descriptor { .. }
            | Self::Json { .. } => {
                Some("the dump is incomplete or in another format; capture it again")
            }
            Self::UnknownListing { .. } => Some(
                "save the listing with `usb-devices` or `lsusb -v` (Linux), or pass fwupd's emulation JSON or a raw descriptor dump (05C6:9008's descriptors)",
            ),
            Self::Hdlc { .. } | Self::Thread { .. } => None,
        };
        line.map(Cow::Borrowed)
    }
}
