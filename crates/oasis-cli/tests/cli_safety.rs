//! The safety net from the command line: `backup` and `restore` over `virtual:` ports, a
//! destructive flash with `--backup`, confirmation after the reset on an emulated board's pty
//! (confirmed, never came back, back in 9008, AT silent, wrong revision), and support bundles
//! that `replay` reproduces.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// test helpers outside #[test] fns
// Pseudo-terminals (openpty) exist only on Unix, so these tests are not built on Windows.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Emulator, REVISION, cli, emulate_args, flashable_package, json_lines, show};
use serde_json::Value;

fn result(out: &Output) -> Value {
    let lines = json_lines(out);
    let r = lines.last().cloned().expect("no JSON output");
    assert_eq!(r["event"], "result", "{r}");
    r
}

#[test]
fn backup_then_restore_on_a_virtual_board_and_refusal_on_another() {
    let (tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let dir = tmp.path().join("eg25-backup");
    let out = cli()
        .args(["backup", "--port", "virtual:eg25", "--json", "--package"])
        .arg(&pkg)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = result(&out);
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .starts_with("backed up EFS2 ("),
        "{r}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["board"]["serial"], "0cf94c64");
    let efs = &manifest["regions"][0];
    let file = std::fs::read(dir.join(efs["file"].as_str().unwrap())).unwrap();
    assert_eq!(file.len() as u64, efs["bytes"].as_u64().unwrap());
    // The same (virtual) board takes it back; another board is refused with exit 3.
    let out = cli()
        .args(["restore", "--port", "virtual:eg25"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("restored and verified EFS2"),
        "{}",
        show(&out)
    );
    let out = cli()
        .args(["restore", "--port", "virtual:bg95", "--json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let r = result(&out);
    assert_eq!(r["error_kind"], "refused");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("chip serial 0cf94c64"),
        "{r}"
    );
}

#[test]
fn backup_needs_a_package_and_a_new_folder() {
    let out = cli()
        .args([
            "backup",
            "--port",
            "virtual:eg25",
            "--out",
            "/nonexistent/x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--package"),
        "{}",
        show(&out)
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("other"), b"x").unwrap();
    let (_t, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let out = cli()
        .args(["backup", "--port", "virtual:eg25", "--json", "--package"])
        .arg(&pkg)
        .arg("--out")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        result(&out)["message"]
            .as_str()
            .unwrap()
            .contains("is not empty")
    );
}

#[test]
fn a_destructive_flash_runs_with_a_fresh_backup() {
    let (tmp, pkg) = flashable_package("uz801-emmc", "uz801");
    let dir = tmp.path().join("bk");
    let out = cli()
        .arg("flash")
        .arg(&pkg)
        .args(["--port", "virtual:emmc", "--no-reset", "--json", "--backup"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let lines = json_lines(&out);
    let backup_done = lines
        .iter()
        .position(|l| l["event"] == "phase_finished" && l["phase"] == "backup")
        .expect("a backup phase");
    let first_write = lines
        .iter()
        .position(|l| l["event"] == "phase_started" && l["phase"] == "program")
        .unwrap();
    assert!(backup_done < first_write);
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    for name in ["modemst1", "modemst2", "fsg", "persist"] {
        assert!(
            text.contains(&format!("\"name\": \"{name}\"")),
            "{name}: {text}"
        );
    }
}

fn emulate(args: &[&str]) -> Emulator {
    let mut all = vec!["--profile", "eg25"];
    all.extend_from_slice(args);
    emulate_args(&all)
}

/// The EG25-G package in a folder named like its release (so it states its revision).
fn named_package() -> (tempfile::TempDir, PathBuf) {
    flashable_package("quectel-eg25g-nand-2022", REVISION)
}

fn flash_confirm(link: &Path, pkg: &Path) -> (Output, Value) {
    let out = cli()
        .arg("flash")
        .arg(pkg)
        .arg("--port")
        .arg(link)
        .arg("--at-port")
        .arg(link)
        .args(["--boot-wait", "3", "--json", "--no-bundle"])
        .output()
        .unwrap();
    let r = result(&out);
    (out, r)
}

#[test]
fn the_emulated_board_is_followed_to_its_at_port_after_the_reset() {
    let (_tmp, pkg) = named_package();
    let emu = emulate(&[]);
    let (out, r) = flash_confirm(&emu.link, &pkg);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        r["message"],
        format!("verified; running {REVISION}, confirmed")
    );
    let lines = json_lines(&out);
    assert!(lines.iter().any(|l| {
        l["event"] == "info"
            && l["message"]
                .as_str()
                .unwrap()
                .starts_with("waiting up to 3 s")
    }));
}

#[test]
fn confirmation_failures_name_what_did_not_happen() {
    let (_tmp, pkg) = named_package();
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &["--after-reset", "never"],
            "disconnected",
            "never came back on USB",
        ),
        (
            &["--after-reset", "edl"],
            "protocol",
            "came back in download mode",
        ),
        (
            &["--after-reset", "silent"],
            "timeout",
            "stayed silent to AT",
        ),
        (
            &["--revision-after-reset", "EG25GGBR07A07M2G_01.002.01.002"],
            "verify_mismatch",
            "runs EG25GGBR07A07M2G_01.002.01.002, not the package's EG25GGBR07A08M2G",
        ),
    ];
    for (args, kind, words) in cases {
        let emu = emulate(args);
        let (out, r) = flash_confirm(&emu.link, &pkg);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", show(&out));
        assert_eq!(r["error_kind"], kind, "{args:?}: {r}");
        assert_eq!(r["phase"], "confirm", "{r}");
        assert!(
            r["message"].as_str().unwrap().contains(words),
            "{args:?}: {r}"
        );
        // The CLI switches to the diagnosis of the board it could not confirm.
        assert!(
            r["diagnosis"]["title"].is_string(),
            "{args:?}: no diagnosis in {r}"
        );
    }
}

#[test]
fn a_failure_writes_a_bundle_into_the_data_dir_and_replay_reproduces_it() {
    let (tmp, pkg) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let data = tmp.path().join("data");
    let emu = emulate(&["--fault", "nak:program#2"]);
    let out = cli()
        .env("OASIS_DATA_DIR", &data)
        .arg("flash")
        .arg(&pkg)
        .arg("--port")
        .arg(&emu.link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let bundles: Vec<PathBuf> = std::fs::read_dir(data.join("bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("support bundle: {}", bundles[0].display())),
        "{stderr}"
    );
    let failed = stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap()
        .to_owned();
    let out = cli()
        .arg("replay")
        .arg(&bundles[0])
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = result(&out);
    assert_eq!(r["reproduced"], true, "{r}");
    assert_eq!(r["error_kind"], "nak");
    assert_eq!(r["message"], failed.as_str());
    // A file that is not a bundle is bad input.
    let out = cli()
        .arg("replay")
        .arg(pkg.join("md5.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}
