//! The engine backend's board watcher (thread `oasis-boards`): feeds the USB enumeration poller
//! into the board list and hot-plug timeline, follows the virtual boards through their mode
//! changes, and sends the list whenever it changes. Ends when the backend is dropped.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use oasis_engine::diag::timeline::{
    FlapConfig, PollEvent, Poller, PollerConfig, Timeline, TimelineEvent,
    TimelineKind as EngineKind,
};
use oasis_transport::enumerate::Snapshot;

use super::engine_boards::{Virtual, mode_of, real_boards, virtual_info, virtual_snapshot};
use super::engine_serial::{serial_board_info, serial_boards};
use super::{BackendMsg, BoardInfo, BoardMode, ManualPort, TimelineEntry, TimelineKind};

/// What the watcher shares with the backend (the backend's bookkeeping, never the UI's).
#[derive(Debug, Default)]
pub struct Shared {
    /// The latest USB/serial enumeration.
    pub snapshot: Snapshot,
    /// The timeline as the UI shows it.
    pub timeline: Vec<TimelineEntry>,
    /// The engine's own timeline events (evidence for the diagnosis).
    pub engine_timeline: Vec<TimelineEvent>,
    /// The engine's timeline of the virtual boards, from the USB devices they would show
    /// (evidence for their diagnosis: a flapping virtual board is seen as flapping).
    pub virtual_timeline: Vec<TimelineEvent>,
    /// The serial ports the user added by hand.
    pub manual: Vec<ManualPort>,
}

impl Shared {
    /// Every board that is not virtual: the USB devices, then the boards seen only as serial
    /// ports (the OS's port list and the ports added by hand).
    pub fn real_list(&self) -> Vec<BoardInfo> {
        let mut list = real_boards(&self.snapshot);
        list.extend(
            serial_boards(&self.snapshot, &self.manual)
                .iter()
                .filter_map(serial_board_info),
        );
        list
    }
}

/// Most virtual timeline events kept (the oldest go first).
const VIRTUAL_TIMELINE_MAX: usize = 512;

/// Most entries kept in the shown timeline and in the engine's real-board timeline (a board
/// that flaps all day must not grow them without end; the oldest go first).
const TIMELINE_MAX: usize = 2048;

/// Drop the oldest entries of `v` beyond `max`.
fn cap<T>(v: &mut Vec<T>, max: usize) {
    let excess = v.len().saturating_sub(max);
    v.drain(..excess);
}

/// Look at the virtual boards as the USB poller looks at real ones.
fn observe_virtuals(virtuals: &[Virtual], tl: &mut Timeline, at_s: f64, shared: &Mutex<Shared>) {
    let mut snap = Snapshot::default();
    for v in virtuals {
        snap.usb.extend(virtual_snapshot(v).usb);
    }
    let events = tl.observe(at_s, &snap);
    if events.is_empty() {
        return;
    }
    let mut sh = lock(shared);
    sh.virtual_timeline.extend(events);
    cap(&mut sh.virtual_timeline, VIRTUAL_TIMELINE_MAX);
}

/// How long a virtual board may sit in "rebooting" before the watcher completes its reboot (the
/// engine reads the reset ACK well within this).
const REBOOT_GRACE: Duration = Duration::from_secs(2);

fn lock(s: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Record arrivals and departures of virtual boards whose mode changed.
fn follow_virtuals(
    virtuals: &[Virtual],
    last: &mut [Option<BoardMode>],
    rebooting_since: &mut [Option<Instant>],
    at_ms: u64,
) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    for (i, v) in virtuals.iter().enumerate() {
        if v.board.state() == oasis_vdev::BoardState::Rebooting {
            let since = *rebooting_since[i].get_or_insert_with(Instant::now);
            if since.elapsed() >= REBOOT_GRACE {
                let _ = v.board.after_reset();
            }
        } else {
            rebooting_since[i] = None;
        }
        let info = virtual_info(v);
        if last[i] == Some(info.mode) {
            continue;
        }
        if let Some(prev) = last[i]
            && prev != BoardMode::Absent
        {
            out.push(TimelineEntry {
                at_ms,
                port_path: v.id.clone(),
                what: "left".into(),
                kind: TimelineKind::Left,
                mode: prev,
            });
        }
        if !matches!(info.mode, BoardMode::Absent | BoardMode::Unknown) {
            out.push(TimelineEntry {
                at_ms,
                port_path: v.id.clone(),
                what: info.detail.clone(),
                kind: TimelineKind::Arrived,
                mode: info.mode,
            });
        }
        last[i] = Some(info.mode);
    }
    out
}

/// Watch until the backend is gone (`shared` has no other owner).
pub fn watch(
    virtuals: &[Virtual],
    shared: &Arc<Mutex<Shared>>,
    usb: bool,
    send: &dyn Fn(BackendMsg),
) {
    let mut poller = if usb {
        Poller::start_system(PollerConfig::default(), None).ok()
    } else {
        None
    };
    let started = Instant::now();
    let mut last_list: Option<Vec<BoardInfo>> = None;
    let mut last_modes = vec![None; virtuals.len()];
    let mut rebooting = vec![None; virtuals.len()];
    let mut virtual_tl = Timeline::new(FlapConfig::default());
    while Arc::strong_count(shared) > 1 {
        let mut timeline_changed = false;
        match poller
            .as_ref()
            .map(|p| p.receiver().recv_timeout(Duration::from_millis(300)))
        {
            Some(Ok(PollEvent::Snapshot { snapshot, .. })) => lock(shared).snapshot = snapshot,
            Some(Ok(PollEvent::Timeline(ev))) => {
                let mut sh = lock(shared);
                sh.timeline.extend(timeline_entries(&ev));
                sh.engine_timeline.push(ev);
                cap(&mut sh.timeline, TIMELINE_MAX);
                cap(&mut sh.engine_timeline, TIMELINE_MAX);
                timeline_changed = true;
            }
            Some(Err(RecvTimeoutError::Timeout)) => {}
            Some(Err(RecvTimeoutError::Disconnected)) => poller = None,
            None => std::thread::sleep(Duration::from_millis(300)),
        }
        let at_ms = started.elapsed().as_millis() as u64;
        observe_virtuals(virtuals, &mut virtual_tl, at_ms as f64 / 1000.0, shared);
        let moved = follow_virtuals(virtuals, &mut last_modes, &mut rebooting, at_ms);
        let (list, timeline) = {
            let mut sh = lock(shared);
            timeline_changed |= !moved.is_empty();
            sh.timeline.extend(moved);
            cap(&mut sh.timeline, TIMELINE_MAX);
            let mut list: Vec<BoardInfo> = virtuals.iter().map(virtual_info).collect();
            list.extend(sh.real_list());
            (list, sh.timeline.clone())
        };
        if last_list.as_ref() != Some(&list) {
            send(BackendMsg::Boards(list.clone()));
            last_list = Some(list);
        }
        if timeline_changed {
            send(BackendMsg::Timeline(timeline));
        }
    }
    if let Some(p) = poller {
        p.stop();
    }
}

/// The port path a timeline event is about, when it names one.
pub fn timeline_path(ev: &TimelineEvent) -> Option<&str> {
    match &ev.kind {
        EngineKind::Appeared { port_path, .. }
        | EngineKind::Disappeared { port_path, .. }
        | EngineKind::Flapping { port_path, .. }
        | EngineKind::Settled { port_path } => Some(port_path),
        EngineKind::ModeChanged { to_path, .. } => Some(to_path),
        _ => None,
    }
}

fn timeline_mode(seen: &oasis_engine::diag::timeline::Seen) -> BoardMode {
    seen.mode.map_or(BoardMode::Unknown, mode_of)
}

/// Timeline entries for one engine timeline event (a mode change is a departure plus an
/// arrival).
pub fn timeline_entries(ev: &TimelineEvent) -> Vec<TimelineEntry> {
    let at_ms = (ev.at_s.max(0.0) * 1000.0) as u64;
    let entry =
        |port: &str, seen: &oasis_engine::diag::timeline::Seen, kind, at_ms| TimelineEntry {
            at_ms,
            port_path: port.to_owned(),
            what: seen.id(),
            kind,
            mode: timeline_mode(seen),
        };
    match &ev.kind {
        EngineKind::Appeared { port_path, device } => {
            vec![entry(port_path, device, TimelineKind::Arrived, at_ms)]
        }
        EngineKind::Disappeared {
            port_path, device, ..
        } => {
            vec![entry(port_path, device, TimelineKind::Left, at_ms)]
        }
        EngineKind::ModeChanged {
            from_path,
            to_path,
            from,
            to,
            gone_s,
        } => {
            let left = at_ms.saturating_sub((gone_s * 1000.0) as u64);
            vec![
                entry(from_path, from, TimelineKind::Left, left),
                entry(to_path, to, TimelineKind::Arrived, at_ms),
            ]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_timeline_keeps_the_newest_entries() {
        let mut v: Vec<u32> = (0..10).collect();
        cap(&mut v, 4);
        assert_eq!(v, vec![6, 7, 8, 9]);
        cap(&mut v, 10);
        assert_eq!(v.len(), 4);
    }
}
