//! A programmer session shared by flash, backup and restore jobs: bring the board up (identity,
//! upload), drain the start-up log, negotiate `configure`, and read ranges back from the board.

use std::io::Write;

use oasis_proto::firehose::Region as FhRegion;
use oasis_transport::Transport;
use sha2::{Digest, Sha256};

use crate::connect::{self, ProgrammerImage};
use crate::error::EngineError;
use crate::event::{ChipIdentity, Phase};
use crate::firehose::Firehose;
use crate::options::Timeouts;
use crate::progress::Emitter;
use crate::regions::SectorReader;
use crate::steps::VerifyMethod;

/// Largest raw read asked of the link at once.
const READ_CHUNK: usize = 1024 * 1024;

/// A configured programmer and what is known about the board.
#[derive(Debug)]
pub(crate) struct Session {
    /// The Firehose driver.
    pub fh: Firehose,
    /// The identity (from Sahara command mode, else the serial the programmer logged).
    pub identity: Option<ChipIdentity>,
    /// The functions the programmer listed (empty: it did not say).
    pub supported: Vec<String>,
}

/// Run Identify (when `identify`), Upload and Configure on `link`.
/// On NAND every `<read>` of the session then carries the device's `PAGES_PER_BLOCK`
/// (`pages_per_block`, else 64: see [`nand_reads`]).
#[allow(clippy::too_many_arguments)] // the session's every fact is needed
pub fn start(
    link: Box<dyn Transport>,
    programmer: &ProgrammerImage,
    memory: &str,
    sector_size: u32,
    pages_per_block: Option<u32>,
    identify: bool,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Session, EngineError> {
    let mut s = start_with(link, programmer, memory, sector_size, identify, None, t, em)?;
    nand_reads(&mut s.fh, memory, pages_per_block, em);
    Ok(s)
}

/// [`start`], with `ZlpAwareHost` overridden when `zlp` is set (else it follows the link).
#[allow(clippy::too_many_arguments)] // start's arguments plus the ZLP override
pub(crate) fn start_with(
    mut link: Box<dyn Transport>,
    programmer: &ProgrammerImage,
    memory: &str,
    sector_size: u32,
    identify: bool,
    zlp: Option<bool>,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Session, EngineError> {
    let up = connect::bring_up(&mut *link, programmer, identify, t, em)?;
    em.start_phase(Phase::Configure, 0);
    let mut fh = Firehose::new(link, &up.pending, t.command, em.cancel_flag());
    fh.set_zlp_aware(zlp);
    let first = if up.already_running {
        t.idle_window
    } else {
        t.command.min(std::time::Duration::from_secs(1))
    };
    let startup = fh.drain_startup(em, first, t.idle_window, t.configure)?;
    if startup.supported.is_empty() {
        em.info("the programmer did not list its functions");
    } else {
        em.info(format!(
            "programmer functions: {}",
            startup.supported.join(" ")
        ));
    }
    let n = fh.configure(em, memory, sector_size, t.configure)?;
    em.info(format!(
        "configured for {}: {}-byte payload, ZlpAwareHost={}{}",
        n.memory_name.as_deref().unwrap_or(memory),
        n.payload,
        u8::from(fh.zlp_aware()),
        n.target_name
            .as_deref()
            .map(|s| format!(", target {s}"))
            .unwrap_or_default()
    ));
    let payload = usize::try_from(n.payload).unwrap_or(usize::MAX);
    fh.set_session(payload, VerifyMethod::choose(&startup.supported));
    fh.set_announced(&startup.supported);
    let identity = match (up.identity, startup.serial) {
        (Some(id), _) => Some(id),
        (None, Some(serial)) => {
            em.info(format!("the programmer reports chip serial {serial}"));
            Some(ChipIdentity {
                serial: Some(serial),
                ..ChipIdentity::default()
            })
        }
        (None, None) => None,
    };
    Ok(Session {
        fh,
        identity,
        supported: startup.supported,
    })
}

/// On NAND, make every `<read>` of the session carry the device's pages per block: the
/// package's `PAGES_PER_BLOCK`, else 64 (every Quectel NAND module seen), said as a note.
pub(crate) fn nand_reads(
    fh: &mut Firehose,
    memory: &str,
    pages_per_block: Option<u32>,
    em: &mut Emitter,
) {
    if !memory.eq_ignore_ascii_case("nand") {
        return;
    }
    let ppb = pages_per_block.unwrap_or_else(|| {
        em.info(
            "the package does not give PAGES_PER_BLOCK; reads from the board say 64 (every Quectel NAND module seen)",
        );
        64
    });
    fh.set_nand_pages_per_block(Some(ppb));
}

/// Read `sectors` sectors at `start` of `lun` into `out`, returning their SHA-256. Progress
/// advances by the bytes read.
#[allow(clippy::too_many_arguments)] // one Firehose <read>: every attribute is needed
pub(crate) fn read_range(
    fh: &mut Firehose,
    em: &mut Emitter,
    label: &str,
    lun: u32,
    start: u64,
    sectors: u64,
    sector_size: u32,
    t: &Timeouts,
    out: &mut dyn Write,
) -> Result<[u8; 32], EngineError> {
    read_range_logged(fh, em, label, lun, start, sectors, sector_size, t, out).map(|(sha, _)| sha)
}

/// [`read_range`], also returning the log lines the programmer sent with the read (before and
/// after the data: on NAND they name the bad blocks it skipped).
#[allow(clippy::too_many_arguments)] // one Firehose <read>: every attribute is needed
pub(crate) fn read_range_logged(
    fh: &mut Firehose,
    em: &mut Emitter,
    label: &str,
    lun: u32,
    start: u64,
    sectors: u64,
    sector_size: u32,
    t: &Timeouts,
    out: &mut dyn Write,
) -> Result<([u8; 32], Vec<String>), EngineError> {
    let cmd = fh.read_command(FhRegion {
        sector_size,
        num_sectors: sectors,
        physical_partition: lun,
        start_sector: start.to_string(),
    });
    let part = Some(label);
    let reply = fh.transact(em, &cmd, part, t.program_ack)?;
    if !reply.is_ack() || !reply.rawmode() {
        return Err(fh.nak("<read>", part, reply.logs()));
    }
    let mut said = reply.logs().to_vec();
    let mut hasher = Sha256::new();
    let mut left = sectors.saturating_mul(u64::from(sector_size));
    let mut buf = vec![0u8; usize::try_from(left).unwrap_or(READ_CHUNK).min(READ_CHUNK)];
    while left > 0 {
        em.check_cancel()
            .map_err(|_| EngineError::CancelledMidTransfer {
                partition: label.to_owned(),
                writing: false,
            })?;
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        fh.read_raw(chunk, t.read_chunk, part)?;
        hasher.update(&*chunk);
        out.write_all(chunk).map_err(|e| EngineError::Backup {
            what: format!("cannot write the copy of '{label}': {e}"),
            help: "choose a folder on a disk with free space".to_owned(),
        })?;
        left -= n as u64;
        em.advance(n as u64);
    }
    let done = fh.wait_response(em, "<read> (end of data)", part, t.read_chunk)?;
    said.extend_from_slice(done.logs());
    if !done.is_ack() {
        return Err(fh.nak("<read>", part, done.logs()));
    }
    Ok((hasher.finalize().into(), said))
}

/// A [`SectorReader`] over a running session (small reads: tables, headers).
pub(crate) struct BoardReader<'a> {
    /// The programmer.
    pub fh: &'a mut Firehose,
    /// Where events go.
    pub em: &'a mut Emitter,
    /// Timeouts.
    pub t: &'a Timeouts,
}

impl std::fmt::Debug for BoardReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoardReader").finish_non_exhaustive()
    }
}

impl SectorReader for BoardReader<'_> {
    fn read_sectors(
        &mut self,
        lun: u32,
        start: u64,
        sectors: u64,
        sector_size: u32,
    ) -> Result<Vec<u8>, EngineError> {
        let mut out = Vec::new();
        let label = format!("partition table (physical partition {lun}, sector {start})");
        read_range(
            self.fh,
            self.em,
            &label,
            lun,
            start,
            sectors,
            sector_size,
            self.t,
            &mut out,
        )?;
        Ok(out)
    }
}
