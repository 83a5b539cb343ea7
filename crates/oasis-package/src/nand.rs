//! NAND partition tables: `partition_nand.xml` (the source schema), the compiled MIBIB
//! (`partition_complete_*.mbn`, 0xFE569FAC/0xCD7F127A then a 0x55EE73AA/0xE35EBDDB table page) and
//! the user table `partition.mbn` (0xAA7D1B9A/0x1F7D48BC). All lead to a [`PartitionTable`].

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::PackageError;
use crate::number::parse_u64;
use crate::xml;

const MIBIB_MAGIC1: u32 = 0xFE56_9FAC;
const MIBIB_MAGIC2: u32 = 0xCD7F_127A;
const TABLE_MAGIC1: u32 = 0x55EE_73AA;
const TABLE_MAGIC2: u32 = 0xE35E_BDDB;
const USR_MAGIC1: u32 = 0xAA7D_1B9A;
const USR_MAGIC2: u32 = 0x1F7D_48BC;
const ENTRY_LEN: usize = 28;
const MAX_ENTRIES: u32 = 64;
/// Largest table file read (a MIBIB is a few pages).
pub const MAX_TABLE_BYTES: u64 = 1024 * 1024;

/// Where a partition table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableSource {
    /// A compiled MIBIB (`partition_complete_*.mbn`).
    Mibib,
    /// `partition_nand.xml`, laid out with the package's block size.
    PartitionNandXml,
    /// Labels of rawprogram entries (eMMC/UFS packages).
    Rawprogram,
}

/// One partition, in device sectors (NAND: pages) and, for NAND, erase blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partition {
    /// Name as in the table (`0:EFS2`, `modemst1`).
    pub name: String,
    /// Physical partition (LUN); 0 on NAND.
    pub physical_partition_number: u32,
    /// First sector.
    pub start_sector: u64,
    /// Sectors; `None` = grows to the end of the device.
    pub sectors: Option<u64>,
    /// First erase block (NAND).
    pub start_block: Option<u64>,
    /// Erase blocks (NAND); `None` = grows to the end.
    pub blocks: Option<u64>,
    /// Attribute bytes as stored.
    pub attributes: Vec<u8>,
    /// `which_flash` (NAND).
    pub which_flash: Option<u32>,
    /// Image the source names for it.
    pub image: Option<String>,
}

impl Partition {
    /// The name without a `0:` flash prefix.
    pub fn short_name(&self) -> &str {
        match self.name.split_once(':') {
            Some((prefix, rest)) if prefix.chars().all(|c| c.is_ascii_digit()) => rest,
            _ => &self.name,
        }
    }

    /// Whether sectors `start..end` (`end` None = to the end of the device) touch this partition.
    pub fn overlaps(&self, ppn: u32, start: u64, end: Option<u64>) -> bool {
        if ppn != self.physical_partition_number {
            return false;
        }
        let ends_after_start = self
            .sectors
            .is_none_or(|n| self.start_sector.saturating_add(n) > start);
        let starts_before_end = end.is_none_or(|e| self.start_sector < e);
        ends_after_start && starts_before_end
    }
}

/// A partition table with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionTable {
    /// Where it came from.
    pub source: TableSource,
    /// The file it was read from.
    pub file: Option<PathBuf>,
    /// Pages per erase block (NAND).
    pub pages_per_block: Option<u32>,
    /// Partitions in table order.
    pub partitions: Vec<Partition>,
}

impl PartitionTable {
    /// A partition by name (case-insensitive, with or without the `0:` prefix).
    pub fn find(&self, name: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| {
            p.name.eq_ignore_ascii_case(name) || p.short_name().eq_ignore_ascii_case(name)
        })
    }

    /// The partition holding `sector` of physical partition `ppn`.
    pub fn at(&self, ppn: u32, sector: u64) -> Option<&Partition> {
        self.partitions
            .iter()
            .find(|p| p.overlaps(ppn, sector, Some(sector.saturating_add(1))))
    }

    /// Partitions touched by sectors `start..end`.
    pub fn overlapping(
        &self,
        ppn: u32,
        start: u64,
        end: Option<u64>,
    ) -> impl Iterator<Item = &Partition> {
        self.partitions
            .iter()
            .filter(move |p| p.overlaps(ppn, start, end))
    }
}

/// One entry of a compiled MIBIB table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MibibEntry {
    /// Name (`0:SBL`).
    pub name: String,
    /// First block.
    pub offset_blocks: u32,
    /// Length in blocks (0xFFFFFFFF = grow).
    pub length_blocks: u32,
    /// attr1..attr3.
    pub attrs: [u8; 3],
    /// which_flash.
    pub which_flash: u8,
}

/// One entry of the user table `partition.mbn` (sizes in the units the source XML used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsrEntry {
    /// Name (`0:EFS2`).
    pub name: String,
    /// Size as stored (blocks for SBL/MIBIB-style entries, KiB otherwise; the file does not say).
    pub size: u32,
    /// Padding as stored (same unit).
    pub pad: u16,
    /// which_flash.
    pub which_flash: u16,
    /// The four attribute bytes.
    pub attrs: [u8; 4],
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn table_err(file: &Path, offset: usize, problem: impl Into<String>) -> PackageError {
    PackageError::PartitionTable {
        file: file.to_path_buf(),
        offset: offset as u64,
        problem: problem.into(),
    }
}

fn entry_name(file: &Path, raw: &[u8], at: usize) -> Result<String, PackageError> {
    let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
    let name = raw.get(..end).unwrap_or_default();
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
        return Err(table_err(
            file,
            at,
            format!(
                "entry name {:?} is not printable ASCII",
                String::from_utf8_lossy(name)
            ),
        ));
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

/// Parse a compiled MIBIB (`partition_complete_*.mbn`, or just its table page). Returns the
/// table version and entries.
pub fn parse_mibib(file: &Path, bytes: &[u8]) -> Result<(u32, Vec<MibibEntry>), PackageError> {
    let complete = le32(bytes, 0) == Some(MIBIB_MAGIC1) && le32(bytes, 4) == Some(MIBIB_MAGIC2);
    let start = (0..bytes.len())
        .step_by(512)
        .find(|&o| le32(bytes, o) == Some(TABLE_MAGIC1) && le32(bytes, o + 4) == Some(TABLE_MAGIC2))
        .ok_or_else(|| {
            let what = if complete {
                "MIBIB header found but no partition table page"
            } else {
                "no MIBIB magic"
            };
            table_err(file, 0, format!("{what} (0x55EE73AA 0xE35EBDDB)"))
        })?;
    let version = le32(bytes, start + 8).unwrap_or(0);
    let count = le32(bytes, start + 12)
        .ok_or_else(|| table_err(file, start + 12, "truncated table header"))?;
    if count > MAX_ENTRIES {
        return Err(table_err(
            file,
            start + 12,
            format!("{count} entries (more than {MAX_ENTRIES})"),
        ));
    }
    let mut entries = Vec::new();
    for i in 0..count as usize {
        let at = start + 16 + i * ENTRY_LEN;
        let raw = bytes
            .get(at..at + ENTRY_LEN)
            .ok_or_else(|| table_err(file, at, format!("entry {i} of {count} is cut off")))?;
        entries.push(MibibEntry {
            name: entry_name(file, raw.get(..16).unwrap_or_default(), at)?,
            offset_blocks: le32(raw, 16).unwrap_or(0),
            length_blocks: le32(raw, 20).unwrap_or(0),
            attrs: [raw[24], raw[25], raw[26]],
            which_flash: raw[27],
        });
    }
    Ok((version, entries))
}

/// Parse the user partition table `partition.mbn`. Returns the version and entries.
pub fn parse_usr_table(file: &Path, bytes: &[u8]) -> Result<(u32, Vec<UsrEntry>), PackageError> {
    if le32(bytes, 0) != Some(USR_MAGIC1) || le32(bytes, 4) != Some(USR_MAGIC2) {
        return Err(table_err(
            file,
            0,
            "no user partition table magic (0xAA7D1B9A 0x1F7D48BC)",
        ));
    }
    let version = le32(bytes, 8).ok_or_else(|| table_err(file, 8, "truncated header"))?;
    let count = le32(bytes, 12).ok_or_else(|| table_err(file, 12, "truncated header"))?;
    if count > MAX_ENTRIES {
        return Err(table_err(
            file,
            12,
            format!("{count} entries (more than {MAX_ENTRIES})"),
        ));
    }
    let mut entries = Vec::new();
    for i in 0..count as usize {
        let at = 16 + i * ENTRY_LEN;
        let raw = bytes
            .get(at..at + ENTRY_LEN)
            .ok_or_else(|| table_err(file, at, format!("entry {i} of {count} is cut off")))?;
        entries.push(UsrEntry {
            name: entry_name(file, raw.get(..16).unwrap_or_default(), at)?,
            size: le32(raw, 16).unwrap_or(0),
            pad: u16::from_le_bytes([raw[20], raw[21]]),
            which_flash: u16::from_le_bytes([raw[22], raw[23]]),
            attrs: [raw[24], raw[25], raw[26], raw[27]],
        });
    }
    Ok((version, entries))
}

/// A MIBIB as a [`PartitionTable`] (sectors = blocks × pages per block).
pub fn mibib_table(file: &Path, entries: &[MibibEntry], pages_per_block: u32) -> PartitionTable {
    let ppb = u64::from(pages_per_block);
    let partitions = entries
        .iter()
        .map(|e| {
            let blocks = (e.length_blocks != u32::MAX).then_some(u64::from(e.length_blocks));
            Partition {
                name: e.name.clone(),
                physical_partition_number: 0,
                start_sector: u64::from(e.offset_blocks) * ppb,
                sectors: blocks.map(|b| b * ppb),
                start_block: Some(u64::from(e.offset_blocks)),
                blocks,
                attributes: vec![e.attrs[0], e.attrs[1], e.attrs[2]],
                which_flash: Some(u32::from(e.which_flash)),
                image: None,
            }
        })
        .collect();
    PartitionTable {
        source: TableSource::Mibib,
        file: Some(file.to_path_buf()),
        pages_per_block: Some(pages_per_block),
        partitions,
    }
}

/// How a `partition_nand.xml` entry gives its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "unit", rename_all = "snake_case")]
pub enum NandXmlSize {
    /// `size_blks` + `pad_blks`.
    Blocks {
        /// Size in blocks.
        size: u64,
        /// Spare blocks.
        pad: u64,
    },
    /// `size_kb` + `pad_kb`.
    KiB {
        /// Size in KiB.
        size: u64,
        /// Spare KiB.
        pad: u64,
    },
    /// `<flags>0xFFFFFFFF</flags>` or no size: grows to the end of the flash.
    Grow,
}

/// One `<partition>` of `partition_nand.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NandXmlPartition {
    /// `<name>`.
    pub name: String,
    /// Size.
    pub size: NandXmlSize,
    /// `<which_flash>`.
    pub which_flash: u32,
    /// `<attr>` bytes in order.
    pub attrs: Vec<u8>,
    /// `<img_name>`.
    pub image: Option<String>,
    /// Line in the XML.
    pub line: u32,
}

/// A parsed `partition_nand.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NandPartitionXml {
    /// The file.
    pub file: PathBuf,
    /// `<usr_part_magic1>`.
    pub magic1: Option<u64>,
    /// `<usr_part_magic2>`.
    pub magic2: Option<u64>,
    /// `<partition_version>`.
    pub version: Option<u64>,
    /// Partitions in order.
    pub partitions: Vec<NandXmlPartition>,
}

fn text_num(file: &Path, el: &xml::Element, child: &str) -> Result<Option<u64>, PackageError> {
    let Some(c) = el.child(child) else {
        return Ok(None);
    };
    parse_u64(&c.text)
        .map(Some)
        .map_err(|problem| PackageError::BadNumber {
            file: file.to_path_buf(),
            line: c.line,
            element: c.name.as_str().into(),
            attribute: "(text)".into(),
            value: c.text.clone(),
            problem,
        })
}

impl NandPartitionXml {
    /// Read and parse a `partition_nand.xml`.
    pub fn from_path(path: &Path) -> Result<Self, PackageError> {
        let doc = xml::parse_file(path)?;
        let root = &doc.root;
        if !root.name.eq_ignore_ascii_case("nandboot") {
            return Err(PackageError::UnknownRoot {
                file: path.to_path_buf(),
                line: root.line,
                expected: "nandboot",
                found: root.name.clone(),
            });
        }
        let magic = root.child("magic_numbers");
        let mut partitions = Vec::new();
        for p in root
            .child("partitions")
            .into_iter()
            .flat_map(|ps| ps.children_named("partition"))
        {
            partitions.push(parse_xml_partition(path, p)?);
        }
        Ok(NandPartitionXml {
            file: path.to_path_buf(),
            magic1: magic
                .map(|m| text_num(path, m, "usr_part_magic1"))
                .transpose()?
                .flatten(),
            magic2: magic
                .map(|m| text_num(path, m, "usr_part_magic2"))
                .transpose()?
                .flatten(),
            version: text_num(path, root, "partition_version")?,
            partitions,
        })
    }

    /// Lay the partitions out one after another on a NAND with this geometry.
    pub fn layout(&self, page_size: u32, pages_per_block: u32) -> PartitionTable {
        let ppb = u64::from(pages_per_block.max(1));
        let block_bytes = u64::from(page_size.max(1)) * ppb;
        let mut next = Some(0u64);
        let mut partitions = Vec::new();
        for p in &self.partitions {
            let blocks = match p.size {
                NandXmlSize::Blocks { size, pad } => Some(size.saturating_add(pad)),
                NandXmlSize::KiB { size, pad } => Some(
                    size.saturating_add(pad)
                        .saturating_mul(1024)
                        .div_ceil(block_bytes),
                ),
                NandXmlSize::Grow => None,
            };
            let Some(start) = next else { break };
            partitions.push(Partition {
                name: p.name.clone(),
                physical_partition_number: 0,
                start_sector: start.saturating_mul(ppb),
                sectors: blocks.map(|b| b.saturating_mul(ppb)),
                start_block: Some(start),
                blocks,
                attributes: p.attrs.clone(),
                which_flash: Some(p.which_flash),
                image: p.image.clone(),
            });
            next = blocks.map(|b| start.saturating_add(b));
        }
        PartitionTable {
            source: TableSource::PartitionNandXml,
            file: Some(self.file.clone()),
            pages_per_block: Some(pages_per_block),
            partitions,
        }
    }
}

fn parse_xml_partition(path: &Path, p: &xml::Element) -> Result<NandXmlPartition, PackageError> {
    let name = p.child_text("name").unwrap_or_default().to_string();
    let grow = p
        .child("flags")
        .is_some_and(|f| parse_u64(&f.text) == Ok(0xFFFF_FFFF));
    let size = match (
        text_num(path, p, "size_blks")?,
        text_num(path, p, "size_kb")?,
    ) {
        _ if grow => NandXmlSize::Grow,
        (Some(size), _) => NandXmlSize::Blocks {
            size,
            pad: text_num(path, p, "pad_blks")?.unwrap_or(0),
        },
        (None, Some(size)) => NandXmlSize::KiB {
            size,
            pad: text_num(path, p, "pad_kb")?.unwrap_or(0),
        },
        (None, None) => NandXmlSize::Grow,
    };
    let mut attrs = Vec::new();
    for a in p.children_named("attr") {
        let v = parse_u64(&a.text).ok().and_then(|v| u8::try_from(v).ok());
        attrs.push(v.ok_or_else(|| PackageError::BadNumber {
            file: path.to_path_buf(),
            line: a.line,
            element: "attr".into(),
            attribute: "(text)".into(),
            value: a.text.clone(),
            problem: crate::error::NumberProblem::TooLarge { max: 255 },
        })?);
    }
    Ok(NandXmlPartition {
        name,
        size,
        which_flash: u32::try_from(text_num(path, p, "which_flash")?.unwrap_or(0)).unwrap_or(0),
        attrs,
        image: p
            .child_text("img_name")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        line: p.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, off: u32, len: u32) -> Vec<u8> {
        let mut v = vec![0u8; 16];
        v[..name.len()].copy_from_slice(name.as_bytes());
        v.extend_from_slice(&off.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&[0xff, 1, 0, 0]);
        v
    }

    #[test]
    fn mibib_roundtrip_and_errors() {
        let mut b = vec![0u8; 2048];
        b[..4].copy_from_slice(&MIBIB_MAGIC1.to_le_bytes());
        b[4..8].copy_from_slice(&MIBIB_MAGIC2.to_le_bytes());
        let mut page = Vec::new();
        for w in [TABLE_MAGIC1, TABLE_MAGIC2, 4, 2] {
            page.extend_from_slice(&w.to_le_bytes());
        }
        page.extend(entry("0:SBL", 0, 10));
        page.extend(entry("0:EFS2", 20, 136));
        b.extend_from_slice(&page);
        let (v, e) = parse_mibib(Path::new("m"), &b).unwrap();
        assert_eq!(
            (v, e.len(), e[1].offset_blocks, e[1].length_blocks),
            (4, 2, 20, 136)
        );
        let t = mibib_table(Path::new("m"), &e, 64);
        assert_eq!(t.at(0, 20 * 64).map(Partition::short_name), Some("EFS2"));
        assert_eq!(t.overlapping(0, 0, None).count(), 2);
        assert_eq!(t.overlapping(0, 640, Some(1280)).count(), 0);
        let cut = &b[..b.len() - 3];
        assert!(matches!(
            parse_mibib(Path::new("m"), cut),
            Err(PackageError::PartitionTable { .. })
        ));
        assert!(matches!(
            parse_mibib(Path::new("m"), &[0u8; 100]),
            Err(PackageError::PartitionTable { offset: 0, .. })
        ));
    }
}
