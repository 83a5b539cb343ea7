//! What names tell: Quectel firmware names `<MODEL><variant>R##A##[M#G]_<version>`, NAND geometry
//! in file names (`p2K_b128K`) and the storage type.

use serde::Serialize;

/// Storage the package is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    /// Raw NAND (sector = page).
    Nand,
    /// eMMC.
    Emmc,
    /// UFS.
    Ufs,
    /// SPI-NOR.
    Spinor,
    /// Could not be told.
    Unknown,
}

impl StorageType {
    /// The Firehose `MemoryName` for `<configure>`.
    pub fn memory_name(self) -> Option<&'static str> {
        match self {
            StorageType::Nand => Some("nand"),
            StorageType::Emmc => Some("emmc"),
            StorageType::Ufs => Some("ufs"),
            StorageType::Spinor => Some("spinor"),
            StorageType::Unknown => None,
        }
    }

    /// Parse a storage word (`nand`, `eMMC`, `UFS`, `spinor`).
    pub fn from_word(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nand" => Some(StorageType::Nand),
            "emmc" => Some(StorageType::Emmc),
            "ufs" => Some(StorageType::Ufs),
            "spinor" | "nor" | "spi-nor" => Some(StorageType::Spinor),
            _ => None,
        }
    }

    /// A storage word inside a file name (`rawprogram_nand_...`, `prog_emmc_firehose_...`).
    pub fn from_file_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .find_map(Self::from_word)
    }
}

/// A Quectel firmware name, split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmwareName {
    /// Model (`BG95`, `EG25`, `RM500Q`).
    pub model: String,
    /// Variant letters between model and `R##A##` (`M6LA`, `GGB`).
    pub variant: String,
    /// Revision: the whole part before `_` (`BG95M6LAR02A02`, `EG25GGBR07A08M2G`).
    pub revision: String,
    /// Application version after `_` (`01.204.01.204`).
    pub version: Option<String>,
    /// The path component it was read from.
    pub source: String,
}

/// Model names with letters after the digits (longest first wins).
const KNOWN_MODELS: &[&str] = &[
    "RM500Q", "RM502Q", "RM505Q", "RM510Q", "RM520N", "RM521F", "RM530N", "RM551E", "RG500Q",
    "RG502Q", "RG520N", "RG255C", "RG650V", "EM120R", "EM160R", "EM060K", "EM061K", "EM05",
    "EG060K", "EG120K", "BG600L", "BG950A", "BG951A", "BG953A", "BG955A", "BG77", "BG95", "BG96",
    "EC200U", "EC200A", "EC200T", "EC600U", "EG912U", "EG915U", "EC20", "EC21", "EC25", "EG21",
    "EG25", "EG91", "EG95", "EG06", "EP06", "EM06", "EM12", "EM20",
];

/// Find `R##A##` in `s`: the index of the `R`.
fn rev_token(s: &[u8]) -> Option<usize> {
    (1..s.len()).find(|&i| {
        matches!(
            s.get(i..i + 6),
            Some([b'R', d1, d2, b'A', d3, d4]) if [d1, d2, d3, d4].iter().all(|d| d.is_ascii_digit())
        )
    })
}

/// Split a name like `BG95M6LAR02A02_01.204.01.204` or `EG25GGBR07A08M2G_30.006.30.006`
/// (also as a file stem with `.zip`).
pub fn parse_firmware_name(component: &str) -> Option<FirmwareName> {
    let stem = component
        .strip_suffix(".zip")
        .or_else(|| component.strip_suffix(".ZIP"))
        .unwrap_or(component);
    let (rev, version) = match stem.split_once('_') {
        Some((r, v)) => (r, Some(v)),
        None => (stem, None),
    };
    if rev.len() < 8
        || !rev
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return None;
    }
    let at = rev_token(rev.as_bytes())?;
    let tail = rev.get(at + 6..)?;
    // `[M#G]`-style suffix only: a few letters/digits.
    if tail.len() > 4 {
        return None;
    }
    let head = rev.get(..at)?;
    if !head.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let model = KNOWN_MODELS
        .iter()
        .filter(|m| head.starts_with(*m))
        .max_by_key(|m| m.len())
        .map(|m| (*m).to_string())
        .unwrap_or_else(|| {
            let letters = head.bytes().take_while(u8::is_ascii_alphabetic).count();
            let digits = head
                .bytes()
                .skip(letters)
                .take_while(u8::is_ascii_digit)
                .count();
            head.get(..letters + digits).unwrap_or(head).to_string()
        });
    let version = version
        .map(|v| {
            v.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect::<String>()
        })
        .filter(|v| !v.is_empty());
    Some(FirmwareName {
        variant: head.get(model.len()..).unwrap_or_default().to_string(),
        model,
        revision: rev.to_string(),
        version,
        source: component.to_string(),
    })
}

/// NAND geometry from a name like `rawprogram_nand_p2K_b128K_update.xml`: (page bytes, block bytes).
pub fn geometry_from_name(name: &str) -> Option<(u32, u32)> {
    let lower = name.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split(['_', '.', '-']).collect();
    parts.windows(2).find_map(|w| {
        let page = kib(w.first()?.strip_prefix('p')?)?;
        let block = kib(w.get(1)?.strip_prefix('b')?)?;
        (block > page && block % page == 0).then_some((page, block))
    })
}

fn kib(s: &str) -> Option<u32> {
    let n: u32 = s.strip_suffix('k')?.parse().ok()?;
    (1..=4096).contains(&n).then_some(n * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_names() {
        let n = parse_firmware_name("BG95M6LAR02A02_01.204.01.204").unwrap();
        assert_eq!((n.model.as_str(), n.variant.as_str()), ("BG95", "M6LA"));
        assert_eq!(n.revision, "BG95M6LAR02A02");
        assert_eq!(n.version.as_deref(), Some("01.204.01.204"));
        let n = parse_firmware_name("EG25GGBR07A08M2G_30.006.30.006.zip").unwrap();
        assert_eq!(
            (n.model.as_str(), n.variant.as_str(), n.revision.as_str()),
            ("EG25", "GGB", "EG25GGBR07A08M2G")
        );
        assert_eq!(n.version.as_deref(), Some("30.006.30.006"));
        let n = parse_firmware_name("RM500QGLABR11A06M4G_01.001.01.001").unwrap();
        assert_eq!((n.model.as_str(), n.variant.as_str()), ("RM500Q", "GLAB"));
        assert_eq!(
            parse_firmware_name("BG96MAR02A07M1G").unwrap().version,
            None
        );
        assert!(parse_firmware_name("update").is_none());
        assert!(parse_firmware_name("firehose").is_none());
        assert!(parse_firmware_name("R02A02_x").is_none());
    }

    #[test]
    fn geometry_and_storage() {
        assert_eq!(
            geometry_from_name("rawprogram_nand_p2K_b128K_update.xml"),
            Some((2048, 131072))
        );
        assert_eq!(
            geometry_from_name("partition_complete_p4K_b256K.mbn"),
            Some((4096, 262144))
        );
        assert_eq!(geometry_from_name("rawprogram0.xml"), None);
        assert_eq!(
            StorageType::from_file_name("rawprogram_nand_p2K_b128K_update.xml"),
            Some(StorageType::Nand)
        );
        assert_eq!(
            StorageType::from_file_name("prog_emmc_firehose_8916.mbn"),
            Some(StorageType::Emmc)
        );
        assert_eq!(StorageType::from_file_name("rawprogram0.xml"), None);
    }
}
