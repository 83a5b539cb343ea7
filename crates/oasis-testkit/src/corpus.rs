//! The kit's standard fixture tree, generated once per content and shared by every test
//! process: `packages/quectel-nand` (images absent, like a package whose large images were
//! left out), `packages/emmc`, `packages/ufs`, `programmers/*` for each header version, and the
//! same packages under their old fixture names in `xml/` ([`ALIASES`]).
//!
//! The tree lives in the system temp folder under a name derived from its content, is written
//! to a staging folder and renamed into place, so parallel test processes never see half of it.
//! Tests must not write into it: copy first ([`crate::copy_tree`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::package::{DiskPackage, QuectelNand};
use crate::programmer::ProgrammerSpec;

/// Package folder names of the tree.
pub const QUECTEL_NAND: &str = "quectel-nand";
/// eMMC package folder.
pub const EMMC: &str = "emmc";
/// UFS package folder.
pub const UFS: &str = "ufs";

/// The folder name of a kit package for an old fixture name (`quectel-eg25g-nand-2022` →
/// `quectel-nand`, `uz801-emmc` → `emmc`, `qdl-tests-ufs` → `ufs`); other names unchanged.
pub fn package_name(name: &str) -> &str {
    match name {
        "quectel-eg25g-nand-2022" => QUECTEL_NAND,
        "uz801-emmc" => EMMC,
        "qdl-tests-ufs" => UFS,
        other => other,
    }
}

/// The programmers of the tree: (file name, spec).
pub fn programmers() -> Vec<(&'static str, ProgrammerSpec)> {
    vec![
        ("generic_v3_elf32.mbn", ProgrammerSpec::generic()),
        (
            "oem_v3_elf32.mbn",
            ProgrammerSpec::for_hw(0x0070_50E1_0004_0000, 0x0004, 0),
        ),
        (
            "oem_v5_elf64.bin",
            ProgrammerSpec::elf64_v5(0x0008_B0E1_0031_0000, 0x0031, 0),
        ),
        (
            "v6_metadata_elf32.elf",
            ProgrammerSpec::v6_metadata(0x0010_70E1, 0, 0),
        ),
        ("v7_elf32.mbn", ProgrammerSpec::v7()),
        (
            "raw80_oem.bin",
            ProgrammerSpec::raw(0x0080_50E1_0004_0002, 0x0004, 0x0002),
        ),
        ("unsigned_v3.mbn", ProgrammerSpec::unsigned()),
        ("nprg_v3.mbn", ProgrammerSpec::nprg()),
    ]
}

/// Old fixture folder names kept as aliases under `xml/` (the layout they name, generated), so
/// tests written as `fixtures().join("xml/<name>")` keep working.
pub const ALIASES: [(&str, &str); 3] = [
    ("quectel-eg25g-nand-2022", QUECTEL_NAND),
    ("uz801-emmc", EMMC),
    ("qdl-tests-ufs", UFS),
];

fn generate(into: &Path) {
    let nand = into.join("packages").join(QUECTEL_NAND);
    QuectelNand::default().write(&nand);
    DiskPackage::emmc().write(&into.join("packages").join(EMMC));
    DiskPackage::ufs().write(&into.join("packages").join(UFS));
    for (alias, kit) in ALIASES {
        crate::copy_tree(
            &into.join("packages").join(kit),
            &into.join("xml").join(alias),
        );
    }
    for (name, spec) in programmers() {
        spec.build()
            .write(&into.join("programmers").join(name))
            .unwrap();
    }
}

/// The tree, generated on first use.
pub fn dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Generate into a scratch folder to learn the content hash, then move into place.
        let base = std::env::temp_dir();
        let staging = tempfile::Builder::new()
            .prefix("oasis-testkit-staging-")
            .tempdir_in(&base)
            .unwrap();
        generate(staging.path());
        let mut h = Sha256::new();
        for rel in crate::walk(staging.path()) {
            h.update(rel.to_string_lossy().replace('\\', "/").as_bytes());
            h.update(std::fs::read(staging.path().join(&rel)).unwrap());
        }
        let name = format!("oasis-testkit-{}", &hex::encode(h.finalize())[..16]);
        let dest = base.join(name);
        if !dest.join(".complete").is_file() {
            std::fs::write(staging.path().join(".complete"), b"").unwrap();
            let staged = staging.keep();
            if std::fs::rename(&staged, &dest).is_err() {
                // Another process won the race (or an incomplete folder is in the way).
                let _ = std::fs::remove_dir_all(&staged);
                if !dest.join(".complete").is_file() {
                    let _ = std::fs::remove_dir_all(&dest);
                    generate(&dest);
                    std::fs::write(dest.join(".complete"), b"").unwrap();
                }
            }
        }
        dest
    })
    .clone()
}

/// A kit package folder (accepts the old fixture names, see [`package_name`]).
pub fn package(name: &str) -> PathBuf {
    dir().join("packages").join(package_name(name))
}

/// A kit programmer file of [`programmers`].
pub fn programmer(name: &str) -> PathBuf {
    dir().join("programmers").join(name)
}

/// The HW-agnostic test-signed programmer (for packages that ship none).
pub fn generic_programmer() -> PathBuf {
    programmer("generic_v3_elf32.mbn")
}
