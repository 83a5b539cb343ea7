//! Shared helpers for the package integration tests: fixture paths, copying a fixture folder into
//! a temp dir, and building zips.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// The real-world fixtures (shared/ beside the repo).
pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/realworld"
    ))
}

/// The EG25-G package fixture folder.
pub fn eg25g() -> PathBuf {
    fixtures().join("xml/quectel-eg25g-nand-2022")
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

/// Copy a folder tree into `dst` (files made writable).
pub fn copy_tree(src: &Path, dst: &Path) {
    for rel in walk(src) {
        let to = dst.join(&rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, std::fs::read(src.join(&rel)).unwrap()).unwrap();
    }
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

/// Zip a folder tree under a top-level folder name `top` (empty = at the zip root).
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
