//! RecordingTransport → Transcript → ReplayTransport: a session recorded against a scripted
//! device replays with the same bytes and the same failures; strict replay names the first
//! differing host byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::time::Duration;

use oasis_transport::recording::RecordingTransport;
use oasis_transport::replay::{Mismatch, ReplayMode, ReplayTransport};
use oasis_transport::transcript::{Event, Transcript};
use oasis_transport::{LinkKind, Transport, TransportError, TransportErrorKind};

const T: Duration = Duration::from_millis(100);

/// What the scripted device does on the next read.
enum Next {
    Send(Vec<u8>),
    Silent,
    Unplug,
}

/// A device that answers reads from a script and accepts at most `accept` more bytes.
struct Scripted {
    script: VecDeque<Next>,
    got: Vec<u8>,
    accept: usize,
}

impl Transport for Scripted {
    fn write_all(&mut self, buf: &[u8], _t: Duration) -> Result<(), TransportError> {
        let n = buf.len().min(self.accept);
        self.got.extend_from_slice(&buf[..n]);
        self.accept -= n;
        if n < buf.len() {
            return Err(
                TransportError::new(TransportErrorKind::Disconnected, "write", "scripted")
                    .with_detail("No such device (it may have been disconnected)")
                    .with_written(n),
            );
        }
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8], _t: Duration) -> Result<usize, TransportError> {
        match self.script.pop_front() {
            Some(Next::Send(b)) => {
                buf[..b.len()].copy_from_slice(&b);
                Ok(b.len())
            }
            Some(Next::Unplug) => Err(TransportError::new(
                TransportErrorKind::Disconnected,
                "read",
                "scripted",
            )),
            Some(Next::Silent) | None => {
                Err(
                    TransportError::new(TransportErrorKind::Timeout, "read", "scripted")
                        .with_detail("Operation timed out"),
                )
            }
        }
    }
    fn link_kind(&self) -> LinkKind {
        LinkKind::Packet
    }
    fn describe(&self) -> String {
        "usb 1-1 (05c6:9008)".into()
    }
}

fn le(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn hello() -> Vec<u8> {
    le(&[1, 0x30, 2, 1, 0x400, 0, 0, 0, 0, 0, 0, 0])
}
fn hello_resp() -> Vec<u8> {
    le(&[2, 0x30, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0])
}
fn read_data() -> Vec<u8> {
    le(&[3, 0x14, 0x0d, 0, 64])
}
fn image() -> Vec<u8> {
    (0..64u8).collect()
}

/// The host side of a short Sahara start; returns what it observed.
fn host_session(
    t: &mut dyn Transport,
    split_image: bool,
) -> Vec<Result<Vec<u8>, TransportErrorKind>> {
    let mut seen = Vec::new();
    let read = |t: &mut dyn Transport| {
        let mut buf = [0u8; 256];
        t.read(&mut buf, T)
            .map(|n| buf[..n].to_vec())
            .map_err(|e| e.kind)
    };
    seen.push(read(t));
    t.write_all(&hello_resp(), T).unwrap();
    seen.push(read(t));
    if split_image {
        t.write_all(&image()[..10], T).unwrap();
        t.write_all(&image()[10..], T).unwrap();
    } else {
        t.write_all(&image(), T).unwrap();
    }
    seen.push(read(t)); // the device is silent
    seen.push(read(t)); // then unplugged
    seen
}

fn record() -> (Vec<u8>, Vec<Result<Vec<u8>, TransportErrorKind>>) {
    let device = Scripted {
        script: VecDeque::from([
            Next::Send(hello()),
            Next::Send(read_data()),
            Next::Silent,
            Next::Unplug,
        ]),
        got: Vec::new(),
        accept: usize::MAX,
    };
    let mut rec = RecordingTransport::new(device, Vec::new());
    let seen = host_session(&mut rec, true);
    assert!(rec.log_error().is_none());
    let (device, out) = rec.into_parts();
    assert_eq!(
        device.got,
        [hello_resp(), image()].concat(),
        "recording does not change the traffic"
    );
    (out.unwrap(), seen)
}

#[test]
fn recorded_session_replays_identically() {
    let (jsonl, live) = record();
    let text = String::from_utf8(jsonl.clone()).unwrap();
    assert!(
        text.starts_with(
            r#"{"t":0.0,"dir":"open","link":"usb 1-1 (05c6:9008)","link_kind":"Packet"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(r#""dir":"rx","hex":"{}""#, hex::encode(hello()))),
        "{text}"
    );
    assert!(
        text.contains(r#""dir":"err","op":"read","kind":"Timeout""#),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.jsonl");
    std::fs::write(&path, &jsonl).unwrap();
    let transcript = Transcript::load(&path).unwrap();
    assert_eq!(transcript.link_kind, LinkKind::Packet);
    assert_eq!(transcript.tx_bytes(), [hello_resp(), image()].concat());
    let times: Vec<f64> = transcript.records.iter().map(|r| r.t).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "timestamps increase: {times:?}"
    );
    // save → load is lossless
    let again = dir.path().join("again.jsonl");
    transcript.save(&again).unwrap();
    assert_eq!(Transcript::load(&again).unwrap(), transcript);

    // Replay, with the image written in one piece this time (strict compares bytes, not writes).
    let mut replay = ReplayTransport::new(transcript, ReplayMode::Strict);
    assert_eq!(replay.link_kind(), LinkKind::Packet);
    let replayed = host_session(&mut replay, false);
    assert_eq!(replayed, live);
    assert_eq!(live[3], Err(TransportErrorKind::Disconnected));
    assert_eq!(replay.unconsumed(), (0, 0));
    assert_eq!(replay.mismatch(), None);
    // Gone stays gone.
    assert_eq!(
        replay.read(&mut [0u8; 8], T).unwrap_err().kind,
        TransportErrorKind::Disconnected
    );
}

fn loaded() -> Transcript {
    let (jsonl, _) = record();
    Transcript::from_reader(&jsonl[..], std::path::Path::new("mem")).unwrap()
}

#[test]
fn strict_replay_names_the_first_differing_byte() {
    let mut replay = ReplayTransport::new(loaded(), ReplayMode::Strict);
    replay.read(&mut [0u8; 64], T).unwrap();
    let mut bad = hello_resp();
    bad[8] = 3; // version 3 where 2 was recorded
    let err = replay.write_all(&bad, T).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io);
    assert_eq!(err.written, Some(8));
    let text = err.to_string();
    assert!(
        text.contains("tx offset 8") && text.contains("expected 0x02, got 0x03"),
        "{text}"
    );
    assert_eq!(
        replay.mismatch(),
        Some(Mismatch {
            offset: 8,
            expected: Some(2),
            got: 3
        })
    );
    // Every later call fails the same way.
    assert!(
        replay
            .read(&mut [0u8; 8], T)
            .unwrap_err()
            .to_string()
            .contains("tx offset 8")
    );
}

#[test]
fn strict_replay_refuses_bytes_past_the_recording() {
    let mut replay = ReplayTransport::new(loaded(), ReplayMode::Strict);
    replay
        .write_all(&[hello_resp(), image()].concat(), T)
        .unwrap();
    let err = replay.write_all(&[0xEE], T).unwrap_err();
    assert!(
        err.to_string()
            .contains("past the end of the recording at tx offset 112"),
        "{err}"
    );
}

#[test]
fn lenient_replay_accepts_different_bytes() {
    let mut replay = ReplayTransport::new(loaded(), ReplayMode::Lenient);
    assert_eq!(replay.read(&mut [0u8; 64], T).unwrap(), 48);
    replay.write_all(&[0xFFu8; 48], T).unwrap();
    let mut buf = [0u8; 64];
    let n = replay.read(&mut buf, T).unwrap();
    assert_eq!(&buf[..n], &read_data()[..]);
    assert_eq!(replay.mismatch(), None);
}

#[test]
fn device_waits_for_the_host_bytes_recorded_before_its_reply() {
    let mut replay = ReplayTransport::new(loaded(), ReplayMode::Strict);
    replay.read(&mut [0u8; 64], T).unwrap();
    // READ_DATA was recorded after HELLO_RESP: not before the host sends it.
    assert_eq!(
        replay.read(&mut [0u8; 64], T).unwrap_err().kind,
        TransportErrorKind::Timeout
    );
    replay.write_all(&hello_resp()[..20], T).unwrap();
    assert_eq!(
        replay.read(&mut [0u8; 64], T).unwrap_err().kind,
        TransportErrorKind::Timeout
    );
    replay.write_all(&hello_resp()[20..], T).unwrap();
    let mut small = [0u8; 8];
    assert_eq!(
        replay.read(&mut small, T).unwrap(),
        8,
        "a recorded chunk can be read in pieces"
    );
    assert_eq!(&small[..], &read_data()[..8]);
}

#[test]
fn a_recorded_partial_write_failure_is_reproduced() {
    let device = Scripted {
        script: VecDeque::new(),
        got: Vec::new(),
        accept: 10,
    };
    let mut rec = RecordingTransport::new(device, Vec::new());
    let err = rec.write_all(&image(), T).unwrap_err();
    assert_eq!(err.written, Some(10));
    let (_, out) = rec.into_parts();
    let t = Transcript::from_reader(&out.unwrap()[..], std::path::Path::new("mem")).unwrap();
    assert!(matches!(&t.records[0].event, Event::Tx(b) if b.len() == 10));
    assert!(
        matches!(&t.records[1].event, Event::Err { kind: TransportErrorKind::Disconnected, op, .. } if op == "write")
    );

    let mut replay = ReplayTransport::new(t, ReplayMode::Strict);
    let err = replay.write_all(&image(), T).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Disconnected);
    assert_eq!(err.written, Some(10));
}

#[test]
fn a_broken_transcript_writer_does_not_break_the_link() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let device = Scripted {
        script: VecDeque::from([Next::Send(hello())]),
        got: Vec::new(),
        accept: usize::MAX,
    };
    let mut rec = RecordingTransport::new(device, Broken);
    assert_eq!(rec.read(&mut [0u8; 64], T).unwrap(), 48);
    assert!(rec.log_error().unwrap().to_string().contains("disk full"));
}
