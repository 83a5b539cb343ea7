//! Fuzz entry points for oasis-proto (Sahara codec and host machine, Firehose XML, stream
//! splitter, log facts). Shared verbatim by the cargo-fuzz targets in `fuzz/fuzz_targets/` and
//! by the stable corpus-replay test `crates/oasis-proto/tests/fuzz_corpus_proto.rs` (which
//! includes this file with `#[path]`), so both exercise exactly the same code.
//!
//! Each entry takes arbitrary bytes, must never panic or loop without bound, and checks the
//! invariants a caller relies on (round trips, bounded consumption, errors that say something).
//! It returns whether the input was accepted, so replay tests can pin real seeds as valid.

use oasis_proto::firehose::logs::{chip_serial, sha256_digest, storage_info, supported_functions};
use oasis_proto::firehose::{Command, Reply, StreamItem, Transaction, XmlStream, parse_document};
use oasis_proto::sahara::{HostAction, HostGoal, SaharaHost, SaharaPacket};

/// Whether an entry point accepted its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Parsed (or, for machines, reached a normal end).
    Accepted,
    /// Refused with a specific error (or asked for more bytes).
    Rejected,
}

/// Upper bound on machine steps per input: a fuzz input must never make a loop run away.
const MAX_STEPS: usize = 10_000;

/// `SaharaPacket::decode`: consumption is bounded, an accepted packet re-encodes and decodes to
/// itself, and an error has a message.
pub fn sahara_packet(data: &[u8]) -> Seen {
    let mut rest = data;
    let mut seen = Seen::Rejected;
    for _ in 0..MAX_STEPS {
        match SaharaPacket::decode(rest) {
            Ok(Some((packet, used))) => {
                assert!(
                    used >= 8 && used <= rest.len(),
                    "consumed {used} of {}",
                    rest.len()
                );
                let again = packet.encode();
                match SaharaPacket::decode(&again) {
                    Ok(Some((p2, n2))) => {
                        assert_eq!(p2, packet, "re-decoded packet differs");
                        assert_eq!(n2, again.len(), "encoding not consumed whole");
                    }
                    other => panic!("{packet:?} encodes to undecodable bytes: {other:?}"),
                }
                assert!(!packet.name().is_empty());
                seen = Seen::Accepted;
                rest = &rest[used..];
            }
            Ok(None) => return seen,
            Err(e) => {
                assert!(!e.to_string().is_empty(), "error without a message");
                return seen;
            }
        }
    }
    seen
}

/// A `SaharaHost` fed the bytes as a board would send them: the first byte picks the goal and
/// the chunk size, the rest is board output. Every step returns within bounds; sends are bounded
/// by the programmer size; the machine ends (finished or error) on silence.
pub fn sahara_host(data: &[u8]) -> Seen {
    let Some((&ctl, input)) = data.split_first() else {
        return Seen::Rejected;
    };
    let goal = match ctl % 3 {
        0 => HostGoal::Upload,
        1 => HostGoal::IdentityThenUpload,
        _ => HostGoal::IdentityOnly,
    };
    let chunk = usize::from(ctl / 3).max(1) * 4;
    let programmer: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let mut host = SaharaHost::new(goal, Some(programmer));
    for piece in input.chunks(chunk) {
        match host.feed(piece) {
            Ok(actions) => {
                if check_actions(&actions) {
                    return Seen::Accepted;
                }
            }
            Err(e) => {
                assert!(host.is_over(), "an error must end the session");
                assert!(!e.to_string().is_empty());
                return Seen::Rejected;
            }
        }
        let (done, total) = host.progress();
        assert!(done <= total.max(done), "progress went backwards");
    }
    for _ in 0..4 {
        match host.on_silence() {
            Ok(actions) => {
                if check_actions(&actions) {
                    return Seen::Accepted;
                }
            }
            Err(_) => return Seen::Rejected,
        }
    }
    panic!("the host machine never gave up on a silent board");
}

/// True when the actions end the session; checks each action is sane.
fn check_actions(actions: &[HostAction]) -> bool {
    for a in actions {
        match a {
            HostAction::Send(bytes) => {
                assert!(
                    !bytes.is_empty() && bytes.len() <= 0x10_0000,
                    "send of {}",
                    bytes.len()
                );
            }
            HostAction::ExpectRaw(n) => assert!(*n <= 0x10_0000, "expects {n} raw bytes"),
            HostAction::Finished(_) => return true,
        }
    }
    false
}

/// `parse_document` on one host or board document, then every element through
/// `Command::from_element` and `Reply::from_element`: an accepted command encodes to a document
/// that parses back to the same command.
pub fn firehose_xml(data: &[u8]) -> Seen {
    let doc = match parse_document(data) {
        Ok(doc) => doc,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return Seen::Rejected;
        }
    };
    let again = parse_document(&doc.encode());
    assert_eq!(
        again.as_ref().ok(),
        Some(&doc),
        "document does not round-trip"
    );
    for el in &doc.elements {
        if el.is("response") {
            let reply = Reply::from_element(el, vec![]);
            assert_eq!(
                reply.is_ack(),
                el.attr("value")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("ACK"))
            );
            continue;
        }
        let Ok(cmd) = Command::from_element(el) else {
            continue;
        };
        let Ok(bytes) = cmd.encode() else {
            continue;
        };
        let parsed =
            parse_document(&bytes).unwrap_or_else(|e| panic!("{cmd:?} encodes badly: {e}"));
        let first = parsed
            .elements
            .first()
            .unwrap_or_else(|| panic!("{cmd:?} encodes empty"));
        let back = Command::from_element(first);
        assert_eq!(
            back.as_ref().ok(),
            Some(&cmd),
            "command does not round-trip"
        );
    }
    Seen::Accepted
}

/// Board output pushed through an `XmlStream` in pieces (first byte = piece size, second = raw
/// byte count announced up front), drained by a `Transaction`, with the log facts read from
/// every `<log>` line. Nothing is lost or invented: raw items never exceed what was announced.
pub fn firehose_stream(data: &[u8]) -> Seen {
    let (piece, raw, body) = match data {
        [a, b, rest @ ..] => (usize::from(*a).max(1), u64::from(*b), rest),
        _ => return Seen::Rejected,
    };
    let mut stream = XmlStream::new();
    stream.expect_raw(raw);
    let mut raw_seen = 0u64;
    let mut tx = Transaction::new("program");
    let mut logs: Vec<String> = Vec::new();
    let mut seen = Seen::Rejected;
    for part in body.chunks(piece) {
        stream.push(part);
        for _ in 0..MAX_STEPS {
            match stream.next_item() {
                Ok(Some(StreamItem::Raw(r))) => raw_seen += r.len() as u64,
                Ok(Some(StreamItem::Document(d))) => {
                    if let Ok(doc) = parse_document(&d) {
                        logs.extend(
                            doc.elements
                                .iter()
                                .filter_map(|e| e.attr("value").map(str::to_owned)),
                        );
                        if tx.on_document(&doc).is_some() {
                            seen = Seen::Accepted;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
    assert!(
        raw_seen <= raw,
        "stream produced {raw_seen} raw bytes of {raw} announced"
    );
    let _ = supported_functions(&logs);
    let _ = chip_serial(&logs);
    let _ = sha256_digest(&logs);
    let _ = storage_info(&logs);
    seen
}
