//! Plan rules on synthetic packages: BG95-style NAND (erase whole disk, vendor lines), eMMC order,
//! program sizes (size of file, QFirehose count rewrite, file_sector_offset), labels and marks.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::path::Path;

use oasis_package::{OpenOptions, Package, StepOp, StorageType};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

const BG95_XML: &str = r#"<?xml version="1.0" ?>
<data>
  <program PAGES_PER_BLOCK="64" SECTOR_SIZE_IN_BYTES="2048" filename="..\sbl1.mbn" num_partition_sectors="640" physical_partition_number="0" start_sector="0"/>
  <erase PAGES_PER_BLOCK="64" SECTOR_SIZE_IN_BYTES="2048" num_partition_sectors="768" physical_partition_number="0" start_sector="1280"/>
  <program PAGES_PER_BLOCK="64" SECTOR_SIZE_IN_BYTES="2048" filename="..\tz.mbn" num_partition_sectors="768" physical_partition_number="0" start_sector="1280"/>
  <erase SECTOR_SIZE_IN_BYTES="512" label="erase whole disk" start_sector="0"/>
  <erase SECTOR_SIZE_IN_BYTES="2048" vendor="quectel" a_rawdata_start_sector="0x300" b_rawdata_num_sector="64" c_project_name="BG95" d_project_type="M6"/>
  <program PAGES_PER_BLOCK="64" SECTOR_SIZE_IN_BYTES="2048" filename="..\empty.bin" num_partition_sectors="0" physical_partition_number="0" start_sector="2048"/>
</data>
"#;

#[test]
fn bg95_style_nand_order_and_marks() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("BG95M6LAR02A02_01.204.01.204");
    write(
        &root,
        "update/firehose/rawprogram_nand_p2K_b128K.xml",
        BG95_XML.as_bytes(),
    );
    write(
        &root,
        "update/firehose/patch_p2K_b128K.xml",
        br#"<patches><patch SECTOR_SIZE_IN_BYTES="2048" byte_offset="0" filename="DISK" physical_partition_number="0" size_in_bytes="4" start_sector="5" value="7"/></patches>"#,
    );
    write(
        &root,
        "update/firehose/prog_firehose_nand_mdm9x05.elf",
        b"\x7fELF",
    );
    write(&root, "update/sbl1.mbn", &[0xAA; 5000]);
    write(&root, "update/tz.mbn", &[0xBB; 2048 * 3]);
    write(&root, "update/empty.bin", b"");
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    assert_eq!(pkg.storage, StorageType::Nand);
    assert_eq!(
        (pkg.model(), pkg.version()),
        (Some("BG95"), Some("01.204.01.204"))
    );
    assert_eq!(pkg.name.as_ref().unwrap().variant, "M6LA");
    let seq: Vec<(StepOp, &str, &str)> = pkg
        .plan
        .iter()
        .map(|s| (s.op, s.start_sector.as_str(), s.label.as_str()))
        .collect();
    assert_eq!(
        seq,
        [
            (StepOp::Erase, "0", "erase whole disk"),
            (StepOp::Vendor, "0", "quectel erase"),
            (StepOp::Erase, "1280", "erase at sector 1280"),
            (StepOp::Program, "1280", "tz"),
            (StepOp::Program, "0", "sbl1"),
            (StepOp::Patch, "5", "patch"),
            (StepOp::Reset, "0", "reset"),
        ]
    );
    let whole = &pkg.plan[0];
    assert_eq!(whole.sectors, None);
    assert!(
        whole
            .destructive
            .as_deref()
            .unwrap()
            .contains("whole flash"),
        "{whole:?}"
    );
    let vendor = pkg.plan[1].verbatim.as_ref().unwrap();
    let keys: Vec<&str> = vendor.attrs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "SECTOR_SIZE_IN_BYTES",
            "vendor",
            "a_rawdata_start_sector",
            "b_rawdata_num_sector",
            "c_project_name",
            "d_project_type"
        ]
    );
    // Sizes come from the files: sbl1 5000 bytes = 3 pages, tz exactly 3 pages.
    assert_eq!(pkg.plan[4].sectors, Some(3));
    assert_eq!(pkg.plan[3].sectors, Some(3));
    assert_eq!(pkg.total_bytes(), 6 * 2048);
    // The empty image produces no step, and says so.
    assert!(
        pkg.skipped.iter().any(|s| s.reason.contains("empty.bin")),
        "{:?}",
        pkg.skipped
    );
    // From the whole-disk erase to the sbl1 program: do not unplug. The patch after it is safe.
    let critical: Vec<bool> = pkg.plan.iter().map(|s| s.critical).collect();
    assert_eq!(critical, [true, true, true, true, true, false, false]);
    let mut sbl = Vec::new();
    std::io::Read::read_to_end(&mut pkg.open_reader(&pkg.plan[4]).unwrap(), &mut sbl).unwrap();
    assert_eq!(sbl.len(), 3 * 2048);
    assert!(sbl[..5000].iter().all(|b| *b == 0xAA) && sbl[5000..].iter().all(|b| *b == 0));
}

#[test]
fn emmc_keeps_xml_order_then_patches_bootable_reset() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    write(
        root,
        "rawprogram0.xml",
        br#"<data>
<erase SECTOR_SIZE_IN_BYTES="512" physical_partition_number="0" start_sector="1024" num_partition_sectors="2048" label="modemst1"/>
<program SECTOR_SIZE_IN_BYTES="512" physical_partition_number="0" start_sector="34" num_partition_sectors="1024" filename="sbl1.mbn" label="sbl1"/>
<program SECTOR_SIZE_IN_BYTES="512" physical_partition_number="0" start_sector="5000" num_partition_sectors="2" filename="big.bin" label="big"/>
<program SECTOR_SIZE_IN_BYTES="512" physical_partition_number="0" start_sector="6000" num_partition_sectors="0" filename="rootfs.img" label="rootfs"/>
<program SECTOR_SIZE_IN_BYTES="512" physical_partition_number="0" start_sector="7000" num_partition_sectors="2" filename="gpt_both0.bin" file_sector_offset="3" label="slice"/>
</data>"#,
    );
    write(root, "patch0.xml", br#"<patches><patch SECTOR_SIZE_IN_BYTES="512" byte_offset="16" filename="DISK" physical_partition_number="0" size_in_bytes="4" start_sector="1" value="CRC32(1,92)"/><patch SECTOR_SIZE_IN_BYTES="512" byte_offset="16" filename="gpt_main0.bin" physical_partition_number="0" size_in_bytes="4" start_sector="1" value="0"/></patches>"#);
    write(root, "prog_emmc_firehose_8909.mbn", b"x");
    write(root, "sbl1.mbn", &[1; 100]);
    write(root, "big.bin", &[2; 1500]);
    write(root, "rootfs.img", &[3; 1025]);
    write(
        root,
        "gpt_both0.bin",
        &(0..10 * 512).map(|i| (i / 512) as u8).collect::<Vec<_>>(),
    );
    let pkg = Package::open(root, &OpenOptions::default()).unwrap();
    assert_eq!(pkg.storage, StorageType::Emmc);
    let ops: Vec<(StepOp, &str)> = pkg.plan.iter().map(|s| (s.op, s.label.as_str())).collect();
    assert_eq!(
        ops,
        [
            (StepOp::Erase, "modemst1"),
            (StepOp::Program, "sbl1"),
            (StepOp::Program, "big"),
            (StepOp::Program, "rootfs"),
            (StepOp::Program, "slice"),
            (StepOp::Patch, "patch"),
            (StepOp::SetBootable, "set bootable: LUN 0"),
            (StepOp::Reset, "reset"),
        ]
    );
    assert!(
        pkg.plan[0]
            .destructive
            .as_deref()
            .unwrap()
            .contains("modemst1")
    );
    assert!(
        pkg.plan[1].critical
            && !pkg.plan[2].critical
            && pkg.plan[5].critical
            && pkg.plan[6].critical
    );
    // Larger than num_partition_sectors: planned from the file (1500 bytes = 3 sectors) and
    // listed as oversized, which a flash refuses; a warning says so.
    assert_eq!(pkg.plan[2].sectors, Some(3));
    assert!(
        pkg.warnings
            .iter()
            .any(|w| w.contains("big.bin") && w.contains("a flash refuses it")),
        "{:?}",
        pkg.warnings
    );
    assert_eq!(pkg.oversized.len(), 1, "{:?}", pkg.oversized);
    assert_eq!(
        (pkg.oversized[0].file.as_str(), pkg.oversized[0].image_bytes),
        ("big.bin", 1500)
    );
    // num_partition_sectors="0": the size of the file.
    assert_eq!(pkg.plan[3].sectors, Some(3));
    // file_sector_offset: a slice of a bigger image, exactly the declared sectors.
    let slice = &pkg.plan[4];
    assert_eq!(slice.sectors, Some(2));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut pkg.open_reader(slice).unwrap(), &mut bytes).unwrap();
    assert_eq!((bytes.len(), bytes[0], bytes[1023]), (1024, 3, 4));
    assert_eq!(pkg.ignored_patches.len(), 1);
    let regions: Vec<&str> = pkg
        .board_data_regions()
        .iter()
        .map(|(p, _)| p.name.as_str())
        .collect();
    assert_eq!(regions, ["modemst1"]);
}

#[test]
fn eg25g_board_data_and_update_only_folder() {
    let pkg = Package::open(&common::eg25g(), &OpenOptions::default()).unwrap();
    let regions: Vec<(&str, u64)> = pkg
        .board_data_regions()
        .iter()
        .map(|(p, _)| (p.short_name(), p.start_sector))
        .collect();
    let efs = oasis_testkit::package::NandLayout::default()
        .sectors_of("EFS2")
        .unwrap()
        .0;
    assert_eq!(regions, [("EFS2", efs)]);
    let steps = pkg.plan.len();
    // A package folder holding only update/ is still the package root (not unwrapped into update/).
    let d = tempfile::tempdir().unwrap();
    common::copy_tree(&common::eg25g().join("update"), &d.path().join("update"));
    let pkg = Package::open(d.path(), &OpenOptions::default()).unwrap();
    assert_eq!(pkg.kind, oasis_package::PackageKind::Quectel);
    assert_eq!(pkg.plan.len(), steps);
    assert_eq!(pkg.md5.status(), "none");
}
