//! One Firehose command from send to final response, sans-IO ([`Op`]), plus the raw-data
//! chunking rules of program/read (docs/protocol.md §2, §2): whole sectors per chunk,
//! ≤ payload, the last partial sector zero-padded; a read yields exactly N×sector bytes.

use super::command::Command;
use super::error::FirehoseError;
use super::logs::{StorageInfo, sha256_digest, storage_info};
use super::response::{Reply, Transaction};
use super::stream::{StreamItem, XmlStream};
use super::xml::parse_document;

/// One raw write of a program: `data_len` bytes of the source starting at `offset`, sent as
/// `len` bytes (data followed by zero padding up to a whole sector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawChunk {
    /// Offset into the source data.
    pub offset: u64,
    /// Source bytes in this chunk.
    pub data_len: usize,
    /// Bytes on the wire (a whole number of sectors).
    pub len: usize,
}

/// Iterator over the raw writes for `data_len` bytes (see [`raw_chunks`]).
#[derive(Debug, Clone)]
pub struct RawChunks {
    data_len: u64,
    total: u64,
    step: u64,
    pos: u64,
}

impl Iterator for RawChunks {
    type Item = RawChunk;

    fn next(&mut self) -> Option<RawChunk> {
        if self.pos >= self.total {
            return None;
        }
        let len = self.step.min(self.total - self.pos);
        let data_len = self.data_len.saturating_sub(self.pos).min(len);
        let chunk = RawChunk {
            offset: self.pos,
            data_len: usize::try_from(data_len).ok()?,
            len: usize::try_from(len).ok()?,
        };
        self.pos += len;
        Some(chunk)
    }
}

/// Sectors needed for `bytes` (rounded up).
pub fn sectors_for(bytes: u64, sector_size: u32) -> u64 {
    bytes.div_ceil(u64::from(sector_size.max(1)))
}

/// Plan the raw writes of a program of `data_len` bytes: chunks of whole sectors, each at
/// most `payload` bytes (rounded down to whole sectors, at least one sector); the total is
/// `sectors_for(data_len) × sector_size`.
pub fn raw_chunks(
    data_len: u64,
    sector_size: u32,
    payload: u64,
) -> Result<RawChunks, FirehoseError> {
    if sector_size == 0 {
        return Err(FirehoseError::InvalidRequest {
            command: "program",
            why: "sector size is 0".into(),
        });
    }
    let sector = u64::from(sector_size);
    let step = (payload / sector).max(1) * sector;
    Ok(RawChunks {
        data_len,
        total: sectors_for(data_len, sector_size) * sector,
        step,
        pos: 0,
    })
}

/// Copy `data` into a buffer padded with zeros to a whole number of sectors.
pub fn pad_to_sector(data: &[u8], sector_size: u32) -> Vec<u8> {
    let sector = sector_size.max(1) as usize;
    let mut v = data.to_vec();
    v.resize(data.len().div_ceil(sector) * sector, 0);
    v
}

/// What an [`Op`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpEvent {
    /// A board log line (also kept in the final reply).
    Log(String),
    /// program: the board accepted raw mode; write exactly `bytes` raw bytes (see
    /// [`raw_chunks`]), then call [`Op::raw_sent`].
    SendRaw {
        /// Bytes to write.
        bytes: u64,
    },
    /// read: sector data, in order.
    RawData(Vec<u8>),
    /// The command finished with an ACK (all logs of the command included).
    Done(Reply),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    First,
    RawOut,
    RawIn,
    Final,
    Over,
}

/// One command in flight. Feed it the shared [`XmlStream`] with [`Op::poll`] after each read.
#[derive(Debug, Clone)]
pub struct Op {
    tag: String,
    raw_total: u64,
    raw_seen: u64,
    is_read: bool,
    phase: Phase,
    tx: Transaction,
    logs: Vec<String>,
}

impl Op {
    /// Start `cmd`: returns the op and the document to send.
    pub fn start(cmd: &Command) -> Result<(Op, Vec<u8>), FirehoseError> {
        let bytes = cmd.encode()?;
        let (raw_total, is_read) = match cmd {
            Command::Program { region, .. } => (region.byte_len(), false),
            Command::Read { region, .. } => (region.byte_len(), true),
            _ => (0, false),
        };
        if matches!(cmd, Command::Program { .. } | Command::Read { .. }) && raw_total == 0 {
            return Err(FirehoseError::InvalidRequest {
                command: if is_read { "read" } else { "program" },
                why: "num_partition_sectors and SECTOR_SIZE_IN_BYTES must be non-zero".into(),
            });
        }
        let tag = cmd.tag().to_string();
        let op = Op {
            tx: Transaction::new(tag.clone()),
            tag,
            raw_total,
            raw_seen: 0,
            is_read,
            phase: Phase::First,
            logs: Vec::new(),
        };
        Ok((op, bytes))
    }

    /// Raw bytes this command moves (0 for commands without raw data).
    pub fn raw_total(&self) -> u64 {
        self.raw_total
    }

    /// Raw bytes received so far (read).
    pub fn raw_received(&self) -> u64 {
        self.raw_seen
    }

    /// True once the op finished or failed.
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Over
    }

    /// program: every raw byte announced by [`OpEvent::SendRaw`] has been written.
    pub fn raw_sent(&mut self) -> Result<(), FirehoseError> {
        match self.phase {
            Phase::RawOut => {
                self.phase = Phase::Final;
                Ok(())
            }
            Phase::Over => Err(FirehoseError::Finished),
            _ => Err(FirehoseError::InvalidRequest {
                command: "program",
                why: "raw data sent before the board entered raw mode".into(),
            }),
        }
    }

    /// Process what the stream holds. Errors end the op: a NAK ([`FirehoseError::Nak`] with
    /// the board's logs), a rawmode mismatch, or a malformed document.
    pub fn poll(&mut self, stream: &mut XmlStream) -> Result<Vec<OpEvent>, FirehoseError> {
        if self.phase == Phase::Over {
            return Err(FirehoseError::Finished);
        }
        let mut events = Vec::new();
        match self.pump(stream, &mut events) {
            Ok(()) => Ok(events),
            Err(e) => {
                self.phase = Phase::Over;
                Err(e)
            }
        }
    }

    fn pump(
        &mut self,
        stream: &mut XmlStream,
        events: &mut Vec<OpEvent>,
    ) -> Result<(), FirehoseError> {
        while self.phase != Phase::Over {
            let Some(item) = stream.next_item()? else {
                return Ok(());
            };
            match item {
                StreamItem::Raw(raw) => {
                    self.raw_seen += raw.len() as u64;
                    events.push(OpEvent::RawData(raw));
                    if self.raw_seen >= self.raw_total {
                        self.phase = Phase::Final;
                    }
                }
                StreamItem::Document(bytes) => {
                    let doc = parse_document(&bytes)?;
                    let before = self.tx.logs().len();
                    let reply = self.tx.on_document(&doc);
                    let fresh = match &reply {
                        Some(r) => r.logs().get(before..).unwrap_or_default().to_vec(),
                        None => self.tx.logs().get(before..).unwrap_or_default().to_vec(),
                    };
                    events.extend(fresh.into_iter().map(OpEvent::Log));
                    if let Some(reply) = reply {
                        self.on_reply(reply, stream, events)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn on_reply(
        &mut self,
        reply: Reply,
        stream: &mut XmlStream,
        events: &mut Vec<OpEvent>,
    ) -> Result<(), FirehoseError> {
        self.logs.extend(reply.logs().iter().cloned());
        let reply = match reply {
            Reply::Nak { attrs, .. } => {
                return Err(FirehoseError::Nak {
                    command: self.tag.clone(),
                    logs: std::mem::take(&mut self.logs),
                    attrs,
                });
            }
            ack => ack,
        };
        let wants_raw = self.raw_total > 0 && self.phase == Phase::First;
        if reply.rawmode() != wants_raw {
            return Err(FirehoseError::RawModeMismatch {
                command: self.tag.clone(),
                expected: wants_raw,
                got: reply.rawmode(),
            });
        }
        if wants_raw && self.is_read {
            stream.expect_raw(self.raw_total);
            self.phase = Phase::RawIn;
        } else if wants_raw {
            events.push(OpEvent::SendRaw {
                bytes: self.raw_total,
            });
            self.phase = Phase::RawOut;
        } else if self.phase == Phase::RawIn {
            return Err(FirehoseError::RawLength {
                command: self.tag.clone(),
                expected: self.raw_total,
                got: self.raw_seen,
            });
        } else {
            let mut done = reply;
            let all = std::mem::take(&mut self.logs);
            if let Reply::Ack { logs, .. } = &mut done {
                *logs = all;
            }
            self.phase = Phase::Over;
            events.push(OpEvent::Done(done));
        }
        Ok(())
    }
}

/// The digest a `<getsha256digest>` ACK carried in its logs.
pub fn digest_from(reply: &Reply) -> Result<[u8; 32], FirehoseError> {
    sha256_digest(reply.logs()).ok_or(FirehoseError::DigestMissing {
        count: reply.logs().len(),
    })
}

/// The storage info a `<getstorageinfo>` ACK carried in its logs (`Ok(None)`: older
/// programmers log free text only; the logs are still in the reply).
pub fn storage_info_from(reply: &Reply) -> Result<Option<StorageInfo>, FirehoseError> {
    storage_info(reply.logs())
}
