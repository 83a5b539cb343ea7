//! Facts derived from the files found: storage type and geometry (with the evidence used), the
//! partition table (MIBIB, partition_nand.xml, partition.mbn, or rawprogram labels) and the firmware name.

use std::path::{Path, PathBuf};

use crate::discover::{Choice, Found};
use crate::fsutil::glob_match;
use crate::naming::{FirmwareName, StorageType, geometry_from_name};
use crate::nand::{self, NandPartitionXml, Partition, PartitionTable, TableSource, UsrEntry};
use crate::number::SectorRef;
use crate::rawprogram::{RawEntry, RawProgramFile};

/// Storage type and geometry, with warnings and the evidence used.
#[derive(Debug, Clone)]
pub struct StorageFacts {
    /// Storage type.
    pub storage: StorageType,
    /// Most common sector size of the entries.
    pub sector_size: Option<u32>,
    /// NAND pages per block.
    pub pages_per_block: Option<u32>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Choices.
    pub choices: Vec<Choice>,
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Sector sizes of the entries with their counts, and the first PAGES_PER_BLOCK seen.
fn sector_stats(raws: &[RawProgramFile]) -> (Vec<(u32, usize)>, Option<u32>) {
    let mut sizes: Vec<(u32, usize)> = Vec::new();
    let mut ppb = None;
    for e in raws.iter().flat_map(|r| &r.entries) {
        let (ss, p) = match e {
            RawEntry::Program(p) => (p.sector_size, p.pages_per_block),
            RawEntry::Erase(e) => (e.sector_size, e.pages_per_block),
            RawEntry::Vendor { .. } => continue,
        };
        match sizes.iter_mut().find(|(s, _)| *s == ss) {
            Some((_, n)) => *n += 1,
            None => sizes.push((ss, 1)),
        }
        ppb = ppb.or(p);
    }
    (sizes, ppb)
}

/// The storage type from the strongest evidence available, with the reason.
fn storage_evidence(
    found: &Found,
    ppb: Option<u32>,
    sector_size: Option<u32>,
) -> (StorageType, String) {
    let raw_type = found
        .rawprogram
        .iter()
        .find_map(|p| StorageType::from_file_name(&file_name(p)));
    let contents_types = found
        .contents
        .as_ref()
        .map(|c| c.storage_types())
        .unwrap_or_default();
    let contents_type = match contents_types.as_slice() {
        [only] => StorageType::from_word(only),
        _ => None,
    };
    let programmer_type = found
        .programmer
        .as_deref()
        .and_then(|p| StorageType::from_file_name(&file_name(p)));
    let by_sector = match sector_size {
        Some(512) => Some(StorageType::Emmc),
        Some(2048) => Some(StorageType::Nand),
        Some(4096) => Some(StorageType::Ufs),
        _ => None,
    };
    let evidence = [
        (
            ppb.map(|_| StorageType::Nand),
            "rawprogram entries carry PAGES_PER_BLOCK".to_string(),
        ),
        (raw_type, "the rawprogram file name says so".into()),
        (contents_type, "contents.xml storage_type".into()),
        (programmer_type, "the programmer file name says so".into()),
        (
            by_sector,
            format!("sector size {}", sector_size.unwrap_or(0)),
        ),
    ];
    evidence
        .into_iter()
        .find_map(|(s, why)| s.map(|s| (s, why)))
        .unwrap_or((StorageType::Unknown, "nothing tells".into()))
}

/// Decide storage and geometry from the entries, file names and contents.xml.
pub fn storage_facts(found: &Found, raws: &[RawProgramFile]) -> StorageFacts {
    let (sizes, ppb) = sector_stats(raws);
    let sector_size = sizes.iter().max_by_key(|(_, n)| *n).map(|(s, _)| *s);
    let mut warnings = Vec::new();
    if sizes.len() > 1 {
        let list: Vec<String> = sizes.iter().map(|(s, n)| format!("{s} ({n}×)")).collect();
        warnings.push(format!(
            "entries use several sector sizes: {}",
            list.join(", ")
        ));
    }
    let (storage, why) = storage_evidence(found, ppb, sector_size);
    if storage == StorageType::Unknown {
        warnings.push(
            "the storage type (nand/emmc/ufs) could not be told; no set-bootable step is planned"
                .into(),
        );
    }
    let geometry = found
        .rawprogram
        .iter()
        .find_map(|p| geometry_from_name(&file_name(p)));
    let mut pages_per_block = ppb;
    if storage == StorageType::Nand && pages_per_block.is_none() {
        pages_per_block = geometry.map(|(page, block)| block / page);
    }
    if let (Some((page, _)), Some(ss)) = (geometry, sector_size)
        && page != ss
    {
        warnings.push(format!(
            "the file name says {page}-byte pages but the entries use {ss}-byte sectors"
        ));
    }
    let choices = vec![Choice {
        what: "storage".into(),
        chosen: storage.memory_name().unwrap_or("unknown").into(),
        reason: why,
        alternatives: vec![],
    }];
    StorageFacts {
        storage,
        sector_size,
        pages_per_block,
        warnings,
        choices,
    }
}

/// Partition tables found, and what disagreed.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// The table used.
    pub table: Option<PartitionTable>,
    /// partition_nand.xml.
    pub nand_xml: Option<NandPartitionXml>,
    /// partition.mbn.
    pub usr_table: Option<Vec<UsrEntry>>,
    /// Warnings.
    pub warnings: Vec<String>,
}

fn first_file(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| p.is_file()).cloned()
}

/// Read the partition tables the package carries.
pub fn partition_tables(
    found: &Found,
    xml_dir: &Path,
    raws: &[RawProgramFile],
    facts: &StorageFacts,
) -> Tables {
    if facts.storage != StorageType::Nand {
        return Tables {
            table: label_table(raws),
            ..Tables::default()
        };
    }
    let ppb = facts.pages_per_block.unwrap_or(64);
    let page = facts.sector_size.unwrap_or(2048);
    let mut t = read_nand_sources(found, xml_dir, ppb);
    if let Some(x) = &t.nand_xml {
        let layout = x.layout(page, ppb);
        match t.table.as_mut() {
            Some(m) => cross_check(m, &layout, &mut t.warnings),
            None => t.table = Some(layout),
        }
    }
    if let (Some(x), Some(u)) = (&t.nand_xml, &t.usr_table) {
        let names_x: Vec<&str> = x.partitions.iter().map(|p| p.name.as_str()).collect();
        let names_u: Vec<&str> = u.iter().map(|p| p.name.as_str()).collect();
        if names_x != names_u {
            t.warnings
                .push("partition.mbn and partition_nand.xml list different partitions".into());
        }
    }
    t
}

/// partition_nand.xml, partition.mbn and the MIBIB, each optional; unreadable ones become warnings.
fn read_nand_sources(found: &Found, xml_dir: &Path, ppb: u32) -> Tables {
    let mut t = Tables::default();
    let parent = xml_dir.parent().unwrap_or(xml_dir).to_path_buf();
    let xml_path = first_file(&[
        found.root.join("update/partition_nand.xml"),
        parent.join("partition_nand.xml"),
        xml_dir.join("partition_nand.xml"),
        found.root.join("partition_nand.xml"),
    ]);
    if let Some(p) = xml_path {
        match NandPartitionXml::from_path(&p) {
            Ok(x) => t.nand_xml = Some(x),
            Err(e) => t.warnings.push(format!("partition_nand.xml ignored: {e}")),
        }
    }
    let read = |p: &Path| crate::fsutil::read_limited(p, nand::MAX_TABLE_BYTES);
    if let Some(p) = first_file(&[
        found.root.join("update/partition.mbn"),
        parent.join("partition.mbn"),
    ]) {
        match read(&p).and_then(|b| nand::parse_usr_table(&p, &b)) {
            Ok((_, entries)) => t.usr_table = Some(entries),
            Err(e) => t.warnings.push(format!("partition.mbn ignored: {e}")),
        }
    }
    if let Some(p) = find_mibib(xml_dir, found) {
        match read(&p).and_then(|b| nand::parse_mibib(&p, &b)) {
            Ok((_, entries)) => t.table = Some(nand::mibib_table(&p, &entries, ppb)),
            Err(e) => t.warnings.push(format!("MIBIB ignored: {e}")),
        }
    }
    t
}

fn find_mibib(xml_dir: &Path, found: &Found) -> Option<PathBuf> {
    let geometry = found
        .rawprogram
        .iter()
        .find_map(|p| geometry_from_name(&file_name(p)));
    let mut hits: Vec<PathBuf> = std::fs::read_dir(xml_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && glob_match("partition_complete_*.mbn", &file_name(p)))
        .collect();
    hits.sort();
    hits.iter()
        .find(|p| geometry.is_some() && geometry_from_name(&file_name(p)) == geometry)
        .or(hits.first())
        .cloned()
}

/// Compare the MIBIB with the XML layout (warnings) and take the XML's image names.
fn cross_check(mibib: &mut PartitionTable, layout: &PartitionTable, warnings: &mut Vec<String>) {
    for p in &layout.partitions {
        let Some(m) = mibib
            .partitions
            .iter_mut()
            .find(|m| m.name.eq_ignore_ascii_case(&p.name))
        else {
            warnings.push(format!(
                "partition {} of partition_nand.xml is not in the MIBIB",
                p.name
            ));
            continue;
        };
        if m.start_block != p.start_block || (p.blocks.is_some() && m.blocks != p.blocks) {
            warnings.push(format!(
                "partition {}: MIBIB says blocks {:?}+{:?}, partition_nand.xml gives {:?}+{:?}",
                p.name, m.start_block, m.blocks, p.start_block, p.blocks
            ));
        }
        if m.image.is_none() {
            m.image.clone_from(&p.image);
        }
    }
}

/// eMMC/UFS: the labelled rawprogram entries as a table.
fn label_table(raws: &[RawProgramFile]) -> Option<PartitionTable> {
    let mut partitions = Vec::new();
    for e in raws.iter().flat_map(|r| &r.entries) {
        let (label, ppn, start, n) = match e {
            RawEntry::Program(p) => (
                &p.label,
                p.physical_partition_number,
                &p.start_sector,
                Some(p.num_partition_sectors),
            ),
            RawEntry::Erase(e) => match &e.start_sector {
                Some(s) => (
                    &e.label,
                    e.physical_partition_number,
                    s,
                    e.num_partition_sectors,
                ),
                None => continue,
            },
            RawEntry::Vendor { .. } => continue,
        };
        let (Some(label), SectorRef::Number(start)) = (label, start) else {
            continue;
        };
        if partitions
            .iter()
            .any(|p: &Partition| p.name == *label && p.physical_partition_number == ppn)
        {
            continue;
        }
        partitions.push(Partition {
            name: label.clone(),
            physical_partition_number: ppn,
            start_sector: *start,
            sectors: n.filter(|n| *n > 0),
            start_block: None,
            blocks: None,
            attributes: vec![],
            which_flash: None,
            image: None,
        });
    }
    (!partitions.is_empty()).then_some(PartitionTable {
        source: TableSource::Rawprogram,
        file: None,
        pages_per_block: None,
        partitions,
    })
}

/// The firmware name from the path components, searching upward from the XML folder to the root.
pub fn firmware_name(root: &Path, xml_dir: &Path) -> Option<FirmwareName> {
    let mut cur = Some(xml_dir);
    while let Some(dir) = cur {
        if let Some(n) = dir
            .file_name()
            .and_then(|n| crate::naming::parse_firmware_name(&n.to_string_lossy()))
        {
            return Some(n);
        }
        if dir == root || !dir.starts_with(root) {
            break;
        }
        cur = dir.parent();
    }
    root.file_name()
        .and_then(|n| crate::naming::parse_firmware_name(&n.to_string_lossy()))
}
