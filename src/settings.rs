//! Persisted user settings (one `#[serde(default)]` struct, stored as JSON under one key of an
//! `eframe::Storage`), the app's data folder, and a small JSON-file storage used when eframe
//! offers none. Handles, channels and run state are never part of [`Settings`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::time::Duration;

use oasis_engine::FlashOptions;

use crate::backend::{ManualPort, Verification};

/// Storage key of the settings.
pub const SETTINGS_KEY: &str = "oasis.settings";

/// File format of the bench report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ReportFormat {
    /// Comma-separated values, one row per slot.
    #[default]
    Csv,
    /// A JSON array of rows.
    Json,
}

impl ReportFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
        }
    }
}

/// Everything the user sets that survives a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Folder the last package was opened from (where Browse starts).
    pub last_package_dir: Option<PathBuf>,
    /// The last package opened (reopened on start).
    pub last_package: Option<PathBuf>,
    /// How written data is verified.
    pub verification: Verification,
    /// Seconds to wait for one command's answer.
    pub command_timeout_s: u32,
    /// Seconds to wait for the board to re-appear after a mode switch or reset.
    pub reenumerate_timeout_s: u32,
    /// Follow the board back to normal mode after the flash and check its revision.
    pub confirm_after_reset: bool,
    /// Back up the board's calibration data (EFS2/NV...) into the data folder before flashing.
    pub backup_before_flash: bool,
    /// Keep the IMEI, ICCID and chip serial in support bundles and the ticket summary (masked
    /// by default).
    pub include_identifiers: bool,
    /// List Oasis's virtual boards beside real ones.
    pub show_virtual_boards: bool,
    /// Where bench reports go (a default under the data folder when unset).
    pub report_dir: Option<PathBuf>,
    /// Bench report format.
    pub report_format: ReportFormat,
    /// Serial ports added by hand, each listed as a board (a UART adapter on the module's
    /// main UART, a port the OS names without USB ids).
    pub manual_ports: Vec<ManualPort>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            last_package_dir: None,
            last_package: None,
            verification: Verification::Digest,
            command_timeout_s: 30,
            reenumerate_timeout_s: 45,
            confirm_after_reset: true,
            backup_before_flash: true,
            include_identifiers: false,
            show_virtual_boards: true,
            report_dir: None,
            report_format: ReportFormat::Csv,
            manual_ports: Vec::new(),
        }
    }
}

impl Settings {
    /// Read from storage; defaults for anything missing or unreadable.
    pub fn load(storage: &dyn eframe::Storage) -> Settings {
        storage
            .get_string(SETTINGS_KEY)
            .and_then(|s| serde_json::from_str::<Settings>(&s).ok())
            .unwrap_or_default()
            .sanitised()
    }

    /// Write to storage (the caller flushes).
    pub fn save(&self, storage: &mut dyn eframe::Storage) {
        if let Ok(s) = serde_json::to_string(self) {
            storage.set_string(SETTINGS_KEY, s);
        }
    }

    /// Clamp values a hand-edited file could make absurd.
    pub fn sanitised(mut self) -> Settings {
        self.command_timeout_s = self.command_timeout_s.clamp(1, 600);
        self.reenumerate_timeout_s = self.reenumerate_timeout_s.clamp(5, 600);
        self
    }

    /// The engine's flash options these settings give.
    pub fn flash_options(&self) -> FlashOptions {
        let mut o = FlashOptions::default();
        o.verify = self.verification != Verification::Off;
        o.confirm = self.confirm_after_reset;
        o.include_identifiers = self.include_identifiers;
        o.timeouts.command = Duration::from_secs(u64::from(self.command_timeout_s));
        let reappear = Duration::from_secs(u64::from(self.reenumerate_timeout_s));
        o.timeouts.edl_switch = reappear;
        o.timeouts.boot = reappear.max(o.timeouts.boot);
        o
    }
}

/// The app's data folder (logs, reports, settings when eframe keeps none): the same per-user
/// folder as the CLI's, [`oasis_engine::paths::data_dir`] (`OASIS_DATA_DIR` overrides).
pub fn data_dir() -> Option<PathBuf> {
    Some(oasis_engine::paths::data_dir())
}

/// An `eframe::Storage` kept in one JSON file (used when eframe is built without persistence).
#[derive(Debug, Default)]
pub struct JsonFileStorage {
    path: Option<PathBuf>,
    values: BTreeMap<String, String>,
    dirty: bool,
}

impl JsonFileStorage {
    /// Open (or start) the store at `path`; an unreadable file starts empty.
    pub fn open(path: &Path) -> JsonFileStorage {
        let values = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        JsonFileStorage {
            path: Some(path.to_owned()),
            values,
            dirty: false,
        }
    }

    /// A store that lives in memory only.
    pub fn in_memory() -> JsonFileStorage {
        JsonFileStorage::default()
    }
}

impl eframe::Storage for JsonFileStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.values.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        if self.values.get(key) != Some(&value) {
            self.values.insert(key.to_owned(), value);
            self.dirty = true;
        }
    }

    fn remove_string(&mut self, key: &str) {
        self.dirty |= self.values.remove(key).is_some();
    }

    fn flush(&mut self) {
        let Some(path) = &self.path else { return };
        if !self.dirty {
            return;
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // Write beside and rename, so a crash never leaves half a file.
        let tmp = path.with_extension("json.tmp");
        let Ok(text) = serde_json::to_string_pretty(&self.values) else {
            return;
        };
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, path).is_ok() {
            self.dirty = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eframe::Storage as _;

    #[test]
    fn settings_round_trip_through_a_file() {
        let dir = std::env::temp_dir().join(format!("oasis-settings-{}", std::process::id()));
        let path = dir.join("settings.json");
        let s = Settings {
            last_package_dir: Some(PathBuf::from("/srv/pkgs")),
            verification: Verification::Off,
            command_timeout_s: 12,
            report_format: ReportFormat::Json,
            ..Settings::default()
        };
        let mut st = JsonFileStorage::open(&path);
        s.save(&mut st);
        st.flush();
        let back = Settings::load(&JsonFileStorage::open(&path));
        assert_eq!(back, s);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn missing_fields_take_defaults_and_absurd_values_are_clamped() {
        let mut st = JsonFileStorage::in_memory();
        st.set_string(
            SETTINGS_KEY,
            r#"{"command_timeout_s": 0, "unknown": 5}"#.into(),
        );
        let s = Settings::load(&st);
        assert_eq!(s.command_timeout_s, 1);
        assert_eq!(s.verification, Verification::Digest);
        assert!(s.show_virtual_boards);
        st.set_string(SETTINGS_KEY, "not json".into());
        assert_eq!(Settings::load(&st), Settings::default());
    }
}
