//! Memory-dump (crash) mode of a virtual board: the PBL/SBL offers a RAM dump with a Sahara
//! HELLO in mode 2 (the board enumerates as 05C6:900E). A host that accepts the mode gets
//! MEMORY_DEBUG with the address of a one-entry region table, and MEMORY_READ serves the table
//! and the region (a deterministic pattern); RESET reboots the board.

use oasis_proto::sahara::SaharaPacket;

/// Address of the dump region table.
pub(crate) const TABLE_ADDR: u32 = 0x0860_0000;
/// Size of one table entry: save_pref, base, length (u32 each), description and file name
/// (20 bytes each).
pub(crate) const TABLE_LEN: u32 = 0x34;
/// Base of the one RAM region the board offers.
const REGION_BASE: u64 = 0x8000_0000;
/// Length of that region.
const REGION_LEN: u64 = 0x1_0000;
/// Largest MEMORY_READ served at once.
pub(crate) const MAX_READ: u64 = 0x10_0000;

/// The MEMORY_DEBUG offer.
pub(crate) fn offer() -> Vec<u8> {
    SaharaPacket::MemoryDebug {
        table_addr: TABLE_ADDR,
        table_len: TABLE_LEN,
    }
    .encode()
}

fn padded(s: &str) -> [u8; 20] {
    let mut out = [0u8; 20];
    for (slot, b) in out.iter_mut().zip(s.bytes().take(19)) {
        *slot = b;
    }
    out
}

/// The region table: one entry, `DDR CS0` in `DDRCS0.BIN`.
fn table() -> Vec<u8> {
    let mut t = Vec::with_capacity(TABLE_LEN as usize);
    t.extend(0u32.to_le_bytes());
    t.extend((REGION_BASE as u32).to_le_bytes());
    t.extend((REGION_LEN as u32).to_le_bytes());
    t.extend(padded("DDR CS0"));
    t.extend(padded("DDRCS0.BIN"));
    t
}

/// One byte of the board's memory as the dump shows it (outside table and region: zero).
fn byte_at(addr: u64, table: &[u8]) -> u8 {
    let t = u64::from(TABLE_ADDR);
    if (t..t + table.len() as u64).contains(&addr) {
        return table.get((addr - t) as usize).copied().unwrap_or(0);
    }
    if (REGION_BASE..REGION_BASE + REGION_LEN).contains(&addr) {
        let off = addr - REGION_BASE;
        return (off as u8) ^ ((off >> 8) as u8).rotate_left(3);
    }
    0
}

/// The bytes of a MEMORY_READ, or `None` when it asks for more than [`MAX_READ`] at once.
pub(crate) fn read(addr: u64, len: u64) -> Option<Vec<u8>> {
    if len == 0 || len > MAX_READ {
        return None;
    }
    let table = table();
    Some(
        (0..len)
            .map(|i| byte_at(addr.wrapping_add(i), &table))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_describes_the_region_it_serves() {
        let t = read(u64::from(TABLE_ADDR), u64::from(TABLE_LEN)).unwrap();
        assert_eq!(t.len(), 0x34);
        assert_eq!(&t[4..8], &0x8000_0000u32.to_le_bytes());
        assert_eq!(&t[8..12], &0x1_0000u32.to_le_bytes());
        assert!(t[32..52].starts_with(b"DDRCS0.BIN\0"));
        let a = read(REGION_BASE, 0x200).unwrap();
        assert_eq!(a, read(REGION_BASE, 0x200).unwrap(), "deterministic");
        assert!(a.iter().any(|b| *b != 0));
        assert_eq!(read(0x10, 4).unwrap(), vec![0; 4]);
        assert!(read(REGION_BASE, MAX_READ + 1).is_none());
        assert!(read(REGION_BASE, 0).is_none());
    }
}
