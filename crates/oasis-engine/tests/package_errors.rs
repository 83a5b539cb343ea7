//! A package the reader refuses fails the job with the package reader's own error: its message
//! and its advice ("re-download", "pass --rawprogram") reach the front-end unchanged, as a
//! "bad input" (exit code 2), and nothing is written to the board.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::path::Path;

use common::{flash_board, package_copy};
use oasis_engine::{ErrorKind, FlashRequest, Help};
use oasis_package::{OpenOptions, Package, PackageError};
use oasis_vdev::{BoardOptions, Profile, VirtualBoard};

/// The package reader's own error for `root`.
fn reader_error(root: &Path) -> PackageError {
    Package::open(root, &OpenOptions::default()).expect_err("the package must be refused")
}

fn eg25() -> VirtualBoard {
    VirtualBoard::new(Profile::by_name("eg25").unwrap(), BoardOptions::default())
}

/// Cut every rawprogram XML of the package off in the middle of its first tag.
fn truncate_rawprograms(root: &Path) {
    let mut stack = vec![root.to_path_buf()];
    let mut cut = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_ascii_lowercase();
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with("rawprogram") && name.ends_with(".xml") {
                std::fs::write(
                    &p,
                    "<?xml version=\"1.0\" ?>\n<data>\n  <program label=\"sbl\" ",
                )
                .unwrap();
                cut += 1;
            }
        }
    }
    assert!(cut > 0, "the package has no rawprogram XML");
}

#[test]
fn a_damaged_package_fails_with_the_package_readers_own_message_and_help() {
    let (_tmp, root) = package_copy("quectel-eg25g-nand-2022");
    truncate_rawprograms(&root);
    let own = reader_error(&root);
    assert!(
        matches!(own, PackageError::XmlTruncated { .. }),
        "the package reader sees damaged XML: {own:?}"
    );
    let board = eg25();
    let (out, _) = flash_board(FlashRequest::new(&root, "virtual:eg25"), &board);
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput);
    assert_eq!(r.kind.exit_code(), 2);
    assert!(r.message.ends_with(&own.to_string()), "{}", r.message);
    assert_eq!(r.hint.as_deref(), own.help().as_deref());
    assert!(r.hint.as_deref().unwrap().contains("re-download"), "{r:?}");
    assert!(board.written_ranges().is_empty());
}

#[test]
fn a_missing_package_says_where_to_point_not_a_generic_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-package");
    let own = reader_error(&missing);
    let board = eg25();
    let (out, _) = flash_board(FlashRequest::new(&missing, "virtual:eg25"), &board);
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput);
    assert_eq!(r.hint.as_deref(), own.help().as_deref());
    assert!(r.message.contains("does not exist"), "{}", r.message);
}
