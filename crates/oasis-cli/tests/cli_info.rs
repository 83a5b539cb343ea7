//! `oasis-cli info` on every kit-generated package and programmer (oasis-testkit; the real
//! programmers of the real-world corpus in the ignored `realworld_*` test): JSON keys and
//! values, findings reported with exit 0, bad input with exit 2.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{cli, json_one, show};
use serde_json::Value;

fn info_json(path: &std::path::Path) -> (std::process::Output, Value) {
    let out = cli().arg("info").arg(path).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v = json_one(&out);
    (out, v)
}

/// The kit NAND package ships no flash images except the MIBIB.
fn kit_missing_images() -> usize {
    oasis_testkit::package::NandLayout::default()
        .parts
        .iter()
        .filter(|p| p.image.is_some() && !p.name.ends_with("MIBIB"))
        .count()
}

#[test]
fn eg25g_package_summary_reports_missing_images_as_findings() {
    let (_, v) = info_json(&common::kit_package("quectel-eg25g-nand-2022"));
    for k in [
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
        assert!(v.get(k).is_some(), "key {k} missing: {v}");
    }
    assert_eq!(v["storage"], "nand");
    assert_eq!(v["sector_size"], 2048);
    assert_eq!(v["pages_per_block"], 64);
    assert_eq!(
        v["missing_images"].as_array().unwrap().len(),
        kit_missing_images()
    );
    assert_eq!(v["md5"]["status"], "missing_files");
    assert_eq!(
        v["programmer"]["path"],
        "update/firehose/prog_nand_firehose_9x07.mbn"
    );
    assert_eq!(v["programmer"]["identity"]["signed"], false);
    let plan = v["plan"].as_array().unwrap();
    assert_eq!(plan.first().unwrap()["op"], "erase");
    assert_eq!(plan.last().unwrap()["op"], "reset");
}

#[test]
fn ufs_and_emmc_packages() {
    let (_, ufs) = info_json(&common::kit_package("qdl-tests-ufs"));
    assert_eq!(ufs["storage"], "ufs");
    assert_eq!(ufs["sector_size"], 4096);
    let (_, emmc) = info_json(&common::kit_package("uz801-emmc"));
    assert_eq!(emmc["storage"], "emmc");
    assert_eq!(emmc["sector_size"], 512);
    assert_eq!(emmc["programmer"]["identity"]["hw_id"], "007050e100000000");
    assert_eq!(emmc["programmer"]["identity"]["chip"], "MSM8916");
}

#[test]
fn human_summary_lists_findings_and_exits_zero() {
    let out = cli()
        .arg("info")
        .arg(common::kit_package("quectel-eg25g-nand-2022"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Missing images ({})", kit_missing_images())),
        "{text}"
    );
    assert!(text.contains("update/sbl1.mbn"), "{text}");
}

/// Every kit-generated programmer (oasis-testkit): `info --json` reports what the kit wrote.
#[test]
fn every_programmer_matches_the_kit_answers() {
    let all = oasis_testkit::corpus::programmers();
    assert!(all.len() >= 8);
    for (name, spec) in all {
        let path = oasis_testkit::corpus::programmer(name);
        let p = spec.build();
        let (_, v) = info_json(&path);
        for k in [
            "hw_id",
            "oem_id",
            "model_id",
            "sw_id",
            "pk_hash_sha256",
            "pk_hash_sha384",
            "signed",
            "mbn_version",
            "chip",
        ] {
            assert!(v.get(k).is_some(), "{name}: key {k} missing");
        }
        assert_eq!(v["signed"], spec.signed, "{name}");
        if spec.signed {
            assert_eq!(v["pk_hash_sha256"], p.pk_sha256(), "{name}");
            assert_eq!(v["pk_hash_sha384"], p.pk_sha384(), "{name}");
        } else {
            assert_eq!(
                v["hw_id"],
                Value::Null,
                "unsigned programmers state no HW ID"
            );
        }
        let version = match spec.container {
            oasis_testkit::programmer::Container::Raw => Value::Null,
            _ => Value::from(spec.mbn_version),
        };
        assert_eq!(v["mbn_version"], version, "{name}");
    }
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_every_programmer_matches_the_independent_answers() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_every_programmer_matches_the_independent_answers")
    else {
        return;
    };
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(common::realworld_dir().join("expected/loaders.json")).unwrap(),
    )
    .unwrap();
    let loaders = expected["loaders"].as_array().unwrap();
    assert!(loaders.len() >= 9);
    for e in loaders {
        let path = common::realworld_dir().join(e["path"].as_str().unwrap());
        let (_, v) = info_json(&path);
        for k in [
            "hw_id",
            "oem_id",
            "model_id",
            "sw_id",
            "pk_hash_sha256",
            "pk_hash_sha384",
            "signed",
            "mbn_version",
            "chip",
        ] {
            assert!(v.get(k).is_some(), "{}: key {k} missing", path.display());
        }
        let signed = e["cert_count"].as_u64().unwrap_or(0) > 0;
        assert_eq!(v["signed"], signed, "{}", path.display());
        if signed {
            assert_eq!(
                v["pk_hash_sha256"],
                e["root_cert_sha256"],
                "{}",
                path.display()
            );
            assert_eq!(
                v["pk_hash_sha384"],
                e["root_cert_sha384"],
                "{}",
                path.display()
            );
            assert_eq!(v["hw_id"], e["hw_id"], "{}", path.display());
        } else {
            assert_eq!(
                v["hw_id"],
                Value::Null,
                "unsigned programmers state no HW ID"
            );
        }
        assert_eq!(
            v["mbn_version"],
            e["mbn_header_version"],
            "{}",
            path.display()
        );
    }
}

#[test]
fn bad_input_exits_2_with_message_and_hint() {
    let missing = cli()
        .args(["info", "/nonexistent/package"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{}", show(&missing));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("error:") && err.contains("hint:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, b"not a programmer at all").unwrap();
    let out = cli().arg("info").arg(&junk).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let v = json_one(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error_kind"], "bad_input");
    let usage = cli().args(["info"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn version_names_commit_target_and_profile() {
    let out = cli().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(env!("CARGO_PKG_VERSION"))
            && text.contains("commit")
            && text.contains("build"),
        "{text}"
    );
}
