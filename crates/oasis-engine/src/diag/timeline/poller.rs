//! The enumeration poller: runs a snapshot function on a named thread about every 500 ms,
//! feeds a [`Timeline`] and sends what changed over a crossbeam channel. Stops when dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use oasis_transport::enumerate::Snapshot;
use serde::{Deserialize, Serialize};

use super::{FlapConfig, Timeline, TimelineEvent};
use crate::diag::DiagError;

/// What the poller sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "poll", rename_all = "snake_case")]
pub enum PollEvent {
    /// The enumeration changed (always sent for the first one).
    Snapshot {
        /// Seconds since the poller started.
        at_s: f64,
        /// What is attached now.
        snapshot: Snapshot,
    },
    /// A timeline event.
    Timeline(TimelineEvent),
}

/// Poller settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollerConfig {
    /// Time between two enumerations.
    pub interval: Duration,
    /// Flapping rule for the timeline.
    pub flap: FlapConfig,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
            flap: FlapConfig::default(),
        }
    }
}

/// Called after each batch of sent events (the GUI passes `ctx.request_repaint`).
pub(crate) type Notify = Box<dyn Fn() + Send>;

/// A running enumeration poller. Dropping it stops the thread (within one sleep slice); the
/// drop does not wait for it. [`Poller::stop`] stops and waits.
#[derive(Debug)]
pub struct Poller {
    alive: Arc<AtomicBool>,
    rx: Receiver<PollEvent>,
    handle: Option<JoinHandle<()>>,
}

/// Granularity of the sleep between polls, so a stop is noticed quickly.
const SLICE: Duration = Duration::from_millis(20);

impl Poller {
    /// Start polling `snapshot` on a thread named `oasis-usb-poll`.
    pub fn start<F>(
        config: PollerConfig,
        snapshot: F,
        notify: Option<Notify>,
    ) -> Result<Self, DiagError>
    where
        F: FnMut() -> Snapshot + Send + 'static,
    {
        let alive = Arc::new(AtomicBool::new(true));
        let (tx, rx) = crossbeam_channel::unbounded();
        let flag = Arc::clone(&alive);
        let name = "oasis-usb-poll".to_string();
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || run(config, snapshot, notify, &tx, &flag))
            .map_err(|source| DiagError::Thread { name, source })?;
        Ok(Self {
            alive,
            rx,
            handle: Some(handle),
        })
    }

    /// Where events arrive.
    pub fn receiver(&self) -> &Receiver<PollEvent> {
        &self.rx
    }

    /// Stop the thread and wait for it to end.
    pub fn stop(mut self) {
        self.alive.store(false, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            // A panic in the snapshot function ends the thread; nothing more to report here.
            let _ = h.join();
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
    }
}

fn run<F>(
    config: PollerConfig,
    mut snapshot: F,
    notify: Option<Notify>,
    tx: &Sender<PollEvent>,
    alive: &AtomicBool,
) where
    F: FnMut() -> Snapshot,
{
    let start = Instant::now();
    let mut timeline = Timeline::new(config.flap);
    let mut last: Option<Snapshot> = None;
    while alive.load(Ordering::SeqCst) {
        let snap = snapshot();
        let at_s = start.elapsed().as_secs_f64();
        let events = timeline.observe(at_s, &snap);
        let mut sent = false;
        if last.as_ref() != Some(&snap) {
            if tx
                .send(PollEvent::Snapshot {
                    at_s,
                    snapshot: snap.clone(),
                })
                .is_err()
            {
                return;
            }
            last = Some(snap);
            sent = true;
        }
        for ev in events {
            if tx.send(PollEvent::Timeline(ev)).is_err() {
                return;
            }
            sent = true;
        }
        if sent && let Some(n) = &notify {
            n();
        }
        let wake = Instant::now() + config.interval;
        while alive.load(Ordering::SeqCst) && Instant::now() < wake {
            std::thread::sleep(SLICE.min(wake.saturating_duration_since(Instant::now())));
        }
    }
}
