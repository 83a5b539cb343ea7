//! The engine's one event stream: what a flash job tells its front-end (GUI, CLI, bench).
//!
//! Order, for every job: `PlanReady`, then for each phase `PhaseStarted`, any number of
//! `Progress` / `DeviceLog` / `Info` / `ChipIdentity`, `PhaseFinished`; then exactly one of
//! `Finished` or `Failed`, and nothing after it. `Progress` is throttled (about 10 Hz per job);
//! lifecycle events are never dropped. The CLI writes these, one JSON object per line, with a
//! `schema` field added ([`SCHEMA_VERSION`]).

use serde::{Deserialize, Serialize};

/// Version of the JSON form of [`Event`]; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A phase of a job. Weights fold the phases into one honest percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Opening the port (and, for `usb` in normal mode, switching to download mode).
    Connect,
    /// Sahara command mode: chip serial, HW ID, PK hash.
    Identify,
    /// Sahara image transfer of the programmer.
    Upload,
    /// Firehose start-up log drain and configure negotiation.
    Configure,
    /// Reading board-unique regions into a backup folder.
    Backup,
    /// Erase steps of the plan.
    Erase,
    /// Program steps of the plan (raw data).
    Program,
    /// DISK patches and set-bootable.
    Patch,
    /// Digest (or read-back) verification of what was written.
    Verify,
    /// Power reset.
    Reset,
    /// Following the board back to normal mode and checking its revision.
    Confirm,
    /// Reading a crashed board's RAM regions (Sahara memory debug, 05C6:900E).
    RamDump,
    /// Reading partitions back into files (`dump`); nothing is written to the board.
    Read,
}

impl Phase {
    /// Relative weight of the phase in the overall percentage.
    pub fn weight(self) -> u32 {
        match self {
            Phase::Connect => 1,
            Phase::Identify => 1,
            Phase::Upload => 3,
            Phase::Configure => 1,
            Phase::Backup => 4,
            Phase::Erase => 5,
            Phase::Program => 75,
            Phase::Patch => 1,
            Phase::Verify => 6,
            Phase::Reset => 1,
            Phase::Confirm => 2,
            Phase::RamDump => 90,
            Phase::Read => 80,
        }
    }
    /// Plain-language name for a progress line.
    pub fn title(self) -> &'static str {
        match self {
            Phase::Connect => "Connecting",
            Phase::Identify => "Reading chip identity",
            Phase::Upload => "Uploading programmer",
            Phase::Configure => "Configuring programmer",
            Phase::Backup => "Backing up calibration data",
            Phase::Erase => "Erasing",
            Phase::Program => "Writing",
            Phase::Patch => "Patching",
            Phase::Verify => "Verifying",
            Phase::Reset => "Restarting the board",
            Phase::Confirm => "Confirming the new firmware",
            Phase::RamDump => "Collecting crash dump",
            Phase::Read => "Reading back",
        }
    }
}

/// Why a job failed, as a kind a script can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The user cancelled; the board is left in download mode.
    Cancelled,
    /// The board stopped answering within a timeout.
    Timeout,
    /// The board left USB / the port went away.
    Disconnected,
    /// The board refused a command (Firehose NAK, Sahara error status).
    Nak,
    /// Bytes read back (or their digest) differ from what was sent.
    VerifyMismatch,
    /// The board said something the protocol does not allow.
    Protocol,
    /// A safety check refused the job before anything was written.
    Refused,
    /// The package, programmer or arguments are not usable.
    BadInput,
    /// The port could not be opened (not found, permission, busy).
    Port,
    /// A bug in Oasis (worker panic and the like).
    Internal,
}

impl ErrorKind {
    /// The `oasis-cli` exit status for this kind: 1 board/link, 2 bad input, 3 safety refusal.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::BadInput => 2,
            ErrorKind::Refused => 3,
            _ => 1,
        }
    }
}

/// One phase as announced in [`Event::PlanReady`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhasePlan {
    /// The phase.
    pub phase: Phase,
    /// Its weight in the overall percentage.
    pub weight: u32,
    /// Bytes the phase will move (0 when not byte-driven).
    pub bytes: u64,
}

/// What a failed job reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// Plain-language cause, naming the phase and partition where known.
    pub message: String,
    /// What to try next.
    pub hint: Option<String>,
    /// The phase it happened in.
    pub phase: Option<Phase>,
    /// The partition (label or file) being handled, if any.
    pub partition: Option<String>,
    /// The board's own last log lines, when the board said something.
    pub device_log: Vec<String>,
}

/// What a successful job reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// One plain sentence, e.g. "verified, not yet confirmed running".
    pub summary: String,
    /// Partitions whose written bytes were verified on the device.
    pub verified: Vec<String>,
    /// Partitions skipped because the device already held the right bytes (resume).
    pub skipped: Vec<String>,
    /// Bytes written to the board.
    pub bytes: u64,
    /// Wall time of the job in seconds.
    pub seconds: f64,
    /// True when the board was seen running the package's revision after reset.
    pub confirmed: bool,
    /// The revision the board reported after reset, if it was asked.
    pub running_revision: Option<String>,
}

/// The chip identity read in Sahara command mode.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChipIdentity {
    /// Chip serial number, as 8 lower-case hex digits.
    pub serial: Option<String>,
    /// 16 hex digit MSM|OEM|MODEL HW ID.
    pub hw_id: Option<String>,
    /// Chip family name for the MSM ID, where known (e.g. "MDM9207").
    pub chip: Option<String>,
    /// OEM PK hash (root certificate hash) as lower-case hex, trimmed.
    pub pk_hash: Option<String>,
    /// Sahara protocol version the board spoke.
    pub sahara_version: Option<u32>,
    /// SBL software version, when answered.
    pub sbl_version: Option<String>,
}

/// One event of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The job's plan: its phases in order, the number of device steps and bytes to write.
    PlanReady {
        /// Phases in the order they will run.
        phases: Vec<PhasePlan>,
        /// Number of device steps (erase/program/patch/setbootable/reset).
        steps: usize,
        /// Bytes that will be written.
        total_bytes: u64,
    },
    /// A phase begins.
    PhaseStarted {
        /// The phase.
        phase: Phase,
    },
    /// Progress inside a phase.
    Progress {
        /// The phase.
        phase: Phase,
        /// The partition being handled (label, else file name).
        partition: Option<String>,
        /// Bytes done in this phase.
        done: u64,
        /// Bytes in this phase.
        total: u64,
        /// Current rate in bytes per second.
        rate: f64,
        /// Overall job completion, 0.0..=1.0, weighted by phase.
        overall: f64,
        /// Estimated seconds left for the whole job.
        eta_seconds: Option<f64>,
        /// True while a region the board cannot boot without (SBL/boot loader) is erased and
        /// not yet rewritten: the UI shows "do not unplug".
        critical: bool,
    },
    /// A line the board logged (Firehose `<log>`), verbatim.
    DeviceLog {
        /// The line.
        line: String,
    },
    /// A notable fact for the log (chosen programmer, negotiated payload size, ...).
    Info {
        /// The message.
        message: String,
    },
    /// The chip identity, once read.
    ChipIdentity(ChipIdentity),
    /// A support bundle was written (just before the terminal event; an `Info` line says the
    /// same for people).
    BundleWritten {
        /// Where.
        path: std::path::PathBuf,
    },
    /// A phase ended.
    PhaseFinished {
        /// The phase.
        phase: Phase,
    },
    /// The job succeeded. Nothing follows.
    Finished(Verdict),
    /// The job failed. Nothing follows.
    Failed(ErrorReport),
}

impl Event {
    /// True for `Finished` and `Failed`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Event::Finished(_) | Event::Failed(_))
    }
}

/// Overall completion (0.0..=1.0) from the phases of a plan, the phases already finished, and
/// the fraction done of the current one.
pub fn overall_fraction(
    plan: &[PhasePlan],
    finished: &[Phase],
    current: Option<(Phase, f64)>,
) -> f64 {
    let total: u32 = plan.iter().map(|p| p.weight).sum();
    if total == 0 {
        return 0.0;
    }
    let mut done = 0.0;
    for p in plan {
        if finished.contains(&p.phase) {
            done += f64::from(p.weight);
        } else if let Some((cur, frac)) = current
            && cur == p.phase
        {
            done += f64::from(p.weight) * frac.clamp(0.0, 1.0);
        }
    }
    (done / f64::from(total)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_is_weighted_by_phase() {
        let plan = vec![
            PhasePlan {
                phase: Phase::Upload,
                weight: 3,
                bytes: 0,
            },
            PhasePlan {
                phase: Phase::Program,
                weight: 75,
                bytes: 100,
            },
            PhasePlan {
                phase: Phase::Verify,
                weight: 6,
                bytes: 0,
            },
        ];
        assert_eq!(overall_fraction(&plan, &[], None), 0.0);
        let half = overall_fraction(&plan, &[Phase::Upload], Some((Phase::Program, 0.5)));
        assert!((half - (3.0 + 37.5) / 84.0).abs() < 1e-9);
        let all = overall_fraction(&plan, &[Phase::Upload, Phase::Program, Phase::Verify], None);
        assert!((all - 1.0).abs() < 1e-9);
    }

    #[test]
    fn events_serialise_with_snake_case_tag() {
        let ev = Event::PhaseStarted {
            phase: Phase::Program,
        };
        let s = serde_json::to_string(&ev).unwrap();
        assert_eq!(s, r#"{"event":"phase_started","phase":"program"}"#);
        assert_eq!(ErrorKind::Refused.exit_code(), 3);
        assert_eq!(ErrorKind::BadInput.exit_code(), 2);
        assert_eq!(ErrorKind::Nak.exit_code(), 1);
    }
}
