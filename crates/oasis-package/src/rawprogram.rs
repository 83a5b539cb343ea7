//! rawprogram*.xml (root `<data>`): `<program>` and `<erase>` entries, Quectel `vendor="quectel"`
//! lines kept verbatim, line numbers kept for every entry. No file access here.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::PackageError;
use crate::number::{Attrs, SectorRef};
use crate::xml::{self, Element};

/// Largest physical partition (LUN) number accepted.
pub const MAX_PHYSICAL_PARTITION: u64 = 31;
/// Largest NAND pages-per-block accepted.
pub const MAX_PAGES_PER_BLOCK: u64 = 4096;

/// Where an entry was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The XML file.
    pub file: PathBuf,
    /// 1-based line of the element.
    pub line: u32,
}

/// One `<program>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramEntry {
    /// Where it was written.
    pub origin: Origin,
    /// `SECTOR_SIZE_IN_BYTES`.
    pub sector_size: u32,
    /// `physical_partition_number` (0 when absent).
    pub physical_partition_number: u32,
    /// `start_sector` (number or expression).
    pub start_sector: SectorRef,
    /// `start_sector` exactly as written.
    pub start_sector_text: String,
    /// `num_partition_sectors` (0 = size of the file).
    pub num_partition_sectors: u64,
    /// `filename` as written (`None` when absent, `Some("")` when empty).
    pub filename: Option<String>,
    /// `label`, when present and not empty.
    pub label: Option<String>,
    /// `file_sector_offset` (0 when absent).
    pub file_sector_offset: u64,
    /// `sparse="true"`.
    pub sparse: bool,
    /// NAND `PAGES_PER_BLOCK`.
    pub pages_per_block: Option<u32>,
    /// NAND `last_sector`, verbatim.
    pub last_sector: Option<String>,
}

/// One `<erase>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EraseEntry {
    /// Where it was written.
    pub origin: Origin,
    /// `SECTOR_SIZE_IN_BYTES`.
    pub sector_size: u32,
    /// `physical_partition_number` (0 when absent).
    pub physical_partition_number: u32,
    /// `start_sector`; `None` = whole physical partition.
    pub start_sector: Option<SectorRef>,
    /// `start_sector` exactly as written ("0" when absent).
    pub start_sector_text: String,
    /// `num_partition_sectors`; `None` = to the end of the physical partition.
    pub num_partition_sectors: Option<u64>,
    /// `label`, when present and not empty.
    pub label: Option<String>,
    /// NAND `PAGES_PER_BLOCK`.
    pub pages_per_block: Option<u32>,
}

/// A line that must reach the device exactly as written (Quectel `vendor="quectel"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerbatimTag {
    /// The element name (`erase`, `program`, ...).
    pub tag: String,
    /// All attributes, in document order, unescaped.
    pub attrs: Vec<(String, String)>,
}

/// An entry of a rawprogram file, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEntry {
    /// `<program>`.
    Program(ProgramEntry),
    /// `<erase>`.
    Erase(EraseEntry),
    /// A `vendor="quectel"` line, passed through untouched.
    Vendor {
        /// Where it was written.
        origin: Origin,
        /// The tag as written.
        tag: VerbatimTag,
    },
}

/// A parsed rawprogram file.
#[derive(Debug, Clone)]
pub struct RawProgramFile {
    /// The XML file.
    pub path: PathBuf,
    /// Entries in document order.
    pub entries: Vec<RawEntry>,
    /// Other elements met under `<data>` (name, line); not used for flashing.
    pub other: Vec<(String, u32)>,
}

impl RawProgramFile {
    /// Read and parse a rawprogram file.
    pub fn from_path(path: &Path) -> Result<Self, PackageError> {
        let doc = xml::parse_file(path)?;
        Self::from_element(path, &doc.root)
    }

    /// Parse from an already-built tree.
    pub fn from_element(path: &Path, root: &Element) -> Result<Self, PackageError> {
        if !root.name.eq_ignore_ascii_case("data") {
            return Err(PackageError::UnknownRoot {
                file: path.to_path_buf(),
                line: root.line,
                expected: "data",
                found: root.name.clone(),
            });
        }
        let mut entries = Vec::new();
        let mut other = Vec::new();
        for el in &root.children {
            let a = Attrs::new(path, el);
            let is_vendor = a
                .get("vendor")
                .is_some_and(|v| v.eq_ignore_ascii_case("quectel"));
            let name = el.name.to_ascii_lowercase();
            match name.as_str() {
                "program" | "erase" if is_vendor => entries.push(RawEntry::Vendor {
                    origin: origin(path, el),
                    tag: VerbatimTag {
                        tag: el.name.clone(),
                        attrs: el.attrs.clone(),
                    },
                }),
                "program" => entries.push(RawEntry::Program(parse_program(a)?)),
                "erase" => entries.push(RawEntry::Erase(parse_erase(a)?)),
                _ => other.push((el.name.clone(), el.line)),
            }
        }
        Ok(RawProgramFile {
            path: path.to_path_buf(),
            entries,
            other,
        })
    }

    /// The `<program>` entries.
    pub fn programs(&self) -> impl Iterator<Item = &ProgramEntry> {
        self.entries.iter().filter_map(|e| match e {
            RawEntry::Program(p) => Some(p),
            _ => None,
        })
    }

    /// The `<erase>` entries.
    pub fn erases(&self) -> impl Iterator<Item = &EraseEntry> {
        self.entries.iter().filter_map(|e| match e {
            RawEntry::Erase(p) => Some(p),
            _ => None,
        })
    }
}

fn origin(path: &Path, el: &Element) -> Origin {
    Origin {
        file: path.to_path_buf(),
        line: el.line,
    }
}

fn label(a: Attrs<'_>) -> Option<String> {
    a.get("label")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn common(a: Attrs<'_>) -> Result<(u32, u32, Option<u32>), PackageError> {
    let sector_size = a.sector_size()?;
    let ppn = a
        .opt_u64("physical_partition_number", MAX_PHYSICAL_PARTITION)?
        .unwrap_or(0);
    let ppb = a.opt_u64("PAGES_PER_BLOCK", MAX_PAGES_PER_BLOCK)?;
    if ppb == Some(0) {
        let value = a.get("PAGES_PER_BLOCK").unwrap_or_default();
        return Err(a.bad_number(
            "PAGES_PER_BLOCK",
            value,
            crate::error::NumberProblem::NotAllowed {
                expected: "1 or more",
            },
        ));
    }
    // Both bounded above, so the conversions cannot fail.
    Ok((
        sector_size,
        u32::try_from(ppn).unwrap_or(0),
        ppb.and_then(|p| u32::try_from(p).ok()),
    ))
}

fn max_sectors(sector_size: u32) -> u64 {
    u64::MAX / u64::from(sector_size)
}

fn parse_program(a: Attrs<'_>) -> Result<ProgramEntry, PackageError> {
    let (sector_size, physical_partition_number, pages_per_block) = common(a)?;
    let start_sector_text = a.required("start_sector")?.trim().to_string();
    let start_sector = a
        .sector_ref("start_sector", sector_size)?
        .unwrap_or(SectorRef::Number(0));
    let num_partition_sectors = a.req_u64("num_partition_sectors", max_sectors(sector_size))?;
    if let SectorRef::Number(s) = start_sector
        && s.checked_add(num_partition_sectors)
            .is_none_or(|end| end > max_sectors(sector_size))
    {
        let value = a.get("num_partition_sectors").unwrap_or_default();
        let max = max_sectors(sector_size).saturating_sub(s);
        return Err(a.bad_number(
            "num_partition_sectors",
            value,
            crate::error::NumberProblem::TooLarge { max },
        ));
    }
    Ok(ProgramEntry {
        origin: origin(a.file, a.el),
        sector_size,
        physical_partition_number,
        start_sector,
        start_sector_text,
        num_partition_sectors,
        filename: a.get("filename").map(|s| s.trim().to_string()),
        label: label(a),
        file_sector_offset: a
            .opt_u64("file_sector_offset", max_sectors(sector_size))?
            .unwrap_or(0),
        sparse: a.opt_bool("sparse")?.unwrap_or(false),
        pages_per_block,
        last_sector: a.get("last_sector").map(|s| s.trim().to_string()),
    })
}

fn parse_erase(a: Attrs<'_>) -> Result<EraseEntry, PackageError> {
    let (sector_size, physical_partition_number, pages_per_block) = common(a)?;
    let start_sector = a.sector_ref("start_sector", sector_size)?;
    Ok(EraseEntry {
        origin: origin(a.file, a.el),
        sector_size,
        physical_partition_number,
        start_sector_text: a
            .get("start_sector")
            .map_or_else(|| "0".to_string(), |s| s.trim().to_string()),
        start_sector,
        num_partition_sectors: a.opt_u64("num_partition_sectors", max_sectors(sector_size))?,
        label: label(a),
        pages_per_block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::NumberProblem;

    fn parse(s: &str) -> Result<RawProgramFile, PackageError> {
        let doc = xml::parse_bytes(Path::new("r.xml"), s.as_bytes())?;
        RawProgramFile::from_element(Path::new("r.xml"), &doc.root)
    }

    #[test]
    fn program_erase_vendor() {
        let f = parse(
            r#"<data>
  <program SECTOR_SIZE_IN_BYTES="2048" PAGES_PER_BLOCK="64" filename="..\sbl1.mbn" num_partition_sectors="640" physical_partition_number="0" start_sector="0" last_sector="700"/>
  <erase SECTOR_SIZE_IN_BYTES="512" label="erase whole disk" start_sector="0"/>
  <erase SECTOR_SIZE_IN_BYTES="2048" vendor="quectel" a_rawdata_start_sector="1" c_project_name="x"/>
  <program SECTOR_SIZE_IN_BYTES="4096" start_sector="NUM_DISK_SECTORS-5." num_partition_sectors="5" filename="" sparse="TRUE"/>
  <read foo="1"/>
</data>"#,
        )
        .unwrap();
        assert_eq!(f.entries.len(), 4);
        let RawEntry::Program(p) = &f.entries[0] else {
            panic!()
        };
        assert_eq!(p.filename.as_deref(), Some("..\\sbl1.mbn"));
        assert_eq!(p.pages_per_block, Some(64));
        assert_eq!(p.last_sector.as_deref(), Some("700"));
        assert_eq!(p.origin.line, 2);
        let RawEntry::Erase(e) = &f.entries[1] else {
            panic!()
        };
        assert_eq!(e.num_partition_sectors, None);
        assert_eq!(e.label.as_deref(), Some("erase whole disk"));
        let RawEntry::Vendor { tag, .. } = &f.entries[2] else {
            panic!()
        };
        assert_eq!(tag.attrs[1], ("vendor".to_string(), "quectel".to_string()));
        assert_eq!(tag.attrs.len(), 4);
        let RawEntry::Program(p) = &f.entries[3] else {
            panic!()
        };
        assert_eq!(
            p.start_sector,
            SectorRef::Expr("NUM_DISK_SECTORS-5.".into())
        );
        assert!(p.sparse);
        assert_eq!(f.other, vec![("read".to_string(), 6)]);
    }

    #[test]
    fn bad_entries_named() {
        let e = parse("<data>\n<program SECTOR_SIZE_IN_BYTES=\"512\" start_sector=\"0\"/></data>")
            .unwrap_err();
        assert!(
            matches!(
                e,
                PackageError::MissingAttribute {
                    attribute: "num_partition_sectors",
                    line: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse("<data><program SECTOR_SIZE_IN_BYTES=\"512\" start_sector=\"0\" num_partition_sectors=\"99999999999999999999\"/></data>").unwrap_err();
        assert!(
            matches!(
                e,
                PackageError::BadNumber {
                    problem: NumberProblem::TooLarge { .. },
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse(
            "<data><erase SECTOR_SIZE_IN_BYTES=\"512\" physical_partition_number=\"40\"/></data>",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                PackageError::BadNumber {
                    problem: NumberProblem::TooLarge { max: 31 },
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse("<patches/>").unwrap_err();
        assert!(
            matches!(
                e,
                PackageError::UnknownRoot {
                    expected: "data",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
