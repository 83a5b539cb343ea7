//! Plain data the backend hands to the UI: boards, package summaries, compatibility checks,
//! diagnoses, and the one error type of the backend seam. No I/O here.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

use oasis_engine::Help;

use serde::{Deserialize, Serialize};

/// How a board shows itself on USB (download, crash-dump, normal mode): the engine's own
/// reading of its USB identity, with the app's wording in [`ModeText`].
pub use oasis_engine::diag::usb_table::UsbMode as BoardMode;

/// The badge the app shows for a [`BoardMode`].
pub trait ModeText {
    /// Short badge text.
    fn badge(self) -> &'static str;
}

impl ModeText for BoardMode {
    fn badge(self) -> &'static str {
        match self {
            BoardMode::Normal => "normal",
            BoardMode::Edl => "download (9008)",
            BoardMode::MemoryDump => "memory dump",
            BoardMode::NotFirehose => "normal (not Qualcomm)",
        }
    }
}

/// Verdict colour (green, amber, red): the engine's own, with the app's wording in
/// [`LevelText`].
pub use oasis_engine::diag::compat::Level;

/// One line of a compatibility verdict: the engine's own check (what was compared, its
/// level, why).
pub use oasis_engine::diag::compat::Check as CompatCheck;

/// The word the app shows beside a level's colour, for readers who do not see colour.
pub trait LevelText {
    /// "OK", "Caution", "Blocked".
    fn word(self) -> &'static str;
}

impl LevelText for Level {
    fn word(self) -> &'static str {
        match self {
            Level::Green => "OK",
            Level::Amber => "Caution",
            Level::Red => "Blocked",
        }
    }
}

/// The state a diagnosis puts a board in (one picture each in assets/states/): the engine's
/// own diagnosis state, with the app's wording in [`BoardStateText`].
pub use oasis_engine::diag::State as BoardState;

/// What the app shows for a [`BoardState`]: badge title, colour, picture name.
pub trait BoardStateText: Sized {
    /// Every state, in the order the diagnostics gallery shows them.
    const ALL: [BoardState; 10];
    /// The snake_case name, also the picture's file stem.
    fn slug(self) -> &'static str;
    /// Parse a snake_case name (as the engine's diagnosis states are spelled).
    fn from_slug(slug: &str) -> Option<BoardState>;
    /// A short title for the state card and the board badge.
    fn title(self) -> &'static str;
    /// How the badge is coloured.
    fn level(self) -> Level;
}

impl BoardStateText for BoardState {
    /// Every state, in the order the diagnostics gallery shows them.
    const ALL: [BoardState; 10] = [
        BoardState::NormalAtOk,
        BoardState::NormalAtSilent,
        BoardState::EdlWaiting,
        BoardState::EdlProgrammerRunning,
        BoardState::MemoryDump,
        BoardState::ClaimedByDriver,
        BoardState::NoPermission,
        BoardState::NotOnUsb,
        BoardState::Flapping,
        BoardState::NotFirehoseModule,
    ];

    /// The snake_case name, also the picture's file stem.
    fn slug(self) -> &'static str {
        match self {
            BoardState::NormalAtOk => "normal_at_ok",
            BoardState::NormalAtSilent => "normal_at_silent",
            BoardState::EdlWaiting => "edl_waiting",
            BoardState::EdlProgrammerRunning => "edl_programmer_running",
            BoardState::MemoryDump => "memory_dump",
            BoardState::ClaimedByDriver => "claimed_by_driver",
            BoardState::NoPermission => "no_permission",
            BoardState::NotOnUsb => "not_on_usb",
            BoardState::Flapping => "flapping",
            BoardState::NotFirehoseModule => "not_firehose_module",
        }
    }

    /// Parse a snake_case name (as the engine's diagnosis states are spelled).
    fn from_slug(slug: &str) -> Option<BoardState> {
        BoardState::ALL.into_iter().find(|s| s.slug() == slug)
    }

    /// A short title for the state card and the board badge.
    fn title(self) -> &'static str {
        match self {
            BoardState::NormalAtOk => "Running, AT port answers",
            BoardState::NormalAtSilent => "Running, AT port silent",
            BoardState::EdlWaiting => "Download mode, ready",
            BoardState::EdlProgrammerRunning => "Download mode, programmer running",
            BoardState::MemoryDump => "Crashed (memory dump mode)",
            BoardState::ClaimedByDriver => "Held by another driver",
            BoardState::NoPermission => "No permission to open",
            BoardState::NotOnUsb => "Not on USB",
            BoardState::Flapping => "Connecting and dropping",
            BoardState::NotFirehoseModule => "Not a Firehose module",
        }
    }

    /// How the badge is coloured.
    fn level(self) -> Level {
        match self {
            BoardState::NormalAtOk | BoardState::EdlWaiting | BoardState::EdlProgrammerRunning => {
                Level::Green
            }
            BoardState::NormalAtSilent
            | BoardState::MemoryDump
            | BoardState::ClaimedByDriver
            | BoardState::NoPermission => Level::Amber,
            BoardState::NotOnUsb | BoardState::Flapping | BoardState::NotFirehoseModule => {
                Level::Red
            }
        }
    }
}

/// One board in the live list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardInfo {
    /// Stable identity (virtual board name, or USB port path).
    pub id: String,
    /// Physical USB port path (`1-1.4`), or `virtual:<n>` for virtual boards.
    pub port_path: String,
    /// What it is, e.g. "Quectel BG95-M3".
    pub title: String,
    /// How it shows on USB.
    pub mode: BoardMode,
    /// The diagnosed state, for the badge.
    pub state: BoardState,
    /// USB ids and port, e.g. "05C6:9008 on 1-1.4".
    pub detail: String,
    /// True for Oasis's built-in virtual boards.
    pub is_virtual: bool,
    /// The firmware revision the board reported over AT, if known.
    pub revision: Option<String>,
    /// The IMEI the board reported over AT, if known.
    pub imei: Option<String>,
    /// The chip serial, when the host can see it without talking to the board (9008 product
    /// string `QUSB__BULK_SN:<serial>`).
    pub serial: Option<String>,
}

/// Whether the package's md5.txt matched its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Md5Status {
    /// Every listed file present in the package matched.
    Verified {
        /// Files checked.
        checked: usize,
        /// Files listed but not in the package.
        missing: usize,
    },
    /// Files whose md5 differs from md5.txt.
    Mismatch {
        /// The files, package-relative.
        files: Vec<String>,
        /// What the package reader says to do about it (its `Md5Mismatch` error's help:
        /// re-download the package).
        help: String,
    },
    /// The package has no md5.txt.
    NoList,
}

impl Md5Status {
    /// One line for the package card.
    pub fn describe(&self) -> String {
        match self {
            Md5Status::Verified {
                checked,
                missing: 0,
            } => format!("md5 OK ({checked} files)"),
            Md5Status::Verified { checked, missing } => {
                format!("md5 OK ({checked} files; {missing} listed files not in the package)")
            }
            Md5Status::Mismatch { files, .. } => {
                format!("md5 MISMATCH: {}", files.join(", "))
            }
            Md5Status::NoList => "no md5.txt: files not checked".to_owned(),
        }
    }
}

/// A step of the plan that destroys board-unique data the package does not rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destructive {
    /// The partition it touches (its label), or `sector N`.
    pub name: String,
    /// Why, in the package reader's words.
    pub why: String,
    /// It erases the whole NAND flash (an erase with no sector count on NAND).
    pub whole_flash: bool,
}

impl std::fmt::Display for Destructive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.why)
    }
}

/// What the package card shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageSummary {
    /// Where it was opened from.
    pub path: PathBuf,
    /// Module model, e.g. "BG95-M3".
    pub model: String,
    /// Firmware version / package name, e.g. "BG95M3LAR02A03_01.202.01.202".
    pub version: String,
    /// Storage type: nand, emmc, ufs, spinor.
    pub storage: String,
    /// Programmer file name.
    pub programmer: String,
    /// The chip the programmer is for, as far as its signature tells.
    pub programmer_chip: String,
    /// Signing: "unsigned", "test-signed (root cc3153a8…)", ...
    pub signing: String,
    /// Bytes the plan writes.
    pub size_bytes: u64,
    /// md5.txt check.
    pub md5: Md5Status,
    /// Things the user should read before flashing.
    pub warnings: Vec<String>,
    /// Regions the plan erases, named for the confirmation ("whole flash", "sbl", ...).
    pub erases: Vec<String>,
    /// The erases that destroy board-unique data the package does not rewrite (whole-disk
    /// erase, EFS2/NV...), named with the reason; empty for a plan that keeps calibration.
    #[serde(default)]
    pub destructive: Vec<Destructive>,
    /// Number of program steps.
    pub programs: usize,
}

/// A compatibility verdict (the worst check decides; the direct answer to "does this firmware
/// fit this module?"): the engine's own.
pub use oasis_engine::diag::compat::Compat;

/// A verdict that stops at one red check: no package, no board, the demo package on hardware.
pub fn blocked(name: &str, reason: impl Into<String>) -> Compat {
    let reason = reason.into();
    Compat {
        overall: Level::Red,
        answer: format!("No: {reason}."),
        checks: vec![CompatCheck {
            name: name.to_owned(),
            status: Level::Red,
            reason,
        }],
    }
}

/// How written data is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Verification {
    /// Check every written partition on the board (SHA-256 digest or read-back, whichever the
    /// programmer supports).
    #[default]
    Digest,
    /// Trust the programmer's ACKs.
    Off,
}

impl Verification {
    /// All choices, for the settings combo box.
    pub const ALL: [Verification; 2] = [Verification::Digest, Verification::Off];

    /// Plain label.
    pub fn label(self) -> &'static str {
        match self {
            Verification::Digest => "Verify every written partition on the board",
            Verification::Off => "Off (trust the board's ACKs)",
        }
    }
}

/// The engine's AT probe of one serial port, with the role of the interface behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct AtPortResult {
    /// Role of the interface behind the port (AT command port, modem port).
    pub role: oasis_engine::diag::usb_table::Role,
    /// What the port said (the engine's own probe).
    pub probe: oasis_engine::diag::at::AtProbe,
}

impl AtPortResult {
    /// `(command, answer)` rows as the pane lists them: an answer's lines joined, "(no answer)"
    /// on timeout, and why the port could not be opened, if it could not.
    pub fn answers(&self) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = self
            .probe
            .raw
            .iter()
            .map(|(cmd, lines)| {
                let text = if lines.is_empty() {
                    "(no answer)".to_owned()
                } else {
                    lines.join(" ")
                };
                (cmd.clone(), text)
            })
            .collect();
        if let Some(e) = &self.probe.error {
            rows.push(("(port)".into(), e.message.clone()));
        }
        rows
    }
}

/// One hot-plug event: the engine's own timeline event, its port paths named as the board
/// list names them (a virtual board by its id).
pub use oasis_engine::diag::timeline::TimelineEvent;

/// A diagnosis of one board: the engine's own (state, why, what to do with the action for each
/// step, the USB device with its interface roles).
pub use oasis_engine::diag::Diagnosis;

/// Why the backend could not do what the UI asked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BackendError {
    /// The package could not be opened or is not usable.
    Package {
        /// The path that was asked for.
        path: PathBuf,
        /// What the package reader said.
        reason: String,
        /// What the package reader says to do about it (re-download, pass --rawprogram...).
        help: String,
    },
    /// The board is no longer in the list.
    NoSuchBoard {
        /// The board asked for.
        board: String,
    },
    /// The board is in a mode where the request makes no sense.
    WrongMode {
        /// The board.
        board: String,
        /// What was asked.
        action: &'static str,
        /// The mode it is in.
        mode: BoardMode,
    },
    /// The board or port failed while answering.
    Board {
        /// The board.
        board: String,
        /// What was asked.
        action: &'static str,
        /// What went wrong.
        reason: String,
        /// What the cause says to do about it, when it says (the engine's own advice).
        help: Option<String>,
    },
}

/// Every backend error has advice: [`Help::help`] is never `None` here.
impl Help for BackendError {
    /// What the user can do about it.
    fn help(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            BackendError::Package { help, .. } => Cow::Borrowed(help),
            BackendError::NoSuchBoard { .. } => Cow::Borrowed(
                "Check the cable and wait for the board to show up in the list again.",
            ),
            BackendError::WrongMode { mode, .. } => Cow::Owned(format!(
                "The board is in {} mode; open Diagnostics to see which actions fit.",
                mode.badge()
            )),
            BackendError::Board { help: Some(h), .. } => Cow::Borrowed(h),
            BackendError::Board { help: None, .. } => {
                Cow::Borrowed("Unplug and replug the board, then run Diagnostics on it.")
            }
        })
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Package { path, reason, .. } => {
                write!(f, "cannot use package {}: {reason}", path.display())
            }
            BackendError::NoSuchBoard { board } => write!(f, "board {board} is not attached"),
            BackendError::WrongMode {
                board,
                action,
                mode,
            } => write!(
                f,
                "cannot {action} board {board}: it is in {} mode",
                mode.badge()
            ),
            BackendError::Board {
                board,
                action,
                reason,
                ..
            } => write!(f, "{action} on board {board} failed: {reason}"),
        }
    }
}

impl std::error::Error for BackendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_slugs_round_trip_and_are_unique() {
        for s in BoardState::ALL {
            assert_eq!(BoardState::from_slug(s.slug()), Some(s));
        }
        assert_eq!(BoardState::from_slug("nonsense"), None);
        let json = serde_json::to_string(&BoardState::EdlProgrammerRunning).unwrap();
        assert_eq!(json, "\"edl_programmer_running\"");
    }

    #[test]
    fn a_blocked_verdict_is_red_and_says_why() {
        let c = blocked("Board", "board 1-1 is not attached");
        assert_eq!(c.overall, Level::Red);
        assert_eq!(c.checks.len(), 1);
        assert_eq!(c.answer, "No: board 1-1 is not attached.");
    }

    #[test]
    fn a_board_error_keeps_its_causes_advice() {
        let board = |help: Option<&str>| BackendError::Board {
            board: "1-1.4".into(),
            action: "switching to download mode",
            reason: "the module has no DM/DIAG serial port".into(),
            help: help.map(String::from),
        };
        let own = board(Some("load the option/qcserial driver for the module"));
        assert!(own.to_string().contains("1-1.4"));
        assert_eq!(
            own.help().as_deref(),
            Some("load the option/qcserial driver for the module")
        );
        assert!(board(None).help().is_some_and(|h| h.contains("replug")));
    }

    #[test]
    fn errors_name_what_they_saw() {
        let e = BackendError::WrongMode {
            board: "1-1.4".into(),
            action: "read chip identity of",
            mode: BoardMode::Normal,
        };
        assert!(e.to_string().contains("1-1.4"));
        assert!(e.help().is_some_and(|h| h.contains("normal")));
    }
}

/// What a serial port added by hand in Settings carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ManualPortKind {
    /// A board in download mode (a QDLoader 9008 port the OS names without USB ids).
    #[default]
    Download,
    /// The module's AT commands (a UART adapter wired to its main UART, or an AT port).
    At,
}

impl ManualPortKind {
    /// Both choices, for the settings combo box.
    pub const ALL: [ManualPortKind; 2] = [ManualPortKind::Download, ManualPortKind::At];

    /// Plain label.
    pub fn label(self) -> &'static str {
        match self {
            ManualPortKind::Download => "download mode (9008) port",
            ManualPortKind::At => "AT command port (UART adapter)",
        }
    }
}

/// A serial port the user added by hand: listed as a board whatever the OS says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualPort {
    /// The name the OS opens (`COM12`, `/dev/ttyUSB0`, `/dev/cu.usbserial-1`).
    pub name: String,
    /// What it carries.
    pub kind: ManualPortKind,
}
