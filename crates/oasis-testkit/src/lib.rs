//! Test support for Oasis (not published): generates, in our own code, everything the test suite
//! needs as input — test-signed Firehose programmers for every hash-segment version the parser
//! reads, Quectel-layout NAND packages, eMMC and multi-LUN UFS rawprogram/patch sets with sparse
//! images, md5.txt files, zips — and the broken variants of each that the bad-input tests use.
//!
//! Nothing here is copied from a third-party file; formats are described in docs/protocol.md.
//! Tests compute their expectations from what the kit generated (e.g. [`programmer::Programmer::pk_sha256`],
//! [`package::NandLayout`]), never from constants copied from real files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failure here is a test failure

pub mod cert;
pub mod corpus;
pub mod der;
pub mod package;
pub mod programmer;
pub mod sparse;
pub mod usb;

use std::io::Write;
use std::path::{Path, PathBuf};

/// Deterministic pseudo-random bytes (xorshift64*), seeded by `seed`.
pub fn pseudo_random(seed: &str, len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in seed.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Upper-case hex MD5 of `data` (the md5.txt form).
pub fn md5_upper(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode_upper(md5::Md5::digest(data))
}

/// Every regular file under `dir`, relative, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Copy a folder tree (files end up writable).
pub fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for rel in walk(src) {
        let to = dst.join(&rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, std::fs::read(src.join(&rel)).unwrap()).unwrap();
    }
}

/// Write `bytes` at `root/rel`, creating folders.
pub fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Write a zip at `zip` holding `entries` (name, bytes), deflated.
pub fn write_zip(zip: &Path, entries: &[(String, Vec<u8>)]) {
    let f = std::fs::File::create(zip).unwrap();
    let mut w = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

/// Zip a folder tree under a top-level folder `top` (empty = at the zip root).
pub fn zip_tree(src: &Path, zip: &Path, top: &str) {
    let entries: Vec<(String, Vec<u8>)> = walk(src)
        .into_iter()
        .map(|rel| {
            let name = rel.to_string_lossy().replace('\\', "/");
            let name = if top.is_empty() {
                name
            } else {
                format!("{top}/{name}")
            };
            (name, std::fs::read(src.join(&rel)).unwrap())
        })
        .collect();
    write_zip(zip, &entries);
}

/// The real-world corpus folder from `OASIS_REALWORLD`, or `None` after one line on stderr
/// saying why the test does nothing. For `#[ignore]`d tests named `*realworld*`.
pub fn realworld(test: &str) -> Option<PathBuf> {
    match std::env::var_os("OASIS_REALWORLD") {
        Some(d) if Path::new(&d).is_dir() => Some(PathBuf::from(d)),
        _ => {
            eprintln!(
                "{test}: skipped: real-world corpus absent (set OASIS_REALWORLD=<dir> and run with --ignored)"
            );
            None
        }
    }
}
