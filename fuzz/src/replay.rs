//! The corpus replay shared by the stable tests of both workspace crates (included with
//! `#[path]`, like the entry files): every corpus file of a target, each of its prefixes (cut at
//! up to 64 points) and 16 single-byte flips go through the target's entry point. Seeds named
//! `ok-*` must be accepted. Test-only code: it panics on a broken corpus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

/// The files of `fuzz/corpus/<target>/` (hidden files skipped), sorted by name.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus")).join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 2,
        "corpus {target} has only {} files",
        out.len()
    );
    out
}

/// Replay `target`'s corpus through `accepts` (true = the entry accepted the input); returns
/// how many `ok-*` seeds there were (each asserted accepted).
pub fn replay(target: &str, accepts: impl Fn(&[u8]) -> bool) -> usize {
    let mut accepted_ok = 0;
    for (name, data) in corpus(target) {
        let accepted = accepts(&data);
        if name.starts_with("ok-") {
            assert!(
                accepted,
                "{target}/{name} is a real seed and must be accepted"
            );
            accepted_ok += 1;
        }
        let step = (data.len() / 64).max(1);
        for cut in (0..data.len()).step_by(step) {
            let _ = accepts(&data[..cut]);
        }
        let mut flipped = data.clone();
        for k in 0..16.min(data.len()) {
            let i = (k * 7919) % data.len();
            flipped[i] ^= 0x5A;
            let _ = accepts(&flipped);
        }
    }
    accepted_ok
}
