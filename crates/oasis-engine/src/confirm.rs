//! The Confirm phase: after the reset, follow the board back to normal mode, ask its AT port
//! which firmware runs (diag's AT probe), and compare with the package's revision.

use std::time::{Duration, Instant};

use oasis_transport::enumerate::snapshot;
use oasis_transport::{PortSpec, Transport};
use oasis_vdev::{AfterReset, VirtualBoard};

use crate::diag::at::{AtProbe, ProbeConfig, probe};
use crate::diag::usb_table::{Role, device_roles};
use crate::error::EngineError;
use crate::options::FlashRequest;
use crate::pkgmap::Prepared;
use crate::progress::Emitter;
use crate::usbswitch::normal_mode_modules;

/// How long a module may take to boot and answer AT after a reset (15–30 s is typical).
pub const BOOT_WAIT: Duration = Duration::from_secs(60);
const RETRY: Duration = Duration::from_millis(500);

/// Wait for the board's AT port and return the revision it runs, failing when it is not the
/// package's.
pub fn confirm(
    req: &FlashRequest,
    prep: &Prepared,
    board: Option<&VirtualBoard>,
    em: &mut Emitter,
) -> Result<String, EngineError> {
    let deadline = Instant::now() + BOOT_WAIT.max(req.options.timeouts.edl_switch);
    let probe = match board {
        Some(b) => probe_virtual(b)?,
        None => probe_real(req.options.at_port.as_deref(), deadline, em)?,
    };
    let running = probe
        .full_revision
        .clone()
        .or_else(|| probe.revision.clone())
        .ok_or_else(|| EngineError::Protocol {
            what: format!(
                "the AT port {} answered but reported no firmware revision",
                probe.port
            ),
            device_log: Vec::new(),
            help: None,
        })?;
    em.info(format!("the board runs {running}"));
    match (&prep.revision, &prep.version) {
        (Some(rev), version) => {
            let rev_ok = running
                .to_ascii_uppercase()
                .contains(&rev.to_ascii_uppercase());
            let ver_ok = version.as_deref().is_none_or(|v| running.contains(v));
            if rev_ok && ver_ok {
                Ok(running)
            } else {
                let want = match version {
                    Some(v) => format!("{rev}_{v}"),
                    None => rev.clone(),
                };
                Err(EngineError::VerifyMismatch {
                    partition: "running firmware".to_owned(),
                    expected: format!("revision {want}"),
                    got: format!("revision {running} after the reset"),
                })
            }
        }
        (None, _) => {
            em.info(
                "the package name states no revision: the running firmware could not be compared",
            );
            Ok(running)
        }
    }
}

fn probe_virtual(board: &VirtualBoard) -> Result<AtProbe, EngineError> {
    match board.after_reset() {
        Ok(AfterReset::Modem(mut link)) => Ok(probe_answering(&mut link, "virtual AT port")?),
        Ok(AfterReset::Edl(_)) => Err(back_in_edl()),
        Ok(AfterReset::Gone) | Err(_) => Err(EngineError::timeout(
            "the board's AT port after the reset",
            None,
            BOOT_WAIT,
        )),
    }
}

fn back_in_edl() -> EngineError {
    EngineError::Protocol {
        what: "the board came back in download mode (05C6:9008): the new firmware did not start"
            .to_owned(),
        device_log: Vec::new(),
        help: Some(
            "flash the package again; if it repeats, the package does not fit this module"
                .to_owned(),
        ),
    }
}

fn probe_answering(t: &mut dyn Transport, name: &str) -> Result<AtProbe, EngineError> {
    let p = probe(t, name, &ProbeConfig::default());
    if p.answered {
        Ok(p)
    } else {
        Err(EngineError::timeout(
            format!("AT on {name}"),
            None,
            ProbeConfig::default().total,
        ))
    }
}

/// The AT port of the (one) module in normal mode, when the OS shows it.
fn find_at_port() -> Option<String> {
    let snap = snapshot();
    let mods = normal_mode_modules(&snap.usb, &oasis_transport::UsbSelector::Any);
    let dev = mods.first()?;
    let (num, _) = device_roles(dev)
        .into_iter()
        .find(|(_, r)| *r == Role::At)?;
    dev.interfaces.iter().find(|i| i.number == num)?.tty.clone()
}

fn probe_real(
    at_port: Option<&str>,
    deadline: Instant,
    em: &mut Emitter,
) -> Result<AtProbe, EngineError> {
    em.info(match at_port {
        Some(p) => format!("waiting for the module to boot and answer on {p}"),
        None => "waiting for the module to boot and show its AT port".to_owned(),
    });
    loop {
        em.check_cancel()?;
        let port = at_port.map(str::to_owned).or_else(find_at_port);
        if let Some(port) = port
            && let Ok(mut t) = oasis_transport::open(&PortSpec::Serial(port.clone()))
        {
            let p = probe(&mut *t, &port, &ProbeConfig::default());
            if p.answered {
                return Ok(p);
            }
        }
        if Instant::now() >= deadline {
            return Err(EngineError::timeout(
                format!("AT on {}", at_port.unwrap_or("the module's AT port")),
                None,
                BOOT_WAIT,
            ));
        }
        // Waiting for hardware to boot: poll the OS, bounded by the deadline.
        std::thread::sleep(RETRY);
    }
}
