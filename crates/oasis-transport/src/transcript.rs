//! Transcripts of a link: every byte each way, and every failure, with timestamps. Stored as
//! JSON lines, one record per line:
//!
//! ```text
//! {"t":0.0,"dir":"open","link":"usb 1-1 (05c6:9008)","link_kind":"packet"}
//! {"t":0.0012,"dir":"rx","hex":"0100000030000000..."}
//! {"t":0.0020,"dir":"tx","hex":"0200000030000000..."}
//! {"t":1.0031,"dir":"err","op":"read","kind":"timeout","detail":"Operation timed out"}
//! ```
//!
//! `t` is seconds since the recording started. The `open` line is optional (a transcript
//! without it is taken as a stream link). Unknown fields are ignored.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Help, LinkKind, TransportError, TransportErrorKind};

/// One thing that happened on the link.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Bytes the host wrote.
    Tx(Vec<u8>),
    /// Bytes the host read.
    Rx(Vec<u8>),
    /// A failed operation (`op` = "read", "write", ...), with `written` for writes.
    Err {
        /// The operation that failed.
        op: String,
        /// Its kind.
        kind: TransportErrorKind,
        /// The OS or library text.
        detail: Option<String>,
    },
}

/// An [`Event`] and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Seconds since the start of the recording.
    pub t: f64,
    /// What happened.
    pub event: Event,
}

/// A whole recorded session.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The link it was recorded on (`describe()`), if known.
    pub link: Option<String>,
    /// Whether the link kept packet boundaries.
    pub link_kind: LinkKind,
    /// The records, in the order they happened.
    pub records: Vec<Record>,
}

impl Default for Transcript {
    fn default() -> Self {
        Self {
            link: None,
            link_kind: LinkKind::Stream,
            records: Vec::new(),
        }
    }
}

/// Why a transcript could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranscriptError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is not a transcript record.
    #[error("{path}:{line}: {detail}")]
    Parse {
        /// The file (or `<reader>`).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        detail: String,
    },
}

impl Help for TranscriptError {
    /// What a user can try next.
    fn help(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Io { .. } => None,
            Self::Parse { .. } => Some(Cow::Borrowed(
                "a transcript is JSON lines as written by RecordingTransport (support bundle `transcript.jsonl`)",
            )),
        }
    }
}

/// The on-disk form of one line.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    t: f64,
    dir: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<TransportErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link_kind: Option<LinkKind>,
}

impl Line {
    fn bare(t: f64, dir: &str) -> Self {
        Line {
            t,
            dir: dir.into(),
            hex: None,
            op: None,
            kind: None,
            detail: None,
            link: None,
            link_kind: None,
        }
    }
}

/// The JSON line for the header of a transcript.
pub(crate) fn open_line(link: &str, kind: LinkKind) -> String {
    let mut l = Line::bare(0.0, "open");
    l.link = Some(link.to_string());
    l.link_kind = Some(kind);
    serde_json::to_string(&l).unwrap_or_default()
}

/// The JSON line for one record.
pub(crate) fn record_line(r: &Record) -> String {
    let l = match &r.event {
        Event::Tx(b) => Line {
            hex: Some(hex::encode(b)),
            ..Line::bare(r.t, "tx")
        },
        Event::Rx(b) => Line {
            hex: Some(hex::encode(b)),
            ..Line::bare(r.t, "rx")
        },
        Event::Err { op, kind, detail } => Line {
            op: Some(op.clone()),
            kind: Some(*kind),
            detail: detail.clone(),
            ..Line::bare(r.t, "err")
        },
    };
    serde_json::to_string(&l).unwrap_or_default()
}

impl Transcript {
    /// Read a transcript from JSON lines; blank lines are skipped.
    pub fn from_reader(reader: impl BufRead, path: &Path) -> Result<Self, TranscriptError> {
        let mut out = Transcript::default();
        for (i, line) in reader.lines().enumerate() {
            let parse = |detail: String| TranscriptError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                detail,
            };
            let line = line.map_err(|source| TranscriptError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let l: Line = serde_json::from_str(&line).map_err(|e| parse(e.to_string()))?;
            if !l.t.is_finite() {
                return Err(parse(format!("time `{}` is not a number of seconds", l.t)));
            }
            let bytes = |l: &Line| -> Result<Vec<u8>, TranscriptError> {
                let h = l
                    .hex
                    .as_deref()
                    .ok_or_else(|| parse(format!("`{}` record has no `hex` field", l.dir)))?;
                hex::decode(h.trim()).map_err(|e| parse(format!("`hex` is not hex: {e}")))
            };
            let event = match l.dir.as_str() {
                "open" => {
                    out.link = l.link.clone();
                    out.link_kind = l.link_kind.unwrap_or(LinkKind::Stream);
                    continue;
                }
                "tx" => Event::Tx(bytes(&l)?),
                "rx" => Event::Rx(bytes(&l)?),
                "err" => Event::Err {
                    op: l.op.clone().unwrap_or_else(|| "read".into()),
                    kind: l
                        .kind
                        .ok_or_else(|| parse("`err` record has no `kind` field".into()))?,
                    detail: l.detail.clone(),
                },
                other => {
                    return Err(parse(format!(
                        "unknown `dir` {other:?}; expected tx, rx, err or open"
                    )));
                }
            };
            out.records.push(Record { t: l.t, event });
        }
        Ok(out)
    }

    /// Load a transcript file.
    pub fn load(path: &Path) -> Result<Self, TranscriptError> {
        let f = std::fs::File::open(path).map_err(|source| TranscriptError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_reader(std::io::BufReader::new(f), path)
    }

    /// Write as JSON lines.
    pub fn write_to(&self, mut w: impl Write) -> std::io::Result<()> {
        if let Some(link) = &self.link {
            writeln!(w, "{}", open_line(link, self.link_kind))?;
        }
        for r in &self.records {
            writeln!(w, "{}", record_line(r))?;
        }
        w.flush()
    }

    /// Save to a file.
    pub fn save(&self, path: &Path) -> Result<(), TranscriptError> {
        let io = |source| TranscriptError::Io {
            path: path.to_path_buf(),
            source,
        };
        let f = std::fs::File::create(path).map_err(io)?;
        self.write_to(std::io::BufWriter::new(f)).map_err(io)
    }

    /// All bytes the host wrote, concatenated.
    pub fn tx_bytes(&self) -> Vec<u8> {
        self.records
            .iter()
            .filter_map(|r| match &r.event {
                Event::Tx(b) => Some(b.as_slice()),
                _ => None,
            })
            .flatten()
            .copied()
            .collect()
    }

    /// All bytes the host read, concatenated.
    pub fn rx_bytes(&self) -> Vec<u8> {
        self.records
            .iter()
            .filter_map(|r| match &r.event {
                Event::Rx(b) => Some(b.as_slice()),
                _ => None,
            })
            .flatten()
            .copied()
            .collect()
    }
}

/// The error a recorded failure stands for, on `link`.
pub(crate) fn error_of(
    op: &str,
    kind: TransportErrorKind,
    detail: Option<&str>,
    link: &str,
) -> TransportError {
    let op: &'static str = match op {
        "write" => "write",
        "read" => "read",
        _ => "replay",
    };
    let mut e = TransportError::new(kind, op, link);
    e.detail = Some(match detail {
        Some(d) => format!("recorded: {d}"),
        None => "recorded failure".into(),
    });
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_json_lines() {
        let t = Transcript {
            link: Some("usb 1-1 (05c6:9008)".into()),
            link_kind: LinkKind::Packet,
            records: vec![
                Record {
                    t: 0.001,
                    event: Event::Rx(vec![1, 0, 0, 0, 0x30, 0, 0, 0]),
                },
                Record {
                    t: 0.002,
                    event: Event::Tx(vec![2, 0, 0, 0]),
                },
                Record {
                    t: 1.5,
                    event: Event::Err {
                        op: "read".into(),
                        kind: TransportErrorKind::Timeout,
                        detail: Some("Operation timed out".into()),
                    },
                },
            ],
        };
        let mut buf = Vec::new();
        t.write_to(&mut buf).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .contains(r#""dir":"rx","hex":"0100000030000000""#),
            "{text}"
        );
        assert!(text.contains(r#""kind":"Timeout""#), "{text}");
        let back = Transcript::from_reader(&buf[..], Path::new("mem")).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.tx_bytes(), vec![2, 0, 0, 0]);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let text =
            "{\"t\":0,\"dir\":\"rx\",\"hex\":\"00\"}\n\n{\"t\":1,\"dir\":\"tx\",\"hex\":\"zz\"}\n";
        let err = Transcript::from_reader(text.as_bytes(), Path::new("s.jsonl")).unwrap_err();
        assert!(
            err.to_string().starts_with("s.jsonl:3: `hex` is not hex"),
            "{err}"
        );
        let err = Transcript::from_reader(&b"{\"t\":0,\"dir\":\"sideways\"}"[..], Path::new("x"))
            .unwrap_err();
        assert!(err.to_string().contains("unknown `dir`"), "{err}");
        let err = Transcript::from_reader(&b"not json"[..], Path::new("x")).unwrap_err();
        assert!(matches!(err, TranscriptError::Parse { line: 1, .. }));
        assert!(err.help().is_some());
    }
}
