//! Program data: where each byte of a program step comes from (file ranges, fill patterns) and a
//! streaming reader that yields exactly the step's sectors × sector size, zero-padded, in chunks.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use serde::{Serialize, Serializer};

/// A source of bytes for a program step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Piece {
    /// `len` bytes of a file starting at `offset`.
    File {
        /// The file (absolute).
        path: PathBuf,
        /// Byte offset in the file.
        offset: u64,
        /// Bytes taken.
        len: u64,
    },
    /// A 4-byte pattern repeated over `len` bytes.
    Fill {
        /// The pattern, in output byte order.
        #[serde(serialize_with = "hex_pattern")]
        pattern: [u8; 4],
        /// Bytes produced.
        len: u64,
    },
}

fn hex_pattern<S: Serializer>(p: &[u8; 4], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(p))
}

impl Piece {
    /// Bytes this piece produces.
    pub fn len(&self) -> u64 {
        match self {
            Piece::File { len, .. } | Piece::Fill { len, .. } => *len,
        }
    }

    /// Whether the piece produces no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The data of a program step: pieces, then zeros up to `total_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramData {
    /// The sources, in order.
    pub pieces: Vec<Piece>,
    /// Bytes the step sends (sectors × sector size); the pieces are zero-padded up to it.
    pub total_bytes: u64,
}

impl ProgramData {
    /// Bytes the pieces produce before padding.
    pub fn piece_bytes(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// A reader over the step's bytes.
    pub fn reader(&self) -> PieceReader {
        PieceReader::new(self.pieces.clone(), self.total_bytes)
    }
}

/// Streams pieces then zero padding, exactly `total` bytes; files are opened lazily, one at a time.
/// A file shorter than its piece (changed since the package was opened) is an `UnexpectedEof` error.
#[derive(Debug)]
pub struct PieceReader {
    pieces: std::vec::IntoIter<Piece>,
    current: Option<Current>,
    remaining_total: u64,
    /// Keeps an unpacked zip alive while its files are being read.
    keep_alive: Option<std::sync::Arc<tempfile::TempDir>>,
}

#[derive(Debug)]
enum Current {
    File {
        file: File,
        left: u64,
        path: PathBuf,
    },
    Fill {
        pattern: [u8; 4],
        phase: usize,
        left: u64,
    },
}

impl PieceReader {
    /// A reader producing `pieces` (truncated or zero-padded to `total` bytes).
    pub fn new(pieces: Vec<Piece>, total: u64) -> Self {
        PieceReader {
            pieces: pieces.into_iter(),
            current: None,
            remaining_total: total,
            keep_alive: None,
        }
    }

    /// Hold `dir` (an unpacked zip) until the reader is dropped.
    pub(crate) fn keeping(mut self, dir: Option<std::sync::Arc<tempfile::TempDir>>) -> Self {
        self.keep_alive = dir;
        self
    }

    /// Bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining_total
    }

    fn next_piece(&mut self) -> std::io::Result<bool> {
        for piece in self.pieces.by_ref() {
            match piece {
                Piece::File { path, offset, len } if len > 0 => {
                    let mut file = File::open(&path).map_err(|e| {
                        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                    })?;
                    file.seek(SeekFrom::Start(offset))?;
                    self.current = Some(Current::File {
                        file,
                        left: len,
                        path,
                    });
                    return Ok(true);
                }
                Piece::Fill { pattern, len } if len > 0 => {
                    self.current = Some(Current::Fill {
                        pattern,
                        phase: 0,
                        left: len,
                    });
                    return Ok(true);
                }
                _ => {}
            }
        }
        Ok(false)
    }
}

impl Read for PieceReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = usize::try_from(self.remaining_total.min(buf.len() as u64)).unwrap_or(buf.len());
        if want == 0 {
            return Ok(0);
        }
        if self.current.is_none() && !self.next_piece()? {
            // Padding.
            buf.iter_mut().take(want).for_each(|b| *b = 0);
            self.remaining_total -= want as u64;
            return Ok(want);
        }
        let out = buf.get_mut(..want).unwrap_or_default();
        let n = match self.current.as_mut() {
            Some(Current::File { file, left, path }) => {
                let take = usize::try_from((*left).min(want as u64)).unwrap_or(want);
                let slot = out.get_mut(..take).unwrap_or_default();
                let n = file.read(slot)?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("{} is shorter than the package said", path.display()),
                    ));
                }
                *left -= n as u64;
                n
            }
            Some(Current::Fill {
                pattern,
                phase,
                left,
            }) => {
                let take = usize::try_from((*left).min(want as u64)).unwrap_or(want);
                for b in out.iter_mut().take(take) {
                    *b = pattern[*phase % 4];
                    *phase = (*phase + 1) % 4;
                }
                *left -= take as u64;
                take
            }
            None => 0,
        };
        if matches!(
            self.current,
            Some(Current::File { left: 0, .. } | Current::Fill { left: 0, .. })
        ) {
            self.current = None;
        }
        self.remaining_total -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_then_padding_exact_length() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let pieces = vec![
            Piece::File {
                path: p.clone(),
                offset: 2,
                len: 3,
            },
            Piece::Fill {
                pattern: *b"ab\0c",
                len: 6,
            },
            Piece::File {
                path: p,
                offset: 9,
                len: 1,
            },
        ];
        let mut r = PieceReader::new(pieces, 14);
        let mut out = Vec::new();
        let mut buf = [0u8; 4];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, b"234ab\0cab9\0\0\0\0");
    }

    #[test]
    fn short_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"01").unwrap();
        let mut r = PieceReader::new(
            vec![Piece::File {
                path: p,
                offset: 0,
                len: 5,
            }],
            8,
        );
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
