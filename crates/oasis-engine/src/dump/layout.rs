//! Which ranges a dump reads: the board's own partition table (MIBIB on NAND, GPT on eMMC/UFS),
//! else the package's, else the rawprogram labels; the labels and ranges asked for; and the
//! file each range goes to.

use std::path::Path;

use oasis_package::nand::{PartitionTable, mibib_table, parse_mibib};

use crate::error::EngineError;
use crate::options::Timeouts;
use crate::progress::Emitter;
use crate::regions::{self, SectorReader};
use crate::session::{BoardReader, Session};

use super::{DumpEntry, DumpRequest, Labelled, RawRange, Source};

/// The labelled partitions of the board: NAND its MIBIB (where the package's table puts it),
/// eMMC/UFS its GPTs; the package's table when the board's does not read back valid.
pub(super) fn board_table(
    s: &mut Session,
    src: &Source,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<(Vec<Labelled>, String, Vec<String>), EngineError> {
    let mut notes = Vec::new();
    let from_pkg = |tbl: &PartitionTable| -> Vec<Labelled> {
        tbl.partitions
            .iter()
            .map(|p| Labelled {
                label: p.short_name().to_owned(),
                lun: p.physical_partition_number,
                start: p.start_sector,
                sectors: p.sectors,
            })
            .collect()
    };
    let mut reader = BoardReader {
        fh: &mut s.fh,
        em,
        t,
    };
    if src.memory.eq_ignore_ascii_case("nand") {
        let ppb = src
            .table
            .as_ref()
            .and_then(|t| t.pages_per_block)
            .or(src.pages_per_block)
            .unwrap_or(64)
            .max(1);
        if let Some(start) = src
            .table
            .as_ref()
            .and_then(|t| t.find("MIBIB"))
            .map(|p| p.start_sector)
        {
            let bytes = reader.read_sectors(0, start, u64::from(ppb.min(64)), src.sector_size)?;
            if let Ok((_, entries)) = parse_mibib(Path::new("board MIBIB"), &bytes) {
                let tbl = mibib_table(Path::new("board"), &entries, ppb);
                if !tbl.partitions.is_empty() {
                    return Ok((from_pkg(&tbl), "the board's MIBIB".to_owned(), notes));
                }
            }
            notes.push(
                "the board's MIBIB did not read back with a valid magic: using the package's partition table"
                    .to_owned(),
            );
        }
    } else {
        let mut luns: Vec<u32> = src
            .table
            .as_ref()
            .map(|t| {
                t.partitions
                    .iter()
                    .map(|p| p.physical_partition_number)
                    .collect()
            })
            .unwrap_or_default();
        luns.extend(src.plan.iter().map(|p| p.lun));
        if src.memory.eq_ignore_ascii_case("ufs") {
            luns.extend(0..6);
        }
        luns.push(0);
        luns.sort_unstable();
        luns.dedup();
        let mut found = Vec::new();
        for lun in luns {
            match regions::read_gpt(&mut reader, lun, src.sector_size) {
                Ok(Some(entries)) => found.extend(entries.into_iter().filter_map(|e| {
                    let sectors = e.last.checked_sub(e.first)?.checked_add(1)?;
                    Some(Labelled {
                        label: e.label,
                        lun,
                        start: e.first,
                        sectors: Some(sectors),
                    })
                })),
                Ok(None) => {}
                Err(e) => notes.push(format!(
                    "the GPT of physical partition {lun} could not be read: {e}"
                )),
            }
        }
        if !found.is_empty() {
            return Ok((found, "the board's GPT".to_owned(), notes));
        }
        notes.push("the board's GPT did not read back valid".to_owned());
    }
    if let Some(tbl) = &src.table {
        let name = tbl.file.as_ref().and_then(|f| f.file_name()).map_or_else(
            || "the package's partition table".to_owned(),
            |n| format!("the package's {}", n.to_string_lossy()),
        );
        return Ok((from_pkg(tbl), name, notes));
    }
    Ok((
        src.plan.clone(),
        "the package's rawprogram labels".to_owned(),
        notes,
    ))
}

/// What to read: the named partitions (all of them with `all`), then the raw ranges.
pub(super) fn choose(
    req: &DumpRequest,
    table: &[Labelled],
    table_source: &str,
    src: &Source,
) -> Result<Vec<(String, RawRange)>, EngineError> {
    let size = |p: &Labelled| -> Option<u64> {
        p.sectors.filter(|n| *n > 0).or_else(|| {
            src.plan
                .iter()
                .find(|q| q.label.eq_ignore_ascii_case(&p.label) && q.lun == p.lun)
                .and_then(|q| q.sectors)
                .filter(|n| *n > 0)
        })
    };
    let as_range = |p: &Labelled, n: u64| RawRange {
        physical_partition: p.lun,
        start_sector: p.start,
        sectors: n,
    };
    let mut out = Vec::new();
    if req.all {
        for p in table {
            if let Some(n) = size(p) {
                out.push((p.label.clone(), as_range(p, n)));
            }
        }
    }
    let mut unknown = Vec::new();
    for name in &req.partitions {
        let short = name.split_once(':').map_or(name.as_str(), |(a, b)| {
            if a.chars().all(|c| c.is_ascii_digit()) {
                b
            } else {
                name.as_str()
            }
        });
        match table.iter().find(|p| p.label.eq_ignore_ascii_case(short)) {
            Some(p) => {
                let Some(n) = size(p) else {
                    return Err(EngineError::BadInput {
                        what: format!(
                            "the partition '{}' has no size in {table_source} (it grows to the end of the storage)",
                            p.label
                        ),
                        help: Some(format!(
                            "read it as a range: --raw {}:{}:SECTORS",
                            p.lun, p.start
                        )),
                    });
                };
                if !out.iter().any(|(l, _): &(String, RawRange)| l == &p.label) {
                    out.push((p.label.clone(), as_range(p, n)));
                }
            }
            None => unknown.push(name.clone()),
        }
    }
    if !unknown.is_empty() {
        let labels: Vec<&str> = table.iter().map(|p| p.label.as_str()).collect();
        return Err(EngineError::BadInput {
            what: format!(
                "no partition named {} in {table_source}; the partitions are: {}",
                unknown
                    .iter()
                    .map(|u| format!("'{u}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if labels.is_empty() {
                    "(none)".to_owned()
                } else {
                    labels.join(", ")
                }
            ),
            help: Some(
                "name one of those with --partition, or read a sector range with --raw START:SECTORS"
                    .to_owned(),
            ),
        });
    }
    for r in &req.raw {
        out.push(("raw".to_owned(), *r));
    }
    Ok(out)
}

pub(super) fn file_name(label: &str, r: &RawRange, taken: &[DumpEntry]) -> String {
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if label == "raw" {
        format!(
            "raw-lun{}-{}-{}",
            r.physical_partition, r.start_sector, r.sectors
        )
    } else if clean.is_empty() || clean.eq_ignore_ascii_case("manifest") {
        format!("partition-{clean}")
    } else {
        clean
    };
    let mut name = format!("{base}.bin");
    let mut n = 2;
    while taken.iter().any(|b| b.file.eq_ignore_ascii_case(&name)) {
        name = format!("{base}-{n}.bin");
        n += 1;
    }
    name
}
