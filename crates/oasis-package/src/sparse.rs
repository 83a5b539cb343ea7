//! Android sparse images (`sparse="true"`): a streaming header/chunk walker that turns the file into
//! program pieces (RAW → file range, FILL → pattern, DONT_CARE → skipped) without inflating it.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::Piece;
use crate::error::{PackageError, SparseProblem};

/// The sparse file magic (little endian on disk: `3A FF 26 ED`).
pub const SPARSE_MAGIC: u32 = 0xED26_FF3A;
const CHUNK_RAW: u16 = 0xCAC1;
const CHUNK_FILL: u16 = 0xCAC2;
const CHUNK_DONT_CARE: u16 = 0xCAC3;
const CHUNK_CRC32: u16 = 0xCAC4;

/// The 28-byte file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SparseHeader {
    /// Minor version.
    pub minor: u16,
    /// File header size (≥ 28).
    pub file_hdr_sz: u16,
    /// Chunk header size (≥ 12).
    pub chunk_hdr_sz: u16,
    /// Output block size in bytes.
    pub blk_sz: u32,
    /// Output blocks in the image.
    pub total_blks: u32,
    /// Chunks in the file.
    pub total_chunks: u32,
    /// Image checksum (informational).
    pub image_checksum: u32,
}

/// What a chunk contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChunkKind {
    /// Data stored in the file at this offset.
    Raw {
        /// Byte offset of the data in the sparse file.
        file_offset: u64,
    },
    /// A 4-byte pattern repeated.
    Fill {
        /// The pattern, as stored.
        pattern: [u8; 4],
    },
    /// Output blocks left untouched.
    DontCare,
    /// A CRC-32 of the data so far (informational).
    Crc32 {
        /// The stored value.
        value: u32,
    },
}

/// One chunk, placed in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SparseChunk {
    /// First output block.
    pub out_block: u64,
    /// Output blocks covered.
    pub blocks: u64,
    /// Its kind.
    pub kind: ChunkKind,
}

/// A contiguous written range of the output: data pieces that start at `out_offset` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseRun {
    /// Byte offset in the output image.
    pub out_offset: u64,
    /// Bytes in the run.
    pub len: u64,
    /// Where the bytes come from.
    pub pieces: Vec<Piece>,
}

/// A walked sparse image (headers only; no data read).
#[derive(Debug, Clone)]
pub struct SparseImage {
    /// The sparse file.
    pub path: PathBuf,
    /// Its header.
    pub header: SparseHeader,
    /// Its chunks in file order.
    pub chunks: Vec<SparseChunk>,
}

fn le16(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(b.get(at..at + 2).unwrap_or(&[0, 0]));
    u16::from_le_bytes(a)
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b.get(at..at + 4).unwrap_or(&[0, 0, 0, 0]));
    u32::from_le_bytes(a)
}

/// Whether the file starts with the sparse magic.
pub fn has_sparse_magic(path: &Path) -> Result<bool, PackageError> {
    let mut f = std::fs::File::open(path).map_err(|e| crate::fsutil::io_err(path, e))?;
    let mut magic = [0u8; 4];
    match f.read_exact(&mut magic) {
        Ok(()) => Ok(u32::from_le_bytes(magic) == SPARSE_MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(crate::fsutil::io_err(path, e)),
    }
}

struct Walker<R> {
    r: R,
    path: PathBuf,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Walker<R> {
    fn err(&self, offset: u64, problem: SparseProblem) -> PackageError {
        PackageError::Sparse {
            file: self.path.clone(),
            offset,
            problem,
        }
    }

    fn read(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), PackageError> {
        if self.len.saturating_sub(self.pos) < buf.len() as u64 {
            return Err(self.err(self.pos, SparseProblem::Truncated { what }));
        }
        self.r
            .read_exact(buf)
            .map_err(|e| crate::fsutil::io_err(&self.path, e))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, n: u64, what: &'static str) -> Result<(), PackageError> {
        if self.len.saturating_sub(self.pos) < n {
            return Err(self.err(self.pos, SparseProblem::Truncated { what }));
        }
        let step =
            i64::try_from(n).map_err(|_| self.err(self.pos, SparseProblem::Truncated { what }))?;
        self.r
            .seek(SeekFrom::Current(step))
            .map_err(|e| crate::fsutil::io_err(&self.path, e))?;
        self.pos += n;
        Ok(())
    }
}

impl SparseImage {
    /// Walk a sparse file's headers.
    pub fn from_path(path: &Path) -> Result<Self, PackageError> {
        let f = std::fs::File::open(path).map_err(|e| crate::fsutil::io_err(path, e))?;
        let len = f
            .metadata()
            .map_err(|e| crate::fsutil::io_err(path, e))?
            .len();
        Self::parse(BufReader::new(f), len, path)
    }

    /// Walk a sparse image from any seekable reader of `len` bytes; `path` is used in errors and pieces.
    pub fn parse<R: Read + Seek>(r: R, len: u64, path: &Path) -> Result<Self, PackageError> {
        let mut w = Walker {
            r,
            path: path.to_path_buf(),
            pos: 0,
            len,
        };
        let header = read_header(&mut w)?;
        let mut chunks = Vec::new();
        let mut out_block = 0u64;
        let mut index = 0u32;
        while w.pos < w.len {
            if index >= header.total_chunks {
                let got = index.saturating_add(1);
                return Err(w.err(
                    w.pos,
                    SparseProblem::ChunkCount {
                        expected: header.total_chunks,
                        got,
                    },
                ));
            }
            let chunk = read_chunk(&mut w, &header, index, out_block)?;
            out_block = out_block.saturating_add(chunk.blocks);
            chunks.push(chunk);
            index += 1;
        }
        if index != header.total_chunks {
            return Err(w.err(
                w.pos,
                SparseProblem::ChunkCount {
                    expected: header.total_chunks,
                    got: index,
                },
            ));
        }
        if out_block != u64::from(header.total_blks) {
            return Err(w.err(
                w.pos,
                SparseProblem::BlockCount {
                    expected: u64::from(header.total_blks),
                    got: out_block,
                },
            ));
        }
        Ok(SparseImage {
            path: path.to_path_buf(),
            header,
            chunks,
        })
    }

    /// Size of the inflated image in bytes.
    pub fn output_len(&self) -> u64 {
        u64::from(self.header.total_blks) * u64::from(self.header.blk_sz)
    }

    /// Contiguous written ranges (RAW and FILL chunks merged; DONT_CARE splits runs), each a
    /// whole number of `sector_size` sectors.
    pub fn runs(&self, sector_size: u32) -> Result<Vec<SparseRun>, PackageError> {
        let blk = u64::from(self.header.blk_sz);
        let mut runs: Vec<SparseRun> = Vec::new();
        let mut open = false;
        for (i, c) in self.chunks.iter().enumerate() {
            let bytes = c.blocks * blk;
            let piece = match c.kind {
                ChunkKind::Raw { file_offset } => Piece::File {
                    path: self.path.clone(),
                    offset: file_offset,
                    len: bytes,
                },
                ChunkKind::Fill { pattern } => Piece::Fill {
                    pattern,
                    len: bytes,
                },
                ChunkKind::DontCare => {
                    open = false;
                    continue;
                }
                ChunkKind::Crc32 { .. } => continue,
            };
            if bytes % u64::from(sector_size) != 0
                || (c.out_block * blk) % u64::from(sector_size) != 0
            {
                return Err(PackageError::Sparse {
                    file: self.path.clone(),
                    offset: 0,
                    problem: SparseProblem::NotSectorAligned {
                        chunk: u32::try_from(i).unwrap_or(u32::MAX),
                        bytes,
                        sector_size,
                    },
                });
            }
            if bytes == 0 {
                continue;
            }
            match runs.last_mut() {
                Some(run) if open => {
                    run.len += bytes;
                    run.pieces.push(piece);
                }
                _ => runs.push(SparseRun {
                    out_offset: c.out_block * blk,
                    len: bytes,
                    pieces: vec![piece],
                }),
            }
            open = true;
        }
        Ok(runs)
    }
}

fn read_header<R: Read + Seek>(w: &mut Walker<R>) -> Result<SparseHeader, PackageError> {
    let mut h = [0u8; 28];
    w.read(&mut h, "file header")?;
    let magic = le32(&h, 0);
    if magic != SPARSE_MAGIC {
        return Err(w.err(0, SparseProblem::BadMagic { got: magic }));
    }
    let (major, minor) = (le16(&h, 4), le16(&h, 6));
    if major != 1 {
        return Err(w.err(4, SparseProblem::UnsupportedVersion { major, minor }));
    }
    let header = SparseHeader {
        minor,
        file_hdr_sz: le16(&h, 8),
        chunk_hdr_sz: le16(&h, 10),
        blk_sz: le32(&h, 12),
        total_blks: le32(&h, 16),
        total_chunks: le32(&h, 20),
        image_checksum: le32(&h, 24),
    };
    if header.file_hdr_sz < 28 {
        return Err(w.err(
            8,
            SparseProblem::BadHeaderSize {
                which: "file",
                got: header.file_hdr_sz,
                min: 28,
            },
        ));
    }
    if header.chunk_hdr_sz < 12 {
        return Err(w.err(
            10,
            SparseProblem::BadHeaderSize {
                which: "chunk",
                got: header.chunk_hdr_sz,
                min: 12,
            },
        ));
    }
    if header.blk_sz == 0 || !header.blk_sz.is_multiple_of(4) {
        return Err(w.err(12, SparseProblem::BadBlockSize { got: header.blk_sz }));
    }
    w.skip(u64::from(header.file_hdr_sz - 28), "file header")?;
    Ok(header)
}

/// Read (or skip) a chunk's payload of `len` bytes; `kind` is already validated.
fn read_payload<R: Read + Seek>(
    w: &mut Walker<R>,
    kind: u16,
    len: u64,
) -> Result<ChunkKind, PackageError> {
    let mut word = [0u8; 4];
    Ok(match kind {
        CHUNK_RAW => {
            let file_offset = w.pos;
            w.skip(len, "RAW data")?;
            ChunkKind::Raw { file_offset }
        }
        CHUNK_FILL => {
            w.read(&mut word, "FILL pattern")?;
            ChunkKind::Fill { pattern: word }
        }
        CHUNK_CRC32 => {
            w.read(&mut word, "CRC32 value")?;
            ChunkKind::Crc32 {
                value: u32::from_le_bytes(word),
            }
        }
        _ => ChunkKind::DontCare,
    })
}

fn read_chunk<R: Read + Seek>(
    w: &mut Walker<R>,
    header: &SparseHeader,
    index: u32,
    out_block: u64,
) -> Result<SparseChunk, PackageError> {
    let at = w.pos;
    let mut ch = [0u8; 12];
    w.read(&mut ch, "chunk header")?;
    w.skip(u64::from(header.chunk_hdr_sz - 12), "chunk header")?;
    let (kind, blocks, total) = (
        le16(&ch, 0),
        u64::from(le32(&ch, 4)),
        u64::from(le32(&ch, 8)),
    );
    let hdr = u64::from(header.chunk_hdr_sz);
    let expected = match kind {
        CHUNK_RAW => hdr + blocks * u64::from(header.blk_sz),
        CHUNK_FILL | CHUNK_CRC32 => hdr + 4,
        CHUNK_DONT_CARE => hdr,
        other => {
            return Err(w.err(
                at,
                SparseProblem::UnknownChunkType {
                    chunk: index,
                    got: other,
                },
            ));
        }
    };
    if total != expected {
        return Err(w.err(
            at,
            SparseProblem::ChunkSize {
                chunk: index,
                expected,
                got: total,
            },
        ));
    }
    let kind = read_payload(w, kind, total - hdr)?;
    let blocks = if matches!(kind, ChunkKind::Crc32 { .. }) {
        0
    } else {
        blocks
    };
    Ok(SparseChunk {
        out_block,
        blocks,
        kind,
    })
}
