//! A package the reader refuses: `flash` prints the package reader's own message and advice
//! (not a generic line), with the bad-input contract unchanged (exit 2, `error_kind`
//! `bad_input`, the advice in `hint`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{cli, flashable_package, json_lines, show};
use oasis_engine::Help;
use oasis_package::{OpenOptions, Package, PackageError};

/// The EG25-G package with its rawprogram XML cut off in the middle of a tag.
fn damaged_package() -> (tempfile::TempDir, std::path::PathBuf, PackageError) {
    let (tmp, root) = flashable_package("quectel-eg25g-nand-2022", "eg25g");
    let mut xmls = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_ascii_lowercase();
            if p.is_dir() {
                dirs.push(p);
            } else if name.starts_with("rawprogram") && name.ends_with(".xml") {
                xmls.push(p);
            }
        }
    }
    assert!(!xmls.is_empty());
    for xml in &xmls {
        std::fs::write(
            xml,
            "<?xml version=\"1.0\" ?>\n<data>\n  <program label=\"sbl\" ",
        )
        .unwrap();
    }
    let own = Package::open(&root, &OpenOptions::default()).expect_err("damaged XML is refused");
    (tmp, root, own)
}

#[test]
fn flash_of_a_damaged_package_prints_the_package_readers_own_advice() {
    let (_tmp, root, own) = damaged_package();
    let own_help = own.help().unwrap().into_owned();
    assert!(own_help.contains("re-download"), "{own_help}");

    let out = cli()
        .arg("flash")
        .arg(&root)
        .args(["--port", "virtual:eg25", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let lines = json_lines(&out);
    let r = lines.last().expect("a result line");
    assert_eq!(r["event"], "result");
    assert_eq!(r["ok"], false);
    assert_eq!(r["error_kind"], "bad_input");
    assert_eq!(r["hint"].as_str(), Some(own_help.as_str()), "{r}");
    assert!(
        r["message"].as_str().unwrap().ends_with(&own.to_string()),
        "{r}"
    );

    let out = cli()
        .arg("flash")
        .arg(&root)
        .args(["--port", "virtual:eg25"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("hint: {own_help}")), "{err}");
}
