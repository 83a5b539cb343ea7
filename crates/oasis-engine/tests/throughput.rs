//! Host throughput onto the in-process virtual board (UFS, 1 MiB payloads): a 64 MiB image
//! flashed and verified. Ignored by default (it measures, it does not judge correctness);
//! run with `cargo test --release -p oasis-engine --test throughput -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;
mod link_support;

use std::time::Instant;

use common::generic_programmer;
use link_support::OnLink;
use oasis_engine::{Event, FlashOptions, FlashRequest, Phase, spawn_flash};
use oasis_vdev::{BoardOptions, Profile, VirtualBoard};

const MIB: usize = 1024 * 1024;

#[test]
#[ignore = "measures throughput; run in release"]
fn throughput_onto_the_virtual_ufs_board() {
    measure("ufs", 4096, "");
}

#[test]
#[ignore = "measures throughput; run in release"]
fn throughput_onto_the_virtual_nand_board() {
    // NAND programmers take 8 KiB per write: per-chunk overhead dominates here.
    measure("eg25", 2048, " PAGES_PER_BLOCK=\"64\"");
}

fn measure(profile: &str, sector: usize, extra: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("bench");
    std::fs::create_dir_all(&root).unwrap();
    let size = 64 * MIB;
    std::fs::write(root.join("big.img"), common::pseudo_random("big", size)).unwrap();
    let sectors = size / sector;
    let start = if sector == 4096 { 6 } else { 640 };
    std::fs::write(
        root.join("rawprogram0.xml"),
        format!(
            "<?xml version=\"1.0\" ?>\n<data>\n<program SECTOR_SIZE_IN_BYTES=\"{sector}\" file_sector_offset=\"0\" filename=\"big.img\" label=\"system\" num_partition_sectors=\"{sectors}\" physical_partition_number=\"0\" start_sector=\"{start}\"{extra} />\n</data>\n"
        ),
    )
    .unwrap();
    let board = VirtualBoard::new(Profile::by_name(profile).unwrap(), BoardOptions::default());
    let mut opts = FlashOptions::default();
    opts.programmer = Some(generic_programmer());
    let (tx, rx) = crossbeam_channel::unbounded();
    let start = Instant::now();
    let h = spawn_flash(
        FlashRequest::new(&root, format!("virtual:{profile}"))
            .on_bus(oasis_vdev::bus::demand())
            .with_options(opts)
            .on_link(Box::new(board.connect())),
        Box::new(move |e| {
            let _ = tx.send((Instant::now(), e));
        }),
    );
    h.join().unwrap();
    let total = start.elapsed();
    let mut began = None;
    for (t, e) in rx.try_iter() {
        match e {
            Event::PhaseStarted { .. } => began = Some(t),
            Event::PhaseFinished { phase } => {
                let secs = began.map_or(0.0, |b| t.duration_since(b).as_secs_f64());
                let rate = if matches!(phase, Phase::Program | Phase::Verify) {
                    format!(" ({:.0} MB/s)", size as f64 / secs / 1e6)
                } else {
                    String::new()
                };
                println!("{phase:?}: {secs:.3} s{rate}");
            }
            _ => {}
        }
    }
    let rate = size as f64 / total.as_secs_f64() / 1e6;
    println!(
        "64 MiB written and verified in {:.3} s: {rate:.0} MB/s end to end",
        total.as_secs_f64()
    );
}
