//! Unpacking a `.zip` package into a private temp folder owned by the [`Package`](crate::Package),
//! with zip-slip protection (no `..`, absolute, drive, UNC or link entries) and a size cap.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::error::{EscapeKind, PackageError};

/// Most bytes a package zip may unpack to.
pub const MAX_UNPACKED_BYTES: u64 = 16 * 1024 * 1024 * 1024;
/// Most entries a package zip may hold.
const MAX_ENTRIES: usize = 200_000;

fn corrupt(zip: &Path, message: impl std::fmt::Display) -> PackageError {
    PackageError::ZipCorrupt {
        zip: zip.to_path_buf(),
        message: message.to_string(),
    }
}

/// Check an entry name; return its relative path.
fn entry_path(zip: &Path, name: &str) -> Result<PathBuf, PackageError> {
    let slip = |kind| PackageError::ZipSlip {
        zip: zip.to_path_buf(),
        entry: name.to_string(),
        kind,
    };
    if name.chars().any(char::is_control) {
        return Err(slip(EscapeKind::BadCharacter));
    }
    if name.starts_with("\\\\") || name.starts_with("//") {
        return Err(slip(EscapeKind::Unc));
    }
    if matches!(name.as_bytes(), [l, b':', ..] if l.is_ascii_alphabetic()) {
        return Err(slip(EscapeKind::DriveLetter));
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Err(slip(EscapeKind::Absolute));
    }
    let mut out = PathBuf::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(slip(EscapeKind::ParentDir)),
            p => out.push(p),
        }
    }
    if out.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(slip(EscapeKind::Absolute));
    }
    Ok(out)
}

/// Unpack `zip_path` into a new temp folder.
pub fn unpack(zip_path: &Path) -> Result<tempfile::TempDir, PackageError> {
    let file = std::fs::File::open(zip_path).map_err(|e| crate::fsutil::io_err(zip_path, e))?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| corrupt(zip_path, e))?;
    if archive.len() > MAX_ENTRIES {
        return Err(corrupt(
            zip_path,
            format!("{} entries (more than {MAX_ENTRIES})", archive.len()),
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("oasis-package-")
        .tempdir()
        .map_err(|e| crate::fsutil::io_err(&std::env::temp_dir(), e))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| corrupt(zip_path, e))?;
        let name = entry.name().to_string();
        let rel = entry_path(zip_path, &name)?;
        if entry.is_symlink() {
            return Err(PackageError::ZipSlip {
                zip: zip_path.to_path_buf(),
                entry: name,
                kind: EscapeKind::Symlink,
            });
        }
        if entry.enclosed_name().is_none() {
            return Err(PackageError::ZipSlip {
                zip: zip_path.to_path_buf(),
                entry: name,
                kind: EscapeKind::ParentDir,
            });
        }
        let target = dir.path().join(&rel);
        if entry.is_dir() || rel.as_os_str().is_empty() {
            std::fs::create_dir_all(&target).map_err(|e| crate::fsutil::io_err(&target, e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| crate::fsutil::io_err(parent, e))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| corrupt(zip_path, format!("entry `{name}`: {e}")))?;
        let budget = MAX_UNPACKED_BYTES - total;
        let copied = std::io::copy(&mut (&mut entry).take(budget + 1), &mut out)
            .map_err(|e| corrupt(zip_path, format!("entry `{name}`: {e}")))?;
        total += copied;
        if total > MAX_UNPACKED_BYTES {
            return Err(PackageError::ZipTooLarge {
                zip: zip_path.to_path_buf(),
                max: MAX_UNPACKED_BYTES,
            });
        }
    }
    Ok(dir)
}

/// Whether `path` looks like a zip (by extension or by its `PK\x03\x04`/`PK\x05\x06` magic).
pub fn is_zip(path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        return true;
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let z = Path::new("p.zip");
        assert_eq!(
            entry_path(z, "a/b\\c.bin").unwrap(),
            PathBuf::from("a/b/c.bin")
        );
        let kind = |n: &str| match entry_path(z, n) {
            Err(PackageError::ZipSlip { kind, .. }) => kind,
            other => panic!("{n}: {other:?}"),
        };
        assert_eq!(kind("../evil"), EscapeKind::ParentDir);
        assert_eq!(kind("a/../../evil"), EscapeKind::ParentDir);
        assert_eq!(kind("/etc/passwd"), EscapeKind::Absolute);
        assert_eq!(kind("C:\\x"), EscapeKind::DriveLetter);
        assert_eq!(kind("\\\\srv\\x"), EscapeKind::Unc);
    }
}
