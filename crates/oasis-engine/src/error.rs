//! The engine's error type: what went wrong in a job, naming the command, the partition and the
//! board's own words, and how it maps onto the [`ErrorReport`] front-ends show.

use std::borrow::Cow;
use std::time::Duration;

use oasis_package::PackageError;
use oasis_transport::{TransportError, TransportErrorKind};

use crate::Help;
use crate::event::{ErrorKind, ErrorReport, Phase};

/// Hint given with a cancellation between two commands.
pub(crate) const CANCELLED_HINT: &str = "the board is left in download mode; run the flash again";
/// Hint given with a cancellation in the middle of raw data: the programmer is stuck in it.
pub(crate) const MID_TRANSFER_HINT: &str = "the board is left in download mode, but it still waits in the middle of a data transfer: power-cycle the board into download mode (USB_BOOT), then run the flash again";

/// Why a job (or one of its steps) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The user cancelled between two chunks.
    #[error("cancelled by the user")]
    Cancelled,
    /// The user cancelled in the middle of a raw data transfer: the programmer still expects
    /// (or still sends) the rest of it, so it no longer listens for commands.
    #[error("cancelled by the user while '{partition}' was being {}", if *.writing { "written" } else { "read" })]
    CancelledMidTransfer {
        /// The partition being transferred.
        partition: String,
        /// True for a write (program), false for a read.
        writing: bool,
    },
    /// The board did not answer a command in time.
    #[error("no answer to {command}{} within {:.1} s", partition_suffix(.partition), .waited.as_secs_f64())]
    Timeout {
        /// The command that went unanswered (`<program>`, `Sahara HELLO`, ...).
        command: String,
        /// The partition being handled.
        partition: Option<String>,
        /// How long the engine waited.
        waited: Duration,
    },
    /// The link failed (unplug, I/O error, port could not be opened).
    #[error("{source}{}", partition_suffix(.partition))]
    Transport {
        /// The transport's own error.
        #[source]
        source: TransportError,
        /// The partition being handled.
        partition: Option<String>,
    },
    /// The board refused a Firehose command (NAK).
    #[error("the board refused {command}{}{}", partition_suffix(.partition), board_words(.device_log))]
    Nak {
        /// The refused command.
        command: String,
        /// The partition being handled.
        partition: Option<String>,
        /// The board's last log lines before (and after) the NAK.
        device_log: Vec<String>,
    },
    /// The boot ROM (Sahara) reported an error status.
    #[error("the boot ROM reported status {status:#04x}: {explanation}")]
    SaharaStatus {
        /// The status code (docs/protocol.md §1).
        status: u32,
        /// Its plain-language meaning.
        explanation: String,
        /// What the user can do, when known.
        help: Option<String>,
    },
    /// The board said something the protocol does not allow at this point.
    #[error("unexpected answer from the board: {what}")]
    Protocol {
        /// What was seen, and what was expected.
        what: String,
        /// The board's last log lines, if any.
        device_log: Vec<String>,
        /// What the user can do, when something specific helps.
        help: Option<String>,
    },
    /// What the board holds differs from what was sent.
    #[error(
        "verification failed for partition '{partition}': the board holds {got}, Oasis sent {expected}"
    )]
    VerifyMismatch {
        /// The partition.
        partition: String,
        /// SHA-256 of what was sent (hex).
        expected: String,
        /// SHA-256 (or description) of what the board holds.
        got: String,
    },
    /// A safety check refused the job before anything was written.
    #[error("refused: {reason}")]
    Refused {
        /// What the check found.
        reason: String,
        /// What the user can do.
        help: String,
    },
    /// The package could not be read or is unusable: the package reader's own error, so its
    /// advice (re-download, pass --rawprogram, ...) reaches the front-end. A "bad input" like
    /// [`EngineError::BadInput`]: same kind, exit code and JSON.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The package, programmer or arguments are unusable.
    #[error("{what}")]
    BadInput {
        /// What is wrong, naming the file.
        what: String,
        /// What the user can do.
        help: Option<String>,
    },
    /// A file of the package could not be read while streaming it.
    #[error("reading {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The board was not seen running the package's firmware after the reset.
    #[error("{what}")]
    NotConfirmed {
        /// What did not happen.
        failure: ConfirmFailure,
        /// The sentence naming it (port, seconds waited, revisions seen).
        what: String,
        /// What to do next.
        help: String,
    },
    /// A backup or restore could not use its folder or files.
    #[error("{what}")]
    Backup {
        /// What is wrong, naming the folder or file.
        what: String,
        /// What the user can do.
        help: String,
    },
    /// A bug in Oasis.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Help for EngineError {
    /// What to try next: the engine's own line, or the carried error's (transport, package).
    fn help(&self) -> Option<Cow<'_, str>> {
        let fixed: &str = match self {
            Self::Cancelled => CANCELLED_HINT,
            Self::CancelledMidTransfer { .. } => MID_TRANSFER_HINT,
            Self::Timeout { .. } => {
                "the board stopped answering: check the cable, power-cycle the board into download mode (USB_BOOT) and run the flash again"
            }
            Self::Transport { source, .. } => return source.help(),
            Self::Package(e) => return e.help(),
            Self::Nak { .. } => {
                "the board's own words above say why; check that the package is made for this module (storage type, page size) and run the flash again"
            }
            Self::SaharaStatus { help: Some(h), .. } | Self::Protocol { help: Some(h), .. } => h,
            Self::SaharaStatus { help: None, .. } => {
                "power-cycle the board into download mode and try again"
            }
            Self::Protocol { help: None, .. } => {
                "power-cycle the board into download mode and run the flash again; if it repeats, save a support bundle (--bundle)"
            }
            Self::VerifyMismatch { .. } => {
                "the flash memory may be worn or the link unreliable: run the flash again; if it repeats, the board needs service"
            }
            Self::Refused { help, .. }
            | Self::NotConfirmed { help, .. }
            | Self::Backup { help, .. } => help,
            Self::BadInput { help, .. } => return help.as_deref().map(Cow::Borrowed),
            Self::Io { .. } => "check that the package files are readable and complete",
            Self::Internal(_) => {
                "this is a bug in Oasis: please report it with a support bundle (--bundle)"
            }
        };
        Some(Cow::Borrowed(fixed))
    }
}

/// What did not happen after the reset (the Confirm phase's failure verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfirmFailure {
    /// The module never came back on USB (no AT port appeared within the wait).
    NeverCameBack,
    /// It came back in download mode (05C6:9008): the new firmware did not start.
    BackInDownloadMode,
    /// Its AT port appeared but never answered.
    AtSilent,
    /// It still runs the revision it ran before the flash.
    RevisionUnchanged,
    /// It runs a revision that is neither the package's nor (as far as known) the old one.
    OtherRevision,
    /// The AT port answered but reported no revision.
    NoRevision,
}

impl ConfirmFailure {
    /// The error kind a script branches on.
    pub fn kind(self) -> ErrorKind {
        match self {
            Self::NeverCameBack => ErrorKind::Disconnected,
            Self::BackInDownloadMode | Self::NoRevision => ErrorKind::Protocol,
            Self::AtSilent => ErrorKind::Timeout,
            Self::RevisionUnchanged | Self::OtherRevision => ErrorKind::VerifyMismatch,
        }
    }
}

fn partition_suffix(p: &Option<String>) -> String {
    p.as_deref()
        .map(|p| format!(" for partition '{p}'"))
        .unwrap_or_default()
}

fn board_words(log: &[String]) -> String {
    let tail: Vec<&str> = log.iter().rev().take(3).rev().map(String::as_str).collect();
    if tail.is_empty() {
        String::new()
    } else {
        format!("; the board said: \"{}\"", tail.join(" / "))
    }
}

impl EngineError {
    /// A timeout naming the command and partition.
    pub fn timeout(command: impl Into<String>, partition: Option<&str>, waited: Duration) -> Self {
        Self::Timeout {
            command: command.into(),
            partition: partition.map(str::to_owned),
            waited,
        }
    }

    /// A transport error, turning transport timeouts into [`EngineError::Timeout`] for `command`.
    pub(crate) fn from_transport(
        source: TransportError,
        command: &str,
        partition: Option<&str>,
        waited: Duration,
    ) -> Self {
        if source.is_timeout() {
            Self::timeout(command, partition, waited)
        } else {
            Self::Transport {
                source,
                partition: partition.map(str::to_owned),
            }
        }
    }

    /// The kind a script branches on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Cancelled | Self::CancelledMidTransfer { .. } => ErrorKind::Cancelled,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Transport { source, .. } => match source.kind {
                TransportErrorKind::Timeout => ErrorKind::Timeout,
                TransportErrorKind::Disconnected | TransportErrorKind::Io => {
                    if source.op == "open" {
                        ErrorKind::Port
                    } else {
                        ErrorKind::Disconnected
                    }
                }
                _ => ErrorKind::Port,
            },
            Self::Nak { .. } | Self::SaharaStatus { .. } => ErrorKind::Nak,
            Self::Protocol { .. } => ErrorKind::Protocol,
            Self::VerifyMismatch { .. } => ErrorKind::VerifyMismatch,
            Self::Refused { .. } => ErrorKind::Refused,
            Self::Package(_) | Self::BadInput { .. } | Self::Io { .. } => ErrorKind::BadInput,
            Self::NotConfirmed { failure, .. } => failure.kind(),
            Self::Backup { .. } => ErrorKind::BadInput,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The partition the error names, if any.
    pub fn partition(&self) -> Option<&str> {
        match self {
            Self::Timeout { partition, .. }
            | Self::Transport { partition, .. }
            | Self::Nak { partition, .. } => partition.as_deref(),
            Self::VerifyMismatch { partition, .. }
            | Self::CancelledMidTransfer { partition, .. } => Some(partition),
            Self::NotConfirmed { .. } => Some("running firmware"),
            _ => None,
        }
    }

    /// The board's own log lines carried by the error.
    pub fn device_log(&self) -> &[String] {
        match self {
            Self::Nak { device_log, .. } | Self::Protocol { device_log, .. } => device_log,
            _ => &[],
        }
    }

    /// The report a front-end shows, with the phase it happened in.
    pub(crate) fn into_report(self, phase: Option<Phase>, partition: Option<&str>) -> ErrorReport {
        self.to_report(phase, partition)
    }

    /// [`EngineError::into_report`] without giving the error up.
    pub(crate) fn to_report(&self, phase: Option<Phase>, partition: Option<&str>) -> ErrorReport {
        let kind = self.kind();
        let hint = match (self, phase) {
            // Stopped halfway through the programmer upload: the boot ROM waits for the rest.
            (Self::Cancelled, Some(Phase::Upload)) => Some(MID_TRANSFER_HINT.to_owned()),
            _ => self.help().map(Cow::into_owned),
        };
        let partition = self.partition().or(partition).map(str::to_owned);
        let device_log = self.device_log().to_vec();
        let message = match phase {
            Some(p) if kind != ErrorKind::Cancelled => format!("{}: {self}", p.title()),
            _ => self.to_string(),
        };
        ErrorReport {
            kind,
            message,
            hint,
            phase,
            partition,
            device_log,
        }
    }
}

impl From<TransportError> for EngineError {
    fn from(source: TransportError) -> Self {
        Self::Transport {
            source,
            partition: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nak_message_carries_the_boards_words() {
        let e = EngineError::Nak {
            command: "<erase>".into(),
            partition: Some("sbl".into()),
            device_log: vec!["start_sector unaligned".into()],
        };
        let r = e.into_report(Some(Phase::Erase), None);
        assert_eq!(r.kind, ErrorKind::Nak);
        assert!(
            r.message
                .starts_with("Erasing: the board refused <erase> for partition 'sbl'")
        );
        assert!(
            r.message.contains("start_sector unaligned"),
            "{}",
            r.message
        );
        assert_eq!(r.partition.as_deref(), Some("sbl"));
        assert_eq!(r.device_log, vec!["start_sector unaligned".to_owned()]);
    }

    #[test]
    fn timeout_names_phase_command_and_partition() {
        let e = EngineError::timeout("<program>", Some("modem"), Duration::from_secs(120));
        let r = e.into_report(Some(Phase::Program), None);
        assert_eq!(r.kind, ErrorKind::Timeout);
        assert_eq!(
            r.message,
            "Writing: no answer to <program> for partition 'modem' within 120.0 s"
        );
        assert!(r.hint.is_some());
    }

    #[test]
    fn transport_timeout_becomes_timeout_and_unplug_disconnected() {
        let t = TransportError::new(TransportErrorKind::Timeout, "read", "x");
        let e = EngineError::from_transport(t, "<configure>", None, Duration::from_secs(1));
        assert_eq!(e.kind(), ErrorKind::Timeout);
        let d = TransportError::new(TransportErrorKind::Disconnected, "read", "x");
        assert_eq!(EngineError::from(d).kind(), ErrorKind::Disconnected);
        let o = TransportError::new(TransportErrorKind::NotFound, "open", "x");
        assert_eq!(EngineError::from(o).kind(), ErrorKind::Port);
    }

    #[test]
    fn a_cancel_inside_raw_data_asks_for_a_power_cycle() {
        let e = EngineError::CancelledMidTransfer {
            partition: "modem".into(),
            writing: true,
        };
        let r = e.into_report(Some(Phase::Program), None);
        assert_eq!(r.kind, ErrorKind::Cancelled);
        assert_eq!(
            r.message,
            "cancelled by the user while 'modem' was being written"
        );
        assert!(r.hint.unwrap().contains("power-cycle"));
        assert_eq!(r.partition.as_deref(), Some("modem"));
        let up = EngineError::Cancelled.into_report(Some(Phase::Upload), None);
        assert_eq!(up.hint.as_deref(), Some(MID_TRANSFER_HINT));
    }

    #[test]
    fn a_package_error_is_carried_with_its_own_help_kind_and_cause() {
        let pe = PackageError::Io {
            path: "pkg/update/sbl1.mbn".into(),
            source: std::io::Error::other("disk on fire"),
        };
        let own_message = pe.to_string();
        let own_help = pe.help().map(Cow::into_owned);
        let e = EngineError::from(pe);
        assert!(matches!(e, EngineError::Package(PackageError::Io { .. })));
        assert_eq!(e.kind(), ErrorKind::BadInput);
        assert_eq!(e.help().map(Cow::into_owned), own_help);
        // The cause stays reachable (a flattened string had none).
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("disk on fire"));
        let r = e.into_report(None, None);
        assert_eq!(r.kind, ErrorKind::BadInput);
        assert_eq!(r.hint, own_help);
        assert_eq!(r.message, own_message);
    }

    #[test]
    fn cancel_says_board_stays_in_download_mode() {
        let r = EngineError::Cancelled.into_report(Some(Phase::Program), Some("rootfs"));
        assert_eq!(r.kind, ErrorKind::Cancelled);
        assert_eq!(r.hint.as_deref(), Some(CANCELLED_HINT));
        assert_eq!(r.partition.as_deref(), Some("rootfs"));
    }
}
