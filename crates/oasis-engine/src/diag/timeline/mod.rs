//! Hot-plug timeline: successive snapshots with timestamps become appear/disappear events per
//! physical port path, mode changes (normal → 9008 → normal) and flapping warnings.
//!
//! [`Timeline::observe`] is pure: the caller passes the time in seconds, nothing here reads a
//! clock. [`Poller`] is the thread that feeds it from a live enumeration.

mod poller;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use oasis_transport::enumerate::{Snapshot, UsbDeviceInfo};
use serde::{Deserialize, Serialize};

pub use poller::{PollEvent, Poller, PollerConfig};

use super::usb_table::{UsbMode, identify_device};

/// When repeated disconnects count as flapping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlapConfig {
    /// Returns (a disappearance followed by an appearance) on one port that make it flapping.
    pub cycles: usize,
    /// Window in seconds the returns must fall in.
    pub window_s: f64,
    /// How long after a disappearance an appearance on another port path still counts as the
    /// same board (USB3 hosts can re-enumerate a board on a new path).
    pub rematch_s: f64,
}

impl Default for FlapConfig {
    fn default() -> Self {
        Self {
            cycles: 3,
            window_s: 30.0,
            rematch_s: 60.0,
        }
    }
}

/// A USB identity on a port, as the timeline reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// USB vendor id.
    pub vid: u16,
    /// USB product id.
    pub pid: u16,
    /// What the identity says about the state, if it is a known board.
    pub mode: Option<UsbMode>,
}

impl Seen {
    fn of(dev: &UsbDeviceInfo) -> Self {
        Self {
            vid: dev.vid,
            pid: dev.pid,
            mode: identify_device(dev).map(|i| i.mode),
        }
    }
    /// `05C6:9008`.
    pub fn id(&self) -> String {
        format!("{:04X}:{:04X}", self.vid, self.pid)
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TimelineKind {
    /// A device appeared on a port.
    Appeared {
        /// Physical port path.
        port_path: String,
        /// What appeared.
        device: Seen,
    },
    /// A device left a port.
    Disappeared {
        /// Physical port path.
        port_path: String,
        /// What left.
        device: Seen,
        /// How long it had been there, in seconds.
        present_s: f64,
    },
    /// A board came back with another identity (e.g. normal → download mode).
    ModeChanged {
        /// Where it was.
        from_path: String,
        /// Where it came back.
        to_path: String,
        /// The identity before.
        from: Seen,
        /// The identity after.
        to: Seen,
        /// Seconds it was away.
        gone_s: f64,
    },
    /// A port keeps disconnecting and reconnecting.
    Flapping {
        /// Physical port path.
        port_path: String,
        /// Returns counted in the window.
        cycles: usize,
        /// The window, in seconds.
        window_s: f64,
    },
    /// A flapping port has been quiet for a whole window.
    Settled {
        /// Physical port path.
        port_path: String,
    },
    /// USB could not be listed (the reason as the enumeration gave it).
    UsbUnavailable {
        /// Why.
        reason: String,
    },
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Seconds since the timeline started.
    pub at_s: f64,
    /// What happened.
    #[serde(flatten)]
    pub kind: TimelineKind,
}

#[derive(Debug, Clone)]
struct Present {
    seen: Seen,
    since: f64,
}

#[derive(Debug, Clone)]
struct Gone {
    path: String,
    seen: Seen,
    at: f64,
}

/// Most events kept in [`Timeline::events`]; older ones are dropped first.
const MAX_EVENTS: usize = 1000;
/// Seconds after which a board that left is no longer expected back on its port.
const FORGET_AFTER_S: f64 = 600.0;

/// The hot-plug history of one session.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    config: FlapConfig,
    present: BTreeMap<String, Present>,
    gone: Vec<Gone>,
    returns: BTreeMap<String, VecDeque<f64>>,
    flapping: BTreeSet<String>,
    usb_error: Option<String>,
    events: Vec<TimelineEvent>,
}

impl Timeline {
    /// An empty timeline.
    pub fn new(config: FlapConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Every event so far (at most the last 1000), oldest first.
    pub fn events(&self) -> &[TimelineEvent] {
        &self.events
    }

    /// Port paths flapping at the last observation.
    pub fn flapping_paths(&self) -> impl Iterator<Item = &str> {
        self.flapping.iter().map(String::as_str)
    }

    /// Take in the snapshot seen at `at_s` seconds; returns the new events.
    ///
    /// Devices that are not boards of interest ([`identify_device`] says `None`) are ignored.
    /// While USB cannot be listed, presence is left as it was.
    pub fn observe(&mut self, at_s: f64, snap: &Snapshot) -> Vec<TimelineEvent> {
        let mut out = Vec::new();
        if let Some(reason) = &snap.usb_error {
            if self.usb_error.as_ref() != Some(reason) {
                self.usb_error = Some(reason.clone());
                out.push(TimelineKind::UsbUnavailable {
                    reason: reason.clone(),
                });
            }
            return self.record(at_s, out);
        }
        self.usb_error = None;
        let now: BTreeMap<&str, Seen> = snap
            .usb
            .iter()
            .filter(|d| identify_device(d).is_some())
            .map(|d| (d.port_path.as_str(), Seen::of(d)))
            .collect();
        self.departures(at_s, &now, &mut out);
        for (path, seen) in &now {
            if self.present.get(*path).is_none_or(|p| p.seen != *seen) {
                self.arrival(at_s, path, seen, &mut out);
            }
        }
        self.update_flapping(at_s, &mut out);
        self.record(at_s, out)
    }

    fn departures(&mut self, at_s: f64, now: &BTreeMap<&str, Seen>, out: &mut Vec<TimelineKind>) {
        let left: Vec<String> = self
            .present
            .iter()
            .filter(|(path, p)| now.get(path.as_str()) != Some(&p.seen))
            .map(|(path, _)| path.clone())
            .collect();
        for path in left {
            if let Some(p) = self.present.remove(&path) {
                out.push(TimelineKind::Disappeared {
                    port_path: path.clone(),
                    device: p.seen.clone(),
                    present_s: at_s - p.since,
                });
                self.gone.push(Gone {
                    path,
                    seen: p.seen,
                    at: at_s,
                });
            }
        }
    }

    fn arrival(&mut self, at_s: f64, path: &str, seen: &Seen, out: &mut Vec<TimelineKind>) {
        out.push(TimelineKind::Appeared {
            port_path: path.to_string(),
            device: seen.clone(),
        });
        self.present.insert(
            path.to_string(),
            Present {
                seen: seen.clone(),
                since: at_s,
            },
        );
        // The same board coming back: the latest departure from this path, else a recent one
        // from a path that is still empty.
        let same = self.gone.iter().rposition(|g| g.path == path);
        let other = || {
            self.gone.iter().rposition(|g| {
                at_s - g.at <= self.config.rematch_s && !self.present.contains_key(&g.path)
            })
        };
        let Some(idx) = same.or_else(other) else {
            return;
        };
        let g = self.gone.remove(idx);
        self.returns
            .entry(path.to_string())
            .or_default()
            .push_back(at_s);
        if g.seen.vid != seen.vid || g.seen.pid != seen.pid {
            out.push(TimelineKind::ModeChanged {
                from_path: g.path,
                to_path: path.to_string(),
                from: g.seen,
                to: seen.clone(),
                gone_s: at_s - g.at,
            });
        }
    }

    fn update_flapping(&mut self, at_s: f64, out: &mut Vec<TimelineKind>) {
        let window = self.config.window_s;
        for (path, times) in &mut self.returns {
            while times.front().is_some_and(|t| at_s - t > window) {
                times.pop_front();
            }
            if times.len() >= self.config.cycles {
                if self.flapping.insert(path.clone()) {
                    out.push(TimelineKind::Flapping {
                        port_path: path.clone(),
                        cycles: times.len(),
                        window_s: window,
                    });
                }
            } else if self.flapping.remove(path) {
                out.push(TimelineKind::Settled {
                    port_path: path.clone(),
                });
            }
        }
        self.returns.retain(|_, t| !t.is_empty());
        // Departures too old to be matched are forgotten (a reboot takes well under this).
        let keep = self.config.rematch_s.max(window).max(FORGET_AFTER_S);
        self.gone.retain(|g| at_s - g.at <= keep);
        if self.gone.len() > 64 {
            let extra = self.gone.len() - 64;
            self.gone.drain(..extra);
        }
    }

    fn record(&mut self, at_s: f64, kinds: Vec<TimelineKind>) -> Vec<TimelineEvent> {
        let evs: Vec<TimelineEvent> = kinds
            .into_iter()
            .map(|kind| TimelineEvent { at_s, kind })
            .collect();
        self.events.extend(evs.iter().cloned());
        if self.events.len() > MAX_EVENTS {
            let extra = self.events.len() - MAX_EVENTS;
            self.events.drain(..extra);
        }
        evs
    }
}

/// A timeline event in plain words, e.g. "12.5 s: 05C6:9008 (download mode) appeared on USB
/// port 1-1.4".
pub fn describe(ev: &TimelineEvent) -> String {
    let what = |s: &Seen| match s.mode {
        Some(m) => format!("{} ({})", s.id(), m.describe()),
        None => s.id(),
    };
    let body = match &ev.kind {
        TimelineKind::Appeared { port_path, device } => {
            format!("{} appeared on USB port {port_path}", what(device))
        }
        TimelineKind::Disappeared {
            port_path, device, ..
        } => format!("{} left USB port {port_path}", what(device)),
        TimelineKind::ModeChanged {
            from_path,
            to_path,
            from,
            to,
            gone_s,
        } => {
            let moved = if from_path == to_path {
                format!("on USB port {to_path}")
            } else {
                format!("moving from USB port {from_path} to {to_path}")
            };
            format!(
                "board changed from {} to {} {moved} after {gone_s:.1} s away",
                what(from),
                what(to)
            )
        }
        TimelineKind::Flapping {
            port_path,
            cycles,
            window_s,
        } => format!(
            "USB port {port_path} disconnected and came back {cycles} times within {window_s:.0} s"
        ),
        TimelineKind::Settled { port_path } => {
            format!("USB port {port_path} is stable again")
        }
        TimelineKind::UsbUnavailable { reason } => format!("USB could not be listed: {reason}"),
    };
    format!("{:.1} s: {body}", ev.at_s)
}
