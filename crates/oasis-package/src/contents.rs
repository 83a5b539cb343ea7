//! contents.xml (Qualcomm meta-build index): read for hints only. Its `flash_programmer` is the old
//! streaming-download (NPRG) programmer and is never used as the Firehose programmer.

use std::path::Path;

use serde::Serialize;

use crate::error::PackageError;
use crate::xml::{self, Element};

/// One `<build>` of `<builds_flat>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContentsBuild {
    /// `<name>`.
    pub name: String,
    /// `<role>`.
    pub role: Option<String>,
    /// `<chipset>`.
    pub chipset: Option<String>,
    /// `<image_dir>`.
    pub image_dir: Option<String>,
    /// `<partition_file>` paths (path + name, `/`-separated).
    pub partition_files: Vec<String>,
    /// `<partition_patch_file>` paths.
    pub partition_patch_files: Vec<String>,
    /// `<download_file>` paths.
    pub download_files: Vec<String>,
    /// `<device_programmer>` path (a Firehose programmer on newer builds).
    pub device_programmer: Option<String>,
    /// `<flash_programmer>` path (streaming-download NPRG: informational only).
    pub flash_programmer: Option<String>,
    /// `storage_type` attributes seen in this build (ufs, emmc, nand, spinor).
    pub storage_types: Vec<String>,
}

/// What contents.xml says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContentsInfo {
    /// Whether the file starts with a UTF-8 BOM.
    pub bom: bool,
    /// `<product_info><product_name>`.
    pub product_name: Option<String>,
    /// `<product_info><chipid>`.
    pub chipid: Option<String>,
    /// `<product_info><hlos_type>`.
    pub hlos_type: Option<String>,
    /// The builds.
    pub builds: Vec<ContentsBuild>,
}

impl ContentsInfo {
    /// Read and parse a contents.xml.
    pub fn from_path(path: &Path) -> Result<Self, PackageError> {
        let doc = xml::parse_file(path)?;
        let mut info = Self::from_element(path, &doc.root)?;
        info.bom = doc.had_bom;
        Ok(info)
    }

    /// Parse from an already-built tree.
    pub fn from_element(path: &Path, root: &Element) -> Result<Self, PackageError> {
        if !root.name.eq_ignore_ascii_case("contents") {
            return Err(PackageError::UnknownRoot {
                file: path.to_path_buf(),
                line: root.line,
                expected: "contents",
                found: root.name.clone(),
            });
        }
        let product = root.child("product_info");
        let text = |name: &str| {
            product
                .and_then(|p| p.child_text(name))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let builds = root
            .child("builds_flat")
            .map(|b| b.children_named("build").map(parse_build).collect())
            .unwrap_or_default();
        Ok(ContentsInfo {
            bom: false,
            product_name: text("product_name"),
            chipid: text("chipid"),
            hlos_type: text("hlos_type"),
            builds,
        })
    }

    /// Every storage type named anywhere, lower case, deduplicated.
    pub fn storage_types(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self.builds.iter().flat_map(|b| &b.storage_types) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }

    /// The flash_programmer named (the NPRG programmer), if any.
    pub fn flash_programmer(&self) -> Option<&str> {
        self.builds
            .iter()
            .find_map(|b| b.flash_programmer.as_deref())
    }
}

/// `<file_path>` + `<file_name>`, with `\` turned into `/` and no doubled separators.
fn file_ref(el: &Element) -> Option<String> {
    let name = el.child_text("file_name").filter(|s| !s.is_empty())?;
    let dir = el
        .child_text("file_path")
        .unwrap_or_default()
        .replace('\\', "/");
    let dir = dir.trim_end_matches('/');
    Some(if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    })
}

fn parse_build(b: &Element) -> ContentsBuild {
    let text = |name: &str| {
        b.child_text(name)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let refs = |name: &'static str| {
        b.children_named(name)
            .filter_map(file_ref)
            .collect::<Vec<_>>()
    };
    let mut storage_types = Vec::new();
    for el in &b.children {
        if let Some(s) = el.attr("storage_type") {
            let s = s.trim().to_ascii_lowercase();
            if !s.is_empty() && !storage_types.contains(&s) {
                storage_types.push(s);
            }
        }
    }
    ContentsBuild {
        name: text("name").unwrap_or_default(),
        role: text("role"),
        chipset: text("chipset"),
        image_dir: text("image_dir"),
        partition_files: refs("partition_file"),
        partition_patch_files: refs("partition_patch_file"),
        download_files: refs("download_file"),
        device_programmer: b.child("device_programmer").and_then(file_ref),
        flash_programmer: b.child("flash_programmer").and_then(file_ref),
        storage_types,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_build_fields() {
        let s = "\u{feff}<?xml version=\"1.0\"?>\r\n<contents><product_info><product_name>P</product_name></product_info>\n<builds_flat><build><name>common</name>\r\n<partition_file storage_type=\"UFS\"><file_name>rawprogram0.xml</file_name><file_path flavor=\"asic\">common\\build\\ufs\\</file_path></partition_file>\n<device_programmer><file_name>prog_firehose_ddr.elf</file_name><file_path>boot/</file_path></device_programmer></build></builds_flat></contents>";
        let doc = xml::parse_bytes(Path::new("contents.xml"), s.as_bytes()).unwrap();
        let info = ContentsInfo::from_element(Path::new("contents.xml"), &doc.root).unwrap();
        assert_eq!(info.product_name.as_deref(), Some("P"));
        assert_eq!(
            info.builds[0].partition_files,
            vec!["common/build/ufs/rawprogram0.xml"]
        );
        assert_eq!(
            info.builds[0].device_programmer.as_deref(),
            Some("boot/prog_firehose_ddr.elf")
        );
        assert_eq!(info.storage_types(), vec!["ufs"]);
    }
}
