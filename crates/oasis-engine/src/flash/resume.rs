//! Pre-verify (resume): before anything is erased or written, ask the board for the SHA-256 of
//! each program step's range and skip the steps whose range already holds the package's bytes,
//! so a flash cut short by a cable or power fault finishes where it stopped.
//!
//! The plan `info` shows never changes; only which steps run. An erase that precedes a program
//! step on the same region (NAND's safe order erases first) destroys what the check saw, so a
//! program step qualifies only when every erase overlapping it overlaps no other program step:
//! then that erase is skipped together with it. Vendor lines (unknown ranges) switch resume off.

use std::collections::BTreeSet;
use std::io::Read;

use sha2::{Digest, Sha256};

use crate::error::EngineError;
use crate::firehose::Firehose;
use crate::options::Timeouts;
use crate::plan::{JobPlan, Step, StepOp};
use crate::progress::Emitter;
use crate::steps;

/// Which steps a resumed flash leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Resume {
    /// Plan indices of the steps not to run (program steps and their erases).
    pub skip: BTreeSet<usize>,
    /// Labels of the program steps skipped, in plan order.
    pub skipped: Vec<String>,
}

/// A step's sector range on its physical partition: (lun, start, end); `end` None = to the
/// end; `start` None = unknown (an expression), which overlaps everything on the LUN.
type Range = (u32, Option<u64>, Option<u64>);

fn range(s: &Step) -> Range {
    let start = s
        .start_sector
        .as_deref()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let end = match (start, s.sectors) {
        (Some(a), Some(n)) => Some(a.saturating_add(n)),
        _ => None,
    };
    (s.physical_partition, start, end)
}

fn overlaps(a: Range, b: Range) -> bool {
    if a.0 != b.0 {
        return false;
    }
    match (a.1, b.1) {
        (Some(a_start), Some(b_start)) => {
            a.2.is_none_or(|a_end| a_end > b_start) && b.2.is_none_or(|b_end| b_end > a_start)
        }
        _ => true,
    }
}

/// Program steps that may be checked, each with the erase steps skipped along with it.
pub(crate) fn candidates(plan: &JobPlan) -> Vec<(usize, Vec<usize>)> {
    let erases: Vec<(usize, Range)> = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.op, StepOp::Erase))
        .map(|(i, s)| (i, range(s)))
        .collect();
    let programs: Vec<(usize, Range)> = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.op, StepOp::Program(_)))
        .map(|(i, s)| (i, range(s)))
        .collect();
    programs
        .iter()
        .filter(|(_, r)| r.1.is_some())
        .filter_map(|&(i, r)| {
            let mine: Vec<usize> = erases
                .iter()
                .filter(|(_, e)| overlaps(*e, r))
                .map(|(j, _)| *j)
                .collect();
            let exclusive = mine.iter().all(|j| {
                let e = erases.iter().find(|(k, _)| k == j).map(|(_, e)| *e);
                e.is_some_and(|e| {
                    programs
                        .iter()
                        .all(|(k, other)| *k == i || !overlaps(e, *other))
                })
            });
            exclusive.then_some((i, mine))
        })
        .collect()
}

fn expected_digest(step: &Step) -> Result<Option<[u8; 32]>, EngineError> {
    let StepOp::Program(data) = &step.op else {
        return Ok(None);
    };
    let mut reader = data.reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| EngineError::Io {
            file: step.label.clone(),
            source: e,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(Some(hasher.finalize().into()))
}

/// Check every candidate on the board; `supported` is the programmer's function list.
pub fn check(
    fh: &mut Firehose,
    plan: &JobPlan,
    supported: &[String],
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Resume, EngineError> {
    let mut out = Resume::default();
    let lists = |tag: &str| supported.iter().any(|f| f.eq_ignore_ascii_case(tag));
    // Without getsha256digest the board's bytes are read back and hashed here (on NAND with
    // PAGES_PER_BLOCK, like every read).
    let read_back = !supported.is_empty() && !lists("getsha256digest");
    if read_back && !lists("read") {
        em.info("resume: the programmer has neither getsha256digest nor read, so every step runs");
        return Ok(out);
    }
    if read_back {
        em.info("resume: the programmer has no getsha256digest; reading the partitions back");
    }
    if plan
        .steps
        .iter()
        .any(|s| matches!(s.op, StepOp::Vendor { .. }))
    {
        em.info("resume: the plan has vendor erase lines of unknown range, so every step runs");
        return Ok(out);
    }
    for (i, erases) in candidates(plan) {
        em.check_cancel()?;
        let Some(step) = plan.steps.get(i) else {
            continue;
        };
        let Some(want) = expected_digest(step)? else {
            continue;
        };
        em.set_partition(Some(&step.label));
        let asked = if read_back {
            steps::read_back(fh, em, step, t, false).map(Some)
        } else {
            steps::board_digest(fh, em, step, t)
        };
        let got = match asked {
            Ok(Some(d)) => d,
            Ok(None) => {
                em.info(
                    "resume: the programmer logs no readable digest, so every remaining step runs",
                );
                break;
            }
            Err(EngineError::Nak { .. }) => {
                em.info("resume: the programmer refused the check, so every remaining step runs");
                break;
            }
            Err(e) => return Err(e),
        };
        if got == want {
            em.info(format!(
                "resume: '{}' already holds the package's bytes; not written again",
                step.label
            ));
            out.skip.insert(i);
            out.skip.extend(erases);
            out.skipped.push(step.label.clone());
        }
    }
    em.set_partition(None);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_package::data::ProgramData;

    fn step(op: StepOp, start: &str, sectors: Option<u64>) -> Step {
        Step {
            op,
            label: format!("at {start}"),
            sector_size: 2048,
            physical_partition: 0,
            start_sector: Some(start.into()),
            sectors,
            extra: vec![],
            destructive: None,
            critical: false,
        }
    }

    fn program(start: &str, sectors: u64) -> Step {
        step(
            StepOp::Program(ProgramData {
                pieces: vec![],
                total_bytes: sectors * 2048,
            }),
            start,
            Some(sectors),
        )
    }

    #[test]
    fn an_erase_of_exactly_one_program_region_goes_with_it() {
        let plan = JobPlan {
            steps: vec![
                step(StepOp::Erase, "100", Some(50)),
                step(StepOp::Erase, "200", Some(100)),
                program("100", 20),
                program("200", 10),
                program("250", 10),
                program("400", 5),
            ],
            memory: "nand".into(),
            sector_size: 2048,
        };
        let c = candidates(&plan);
        // 2 pairs with erase 0; 3 and 4 share erase 1, so neither qualifies; 5 has no erase.
        assert_eq!(c, vec![(2, vec![0]), (5, vec![])]);
    }

    #[test]
    fn a_whole_disk_erase_or_an_expression_start_disqualifies() {
        let plan = JobPlan {
            steps: vec![
                step(StepOp::Erase, "0", None),
                program("100", 20),
                program("300", 20),
            ],
            memory: "nand".into(),
            sector_size: 2048,
        };
        assert!(candidates(&plan).is_empty());
        let plan = JobPlan {
            steps: vec![program("NUM_DISK_SECTORS-33.", 33), program("0", 1)],
            memory: "emmc".into(),
            sector_size: 512,
        };
        assert_eq!(candidates(&plan), vec![(1, vec![])]);
    }
}
