//! What the UI knows about one flash job, folded from the engine's event stream; plus the
//! number formatting the progress and verdict screens share.

use oasis_engine::event::{
    ChipIdentity, ErrorReport, Event, Phase, PhasePlan, Verdict, overall_fraction,
};

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// It succeeded.
    Finished(Verdict),
    /// It failed.
    Failed(ErrorReport),
}

/// The state of one job, folded from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobProgress {
    /// The plan, once announced.
    pub plan: Vec<PhasePlan>,
    /// Phases finished so far.
    pub finished: Vec<Phase>,
    /// The phase running now.
    pub phase: Option<Phase>,
    /// The partition being handled now.
    pub partition: Option<String>,
    /// Bytes done / total in the current phase.
    pub done: u64,
    /// Bytes in the current phase.
    pub total: u64,
    /// Overall fraction, 0..=1.
    pub overall: f64,
    /// Bytes per second.
    pub rate: f64,
    /// Seconds left, when the engine can tell.
    pub eta_seconds: Option<f64>,
    /// True while the board cannot boot if unplugged.
    pub critical: bool,
    /// The chip identity, once read.
    pub identity: Option<ChipIdentity>,
    /// How it ended, once it did.
    pub outcome: Option<JobOutcome>,
    /// Number of events seen (for tests and the log).
    pub events: usize,
}

impl JobProgress {
    /// Fold one event in. Events after the terminal one are ignored (the contract says none
    /// come; a misbehaving backend must not resurrect a finished job).
    pub fn apply(&mut self, ev: &Event) {
        if self.outcome.is_some() {
            return;
        }
        self.events += 1;
        match ev {
            Event::PlanReady { phases, .. } => self.plan.clone_from(phases),
            Event::PhaseStarted { phase } => {
                self.phase = Some(*phase);
                self.partition = None;
                self.done = 0;
                self.total = 0;
                self.recompute(Some((*phase, 0.0)));
            }
            Event::Progress {
                phase,
                partition,
                done,
                total,
                rate,
                overall,
                eta_seconds,
                critical,
            } => {
                self.phase = Some(*phase);
                self.partition.clone_from(partition);
                self.done = *done;
                self.total = *total;
                self.rate = *rate;
                self.overall = overall.clamp(0.0, 1.0);
                self.eta_seconds = *eta_seconds;
                self.critical = *critical;
            }
            Event::ChipIdentity(id) => self.identity = Some(id.clone()),
            Event::PhaseFinished { phase } => {
                if !self.finished.contains(phase) {
                    self.finished.push(*phase);
                }
                self.recompute(None);
            }
            Event::Finished(v) => {
                self.critical = false;
                self.overall = 1.0;
                self.outcome = Some(JobOutcome::Finished(v.clone()));
            }
            Event::Failed(r) => {
                self.critical = false;
                self.outcome = Some(JobOutcome::Failed(r.clone()));
            }
            Event::DeviceLog { .. } | Event::Info { .. } | Event::BundleWritten { .. } => {}
        }
    }

    fn recompute(&mut self, current: Option<(Phase, f64)>) {
        if !self.plan.is_empty() {
            // Never move the bar backwards: a phase boundary must not undo reported progress.
            let computed = overall_fraction(&self.plan, &self.finished, current);
            self.overall = self.overall.max(computed);
        }
    }

    /// True once the job ended.
    pub fn is_over(&self) -> bool {
        self.outcome.is_some()
    }

    /// The progress line: "Writing — modem — 1.8 MB/s — about 12 s left".
    pub fn status_line(&self) -> String {
        let mut parts = vec![self.phase.map_or("Preparing", Phase::title).to_owned()];
        if let Some(p) = &self.partition {
            parts.push(format!("partition {p}"));
        }
        if self.total > 0 && self.phase == Some(Phase::Program) {
            parts.push(format!(
                "{} of {}",
                human_bytes(self.done),
                human_bytes(self.total)
            ));
        }
        if self.rate > 0.0 {
            parts.push(format!("{}/s", human_bytes(self.rate as u64)));
        }
        if let Some(eta) = self.eta_seconds {
            parts.push(format!("about {} left", human_duration(eta)));
        }
        parts.join("  ·  ")
    }
}

/// "1.5 MiB", "512 B": the engine's wording, the same as the CLI's.
pub use oasis_engine::progress::human_bytes;

/// "4 s", "2 min 05 s", "1 h 02 min".
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Vec<PhasePlan> {
        [Phase::Upload, Phase::Program, Phase::Verify]
            .into_iter()
            .map(|phase| PhasePlan {
                phase,
                weight: phase.weight(),
                bytes: 0,
            })
            .collect()
    }

    #[test]
    fn folds_progress_and_ignores_events_after_the_end() {
        let mut j = JobProgress::default();
        j.apply(&Event::PlanReady {
            phases: plan(),
            steps: 3,
            total_bytes: 100,
        });
        j.apply(&Event::PhaseStarted {
            phase: Phase::Upload,
        });
        j.apply(&Event::PhaseFinished {
            phase: Phase::Upload,
        });
        let after_upload = j.overall;
        assert!((after_upload - 3.0 / 84.0).abs() < 1e-9);
        j.apply(&Event::Progress {
            phase: Phase::Program,
            partition: Some("modem".into()),
            done: 50,
            total: 100,
            rate: 2048.0,
            overall: 0.5,
            eta_seconds: Some(65.0),
            critical: true,
        });
        assert!(j.critical);
        let line = j.status_line();
        assert!(line.contains("Writing"), "{line}");
        assert!(line.contains("partition modem"), "{line}");
        assert!(line.contains("2.0 KiB/s"), "{line}");
        assert!(line.contains("1 min 05 s left"), "{line}");
        j.apply(&Event::Failed(ErrorReport {
            kind: oasis_engine::event::ErrorKind::Nak,
            message: "refused".into(),
            hint: None,
            phase: Some(Phase::Program),
            partition: None,
            device_log: vec![],
        }));
        assert!(j.is_over());
        assert!(
            !j.critical,
            "a failed job no longer holds the board critical"
        );
        let events = j.events;
        j.apply(&Event::PhaseStarted {
            phase: Phase::Verify,
        });
        assert_eq!(j.events, events);
        assert_eq!(j.phase, Some(Phase::Program));
    }

    #[test]
    fn formats_sizes_and_durations() {
        assert_eq!(human_duration(4.4), "4 s");
        assert_eq!(human_duration(125.0), "2 min 05 s");
        assert_eq!(human_duration(3720.0), "1 h 02 min");
        assert_eq!(human_duration(-3.0), "0 s");
    }
}
