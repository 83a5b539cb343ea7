//! Writes the package-side fuzz seeds from kit-generated files (no third-party bytes):
//! `fuzz/corpus/programmer` (every kit programmer, small), `package_xml` (the kit packages'
//! rawprogram, patch, contents and partition_nand XMLs) and `nand_tables` (the kit MIBIB and
//! user partition table). Seeds are named `ok-kit-<what>`; the stable replay tests require every
//! `ok-*` seed to be accepted.
//!
//! Run: `cargo run -p oasis-testkit --bin fuzz-seeds [-- <corpus dir>]` (default: the
//! repository's `fuzz/corpus`). Idempotent: names are fixed, contents deterministic.

use std::path::{Path, PathBuf};

use oasis_testkit::corpus::programmers;
use oasis_testkit::package::{DiskPackage, NandLayout, QuectelNand};

fn write(dir: &Path, target: &str, name: &str, data: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    let p = d.join(format!("ok-kit-{name}"));
    std::fs::write(&p, data).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

fn main() {
    let out = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus")),
        PathBuf::from,
    );
    // Programmers: small code segments keep the seeds a few KiB.
    for (name, mut spec) in programmers() {
        spec.code_len = 0x200;
        let stem = name.split('.').next().unwrap_or(name);
        write(&out, "programmer", stem, &spec.build().bytes);
    }
    // Package XMLs from the kit packages.
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let nand = tmp.path().join("nand");
    QuectelNand::default().write(&nand);
    let mut emmc = DiskPackage::emmc();
    emmc.write(&tmp.path().join("emmc"));
    let mut ufs = DiskPackage::ufs();
    ufs.write(&tmp.path().join("ufs"));
    for rel in oasis_testkit::walk(tmp.path()) {
        let name = rel.to_string_lossy().replace(['/', '\\'], "-");
        if !name.ends_with(".xml") {
            continue;
        }
        let data = std::fs::read(tmp.path().join(&rel)).unwrap_or_else(|e| panic!("{e}"));
        if data.len() <= 16 * 1024 {
            write(&out, "package_xml", name.trim_end_matches(".xml"), &data);
        }
    }
    let layout = NandLayout::default();
    write(&out, "nand_tables", "mibib", &layout.mibib());
    write(&out, "nand_tables", "usr-table", &layout.usr_table());
    println!("seeds written under {}", out.display());
}
