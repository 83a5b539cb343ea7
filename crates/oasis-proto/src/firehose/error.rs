//! Errors of the Firehose XML layer and host helpers, each naming the document, element,
//! attribute or value it saw.

use std::borrow::Cow;

use crate::Help;

/// Everything that can go wrong while speaking Firehose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FirehoseError {
    /// A Firehose document is not well-formed enough to read.
    #[error("malformed Firehose document at byte {offset}: {reason} (near `{excerpt}`)")]
    Malformed {
        /// Byte offset inside the document.
        offset: usize,
        /// What was wrong.
        reason: String,
        /// A short piece of the document around the problem.
        excerpt: String,
    },
    /// A document started but a new one began before its `</data>`.
    #[error(
        "Firehose document cut short after {len} bytes (a new document started before `</data>`): `{excerpt}`"
    )]
    Truncated {
        /// Bytes of the cut document.
        len: usize,
        /// Its beginning.
        excerpt: String,
    },
    /// Bytes buffered for one document exceed the limit without `</data>`.
    #[error("Firehose document exceeds {max} bytes without `</data>` ({len} bytes buffered)")]
    TooLarge {
        /// Bytes buffered.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A tag that Oasis never sends (e.g. `benchmark`, which corrupts storage).
    #[error("refusing to send <{tag}>: {why}")]
    Forbidden {
        /// The tag.
        tag: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// A tag or attribute name that is not a valid XML name.
    #[error("invalid XML {what} name `{name}`")]
    InvalidName {
        /// "tag" or "attribute".
        what: &'static str,
        /// The offending name.
        name: String,
    },
    /// The board answered NAK.
    #[error("the board refused <{command}>{}", nak_suffix(logs))]
    Nak {
        /// Command tag that was refused.
        command: String,
        /// The board's own log lines around the response.
        logs: Vec<String>,
        /// Attributes of the NAK response.
        attrs: Vec<(String, String)>,
    },
    /// A required attribute is missing from a response.
    #[error("<{element}> from the board has no `{attribute}` attribute")]
    MissingAttribute {
        /// Element tag.
        element: String,
        /// Attribute wanted.
        attribute: &'static str,
    },
    /// An attribute value is not the number it should be.
    #[error("<{element}> attribute `{attribute}` = `{value}` is not a valid number")]
    BadNumber {
        /// Element tag.
        element: String,
        /// Attribute name.
        attribute: String,
        /// Value seen.
        value: String,
    },
    /// A response attribute has a value this host cannot use.
    #[error("<{element}> attribute `{attribute}` = `{value}`: {why}")]
    BadValue {
        /// Element tag.
        element: String,
        /// Attribute name.
        attribute: String,
        /// Value seen.
        value: String,
        /// Why it cannot be used.
        why: &'static str,
    },
    /// configure did not converge on a payload size.
    #[error(
        "configure negotiation did not settle after {attempts} attempts (last size tried {last_size})"
    )]
    ConfigureNoAgreement {
        /// Attempts made.
        attempts: u32,
        /// Last payload size sent.
        last_size: u64,
    },
    /// The board sent an ACK where raw mode was expected, or the reverse.
    #[error("<{command}>: expected a response with rawmode=\"{expected}\", got rawmode=\"{got}\"")]
    RawModeMismatch {
        /// Command tag.
        command: String,
        /// Expected rawmode.
        expected: bool,
        /// Received rawmode.
        got: bool,
    },
    /// No SHA-256 digest could be found in the board's logs.
    #[error(
        "<getsha256digest> was ACKed but no 64-hex-digit digest appears in the {count} log lines"
    )]
    DigestMissing {
        /// Number of logs scanned.
        count: usize,
    },
    /// getstorageinfo JSON could not be read.
    #[error("storage info JSON from the board is unreadable: {reason} in `{excerpt}`")]
    StorageInfo {
        /// What was wrong.
        reason: String,
        /// The log text.
        excerpt: String,
    },
    /// A caller asked for something the operation cannot do.
    #[error("invalid request for <{command}>: {why}")]
    InvalidRequest {
        /// Command tag.
        command: &'static str,
        /// What is wrong.
        why: String,
    },
    /// Raw data was supplied with a size the operation did not expect.
    #[error("<{command}>: raw data of {got} bytes supplied, {expected} expected")]
    RawLength {
        /// Command tag.
        command: String,
        /// Expected bytes.
        expected: u64,
        /// Received bytes.
        got: u64,
    },
    /// Nothing arrived in time.
    #[error("the board stayed silent while {waiting_for}")]
    Timeout {
        /// What the host was waiting for.
        waiting_for: String,
    },
    /// The operation already finished or failed; no more input is accepted.
    #[error("the Firehose operation is already over")]
    Finished,
}

fn nak_suffix(logs: &[String]) -> String {
    if logs.is_empty() {
        String::new()
    } else {
        format!(": {}", logs.join(" | "))
    }
}

impl Help for FirehoseError {
    /// What the user can do about it, when there is something to do.
    fn help(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(match self {
            Self::Nak { logs, .. } if logs.iter().any(|l| l.contains("unaligned")) => {
                "the package's sector/block layout does not match this board's flash: use the package made for this exact module variant"
            }
            Self::Nak { logs, .. }
                if logs.iter().any(|l| l.contains("sector size"))
                    || logs.iter().any(|l| l.contains("SECTOR_SIZE_IN_BYTES")) =>
            {
                "the sector size in the package does not match the board's storage: use the package made for this storage type"
            }
            Self::Nak { .. } => "read the board's log lines above; they say why it refused",
            Self::Forbidden { .. } => "this command is never sent by Oasis",
            Self::Timeout { .. } => {
                "power-cycle the board into EDL and retry; the programmer may have crashed"
            }
            Self::ConfigureNoAgreement { .. } => {
                "the programmer does not accept any payload size: try another programmer from the vendor package"
            }
            Self::Malformed { .. } | Self::Truncated { .. } | Self::TooLarge { .. } => {
                "the port returned data that is not Firehose XML: check the port and that the programmer was uploaded"
            }
            _ => return None,
        }))
    }
}
