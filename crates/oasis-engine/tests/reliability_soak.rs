//! Reliability suite, soak: 200 consecutive flashes in one process (the EG25-G NAND fixture
//! onto a new virtual board each time). Resident memory must stay flat, and no thread or file
//! descriptor may outlive its job. This file holds one test on purpose: thread and fd counts
//! of /proc/self are only meaningful when no other test runs in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod reliability_support;

use reliability_support::{Fixture, count_proc, flash, status_kib};

/// Flashes in the soak.
const RUNS: usize = 200;
/// Flashes before the baseline is taken (allocator pools, lazy statics, page cache warm).
const WARM_UP: usize = 10;
/// Allowed growth of VmRSS over the remaining runs.
const RSS_SLACK_KIB: u64 = 8 * 1024;

#[test]
fn two_hundred_flashes_leak_no_memory_threads_or_descriptors() {
    let fx = Fixture::nand();
    let mut baseline = None;
    let mut bytes = 0u64;
    for i in 0..RUNS {
        if i == WARM_UP {
            baseline = Some((status_kib("VmRSS"), count_proc("task"), count_proc("fd")));
        }
        let board = fx.board(&[]);
        let run = flash(fx.request_default_timeouts(), &board);
        let v = run.out.unwrap_or_else(|r| panic!("flash {i}: {r:#?}"));
        bytes += v.bytes;
        if i % 50 == 0 {
            common::check_event_order(&run.events);
            assert!(common::check_storage(&board, &fx.root, &fx.open_options()) > 0);
        }
    }
    let (rss0, tasks0, fds0) = baseline.unwrap();
    let (rss1, tasks1, fds1) = (status_kib("VmRSS"), count_proc("task"), count_proc("fd"));
    println!(
        "soak: {RUNS} flashes, {bytes} bytes; after {WARM_UP}: VmRSS {rss0} KiB, {tasks0} threads, \
         {fds0} fds; after {RUNS}: VmRSS {rss1} KiB, {tasks1} threads, {fds1} fds"
    );
    assert!(rss0 > 0, "VmRSS not readable");
    assert_eq!(tasks1, tasks0, "threads before/after {RUNS} flashes");
    assert_eq!(fds1, fds0, "open descriptors before/after {RUNS} flashes");
    assert!(
        rss1 <= rss0 + RSS_SLACK_KIB,
        "VmRSS grew from {rss0} KiB to {rss1} KiB over {} flashes",
        RUNS - WARM_UP
    );
    assert!(bytes > 0);
}
