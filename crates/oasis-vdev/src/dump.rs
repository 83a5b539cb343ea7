//! Memory-dump (crash) mode of a virtual board: the PBL/SBL offers its RAM with a Sahara HELLO
//! in mode 2 (the board enumerates as 05C6:900E). A host that accepts the mode gets
//! MEMORY_DEBUG (32-bit table: profiles with 32-bit Sahara reads, e.g. `bg95`) or
//! MEMORY_DEBUG_64 (64-bit table: `sdx55`, `ufs`) with the address of a region table, and
//! MEMORY_READ(_64) serves the table and the regions; RESET reboots the board.
//!
//! The table lists regions named like a real modem's dump (OCIMEM, code RAM, message RAM, DDR
//! and the `load.cmm` script that loads them into a debugger), with the real names but sizes
//! kept small (about 2.5 MiB in all) so tests stay fast. Their content is deterministic
//! ([`region_bytes`]), so a host's files can be compared byte for byte. A read outside the
//! table and the regions, or larger than [`MAX_READ`], is refused the way a target refuses it:
//! END_IMAGE_TX with status 0x19 (invalid memory read access).
//!
//! Faults (the board's fault specs, point `memory-read`, counted from 1 — the table read is
//! the first): `nak:memory-read#N` refuses the Nth read with status 0x19 (the board stays in
//! dump mode); `unplug:memory-read#N[@BYTES]` leaves the bus after BYTES (default half) of the
//! Nth read; `stall:`, `truncate:` and `garbage:memory-read#N` change that answer.

use oasis_proto::sahara::SaharaPacket;
use oasis_proto::sahara::memdebug::{RawRegion, TableWidth, encode_table};

use crate::profile::Profile;

/// Address of the dump region table.
pub const TABLE_ADDR: u64 = 0x0860_0000;
/// Largest MEMORY_READ served at once.
pub const MAX_READ: u64 = 0x10_0000;
/// Status of a refused read (docs/protocol.md §1: invalid memory read access).
pub const INVALID_MEMORY_READ: u32 = 0x19;

/// One region the board offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRegion {
    /// `save_pref` word.
    pub save_pref: u64,
    /// Start address.
    pub base: u64,
    /// Length in bytes.
    pub length: u64,
    /// Description (at most 19 characters).
    pub description: &'static str,
    /// File name (at most 19 characters).
    pub file_name: &'static str,
}

const fn region(
    save_pref: u64,
    base: u64,
    length: u64,
    description: &'static str,
    file_name: &'static str,
) -> DumpRegion {
    DumpRegion {
        save_pref,
        base,
        length,
        description,
        file_name,
    }
}

/// Address of the `load.cmm` script region.
const CMM_ADDR: u64 = 0x0870_0000;

/// The width of the table a profile's PBL offers: 64-bit on SoCs with 64-bit Sahara reads.
pub fn table_width(profile: &Profile) -> TableWidth {
    if profile.read_data_64 {
        TableWidth::Bits64
    } else {
        TableWidth::Bits32
    }
}

/// The regions a profile's dump offers, in table order.
pub fn regions(profile: &Profile) -> Vec<DumpRegion> {
    let mut r = vec![
        region(0, 0x0800_0000, 0x4_0000, "OCIMEM", "OCIMEM.BIN"),
        region(0, 0x0122_0000, 0x2_0000, "CODE RAM", "CODERAM.BIN"),
        region(0, 0x0029_0000, 0x1_4000, "DATA RAM", "DATARAM.BIN"),
        region(0, 0x0006_8000, 0x6000, "MSG RAM", "MSGRAM.BIN"),
        region(1, 0x8000_0000, 0x20_0000, "DDR CS0", "DDRCS0.BIN"),
    ];
    if table_width(profile) == TableWidth::Bits64 {
        // Above 4 GiB: only a 64-bit table can describe it.
        r.push(region(1, 0x1_0000_0000, 0x8_0000, "DDR CS1", "DDRCS1.BIN"));
    }
    let script = cmm_script(&r);
    r.push(region(
        0,
        CMM_ADDR,
        script.len() as u64,
        "CMM Script",
        "load.cmm",
    ));
    r
}

/// The `load.cmm` text: one debugger load line per region (what real dumps carry).
fn cmm_script(regions: &[DumpRegion]) -> Vec<u8> {
    let mut s = String::from("; Ramdump load script (virtual board)\n");
    for r in regions {
        s.push_str(&format!(
            "d.load.binary {} 0x{:08x} /noclear\n",
            r.file_name, r.base
        ));
    }
    s.into_bytes()
}

/// The region table as the board sends it.
pub fn table(profile: &Profile) -> Vec<u8> {
    let raw: Vec<RawRegion> = regions(profile)
        .iter()
        .enumerate()
        .map(|(index, r)| RawRegion {
            index,
            save_pref: r.save_pref,
            base: r.base,
            length: r.length,
            description: r.description.to_owned(),
            filename: r.file_name.to_owned(),
        })
        .collect();
    encode_table(&raw, table_width(profile))
}

/// The MEMORY_DEBUG(_64) offer.
pub(crate) fn offer(profile: &Profile) -> Vec<u8> {
    let len = table(profile).len() as u64;
    match table_width(profile) {
        TableWidth::Bits32 => SaharaPacket::MemoryDebug {
            table_addr: TABLE_ADDR as u32,
            table_len: len as u32,
        },
        TableWidth::Bits64 => SaharaPacket::MemoryDebug64 {
            table_addr: TABLE_ADDR,
            table_len: len,
        },
    }
    .encode()
}

/// Deterministic memory content at `addr`, 8 bytes at a time (splitmix64 of the word address).
fn word_at(addr8: u64) -> [u8; 8] {
    let mut z = addr8.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).to_le_bytes()
}

fn pattern(addr: u64, len: u64, out: &mut Vec<u8>) {
    let mut a = addr;
    let end = addr + len;
    while a < end {
        let w = word_at(a >> 3);
        let from = (a & 7) as usize;
        let n = (8 - from).min((end - a) as usize);
        out.extend_from_slice(&w[from..from + n]);
        a += n as u64;
    }
}

/// The bytes of a whole region as the board serves them.
pub fn region_bytes(profile: &Profile, region: &DumpRegion) -> Vec<u8> {
    let mut out = Vec::with_capacity(region.length as usize);
    let mut at = 0;
    while at < region.length {
        let n = (region.length - at).min(MAX_READ);
        out.extend(read(profile, region.base + at, n).unwrap_or_default());
        at += n;
    }
    out
}

/// The bytes of a MEMORY_READ, or `None` when the target refuses it (empty, larger than
/// [`MAX_READ`], or not inside the table or one region).
pub fn read(profile: &Profile, addr: u64, len: u64) -> Option<Vec<u8>> {
    if len == 0 || len > MAX_READ {
        return None;
    }
    let end = addr.checked_add(len)?;
    let table = table(profile);
    if addr >= TABLE_ADDR && end <= TABLE_ADDR + table.len() as u64 {
        let from = (addr - TABLE_ADDR) as usize;
        return table.get(from..from + len as usize).map(<[u8]>::to_vec);
    }
    let regions = regions(profile);
    let r = regions
        .iter()
        .find(|r| addr >= r.base && end <= r.base + r.length)?;
    if r.base == CMM_ADDR {
        let script = cmm_script(&regions[..regions.len() - 1]);
        let from = (addr - r.base) as usize;
        return script.get(from..from + len as usize).map(<[u8]>::to_vec);
    }
    let mut out = Vec::with_capacity(len as usize);
    pattern(addr, len, &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_proto::sahara::memdebug::{Limits, check_table, parse_table};

    #[test]
    fn the_table_describes_the_regions_it_serves() {
        for (p, width) in [
            (Profile::bg95(), TableWidth::Bits32),
            (Profile::sdx55(), TableWidth::Bits64),
        ] {
            assert_eq!(table_width(&p), width);
            let t = read(&p, TABLE_ADDR, table(&p).len() as u64).unwrap();
            let raw = parse_table(&t, width).unwrap();
            let checked = check_table(&raw, width, &Limits::default());
            assert!(checked.refused.is_empty(), "{:?}", checked.refused);
            assert_eq!(checked.regions.len(), regions(&p).len());
            assert!(raw.iter().any(|r| r.filename == "DDRCS0.BIN"));
            for r in regions(&p) {
                let bytes = region_bytes(&p, &r);
                assert_eq!(bytes.len() as u64, r.length, "{}", r.file_name);
            }
        }
        let p = Profile::bg95();
        let a = read(&p, 0x8000_0000, 0x200).unwrap();
        assert_eq!(a, read(&p, 0x8000_0000, 0x200).unwrap(), "deterministic");
        assert_eq!(
            &read(&p, 0x8000_0003, 5).unwrap()[..],
            &a[3..8],
            "unaligned"
        );
        assert!(a.iter().any(|b| *b != 0));
        assert!(read(&p, 0x10, 4).is_none(), "unmapped");
        assert!(read(&p, 0x8000_0000, MAX_READ + 1).is_none());
        assert!(read(&p, 0x8000_0000, 0).is_none());
        let cmm = regions(&p).pop().unwrap();
        let text = String::from_utf8(region_bytes(&p, &cmm)).unwrap();
        assert!(
            text.contains("d.load.binary DDRCS0.BIN 0x80000000"),
            "{text}"
        );
    }
}
