//! Small filesystem helpers: bounded reads, file sizes and streaming MD5, with errors naming the path.

use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};

use crate::error::PackageError;

/// Wrap an I/O error with the path it concerns.
pub fn io_err(path: &Path, source: std::io::Error) -> PackageError {
    PackageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Read a whole file, refusing files larger than `max` bytes.
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, PackageError> {
    let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let size = file.metadata().map_err(|e| io_err(path, e))?.len();
    if size > max {
        return Err(PackageError::FileTooLarge {
            path: path.to_path_buf(),
            size,
            max,
        });
    }
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| io_err(path, e))?;
    if out.len() as u64 > max {
        return Err(PackageError::FileTooLarge {
            path: path.to_path_buf(),
            size: out.len() as u64,
            max,
        });
    }
    Ok(out)
}

/// Size of a regular file.
pub fn file_len(path: &Path) -> Result<u64, PackageError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| io_err(path, e))
}

/// MD5 of a file, read in 64 KiB pieces; lower-case hex.
pub fn md5_file(path: &Path) -> Result<String, PackageError> {
    let mut file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Case-insensitive glob match supporting `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some(pi);
                mark = ni;
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    ni = mark;
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "prog_nand_firehose_*.mbn",
            "prog_nand_firehose_9x07.mbn"
        ));
        assert!(glob_match(
            "rawprogram_*.xml",
            "RAWPROGRAM_nand_p2K_b128K_update.xml"
        ));
        assert!(!glob_match("rawprogram_*.xml", "rawprogram0.xml"));
        assert!(glob_match("patch?.xml", "patch0.xml"));
        assert!(!glob_match("patch?.xml", "patch10.xml"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "acbd"));
    }

    #[test]
    fn md5_streams_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(md5_file(&p).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
        assert!(matches!(
            read_limited(&p, 2),
            Err(PackageError::FileTooLarge {
                size: 3,
                max: 2,
                ..
            })
        ));
        assert!(matches!(
            file_len(&dir.path().join("nope")),
            Err(PackageError::Io { .. })
        ));
    }
}
