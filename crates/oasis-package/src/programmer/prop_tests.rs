//! Property tests: random, truncated and bit-flipped programmers give Ok or Err, never a panic.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;

/// How many programmers the kit generates (`oasis_testkit::corpus::programmers`): every header
/// version, ELF32/ELF64/raw, signed, unsigned and NPRG.
const FILE_COUNT: usize = 8;

/// Kit-generated programmers (the property tests once ran on real files; those now live in the
/// real-world corpus suite).
fn real_files() -> &'static [(String, Vec<u8>)] {
    static DATA: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    DATA.get_or_init(|| {
        let all: Vec<(String, Vec<u8>)> = oasis_testkit::corpus::programmers()
            .into_iter()
            .map(|(name, spec)| (name.to_owned(), spec.build().bytes))
            .collect();
        assert_eq!(all.len(), FILE_COUNT);
        all
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
    for (name, data) in real_files() {
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
    fn real_files_truncated_anywhere_never_panic(file in 0..FILE_COUNT, frac in 0.0f64..1.0) {
        let data = &real_files()[file].1;
        let cut = (data.len() as f64 * frac) as usize;
        let _ = ProgrammerIdentity::from_bytes(&data[..cut]);
    }

    #[test]
    fn real_files_with_flipped_bytes_never_panic(
        file in 0..FILE_COUNT,
        flips in proptest::collection::vec((0usize..12_288, 1u8..=255), 1..6),
        far in 0.0f64..1.0,
    ) {
        let mut data = real_files()[file].1.clone();
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
