//! Android sparse images generated here (RAW, FILL, DONT_CARE, CRC32): walked into runs without
//! inflating, read back byte for byte, split into program steps, and every corruption named.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::io::Read;
use std::path::Path;

use oasis_package::sparse::{ChunkKind, SparseImage};
use oasis_package::{OpenOptions, Package, PackageError, SparseProblem, StepOp};

const BLK: u32 = 4096;

enum Chunk {
    Raw(Vec<u8>),
    Fill([u8; 4], u32),
    DontCare(u32),
    Crc(u32),
}

/// Build a sparse file; returns (bytes, inflated image with DONT_CARE as `None` per block).
fn build(chunks: &[Chunk]) -> (Vec<u8>, Vec<Option<u8>>) {
    let mut body = Vec::new();
    let mut image: Vec<Option<u8>> = Vec::new();
    let mut blocks = 0u32;
    for c in chunks {
        let (kind, n, payload): (u16, u32, Vec<u8>) = match c {
            Chunk::Raw(data) => {
                image.extend(data.iter().map(|b| Some(*b)));
                (0xCAC1, data.len() as u32 / BLK, data.clone())
            }
            Chunk::Fill(p, n) => {
                image.extend((0..(*n * BLK) as usize).map(|i| Some(p[i % 4])));
                (0xCAC2, *n, p.to_vec())
            }
            Chunk::DontCare(n) => {
                image.extend((0..*n * BLK).map(|_| None));
                (0xCAC3, *n, vec![])
            }
            Chunk::Crc(v) => (0xCAC4, 0, v.to_le_bytes().to_vec()),
        };
        blocks += n;
        body.extend_from_slice(&kind.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&n.to_le_bytes());
        body.extend_from_slice(&(12 + payload.len() as u32).to_le_bytes());
        body.extend_from_slice(&payload);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0xED26_FF3Au32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&28u16.to_le_bytes());
    out.extend_from_slice(&12u16.to_le_bytes());
    out.extend_from_slice(&BLK.to_le_bytes());
    out.extend_from_slice(&blocks.to_le_bytes());
    out.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend(body);
    (out, image)
}

fn sample() -> (Vec<u8>, Vec<Option<u8>>) {
    let raw1: Vec<u8> = (0..2 * BLK).map(|i| (i % 251) as u8).collect();
    let raw2: Vec<u8> = (0..BLK).map(|i| (i % 13) as u8 + 7).collect();
    build(&[
        Chunk::Raw(raw1),
        Chunk::Fill([0xde, 0xad, 0xbe, 0xef], 3),
        Chunk::DontCare(2),
        Chunk::Crc(0x1234_5678),
        Chunk::Raw(raw2),
        Chunk::DontCare(1),
    ])
}

fn parse(bytes: &[u8]) -> Result<SparseImage, PackageError> {
    SparseImage::parse(
        std::io::Cursor::new(bytes),
        bytes.len() as u64,
        Path::new("s.img"),
    )
}

fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    let mut buf = [0u8; 1000];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            return v;
        }
        v.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn runs_cover_raw_and_fill_and_skip_dont_care() {
    let d = tempfile::tempdir().unwrap();
    let (bytes, image) = sample();
    let path = d.path().join("s.img");
    std::fs::write(&path, &bytes).unwrap();
    let img = SparseImage::from_path(&path).unwrap();
    assert_eq!(img.chunks.len(), 6);
    assert_eq!(img.output_len(), 9 * u64::from(BLK));
    assert!(matches!(
        img.chunks[3].kind,
        ChunkKind::Crc32 { value: 0x1234_5678 }
    ));
    let runs = img.runs(512).unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| (r.out_offset, r.len))
            .collect::<Vec<_>>(),
        [(0, 5 * 4096), (7 * 4096, 4096)]
    );
    for run in runs {
        let got = read_all(oasis_package::PieceReader::new(run.pieces, run.len));
        let start = run.out_offset as usize;
        let want: Vec<u8> = image[start..start + run.len as usize]
            .iter()
            .map(|b| b.unwrap())
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn sparse_program_becomes_steps_at_the_right_sectors() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("pkg");
    std::fs::create_dir(&root).unwrap();
    let (bytes, image) = sample();
    std::fs::write(root.join("system.img"), &bytes).unwrap();
    std::fs::write(
        root.join("rawprogram0.xml"),
        "<data>\n<program SECTOR_SIZE_IN_BYTES=\"4096\" physical_partition_number=\"0\" start_sector=\"100\" num_partition_sectors=\"64\" filename=\"system.img\" label=\"system\" sparse=\"true\"/>\n</data>",
    )
    .unwrap();
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    let programs: Vec<_> = pkg
        .plan
        .iter()
        .filter(|s| s.op == StepOp::Program)
        .collect();
    let placed: Vec<_> = programs
        .iter()
        .map(|s| (s.start_sector.as_str(), s.sectors))
        .collect();
    assert_eq!(placed, [("100", Some(5)), ("107", Some(1))]);
    assert!(programs.iter().all(|s| s.label == "system"));
    for s in programs {
        let got = read_all(pkg.open_reader(s).unwrap());
        let at = (s.start_number().unwrap() - 100) as usize * 4096;
        let want: Vec<u8> = image[at..at + got.len()]
            .iter()
            .map(|b| b.unwrap())
            .collect();
        assert_eq!(got, want);
    }
    assert_eq!(pkg.total_bytes(), 6 * 4096);
    // sparse="true" without a sparse header: written raw, with a warning.
    std::fs::write(root.join("system.img"), vec![5u8; 5000]).unwrap();
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    assert_eq!(pkg.plan[0].sectors, Some(2));
    assert!(
        pkg.warnings.iter().any(|w| w.contains("no sparse header")),
        "{:?}",
        pkg.warnings
    );
}

fn problem(bytes: &[u8]) -> SparseProblem {
    match parse(bytes) {
        Err(PackageError::Sparse { problem, .. }) => problem,
        other => panic!("{other:?}"),
    }
}

#[test]
fn corrupt_images_are_named() {
    let (good, _) = sample();
    assert!(parse(&good).is_ok());
    let mut b = good.clone();
    b[0] = 0;
    assert_eq!(problem(&b), SparseProblem::BadMagic { got: 0xED26_FF00 });
    let mut b = good.clone();
    b[4] = 2;
    assert_eq!(
        problem(&b),
        SparseProblem::UnsupportedVersion { major: 2, minor: 0 }
    );
    let mut b = good.clone();
    b[8] = 20;
    assert_eq!(
        problem(&b),
        SparseProblem::BadHeaderSize {
            which: "file",
            got: 20,
            min: 28
        }
    );
    let mut b = good.clone();
    b[12..16].copy_from_slice(&4095u32.to_le_bytes());
    assert_eq!(problem(&b), SparseProblem::BadBlockSize { got: 4095 });
    // Chunk 1 (FILL) claims 20 bytes.
    let fill_at = 28 + 12 + 2 * 4096;
    let mut b = good.clone();
    b[fill_at + 8] = 20;
    assert_eq!(
        problem(&b),
        SparseProblem::ChunkSize {
            chunk: 1,
            expected: 16,
            got: 20
        }
    );
    let mut b = good.clone();
    b[fill_at] = 0x99;
    assert_eq!(
        problem(&b),
        SparseProblem::UnknownChunkType {
            chunk: 1,
            got: 0xCA99
        }
    );
    assert_eq!(
        problem(&good[..good.len() - 100]),
        SparseProblem::Truncated { what: "RAW data" }
    );
    assert_eq!(
        problem(&good[..20]),
        SparseProblem::Truncated {
            what: "file header"
        }
    );
    let mut b = good.clone();
    b[16..20].copy_from_slice(&10u32.to_le_bytes());
    assert_eq!(
        problem(&b),
        SparseProblem::BlockCount {
            expected: 10,
            got: 9
        }
    );
    let mut b = good.clone();
    b[20..24].copy_from_slice(&7u32.to_le_bytes());
    assert_eq!(
        problem(&b),
        SparseProblem::ChunkCount {
            expected: 7,
            got: 6
        }
    );
    let mut b = good;
    b[20..24].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(
        problem(&b),
        SparseProblem::ChunkCount {
            expected: 2,
            got: 3
        }
    );
}

#[test]
fn runs_must_be_whole_sectors() {
    // 4 KiB blocks cannot be written as 8 KiB sectors one block at a time.
    let (bytes, _) = build(&[Chunk::Fill([1, 2, 3, 4], 1)]);
    let img = parse(&bytes).unwrap();
    let e = img.runs(8192).unwrap_err();
    assert!(
        matches!(
            e,
            PackageError::Sparse {
                problem: SparseProblem::NotSectorAligned {
                    chunk: 0,
                    bytes: 4096,
                    sector_size: 8192
                },
                ..
            }
        ),
        "{e:?}"
    );
}
