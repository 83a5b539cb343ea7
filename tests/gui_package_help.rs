//! The package reader's own help reaches the app: a damaged package says "re-download", not a
//! generic line of the app's.
#![allow(clippy::unwrap_used)]

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
