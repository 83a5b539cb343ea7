//! `oasis-cli ramdump` collects the virtual crashed board's RAM: in process
//! (`--port virtual:bg95@dump`) and over a pseudo-terminal (`oasis-cli emulate --start dump`),
//! byte-exact against what the board served, surviving its faults (a refused region, an
//! unplug), with the exit codes of the CLI's contract.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::path::Path;

use common::{cli, json_lines, show};
use oasis_vdev::Profile;
use oasis_vdev::dump::{region_bytes, regions};
use serde_json::Value;

/// Every collected file of the manifest equals what the board serves.
fn assert_byte_exact(profile: &str, dir: &Path) -> Value {
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let p = Profile::by_name(profile).unwrap();
    for r in m["regions"].as_array().unwrap() {
        if r["status"] != "collected" {
            continue;
        }
        let name = r["name"].as_str().unwrap();
        let region = regions(&p)
            .into_iter()
            .find(|x| x.file_name == name)
            .unwrap();
        let got = std::fs::read(dir.join(r["file"].as_str().unwrap())).unwrap();
        assert!(
            got == region_bytes(&p, &region),
            "{name} differs from what the board served"
        );
    }
    m
}

fn ramdump(port: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    cli()
        .arg("ramdump")
        .args(["--port", port])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn in_process_json_run_collects_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let out = ramdump("virtual:bg95@dump", &dir, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let lines = json_lines(&out);
    let progress: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "progress" && l["phase"] == "ram_dump")
        .collect();
    assert!(!progress.is_empty(), "{}", show(&out));
    for p in &progress {
        assert!(p.get("rate").is_some() && p.get("eta_seconds").is_some());
        assert_eq!(p["schema"], 1);
    }
    let result = lines.last().unwrap();
    assert_eq!(result["event"], "result");
    assert_eq!(result["ok"], true);
    assert_eq!(result["status"], "complete");
    assert_eq!(result["regions"].as_array().unwrap().len(), 6);
    assert_eq!(result["missing"], serde_json::json!([]));
    assert!(result["note"].as_str().unwrap().contains("secrets"));
    let m = assert_byte_exact("bg95", &dir);
    // What a board in crash-dump mode tells the host: its serial, in the USB product string
    // (`QUSB__BULK_SN:…`); its model is not on the wire.
    assert_eq!(m["identity"]["serial"], "1a2b3c4d");
    assert!(m["identity"]["model"].is_null(), "{}", m["identity"]);
    assert_eq!(m["reset"], true);
}

#[test]
fn human_output_names_the_folder_and_the_secrets_note() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let out = ramdump("virtual:sdx55@dump", &dir, &["--region", "DDRCS1"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Done: crash dump: 1 of 1 regions"),
        "{}",
        show(&out)
    );
    assert!(text.contains("DDRCS1.BIN") && text.contains("0x100000000"));
    assert!(text.contains("may contain secrets"));
    assert_byte_exact("sdx55", &dir);
}

#[test]
fn bad_input_exits_2_and_a_board_not_in_dump_mode_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ramdump(
        "virtual:bg95@dump",
        &tmp.path().join("a"),
        &["--region", "NOPE"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no region \"NOPE\""));
    std::fs::write(tmp.path().join("x"), "x").unwrap();
    let out = ramdump("virtual:bg95@dump", tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = ramdump("virtual:bg95", &tmp.path().join("b"), &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let result = json_lines(&out).pop().unwrap();
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("not in crash-dump mode"),
        "{}",
        show(&out)
    );
}

#[cfg(unix)]
mod over_a_pty {
    use super::common::{Emulator, emulate_args, repeated};
    use super::*;

    fn crashed_board(profile: &str, faults: &[&str]) -> Emulator {
        let mut args = vec!["--profile", profile, "--start", "dump"];
        args.extend(repeated("--fault", faults));
        emulate_args(&args)
    }

    #[test]
    fn every_region_arrives_byte_exact_over_a_pty() {
        for profile in ["bg95", "sdx55"] {
            let emu = crashed_board(profile, &[]);
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("dump");
            let out = ramdump(emu.link.to_str().unwrap(), &dir, &["--json"]);
            assert_eq!(out.status.code(), Some(0), "{profile}: {}", show(&out));
            let m = assert_byte_exact(profile, &dir);
            assert_eq!(m["status"], "complete", "{profile}");
            let want = regions(&Profile::by_name(profile).unwrap()).len();
            assert_eq!(m["regions"].as_array().unwrap().len(), want);
            assert_eq!(m["reset"], true, "{profile}: the board confirmed RESET");
        }
    }

    #[test]
    fn a_refused_region_over_a_pty_is_named_and_the_rest_kept() {
        let emu = crashed_board("bg95", &["nak:memory-read#3"]);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dump");
        let out = ramdump(emu.link.to_str().unwrap(), &dir, &["--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let result = json_lines(&out).pop().unwrap();
        assert_eq!(result["status"], "partial");
        assert_eq!(result["missing"], serde_json::json!(["CODERAM.BIN"]));
        let m = assert_byte_exact("bg95", &dir);
        let collected = m["regions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "collected")
            .count();
        assert_eq!(collected, 5);
    }

    #[test]
    fn an_unplug_before_anything_arrived_exits_1_with_a_manifest() {
        let emu = crashed_board("bg95", &["unplug:memory-read#2"]);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dump");
        let out = ramdump(emu.link.to_str().unwrap(), &dir, &["--json"]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let result = json_lines(&out).pop().unwrap();
        assert_eq!(result["ok"], false);
        assert_eq!(result["status"], "failed");
        assert_eq!(result["missing"].as_array().unwrap().len(), 6);
    }

    #[test]
    fn an_unplug_mid_dump_keeps_the_regions_before_it() {
        let emu = crashed_board("bg95", &["unplug:memory-read#4"]);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dump");
        let out = ramdump(emu.link.to_str().unwrap(), &dir, &["--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let result = json_lines(&out).pop().unwrap();
        assert_eq!(result["status"], "partial");
        let m = assert_byte_exact("bg95", &dir);
        let st: Vec<&str> = m["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            st,
            vec![
                "collected",
                "collected",
                "failed",
                "missing",
                "missing",
                "missing"
            ]
        );
        assert_eq!(m["reset"], false);
    }
}
