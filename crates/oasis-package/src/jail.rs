//! The path jail: every file a package names must resolve inside the package root. Refuses `..`
//! that climbs out, absolute paths, drive letters, UNC paths and symlinks that point outside.

use std::path::{Component, Path, PathBuf};

use crate::error::{EscapeKind, PackageError};

/// A canonical package root against which names are resolved.
#[derive(Debug, Clone)]
pub struct Jail {
    root: PathBuf,
}

/// Where a path came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct PathOrigin<'a> {
    /// The file naming the path (XML, md5.txt).
    pub file: &'a Path,
    /// 1-based line.
    pub line: u32,
    /// Attribute or field name.
    pub attribute: &'a str,
}

impl Jail {
    /// A jail rooted at `root`, which must exist (it is canonicalized).
    pub fn new(root: &Path) -> Result<Self, PackageError> {
        let root = root
            .canonicalize()
            .map_err(|e| crate::fsutil::io_err(root, e))?;
        Ok(Jail { root })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `abs` relative to the root, with `/` separators (for display and JSON).
    pub fn relative(&self, abs: &Path) -> String {
        let rel = abs.strip_prefix(&self.root).unwrap_or(abs);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Resolve `value` (as written in a package file, `\` or `/` separated) against `base`
    /// (a directory inside the jail). Nonexistent targets are fine (a missing image is a
    /// finding, not an escape); existing ones are canonicalized and re-checked for symlinks.
    pub fn resolve(
        &self,
        base: &Path,
        value: &str,
        origin: PathOrigin<'_>,
    ) -> Result<PathBuf, PackageError> {
        let refuse = |kind| PackageError::PathEscape {
            file: origin.file.to_path_buf(),
            line: origin.line,
            attribute: origin.attribute.to_string(),
            value: value.to_string(),
            kind,
        };
        let kind = classify(value);
        if let Some(kind) = kind {
            return Err(refuse(kind));
        }
        let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
        let Ok(base_rel) = base.strip_prefix(&self.root) else {
            return Err(refuse(EscapeKind::ParentDir));
        };
        let mut parts: Vec<String> = base_rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        for piece in value.split(['/', '\\']) {
            match piece {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(refuse(EscapeKind::ParentDir));
                    }
                }
                other => parts.push(other.to_string()),
            }
        }
        let mut path = self.root.clone();
        path.extend(parts);
        // Walk the existing prefix: any symlink on the way must stay inside the root.
        if let Some(existing) = deepest_existing(&path) {
            let canon = existing
                .canonicalize()
                .map_err(|e| crate::fsutil::io_err(&existing, e))?;
            if !canon.starts_with(&self.root) {
                return Err(refuse(EscapeKind::Symlink));
            }
            if existing == path {
                return Ok(canon);
            }
        }
        Ok(path)
    }
}

impl Jail {
    /// For a path that does not exist: a file in the same folder whose name differs only in
    /// ASCII case (packages are made on Windows), checked against the jail like any other.
    pub fn case_variant(&self, path: &Path) -> Result<Option<PathBuf>, PackageError> {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok(None);
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(None);
        };
        let wanted = name.to_string_lossy().to_ascii_lowercase();
        let hit = entries.flatten().find(|e| {
            e.file_name().to_string_lossy().to_ascii_lowercase() == wanted && e.path().is_file()
        });
        let Some(hit) = hit else { return Ok(None) };
        let canon = hit
            .path()
            .canonicalize()
            .map_err(|e| crate::fsutil::io_err(&hit.path(), e))?;
        if !canon.starts_with(&self.root) {
            return Err(PackageError::PathEscape {
                file: path.to_path_buf(),
                line: 0,
                attribute: "filename".into(),
                value: hit.file_name().to_string_lossy().into_owned(),
                kind: EscapeKind::Symlink,
            });
        }
        Ok(Some(canon))
    }
}

/// Reject forms that are never relative paths.
fn classify(value: &str) -> Option<EscapeKind> {
    if value.chars().any(|c| c.is_control()) {
        return Some(EscapeKind::BadCharacter);
    }
    let v = value.trim();
    if v.starts_with("\\\\") || v.starts_with("//") {
        return Some(EscapeKind::Unc);
    }
    if matches!(v.as_bytes(), [letter, b':', ..] if letter.is_ascii_alphabetic()) {
        return Some(EscapeKind::DriveLetter);
    }
    if v.starts_with('/') || v.starts_with('\\') {
        return Some(EscapeKind::Absolute);
    }
    if Path::new(v)
        .components()
        .any(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
    {
        return Some(EscapeKind::Absolute);
    }
    None
}

/// The longest prefix of `path` that exists (without following a final missing component).
fn deepest_existing(path: &Path) -> Option<PathBuf> {
    let mut cur = Some(path);
    while let Some(p) = cur {
        if std::fs::symlink_metadata(p).is_ok() {
            return Some(p.to_path_buf());
        }
        cur = p.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> PathOrigin<'static> {
        PathOrigin {
            file: Path::new("raw.xml"),
            line: 7,
            attribute: "filename",
        }
    }

    fn kind_of(r: Result<PathBuf, PackageError>) -> EscapeKind {
        match r {
            Err(PackageError::PathEscape { kind, line: 7, .. }) => kind,
            other => panic!("expected PathEscape, got {other:?}"),
        }
    }

    #[test]
    fn windows_relative_paths_resolve_inside() {
        let dir = tempfile::tempdir().unwrap();
        let fh = dir.path().join("update/firehose");
        std::fs::create_dir_all(&fh).unwrap();
        std::fs::write(dir.path().join("update/sbl1.mbn"), b"x").unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let p = jail.resolve(&fh, "..\\sbl1.mbn", origin()).unwrap();
        assert_eq!(p, jail.root().join("update/sbl1.mbn"));
        assert_eq!(jail.relative(&p), "update/sbl1.mbn");
        let missing = jail.resolve(&fh, "..\\..\\x.bin", origin()).unwrap();
        assert_eq!(missing, jail.root().join("x.bin"));
    }

    #[test]
    fn escapes_refused() {
        let dir = tempfile::tempdir().unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let base = dir.path();
        assert_eq!(
            kind_of(jail.resolve(base, "..\\..\\etc\\passwd", origin())),
            EscapeKind::ParentDir
        );
        assert_eq!(
            kind_of(jail.resolve(base, "/etc/passwd", origin())),
            EscapeKind::Absolute
        );
        assert_eq!(
            kind_of(jail.resolve(base, "\\etc\\passwd", origin())),
            EscapeKind::Absolute
        );
        assert_eq!(
            kind_of(jail.resolve(base, "C:\\x", origin())),
            EscapeKind::DriveLetter
        );
        assert_eq!(
            kind_of(jail.resolve(base, "c:x", origin())),
            EscapeKind::DriveLetter
        );
        assert_eq!(
            kind_of(jail.resolve(base, "\\\\srv\\share\\x", origin())),
            EscapeKind::Unc
        );
        assert_eq!(
            kind_of(jail.resolve(base, "a\0b", origin())),
            EscapeKind::BadCharacter
        );
    }

    #[test]
    fn case_variants_found_inside_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("NON-HLOS.ubi"), b"x").unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let asked = jail.resolve(dir.path(), "non-hlos.UBI", origin()).unwrap();
        let found = jail.case_variant(&asked).unwrap().unwrap();
        assert_eq!(found, jail.root().join("NON-HLOS.ubi"));
        assert_eq!(
            jail.case_variant(&jail.root().join("other.bin")).unwrap(),
            None
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link.bin"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        assert_eq!(
            kind_of(jail.resolve(dir.path(), "link.bin", origin())),
            EscapeKind::Symlink
        );
        assert_eq!(
            kind_of(jail.resolve(dir.path(), "linkdir/secret", origin())),
            EscapeKind::Symlink
        );
        assert_eq!(
            kind_of(jail.resolve(dir.path(), "linkdir/nothing", origin())),
            EscapeKind::Symlink
        );
    }
}
