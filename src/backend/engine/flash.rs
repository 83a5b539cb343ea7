//! Starting a flash from the app: the refusals checked before a board is touched (the demo
//! package never reaches hardware, a board running other firmware is asked first), the engine
//! options a job asks for, and the job itself on the link the board is reached by.

use std::path::Path;
use std::time::Duration;

use oasis_engine::diag::at::AtProbe;
use oasis_engine::diag::compat::{BoardFacts, PackageFacts};
use oasis_engine::{
    ErrorKind, ErrorReport, Event, FlashOptions as EngineOptions, FlashRequest, Phase,
};
use oasis_package::{OpenOptions, Package};

use oasis_transport::BusHandle;

use super::super::engine_serial::link_for;

use super::super::{BackendMsg, BoardMode, FlashJob, Verification};
use super::{JobSlot, Jobs, Reply, Target, lock_jobs, probe_target};

/// Marker the demo programmer carries: the demo package must never reach real hardware.
const DEMO_MARK: &[u8] = b"QC_IMAGE_VERSION_STRING=OASIS.DEMO";

pub(super) fn is_demo_package(pkg: &Package) -> bool {
    pkg.programmer
        .as_ref()
        .and_then(|p| std::fs::read(&p.path).ok())
        .is_some_and(|b| b.windows(DEMO_MARK.len()).any(|w| w == DEMO_MARK))
}

/// Engine options for a job: the engine follows every board (real and virtual) after its
/// reset to confirm the new firmware when the settings ask for it.
pub(super) fn engine_options(job: &FlashJob) -> EngineOptions {
    let mut o = EngineOptions::default();
    o.verify = job.options.verification != Verification::Off;
    o.confirm = job.options.confirm_after_reset;
    // The user confirmed the destructive steps, named one by one, in the dialog before this.
    o.allow_full_erase = true;
    o.timeouts.command = Duration::from_secs(u64::from(job.options.command_timeout_s));
    let reappear = Duration::from_secs(u64::from(job.options.reenumerate_timeout_s));
    o.timeouts.edl_switch = reappear;
    o.timeouts.boot = reappear.max(o.timeouts.boot);
    o.no_reset = false;
    o.backup.clone_from(&job.options.backup_dir);
    o.bundle.clone_from(&job.options.bundle);
    o.bundle_on_failure.clone_from(&job.options.bundle_dir);
    o.include_identifiers = job.options.include_identifiers;
    o
}

pub(super) fn refusal(message: String, hint: &str) -> ErrorReport {
    ErrorReport {
        kind: ErrorKind::Refused,
        message,
        hint: Some(hint.to_owned()),
        phase: Some(Phase::Connect),
        partition: None,
        device_log: Vec::new(),
    }
}

/// Before a board is touched: the demo package never goes onto hardware, and a board running
/// its firmware is not switched to download mode for a package made for another model (bench
/// mode has no compatibility screen in front of it). `probe` is the board's AT probe.
pub(super) fn start_check(
    package: &Path,
    real: bool,
    probe: Option<&AtProbe>,
) -> Option<ErrorReport> {
    let pkg = Package::open(package, &OpenOptions::default()).ok()?;
    if real && is_demo_package(&pkg) {
        return Some(refusal(
            "This is Oasis's demo package, not firmware: it only goes onto virtual boards. Nothing was written.".into(),
            "Open the firmware package made for this module.",
        ));
    }
    let probe = probe.filter(|p| p.answered)?;
    let facts = BoardFacts::from_evidence(Some(probe), None);
    let verdict = oasis_engine::diag::compat::check(&PackageFacts::from_package(&pkg), &facts);
    let model = verdict
        .checks
        .iter()
        .find(|c| c.name == "model" && c.status == oasis_engine::diag::compat::Level::Red)?;
    Some(refusal(
        format!(
            "{}. Nothing was written: the board still runs its firmware.",
            model.reason.trim_end_matches('.')
        ),
        "Open the firmware package made for this module (its name starts with the module's revision).",
    ))
}

/// Check, then start a flash job (thread `oasis-start-<job>`) on the board's link on `bus`.
pub(super) fn start_job(
    bus: &BusHandle,
    job: FlashJob,
    target: Target,
    mode: BoardMode,
    jobs: &Jobs,
    reply: &Reply,
) {
    let id = job.job;
    let probes = if mode == BoardMode::Normal {
        probe_target(bus, &target)
    } else {
        Vec::new()
    };
    let answered = probes.iter().map(|(p, _)| p).find(|p| p.answered);
    let on_hardware = !matches!(
        target,
        Target::Usb {
            is_virtual: true,
            ..
        }
    );
    let refused = start_check(&job.package, on_hardware, answered);
    let mut slots = lock_jobs(jobs);
    let cancelled = matches!(slots.get(&id), Some(JobSlot::Starting { cancelled: true }));
    let stop = refused.or_else(|| {
        cancelled.then(|| ErrorReport {
            kind: ErrorKind::Cancelled,
            message: "Cancelled before the board was touched.".into(),
            hint: None,
            phase: None,
            partition: None,
            device_log: Vec::new(),
        })
    });
    if let Some(report) = stop {
        slots.remove(&id);
        drop(slots);
        reply.send(BackendMsg::Job {
            job: id,
            event: Event::Failed(report),
        });
        return;
    }
    let mut options = engine_options(&job);
    let port = match &target {
        // The COM/tty port where a serial driver holds the board, else libusb; a board in
        // normal mode is found on the bus and switched by the engine.
        Target::Usb { device, .. } => link_for(device),
        Target::Serial(b) => {
            if b.follow_same_port && options.confirm {
                // One wire carries everything (UART adapter, pty): the module's AT commands
                // come back on the port the flash used.
                options.at_port = Some(b.flash_port.clone());
            }
            b.flash_port.clone()
        }
    };
    // What the board ran before, when its AT port said: "did not change" is then told
    // apart from "another revision" after the flash.
    options.previous_revision =
        answered.and_then(|p| p.full_revision.clone().or_else(|| p.revision.clone()));
    let req = FlashRequest::new(&job.package, port)
        .on_bus(bus.clone())
        .with_options(options);
    let to = reply.clone();
    let sink = Box::new(move |event| to.send(BackendMsg::Job { job: id, event }));
    let handle = oasis_engine::spawn_flash(req, sink);
    slots.insert(id, JobSlot::Running(handle));
}
