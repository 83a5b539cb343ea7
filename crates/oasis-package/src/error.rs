//! The one error type of the package crate: every variant names the file, line, attribute and
//! value it saw, and [`Help::help`](crate::Help::help) says what the user can do. All package errors are "bad input".

use std::borrow::Cow;
use std::path::PathBuf;

use oasis_proto::Help;

/// What was wrong with a number in an XML attribute (or a binary field).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NumberProblem {
    /// The value is empty or only whitespace.
    Empty,
    /// The value starts with a minus sign.
    Negative,
    /// The value is not a decimal or `0x` hex number (nor an accepted expression).
    NotANumber,
    /// The value does not fit, or exceeds the largest value that makes sense here.
    TooLarge {
        /// The largest accepted value.
        max: u64,
    },
    /// The value is a number, but not one accepted for this attribute.
    NotAllowed {
        /// What is accepted.
        expected: &'static str,
    },
}

impl std::fmt::Display for NumberProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumberProblem::Empty => write!(f, "is empty"),
            NumberProblem::Negative => write!(f, "is negative"),
            NumberProblem::NotANumber => write!(f, "is not a number"),
            NumberProblem::TooLarge { max } => write!(f, "is larger than {max}"),
            NumberProblem::NotAllowed { expected } => {
                write!(f, "is not allowed (expected {expected})")
            }
        }
    }
}

/// What was wrong with an Android sparse image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SparseProblem {
    /// The file ends before the named structure is complete.
    Truncated {
        /// What was being read ("file header", "chunk header", "RAW data", ...).
        what: &'static str,
    },
    /// The file does not start with 0xED26FF3A.
    BadMagic {
        /// The first four bytes, little endian.
        got: u32,
    },
    /// Only major version 1 exists.
    UnsupportedVersion {
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// A header size field is smaller than the structure it describes.
    BadHeaderSize {
        /// "file" or "chunk".
        which: &'static str,
        /// The size found.
        got: u16,
        /// The smallest valid size.
        min: u16,
    },
    /// The block size is zero or not a multiple of 4.
    BadBlockSize {
        /// The block size found.
        got: u32,
    },
    /// A chunk's `total_sz` disagrees with its type and `chunk_sz`.
    ChunkSize {
        /// Chunk index (0-based).
        chunk: u32,
        /// The size the chunk type requires.
        expected: u64,
        /// The `total_sz` field.
        got: u64,
    },
    /// A chunk type other than RAW, FILL, DONT_CARE or CRC32.
    UnknownChunkType {
        /// Chunk index (0-based).
        chunk: u32,
        /// The type field.
        got: u16,
    },
    /// The chunks' output blocks do not add up to the header's `total_blks`.
    BlockCount {
        /// `total_blks` from the header.
        expected: u64,
        /// Sum of the chunks' `chunk_sz`.
        got: u64,
    },
    /// The header's `total_chunks` is not the number of chunks in the file.
    ChunkCount {
        /// `total_chunks` from the header.
        expected: u32,
        /// Chunks found before the end of the file.
        got: u32,
    },
    /// A chunk's output size is not a whole number of device sectors.
    NotSectorAligned {
        /// Chunk index (0-based).
        chunk: u32,
        /// Output bytes of the chunk.
        bytes: u64,
        /// The device sector size.
        sector_size: u32,
    },
}

impl std::fmt::Display for SparseProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SparseProblem::Truncated { what } => write!(f, "file ends inside the {what}"),
            SparseProblem::BadMagic { got } => {
                write!(f, "magic is {got:#010x}, expected 0xed26ff3a")
            }
            SparseProblem::UnsupportedVersion { major, minor } => {
                write!(f, "version {major}.{minor} is not supported (expected 1.x)")
            }
            SparseProblem::BadHeaderSize { which, got, min } => {
                write!(f, "{which} header size {got} is smaller than {min}")
            }
            SparseProblem::BadBlockSize { got } => {
                write!(f, "block size {got} is zero or not a multiple of 4")
            }
            SparseProblem::ChunkSize {
                chunk,
                expected,
                got,
            } => {
                write!(f, "chunk {chunk}: total_sz is {got}, expected {expected}")
            }
            SparseProblem::UnknownChunkType { chunk, got } => {
                write!(f, "chunk {chunk}: unknown chunk type {got:#06x}")
            }
            SparseProblem::BlockCount { expected, got } => {
                write!(f, "chunks cover {got} blocks, header says {expected}")
            }
            SparseProblem::ChunkCount { expected, got } => {
                write!(f, "file holds {got} chunks, header says {expected}")
            }
            SparseProblem::NotSectorAligned {
                chunk,
                bytes,
                sector_size,
            } => write!(
                f,
                "chunk {chunk}: {bytes} bytes is not a whole number of {sector_size}-byte sectors"
            ),
        }
    }
}

/// Why a path named by a package was refused by the path jail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EscapeKind {
    /// `..` components climb above the package root.
    ParentDir,
    /// An absolute path (`/etc/passwd`, `\x`).
    Absolute,
    /// A Windows drive letter (`C:\x`, `C:x`).
    DriveLetter,
    /// A UNC or device path (`\\server\share`, `//server`).
    Unc,
    /// The path exists but, after following symlinks, lies outside the package root.
    Symlink,
    /// The value contains a NUL or other control character.
    BadCharacter,
}

impl std::fmt::Display for EscapeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EscapeKind::ParentDir => "climbs out of the package with `..`",
            EscapeKind::Absolute => "is an absolute path",
            EscapeKind::DriveLetter => "names a drive letter",
            EscapeKind::Unc => "is a UNC/network path",
            EscapeKind::Symlink => "is a symlink pointing outside the package",
            EscapeKind::BadCharacter => "contains a control character",
        })
    }
}

/// Everything that can go wrong reading a firmware package.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The package path (or an explicitly given file) does not exist.
    #[error("{what} `{path_d}` does not exist", path_d = .path.display())]
    NotFound {
        /// What was looked for ("package", "programmer", "rawprogram file").
        what: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// Reading a file failed.
    #[error("cannot read `{path_d}`: {source}", path_d = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No rawprogram XML could be found in the package.
    #[error("`{path_d}` is not a firmware package: {reason}", path_d = .path.display())]
    NotAPackage {
        /// The folder or zip.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A file is larger than this kind of file can reasonably be.
    #[error("`{path_d}` is {size} bytes, more than the {max} accepted for this kind of file", path_d = .path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The XML is not well-formed.
    #[error("{file_d}:{line}: XML syntax error: {message}", file_d = .file.display())]
    XmlSyntax {
        /// The XML file.
        file: PathBuf,
        /// 1-based line.
        line: u32,
        /// The parser's description.
        message: String,
    },
    /// The XML ends while elements are still open.
    #[error("{file_d}:{line}: XML ends before `<{element}>` is closed (truncated file?)", file_d = .file.display())]
    XmlTruncated {
        /// The XML file.
        file: PathBuf,
        /// Line of the unclosed element.
        line: u32,
        /// The innermost unclosed element.
        element: String,
    },
    /// The XML is not UTF-8 text.
    #[error("{file_d}: not UTF-8 text (byte offset {offset})", file_d = .file.display())]
    XmlEncoding {
        /// The XML file.
        file: PathBuf,
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The XML has a `<!DOCTYPE>`: entity declarations are never expanded.
    #[error("{file_d}:{line}: `<!DOCTYPE ...>` is not allowed in package XML (entities are never expanded)", file_d = .file.display())]
    DtdNotAllowed {
        /// The XML file.
        file: PathBuf,
        /// Line of the DOCTYPE.
        line: u32,
    },
    /// The XML references an entity other than the five predefined ones.
    #[error("{file_d}:{line}: entity `&{entity};` is not allowed in package XML", file_d = .file.display())]
    EntityNotAllowed {
        /// The XML file.
        file: PathBuf,
        /// Line of the reference.
        line: u32,
        /// The entity name.
        entity: String,
    },
    /// The XML is too deep or has too many elements.
    #[error("{file_d}:{line}: XML exceeds the limit of {limit} {what}", file_d = .file.display())]
    XmlTooComplex {
        /// The XML file.
        file: PathBuf,
        /// Where the limit was hit.
        line: u32,
        /// "nesting levels" or "elements".
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The document root is not what this kind of file has.
    #[error("{file_d}:{line}: root element is `<{found}>`, expected `<{expected}>`", file_d = .file.display())]
    UnknownRoot {
        /// The XML file.
        file: PathBuf,
        /// Line of the root element.
        line: u32,
        /// What this file must have.
        expected: &'static str,
        /// What it has.
        found: String,
    },
    /// A required attribute is absent.
    #[error("{file_d}:{line}: <{element}> has no `{attribute}` attribute", file_d = .file.display())]
    MissingAttribute {
        /// The XML file.
        file: PathBuf,
        /// 1-based line.
        line: u32,
        /// The element.
        element: String,
        /// The missing attribute.
        attribute: &'static str,
    },
    /// A numeric attribute has an unusable value.
    #[error("{file_d}:{line}: <{element} {attribute}=\"{value}\">: value {problem}", file_d = .file.display())]
    BadNumber {
        /// The XML (or other) file.
        file: PathBuf,
        /// 1-based line.
        line: u32,
        /// The element.
        element: Box<str>,
        /// The attribute.
        attribute: String,
        /// The value as written.
        value: String,
        /// What is wrong.
        problem: NumberProblem,
    },
    /// A non-numeric attribute has a value outside its vocabulary.
    #[error("{file_d}:{line}: <{element} {attribute}=\"{value}\">: expected {expected}", file_d = .file.display())]
    BadValue {
        /// The XML file.
        file: PathBuf,
        /// 1-based line.
        line: u32,
        /// The element.
        element: String,
        /// The attribute.
        attribute: String,
        /// The value as written.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// Two `<program>` entries write overlapping sectors of the same physical partition.
    #[error(
        "{file_d}:{line}: <program> sectors {start}..{end} of physical partition {partition} overlap \
         {other_file_d}:{other_line} (sectors {other_start}..{other_end})"
    , file_d = .file.display(), other_file_d = .other_file.display())]
    OverlappingPrograms {
        /// XML of the later entry.
        file: PathBuf,
        /// Its line.
        line: u32,
        /// XML of the earlier entry.
        other_file: PathBuf,
        /// Its line.
        other_line: u32,
        /// The physical partition (LUN).
        partition: u32,
        /// First sector of the later entry.
        start: u64,
        /// End (exclusive) of the later entry.
        end: u64,
        /// First sector of the earlier entry.
        other_start: u64,
        /// End (exclusive) of the earlier entry.
        other_end: u64,
    },
    /// A path named in the package resolves outside the package root.
    #[error("{file_d}:{line}: {attribute}=\"{value}\" {kind}; refused", file_d = .file.display())]
    PathEscape {
        /// The file that names the path (XML, md5.txt).
        file: PathBuf,
        /// 1-based line.
        line: u32,
        /// The attribute or field holding the path.
        attribute: String,
        /// The path as written.
        value: String,
        /// How it escapes.
        kind: EscapeKind,
    },
    /// A zip entry would be written outside the extraction folder, or is a link.
    #[error("zip `{zip_d}`: entry `{entry}` {kind}; refused (zip-slip)", zip_d = .zip.display())]
    ZipSlip {
        /// The zip file.
        zip: PathBuf,
        /// The entry name as stored.
        entry: String,
        /// How it escapes.
        kind: EscapeKind,
    },
    /// The zip file cannot be read.
    #[error("zip `{zip_d}` is corrupt or unsupported: {message}", zip_d = .zip.display())]
    ZipCorrupt {
        /// The zip file.
        zip: PathBuf,
        /// The zip reader's description.
        message: String,
    },
    /// The zip unpacks to more than the accepted total size.
    #[error("zip `{zip_d}` unpacks to more than {max} bytes; refused", zip_d = .zip.display())]
    ZipTooLarge {
        /// The zip file.
        zip: PathBuf,
        /// The limit.
        max: u64,
    },
    /// An Android sparse image is malformed.
    #[error("sparse image `{file_d}` (offset {offset}): {problem}", file_d = .file.display())]
    Sparse {
        /// The image.
        file: PathBuf,
        /// Byte offset where the problem was found.
        offset: u64,
        /// What is wrong.
        problem: SparseProblem,
    },
    /// A sparse program entry cannot be split because its start is an expression.
    #[error("{file_d}:{line}: sparse image with start_sector=\"{value}\": a sparse image needs a numeric start", file_d = .file.display())]
    SparseNeedsNumericStart {
        /// The XML file.
        file: PathBuf,
        /// 1-based line.
        line: u32,
        /// The start_sector as written.
        value: String,
    },
    /// A compiled NAND partition table (MIBIB, partition.mbn) is malformed.
    #[error("NAND partition table `{file_d}` (offset {offset}): {problem}", file_d = .file.display())]
    PartitionTable {
        /// The table file.
        file: PathBuf,
        /// Byte offset where the problem was found.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// A file's MD5 differs from md5.txt.
    #[error("`{file_d}`: MD5 is {actual}, md5.txt says {expected}", file_d = .file.display())]
    Md5Mismatch {
        /// The file checked.
        file: PathBuf,
        /// From md5.txt (lower case).
        expected: String,
        /// Computed (lower case).
        actual: String,
    },
    /// Images named by the plan are absent (raised only when a flash is requested).
    #[error("{count} image(s) named by the package are missing, first `{first_d}`", first_d = .first.display())]
    MissingImages {
        /// Number of missing files.
        count: usize,
        /// The first one.
        first: PathBuf,
    },
    /// No Firehose programmer was found (raised only when a flash is requested).
    #[error("no Firehose programmer found in `{root_d}`", root_d = .root.display())]
    NoProgrammer {
        /// The package root.
        root: PathBuf,
    },
}

/// Every package error has advice: [`Help::help`] is never `None` here.
impl Help for PackageError {
    /// One line telling the user what to try next.
    fn help(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(match self {
            PackageError::NotFound { .. } => "check the path; a package is a folder or a .zip",
            PackageError::Io { .. } => "check that the file is readable and the disk is healthy",
            PackageError::NotAPackage { .. } => {
                "point at the unpacked firmware folder (the one holding update/firehose or rawprogram*.xml), or pass --rawprogram"
            }
            PackageError::FileTooLarge { .. } => {
                "this file cannot be a real package file; re-download the package"
            }
            PackageError::XmlSyntax { .. }
            | PackageError::XmlTruncated { .. }
            | PackageError::XmlEncoding { .. } => {
                "the XML is damaged or incomplete; re-download or re-extract the package"
            }
            PackageError::DtdNotAllowed { .. } | PackageError::EntityNotAllowed { .. } => {
                "real package XML never declares entities; do not use this file"
            }
            PackageError::XmlTooComplex { .. } => {
                "this is not a real package XML; do not use this file"
            }
            PackageError::UnknownRoot { .. } => {
                "pass the rawprogram*.xml (root <data>) or patch*.xml (root <patches>) that belongs to this package"
            }
            PackageError::MissingAttribute { .. }
            | PackageError::BadNumber { .. }
            | PackageError::BadValue { .. } => {
                "the XML entry is malformed; use the rawprogram/patch files that came with the package"
            }
            PackageError::OverlappingPrograms { .. } => {
                "two entries write the same sectors; use one rawprogram file per storage, not several variants at once"
            }
            PackageError::PathEscape { .. } | PackageError::ZipSlip { .. } => {
                "the package refers to files outside itself; it may be malicious — do not flash it"
            }
            PackageError::ZipCorrupt { .. } | PackageError::ZipTooLarge { .. } => {
                "re-download the package, or unpack it yourself and open the folder"
            }
            PackageError::Sparse { .. } | PackageError::SparseNeedsNumericStart { .. } => {
                "the sparse image is damaged; re-download the package"
            }
            PackageError::PartitionTable { .. } => {
                "the partition table file is damaged; re-download the package"
            }
            PackageError::Md5Mismatch { .. } => {
                "the file is corrupt or was modified; re-download the package"
            }
            PackageError::MissingImages { .. } => {
                "the package is incomplete; download the full firmware package"
            }
            PackageError::NoProgrammer { .. } => {
                "pass --programmer with the Firehose programmer (prog_*firehose*) for this chip"
            }
        }))
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn error_is_small_enough_to_return() {
        // clippy's result_large_err fires at 128 bytes, in this crate and in every caller.
        assert!(
            std::mem::size_of::<super::PackageError>() < 128,
            "{}",
            std::mem::size_of::<super::PackageError>()
        );
    }
}
