//! Property tests: random, truncated and bit-flipped programmers give Ok or Err, never a panic.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::fixture_tests::fixture;
use super::*;

const FILES: [&str; 9] = [
    "loaders/000480e100000000_cc3153a80293939b_fhprg_9x07.mbn",
    "loaders/0008b0e100310000_1030cd12ce708f29_fhprg.bin",
    "loaders/001070e100000000_d40eee56f3194665_prog_firehose_nand_mdm9x05.elf",
    "loaders/0010a0e102e80000_974359c4290cac7f_fhprg.bin",
    "loaders/007050e100040000_f02215c75cf9f072_fhprg_peek.bin",
    "loaders/008050e100040002_6923f496fbd6fb14_fhprg.bin",
    "loaders/NPRG9x06_bg96.mbn",
    "xml/quectel-eg25g-nand-2022/update/firehose/prog_nand_firehose_9x07.mbn",
    "xml/uz801-emmc/007050e100000000_99c8c13e374c34d8_fhprg_peek.bin",
];

fn real_files() -> &'static [Vec<u8>] {
    static DATA: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    DATA.get_or_init(|| {
        FILES
            .iter()
            .map(|f| std::fs::read(fixture(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
            .collect()
    })
}

/// The end of the region identity depends on: the hash segment (ELF) or the declared chain (raw).
fn identity_end(id: &ProgrammerIdentity) -> u64 {
    match (&id.hash_segment, &id.raw_header) {
        (Some(seg), _) => seg.offset + seg.size,
        (None, Some(r)) => [
            r.image_src,
            r.code_size,
            r.signature_size,
            r.cert_chain_size,
        ]
        .iter()
        .map(|v| u64::from(*v))
        .sum(),
        (None, None) => 0,
    }
}

#[test]
fn every_cut_before_the_identity_end_is_an_error() {
    for (name, data) in FILES.iter().zip(real_files()) {
        let full = ProgrammerIdentity::from_bytes(data).unwrap_or_else(|e| panic!("{name}: {e}"));
        let end = identity_end(&full);
        assert!(end > 0, "{name}");
        let mut cut = 0u64;
        while cut < end {
            let r = ProgrammerIdentity::from_bytes(&data[..cut as usize]);
            assert!(
                r.is_err(),
                "{name} cut at {cut:#x} (identity ends at {end:#x}) parsed: {r:?}"
            );
            cut += 61;
        }
        // Cutting after the identity region keeps the identity.
        if (end as usize) < data.len() {
            let r = ProgrammerIdentity::from_bytes(&data[..end as usize])
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (r.hw_id, r.pk_hash_sha256),
                (full.hw_id, full.pk_hash_sha256),
                "{name}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = ProgrammerIdentity::from_bytes(&data);
    }

    #[test]
    fn random_bytes_behind_real_magics_never_panic(
        magic in prop_oneof![Just(vec![0x7f, b'E', b'L', b'F', 1, 1]), Just(vec![0x7f, b'E', b'L', b'F', 2, 1]), Just(vec![0xd1, 0xdc, 0x4b, 0x84])],
        tail in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let data = [magic, tail].concat();
        let _ = ProgrammerIdentity::from_bytes(&data);
    }

    #[test]
    fn real_files_truncated_anywhere_never_panic(file in 0..FILES.len(), frac in 0.0f64..1.0) {
        let data = &real_files()[file];
        let cut = (data.len() as f64 * frac) as usize;
        let _ = ProgrammerIdentity::from_bytes(&data[..cut]);
    }

    #[test]
    fn real_files_with_flipped_bytes_never_panic(
        file in 0..FILES.len(),
        flips in proptest::collection::vec((0usize..12_288, 1u8..=255), 1..6),
        far in 0.0f64..1.0,
    ) {
        let mut data = real_files()[file].clone();
        let len = data.len();
        for (pos, x) in &flips {
            data[pos % len] ^= x;
        }
        // One more flip anywhere in the file (raw MBN chains sit near the end).
        data[((len as f64 * far) as usize).min(len - 1)] ^= 0x5a;
        if let Ok(id) = ProgrammerIdentity::from_bytes(&data) {
            // Whatever parsed is self-consistent.
            prop_assert_eq!(id.signed, !id.certificates.is_empty());
            prop_assert_eq!(id.size, len as u64);
            if let Some(h) = &id.hw_id { prop_assert_eq!(h.len(), 16); }
        }
    }
}
