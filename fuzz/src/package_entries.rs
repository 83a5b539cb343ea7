//! Fuzz entry points for oasis-package (XML tree and the rawprogram/patch/contents readers,
//! Android sparse images, programmer identity, NAND partition tables). Shared verbatim by the
//! cargo-fuzz targets in `fuzz/fuzz_targets/` and by the stable corpus-replay test
//! `crates/oasis-package/tests/fuzz_corpus_package.rs` (which includes this file with `#[path]`).
//!
//! Each entry takes arbitrary bytes, must never panic, and checks what callers rely on: errors
//! name the file they are about, parsed ranges stay inside the input, sizes are the input's.

use std::io::Cursor;
use std::path::Path;

use oasis_package::contents::ContentsInfo;
use oasis_package::nand::{parse_mibib, parse_usr_table};
use oasis_package::patch::PatchFile;
use oasis_package::programmer::ProgrammerIdentity;
use oasis_package::rawprogram::RawProgramFile;
use oasis_package::sparse::SparseImage;
use oasis_package::{PackageError, Piece, xml};

/// Whether an entry point accepted its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Parsed.
    Accepted,
    /// Refused with a specific error.
    Rejected,
}

/// The file name every entry reports errors against.
const NAME: &str = "fuzz-input.bin";

fn names_the_file(e: &PackageError) {
    let text = e.to_string();
    assert!(text.contains(NAME), "error does not name the file: {text}");
}

/// `xml::parse_bytes`, then the tree through the rawprogram, patch and contents readers.
/// Accepted when the tree parses and at least one reader takes it (or the root is `nandboot`).
/// Errors name the file.
pub fn package_xml(data: &[u8]) -> Seen {
    let path = Path::new(NAME);
    let doc = match xml::parse_bytes(path, data) {
        Ok(doc) => doc,
        Err(e) => {
            names_the_file(&e);
            return Seen::Rejected;
        }
    };
    // `partition_nand.xml` (root `nandboot`) is read by `NandPartitionXml::from_path` only, which
    // needs a file: for it the tree is what is fuzzed here.
    let mut seen = if doc.root.name.eq_ignore_ascii_case("nandboot") {
        Seen::Accepted
    } else {
        Seen::Rejected
    };
    match RawProgramFile::from_element(path, &doc.root) {
        Ok(file) => {
            seen = Seen::Accepted;
            assert!(file.programs().count() + file.erases().count() <= file.entries.len());
        }
        Err(e) => names_the_file(&e),
    }
    match PatchFile::from_element(path, &doc.root) {
        Ok(file) => {
            seen = Seen::Accepted;
            assert!(file.disk_patches().count() <= file.entries.len());
        }
        Err(e) => names_the_file(&e),
    }
    match ContentsInfo::from_element(path, &doc.root) {
        Ok(info) => {
            seen = Seen::Accepted;
            let _ = info.storage_types();
            let _ = info.flash_programmer();
        }
        Err(e) => names_the_file(&e),
    }
    seen
}

/// `SparseImage::parse`: the output size is the header's, every RAW piece lies inside the
/// input, and runs are sector-whole, ordered and inside the output.
pub fn sparse(data: &[u8]) -> Seen {
    let path = Path::new(NAME);
    let img = match SparseImage::parse(Cursor::new(data), data.len() as u64, path) {
        Ok(img) => img,
        Err(e) => {
            names_the_file(&e);
            return Seen::Rejected;
        }
    };
    let out_len = img.output_len();
    for sector in [512u32, 4096] {
        let Ok(runs) = img.runs(sector) else {
            continue;
        };
        let mut end = 0u64;
        for run in &runs {
            assert!(run.out_offset >= end, "runs overlap or go backwards");
            assert_eq!(run.len % u64::from(sector), 0, "run not sector-whole");
            end = run.out_offset + run.len;
            assert!(
                end <= out_len,
                "run ends at {end}, past the image ({out_len})"
            );
            let mut sum = 0u64;
            for piece in &run.pieces {
                sum += piece.len();
                if let Piece::File { offset, len, .. } = piece {
                    assert!(
                        offset + len <= data.len() as u64,
                        "raw data past the file end"
                    );
                }
            }
            assert_eq!(sum, run.len, "pieces do not add up to the run");
        }
    }
    Seen::Accepted
}

/// `ProgrammerIdentity::from_bytes`: size and hash describe the input, the fit check answers
/// for any board, and an error has a message.
pub fn programmer(data: &[u8]) -> Seen {
    match ProgrammerIdentity::from_bytes(data) {
        Ok(id) => {
            assert_eq!(id.size, data.len() as u64);
            assert_eq!(id.sha256.len(), 64);
            if let Some(h) = &id.hw_id {
                assert!(
                    h.len() >= 16 && h.chars().all(|c| c.is_ascii_hexdigit()),
                    "hw_id {h}"
                );
            }
            if let Some(root) = id.root_index {
                assert!(root < id.certificates.len(), "root index past the chain");
            }
            let _ = id.fits(0, &[]).summary();
            let _ = id.fits(u64::MAX, &[0xAB; 48]).summary();
            Seen::Accepted
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            Seen::Rejected
        }
    }
}

/// The compiled NAND tables (`partition_complete_*.mbn` MIBIB and `partition.mbn` user table):
/// errors name the file, names are bounded.
pub fn nand_tables(data: &[u8]) -> Seen {
    let path = Path::new(NAME);
    let mut seen = Seen::Rejected;
    match parse_mibib(path, data) {
        Ok((_, entries)) => {
            seen = Seen::Accepted;
            assert!(entries.iter().all(|e| e.name.len() <= 64));
        }
        Err(e) => names_the_file(&e),
    }
    match parse_usr_table(path, data) {
        Ok((_, entries)) => {
            seen = Seen::Accepted;
            assert!(entries.iter().all(|e| e.name.len() <= 64));
        }
        Err(e) => names_the_file(&e),
    }
    seen
}
