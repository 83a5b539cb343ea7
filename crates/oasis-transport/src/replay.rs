//! [`ReplayTransport`]: plays a [`Transcript`] as the device side of a link. `read` returns the
//! recorded rx chunks in order; `write_all` checks the host's bytes against the recorded tx
//! bytes; recorded failures (timeout, disconnect) come back as the same error kinds.
//!
//! The two directions are separate streams, as on a wire: host writes may be split or glued
//! differently from the recording. The device answers in recorded order: an rx chunk recorded
//! after some tx bytes is only delivered once the host has written those bytes; until then a
//! read times out, as a real board stays silent while it waits for the host.

use std::time::Duration;

use crate::transcript::{Event, Transcript, error_of};
use crate::{LinkKind, Transport, TransportError, TransportErrorKind};

/// How host bytes are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// Fail on the first host byte that differs from the recording (offset and both values
    /// named), and on bytes beyond it.
    Strict,
    /// Accept whatever the host writes; only the amount advances the recording.
    Lenient,
}

/// The first host byte that differed from the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    /// Offset in the concatenated tx bytes of the transcript.
    pub offset: u64,
    /// The recorded byte; `None` when the host wrote past the end of the recording.
    pub expected: Option<u8>,
    /// The byte the host wrote.
    pub got: u8,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.expected {
            Some(e) => write!(
                f,
                "host byte at tx offset {} differs from the recording: expected 0x{e:02x}, got 0x{:02x}",
                self.offset, self.got
            ),
            None => write!(
                f,
                "host wrote past the end of the recording at tx offset {} (got 0x{:02x})",
                self.offset, self.got
            ),
        }
    }
}

/// A transcript played back as a device.
#[derive(Debug)]
pub struct ReplayTransport {
    t: Transcript,
    mode: ReplayMode,
    link: String,
    /// Next record of the tx stream and how far into it.
    tx_idx: usize,
    tx_off: usize,
    tx_total: u64,
    /// Index after the last tx-stream record the host has reached.
    tx_reached: usize,
    /// Next record of the rx stream and how far into it.
    rx_idx: usize,
    rx_off: usize,
    mismatch: Option<Mismatch>,
    gone: Option<TransportError>,
}

fn is_tx_stream(e: &Event) -> bool {
    match e {
        Event::Tx(_) => true,
        Event::Rx(_) => false,
        Event::Err { op, .. } => op.starts_with("write"),
    }
}

impl ReplayTransport {
    /// Play `transcript` back in `mode`.
    pub fn new(transcript: Transcript, mode: ReplayMode) -> Self {
        let link = format!(
            "replay of {}",
            transcript
                .link
                .clone()
                .unwrap_or_else(|| "a transcript".into())
        );
        Self {
            t: transcript,
            mode,
            link,
            tx_idx: 0,
            tx_off: 0,
            tx_total: 0,
            tx_reached: 0,
            rx_idx: 0,
            rx_off: 0,
            mismatch: None,
            gone: None,
        }
    }

    /// The first mismatch seen in strict mode.
    pub fn mismatch(&self) -> Option<Mismatch> {
        self.mismatch
    }

    /// Bytes of the recording not yet used: (tx the host has not written, rx not yet read).
    pub fn unconsumed(&self) -> (usize, usize) {
        let left = |stream_tx: bool, idx: usize, off: usize| -> usize {
            self.t
                .records
                .iter()
                .enumerate()
                .skip(idx)
                .filter_map(|(i, r)| match (&r.event, stream_tx) {
                    (Event::Tx(b), true) | (Event::Rx(b), false) => Some(if i == idx {
                        b.len().saturating_sub(off)
                    } else {
                        b.len()
                    }),
                    _ => None,
                })
                .sum()
        };
        (
            left(true, self.tx_idx, self.tx_off),
            left(false, self.rx_idx, self.rx_off),
        )
    }

    fn next_in_stream(&self, from: usize, tx: bool) -> Option<usize> {
        (from..self.t.records.len()).find(|&i| {
            self.t
                .records
                .get(i)
                .is_some_and(|r| is_tx_stream(&r.event) == tx)
        })
    }

    fn sticky(&self) -> Option<TransportError> {
        if let Some(m) = self.mismatch {
            return Some(
                TransportError::new(TransportErrorKind::Io, "replay", self.link.clone())
                    .with_detail(m.to_string()),
            );
        }
        self.gone.as_ref().map(|g| {
            TransportError::new(g.kind, g.op, g.link.clone())
                .with_detail(g.detail.clone().unwrap_or_default())
        })
    }

    fn timeout(&self, why: &str) -> TransportError {
        TransportError::new(TransportErrorKind::Timeout, "read", self.link.clone())
            .with_detail(why.to_string())
    }

    fn recorded_error(
        &mut self,
        op: &str,
        kind: TransportErrorKind,
        detail: Option<String>,
    ) -> TransportError {
        let e = error_of(op, kind, detail.as_deref(), &self.link);
        if kind == TransportErrorKind::Disconnected {
            self.gone = Some(error_of(op, kind, detail.as_deref(), &self.link));
        }
        e
    }

    fn fail(&mut self, m: Mismatch, written: usize) -> TransportError {
        self.mismatch = Some(m);
        TransportError::new(TransportErrorKind::Io, "write", self.link.clone())
            .with_detail(m.to_string())
            .with_written(written)
    }
}

impl Transport for ReplayTransport {
    fn write_all(&mut self, buf: &[u8], _timeout: Duration) -> Result<(), TransportError> {
        if let Some(e) = self.sticky() {
            return Err(e);
        }
        let mut done = 0;
        while done < buf.len() {
            let Some(i) = self.next_in_stream(self.tx_idx, true) else {
                if self.mode == ReplayMode::Lenient {
                    return Ok(());
                }
                let m = Mismatch {
                    offset: self.tx_total,
                    expected: None,
                    got: buf[done],
                };
                return Err(self.fail(m, done));
            };
            if i != self.tx_idx {
                self.tx_idx = i;
                self.tx_off = 0;
            }
            self.tx_reached = self.tx_reached.max(i + 1);
            let event = self.t.records.get(i).map(|r| r.event.clone());
            match event {
                Some(Event::Tx(rec)) => {
                    let want = rec.get(self.tx_off..).unwrap_or_default();
                    let n = want.len().min(buf.len() - done);
                    let got = buf.get(done..done + n).unwrap_or_default();
                    let differs = (0..n).find(|&k| want.get(k) != got.get(k));
                    if let (ReplayMode::Strict, Some(k)) = (self.mode, differs) {
                        let m = Mismatch {
                            offset: self.tx_total + k as u64,
                            expected: want.get(k).copied(),
                            got: got.get(k).copied().unwrap_or(0),
                        };
                        return Err(self.fail(m, done + k));
                    }
                    done += n;
                    self.tx_total += n as u64;
                    self.tx_off += n;
                    if self.tx_off >= rec.len() {
                        self.tx_idx = i + 1;
                        self.tx_off = 0;
                    }
                }
                Some(Event::Err { op, kind, detail }) => {
                    self.tx_idx = i + 1;
                    self.tx_off = 0;
                    return Err(self.recorded_error(&op, kind, detail).with_written(done));
                }
                _ => self.tx_idx = i + 1,
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, TransportError> {
        if let Some(e) = self.sticky() {
            return Err(e);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(i) = self.next_in_stream(self.rx_idx, false) else {
                return Err(self.timeout("the recording holds no more device output"));
            };
            // The device answers only after the host bytes recorded before its answer.
            let waiting = self
                .next_in_stream(self.tx_idx, true)
                .is_some_and(|t| t < i);
            let event = self.t.records.get(i).map(|r| r.event.clone());
            match event {
                Some(Event::Err {
                    kind: TransportErrorKind::Timeout,
                    ..
                }) if i < self.tx_reached => {
                    self.rx_idx = i + 1; // a silence the host has already moved past
                    continue;
                }
                _ if waiting => {
                    return Err(self.timeout(
                        "the device is waiting for host bytes recorded before its reply",
                    ));
                }
                Some(Event::Rx(rec)) => {
                    let have = rec.get(self.rx_off..).unwrap_or_default();
                    let n = have.len().min(buf.len());
                    buf[..n].copy_from_slice(&have[..n]);
                    self.rx_off += n;
                    if self.rx_off >= rec.len() {
                        self.rx_idx = i + 1;
                        self.rx_off = 0;
                    }
                    if n == 0 {
                        continue; // an empty recorded chunk
                    }
                    return Ok(n);
                }
                Some(Event::Err { op, kind, detail }) => {
                    self.rx_idx = i + 1;
                    return Err(self.recorded_error(&op, kind, detail));
                }
                _ => self.rx_idx = i + 1,
            }
        }
    }

    fn link_kind(&self) -> LinkKind {
        self.t.link_kind
    }

    fn describe(&self) -> String {
        self.link.clone()
    }
}
