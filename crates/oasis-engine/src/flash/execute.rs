//! Running a job plan on a configured programmer: erases, programs (minus the steps a resume
//! check skipped), verification of what was written, then patches. Shared by flash and
//! restore jobs.

use crate::error::EngineError;
use crate::event::Phase;
use crate::firehose::Firehose;
use crate::options::Timeouts;
use crate::plan::{JobPlan, StepOp};
use crate::progress::Emitter;
use crate::pump::BufferPool;
use crate::resume::Resume;
use crate::steps::{self, VerifyMethod, Written};

/// Run every step of `plan` except those `resume` skips; returns the labels verified.
pub fn execute(
    fh: &mut Firehose,
    plan: &JobPlan,
    verify: bool,
    resume: &Resume,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Vec<String>, EngineError> {
    refuse_unoffered(fh, plan, resume)?;
    let written = run_steps(fh, plan, verify, resume, t, em)?;
    let verified = if verify {
        verify_all(fh, plan, &written, t, em)?
    } else {
        Vec::new()
    };
    run_patches(fh, plan, t, em)?;
    Ok(verified)
}

/// The Firehose tag a step sends.
fn step_tag(op: &StepOp) -> &str {
    match op {
        StepOp::Erase => "erase",
        StepOp::Program(_) => "program",
        StepOp::Patch { .. } => "patch",
        StepOp::SetBootable => "setbootablestoragedrive",
        StepOp::Vendor { tag, .. } => tag,
    }
}

/// A plan step whose command the programmer did not announce is refused before anything is
/// written (never half a plan, then a refusal).
fn refuse_unoffered(fh: &Firehose, plan: &JobPlan, resume: &Resume) -> Result<(), EngineError> {
    let missing = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| !resume.skip.contains(i))
        .map(|(_, s)| (s, step_tag(&s.op)))
        .find(|(_, tag)| !fh.offers(tag));
    match missing {
        None => Ok(()),
        Some((step, tag)) => Err(EngineError::Refused {
            reason: format!(
                "the package needs <{tag}> (step '{}'), but the programmer does not offer it: it \
                 announced only {}; nothing was written",
                step.label,
                fh.announced().join(" ")
            ),
            help: "use the programmer made for this package (with --programmer), or a package \
                   without this step"
                .to_owned(),
        }),
    }
}

fn run_erases(
    fh: &mut Firehose,
    plan: &JobPlan,
    resume: &Resume,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<(), EngineError> {
    let last_critical = plan.last_critical();
    if plan.steps_of(Phase::Erase).next().is_none() {
        return Ok(());
    }
    em.start_phase(Phase::Erase, 0);
    for (i, step) in plan.steps_of(Phase::Erase) {
        if resume.skip.contains(&i) {
            if Some(i) == last_critical {
                em.set_critical(false);
            }
            continue;
        }
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
    Ok(())
}

/// Erase (and vendor) steps, then program steps; returns what each program step wrote.
fn run_steps(
    fh: &mut Firehose,
    plan: &JobPlan,
    verify: bool,
    resume: &Resume,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Vec<Written>, EngineError> {
    run_erases(fh, plan, resume, t, em)?;
    let last_critical = plan.last_critical();
    let mut written = Vec::new();
    if plan.steps_of(Phase::Program).next().is_none() {
        return Ok(written);
    }
    em.start_phase(Phase::Program, plan.total_bytes());
    let mut pool = BufferPool::default();
    for (i, step) in plan.steps_of(Phase::Program) {
        em.check_cancel()?;
        if resume.skip.contains(&i) {
            // Already on the board: the bar moves past it at once.
            em.advance(step.bytes());
            if Some(i) == last_critical {
                em.set_critical(false);
            }
            continue;
        }
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
    plan: &JobPlan,
    written: &[Written],
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Vec<String>, EngineError> {
    if written.is_empty() {
        return Ok(Vec::new());
    }
    let total = written
        .iter()
        .filter_map(|w| plan.steps.get(w.index))
        .map(|s| s.bytes())
        .sum();
    em.start_phase(Phase::Verify, total);
    let mut method = fh.verify_method();
    let mut verified = Vec::new();
    for w in written {
        em.check_cancel()?;
        let Some(step) = plan.steps.get(w.index) else {
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
    plan: &JobPlan,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<(), EngineError> {
    if plan.steps_of(Phase::Patch).next().is_none() {
        return Ok(());
    }
    em.start_phase(Phase::Patch, 0);
    for (_, step) in plan.steps_of(Phase::Patch) {
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
