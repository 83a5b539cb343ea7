//! Ordering the steps (NAND brick-safe order, eMMC/UFS XML order) and marking them: labels from
//! the partition table, destructive steps with the region named, boot-loader-critical steps.

use super::{PlanStep, StepOp};
use crate::naming::StorageType;
use crate::nand::PartitionTable;

/// Partitions holding board-unique data (NV, EFS, calibration) that a reflash must not lose.
const PROTECTED: &[(&str, &str)] = &[
    ("efs2", "modem EFS/NV"),
    ("efs", "modem EFS/NV"),
    ("nv", "modem NV"),
    ("nvram", "modem NV"),
    ("fsg", "modem NV golden copy"),
    ("modemst1", "modem NV"),
    ("modemst2", "modem NV"),
    ("fsc", "modem NV cookie"),
    ("cal", "RF calibration"),
    ("calibration", "RF calibration"),
    ("persist", "calibration/persist data"),
    ("qcn", "modem NV backup"),
];

/// Boot-chain labels whose loss leaves only EDL (eMMC/UFS).
const BOOT_LABELS: &[&str] = &[
    "sbl1",
    "sbl",
    "xbl",
    "xbl_a",
    "xbl_b",
    "xbl_config",
    "xbl_config_a",
    "xbl_config_b",
    "primarygpt",
    "backupgpt",
];

/// Whether a partition name (with or without `0:`) holds board-unique data; returns what it is.
pub fn is_protected_name(name: &str) -> Option<&'static str> {
    let short = name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase();
    PROTECTED
        .iter()
        .find(|(n, _)| *n == short)
        .map(|(_, what)| *what)
}

/// Put entries and patches in device order and append set-bootable (not NAND) and reset.
pub fn order(
    storage: StorageType,
    entries: Vec<PlanStep>,
    patches: Vec<PlanStep>,
) -> Vec<PlanStep> {
    let sector_size = entries.first().map_or(0, |s| s.sector_size);
    let mut out = Vec::with_capacity(entries.len() + patches.len() + 2);
    if storage == StorageType::Nand {
        let at_zero = |s: &PlanStep| s.start_number() == Some(0);
        let (boot_erases, rest): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|s| s.op == StepOp::Erase && at_zero(s));
        let (vendor, rest): (Vec<_>, Vec<_>) =
            rest.into_iter().partition(|s| s.op == StepOp::Vendor);
        let (erases, programs): (Vec<_>, Vec<_>) =
            rest.into_iter().partition(|s| s.op == StepOp::Erase);
        let (sbl, programs): (Vec<_>, Vec<_>) = programs.into_iter().partition(at_zero);
        out.extend(boot_erases);
        out.extend(vendor);
        out.extend(erases);
        out.extend(programs);
        out.extend(sbl);
        out.extend(patches);
    } else {
        out.extend(entries);
        out.extend(patches);
        if let Some(lun) = bootable_lun(storage, &out) {
            let mut step = PlanStep::generated(
                StepOp::SetBootable,
                &format!("set bootable: LUN {lun}"),
                lun,
                sector_size,
            );
            step.critical = true;
            out.push(step);
        }
    }
    out.push(PlanStep::generated(StepOp::Reset, "reset", 0, sector_size));
    out
}

/// The LUN to mark bootable: the one holding xbl/sbl1 (UFS, SPI-NOR), 1 for UFS, 0 for eMMC.
fn bootable_lun(storage: StorageType, steps: &[PlanStep]) -> Option<u32> {
    let holding = steps
        .iter()
        .filter(|s| s.op == StepOp::Program)
        .find(|s| {
            ["xbl", "xbl_a", "sbl1"]
                .iter()
                .any(|l| s.label.eq_ignore_ascii_case(l))
        })
        .map(|s| s.physical_partition_number);
    match storage {
        StorageType::Emmc => Some(0),
        StorageType::Ufs => Some(holding.unwrap_or(1)),
        StorageType::Spinor => Some(holding.unwrap_or(0)),
        StorageType::Nand | StorageType::Unknown => None,
    }
}

/// Fill labels, destructive reasons and critical marks.
pub fn finish(storage: StorageType, table: Option<&PartitionTable>, steps: &mut [PlanStep]) {
    for s in steps.iter_mut() {
        if s.label.is_empty() {
            s.label = default_label(s, table);
        }
        if s.destructive.is_none() {
            s.destructive = destructive_reason(storage, s, table);
        }
    }
    if storage == StorageType::Nand {
        let touches_boot = |s: &PlanStep| {
            matches!(s.op, StepOp::Erase | StepOp::Program)
                && (s.start_number() == Some(0)
                    || overlapping(s, table).any(|p| is_sbl(p.short_name())))
        };
        let first = steps.iter().position(touches_boot);
        let last = steps.iter().rposition(touches_boot);
        if let (Some(a), Some(b)) = (first, last) {
            for s in steps.iter_mut().take(b + 1).skip(a) {
                s.critical = true;
            }
        }
    } else {
        for s in steps.iter_mut() {
            let boot = BOOT_LABELS.iter().any(|l| s.label.eq_ignore_ascii_case(l));
            if boot || matches!(s.op, StepOp::Patch | StepOp::SetBootable) {
                s.critical = true;
            }
        }
    }
}

fn is_sbl(name: &str) -> bool {
    name.eq_ignore_ascii_case("sbl") || name.eq_ignore_ascii_case("sbl1")
}

/// Partitions of the table this step's range touches.
fn overlapping<'a>(
    s: &PlanStep,
    table: Option<&'a PartitionTable>,
) -> impl Iterator<Item = &'a crate::nand::Partition> {
    let range = s
        .start_number()
        .map(|start| (start, s.sectors.map(|n| start.saturating_add(n))));
    let ppn = s.physical_partition_number;
    table.into_iter().flat_map(move |t| {
        range
            .into_iter()
            .flat_map(move |(a, b)| t.overlapping(ppn, a, b))
    })
}

fn default_label(s: &PlanStep, table: Option<&PartitionTable>) -> String {
    let from_table = s
        .start_number()
        .and_then(|start| table.and_then(|t| t.at(s.physical_partition_number, start)))
        .map(|p| p.short_name().to_string());
    if let Some(name) = from_table {
        return name;
    }
    if let Some(file) = &s.file {
        let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
        return base.split('.').next().unwrap_or(base).to_string();
    }
    match s.op {
        StepOp::Erase => format!("erase at sector {}", s.start_sector),
        StepOp::Patch => "patch".into(),
        StepOp::Program => "program".into(),
        StepOp::SetBootable => "set bootable".into(),
        StepOp::Reset => "reset".into(),
        StepOp::Vendor => "vendor command".into(),
    }
}

fn destructive_reason(
    storage: StorageType,
    s: &PlanStep,
    table: Option<&PartitionTable>,
) -> Option<String> {
    if s.op == StepOp::Erase && s.sectors.is_none() {
        let whole = if storage == StorageType::Nand {
            "the whole flash".to_string()
        } else {
            format!("all of physical partition {}", s.physical_partition_number)
        };
        let scope = match s.start_number() {
            Some(0) => whole,
            _ => format!("from sector {} to the end of {whole}", s.start_sector),
        };
        return Some(format!(
            "erases {scope} (\"{}\"), including EFS/NV calibration data the package does not restore",
            s.label
        ));
    }
    if !matches!(s.op, StepOp::Erase | StepOp::Program) {
        return None;
    }
    let mut hits: Vec<(String, &'static str)> = overlapping(s, table)
        .filter_map(|p| is_protected_name(&p.name).map(|w| (p.short_name().to_string(), w)))
        .collect();
    if let Some(w) = is_protected_name(&s.label)
        && !hits.iter().any(|(n, _)| n.eq_ignore_ascii_case(&s.label))
    {
        hits.push((s.label.clone(), w));
    }
    let (_, what) = hits.first()?;
    let names = hits
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Some(match s.op {
        StepOp::Erase => format!("erases {names} ({what}), which the package does not rewrite"),
        _ => format!(
            "overwrites {names} ({what}) with the package's copy; this board's own data is lost"
        ),
    })
}
