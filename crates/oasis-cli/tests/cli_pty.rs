//! `oasis-cli emulate` serves a virtual board on a pseudo-terminal; `oasis-cli flash` talks to
//! it as to a real COM port (byte-stream framing). Injected faults end with exit 1 and the
//! right `error_kind` within a bounded time.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// test helpers outside #[test] fns
// Pseudo-terminals (openpty) exist only on Unix, so these tests are not built on Windows.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Emulator, cli, emulate_args, flashable_package, json_lines, repeated, show};
use serde_json::Value;

fn emulate(profile: &str, faults: &[&str]) -> Emulator {
    emulate_with(profile, faults, &[])
}

fn emulate_with(profile: &str, faults: &[&str], extra: &[&str]) -> Emulator {
    let mut args = vec!["--profile", profile];
    args.extend(repeated("--fault", faults));
    args.extend_from_slice(extra);
    emulate_args(&args)
}

fn flash_over(link: &Path, pkg: &Path) -> (std::process::Output, Vec<Value>, Duration) {
    let start = Instant::now();
    let out = cli()
        .arg("flash")
        .arg(pkg)
        .arg("--port")
        .arg(link)
        .arg("--json")
        .output()
        .unwrap();
    let took = start.elapsed();
    let lines = json_lines(&out);
    (out, lines, took)
}

fn result(lines: &[Value]) -> &Value {
    let r = lines.last().expect("no output");
    assert_eq!(r["event"], "result");
    assert_eq!(r["schema"], 1);
    r
}

#[test]
fn flash_over_a_pseudo_terminal() {
    let (_tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let emu = emulate("eg25", &[]);
    let (out, lines, _) = flash_over(&emu.link, &pkg);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = result(&lines);
    assert_eq!(r["ok"], true);
    assert_eq!(r["message"], "verified, not yet confirmed running");
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "phase_finished" && l["phase"] == "reset")
    );
}

fn faulted(fault: &str, kind: &str) -> Value {
    let (_tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let emu = emulate("eg25", &[fault]);
    let (out, lines, _took) = flash_over(&emu.link, &pkg);
    assert_eq!(out.status.code(), Some(1), "{fault}: {}", show(&out));
    let r = result(&lines).clone();
    assert_eq!(r["ok"], false, "{fault}");
    assert_eq!(r["error_kind"], kind, "{fault}: {r}");
    assert!(
        r["hint"].is_string(),
        "{fault}: a failure carries a hint: {r}"
    );
    assert_eq!(lines[lines.len() - 2]["event"], "failed");
    r
}

#[test]
fn a_nak_during_program_carries_the_boards_words() {
    let r = faulted("nak:program#2", "nak");
    let msg = r["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Writing: the board refused <program>"),
        "{msg}"
    );
    assert!(!r["device_log"].as_array().unwrap().is_empty(), "{r}");
}

#[test]
fn a_stalled_board_times_out_naming_the_command() {
    let r = faulted("stall:erase#3", "timeout");
    let msg = r["message"].as_str().unwrap();
    assert!(msg.contains("Erasing") && msg.contains("<erase>"), "{msg}");
}

#[test]
fn a_rejected_programmer_reports_the_boot_roms_status() {
    let r = faulted("sahara-status:0x21", "nak");
    let msg = r["message"].as_str().unwrap();
    assert!(
        msg.contains("0x21") && msg.contains("hash table authentication failed"),
        "{msg}"
    );
}

#[test]
fn a_programmer_that_never_starts_times_out_in_configure() {
    let r = faulted("no-programmer", "timeout");
    assert!(
        r["message"].as_str().unwrap().contains("<configure>"),
        "{r}"
    );
}

#[test]
fn unplugging_mid_write_is_a_disconnect() {
    faulted("unplug:program#2", "disconnected");
}

#[test]
fn ctrl_c_cancels_cleanly_and_leaves_download_mode() {
    use std::io::{BufRead, BufReader};
    let (_tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    // The board stops answering the third program command; Ctrl-C arrives while Oasis waits.
    let emu = emulate("eg25", &["stall:program#3"]);
    let mut child = cli()
        .env("OASIS_TIMEOUT_SCALE", "1")
        .arg("flash")
        .arg(&pkg)
        .arg("--port")
        .arg(&emu.link)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut signalled = false;
    while reader.read_line(&mut line).unwrap() > 0 {
        let v: Value = serde_json::from_str(line.trim()).unwrap();
        if !signalled && v["event"] == "phase_started" && v["phase"] == "program" {
            std::thread::sleep(Duration::from_millis(300));
            let pid = child.id().to_string();
            let status = std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap();
            assert!(status.success());
            signalled = true;
        }
        lines.push(v);
        line.clear();
    }
    let status = child.wait().unwrap();
    assert!(signalled, "the program phase never started: {lines:?}");
    assert_eq!(status.code(), Some(1));
    let r = result(&lines);
    assert_eq!(r["error_kind"], "cancelled", "{r}");
    assert!(r["hint"].as_str().unwrap().contains("download mode"), "{r}");
}

/// A board started in normal mode on a pty answers AT: `diagnose --port` names the state, the
/// revision it reported, and with `--package` gives a compatibility verdict; a board whose AT
/// port stays silent is reported as not answering, within a bounded time. Both exit 0 (the
/// state is output, not an error).
#[test]
fn diagnose_probes_a_module_in_normal_mode_over_its_at_port() {
    let emu = emulate_with("bg95", &[], &["--start", "normal"]);
    let out = cli()
        .arg("diagnose")
        .arg("--port")
        .arg(&emu.link)
        .args([
            "--package",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/demo-package"),
        ])
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["diagnosis"]["state"], "normal_at_ok", "{doc:#}");
    let at = doc["at"].to_string();
    assert!(at.contains("BG95M3LAR02A03"), "{at}");
    assert!(doc["compat"]["overall"].is_string(), "{doc:#}");
    assert!(
        doc["compat"]["answer"]
            .as_str()
            .is_some_and(|a| !a.is_empty())
    );

    let silent = emulate_with("bg95", &[], &["--start", "silent"]);
    let out = cli()
        .arg("diagnose")
        .arg("--port")
        .arg(&silent.link)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // It returned (no hang) with a diagnosis; how fast is a matter for the benches.
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["at"][0]["answered"], false, "{doc:#}");
    assert_ne!(doc["diagnosis"]["state"], "normal_at_ok", "{doc:#}");
    assert!(
        doc["diagnosis"]["next_steps"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{doc:#}"
    );
}
