//! Where Oasis keeps its own files (backups, support bundles) and the UTC time stamps that name
//! them. The per-user folder comes from the `directories` crate (XDG on Linux, Known Folders on
//! Windows, Standard Directories on macOS), so the app and the CLI share one folder per platform.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Environment variable that overrides [`data_dir`] (tests, portable installs).
pub(crate) const DATA_DIR_ENV: &str = "OASIS_DATA_DIR";

/// The per-user data folder of Oasis (app and CLI alike): `$OASIS_DATA_DIR`, else the
/// platform's local data folder for Oasis — Linux `$XDG_DATA_HOME/oasis` (by default
/// `~/.local/share/oasis`), macOS `~/Library/Application Support/Oasis`, Windows
/// `%LOCALAPPDATA%\Oasis\data`; the temp folder when the platform names none (no home).
/// Not created here.
pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    platform_data_dir().unwrap_or_else(|| std::env::temp_dir().join("oasis"))
}

/// The platform's own answer for [`data_dir`], without the override.
fn platform_data_dir() -> Option<PathBuf> {
    // Linux folder names are lower case by convention; the others carry the product name.
    let name = if cfg!(any(target_os = "windows", target_os = "macos")) {
        "Oasis"
    } else {
        "oasis"
    };
    directories::ProjectDirs::from_path(PathBuf::from(name))
        .map(|d| d.data_local_dir().to_path_buf())
}

/// Create `dir` for a new `what` (a backup, a dump...): it must not exist yet, or be an empty
/// folder, so one never mixes with or overwrites other files. Both refusals are bad input.
pub(crate) fn fresh_dir(dir: &std::path::Path, what: &str) -> Result<(), crate::EngineError> {
    let occupied = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => dir.exists(), // a file, or a folder that cannot be listed
    };
    if occupied {
        return Err(crate::EngineError::BadInput {
            what: format!("the {what} folder {} is not empty", dir.display()),
            help: Some(format!(
                "name a new folder: a {what} never overwrites or mixes with other files"
            )),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| crate::EngineError::BadInput {
        what: format!("cannot create the {what} folder {}: {e}", dir.display()),
        help: Some("choose a writable folder on a disk with free space".to_owned()),
    })
}

/// Folder for automatic support bundles: `<data dir>/bundles`.
pub fn bundles_dir() -> PathBuf {
    data_dir().join("bundles")
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
pub(crate) fn iso8601(unix: u64) -> String {
    let (y, m, d, hh, mm, ss) = parts(unix);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `20261123-220719` (for file names).
pub fn compact_stamp(unix: u64) -> String {
    let (y, m, d, hh, mm, ss) = parts(unix);
    format!("{y:04}{m:02}{d:02}-{hh:02}{mm:02}{ss:02}")
}

/// Bytes kept free on the disk beyond what a job writes, unless the request says otherwise.
pub(crate) const SPACE_MARGIN: u64 = 16 * 1024 * 1024;

/// Refuse a job that would write `needed` bytes into `dir` when its disk has less free than
/// that plus `reserve` (0 = [`SPACE_MARGIN`]); `help` says what to do (and what was left as it
/// was). A disk whose free space the OS does not tell is only noted.
pub(crate) fn ensure_space(
    dir: &std::path::Path,
    needed: u64,
    reserve: u64,
    em: &mut crate::progress::Emitter,
    help: &str,
) -> Result<(), crate::error::EngineError> {
    let reserve = if reserve == 0 { SPACE_MARGIN } else { reserve };
    match fs4::available_space(dir) {
        Ok(free) if free < needed.saturating_add(reserve) => {
            Err(crate::error::EngineError::Refused {
                reason: format!(
                    "this needs {} but the disk of {} has only {} free",
                    crate::progress::human_bytes(needed),
                    dir.display(),
                    crate::progress::human_bytes(free)
                ),
                help: help.to_owned(),
            })
        }
        Ok(_) => Ok(()),
        Err(_) => {
            em.info("the free disk space could not be checked");
            Ok(())
        }
    }
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
    fn the_data_dir_is_the_platform_folder_for_oasis() {
        // Not under the override (tests set it): the platform's own answer.
        let d = platform_data_dir().expect("a home folder on the test machine");
        let text = d.to_string_lossy().to_lowercase();
        assert!(text.contains("oasis"), "{}", d.display());
        if cfg!(target_os = "linux") {
            assert!(d.ends_with("oasis"), "{}", d.display());
        }
        if cfg!(windows) {
            assert!(
                d.ends_with("Oasis\\data") || d.ends_with("Oasis/data"),
                "{}",
                d.display()
            );
        }
    }

    #[test]
    fn backup_dirs_are_named_after_the_board() {
        let d = timestamped_backup_dir(std::path::Path::new("/b"), Some("0cf94c64"));
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("0cf94c64-2"), "{name}");
        assert_eq!(name.len(), "0cf94c64-".len() + 15);
    }
}
