//! "Collect crash dump" in the whole app over the real backend: a virtual BG95 that crashed
//! into memory-dump mode (05C6:900E) gets the button on its board row; the dump lands in the
//! data folder byte-exact, the Diagnostics pane shows the folder, and the support bundle
//! written for it references the folder.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{app, run_until, temp_dir};
use egui_kittest::kittest::Queryable;
use oasis::backend::BoardMode;
use oasis::backend::engine::EngineBackend;
use oasis::backend::engine_boards::Virtual;
use oasis::state::Tab;
use oasis_engine::ramdump::{DumpManifest, DumpStatus};
use oasis_vdev::dump::{region_bytes, regions};
use oasis_vdev::{BoardOptions, Profile, StartIn, VirtualBoard};

#[test]
fn a_crashed_board_gets_its_dump_collected_from_the_board_row() {
    let dir = temp_dir("crash-dump");
    let board = VirtualBoard::new(
        Profile::bg95(),
        BoardOptions {
            start_in: StartIn::MemoryDump,
            ..BoardOptions::default()
        },
    );
    let v = Virtual::new("virtual:crashed", "Virtual BG95 (crashed)", board);
    let backend = EngineBackend::with_virtuals(vec![v], false);
    let mut h = app(Box::new(backend), &dir, None);
    run_until(&mut h, 30, "the crashed board in the list", |h| {
        h.state()
            .state
            .boards
            .iter()
            .any(|b| b.mode == BoardMode::MemoryDump)
    });
    h.get_by_label("Collect crash dump").click();
    h.run_steps(3);
    assert_eq!(h.state().state.tab, Tab::Diagnostics);
    run_until(&mut h, 60, "the dump to finish", |h| {
        h.state().state.dump.result.is_some()
    });
    let d = h.state().state.dump.clone();
    assert_eq!(
        d.result
            .as_ref()
            .map(|r| r.as_ref().map(|s| s.contains("6 of 6 regions"))),
        Some(Ok(true)),
        "{d:?}"
    );
    let out = d.out.clone().unwrap();
    assert!(out.starts_with(dir.join("crashdumps")), "{}", out.display());
    let m = DumpManifest::load(&out).unwrap();
    assert_eq!(m.status, DumpStatus::Complete);
    let p = Profile::bg95();
    for r in regions(&p) {
        assert!(
            std::fs::read(out.join(r.file_name)).unwrap() == region_bytes(&p, &r),
            "{}",
            r.file_name
        );
    }
    let bundle = d.bundle_written.clone().unwrap();
    assert!(
        bundle.starts_with(dir.join("bundles")),
        "{}",
        bundle.display()
    );
    let reference = oasis_engine::ramdump::bundle_reference(&bundle).unwrap();
    let folder = std::fs::canonicalize(&out).unwrap();
    assert_eq!(reference["dump_folder"], folder.display().to_string());
    assert_eq!(reference["manifest"]["status"], "complete");
    h.run_steps(2);
    assert!(
        h.query_by_label(&format!("Folder: {}", out.display()))
            .is_some(),
        "the pane names the folder"
    );
    assert!(
        h.query_by_label(&format!("Support bundle: {}", bundle.display()))
            .is_some()
    );
}
