//! Test helpers: real fixture packages copied into a temp dir with their absent images
//! generated (deterministic pseudo-random bytes), flashing onto virtual boards, and checks of
//! the event order and of the board's storage against the package.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use oasis_engine::{ErrorReport, Event, FlashRequest, Phase, Verdict, spawn_flash_on};
use oasis_package::{OpenOptions, Package, StepOp};
use oasis_vdev::VirtualBoard;

/// The shared real-world fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/realworld"
    ))
}

/// A test-signed, HW-agnostic Firehose programmer (HW_ID 0) for packages that ship none.
pub fn generic_programmer() -> PathBuf {
    fixtures().join("loaders/000480e100000000_cc3153a80293939b_fhprg_9x07.mbn")
}

/// The revision string embedded in one generated image.
pub const REVISION: &str = "EG25GGBR07A08M2G_30.006.30.006";

/// Copy a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), seeded by `seed`.
pub fn pseudo_random(seed: &str, len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in seed.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A copy of fixture package `name` in a temp dir, with every absent image generated: a
/// plausible size (at most the partition, at most 96 KiB, not sector-aligned so padding is
/// exercised), one of them carrying a Quectel revision string. md5.txt entries of generated
/// files are rewritten with their real md5 (so the md5 check passes honestly).
pub fn package_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(name);
    copy_dir(&fixtures().join("xml").join(name), &root);
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    let mut generated: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, m) in pkg.missing_images.iter().enumerate() {
        if generated.iter().any(|(p, _)| *p == m.path) {
            continue;
        }
        let part = pkg
            .plan
            .iter()
            .find(|s| s.op == StepOp::Program && s.file.as_deref() == Some(m.file.as_str()))
            .and_then(|s| s.bytes())
            .filter(|b| *b > 0)
            .unwrap_or(64 * 1024);
        let len = usize::try_from(part.min(96 * 1024)).unwrap() - 100.min(part as usize - 1);
        let mut data = pseudo_random(&m.path, len);
        if i == 0 && data.len() > REVISION.len() + 64 {
            data[64..64 + REVISION.len()].copy_from_slice(REVISION.as_bytes());
        }
        let dst = pkg.root.join(&m.path);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(&dst, &data).unwrap();
        generated.push((m.path.clone(), data));
    }
    rewrite_md5(&pkg.root, &generated);
    (tmp, root)
}

fn rewrite_md5(root: &Path, generated: &[(String, Vec<u8>)]) {
    let md5_txt = root.join("md5.txt");
    let Ok(text) = std::fs::read_to_string(&md5_txt) else {
        return;
    };
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        let norm = body.replace('\\', "/");
        let hit = generated.iter().find(|(p, _)| {
            norm.rsplit_once(':')
                .is_some_and(|(head, _)| head.trim_end().ends_with(&format!("/{p}")))
        });
        match (hit, body.rsplit_once(':')) {
            (Some((_, data)), Some((head, _))) => {
                let sum = hex::encode_upper(Md5::digest(data));
                out.push_str(&format!("{head}:{sum}{ending}"));
            }
            _ => out.push_str(line),
        }
    }
    std::fs::write(md5_txt, out).unwrap();
}

/// Flash `req` onto `board` over an in-process link; returns the outcome and every event.
pub fn flash_on_board(
    req: FlashRequest,
    board: &VirtualBoard,
) -> (Result<Verdict, ErrorReport>, Vec<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = spawn_flash_on(
        req,
        Box::new(board.connect()),
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    );
    let out = h.join();
    (out, rx.try_iter().collect())
}

/// PlanReady first, each PhaseStarted closed by its PhaseFinished before the next one starts,
/// exactly one terminal event, last; progress only inside a phase.
pub fn check_event_order(events: &[Event]) {
    assert!(
        matches!(events.first(), Some(Event::PlanReady { .. })),
        "first event: {:?}",
        events.first()
    );
    let mut open: Option<Phase> = None;
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::PlanReady { .. } => assert_eq!(i, 0, "PlanReady twice"),
            Event::PhaseStarted { phase } => {
                assert!(open.is_none(), "{phase:?} started while {open:?} is open");
                open = Some(*phase);
            }
            Event::PhaseFinished { phase } => {
                assert_eq!(open, Some(*phase), "finished {phase:?} that was not open");
                open = None;
            }
            Event::Progress { phase, .. } => {
                assert_eq!(open, Some(*phase), "progress outside its phase")
            }
            Event::Finished(_) | Event::Failed(_) => {
                assert_eq!(i, events.len() - 1, "terminal event not last");
                assert!(open.is_none(), "terminal event with {open:?} open");
            }
            _ => {}
        }
    }
    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1);
}

/// Evaluate a start sector (`123`, `NUM_DISK_SECTORS-5.`) for a disk of `disk` sectors.
pub fn eval_sector(s: &str, disk: u64) -> u64 {
    let s = s.trim().trim_end_matches('.');
    match s.strip_prefix("NUM_DISK_SECTORS-") {
        Some(n) => disk - n.trim_end_matches('.').parse::<u64>().unwrap(),
        None => s.parse().unwrap(),
    }
}

/// Every program step of the package is on the board byte for byte (sectors a DISK patch
/// rewrote are left out; they are checked by the patch itself). Returns the bytes compared.
pub fn check_storage(board: &VirtualBoard, root: &Path, opts: &OpenOptions) -> u64 {
    let pkg = Package::open(root, opts).unwrap();
    let profile = board.profile();
    let patched: Vec<(u32, u64)> = pkg
        .plan
        .iter()
        .filter(|s| s.op == StepOp::Patch)
        .map(|s| {
            let disk = profile
                .storage
                .sectors(s.physical_partition_number)
                .unwrap();
            (
                s.physical_partition_number,
                eval_sector(&s.start_sector, disk),
            )
        })
        .collect();
    let mut compared = 0;
    for step in pkg.plan.iter().filter(|s| s.op == StepOp::Program) {
        let lun = step.physical_partition_number;
        let disk = profile.storage.sectors(lun).unwrap();
        let start = eval_sector(&step.start_sector, disk);
        let mut expected = Vec::new();
        std::io::Read::read_to_end(&mut pkg.open_reader(step).unwrap(), &mut expected).unwrap();
        let ss = step.sector_size as usize;
        let sectors = (expected.len() / ss) as u64;
        let got = board.read_storage(lun, start, sectors);
        for (k, (want, have)) in expected.chunks(ss).zip(got.chunks(ss)).enumerate() {
            if patched.contains(&(lun, start + k as u64)) {
                continue;
            }
            assert!(
                want == have,
                "'{}' sector {} (LUN {lun}) differs on the board",
                step.label,
                start + k as u64
            );
            compared += want.len() as u64;
        }
    }
    compared
}
