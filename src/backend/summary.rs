//! Turning an opened `oasis_package::Package` into the package card the UI shows (model,
//! version, storage, programmer chip and signing, size, md5, warnings, regions erased).

use oasis_package::{Help, Package, StepOp, StorageType};

use super::{Md5Status, PackageSummary};

/// The card for an opened package.
pub fn summarize(pkg: &Package) -> PackageSummary {
    let model = pkg.model().map_or_else(
        || "unknown model".to_owned(),
        |m| match pkg.name.as_ref().map(|n| n.variant.as_str()) {
            Some(v) if !v.is_empty() => format!("{m} ({v})"),
            _ => m.to_owned(),
        },
    );
    let version = pkg.name.as_ref().map_or_else(
        || {
            pkg.source
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        },
        |n| match &n.version {
            Some(v) => format!("{}_{v}", n.revision),
            None => n.revision.clone(),
        },
    );
    let (programmer, programmer_chip, signing) = programmer_lines(pkg);
    let erases = pkg
        .plan
        .iter()
        .filter(|s| s.op == StepOp::Erase)
        .map(|s| {
            let name = if s.label.is_empty() {
                format!("sector {}", s.start_sector)
            } else {
                s.label.clone()
            };
            match &s.destructive {
                Some(why) => format!("{name} ({why})"),
                None => name,
            }
        })
        .collect();
    PackageSummary {
        path: pkg.source.clone(),
        model,
        version,
        storage: storage_line(pkg),
        programmer,
        programmer_chip,
        signing,
        size_bytes: pkg.total_bytes(),
        md5: md5_status(pkg),
        warnings: pkg.warnings.clone(),
        erases,
        destructive: pkg
            .plan
            .iter()
            .filter_map(|s| {
                let name = if s.label.is_empty() {
                    format!("sector {}", s.start_sector)
                } else {
                    s.label.clone()
                };
                s.destructive.as_ref().map(|why| super::Destructive {
                    name,
                    why: why.clone(),
                    whole_flash: s.op == StepOp::Erase
                        && s.sectors.is_none()
                        && pkg.storage == oasis_package::StorageType::Nand,
                })
            })
            .collect(),
        programs: pkg.plan.iter().filter(|s| s.op == StepOp::Program).count(),
    }
}

fn storage_line(pkg: &Package) -> String {
    let kind = pkg.storage.memory_name().unwrap_or("unknown");
    match (pkg.storage, pkg.sector_size, pkg.pages_per_block) {
        (StorageType::Nand, Some(ss), Some(ppb)) => {
            format!("{kind} ({} KiB pages, {ppb} pages per block)", ss / 1024)
        }
        (_, Some(ss), _) => format!("{kind} ({ss}-byte sectors)"),
        _ => kind.to_owned(),
    }
}

fn programmer_lines(pkg: &Package) -> (String, String, String) {
    let Some(p) = &pkg.programmer else {
        return ("none found".into(), "-".into(), "-".into());
    };
    let file = p
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let Some(id) = &p.identity else {
        let why = p.error.clone().unwrap_or_else(|| "unreadable".into());
        return (file, format!("unknown ({why})"), "unknown".into());
    };
    let chip = match (&id.chip, &id.hw_id) {
        (Some(c), Some(h)) => format!("{c} (HW ID {h})"),
        (Some(c), None) => c.clone(),
        (None, Some(h)) if h.chars().all(|c| c == '0') => "any chip (HW ID 0)".into(),
        (None, Some(h)) => format!("HW ID {h}"),
        (None, None) => "not stated in the file".into(),
    };
    let signing = if id.signed {
        let root = id.pk_hash_sha384.as_ref().or(id.pk_hash_sha256.as_ref());
        match root {
            Some(h) => format!("signed, root {}…", h.get(..16).unwrap_or(h)),
            None => "signed".into(),
        }
    } else {
        "unsigned (only boards without secure boot accept it)".into()
    };
    (file, chip, signing)
}

fn md5_status(pkg: &Package) -> Md5Status {
    if pkg.md5.file.is_none() {
        return Md5Status::NoList;
    }
    if let Err(err) = pkg.md5.check() {
        return Md5Status::Mismatch {
            files: pkg.md5.mismatches().map(|e| e.path.clone()).collect(),
            help: err.help().map(String::from).unwrap_or_default(),
        };
    }
    Md5Status::Verified {
        checked: pkg.md5.ok().count(),
        missing: pkg.md5.missing().count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn demo() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets")
            .join("demo-package")
    }

    #[test]
    fn the_demo_package_opens_and_summarises() {
        let pkg = Package::open(&demo(), &oasis_package::OpenOptions::default()).unwrap();
        pkg.ensure_flashable().unwrap();
        let s = summarize(&pkg);
        assert_eq!(s.model, "BG95 (M3LA)");
        assert_eq!(s.version, "BG95M3LAR02A03_01.300.01.300");
        assert!(
            s.storage.starts_with("nand (2 KiB pages, 64"),
            "{}",
            s.storage
        );
        assert_eq!(s.programmer, "prog_firehose_nand_mdm9x05.elf");
        assert!(s.signing.starts_with("unsigned"), "{}", s.signing);
        assert_eq!(
            s.md5,
            Md5Status::Verified {
                checked: 10,
                missing: 0
            }
        );
        assert_eq!(s.programs, 7);
        assert_eq!(s.size_bytes, 212_992, "the seven images, page-aligned");
        assert!(s.erases.len() >= 6, "{:?}", s.erases);
        assert!(s.size_bytes < 400 * 1024, "the demo package stays small");
    }
}
