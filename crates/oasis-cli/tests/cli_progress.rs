//! Progress for people when stderr is not a terminal (a pipe, a log file, CI): plain lines a log
//! can keep, with the phase, partition and percentage, and no terminal escape codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{cli, flashable_package, show};

#[test]
fn piped_progress_is_plain_log_lines() {
    let (_tmp, pkg) = flashable_package("uz801-emmc", "uz801");
    let out = cli()
        .arg("flash")
        .arg(&pkg)
        .args(["--port", "virtual:emmc", "--allow-full-erase", "--no-reset"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    for (name, bytes) in [("stderr", &out.stderr), ("stdout", &out.stdout)] {
        assert!(
            !bytes.iter().any(|&b| b == 0x1b || b == b'\r'),
            "{name} carries an escape code or a carriage return: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let progress: Vec<&str> = err
        .lines()
        .filter(|l| {
            l.get(..3).is_some_and(|p| p.trim().parse::<u32>().is_ok()) && l.get(3..5) == Some("% ")
        })
        .collect();
    assert!(
        progress.iter().any(|l| l.contains("% Writing ")),
        "no progress line for the writing phase:\n{err}"
    );
    let percents: Vec<u32> = progress
        .iter()
        .filter_map(|l| l.get(..3)?.trim().parse().ok())
        .collect();
    assert!(
        percents.len() >= 3 && percents.windows(2).all(|w| w[0] <= w[1]),
        "the log should show the job advancing: {percents:?}\n{err}"
    );
    // A log, not a redraw per chunk.
    assert!(
        progress.len() < 200,
        "{} progress lines:\n{err}",
        progress.len()
    );
}

#[test]
fn json_output_has_no_human_progress() {
    let (_tmp, pkg) = flashable_package("uz801-emmc", "uz801");
    let out = cli()
        .arg("flash")
        .arg(&pkg)
        .args([
            "--port",
            "virtual:emmc",
            "--allow-full-erase",
            "--no-reset",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("% Writing"), "{err}");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v.get("event").is_some(), "{line}");
    }
}
