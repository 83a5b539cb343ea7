//! The flash flow: package → plan → connect → Sahara → Firehose → (backup) → (resume check) →
//! erase/program/verify/patch → reset → (confirm). Runs on the job's worker thread and reports
//! through the [`Emitter`].
//!
//! Steps run grouped by phase (erases, programs, verification, patches), keeping the package
//! plan's order inside each group; the package orders NAND plans brick-safe (boot loader last).

use std::path::Path;

use oasis_proto::firehose::PowerAction;
use oasis_transport::{Claim, Transport};

use crate::backup::{self, BackupContext};
use crate::confirm::{self, Follow};
use crate::diag::at::AtProbe;
use crate::error::EngineError;
use crate::event::{Phase, Verdict};
use crate::execute::execute;
use crate::options::FlashRequest;
use crate::pkgmap::{self, Prepared};
use crate::plan::PhaseChoice;
use crate::port;
use crate::progress::Emitter;
use crate::resume::{self, Resume};
use crate::session;
use crate::steps;

/// Where a job's session transcript goes (support bundles), if anywhere.
pub(crate) type Transcript<'a> = Option<&'a Path>;

/// Run one flash job, opening the port the request names on the request's bus; a board in
/// normal mode is switched to download mode first, inside the Connect phase.
pub(crate) fn flash(
    req: &FlashRequest,
    em: &mut Emitter,
    rec: Transcript<'_>,
) -> Result<Verdict, EngineError> {
    let prep = pkgmap::prepare(req)?;
    announce(req, &prep, em);
    em.start_phase(Phase::Connect, 0);
    let fallback = port::default_profile(&prep.plan.memory, prep.plan.sector_size);
    // Refuse `--at-port virtual` for a port that is not a virtual board before anything opens.
    let (_, aliased) = port::resolve(&req.bus, &req.port, fallback)?;
    refuse_virtual_follow(req, aliased)?;
    let check = |p: &AtProbe| crate::refuse::other_model(&prep.facts, p);
    let opened = port::open_checked(
        &req.bus,
        &req.port,
        fallback,
        &req.options.timeouts,
        em,
        &check,
    )?;
    if req.options.demo_only_on_virtual {
        crate::refuse::demo_on_hardware(prep.demo, opened.simulated)?;
    }
    let target = Target {
        port: opened.resolved.unwrap_or_else(|| req.port.clone()),
        aliased,
        claim: opened.claim,
        before: opened.before,
    };
    run_on(req, &prep, opened.link, target, rec, em)
}

/// What else the job holds besides the link: where the board is (to follow it after the
/// reset), and the claim on the port (released once the board has been reset).
struct Target {
    /// The port as the bus resolved it.
    port: String,
    /// Whether the bus gave the request's name its meaning (a virtual board).
    aliased: bool,
    claim: Option<Box<dyn Claim>>,
    /// What the module said on AT before it was switched to download mode.
    before: Option<AtProbe>,
}

/// `--at-port virtual` follows a virtual board only: say so before anything is written
/// rather than after.
fn refuse_virtual_follow(req: &FlashRequest, have_board: bool) -> Result<(), EngineError> {
    let wants = req
        .options
        .at_port
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("virtual"));
    if wants && !have_board && !req.options.no_reset {
        return Err(EngineError::BadInput {
            what: format!(
                "--at-port virtual follows a virtual board, but {} is not one",
                req.port
            ),
            help: Some(
                "name the module's AT port (e.g. /dev/ttyUSB2, or the same pty link for `oasis-cli emulate`)"
                    .to_owned(),
            ),
        });
    }
    Ok(())
}

fn choice(req: &FlashRequest) -> PhaseChoice {
    let o = &req.options;
    PhaseChoice {
        identify: !o.no_identity,
        backup: o.backup.is_some(),
        verify: o.verify,
        reset: !o.no_reset,
        confirm: o.confirm || o.at_port.is_some(),
    }
}

fn announce(req: &FlashRequest, prep: &Prepared, em: &mut Emitter) {
    let c = choice(req);
    let phases = prep.plan.phases(c, prep.programmer.bytes.len() as u64);
    em.plan_ready(
        phases,
        prep.plan.step_count(c.reset),
        prep.plan.total_bytes(),
    );
    for note in &prep.notes {
        em.info(note.clone());
    }
}

fn take_backup(
    s: &mut session::Session,
    req: &FlashRequest,
    prep: &Prepared,
    imei: Option<String>,
    em: &mut Emitter,
) -> Result<(), EngineError> {
    let Some(dir) = &req.options.backup else {
        return Ok(());
    };
    let ctx = BackupContext {
        table: prep.table.as_ref(),
        memory: &prep.plan.memory,
        sector_size: prep.plan.sector_size,
        pages_per_block: prep.pages_per_block,
        programmer: &prep.programmer,
        package: Some(prep.root.display().to_string()),
        imei,
    };
    backup::take(s, &ctx, dir, &req.options.timeouts, em).map(|_| ())
}

/// The revision the board ran before this flash, when anything tells: the caller, or the
/// module's AT port before it was switched.
fn previous_revision(req: &FlashRequest, before: Option<&AtProbe>) -> Option<String> {
    req.options
        .previous_revision
        .clone()
        .or_else(|| before.and_then(|p| p.full_revision.clone().or_else(|| p.revision.clone())))
}

fn run_on(
    req: &FlashRequest,
    prep: &Prepared,
    link: Box<dyn Transport>,
    target: Target,
    rec: Transcript<'_>,
    em: &mut Emitter,
) -> Result<Verdict, EngineError> {
    let t = &req.options.timeouts;
    let c = choice(req);
    // The revision before the flash tells "did not change" apart from "another revision".
    let previous = previous_revision(req, target.before.as_ref());
    let imei = target.before.as_ref().and_then(|p| p.imei.clone());
    let link = match rec {
        Some(path) => port::record(link, path)?,
        None => link,
    };
    em.info(format!("connected to {}", link.describe()));
    let memory = prep.plan.memory.clone();
    let mut s = session::start_with(
        link,
        &prep.programmer,
        &memory,
        prep.plan.sector_size,
        c.identify,
        req.options.zlp,
        t,
        em,
    )?;
    session::nand_reads(&mut s.fh, &memory, prep.pages_per_block, em);
    take_backup(&mut s, req, prep, imei, em)?;
    let resume = if req.options.resume {
        resume::check(&mut s.fh, &prep.plan, &s.supported, t, em)?
    } else {
        Resume::default()
    };
    let verified = execute(&mut s.fh, &prep.plan, c.verify, &resume, t, em)?;
    let mut verdict = Verdict {
        summary: String::new(),
        verified,
        skipped: resume.skipped.clone(),
        bytes: em.bytes_written(),
        seconds: 0.0,
        confirmed: false,
        running_revision: None,
    };
    if c.reset {
        let running = reset_and_follow(req, prep, s, target, previous.as_deref(), em)?;
        verdict.confirmed = running.is_some();
        verdict.running_revision = running;
    }
    verdict.summary = summary(&verdict, c, req.options.no_reset);
    verdict.seconds = em.elapsed();
    Ok(verdict)
}

/// Reset the board, let go of its port, and (when asked) follow it to its AT port; returns
/// the revision it was confirmed running.
fn reset_and_follow(
    req: &FlashRequest,
    prep: &Prepared,
    mut s: session::Session,
    target: Target,
    previous: Option<&str>,
    em: &mut Emitter,
) -> Result<Option<String>, EngineError> {
    let t = &req.options.timeouts;
    em.start_phase(Phase::Reset, 0);
    steps::reset(&mut s.fh, em, PowerAction::Reset, t)?;
    let early = s.fh.take_buffered();
    // Close the download-mode link and release the port first: the AT port may be the same
    // serial device, and the board that comes back is not in download mode.
    drop(s);
    drop(target.claim);
    if !choice(req).confirm {
        return Ok(None);
    }
    em.start_phase(Phase::Confirm, 0);
    let follow = Follow {
        at_port: req.options.at_port.as_deref(),
        port: &target.port,
        aliased: target.aliased,
        bus: &req.bus,
        previous,
        wait: t.boot,
        early: &early,
    };
    confirm::confirm(&follow, prep, em).map(Some)
}

fn summary(v: &Verdict, c: PhaseChoice, no_reset: bool) -> String {
    let written = if c.verify {
        "verified"
    } else {
        "written (not verified)"
    };
    let resumed = if v.skipped.is_empty() {
        String::new()
    } else {
        format!(
            " ({} partition(s) already on the board were skipped)",
            v.skipped.len()
        )
    };
    if no_reset {
        format!("{written}{resumed}; the board stays in download mode (--no-reset)")
    } else if v.confirmed {
        format!(
            "{written}{resumed}; running {}, confirmed",
            v.running_revision.as_deref().unwrap_or("the new firmware")
        )
    } else {
        format!("{written}{resumed}, not yet confirmed running")
    }
}
