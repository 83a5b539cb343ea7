//! The job's own view of a flash plan: device steps in the order they run, the phases they fall
//! into, and the byte counts that drive progress. Built from an `oasis_package` plan (see
//! `pkgmap`), so the flow does not depend on package internals.

use oasis_package::data::ProgramData;

use crate::event::{Phase, PhasePlan};

/// What a step does on the board.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOp {
    /// `<erase>`; `sectors` None = the whole physical partition.
    Erase,
    /// `<program>` with raw data.
    Program(ProgramData),
    /// `<patch>` (DISK only).
    Patch {
        /// `byte_offset`.
        byte_offset: u64,
        /// `size_in_bytes`.
        size_in_bytes: u32,
        /// `value`, verbatim.
        value: String,
        /// `what`, when given.
        what: Option<String>,
    },
    /// `<setbootablestoragedrive value=N/>` (N = `physical_partition`).
    SetBootable,
    /// A vendor line sent verbatim (Quectel `vendor="quectel"` erase).
    Vendor {
        /// Tag.
        tag: String,
        /// Attributes in order.
        attrs: Vec<(String, String)>,
    },
}

/// One device step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What it does.
    pub op: StepOp,
    /// Label shown to people (partition label, else file name).
    pub label: String,
    /// `SECTOR_SIZE_IN_BYTES`.
    pub sector_size: u32,
    /// `physical_partition_number`.
    pub physical_partition: u32,
    /// `start_sector` verbatim (number or expression); None for a whole-partition erase.
    pub start_sector: Option<String>,
    /// `num_partition_sectors`.
    pub sectors: Option<u64>,
    /// Further attributes sent with the command (NAND `PAGES_PER_BLOCK`, `last_sector`…).
    pub extra: Vec<(String, String)>,
    /// Why the step destroys data the package does not rewrite, if it does.
    pub destructive: Option<String>,
    /// Boot-critical: the board cannot boot while this region is erased and not rewritten.
    pub critical: bool,
}

impl Step {
    /// Bytes the step writes (program steps only).
    pub fn bytes(&self) -> u64 {
        match &self.op {
            StepOp::Program(d) => d.total_bytes,
            _ => 0,
        }
    }

    /// The phase the step belongs to.
    pub fn phase(&self) -> Phase {
        match self.op {
            StepOp::Erase | StepOp::Vendor { .. } => Phase::Erase,
            StepOp::Program(_) => Phase::Program,
            StepOp::Patch { .. } | StepOp::SetBootable => Phase::Patch,
        }
    }
}

/// The steps of a job in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct JobPlan {
    /// Device steps (without the final reset, which the options decide).
    pub steps: Vec<Step>,
    /// Storage type for `configure` (`nand`, `emmc`, `ufs`, `spinor`).
    pub memory: String,
    /// Sector size used for payload rounding.
    pub sector_size: u32,
}

/// Which optional phases a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhaseChoice {
    /// Sahara command mode will be tried.
    pub identify: bool,
    /// The board-unique regions are backed up before anything is written.
    pub backup: bool,
    /// Program steps get verified.
    pub verify: bool,
    /// The board is reset at the end.
    pub reset: bool,
    /// The new firmware is confirmed running after reset.
    pub confirm: bool,
}

impl JobPlan {
    /// Total bytes the program steps write.
    pub fn total_bytes(&self) -> u64 {
        self.steps.iter().map(Step::bytes).sum()
    }

    /// Number of device steps, the reset included when it runs.
    pub(crate) fn step_count(&self, reset: bool) -> usize {
        self.steps.len() + usize::from(reset)
    }

    fn has(&self, phase: Phase) -> bool {
        self.steps.iter().any(|s| s.phase() == phase)
    }

    /// The phases in the order they run, with weights and bytes.
    pub fn phases(&self, choice: PhaseChoice, programmer_bytes: u64) -> Vec<PhasePlan> {
        let total = self.total_bytes();
        let mut out = Vec::new();
        let mut add = |phase: Phase, bytes: u64| {
            out.push(PhasePlan {
                phase,
                weight: phase.weight(),
                bytes,
            });
        };
        add(Phase::Connect, 0);
        if choice.identify {
            add(Phase::Identify, 0);
        }
        add(Phase::Upload, programmer_bytes);
        add(Phase::Configure, 0);
        if choice.backup {
            add(Phase::Backup, 0);
        }
        if self.has(Phase::Erase) {
            add(Phase::Erase, 0);
        }
        if self.has(Phase::Program) {
            add(Phase::Program, total);
            if choice.verify {
                add(Phase::Verify, total);
            }
        }
        if self.has(Phase::Patch) {
            add(Phase::Patch, 0);
        }
        if choice.reset {
            add(Phase::Reset, 0);
            if choice.confirm {
                add(Phase::Confirm, 0);
            }
        }
        out
    }

    /// The steps of one phase, in plan order, with their index in the plan.
    pub(crate) fn steps_of(&self, phase: Phase) -> impl Iterator<Item = (usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.phase() == phase)
    }

    /// Index of the last boot-critical step, if any: the "do not unplug" window closes after it.
    pub(crate) fn last_critical(&self) -> Option<usize> {
        self.steps.iter().rposition(|s| s.critical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(op: StepOp, critical: bool) -> Step {
        Step {
            op,
            label: "x".into(),
            sector_size: 2048,
            physical_partition: 0,
            start_sector: Some("0".into()),
            sectors: Some(2),
            extra: vec![],
            destructive: None,
            critical,
        }
    }

    #[test]
    fn phases_follow_the_steps_and_choices() {
        let data = ProgramData {
            pieces: vec![],
            total_bytes: 4096,
        };
        let plan = JobPlan {
            steps: vec![step(StepOp::Erase, true), step(StepOp::Program(data), true)],
            memory: "nand".into(),
            sector_size: 2048,
        };
        let all = PhaseChoice {
            identify: true,
            backup: false,
            verify: true,
            reset: true,
            confirm: false,
        };
        let names: Vec<Phase> = plan.phases(all, 100).iter().map(|p| p.phase).collect();
        assert_eq!(
            names,
            vec![
                Phase::Connect,
                Phase::Identify,
                Phase::Upload,
                Phase::Configure,
                Phase::Erase,
                Phase::Program,
                Phase::Verify,
                Phase::Reset
            ]
        );
        let bare = PhaseChoice {
            identify: false,
            backup: true,
            verify: false,
            reset: false,
            confirm: true,
        };
        let names: Vec<Phase> = plan.phases(bare, 0).iter().map(|p| p.phase).collect();
        assert!(!names.contains(&Phase::Verify) && !names.contains(&Phase::Reset));
        assert!(!names.contains(&Phase::Confirm));
        assert_eq!(names[3], Phase::Backup, "backup runs right after configure");
        assert_eq!(plan.total_bytes(), 4096);
        assert_eq!(plan.step_count(true), 3);
        assert_eq!(plan.last_critical(), Some(1));
    }
}
