//! Sparse in-memory storage for the virtual board: only sectors ever written take memory, so a
//! 2 GiB LUN costs nothing until a host writes to it.
//!
//! NAND model: one sector is one page; erase works on whole blocks and leaves 0xFF. Programming
//! a page that is not erased does what the flash does when a programmer does not check: bits can
//! only go from 1 to 0, so the page ends up as `old & new` (real Qualcomm NAND programmers do not
//! refuse it; the damage shows up as a wrong digest or ECC errors later). Such writes are counted
//! in [`Storage::nand_overwrites`] so tests can tell a host that forgot to erase.

use std::collections::BTreeMap;

use crate::profile::StorageKind;

/// A run of consecutive written sectors on one physical partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenRange {
    /// Physical partition (LUN).
    pub lun: u32,
    /// First sector.
    pub start_sector: u64,
    /// Number of sectors.
    pub sectors: u64,
}

/// Why a storage access was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StorageFault {
    /// No such physical partition.
    NoLun(u32),
    /// The range ends past the partition.
    OutOfRange { lun: u32, end: u64, size: u64 },
}

impl std::fmt::Display for StorageFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoLun(l) => write!(f, "physical partition {l} does not exist"),
            Self::OutOfRange { lun, end, size } => write!(
                f,
                "sector range ends at {end}, past the end of physical partition {lun} ({size} sectors)"
            ),
        }
    }
}

/// The board's storage: a sparse sector map per physical partition.
#[derive(Debug, Clone)]
pub struct Storage {
    kind: StorageKind,
    luns: Vec<BTreeMap<u64, Box<[u8]>>>,
    nand_overwrites: u64,
}

impl Storage {
    /// Empty (fully erased) storage of this kind.
    pub fn new(kind: StorageKind) -> Self {
        let n = kind.partitions() as usize;
        Self {
            kind,
            luns: vec![BTreeMap::new(); n],
            nand_overwrites: 0,
        }
    }

    /// The geometry.
    pub fn kind(&self) -> &StorageKind {
        &self.kind
    }

    /// Sector size in bytes.
    pub fn sector_size(&self) -> usize {
        self.kind.sector_size() as usize
    }

    /// Sector count of `lun`, if it exists.
    pub fn sectors(&self, lun: u32) -> Option<u64> {
        self.kind.sectors(lun)
    }

    pub(crate) fn check(&self, lun: u32, start: u64, count: u64) -> Result<(), StorageFault> {
        let size = self.sectors(lun).ok_or(StorageFault::NoLun(lun))?;
        let end = start.saturating_add(count);
        if end > size {
            return Err(StorageFault::OutOfRange { lun, end, size });
        }
        Ok(())
    }

    /// Read `count` sectors from `start` (never-written sectors read as the erased value).
    /// Out-of-range parts read as erased too; use `Storage::check` first to refuse them.
    pub fn read(&self, lun: u32, start: u64, count: u64) -> Vec<u8> {
        let ss = self.sector_size();
        let erased = self.kind.erased_byte();
        let total = usize::try_from(count).unwrap_or(0).saturating_mul(ss);
        let mut out = vec![erased; total];
        if let Some(map) = self.luns.get(lun as usize) {
            for (s, data) in map.range(start..start.saturating_add(count)) {
                let off = usize::try_from(s - start).unwrap_or(0) * ss;
                if let Some(dst) = out.get_mut(off..off + ss) {
                    dst.copy_from_slice(data);
                }
            }
        }
        out
    }

    /// Write whole sectors starting at `start`; `data.len()` must be a multiple of the sector
    /// size (a trailing partial sector is padded with the erased value).
    pub(crate) fn write(&mut self, lun: u32, start: u64, data: &[u8]) -> Result<(), StorageFault> {
        let ss = self.sector_size();
        let count = data.len().div_ceil(ss) as u64;
        self.check(lun, start, count)?;
        let nand = matches!(self.kind, StorageKind::Nand { .. });
        let erased = self.kind.erased_byte();
        let Some(map) = self.luns.get_mut(lun as usize) else {
            return Err(StorageFault::NoLun(lun));
        };
        for (i, chunk) in data.chunks(ss).enumerate() {
            let mut sector = vec![erased; ss].into_boxed_slice();
            sector[..chunk.len()].copy_from_slice(chunk);
            let key = start + i as u64;
            if nand && let Some(old) = map.get(&key) {
                if old.iter().any(|b| *b != 0xFF) {
                    self.nand_overwrites += 1;
                }
                for (n, o) in sector.iter_mut().zip(old.iter()) {
                    *n &= *o;
                }
            }
            if sector.iter().all(|b| *b == erased) {
                map.remove(&key);
            } else {
                map.insert(key, sector);
            }
        }
        Ok(())
    }

    /// Replace whole sectors (no NAND bit-AND): used by `<patch>`, which rewrites a page.
    pub(crate) fn overwrite(
        &mut self,
        lun: u32,
        start: u64,
        data: &[u8],
    ) -> Result<(), StorageFault> {
        let count = data.len().div_ceil(self.sector_size()) as u64;
        self.erase(lun, start, count)?;
        self.write(lun, start, data)
    }

    /// Erase `count` sectors from `start` (they read as the erased value afterwards).
    pub(crate) fn erase(&mut self, lun: u32, start: u64, count: u64) -> Result<(), StorageFault> {
        self.check(lun, start, count)?;
        if let Some(map) = self.luns.get_mut(lun as usize) {
            let keys: Vec<u64> = map.range(start..start + count).map(|(k, _)| *k).collect();
            for k in keys {
                map.remove(&k);
            }
        }
        Ok(())
    }

    /// Runs of sectors holding data (anything but the erased value), in LUN then sector order.
    pub fn written_ranges(&self) -> Vec<WrittenRange> {
        let mut out: Vec<WrittenRange> = Vec::new();
        for (lun, map) in self.luns.iter().enumerate() {
            for s in map.keys() {
                match out.last_mut() {
                    Some(r) if r.lun == lun as u32 && r.start_sector + r.sectors == *s => {
                        r.sectors += 1;
                    }
                    _ => out.push(WrittenRange {
                        lun: lun as u32,
                        start_sector: *s,
                        sectors: 1,
                    }),
                }
            }
        }
        out
    }

    /// How many NAND pages were programmed while they still held data (host forgot to erase).
    pub fn nand_overwrites(&self) -> u64 {
        self.nand_overwrites
    }

    /// Bytes actually held in memory (for checking sparseness).
    pub fn stored_bytes(&self) -> usize {
        self.luns
            .iter()
            .map(|m| m.values().map(|v| v.len()).sum::<usize>())
            .sum()
    }

    /// Visit written data run by run (concatenated sectors), in order, for scanning.
    pub(crate) fn for_each_run(&self, mut f: impl FnMut(&[u8]) -> bool) {
        for r in self.written_ranges() {
            // Scan runs in bounded windows so a huge run never becomes one huge buffer.
            let window = 256u64;
            let mut s = r.start_sector;
            let end = r.start_sector + r.sectors;
            while s < end {
                // Overlap one sector so strings crossing a window edge are still seen.
                let n = window.min(end - s);
                let from = s.saturating_sub(u64::from(s > r.start_sector));
                let buf = self.read(r.lun, from, n + (s - from));
                if f(&buf) {
                    return;
                }
                s += n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nand() -> Storage {
        Storage::new(StorageKind::Nand {
            page_size: 2048,
            pages_per_block: 64,
            total_blocks: 16,
        })
    }

    #[test]
    fn unwritten_reads_erased_and_writes_are_sparse() {
        let mut s = nand();
        assert_eq!(s.read(0, 5, 1), vec![0xFF; 2048]);
        s.write(0, 64, &[0x11; 4096]).unwrap();
        assert_eq!(s.stored_bytes(), 4096);
        assert_eq!(
            s.written_ranges(),
            vec![WrittenRange {
                lun: 0,
                start_sector: 64,
                sectors: 2
            }]
        );
        assert_eq!(s.read(0, 65, 1), vec![0x11; 2048]);
    }

    #[test]
    fn nand_program_over_data_ands_bits_and_counts() {
        let mut s = nand();
        s.write(0, 0, &[0xF0; 2048]).unwrap();
        s.write(0, 0, &[0x3C; 2048]).unwrap();
        assert_eq!(s.read(0, 0, 1), vec![0x30; 2048]);
        assert_eq!(s.nand_overwrites(), 1);
        s.erase(0, 0, 64).unwrap();
        assert_eq!(s.read(0, 0, 1), vec![0xFF; 2048]);
        assert!(s.written_ranges().is_empty());
    }

    #[test]
    fn out_of_range_is_refused() {
        let mut s = nand();
        assert_eq!(
            s.write(0, 1023, &[0; 4096]),
            Err(StorageFault::OutOfRange {
                lun: 0,
                end: 1025,
                size: 1024
            })
        );
        assert_eq!(s.erase(1, 0, 1), Err(StorageFault::NoLun(1)));
    }

    #[test]
    fn two_gib_lun_costs_only_what_is_written() {
        let mut s = Storage::new(StorageKind::Ufs {
            luns: vec![524_288],
        });
        s.write(0, 524_287, &[7; 4096]).unwrap();
        assert_eq!(s.stored_bytes(), 4096);
        assert_eq!(s.read(0, 524_287, 1), vec![7; 4096]);
    }
}
