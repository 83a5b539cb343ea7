//! The one error type of the virtual device: bad profiles, fault specs, options and pty plumbing.

use std::borrow::Cow;

use oasis_proto::Help;

/// What went wrong while building or serving a virtual board.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VdevError {
    /// `Profile::by_name` was given a name it does not know.
    #[error("unknown virtual-device profile {name:?} (known: {known})")]
    UnknownProfile {
        /// The name that was asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// A fault spec did not parse.
    #[error("bad fault spec {spec:?}: {reason}")]
    BadFault {
        /// The whole spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A board option is out of range or contradicts the profile.
    #[error("bad board option {option}: {reason}")]
    BadOption {
        /// The option name.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `after_reset` was asked before the board was reset.
    #[error("the board has not been reset yet (it is still {state})")]
    NotReset {
        /// What the board is doing now.
        state: &'static str,
    },
    /// `connect_dm` on a board that has no DM (DIAG) port now.
    #[error("virtual board {board} has no DM (DIAG) port: {reason}")]
    NoDmPort {
        /// The board's profile name.
        board: String,
        /// Why (its state, or that it is not a Qualcomm module).
        reason: String,
    },
    /// The pty link path exists and is not a symbolic link, so it is not replaced.
    #[error("refusing to replace {path}: it exists and is not a symbolic link")]
    LinkPathOccupied {
        /// The path that was asked for.
        path: String,
    },
    /// Creating, opening or linking the pseudo-terminal failed.
    #[error("pseudo-terminal {op} failed for {path}: {detail}")]
    Pty {
        /// What was being done ("open pair", "symlink", "spawn thread", ...).
        op: &'static str,
        /// The link path or pty path concerned.
        path: String,
        /// The OS error text.
        detail: String,
    },
    /// The pty service is not available on this platform.
    #[error("pseudo-terminal service is not supported on this platform")]
    Unsupported,
}

impl Help for VdevError {
    /// What a user can try next, where there is something to try.
    fn help(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::UnknownProfile { .. } => Some("pick one of the listed profiles, e.g. `bg95`"),
            Self::BadFault { .. } => Some(
                "see the fault grammar in oasis_vdev::fault, e.g. `nak:program#2`, `stall:configure`, `unplug@65536`",
            ),
            Self::BadOption { .. } => None,
            Self::NotReset { .. } => {
                Some("send a Firehose <power value=\"reset\"/> (or Sahara RESET) first")
            }
            Self::NoDmPort { .. } => Some(
                "the DM port exists while a Qualcomm module runs its firmware (normal mode); in download mode flash it directly",
            ),
            Self::LinkPathOccupied { .. } => {
                Some("choose another --pty path or remove the file yourself")
            }
            Self::Pty { .. } => {
                Some("check that /dev/ptmx is usable and the link directory is writable")
            }
            Self::Unsupported => Some("use the in-process virtual board (`virtual`) instead"),
        }
        .map(Cow::Borrowed)
    }
}
