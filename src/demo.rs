//! The demo firmware package, built into the binary (include_bytes!) so an installed app can
//! offer it without an assets folder: written once into the data folder and opened from there.
//! It is not real firmware; see assets/README.md.

use std::path::{Path, PathBuf};

use crate::error::UiError;

/// The package folder's name (a Quectel-style firmware name the package reader understands).
pub const NAME: &str = "BG95M3LAR02A03_01.300.01.300";

macro_rules! file {
    ($rel:literal) => {
        (
            $rel,
            include_bytes!(concat!(
                "../assets/demo-package/BG95M3LAR02A03_01.300.01.300/",
                $rel
            ))
            .as_slice(),
        )
    };
}

/// Every file of the demo package: (package-relative path, bytes).
pub const FILES: [(&str, &[u8]); 11] = [
    file!("md5.txt"),
    file!("update/sbl1.mbn"),
    file!("update/tz.mbn"),
    file!("update/rpm.mbn"),
    file!("update/appsboot.mbn"),
    file!("update/NON-HLOS.ubi"),
    file!("update/mdm9205-sysfs.ubi"),
    file!("update/firehose/partition_complete_p2K_b128K.mbn"),
    file!("update/firehose/prog_firehose_nand_mdm9x05.elf"),
    file!("update/firehose/rawprogram_nand_p2K_b128K.xml"),
    file!("update/firehose/patch_p2K_b128K.xml"),
];

/// Write the demo package under `dir` (files already there with the same bytes are kept) and
/// return the package folder.
pub fn install(dir: &Path) -> Result<PathBuf, UiError> {
    let root = dir.join("demo-package").join(NAME);
    for (rel, bytes) in FILES {
        let path = root.join(rel);
        if std::fs::read(&path).is_ok_and(|b| b == bytes) {
            continue;
        }
        let err = |e: std::io::Error| UiError::WriteFile {
            path: path.clone(),
            reason: e.to_string(),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        std::fs::write(&path, bytes).map_err(err)?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_a_package_that_opens_and_is_flashable() {
        let dir = std::env::temp_dir().join(format!("oasis-demo-{}", std::process::id()));
        let root = install(&dir).unwrap();
        // Twice is fine (nothing rewritten), and a damaged file is repaired.
        std::fs::write(root.join("update/tz.mbn"), b"broken").unwrap();
        let root2 = install(&dir).unwrap();
        assert_eq!(root, root2);
        let pkg =
            oasis_package::Package::open(&root, &oasis_package::OpenOptions::default()).unwrap();
        pkg.ensure_flashable().unwrap();
        assert_eq!(pkg.model(), Some("BG95"));
        let listed = std::fs::read_dir(root.join("update/firehose"))
            .unwrap()
            .count();
        assert_eq!(listed, 4, "every file of the package is built in");
        let _ = std::fs::remove_dir_all(dir);
    }
}
