//! Reliability suite, load: 16 flashes at once from one process onto 16 in-process virtual
//! boards (NAND and UFS fixture packages, eight of each), each on its own named worker
//! thread. Every job must succeed, verify, and leave its own board holding the package byte
//! for byte (no cross-talk between jobs sharing one process).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod link_support;
mod reliability_support;

use std::time::Instant;

use link_support::OnLink;
use oasis_engine::{Event, spawn_flash};
use reliability_support::{Fixture, WATCHDOG};

#[test]
fn sixteen_boards_flashed_at_once() {
    let fixtures = [Fixture::nand(), Fixture::ufs()];
    let mut jobs = Vec::new();
    for i in 0..16 {
        let fx = &fixtures[i % 2];
        let board = fx.board(&[]);
        let mut req = fx.request_default_timeouts();
        req.port = format!("virtual:{}-{i}", fx.profile);
        let (tx, rx) = crossbeam_channel::unbounded();
        let handle = spawn_flash(
            req.on_link(Box::new(board.connect())),
            Box::new(move |e| {
                let _ = tx.send(e);
            }),
        );
        jobs.push((i, fx, board, handle, rx));
    }
    let start = Instant::now();
    let mut bytes = 0u64;
    for (i, fx, board, handle, rx) in jobs {
        while !handle.is_finished() {
            assert!(start.elapsed() < WATCHDOG, "job {i} hung");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let verdict = handle.join().unwrap_or_else(|r| panic!("job {i}: {r:#?}"));
        assert!(!verdict.verified.is_empty(), "job {i} verified nothing");
        let events: Vec<Event> = rx.try_iter().collect();
        common::check_event_order(&events);
        let compared = common::check_storage(&board, &fx.root, &fx.open_options());
        assert!(compared > 0);
        assert!(
            board.host_notes().is_empty(),
            "job {i}: {:?}",
            board.host_notes()
        );
        bytes += verdict.bytes;
    }
    assert!(
        bytes > 16 * 64 * 1024,
        "only {bytes} bytes written by 16 jobs"
    );
}
