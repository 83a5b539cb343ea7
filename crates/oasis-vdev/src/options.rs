//! Options of a virtual board: link framing, simulated speed, faults, and what happens after a
//! reset.

use std::time::Duration;

use oasis_transport::LinkKind;

use crate::fault::FaultSpec;
use crate::quirks::Quirks;

/// Simulated link and flash speed, applied as real time (sleep) on the in-process link.
/// Everything `None` (the default) = as fast as the machine goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkModel {
    /// Link throughput in bytes per second, both directions.
    pub throughput: Option<u64>,
    /// Time from a host command to the board's first answer.
    pub latency: Option<Duration>,
    /// NAND programming speed in bytes per second (raw `<program>` data).
    pub nand_program_rate: Option<u64>,
}

/// What the board does when it reboots (Firehose `power reset`, Sahara RESET).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetBehaviour {
    /// Boots the firmware: an AT modem that says `RDY` (default).
    #[default]
    Normal,
    /// Never comes back (dead board, cable pulled).
    NeverComesBack,
    /// Comes back in EDL (9008) again, as if the boot chain were broken.
    BackInEdl,
    /// Boots, but the AT port never answers.
    AtSilent,
}

/// Where the board is when it is created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartIn {
    /// EDL, Sahara HELLO waiting (default).
    #[default]
    Edl,
    /// EDL with a programmer already running (its start-up logs were consumed earlier): the
    /// first read finds nothing; `<nop/>` gets an ACK.
    Firehose,
    /// Normal mode: an AT modem (`RDY` waiting) and, on Qualcomm modules, a DM (DIAG) port.
    Normal,
    /// Normal mode, but the AT port never answers (the firmware's AT task is stuck); the DM
    /// port still works.
    NormalAtSilent,
    /// Crash / memory-dump mode: 05C6:900E, Sahara HELLO with mode 2 (MEMORY_DEBUG).
    MemoryDump,
}

/// Whether the host may open the board's ports (what the OS would say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostAccess {
    /// Free to open (default).
    #[default]
    Open,
    /// Another driver or program holds the board (ModemManager, a QPST server...): every link
    /// fails with `Busy`.
    ClaimedBy(String),
    /// The OS refuses access (no udev rule, not in the dialout group): every link fails with
    /// `PermissionDenied`.
    NoPermission,
}

/// Options of a [`crate::VirtualBoard`].
#[derive(Debug, Clone, Default)]
pub struct BoardOptions {
    /// Framing of the in-process EDL link: `Packet` (USB bulk, default) or `Stream` (COM port).
    pub link: Option<LinkKind>,
    /// Injected faults.
    pub faults: Vec<FaultSpec>,
    /// Simulated speed.
    pub model: LinkModel,
    /// What a reboot leads to.
    pub after_reset: ResetBehaviour,
    /// Revision to report after reset; `None` = scan the written storage for a Quectel revision
    /// string, keeping the old revision when none is found.
    pub revision_after_reset: Option<String>,
    /// Boot only when NAND page 0 / sector 0 starts with the SBL magic 0x844BDCD1 (else the PBL
    /// falls back to EDL, like a board whose flash was interrupted). Off by default so tests can
    /// flash any bytes.
    pub require_sbl: bool,
    /// Where the board starts.
    pub start_in: StartIn,
    /// Whether the host may open the board's ports.
    pub access: HostAccess,
    /// A loose cable or a failing supply: the board is on the bus for this long, then off for
    /// as long, and so on; each return is a fresh boot into `start_in`. `None` (default) =
    /// stays on the bus.
    pub flap: Option<Duration>,
    /// Real-board behaviours (see [`Quirks`]).
    pub quirks: Quirks,
}

impl BoardOptions {
    /// Options with these faults.
    pub fn with_faults(faults: Vec<FaultSpec>) -> Self {
        Self {
            faults,
            ..Self::default()
        }
    }

    /// The EDL link framing (Packet unless set).
    pub fn link_kind(&self) -> LinkKind {
        self.link.unwrap_or(LinkKind::Packet)
    }
}
