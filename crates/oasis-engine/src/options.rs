//! What a caller asks of a flash job: the request, its options and every timeout the engine
//! uses (docs/protocol.md §2: generous, but every read and write is bounded).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// One flash job: which package goes onto which port, and how.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct FlashRequest {
    /// Package folder, `.zip`, or a single rawprogram XML's folder.
    pub package: PathBuf,
    /// Port as the user wrote it (`/dev/ttyUSB0`, `COM7`, `usb`, `usb:1-1.4`, `virtual:eg25`).
    pub port: String,
    /// How to flash.
    pub options: FlashOptions,
    /// Where the port is found and opened (this computer unless the caller says otherwise,
    /// e.g. a bus of virtual boards).
    pub bus: oasis_transport::BusHandle,
    /// The package of `package`, already opened by the caller (the app opens it once when the
    /// user picks it, to show it and to check it against the board): the job uses it instead
    /// of opening and hashing the package again, unless the options name another programmer
    /// or rawprogram.
    pub opened: Option<Arc<oasis_package::Package>>,
}

impl FlashRequest {
    /// A request with default options.
    pub fn new(package: impl Into<PathBuf>, port: impl Into<String>) -> Self {
        Self {
            package: package.into(),
            port: port.into(),
            options: FlashOptions::default(),
            bus: oasis_transport::BusHandle::default(),
            opened: None,
        }
    }
    /// The same request with the package the caller opened already (see
    /// [`FlashRequest::opened`]); `package` becomes its source.
    #[must_use]
    pub fn with_package(mut self, opened: Arc<oasis_package::Package>) -> Self {
        self.package.clone_from(&opened.source);
        self.opened = Some(opened);
        self
    }
    /// The same request with other options.
    #[must_use]
    pub fn with_options(mut self, options: FlashOptions) -> Self {
        self.options = options;
        self
    }
    /// The same request on another bus.
    #[must_use]
    pub fn on_bus(mut self, bus: oasis_transport::BusHandle) -> Self {
        self.bus = bus;
        self
    }
}

/// How to flash. `Default` is the safe choice: verify, refuse destructive steps, check md5.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FlashOptions {
    /// Verify every program step (SHA-256 digest on the board, or read-back). Default true.
    pub verify: bool,
    /// Allow steps that destroy data the package does not rewrite (whole-disk erase, EFS/NV).
    pub allow_full_erase: bool,
    /// Do not refuse on md5.txt mismatches.
    pub skip_md5: bool,
    /// Leave the board in download mode at the end (no power reset).
    pub no_reset: bool,
    /// AT port to confirm the new revision on after the reset (`virtual` follows an in-process
    /// virtual board). Setting it turns the Confirm phase on.
    pub at_port: Option<String>,
    /// Confirm the new firmware after the reset (the AT port is found on USB, or given by
    /// `at_port`); on the command line this also acknowledges the plan's destructive steps.
    pub confirm: bool,
    /// Use this programmer instead of the package's.
    pub programmer: Option<PathBuf>,
    /// Use this rawprogram XML instead of the package's.
    pub rawprogram: Option<PathBuf>,
    /// Timeouts of every step.
    pub timeouts: Timeouts,
    /// Write a support bundle (zip: log, events, enumeration, package manifest, identity,
    /// byte transcript) to this file when the job ends, whatever the outcome.
    pub bundle: Option<PathBuf>,
    /// On failure, write a support bundle into this folder (`oasis-<time>.zip`) and name it in
    /// an `Info` event. The app and the CLI pass their data dir's `bundles` folder.
    pub bundle_on_failure: Option<PathBuf>,
    /// Before anything is written, back up the board-unique regions (EFS2/NV, modemst, fsg,
    /// persist...) into this folder (created; must be empty). A destructive plan is allowed
    /// with a fresh backup, without `allow_full_erase`.
    pub backup: Option<PathBuf>,
    /// Pre-verify: skip program steps whose range already holds the package's bytes (board
    /// digest), so an interrupted flash finishes where it stopped. Skipped partitions are
    /// listed in `Verdict::skipped`.
    pub resume: bool,
    /// The revision the board ran before this flash, when the caller knows it (tells "the
    /// revision did not change" apart from "another revision runs").
    pub previous_revision: Option<String>,
    /// Keep the IMEI, ICCID and chip serial in support bundles (masked by default: a short
    /// keyed hash and the last 4 characters, see [`crate::bundle::redact`]).
    pub include_identifiers: bool,
    /// Size cap of the `bundle_on_failure` folder in bytes (oldest bundles go after a new one
    /// is written there); `None`: `OASIS_BUNDLE_CAP_MB`, else the default
    /// ([`crate::bundle::prune`]).
    pub bundle_cap_bytes: Option<u64>,
    /// Skip Sahara command mode (no chip identity, no programmer check against it): for a
    /// boot ROM known to ignore command mode. Default false.
    pub no_identity: bool,
    /// `ZlpAwareHost` for `configure`: `None` (default) follows the link (USB 1, a Linux or
    /// macOS tty 0, a Windows QDLoader COM port (USB 05C6) 1, other COM ports 0); `Some` overrides
    /// it (`--zlp on|off`).
    pub zlp: Option<bool>,
    /// Refuse Oasis's demo package on a board the bus does not mark as simulated (the app sets
    /// it; the CLI, which also drives emulated boards over ptys and COM ports, leaves it off).
    pub demo_only_on_virtual: bool,
}

impl Default for FlashOptions {
    fn default() -> Self {
        Self {
            verify: true,
            allow_full_erase: false,
            skip_md5: false,
            no_reset: false,
            at_port: None,
            confirm: false,
            programmer: None,
            rawprogram: None,
            timeouts: Timeouts::default(),
            bundle: None,
            bundle_on_failure: None,
            backup: None,
            resume: false,
            previous_revision: None,
            include_identifiers: false,
            bundle_cap_bytes: None,
            no_identity: false,
            zlp: None,
            demo_only_on_virtual: false,
        }
    }
}

/// Every timeout the engine applies. Defaults follow the most patient public host for each step
/// (docs/protocol.md §2).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Timeouts {
    /// First Sahara packet after opening the port.
    pub sahara_first: Duration,
    /// Each later Sahara packet (and each programmer write).
    pub sahara_packet: Duration,
    /// Quiet time after which the programmer's start-up log is considered drained.
    pub idle_window: Duration,
    /// Whole budget for the programmer to start and accept `configure` (retried inside).
    pub configure: Duration,
    /// Answer to a short command (nop, setbootable, getstorageinfo).
    pub command: Duration,
    /// `rawmode="true"` ACK of a program or read.
    pub program_ack: Duration,
    /// Each raw data chunk written.
    pub raw_write: Duration,
    /// Final ACK after the raw data of a program.
    pub program_final: Duration,
    /// An erase (a whole-partition erase gets four times this).
    pub erase: Duration,
    /// A patch.
    pub patch: Duration,
    /// A getsha256digest, per 512 MiB digested.
    pub digest: Duration,
    /// Each raw chunk while reading back.
    pub read_chunk: Duration,
    /// The ACK of a power reset.
    pub reset: Duration,
    /// Waiting for a module switched from normal mode to reappear as 05C6:9008.
    pub edl_switch: Duration,
    /// After the final reset: waiting for the module to boot, enumerate in normal mode and
    /// answer AT (the Confirm phase's countdown).
    pub boot: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            sahara_first: Duration::from_secs(5),
            sahara_packet: Duration::from_secs(5),
            idle_window: Duration::from_millis(150),
            configure: Duration::from_secs(10),
            command: Duration::from_secs(5),
            program_ack: Duration::from_secs(10),
            raw_write: Duration::from_secs(15),
            program_final: Duration::from_secs(120),
            erase: Duration::from_secs(30),
            patch: Duration::from_secs(15),
            digest: Duration::from_secs(30),
            read_chunk: Duration::from_secs(30),
            reset: Duration::from_secs(5),
            edl_switch: Duration::from_secs(30),
            boot: Duration::from_secs(60),
        }
    }
}

impl Timeouts {
    /// Every timeout scaled by `factor` (e.g. 0.1 for tests that inject stalls). The idle window
    /// is kept.
    #[must_use]
    pub fn scaled(self, factor: f64) -> Self {
        let s = |d: Duration| d.mul_f64(factor.max(0.0));
        Self {
            sahara_first: s(self.sahara_first),
            sahara_packet: s(self.sahara_packet),
            idle_window: self.idle_window,
            configure: s(self.configure),
            command: s(self.command),
            program_ack: s(self.program_ack),
            raw_write: s(self.raw_write),
            program_final: s(self.program_final),
            erase: s(self.erase),
            patch: s(self.patch),
            digest: s(self.digest),
            read_chunk: s(self.read_chunk),
            reset: s(self.reset),
            edl_switch: s(self.edl_switch),
            boot: s(self.boot),
        }
    }

    /// Timeout for digesting `bytes` on the board: `digest` per started 512 MiB.
    pub(crate) fn digest_for(&self, bytes: u64) -> Duration {
        const SLICE: u64 = 512 * 1024 * 1024;
        let slices = bytes.div_ceil(SLICE).max(1);
        self.digest
            .saturating_mul(u32::try_from(slices).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe_and_bounded() {
        let o = FlashOptions::default();
        assert!(o.verify);
        assert!(!o.allow_full_erase && !o.skip_md5 && !o.no_reset);
        let t = o.timeouts;
        assert!(t.program_final >= Duration::from_secs(60));
        assert!(t.idle_window < Duration::from_secs(1));
    }

    #[test]
    fn digest_timeout_grows_with_size() {
        let t = Timeouts::default();
        assert_eq!(t.digest_for(0), t.digest);
        assert_eq!(t.digest_for(512 * 1024 * 1024), t.digest);
        assert_eq!(t.digest_for(512 * 1024 * 1024 + 1), t.digest * 2);
        let half = t.scaled(0.5);
        assert_eq!(half.erase, t.erase / 2);
        assert_eq!(half.idle_window, t.idle_window);
    }
}
