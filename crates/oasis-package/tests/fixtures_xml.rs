//! Every real XML of the real-world corpus (`OASIS_REALWORLD`, ignored without it) parses as it is and matches the independently
//! computed answers in expected/xml.json (counts, sizes, labels, filenames, byte sums, patches,
//! partition_nand.xml, contents.xml, md5.txt).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use oasis_package::contents::ContentsInfo;
use oasis_package::jail::Jail;
use oasis_package::nand::{NandPartitionXml, NandXmlSize};
use oasis_package::number::{SectorRef, parse_u64};
use oasis_package::patch::PatchFile;
use oasis_package::rawprogram::RawProgramFile;
use serde_json::Value;

fn expected() -> Value {
    let text = std::fs::read_to_string(common::realworld_dir().join("expected/xml.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn num(v: &Value) -> u64 {
    match v {
        Value::String(s) => parse_u64(s).unwrap(),
        Value::Number(n) => n.as_u64().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

fn strings(v: &Value) -> Vec<Option<String>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn check_rawprogram(path: &Path, exp: &Value) {
    let f = RawProgramFile::from_path(path).unwrap();
    let programs: Vec<_> = f.programs().collect();
    let erases: Vec<_> = f.erases().collect();
    assert_eq!(
        programs.len() as u64,
        num(&exp["program"]),
        "{}",
        path.display()
    );
    assert_eq!(erases.len() as u64, num(&exp["erase"]));
    assert!(f.other.is_empty());
    let sizes: BTreeSet<String> = programs.iter().map(|p| p.sector_size.to_string()).collect();
    let want: BTreeSet<String> = strings(&exp["sector_sizes"])
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(sizes, want);
    let ppns: BTreeSet<u64> = programs
        .iter()
        .map(|p| u64::from(p.physical_partition_number))
        .collect();
    let want: BTreeSet<u64> = exp["physical_partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(num)
        .collect();
    assert_eq!(ppns, want);
    let labels: Vec<Option<String>> = programs.iter().map(|p| p.label.clone()).collect();
    assert_eq!(labels, strings(&exp["labels"]));
    let with_file: Vec<_> = programs
        .iter()
        .filter(|p| p.filename.as_deref().is_some_and(|f| !f.is_empty()))
        .collect();
    let names: Vec<Option<String>> = with_file.iter().map(|p| p.filename.clone()).collect();
    assert_eq!(names, strings(&exp["filenames"]));
    assert_eq!(with_file.len() as u64, num(&exp["program_with_filename"]));
    assert_eq!(
        (programs.len() - with_file.len()) as u64,
        num(&exp["program_empty_filename"])
    );
    assert_eq!(
        programs.iter().filter(|p| p.sparse).count() as u64,
        num(&exp["sparse_true"])
    );
    let exprs = programs
        .iter()
        .filter(|p| matches!(p.start_sector, SectorRef::Expr(_)))
        .count();
    assert_eq!(exprs as u64, num(&exp["num_disk_sectors_expr"]));
    let bytes: u64 = with_file
        .iter()
        .map(|p| p.num_partition_sectors * u64::from(p.sector_size))
        .sum();
    assert_eq!(
        bytes,
        num(&exp["sum_num_partition_sectors_x_sector_size_for_programs_with_filename"])
    );
    let erase_bytes: u64 = erases
        .iter()
        .map(|e| e.num_partition_sectors.unwrap_or(0) * u64::from(e.sector_size))
        .sum();
    assert_eq!(erase_bytes, num(&exp["erase_bytes"]));
}

fn check_patch(path: &Path, exp: &Value) {
    let f = PatchFile::from_path(path).unwrap();
    assert_eq!(
        f.entries.len() as u64,
        num(&exp["patch"]),
        "{}",
        path.display()
    );
    if exp.get("patch_DISK").is_none() {
        return;
    }
    assert_eq!(f.disk_patches().count() as u64, num(&exp["patch_DISK"]));
    let files: BTreeSet<String> = f
        .entries
        .iter()
        .filter(|p| !p.is_disk())
        .map(|p| p.filename.clone())
        .collect();
    let want: BTreeSet<String> = strings(&exp["patch_files"]).into_iter().flatten().collect();
    assert_eq!(files, want);
    let values: BTreeSet<String> = f.entries.iter().map(|p| p.value.clone()).collect();
    let want: BTreeSet<String> = strings(&exp["patch_values"])
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(values, want);
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_every_fixture_xml_matches_expected() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_every_fixture_xml_matches_expected")
    else {
        return;
    };
    let exp = expected();
    let files = exp["files"].as_object().unwrap();
    assert_eq!(files.len(), 8);
    for (rel, e) in files {
        let path = common::realworld_dir().join(rel);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, num(&e["bytes"]));
        assert_eq!(
            bytes.starts_with(b"\xEF\xBB\xBF"),
            e["bom"].as_bool().unwrap()
        );
        let doc = oasis_package::xml::parse_file(&path).unwrap();
        assert_eq!(doc.root.name, e["root"].as_str().unwrap());
        match doc.root.name.as_str() {
            "data" => check_rawprogram(&path, e),
            "patches" => check_patch(&path, e),
            other => panic!("unexpected root {other}"),
        }
    }
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_partition_nand_xml_matches_expected() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_partition_nand_xml_matches_expected")
    else {
        return;
    };
    let exp = expected();
    let tables = exp["quectel_nand_partition_tables"].as_object().unwrap();
    for (rel, e) in tables {
        let x = NandPartitionXml::from_path(&common::realworld_dir().join(rel)).unwrap();
        assert_eq!(x.magic1, Some(num(&e["usr_part_magic1"])));
        assert_eq!(x.magic2, Some(num(&e["usr_part_magic2"])));
        assert_eq!(x.version, Some(num(&e["partition_version"])));
        let want = e["partitions"].as_array().unwrap();
        assert_eq!(x.partitions.len() as u64, num(&e["partition_count"]));
        assert_eq!(x.partitions.len(), want.len());
        for (p, w) in x.partitions.iter().zip(want) {
            assert_eq!(p.name, w["name"].as_str().unwrap());
            assert_eq!(u64::from(p.which_flash), num(&w["which_flash"]));
            let attrs: Vec<u64> = w["attr"].as_array().unwrap().iter().map(num).collect();
            assert_eq!(
                p.attrs.iter().map(|a| u64::from(*a)).collect::<Vec<_>>(),
                attrs
            );
            assert_eq!(p.image.as_deref(), w["img_name"].as_str());
            let size = if w.get("size_blks").is_some() {
                NandXmlSize::Blocks {
                    size: num(&w["size_blks"]),
                    pad: num(&w["pad_blks"]),
                }
            } else if w.get("size_kb").is_some() {
                NandXmlSize::KiB {
                    size: num(&w["size_kb"]),
                    pad: num(&w["pad_kb"]),
                }
            } else {
                assert_eq!(num(&w["flags"][0]), 0xFFFF_FFFF);
                NandXmlSize::Grow
            };
            assert_eq!(p.size, size, "{}", p.name);
        }
    }
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_contents_xml_matches_expected() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_contents_xml_matches_expected") else {
        return;
    };
    let exp = expected();
    for (rel, e) in exp["contents_xml"].as_object().unwrap() {
        let c = ContentsInfo::from_path(&common::realworld_dir().join(rel)).unwrap();
        assert_eq!(c.bom, e["starts_with_utf8_bom"].as_bool().unwrap());
        assert_eq!(c.product_name.as_deref(), e["product_name"].as_str());
        assert_eq!(c.chipid.as_deref(), e["chipid"].as_str());
        assert_eq!(c.hlos_type.as_deref(), e["hlos_type"].as_str());
        let builds = e["builds"].as_array().unwrap();
        assert_eq!(c.builds.len(), builds.len());
        for (b, w) in c.builds.iter().zip(builds) {
            assert_eq!(b.name, w["name"].as_str().unwrap());
            assert_eq!(b.role.as_deref(), w["role"].as_str());
            assert_eq!(b.chipset.as_deref(), w["chipset"].as_str());
            assert_eq!(b.image_dir.as_deref(), w["image_dir"].as_str());
            assert_eq!(
                b.partition_files.first().map(String::as_str),
                w["partition_file"].as_str()
            );
            let dl: Vec<Option<String>> = b.download_files.iter().cloned().map(Some).collect();
            let want = w.get("download_files").map(strings).unwrap_or_default();
            assert_eq!(dl, want);
            assert_eq!(
                b.flash_programmer.as_deref(),
                w["flash_programmer"].as_str()
            );
        }
        assert_eq!(c.flash_programmer(), Some("update/NPRG9x07.mbn"));
    }
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_md5_txt_matches_expected() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_md5_txt_matches_expected") else {
        return;
    };
    let exp = expected();
    for (rel, e) in exp["quectel_md5_txt"].as_object().unwrap() {
        let path = common::realworld_dir().join(rel);
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(
            raw.windows(2).filter(|w| w == b"\r\n").count(),
            raw.iter().filter(|b| **b == b'\n').count()
        );
        let jail = Jail::new(path.parent().unwrap()).unwrap();
        let r = oasis_package::md5sum::verify(&jail, &path).unwrap();
        assert_eq!(r.entries.len() as u64, num(&e["entries"]));
        let ok: BTreeSet<String> = r.ok().map(|x| x.listed.clone()).collect();
        let want: BTreeSet<String> = strings(&e["entries_present_in_fixture_and_matching"])
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(ok, want);
        let missing: BTreeSet<String> = r.missing().map(|x| x.listed.clone()).collect();
        let want: BTreeSet<String> = strings(&e["entries_absent_from_fixture"])
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(missing, want);
        assert!(r.unparsed.is_empty());
        r.check().unwrap();
    }
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_other_fixture_packages_open() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_other_fixture_packages_open") else {
        return;
    };
    let uz = oasis_package::Package::open(
        &common::realworld_dir().join("xml/uz801-emmc"),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(uz.storage, oasis_package::StorageType::Emmc);
    assert_eq!(uz.plan.len(), 29 + 2, "29 programs, set-bootable, reset");
    let last_two: Vec<_> = uz
        .plan
        .iter()
        .rev()
        .take(2)
        .map(|s| (s.op, s.physical_partition_number))
        .collect();
    assert_eq!(
        last_two,
        [
            (oasis_package::StepOp::Reset, 0),
            (oasis_package::StepOp::SetBootable, 0)
        ]
    );
    let prog = uz.programmer.as_ref().unwrap();
    assert!(
        prog.path
            .ends_with("007050e100000000_99c8c13e374c34d8_fhprg_peek.bin")
    );
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

    let ufs = oasis_package::Package::open(
        &common::realworld_dir().join("xml/qdl-tests-ufs"),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(ufs.storage, oasis_package::StorageType::Ufs);
    assert_eq!(ufs.rawprogram.len(), 2);
    assert_eq!(ufs.patch.len(), 2);
    assert!(ufs.programmer.is_none());
    // 4 + 4 programs with files (3 empty filenames skipped), 26 DISK patches, set-bootable LUN 1 (xbl_a), reset.
    assert_eq!(ufs.skipped.len(), 3);
    assert_eq!(ufs.ignored_patches.len(), 26);
    let ops: Vec<_> = ufs.plan.iter().map(|s| s.op).collect();
    assert_eq!(
        ops.iter()
            .filter(|o| **o == oasis_package::StepOp::Patch)
            .count(),
        26
    );
    let sb = ufs
        .plan
        .iter()
        .find(|s| s.op == oasis_package::StepOp::SetBootable)
        .unwrap();
    assert_eq!(sb.physical_partition_number, 1);
    assert_eq!(ufs.plan.len(), 8 + 26 + 2);
    let backup = ufs.plan.iter().find(|s| s.label == "BackupGPT").unwrap();
    assert_eq!(backup.start_sector, "NUM_DISK_SECTORS-5.");
    assert!(matches!(
        ufs.ensure_flashable(),
        Err(oasis_package::PackageError::NoProgrammer { .. })
    ));
}
