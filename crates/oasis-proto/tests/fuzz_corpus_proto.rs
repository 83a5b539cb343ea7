//! Stable replay of the cargo-fuzz corpora for the protocol targets: every file in
//! `fuzz/corpus/<target>/` goes through the same entry point the fuzz target calls (the file
//! `fuzz/src/proto_entries.rs` is compiled into this test), so a crash found by a fuzzer and
//! saved to the corpus fails `cargo test` on stable. Seeds named `ok-*` (real packets and
//! documents cut from the fixtures) must be accepted. Also replays every truncation and a few
//! byte flips of each seed, so the corpus is exercised deeper than its files alone.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic

#[path = "../../../fuzz/src/proto_entries.rs"]
#[allow(dead_code)]
mod proto_entries;

use std::path::PathBuf;

use proto_entries::Seen;

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

/// Every corpus file, each of its prefixes (cut at up to 64 points) and 16 single-byte flips.
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
        let step = (data.len() / 64).max(1);
        for cut in (0..data.len()).step_by(step) {
            let _ = entry(&data[..cut]);
        }
        let mut flipped = data.clone();
        for k in 0..16.min(data.len()) {
            let i = (k * 7919) % data.len();
            flipped[i] ^= 0x5A;
            let _ = entry(&flipped);
        }
    }
    accepted_ok
}

#[test]
fn sahara_packet_corpus() {
    assert!(replay("sahara_packet", proto_entries::sahara_packet) >= 5);
}

#[test]
fn sahara_host_corpus() {
    replay("sahara_host", proto_entries::sahara_host);
}

#[test]
fn sahara_host_reaches_the_end_of_a_real_session() {
    // HELLO, READ_DATA x2, END_IMAGE_TX(0), DONE_RESP: the machine uploads and finishes.
    let session = corpus("sahara_packet")
        .into_iter()
        .find(|(n, _)| n.starts_with("ok-session-"))
        .expect("synthetic session seed")
        .1;
    let mut input = vec![0u8];
    input.extend_from_slice(&session);
    assert_eq!(proto_entries::sahara_host(&input), Seen::Accepted);
}

#[test]
fn firehose_xml_corpus() {
    assert!(replay("firehose_xml", proto_entries::firehose_xml) >= 20);
}

#[test]
fn firehose_stream_corpus() {
    replay("firehose_stream", proto_entries::firehose_stream);
}

#[test]
fn entries_reject_what_they_must() {
    assert_eq!(proto_entries::sahara_packet(b""), Seen::Rejected);
    assert_eq!(proto_entries::sahara_packet(&[0xFF; 64]), Seen::Rejected);
    assert_eq!(
        proto_entries::firehose_xml(b"<data><program"),
        Seen::Rejected
    );
    assert_eq!(proto_entries::sahara_host(b""), Seen::Rejected);
}
