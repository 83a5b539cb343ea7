//! The region table of memory-debug mode: its two entry layouts, and the checks that keep a
//! hostile table from naming a host path or an impossible region.

use std::collections::HashSet;

use crate::sahara::packet::SaharaPacket;

use super::{MAX_CHUNK, MemDebugError, NAME_LEN};

/// Width of the region table (and of the MEMORY_READ packets that go with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableWidth {
    /// MEMORY_DEBUG / MEMORY_READ, 52-byte entries.
    Bits32,
    /// MEMORY_DEBUG_64 / MEMORY_READ_64, 64-byte entries.
    Bits64,
}

impl TableWidth {
    /// Bytes per table entry.
    pub fn entry_len(self) -> usize {
        match self {
            Self::Bits32 => 12 + 2 * NAME_LEN,
            Self::Bits64 => 24 + 2 * NAME_LEN,
        }
    }

    /// 32 or 64.
    pub fn bits(self) -> u32 {
        match self {
            Self::Bits32 => 32,
            Self::Bits64 => 64,
        }
    }

    /// The MEMORY_READ(_64) packet for `len` bytes at `addr`.
    pub fn read_packet(self, addr: u64, len: u64) -> Result<Vec<u8>, MemDebugError> {
        if len == 0 || len > MAX_CHUNK {
            return Err(MemDebugError::BadChunk { addr, len });
        }
        match self {
            Self::Bits32 => {
                let end = addr.saturating_add(len);
                let (Ok(a), Ok(l)) = (u32::try_from(addr), u32::try_from(len)) else {
                    return Err(MemDebugError::BadChunk { addr, len });
                };
                if end > 1 << 32 {
                    return Err(MemDebugError::BadChunk { addr, len });
                }
                Ok(SaharaPacket::MemoryRead { addr: a, length: l }.encode())
            }
            Self::Bits64 => {
                if addr.checked_add(len).is_none() {
                    return Err(MemDebugError::BadChunk { addr, len });
                }
                Ok(SaharaPacket::MemoryRead64 { addr, length: len }.encode())
            }
        }
    }
}

/// One entry of the region table as the board sent it (strings decoded up to the first NUL,
/// bytes outside printable ASCII shown as `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRegion {
    /// Position in the table (0-based).
    pub index: usize,
    /// `save_pref` word (qdl calls it the type).
    pub save_pref: u64,
    /// Start address.
    pub base: u64,
    /// Length in bytes.
    pub length: u64,
    /// Description (e.g. `DDR CS0 Memory`).
    pub description: String,
    /// File name the board suggests (e.g. `DDRCS0.BIN`). Not safe as a path: see
    /// [`safe_file_name`].
    pub filename: String,
}

fn text(field: &[u8]) -> String {
    field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                char::from(*b)
            } else {
                '?'
            }
        })
        .collect()
}

fn word(b: &[u8], at: usize, wide: bool) -> u64 {
    if wide {
        let mut w = [0u8; 8];
        if let Some(s) = b.get(at..at + 8) {
            w.copy_from_slice(s);
        }
        u64::from_le_bytes(w)
    } else {
        let mut w = [0u8; 4];
        if let Some(s) = b.get(at..at + 4) {
            w.copy_from_slice(s);
        }
        u64::from(u32::from_le_bytes(w))
    }
}

/// Decode a region table. Errors: an empty table, or one shorter than a single entry.
/// Trailing bytes that do not make a whole entry are ignored (see [`CheckedTable::notes`]).
pub fn parse_table(bytes: &[u8], width: TableWidth) -> Result<Vec<RawRegion>, MemDebugError> {
    let n = width.entry_len();
    if bytes.len() < n {
        return Err(MemDebugError::BadTableLength {
            len: bytes.len() as u64,
            entry: n,
        });
    }
    let wide = width == TableWidth::Bits64;
    let w = if wide { 8 } else { 4 };
    Ok(bytes
        .chunks_exact(n)
        .enumerate()
        .map(|(index, e)| RawRegion {
            index,
            save_pref: word(e, 0, wide),
            base: word(e, w, wide),
            length: word(e, 2 * w, wide),
            description: text(e.get(3 * w..3 * w + NAME_LEN).unwrap_or_default()),
            filename: text(
                e.get(3 * w + NAME_LEN..3 * w + 2 * NAME_LEN)
                    .unwrap_or_default(),
            ),
        })
        .collect())
}

/// Encode a region table (the device side of the virtual board, and tests).
pub fn encode_table(regions: &[RawRegion], width: TableWidth) -> Vec<u8> {
    let mut out = Vec::with_capacity(regions.len() * width.entry_len());
    let name = |s: &str| {
        let mut f = [0u8; NAME_LEN];
        for (slot, b) in f.iter_mut().zip(s.bytes().take(NAME_LEN - 1)) {
            *slot = b;
        }
        f
    };
    for r in regions {
        match width {
            TableWidth::Bits32 => {
                for v in [r.save_pref, r.base, r.length] {
                    out.extend_from_slice(&(v as u32).to_le_bytes());
                }
            }
            TableWidth::Bits64 => {
                for v in [r.save_pref, r.base, r.length] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        out.extend_from_slice(&name(&r.description));
        out.extend_from_slice(&name(&r.filename));
    }
    out
}

/// Bounds applied to a table before anything is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single region accepted.
    pub max_region: u64,
    /// Most entries accepted.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // The largest RAM on a cellular module is a few GiB; a length beyond this is a
            // corrupt table, not a region.
            max_region: 16 << 30,
            max_entries: 256,
        }
    }
}

/// A region that passed the checks, with the file it is saved as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Position in the table (0-based).
    pub index: usize,
    /// Start address.
    pub base: u64,
    /// Length in bytes.
    pub length: u64,
    /// `save_pref` word.
    pub save_pref: u64,
    /// Description as the board sent it.
    pub description: String,
    /// File name as the board sent it.
    pub name: String,
    /// Plain, unique file name to save it under (see [`safe_file_name`]).
    pub file_name: String,
}

/// A table entry that is not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedRegion {
    /// Position in the table (0-based).
    pub index: usize,
    /// File name (or description) as the board sent it.
    pub name: String,
    /// Plain-language reason.
    pub reason: String,
}

/// The outcome of [`check_table`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckedTable {
    /// Regions to read, in table order.
    pub regions: Vec<Region>,
    /// Entries refused.
    pub refused: Vec<RefusedRegion>,
    /// Changes made (renamed files) that a user should know about.
    pub notes: Vec<String>,
}

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A plain file name for a region: only `A-Z a-z 0-9 . _ -` are kept (anything else, path
/// separators and `..` included, becomes `_`, runs of `_` are one), no leading dot or `_`, no
/// Windows device name, never empty (`region<N>.bin`).
pub fn safe_file_name(name: &str, index: usize) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while s.contains("..") {
        s = s.replace("..", "_");
    }
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    let s = s.trim_matches(|c| c == '.' || c == '_').to_owned();
    if s.is_empty() {
        return format!("region{index}.bin");
    }
    let stem = s.split('.').next().unwrap_or_default().to_ascii_uppercase();
    if RESERVED.contains(&stem.as_str()) {
        return format!("_{s}");
    }
    s
}

/// Check a decoded table: refuse zero-length, oversized, address-overflowing and overlapping
/// regions (an overlap refuses the later entry), and give every region a safe, unique file name
/// (case-insensitively unique, for Windows and macOS).
pub fn check_table(raw: &[RawRegion], width: TableWidth, limits: &Limits) -> CheckedTable {
    let mut out = CheckedTable::default();
    let mut names: HashSet<String> = HashSet::new();
    let addr_limit: u128 = match width {
        TableWidth::Bits32 => 1 << 32,
        TableWidth::Bits64 => 1 << 64,
    };
    for r in raw {
        let shown = if r.filename.is_empty() {
            r.description.clone()
        } else {
            r.filename.clone()
        };
        let refuse = |reason: String| RefusedRegion {
            index: r.index,
            name: shown.clone(),
            reason,
        };
        if r.index >= limits.max_entries {
            out.refused.push(refuse(format!(
                "the table has more than {} entries; the rest are not read",
                limits.max_entries
            )));
            continue;
        }
        if r.length == 0 {
            out.refused
                .push(refuse("the table gives it a length of 0".to_owned()));
            continue;
        }
        if r.length > limits.max_region {
            out.refused.push(refuse(format!(
                "the table gives it a length of {} bytes, more than the {} a module's memory can hold (corrupt table?)",
                r.length, limits.max_region
            )));
            continue;
        }
        if u128::from(r.base) + u128::from(r.length) > addr_limit {
            out.refused.push(refuse(format!(
                "0x{:x} + 0x{:x} runs past the end of the {}-bit address space",
                r.base,
                r.length,
                width.bits()
            )));
            continue;
        }
        let end = r.base + r.length;
        if let Some(o) = out
            .regions
            .iter()
            .find(|o| r.base < o.base + o.length && o.base < end)
        {
            out.refused.push(refuse(format!(
                "0x{:x}..0x{:x} overlaps {} (0x{:x}..0x{:x}), read already",
                r.base,
                end,
                o.name,
                o.base,
                o.base + o.length
            )));
            continue;
        }
        let mut file = safe_file_name(&r.filename, r.index);
        if file != r.filename {
            out.notes.push(format!(
                "region {} ({:?}): the board's file name {:?} is saved as {file:?} (only plain names in the output folder are used)",
                r.index, r.description, r.filename
            ));
        }
        if names.contains(&file.to_ascii_lowercase()) {
            let (stem, ext) = match file.rsplit_once('.') {
                Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
                _ => (file.clone(), String::new()),
            };
            let mut k = 2;
            while names.contains(&format!("{stem}_{k}{ext}").to_ascii_lowercase()) {
                k += 1;
            }
            let renamed = format!("{stem}_{k}{ext}");
            out.notes.push(format!(
                "region {}: the file name {file:?} is used twice in the table; saved as {renamed:?}",
                r.index
            ));
            file = renamed;
        }
        names.insert(file.to_ascii_lowercase());
        out.regions.push(Region {
            index: r.index,
            base: r.base,
            length: r.length,
            save_pref: r.save_pref,
            description: r.description.clone(),
            name: shown,
            file_name: file,
        });
    }
    out
}
