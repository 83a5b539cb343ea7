//! A package the front-end opened already (the app opens it once, when the user picks it) goes
//! into the job as it is: the job does not open it a second time, unless the options change
//! what is opened (another programmer or rawprogram).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::path::PathBuf;
use std::sync::Arc;

use oasis_engine::{ErrorKind, ErrorReport, FlashOptions, FlashRequest, Verdict, spawn_flash};
use oasis_package::{OpenOptions, Package};

fn demo_package() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-package/BG95M3LAR02A03_01.300.01.300"
    ))
}

fn flash(req: FlashRequest) -> Result<Verdict, ErrorReport> {
    spawn_flash(req.on_bus(oasis_vdev::bus::demand()), Box::new(|_| {})).join()
}

#[test]
fn a_package_opened_by_the_caller_is_flashed_without_being_opened_again() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("BG95M3LAR02A03_01.300.01.300.zip");
    oasis_testkit::zip_tree(&demo_package(), &zip, "BG95M3LAR02A03_01.300.01.300");
    let opened = Arc::new(Package::open(&zip, &OpenOptions::default()).unwrap());
    assert!(opened.from_zip);
    // The download is gone; what was unpacked when it was opened is still there.
    std::fs::remove_file(&zip).unwrap();

    let v = flash(FlashRequest::new(&zip, "virtual:bg95").with_package(Arc::clone(&opened)))
        .unwrap_or_else(|r| panic!("{r:?}"));
    assert!(!v.verified.is_empty(), "{v:?}");

    // Without it, the job opens the path, which is gone.
    let r = flash(FlashRequest::new(&zip, "virtual:bg95")).unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput, "{r:?}");

    // Options that change what is opened open the package again.
    let mut o = FlashOptions::default();
    o.programmer = opened.programmer.as_ref().map(|p| p.path.clone());
    assert!(o.programmer.is_some());
    let r = flash(
        FlashRequest::new(&zip, "virtual:bg95")
            .with_package(opened)
            .with_options(o),
    )
    .unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput, "{r:?}");
}

#[test]
fn a_package_changed_on_disk_since_it_was_opened_is_opened_and_checked_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("BG95M3LAR02A03_01.300.01.300");
    oasis_testkit::copy_tree(&demo_package(), &root);
    let opened = Arc::new(Package::open(&root, &OpenOptions::default()).unwrap());
    assert_eq!(opened.changed_on_disk(), None);
    // Somebody replaces an image after the package was checked: md5.txt no longer agrees.
    let image = opened
        .plan
        .iter()
        .find_map(|s| s.path.clone())
        .expect("an image in the plan");
    let mut bytes = std::fs::read(&image).unwrap();
    bytes.push(0);
    std::fs::write(&image, bytes).unwrap();
    assert_eq!(opened.changed_on_disk().as_deref(), Some(image.as_path()));
    let r = flash(FlashRequest::new(&root, "virtual:bg95").with_package(opened)).unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused, "{r:?}");
    assert!(r.message.contains("md5"), "{}", r.message);
}
