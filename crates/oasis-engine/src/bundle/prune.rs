//! The data dir's bundles folder does not grow without end: after a bundle is written there,
//! the oldest bundles go until the folder is under a size cap (the newest bundle is always
//! kept). One function for the CLI's automatic bundles and the app's per-job bundles.
//!
//! The cap is `DEFAULT_CAP_MB` MiB, or `OASIS_BUNDLE_CAP_MB` (`CAP_ENV`) when set
//! (`0` keeps only the newest bundle); a caller may pass its own (the app's setting).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Environment variable: the cap of the bundles folder, in MiB.
pub(crate) const CAP_ENV: &str = "OASIS_BUNDLE_CAP_MB";
/// Default cap of the bundles folder, in MiB.
pub(crate) const DEFAULT_CAP_MB: u64 = 256;

/// The cap in bytes: `OASIS_BUNDLE_CAP_MB` when it is a number, else the default.
pub(crate) fn cap_bytes() -> u64 {
    let mb = std::env::var(CAP_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_CAP_MB);
    mb.saturating_mul(1024 * 1024)
}

/// What a prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pruned {
    /// Bundles removed, oldest first.
    pub removed: Vec<PathBuf>,
    /// Bytes the kept bundles take.
    pub kept_bytes: u64,
}

/// Keep the newest `*.zip` bundles in `dir` whose sizes add up to at most `cap` bytes (the
/// newest one always, and `keep` whatever its age); remove the others. Files that are not
/// zips, and folders, are left alone. Errors removing a file are skipped (it is tried again
/// next time).
pub(crate) fn prune_dir(dir: &Path, cap: u64, keep: Option<&Path>) -> Pruned {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Pruned::default();
    };
    let mut zips: Vec<(SystemTime, String, PathBuf, u64)> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let is_zip = path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("zip"));
            let meta = e.metadata().ok()?;
            (is_zip && meta.is_file()).then(|| {
                let name = e.file_name().to_string_lossy().into_owned();
                let time = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                (time, name, path, meta.len())
            })
        })
        .collect();
    // Newest first (names carry the time too: the tie-breaker for equal mtimes).
    zips.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    let mut out = Pruned::default();
    let keep = keep.and_then(|k| std::fs::canonicalize(k).ok());
    for (i, (_, _, path, len)) in zips.into_iter().enumerate() {
        let pinned = i == 0
            || keep
                .as_ref()
                .is_some_and(|k| std::fs::canonicalize(&path).ok().as_ref() == Some(k));
        if pinned || out.kept_bytes.saturating_add(len) <= cap {
            out.kept_bytes = out.kept_bytes.saturating_add(len);
        } else if std::fs::remove_file(&path).is_ok() {
            out.removed.push(path);
        }
    }
    out.removed.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn file(dir: &Path, name: &str, len: usize, age_s: u64) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, vec![7u8; len]).unwrap();
        let t = SystemTime::now() - Duration::from_secs(age_s);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
        p
    }

    #[test]
    fn the_oldest_go_until_the_cap_holds() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let old = file(d, "oasis-1.zip", 400, 300);
        let mid = file(d, "oasis-2.zip", 400, 200);
        let new = file(d, "oasis-3.zip", 400, 100);
        let other = file(d, "notes.txt", 5000, 400);
        let p = prune_dir(d, 900, None);
        assert_eq!(p.removed, vec![old.clone()]);
        assert_eq!(p.kept_bytes, 800);
        assert!(!old.exists() && mid.exists() && new.exists() && other.exists());
        // A cap of zero keeps the newest only; a pinned one stays too.
        let p = prune_dir(d, 0, Some(&mid));
        assert!(p.removed.is_empty(), "{p:?}");
        let p = prune_dir(d, 0, None);
        assert_eq!(p.removed, vec![mid]);
        assert!(new.exists());
        assert_eq!(prune_dir(&d.join("absent"), 0, None), Pruned::default());
    }
}
