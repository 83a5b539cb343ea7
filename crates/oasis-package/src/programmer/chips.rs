//! Data tables: chip names for MSM ids and SoC family codes, known Qualcomm test roots, PK-hash trimming.

/// JTAG MSM ids (low 24 bits) → chip family name.
///
/// Sources: docs/protocol.md §1/§4/§5, the fixture files (SOURCES.md), and the public edl
/// `msmids` table as remembered. Entries marked "uncertain" are not backed by a fixture or
/// docs/protocol.md; treat their names as hints for display only.
const JTAG_IDS: &[(u32, &str)] = &[
    (0x0004_80E1, "MDM9207"), // EC25/EG25 (docs/protocol.md §1)
    (0x0010_70E1, "MDM9205"), // BG95 (docs/protocol.md §5)
    (0x0070_50E1, "MSM8916"), // ZTE/UZ801 fixtures
    (0x0080_50E1, "MSM8226"), // ZTE fixture (MSM8226 family; edl may name this id MSM8926)
    (0x0008_B0E1, "SDM845"),  // LG fixture (image variant SDM845LA)
    (0x000C_F0E1, "SDX55"),   // edl issue #701 (SDX55 HWID 0x000cf0e1…)
    (0x0019_90E1, "SDX62"),   // RM520N (docs/protocol.md §4)
    (0x0005_E0E1, "MSM8998"), // edl issue #61
    (0x0010_A0E1, "SM6125"),  // uncertain: Motorola fixture, image variant "NicobarPkg"
    (0x0096_00E1, "MSM8909"), // uncertain (edl table)
    (0x0004_60E1, "MSM8953"), // uncertain (edl table)
    (0x0004_F0E1, "MSM8937"), // uncertain (edl table)
    (0x0009_A0E1, "SDM660"),  // uncertain (edl table)
    (0x0094_70E1, "MSM8996"), // uncertain (edl table)
    (0x000A_50E1, "SM8150"),  // uncertain (edl table)
];

/// SoC hardware-version family codes (top 16 bits of TCSR_SOC_HW_VERSION) → chip family name.
const FAMILY_CODES: &[(u16, &str)] = &[
    (0x2013, "MDM9205"), // docs/protocol.md §4; also soc_vers of the MDM9x05 fixture
    (0x9001, "SM6125"),  // uncertain: soc_vers of the Motorola fixture, whose hw_id is 0x0010A0E1
];

/// Chip family name for an MSM id (the top 32 bits of a Sahara HWID).
///
/// JTAG ids (low byte 0xE1) are matched on their low 24 bits (`0x000480E1` → MDM9207);
/// other non-zero ids are read as a SoC family code in the top 16 bits (`0x20130000` → MDM9205).
pub fn chip_name(msm_id: u32) -> Option<&'static str> {
    if msm_id & 0xFF == 0xE1 {
        let low = msm_id & 0x00FF_FFFF;
        return JTAG_IDS.iter().find(|(id, _)| *id == low).map(|(_, n)| *n);
    }
    let family = u16::try_from(msm_id >> 16).ok().filter(|f| *f != 0)?;
    chip_name_for_soc_version(family)
}

/// Chip family name for a SoC hardware-version family code, as in MBN v6 `soc_vers` (e.g. 0x2013).
pub fn chip_name_for_soc_version(code: u16) -> Option<&'static str> {
    FAMILY_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
}

/// Known Qualcomm default/test roots, by full SHA-256 or SHA-384 of the root certificate DER.
///
/// A device reporting one of these is not secure-boot fused: any programmer for its chip runs.
const TEST_ROOTS: &[(&str, &str)] = &[
    (
        "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f",
        "Qualcomm test root (old, seen on EC25)",
    ),
    (
        "7be49b72f9e4337223ccb84d6eccca4e61ce16e3602ac2008cb18b75babe6d09",
        "Qualcomm secboot_sha2_root",
    ),
    (
        "afca69d4235117e5bfc21467068b20df85e0115d7413d5821883a6d244961581",
        "Qualcomm secboot_sha2_pss_subca1",
    ),
    (
        "d40eee56f3194665574109a39267724ae7944134cd53cb767e293d3c40497955bc8a4519ff992b031fadc6355015ac87",
        "Qualcomm secboot_sha2_pss_subca2 (SHA-384)",
    ),
    (
        "36c886068d9a6634e9c55185044344e9e756dcc3b5960874942c7a1a1550dee0",
        "Qualcomm MDM9x60 test root",
    ),
    // "Generated Test Root CA" roots of test-signed programmers (fixtures, expected/loaders.json).
    (
        "06513b56f7f06be9bd448445fa0909e6399bb2f4da395f10651a6225b89d9150",
        "Qualcomm Generated Test Root CA (MDM9x07 programmers)",
    ),
    (
        "65046ac2d41685367195d5570ab49d834511ab746abeffc4c0d80efd331a086a0ba916e190548b9f9d07424fc9201ef0",
        "Qualcomm Generated Test Root CA (MDM9x07 programmers, SHA-384)",
    ),
    (
        "959b8d0549ef41befabc24f51efe84fee366ac169ab04a0db30c799b324fd798",
        "Qualcomm Generated Test Root CA (MDM9x05 programmers)",
    ),
    (
        "d9357db88795b5a8afaebfd9ab08a569cc8e519f6c689723759f4e6915ca3466e98b5a3282678bdf63673d8517bb0c5b",
        "Qualcomm Generated Test Root CA (MDM9x05 programmers, SHA-384)",
    ),
    (
        "01da75eab37c86a1b373b15bca0ba55f0fe534f366393894b6b68666fdf1debe",
        "Qualcomm Generated Test Root CA (BG96 NPRG)",
    ),
    (
        "960b2f014584185185ed71592935fb6c545cdd3a6b3bb57cf6dc95ffd5ec9acc926e360b121371ea409a4d009c342c4d",
        "Qualcomm Generated Test Root CA (BG96 NPRG, SHA-384)",
    ),
];

/// The name of a known Qualcomm test root, given a full PK hash in hex (SHA-256 or SHA-384).
///
/// Case, a `0x` prefix, surrounding whitespace, and device padding (zeros, repeated copies)
/// are tolerated; a prefix of a hash is not a match.
pub fn is_known_test_root(pk_hash_hex: &str) -> Option<&'static str> {
    let s = pk_hash_hex.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let bytes = hex::decode(s).ok()?;
    known_test_root_bytes(&bytes)
}

/// [`is_known_test_root`] on raw digest bytes (trimmed with [`normalize_pk_hash`] first).
pub fn known_test_root_bytes(pk_hash: &[u8]) -> Option<&'static str> {
    let h = hex::encode(normalize_pk_hash(pk_hash));
    TEST_ROOTS
        .iter()
        .find(|(hash, _)| *hash == h)
        .map(|(_, n)| *n)
}

/// Trim a PK hash as devices report it (docs/protocol.md §1): one copy if it is repeated,
/// trailing zero padding removed and the length rounded back up to 32, 48 or 64 bytes.
/// All-zero or empty input gives an empty slice (nothing reported).
pub fn normalize_pk_hash(raw: &[u8]) -> &[u8] {
    let used = raw.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    if used == 0 {
        return &[];
    }
    for k in [32usize, 48, 64] {
        if raw.len() > k && raw.len().is_multiple_of(k) && raw.chunks(k).all(|c| c == &raw[..k]) {
            return &raw[..k];
        }
    }
    let keep = [32usize, 48, 64]
        .into_iter()
        .find(|k| *k >= used)
        .unwrap_or(raw.len());
    &raw[..keep.min(raw.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_names_for_jtag_ids_and_family_codes() {
        assert_eq!(chip_name(0x0004_80E1), Some("MDM9207"));
        assert_eq!(chip_name(0x0010_70E1), Some("MDM9205"));
        assert_eq!(chip_name(0x0070_50E1), Some("MSM8916"));
        assert_eq!(chip_name(0x0008_B0E1), Some("SDM845"));
        assert_eq!(chip_name(0x000C_F0E1), Some("SDX55"));
        assert_eq!(chip_name(0x0019_90E1), Some("SDX62"));
        assert_eq!(chip_name(0x0080_50E1), Some("MSM8226"));
        assert_eq!(chip_name(0x0005_E0E1), Some("MSM8998"));
        // Only the low 24 bits count.
        assert_eq!(chip_name(0x7F04_80E1), Some("MDM9207"));
        // Family-code form.
        assert_eq!(chip_name(0x2013_0000), Some("MDM9205"));
        assert_eq!(chip_name_for_soc_version(0x2013), Some("MDM9205"));
        assert_eq!(chip_name(0), None);
        assert_eq!(chip_name(0x00AB_CDE1), None);
        assert_eq!(chip_name(0x0000_1234), None);
    }

    #[test]
    fn test_roots_match_full_hashes_only() {
        let ec25 = "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f";
        assert!(is_known_test_root(ec25).is_some());
        assert!(is_known_test_root(&ec25.to_uppercase()).is_some());
        assert!(is_known_test_root(&format!(" 0x{ec25} ")).is_some());
        assert_eq!(is_known_test_root("cc3153a80293939b"), None);
        assert_eq!(is_known_test_root("not hex"), None);
        assert_eq!(is_known_test_root(""), None);
        let sha384 = TEST_ROOTS[3].0;
        assert_eq!(
            is_known_test_root(sha384),
            Some("Qualcomm secboot_sha2_pss_subca2 (SHA-384)")
        );
        // Padded to 128 bytes with zeros, as one SDX55 reported it.
        let padded = format!("{sha384}{}", "00".repeat(80));
        assert!(is_known_test_root(&padded).is_some());
        // A real OEM root is not a test root.
        assert_eq!(
            is_known_test_root("1030cd12ce708f29d6914d7529df75149d8ef91c27daf0e1f84b90f4b707329a"),
            None
        );
    }

    #[test]
    fn pk_hash_trimming() {
        let h: Vec<u8> = (1..=32).collect();
        assert_eq!(normalize_pk_hash(&h), &h[..]);
        assert_eq!(normalize_pk_hash(&[h.clone(), h.clone()].concat()), &h[..]);
        assert_eq!(
            normalize_pk_hash(&[h.clone(), vec![0; 32]].concat()),
            &h[..]
        );
        let h48: Vec<u8> = (1..=48).collect();
        assert_eq!(
            normalize_pk_hash(&[h48.clone(), vec![0; 80]].concat()),
            &h48[..]
        );
        assert_eq!(
            normalize_pk_hash(&[h48.clone(), h48.clone()].concat()),
            &h48[..]
        );
        // A hash ending in a zero byte keeps its length.
        let mut z = h.clone();
        z[31] = 0;
        assert_eq!(normalize_pk_hash(&z), &z[..]);
        assert!(normalize_pk_hash(&[0; 32]).is_empty());
        assert!(normalize_pk_hash(&[]).is_empty());
        assert_eq!(normalize_pk_hash(&[7, 0]), &[7, 0]);
    }
}
