//! Real boards' boot ROMs and links over a pseudo-terminal (issue 13, points 1, 2 and 9):
//! `oasis-cli flash` of the repository's demo package succeeds, verified, onto each quirky
//! board served by `oasis-cli emulate --quirk` and in-process (`--port virtual:bg95+QUIRK`);
//! and a host that takes one packet per read (as qualcomm/qdlrs does on a serial port) sees
//! every packet boundary a real board has.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Emulator, cli, emulate_args, json_lines, repeated, show};
use oasis_transport::{PortSpec, Transport};
use serde_json::Value;

/// The demo package that lives in the repository.
fn demo_package() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-package"
    ))
}

fn emulate(quirks: &[&str]) -> Emulator {
    let mut args = vec!["--profile", "bg95"];
    args.extend(repeated("--quirk", quirks));
    emulate_args(&args)
}

fn flash(port: &Path, extra: &[&str]) -> (std::process::Output, Vec<Value>) {
    let mut all = vec!["--no-reset"];
    all.extend_from_slice(extra);
    flash_confirming(port, &all)
}

fn flash_confirming(port: &Path, extra: &[&str]) -> (std::process::Output, Vec<Value>) {
    let out = cli()
        .arg("flash")
        .arg(demo_package())
        .arg("--port")
        .arg(port)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let lines = json_lines(&out);
    (out, lines)
}

fn infos(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l["message"].as_str().map(str::to_owned))
        .collect()
}

fn verified(what: &str, out: &std::process::Output, lines: &[Value]) {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", show(out));
    let r = lines.last().expect("no output");
    assert_eq!(r["event"], "result", "{what}: {r}");
    assert!(
        r["verified"].as_array().is_some_and(|v| !v.is_empty()),
        "{what}: nothing verified: {r}"
    );
}

const QUIRKY: [&[&str]; 3] = [
    &["no-command-mode"],
    &["no-command-mode", "hello-again", "reset-silent"],
    &["sbl-version-breaks-upload"],
];

#[test]
fn flash_succeeds_on_each_quirky_board_over_a_pty() {
    for quirks in QUIRKY {
        let emu = emulate(quirks);
        let (out, lines) = flash(&emu.link, &[]);
        verified(&format!("{quirks:?}"), &out, &lines);
        let i = infos(&lines);
        // A serial link carries no ZLPs: the programmer is told so.
        assert!(
            i.iter().any(|m| m.contains("ZlpAwareHost=0")),
            "{quirks:?}: {i:#?}"
        );
        if quirks.contains(&"no-command-mode") {
            assert!(
                i.iter().any(|m| m.contains("identity not available")),
                "{quirks:?}: {i:#?}"
            );
        }
    }
}

#[test]
fn flash_succeeds_on_each_quirky_board_in_process() {
    for quirks in QUIRKY {
        let port = format!("virtual:bg95+{}", quirks.join("+"));
        let (out, lines) = flash(Path::new(&port), &[]);
        verified(&port, &out, &lines);
    }
    // --no-identity skips command mode altogether.
    let (out, lines) = flash(
        Path::new("virtual:bg95+no-command-mode+reset-silent"),
        &["--no-identity"],
    );
    verified("--no-identity", &out, &lines);
    assert!(
        !lines
            .iter()
            .any(|l| l["event"] == "phase_started" && l["phase"] == "identify"),
        "Identify ran with --no-identity"
    );
}

/// Points 7 and 8 in-process: a module that does not echo the switch, a 9008 that refuses
/// the first opens, and a module slow to answer AT after the reset.
#[test]
fn switch_and_confirm_quirks_in_process() {
    for port in [
        "virtual:bg95@normal+dm-no-echo",
        "virtual:bg95@normal+edl-busy-at-first",
    ] {
        let (out, lines) = flash(Path::new(port), &[]);
        verified(port, &out, &lines);
    }
    let (out, lines) = flash_confirming(
        Path::new("virtual:bg95+slow-at-boot"),
        &["--at-port", "virtual"],
    );
    verified("slow-at-boot", &out, &lines);
    let r = lines.last().unwrap();
    assert_eq!(r["confirmed"], true, "{r}");
}

/// Point 8 over a pty: after the reset the same pty carries the AT port of a module that
/// loses input while it boots and answers late; the confirm still reads its revision.
#[test]
fn a_slow_booting_module_is_confirmed_over_a_pty() {
    let emu = emulate(&["slow-at-boot"]);
    let link = emu.link.display().to_string();
    let (out, lines) = flash_confirming(&emu.link, &["--at-port", &link]);
    verified("slow-at-boot", &out, &lines);
    let r = lines.last().unwrap();
    assert_eq!(r["confirmed"], true, "{r}");
    assert!(
        r["running_revision"]
            .as_str()
            .is_some_and(|v| v.starts_with("BG95M3LAR02A03")),
        "{r}"
    );
}

#[test]
fn zlp_override_is_honoured_over_a_pty() {
    // `--zlp on` on a tty: the programmer waits for a ZLP that never comes.
    let emu = emulate(&[]);
    let (out, lines) = flash(&emu.link, &["--zlp", "on"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = lines.last().unwrap();
    assert_eq!(r["phase"], "program", "{r}");
    let bad = cli()
        .arg("flash")
        .arg(demo_package())
        .args(["--port", "virtual", "--zlp", "maybe"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", show(&bad));
}

fn packet(cmd: u32, body: &[u32]) -> Vec<u8> {
    let mut v = cmd.to_le_bytes().to_vec();
    v.extend(((8 + 4 * body.len()) as u32).to_le_bytes());
    for w in body {
        v.extend(w.to_le_bytes());
    }
    v
}

fn le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// A host that takes one read per packet and never splits a read: every read the pty gives
/// must hold exactly one Sahara packet, DONE_RESP alone, then one Firehose document per read.
#[test]
fn a_packet_per_read_host_sees_every_boundary() {
    let emu = emulate(&[]);
    let mut port =
        oasis_transport::open(&PortSpec::parse(&emu.link.display().to_string())).unwrap();
    let programmer = std::fs::read(
        demo_package()
            .join("BG95M3LAR02A03_01.300.01.300/update/firehose/prog_firehose_nand_mdm9x05.elf"),
    )
    .unwrap();
    let t = Duration::from_secs(5);
    let mut buf = vec![0u8; 1 << 16];
    let mut read_one = |port: &mut Box<dyn Transport>| -> Vec<u8> {
        let n = port.read(&mut buf, t).unwrap();
        let got = buf[..n].to_vec();
        if got.len() >= 8 && !got.starts_with(b"<") {
            assert_eq!(
                le(&got, 4) as usize,
                got.len(),
                "not one packet: {got:02x?}"
            );
        }
        got
    };
    let hello = read_one(&mut port);
    assert_eq!(le(&hello, 0), 1, "HELLO first");
    let mut resp = vec![2u32, 2, 1, 0, 0];
    resp.extend([0u32; 6]);
    let mut hr = packet(2, &resp[1..]);
    hr.truncate(0x30);
    port.write_all(&hr, t).unwrap();
    loop {
        let p = read_one(&mut port);
        match le(&p, 0) {
            3 => {
                let (off, len) = (le(&p, 12) as usize, le(&p, 16) as usize);
                port.write_all(&programmer[off..off + len], t).unwrap();
            }
            4 => {
                assert_eq!(le(&p, 12), 0, "END_IMAGE_TX status");
                port.write_all(&packet(5, &[]), t).unwrap();
            }
            6 => break,
            other => panic!("unexpected Sahara command {other}: {p:02x?}"),
        }
    }
    // The programmer's start-up logs: one whole document per read.
    for _ in 0..3 {
        let d = read_one(&mut port);
        let text = String::from_utf8_lossy(&d);
        assert!(
            text.starts_with("<?xml") && text.trim_end().ends_with("</data>"),
            "{text:?}"
        );
        assert_eq!(text.matches("<?xml").count(), 1, "{text:?}");
    }
}
