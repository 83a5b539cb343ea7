//! The board side of a crash dump: the memory-debug handshake, which regions to read, reading a
//! region in bounded chunks (hashing as it goes), and the reset at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use oasis_proto::sahara::memdebug::{
    CheckedTable, DumpHost, DumpStep, Limits, MAX_CHUNK, MemDebugError, Region, check_table,
};
use oasis_transport::{Transport, TransportErrorKind};
use sha2::{Digest, Sha256};

use super::ManifestTable;
use crate::Help;
use crate::error::EngineError;
use crate::options::Timeouts;
use crate::progress::Emitter;

pub(super) fn from_memdebug(e: MemDebugError, waited: Duration) -> EngineError {
    let help = e.help().map(String::from);
    match e {
        MemDebugError::Timeout { waiting_for } => EngineError::Timeout {
            command: format!("Sahara memory debug ({waiting_for})"),
            partition: None,
            waited,
        },
        MemDebugError::TableRefused { status } => EngineError::SaharaStatus {
            status: status.0,
            explanation: format!(
                "{} (the board would not send its crash-dump region table)",
                status.explain()
            ),
            help,
        },
        other => EngineError::Protocol {
            what: other.to_string(),
            device_log: Vec::new(),
            help,
        },
    }
}

pub(super) struct Link {
    pub(super) link: Box<dyn Transport>,
    pub(super) buf: Vec<u8>,
}

impl Link {
    fn send(&mut self, bytes: &[u8], t: Duration, what: &str) -> Result<(), EngineError> {
        self.link
            .write_all(bytes, t)
            .map_err(|e| EngineError::from_transport(e, what, None, t))
    }
}

/// The table as offered, after the handshake.
pub(super) struct Offered {
    pub(super) host: DumpHost,
    pub(super) checked: CheckedTable,
    pub(super) table: ManifestTable,
    pub(super) raw_count: usize,
}

/// HELLO → HELLO_RESP(2) → MEMORY_DEBUG(_64) → table.
pub(super) fn handshake(
    link: &mut Link,
    t: &Timeouts,
    limits: &Limits,
) -> Result<Offered, EngineError> {
    let mut host = DumpHost::new();
    let mut first = true;
    loop {
        let wait = if first {
            t.sahara_first
        } else {
            t.sahara_packet
        };
        let steps = match link.link.read(&mut link.buf, wait) {
            Ok(n) => {
                first = false;
                let data = link.buf.get(..n).unwrap_or_default().to_vec();
                host.feed(&data).map_err(|e| from_memdebug(e, wait))?
            }
            Err(e) if e.kind == TransportErrorKind::Timeout => {
                host.on_silence().map_err(|e| from_memdebug(e, wait))?
            }
            Err(e) => return Err(e.into()),
        };
        for step in steps {
            match step {
                DumpStep::Send(b) => link.send(&b, t.sahara_packet, "Sahara HELLO_RESP")?,
                DumpStep::Table {
                    width,
                    address,
                    length,
                    regions,
                } => {
                    let checked = check_table(&regions, width, limits);
                    return Ok(Offered {
                        host,
                        checked,
                        table: ManifestTable {
                            width: width.bits(),
                            address: format!("0x{address:x}"),
                            length,
                            entries: regions.len(),
                        },
                        raw_count: regions.len(),
                    });
                }
                other => {
                    return Err(EngineError::Protocol {
                        what: format!("the board sent {other:?} before its region table"),
                        device_log: Vec::new(),
                        help: None,
                    });
                }
            }
        }
    }
}

pub(super) fn matches(r: &Region, want: &str) -> bool {
    let w = want.trim().to_ascii_lowercase();
    let stem = |s: &str| {
        s.rsplit_once('.')
            .map_or(s.to_owned(), |(a, _)| a.to_owned())
    };
    [
        r.name.to_ascii_lowercase(),
        r.file_name.to_ascii_lowercase(),
        r.description.to_ascii_lowercase(),
        stem(&r.name.to_ascii_lowercase()),
        stem(&r.file_name.to_ascii_lowercase()),
    ]
    .contains(&w)
}

/// The regions to read: all, or those named in the request.
pub(super) fn select(
    checked: &CheckedTable,
    wanted: &[String],
) -> Result<Vec<Region>, EngineError> {
    if wanted.is_empty() {
        return Ok(checked.regions.clone());
    }
    let unknown: Vec<&String> = wanted
        .iter()
        .filter(|w| !checked.regions.iter().any(|r| matches(r, w)))
        .collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = checked.regions.iter().map(|r| r.name.as_str()).collect();
        return Err(EngineError::BadInput {
            what: format!(
                "the board's dump has no region {}",
                unknown
                    .iter()
                    .map(|u| format!("{u:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            help: Some(format!(
                "its regions are: {} (the board keeps its dump until it is reset)",
                names.join(", ")
            )),
        });
    }
    Ok(checked
        .regions
        .iter()
        .filter(|r| wanted.iter().any(|w| matches(r, w)))
        .cloned()
        .collect())
}

/// Why reading a region stopped.
pub(super) enum Stop {
    /// The board refused a chunk; it still takes reads.
    Refused(String),
    /// The link (or the protocol) failed: nothing more can be read.
    Link(EngineError),
    /// The dump folder could not be written.
    Disk(EngineError),
    /// The user cancelled.
    Cancelled,
}

/// Read one region into `<out>/<file>.part`, renamed to `<file>` when whole. Returns the
/// SHA-256; `got` counts the bytes received either way.
pub(super) fn read_region(
    link: &mut Link,
    host: &mut DumpHost,
    r: &Region,
    out: &Path,
    t: &Timeouts,
    em: &mut Emitter,
    got: &mut u64,
) -> Result<String, Stop> {
    let part = out.join(format!("{}.part", r.file_name));
    let disk = |e: std::io::Error, p: &Path| {
        Stop::Disk(EngineError::Io {
            file: p.display().to_string(),
            source: e,
        })
    };
    let mut file = BufWriter::new(File::create(&part).map_err(|e| disk(e, &part))?);
    let mut sha = Sha256::new();
    let wait = t.sahara_packet.max(t.read_chunk);
    while *got < r.length {
        if em.check_cancel().is_err() {
            let _ = file.flush();
            return Err(Stop::Cancelled);
        }
        let addr = r.base + *got;
        let n = (r.length - *got).min(MAX_CHUNK);
        let packet = host
            .read(addr, n)
            .map_err(|e| Stop::Link(from_memdebug(e, wait)))?;
        link.send(&packet, t.sahara_packet, "MEMORY_READ")
            .map_err(Stop::Link)?;
        loop {
            let steps = match link.link.read(&mut link.buf, wait) {
                Ok(k) => {
                    let data = link.buf.get(..k).unwrap_or_default().to_vec();
                    host.feed(&data)
                        .map_err(|e| Stop::Link(from_memdebug(e, wait)))?
                }
                Err(e) => {
                    let _ = file.flush();
                    return Err(Stop::Link(EngineError::from_transport(
                        e,
                        &format!("MEMORY_READ at 0x{addr:x}"),
                        Some(&r.name),
                        wait,
                    )));
                }
            };
            let mut done = false;
            for step in steps {
                match step {
                    DumpStep::Data(d) => {
                        file.write_all(&d).map_err(|e| disk(e, &part))?;
                        sha.update(&d);
                        *got += d.len() as u64;
                        em.advance(d.len() as u64);
                    }
                    DumpStep::ChunkDone => done = true,
                    DumpStep::ReadRefused { status } => {
                        let _ = file.flush();
                        return Err(Stop::Refused(format!(
                            "the board refused to read {n} bytes at 0x{addr:x}: status {status}"
                        )));
                    }
                    DumpStep::Send(b) => link
                        .send(&b, t.sahara_packet, "Sahara reply")
                        .map_err(Stop::Link)?,
                    other => {
                        return Err(Stop::Link(EngineError::Protocol {
                            what: format!("the board sent {other:?} during a memory read"),
                            device_log: Vec::new(),
                            help: None,
                        }));
                    }
                }
            }
            if done {
                break;
            }
        }
    }
    file.flush().map_err(|e| disk(e, &part))?;
    drop(file);
    let fin = out.join(&r.file_name);
    std::fs::rename(&part, &fin).map_err(|e| disk(e, &fin))?;
    Ok(hex::encode(sha.finalize()))
}

/// Send RESET and wait (bounded) for RESET_RESP. True when the board confirmed.
pub(super) fn reset_board(link: &mut Link, host: &mut DumpHost, t: &Timeouts) -> bool {
    let packet = host.reset();
    if link.send(&packet, t.sahara_packet, "RESET").is_err() {
        return false;
    }
    let deadline = std::time::Instant::now() + t.reset;
    while std::time::Instant::now() < deadline {
        match link.link.read(&mut link.buf, t.sahara_packet) {
            Ok(n) => {
                let data = link.buf.get(..n).unwrap_or_default().to_vec();
                match host.feed(&data) {
                    Ok(steps) if steps.contains(&DumpStep::ResetDone) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            // A board that reboots at once may drop the link before its answer is read.
            Err(e) if e.kind == TransportErrorKind::Disconnected => return true,
            Err(_) => return false,
        }
    }
    false
}
