//! Errors from reading a programmer's identity: each names the file (when known), the structure and the offset.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use oasis_proto::Help;

/// Why a programmer file could not be identified.
///
/// Parse errors from [`super::ProgrammerIdentity::from_bytes`] carry `file: None`;
/// [`super::ProgrammerIdentity::from_path`] fills in the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProgrammerError {
    /// The file could not be read.
    #[error("{}: cannot read programmer: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than any programmer we accept.
    #[error("{}: {size} bytes is too large for a programmer (limit {limit} bytes)", .path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The accepted maximum.
        limit: u64,
    },
    /// Neither ELF nor a raw 80-byte-header MBN.
    #[error("{}: not a programmer image: first bytes {magic} are neither ELF (7f 45 4c 46) nor an MBN codeword (d1 dc 4b 84)", label(.file))]
    UnknownContainer {
        /// The file, when known.
        file: Option<PathBuf>,
        /// The first (up to 4) bytes seen, as hex.
        magic: String,
    },
    /// A structure extends past the end of the file.
    #[error("{}: truncated {structure}: needs {needed} bytes at offset {offset:#x}, file has {file_len}", label(.file))]
    Truncated {
        /// The file, when known.
        file: Option<PathBuf>,
        /// Which structure ("ELF header", "program header table", ...).
        structure: &'static str,
        /// Where it starts.
        offset: u64,
        /// How many bytes it needs.
        needed: u64,
        /// How long the file is.
        file_len: u64,
    },
    /// An ELF feature this reader does not handle (big-endian, bad class, odd header sizes).
    #[error("{}: unsupported ELF: {field} is {seen} (expected {expected})", label(.file))]
    UnsupportedElf {
        /// The file, when known.
        file: Option<PathBuf>,
        /// The header field.
        field: &'static str,
        /// What was found.
        seen: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A region named by a header (segment, chain, metadata) lies outside its container.
    #[error("{}: {region} at offset {offset:#x} size {size:#x} lies outside {container} (ends at {limit:#x})", label(.file))]
    OutOfRange {
        /// The file, when known.
        file: Option<PathBuf>,
        /// Which region ("hash segment", "OEM certificate chain", ...).
        region: &'static str,
        /// Its start (file offset).
        offset: u64,
        /// Its declared size.
        size: u64,
        /// What it must fit in ("file", "hash segment").
        container: &'static str,
        /// The end of that container (file offset).
        limit: u64,
    },
    /// The MBN header of the hash segment has a version this reader does not know.
    #[error("{}: MBN header at offset {offset:#x} has version {version} (known: 3, 5, 6, 7, 8)", label(.file))]
    UnsupportedMbnVersion {
        /// The file, when known.
        file: Option<PathBuf>,
        /// File offset of the MBN header.
        offset: u64,
        /// The version word seen.
        version: u32,
    },
    /// A certificate's DER encoding is malformed.
    #[error("{}: corrupt certificate DER at offset {offset:#x}: {what}", label(.file))]
    CorruptDer {
        /// The file, when known.
        file: Option<PathBuf>,
        /// File offset of the bad element.
        offset: u64,
        /// What was wrong (expected vs seen).
        what: String,
    },
}

/// Every programmer error has advice: [`Help::help`] is never `None` here.
impl Help for ProgrammerError {
    /// A line telling the user what to do about it.
    fn help(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(match self {
            Self::Io { .. } => "check that the file exists and is readable",
            Self::FileTooLarge { .. } => {
                "pick the Firehose programmer (prog_*firehose*.mbn/.elf, *_fhprg*.bin), not a firmware image"
            }
            Self::UnknownContainer { .. } => {
                "pick the Firehose programmer (an ELF .mbn/.elf/.bin); this file is something else"
            }
            Self::Truncated { .. } | Self::OutOfRange { .. } | Self::CorruptDer { .. } => {
                "the programmer file is damaged or incomplete; download it again and compare checksums"
            }
            Self::UnsupportedElf { .. } | Self::UnsupportedMbnVersion { .. } => {
                "this programmer format is not supported; report the file so support can be added"
            }
        }))
    }
}

impl ProgrammerError {
    /// The same error, naming `path` as the file.
    #[must_use]
    pub fn at_path(mut self, path: &Path) -> Self {
        match &mut self {
            Self::UnknownContainer { file, .. }
            | Self::Truncated { file, .. }
            | Self::UnsupportedElf { file, .. }
            | Self::OutOfRange { file, .. }
            | Self::UnsupportedMbnVersion { file, .. }
            | Self::CorruptDer { file, .. } => *file = Some(path.to_path_buf()),
            Self::Io { .. } | Self::FileTooLarge { .. } => {}
        }
        self
    }

    /// The file this error is about, when known.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. } | Self::FileTooLarge { path, .. } => Some(path),
            Self::UnknownContainer { file, .. }
            | Self::Truncated { file, .. }
            | Self::UnsupportedElf { file, .. }
            | Self::OutOfRange { file, .. }
            | Self::UnsupportedMbnVersion { file, .. }
            | Self::CorruptDer { file, .. } => file.as_deref(),
        }
    }
}

fn label(file: &Option<PathBuf>) -> String {
    match file {
        Some(p) => p.display().to_string(),
        None => "programmer".to_owned(),
    }
}

/// Shorthand used by the parsers: a truncation error without a file name.
pub(crate) fn truncated(
    structure: &'static str,
    offset: u64,
    needed: u64,
    file_len: u64,
) -> ProgrammerError {
    ProgrammerError::Truncated {
        file: None,
        structure,
        offset,
        needed,
        file_len,
    }
}

/// Shorthand used by the parsers: a region outside its container.
pub(crate) fn out_of_range(
    region: &'static str,
    offset: u64,
    size: u64,
    container: &'static str,
    limit: u64,
) -> ProgrammerError {
    ProgrammerError::OutOfRange {
        file: None,
        region,
        offset,
        size,
        container,
        limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_path_names_the_file_in_the_message() {
        let e = truncated("ELF header", 0, 52, 10).at_path(Path::new("/tmp/x.mbn"));
        let msg = e.to_string();
        assert!(msg.starts_with("/tmp/x.mbn: truncated ELF header"), "{msg}");
        assert!(msg.contains("52 bytes at offset 0x0"), "{msg}");
        assert_eq!(e.file(), Some(Path::new("/tmp/x.mbn")));
        assert!(e.help().is_some_and(|h| h.contains("damaged")));
    }

    #[test]
    fn without_path_the_message_says_programmer() {
        let e = out_of_range("hash segment", 0x1000, 0x2000, "file", 0x1800);
        assert_eq!(
            e.to_string(),
            "programmer: hash segment at offset 0x1000 size 0x2000 lies outside file (ends at 0x1800)"
        );
        assert!(e.file().is_none());
    }
}
