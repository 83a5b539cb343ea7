//! Errors of the Sahara codec and host machine, each naming the packet and values it saw.

use std::borrow::Cow;

use crate::Help;

use super::status::SaharaStatus;

/// Everything that can go wrong while speaking Sahara.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaharaError {
    /// A header's length field is smaller than the 8-byte header itself.
    #[error(
        "Sahara packet {name} (command {command:#x}) has length field {length}, smaller than the 8-byte header"
    )]
    BadLength {
        /// Command id from the header.
        command: u32,
        /// Command name.
        name: &'static str,
        /// Length field.
        length: u64,
    },
    /// A header's length field exceeds what any Sahara packet can be.
    #[error(
        "Sahara packet {name} (command {command:#x}) claims length {length}, more than the {max} bytes any Sahara packet has (not Sahara data?)"
    )]
    Oversize {
        /// Command id from the header.
        command: u32,
        /// Command name.
        name: &'static str,
        /// Length field.
        length: u64,
        /// Largest accepted length.
        max: usize,
    },
    /// A known command arrived shorter than its layout.
    #[error("Sahara packet {name} is {got} bytes long, its layout needs {expected}")]
    ShortPacket {
        /// Command name.
        name: &'static str,
        /// Required length.
        expected: usize,
        /// Length field seen.
        got: usize,
    },
    /// END_IMAGE_TX carried an error status: the target rejected the image.
    #[error("the board rejected image {image_id}: status {status}")]
    ImageRejected {
        /// Image id.
        image_id: u64,
        /// Status code with explanation.
        status: SaharaStatus,
    },
    /// The target asked for bytes beyond the end of the image (Oasis rejects, as qdl does).
    #[error(
        "the board asked for image {image_id} bytes {offset:#x}..+{length:#x}, past the end of the {image_len}-byte programmer"
    )]
    ReadPastEnd {
        /// Image id.
        image_id: u64,
        /// Requested offset.
        offset: u64,
        /// Requested length.
        length: u64,
        /// Size of the image we have.
        image_len: usize,
    },
    /// The target asked for an image but none was given (identity-only session).
    #[error("the board asked for image {image_id} but no programmer was given")]
    NoImage {
        /// Image id.
        image_id: u64,
    },
    /// DONE_RESP said PENDING for an image id that is not known to tolerate it.
    #[error(
        "after image {image_id} the board says more images are pending (DONE_RESP status {status})"
    )]
    NotComplete {
        /// Image id last served.
        image_id: u64,
        /// image_tx_status received.
        status: u32,
    },
    /// A packet arrived that makes no sense in the current state, and RESET did not help.
    #[error("unexpected Sahara packet {got} while {state}")]
    Unexpected {
        /// What the machine was waiting for.
        state: &'static str,
        /// Name of the packet that arrived.
        got: &'static str,
    },
    /// The board is in memory-debug (crash dump) mode, not waiting for a programmer.
    #[error("the board is in Sahara memory-debug (crash dump) mode, not waiting for a programmer")]
    MemoryDebugMode,
    /// CMD_EXECUTE_RESP answered another client command than the one asked.
    #[error("asked the board for client command {expected:#x}, it answered for {got:#x}")]
    ExecuteMismatch {
        /// Command sent.
        expected: u32,
        /// Command in CMD_EXECUTE_RESP.
        got: u32,
    },
    /// Nothing arrived in time.
    #[error("the board stayed silent while {waiting_for}")]
    Timeout {
        /// What the machine was waiting for.
        waiting_for: &'static str,
    },
    /// The machine already finished or failed; no more input is accepted.
    #[error("the Sahara session is already over")]
    Finished,
}

impl Help for SaharaError {
    /// What the user can do about it, when there is something to do.
    fn help(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(match self {
            Self::ImageRejected { status, .. } if status.is_auth_failure() => {
                "the programmer is not signed for this board's key: use the programmer from the vendor package made for this module"
            }
            Self::ImageRejected { .. } => {
                "check that the programmer matches this chip, then power-cycle the board back into EDL and retry"
            }
            Self::ReadPastEnd { .. } => {
                "the programmer file is truncated or is not the one this board expects: use the programmer from the vendor package"
            }
            Self::NoImage { .. } => {
                "choose a programmer (firehose .mbn/.elf) from the vendor package"
            }
            Self::MemoryDebugMode => {
                "the board crashed and offers a RAM dump; power-cycle it (or reset it) into EDL and retry"
            }
            Self::Timeout { .. } => {
                "power-cycle the board into EDL (05C6:9008) and retry; close other tools (QPST, QFIL, ModemManager) that may hold the port"
            }
            Self::Oversize { .. } | Self::BadLength { .. } | Self::ShortPacket { .. } => {
                "the port does not speak Sahara: check that this is the 9008 EDL port, power-cycle into EDL and retry"
            }
            _ => return None,
        }))
    }
}
