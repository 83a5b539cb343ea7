//! The manifest of a crash-dump folder: what was collected, what is missing, and why.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// Name of the manifest in a dump folder.
pub const MANIFEST: &str = "manifest.json";
/// `format` field of the manifest.
pub const FORMAT: &str = "oasis-ramdump";
/// What every manifest says about its content.
pub const SECRETS_NOTE: &str = "A crash dump is a copy of the module's RAM at the time of the crash: it may contain secrets (keys, credentials, network and personal data). Share it only privately, with the module vendor's support.";

/// State of the whole dump, as the manifest says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpStatus {
    /// Being collected (a manifest left like this means Oasis stopped unexpectedly).
    InProgress,
    /// Every selected region was collected.
    Complete,
    /// Some regions were collected, some not (see `missing`).
    Partial,
    /// The user cancelled; what was collected is kept.
    Cancelled,
    /// Nothing could be collected.
    Failed,
}

/// State of one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionStatus {
    /// Not read yet.
    Pending,
    /// Read whole; the file and SHA-256 are final.
    Collected,
    /// The board refused it, or the link failed during it (`<file>.part` holds what arrived).
    Failed,
    /// Not read (the job stopped before it).
    Missing,
}

/// One region in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRegion {
    /// File name the board gave.
    pub name: String,
    /// Description the board gave.
    pub description: String,
    /// File in the dump folder (`<file>.part` while incomplete).
    pub file: String,
    /// Start address, hex (`0x80000000`).
    pub address: String,
    /// Start address.
    pub base: u64,
    /// Length in bytes.
    pub length: u64,
    /// The table's `save_pref` word.
    pub save_pref: u64,
    /// State.
    pub status: RegionStatus,
    /// Bytes received.
    pub bytes: u64,
    /// SHA-256 of the file (collected regions).
    pub sha256: Option<String>,
    /// Why it is not collected.
    pub error: Option<String>,
}

/// A table entry that was not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRefused {
    /// Position in the table.
    pub index: usize,
    /// Name as the board gave it.
    pub name: String,
    /// Why it was refused.
    pub reason: String,
}

/// What is known about the board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpIdentity {
    /// Sahara version from HELLO.
    pub sahara_version: Option<u32>,
    /// Chip serial (hex), when the port or board tells it.
    pub serial: Option<String>,
    /// Chip name, when known.
    pub chip: Option<String>,
    /// Module model, when known (virtual boards).
    pub model: Option<String>,
}

/// The region table as offered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestTable {
    /// 32 or 64 (MEMORY_DEBUG or MEMORY_DEBUG_64).
    pub width: u32,
    /// Table address, hex.
    pub address: String,
    /// Table length in bytes.
    pub length: u64,
    /// Entries in the table.
    pub entries: usize,
}

/// `manifest.json` of a dump folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpManifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Manifest version (1).
    pub version: u32,
    /// State of the dump.
    pub status: DumpStatus,
    /// [`SECRETS_NOTE`].
    pub note: String,
    /// When collection started (UTC, ISO 8601).
    pub started: String,
    /// When it ended.
    pub finished: Option<String>,
    /// The port it was read from.
    pub port: String,
    /// The board, as far as known.
    pub identity: DumpIdentity,
    /// The table.
    pub table: ManifestTable,
    /// Regions selected for reading, in table order.
    pub regions: Vec<ManifestRegion>,
    /// Table entries refused before reading.
    pub refused: Vec<ManifestRefused>,
    /// File names of selected regions that are not collected.
    pub missing: Vec<String>,
    /// Changes made to the board's file names, and other facts.
    pub notes: Vec<String>,
    /// Bytes collected.
    pub bytes: u64,
    /// Whether the board was reset (rebooted) at the end.
    pub reset: bool,
}

impl DumpManifest {
    /// Read `manifest.json` from a dump folder.
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| EngineError::BadInput {
            what: format!("cannot read {}: {e}", path.display()),
            help: Some("name a folder written by `oasis-cli ramdump`".to_owned()),
        })?;
        serde_json::from_str(&text).map_err(|e| EngineError::BadInput {
            what: format!("{} is not a crash-dump manifest: {e}", path.display()),
            help: None,
        })
    }

    /// Regions collected whole.
    pub fn collected(&self) -> impl Iterator<Item = &ManifestRegion> {
        self.regions
            .iter()
            .filter(|r| r.status == RegionStatus::Collected)
    }

    fn refresh(&mut self) {
        self.missing = self
            .regions
            .iter()
            .filter(|r| r.status != RegionStatus::Collected)
            .map(|r| r.name.clone())
            .collect();
        self.bytes = self.collected().map(|r| r.bytes).sum();
    }

    pub(super) fn save(&mut self, dir: &Path) -> Result<(), EngineError> {
        self.refresh();
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| EngineError::Internal(format!("manifest: {e}")))?;
        let tmp = dir.join(format!("{MANIFEST}.tmp"));
        let io = |e: std::io::Error| EngineError::Io {
            file: dir.join(MANIFEST).display().to_string(),
            source: e,
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, dir.join(MANIFEST)).map_err(io)
    }
}
