//! `oasis-cli dump` reads back what `oasis-cli flash` wrote, byte for byte, over a
//! pseudo-terminal (`oasis-cli emulate`), with a manifest and JSON progress lines; an unknown
//! label or a bad range is bad input (exit 2) naming what exists. Support bundles written by
//! `flash` hold no chip serial or IMEI unless `--include-identifiers`; usage errors (no such
//! package, no such port) write no bundle.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use common::{Emulator, emulate_args};
use common::{cli, json_lines, show};
#[cfg(unix)]
use oasis_package::{OpenOptions, Package, StepOp};
use serde_json::Value;

fn demo() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-package/BG95M3LAR02A03_01.300.01.300"
    ))
}

fn result(lines: &[Value]) -> Value {
    lines
        .iter()
        .rev()
        .find(|v| v["event"] == "result")
        .cloned()
        .unwrap_or_else(|| panic!("no result line in {lines:?}"))
}

/// The images of the demo package with the sector they are written to.
#[cfg(unix)] // the read-back tests run over a pty
fn images() -> Vec<(u64, Vec<u8>)> {
    let pkg = Package::open(&demo(), &OpenOptions::default()).unwrap();
    pkg.plan
        .iter()
        .filter(|s| matches!(s.op, StepOp::Program))
        .filter_map(|s| {
            let data = std::fs::read(s.path.as_ref()?).ok()?;
            Some((s.start_sector.parse().ok()?, data))
        })
        .collect()
}

/// Each image found in the dumped partition holding its sector, byte for byte; returns how
/// many were compared.
#[cfg(unix)]
fn check_against_images(out: &Path) -> usize {
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let entries = m["entries"].as_array().unwrap();
    let mut n = 0;
    for (start, image) in images() {
        let e = entries
            .iter()
            .find(|e| {
                let s = e["start_sector"].as_u64().unwrap();
                s <= start && start < s + e["sectors"].as_u64().unwrap()
            })
            .unwrap_or_else(|| panic!("no entry holds sector {start}: {m:#}"));
        let data = std::fs::read(out.join(e["file"].as_str().unwrap())).unwrap();
        assert_eq!(data.len() as u64, e["bytes"].as_u64().unwrap());
        let off = usize::try_from(
            (start - e["start_sector"].as_u64().unwrap()) * e["sector_size"].as_u64().unwrap(),
        )
        .unwrap();
        assert!(
            data[off..off + image.len()] == image[..],
            "the image at sector {start} differs in {}",
            e["label"]
        );
        n += 1;
    }
    n
}

#[cfg(unix)]
fn emulate(profile: &str, extra: &[&str]) -> Emulator {
    let mut args = vec!["--profile", profile];
    args.extend_from_slice(extra);
    emulate_args(&args)
}

#[cfg(unix)]
#[test]
fn dump_over_a_pty_reads_back_what_flash_wrote() {
    // After the flash's reset the board comes back in download mode (its storage kept), where
    // the dump finds it: Sahara, upload, then reads.
    let emu = emulate("bg95", &["--after-reset", "edl"]);
    let out = cli()
        // Full budgets over the pty: a loaded CI machine must not turn a slow read into a failure.
        .env("OASIS_TIMEOUT_SCALE", "1")
        .arg("flash")
        .arg(demo())
        .arg("--port")
        .arg(&emu.link)
        .args(["--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let out = cli()
        .env("OASIS_TIMEOUT_SCALE", "1")
        .arg("dump")
        .arg("--port")
        .arg(&emu.link)
        .arg("--package")
        .arg(demo())
        .arg("--out")
        .arg(&dir)
        .args(["--all", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let lines = json_lines(&out);
    assert!(
        lines
            .iter()
            .any(|v| v["event"] == "phase_started" && v["phase"] == "read"),
        "{lines:?}"
    );
    assert!(lines.iter().any(|v| v["event"] == "progress"), "{lines:?}");
    let r = result(&lines);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        r["manifest"].as_str().map(PathBuf::from),
        Some(dir.join("manifest.json"))
    );
    assert!(check_against_images(&dir) >= 5);
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["table_source"], "the board's MIBIB", "{m:#}");
    assert!(m["created"].as_str().unwrap().ends_with('Z'));
    for e in m["entries"].as_array().unwrap() {
        assert_eq!(e["sha256"].as_str().unwrap().len(), 64, "{e}");
    }
}

#[test]
fn unknown_labels_and_bad_ranges_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cli()
        .arg("dump")
        .args(["--port", "virtual:bg95", "--package"])
        .arg(demo())
        .arg("--out")
        .arg(tmp.path().join("a"))
        .args(["--partition", "modme", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let r = result(&json_lines(&out));
    assert_eq!(r["error_kind"], "bad_input");
    let msg = r["message"].as_str().unwrap();
    assert!(
        msg.contains("'modme'") && msg.contains("MODEM") && msg.contains("EFS2"),
        "{msg}"
    );

    let out = cli()
        .arg("dump")
        .args(["--port", "virtual:bg95", "--package"])
        .arg(demo())
        .arg("--out")
        .arg(tmp.path().join("b"))
        .args(["--raw", "12"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("START:SECTORS"),
        "{}",
        show(&out)
    );

    // A fresh virtual board: the partition reads back erased, and its manifest says so.
    let dir = tmp.path().join("c");
    let out = cli()
        .arg("dump")
        .args(["--port", "virtual:bg95", "--package"])
        .arg(demo())
        .arg("--out")
        .arg(&dir)
        .args(["--partition", "EFS2", "--raw", "0:0:4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let efs = std::fs::read(dir.join("EFS2.bin")).unwrap();
    assert!(!efs.is_empty() && efs.iter().all(|b| *b == 0xFF));
    assert_eq!(
        std::fs::read(dir.join("raw-lun0-0-4.bin")).unwrap().len(),
        4 * 2048
    );
}

/// The members of a zip, by name.
fn members(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().to_owned(), b)
        })
        .collect()
}

/// Every file of the bundle, and the board's bytes of its transcript, searched for `needle`.
fn bundle_holds(zip: &Path, needle: &str) -> bool {
    members(zip).into_iter().any(|(name, b)| {
        let mut hay = String::from_utf8_lossy(&b).to_ascii_lowercase();
        if name == "transcript.jsonl" {
            for l in String::from_utf8_lossy(&b).lines() {
                let v: Value = serde_json::from_str(l).unwrap();
                if v["dir"] == "rx" {
                    let raw = hex::decode(v["hex"].as_str().unwrap()).unwrap();
                    hay.push_str(&String::from_utf8_lossy(&raw).to_ascii_lowercase());
                }
            }
        }
        hay.contains(&needle.to_ascii_lowercase())
    })
}

#[test]
fn bundles_mask_identifiers_unless_asked_and_usage_errors_write_none() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let p = oasis_vdev::Profile::bg95();
    let serial = format!("{:08x}", p.serial);
    for (keep, name) in [(false, "masked.zip"), (true, "kept.zip")] {
        let zip = tmp.path().join(name);
        let mut c = cli();
        c.env("OASIS_DATA_DIR", &data)
            .arg("flash")
            .arg(demo())
            .args(["--port", "virtual:bg95@normal", "--bundle"])
            .arg(&zip);
        if keep {
            c.arg("--include-identifiers");
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        for secret in [
            p.imei.as_str(),
            p.iccid.as_deref().unwrap(),
            serial.as_str(),
        ] {
            assert_eq!(bundle_holds(&zip, secret), keep, "{secret} in {name}");
        }
    }
    // No such package; no such port: exit 2 / 1, and no bundle in the data dir.
    let bundles = data.join("bundles");
    let out = cli()
        .env("OASIS_DATA_DIR", &data)
        .arg("flash")
        .arg(tmp.path().join("no-such-package"))
        .args(["--port", "virtual:bg95"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = cli()
        .env("OASIS_DATA_DIR", &data)
        .arg("flash")
        .arg(demo())
        .args(["--port", "/dev/ttyOASIS-no-such-port"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("support bundle:"),
        "{}",
        show(&out)
    );
    let left: Vec<_> = std::fs::read_dir(&bundles)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
