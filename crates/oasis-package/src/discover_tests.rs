//! Unit tests of package file discovery (kept apart to keep discover.rs short).
use std::path::Path;

use crate::discover::{Found, find_patches, find_programmer, find_rawprogram};
use crate::error::PackageError;

fn touch(p: &Path) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"x").unwrap();
}

#[test]
fn quectel_update_preferred_and_recorded() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    let fh = root.join("update/firehose");
    for n in [
        "rawprogram_nand_p4K_b256K_update.xml",
        "rawprogram_nand_p4K_b256K_factory.xml",
        "patch_p4K_b256K.xml",
        "prog_firehose_sdx55.mbn",
    ] {
        touch(&fh.join(n));
    }
    touch(&root.join("update/NPRG9x07.mbn"));
    for (factory, want) in [(false, "update"), (true, "factory")] {
        let mut f = Found {
            root: root.clone(),
            ..Found::default()
        };
        let dir = find_rawprogram(&mut f, factory).unwrap();
        find_patches(&mut f);
        find_programmer(&mut f, &dir);
        assert!(f.quectel_layout);
        assert_eq!(f.rawprogram.len(), 1);
        assert!(f.rawprogram[0].to_string_lossy().contains(want));
        assert_eq!(f.patch, vec![fh.join("patch_p4K_b256K.xml")]);
        assert_eq!(f.programmer, Some(fh.join("prog_firehose_sdx55.mbn")));
        let c = f.choices.iter().find(|c| c.what == "rawprogram").unwrap();
        assert!(c.reason.contains(want), "{c:?}");
        assert_eq!(c.alternatives.len(), 1);
    }
}

#[test]
fn numbered_luns_all_used_and_wipes_skipped() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    for n in [
        "rawprogram1.xml",
        "rawprogram0.xml",
        "rawprogram0_BLANK_GPT.xml",
        "patch0.xml",
        "patch1.xml",
        "prog_firehose_ddr.elf",
    ] {
        touch(&root.join(n));
    }
    let mut f = Found {
        root: root.clone(),
        ..Found::default()
    };
    let dir = find_rawprogram(&mut f, false).unwrap();
    find_patches(&mut f);
    find_programmer(&mut f, &dir);
    assert_eq!(
        f.rawprogram,
        vec![root.join("rawprogram0.xml"), root.join("rawprogram1.xml")]
    );
    assert_eq!(
        f.patch,
        vec![root.join("patch0.xml"), root.join("patch1.xml")]
    );
    assert!(f.warnings.iter().any(|w| w.contains("BLANK_GPT")));
    assert_eq!(f.programmer, Some(root.join("prog_firehose_ddr.elf")));
}

#[test]
fn nested_and_empty() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    let mut f = Found {
        root: root.clone(),
        ..Found::default()
    };
    assert!(matches!(
        find_rawprogram(&mut f, false),
        Err(PackageError::NotAPackage { .. })
    ));
    touch(&root.join("a/b/ufs/rawprogram0.xml"));
    let mut f = Found {
        root: root.clone(),
        ..Found::default()
    };
    let dir = find_rawprogram(&mut f, false).unwrap();
    assert_eq!(dir, root.join("a/b/ufs"));
    find_programmer(&mut f, &dir);
    assert!(f.programmer.is_none());
    assert!(f.warnings.iter().any(|w| w.contains("--programmer")));
}

#[test]
fn contents_device_programmer_is_jailed() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("pkg");
    touch(&root.join("rawprogram0.xml"));
    touch(&d.path().join("outside_firehose.mbn"));
    let build = crate::contents::ContentsBuild {
        device_programmer: Some("../outside_firehose.mbn".into()),
        flash_programmer: Some("update/NPRG9x07.mbn".into()),
        ..Default::default()
    };
    let contents = crate::contents::ContentsInfo {
        builds: vec![build],
        ..Default::default()
    };
    let root = root.canonicalize().unwrap();
    let mut f = Found {
        root: root.clone(),
        contents: Some(contents),
        ..Found::default()
    };
    find_programmer(&mut f, &root);
    assert!(f.programmer.is_none());
    assert!(
        f.warnings
            .iter()
            .any(|w| w.contains("device_programmer") && w.contains("refused")),
        "{:?}",
        f.warnings
    );
    assert!(
        f.choices
            .iter()
            .any(|c| c.what == "contents.xml flash_programmer" && c.reason.starts_with("ignored"))
    );
}
