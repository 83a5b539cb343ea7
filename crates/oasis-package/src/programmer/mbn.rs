//! MBN hash-segment header (v3, v5, v6, v7/v8), v6 OEM metadata, v7 common metadata, and the body layout.

use serde::{Deserialize, Serialize};

use super::container::{HashSegment, slice, u32_at};
use super::error::{ProgrammerError, out_of_range, truncated};

/// The MBN header at the start of the hash segment, normalised over versions.
///
/// Field names follow the v3 header; sizes that a version lacks are 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MbnHeader {
    /// Header version (3, 5, 6, 7 or 8).
    pub version: u32,
    /// Word 0. In v3 the image id (13 = Firehose, 7 = NPRG, 11 = ENPRG); later versions put other values here.
    pub image_id: u32,
    /// File offset of the header.
    pub offset: u64,
    /// Header length in bytes (40, 48, or 40 + common metadata for v7).
    pub header_len: u32,
    /// v3/v5/v6 `image_size` (hash table + signatures + chains); 0 for v7.
    pub image_size: u32,
    /// Hash table size (`code_size` / `hash_size`).
    pub code_size: u32,
    /// OEM signature size.
    pub sig_size: u32,
    /// OEM certificate chain size (padded allocation).
    pub cert_chain_size: u32,
    /// QTI signature size (v5+).
    pub qti_sig_size: u32,
    /// QTI certificate chain size (v5+).
    pub qti_cert_chain_size: u32,
    /// QTI metadata size (v6+).
    pub qti_metadata_size: u32,
    /// OEM metadata size (v6+; 120 for the 0.0 layout).
    pub oem_metadata_size: u32,
    /// Common metadata size (v7+; 24 bytes).
    pub common_metadata_size: u32,
}

/// MBN v6 OEM metadata (layout 0.0, 120 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OemMetadata {
    /// Metadata major version (0 for the 120-byte layout).
    pub major: u32,
    /// Metadata minor version.
    pub minor: u32,
    /// Software id (3 = Firehose programmer).
    pub sw_id: u32,
    /// JTAG MSM id (0 = any).
    pub hw_id: u32,
    /// OEM id.
    pub oem_id: u32,
    /// Model id.
    pub model_id: u32,
    /// Application id.
    pub app_id: u32,
    /// Flags: bit0 rot_en, bit1 in-use SoC hw version, bit2 use serial number, bit3 OEM-id independent,
    /// bits4-5 root revoke, bits6-7 UIE key switch, bits8-9 debug.
    pub flags: u32,
    /// Non-zero SoC hardware versions (family codes such as 0x2013).
    pub soc_vers: Vec<u32>,
    /// Non-zero serial numbers the image is bound to.
    pub serial_numbers: Vec<u32>,
    /// Root key index.
    pub mrc_index: u32,
    /// Anti-rollback version.
    pub anti_rollback_version: u32,
}

impl OemMetadata {
    /// Flag bit 1: the image is bound to SoC hardware versions, not to the JTAG id.
    pub fn in_use_soc_hw_version(&self) -> bool {
        self.flags & 0x2 != 0
    }
    /// Flag bits 8-9: the debug setting.
    pub fn debug(&self) -> u32 {
        (self.flags >> 8) & 0x3
    }
}

/// MBN v7 common metadata (24 bytes). Layout taken from public signing tools; not seen in our fixtures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommonMetadata {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Software id.
    pub sw_id: u32,
    /// Application id.
    pub app_id: u32,
    /// Hash table algorithm (2 = SHA-256, 3 = SHA-384 \[unconfirmed\]).
    pub hash_table_algorithm: u32,
    /// Measurement register.
    pub measurement_register: u32,
}

/// Which certificate chain the identity was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChainOwner {
    /// The OEM chain (the usual one).
    Oem,
    /// The QTI chain (images signed by Qualcomm only).
    Qti,
}

/// The hash segment, parsed.
#[derive(Debug)]
pub(super) struct ParsedSegment {
    pub header: MbnHeader,
    pub oem_metadata: Option<OemMetadata>,
    pub common_metadata: Option<CommonMetadata>,
    /// File region (offset, size) of the chosen certificate chain; size 0 = none.
    pub chain: (u64, u64),
    pub chain_owner: Option<ChainOwner>,
}

/// Byte length of the v6 OEM metadata layout 0.0.
const OEM_METADATA_LEN: u64 = 120;

/// Parse the MBN header at the start of `seg` and work out where each body part lies.
pub(super) fn parse_segment(
    data: &[u8],
    seg: &HashSegment,
) -> Result<ParsedSegment, ProgrammerError> {
    let w = header_words(data, seg)?;
    let mut h = MbnHeader {
        version: w[1],
        image_id: w[0],
        offset: seg.offset,
        header_len: 40,
        image_size: 0,
        code_size: 0,
        sig_size: 0,
        cert_chain_size: 0,
        qti_sig_size: 0,
        qti_cert_chain_size: 0,
        qti_metadata_size: 0,
        oem_metadata_size: 0,
        common_metadata_size: 0,
    };
    if h.version >= 7 {
        // [unconfirmed] v7/v8: 10 words then the common metadata (24 bytes in known images).
        h.common_metadata_size = w[2];
        h.qti_metadata_size = w[3];
        h.oem_metadata_size = w[4];
        h.code_size = w[5];
        h.qti_sig_size = w[6];
        h.qti_cert_chain_size = w[7];
        h.sig_size = w[8];
        h.cert_chain_size = w[9];
    } else {
        h.image_size = w[4];
        h.code_size = w[5];
        h.sig_size = w[7];
        h.cert_chain_size = w[9];
        if h.version >= 5 {
            h.qti_sig_size = w[2];
            h.qti_cert_chain_size = w[3];
        }
        if h.version == 6 {
            h.header_len = 48;
            h.qti_metadata_size = w[10];
            h.oem_metadata_size = w[11];
        }
    }
    layout(data, seg, h)
}

/// The header words (12; v6 uses all, others 10, the rest 0) once the version is known and the
/// header fits in the segment.
fn header_words(data: &[u8], seg: &HashSegment) -> Result<[u32; 12], ProgrammerError> {
    let (base, seg_end) = (seg.offset, seg.offset + seg.size);
    let len = data.len() as u64;
    let outside = |need: u64| out_of_range("MBN header", base, need, "hash segment", seg_end);
    if seg.size < 8 {
        return Err(outside(8));
    }
    let version = u32_at(data, base + 4).ok_or_else(|| truncated("MBN header", base, 8, len))?;
    let count: u64 = match version {
        3 | 5 | 7 | 8 => 10,
        6 => 12,
        other => {
            return Err(ProgrammerError::UnsupportedMbnVersion {
                file: None,
                offset: base,
                version: other,
            });
        }
    };
    if seg.size < count * 4 {
        return Err(outside(count * 4));
    }
    let mut words = [0u32; 12];
    for (i, w) in (0..count).zip(words.iter_mut()) {
        *w = u32_at(data, base + i * 4)
            .ok_or_else(|| truncated("MBN header", base, count * 4, len))?;
    }
    Ok(words)
}

/// Walk the body in order and bounds-check every part against the hash segment.
fn layout(
    data: &[u8],
    seg: &HashSegment,
    mut h: MbnHeader,
) -> Result<ParsedSegment, ProgrammerError> {
    let seg_end = seg.offset + seg.size;
    let mut cursor = Cursor {
        at: seg.offset,
        end: seg_end,
    };
    cursor.take("MBN header", u64::from(h.header_len))?;
    let common_metadata = if h.version >= 7 {
        let at = cursor.take("common metadata", u64::from(h.common_metadata_size))?;
        h.header_len = h.header_len.saturating_add(h.common_metadata_size);
        read_common_metadata(data, at, h.common_metadata_size)
    } else {
        None
    };
    cursor.take("QTI metadata", u64::from(h.qti_metadata_size))?;
    let oem_at = cursor.take("OEM metadata", u64::from(h.oem_metadata_size))?;
    let oem_metadata = read_oem_metadata(data, oem_at, h.oem_metadata_size, h.version);
    cursor.take("hash table", u64::from(h.code_size))?;
    cursor.take("QTI signature", u64::from(h.qti_sig_size))?;
    let qti_chain = cursor.take("QTI certificate chain", u64::from(h.qti_cert_chain_size))?;
    cursor.take("OEM signature", u64::from(h.sig_size))?;
    let oem_chain = cursor.take("OEM certificate chain", u64::from(h.cert_chain_size))?;
    let (chain, chain_owner) = if h.cert_chain_size > 0 {
        (
            (oem_chain, u64::from(h.cert_chain_size)),
            Some(ChainOwner::Oem),
        )
    } else if h.qti_cert_chain_size > 0 {
        (
            (qti_chain, u64::from(h.qti_cert_chain_size)),
            Some(ChainOwner::Qti),
        )
    } else {
        ((oem_chain, 0), None)
    };
    Ok(ParsedSegment {
        header: h,
        oem_metadata,
        common_metadata,
        chain,
        chain_owner,
    })
}

/// Consumes consecutive regions of the hash segment.
struct Cursor {
    at: u64,
    end: u64,
}

impl Cursor {
    /// Reserve `size` bytes; returns their file offset.
    fn take(&mut self, region: &'static str, size: u64) -> Result<u64, ProgrammerError> {
        let start = self.at;
        match start.checked_add(size) {
            Some(next) if next <= self.end => {
                self.at = next;
                Ok(start)
            }
            _ => Err(out_of_range(region, start, size, "hash segment", self.end)),
        }
    }
}

/// The 0.0 layout only; other metadata versions are not interpreted (no guessed HW_ID).
fn read_oem_metadata(data: &[u8], at: u64, size: u32, version: u32) -> Option<OemMetadata> {
    if version < 6 || u64::from(size) < OEM_METADATA_LEN {
        return None;
    }
    let b = slice(data, at, OEM_METADATA_LEN)?;
    let w = |i: u64| u32_at(b, i * 4).unwrap_or(0);
    if w(0) != 0 {
        return None;
    }
    let nonzero = |from: u64, n: u64| (from..from + n).map(w).filter(|v| *v != 0).collect();
    Some(OemMetadata {
        major: w(0),
        minor: w(1),
        sw_id: w(2),
        hw_id: w(3),
        oem_id: w(4),
        model_id: w(5),
        app_id: w(6),
        flags: w(7),
        soc_vers: nonzero(8, 12),
        serial_numbers: nonzero(20, 8),
        mrc_index: w(28),
        anti_rollback_version: w(29),
    })
}

fn read_common_metadata(data: &[u8], at: u64, size: u32) -> Option<CommonMetadata> {
    if size < 24 {
        return None;
    }
    let b = slice(data, at, 24)?;
    let w = |i: u64| u32_at(b, i * 4).unwrap_or(0);
    Some(CommonMetadata {
        major: w(0),
        minor: w(1),
        sw_id: w(2),
        app_id: w(3),
        hash_table_algorithm: w(4),
        measurement_register: w(5),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(words: &[u32], extra: usize) -> (Vec<u8>, HashSegment) {
        let mut d: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        d.resize(d.len() + extra, 0xFF);
        let size = d.len() as u64;
        (
            d,
            HashSegment {
                phdr_index: 0,
                offset: 0,
                size,
                p_flags: 0x0220_0000,
            },
        )
    }

    #[test]
    fn v3_layout_puts_chain_after_hash_table_and_signature() {
        let (d, s) = seg(
            &[13, 3, 0, 0, 0x60 + 0x100 + 0x200, 0x60, 0, 0x100, 0, 0x200],
            0x360,
        );
        let p = parse_segment(&d, &s).map_err(|e| e.to_string());
        let p = p
            .as_ref()
            .map(|p| (p.chain, p.chain_owner, p.header.image_id));
        assert_eq!(
            p,
            Ok(((40 + 0x60 + 0x100, 0x200), Some(ChainOwner::Oem), 13))
        );
    }

    #[test]
    fn v6_metadata_and_layout() {
        let mut words = vec![5, 6, 0, 0, 0, 0x20, 0, 0x10, 0, 0x40, 0, 120];
        words.extend([0, 0, 3, 0x0010_a0e1, 0x2e8, 0, 0, 0x102, 0x9001]);
        words.resize(12 + 30, 0);
        let (d, s) = seg(&words, 0x70);
        let p = parse_segment(&d, &s).map_err(|e| e.to_string());
        let Ok(p) = p else { panic!("{p:?}") };
        assert_eq!(p.chain, (48 + 120 + 0x20 + 0x10, 0x40));
        let m = p.oem_metadata.unwrap_or_else(|| panic!("no metadata"));
        assert_eq!(
            (m.hw_id, m.oem_id, m.sw_id, m.soc_vers.clone()),
            (0x0010_a0e1, 0x2e8, 3, vec![0x9001])
        );
        assert!(m.in_use_soc_hw_version());
        assert_eq!(m.debug(), 1);
    }

    #[test]
    fn v7_reads_common_metadata_and_qti_only_chain() {
        let mut words = vec![0, 7, 24, 0, 0, 0x30, 0x60, 0x80, 0, 0];
        words.extend([0, 0, 3, 0, 3, 0]);
        let (d, s) = seg(&words, 0x30 + 0x60 + 0x80);
        let p = parse_segment(&d, &s).map_err(|e| e.to_string());
        let Ok(p) = p else { panic!("{p:?}") };
        assert_eq!(p.header.header_len, 64);
        assert_eq!(p.chain, (64 + 0x30 + 0x60, 0x80));
        assert_eq!(p.chain_owner, Some(ChainOwner::Qti));
        assert_eq!(p.common_metadata.map(|c| c.hash_table_algorithm), Some(3));
    }

    #[test]
    fn oversized_fields_are_out_of_range_not_panics() {
        let (d, s) = seg(
            &[13, 3, 0, 0, 0, 0xFFFF_FFF0, 0, 0xFFFF_FFFF, 0, 0xFFFF_FFFF],
            16,
        );
        let e = parse_segment(&d, &s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("hash table at offset 0x28 size 0xfffffff0 lies outside hash segment"),
            "{e}"
        );
        let (d, s) = seg(&[13, 4], 64);
        let e = parse_segment(&d, &s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("has version 4"), "{e}");
        let (d, s) = seg(&[13], 0);
        let e = parse_segment(&d, &s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("MBN header"), "{e}");
    }
}
