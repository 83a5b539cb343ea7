//! Keeping bundles small: a long session's transcript is mostly the package's own bytes
//! (programmer and partition images, which the supporter has). While recording, once the
//! transcript passed `ELIDE_ABOVE`, raw host writes are kept only as their length and
//! SHA-256 (`CompactWriter`); in the bundle they become zeros of the same length (which
//! deflate to nothing), so the replay — then lenient about host bytes — still gets every
//! answer of the board in order.

use std::io::{BufRead, Write};

use sha2::{Digest, Sha256};

/// Transcripts larger than this have their raw host writes elided.
pub(crate) const ELIDE_ABOVE: u64 = 8 * 1024 * 1024;
/// Host writes of at least this many bytes count as raw data (commands are far shorter).
pub(crate) const RAW_MIN: usize = 4096;

const TX_HEX: &str = "\"dir\":\"tx\",\"hex\":\"";

/// The hex payload of a `tx` line: (start, end) byte offsets of the hex digits.
fn tx_hex(line: &str) -> Option<(usize, usize)> {
    let a = line.find(TX_HEX)? + TX_HEX.len();
    let b = a + line.get(a..)?.find('"')?;
    Some((a, b))
}

/// The compact form of a raw `tx` line: no hex, its length and SHA-256 instead.
fn compact(line: &str) -> Option<String> {
    let (a, b) = tx_hex(line)?;
    let digits = line.get(a..b)?;
    if digits.len() < 2 * RAW_MIN {
        return None;
    }
    let bytes = hex::decode(digits).ok()?;
    let rest = line.get(b + 1..)?.trim_end();
    let rest = rest.strip_suffix('}')?;
    Some(format!(
        "{}\"{rest},\"len\":{},\"elided_sha256\":\"{}\"}}",
        line.get(..a)?,
        bytes.len(),
        hex::encode(Sha256::digest(&bytes))
    ))
}

/// A transcript writer that stores raw host writes compactly once `threshold` bytes were
/// written (the recording of every CLI and app flash, for bundles written on failure).
#[derive(Debug)]
pub(crate) struct CompactWriter<W: Write> {
    inner: W,
    line: Vec<u8>,
    written: u64,
    threshold: u64,
}

impl<W: Write> CompactWriter<W> {
    /// Write to `inner`, compacting after `threshold` bytes.
    pub fn new(inner: W, threshold: u64) -> Self {
        Self {
            inner,
            line: Vec::new(),
            written: 0,
            threshold,
        }
    }

    fn emit_line(&mut self) -> std::io::Result<()> {
        let raw = std::mem::take(&mut self.line);
        let short = (self.written > self.threshold)
            .then(|| std::str::from_utf8(&raw).ok().and_then(compact))
            .flatten();
        match short {
            Some(s) => {
                self.written += s.len() as u64 + 1;
                self.inner.write_all(s.as_bytes())?;
                self.inner.write_all(b"\n")
            }
            None => {
                self.written += raw.len() as u64;
                self.inner.write_all(&raw)
            }
        }
    }
}

impl<W: Write> Write for CompactWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            self.line
                .extend_from_slice(rest.get(..=i).unwrap_or_default());
            self.emit_line()?;
            rest = rest.get(i + 1..).unwrap_or_default();
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            self.emit_line()?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for CompactWriter<W> {
    fn drop(&mut self) {
        // A recording that ends with the job: whatever is buffered still belongs to it.
        let _ = self.flush();
    }
}

/// Copy a transcript (JSON lines) into a bundle: compact lines become zeros of their length,
/// and with `elide` every raw host write does too. Returns how many records carry zeros.
pub fn copy_transcript(
    src: &mut dyn BufRead,
    dst: &mut dyn Write,
    elide: bool,
) -> std::io::Result<u64> {
    let mut elided = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if src.read_line(&mut line)? == 0 {
            return Ok(elided);
        }
        let body = line.trim_end();
        let body = match elide.then(|| compact(body)).flatten() {
            Some(c) => std::borrow::Cow::Owned(c),
            None => std::borrow::Cow::Borrowed(body),
        };
        match expanded(&body) {
            Some(zeros) => {
                elided += 1;
                writeln!(dst, "{zeros}")?;
            }
            None => writeln!(dst, "{body}")?,
        }
    }
}

/// A compact line with its hex filled with zeros of the recorded length.
fn expanded(line: &str) -> Option<String> {
    let (a, b) = tx_hex(line)?;
    if a != b || !line.contains("\"elided_sha256\"") {
        return None;
    }
    let mut v: serde_json::Value = serde_json::from_str(line).ok()?;
    let map = v.as_object_mut()?;
    let len = usize::try_from(map.remove("len")?.as_u64()?).ok()?;
    map.insert("hex".into(), serde_json::json!("00".repeat(len)));
    Some(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_transport::transcript::{Event, Transcript};

    fn sample() -> (String, String) {
        let big = hex::encode(vec![0xA5u8; RAW_MIN]);
        let text = format!(
            "{{\"t\":0.0,\"dir\":\"open\",\"link\":\"x\",\"link_kind\":\"Stream\"}}\n\
             {{\"t\":0.1,\"dir\":\"tx\",\"hex\":\"3c3f786d6c\"}}\n\
             {{\"t\":0.2,\"dir\":\"tx\",\"hex\":\"{big}\"}}\n\
             {{\"t\":0.3,\"dir\":\"rx\",\"hex\":\"{big}\"}}\n"
        );
        (text, hex::encode(Sha256::digest(vec![0xA5u8; RAW_MIN])))
    }

    fn parse(bytes: &[u8]) -> Transcript {
        Transcript::from_reader(bytes, std::path::Path::new("t")).unwrap()
    }

    #[test]
    fn raw_writes_become_zeros_with_their_hash_and_the_rest_stays() {
        let (text, sha) = sample();
        let mut out = Vec::new();
        let n = copy_transcript(&mut text.as_bytes(), &mut out, true).unwrap();
        assert_eq!(n, 1);
        let t = parse(&out);
        assert_eq!(t.records.len(), 3);
        assert_eq!(t.records[0].event, Event::Tx(b"<?xml".to_vec()));
        assert_eq!(t.records[1].event, Event::Tx(vec![0; RAW_MIN]));
        assert_eq!(
            t.records[2].event,
            Event::Rx(vec![0xA5; RAW_MIN]),
            "board bytes stay"
        );
        assert!(String::from_utf8(out).unwrap().contains(&sha));
        let mut same = Vec::new();
        assert_eq!(
            copy_transcript(&mut text.as_bytes(), &mut same, false).unwrap(),
            0
        );
        assert_eq!(String::from_utf8(same).unwrap(), text);
    }

    #[test]
    fn the_recording_keeps_only_lengths_past_its_threshold() {
        let (text, sha) = sample();
        let mut w = CompactWriter::new(Vec::new(), 10);
        // Written in odd pieces, as a BufWriter would.
        for piece in text.as_bytes().chunks(777) {
            w.write_all(piece).unwrap();
        }
        w.flush().unwrap();
        let stored = std::mem::take(&mut w.inner);
        let s = String::from_utf8(stored.clone()).unwrap();
        assert!(
            s.len() < text.len() - RAW_MIN,
            "the raw write was not compacted"
        );
        assert!(
            s.contains(&format!("\"len\":{RAW_MIN},\"elided_sha256\":\"{sha}\"")),
            "{s}"
        );
        // Into the bundle it comes back as zeros of the same length; rx bytes were kept.
        let mut out = Vec::new();
        assert_eq!(
            copy_transcript(&mut &stored[..], &mut out, false).unwrap(),
            1
        );
        let t = parse(&out);
        assert_eq!(t.records[1].event, Event::Tx(vec![0; RAW_MIN]));
        assert_eq!(t.records[2].event, Event::Rx(vec![0xA5; RAW_MIN]));
        // Below the threshold nothing changes.
        let mut w = CompactWriter::new(Vec::new(), u64::MAX);
        w.write_all(text.as_bytes()).unwrap();
        w.flush().unwrap();
        assert_eq!(
            String::from_utf8(std::mem::take(&mut w.inner)).unwrap(),
            text
        );
    }
}
