//! Opening the port a user named, always through the job's [`BusHandle`]: serial or USB,
//! each claimed on the bus while it is open; a name the bus gives a meaning of its own
//! (`virtual:eg25@normal` on the virtual bus) resolved first; a module in normal mode
//! switched to download mode first (`usb`, over its DM port, found on the bus); and the
//! optional session transcript (support bundle).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

use oasis_transport::recording::RecordingTransport;
use oasis_transport::{BusHandle, Claim, PortSpec, Transport, TransportErrorKind, is_virtual_name};

use crate::bundle::elide::{CompactWriter, ELIDE_ABOVE};
use crate::error::EngineError;
use crate::options::Timeouts;
use crate::progress::Emitter;

/// An open port.
pub(crate) struct OpenedPort {
    /// The link to the board.
    pub link: Box<dyn Transport>,
    /// The claim on the port, held as long as the link.
    pub claim: Option<Box<dyn Claim>>,
    /// What the module said on its AT port before it was switched to download mode
    /// (`--port usb` on a module in normal mode): its revision then, and its IMEI.
    pub before: Option<crate::diag::at::AtProbe>,
    /// The port the bus resolved the name to (`usb:0-1` for `virtual:eg25`), when it did.
    pub resolved: Option<String>,
    /// A simulated (virtual) board, not hardware.
    pub simulated: bool,
}

impl std::fmt::Debug for OpenedPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedPort")
            .field("link", &self.link.describe())
            .field("resolved", &self.resolved)
            .finish_non_exhaustive()
    }
}

/// The virtual profile that fits a package: its storage and sector size.
pub(crate) fn default_profile(memory: &str, sector_size: u32) -> &'static str {
    match (memory, sector_size) {
        ("nand", 4096) => "sdx55",
        ("nand", _) => "eg25",
        ("emmc", _) => "emmc",
        ("ufs", _) => "ufs",
        _ => "bg95",
    }
}

/// `virtual`, `virtual:@STATE…`: the name with the profile that fits the package filled in
/// (`virtual:emmc`); any other name unchanged.
pub(crate) fn fill_virtual_profile(port: &str, fallback: &str) -> String {
    let p = port.trim();
    if !is_virtual_name(p) {
        return port.to_owned();
    }
    let rest = p.get("virtual".len()..).unwrap_or_default();
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    if rest.is_empty() || rest.starts_with(['@', '+']) {
        format!("virtual:{fallback}{rest}")
    } else {
        p.to_owned()
    }
}

/// How long a download-mode port that refuses to open (Busy, permission) is retried: udev
/// and ModemManager race the first opens (QFirehose tries 30 times, qdl every 250 ms).
pub(crate) const OPEN_RETRY: Duration = Duration::from_secs(5);

/// How often the open is retried.
pub(crate) const OPEN_RETRY_EVERY: Duration = Duration::from_millis(250);

/// Whether an open that failed this way is worth retrying.
pub(crate) fn open_retryable(kind: TransportErrorKind) -> bool {
    matches!(
        kind,
        TransportErrorKind::Busy | TransportErrorKind::PermissionDenied
    )
}

/// Resolve `port` on `bus` (filling a bare `virtual` with `fallback_profile`); returns the
/// name to open and whether it came from the bus's own naming.
pub fn resolve(
    bus: &BusHandle,
    port: &str,
    fallback_profile: &str,
) -> Result<(String, bool), EngineError> {
    let name = fill_virtual_profile(port, fallback_profile);
    let target = bus.resolve(&name)?;
    let aliased = target != name;
    Ok((target, aliased))
}

/// What may stop a module in normal mode from being switched, given what its AT port said.
pub(crate) type SwitchCheck<'a> = &'a dyn Fn(&crate::diag::at::AtProbe) -> Result<(), EngineError>;

/// Open `port` on `bus`. `fallback_profile` names the virtual board a bare `virtual` asks for.
pub fn open(
    bus: &BusHandle,
    port: &str,
    fallback_profile: &str,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<OpenedPort, EngineError> {
    open_checked(bus, port, fallback_profile, t, em, &|_| Ok(()))
}

/// [`open`], with `check` asked before a module in normal mode is switched (a flash refuses a
/// module of another model there).
pub(crate) fn open_checked(
    bus: &BusHandle,
    port: &str,
    fallback_profile: &str,
    t: &Timeouts,
    em: &mut Emitter,
    check: SwitchCheck<'_>,
) -> Result<OpenedPort, EngineError> {
    let (target, aliased) = resolve(bus, port, fallback_profile)?;
    if aliased {
        em.info(format!("{} is {target} on {}", port.trim(), bus.describe()));
    }
    let resolved = aliased.then(|| target.clone());
    let spec = PortSpec::parse(&target);
    match &spec {
        PortSpec::Serial(_) => {
            let o = bus.open(&spec)?;
            Ok(OpenedPort {
                link: o.link,
                claim: Some(o.claim),
                before: None,
                resolved,
                simulated: o.simulated,
            })
        }
        PortSpec::Usb(selector) => {
            let (o, before) = match bus.open(&spec) {
                Ok(o) => (o, None),
                Err(e) if e.kind == TransportErrorKind::NotFound => {
                    crate::usbswitch::switch_and_open(bus, selector, t, em, check)
                        .map_err(|why| why.unwrap_or_else(|| EngineError::from(e)))?
                }
                Err(e) => return Err(e.into()),
            };
            Ok(OpenedPort {
                link: o.link,
                claim: Some(o.claim),
                before,
                resolved,
                simulated: o.simulated,
            })
        }
    }
}

/// Wrap `link` so every byte is written to a transcript at `path` (the support bundle).
pub fn record(link: Box<dyn Transport>, path: &Path) -> Result<Box<dyn Transport>, EngineError> {
    let file = File::create(path).map_err(|e| EngineError::BadInput {
        what: format!("cannot create the support bundle {}: {e}", path.display()),
        help: Some("choose a writable path for --bundle".to_owned()),
    })?;
    // Past a few MiB the raw data is kept as its length and hash only (see bundle::elide).
    let out = CompactWriter::new(BufWriter::new(file), ELIDE_ABOVE);
    Ok(Box::new(RecordingTransport::new(link, out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_profile_follows_the_package() {
        assert_eq!(default_profile("nand", 2048), "eg25");
        assert_eq!(default_profile("nand", 4096), "sdx55");
        assert_eq!(default_profile("ufs", 4096), "ufs");
        assert_eq!(default_profile("emmc", 512), "emmc");
    }

    #[test]
    fn a_bare_virtual_gets_the_profile_that_fits_the_package() {
        assert_eq!(fill_virtual_profile("virtual", "emmc"), "virtual:emmc");
        assert_eq!(fill_virtual_profile("virtual:", "emmc"), "virtual:emmc");
        assert_eq!(
            fill_virtual_profile("virtual:@normal", "eg25"),
            "virtual:eg25@normal"
        );
        assert_eq!(
            fill_virtual_profile("virtual:+no-command-mode", "eg25"),
            "virtual:eg25+no-command-mode"
        );
        assert_eq!(fill_virtual_profile("virtual:bg95", "eg25"), "virtual:bg95");
        assert_eq!(fill_virtual_profile("/dev/ttyUSB0", "eg25"), "/dev/ttyUSB0");
    }

    #[test]
    fn a_virtual_name_on_the_system_bus_is_refused_with_a_reason() {
        let (tx, _rx) = crossbeam_channel::unbounded();
        let sink = Box::new(move |e| {
            let _ = tx.send(e);
        });
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut em = Emitter::new(sink, cancel);
        let e = open(
            &BusHandle::system(),
            "virtual:eg25",
            "bg95",
            &Timeouts::default(),
            &mut em,
        )
        .unwrap_err();
        assert!(e.to_string().contains("virtual bus"), "{e}");
    }
}
