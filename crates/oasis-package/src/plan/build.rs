//! Turning parsed rawprogram/patch entries into ordered plan steps: files resolved through the
//! jail, sizes from the files (QFirehose/qdl rules), sparse images split into runs, overlap checks.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{PatchSpec, PlanStep, StepOp};
use crate::data::{Piece, ProgramData};
use crate::error::{NumberProblem, PackageError};
use crate::jail::{Jail, PathOrigin};
use crate::naming::StorageType;
use crate::nand::PartitionTable;
use crate::number::SectorRef;
use crate::patch::{IgnoredPatch, PatchFile};
use crate::rawprogram::{EraseEntry, ProgramEntry, RawEntry, RawProgramFile};

/// An image the plan needs that is not in the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingImage {
    /// The filename as written in the XML.
    pub file: String,
    /// Package-relative path where it was looked for.
    pub path: String,
    /// The XML naming it (package-relative).
    pub xml: String,
    /// Line in that XML.
    pub line: u32,
}

/// An image larger than the partition its entry gives it (`num_partition_sectors` > 0): writing
/// it whole would overwrite whatever follows the partition, so it is refused before anything is
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OversizedImage {
    /// The filename as written in the XML.
    pub file: String,
    /// The partition label, when the entry has one.
    pub label: Option<String>,
    /// The image's size in bytes (from its `file_sector_offset` on).
    pub image_bytes: u64,
    /// The partition's size in bytes (`num_partition_sectors` × sector size).
    pub partition_bytes: u64,
    /// The XML naming it (package-relative).
    pub xml: String,
    /// Line in that XML.
    pub line: u32,
}

/// An XML entry that produced no step, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedEntry {
    /// The XML (package-relative).
    pub xml: String,
    /// Line of the entry.
    pub line: u32,
    /// Its label, if any.
    pub label: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// What the plan is built from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The package jail (resolves filenames).
    pub jail: &'a Jail,
    /// Rawprogram files in order.
    pub raws: &'a [RawProgramFile],
    /// Patch files in order.
    pub patches: &'a [PatchFile],
    /// Storage type (decides the order).
    pub storage: StorageType,
    /// Partition table, if known (labels, destructive marks).
    pub table: Option<&'a PartitionTable>,
}

/// The plan and its findings.
#[derive(Debug, Clone, Default)]
pub struct PlanOutput {
    /// Ordered steps.
    pub steps: Vec<PlanStep>,
    /// Images named but absent.
    pub missing_images: Vec<MissingImage>,
    /// Images larger than their partition.
    pub oversized: Vec<OversizedImage>,
    /// Entries that produced no step.
    pub skipped: Vec<SkippedEntry>,
    /// File-targeted patches (not applied).
    pub ignored_patches: Vec<IgnoredPatch>,
    /// Plain-sentence warnings.
    pub warnings: Vec<String>,
}

/// Build the ordered plan.
pub fn build(input: PlanInput<'_>) -> Result<PlanOutput, PackageError> {
    let mut out = PlanOutput::default();
    let mut entries: Vec<PlanStep> = Vec::new();
    let mut extents: Vec<Extent> = Vec::new();
    for raw in input.raws {
        let base = raw.path.parent().unwrap_or(input.jail.root()).to_path_buf();
        for entry in &raw.entries {
            match entry {
                RawEntry::Program(p) => {
                    program_steps(input, &base, p, &mut entries, &mut extents, &mut out)?
                }
                RawEntry::Erase(e) => entries.push(erase_step(e)),
                RawEntry::Vendor { origin, tag } => {
                    let label = tag
                        .attrs
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("label"))
                        .map_or_else(|| format!("quectel {}", tag.tag), |(_, v)| v.clone());
                    let mut step = PlanStep::generated(StepOp::Vendor, &label, 0, 0);
                    step.verbatim = Some(tag.clone());
                    step.origin = Some(origin.clone());
                    entries.push(step);
                }
            }
        }
        for (name, line) in &raw.other {
            out.skipped.push(SkippedEntry {
                xml: input.jail.relative(&raw.path),
                line: *line,
                label: None,
                reason: format!("<{name}> is not used for flashing"),
            });
        }
    }
    check_overlaps(&extents)?;
    let patches = patch_steps(input, &mut out);
    out.steps = super::mark::order(input.storage, entries, patches);
    super::mark::finish(input.storage, input.table, &mut out.steps);
    Ok(out)
}

/// A numeric program range for the overlap check.
struct Extent {
    ppn: u32,
    start: u64,
    end: u64,
    file: PathBuf,
    line: u32,
}

fn check_overlaps(extents: &[Extent]) -> Result<(), PackageError> {
    let mut sorted: Vec<&Extent> = extents.iter().filter(|e| e.end > e.start).collect();
    sorted.sort_by_key(|e| (e.ppn, e.start, e.line));
    let mut prev: Option<&Extent> = None;
    for e in sorted {
        if let Some(p) = prev
            && p.ppn == e.ppn
            && e.start < p.end
        {
            return Err(PackageError::OverlappingPrograms {
                file: e.file.clone(),
                line: e.line,
                other_file: p.file.clone(),
                other_line: p.line,
                partition: e.ppn,
                start: e.start,
                end: e.end,
                other_start: p.start,
                other_end: p.end,
            });
        }
        if prev.is_none_or(|p| p.ppn != e.ppn || e.end > p.end) {
            prev = Some(e);
        }
    }
    Ok(())
}

fn erase_step(e: &EraseEntry) -> PlanStep {
    let mut step = PlanStep::generated(
        StepOp::Erase,
        "",
        e.physical_partition_number,
        e.sector_size,
    );
    step.label = e.label.clone().unwrap_or_default();
    step.start_sector = e.start_sector_text.clone();
    step.sectors = e.num_partition_sectors;
    step.pages_per_block = e.pages_per_block;
    step.origin = Some(e.origin.clone());
    step
}

fn program_base(p: &ProgramEntry, file: &str, path: &Path) -> PlanStep {
    let mut step = PlanStep::generated(
        StepOp::Program,
        "",
        p.physical_partition_number,
        p.sector_size,
    );
    step.label = p.label.clone().unwrap_or_default();
    step.file = Some(file.to_string());
    step.path = Some(path.to_path_buf());
    step.start_sector = p.start_sector_text.clone();
    step.pages_per_block = p.pages_per_block;
    step.last_sector = p.last_sector.clone();
    step.origin = Some(p.origin.clone());
    step
}

fn program_steps(
    input: PlanInput<'_>,
    base: &Path,
    p: &ProgramEntry,
    steps: &mut Vec<PlanStep>,
    extents: &mut Vec<Extent>,
    out: &mut PlanOutput,
) -> Result<(), PackageError> {
    let xml = input.jail.relative(&p.origin.file);
    let file = match p.filename.as_deref() {
        Some(f) if !f.is_empty() => f,
        _ => {
            skip(
                out,
                xml,
                p,
                "empty filename: nothing to write (as qdl and QFirehose do)".into(),
            );
            return Ok(());
        }
    };
    let origin = PathOrigin {
        file: &p.origin.file,
        line: p.origin.line,
        attribute: "filename",
    };
    let mut path = input.jail.resolve(base, file, origin)?;
    if !path.is_file()
        && let Some(alt) = input.jail.case_variant(&path)?
    {
        out.warnings.push(format!(
            "{xml}:{}: {file} not found; using {} (same name, different case)",
            p.origin.line,
            input.jail.relative(&alt)
        ));
        path = alt;
    }
    let mut step = program_base(p, file, &path);
    if !path.is_file() {
        out.missing_images.push(MissingImage {
            file: file.to_string(),
            path: input.jail.relative(&path),
            xml,
            line: p.origin.line,
        });
        step.sectors = (p.num_partition_sectors > 0).then_some(p.num_partition_sectors);
        push_extent(extents, p, step.sectors);
        steps.push(step);
        return Ok(());
    }
    if p.sparse {
        if crate::sparse::has_sparse_magic(&path)? {
            return sparse_steps(p, step, &path, steps, extents);
        }
        out.warnings.push(format!(
            "{xml}:{}: {file} is marked sparse=\"true\" but has no sparse header; written as a raw image",
            p.origin.line
        ));
    }
    let (sectors, data) = raw_data(p, &path, &xml, out)?;
    if sectors == 0 {
        skip(out, xml, p, format!("{file} is empty: nothing to write"));
        return Ok(());
    }
    step.sectors = Some(sectors);
    step.data = Some(data);
    push_extent(extents, p, Some(sectors));
    steps.push(step);
    Ok(())
}

fn skip(out: &mut PlanOutput, xml: String, p: &ProgramEntry, reason: String) {
    out.skipped.push(SkippedEntry {
        xml,
        line: p.origin.line,
        label: p.label.clone(),
        reason,
    });
}

fn push_extent(extents: &mut Vec<Extent>, p: &ProgramEntry, sectors: Option<u64>) {
    if let (SectorRef::Number(start), Some(n)) = (&p.start_sector, sectors) {
        extents.push(Extent {
            ppn: p.physical_partition_number,
            start: *start,
            end: start.saturating_add(n),
            file: p.origin.file.clone(),
            line: p.origin.line,
        });
    }
}

/// Sector count and data for a raw (non-sparse) image, following qdl/QFirehose.
fn raw_data(
    p: &ProgramEntry,
    path: &Path,
    xml: &str,
    out: &mut PlanOutput,
) -> Result<(u64, ProgramData), PackageError> {
    let ss = u64::from(p.sector_size);
    let len = crate::fsutil::file_len(path)?;
    let offset = p.file_sector_offset.saturating_mul(ss);
    if p.file_sector_offset > 0 && offset >= len {
        return Err(PackageError::BadNumber {
            file: p.origin.file.clone(),
            line: p.origin.line,
            element: "program".into(),
            attribute: "file_sector_offset".into(),
            value: p.file_sector_offset.to_string(),
            problem: NumberProblem::TooLarge {
                max: (len / ss).saturating_sub(1),
            },
        });
    }
    let avail = len - offset.min(len);
    let need = avail.div_ceil(ss);
    let nps = p.num_partition_sectors;
    let sectors = if nps == 0 || need <= nps {
        need
    } else if p.file_sector_offset > 0 {
        // A slice of a larger image (partofsingleimage): take exactly the declared sectors.
        nps
    } else {
        // Written whole it would overwrite what follows the partition: the caller refuses it.
        out.warnings.push(format!(
            "{xml}:{}: {} is {len} bytes, larger than its partition (num_partition_sectors={nps} × {ss}); a flash refuses it",
            p.origin.line,
            p.filename.as_deref().unwrap_or_default(),
        ));
        out.oversized.push(OversizedImage {
            file: p.filename.clone().unwrap_or_default(),
            label: p.label.clone(),
            image_bytes: avail,
            partition_bytes: nps.saturating_mul(ss),
            xml: xml.to_owned(),
            line: p.origin.line,
        });
        need
    };
    let total = sectors * ss;
    let data = ProgramData {
        pieces: vec![Piece::File {
            path: path.to_path_buf(),
            offset,
            len: avail.min(total),
        }],
        total_bytes: total,
    };
    Ok((sectors, data))
}

fn sparse_steps(
    p: &ProgramEntry,
    template: PlanStep,
    path: &Path,
    steps: &mut Vec<PlanStep>,
    extents: &mut Vec<Extent>,
) -> Result<(), PackageError> {
    let SectorRef::Number(start) = p.start_sector else {
        return Err(PackageError::SparseNeedsNumericStart {
            file: p.origin.file.clone(),
            line: p.origin.line,
            value: p.start_sector_text.clone(),
        });
    };
    let image = crate::sparse::SparseImage::from_path(path)?;
    let ss = u64::from(p.sector_size);
    let out_sectors = image.output_len().div_ceil(ss);
    if p.num_partition_sectors > 0 && out_sectors > p.num_partition_sectors {
        return Err(PackageError::BadNumber {
            file: p.origin.file.clone(),
            line: p.origin.line,
            element: "program".into(),
            attribute: "num_partition_sectors".into(),
            value: p.num_partition_sectors.to_string(),
            problem: NumberProblem::NotAllowed {
                expected: "at least the sparse image's inflated size",
            },
        });
    }
    push_extent(extents, p, Some(out_sectors));
    for run in image.runs(p.sector_size)? {
        let mut step = template.clone();
        step.start_sector = start.saturating_add(run.out_offset / ss).to_string();
        step.sectors = Some(run.len / ss);
        step.data = Some(ProgramData {
            pieces: run.pieces,
            total_bytes: run.len,
        });
        steps.push(step);
    }
    Ok(())
}

fn patch_steps(input: PlanInput<'_>, out: &mut PlanOutput) -> Vec<PlanStep> {
    let mut steps = Vec::new();
    for f in input.patches {
        for p in &f.entries {
            if !p.is_disk() {
                out.ignored_patches.push(IgnoredPatch {
                    file: input.jail.relative(&f.path),
                    line: p.origin.line,
                    target: p.filename.clone(),
                    what: p.what.clone(),
                });
                continue;
            }
            let mut step = PlanStep::generated(
                StepOp::Patch,
                "",
                p.physical_partition_number,
                p.sector_size,
            );
            step.label = p.what.clone().unwrap_or_else(|| "patch".into());
            step.start_sector = p.start_sector.clone();
            step.patch = Some(PatchSpec {
                byte_offset: p.byte_offset,
                size_in_bytes: p.size_in_bytes,
                value: p.value.clone(),
                what: p.what.clone(),
            });
            step.origin = Some(p.origin.clone());
            steps.push(step);
        }
    }
    steps
}
