//! The real EG25-G package of the real-world corpus (`OASIS_REALWORLD`; ignored without it): opened from its folder and from a zip; plan in the brick-safe NAND
//! order, missing images as findings, md5 and summary JSON.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use oasis_package::{
    OpenOptions, Package, PackageError, PackageKind, StepOp, StorageType, TableSource,
};

fn open_folder() -> Package {
    Package::open(&common::realworld_eg25g(), &OpenOptions::default()).unwrap()
}

/// Op and start of each step, in order.
fn sequence(pkg: &Package) -> Vec<(StepOp, String)> {
    pkg.plan
        .iter()
        .map(|s| (s.op, s.start_sector.clone()))
        .collect()
}

const ORDER: &[(StepOp, &str)] = &[
    (StepOp::Erase, "0"),
    (StepOp::Erase, "13952"),
    (StepOp::Erase, "15552"),
    (StepOp::Erase, "16320"),
    (StepOp::Erase, "20288"),
    (StepOp::Erase, "24256"),
    (StepOp::Erase, "51968"),
    (StepOp::Erase, "62336"),
    (StepOp::Erase, "93312"),
    (StepOp::Erase, "13184"),
    (StepOp::Erase, "640"),
    (StepOp::Program, "640"),
    (StepOp::Program, "13184"),
    (StepOp::Program, "15552"),
    (StepOp::Program, "16320"),
    (StepOp::Program, "20288"),
    (StepOp::Program, "24256"),
    (StepOp::Program, "51968"),
    (StepOp::Program, "62336"),
    (StepOp::Program, "93312"),
    (StepOp::Program, "13952"),
    (StepOp::Program, "0"),
    (StepOp::Reset, "0"),
];

fn expected_order() -> Vec<(StepOp, String)> {
    ORDER.iter().map(|(op, s)| (*op, s.to_string())).collect()
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_folder_plan_is_brick_safe() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_folder_plan_is_brick_safe") else {
        return;
    };
    let pkg = open_folder();
    assert_eq!(pkg.kind, PackageKind::Quectel);
    assert_eq!(pkg.storage, StorageType::Nand);
    assert_eq!(pkg.sector_size, Some(2048));
    assert_eq!(pkg.pages_per_block, Some(64));
    assert_eq!(sequence(&pkg), expected_order());
    // Everything from the SBL erase to the SBL program is "do not unplug"; reset is not.
    let critical: Vec<bool> = pkg.plan.iter().map(|s| s.critical).collect();
    assert!(critical[..22].iter().all(|c| *c));
    assert!(!critical[22]);
    // No patch steps: both patches edit partition_complete_p2K_b128K.mbn, not the DISK.
    assert!(
        pkg.plan
            .iter()
            .all(|s| s.op != StepOp::Patch && s.op != StepOp::SetBootable)
    );
    assert_eq!(pkg.ignored_patches.len(), 2);
    assert!(
        pkg.ignored_patches
            .iter()
            .all(|p| p.target == "partition_complete_p2K_b128K.mbn")
    );
    // No erase touches EFS2 (blocks 20..156): nothing destructive.
    assert!(
        pkg.plan.iter().all(|s| s.destructive.is_none()),
        "{:?}",
        pkg.plan
    );
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_labels_come_from_the_mibib() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_labels_come_from_the_mibib") else {
        return;
    };
    let pkg = open_folder();
    let table = pkg.partitions.as_ref().unwrap();
    assert_eq!(table.source, TableSource::Mibib);
    assert_eq!(table.partitions.len(), 17);
    let efs = table.find("EFS2").unwrap();
    assert_eq!(
        (efs.start_block, efs.blocks, efs.start_sector),
        (Some(20), Some(136), 1280)
    );
    let labels: Vec<&str> = pkg.plan.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "SBL",
            "RPM",
            "aboot",
            "boot",
            "recovery",
            "modem",
            "recoveryfs",
            "usr_data",
            "system",
            "TZ",
            "MIBIB",
            "MIBIB",
            "TZ",
            "aboot",
            "boot",
            "recovery",
            "modem",
            "recoveryfs",
            "usr_data",
            "system",
            "RPM",
            "SBL",
            "reset"
        ]
    );
    // partition_nand.xml lays out to the same blocks as the compiled MIBIB (no disagreement warnings).
    assert!(
        !pkg.warnings.iter().any(|w| w.contains("MIBIB says")),
        "{:?}",
        pkg.warnings
    );
    assert_eq!(pkg.nand_xml.as_ref().unwrap().partitions.len(), 17);
    assert_eq!(pkg.usr_table.as_ref().unwrap().len(), 17);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_missing_images_are_findings_not_errors() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_missing_images_are_findings_not_errors")
    else {
        return;
    };
    let pkg = open_folder();
    let missing: Vec<&str> = pkg.missing_images.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(missing.len(), 10);
    assert_eq!(missing[0], "update/sbl1.mbn");
    assert!(missing.contains(&"update/NON-HLOS.ubi"));
    assert_eq!(pkg.missing_images[0].file, "..\\sbl1.mbn");
    assert_eq!(pkg.missing_images[0].line, 7);
    // Program steps for absent images keep the XML's count and have no data.
    let sbl = pkg
        .plan
        .iter()
        .find(|s| s.op == StepOp::Program && s.start_sector == "0")
        .unwrap();
    assert_eq!((sbl.sectors, sbl.data.is_none()), (Some(640), true));
    // The one present image: partition_complete (8192 bytes = 4 pages), zero padded to whole pages.
    let mibib = pkg
        .plan
        .iter()
        .find(|s| s.op == StepOp::Program && s.start_sector == "640")
        .unwrap();
    assert_eq!(mibib.sectors, Some(4));
    assert_eq!(pkg.total_bytes(), 8192);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut pkg.open_reader(mibib).unwrap(), &mut bytes).unwrap();
    let on_disk = std::fs::read(
        common::realworld_eg25g().join("update/firehose/partition_complete_p2K_b128K.mbn"),
    )
    .unwrap();
    assert_eq!(bytes, on_disk);
    assert!(matches!(
        pkg.open_reader(sbl),
        Err(PackageError::MissingImages { .. })
    ));
    let e = pkg.ensure_flashable().unwrap_err();
    assert!(
        matches!(e, PackageError::MissingImages { count: 10, .. }),
        "{e:?}"
    );
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_md5_programmer_and_choices() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_md5_programmer_and_choices") else {
        return;
    };
    let pkg = open_folder();
    assert_eq!(pkg.md5.entries.len(), 19);
    assert_eq!(pkg.md5.ok().count(), 7);
    assert_eq!(pkg.md5.missing().count(), 12);
    assert_eq!(pkg.md5.mismatches().count(), 0);
    assert_eq!(pkg.md5.status(), "missing_files");
    let prog = pkg.programmer.as_ref().unwrap();
    assert!(
        prog.path
            .ends_with("update/firehose/prog_nand_firehose_9x07.mbn")
    );
    assert!(!prog.given);
    let id = prog
        .identity
        .as_ref()
        .expect("identity of the unsigned programmer");
    assert!(!id.signed);
    // contents.xml's NPRG flash_programmer is recorded as ignored, never used.
    let nprg = pkg
        .choices
        .iter()
        .find(|c| c.what == "contents.xml flash_programmer")
        .unwrap();
    assert_eq!(nprg.chosen, "update/NPRG9x07.mbn");
    assert!(nprg.reason.starts_with("ignored"));
    let raw = pkg.choices.iter().find(|c| c.what == "rawprogram").unwrap();
    assert_eq!(
        raw.chosen,
        "update/firehose/rawprogram_nand_p2K_b128K_update.xml"
    );
    let contents = pkg.contents.as_ref().unwrap();
    assert_eq!(contents.product_name.as_deref(), Some("MDM9607.LE.1.0"));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_summary_json_keys_and_plan_shape() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_summary_json_keys_and_plan_shape")
    else {
        return;
    };
    let pkg = open_folder();
    let j = pkg.summary_json();
    for key in [
        "root",
        "model",
        "revision",
        "version",
        "storage",
        "sector_size",
        "pages_per_block",
        "programmer",
        "rawprogram",
        "patch",
        "md5",
        "missing_images",
        "plan",
        "warnings",
        "choices",
        "total_bytes",
    ] {
        assert!(j.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(j["storage"], "nand");
    assert_eq!(j["md5"]["status"], "missing_files");
    assert_eq!(j["md5"]["missing"].as_array().unwrap().len(), 12);
    assert_eq!(j["total_bytes"], 8192);
    let plan = j["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 23);
    let first = &plan[0];
    assert_eq!(first["op"], "erase");
    assert_eq!(first["start_sector"], "0");
    assert_eq!(first["sectors"], 640);
    assert_eq!(first["destructive"], false);
    assert!(first["destructive_reason"].is_null());
    assert_eq!(first["critical"], true);
    assert_eq!(plan[21]["file"], "..\\sbl1.mbn");
    assert_eq!(plan[22]["op"], "reset");
    assert!(j["programmer"]["identity"].is_object());
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_zip_opens_like_the_folder() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_zip_opens_like_the_folder") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("pkg.zip");
    common::zip_tree(
        &common::realworld_eg25g(),
        &zip,
        "EG25GGBR07A08M2G_30.006.30.006",
    );
    let pkg = Package::open(&zip, &OpenOptions::default()).unwrap();
    assert!(pkg.from_zip);
    assert_eq!(sequence(&pkg), expected_order());
    assert_eq!(pkg.model(), Some("EG25"));
    assert_eq!(pkg.revision(), Some("EG25GGBR07A08M2G"));
    assert_eq!(pkg.version(), Some("30.006.30.006"));
    assert_eq!(pkg.md5.ok().count(), 7);
    // The unpacked files live in a private temp folder that goes away with the package.
    let root = pkg.root.clone();
    assert!(root.join("update/firehose/patch_p2K_b128K.xml").is_file());
    let clone = pkg.clone();
    drop(pkg);
    assert!(root.exists(), "a clone keeps the unpacked folder alive");
    drop(clone);
    assert!(
        !root.exists(),
        "the unpacked folder is removed with the last clone"
    );
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_factory_preference_and_explicit_rawprogram() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_factory_preference_and_explicit_rawprogram")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("EG25GGBR07A08M2G_30.006.30.006");
    common::copy_tree(&common::realworld_eg25g(), &root);
    let fh = root.join("update/firehose");
    let xml = std::fs::read_to_string(fh.join("rawprogram_nand_p2K_b128K_update.xml")).unwrap();
    // A factory variant that also erases EFS2 (blocks 20..156 = sectors 1280..9984).
    let factory = xml.replace(
        "</data>",
        "  <erase PAGES_PER_BLOCK=\"64\" SECTOR_SIZE_IN_BYTES=\"2048\" num_partition_sectors=\"8704\" physical_partition_number=\"0\" start_sector=\"1280\"/>\n</data>",
    );
    std::fs::write(fh.join("rawprogram_nand_p2K_b128K_factory.xml"), factory).unwrap();
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    assert!(pkg.rawprogram[0].ends_with("rawprogram_nand_p2K_b128K_update.xml"));
    assert_eq!(pkg.model(), Some("EG25"));
    let c = pkg.choices.iter().find(|c| c.what == "rawprogram").unwrap();
    assert!(c.reason.contains("_update.xml preferred"), "{c:?}");
    let opts = OpenOptions {
        prefer_factory: true,
        ..OpenOptions::default()
    };
    let pkg = Package::open(&root, &opts).unwrap();
    assert!(pkg.rawprogram[0].ends_with("rawprogram_nand_p2K_b128K_factory.xml"));
    let efs = pkg.plan.iter().find(|s| s.start_sector == "1280").unwrap();
    assert!(
        efs.destructive.as_deref().unwrap().contains("EFS2"),
        "{efs:?}"
    );
    // The extra erase goes with the other erases, before any program.
    let pos = pkg
        .plan
        .iter()
        .position(|s| s.start_sector == "1280")
        .unwrap();
    let first_program = pkg
        .plan
        .iter()
        .position(|s| s.op == StepOp::Program)
        .unwrap();
    assert!(pos < first_program);
    // Passing the XML path itself opens the package around it.
    let pkg = Package::open(
        &fh.join("rawprogram_nand_p2K_b128K_update.xml"),
        &OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(pkg.root, root.canonicalize().unwrap());
    assert_eq!(pkg.md5.entries.len(), 19);
}
