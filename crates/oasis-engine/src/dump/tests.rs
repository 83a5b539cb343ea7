//! Unit tests of `dump`: ranges, labels, file names, bad-block lines.
use super::*;

#[test]
fn raw_ranges_parse_with_and_without_a_lun() {
    assert_eq!(
        RawRange::parse("640:64").unwrap(),
        RawRange {
            physical_partition: 0,
            start_sector: 640,
            sectors: 64
        }
    );
    assert_eq!(
        RawRange::parse("4:0x10:8").unwrap(),
        RawRange {
            physical_partition: 4,
            start_sector: 16,
            sectors: 8
        }
    );
    for bad in ["", "12", "a:1", "1:0", "1:2:3:4", "99999999999:1:1"] {
        let e = RawRange::parse(bad).unwrap_err();
        assert!(e.contains("--raw"), "{bad}: {e}");
    }
}

#[test]
fn the_programmers_bad_block_lines_are_kept() {
    let logs: Vec<String> = [
        "INFO: Reading 640 pages",
        "WARN: Skipping bad block 37",
        "INFO: badblock table updated",
        "INFO: Finished",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let kept: Vec<&String> = bad_block_lines(&logs).collect();
    assert_eq!(kept, vec![&logs[1], &logs[2]]);
}

#[test]
fn file_names_stay_in_the_folder_and_do_not_collide() {
    let r = RawRange {
        physical_partition: 0,
        start_sector: 1,
        sectors: 2,
    };
    assert_eq!(file_name("../etc/passwd", &r, &[]), "___etc_passwd.bin");
    assert_eq!(file_name("raw", &r, &[]), "raw-lun0-1-2.bin");
    assert_eq!(file_name("manifest", &r, &[]), "partition-manifest.bin");
}
