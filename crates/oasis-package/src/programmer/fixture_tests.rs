//! Tests on the real programmers of the real-world corpus (`OASIS_REALWORLD`, see
//! docs/protocol.md), driven by its expected/loaders.json field by field. Ignored unless the
//! corpus is given; the kit-generated equivalents are in `kit_tests.rs`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

/// A file of the real-world corpus (empty base when `OASIS_REALWORLD` is unset; the tests that
/// call this return early in that case).
pub(super) fn fixture(rel: &str) -> PathBuf {
    let base = std::env::var_os("OASIS_REALWORLD").unwrap_or_default();
    Path::new(&base).join(rel)
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("expected/loaders.json"))
        .expect("read expected/loaders.json");
    serde_json::from_str(&text).expect("parse loaders.json")
}

fn identify(rel: &str) -> ProgrammerIdentity {
    ProgrammerIdentity::from_path(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn hex_u64(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The programmer-relative paths of every entry, checked to cover all programmer fixtures.
#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_expected_json_covers_every_programmer_fixture() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_expected_json_covers_every_programmer_fixture")
    else {
        return;
    };
    let exp = expected();
    let listed: Vec<&str> = exp["loaders"]
        .as_array()
        .expect("loaders")
        .iter()
        .map(|l| l["path"].as_str().expect("path"))
        .collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture("loaders"))
        .expect("loaders dir")
        .map(|e| {
            format!(
                "loaders/{}",
                e.expect("entry").file_name().to_string_lossy()
            )
        })
        .collect();
    on_disk
        .push("xml/quectel-eg25g-nand-2022/update/firehose/prog_nand_firehose_9x07.mbn".to_owned());
    for e in std::fs::read_dir(fixture("xml/uz801-emmc")).expect("uz801 dir") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        if name.ends_with(".bin") {
            on_disk.push(format!("xml/uz801-emmc/{name}"));
        }
    }
    for p in &on_disk {
        assert!(listed.contains(&p.as_str()), "{p} is not in loaders.json");
    }
    assert_eq!(listed.len(), on_disk.len());
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_every_programmer_matches_expected_loaders_json() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_every_programmer_matches_expected_loaders_json")
    else {
        return;
    };
    let exp = expected();
    for entry in exp["loaders"].as_array().expect("loaders") {
        let rel = entry["path"].as_str().expect("path");
        let id = identify(rel);
        check_entry(rel, entry, &id);
    }
}

fn check_entry(rel: &str, e: &Value, id: &ProgrammerIdentity) {
    assert_eq!(id.size, num(&e["size"]), "{rel}: size");
    assert_eq!(
        id.sha256,
        e["sha256"].as_str().expect("sha256"),
        "{rel}: sha256"
    );
    let container = match e["container"].as_str().expect("container") {
        "ELF32" => Container::Elf32,
        "ELF64" => Container::Elf64,
        "raw (non-ELF)" => Container::Mbn,
        other => panic!("{rel}: unknown container {other}"),
    };
    assert_eq!(id.container, container, "{rel}: container");
    assert_eq!(
        id.mbn_version.map(u64::from),
        e["mbn_header_version"].as_u64(),
        "{rel}: mbn version"
    );
    check_hash_segment(rel, &e["hash_segment"], id);
    check_mbn_header(rel, &e["mbn_header"], id);
    check_oem_metadata(rel, &e["oem_metadata_v6"], id);
    check_raw_words(rel, &e["raw_first_words"], id);
    check_certs(rel, e, id);
    check_ou_fields(rel, &e["attestation_ou_fields"], id);
    assert_eq!(id.hw_id.as_deref(), e["hw_id"].as_str(), "{rel}: hw_id");
    let source = match e["hw_id_source"].as_str() {
        None => None,
        Some("attestation OU 02 HW_ID") => Some(HwIdSource::AttestationOu),
        Some(s) if s.starts_with("MBN v6 OEM metadata") => Some(HwIdSource::OemMetadata),
        Some(s) => panic!("{rel}: unknown hw_id_source {s}"),
    };
    assert_eq!(id.hw_id_source, source, "{rel}: hw_id source");
    assert_eq!(
        id.pk_hash_sha256.as_deref(),
        e["root_cert_sha256"].as_str(),
        "{rel}: root sha256"
    );
    assert_eq!(
        id.pk_hash_sha384.as_deref(),
        e["root_cert_sha384"].as_str(),
        "{rel}: root sha384"
    );
    let alg = match e["declared_or_implied_pk_hash_alg"].as_str() {
        None => None,
        Some("sha256") => Some(HashAlg::Sha256),
        Some("sha384") => Some(HashAlg::Sha384),
        Some(s) => panic!("{rel}: unknown alg {s}"),
    };
    assert_eq!(id.hash_alg, alg, "{rel}: hash alg");
    assert_eq!(id.signed, num(&e["cert_count"]) > 0, "{rel}: signed");
    check_filename_findings(rel, e, id);
}

fn check_hash_segment(rel: &str, h: &Value, id: &ProgrammerIdentity) {
    if h.is_null() {
        assert!(id.hash_segment.is_none(), "{rel}: unexpected hash segment");
        return;
    }
    let seg = id
        .hash_segment
        .as_ref()
        .unwrap_or_else(|| panic!("{rel}: no hash segment"));
    assert_eq!(seg.offset, num(&h["offset"]), "{rel}: hash segment offset");
    assert_eq!(seg.size, num(&h["size"]), "{rel}: hash segment size");
    assert_eq!(
        u64::from(seg.p_flags),
        hex_u64(&h["p_flags"]),
        "{rel}: p_flags"
    );
}

fn check_mbn_header(rel: &str, h: &Value, id: &ProgrammerIdentity) {
    if h.is_null() {
        assert!(id.mbn_header.is_none(), "{rel}: unexpected MBN header");
        return;
    }
    let m = id
        .mbn_header
        .as_ref()
        .unwrap_or_else(|| panic!("{rel}: no MBN header"));
    for (key, want) in h.as_object().expect("mbn_header object") {
        let got = match key.as_str() {
            "image_id" => m.image_id,
            "version" => m.version,
            "image_size" => m.image_size,
            "code_size" => m.code_size,
            "sig_size" => m.sig_size,
            "cert_chain_size" => m.cert_chain_size,
            "sig_size_qti" => m.qti_sig_size,
            "cert_chain_size_qti" => m.qti_cert_chain_size,
            "metadata_size_qti" => m.qti_metadata_size,
            "metadata_size" => m.oem_metadata_size,
            other => panic!("{rel}: unmapped mbn_header field {other}"),
        };
        assert_eq!(u64::from(got), num(want), "{rel}: mbn_header.{key}");
    }
}

fn check_oem_metadata(rel: &str, h: &Value, id: &ProgrammerIdentity) {
    if h.is_null() {
        assert!(id.oem_metadata.is_none(), "{rel}: unexpected OEM metadata");
        return;
    }
    let m = id
        .oem_metadata
        .as_ref()
        .unwrap_or_else(|| panic!("{rel}: no OEM metadata"));
    for (key, want) in h.as_object().expect("oem_metadata object") {
        let got = match key.as_str() {
            "major" => m.major,
            "minor" => m.minor,
            "sw_id" => m.sw_id,
            "hw_id" => m.hw_id,
            "oem_id" => m.oem_id,
            "model_id" => m.model_id,
            "app_id" => m.app_id,
            "flags" => m.flags,
            other => panic!("{rel}: unmapped oem_metadata field {other}"),
        };
        let want = if want.is_string() {
            hex_u64(want)
        } else {
            num(want)
        };
        assert_eq!(u64::from(got), want, "{rel}: oem_metadata.{key}");
    }
}

fn check_raw_words(rel: &str, w: &Value, id: &ProgrammerIdentity) {
    if w.is_null() {
        assert!(id.raw_header.is_none(), "{rel}: unexpected raw header");
        return;
    }
    let r = id
        .raw_header
        .as_ref()
        .unwrap_or_else(|| panic!("{rel}: no raw header"));
    let want: Vec<u64> = w
        .as_array()
        .expect("raw words")
        .iter()
        .map(hex_u64)
        .collect();
    assert_eq!(
        want,
        vec![
            u64::from(r.codeword),
            u64::from(r.magic),
            u64::from(r.image_id)
        ],
        "{rel}: raw words"
    );
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

fn check_certs(rel: &str, e: &Value, id: &ProgrammerIdentity) {
    let certs = e["certs"].as_array().expect("certs");
    assert_eq!(
        id.certificates.len() as u64,
        num(&e["cert_count"]),
        "{rel}: cert count"
    );
    assert_eq!(id.certificates.len(), certs.len(), "{rel}: certs");
    for (i, (got, want)) in id.certificates.iter().zip(certs).enumerate() {
        assert_eq!(
            got.offset,
            num(&want["offset_in_file"]),
            "{rel}: cert {i} offset"
        );
        assert_eq!(
            got.der_len,
            num(&want["der_len"]),
            "{rel}: cert {i} der_len"
        );
        assert_eq!(
            got.subject_cn,
            strings(&want["subject_CN"]),
            "{rel}: cert {i} CN"
        );
        assert_eq!(
            got.subject_ou,
            strings(&want["subject_OU"]),
            "{rel}: cert {i} OU"
        );
        assert_eq!(
            got.sha256,
            want["der_sha256"].as_str().expect("der_sha256"),
            "{rel}: cert {i} sha256"
        );
    }
    if let Some(last) = id.certificates.last() {
        // In every fixture the root is the last certificate and it is self-signed.
        assert!(last.self_signed, "{rel}: root not self-signed");
        assert_eq!(
            id.root_index,
            Some(id.certificates.len() - 1),
            "{rel}: root index"
        );
    }
}

/// Expected fields whose value is hex are real `NN <hex> NAME` fields; others ("attestation": "LGE")
/// come from the independent parser splitting free text and must not appear.
fn check_ou_fields(rel: &str, want: &Value, id: &ProgrammerIdentity) {
    let Some(obj) = want.as_object() else {
        assert!(id.ou_fields.is_empty(), "{rel}: unexpected OU fields");
        return;
    };
    let real: Vec<(&String, &str)> = obj
        .iter()
        .map(|(k, v)| (k, v.as_str().expect("OU value")))
        .filter(|(_, v)| v.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    assert_eq!(id.ou_fields.len(), real.len(), "{rel}: OU field count");
    for (name, value) in real {
        let f = id
            .ou_fields
            .iter()
            .find(|f| &f.name == name)
            .unwrap_or_else(|| panic!("{rel}: OU {name} missing"));
        assert_eq!(f.value, value, "{rel}: OU {name}");
    }
}

/// The name's HWID and PK prefix agree with the contents exactly when loaders.json says so.
fn check_filename_findings(rel: &str, e: &Value, id: &ProgrammerIdentity) {
    if let Some(name_hw) = e["filename_hwid"].as_str() {
        let matches = id.hw_id.as_deref() == Some(name_hw);
        assert_eq!(
            Some(matches),
            e["filename_hwid_matches_contents"].as_bool(),
            "{rel}: filename hwid"
        );
    }
    if let Some(prefix) = e["filename_pk_prefix"].as_str() {
        let starts = |h: &Option<String>| h.as_deref().is_some_and(|h| h.starts_with(prefix));
        let matches = starts(&id.pk_hash_sha256) || starts(&id.pk_hash_sha384);
        assert_eq!(
            Some(matches),
            e["filename_pk_prefix_matches_sha256_or_sha384_of_root"].as_bool(),
            "{rel}: filename pk"
        );
    }
}
