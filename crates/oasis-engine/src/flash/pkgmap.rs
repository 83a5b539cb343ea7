//! From a package on disk to a job: open it with `oasis_package`, refuse what must be refused
//! before a port is even opened (missing images, md5 mismatch, NPRG programmer, destructive
//! steps), and map its plan onto the engine's [`JobPlan`].

use oasis_package::programmer::ProgrammerKind;
use std::path::PathBuf;
use std::sync::Arc;

use oasis_package::{OpenOptions, Package, PartitionTable, PlanStep};

use crate::connect::{MAX_PROGRAMMER, ProgrammerImage};
use crate::error::EngineError;
use crate::options::{FlashOptions, FlashRequest};
use crate::plan::{JobPlan, Step, StepOp};

/// A package made ready for a job.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The device steps.
    pub plan: JobPlan,
    /// The programmer to upload.
    pub programmer: ProgrammerImage,
    /// Firmware revision (`EG25GGBR07A08M2G`), when the package name tells.
    pub revision: Option<String>,
    /// Application version (`30.006.30.006`), when the package name tells.
    pub version: Option<String>,
    /// Facts worth an `Info` event (choices, warnings, skipped checks).
    pub notes: Vec<String>,
    /// The package's partition table (MIBIB, partition_nand.xml or rawprogram labels).
    pub table: Option<PartitionTable>,
    /// Pages per erase block (NAND), when the package tells.
    pub pages_per_block: Option<u32>,
    /// The package's root folder.
    pub root: PathBuf,
    /// What the compatibility check knows of the package (model, revision, programmer).
    pub facts: crate::diag::compat::PackageFacts,
    /// Oasis's demo package (goes onto virtual boards only).
    pub demo: bool,
    /// The package, kept open: a zip's unpacked folder lives as long as it does.
    _package: Arc<Package>,
}

/// Open the package of `req` and check everything that can be checked without a board.
pub(crate) fn prepare(req: &FlashRequest) -> Result<Prepared, EngineError> {
    let opts = &req.options;
    let mut open = OpenOptions::default();
    open.programmer.clone_from(&opts.programmer);
    open.rawprogram.clone_from(&opts.rawprogram);
    // The package the caller opened is the one the user saw and checked: it is used as it is,
    // unless the options change what is opened or a file of it changed on disk since.
    let kept = (opts.programmer.is_none() && opts.rawprogram.is_none())
        .then_some(req.opened.as_ref())
        .flatten();
    let reopened = kept.and_then(|p| p.changed_on_disk());
    let pkg = match kept {
        Some(p) if reopened.is_none() => Arc::clone(p),
        _ => Arc::new(Package::open(&req.package, &open)?),
    };
    let mut notes: Vec<String> = pkg
        .choices
        .iter()
        .map(|c| format!("{}: {} ({})", c.what, c.chosen, c.reason))
        .collect();
    if let Some(file) = reopened {
        notes.push(format!(
            "{} changed on disk since the package was opened: the package was opened and checked again",
            file.display()
        ));
    }
    notes.extend(pkg.warnings.iter().cloned());
    refuse_missing(&pkg)?;
    refuse_oversized(&pkg)?;
    refuse_md5(&pkg, opts, &mut notes)?;
    let programmer = load_programmer(&pkg, &mut notes)?;
    refuse_destructive(&pkg, opts)?;
    let plan = job_plan(&pkg, &mut notes)?;
    let demo = crate::refuse::is_demo_programmer(&programmer.bytes);
    Ok(Prepared {
        plan,
        programmer,
        revision: pkg.revision().map(str::to_owned),
        version: pkg.version().map(str::to_owned),
        notes,
        table: pkg.partitions.clone(),
        pages_per_block: pkg.pages_per_block,
        root: pkg.root.clone(),
        facts: crate::diag::compat::PackageFacts::from_package(&pkg),
        demo,
        _package: pkg,
    })
}

/// An image larger than its partition would overwrite whatever follows it (on eMMC/UFS that
/// can be modemst, fsg or persist: the calibration): refused before anything is written.
fn refuse_oversized(pkg: &Package) -> Result<(), EngineError> {
    let Some(first) = pkg.oversized.first() else {
        return Ok(());
    };
    let label = first
        .label
        .as_deref()
        .map_or_else(|| "(no label)".to_owned(), |l| format!("'{l}'"));
    let more = match pkg.oversized.len() {
        1 => String::new(),
        n => format!(" ({} more image(s) are too large as well)", n - 1),
    };
    Err(EngineError::BadInput {
        what: format!(
            "{} is {} bytes, larger than its partition {label} ({} bytes, {}:{}); writing it \
             would overwrite what follows the partition{more}",
            first.file, first.image_bytes, first.partition_bytes, first.xml, first.line
        ),
        help: Some(
            "use the image made for this package (or a rawprogram XML whose partition fits it); \
             nothing was written"
                .to_owned(),
        ),
    })
}

fn refuse_missing(pkg: &Package) -> Result<(), EngineError> {
    if pkg.missing_images.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = pkg
        .missing_images
        .iter()
        .take(6)
        .map(|m| format!("{} ({}:{})", m.path, m.xml, m.line))
        .collect();
    let more = pkg.missing_images.len().saturating_sub(names.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Err(EngineError::BadInput {
        what: format!(
            "{} image(s) the plan needs are missing from the package: {}{more}",
            pkg.missing_images.len(),
            names.join(", ")
        ),
        help: Some(
            "unpack the complete firmware package again (every file its rawprogram XML names must be there)"
                .to_owned(),
        ),
    })
}

fn refuse_md5(
    pkg: &Package,
    opts: &FlashOptions,
    notes: &mut Vec<String>,
) -> Result<(), EngineError> {
    let bad: Vec<String> = pkg
        .md5
        .mismatches()
        .map(|e| match &e.status {
            oasis_package::md5sum::Md5Status::Mismatch { expected, actual } => {
                format!("{} (md5.txt says {expected}, the file is {actual})", e.path)
            }
            _ => e.path.clone(),
        })
        .collect();
    if bad.is_empty() {
        if pkg.md5.file.is_none() {
            notes.push("the package has no md5.txt: file integrity not checked".to_owned());
        }
        return Ok(());
    }
    if opts.skip_md5 {
        notes.push(format!(
            "md5.txt mismatches ignored (--skip-md5): {}",
            bad.join(", ")
        ));
        return Ok(());
    }
    Err(EngineError::Refused {
        reason: format!(
            "{} file(s) do not match md5.txt: {}",
            bad.len(),
            bad.join(", ")
        ),
        help: "the package is damaged or was altered: download it again (--skip-md5 flashes it anyway)"
            .to_owned(),
    })
}

pub(crate) fn load_programmer(
    pkg: &Package,
    notes: &mut Vec<String>,
) -> Result<ProgrammerImage, EngineError> {
    let Some(info) = &pkg.programmer else {
        return Err(EngineError::BadInput {
            what: format!("no Firehose programmer found in {}", pkg.root.display()),
            help: Some(
                "name the programmer (prog_firehose_*.mbn / .elf) with --programmer FILE"
                    .to_owned(),
            ),
        });
    };
    let name = pkg.relative(&info.path);
    if let Some(id) = &info.identity {
        match id.kind {
            ProgrammerKind::Firehose => {}
            ProgrammerKind::Nprg | ProgrammerKind::Enprg => {
                return Err(EngineError::Refused {
                    reason: format!(
                        "{name} is a streaming-download programmer ({}), not a Firehose programmer",
                        id.kind_evidence
                    ),
                    help: "use the Firehose programmer (prog_*firehose*.mbn / .elf) of the package, or name one with --programmer"
                        .to_owned(),
                });
            }
            _ => notes.push(format!(
                "could not tell whether {name} is a Firehose programmer ({})",
                id.kind_evidence
            )),
        }
        if !id.signed {
            notes.push(format!(
                "{name} is unsigned: only boards without secure boot accept it"
            ));
        }
    } else if let Some(err) = &info.error {
        notes.push(format!("{name} could not be identified: {err}"));
    }
    let len = std::fs::metadata(&info.path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_PROGRAMMER {
        return Err(EngineError::BadInput {
            what: format!("{name} is {len} bytes: too large to be a programmer"),
            help: Some("name the programmer file with --programmer".to_owned()),
        });
    }
    let bytes = std::fs::read(&info.path).map_err(|e| EngineError::Io {
        file: name.clone(),
        source: e,
    })?;
    Ok(ProgrammerImage {
        name,
        bytes,
        identity: info.identity.clone(),
    })
}

fn refuse_destructive(pkg: &Package, opts: &FlashOptions) -> Result<(), EngineError> {
    // A backup taken in this job, before anything is erased, is the fresh backup that makes a
    // destructive plan acceptable; without one the user must say so explicitly.
    if opts.allow_full_erase || opts.backup.is_some() {
        return Ok(());
    }
    let found: Vec<String> = pkg
        .plan
        .iter()
        .filter_map(|s| {
            s.destructive
                .as_ref()
                .map(|why| format!("'{}': {why}", s.label))
        })
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    Err(EngineError::Refused {
        reason: format!(
            "the plan destroys data the package does not rewrite: {}",
            found.join("; ")
        ),
        help: "flash with --backup DIR to back up the board's calibration (EFS/NV) first (restore it with `oasis-cli restore`), or pass --allow-full-erase to flash without a backup"
            .to_owned(),
    })
}

pub(crate) fn memory_name(pkg: &Package, sector_size: u32, notes: &mut Vec<String>) -> String {
    if let Some(m) = pkg.storage.memory_name() {
        return m.to_owned();
    }
    let guess = match sector_size {
        512 => "emmc",
        2048 => "nand",
        _ => "ufs",
    };
    notes.push(format!(
        "the storage type is not stated; {sector_size}-byte sectors suggest {guess}"
    ));
    guess.to_owned()
}

fn job_plan(pkg: &Package, notes: &mut Vec<String>) -> Result<JobPlan, EngineError> {
    let mut steps = Vec::with_capacity(pkg.plan.len());
    for s in &pkg.plan {
        if let Some(step) = map_step(s)? {
            steps.push(step);
        }
    }
    let sector_size = pkg
        .sector_size
        .or_else(|| steps.first().map(|s: &Step| s.sector_size))
        .unwrap_or(512);
    Ok(JobPlan {
        memory: memory_name(pkg, sector_size, notes),
        sector_size,
        steps,
    })
}

/// One package step as an engine step (`None` for the package's reset: the options decide).
fn map_step(s: &PlanStep) -> Result<Option<Step>, EngineError> {
    let mut extra = Vec::new();
    if let Some(ppb) = s.pages_per_block {
        extra.push(("PAGES_PER_BLOCK".to_owned(), ppb.to_string()));
    }
    if let Some(last) = &s.last_sector {
        extra.push(("last_sector".to_owned(), last.clone()));
    }
    let Some(op) = map_op(s)? else {
        return Ok(None);
    };
    let sectors = match &op {
        StepOp::Program(d) => Some(d.total_bytes / u64::from(s.sector_size.max(1))),
        _ => s.sectors,
    };
    Ok(Some(Step {
        sectors,
        op,
        label: s.label.clone(),
        sector_size: s.sector_size,
        physical_partition: s.physical_partition_number,
        start_sector: Some(s.start_sector.clone()),
        extra,
        destructive: s.destructive.clone(),
        critical: s.critical,
    }))
}

fn map_op(s: &PlanStep) -> Result<Option<StepOp>, EngineError> {
    use oasis_package::StepOp as P;
    let lacks =
        |what: &str| EngineError::Internal(format!("{what} '{}' lacks its fields", s.label));
    Ok(Some(match s.op {
        P::Reset => return Ok(None),
        P::Erase => StepOp::Erase,
        P::SetBootable => StepOp::SetBootable,
        P::Program => match &s.data {
            Some(d) => StepOp::Program(d.clone()),
            None => {
                return Err(EngineError::BadInput {
                    what: format!("the image for '{}' is missing", s.label),
                    help: None,
                });
            }
        },
        P::Patch => {
            let p = s.patch.as_ref().ok_or_else(|| lacks("patch"))?;
            StepOp::Patch {
                byte_offset: p.byte_offset,
                size_in_bytes: p.size_in_bytes,
                value: p.value.clone(),
                what: p.what.clone(),
            }
        }
        P::Vendor => {
            let v = s.verbatim.as_ref().ok_or_else(|| lacks("vendor line"))?;
            StepOp::Vendor {
                tag: v.tag.clone(),
                attrs: v.attrs.clone(),
            }
        }
    }))
}
