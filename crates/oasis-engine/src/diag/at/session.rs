//! One AT exchange over a [`Transport`]: send a command, collect lines until a final result
//! code or the deadline, and sort them into echo, unsolicited result codes and the answer.
//! Works with echo on or off and with URCs (`RDY`, `+QIURC: …`) arriving at any time.

use std::time::{Duration, Instant};

use oasis_transport::{Transport, TransportError};
use serde::{Deserialize, Serialize};

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "detail")]
pub enum FinalResult {
    /// `OK`.
    Ok,
    /// `ERROR`.
    Error,
    /// `+CME ERROR: n` / `+CMS ERROR: n`, the text after the colon.
    CmeError(String),
    /// `NO CARRIER` and similar.
    Other(String),
    /// No final result code before the deadline.
    Timeout,
}

/// One command's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The command sent.
    pub command: String,
    /// Information lines (not echo, not URC, not the final code).
    pub lines: Vec<String>,
    /// How it ended.
    pub result: FinalResult,
    /// The final result line as received, when there was one.
    pub final_line: Option<String>,
    /// Unsolicited result codes that arrived meanwhile.
    pub urcs: Vec<String>,
    /// True when the module echoed the command.
    pub echoed: bool,
}

impl Reply {
    /// Everything received for this command, echo and URCs excluded, final line included.
    pub(crate) fn raw_lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .cloned()
            .chain(self.final_line.clone())
            .collect()
    }
}

/// Line starts that are unsolicited result codes (unless they answer the command).
const URC_PREFIXES: &[&str] = &[
    "RDY",
    "APP RDY",
    "POWERED DOWN",
    "NORMAL POWER DOWN",
    "RING",
    "+QIURC:",
    "+QIND:",
    "+QUSIM:",
    "+CPIN:",
    "+CFUN:",
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+QGPSURC:",
    "+QMTSTAT:",
    "+QMTRECV:",
    "+CMTI:",
    "+QSTK:",
    "+CTZV:",
    "+QNTP:",
    "+QPSMTIMER:",
    "+QNBIOTEVENT:",
];

/// The answer prefix a command's own reply carries (`AT+CPIN?` → `+CPIN:`).
fn answer_prefix(cmd: &str) -> Option<String> {
    let up = cmd.trim().to_ascii_uppercase();
    let name = up.strip_prefix("AT")?.split(['?', '=']).next()?;
    name.starts_with('+').then(|| format!("{name}:"))
}

fn is_urc(line: &str, answer: Option<&str>) -> bool {
    let up = line.to_ascii_uppercase();
    if answer.is_some_and(|a| up.starts_with(a)) {
        return false;
    }
    URC_PREFIXES
        .iter()
        .any(|p| up == *p || (p.ends_with(':') && up.starts_with(p)))
}

fn final_result(line: &str) -> Option<FinalResult> {
    let up = line.to_ascii_uppercase();
    match up.as_str() {
        "OK" => Some(FinalResult::Ok),
        "ERROR" => Some(FinalResult::Error),
        "NO CARRIER" | "COMMAND NOT SUPPORT" => Some(FinalResult::Other(line.to_string())),
        _ => ["+CME ERROR:", "+CMS ERROR:"]
            .iter()
            .find(|p| up.starts_with(**p))
            .map(|p| FinalResult::CmeError(line[p.len()..].trim().to_string())),
    }
}

/// Reads lines from a transport, keeping an unterminated tail between calls.
pub(crate) struct LineReader<'a> {
    t: &'a mut dyn Transport,
    pending: Vec<u8>,
    /// Every command sent so far (upper case): a line repeating one is an echo, never an
    /// answer, however late it comes.
    sent: Vec<String>,
}

/// Longest line kept; longer input is cut (bad input must not grow memory without bound).
const MAX_LINE: usize = 4096;
/// Slice of one read, so the overall deadline is honoured closely.
const READ_SLICE: Duration = Duration::from_millis(50);

impl<'a> LineReader<'a> {
    pub(crate) fn new(t: &'a mut dyn Transport) -> Self {
        Self {
            t,
            pending: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn take_line(&mut self) -> Option<String> {
        let end = self
            .pending
            .iter()
            .position(|b| *b == b'\r' || *b == b'\n')?;
        let line: Vec<u8> = self.pending.drain(..=end).take(end).collect();
        Some(String::from_utf8_lossy(&line).trim().to_string())
    }

    /// Next non-empty line, or `Ok(None)` at the deadline.
    fn next_line(&mut self, deadline: Instant) -> Result<Option<String>, TransportError> {
        loop {
            while let Some(l) = self.take_line() {
                if !l.is_empty() {
                    return Ok(Some(l));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let mut buf = [0u8; 512];
            match self.t.read(&mut buf, READ_SLICE.min(deadline - now)) {
                Ok(n) => {
                    self.pending.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                    if self.pending.len() > MAX_LINE {
                        self.pending.drain(..self.pending.len() - MAX_LINE);
                    }
                }
                Err(e) if e.is_timeout() => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Collect whatever is already waiting (boot URCs, a late answer) for up to `quiet`.
    pub(crate) fn drain(&mut self, quiet: Duration) -> Result<Vec<String>, TransportError> {
        let deadline = Instant::now() + quiet;
        let mut out = Vec::new();
        while let Some(l) = self.next_line(deadline)? {
            out.push(l);
            if out.len() > 64 {
                break;
            }
        }
        Ok(out)
    }

    /// Send `cmd` (CR-terminated) and collect its reply until a final code or `timeout`.
    pub(crate) fn command(
        &mut self,
        cmd: &str,
        timeout: Duration,
    ) -> Result<Reply, TransportError> {
        self.t.write_all(format!("{cmd}\r").as_bytes(), timeout)?;
        let deadline = Instant::now() + timeout;
        let answer = answer_prefix(cmd);
        let mut reply = Reply {
            command: cmd.to_string(),
            lines: Vec::new(),
            result: FinalResult::Timeout,
            final_line: None,
            urcs: Vec::new(),
            echoed: false,
        };
        let key = cmd.trim().to_ascii_uppercase();
        if !self.sent.contains(&key) && self.sent.len() < 256 {
            self.sent.push(key.clone());
        }
        while let Some(line) = self.next_line(deadline)? {
            let up = line.to_ascii_uppercase();
            if !reply.echoed && reply.lines.is_empty() && up == key {
                reply.echoed = true;
            } else if self.sent.contains(&up) {
                // The late echo of this or an earlier command (a module that was booting
                // answers late): never an answer.
            } else if let Some(fin) = final_result(&line) {
                reply.result = fin;
                reply.final_line = Some(line);
                break;
            } else if is_urc(&line, answer.as_deref()) {
                reply.urcs.push(line);
            } else if reply.lines.len() < 256 {
                reply.lines.push(line);
            }
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urc_rules() {
        assert!(is_urc("RDY", None));
        assert!(is_urc("+QIURC: \"pdpdeact\",1", None));
        assert!(is_urc("+CPIN: READY", Some("+CGMR:")));
        assert!(!is_urc("+CPIN: READY", Some("+CPIN:")));
        assert!(!is_urc("Quectel", None));
        assert!(!is_urc("RDYX", None));
        assert_eq!(answer_prefix("AT+CPIN?").as_deref(), Some("+CPIN:"));
        assert_eq!(
            answer_prefix("AT+QCFG=\"usbnet\"").as_deref(),
            Some("+QCFG:")
        );
        assert_eq!(answer_prefix("ATI"), None);
    }

    #[test]
    fn final_codes() {
        assert_eq!(final_result("OK"), Some(FinalResult::Ok));
        assert_eq!(
            final_result("+CME ERROR: 10"),
            Some(FinalResult::CmeError("10".into()))
        );
        assert_eq!(final_result("OKAY"), None);
    }
}
