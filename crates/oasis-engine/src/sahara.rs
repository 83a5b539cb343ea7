//! The Sahara driver: runs proto's sans-IO host machine over a transport (bounded reads, silence
//! reported to the machine), turns its identity into the event form and its errors into
//! engine errors with the boot ROM's status explained.

use std::time::Duration;

use oasis_proto::sahara::host::{HostAction, HostGoal, Outcome, SaharaHost};
use oasis_proto::sahara::identity::Identity;
use oasis_proto::sahara::{SaharaError, SaharaPacket, exec};
use oasis_transport::{Transport, TransportErrorKind};

use crate::Help;
use crate::error::EngineError;
use crate::event::ChipIdentity;
use crate::progress::Emitter;

/// Read buffer: one Sahara packet is at most 4 KiB, command-mode data at most 64 KiB.
const READ_BUF: usize = 64 * 1024 + 16;

/// Timeouts of one Sahara session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SaharaTimeouts {
    /// First packet (HELLO).
    pub first: Duration,
    /// Each later packet, and each write.
    pub packet: Duration,
}

/// How a driven session ended.
#[derive(Debug)]
pub(crate) enum RunEnd {
    /// The host machine finished (any bytes received after its end are appended to the
    /// outcome's trailing bytes).
    Done(Outcome),
    /// Identity reading was asked for, but the board went straight to image transfer: these
    /// bytes (starting with its READ_DATA) belong to an upload session.
    Diverted(Vec<u8>),
}

/// What a Sahara session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Session {
    /// Reading the chip identity in command mode: packets are handed to the machine one at a
    /// time so that a READ_DATA (the board ignoring command mode) can be diverted to an upload
    /// session instead of failing.
    Identify,
    /// Uploading the programmer, with its progress reported.
    Upload,
}

/// Run one Sahara session of `kind`. `initial` are bytes already received.
pub fn run(
    link: &mut dyn Transport,
    host: &mut SaharaHost,
    initial: &[u8],
    t: SaharaTimeouts,
    em: &mut Emitter,
    kind: Session,
) -> Result<RunEnd, EngineError> {
    let identity_only = kind == Session::Identify;
    let report_progress = kind == Session::Upload;
    let mut rbuf = vec![0u8; READ_BUF];
    let mut pending = initial.to_vec();
    let mut raw_left = 0usize;
    let mut first = initial.is_empty();
    let mut reported = 0u64;
    loop {
        loop {
            let input = match next_input(&mut pending, &mut raw_left, identity_only) {
                Input::Feed(bytes) => bytes,
                Input::NeedMore => break,
                Input::Divert => return Ok(RunEnd::Diverted(std::mem::take(&mut pending))),
            };
            let actions = host.feed(&input).map_err(from_sahara)?;
            if let Some(end) = perform(link, actions, &mut raw_left, &mut pending, t)? {
                return Ok(end);
            }
        }
        em.check_cancel()?;
        if report_progress {
            let (served, _) = host.progress();
            em.advance(served.saturating_sub(reported));
            reported = served;
        }
        let wait = if first { t.first } else { t.packet };
        let actions = match link.read(&mut rbuf, wait) {
            Ok(n) => {
                first = false;
                pending.extend_from_slice(rbuf.get(..n).unwrap_or_default());
                continue;
            }
            Err(e) if e.kind == TransportErrorKind::Timeout => host
                .on_silence()
                .map_err(|e| waited(from_sahara(e), wait))?,
            Err(e) => return Err(e.into()),
        };
        if let Some(end) = perform(link, actions, &mut raw_left, &mut pending, t)? {
            return Ok(end);
        }
    }
}

enum Input {
    Feed(Vec<u8>),
    NeedMore,
    Divert,
}

/// The next bytes to give the machine: raw command-mode data, one whole packet (identity
/// sessions), or everything buffered.
fn next_input(pending: &mut Vec<u8>, raw_left: &mut usize, per_packet: bool) -> Input {
    if pending.is_empty() {
        return Input::NeedMore;
    }
    if *raw_left > 0 {
        let n = (*raw_left).min(pending.len());
        *raw_left -= n;
        return Input::Feed(pending.drain(..n).collect());
    }
    if !per_packet || pending.first() == Some(&b'<') {
        return Input::Feed(std::mem::take(pending));
    }
    match SaharaPacket::decode(pending) {
        Ok(Some((SaharaPacket::ReadData { .. } | SaharaPacket::ReadData64 { .. }, _))) => {
            Input::Divert
        }
        Ok(Some((_, n))) => Input::Feed(pending.drain(..n).collect()),
        Ok(None) => Input::NeedMore,
        // Let the machine report the malformed packet in its own words.
        Err(_) => Input::Feed(std::mem::take(pending)),
    }
}

/// Carry out the machine's actions; `Some` when the session ended.
fn perform(
    link: &mut dyn Transport,
    actions: Vec<HostAction>,
    raw_left: &mut usize,
    pending: &mut Vec<u8>,
    t: SaharaTimeouts,
) -> Result<Option<RunEnd>, EngineError> {
    for action in actions {
        match action {
            HostAction::Send(bytes) => link
                .write_all(&bytes, t.packet)
                .map_err(|e| EngineError::from_transport(e, "Sahara reply", None, t.packet))?,
            HostAction::ExpectRaw(n) => *raw_left = n,
            HostAction::Finished(outcome) => {
                return Ok(Some(RunEnd::Done(with_rest(
                    outcome,
                    std::mem::take(pending),
                ))));
            }
        }
    }
    Ok(None)
}

fn with_rest(outcome: Outcome, rest: Vec<u8>) -> Outcome {
    match outcome {
        Outcome::Uploaded {
            identity,
            image_id,
            bytes_served,
            pending_accepted,
            mut trailing,
        } => {
            trailing.extend_from_slice(&rest);
            Outcome::Uploaded {
                identity,
                image_id,
                bytes_served,
                pending_accepted,
                trailing,
            }
        }
        Outcome::FirehoseAlreadyRunning { mut received } => {
            received.extend_from_slice(&rest);
            Outcome::FirehoseAlreadyRunning { received }
        }
        Outcome::IdentityRead {
            identity,
            mut trailing,
        } => {
            trailing.extend_from_slice(&rest);
            Outcome::IdentityRead { identity, trailing }
        }
    }
}

/// A timeout that says how long the board was waited for.
fn waited(e: EngineError, wait: Duration) -> EngineError {
    match e {
        EngineError::Timeout {
            command, partition, ..
        } => EngineError::Timeout {
            command,
            partition,
            waited: wait,
        },
        other => other,
    }
}

/// A Sahara error as an engine error, keeping the boot ROM's status and its explanation.
pub fn from_sahara(e: SaharaError) -> EngineError {
    let help = e.help().map(String::from);
    match e {
        SaharaError::ImageRejected { status, .. } => EngineError::SaharaStatus {
            status: status.0,
            explanation: status.explain().to_owned(),
            help,
        },
        SaharaError::Timeout { waiting_for } => EngineError::Timeout {
            command: format!("Sahara ({waiting_for})"),
            partition: None,
            waited: Duration::ZERO,
        },
        other => EngineError::Protocol {
            what: other.to_string(),
            device_log: Vec::new(),
            help,
        },
    }
}

/// The identity in the event's form.
pub fn chip_identity(id: &Identity) -> ChipIdentity {
    ChipIdentity {
        serial: id.serial.map(|s| format!("{s:08x}")),
        hw_id: id.hw_id_hex(),
        chip: id
            .msm_id()
            .and_then(oasis_package::programmer::chip_name)
            .map(str::to_owned),
        pk_hash: id.pk_hash_hex(),
        sahara_version: (id.sahara_version > 0).then_some(id.sahara_version),
        sbl_version: id.sbl_version.map(|v| format!("{v:#010x}")),
    }
}

/// Plain words about what the board would not tell, for an `Info` event.
pub fn refusals(id: &Identity) -> Option<String> {
    if let Some(status) = id.command_mode_refused {
        return Some(format!(
            "the board refused Sahara command mode ({status}); its identity could not be read"
        ));
    }
    let names: Vec<&str> = id
        .refused
        .iter()
        .map(|(cmd, _)| match *cmd {
            exec::SERIAL_NUM_READ => "serial number",
            exec::MSM_HW_ID_READ | exec::READ_CHIP_ID_V3 => "HW ID",
            exec::OEM_PK_HASH_READ => "PK hash",
            exec::GET_SOFTWARE_VERSION_SBL => "SBL version",
            _ => "another query",
        })
        .collect();
    (!names.is_empty()).then(|| format!("the board did not report: {}", names.join(", ")))
}

/// A host machine for `goal`.
pub fn host(goal: HostGoal, programmer: Option<Vec<u8>>) -> SaharaHost {
    SaharaHost::new(goal, programmer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_proto::sahara::SaharaStatus;

    #[test]
    fn auth_failure_keeps_status_and_explanation() {
        let e = from_sahara(SaharaError::ImageRejected {
            image_id: 13,
            status: SaharaStatus(0x21),
        });
        let msg = e.to_string();
        assert!(
            msg.contains("0x21") && msg.contains("hash table authentication failed"),
            "{msg}"
        );
        assert!(e.help().unwrap().contains("signed"));
        assert_eq!(e.kind(), crate::event::ErrorKind::Nak);
    }

    #[test]
    fn identity_converts_with_chip_name() {
        let id = Identity {
            serial: Some(0x1234abcd),
            hw_id: Some(0x0004_80e1_0000_0000),
            pk_hash: Some(vec![0xcc, 0x31]),
            sahara_version: 2,
            ..Identity::default()
        };
        let c = chip_identity(&id);
        assert_eq!(c.serial.as_deref(), Some("1234abcd"));
        assert_eq!(c.hw_id.as_deref(), Some("000480e100000000"));
        assert_eq!(c.chip.as_deref(), Some("MDM9207"));
        assert_eq!(c.pk_hash.as_deref(), Some("cc31"));
        assert_eq!(c.sahara_version, Some(2));
    }
}
