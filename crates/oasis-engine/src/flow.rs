//! The flash flow: package → plan → connect → Sahara → Firehose → erase/program/verify/patch →
//! reset (→ confirm). Runs on the job's worker thread and reports through the [`Emitter`].
//!
//! Steps run grouped by phase (erases, programs, verification, patches), keeping the package
//! plan's order inside each group; the package orders NAND plans brick-safe (boot loader last).

use oasis_proto::firehose::PowerAction;
use oasis_transport::Transport;
use oasis_vdev::VirtualBoard;

use crate::confirm;
use crate::connect::{self, BroughtUp};
use crate::error::EngineError;
use crate::event::{Phase, Verdict};
use crate::firehose::Firehose;
use crate::options::{FlashRequest, Timeouts};
use crate::pkgmap::{self, Prepared};
use crate::plan::{PhaseChoice, StepOp};
use crate::port;
use crate::progress::Emitter;
use crate::pump::BufferPool;
use crate::steps::{self, VerifyMethod, Written};

/// Run one flash job, opening the port the request names.
pub(crate) fn flash(req: &FlashRequest, em: &mut Emitter) -> Result<Verdict, EngineError> {
    let prep = pkgmap::prepare(req)?;
    announce(req, &prep, em);
    em.start_phase(Phase::Connect, 0);
    let fallback = port::default_profile(&prep.plan.memory, prep.plan.sector_size);
    let opened = port::open(&req.port, fallback, &req.options.timeouts, em)?;
    let _lock = opened.lock;
    run_on(req, &prep, opened.link, opened.board.as_ref(), em)
}

/// Run one flash job over a link the caller opened.
pub(crate) fn flash_on(
    req: &FlashRequest,
    link: Box<dyn Transport>,
    em: &mut Emitter,
) -> Result<Verdict, EngineError> {
    let prep = pkgmap::prepare(req)?;
    announce(req, &prep, em);
    em.start_phase(Phase::Connect, 0);
    em.info(format!("using the link {}", link.describe()));
    run_on(req, &prep, link, None, em)
}

fn choice(req: &FlashRequest) -> PhaseChoice {
    let o = &req.options;
    PhaseChoice {
        identify: true,
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

fn run_on(
    req: &FlashRequest,
    prep: &Prepared,
    link: Box<dyn Transport>,
    board: Option<&VirtualBoard>,
    em: &mut Emitter,
) -> Result<Verdict, EngineError> {
    let t = &req.options.timeouts;
    let c = choice(req);
    let mut link = match &req.options.bundle {
        Some(path) => {
            em.info(format!("recording the session to {}", path.display()));
            port::record(link, path)?
        }
        None => link,
    };
    em.info(format!("connected to {}", link.describe()));
    let up = connect::bring_up(&mut *link, &prep.programmer, c.identify, t, em)?;
    let mut fh = configure(link, &up, prep, t, em)?;
    let written = run_steps(&mut fh, prep, c.verify, t, em)?;
    let verified = if c.verify {
        verify_all(&mut fh, prep, &written, t, em)?
    } else {
        Vec::new()
    };
    run_patches(&mut fh, prep, t, em)?;
    let mut verdict = Verdict {
        summary: String::new(),
        verified,
        skipped: Vec::new(),
        bytes: em.bytes_written(),
        seconds: 0.0,
        confirmed: false,
        running_revision: None,
    };
    if c.reset {
        em.start_phase(Phase::Reset, 0);
        steps::reset(&mut fh, em, PowerAction::Reset, t)?;
        if c.confirm {
            em.start_phase(Phase::Confirm, 0);
            let running = confirm::confirm(req, prep, board, em)?;
            verdict.confirmed = true;
            verdict.running_revision = Some(running);
        }
    }
    verdict.summary = summary(&verdict, c, req.options.no_reset);
    verdict.seconds = em.elapsed();
    Ok(verdict)
}

fn summary(v: &Verdict, c: PhaseChoice, no_reset: bool) -> String {
    let written = if c.verify {
        "verified"
    } else {
        "written (not verified)"
    };
    if no_reset {
        format!("{written}; the board stays in download mode (--no-reset)")
    } else if v.confirmed {
        format!(
            "{written} and confirmed running {}",
            v.running_revision.as_deref().unwrap_or("the new firmware")
        )
    } else {
        format!("{written}, not yet confirmed running")
    }
}

fn configure(
    link: Box<dyn Transport>,
    up: &BroughtUp,
    prep: &Prepared,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Firehose, EngineError> {
    em.start_phase(Phase::Configure, 0);
    let mut fh = Firehose::new(link, &up.pending, t.command, em.cancel_flag());
    let first = if up.already_running {
        t.idle_window
    } else {
        t.command.min(std::time::Duration::from_secs(1))
    };
    let startup = fh.drain_startup(em, first, t.idle_window, t.configure)?;
    if startup.supported.is_empty() {
        em.info("the programmer did not list its functions");
    } else {
        em.info(format!(
            "programmer functions: {}",
            startup.supported.join(" ")
        ));
    }
    let n = fh.configure(em, &prep.plan.memory, prep.plan.sector_size, t.configure)?;
    em.info(format!(
        "configured for {}: {}-byte payload{}",
        n.memory_name.as_deref().unwrap_or(&prep.plan.memory),
        n.payload,
        n.target_name
            .as_deref()
            .map(|s| format!(", target {s}"))
            .unwrap_or_default()
    ));
    let payload = usize::try_from(n.payload).unwrap_or(usize::MAX);
    fh.set_session(payload, VerifyMethod::choose(&startup.supported));
    Ok(fh)
}

/// Erase (and vendor) steps, then program steps; returns what each program step wrote.
fn run_steps(
    fh: &mut Firehose,
    prep: &Prepared,
    verify: bool,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Vec<Written>, EngineError> {
    let plan = &prep.plan;
    let last_critical = plan.last_critical();
    if plan.steps_of(Phase::Erase).next().is_some() {
        em.start_phase(Phase::Erase, 0);
        for (i, step) in plan.steps_of(Phase::Erase) {
            em.check_cancel()?;
            em.set_partition(Some(&step.label));
            if step.critical {
                em.set_critical(true);
            }
            steps::run_simple(fh, em, step, t)?;
            if Some(i) == last_critical {
                em.set_critical(false);
            }
        }
    }
    let mut written = Vec::new();
    if plan.steps_of(Phase::Program).next().is_none() {
        return Ok(written);
    }
    em.start_phase(Phase::Program, plan.total_bytes());
    let mut pool = BufferPool::default();
    for (i, step) in plan.steps_of(Phase::Program) {
        em.check_cancel()?;
        em.set_partition(Some(&step.label));
        if step.critical {
            em.set_critical(true);
        }
        let digest = steps::run_program(fh, em, step, verify, &mut pool, t)?;
        if let Some(sha256) = digest {
            written.push(Written { index: i, sha256 });
        }
        if Some(i) == last_critical {
            em.set_critical(false);
        }
    }
    Ok(written)
}

fn verify_all(
    fh: &mut Firehose,
    prep: &Prepared,
    written: &[Written],
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Vec<String>, EngineError> {
    if written.is_empty() {
        return Ok(Vec::new());
    }
    em.start_phase(Phase::Verify, prep.plan.total_bytes());
    let mut method = fh.verify_method();
    let mut verified = Vec::new();
    for w in written {
        em.check_cancel()?;
        let Some(step) = prep.plan.steps.get(w.index) else {
            continue;
        };
        em.set_partition(Some(&step.label));
        method = steps::verify(fh, em, step, &w.sha256, method, t)?;
        verified.push(step.label.clone());
    }
    if method == VerifyMethod::ReadBack {
        em.info("verified by reading the data back (the programmer has no getsha256digest)");
    }
    Ok(verified)
}

fn run_patches(
    fh: &mut Firehose,
    prep: &Prepared,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<(), EngineError> {
    if prep.plan.steps_of(Phase::Patch).next().is_none() {
        return Ok(());
    }
    em.start_phase(Phase::Patch, 0);
    for (_, step) in prep.plan.steps_of(Phase::Patch) {
        em.check_cancel()?;
        em.set_partition(Some(&step.label));
        if matches!(step.op, StepOp::SetBootable) {
            em.info(format!(
                "marking physical partition {} bootable",
                step.physical_partition
            ));
        }
        steps::run_simple(fh, em, step, t)?;
    }
    Ok(())
}
