//! Stable replay of the cargo-fuzz corpora for the package targets: every file in
//! `fuzz/corpus/<target>/` goes through the same entry point the fuzz target calls (the file
//! `fuzz/src/package_entries.rs` is compiled into this test). Seeds named `ok-*` (the real
//! package XMLs and NAND tables, hand-built sparse images) must be accepted; the kit's
//! programmers must be accepted whole too (and the real ones of the real-world corpus, when
//! `OASIS_REALWORLD` is set). Each seed is also replayed truncated and with byte flips.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic

#[path = "../../../fuzz/src/package_entries.rs"]
#[allow(dead_code)]
mod package_entries;

use std::path::PathBuf;

use package_entries::Seen;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

/// [`replay::replay`] with this crate's entry points.
fn replay(target: &str, entry: fn(&[u8]) -> Seen) -> usize {
    replay::replay(target, |d| entry(d) == Seen::Accepted)
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

/// Every kit-generated programmer (each header version, ELF32/ELF64/raw, signed and unsigned)
/// is accepted whole.
#[test]
fn kit_programmers_are_accepted_whole() {
    let all = oasis_testkit::corpus::programmers();
    for (name, spec) in &all {
        let data = spec.build().bytes;
        assert_eq!(package_entries::programmer(&data), Seen::Accepted, "{name}");
    }
    assert!(all.len() >= 8);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_real_programmers_are_accepted_whole() {
    let Some(shared) = oasis_testkit::realworld("realworld_real_programmers_are_accepted_whole")
    else {
        return;
    };
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
