//! Tests of the Firehose driver (`firehose/`) against a scripted board.
use super::startup::function_list_complete;
use super::*;
use oasis_transport::{LinkKind, TransportError};
use std::collections::VecDeque as Queue;

/// A board that answers the n-th write with the n-th scripted reply (`None` = silence).
struct Scripted {
    replies: Queue<Option<&'static str>>,
    out: Queue<u8>,
    writes: Vec<String>,
    /// Refuse this many writes (a single-threaded programmer busy with output)...
    refuse: usize,
    /// ...which is this, there to be read once the write has timed out.
    late: Vec<u8>,
}

impl Transport for Scripted {
    fn write_all(&mut self, buf: &[u8], _: Duration) -> Result<(), TransportError> {
        if self.refuse > 0 {
            self.refuse -= 1;
            self.out.extend(self.late.drain(..));
            return Err(
                TransportError::new(TransportErrorKind::Timeout, "write", "scripted")
                    .with_written(0),
            );
        }
        self.writes.push(String::from_utf8_lossy(buf).into_owned());
        if let Some(Some(r)) = self.replies.pop_front() {
            self.out.extend(r.as_bytes());
        }
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8], _: Duration) -> Result<usize, TransportError> {
        // Byte-stream framing, a few bytes at a time.
        let n = self.out.len().min(buf.len()).min(7);
        if n == 0 {
            return Err(TransportError::new(
                TransportErrorKind::Timeout,
                "read",
                "scripted",
            ));
        }
        for (slot, b) in buf.iter_mut().zip(self.out.drain(..n)) {
            *slot = b;
        }
        Ok(n)
    }
    fn link_kind(&self) -> LinkKind {
        LinkKind::Stream
    }
    fn describe(&self) -> String {
        "scripted".into()
    }
}

fn session(replies: Vec<Option<&'static str>>) -> (Firehose, Emitter) {
    session_with(replies, "", 0)
}

/// A session whose board refuses the first `refuse` writes, then has `late` to be read.
fn session_with(
    replies: Vec<Option<&'static str>>,
    late: &str,
    refuse: usize,
) -> (Firehose, Emitter) {
    let link = Scripted {
        replies: replies.into(),
        out: Queue::new(),
        writes: Vec::new(),
        refuse,
        late: late.as_bytes().to_vec(),
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let em = Emitter::new(Box::new(|_| {}), Arc::clone(&cancel));
    (
        Firehose::new(Box::new(link), b"", Duration::from_secs(1), cancel),
        em,
    )
}

const ACK_8192: &str = "<?xml version=\"1.0\" ?><data><log value=\"Calling handler for configure\"/><response value=\"ACK\" MemoryName=\"nand\" MaxPayloadSizeToTargetInBytes=\"8192\" MaxPayloadSizeToTargetInBytesSupported=\"8192\" MaxXMLSizeInBytes=\"4096\"/></data>";

#[test]
fn configure_is_sent_again_while_the_programmer_is_silent() {
    let (mut fh, mut em) = session(vec![None, Some(ACK_8192)]);
    let n = fh
        .configure(&mut em, "nand", 2048, Duration::from_secs(5))
        .unwrap();
    assert_eq!(n.payload, 8192);
    assert_eq!(n.memory_name.as_deref(), Some("nand"));
}

#[test]
fn a_nak_carries_the_boards_log_lines() {
    let nak = "<?xml version=\"1.0\" ?><data><log value=\"start_sector unaligned\"/></data><?xml version=\"1.0\" ?><data><response value=\"NAK\"/></data>";
    let (mut fh, mut em) = session(vec![Some(nak)]);
    let e = fh
        .transact_ack(&mut em, &Command::Nop, Some("sbl"), Duration::from_secs(1))
        .unwrap_err();
    assert!(e.to_string().contains("start_sector unaligned"), "{e}");
    assert_eq!(e.device_log(), ["start_sector unaligned".to_owned()]);
    assert_eq!(e.partition(), Some("sbl"));
}

#[test]
fn silence_is_a_timeout_naming_the_command() {
    let (mut fh, mut em) = session(vec![None]);
    let e = fh
        .transact_ack(&mut em, &Command::Nop, None, Duration::from_millis(50))
        .unwrap_err();
    assert!(
        matches!(e, EngineError::Timeout { ref command, .. } if command == "<nop>"),
        "{e}"
    );
}

#[test]
fn logs_after_a_response_are_collected_until_the_link_is_quiet() {
    let reply = "<?xml version=\"1.0\" ?><data><response value=\"ACK\"/></data><?xml version=\"1.0\" ?><data><log value=\"Digest 0101010101010101010101010101010101010101010101010101010101010101\"/></data>";
    let (mut fh, mut em) = session(vec![Some(reply)]);
    let r = fh
        .transact_ack(&mut em, &Command::Nop, None, Duration::from_secs(1))
        .unwrap();
    assert!(r.logs().is_empty());
    let later = fh
        .trailing_logs(&mut em, Duration::from_millis(50), Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        oasis_proto::firehose::logs::sha256_digest(&later),
        Some([1u8; 32])
    );
    // Nothing more: the next wait ends on quiet, with no logs.
    let none = fh
        .trailing_logs(&mut em, Duration::from_millis(20), Duration::from_secs(1))
        .unwrap();
    assert!(none.is_empty());
}

fn v(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

#[test]
fn the_function_list_end_is_recognised_in_both_formats() {
    assert!(!function_list_complete(&v(&[
        "Binary build date: x",
        "Supported Functions (2):",
        "program"
    ])));
    assert!(function_list_complete(&v(&[
        "Supported Functions (1):",
        "program",
        "End of supported functions 1"
    ])));
    assert!(function_list_complete(&v(&[
        "INFO: Supported Functions: program read nop"
    ])));
    assert!(!function_list_complete(&v(&["Chip serial num: 1 (0x1)"])));
}

const LOG_LATE: &str = "<?xml version=\"1.0\" ?><data><log value=\"INFO: late words\"/></data>";
const ACK: &str = "<?xml version=\"1.0\" ?><data><response value=\"ACK\"/></data>";

#[test]
fn a_write_the_board_does_not_take_is_retried_after_reading_what_it_sent() {
    // A single-threaded programmer still sending a log when the host writes: the write times
    // out; the host reads what the board sent and writes again, once.
    let (mut fh, mut em) = session_with(vec![Some(ACK)], LOG_LATE, 1);
    let r = fh
        .transact_ack(&mut em, &Command::Nop, None, Duration::from_secs(1))
        .unwrap();
    assert!(r.is_ack());
    assert_eq!(fh.recent_logs(), ["INFO: late words".to_owned()]);
}

#[test]
fn a_command_the_programmer_did_not_announce_is_never_sent() {
    let (mut fh, mut em) = session(vec![Some(ACK)]);
    fh.set_announced(&["program".to_owned(), "configure".to_owned()]);
    let e = fh
        .transact_ack(&mut em, &Command::Nop, None, Duration::from_secs(1))
        .unwrap_err();
    assert!(matches!(e, EngineError::Refused { .. }), "{e}");
    assert!(e.to_string().contains("<nop>"), "{e}");
}
