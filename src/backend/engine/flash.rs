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

use super::super::engine_boards::probe_virtual_locked;
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

/// Check, then start a flash job (thread `oasis-start-<job>`): a virtual board's ports are
/// waited for (probes finish first) and then kept for the job until its terminal event.
pub(super) fn start_job(
    job: FlashJob,
    target: Target,
    mode: BoardMode,
    jobs: &Jobs,
    reply: &Reply,
) {
    let id = job.job;
    let normal = mode == BoardMode::Normal;
    let refused = match &target {
        Target::Virtual(v) => {
            let _session = v.port.wait();
            let probe = if normal {
                probe_virtual_locked(v)
            } else {
                None
            };
            let refused = start_check(&job.package, false, probe.as_ref());
            if refused.is_none() {
                v.port.set_flashing(true);
            }
            refused
        }
        Target::Real(_) | Target::Serial(_) => {
            let probes = if normal {
                probe_target(&target)
            } else {
                Vec::new()
            };
            let answered = probes.iter().map(|(p, _)| p).find(|p| p.answered);
            start_check(&job.package, true, answered)
        }
    };
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
        if let (Target::Virtual(v), true) = (&target, cancelled) {
            v.port.set_flashing(false);
        }
        reply.send(BackendMsg::Job {
            job: id,
            event: Event::Failed(report),
        });
        return;
    }
    let to = reply.clone();
    let handle = match target {
        Target::Virtual(v) => {
            // The board on a virtual bus under its id: the engine finds it on that bus's USB
            // listing and takes the path it takes with a module.
            let bus = oasis_vdev::bus::with_board(&v.board, &v.id);
            let req = FlashRequest::new(&job.package, v.id.clone())
                .on_bus(bus.handle())
                .with_options(engine_options(&job));
            let guard = v.port.clone();
            let sink = Box::new(move |event: Event| {
                if event.is_terminal() {
                    guard.set_flashing(false);
                }
                to.send(BackendMsg::Job { job: id, event });
            });
            oasis_engine::spawn_flash(req, sink)
        }
        Target::Real(d) => {
            let req =
                FlashRequest::new(&job.package, link_for(&d)).with_options(engine_options(&job));
            let sink = Box::new(move |event| to.send(BackendMsg::Job { job: id, event }));
            oasis_engine::spawn_flash(req, sink)
        }
        Target::Serial(b) => {
            let mut options = engine_options(&job);
            if b.follow_same_port && options.confirm {
                // One wire carries everything (UART adapter, pty): the module's AT commands
                // come back on the port the flash used.
                options.at_port = Some(b.flash_port.clone());
            }
            let req = FlashRequest::new(&job.package, b.flash_port.clone()).with_options(options);
            let sink = Box::new(move |event| to.send(BackendMsg::Job { job: id, event }));
            oasis_engine::spawn_flash(req, sink)
        }
    };
    slots.insert(id, JobSlot::Running(handle));
}
