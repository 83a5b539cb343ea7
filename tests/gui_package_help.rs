//! The package reader's own help reaches the app: a damaged package says "re-download", not a
//! generic line of the app's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{app, run_until, temp_dir};
use egui_kittest::kittest::Queryable;
use oasis::backend::engine::EngineBackend;

#[test]
fn a_damaged_package_shows_the_package_readers_own_help() {
    let dir = temp_dir("package-help");
    let pkg = dir.join("broken-package");
    std::fs::create_dir_all(&pkg).unwrap();
    // A rawprogram file cut off in the middle of a tag: damaged XML.
    std::fs::write(
        pkg.join("rawprogram0.xml"),
        "<?xml version=\"1.0\" ?>\n<data>\n  <program SECTOR_SIZE_IN_BYTES=\"512\" filename=\"a.bin\" ",
    )
    .unwrap();
    let mut h = app(Box::new(EngineBackend::new(false)), &dir, Some(pkg));
    run_until(&mut h, 20, "the package error", |h| {
        h.state().state.package.error.is_some()
    });
    let err = h.state().state.package.error.clone().unwrap();
    assert!(
        !err.help.contains("Pick the package folder"),
        "the app's generic line instead of the package's: {err:?}"
    );
    assert!(
        err.help.contains("re-download") || err.help.contains("re-extract"),
        "{err:?}"
    );
    h.run();
    h.get_by_label_contains(&err.help);
}

/// A copy of the demo package in `to`, with one listed file changed so md5.txt disagrees.
fn damaged_demo_copy(to: &std::path::Path) -> std::path::PathBuf {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dst = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &dst);
            } else {
                std::fs::copy(e.path(), dst).unwrap();
            }
        }
    }
    let src = common::demo_package();
    copy(&src, to);
    let root = std::fs::read_dir(to)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("md5.txt").is_file())
        .expect("the demo package has md5.txt");
    let image = root.join("update").join("sbl1.mbn");
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[0] ^= 0xFF;
    std::fs::write(&image, bytes).unwrap();
    root
}

#[test]
fn a_package_whose_md5_disagrees_shows_the_package_readers_own_help() {
    let dir = temp_dir("package-md5-help");
    let pkg = damaged_demo_copy(&dir.join("pkg"));
    // The package reader's own advice for this very error.
    let opened =
        oasis_package::Package::open(&pkg, &oasis_package::OpenOptions::default()).unwrap();
    let own = oasis_package::Help::help(&opened.md5.check().unwrap_err())
        .unwrap()
        .into_owned();
    assert!(own.contains("re-download"), "{own}");
    let mut h = app(Box::new(EngineBackend::new(false)), &dir, Some(pkg));
    run_until(&mut h, 20, "the package card", |h| {
        h.state().state.package.summary.is_some()
    });
    let summary = h.state().state.package.summary.clone().unwrap();
    match &summary.md5 {
        oasis::backend::Md5Status::Mismatch { files, help } => {
            assert_eq!(files, &["update/sbl1.mbn".to_owned()]);
            assert_eq!(help, &own);
        }
        other => panic!("expected an md5 mismatch, got {other:?}"),
    }
    h.run();
    // On the package card and in the reason the Flash button is off.
    h.get_by_label(&own);
    h.get_by_label_contains(&format!("do not match md5.txt ({own})"));
}
