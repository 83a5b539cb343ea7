//! Identity and fit tests on the real programmers of the real-world corpus (`OASIS_REALWORLD`);
//! ignored without it. The kit-generated equivalents keep the original names in `identity_tests.rs`.

use super::fixture_tests::fixture;
use super::*;

const EC25_9X07: &str = "loaders/000480e100000000_cc3153a80293939b_fhprg_9x07.mbn";
const LG_845: &str = "loaders/0008b0e100310000_1030cd12ce708f29_fhprg.bin";
const BG95_9X05: &str = "loaders/001070e100000000_d40eee56f3194665_prog_firehose_nand_mdm9x05.elf";
const MOTO: &str = "loaders/0010a0e102e80000_974359c4290cac7f_fhprg.bin";
const ZTE_RAW: &str = "loaders/008050e100040002_6923f496fbd6fb14_fhprg.bin";
const NPRG: &str = "loaders/NPRG9x06_bg96.mbn";
const EG25_UNSIGNED: &str =
    "xml/quectel-eg25g-nand-2022/update/firehose/prog_nand_firehose_9x07.mbn";

/// EC25's Sahara values (protocols.md §1.5, transcripts/issue-excerpts/edl-ec25e-…).
const EC25_HWID: u64 = 0x0004_80E1_0000_0000;
const EC25_PK: &str = "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f";

fn id(rel: &str) -> ProgrammerIdentity {
    ProgrammerIdentity::from_path(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_kinds_chips_and_algorithms() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_kinds_chips_and_algorithms") else {
        return;
    };
    let nprg = id(NPRG);
    assert_eq!(nprg.kind, ProgrammerKind::Nprg);
    assert!(!nprg.is_firehose());
    assert_eq!(nprg.image_id, Some(7));
    for rel in [EC25_9X07, LG_845, BG95_9X05, MOTO, ZTE_RAW, EG25_UNSIGNED] {
        assert_eq!(id(rel).kind, ProgrammerKind::Firehose, "{rel}");
    }
    assert_eq!(id(LG_845).chip.as_deref(), Some("SDM845"));
    assert_eq!(id(ZTE_RAW).chip.as_deref(), Some("MSM8226"));
    assert_eq!(id(ZTE_RAW).container, Container::Mbn);
    assert_eq!(id(ZTE_RAW).image_id, Some(13));
    // HW-agnostic test-signed MDM9x07 image: no chip stated.
    assert_eq!(id(EC25_9X07).chip, None);
    // MDM9x05: hw_id 0 but bound to SoC version 0x2013.
    let bg95 = id(BG95_9X05);
    assert_eq!(bg95.chip.as_deref(), Some("MDM9205"));
    assert_eq!(bg95.in_use_soc_hw_version, Some(true));
    assert_eq!(bg95.soc_hw_versions, vec!["2013".to_owned()]);
    assert_eq!(bg95.sw_id.as_deref(), Some("0000000000000003"));
    assert_eq!(bg95.debug.as_deref(), Some("0000000000000001"));
    assert_eq!(
        bg95.root_subject.as_deref(),
        Some(
            "C=US, CN=Generated Test Root CA, OU=CDMA Technologies, OU=General Use Test Key (for testing only), L=San Diego, O=SecTools, ST=California"
        )
    );
    // Moto: OU says SHA256 though metadata exists.
    let moto = id(MOTO);
    assert_eq!(moto.hash_alg, Some(HashAlg::Sha256));
    assert_eq!(moto.oem_id.as_deref(), Some("02e8"));
    assert_eq!(moto.debug.as_deref(), Some("0000000000000002"));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_unsigned_programmer_is_reported_without_made_up_identity() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_unsigned_programmer_is_reported_without_made_up_identity",
    ) else {
        return;
    };
    let u = id(EG25_UNSIGNED);
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
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_version_strings_come_from_the_image() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_version_strings_come_from_the_image")
    else {
        return;
    };
    let lg = id(LG_845);
    let get = |k: &str| {
        lg.version_strings
            .iter()
            .filter(|v| v.key == k)
            .map(|v| v.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        get("OEM_IMAGE_VERSION_STRING"),
        vec!["LGEACI1R11".to_owned(), "CRM".to_owned()]
    );
    assert!(get("IMAGE_VARIANT_STRING").contains(&"SDM845LA".to_owned()));
    assert!(
        get("QC_IMAGE_VERSION_STRING").contains(&"BOOT.XF.2.0.c3-00002-SDM845LZB-1".to_owned())
    );
    assert!(id(EC25_9X07).version_strings.is_empty());
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_json_uses_the_agreed_keys_and_hex_widths() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_json_uses_the_agreed_keys_and_hex_widths")
    else {
        return;
    };
    let v = serde_json::to_value(id(LG_845)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["hw_id"], "0008b0e100310000");
    assert_eq!(v["oem_id"], "0031");
    assert_eq!(v["model_id"], "0000");
    assert_eq!(v["sw_id"], "0000000000000003");
    assert_eq!(
        v["pk_hash_sha256"],
        "1030cd12ce708f29d6914d7529df75149d8ef91c27daf0e1f84b90f4b707329a"
    );
    assert_eq!(v["pk_hash_sha384"].as_str().map(str::len), Some(96));
    assert_eq!(v["signed"], true);
    assert_eq!(v["mbn_version"], 5);
    assert_eq!(v["chip"], "SDM845");
    assert_eq!(v["container"], "elf64");
    assert_eq!(v["kind"], "firehose");
    assert_eq!(v["image_id"], 5);
    assert_eq!(v["hash_alg"], "sha256");
    assert_eq!(
        v["root_subject"]
            .as_str()
            .map(|s| s.starts_with("CN=LGE ROOT CA")),
        Some(true)
    );
    assert_eq!(v["debug"], "0000000000000002");
    assert!(v["in_use_soc_hw_version"].is_null());
    assert_eq!(v["certificates"][2]["der_len"], 1051);
    assert_eq!(v["certificates"][0]["subject_cn"][0], "daye.choi");
    assert_eq!(
        v["sha256"],
        "82808c5e09cd6a0743e8bde37d72177fa4fdd6612af4637191f264667ee1da13"
    );
    assert!(
        v["version_strings"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let raw = serde_json::to_value(id(ZTE_RAW)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(raw["container"], "mbn");
    assert!(raw["mbn_version"].is_null());
    let back: ProgrammerIdentity = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, id(LG_845));
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_from_path_errors_name_the_path() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_from_path_errors_name_the_path") else {
        return;
    };
    let missing = fixture("loaders/does-not-exist.mbn");
    let e = ProgrammerIdentity::from_path(&missing)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("does-not-exist.mbn: cannot read programmer"),
        "{e}"
    );
    let xml = fixture("xml/uz801-emmc/rawprogram0.xml");
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
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_test_signed_wildcard_fits_an_ec25_with_the_test_root() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_test_signed_wildcard_fits_an_ec25_with_the_test_root")
    else {
        return;
    };
    let v = id(EC25_9X07).fits(EC25_HWID, &unhex(EC25_PK));
    assert_eq!(v.level, FitLevel::Fits, "{v:#?}");
    assert!(v.board_test_root.is_some());
    // A board fused to an OEM root refuses it.
    let lg_root = unhex("1030cd12ce708f29d6914d7529df75149d8ef91c27daf0e1f84b90f4b707329a");
    let v = id(EC25_9X07).fits(EC25_HWID, &lg_root);
    assert_eq!(v.outcome("pk_hash"), Some(CheckOutcome::Fail), "{v:#?}");
    assert!(v.is_mismatch());
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_oem_signed_programmer_needs_its_chip_oem_and_root() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_oem_signed_programmer_needs_its_chip_oem_and_root")
    else {
        return;
    };
    let lg = id(LG_845);
    let root256 = unhex(lg.pk_hash_sha256.as_deref().unwrap_or_default());
    let root384 = unhex(lg.pk_hash_sha384.as_deref().unwrap_or_default());
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
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_moto_name_prefix_is_the_sha384_root() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_moto_name_prefix_is_the_sha384_root")
    else {
        return;
    };
    // Finding 2: the OU says SHA256 but boards of this family report the SHA-384 root hash.
    let moto = id(MOTO);
    let pk = unhex(moto.pk_hash_sha384.as_deref().unwrap_or_default());
    assert!(hex::encode(&pk).starts_with("974359c4290cac7f"));
    assert!(moto.fits(0x0010_A0E1_02E8_0000, &pk).fits());
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_soc_version_bound_programmer_checks_the_chip_family() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_soc_version_bound_programmer_checks_the_chip_family")
    else {
        return;
    };
    let bg95 = id(BG95_9X05);
    let own_root = unhex(bg95.pk_hash_sha384.as_deref().unwrap_or_default());
    let v = bg95.fits(0x0010_70E1_0000_0000, &own_root);
    assert_eq!(v.level, FitLevel::Fits, "{v:#?}");
    let v = bg95.fits(EC25_HWID, &unhex(EC25_PK));
    assert_eq!(v.outcome("chip"), Some(CheckOutcome::Fail), "{v:#?}");
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_nprg_and_unsigned_programmers_are_flagged() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_nprg_and_unsigned_programmers_are_flagged")
    else {
        return;
    };
    let v = id(NPRG).fits(EC25_HWID, &unhex(EC25_PK));
    assert_eq!(v.outcome("kind"), Some(CheckOutcome::Fail));
    let u = id(EG25_UNSIGNED);
    let v = u.fits(EC25_HWID, &unhex(EC25_PK));
    assert_eq!(v.outcome("pk_hash"), Some(CheckOutcome::Pass));
    assert_eq!(v.outcome("chip"), Some(CheckOutcome::Unknown));
    assert_eq!(v.level, FitLevel::Uncertain);
    let fused = unhex("6923f496fbd6fb14762fcc7ae29dd4fc347044cf79e8091dbcab98bdb137cabb");
    let v = u.fits(EC25_HWID, &fused);
    assert_eq!(v.outcome("pk_hash"), Some(CheckOutcome::Fail));
}
