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

use proto_entries::Seen;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

use replay::corpus;

/// [`replay::replay`] with this crate's entry points.
fn replay(target: &str, entry: fn(&[u8]) -> Seen) -> usize {
    replay::replay(target, |d| entry(d) == Seen::Accepted)
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
