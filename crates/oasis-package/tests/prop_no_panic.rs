//! Property tests: random XML-ish text, random bytes as sparse images and partition tables, and
//! random md5.txt lines never panic; they parse or give an error.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::Path;

use oasis_package::patch::PatchFile;
use oasis_package::rawprogram::RawProgramFile;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "<?xml version=\"1.0\" ?>",
    "<data>",
    "</data>",
    "<patches>",
    "</patches>",
    "<program",
    "<erase",
    "<patch",
    "/>",
    ">",
    "<",
    "</program>",
    " SECTOR_SIZE_IN_BYTES=\"512\"",
    " SECTOR_SIZE_IN_BYTES=\"2048\"",
    " SECTOR_SIZE_IN_BYTES=\"-4\"",
    " start_sector=\"0\"",
    " start_sector=\"NUM_DISK_SECTORS-5.\"",
    " start_sector=\"0xFFFFFFFFFFFFFFFF\"",
    " num_partition_sectors=\"8\"",
    " num_partition_sectors=\"99999999999999999999\"",
    " physical_partition_number=\"1\"",
    " filename=\"a.bin\"",
    " filename=\"..\\x.bin\"",
    " filename=\"DISK\"",
    " byte_offset=\"4\"",
    " size_in_bytes=\"8\"",
    " value=\"CRC32(2,4096)\"",
    " sparse=\"true\"",
    " vendor=\"quectel\"",
    " PAGES_PER_BLOCK=\"64\"",
    " label=\"&amp;x\"",
    " label=\"&lol;\"",
    "<!-- c -->",
    "<!--",
    "-->",
    "<!DOCTYPE x>",
    "<![CDATA[x]]>",
    "&#x41;",
    "&bogus;",
    "\r\n",
    "\n",
    " ",
    "\u{feff}",
    "\"",
    "'",
    "=",
    "é",
    "\0",
];

fn xmlish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn xmlish_text_never_panics(s in xmlish()) {
        let file = Path::new("fuzz.xml");
        if let Ok(doc) = oasis_package::xml::parse_bytes(file, s.as_bytes()) {
            let _ = RawProgramFile::from_element(file, &doc.root);
            let _ = PatchFile::from_element(file, &doc.root);
            let _ = oasis_package::contents::ContentsInfo::from_element(file, &doc.root);
        }
    }

    #[test]
    fn random_bytes_as_xml_never_panic(b in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = oasis_package::xml::parse_bytes(Path::new("b.xml"), &b);
    }

    #[test]
    fn random_sparse_never_panics(mut b in prop::collection::vec(any::<u8>(), 0..200), magic in any::<bool>()) {
        if magic && b.len() >= 28 {
            b[..4].copy_from_slice(&0xED26_FF3Au32.to_le_bytes());
            b[4] = 1;
            b[5] = 0;
        }
        let len = b.len() as u64;
        if let Ok(img) = oasis_package::sparse::SparseImage::parse(std::io::Cursor::new(b), len, Path::new("s")) {
            let _ = img.runs(512);
        }
    }

    #[test]
    fn random_tables_never_panic(mut b in prop::collection::vec(any::<u8>(), 0..600), kind in 0u8..3) {
        let magic: &[u32] = match kind {
            0 => &[0x55EE_73AA, 0xE35E_BDDB],
            1 => &[0xAA7D_1B9A, 0x1F7D_48BC],
            _ => &[],
        };
        for (i, m) in magic.iter().enumerate() {
            if b.len() >= 8 {
                b[i * 4..i * 4 + 4].copy_from_slice(&m.to_le_bytes());
            }
        }
        let _ = oasis_package::nand::parse_mibib(Path::new("t"), &b);
        let _ = oasis_package::nand::parse_usr_table(Path::new("t"), &b);
    }

    #[test]
    fn firmware_names_never_panic(s in "[A-Z0-9_.éR]{0,40}") {
        let _ = oasis_package::naming::parse_firmware_name(&s);
        let _ = oasis_package::naming::geometry_from_name(&s);
    }
}

const ATTRS: &[&str] = &[
    "SECTOR_SIZE_IN_BYTES",
    "start_sector",
    "num_partition_sectors",
    "physical_partition_number",
    "filename",
    "file_sector_offset",
    "sparse",
    "PAGES_PER_BLOCK",
    "label",
    "last_sector",
    "vendor",
];
const VALUES: &[&str] = &[
    "0",
    "1",
    "8",
    "512",
    "2048",
    "4096",
    "0x40",
    "-1",
    "NUM_DISK_SECTORS-5.",
    "99999999999999999999",
    "18446744073709551615",
    "true",
    "false",
    "a.bin",
    "..\\a.bin",
    "../../x",
    "quectel",
    "",
    "640",
];

fn element() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["program", "erase", "program", "read"][..]),
        prop::collection::vec(
            (prop::sample::select(ATTRS), prop::sample::select(VALUES)),
            0..9,
        ),
    )
        .prop_map(|(tag, attrs)| {
            let mut seen = std::collections::HashSet::new();
            let a: String = attrs
                .into_iter()
                .filter(|(k, _)| seen.insert(*k))
                .map(|(k, v)| format!(" {k}=\"{v}\""))
                .collect();
            format!("<{tag}{a}/>\n")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Structured but hostile rawprogram files, opened as whole packages (plan building included).
    #[test]
    fn hostile_rawprogram_packages_never_panic(els in prop::collection::vec(element(), 0..12), nand in any::<bool>()) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.bin"), vec![7u8; 3000]).unwrap();
        let name = if nand { "rawprogram_nand_p2K_b128K_update.xml" } else { "rawprogram0.xml" };
        std::fs::write(d.path().join(name), format!("<data>\n{}</data>", els.concat())).unwrap();
        if let Ok(pkg) = oasis_package::Package::open(d.path(), &Default::default()) {
            let _ = pkg.summary_json();
            for s in &pkg.plan {
                if let Ok(mut r) = pkg.open_reader(s) {
                    let mut sink = Vec::new();
                    std::io::Read::read_to_end(&mut r, &mut sink).unwrap();
                    prop_assert_eq!(Some(sink.len() as u64), s.bytes());
                }
            }
        }
    }
}
