//! Executing plan steps on a running programmer: erase, program (streamed in whole-sector
//! chunks of the negotiated payload, hashed while streaming), verify (board digest, or read-back
//! when the programmer has no `getsha256digest`), patch, set-bootable, vendor lines and reset.

use std::time::Duration;

use oasis_proto::firehose::logs::sha256_digest;
use oasis_proto::firehose::{Command, Patch, PowerAction, Region, VendorCommand};
use oasis_transport::TransportErrorKind;
use sha2::{Digest, Sha256};

use crate::Help;
use crate::error::EngineError;
use crate::firehose::Firehose;
use crate::options::Timeouts;
use crate::plan::{Step, StepOp};
use crate::progress::Emitter;
use crate::pump::{self, BufferPool, Source};

/// Largest buffer used to read data back from the board.
const READBACK_CHUNK: usize = 1024 * 1024;

/// What a program step wrote: the SHA-256 of exactly the bytes sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Index of the step in the plan.
    pub index: usize,
    /// SHA-256 of the bytes sent.
    pub sha256: [u8; 32],
}

/// How verification reads what the board holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerifyMethod {
    /// `getsha256digest` (the programmer lists it).
    Digest,
    /// `getsha256digest`, falling back to read-back if the programmer refuses it (it did not
    /// list its functions).
    DigestThenReadBack,
    /// `read` the range back and hash it here.
    ReadBack,
}

impl VerifyMethod {
    /// Choose from the programmer's supported-function list (empty = it did not say).
    pub fn choose(supported: &[String]) -> Self {
        if supported.is_empty() {
            Self::DigestThenReadBack
        } else if supported
            .iter()
            .any(|f| f.eq_ignore_ascii_case("getsha256digest"))
        {
            Self::Digest
        } else {
            Self::ReadBack
        }
    }
}

pub(crate) fn region(step: &Step) -> Region {
    Region {
        sector_size: step.sector_size,
        num_sectors: step.sectors.unwrap_or(0),
        physical_partition: step.physical_partition,
        start_sector: step.start_sector.clone().unwrap_or_else(|| "0".to_owned()),
    }
}

/// Run an erase, vendor, patch or set-bootable step.
pub(crate) fn run_simple(
    fh: &mut Firehose,
    em: &mut Emitter,
    step: &Step,
    t: &Timeouts,
) -> Result<(), EngineError> {
    let label = Some(step.label.as_str());
    let (cmd, timeout) = match &step.op {
        StepOp::Erase => {
            let whole = step.sectors.is_none();
            let cmd = Command::Erase {
                sector_size: step.sector_size,
                physical_partition: step.physical_partition,
                start_sector: step.start_sector.clone(),
                num_sectors: step.sectors,
                extra: step.extra.clone(),
            };
            (cmd, if whole { t.erase * 4 } else { t.erase })
        }
        StepOp::Vendor { tag, attrs } => {
            let v = VendorCommand::new(tag.clone(), attrs.clone()).map_err(|e| {
                EngineError::BadInput {
                    what: format!("the package's <{tag}> line cannot be sent: {e}"),
                    help: e.help().map(String::from),
                }
            })?;
            (Command::Vendor(v), t.erase)
        }
        StepOp::Patch {
            byte_offset,
            size_in_bytes,
            value,
            what,
        } => {
            let p = Patch {
                sector_size: step.sector_size,
                byte_offset: *byte_offset,
                filename: "DISK".to_owned(),
                physical_partition: step.physical_partition,
                size_in_bytes: *size_in_bytes,
                start_sector: step.start_sector.clone().unwrap_or_else(|| "0".to_owned()),
                value: value.clone(),
                what: what.clone(),
            };
            (Command::Patch(p), t.patch)
        }
        StepOp::SetBootable => (
            Command::SetBootableStorageDrive {
                value: step.physical_partition,
            },
            t.command,
        ),
        StepOp::Program(_) => {
            return Err(EngineError::Internal(
                "program step run as a simple step".into(),
            ));
        }
    };
    fh.transact_ack(em, &cmd, label, timeout).map(|_| ())
}

/// Stream one program step; returns the SHA-256 of the bytes sent (when `hash`). `pool`
/// holds the payload buffers, reused across steps.
pub(crate) fn run_program(
    fh: &mut Firehose,
    em: &mut Emitter,
    step: &Step,
    hash: bool,
    pool: &mut BufferPool,
    t: &Timeouts,
) -> Result<Option<[u8; 32]>, EngineError> {
    let StepOp::Program(data) = &step.op else {
        return Err(EngineError::Internal("not a program step".into()));
    };
    let label = Some(step.label.as_str());
    let cmd = Command::Program {
        region: region(step),
        extra: step.extra.clone(),
    };
    let reply = fh.transact(em, &cmd, label, t.program_ack)?;
    if !reply.is_ack() {
        return Err(fh.nak("<program>", label, reply.logs()));
    }
    if !reply.rawmode() {
        return Err(EngineError::Protocol {
            what: format!(
                "the board ACKed <program> for '{}' without rawmode=\"true\"",
                step.label
            ),
            device_log: fh.recent_logs(),
            help: None,
        });
    }
    let mut reader = data.reader();
    let src = Source {
        reader: &mut reader,
        total: data.total_bytes,
        label: &step.label,
        payload: fh.payload(),
        hash,
    };
    let raw_write = t.raw_write;
    // Logs a programmer sends after its rawmode ACK are read before the data goes out.
    fh.drain_pending(em)?;
    let digest = pump::stream(src, pool, em, &mut |em, chunk| {
        fh.write_raw(em, chunk, raw_write, label)
    })
    .map_err(|e| match e {
        // Cancelled after the rawmode ACK: the programmer waits for the rest of the data.
        EngineError::Cancelled => EngineError::CancelledMidTransfer {
            partition: step.label.clone(),
            writing: true,
        },
        other => other,
    })?;
    let done = fh.wait_response(em, "<program> (end of data)", label, t.program_final)?;
    if !done.is_ack() {
        return Err(fh.nak("<program>", label, done.logs()));
    }
    Ok(digest)
}

/// Check what the board holds for a program step against what was sent. Returns the method
/// that worked, so later steps skip a digest the programmer refused.
pub fn verify(
    fh: &mut Firehose,
    em: &mut Emitter,
    step: &Step,
    expected: &[u8; 32],
    method: VerifyMethod,
    t: &Timeouts,
) -> Result<VerifyMethod, EngineError> {
    if method == VerifyMethod::ReadBack {
        let got = read_back(fh, em, step, t, true)?;
        check(step, expected, &got)?;
        return Ok(VerifyMethod::ReadBack);
    }
    match board_digest(fh, em, step, t) {
        Ok(Some(got)) => {
            check(step, expected, &got)?;
            em.advance(step.bytes());
            Ok(VerifyMethod::Digest)
        }
        Ok(None) => {
            em.info(format!(
                "the board ACKed <getsha256digest> for '{}' but logged no digest Oasis can read; \
                 verifying by reading back instead",
                step.label
            ));
            let got = read_back(fh, em, step, t, true)?;
            check(step, expected, &got)?;
            Ok(VerifyMethod::ReadBack)
        }
        Err(EngineError::Nak { .. }) if method == VerifyMethod::DigestThenReadBack => {
            em.info("the programmer refused getsha256digest; verifying by reading back instead");
            let got = read_back(fh, em, step, t, true)?;
            check(step, expected, &got)?;
            Ok(VerifyMethod::ReadBack)
        }
        Err(e) => Err(e),
    }
}

fn check(step: &Step, expected: &[u8; 32], got: &[u8; 32]) -> Result<(), EngineError> {
    if expected == got {
        Ok(())
    } else {
        Err(EngineError::VerifyMismatch {
            partition: step.label.clone(),
            expected: format!("SHA-256 {}", hex::encode(expected)),
            got: format!("SHA-256 {}", hex::encode(got)),
        })
    }
}

/// The board's SHA-256 of the step's range, or `None` when it ACKed without logging a digest
/// Oasis can read.
pub(crate) fn board_digest(
    fh: &mut Firehose,
    em: &mut Emitter,
    step: &Step,
    t: &Timeouts,
) -> Result<Option<[u8; 32]>, EngineError> {
    let label = Some(step.label.as_str());
    let cmd = Command::GetSha256Digest {
        region: region(step),
    };
    let reply = fh.transact_ack(em, &cmd, label, t.digest_for(step.bytes()))?;
    if let Some(d) = sha256_digest(reply.logs()) {
        return Ok(Some(d));
    }
    // Some programmers log the digest after their ACK.
    let later = fh.trailing_logs(em, DIGEST_LOG_QUIET, DIGEST_LOG_BUDGET)?;
    Ok(sha256_digest(&later))
}

/// How long the link must stay quiet after a digest ACK before Oasis stops waiting for a
/// digest logged after it, and the longest it waits in all.
const DIGEST_LOG_QUIET: Duration = Duration::from_millis(300);
const DIGEST_LOG_BUDGET: Duration = Duration::from_secs(2);

/// Read the step's range back and hash it here (progress advances by the bytes read when
/// `advance`).
pub(crate) fn read_back(
    fh: &mut Firehose,
    em: &mut Emitter,
    step: &Step,
    t: &Timeouts,
    advance: bool,
) -> Result<[u8; 32], EngineError> {
    let label = Some(step.label.as_str());
    let cmd = fh.read_command(region(step));
    let reply = fh.transact(em, &cmd, label, t.program_ack)?;
    if !reply.rawmode() {
        return Err(fh.nak("<read>", label, reply.logs()));
    }
    let mut hasher = Sha256::new();
    let mut left = step.bytes();
    let mut buf = vec![
        0u8;
        usize::try_from(left)
            .unwrap_or(READBACK_CHUNK)
            .min(READBACK_CHUNK)
    ];
    while left > 0 {
        em.check_cancel()
            .map_err(|_| EngineError::CancelledMidTransfer {
                partition: step.label.clone(),
                writing: false,
            })?;
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        fh.read_raw(chunk, t.read_chunk, label)?;
        hasher.update(&*chunk);
        left -= n as u64;
        if advance {
            em.advance(n as u64);
        }
    }
    let done = fh.wait_response(em, "<read> (end of data)", label, t.read_chunk)?;
    if !done.is_ack() {
        return Err(fh.nak("<read>", label, done.logs()));
    }
    Ok(hasher.finalize().into())
}

/// `<power value="reset"/>` (or `reset_to_edl`); the board then leaves the link.
pub fn reset(
    fh: &mut Firehose,
    em: &mut Emitter,
    action: PowerAction,
    t: &Timeouts,
) -> Result<(), EngineError> {
    let cmd = Command::Power {
        action,
        delay_seconds: Some(DELAY_SECONDS),
    };
    match fh.transact_ack(em, &cmd, None, t.reset) {
        Ok(_) => Ok(()),
        // The command went out and the board left the link before its ACK could be read: it is
        // restarting, which is what was asked (a USB board drops off the bus at once).
        Err(EngineError::Transport { source, .. })
            if source.kind == TransportErrorKind::Disconnected && source.op != "write" =>
        {
            em.info("the board left the link right after the reset command: it is restarting");
            Ok(())
        }
        // Some programmers restart without acknowledging the reset. Everything was written and
        // verified by now, so this is not a failed flash: say what happened, and let the
        // Confirm phase (when asked) find out whether the board came back.
        Err(EngineError::Timeout { .. }) if action == PowerAction::Reset => {
            em.info(format!(
                "the board did not acknowledge the reset command within {:.0} s; everything was \
                 written and verified — if it does not restart by itself, power-cycle it",
                t.reset.as_secs_f64()
            ));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// `DelayInSeconds` sent with power commands, as qdl and QFirehose do.
pub(crate) const DELAY_SECONDS: u32 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_method_follows_supported_functions() {
        assert_eq!(VerifyMethod::choose(&[]), VerifyMethod::DigestThenReadBack);
        let with = vec!["program".to_owned(), "getsha256digest".to_owned()];
        assert_eq!(VerifyMethod::choose(&with), VerifyMethod::Digest);
        let without = vec!["program".to_owned(), "read".to_owned()];
        assert_eq!(VerifyMethod::choose(&without), VerifyMethod::ReadBack);
    }
}
