//! Identity and fit tests on kit-generated programmers (oasis-testkit): every expectation is
//! computed from what the kit generated. The same checks on the real programmers of the
//! real-world corpus are in `realworld_identity_tests.rs`.

use oasis_testkit::programmer::{OemMetadata, Programmer, ProgrammerSpec, ou_fields};

use super::*;

/// EC25's Sahara values, from a public EDL log of an EC25-E (edl issue excerpt, see
/// docs/protocol.md): MSM 0x000480E1 and the PK hash of the Qualcomm test root it reports.
const EC25_HWID: u64 = 0x0004_80E1_0000_0000;
const EC25_PK: &str = "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f";

fn build(spec: &ProgrammerSpec) -> (Programmer, ProgrammerIdentity) {
    let p = spec.build();
    let id = ProgrammerIdentity::from_bytes(&p.bytes).unwrap_or_else(|e| panic!("{e}"));
    (p, id)
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// OEM-signed ELF64 v5 for an SDM845 board of OEM 0x0031 (OU fields in reverse order).
fn lg_like() -> ProgrammerSpec {
    ProgrammerSpec {
        version_string: Some("BOOT.XF.2.0-OASIS-SDM845".to_owned()),
        ..ProgrammerSpec::elf64_v5(0x0008_B0E1_0031_0000, 0x0031, 0)
    }
}

/// v6 bound to SoC version 0x2013 (MDM9205), debug 1, HW_ID 0 in the metadata, no OU fields.
fn bg95_like() -> ProgrammerSpec {
    let mut s = ProgrammerSpec::v6_metadata(0, 0, 0);
    if let Some(m) = s.oem_metadata.as_mut() {
        m.flags = 0x102;
        m.soc_vers = vec![0x2013];
    }
    s
}

/// v6 with both OU fields (`07 0001 SHA256`, DEBUG 2) and OEM metadata.
fn moto_like() -> ProgrammerSpec {
    let mut ou = ou_fields(0x0010_A0E1_02E8_0000, 0x02e8, 0, false);
    ou[2] = "03 0000000000000002 DEBUG".to_owned();
    ProgrammerSpec {
        attestation_ou: ou,
        oem_metadata: Some(OemMetadata {
            sw_id: 3,
            hw_id: 0x0010_A0E1,
            oem_id: 0x02e8,
            ..OemMetadata::default()
        }),
        root_cn: "Oasis OEM 02E8 Root CA".to_owned(),
        seed: "moto".to_owned(),
        ..ProgrammerSpec::v6_metadata(0x0010_A0E1, 0x02e8, 0)
    }
}

#[test]
fn kinds_chips_and_algorithms() {
    let (_, nprg) = build(&ProgrammerSpec::nprg());
    assert_eq!(nprg.kind, ProgrammerKind::Nprg);
    assert!(!nprg.is_firehose());
    assert_eq!(nprg.image_id, Some(7));
    for spec in [
        ProgrammerSpec::generic(),
        lg_like(),
        ProgrammerSpec::raw(0x0080_50E1_0004_0002, 4, 2),
        ProgrammerSpec::unsigned(),
    ] {
        assert_eq!(build(&spec).1.kind, ProgrammerKind::Firehose, "{spec:?}");
    }
    // v6 with image id 0: Firehose by its strings.
    let (_, bg95) = build(&bg95_like());
    assert_eq!(bg95.kind, ProgrammerKind::Firehose);
    assert!(bg95.kind_evidence.contains("MaxPayloadSizeToTargetInBytes"));
    assert_eq!(build(&lg_like()).1.chip.as_deref(), Some("SDM845"));
    let (_, raw) = build(&ProgrammerSpec::raw(0x0080_50E1_0004_0002, 4, 2));
    assert_eq!(raw.chip.as_deref(), Some("MSM8226"));
    assert_eq!(raw.container, Container::Mbn);
    assert_eq!(raw.image_id, Some(13));
    // HW-agnostic test-signed image: no chip stated.
    assert_eq!(build(&ProgrammerSpec::generic()).1.chip, None);
    // hw_id 0 but bound to SoC version 0x2013.
    assert_eq!(bg95.chip.as_deref(), Some("MDM9205"));
    assert_eq!(bg95.in_use_soc_hw_version, Some(true));
    assert_eq!(bg95.soc_hw_versions, vec!["2013".to_owned()]);
    assert_eq!(bg95.sw_id.as_deref(), Some("0000000000000003"));
    assert_eq!(bg95.debug.as_deref(), Some("0000000000000001"));
    assert_eq!(
        bg95.hash_alg,
        Some(HashAlg::Sha384),
        "v6 without OU: SHA-384"
    );
    assert_eq!(
        bg95.root_subject.as_deref(),
        Some("C=XX, O=Oasis Testkit, CN=Oasis Testkit Root CA")
    );
    // OU says SHA256 though metadata exists.
    let (_, moto) = build(&moto_like());
    assert_eq!(moto.hash_alg, Some(HashAlg::Sha256));
    assert_eq!(moto.oem_id.as_deref(), Some("02e8"));
    assert_eq!(moto.debug.as_deref(), Some("0000000000000002"));
    assert_eq!(moto.hw_id_source, Some(HwIdSource::AttestationOu));
}

#[test]
fn unsigned_programmer_is_reported_without_made_up_identity() {
    let (_, u) = build(&ProgrammerSpec::unsigned());
    assert!(!u.signed);
    assert_eq!(u.mbn_version, Some(3));
    assert!(u.certificates.is_empty());
    assert_eq!(
        (u.hw_id.as_ref(), u.oem_id.as_ref(), u.sw_id.as_ref()),
        (None, None, None)
    );
    assert_eq!(
        (
            u.pk_hash_sha256.as_ref(),
            u.pk_hash_sha384.as_ref(),
            u.hash_alg
        ),
        (None, None, None)
    );
    assert_eq!(u.root_subject, None);
}

#[test]
fn version_strings_come_from_the_image() {
    let (_, lg) = build(&lg_like());
    let get = |k: &str| {
        lg.version_strings
            .iter()
            .filter(|v| v.key == k)
            .map(|v| v.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        get("QC_IMAGE_VERSION_STRING"),
        vec!["BOOT.XF.2.0-OASIS-SDM845".to_owned()]
    );
    let none = ProgrammerSpec {
        version_string: None,
        ..ProgrammerSpec::generic()
    };
    assert!(build(&none).1.version_strings.is_empty());
}

#[test]
fn json_uses_the_agreed_keys_and_hex_widths() {
    let (p, lg) = build(&lg_like());
    let v = serde_json::to_value(&lg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["hw_id"], "0008b0e100310000");
    assert_eq!(v["oem_id"], "0031");
    assert_eq!(v["model_id"], "0000");
    assert_eq!(v["sw_id"], "0000000000000003");
    assert_eq!(v["pk_hash_sha256"], p.pk_sha256());
    assert_eq!(v["pk_hash_sha384"], p.pk_sha384());
    assert_eq!(v["pk_hash_sha384"].as_str().map(str::len), Some(96));
    assert_eq!(v["signed"], true);
    assert_eq!(v["mbn_version"], 5);
    assert_eq!(v["chip"], "SDM845");
    assert_eq!(v["container"], "elf64");
    assert_eq!(v["kind"], "firehose");
    assert_eq!(v["image_id"], 13);
    assert_eq!(v["hash_alg"], "sha256");
    assert_eq!(
        v["root_subject"]
            .as_str()
            .map(|s| s.ends_with("CN=Oasis OEM 0031 Root CA")),
        Some(true)
    );
    assert_eq!(v["debug"], "0000000000000000");
    assert!(v["in_use_soc_hw_version"].is_null());
    assert_eq!(v["certificates"][2]["der_len"], p.root_der.len());
    assert_eq!(
        v["certificates"][0]["subject_cn"][0],
        "Oasis Testkit Attestation"
    );
    assert_eq!(
        v["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&p.bytes))
    );
    assert!(
        v["version_strings"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let (_, raw) = build(&ProgrammerSpec::raw(0x0080_50E1_0004_0002, 4, 2));
    let raw = serde_json::to_value(raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(raw["container"], "mbn");
    assert!(raw["mbn_version"].is_null());
    let back: ProgrammerIdentity = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, lg);
}

#[test]
fn from_path_errors_name_the_path() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let missing = tmp.path().join("does-not-exist.mbn");
    let e = ProgrammerIdentity::from_path(&missing)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("does-not-exist.mbn: cannot read programmer"),
        "{e}"
    );
    let xml = tmp.path().join("rawprogram0.xml");
    std::fs::write(&xml, "<?xml version=\"1.0\" ?>\n<data/>\n").unwrap_or_else(|e| panic!("{e}"));
    let err = ProgrammerIdentity::from_path(&xml).err();
    let e = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(
        e.contains("rawprogram0.xml: not a programmer image: first bytes 3c 3f 78 6d"),
        "{e}"
    );
    assert_eq!(
        err.as_ref().and_then(ProgrammerError::file),
        Some(xml.as_path())
    );
}

#[test]
fn test_signed_wildcard_fits_an_ec25_with_the_test_root() {
    let (_, generic) = build(&ProgrammerSpec::generic());
    let v = generic.fits(EC25_HWID, &unhex(EC25_PK));
    assert_eq!(v.level, FitLevel::Fits, "{v:#?}");
    assert!(v.board_test_root.is_some());
    // A board fused to an OEM root refuses it.
    let (lg, _) = build(&lg_like());
    let v = generic.fits(EC25_HWID, &lg.pk_sha256_bytes());
    assert_eq!(v.outcome("pk_hash"), Some(CheckOutcome::Fail), "{v:#?}");
    assert!(v.is_mismatch());
}

#[test]
fn oem_signed_programmer_needs_its_chip_oem_and_root() {
    let (p, lg) = build(&lg_like());
    let root256 = p.pk_sha256_bytes();
    let root384 = p.pk_sha384_bytes();
    let board = 0x0008_B0E1_0031_0000;
    assert!(lg.fits(board, &root256).fits());
    assert!(
        lg.fits(board, &root384).fits(),
        "compared on the reported digest length"
    );
    // Device padding (48 bytes of hash, zeros to 128) is trimmed.
    let padded = [root384.clone(), vec![0; 80]].concat();
    assert!(lg.fits(board, &padded).fits());
    let other_chip = lg.fits(0x0005_E0E1_0031_0000, &root256);
    assert_eq!(other_chip.outcome("chip"), Some(CheckOutcome::Fail));
    let other_oem = lg.fits(0x0008_B0E1_0004_0000, &root256);
    assert_eq!(other_oem.outcome("oem_id"), Some(CheckOutcome::Fail));
    assert_eq!(other_oem.failures().count(), 1);
    let other_model = lg.fits(0x0008_B0E1_0031_0007, &root256);
    assert_eq!(other_model.level, FitLevel::Uncertain);
    assert!(
        other_oem.summary().starts_with(
            "programmer does not fit this board: programmer OEM_ID 0031, board OEM_ID 0004"
        ),
        "{}",
        other_oem.summary()
    );
    assert_eq!(
        lg.fits(board, &root256).summary(),
        "programmer fits this board"
    );
    let no_pk = lg.fits(board, &[0; 32]);
    assert_eq!(no_pk.outcome("pk_hash"), Some(CheckOutcome::Unknown));
}

#[test]
fn moto_name_prefix_is_the_sha384_root() {
    // The OU says SHA256 but a board that reports a 48-byte PK hash is compared on SHA-384.
    let (p, moto) = build(&moto_like());
    let pk = p.pk_sha384_bytes();
    assert_eq!(moto.pk_hash_for_len(48), Some(p.pk_sha384().as_str()));
    assert!(moto.fits(0x0010_A0E1_02E8_0000, &pk).fits());
}

#[test]
fn soc_version_bound_programmer_checks_the_chip_family() {
    let (p, bg95) = build(&bg95_like());
    let own_root = p.pk_sha384_bytes();
    let v = bg95.fits(0x0010_70E1_0000_0000, &own_root);
    assert_eq!(v.level, FitLevel::Fits, "{v:#?}");
    let v = bg95.fits(EC25_HWID, &unhex(EC25_PK));
    assert_eq!(v.outcome("chip"), Some(CheckOutcome::Fail), "{v:#?}");
}

#[test]
fn nprg_and_unsigned_programmers_are_flagged() {
    let (_, nprg) = build(&ProgrammerSpec::nprg());
    let v = nprg.fits(EC25_HWID, &unhex(EC25_PK));
    assert_eq!(v.outcome("kind"), Some(CheckOutcome::Fail));
    let (_, u) = build(&ProgrammerSpec::unsigned());
    let v = u.fits(EC25_HWID, &unhex(EC25_PK));
    assert_eq!(v.outcome("pk_hash"), Some(CheckOutcome::Pass));
    assert_eq!(v.outcome("chip"), Some(CheckOutcome::Unknown));
    assert_eq!(v.level, FitLevel::Uncertain);
    let (raw, _) = build(&ProgrammerSpec::raw(0x0080_50E1_0004_0002, 4, 2));
    let v = u.fits(EC25_HWID, &raw.pk_sha256_bytes());
    assert_eq!(v.outcome("pk_hash"), Some(CheckOutcome::Fail));
}
