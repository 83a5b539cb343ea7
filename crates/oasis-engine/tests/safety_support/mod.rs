//! Helpers for the safety-net tests: run any engine job to its end collecting events, move a
//! virtual board's flash to a new board (a power cycle), and hash files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use oasis_engine::{ErrorReport, Event, JobHandle, Timeouts, Verdict};
use oasis_vdev::{BoardOptions, Profile, VirtualBoard};
use sha2::{Digest, Sha256};

/// Start a job with a collecting sink, wait for it, return the outcome and the events.
pub fn run<F>(start: F) -> (Result<Verdict, ErrorReport>, Vec<Event>)
where
    F: FnOnce(Box<dyn FnMut(Event) + Send>) -> JobHandle,
{
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = start(Box::new(move |e| {
        let _ = tx.send(e);
    }));
    let out = h.join();
    (out, rx.try_iter().collect())
}

/// Short timeouts: the in-process board answers at once, faults must fail fast.
pub fn quick() -> Timeouts {
    Timeouts::default().scaled(0.1)
}

/// A new board of the same profile holding what `old` holds (a power cycle: flash keeps its
/// contents, the boot ROM starts again in download mode).
pub fn power_cycle(old: &VirtualBoard, options: BoardOptions) -> VirtualBoard {
    let board = VirtualBoard::new(old.profile(), options);
    for r in old.written_ranges() {
        let data = old.read_storage(r.lun, r.start_sector, r.sectors);
        board.write_storage(r.lun, r.start_sector, &data).unwrap();
    }
    board
}

/// A board of `profile` with default options.
pub fn board(profile: &str) -> VirtualBoard {
    VirtualBoard::new(Profile::by_name(profile).unwrap(), BoardOptions::default())
}

/// SHA-256 as lower-case hex.
pub fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The phases started, in order.
pub fn phases(events: &[Event]) -> Vec<oasis_engine::Phase> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PhaseStarted { phase } => Some(*phase),
            _ => None,
        })
        .collect()
}

/// The Info messages.
pub fn infos(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Info { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}
