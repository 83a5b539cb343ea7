//! [`RecordingTransport`]: wraps any [`Transport`] and writes a transcript (JSON lines, see
//! [`crate::transcript`]) of every byte and every failure to any `Write` — the support bundle's
//! evidence and the input of `oasis-cli replay`.
//!
//! Recording never changes what the inner transport does: a failure to write the transcript is
//! remembered ([`RecordingTransport::log_error`]) and recording stops, the link goes on.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::transcript::{Event, Record, open_line, record_line};
use crate::{LinkKind, Transport, TransportError};

/// A transport that records what passes through it.
pub struct RecordingTransport<T, W: Write> {
    inner: T,
    out: Option<W>,
    start: Instant,
    log_error: Option<std::io::Error>,
}

impl<T: Transport, W: Write> std::fmt::Debug for RecordingTransport<T, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingTransport")
            .field("inner", &self.inner.describe())
            .field("recording", &self.out.is_some())
            .finish_non_exhaustive()
    }
}

impl<T: Transport, W: Write + Send> RecordingTransport<T, W> {
    /// Start recording `inner` into `out`; writes the `open` header line at once.
    pub fn new(inner: T, out: W) -> Self {
        let mut me = Self {
            out: Some(out),
            start: Instant::now(),
            log_error: None,
            inner,
        };
        let header = open_line(&me.inner.describe(), me.inner.link_kind());
        me.emit(&header);
        me
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The first error writing the transcript, if any (recording stopped there).
    pub fn log_error(&self) -> Option<&std::io::Error> {
        self.log_error.as_ref()
    }

    /// Stop recording; returns the transport and the flushed writer (`None` if writing failed).
    pub fn into_parts(mut self) -> (T, Option<W>) {
        if let Some(Err(e)) = self.out.as_mut().map(|w| w.flush()) {
            self.log_error = Some(e);
            self.out = None;
        }
        (self.inner, self.out)
    }

    fn emit(&mut self, line: &str) {
        let Some(w) = self.out.as_mut() else {
            return;
        };
        if let Err(e) = writeln!(w, "{line}") {
            self.log_error = Some(e);
            self.out = None;
        }
    }

    fn record(&mut self, event: Event) {
        let t = self.start.elapsed().as_secs_f64();
        let line = record_line(&Record { t, event });
        self.emit(&line);
    }

    fn record_err(&mut self, e: &TransportError) {
        self.record(Event::Err {
            op: e.op.to_string(),
            kind: e.kind,
            detail: e.detail.clone(),
        });
    }
}

impl<T: Transport, W: Write + Send> Transport for RecordingTransport<T, W> {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        match self.inner.write_all(buf, timeout) {
            Ok(()) => {
                self.record(Event::Tx(buf.to_vec()));
                Ok(())
            }
            Err(e) => {
                let sent = e.written.unwrap_or(0).min(buf.len());
                if sent > 0 {
                    self.record(Event::Tx(buf.get(..sent).unwrap_or_default().to_vec()));
                }
                self.record_err(&e);
                Err(e)
            }
        }
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        match self.inner.read(buf, timeout) {
            Ok(n) => {
                self.record(Event::Rx(buf.get(..n).unwrap_or_default().to_vec()));
                Ok(n)
            }
            Err(e) => {
                self.record_err(&e);
                Err(e)
            }
        }
    }

    fn link_kind(&self) -> LinkKind {
        self.inner.link_kind()
    }

    fn sends_zlp(&self) -> bool {
        self.inner.sends_zlp()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
