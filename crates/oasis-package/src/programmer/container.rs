//! Container layer: ELF32/ELF64 program headers and the old raw 80-byte-header MBN, down to the hash segment.

use serde::{Deserialize, Serialize};

use super::error::{ProgrammerError, out_of_range, truncated};

/// ELF magic.
const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
/// First word of a raw (non-ELF) MBN with the 80-byte header.
pub(super) const MBN_CODEWORD: u32 = 0x844B_DCD1;
/// Length of the raw MBN header.
const RAW_HEADER_LEN: u64 = 80;
/// `p_flags` bits that hold the segment type in Qualcomm images.
const SEG_TYPE_MASK: u32 = 0x0700_0000;
/// Segment type value of the hash segment (real files carry 0x02200000 and others).
const SEG_TYPE_HASH: u32 = 0x0200_0000;

/// The file format of a programmer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Container {
    /// 32-bit little-endian ELF.
    Elf32,
    /// 64-bit little-endian ELF.
    Elf64,
    /// Old raw image with the 80-byte header starting 0x844BDCD1.
    Mbn,
}

/// The ELF program header that carries the MBN hash segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashSegment {
    /// Index of the program header.
    pub phdr_index: u32,
    /// File offset of the segment.
    pub offset: u64,
    /// Size of the segment in the file (`p_filesz`).
    pub size: u64,
    /// `p_flags`, e.g. 0x02200000.
    pub p_flags: u32,
}

/// The 80-byte header of a raw (non-ELF) MBN. Addresses are target addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawMbnHeader {
    /// Word 0: 0x844BDCD1.
    pub codeword: u32,
    /// Word 1: magic, 0x73D71034 in real files.
    pub magic: u32,
    /// Word 2: image id (13 = Firehose/ehostdl programmer).
    pub image_id: u32,
    /// File offset where the image proper starts (0x50).
    pub image_src: u32,
    /// Load address of the image.
    pub image_dest_ptr: u32,
    /// Image size: code + signature + certificate chain.
    pub image_size: u32,
    /// Code size.
    pub code_size: u32,
    /// Load address of the signature.
    pub signature_ptr: u32,
    /// Signature size.
    pub signature_size: u32,
    /// Load address of the certificate chain.
    pub cert_chain_ptr: u32,
    /// Certificate chain size (padded allocation).
    pub cert_chain_size: u32,
}

/// What the container layer found.
#[derive(Debug)]
pub(super) enum Located {
    /// An ELF, with its hash segment if it has one.
    Elf {
        container: Container,
        hash_segment: Option<HashSegment>,
    },
    /// A raw MBN; `chain` is the file region of the certificate chain (may be empty).
    Raw {
        header: RawMbnHeader,
        chain: (u64, u64),
    },
}

/// A little-endian u16 at `off`, if in range.
pub(super) fn u16_at(b: &[u8], off: u64) -> Option<u16> {
    let s = slice(b, off, 2)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// A little-endian u32 at `off`, if in range.
pub(super) fn u32_at(b: &[u8], off: u64) -> Option<u32> {
    let s = slice(b, off, 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A little-endian u64 at `off`, if in range.
pub(super) fn u64_at(b: &[u8], off: u64) -> Option<u64> {
    let s = slice(b, off, 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(s);
    Some(u64::from_le_bytes(w))
}

/// `len` bytes at `off`, if the whole range is inside `b`.
pub(super) fn slice(b: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    b.get(start..end)
}

/// Recognise the container and find the hash segment (ELF) or the signing region (raw MBN).
pub(super) fn locate(data: &[u8]) -> Result<Located, ProgrammerError> {
    if data.starts_with(&ELF_MAGIC) {
        return locate_elf(data);
    }
    if u32_at(data, 0) == Some(MBN_CODEWORD) {
        return locate_raw(data);
    }
    let n = data.len().min(4);
    Err(ProgrammerError::UnknownContainer {
        file: None,
        magic: data
            .get(..n)
            .map(|m| {
                m.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "(empty file)".to_owned()),
    })
}

/// Field offsets of the two ELF classes.
struct ElfLayout {
    container: Container,
    header_len: u64,
    phoff_at: u64,
    phentsize_at: u64,
    phent_min: u16,
}

const ELF32: ElfLayout = ElfLayout {
    container: Container::Elf32,
    header_len: 52,
    phoff_at: 28,
    phentsize_at: 42,
    phent_min: 32,
};
const ELF64: ElfLayout = ElfLayout {
    container: Container::Elf64,
    header_len: 64,
    phoff_at: 32,
    phentsize_at: 54,
    phent_min: 56,
};

fn locate_elf(data: &[u8]) -> Result<Located, ProgrammerError> {
    let (layout, phoff, phentsize, phnum) = read_elf_header(data)?;
    let len = data.len() as u64;
    if phnum == 0 {
        return Ok(Located::Elf {
            container: layout.container,
            hash_segment: None,
        });
    }
    if phnum == u16::MAX {
        return Err(unsupported(
            "e_phnum",
            "0xffff (PN_XNUM)",
            "a program header count below 0xffff",
        ));
    }
    if phentsize < layout.phent_min {
        return Err(unsupported(
            "e_phentsize",
            phentsize.to_string(),
            "at least 32 (ELF32) or 56 (ELF64)",
        ));
    }
    let table_len = u64::from(phnum) * u64::from(phentsize);
    if phoff.checked_add(table_len).is_none_or(|end| end > len) {
        return Err(out_of_range(
            "program header table",
            phoff,
            table_len,
            "file",
            len,
        ));
    }
    let hash_segment = find_hash_segment(data, layout, phoff, phentsize, phnum)?;
    Ok(Located::Elf {
        container: layout.container,
        hash_segment,
    })
}

/// Class, byte order and the program header table fields (e_phoff, e_phentsize, e_phnum).
fn read_elf_header(data: &[u8]) -> Result<(&'static ElfLayout, u64, u16, u16), ProgrammerError> {
    let len = data.len() as u64;
    let ident = || truncated("ELF identification", 0, 16, len);
    let layout = match *data.get(4).ok_or_else(ident)? {
        1 => &ELF32,
        2 => &ELF64,
        other => {
            return Err(unsupported(
                "EI_CLASS",
                other.to_string(),
                "1 (ELF32) or 2 (ELF64)",
            ));
        }
    };
    let endian = *data.get(5).ok_or_else(ident)?;
    if endian != 1 {
        return Err(unsupported(
            "EI_DATA",
            endian.to_string(),
            "1 (little-endian)",
        ));
    }
    let trunc = || truncated("ELF header", 0, layout.header_len, len);
    if len < layout.header_len {
        return Err(trunc());
    }
    let phoff = match layout.container {
        Container::Elf32 => u64::from(u32_at(data, layout.phoff_at).ok_or_else(trunc)?),
        _ => u64_at(data, layout.phoff_at).ok_or_else(trunc)?,
    };
    let phentsize = u16_at(data, layout.phentsize_at).ok_or_else(trunc)?;
    let phnum = u16_at(data, layout.phentsize_at + 2).ok_or_else(trunc)?;
    Ok((layout, phoff, phentsize, phnum))
}

/// The first program header whose `p_flags & 0x07000000 == 0x02000000`, bounds-checked.
fn find_hash_segment(
    data: &[u8],
    layout: &ElfLayout,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
) -> Result<Option<HashSegment>, ProgrammerError> {
    let len = data.len() as u64;
    for i in 0..phnum {
        let at = phoff + u64::from(i) * u64::from(phentsize);
        let trunc = || truncated("program header", at, u64::from(layout.phent_min), len);
        let (flags, offset, size) = match layout.container {
            Container::Elf32 => (
                u32_at(data, at + 24).ok_or_else(trunc)?,
                u64::from(u32_at(data, at + 4).ok_or_else(trunc)?),
                u64::from(u32_at(data, at + 16).ok_or_else(trunc)?),
            ),
            _ => (
                u32_at(data, at + 4).ok_or_else(trunc)?,
                u64_at(data, at + 8).ok_or_else(trunc)?,
                u64_at(data, at + 32).ok_or_else(trunc)?,
            ),
        };
        if flags & SEG_TYPE_MASK != SEG_TYPE_HASH {
            continue;
        }
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(out_of_range("hash segment", offset, size, "file", len));
        }
        return Ok(Some(HashSegment {
            phdr_index: u32::from(i),
            offset,
            size,
            p_flags: flags,
        }));
    }
    Ok(None)
}

fn locate_raw(data: &[u8]) -> Result<Located, ProgrammerError> {
    let len = data.len() as u64;
    if len < RAW_HEADER_LEN {
        return Err(truncated("raw MBN header", 0, RAW_HEADER_LEN, len));
    }
    let w = |i: u64| u32_at(data, i * 4).unwrap_or(0);
    // Words 3 and 4 are reserved (0xFFFFFFFF); from word 5 on the fields are v3-style.
    let header = RawMbnHeader {
        codeword: w(0),
        magic: w(1),
        image_id: w(2),
        image_src: w(5),
        image_dest_ptr: w(6),
        image_size: w(7),
        code_size: w(8),
        signature_ptr: w(9),
        signature_size: w(10),
        cert_chain_ptr: w(11),
        cert_chain_size: w(12),
    };
    // Body order: code, signature, certificate chain, starting at image_src.
    let chain_off = u64::from(header.image_src)
        + u64::from(header.code_size)
        + u64::from(header.signature_size);
    let chain_len = u64::from(header.cert_chain_size);
    if chain_len > 0 && chain_off.checked_add(chain_len).is_none_or(|end| end > len) {
        return Err(out_of_range(
            "certificate chain",
            chain_off,
            chain_len,
            "file",
            len,
        ));
    }
    Ok(Located::Raw {
        header,
        chain: (chain_off, chain_len),
    })
}

fn unsupported(
    field: &'static str,
    seen: impl Into<String>,
    expected: &'static str,
) -> ProgrammerError {
    ProgrammerError::UnsupportedElf {
        file: None,
        field,
        seen: seen.into(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF32 with `phdrs` (p_offset, p_filesz, p_flags) placed after the header.
    pub(crate) fn elf32(phdrs: &[(u32, u32, u32)], total: usize) -> Vec<u8> {
        let mut d = vec![0u8; total.max(52 + 32 * phdrs.len())];
        d[..4].copy_from_slice(&ELF_MAGIC);
        d[4] = 1;
        d[5] = 1;
        d[28..32].copy_from_slice(&52u32.to_le_bytes());
        d[42..44].copy_from_slice(&32u16.to_le_bytes());
        d[44..46].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, (off, size, flags)) in phdrs.iter().enumerate() {
            let at = 52 + 32 * i;
            d[at + 4..at + 8].copy_from_slice(&off.to_le_bytes());
            d[at + 16..at + 20].copy_from_slice(&size.to_le_bytes());
            d[at + 24..at + 28].copy_from_slice(&flags.to_le_bytes());
        }
        d
    }

    #[test]
    fn hash_segment_found_by_mask_not_equality() {
        let d = elf32(&[(0, 0x74, 0x0700_0000), (0x100, 0x20, 0x0220_0000)], 0x200);
        let Ok(Located::Elf {
            hash_segment: Some(h),
            ..
        }) = locate(&d)
        else {
            panic!("no hash segment");
        };
        assert_eq!(
            (h.phdr_index, h.offset, h.size, h.p_flags),
            (1, 0x100, 0x20, 0x0220_0000)
        );
        // Another value in the same type field is still a hash segment.
        let d = elf32(&[(0x100, 0x20, 0x0280_0005)], 0x200);
        assert!(matches!(
            locate(&d),
            Ok(Located::Elf {
                hash_segment: Some(_),
                ..
            })
        ));
        // 0x07000000 (the phdr segment) and 0x03000000 are not.
        let d = elf32(
            &[(0x100, 0x20, 0x0700_0000), (0x100, 0x20, 0x0300_0000)],
            0x200,
        );
        assert!(matches!(
            locate(&d),
            Ok(Located::Elf {
                hash_segment: None,
                ..
            })
        ));
    }

    #[test]
    fn hash_segment_past_eof_is_out_of_range() {
        let d = elf32(&[(0x100, 0x1000, 0x0220_0000)], 0x200);
        let e = locate(&d).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("hash segment at offset 0x100 size 0x1000 lies outside file"),
            "{e}"
        );
    }

    #[test]
    fn phdr_table_out_of_range_and_truncated_header() {
        let mut d = elf32(&[(0, 0, 0)], 0x60);
        d[44..46].copy_from_slice(&200u16.to_le_bytes());
        let e = locate(&d).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("program header table at offset 0x34"), "{e}");
        let e = locate(&d[..40])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("truncated ELF header"), "{e}");
    }

    #[test]
    fn big_endian_and_unknown_magic_are_named() {
        let mut d = elf32(&[], 0x40);
        d[5] = 2;
        let e = locate(&d).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("EI_DATA is 2"), "{e}");
        let e = locate(b"PK\x03\x04rest")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("first bytes 50 4b 03 04"), "{e}");
        let e = locate(b"").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("(empty file)"), "{e}");
    }

    #[test]
    fn raw_header_chain_region_is_bounds_checked() {
        let mut d = vec![0u8; 0x100];
        d[..4].copy_from_slice(&MBN_CODEWORD.to_le_bytes());
        d[20..24].copy_from_slice(&0x50u32.to_le_bytes());
        d[32..36].copy_from_slice(&0x10u32.to_le_bytes()); // code_size
        d[40..44].copy_from_slice(&0x10u32.to_le_bytes()); // sig size
        d[48..52].copy_from_slice(&0x1000u32.to_le_bytes()); // chain size
        let e = locate(&d).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("certificate chain at offset 0x70 size 0x1000"),
            "{e}"
        );
        d[48..52].copy_from_slice(&0x20u32.to_le_bytes());
        let Ok(Located::Raw { chain, .. }) = locate(&d) else {
            panic!("raw header not recognised");
        };
        assert_eq!(chain, (0x70, 0x20));
    }
}
