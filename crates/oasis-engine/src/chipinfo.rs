//! `chipinfo`: Sahara command mode only — serial, HW ID, PK hash — then SWITCH_MODE back to
//! image transfer, so the board waits for a programmer exactly as before (ready for a flash).

use oasis_proto::sahara::{HostGoal, Outcome};
use oasis_transport::Transport;

use crate::error::EngineError;
use crate::event::{ChipIdentity, ErrorReport, Phase};
use crate::options::Timeouts;
use crate::port;
use crate::progress::Emitter;
use crate::sahara::{self, RunEnd, SaharaTimeouts, Session};

/// Read the chip identity of the board on `port` found on `bus` (any port form; a
/// `virtual[:PROFILE]` name on a bus of virtual boards).
pub fn read_chip_identity(
    bus: &oasis_transport::BusHandle,
    port_name: &str,
) -> Result<ChipIdentity, ErrorReport> {
    let t = Timeouts::default();
    let mut em = Emitter::quiet();
    let opened = port::open(bus, port_name, "eg25", &t, &mut em)
        .map_err(|e| e.into_report(Some(Phase::Connect), None))?;
    let mut link = opened.link;
    let result = read_chip_identity_on(&mut *link, &t);
    drop(link);
    drop(opened.claim);
    result
}

/// Read the chip identity over an open link.
pub(crate) fn read_chip_identity_on(
    link: &mut dyn Transport,
    t: &Timeouts,
) -> Result<ChipIdentity, ErrorReport> {
    identify(link, t).map_err(|e| e.into_report(Some(Phase::Identify), None))
}

fn identify(link: &mut dyn Transport, t: &Timeouts) -> Result<ChipIdentity, EngineError> {
    let st = SaharaTimeouts {
        first: t.sahara_first,
        packet: t.sahara_packet,
    };
    let mut em = Emitter::quiet();
    let mut host = sahara::host(HostGoal::IdentityOnly, None);
    match sahara::run(link, &mut host, &[], st, &mut em, Session::Identify)? {
        RunEnd::Done(Outcome::IdentityRead { identity, .. }) => {
            if let Some(status) = identity.command_mode_refused {
                return Err(EngineError::SaharaStatus {
                    status: status.0,
                    explanation: format!(
                        "{} (the board refused Sahara command mode, so it does not tell its identity)",
                        status.explain()
                    ),
                    help: Some("the board can still be flashed; its programmer just cannot be checked in advance".to_owned()),
                });
            }
            if identity.command_mode_silent {
                return Err(EngineError::Protocol {
                    what: "identity not available: the boot ROM did not answer Sahara command mode (it was answered for image transfer instead and now waits for a programmer)".to_owned(),
                    device_log: Vec::new(),
                    help: Some("the board can still be flashed (oasis-cli flash --no-identity skips the question); its programmer just cannot be checked in advance".to_owned()),
                });
            }
            Ok(sahara::chip_identity(&identity))
        }
        RunEnd::Done(Outcome::FirehoseAlreadyRunning { .. }) => Err(EngineError::Protocol {
            what: "a Firehose programmer is already running on the board; the chip identity is only told by the boot ROM (Sahara)".to_owned(),
            device_log: Vec::new(),
            help: Some("power-cycle the board into download mode (USB_BOOT) and ask again".to_owned()),
        }),
        RunEnd::Diverted(_) => Err(EngineError::Protocol {
            what: "the board ignored the request for command mode and asked for a programmer at once: it does not tell its identity".to_owned(),
            device_log: Vec::new(),
            help: Some("the board can still be flashed; power-cycle it into download mode first".to_owned()),
        }),
        RunEnd::Done(Outcome::Uploaded { .. }) => {
            Err(EngineError::Internal("identity session uploaded an image".into()))
        }
    }
}
