//! Read-only AT probes on a module's AT port over the `Transport` trait: identity, revision,
//! IMEI, radio and SIM state, USB composition and secure-boot flag.
//!
//! Only commands that read are ever sent (see [`parse::is_read_only`]); each has a short
//! timeout and the whole probe a bounded total. A silent port gives `answered: false` after
//! two `AT` attempts.

pub mod parse;
mod session;

use std::time::{Duration, Instant};

use oasis_transport::{Transport, TransportError, TransportErrorKind};
use serde::{Deserialize, Serialize};

pub use parse::{Ati, SimState, UsbCfg, UsbNet};
use session::LineReader;
pub use session::{FinalResult, Reply};

/// Probe limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Longest wait for one command's final result code.
    pub per_command: Duration,
    /// Longest the whole probe may take (commands not yet sent are skipped after that).
    pub total: Duration,
    /// How long to collect what is already waiting on the port before the first command.
    pub drain: Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            per_command: Duration::from_millis(1000),
            total: Duration::from_secs(10),
            drain: Duration::from_millis(100),
        }
    }
}

/// Why the port could not be probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeError {
    /// The transport error kind (permission, busy, disconnected, ...).
    pub kind: TransportErrorKind,
    /// The error as text.
    pub message: String,
}

/// Everything an AT probe learned about one port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtProbe {
    /// The port probed (`/dev/ttyUSB2`, `COM7`).
    pub port: String,
    /// True when the port answered `AT` with a final result code.
    pub answered: bool,
    /// Manufacturer from `ATI`.
    pub manufacturer: Option<String>,
    /// Model from `ATI`, e.g. "BG95-M3".
    pub model: Option<String>,
    /// Short revision (`ATI` `Revision:` line, else `AT+CGMR`).
    pub revision: Option<String>,
    /// Full revision from `AT+QGMR`, e.g. `BG95M3LAR02A03_01.011.01.011`.
    pub full_revision: Option<String>,
    /// IMEI (15 digits).
    pub imei: Option<String>,
    /// The SIM's ICCID (`AT+QCCID`), when a SIM is ready.
    #[serde(default)]
    pub iccid: Option<String>,
    /// `AT+CFUN?` level.
    pub cfun: Option<u8>,
    /// SIM state.
    pub sim: Option<SimState>,
    /// USB composition.
    pub usbcfg: Option<UsbCfg>,
    /// Network function mode.
    pub usbnet: Option<UsbNet>,
    /// Secure boot on (signed programmer needed).
    pub secure_boot: Option<bool>,
    /// Whether the module echoes commands, once seen.
    pub echo: Option<bool>,
    /// Unsolicited result codes seen during the probe.
    pub urcs: Vec<String>,
    /// Why the probe stopped early, if it did.
    pub error: Option<ProbeError>,
    /// Every command sent and the lines received for it (final result line included; no final
    /// line means no answer in time).
    pub raw: Vec<(String, Vec<String>)>,
}

impl AtProbe {
    /// ` (IMEI …) with SIM ICCID …` for a log line, as far as known (empty when neither is).
    pub(crate) fn ids_suffix(&self) -> String {
        let mut s = self
            .imei
            .as_deref()
            .map(|i| format!(" (IMEI {i})"))
            .unwrap_or_default();
        if let Some(c) = &self.iccid {
            s.push_str(&format!(" with SIM ICCID {c}"));
        }
        s
    }

    /// A probe that could not even open the port.
    pub fn failed(port: &str, err: &TransportError) -> Self {
        Self {
            port: port.to_string(),
            error: Some(ProbeError {
                kind: err.kind,
                message: err.to_string(),
            }),
            ..Self::default()
        }
    }
}

struct Runner<'a> {
    reader: LineReader<'a>,
    cfg: ProbeConfig,
    start: Instant,
    probe: AtProbe,
}

impl Runner<'_> {
    /// Send one read-only command; `None` when out of time or the link failed.
    fn ask(&mut self, cmd: &str) -> Option<Reply> {
        debug_assert!(
            parse::is_read_only(cmd),
            "probe command must be read-only: {cmd}"
        );
        if self.probe.error.is_some() || self.start.elapsed() >= self.cfg.total {
            return None;
        }
        let left = self.cfg.total.saturating_sub(self.start.elapsed());
        match self.reader.command(cmd, self.cfg.per_command.min(left)) {
            Ok(r) => {
                self.probe.raw.push((cmd.to_string(), r.raw_lines()));
                self.probe.urcs.extend(r.urcs.iter().cloned());
                if r.result != FinalResult::Timeout {
                    self.probe.echo = Some(r.echoed);
                }
                Some(r)
            }
            Err(e) => {
                self.probe.raw.push((cmd.to_string(), Vec::new()));
                self.probe.error = Some(ProbeError {
                    kind: e.kind,
                    message: e.to_string(),
                });
                None
            }
        }
    }

    /// Ask and return the information lines of an `OK` reply.
    fn ask_ok(&mut self, cmd: &str) -> Option<Vec<String>> {
        self.ask(cmd)
            .filter(|r| r.result == FinalResult::Ok)
            .map(|r| r.lines)
    }
}

/// Probe the AT port behind `t`, named `port` in the result. Never sends a set command.
pub fn probe(t: &mut dyn Transport, port: &str, cfg: &ProbeConfig) -> AtProbe {
    let mut r = Runner {
        reader: LineReader::new(t),
        cfg: *cfg,
        start: Instant::now(),
        probe: AtProbe {
            port: port.to_string(),
            ..AtProbe::default()
        },
    };
    match r.reader.drain(cfg.drain) {
        Ok(lines) => r.probe.urcs.extend(lines),
        Err(e) => return AtProbe::failed(port, &e),
    }
    r.probe.answered = resynchronise(&mut r);
    if !r.probe.answered {
        return r.probe;
    }
    identity(&mut r);
    state(&mut r);
    r.probe
}

/// At least this many `AT` tries, and tries for at least [`RESYNC_BUDGET`], before a module
/// counts as not answering.
const RESYNC_TRIES: u32 = 3;

/// How long a module that has just booted is given to answer `AT` (input sent while it boots
/// is lost, and its first answer can take more than a second).
const RESYNC_BUDGET: Duration = Duration::from_secs(3);

/// `AT` until `OK` (bounded). When tries went unanswered, their answers may still come late:
/// wait one command time and drop what arrives, so no late `OK` or echo is taken as the answer
/// to the next question.
fn resynchronise(r: &mut Runner<'_>) -> bool {
    let start = Instant::now();
    let mut unanswered = 0u32;
    loop {
        match r.ask("AT") {
            Some(x) if x.result != FinalResult::Timeout => break,
            Some(_) => unanswered += 1,
            None => return false,
        }
        if unanswered >= RESYNC_TRIES && start.elapsed() >= RESYNC_BUDGET {
            return false;
        }
    }
    if unanswered > 0 {
        let quiet = r.cfg.per_command;
        match r.reader.drain(quiet) {
            Ok(lines) => r.probe.urcs.extend(lines.into_iter().filter(|l| {
                let up = l.to_ascii_uppercase();
                up != "AT" && up != "OK"
            })),
            Err(e) => {
                r.probe.error = Some(ProbeError {
                    kind: e.kind,
                    message: e.to_string(),
                });
                return false;
            }
        }
    }
    true
}

/// Open the serial port `name` on `bus` (claimed while it is asked) and probe it; an open
/// failure (permission, busy, missing) is reported in [`AtProbe::error`].
pub fn probe_on(bus: &oasis_transport::BusHandle, name: &str, cfg: &ProbeConfig) -> AtProbe {
    match bus.open_serial(name) {
        Ok(mut port) => probe(&mut *port.link, name, cfg),
        Err(e) => AtProbe::failed(name, &e),
    }
}

fn identity(r: &mut Runner<'_>) {
    if let Some(lines) = r.ask_ok("ATI") {
        let ati = parse::parse_ati(&lines);
        r.probe.manufacturer = ati.manufacturer;
        r.probe.model = ati.model;
        r.probe.revision = ati.revision;
    }
    if let Some(rev) = r.ask_ok("AT+CGMR").and_then(|l| parse::parse_cgmr(&l))
        && r.probe.revision.is_none()
    {
        r.probe.revision = Some(rev);
    }
    r.probe.full_revision = r.ask_ok("AT+QGMR").and_then(|l| parse::parse_qgmr(&l));
    r.probe.imei = r.ask_ok("AT+CGSN").and_then(|l| parse::parse_imei(&l));
    if r.probe.imei.is_none() {
        r.probe.imei = r.ask_ok("AT+GSN").and_then(|l| parse::parse_imei(&l));
    }
}

fn is_bg95_class(model: Option<&str>) -> bool {
    model.is_some_and(|m| {
        let m = m.to_ascii_uppercase();
        ["BG95", "BG77", "BG600"].iter().any(|p| m.starts_with(p))
    })
}

fn state(r: &mut Runner<'_>) {
    r.probe.cfun = r.ask_ok("AT+CFUN?").and_then(|l| parse::parse_cfun(&l));
    if let Some(reply) = r.ask("AT+CPIN?") {
        r.probe.sim = parse::parse_cpin(&reply.lines, reply.final_line.as_deref());
    }
    if r.probe.sim == Some(SimState::Ready) {
        r.probe.iccid = r.ask_ok("AT+QCCID").and_then(|l| parse::parse_iccid(&l));
    }
    r.probe.usbcfg = r
        .ask_ok("AT+QCFG=\"usbcfg\"")
        .and_then(|l| parse::parse_usbcfg(&l));
    let usbnet = ["AT+QCFG=\"usbnet\"", "AT+QCFGEXT=\"usbnet\""];
    let order = if is_bg95_class(r.probe.model.as_deref()) {
        [usbnet[1], usbnet[0]]
    } else {
        usbnet
    };
    for cmd in order {
        r.probe.usbnet = r.ask_ok(cmd).and_then(|l| parse::parse_usbnet(&l));
        if r.probe.usbnet.is_some() {
            break;
        }
    }
    for cmd in ["AT+QCFG=\"secbootstat\"", "AT+QSECBOOT=\"status\""] {
        r.probe.secure_boot = r.ask_ok(cmd).and_then(|l| parse::parse_secure_boot(&l));
        if r.probe.secure_boot.is_some() {
            break;
        }
    }
}
