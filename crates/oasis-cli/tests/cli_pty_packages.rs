//! Every fixture package, flashed by the `oasis-cli` binary over a pseudo-terminal (byte-stream
//! framing, as on a COM port or ttyUSB) onto a virtual board served in this test process, then
//! the board's storage checked byte for byte against the package's images.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// test helpers outside #[test] fns
// Pseudo-terminals (openpty) exist only on Unix, so these tests are not built on Windows.
#![cfg(unix)]

#[path = "../../oasis-engine/tests/common/mod.rs"]
mod engine_common;

use std::path::{Path, PathBuf};
use std::process::Output;

use engine_common::{check_storage, generic_programmer, package_copy};
use oasis_package::OpenOptions;
use oasis_vdev::{BoardOptions, Profile, serve_pty};
use serde_json::Value;

fn cli_flash(pkg: &Path, link: &Path, extra: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_oasis-cli"))
        .env("OASIS_DATA_DIR", pkg.parent().unwrap().join("data"))
        .arg("flash")
        .arg(pkg)
        .arg("--port")
        .arg(link)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap()
}

fn flash_over_pty(fixture: &str, profile: &str, programmer: Option<PathBuf>, extra: &[&str]) {
    let (tmp, root) = package_copy(fixture);
    let link = tmp.path().join("board");
    let service = serve_pty(
        &link,
        Profile::by_name(profile).unwrap(),
        Vec::new(),
        BoardOptions::default(),
    )
    .unwrap();
    let board = service.board();
    let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    if let Some(p) = &programmer {
        args.push("--programmer".into());
        args.push(p.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli_flash(&root, &link, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{fixture} on {profile}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "result");
    assert_eq!(last["ok"], true, "{last}");
    assert!(!last["verified"].as_array().unwrap().is_empty(), "{last}");
    let opts = OpenOptions {
        programmer,
        ..OpenOptions::default()
    };
    let compared = check_storage(board, &root, &opts);
    assert!(compared > 0, "{fixture}: nothing compared");
    drop(service);
}

#[test]
fn quectel_eg25g_nand_package_over_a_pty() {
    flash_over_pty("quectel-eg25g-nand-2022", "eg25", None, &[]);
}

#[test]
fn qdl_ufs_package_over_a_pty_with_a_generic_programmer() {
    flash_over_pty("qdl-tests-ufs", "ufs", Some(generic_programmer()), &[]);
}

#[test]
fn uz801_emmc_package_over_a_pty() {
    // The package rewrites modemst/fsg/persist: the user must allow it explicitly.
    flash_over_pty("uz801-emmc", "emmc", None, &["--allow-full-erase"]);
}
