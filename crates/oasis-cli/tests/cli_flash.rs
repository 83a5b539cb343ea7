//! `oasis-cli flash` onto the in-process virtual board: JSON lines with the schema and the
//! result line, the confirmed-running path, and the exit statuses of refusals and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{REVISION, cli, flashable_package, json_lines, show};
use serde_json::Value;

fn flash(args: &[&str], pkg: &std::path::Path) -> (std::process::Output, Vec<Value>) {
    let out = cli().arg("flash").arg(pkg).args(args).output().unwrap();
    let lines = json_lines(&out);
    (out, lines)
}

fn result(lines: &[Value]) -> &Value {
    let last = lines.last().expect("no JSON output");
    assert_eq!(last["event"], "result", "last line is the result: {last}");
    last
}

#[test]
fn virtual_flash_emits_schema_1_events_and_a_result_line() {
    let (_tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let (out, lines) = flash(&["--port", "virtual:eg25", "--json"], &pkg);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        lines.iter().all(|l| l["schema"] == 1),
        "every line carries schema 1"
    );
    assert_eq!(lines[0]["event"], "plan_ready");
    let r = result(&lines);
    for k in [
        "ok",
        "error_kind",
        "message",
        "hint",
        "verified",
        "bytes",
        "seconds",
    ] {
        assert!(r.get(k).is_some(), "result lacks {k}: {r}");
    }
    assert_eq!(r["ok"], true);
    assert_eq!(r["message"], "verified, not yet confirmed running");
    assert!(r["verified"].as_array().unwrap().len() >= 9, "{r}");
    assert!(r["bytes"].as_u64().unwrap() > 0);
    assert_eq!(lines[lines.len() - 2]["event"], "finished");
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "chip_identity" && l["hw_id"] == "000480e100000000")
    );
}

#[test]
fn confirm_follows_the_virtual_board_to_its_new_revision() {
    // The package folder is named like a Quectel release, so the package states its revision.
    let (_tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", REVISION);
    let (out, lines) = flash(&["--port", "virtual:eg25", "--json", "--confirm"], &pkg);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = result(&lines);
    assert_eq!(
        r["message"],
        format!("verified; running {REVISION}, confirmed")
    );
    assert_eq!(r["confirmed"], true);
    assert_eq!(r["running_revision"], REVISION);
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "phase_started" && l["phase"] == "confirm")
    );
}

#[test]
fn human_output_ends_with_a_plain_verdict() {
    let (_tmp, pkg) = flashable_package("uz801-emmc", "uz801");
    let out = cli()
        .arg("flash")
        .arg(&pkg)
        .args(["--port", "virtual:emmc", "--allow-full-erase", "--no-reset"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Done: verified; the board stays in download mode (--no-reset)"),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Writing"),
        "{}",
        show(&out)
    );
}

#[test]
fn destructive_plan_is_refused_with_exit_3() {
    let (_tmp, pkg) = flashable_package("uz801-emmc", "uz801");
    let (out, lines) = flash(&["--port", "virtual:emmc", "--json"], &pkg);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let r = result(&lines);
    assert_eq!(r["error_kind"], "refused");
    assert!(r["message"].as_str().unwrap().contains("modemst1"), "{r}");
    assert!(
        r["hint"].as_str().unwrap().contains("--allow-full-erase"),
        "{r}"
    );
}

#[test]
fn md5_mismatch_and_nprg_programmer_are_refused() {
    let (_tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let sbl = pkg.join("update/sbl1.mbn");
    let mut bytes = std::fs::read(&sbl).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&sbl, &bytes).unwrap();
    let (out, lines) = flash(&["--port", "virtual:eg25", "--json"], &pkg);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(result(&lines)["message"].as_str().unwrap().contains("md5"));
    // --skip-md5 flashes it anyway.
    let (out, _) = flash(&["--port", "virtual:eg25", "--json", "--skip-md5"], &pkg);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let nprg = oasis_testkit::corpus::programmer("nprg_v3.mbn");
    let (out, lines) = flash(
        &[
            "--port",
            "virtual:eg25",
            "--json",
            "--skip-md5",
            "--programmer",
            nprg.to_str().unwrap(),
        ],
        &pkg,
    );
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        result(&lines)["message"]
            .as_str()
            .unwrap()
            .contains("not a Firehose programmer")
    );
}

#[test]
fn missing_images_and_bad_packages_exit_2() {
    let raw = common::kit_package("quectel-eg25g-nand-2022");
    let (out, lines) = flash(&["--port", "virtual:eg25", "--json"], &raw);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let r = result(&lines);
    assert_eq!(r["error_kind"], "bad_input");
    assert!(r["message"].as_str().unwrap().contains("missing"), "{r}");
    let out = cli()
        .args(["flash", "/nonexistent", "--port", "virtual"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));
    let usage = cli().args(["flash", "x"]).output().unwrap();
    assert_eq!(
        usage.status.code(),
        Some(2),
        "missing --port is a usage error"
    );
}

#[test]
fn chipinfo_reads_the_virtual_boards_identity() {
    let out = cli()
        .args(["chipinfo", "--port", "virtual:bg95", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v = common::json_one(&out);
    assert_eq!(v["hw_id"], "001070e100000000");
    assert_eq!(v["chip"], "MDM9205");
    assert!(v["pk_hash"].as_str().unwrap().len() == 96, "{v}");
    let human = cli()
        .args(["chipinfo", "--port", "virtual:eg25"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("HW ID:") && text.contains("000480e100000000") && text.contains("MDM9207"),
        "{text}"
    );
}

#[test]
fn devices_json_is_a_list() {
    let out = cli().args(["devices", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(common::json_one(&out).is_array());
}

#[test]
fn bundle_is_a_zip_that_replays_to_the_same_outcome() {
    let (tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let bundle = tmp.path().join("session.zip");
    let (out, lines) = flash(
        &[
            "--port",
            "virtual:eg25",
            "--json",
            "--bundle",
            bundle.to_str().unwrap(),
        ],
        &pkg,
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(result(&lines)["bundle"], bundle.to_str().unwrap());
    let bytes = std::fs::read(&bundle).unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip");
    let out = cli()
        .arg("replay")
        .arg(&bundle)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let lines = json_lines(&out);
    let r = result(&lines);
    assert_eq!(r["reproduced"], true, "{r}");
    assert_eq!(r["mismatch"], Value::Null);
    // The replay ran the same job: its first board bytes are a Sahara HELLO, answered the same.
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "chip_identity" && l["hw_id"] == "000480e100000000")
    );
}
