//! Bringing a board from "port open" to "programmer running": Sahara command mode for the chip
//! identity first (when the board allows it), the programmer check against that identity
//! BEFORE anything is uploaded, then the upload itself — or nothing, when a Firehose
//! programmer already runs.

use oasis_package::programmer::{CheckOutcome, ProgrammerIdentity};
use oasis_proto::sahara::{HostGoal, Identity, Outcome};
use oasis_transport::Transport;

use crate::error::EngineError;
use crate::event::{ChipIdentity, Phase};
use crate::options::Timeouts;
use crate::progress::Emitter;
use crate::sahara::{self, RunEnd, SaharaTimeouts, Session};

/// What the flash says when the boot ROM ignored Sahara command mode.
pub(crate) const IDENTITY_NOT_AVAILABLE: &str = "identity not available: the boot ROM did not answer Sahara command mode, so the upload went on without it and the programmer could not be checked against the board's chip and key";

/// Largest programmer file Oasis uploads (real ones are 0.3–3 MiB).
pub(crate) const MAX_PROGRAMMER: u64 = 64 * 1024 * 1024;

/// The programmer to upload.
#[derive(Debug, Clone)]
pub(crate) struct ProgrammerImage {
    /// File it came from (for messages).
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// What the bytes say about which boards it is for, when they could be parsed.
    pub identity: Option<ProgrammerIdentity>,
}

/// What bring-up achieved.
#[derive(Debug)]
pub(crate) struct BroughtUp {
    /// Bytes already received from the programmer (its first log lines, if glued).
    pub pending: Vec<u8>,
    /// True when the programmer was already running (Sahara skipped).
    pub already_running: bool,
    /// The identity the boot ROM told in command mode, when it did.
    pub identity: Option<ChipIdentity>,
}

fn timeouts(t: &Timeouts) -> SaharaTimeouts {
    SaharaTimeouts {
        first: t.sahara_first,
        packet: t.sahara_packet,
    }
}

/// Run the Identify (when `identify`) and Upload phases.
pub(crate) fn bring_up(
    link: &mut dyn Transport,
    programmer: &ProgrammerImage,
    identify: bool,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<BroughtUp, EngineError> {
    let st = timeouts(t);
    let mut pending = Vec::new();
    let mut identity = None;
    if identify {
        em.start_phase(Phase::Identify, 0);
        match identify_board(link, programmer, st, em)? {
            Identified::ProgrammerRunning(received) => {
                em.start_phase(Phase::Upload, 0);
                return Ok(already_running(em, received));
            }
            Identified::Pending(bytes, id) => {
                pending = bytes;
                identity = id;
            }
        }
    }
    em.start_phase(Phase::Upload, programmer.bytes.len() as u64);
    em.check_cancel()?;
    let mut up = upload(link, programmer, &pending, st, em)?;
    up.identity = identity;
    Ok(up)
}

enum Identified {
    /// A Firehose programmer answered instead of the boot ROM.
    ProgrammerRunning(Vec<u8>),
    /// The boot ROM waits for the programmer; these bytes were already received (and the
    /// identity it told, if it did).
    Pending(Vec<u8>, Option<ChipIdentity>),
}

/// Sahara command mode: report the identity and refuse a programmer that does not fit.
fn identify_board(
    link: &mut dyn Transport,
    programmer: &ProgrammerImage,
    st: SaharaTimeouts,
    em: &mut Emitter,
) -> Result<Identified, EngineError> {
    let mut host = sahara::host(HostGoal::IdentityOnly, None);
    match sahara::run(link, &mut host, &[], st, em, Session::Identify)? {
        RunEnd::Done(Outcome::FirehoseAlreadyRunning { received }) => {
            Ok(Identified::ProgrammerRunning(received))
        }
        RunEnd::Done(Outcome::IdentityRead { identity, trailing })
            if identity.command_mode_silent =>
        {
            em.info(IDENTITY_NOT_AVAILABLE);
            Ok(Identified::Pending(trailing, None))
        }
        RunEnd::Done(Outcome::IdentityRead { identity, trailing }) => {
            let told = report_identity(em, &identity);
            check_programmer(programmer, &identity)?;
            Ok(Identified::Pending(trailing, Some(told)))
        }
        RunEnd::Diverted(bytes) => {
            em.info("the board went straight to image transfer: its identity could not be read, so the programmer cannot be checked against it");
            Ok(Identified::Pending(bytes, None))
        }
        RunEnd::Done(Outcome::Uploaded { .. }) => Err(EngineError::Internal(
            "identity session uploaded an image".into(),
        )),
    }
}

/// Sahara image transfer of the programmer.
fn upload(
    link: &mut dyn Transport,
    programmer: &ProgrammerImage,
    pending: &[u8],
    st: SaharaTimeouts,
    em: &mut Emitter,
) -> Result<BroughtUp, EngineError> {
    let mut host = sahara::host(HostGoal::Upload, Some(programmer.bytes.clone()));
    match sahara::run(link, &mut host, pending, st, em, Session::Upload)? {
        RunEnd::Done(Outcome::FirehoseAlreadyRunning { received }) => {
            Ok(already_running(em, received))
        }
        RunEnd::Done(Outcome::Uploaded {
            image_id,
            bytes_served,
            pending_accepted,
            trailing,
            ..
        }) => {
            let quirk = if pending_accepted {
                " (the board answered PENDING, accepted for this image id)"
            } else {
                ""
            };
            em.info(format!(
                "programmer {} accepted as image {image_id} ({bytes_served} bytes served){quirk}",
                programmer.name
            ));
            Ok(BroughtUp {
                pending: trailing,
                already_running: false,
                identity: None,
            })
        }
        RunEnd::Done(Outcome::IdentityRead { .. }) | RunEnd::Diverted(_) => Err(
            EngineError::Internal("upload session ended without an upload".into()),
        ),
    }
}

fn already_running(em: &mut Emitter, received: Vec<u8>) -> BroughtUp {
    em.info("a Firehose programmer is already running on the board: Sahara skipped, the programmer is not uploaded again");
    BroughtUp {
        pending: received,
        already_running: true,
        identity: None,
    }
}

fn report_identity(em: &mut Emitter, id: &Identity) -> ChipIdentity {
    let told = sahara::chip_identity(id);
    em.chip_identity(told.clone());
    if let Some(note) = sahara::refusals(id) {
        em.info(note);
    }
    told
}

/// Refuse a programmer the board will reject (wrong root, wrong chip, not Firehose), using the
/// identity the board reported. Checks that cannot be decided are not refusals.
pub(crate) fn check_programmer(p: &ProgrammerImage, id: &Identity) -> Result<(), EngineError> {
    let Some(pid) = &p.identity else {
        return Ok(());
    };
    if id.hw_id.is_none() && id.pk_hash.is_none() {
        return Ok(());
    }
    let pk = id.pk_hash.as_deref().unwrap_or_default();
    let verdict = pid.fits(id.hw_id.unwrap_or(0), pk);
    let failures: Vec<String> = verdict
        .checks
        .iter()
        .filter(|c| c.outcome == CheckOutcome::Fail)
        .map(|c| c.reason.clone())
        .collect();
    if failures.is_empty() {
        return Ok(());
    }
    Err(EngineError::Refused {
        reason: format!(
            "the programmer {} does not fit this board: {}",
            p.name,
            failures.join("; ")
        ),
        help: "use the programmer from the vendor package made for this module (or name one with --programmer); nothing was written".to_owned(),
    })
}
