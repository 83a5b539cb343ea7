//! Every kit-generated programmer (oasis-testkit), field by field against what the kit wrote:
//! container, header version, hash segment, chain, root hash, identity fields and their source.

use oasis_testkit::programmer::{Container as KitContainer, ProgrammerSpec};

use super::*;

fn check(name: &str, spec: &ProgrammerSpec) {
    let p = spec.build();
    let id = ProgrammerIdentity::from_bytes(&p.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(id.size, p.bytes.len() as u64, "{name}: size");
    let container = match spec.container {
        KitContainer::Elf32 => Container::Elf32,
        KitContainer::Elf64 => Container::Elf64,
        KitContainer::Raw => Container::Mbn,
    };
    assert_eq!(id.container, container, "{name}: container");
    if spec.container == KitContainer::Raw {
        assert_eq!(id.mbn_version, None, "{name}");
        let h = id.raw_header.as_ref().unwrap_or_else(|| panic!("{name}"));
        assert_eq!((h.codeword, h.image_id), (0x844B_DCD1, spec.image_id));
    } else {
        assert_eq!(id.mbn_version, Some(spec.mbn_version), "{name}: version");
        let seg = id.hash_segment.as_ref().unwrap_or_else(|| panic!("{name}"));
        assert_eq!(
            (seg.offset, seg.size),
            p.hash_segment,
            "{name}: hash segment"
        );
        assert_eq!(seg.p_flags, spec.hash_flags, "{name}: p_flags");
        assert_eq!(id.image_id, Some(spec.image_id), "{name}: image id");
    }
    assert_eq!(id.signed, spec.signed, "{name}: signed");
    assert_eq!(id.certificates.len(), p.cert_count, "{name}: certificates");
    if spec.signed {
        assert_eq!(id.certificates[0].offset, p.chain.0, "{name}: chain offset");
        assert_eq!(
            id.pk_hash_sha256.as_deref(),
            Some(p.pk_sha256().as_str()),
            "{name}: root sha256"
        );
        assert_eq!(
            id.pk_hash_sha384.as_deref(),
            Some(p.pk_sha384().as_str()),
            "{name}: root sha384"
        );
        assert_eq!(
            id.root_index,
            Some(p.cert_count - 1),
            "{name}: root is last"
        );
        let root = &id.certificates[p.cert_count - 1];
        assert!(root.self_signed, "{name}");
        assert_eq!(root.der_len, p.root_der.len() as u64);
        assert_eq!(root.subject_cn, vec![spec.root_cn.clone()], "{name}");
        let ou: Vec<String> = id.certificates[0].subject_ou.clone();
        assert_eq!(ou, spec.attestation_ou, "{name}: attestation OU");
        assert_eq!(id.ou_fields.len(), spec.attestation_ou.len(), "{name}");
    } else {
        assert!(id.pk_hash_sha256.is_none() && id.root_subject.is_none());
    }
    // HW_ID: the OU field wins, then v6 metadata, else none.
    let ou_hw = spec
        .attestation_ou
        .iter()
        .find(|f| f.ends_with(" HW_ID"))
        .and_then(|f| f.split_whitespace().nth(1))
        .map(str::to_ascii_lowercase);
    let meta_hw = spec
        .oem_metadata
        .as_ref()
        .filter(|_| spec.mbn_version == 6 && spec.container != KitContainer::Raw)
        .map(|m| {
            format!(
                "{:016x}",
                (u64::from(m.hw_id) << 32) | (u64::from(m.oem_id) << 16) | u64::from(m.model_id)
            )
        });
    let (want, source) = match (spec.signed, ou_hw, meta_hw) {
        (true, Some(h), _) => (Some(h), Some(HwIdSource::AttestationOu)),
        (_, _, Some(h)) => (Some(h), Some(HwIdSource::OemMetadata)),
        _ => (None, None),
    };
    assert_eq!(id.hw_id, want, "{name}: hw_id");
    assert_eq!(id.hw_id_source, source, "{name}: hw_id source");
    let kind = match spec.image_id {
        13 => ProgrammerKind::Firehose,
        7 => ProgrammerKind::Nprg,
        11 => ProgrammerKind::Enprg,
        _ if spec.firehose_strings => ProgrammerKind::Firehose,
        _ => ProgrammerKind::Unknown,
    };
    assert_eq!(id.kind, kind, "{name}: kind");
    if let Some(v) = &spec.version_string {
        assert!(
            id.version_strings.iter().any(|s| &s.value == v),
            "{name}: {:?}",
            id.version_strings
        );
    }
}

#[test]
fn every_kit_programmer_parses_to_what_was_generated() {
    let all = oasis_testkit::corpus::programmers();
    assert!(all.len() >= 8);
    for (name, spec) in &all {
        check(name, spec);
    }
}

#[test]
fn v6_metadata_and_v7_common_metadata_are_read() {
    let p = ProgrammerSpec::v6_metadata(0x0010_70E1, 0x0012, 0x0034).build();
    let id = ProgrammerIdentity::from_bytes(&p.bytes).unwrap_or_else(|e| panic!("{e}"));
    let m = id
        .oem_metadata
        .as_ref()
        .unwrap_or_else(|| panic!("no metadata"));
    assert_eq!(
        (m.hw_id, m.oem_id, m.model_id, m.sw_id),
        (0x0010_70E1, 0x12, 0x34, 3)
    );
    assert_eq!(id.hw_id.as_deref(), Some("001070e100120034"));
    assert_eq!(id.hash_alg, Some(HashAlg::Sha384));
    let p = ProgrammerSpec::v7().build();
    let id = ProgrammerIdentity::from_bytes(&p.bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id.mbn_version, Some(7));
    assert_eq!(
        id.common_metadata
            .as_ref()
            .map(|c| (c.sw_id, c.hash_table_algorithm)),
        Some((3, 3))
    );
    assert_eq!(id.mbn_header.as_ref().map(|h| h.header_len), Some(64));
}

#[test]
fn other_hash_segment_flag_values_are_still_found() {
    for flags in [0x0200_0000, 0x0220_0000, 0x0280_0005] {
        let p = ProgrammerSpec {
            hash_flags: flags,
            ..ProgrammerSpec::generic()
        }
        .build();
        let id = ProgrammerIdentity::from_bytes(&p.bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id.hash_segment.map(|h| h.p_flags), Some(flags));
        assert!(id.signed);
    }
}
