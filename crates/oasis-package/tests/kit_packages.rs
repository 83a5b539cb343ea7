//! The kit's eMMC and UFS packages (oasis-testkit) open with the plan their XMLs describe:
//! eMMC like an edl dump (calibration partitions marked destructive, set-bootable, reset), UFS
//! with two LUNs, empty filenames skipped, DISK patches in the plan and no programmer.
#![allow(clippy::unwrap_used)]

use oasis_package::{OpenOptions, Package, PackageError, StepOp, StorageType};
use oasis_testkit::package::DiskPackage;

#[test]
fn other_fixture_packages_open() {
    let tmp = tempfile::tempdir().unwrap();
    let mut emmc = DiskPackage::emmc();
    emmc.write(&tmp.path().join("emmc"));
    let uz = Package::open(&tmp.path().join("emmc"), &OpenOptions::default()).unwrap();
    assert_eq!(uz.storage, StorageType::Emmc);
    let programs = emmc.entries.iter().filter(|e| !e.file.is_empty()).count();
    assert_eq!(uz.plan.len(), programs + 2, "programs, set-bootable, reset");
    let last_two: Vec<_> = uz
        .plan
        .iter()
        .rev()
        .take(2)
        .map(|s| (s.op, s.physical_partition_number))
        .collect();
    assert_eq!(last_two, [(StepOp::Reset, 0), (StepOp::SetBootable, 0)]);
    let prog = uz.programmer.as_ref().unwrap();
    let (name, _) = emmc.programmer.as_ref().unwrap();
    assert!(prog.path.ends_with(name));
    assert_eq!(
        prog.identity.as_ref().unwrap().hw_id.as_deref(),
        Some("007050e100000000")
    );
    // modemst1/modemst2/fsg hold board NV: programming them from a dump is destructive.
    let marked: Vec<&str> = uz
        .plan
        .iter()
        .filter(|s| s.destructive.is_some())
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(marked, ["modemst1", "modemst2", "fsc", "fsg", "persist"]);
    assert!(uz.plan.iter().find(|s| s.label == "sbl1").unwrap().critical);
    // The sparse system image expands to its blocks.
    let system = uz.plan.iter().find(|s| s.label == "system").unwrap();
    assert!(system.data.is_some());

    let mut ufs_kit = DiskPackage::ufs();
    ufs_kit.write(&tmp.path().join("ufs"));
    let ufs = Package::open(&tmp.path().join("ufs"), &OpenOptions::default()).unwrap();
    assert_eq!(ufs.storage, StorageType::Ufs);
    assert_eq!(ufs.rawprogram.len(), 2);
    assert_eq!(ufs.patch.len(), 2);
    assert!(ufs.programmer.is_none());
    let with_file = ufs_kit
        .entries
        .iter()
        .filter(|e| !e.file.is_empty())
        .count();
    let empty = ufs_kit.entries.len() - with_file;
    assert_eq!(ufs.skipped.len(), empty);
    // DISK patches go to the plan; those on the gpt_main/gpt_backup files are ignored.
    let mut disk = 0;
    let mut files = 0;
    for lun in 0..2 {
        let xml = std::fs::read_to_string(tmp.path().join(format!("ufs/patch{lun}.xml"))).unwrap();
        disk += xml.matches("filename=\"DISK\"").count();
        files += xml.matches("<patch ").count();
    }
    files -= disk;
    assert!(disk >= 20, "{disk}");
    let patches = ufs.plan.iter().filter(|s| s.op == StepOp::Patch).count();
    assert_eq!(patches, disk);
    assert_eq!(ufs.ignored_patches.len(), files);
    let sb = ufs
        .plan
        .iter()
        .find(|s| s.op == StepOp::SetBootable)
        .unwrap();
    assert_eq!(sb.physical_partition_number, 1);
    assert_eq!(ufs.plan.len(), with_file + patches + 2);
    let backup = ufs.plan.iter().find(|s| s.label == "BackupGPT").unwrap();
    assert_eq!(backup.start_sector, "NUM_DISK_SECTORS-5.");
    assert!(matches!(
        ufs.ensure_flashable(),
        Err(PackageError::NoProgrammer { .. })
    ));
}
