//! Where Oasis keeps its own files (backups, support bundles) and the UTC time stamps that name
//! them. No dependency on a platform-dirs crate: the rules are short and fixed.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Environment variable that overrides [`data_dir`] (tests, portable installs).
pub const DATA_DIR_ENV: &str = "OASIS_DATA_DIR";

/// The per-user data folder of Oasis (app and CLI alike):
/// `$OASIS_DATA_DIR`, else Linux `$XDG_DATA_HOME/oasis` or `~/.local/share/oasis`,
/// macOS `~/Library/Application Support/Oasis`, Windows `%LOCALAPPDATA%\Oasis`; the temp
/// folder when none of these is known. Not created here.
pub fn data_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env(DATA_DIR_ENV) {
        return d;
    }
    if cfg!(windows) {
        if let Some(d) = env("LOCALAPPDATA").or_else(|| env("APPDATA")) {
            return d.join("Oasis");
        }
    } else if cfg!(target_os = "macos") {
        if let Some(h) = env("HOME") {
            return h.join("Library/Application Support/Oasis");
        }
    } else if let Some(d) = env("XDG_DATA_HOME") {
        return d.join("oasis");
    } else if let Some(h) = env("HOME") {
        return h.join(".local/share/oasis");
    }
    std::env::temp_dir().join("oasis")
}

/// Folder for automatic support bundles: `<data dir>/bundles`.
pub fn bundles_dir() -> PathBuf {
    data_dir().join("bundles")
}

/// Folder for backups: `<data dir>/backups`.
pub fn backups_dir() -> PathBuf {
    data_dir().join("backups")
}

/// A fresh, timestamped backup folder under `base` for the board with `serial`
/// (`<base>/<serial>-20261123-220719`). Not created here.
pub fn timestamped_backup_dir(base: &std::path::Path, serial: Option<&str>) -> PathBuf {
    let who = serial.unwrap_or("board");
    base.join(format!("{who}-{}", compact_stamp(now_unix())))
}

/// Seconds since 1970-01-01 UTC (0 if the clock is before it).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Civil date (y, m, d) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn parts(unix: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = i64::try_from(unix / 86_400).unwrap_or(0);
    let (y, m, d) = civil(days);
    let s = unix % 86_400;
    (y, m, d, s / 3600, (s / 60) % 60, s % 60)
}

/// `2026-11-23T22:07:19Z`.
pub fn iso8601(unix: u64) -> String {
    let (y, m, d, hh, mm, ss) = parts(unix);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `20261123-220719` (for file names).
pub fn compact_stamp(unix: u64) -> String {
    let (y, m, d, hh, mm, ss) = parts(unix);
    format!("{y:04}{m:02}{d:02}-{hh:02}{mm:02}{ss:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_civil_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(iso8601(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(compact_stamp(1_709_210_096), "20240229-123456");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn backup_dirs_are_named_after_the_board() {
        let d = timestamped_backup_dir(std::path::Path::new("/b"), Some("0cf94c64"));
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("0cf94c64-2"), "{name}");
        assert_eq!(name.len(), "0cf94c64-".len() + 15);
    }
}
