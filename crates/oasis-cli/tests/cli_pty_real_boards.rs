//! Real programmers over a pseudo-terminal (issue 13, points 3–6): `oasis-cli emulate --quirk`
//! serves a board whose programmer behaves like a real one (logs after its ACKs, a first
//! configure that takes seconds, single-threaded: it reads nothing while the host has not read
//! what it sent); `oasis-cli flash` must succeed, verified, over the pty and in-process
//! (`--port virtual:eg25+QUIRK`). An image larger than its partition exits 2 with nothing sent:
//! the pty sees no byte. Packages: the repo's demo package, copied.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Emulator, cli, emulate_args, json_lines, repeated, show};
use serde_json::Value;

const DEMO: &str = "BG95M3LAR02A03_01.300.01.300";
const QUIRKS: [&str; 3] = ["logs-after-ack", "slow-configure", "single-threaded"];

fn demo_copy() -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/demo-package")
        .join(DEMO);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(DEMO);
    copy_dir(&src, &root);
    (tmp, root)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

fn emulate(profile: &str, quirks: &[&str]) -> Emulator {
    let mut args = vec!["--profile", profile];
    args.extend(repeated("--quirk", quirks));
    emulate_args(&args)
}

fn flash(port: &str, pkg: &Path) -> (std::process::Output, Vec<Value>) {
    let out = cli()
        // Default timeouts: storage initialisation (slow-configure) takes longer than a
        // shortened configure budget.
        .env("OASIS_TIMEOUT_SCALE", "1")
        .arg("flash")
        .arg(pkg)
        .arg("--port")
        .arg(port)
        .arg("--json")
        .arg("--no-bundle")
        .output()
        .unwrap();
    let lines = json_lines(&out);
    (out, lines)
}

fn verified(out: &std::process::Output, lines: &[Value], what: &str) {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", show(out));
    let r = lines.last().expect("no output");
    assert_eq!(r["event"], "result", "{what}");
    assert_eq!(r["ok"], true, "{what}: {r}");
    assert_eq!(
        r["message"], "verified, not yet confirmed running",
        "{what}: {r}"
    );
}

#[test]
fn each_quirky_programmer_is_flashed_and_verified_over_a_pty() {
    let (_tmp, pkg) = demo_copy();
    for q in QUIRKS {
        let emu = emulate("eg25", &[q]);
        let (out, lines) = flash(emu.link.to_str().unwrap(), &pkg);
        verified(&out, &lines, q);
    }
    let emu = emulate("eg25", &QUIRKS);
    let (out, lines) = flash(emu.link.to_str().unwrap(), &pkg);
    verified(&out, &lines, "all quirks");
    assert!(
        lines.iter().any(|l| l["event"] == "device_log"
            && l["line"]
                .as_str()
                .is_some_and(|s| s.contains("Finished handling"))),
        "the logs after the ACKs reached the user"
    );
}

#[test]
fn each_quirky_programmer_is_flashed_and_verified_in_process() {
    let (_tmp, pkg) = demo_copy();
    for q in QUIRKS {
        let (out, lines) = flash(&format!("virtual:eg25+{q}"), &pkg);
        verified(&out, &lines, q);
    }
    let all = format!("virtual:eg25+{}", QUIRKS.join("+"));
    let (out, lines) = flash(&all, &pkg);
    verified(&out, &lines, &all);
}

#[test]
fn an_image_larger_than_its_partition_exits_2_and_the_pty_sees_nothing() {
    let (_tmp, pkg) = demo_copy();
    std::fs::remove_file(pkg.join("md5.txt")).unwrap();
    let xml = pkg.join("update/firehose/rawprogram_nand_p2K_b128K.xml");
    let text = std::fs::read_to_string(&xml).unwrap().replace(
        "filename=\"..\\rpm.mbn\" num_partition_sectors=\"256\"",
        "filename=\"..\\rpm.mbn\" num_partition_sectors=\"2\"",
    );
    assert!(text.contains("num_partition_sectors=\"2\""));
    std::fs::write(&xml, text).unwrap();
    // A plain pty stands for the board: whatever reaches it stays readable on the master side.
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    let slave_path = slave.name().unwrap();
    let (out, lines) = flash(&slave_path, &pkg);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let r = lines.last().expect("no output");
    assert_eq!(r["error_kind"], "bad_input", "{r}");
    let msg = r["message"].as_str().unwrap_or_default();
    for part in ["rpm.mbn", "8192 bytes", "4096 bytes"] {
        assert!(msg.contains(part), "{part} in {msg}");
    }
    use serialport::SerialPort;
    use std::io::Read;
    master.set_timeout(Duration::from_millis(200)).unwrap();
    let mut buf = [0u8; 64];
    let got = master.read(&mut buf).unwrap_or(0);
    assert_eq!(got, 0, "bytes reached the board: {:?}", &buf[..got]);
    drop(slave);
}
