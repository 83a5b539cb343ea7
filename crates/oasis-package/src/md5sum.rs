//! Quectel md5.txt: lines `<prefix>:\rel\path\file:<32 hex>` (CRLF, upper case, backslashes).
//! All 32 hex digits are compared (QFirehose compares only 16); files are hashed streaming.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::PackageError;
use crate::jail::{Jail, PathOrigin};

/// Largest md5.txt read.
const MAX_MD5_TXT: u64 = 1024 * 1024;

/// The result for one listed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Md5Status {
    /// The file is present and matches.
    Ok,
    /// The file is present and differs.
    Mismatch {
        /// From md5.txt (lower case).
        expected: String,
        /// Computed (lower case).
        actual: String,
    },
    /// The file is not in the package.
    Missing,
}

/// One md5.txt line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Md5Entry {
    /// The path as written (`\update\sbl1.mbn`).
    pub listed: String,
    /// Package-relative path with `/`.
    pub path: String,
    /// Line in md5.txt.
    pub line: u32,
    /// The verdict.
    #[serde(flatten)]
    pub status: Md5Status,
    /// Absolute path (not serialised).
    #[serde(skip)]
    pub resolved: PathBuf,
}

/// The verdict for the whole md5.txt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Md5Report {
    /// md5.txt itself (absolute; `None` when the package has none).
    pub file: Option<PathBuf>,
    /// One entry per listed file, in file order.
    pub entries: Vec<Md5Entry>,
    /// Lines that could not be understood (line, text).
    pub unparsed: Vec<(u32, String)>,
}

impl Md5Report {
    /// Overall status: `none` (no md5.txt), `ok`, `missing_files` or `mismatch`.
    pub fn status(&self) -> &'static str {
        if self.file.is_none() {
            "none"
        } else if self.mismatches().next().is_some() {
            "mismatch"
        } else if self.missing().next().is_some() {
            "missing_files"
        } else {
            "ok"
        }
    }

    /// Entries whose file differs.
    pub fn mismatches(&self) -> impl Iterator<Item = &Md5Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.status, Md5Status::Mismatch { .. }))
    }

    /// Entries whose file is absent.
    pub fn missing(&self) -> impl Iterator<Item = &Md5Entry> {
        self.entries
            .iter()
            .filter(|e| e.status == Md5Status::Missing)
    }

    /// Entries that match.
    pub fn ok(&self) -> impl Iterator<Item = &Md5Entry> {
        self.entries.iter().filter(|e| e.status == Md5Status::Ok)
    }

    /// The first mismatch as an error.
    pub fn check(&self) -> Result<(), PackageError> {
        match self.mismatches().next() {
            Some(Md5Entry {
                resolved,
                status: Md5Status::Mismatch { expected, actual },
                ..
            }) => Err(PackageError::Md5Mismatch {
                file: resolved.clone(),
                expected: expected.clone(),
                actual: actual.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// A parsed md5.txt line: (path as written, lower-case digest).
fn parse_line(line: &str) -> Option<(&str, String)> {
    let line = line.trim();
    let (rest, digest) = line.rsplit_once(':')?;
    let digest = digest.trim();
    if digest.len() != 32 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    // `<prefix>:<path>`: the prefix is a tag (FILE) or a drive letter; the path follows it.
    let (_, path) = rest.split_once(':')?;
    let path = path.trim();
    if path.is_empty() {
        return None;
    }
    Some((path, digest.to_ascii_lowercase()))
}

/// Check md5.txt at `md5_txt` against files under the jail root.
pub fn verify(jail: &Jail, md5_txt: &Path) -> Result<Md5Report, PackageError> {
    let bytes = crate::fsutil::read_limited(md5_txt, MAX_MD5_TXT)?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut report = Md5Report {
        file: Some(md5_txt.to_path_buf()),
        ..Md5Report::default()
    };
    for (idx, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let trimmed = raw.trim();
        let upper = trimmed.to_ascii_uppercase();
        if trimmed.is_empty()
            || upper.starts_with("VERSION:")
            || upper == "FILE:START"
            || upper == "FILE:END"
        {
            continue;
        }
        let Some((listed, expected)) = parse_line(trimmed) else {
            report.unparsed.push((line_no, trimmed.to_string()));
            continue;
        };
        // Listed paths are rooted at the package root (`\update\x`); strip the leading separator.
        let rel = listed.trim_start_matches(['\\', '/']);
        let origin = PathOrigin {
            file: md5_txt,
            line: line_no,
            attribute: "path",
        };
        let resolved = jail.resolve(jail.root(), rel, origin)?;
        let status = if resolved.is_file() {
            let actual = crate::fsutil::md5_file(&resolved)?;
            if actual == expected {
                Md5Status::Ok
            } else {
                Md5Status::Mismatch { expected, actual }
            }
        } else {
            Md5Status::Missing
        };
        report.entries.push(Md5Entry {
            listed: listed.to_string(),
            path: jail.relative(&resolved),
            line: line_no,
            status,
            resolved,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            parse_line("FILE:\\update\\sbl1.mbn:52AC9148230560CBB752869835752DDF"),
            Some((
                "\\update\\sbl1.mbn",
                "52ac9148230560cbb752869835752ddf".to_string()
            ))
        );
        assert_eq!(
            parse_line("C:\\x\\y.bin:52AC9148230560CBB752869835752DDF"),
            Some(("\\x\\y.bin", "52ac9148230560cbb752869835752ddf".to_string()))
        );
        assert_eq!(parse_line("FILE:\\a:52AC"), None);
        assert_eq!(parse_line("garbage"), None);
    }

    #[test]
    fn verify_reports_each_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("update")).unwrap();
        std::fs::write(dir.path().join("update/a.bin"), b"abc").unwrap();
        std::fs::write(dir.path().join("b.bin"), b"abd").unwrap();
        let md5 = dir.path().join("md5.txt");
        std::fs::write(
            &md5,
            "VERSION:1.0\r\nFILE:START\r\nFILE:\\update\\a.bin:900150983CD24FB0D6963F7D28E17F72\r\n\
             FILE:\\b.bin:900150983CD24FB0D6963F7D28E17F72\r\nFILE:\\c.bin:900150983CD24FB0D6963F7D28E17F72\r\n\
             what is this\r\nFILE:END\r\n",
        )
        .unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let r = verify(&jail, &md5).unwrap();
        assert_eq!(r.entries.len(), 3);
        assert_eq!(r.entries[0].status, Md5Status::Ok);
        assert_eq!(r.entries[0].path, "update/a.bin");
        assert!(
            matches!(r.entries[1].status, Md5Status::Mismatch { ref expected, .. } if expected == "900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(r.entries[2].status, Md5Status::Missing);
        assert_eq!(r.unparsed, vec![(6, "what is this".to_string())]);
        assert_eq!(r.status(), "mismatch");
        let e = r.check().unwrap_err();
        assert!(
            matches!(e, PackageError::Md5Mismatch { ref actual, .. } if actual != "900150983cd24fb0d6963f7d28e17f72"),
            "{e:?}"
        );
    }

    #[test]
    fn escapes_in_md5_refused() {
        let dir = tempfile::tempdir().unwrap();
        let md5 = dir.path().join("md5.txt");
        std::fs::write(
            &md5,
            "FILE:\\..\\..\\etc\\passwd:900150983CD24FB0D6963F7D28E17F72\r\n",
        )
        .unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let e = verify(&jail, &md5).unwrap_err();
        assert!(
            matches!(e, PackageError::PathEscape { line: 1, .. }),
            "{e:?}"
        );
    }
}
