//! Every class of bad input gets its exact error: truncated XML, unknown root, missing attribute,
//! numbers out of range, overlapping ranges, path escapes, entity tricks, corrupt zips, md5 mismatch.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::path::{Path, PathBuf};

use oasis_package::Help;
use oasis_package::{EscapeKind, NumberProblem, OpenOptions, Package, PackageError};

const PROG: &str = r#"<program SECTOR_SIZE_IN_BYTES="512" physical_partition_number="0" start_sector="0" num_partition_sectors="8" filename="a.bin" label="a"/>"#;

/// A flat package in a temp dir: rawprogram0.xml with `body` inside `<data>`, a.bin and a programmer.
fn flat(body: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("pkg");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("a.bin"), vec![1u8; 1000]).unwrap();
    std::fs::write(root.join("prog_firehose_test.mbn"), b"not really").unwrap();
    std::fs::write(
        root.join("rawprogram0.xml"),
        format!("<?xml version=\"1.0\" ?>\n<data>\n{body}\n</data>\n"),
    )
    .unwrap();
    (d, root)
}

fn open(root: &Path) -> Result<Package, PackageError> {
    Package::open(root, &OpenOptions::default())
}

fn xml_of(root: &Path) -> PathBuf {
    root.join("rawprogram0.xml").canonicalize().unwrap()
}

#[test]
fn truncated_xml() {
    let (_d, root) = flat(PROG);
    let full = std::fs::read_to_string(root.join("rawprogram0.xml")).unwrap();
    let cut = &full[..full.find("label").unwrap()];
    std::fs::write(root.join("rawprogram0.xml"), cut).unwrap();
    match open(&root).unwrap_err() {
        PackageError::XmlTruncated {
            file,
            line,
            element,
        } => {
            assert_eq!((file, line, element.as_str()), (xml_of(&root), 2, "data"));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn unknown_root() {
    let (_d, root) = flat("");
    std::fs::write(
        root.join("rawprogram0.xml"),
        "<?xml version=\"1.0\"?>\n\n<configuration><program/></configuration>",
    )
    .unwrap();
    let e = open(&root).unwrap_err();
    assert!(
        matches!(&e, PackageError::UnknownRoot { line: 3, expected: "data", found, .. } if found == "configuration"),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("rawprogram0.xml:3: root element is `<configuration>`, expected `<data>`"),
        "{e}"
    );
}

#[test]
fn missing_attribute() {
    let (_d, root) = flat(&PROG.replace(r#"SECTOR_SIZE_IN_BYTES="512" "#, ""));
    let e = open(&root).unwrap_err();
    match &e {
        PackageError::MissingAttribute {
            file,
            line,
            element,
            attribute,
        } => {
            assert_eq!(
                (file.clone(), *line, element.as_str(), *attribute),
                (xml_of(&root), 3, "program", "SECTOR_SIZE_IN_BYTES")
            );
        }
        _ => panic!("{e:?}"),
    }
    assert!(e.help().is_some_and(|h| !h.is_empty()));
}

fn bad_number(body: &str) -> (String, String, NumberProblem) {
    let (_d, root) = flat(body);
    match open(&root).unwrap_err() {
        PackageError::BadNumber {
            attribute,
            value,
            problem,
            line: 3,
            ..
        } => (attribute, value, problem),
        e => panic!("{e:?}"),
    }
}

#[test]
fn numbers_out_of_range_negative_huge() {
    assert_eq!(
        bad_number(&PROG.replace(
            r#"physical_partition_number="0""#,
            r#"physical_partition_number="99""#
        )),
        (
            "physical_partition_number".into(),
            "99".into(),
            NumberProblem::TooLarge { max: 31 }
        )
    );
    assert_eq!(
        bad_number(&PROG.replace(r#"start_sector="0""#, r#"start_sector="-1""#)),
        ("start_sector".into(), "-1".into(), NumberProblem::Negative)
    );
    assert_eq!(
        bad_number(&PROG.replace(
            r#"num_partition_sectors="8""#,
            r#"num_partition_sectors="184467440737095516150""#
        )),
        (
            "num_partition_sectors".into(),
            "184467440737095516150".into(),
            NumberProblem::TooLarge { max: u64::MAX }
        )
    );
    // Fits in u64 but overflows once multiplied by the sector size.
    assert_eq!(
        bad_number(&PROG.replace(
            r#"num_partition_sectors="8""#,
            r#"num_partition_sectors="0xFFFFFFFFFFFFFFFF""#
        )),
        (
            "num_partition_sectors".into(),
            "0xFFFFFFFFFFFFFFFF".into(),
            NumberProblem::TooLarge {
                max: u64::MAX / 512
            }
        )
    );
    assert_eq!(
        bad_number(&PROG.replace(
            r#"SECTOR_SIZE_IN_BYTES="512""#,
            r#"SECTOR_SIZE_IN_BYTES="513""#
        )),
        (
            "SECTOR_SIZE_IN_BYTES".into(),
            "513".into(),
            NumberProblem::NotAllowed {
                expected: "a power of two from 512 to 65536"
            }
        )
    );
    assert_eq!(
        bad_number(&PROG.replace(r#"start_sector="0""#, r#"start_sector="twelve""#)),
        (
            "start_sector".into(),
            "twelve".into(),
            NumberProblem::NotANumber
        )
    );
}

#[test]
fn overlapping_programs() {
    let second = PROG
        .replace(r#"start_sector="0""#, r#"start_sector="1""#)
        .replace("label=\"a\"", "label=\"b\"");
    let (_d, root) = flat(&format!("{PROG}\n{second}"));
    match open(&root).unwrap_err() {
        PackageError::OverlappingPrograms {
            line,
            other_line,
            partition,
            start,
            end,
            other_start,
            other_end,
            ..
        } => {
            // a.bin is 1000 bytes: 2 sectors of 512.
            assert_eq!(
                (
                    line,
                    other_line,
                    partition,
                    start,
                    end,
                    other_start,
                    other_end
                ),
                (4, 3, 0, 1, 3, 0, 2)
            );
        }
        e => panic!("{e:?}"),
    }
    // Same start, other LUN: fine.
    let other_lun = PROG.replace(
        r#"physical_partition_number="0""#,
        r#"physical_partition_number="1""#,
    );
    let (_d, root) = flat(&format!("{PROG}\n{other_lun}"));
    assert_eq!(open(&root).unwrap().plan.len(), 4);
    // Same start twice: an error even when the images are missing (declared sizes).
    let missing = PROG.replace("a.bin", "gone.bin");
    let (_d, root) = flat(&format!("{missing}\n{missing}"));
    assert!(matches!(
        open(&root),
        Err(PackageError::OverlappingPrograms {
            start: 0,
            other_start: 0,
            ..
        })
    ));
}

fn escape(filename: &str) -> (PackageError, PathBuf) {
    let (_d, root) = flat(&PROG.replace("a.bin", filename));
    let xml = xml_of(&root);
    (open(&root).unwrap_err(), xml)
}

#[test]
fn path_escapes_name_file_line_attribute_value() {
    for (value, want) in [
        ("..\\..\\etc\\passwd", EscapeKind::ParentDir),
        ("../../../../../../etc/passwd", EscapeKind::ParentDir),
        ("/etc/passwd", EscapeKind::Absolute),
        ("C:\\x", EscapeKind::DriveLetter),
        ("\\\\server\\share\\x.bin", EscapeKind::Unc),
    ] {
        let (e, xml) = escape(value);
        match &e {
            PackageError::PathEscape {
                file,
                line,
                attribute,
                value: v,
                kind,
            } => {
                assert_eq!(
                    (file, *line, attribute.as_str(), v.as_str(), *kind),
                    (&xml, 3, "filename", value, want)
                );
            }
            _ => panic!("{value}: {e:?}"),
        }
        assert!(
            e.to_string().contains(&format!("filename=\"{value}\"")),
            "{e}"
        );
    }
}

#[cfg(unix)]
#[test]
fn symlink_out_of_the_package() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.bin"), b"secret").unwrap();
    let (_d, root) = flat(&PROG.replace("a.bin", "link.bin"));
    std::os::unix::fs::symlink(outside.path().join("secret.bin"), root.join("link.bin")).unwrap();
    let e = open(&root).unwrap_err();
    assert!(
        matches!(&e, PackageError::PathEscape { kind: EscapeKind::Symlink, value, .. } if value == "link.bin"),
        "{e:?}"
    );
    // A symlinked md5.txt target is refused the same way.
    let (_d, root) = flat(PROG);
    std::os::unix::fs::symlink(outside.path().join("secret.bin"), root.join("evil.bin")).unwrap();
    std::fs::write(
        root.join("md5.txt"),
        "FILE:\\evil.bin:00000000000000000000000000000000\r\n",
    )
    .unwrap();
    let e = open(&root).unwrap_err();
    assert!(
        matches!(&e, PackageError::PathEscape { kind: EscapeKind::Symlink, attribute, .. } if attribute == "path"),
        "{e:?}"
    );
}

#[test]
fn zip_slip_entry() {
    let d = tempfile::tempdir().unwrap();
    let zip = d.path().join("evil.zip");
    common::write_zip(
        &zip,
        &[
            (
                "rawprogram0.xml".into(),
                format!("<data>{PROG}</data>").into_bytes(),
            ),
            ("../../escaped.txt".into(), b"pwned".to_vec()),
        ],
    );
    let e = Package::open(&zip, &OpenOptions::default()).unwrap_err();
    assert!(
        matches!(&e, PackageError::ZipSlip { entry, kind: EscapeKind::ParentDir, .. } if entry == "../../escaped.txt"),
        "{e:?}"
    );
    assert!(!d.path().join("escaped.txt").exists());
    let zip2 = d.path().join("abs.zip");
    common::write_zip(&zip2, &[("/tmp/oasis-abs-evil.txt".into(), b"x".to_vec())]);
    assert!(matches!(
        Package::open(&zip2, &OpenOptions::default()),
        Err(PackageError::ZipSlip {
            kind: EscapeKind::Absolute,
            ..
        })
    ));
}

#[test]
fn entity_tricks_never_expand() {
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE data [\n<!ENTITY lol \"lol\">\n<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n<data><program SECTOR_SIZE_IN_BYTES=\"512\" start_sector=\"0\" num_partition_sectors=\"1\" filename=\"a.bin\" label=\"&lol3;\"/></data>";
    let external = "<?xml version=\"1.0\"?>\n<!DOCTYPE data [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<data><program SECTOR_SIZE_IN_BYTES=\"512\" start_sector=\"0\" num_partition_sectors=\"1\" filename=\"&xxe;\"/></data>";
    for doc in [laughs, external] {
        let (_d, root) = flat("");
        std::fs::write(root.join("rawprogram0.xml"), doc).unwrap();
        let e = open(&root).unwrap_err();
        assert!(
            matches!(e, PackageError::DtdNotAllowed { line: 2, .. }),
            "{e:?}"
        );
    }
    // An undeclared entity reference is refused by name, not looked up.
    let (_d, root) = flat(&PROG.replace("a.bin", "&xxe;"));
    let e = open(&root).unwrap_err();
    assert!(
        matches!(&e, PackageError::EntityNotAllowed { entity, line: 3, .. } if entity == "xxe"),
        "{e:?}"
    );
}

#[test]
fn corrupt_zips() {
    let d = tempfile::tempdir().unwrap();
    let junk = d.path().join("junk.zip");
    std::fs::write(&junk, b"PK\x03\x04 this is not really a zip archive at all").unwrap();
    assert!(matches!(
        Package::open(&junk, &OpenOptions::default()),
        Err(PackageError::ZipCorrupt { .. })
    ));
    // A real zip cut in half loses its central directory.
    let good = d.path().join("good.zip");
    common::zip_tree(&common::eg25g(), &good, "");
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = Package::open(&cut, &OpenOptions::default()).unwrap_err();
    assert!(
        matches!(&e, PackageError::ZipCorrupt { zip, .. } if *zip == cut),
        "{e:?}"
    );
    // A flipped byte in stored data fails its CRC.
    let stored = d.path().join("stored.zip");
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::fs::File::create(&stored).unwrap());
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("rawprogram0.xml", o).unwrap();
        w.write_all(format!("<data>{PROG}</data>").as_bytes())
            .unwrap();
        w.finish().unwrap();
    }
    let mut bytes = std::fs::read(&stored).unwrap();
    let at = bytes.windows(5).position(|w| w == b"<data").unwrap();
    bytes[at + 1] = b'D';
    std::fs::write(&stored, &bytes).unwrap();
    let e = Package::open(&stored, &OpenOptions::default()).unwrap_err();
    assert!(
        matches!(&e, PackageError::ZipCorrupt { message, .. } if message.contains("rawprogram0.xml")),
        "{e:?}"
    );
}

#[test]
fn md5_mismatch() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("EG25GGBR07A08M2G_30.006.30.006");
    common::copy_tree(&common::eg25g(), &root);
    let patch = root.join("update/firehose/patch_p2K_b128K.xml");
    let listed = oasis_testkit::md5_upper(&std::fs::read(&patch).unwrap()).to_ascii_lowercase();
    let mut text = std::fs::read_to_string(&patch).unwrap();
    text.push_str("<!-- edited -->\n");
    std::fs::write(&patch, text).unwrap();
    let pkg = open(&root).unwrap();
    assert_eq!(pkg.md5.status(), "mismatch");
    assert_eq!(
        pkg.summary_json()["md5"]["mismatches"][0]["path"],
        "update/firehose/patch_p2K_b128K.xml"
    );
    match pkg.ensure_flashable().unwrap_err() {
        PackageError::Md5Mismatch {
            file,
            expected,
            actual,
        } => {
            assert_eq!(file, patch.canonicalize().unwrap());
            assert_eq!(expected, listed);
            assert_ne!(actual, expected);
            assert_eq!(actual.len(), 32);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn not_a_package_and_not_found() {
    let d = tempfile::tempdir().unwrap();
    assert!(matches!(
        open(d.path()),
        Err(PackageError::NotAPackage { .. })
    ));
    assert!(matches!(
        open(&d.path().join("nope")),
        Err(PackageError::NotFound {
            what: "package",
            ..
        })
    ));
    let (_d, root) = flat(PROG);
    let opts = OpenOptions {
        programmer: Some(root.join("missing.mbn")),
        ..OpenOptions::default()
    };
    assert!(matches!(
        Package::open(&root, &opts),
        Err(PackageError::NotFound {
            what: "programmer",
            ..
        })
    ));
    // A programmer that cannot be identified is a finding, not an error.
    let pkg = open(&root).unwrap();
    let p = pkg.programmer.as_ref().unwrap();
    assert!(p.identity.is_none() && p.error.is_some(), "{p:?}");
}
