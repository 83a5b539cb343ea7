//! The job's side of the event stream: phase bookkeeping, throttled progress with rate and ETA,
//! the cancel flag, and the guarantee that exactly one terminal event is sent and nothing after.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::EngineError;
use crate::event::{ChipIdentity, ErrorReport, Event, Phase, PhasePlan, Verdict, overall_fraction};

/// The boxed event sink a job reports to.
pub type Sink = Box<dyn FnMut(Event) + Send>;

/// Minimum time between two `Progress` events (about 10 Hz).
pub(crate) const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Bytes per second over a sliding window of recent samples.
#[derive(Debug)]
pub(crate) struct RateMeter {
    window: Duration,
    samples: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    /// A meter averaging over `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            samples: VecDeque::with_capacity(64),
        }
    }
    /// Forget all samples (new phase).
    pub fn reset(&mut self) {
        self.samples.clear();
    }
    /// Record that `done` bytes were done at `now`; returns the current rate.
    pub(crate) fn sample(&mut self, now: Instant, done: u64) -> f64 {
        self.samples.push_back((now, done));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > self.window)
        {
            self.samples.pop_front();
        }
        if self.samples.len() > 63 {
            self.samples.pop_front();
        }
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, d0)), Some((t1, d1))) if t1 > t0 => {
                d1.saturating_sub(*d0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// Seconds left, from the elapsed time and the overall fraction done.
pub fn eta_seconds(elapsed: Duration, overall: f64) -> Option<f64> {
    if !(0.01..1.0).contains(&overall) {
        return None;
    }
    Some(elapsed.as_secs_f64() * (1.0 - overall) / overall)
}

/// Sends a job's events in the documented order and keeps the numbers for `Progress`.
pub(crate) struct Emitter {
    sink: Sink,
    cancel: Arc<AtomicBool>,
    plan: Vec<PhasePlan>,
    finished: Vec<Phase>,
    current: Option<Phase>,
    phase_total: u64,
    phase_done: u64,
    partition: Option<String>,
    started: Instant,
    last_progress: Option<Instant>,
    rate: RateMeter,
    critical: bool,
    terminal: bool,
    plan_sent: bool,
    bytes_written: u64,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("current", &self.current)
            .field("phase_done", &self.phase_done)
            .field("terminal", &self.terminal)
            .finish_non_exhaustive()
    }
}

impl Emitter {
    /// An emitter nobody listens to and nobody cancels (a one-off read outside a job, tests).
    pub(crate) fn quiet() -> Self {
        Self::new(Box::new(|_| {}), Arc::new(AtomicBool::new(false)))
    }

    /// An emitter over `sink`, watching `cancel`.
    pub fn new(sink: Sink, cancel: Arc<AtomicBool>) -> Self {
        Self {
            sink,
            cancel,
            plan: Vec::new(),
            finished: Vec::new(),
            current: None,
            phase_total: 0,
            phase_done: 0,
            partition: None,
            started: Instant::now(),
            last_progress: None,
            rate: RateMeter::new(Duration::from_secs(2)),
            critical: false,
            terminal: false,
            plan_sent: false,
            bytes_written: 0,
        }
    }

    fn send(&mut self, ev: Event) {
        if self.terminal {
            return;
        }
        if !self.plan_sent {
            // The contract starts every stream with PlanReady, even one that fails early.
            self.plan_sent = true;
            if !matches!(ev, Event::PlanReady { .. }) {
                (self.sink)(Event::PlanReady {
                    phases: Vec::new(),
                    steps: 0,
                    total_bytes: 0,
                });
            }
        }
        self.terminal = ev.is_terminal();
        (self.sink)(ev);
    }

    /// The cancel flag (for loops that wait long inside one step).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Err(Cancelled) once the user asked to cancel.
    pub(crate) fn check_cancel(&self) -> Result<(), EngineError> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(EngineError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Announce the plan. Must be the first event.
    pub fn plan_ready(&mut self, phases: Vec<PhasePlan>, steps: usize, total_bytes: u64) {
        self.plan.clone_from(&phases);
        self.send(Event::PlanReady {
            phases,
            steps,
            total_bytes,
        });
    }

    /// Begin `phase` (finishing the current one first), moving `total` bytes.
    pub(crate) fn start_phase(&mut self, phase: Phase, total: u64) {
        self.finish_phase();
        self.current = Some(phase);
        self.phase_total = total;
        self.phase_done = 0;
        self.rate.reset();
        self.last_progress = None;
        self.send(Event::PhaseStarted { phase });
    }

    /// Change the byte total of the running phase (for a phase that learns its size only
    /// after it started, like Backup once the regions are located).
    pub(crate) fn set_phase_total(&mut self, total: u64) {
        self.phase_total = total;
    }

    /// End the current phase, if any.
    pub(crate) fn finish_phase(&mut self) {
        if let Some(phase) = self.current.take() {
            if self.phase_total > 0 && self.phase_done < self.phase_total {
                self.phase_done = self.phase_total;
            }
            self.finished.push(phase);
            self.partition = None;
            self.send(Event::PhaseFinished { phase });
        }
    }

    /// The phase running now.
    pub fn phase(&self) -> Option<Phase> {
        self.current
    }

    /// The partition being handled now.
    pub fn partition(&self) -> Option<&str> {
        self.partition.as_deref()
    }

    /// Name the partition being handled (shown with progress, used in error reports).
    pub(crate) fn set_partition(&mut self, label: Option<&str>) {
        self.partition = label.map(str::to_owned);
    }

    /// Mark whether a boot-critical region is erased and not yet rewritten.
    pub(crate) fn set_critical(&mut self, critical: bool) {
        if self.critical != critical {
            self.critical = critical;
            self.last_progress = None;
            self.emit_progress(Instant::now());
        }
    }

    /// Record bytes written to the board (for the verdict).
    pub(crate) fn add_written(&mut self, bytes: u64) {
        self.bytes_written += bytes;
    }

    /// Bytes written so far.
    pub(crate) fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Seconds since the job started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// `delta` more bytes of the current phase are done; emits `Progress` at most every 100 ms.
    pub(crate) fn advance(&mut self, delta: u64) {
        self.phase_done = self.phase_done.saturating_add(delta);
        let now = Instant::now();
        if self
            .last_progress
            .is_some_and(|t| now.duration_since(t) < PROGRESS_INTERVAL)
        {
            return;
        }
        self.emit_progress(now);
    }

    fn emit_progress(&mut self, now: Instant) {
        let Some(phase) = self.current else { return };
        self.last_progress = Some(now);
        let rate = self.rate.sample(now, self.phase_done);
        let frac = if self.phase_total == 0 {
            0.0
        } else {
            self.phase_done as f64 / self.phase_total as f64
        };
        let overall = overall_fraction(&self.plan, &self.finished, Some((phase, frac)));
        let ev = Event::Progress {
            phase,
            partition: self.partition.clone(),
            done: self.phase_done.min(self.phase_total.max(self.phase_done)),
            total: self.phase_total,
            rate,
            overall,
            eta_seconds: eta_seconds(self.started.elapsed(), overall),
            critical: self.critical,
        };
        self.send(ev);
    }

    /// A line the board logged.
    pub fn device_log(&mut self, line: &str) {
        self.send(Event::DeviceLog {
            line: line.to_owned(),
        });
    }

    /// A notable fact.
    pub fn info(&mut self, message: impl Into<String>) {
        self.send(Event::Info {
            message: message.into(),
        });
    }

    /// A support bundle was written to `path`: the log line for people, then the typed event.
    pub fn bundle_written(&mut self, path: &std::path::Path) {
        self.info(format!(
            "{}{}",
            crate::bundle::WRITTEN_PREFIX,
            path.display()
        ));
        self.send(Event::BundleWritten {
            path: path.to_path_buf(),
        });
    }

    /// The chip identity read in Sahara command mode.
    pub fn chip_identity(&mut self, id: ChipIdentity) {
        self.send(Event::ChipIdentity(id));
    }

    /// The job succeeded: finish the running phase and send `Finished`.
    pub fn finished(&mut self, verdict: Verdict) {
        self.finish_phase();
        self.send(Event::Finished(verdict));
    }

    /// The job failed: close the running phase and send `Failed`.
    pub fn failed(&mut self, report: ErrorReport) {
        if let Some(phase) = self.current.take() {
            self.send(Event::PhaseFinished { phase });
        }
        self.send(Event::Failed(report));
    }
}

/// A byte count as people read it, the same in the CLI and the app: `512 B`, `1.5 KiB`,
/// `3.0 MiB`, `5.0 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    #[test]
    fn byte_counts_read_in_the_largest_unit_that_fits() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
    }

    use super::*;
    use std::sync::Mutex;

    fn collecting() -> (Emitter, Arc<Mutex<Vec<Event>>>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev2 = Arc::clone(&events);
        let sink: Sink = Box::new(move |e| ev2.lock().unwrap().push(e));
        (Emitter::new(sink, Arc::new(AtomicBool::new(false))), events)
    }

    #[test]
    fn progress_is_throttled_but_lifecycle_is_not() {
        let (mut em, events) = collecting();
        em.plan_ready(
            vec![PhasePlan {
                phase: Phase::Program,
                weight: 75,
                bytes: 1_000_000,
            }],
            1,
            1_000_000,
        );
        em.start_phase(Phase::Program, 1_000_000);
        for _ in 0..1000 {
            em.advance(1000);
        }
        em.device_log("hello");
        em.finished(Verdict {
            summary: "ok".into(),
            verified: vec![],
            skipped: vec![],
            bytes: 0,
            seconds: 0.0,
            confirmed: false,
            running_revision: None,
        });
        em.info("after the end");
        let ev = events.lock().unwrap();
        let progress = ev
            .iter()
            .filter(|e| matches!(e, Event::Progress { .. }))
            .count();
        assert!((1..=3).contains(&progress), "{progress} progress events");
        assert!(matches!(ev[0], Event::PlanReady { .. }));
        assert!(matches!(ev[1], Event::PhaseStarted { .. }));
        assert!(ev.iter().any(|e| matches!(e, Event::DeviceLog { .. })));
        assert!(matches!(ev[ev.len() - 2], Event::PhaseFinished { .. }));
        assert!(ev.last().unwrap().is_terminal());
    }

    #[test]
    fn failing_closes_the_open_phase_and_nothing_follows() {
        let (mut em, events) = collecting();
        em.plan_ready(vec![], 0, 0);
        em.start_phase(Phase::Erase, 0);
        em.failed(EngineError::Cancelled.into_report(Some(Phase::Erase), None));
        em.failed(EngineError::Cancelled.into_report(None, None));
        em.start_phase(Phase::Program, 0);
        let ev = events.lock().unwrap();
        assert_eq!(ev.len(), 4);
        assert!(matches!(
            ev[2],
            Event::PhaseFinished {
                phase: Phase::Erase
            }
        ));
        assert!(matches!(ev[3], Event::Failed(_)));
    }

    #[test]
    fn rate_and_eta() {
        let mut m = RateMeter::new(Duration::from_secs(2));
        let t0 = Instant::now();
        assert_eq!(m.sample(t0, 0), 0.0);
        let r = m.sample(t0 + Duration::from_secs(1), 1_000_000);
        assert!((r - 1_000_000.0).abs() < 1.0);
        assert_eq!(eta_seconds(Duration::from_secs(10), 0.0), None);
        let eta = eta_seconds(Duration::from_secs(10), 0.5).unwrap();
        assert!((eta - 10.0).abs() < 1e-9);
    }

    #[test]
    fn cancel_flag_is_seen() {
        let flag = Arc::new(AtomicBool::new(false));
        let em = Emitter::new(Box::new(|_| {}), Arc::clone(&flag));
        assert!(em.check_cancel().is_ok());
        flag.store(true, Ordering::Relaxed);
        assert!(matches!(em.check_cancel(), Err(EngineError::Cancelled)));
    }
}
