//! Which regions of a board are unique to it (EFS2/NV on NAND; modemst1/2, fsg, fsc, persist
//! on eMMC/UFS) and where they are: from the package's partition table, cross-checked with the
//! board's own MIBIB (NAND) or GPT (eMMC/UFS) when those read back valid.

use oasis_package::nand::{PartitionTable, mibib_table, parse_mibib};
use oasis_package::plan::is_protected_name;
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// A board-unique region: what a backup reads and a restore writes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Partition name without a `0:` prefix (`EFS2`, `modemst1`).
    pub name: String,
    /// What it holds, in plain words ("modem EFS/NV").
    pub what: String,
    /// Physical partition (LUN).
    pub physical_partition: u32,
    /// First sector (NAND: page).
    pub start_sector: u64,
    /// Number of sectors.
    pub sectors: u64,
    /// Sector (page) size in bytes.
    pub sector_size: u32,
}

impl Region {
    /// Size in bytes.
    pub fn bytes(&self) -> u64 {
        self.sectors.saturating_mul(u64::from(self.sector_size))
    }
}

/// Largest region Oasis backs up (real EFS2/persist regions are 1–64 MiB).
pub(crate) const MAX_REGION_BYTES: u64 = 512 * 1024 * 1024;

/// Reads sectors from the board (a Firehose session in the engine, a byte vector in tests).
pub(crate) trait SectorReader {
    /// Read `sectors` sectors of `sector_size` bytes at `start` of physical partition `lun`.
    fn read_sectors(
        &mut self,
        lun: u32,
        start: u64,
        sectors: u64,
        sector_size: u32,
    ) -> Result<Vec<u8>, EngineError>;
}

/// The regions a table names, in table order (sized partitions only).
pub(crate) fn from_table(table: &PartitionTable, sector_size: u32) -> Vec<Region> {
    table
        .partitions
        .iter()
        .filter_map(|p| {
            let what = is_protected_name(&p.name)?;
            let sectors = p.sectors.filter(|n| *n > 0)?;
            Some(Region {
                name: p.short_name().to_owned(),
                what: what.to_owned(),
                physical_partition: p.physical_partition_number,
                start_sector: p.start_sector,
                sectors,
                sector_size,
            })
        })
        .filter(|r| r.bytes() <= MAX_REGION_BYTES)
        .collect()
}

/// The regions to back up and the notes explaining where they came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Located {
    /// The regions.
    pub regions: Vec<Region>,
    /// Where the table came from, in plain words (kept in the manifest).
    pub source: String,
    /// Facts for the log (cross-check results, skipped partitions).
    pub notes: Vec<String>,
}

/// NAND: the package's table, cross-checked with the board's MIBIB (read from where the
/// package's table puts it). The board's table wins when it reads back valid and differs:
/// it says where the board's EFS2 really is.
pub(crate) fn locate_nand(
    package: Option<&PartitionTable>,
    page_size: u32,
    pages_per_block: u32,
    board: &mut dyn SectorReader,
) -> Result<Located, EngineError> {
    let Some(table) = package else {
        return Err(no_table(
            "the package has no NAND partition table (partition_nand.xml, partition_complete_*.mbn or partition.mbn)",
        ));
    };
    let from_pkg = from_table(table, page_size);
    let mut out = Located {
        source: table_name(table),
        ..Located::default()
    };
    let ppb = table.pages_per_block.unwrap_or(pages_per_block).max(1);
    let mibib = table.find("MIBIB").map(|p| p.start_sector);
    let board_table = match mibib {
        Some(start) => board_mibib(start, page_size, ppb, board)?,
        None => None,
    };
    match board_table {
        Some(on_board) if on_board == from_pkg => {
            out.notes
                .push("the board's MIBIB agrees with the package's partition table".to_owned());
            out.regions = from_pkg;
        }
        Some(on_board) if !on_board.is_empty() => {
            out.notes.push(format!(
                "the board's MIBIB places the calibration regions elsewhere than the package's table ({}); backing up what the board's table says",
                describe(&from_pkg)
            ));
            out.source = "the board's MIBIB".to_owned();
            out.regions = on_board;
        }
        _ => {
            out.notes.push(
                "the board's MIBIB did not read back with a valid magic: using the package's partition table"
                    .to_owned(),
            );
            out.regions = from_pkg;
        }
    }
    Ok(out)
}

/// The calibration regions the board's own MIBIB (at page `start`) names, when it reads back
/// with a valid magic.
pub(crate) fn board_mibib(
    start: u64,
    page_size: u32,
    pages_per_block: u32,
    board: &mut dyn SectorReader,
) -> Result<Option<Vec<Region>>, EngineError> {
    let ppb = pages_per_block.max(1);
    let bytes = board.read_sectors(0, start, u64::from(ppb.min(64)), page_size)?;
    Ok(parse_mibib(std::path::Path::new("board MIBIB"), &bytes)
        .ok()
        .map(|(_, entries)| mibib_table(std::path::Path::new("board"), &entries, ppb))
        .map(|t| from_table(&t, page_size)))
}

/// The calibration regions the board's GPTs on `luns` name (LUNs without a valid GPT add
/// nothing).
pub(crate) fn board_gpt(
    luns: &[u32],
    sector_size: u32,
    board: &mut dyn SectorReader,
) -> Vec<Region> {
    let mut out = Vec::new();
    for &lun in luns {
        if let Ok(Some(entries)) = read_gpt(board, lun, sector_size) {
            out.extend(
                entries
                    .into_iter()
                    .filter_map(|e| gpt_region(&e, lun, sector_size)),
            );
        }
    }
    out
}

/// eMMC/UFS: the board's GPT (by label) on each LUN in `luns`, else the package's table.
pub(crate) fn locate_gpt(
    package: Option<&PartitionTable>,
    sector_size: u32,
    luns: &[u32],
    board: &mut dyn SectorReader,
) -> Result<Located, EngineError> {
    let mut out = Located::default();
    for &lun in luns {
        match read_gpt(board, lun, sector_size) {
            Ok(Some(entries)) => {
                out.regions.extend(
                    entries
                        .into_iter()
                        .filter_map(|e| gpt_region(&e, lun, sector_size)),
                );
            }
            Ok(None) => {}
            Err(e) => out.notes.push(format!(
                "the GPT of physical partition {lun} could not be read: {e}"
            )),
        }
    }
    if !out.regions.is_empty() {
        out.source = "the board's GPT".to_owned();
        if let Some(t) = package {
            let pkg = from_table(t, sector_size);
            if !pkg.is_empty() && pkg != out.regions {
                out.notes.push(format!(
                    "the package's table places the calibration regions differently ({}); backing up what the board's GPT says",
                    describe(&pkg)
                ));
            }
        }
        return Ok(out);
    }
    let Some(t) = package else {
        return Err(no_table(
            "the board has no readable GPT and no package names its partitions",
        ));
    };
    out.notes.push(
        "the board's GPT did not read back valid: using the package's partition table".to_owned(),
    );
    out.source = table_name(t);
    out.regions = from_table(t, sector_size);
    Ok(out)
}

fn no_table(what: &str) -> EngineError {
    EngineError::Backup {
        what: format!("cannot tell where the board's calibration data is: {what}"),
        help: "name the firmware package made for this module with --package".to_owned(),
    }
}

fn table_name(t: &PartitionTable) -> String {
    let file = t
        .file
        .as_ref()
        .and_then(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    match file {
        Some(f) => format!("the package's {f}"),
        None => "the package's rawprogram labels".to_owned(),
    }
}

fn describe(regions: &[Region]) -> String {
    if regions.is_empty() {
        return "it names none".to_owned();
    }
    regions
        .iter()
        .map(|r| format!("{} at sector {}+{}", r.name, r.start_sector, r.sectors))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One GPT partition entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GptEntry {
    /// The label (UTF-16LE name, trimmed).
    pub label: String,
    /// First LBA.
    pub first: u64,
    /// Last LBA (inclusive).
    pub last: u64,
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Where the entries are, from a GPT header sector: (entries LBA, count, entry size);
/// `None` when it is no GPT header.
pub(crate) fn parse_gpt_header(sector: &[u8]) -> Option<(u64, u32, u32)> {
    if sector.get(..8) != Some(b"EFI PART") {
        return None;
    }
    let lba = le_u64(sector, 72)?;
    let count = le_u32(sector, 80)?;
    let size = le_u32(sector, 84)?;
    if !(128..=4096).contains(&size) || count == 0 || count > 1024 || lba < 2 {
        return None;
    }
    Some((lba, count, size))
}

/// The used entries of a GPT entry array.
pub(crate) fn parse_gpt_entries(bytes: &[u8], count: u32, size: u32) -> Vec<GptEntry> {
    (0..count as usize)
        .filter_map(|i| {
            let e = bytes.get(i * size as usize..(i + 1) * size as usize)?;
            if e.get(..16)?.iter().all(|b| *b == 0) {
                return None;
            }
            let name: Vec<u16> = e
                .get(56..128)?
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|c| *c != 0)
                .collect();
            Some(GptEntry {
                label: String::from_utf16_lossy(&name).trim().to_owned(),
                first: le_u64(e, 32)?,
                last: le_u64(e, 40)?,
            })
        })
        .collect()
}

/// The entries of the GPT on `lun` (`None` when its header is no GPT header).
pub(crate) fn read_gpt(
    board: &mut dyn SectorReader,
    lun: u32,
    sector_size: u32,
) -> Result<Option<Vec<GptEntry>>, EngineError> {
    let header = board.read_sectors(lun, 1, 1, sector_size)?;
    let Some((lba, count, size)) = parse_gpt_header(&header) else {
        return Ok(None);
    };
    let bytes = u64::from(count) * u64::from(size);
    let sectors = bytes.div_ceil(u64::from(sector_size.max(1)));
    let raw = board.read_sectors(lun, lba, sectors, sector_size)?;
    Ok(Some(parse_gpt_entries(&raw, count, size)))
}

fn gpt_region(e: &GptEntry, lun: u32, sector_size: u32) -> Option<Region> {
    let what = is_protected_name(&e.label)?;
    let sectors = e.last.checked_sub(e.first)?.checked_add(1)?;
    let r = Region {
        name: e.label.clone(),
        what: what.to_owned(),
        physical_partition: lun,
        start_sector: e.first,
        sectors,
        sector_size,
    };
    (r.bytes() <= MAX_REGION_BYTES).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Help;

    /// A board whose storage is one byte vector per LUN.
    struct Disk(Vec<Vec<u8>>);

    impl SectorReader for Disk {
        fn read_sectors(
            &mut self,
            lun: u32,
            start: u64,
            sectors: u64,
            ss: u32,
        ) -> Result<Vec<u8>, EngineError> {
            let d = &self.0[lun as usize];
            let a = (start * u64::from(ss)) as usize;
            let b = a + (sectors * u64::from(ss)) as usize;
            let mut out = d.get(a..b.min(d.len())).unwrap_or_default().to_vec();
            out.resize(b - a, 0xFF);
            Ok(out)
        }
    }

    fn gpt_disk(entries: &[(&str, u64, u64)]) -> Vec<u8> {
        let mut d = vec![0u8; 512 * 64];
        d[512..520].copy_from_slice(b"EFI PART");
        d[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
        d[512 + 80..512 + 84].copy_from_slice(&128u32.to_le_bytes());
        d[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
        for (i, (name, first, last)) in entries.iter().enumerate() {
            let at = 1024 + i * 128;
            d[at] = 0xA2; // a non-zero type GUID
            d[at + 32..at + 40].copy_from_slice(&first.to_le_bytes());
            d[at + 40..at + 48].copy_from_slice(&last.to_le_bytes());
            for (j, c) in name.encode_utf16().enumerate() {
                d[at + 56 + 2 * j..at + 58 + 2 * j].copy_from_slice(&c.to_le_bytes());
            }
        }
        d
    }

    #[test]
    fn gpt_labels_name_the_calibration_regions() {
        let mut disk = Disk(vec![gpt_disk(&[
            ("modem", 34, 1000),
            ("modemst1", 2048, 5119),
            ("persist", 8192, 8199),
            ("boot", 9000, 9999),
        ])]);
        let found = locate_gpt(None, 512, &[0], &mut disk).unwrap();
        let names: Vec<&str> = found.regions.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["modemst1", "persist"]);
        assert_eq!(found.regions[0].sectors, 3072);
        assert_eq!(found.regions[1].bytes(), 8 * 512);
        assert_eq!(found.source, "the board's GPT");
    }

    #[test]
    fn no_gpt_and_no_package_is_an_error_naming_the_fix() {
        let mut disk = Disk(vec![vec![0u8; 4096]]);
        let e = locate_gpt(None, 512, &[0], &mut disk).unwrap_err();
        assert!(e.to_string().contains("no readable GPT"), "{e}");
        assert!(e.help().unwrap().contains("--package"));
    }

    #[test]
    fn gpt_header_rejects_nonsense() {
        assert!(parse_gpt_header(&[0u8; 512]).is_none());
        let mut h = gpt_disk(&[])[512..1024].to_vec();
        assert_eq!(parse_gpt_header(&h), Some((2, 128, 128)));
        h[84..88].copy_from_slice(&7u32.to_le_bytes());
        assert!(parse_gpt_header(&h).is_none());
        assert!(parse_gpt_entries(&[1u8; 10], 4, 128).is_empty());
    }
}
