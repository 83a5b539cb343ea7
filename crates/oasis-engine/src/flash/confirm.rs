//! The Confirm phase: after the reset, follow the board (bounded, with a visible countdown) until
//! it enumerates in normal mode, find its AT port, ask ATI and AT+QGMR (diag's AT probe), and
//! compare the revision with the package's. Each way this can fail is its own verdict
//! ([`ConfirmFailure`]): never came back, came back in 9008, AT silent, revision unchanged.

use std::time::{Duration, Instant};

use oasis_transport::{BusHandle, PortSpec, Transport, UsbSelector};

use crate::diag::at::{AtProbe, ProbeConfig, probe};
use crate::diag::ports::at_ports;
use crate::diag::usb_table::{UsbMode, identify_device};
use crate::error::{ConfirmFailure, EngineError};
use crate::pkgmap::Prepared;
use crate::progress::Emitter;
use crate::usbswitch::{normal_mode_modules, selected};

const RETRY: Duration = Duration::from_millis(500);
/// Polls in a row that must see the board in 9008 before that is the verdict.
const EDL_POLLS: u32 = 6;
/// How long a freshly opened port is listened to for a Sahara HELLO before AT is sent (a
/// board back in 9008 says HELLO at once; a slow emulator may take a moment).
const SNIFF: Duration = Duration::from_millis(1000);
/// Seconds between two countdown lines in the log.
const COUNTDOWN_STEP: u64 = 10;

/// Where to look for the board after its reset.
#[derive(Debug, Clone, Copy)]
pub struct Follow<'a> {
    /// `--at-port`: a serial port, or `virtual` for the virtual board the flash ran on.
    pub at_port: Option<&'a str>,
    /// The port the flash used, as the bus resolved it (its USB selector narrows the search).
    pub port: &'a str,
    /// Whether `port` came from the bus's own naming (`virtual:eg25` → `usb:0-1`).
    pub aliased: bool,
    /// Where the board is looked for.
    pub bus: &'a BusHandle,
    /// The revision the board ran before, when known.
    pub previous: Option<&'a str>,
    /// How long to wait.
    pub wait: Duration,
    /// Bytes the board sent on the download-mode link right after the reset's answer (a
    /// stream link can carry the next boot's first words).
    pub early: &'a [u8],
}

fn failed(failure: ConfirmFailure, what: String) -> EngineError {
    let diagnose = "run `oasis-cli diagnose` (or open Diagnostics in the app) to see what state the board is in";
    let help = match failure {
        ConfirmFailure::NeverCameBack => format!("the flash itself completed; check the cable and power, then {diagnose}"),
        ConfirmFailure::BackInDownloadMode => "the boot chain did not start the new firmware: flash the package again; if it repeats, the package does not fit this module".to_owned(),
        ConfirmFailure::AtSilent => format!("the module may still be booting or its AT port is held by another program (ModemManager); {diagnose}"),
        ConfirmFailure::RevisionUnchanged | ConfirmFailure::OtherRevision => format!("the board did not take the new firmware: flash it again; if it repeats, {diagnose}"),
        _ => diagnose.to_owned(),
    };
    EngineError::NotConfirmed {
        failure,
        what,
        help,
    }
}

/// Follow the board and return the revision it runs; an error names what did not happen.
pub fn confirm(f: &Follow<'_>, prep: &Prepared, em: &mut Emitter) -> Result<String, EngineError> {
    if is_sahara_hello(f.early) {
        return Err(back_in_edl("the board"));
    }
    let sel = match PortSpec::parse(f.port) {
        PortSpec::Usb(sel) => sel,
        PortSpec::Serial(_) => UsbSelector::Any,
    };
    let probe = match f.at_port {
        // The virtual board comes back on the bus it is on, as a module does on USB.
        Some(p) if p.eq_ignore_ascii_case("virtual") => {
            if !f.aliased {
                return Err(EngineError::BadInput {
                    what: "--at-port virtual follows a virtual board, but this flash ran over another link".to_owned(),
                    help: Some("name the module's AT port (e.g. /dev/ttyUSB2 or the same pty link)".to_owned()),
                });
            }
            follow_usb(f.bus, &sel, f.wait, em)?
        }
        Some(p) => follow_serial(f.bus, p, f.wait, f.early, em)?,
        None => follow_usb(f.bus, &sel, f.wait, em)?,
    };
    let running = probe
        .full_revision
        .clone()
        .or_else(|| probe.revision.clone())
        .ok_or_else(|| {
            failed(
                ConfirmFailure::NoRevision,
                format!(
                    "the AT port {} answered but reported no firmware revision (ATI, AT+QGMR)",
                    probe.port
                ),
            )
        })?;
    em.info(format!(
        "the board runs {running} (asked on {})",
        probe.port
    ));
    judge(
        &running,
        prep.revision.as_deref(),
        prep.version.as_deref(),
        f.previous,
        em,
    )?;
    Ok(running)
}

fn same_revision(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_uppercase(), b.to_ascii_uppercase());
    a.contains(&b) || b.contains(&a)
}

/// Compare the running revision with the package's (and the one before the flash).
pub fn judge(
    running: &str,
    revision: Option<&str>,
    version: Option<&str>,
    previous: Option<&str>,
    em: &mut Emitter,
) -> Result<(), EngineError> {
    let Some(rev) = revision else {
        em.info("the package name states no revision: the running firmware could not be compared");
        return Ok(());
    };
    let rev_ok = running
        .to_ascii_uppercase()
        .contains(&rev.to_ascii_uppercase());
    let ver_ok = version.is_none_or(|v| running.contains(v));
    if rev_ok && ver_ok {
        return Ok(());
    }
    let want = match version {
        Some(v) => format!("{rev}_{v}"),
        None => rev.to_owned(),
    };
    match previous {
        Some(p) if same_revision(running, p) => Err(failed(
            ConfirmFailure::RevisionUnchanged,
            format!(
                "the revision did not change: the board still runs {running}, not the package's {want}"
            ),
        )),
        _ => Err(failed(
            ConfirmFailure::OtherRevision,
            format!("the board runs {running}, not the package's {want}"),
        )),
    }
}

fn back_in_edl(who: &str) -> EngineError {
    failed(
        ConfirmFailure::BackInDownloadMode,
        format!(
            "{who} came back in download mode (05C6:9008) after the reset: the new firmware did not start"
        ),
    )
}

fn never_back(what: &str, wait: Duration) -> EngineError {
    failed(
        ConfirmFailure::NeverCameBack,
        format!(
            "the board never came back on USB after the reset: {what} did not appear within {:.0} s",
            wait.as_secs_f64()
        ),
    )
}

fn at_silent(port: &str, wait: Duration) -> EngineError {
    failed(
        ConfirmFailure::AtSilent,
        format!(
            "the board came back but {port} stayed silent to AT for {:.0} s",
            wait.as_secs_f64()
        ),
    )
}

fn probe_config(wait: Duration) -> ProbeConfig {
    let mut cfg = ProbeConfig::default();
    cfg.per_command = cfg
        .per_command
        .min(wait / 4)
        .max(Duration::from_millis(200));
    cfg
}

/// The countdown shown while waiting: `Progress` in seconds, an `Info` line every 10 s.
struct Countdown {
    start: Instant,
    wait: Duration,
    shown: u64,
    told: u64,
}

impl Countdown {
    fn start(wait: Duration, what: &str, em: &mut Emitter) -> Self {
        em.set_phase_total(wait.as_secs().max(1));
        em.info(format!(
            "waiting up to {} s for the board to boot and answer on {what}",
            wait.as_secs()
        ));
        Self {
            start: Instant::now(),
            wait,
            shown: 0,
            told: 0,
        }
    }

    fn done(&self) -> bool {
        self.start.elapsed() >= self.wait
    }

    fn tick(&mut self, em: &mut Emitter) {
        let secs = self.start.elapsed().as_secs().min(self.wait.as_secs());
        if secs > self.shown {
            em.advance(secs - self.shown);
            self.shown = secs;
        }
        if secs >= self.told + COUNTDOWN_STEP {
            self.told = secs - secs % COUNTDOWN_STEP;
            em.info(format!(
                "still waiting for the board: {} s left",
                self.wait.as_secs().saturating_sub(secs)
            ));
        }
    }
}

/// True when the first bytes waiting on a port (after `early`, what already arrived on the
/// old link) are a Sahara HELLO: the board is in 9008.
fn sniff_sahara(t: &mut dyn Transport, early: &[u8]) -> bool {
    let mut got: Vec<u8> = early.to_vec();
    let mut buf = [0u8; 64];
    let end = Instant::now() + SNIFF;
    // A stream link may deliver the 48-byte HELLO in pieces: collect the first 8 bytes.
    while got.len() < 8 {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match t.read(&mut buf, left) {
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(_) => break,
        }
    }
    is_sahara_hello(&got)
}

/// Whether `bytes` start with a Sahara HELLO (command 1, length 0x30).
fn is_sahara_hello(bytes: &[u8]) -> bool {
    let word = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    word(0) == Some(1) && word(4) == Some(0x30)
}

fn follow_serial(
    bus: &BusHandle,
    port: &str,
    wait: Duration,
    early: &[u8],
    em: &mut Emitter,
) -> Result<AtProbe, EngineError> {
    let mut cd = Countdown::start(wait, port, em);
    let mut opened = false;
    loop {
        em.check_cancel()?;
        if let Ok(mut t) = bus.open_serial(port) {
            let first = if opened { &[][..] } else { early };
            opened = true;
            if sniff_sahara(&mut *t.link, first) {
                return Err(back_in_edl(&format!("the board on {port}")));
            }
            let p = probe(&mut *t.link, port, &probe_config(wait));
            if p.answered {
                return Ok(p);
            }
        }
        cd.tick(em);
        if cd.done() {
            // Judge by what is there now: a port that appeared and vanished again did not
            // come back either.
            let there = opened && bus.open_serial(port).is_ok();
            return Err(if there {
                at_silent(&format!("its AT port {port}"), wait)
            } else {
                never_back(&format!("the AT port {port}"), wait)
            });
        }
        // Waiting for hardware to boot: poll, bounded by the countdown.
        std::thread::sleep(RETRY);
    }
}

fn follow_usb(
    bus: &BusHandle,
    sel: &UsbSelector,
    wait: Duration,
    em: &mut Emitter,
) -> Result<AtProbe, EngineError> {
    let mut cd = Countdown::start(wait, "its USB AT port", em);
    let (mut seen, mut edl) = (false, 0u32);
    loop {
        em.check_cancel()?;
        let snap = bus.snapshot();
        let modules = normal_mode_modules(&snap.usb, sel);
        if let Some(dev) = modules.first() {
            seen = true;
            edl = 0;
            for port in at_ports(&snap, dev) {
                if let Ok(mut t) = bus.open_serial(&port) {
                    let p = probe(&mut *t.link, &port, &probe_config(wait));
                    if p.answered {
                        return Ok(p);
                    }
                }
            }
        } else if snap
            .usb
            .iter()
            .any(|d| selected(d, sel) && identify_device(d).is_some_and(|i| i.mode == UsbMode::Edl))
        {
            edl += 1;
            if edl >= EDL_POLLS {
                return Err(back_in_edl("the board"));
            }
        }
        cd.tick(em);
        if cd.done() {
            return Err(if seen {
                at_silent("its AT port", wait)
            } else {
                never_back("no module in normal mode", wait)
            });
        }
        std::thread::sleep(RETRY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Help;

    #[test]
    fn revisions_are_judged_against_the_package_and_the_old_one() {
        let mut e = Emitter::quiet();
        judge(
            "EG25GGBR07A08M2G_30.006.30.006",
            Some("EG25GGBR07A08M2G"),
            Some("30.006.30.006"),
            None,
            &mut e,
        )
        .unwrap();
        let err = judge(
            "EG25GGBR07A07M2G_01.001",
            Some("EG25GGBR07A08M2G"),
            None,
            Some("EG25GGBR07A07M2G_01.001"),
            &mut e,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            EngineError::NotConfirmed {
                failure: ConfirmFailure::RevisionUnchanged,
                ..
            }
        ));
        assert!(err.to_string().contains("did not change"), "{err}");
        let err = judge(
            "OTHER_1",
            Some("EG25GGBR07A08M2G"),
            None,
            Some("OLD_2"),
            &mut e,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            EngineError::NotConfirmed {
                failure: ConfirmFailure::OtherRevision,
                ..
            }
        ));
        assert_eq!(err.kind(), crate::event::ErrorKind::VerifyMismatch);
        judge("anything", None, None, None, &mut e).unwrap();
    }

    #[test]
    fn a_hello_is_recognised() {
        let mut hello = vec![1, 0, 0, 0, 0x30, 0, 0, 0];
        hello.resize(48, 0);
        assert!(is_sahara_hello(&hello));
        assert!(!is_sahara_hello(b"\r\nRDY\r\n"));
        assert!(!is_sahara_hello(&hello[..6]));
    }

    #[test]
    fn failures_map_to_kinds_scripts_know() {
        assert_eq!(
            never_back("x", Duration::from_secs(60)).kind(),
            crate::event::ErrorKind::Disconnected
        );
        assert_eq!(
            at_silent("x", Duration::from_secs(60)).kind(),
            crate::event::ErrorKind::Timeout
        );
        assert_eq!(back_in_edl("x").kind(), crate::event::ErrorKind::Protocol);
        assert!(
            back_in_edl("x")
                .help()
                .unwrap()
                .contains("flash the package again")
        );
    }
}
