//! Stable replay of the cargo-fuzz corpora for the package targets: every file in
//! `fuzz/corpus/<target>/` goes through the same entry point the fuzz target calls (the file
//! `fuzz/src/package_entries.rs` is compiled into this test). Seeds named `ok-*` (the real
//! package XMLs and NAND tables, hand-built sparse images) must be accepted; the real
//! programmers are read whole from the shared fixtures and must be accepted too. Each seed is
//! also replayed truncated and with byte flips.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic

#[path = "../../../fuzz/src/package_entries.rs"]
#[allow(dead_code)]
mod package_entries;

use std::path::PathBuf;

use package_entries::Seen;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
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

fn replay(target: &str, entry: fn(&[u8]) -> Seen) -> usize {
    let mut accepted_ok = 0;
    for (name, data) in corpus(target) {
        let seen = entry(&data);
        if name.starts_with("ok-") {
            assert_eq!(
                seen,
                Seen::Accepted,
                "{target}/{name} is a real seed and must be accepted"
            );
            accepted_ok += 1;
        }
        let step = (data.len() / 48).max(1);
        for cut in (0..data.len()).step_by(step) {
            let _ = entry(&data[..cut]);
        }
        let mut flipped = data.clone();
        for k in 0..12.min(data.len()) {
            let i = (k * 7919 + 13) % data.len();
            flipped[i] ^= 0xA5;
            let _ = entry(&flipped);
        }
    }
    accepted_ok
}

#[test]
fn package_xml_corpus() {
    assert!(replay("package_xml", package_entries::package_xml) >= 8);
}

#[test]
fn sparse_corpus() {
    assert!(replay("sparse", package_entries::sparse) >= 3);
}

#[test]
fn programmer_corpus() {
    replay("programmer", package_entries::programmer);
}

#[test]
fn nand_tables_corpus() {
    assert!(replay("nand_tables", package_entries::nand_tables) >= 2);
}

#[test]
fn real_programmers_are_accepted_whole() {
    let shared = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/realworld"
    ));
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared.join("loaders"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(shared.join("xml/uz801-emmc/007050e100000000_99c8c13e374c34d8_fhprg_peek.bin"));
    files.push(
        shared.join("xml/quectel-eg25g-nand-2022/update/firehose/prog_nand_firehose_9x07.mbn"),
    );
    for f in &files {
        let data = std::fs::read(f).unwrap();
        assert_eq!(
            package_entries::programmer(&data),
            Seen::Accepted,
            "{}",
            f.display()
        );
    }
    assert!(files.len() >= 8);
}

#[test]
fn entries_reject_what_they_must() {
    assert_eq!(package_entries::sparse(b""), Seen::Rejected);
    assert_eq!(
        package_entries::package_xml(b"<data><program"),
        Seen::Rejected
    );
    assert_eq!(
        package_entries::package_xml(b"<!DOCTYPE x [<!ENTITY a \"b\">]><data>&a;</data>"),
        Seen::Rejected
    );
    assert_eq!(package_entries::programmer(b"\x7fELF"), Seen::Rejected);
    assert_eq!(package_entries::nand_tables(&[0u8; 16]), Seen::Rejected);
}
