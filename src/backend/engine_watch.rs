//! The engine backend's board watcher (thread `oasis-boards`): the engine's enumeration poller
//! over the app's bus (the virtual boards, and this computer's USB and serial ports when the
//! app watches them) feeds the board list and the hot-plug timeline, and the list is sent
//! whenever it changes. Virtual boards are seen exactly as real ones: appearing, leaving,
//! re-enumerating in another mode. Ends when the backend is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use oasis_engine::diag::timeline::{
    PollEvent, Poller, PollerConfig, TimelineEvent, TimelineKind as EngineKind,
};
use oasis_transport::BusHandle;
use oasis_transport::enumerate::Snapshot;

use oasis_engine::diag::usb_table::{UsbMode, identify_device};

use super::engine_boards::{Label, label, probe_device, real_boards};
use super::engine_serial::{serial_board_info, serial_boards};
use super::{BackendMsg, BoardInfo, BoardState, ManualPort};

/// What the watcher shares with the backend (the backend's bookkeeping, never the UI's).
#[derive(Debug, Default)]
pub struct Shared {
    /// The listing as the watcher keeps it (its `boards` are worked out when it is published).
    pub view: View,
    /// What the AT port of each module in normal mode said when it arrived, by USB path.
    pub at_facts: HashMap<String, AtFacts>,
}

/// What the backend's calls on the UI thread read: the latest listing, published by the
/// watcher whenever it changes, so the UI thread never takes the watcher's lock.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct View {
    /// The latest USB/serial enumeration of the bus.
    pub snapshot: Snapshot,
    /// The virtual boards' names, by USB path.
    pub labels: Vec<Label>,
    /// The serial ports the user added by hand.
    pub manual: Vec<ManualPort>,
    /// The board list as the UI shows it.
    pub boards: Vec<BoardInfo>,
    /// The timeline as the UI shows it (virtual boards under their names).
    pub timeline: Vec<TimelineEvent>,
    /// The engine's own timeline events (evidence for the diagnosis).
    pub engine_timeline: Vec<TimelineEvent>,
}

/// How the watcher talks with the backend: views out, the hand-added ports in.
#[derive(Debug)]
pub struct Links {
    /// Where each new [`View`] goes.
    pub views: Sender<Arc<View>>,
    /// The serial ports the user added by hand, each time they change.
    pub manual: Receiver<Vec<ManualPort>>,
}

/// What a module running its firmware told on its AT port when it arrived.
#[derive(Debug, Clone, Default)]
pub struct AtFacts {
    /// Its USB identity then (`2C7C:0125`): a mode change asks again.
    ids: String,
    /// How many times it was asked.
    tries: u32,
    /// Full firmware revision (AT+QGMR, else ATI/AT+CGMR).
    pub revision: Option<String>,
    /// IMEI.
    pub imei: Option<String>,
}

/// Times a module that arrived is asked on AT before the list gives up on its revision (a
/// module still booting answers late).
const AT_TRIES: u32 = 5;

/// Ask every module in normal mode in `snap` that arrived (or changed) on its AT port, until it
/// answers, for its revision and IMEI; forget the ones that left. Then publish the listing
/// and what was learnt together, so no board list shows a module before it was asked.
fn take_snapshot(bus: &BusHandle, snap: Snapshot, shared: &Mutex<Shared>) {
    let mut facts = lock(shared).at_facts.clone();
    let normal: Vec<&oasis_transport::enumerate::UsbDeviceInfo> = snap
        .usb
        .iter()
        .filter(|d| identify_device(d).is_some_and(|i| i.mode == UsbMode::Normal))
        .collect();
    facts.retain(|path, f| {
        normal
            .iter()
            .any(|d| d.port_path == *path && ids(d) == f.ids)
    });
    for d in normal {
        let known = facts.get(&d.port_path).cloned().unwrap_or_else(|| AtFacts {
            ids: ids(d),
            ..AtFacts::default()
        });
        if known.revision.is_some() || known.tries >= AT_TRIES {
            continue;
        }
        let answered = probe_device(bus, d)
            .into_iter()
            .map(|(p, _)| p)
            .find(|p| p.answered);
        let learnt = AtFacts {
            tries: known.tries + 1,
            revision: answered
                .as_ref()
                .and_then(|p| p.full_revision.clone().or_else(|| p.revision.clone())),
            imei: answered.and_then(|p| p.imei),
            ..known
        };
        facts.insert(d.port_path.clone(), learnt);
    }
    let mut sh = lock(shared);
    sh.at_facts = facts;
    sh.view.snapshot = snap;
}

fn ids(d: &oasis_transport::enumerate::UsbDeviceInfo) -> String {
    format!("{:04X}:{:04X}", d.vid, d.pid)
}

impl Shared {
    /// Every board: the USB devices (virtual ones under their names), then the boards seen
    /// only as serial ports (the OS's port list and the ports added by hand).
    pub fn board_list(&self) -> Vec<BoardInfo> {
        let mut list = real_boards(&self.view.snapshot);
        for b in &mut list {
            if let Some(f) = self.at_facts.get(&b.port_path) {
                b.revision.clone_from(&f.revision);
                b.imei.clone_from(&f.imei);
                // Its AT port answered when it arrived.
                if f.revision.is_some() && b.state == BoardState::NormalAtSilent {
                    b.state = BoardState::NormalAtOk;
                }
            }
        }
        label(&mut list, &self.view.labels);
        list.extend(
            serial_boards(&self.view.snapshot, &self.view.manual)
                .iter()
                .filter_map(serial_board_info),
        );
        list
    }

    /// The name the UI knows a USB path by (a virtual board's id, else the path).
    fn name_of(&self, port_path: &str) -> String {
        self.view
            .labels
            .iter()
            .find(|l| l.port_path == port_path)
            .map_or_else(|| port_path.to_owned(), |l| l.id.clone())
    }
}

/// Most entries kept in the shown timeline and in the engine's timeline (a board that flaps
/// all day must not grow them without end; the oldest go first).
const TIMELINE_MAX: usize = 2048;

/// How often a bus of virtual boards alone is listed (this computer's ports are listed at the
/// engine poller's own pace, 500 ms: on Windows and macOS a listing opens USB devices).
const VIRTUAL_POLL: Duration = Duration::from_millis(200);

/// Drop the oldest entries of `v` beyond `max`.
fn cap<T>(v: &mut Vec<T>, max: usize) {
    let excess = v.len().saturating_sub(max);
    v.drain(..excess);
}

fn lock(s: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Watch `listed` until the backend is gone (`shared` has no other owner); modules that
/// arrive in normal mode are asked on AT over `bus`.
pub fn watch(
    listed: BusHandle,
    system: bool,
    bus: &BusHandle,
    shared: &Arc<Mutex<Shared>>,
    links: &Links,
    send: &dyn Fn(BackendMsg),
) {
    let mut config = PollerConfig::default();
    if !system {
        config.interval = VIRTUAL_POLL;
    }
    let mut poller = match Poller::start(config, move || listed.snapshot(), None) {
        Ok(p) => Some(p),
        Err(e) => {
            send(BackendMsg::Notice(format!("board list not watched: {e}")));
            None
        }
    };
    let mut last: Arc<View> = Arc::default();
    let mut first = true;
    while Arc::strong_count(shared) > 1 {
        while let Ok(ports) = links.manual.try_recv() {
            lock(shared).view.manual = ports;
        }
        match poller
            .as_ref()
            .map(|p| p.receiver().recv_timeout(Duration::from_millis(300)))
        {
            Some(Ok(PollEvent::Snapshot { snapshot, .. })) => take_snapshot(bus, snapshot, shared),
            Some(Ok(PollEvent::Timeline(ev))) => {
                let mut sh = lock(shared);
                let shown = relabelled(ev.clone(), |p| sh.name_of(p));
                sh.view.timeline.push(shown);
                sh.view.engine_timeline.push(ev);
                cap(&mut sh.view.timeline, TIMELINE_MAX);
                cap(&mut sh.view.engine_timeline, TIMELINE_MAX);
            }
            Some(Err(RecvTimeoutError::Timeout)) => {}
            Some(Err(RecvTimeoutError::Disconnected)) => poller = None,
            None => std::thread::sleep(Duration::from_millis(300)),
        }
        // A module that did not answer yet is asked again (it may still be booting).
        let retry = {
            let sh = lock(shared);
            sh.at_facts
                .values()
                .any(|f| f.revision.is_none() && f.tries < AT_TRIES)
                .then(|| sh.view.snapshot.clone())
        };
        if let Some(snap) = retry {
            take_snapshot(bus, snap, shared);
        }
        let view = {
            let sh = lock(shared);
            View {
                boards: sh.board_list(),
                ..sh.view.clone()
            }
        };
        if !first && *last == view {
            continue;
        }
        let view = Arc::new(view);
        // The backend sees a board before the UI does.
        let _ = links.views.send(Arc::clone(&view));
        if first || last.boards != view.boards {
            send(BackendMsg::Boards(view.boards.clone()));
        }
        if last.timeline != view.timeline {
            send(BackendMsg::Timeline(view.timeline.clone()));
        }
        first = false;
        last = view;
    }
    if let Some(p) = poller {
        p.stop();
    }
}

/// `ev` with its port paths named as the board list names them.
pub(super) fn relabelled(mut ev: TimelineEvent, name_of: impl Fn(&str) -> String) -> TimelineEvent {
    match &mut ev.kind {
        EngineKind::Appeared { port_path, .. }
        | EngineKind::Disappeared { port_path, .. }
        | EngineKind::Flapping { port_path, .. }
        | EngineKind::Settled { port_path } => *port_path = name_of(port_path),
        EngineKind::ModeChanged {
            from_path, to_path, ..
        } => {
            *from_path = name_of(from_path);
            *to_path = name_of(to_path);
        }
        EngineKind::UsbUnavailable { .. } => {}
    }
    ev
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
