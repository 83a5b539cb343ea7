//! patch*.xml (root `<patches>`): `<patch>` entries. Only `filename="DISK"` entries go to the
//! device; entries naming a file are host-side edits that real tools skip, so they are listed, not applied.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::PackageError;
use crate::number::{Attrs, SectorRef};
use crate::rawprogram::{MAX_PHYSICAL_PARTITION, Origin};
use crate::xml::{self, Element};

/// One `<patch>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchEntry {
    /// Where it was written.
    pub origin: Origin,
    /// `SECTOR_SIZE_IN_BYTES`.
    pub sector_size: u32,
    /// `physical_partition_number` (0 when absent).
    pub physical_partition_number: u32,
    /// `start_sector` exactly as written (expressions kept).
    pub start_sector: String,
    /// `byte_offset` within the sector.
    pub byte_offset: u64,
    /// `size_in_bytes` (1..=8).
    pub size_in_bytes: u32,
    /// `value` verbatim (`NUM_DISK_SECTORS-6.`, `CRC32(2,4096)`, ...).
    pub value: String,
    /// `filename` as written (`DISK` for device patches).
    pub filename: String,
    /// `what`, the description.
    pub what: Option<String>,
}

impl PatchEntry {
    /// Whether the patch targets the device (`filename="DISK"`).
    pub fn is_disk(&self) -> bool {
        self.filename.eq_ignore_ascii_case("DISK")
    }
}

/// A file-targeted patch that is neither a device step nor applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredPatch {
    /// The patch XML (package-relative in JSON summaries).
    pub file: String,
    /// Line of the entry.
    pub line: u32,
    /// The file it would edit.
    pub target: String,
    /// Its `what`, if any.
    pub what: Option<String>,
}

/// A parsed patch file.
#[derive(Debug, Clone)]
pub struct PatchFile {
    /// The XML file.
    pub path: PathBuf,
    /// Entries in document order.
    pub entries: Vec<PatchEntry>,
}

impl PatchFile {
    /// Read and parse a patch file.
    pub fn from_path(path: &Path) -> Result<Self, PackageError> {
        let doc = xml::parse_file(path)?;
        Self::from_element(path, &doc.root)
    }

    /// Parse from an already-built tree.
    pub fn from_element(path: &Path, root: &Element) -> Result<Self, PackageError> {
        if !root.name.eq_ignore_ascii_case("patches") {
            return Err(PackageError::UnknownRoot {
                file: path.to_path_buf(),
                line: root.line,
                expected: "patches",
                found: root.name.clone(),
            });
        }
        let entries = root
            .children_named("patch")
            .map(|el| parse_patch(Attrs::new(path, el)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PatchFile {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The entries that go to the device.
    pub fn disk_patches(&self) -> impl Iterator<Item = &PatchEntry> {
        self.entries.iter().filter(|p| p.is_disk())
    }
}

fn parse_patch(a: Attrs<'_>) -> Result<PatchEntry, PackageError> {
    let sector_size = a.sector_size()?;
    let start_text = a.required("start_sector")?.trim().to_string();
    // Validate the start (number or expression); keep it verbatim either way.
    let _: Option<SectorRef> = a.sector_ref("start_sector", sector_size)?;
    let byte_offset = a.req_u64("byte_offset", u64::from(sector_size) - 1)?;
    let size = a.req_u64("size_in_bytes", 8)?;
    if size == 0 {
        return Err(a.bad_number(
            "size_in_bytes",
            a.get("size_in_bytes").unwrap_or_default(),
            crate::error::NumberProblem::NotAllowed { expected: "1 to 8" },
        ));
    }
    Ok(PatchEntry {
        origin: Origin {
            file: a.file.to_path_buf(),
            line: a.el.line,
        },
        sector_size,
        physical_partition_number: u32::try_from(
            a.opt_u64("physical_partition_number", MAX_PHYSICAL_PARTITION)?
                .unwrap_or(0),
        )
        .unwrap_or(0),
        start_sector: start_text,
        byte_offset,
        size_in_bytes: u32::try_from(size).unwrap_or(8),
        value: a.required("value")?.trim().to_string(),
        filename: a.required("filename")?.trim().to_string(),
        what: a.get("what").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<PatchFile, PackageError> {
        let doc = xml::parse_bytes(Path::new("p.xml"), s.as_bytes())?;
        PatchFile::from_element(Path::new("p.xml"), &doc.root)
    }

    #[test]
    fn disk_and_file_patches() {
        let f = parse(
            r#"<patches>
<!-- c -->
<patch SECTOR_SIZE_IN_BYTES="2048" byte_offset="484" filename="partition_complete_p2K_b128K.mbn" physical_partition_number="0" size_in_bytes="4" start_sector="1" value="NUM_DISK_BLOCKS-1458." what="w"/>
<patch SECTOR_SIZE_IN_BYTES="4096" byte_offset="168" filename="DISK" physical_partition_number="0" size_in_bytes="8" start_sector="NUM_DISK_SECTORS-5." value="NUM_DISK_SECTORS-6."/>
</patches>"#,
        )
        .unwrap();
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].value, "NUM_DISK_BLOCKS-1458.");
        assert!(!f.entries[0].is_disk());
        assert_eq!(f.disk_patches().count(), 1);
        assert_eq!(f.entries[1].start_sector, "NUM_DISK_SECTORS-5.");
        assert_eq!(f.entries[1].origin.line, 4);
    }

    #[test]
    fn bad_patch_fields() {
        let e = parse(r#"<patches><patch SECTOR_SIZE_IN_BYTES="512" byte_offset="0" filename="DISK" size_in_bytes="9" start_sector="0" value="0"/></patches>"#).unwrap_err();
        assert!(
            matches!(e, PackageError::BadNumber { ref attribute, .. } if attribute == "size_in_bytes"),
            "{e:?}"
        );
        let e = parse(r#"<patches><patch SECTOR_SIZE_IN_BYTES="512" byte_offset="600" filename="DISK" size_in_bytes="4" start_sector="0" value="0"/></patches>"#).unwrap_err();
        assert!(
            matches!(e, PackageError::BadNumber { ref attribute, .. } if attribute == "byte_offset"),
            "{e:?}"
        );
        let e = parse(r#"<patches><patch SECTOR_SIZE_IN_BYTES="512" byte_offset="0" size_in_bytes="4" start_sector="0" value="0"/></patches>"#).unwrap_err();
        assert!(
            matches!(
                e,
                PackageError::MissingAttribute {
                    attribute: "filename",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
