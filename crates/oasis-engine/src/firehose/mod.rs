//! The Firehose driver: moves proto's documents over a transport with a timeout on every read
//! and write, keeps the board's log lines (so a NAK carries the board's own words), drains the
//! programmer's start-up log without fixed sleeps, and negotiates `configure`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oasis_proto::firehose::{
    Command, Document, FirehoseError, Reply, StreamItem, XmlStream, parse_document,
};
use oasis_transport::{Transport, TransportErrorKind};

use crate::Help;
use crate::error::EngineError;
use crate::progress::Emitter;
use crate::steps::VerifyMethod;

/// How many recent board log lines are kept for error messages.
mod startup;

pub use startup::startup_serial;

const LOG_TAIL: usize = 12;
/// Largest single read from the link.
const READ_BUF: usize = 64 * 1024;
/// How long a look at what the board has already sent may wait (before every write).
const DRAIN_PEEK: Duration = Duration::from_millis(1);
/// After a write timed out: how long the link must stay quiet while reading what the board
/// sent (qdl reads for 100 ms), and the longest such read.
const RETRY_QUIET: Duration = Duration::from_millis(100);
const RETRY_BUDGET: Duration = Duration::from_secs(2);
/// Longest single read while waiting, so a cancel is noticed quickly.
const CANCEL_SLICE: Duration = Duration::from_millis(250);

/// A Firehose session over a transport.
pub struct Firehose {
    link: Box<dyn Transport>,
    stream: XmlStream,
    rbuf: Vec<u8>,
    tail: VecDeque<String>,
    write_timeout: Duration,
    payload: usize,
    verify: VerifyMethod,
    cancel: Arc<AtomicBool>,
    /// The functions the programmer announced (lower case; empty = it did not say).
    announced: Vec<String>,
    /// Attributes every `<read>` carries (NAND: `PAGES_PER_BLOCK`).
    read_extra: Vec<(String, String)>,
    /// `ZlpAwareHost` to configure: what the link can do unless the caller overrode it.
    zlp_aware: bool,
}

impl std::fmt::Debug for Firehose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Firehose")
            .field("link", &self.link.describe())
            .finish_non_exhaustive()
    }
}

enum Got {
    Doc(Document),
    Quiet,
}

impl Firehose {
    /// Start a session; `pending` are bytes already read from the link (e.g. the `<?xml` that
    /// told Sahara the programmer runs).
    pub fn new(
        link: Box<dyn Transport>,
        pending: &[u8],
        write_timeout: Duration,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        let mut stream = XmlStream::new();
        stream.push(pending);
        let zlp_aware = link.sends_zlp();
        Self {
            zlp_aware,
            link,
            stream,
            rbuf: vec![0; READ_BUF],
            tail: VecDeque::with_capacity(LOG_TAIL),
            write_timeout,
            payload: 4096,
            verify: VerifyMethod::DigestThenReadBack,
            cancel,
            announced: Vec::new(),
            read_extra: Vec::new(),
        }
    }

    /// Record the functions the programmer announced (empty = it did not say): from then on
    /// a command it did not announce is never sent.
    pub(crate) fn set_announced(&mut self, functions: &[String]) {
        self.announced = functions.iter().map(|f| f.to_ascii_lowercase()).collect();
    }

    /// Whether the programmer offers `<tag>`: it announced it, or announced no list at all.
    /// `configure` is always offered (nothing works without it).
    pub fn offers(&self, tag: &str) -> bool {
        self.announced.is_empty()
            || tag.eq_ignore_ascii_case("configure")
            || self.announced.iter().any(|f| f.eq_ignore_ascii_case(tag))
    }

    /// The functions the programmer announced (empty = it did not say).
    pub fn announced(&self) -> &[String] {
        &self.announced
    }

    /// On NAND, every `<read>` carries the device's `PAGES_PER_BLOCK` (a NAND programmer
    /// refuses a read without it: "Attribute 'PAGES_PER_BLOCK'=... must be equal to disk pages
    /// per block"); qdl and edl send it too.
    pub(crate) fn set_nand_pages_per_block(&mut self, pages_per_block: Option<u32>) {
        self.read_extra = pages_per_block
            .map(|p| vec![("PAGES_PER_BLOCK".to_owned(), p.to_string())])
            .unwrap_or_default();
    }

    /// A `<read>` of `region` with the attributes every read of this session carries.
    pub(crate) fn read_command(&self, region: oasis_proto::firehose::Region) -> Command {
        Command::Read {
            region,
            extra: self.read_extra.clone(),
        }
    }

    /// Override `ZlpAwareHost` (`--zlp on|off`); by default it follows the link.
    pub(crate) fn set_zlp_aware(&mut self, zlp: Option<bool>) {
        if let Some(z) = zlp {
            self.zlp_aware = z;
        }
    }

    /// The `ZlpAwareHost` value `configure` sends.
    pub fn zlp_aware(&self) -> bool {
        self.zlp_aware
    }

    /// Record what configure agreed and how verification will read the board.
    pub(crate) fn set_session(&mut self, payload: usize, verify: VerifyMethod) {
        self.payload = payload.max(1);
        self.verify = verify;
    }

    /// Raw payload per write.
    pub fn payload(&self) -> usize {
        self.payload
    }

    /// How verification reads the board.
    pub(crate) fn verify_method(&self) -> VerifyMethod {
        self.verify
    }

    /// Bytes received but not yet parsed (e.g. what a board sent right after its last answer).
    pub(crate) fn take_buffered(&mut self) -> Vec<u8> {
        self.stream.take_buffered()
    }

    /// The board's last log lines.
    pub(crate) fn recent_logs(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }

    /// Write raw bytes (program data) within `timeout`. When the write times out, what the
    /// board sent is read first (a programmer that NAKed in the middle of the data says why,
    /// and a single-threaded one takes nothing while it has not been read); a NAK is reported
    /// in the board's own words, otherwise the rest is written once more before failing.
    pub(crate) fn write_raw(
        &mut self,
        em: &mut Emitter,
        data: &[u8],
        timeout: Duration,
        partition: Option<&str>,
    ) -> Result<(), EngineError> {
        let err = match self.link.write_all(data, timeout) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if err.kind != TransportErrorKind::Timeout {
            return Err(EngineError::from_transport(
                err, "raw data", partition, timeout,
            ));
        }
        let written = err.written.unwrap_or(0).min(data.len());
        let (reply, logs) = self.read_after_timeout(em)?;
        if let Some(reply) = reply {
            let logs = if reply.logs().is_empty() {
                logs
            } else {
                reply.logs().to_vec()
            };
            return Err(self.nak("<program> (raw data)", partition, &logs));
        }
        em.info("a raw data write timed out; the board's pending answers were read, retrying once");
        let rest = data.get(written..).unwrap_or_default();
        self.link
            .write_all(rest, timeout)
            .map_err(|e| self.write_failed(e, "raw data", partition, timeout))
    }

    /// Read what the board sent after a write timed out, until the link is quiet: the first
    /// response (if any) and every log line.
    fn read_after_timeout(
        &mut self,
        em: &mut Emitter,
    ) -> Result<(Option<Reply>, Vec<String>), EngineError> {
        let end = Instant::now() + RETRY_BUDGET;
        let mut logs = Vec::new();
        let mut reply = None;
        while Instant::now() < end {
            match self.next_doc((Instant::now() + RETRY_QUIET).min(end))? {
                Got::Quiet => break,
                Got::Doc(doc) => {
                    if let Some(r) = self.take_doc(em, &doc, &mut logs)
                        && reply.is_none()
                    {
                        reply = Some(r);
                    }
                }
            }
        }
        Ok((reply, logs))
    }

    /// A failed write after the retry.
    fn write_failed(
        &self,
        e: oasis_transport::TransportError,
        what: &str,
        partition: Option<&str>,
        timeout: Duration,
    ) -> EngineError {
        EngineError::from_transport(e, what, partition, timeout)
    }

    /// Read whatever the board has already sent (logs after an ACK, a late answer) without
    /// waiting for more: a real programmer is single-threaded and takes no new data while it
    /// has something the host has not read.
    pub(crate) fn drain_pending(&mut self, em: &mut Emitter) -> Result<(), EngineError> {
        let mut logs = Vec::new();
        while let Got::Doc(doc) = self.next_doc(Instant::now() + DRAIN_PEEK)? {
            // A response here answers nothing pending (a late answer to an earlier command).
            let _ = self.take_doc(em, &doc, &mut logs);
        }
        Ok(())
    }

    /// Send one command document: refused when the programmer announced a list without it;
    /// what the board has sent is read first; a write that times out is retried once after
    /// reading what the board sent (as qdl does).
    pub(crate) fn send(
        &mut self,
        em: &mut Emitter,
        cmd: &Command,
        partition: Option<&str>,
    ) -> Result<(), EngineError> {
        if !self.offers(cmd.tag()) {
            return Err(not_offered(cmd.tag(), partition, &self.announced));
        }
        let bytes = cmd.encode().map_err(|e| EngineError::BadInput {
            what: format!("cannot encode <{}>: {e}", cmd.tag()),
            help: e.help().map(String::from),
        })?;
        self.drain_pending(em)?;
        let t = self.write_timeout;
        let what = format!("<{}>", cmd.tag());
        let err = match self.link.write_all(&bytes, t) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind == TransportErrorKind::Timeout => e,
            Err(e) => return Err(EngineError::from_transport(e, &what, partition, t)),
        };
        let written = err.written.unwrap_or(0).min(bytes.len());
        let (reply, _) = self.read_after_timeout(em)?;
        if reply.is_some() {
            em.info(format!(
                "writing {what} timed out while the board still had an answer to be read; \
                 read it, sending the rest again"
            ));
        } else {
            em.info(format!("writing {what} timed out; sending the rest again"));
        }
        let rest = bytes.get(written..).unwrap_or_default();
        self.link
            .write_all(rest, t)
            .map_err(|e| self.write_failed(e, &what, partition, t))
    }

    fn note_log(&mut self, em: &mut Emitter, line: &str, into: &mut Vec<String>) {
        em.device_log(line);
        if self.tail.len() == LOG_TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_owned());
        into.push(line.to_owned());
    }

    /// Next document, or `Quiet` when nothing arrived before `deadline`.
    fn next_doc(&mut self, deadline: Instant) -> Result<Got, EngineError> {
        loop {
            match self.stream.next_item() {
                Ok(Some(StreamItem::Document(d))) => match parse_document(&d) {
                    Ok(doc) => return Ok(Got::Doc(doc)),
                    Err(e) => {
                        return Err(EngineError::Protocol {
                            what: format!("unreadable Firehose document: {e}"),
                            device_log: self.recent_logs(),
                            help: None,
                        });
                    }
                },
                // A cut document: the splitter resynchronises on the next one.
                Ok(Some(StreamItem::Raw(_))) | Err(FirehoseError::Truncated { .. }) => continue,
                Ok(None) => {}
                Err(e) => {
                    return Err(EngineError::Protocol {
                        what: format!("{e}"),
                        device_log: self.recent_logs(),
                        help: e.help().map(String::from),
                    });
                }
            }
            if self.cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Got::Quiet);
            }
            // Long waits are sliced so a cancel is seen within a quarter second.
            let left = (deadline - now).min(CANCEL_SLICE);
            match self.link.read(&mut self.rbuf, left) {
                Ok(n) => {
                    let got = self.rbuf.get(..n).unwrap_or_default();
                    self.stream.push(got);
                }
                Err(e) if e.kind == TransportErrorKind::Timeout => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Wait for the `<response>` to `command`; logs are reported and kept with the reply.
    pub(crate) fn wait_response(
        &mut self,
        em: &mut Emitter,
        command: &str,
        partition: Option<&str>,
        timeout: Duration,
    ) -> Result<Reply, EngineError> {
        let deadline = Instant::now() + timeout;
        let mut logs = Vec::new();
        loop {
            match self.next_doc(deadline)? {
                Got::Quiet => return Err(EngineError::timeout(command, partition, timeout)),
                Got::Doc(doc) => {
                    if let Some(reply) = self.take_doc(em, &doc, &mut logs) {
                        return Ok(reply);
                    }
                }
            }
        }
    }

    /// Report the logs of `doc`; return its response (with `logs` and the document's own log
    /// lines), if it has one.
    fn take_doc(
        &mut self,
        em: &mut Emitter,
        doc: &Document,
        logs: &mut Vec<String>,
    ) -> Option<Reply> {
        for el in &doc.elements {
            if el.is("log")
                && let Some(v) = el.attr("value")
            {
                self.note_log(em, v, logs);
            }
        }
        let el = doc.elements.iter().find(|e| e.is("response"))?;
        Some(Reply::from_element(el, std::mem::take(logs)))
    }

    /// Logs the board sends after a response (some programmers log after their ACK): read
    /// documents until the link is quiet for `quiet`, for at most `budget`.
    pub(crate) fn trailing_logs(
        &mut self,
        em: &mut Emitter,
        quiet: Duration,
        budget: Duration,
    ) -> Result<Vec<String>, EngineError> {
        let end = Instant::now() + budget;
        let mut logs = Vec::new();
        while Instant::now() < end {
            match self.next_doc((Instant::now() + quiet).min(end))? {
                Got::Quiet => break,
                Got::Doc(doc) => {
                    // A stray response here answers nothing we asked: keep its logs only.
                    let _ = self.take_doc(em, &doc, &mut logs);
                }
            }
        }
        Ok(logs)
    }

    /// Send `cmd` and wait for its response.
    pub(crate) fn transact(
        &mut self,
        em: &mut Emitter,
        cmd: &Command,
        partition: Option<&str>,
        timeout: Duration,
    ) -> Result<Reply, EngineError> {
        self.send(em, cmd, partition)?;
        self.wait_response(em, &format!("<{}>", cmd.tag()), partition, timeout)
    }

    /// [`Firehose::transact`], turning a NAK into [`EngineError::Nak`] with the board's words.
    pub(crate) fn transact_ack(
        &mut self,
        em: &mut Emitter,
        cmd: &Command,
        partition: Option<&str>,
        timeout: Duration,
    ) -> Result<Reply, EngineError> {
        let r = self.transact(em, cmd, partition, timeout)?;
        if r.is_ack() {
            Ok(r)
        } else {
            Err(self.nak(&format!("<{}>", cmd.tag()), partition, r.logs()))
        }
    }

    /// The NAK error for a refused command, with the board's logs of this exchange (else its
    /// last ones).
    pub fn nak(&self, command: &str, partition: Option<&str>, logs: &[String]) -> EngineError {
        let device_log = if logs.is_empty() {
            self.recent_logs()
        } else {
            logs.to_vec()
        };
        EngineError::Nak {
            command: command.to_owned(),
            partition: partition.map(str::to_owned),
            device_log,
        }
    }

    /// Read exactly `out.len()` raw bytes (after a `<read>` rawmode ACK). Never reads past
    /// them, so a response glued behind the data stays for the next document read.
    pub(crate) fn read_raw(
        &mut self,
        out: &mut [u8],
        timeout: Duration,
        partition: Option<&str>,
    ) -> Result<(), EngineError> {
        // Bytes the splitter already holds come first.
        let pre = self.stream.take_buffered();
        let mut filled = pre.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..filled), pre.get(..filled)) {
            dst.copy_from_slice(src);
        }
        if let Some(rest) = pre.get(filled..).filter(|r| !r.is_empty()) {
            self.stream.push(rest);
        }
        while filled < out.len() {
            let dst = out.get_mut(filled..).unwrap_or_default();
            let n = self
                .link
                .read(dst, timeout)
                .map_err(|e| EngineError::from_transport(e, "<read> data", partition, timeout))?;
            filled += n;
        }
        Ok(())
    }
}

/// The error for a command the programmer did not announce.
fn not_offered(tag: &str, partition: Option<&str>, announced: &[String]) -> EngineError {
    let step = partition
        .map(|p| format!(" (for '{p}')"))
        .unwrap_or_default();
    EngineError::Refused {
        reason: format!(
            "the programmer does not offer <{tag}>{step}: it announced only {}",
            announced.join(" ")
        ),
        help: "use a programmer that offers it (or a package that does not need it); Oasis \
               never sends a command the programmer did not announce"
            .to_owned(),
    }
}

fn describe_payload(cmd: &Command) -> String {
    match cmd {
        Command::Configure(c) => format!("{} bytes", c.max_payload_to_target),
        other => format!("<{}>", other.tag()),
    }
}

#[cfg(test)]
mod tests;
