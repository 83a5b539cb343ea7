//! Sahara memory-debug (crash dump) mode, host side: the region-table codec, its checks, and
//! the sans-IO machine that answers HELLO mode 2, reads the table, reads regions in bounded
//! chunks and resets the board (docs/protocol.md §1, §1).
//!
//! Facts (checked against qdl's ramdump, edl's and qdlrs's memory dump; no code taken): a
//! crashed target sends HELLO with mode 2; the host answers HELLO_RESP with mode 2; the target
//! sends MEMORY_DEBUG (32-bit table) or MEMORY_DEBUG_64 (64-bit table) with the table's address
//! and length; the host reads the table, then each region, with MEMORY_READ / MEMORY_READ_64;
//! the answer to a read is the raw bytes, no header. A read the target refuses is answered
//! with END_IMAGE_TX carrying an error status (0x19 "invalid memory read access") instead of
//! the data. Tools read at most 512 KiB per request and end with RESET (the board reboots
//! after RESET_RESP).
//!
//! Table entry layout: 32-bit = `save_pref u32, base u32, length u32, description[20],
//! filename[20]` (52 bytes); 64-bit = `save_pref u64, base u64, length u64, description[20],
//! filename[20]` (64 bytes). Strings are NUL padded.
//!
//! The machine does not trust the table: [`check_table`] refuses zero, huge, overflowing and
//! overlapping regions, and turns every file name into a plain name in one folder
//! ([`safe_file_name`]) so a table can never name a host path.

use std::collections::HashSet;

use super::error::SaharaError;
use super::mode;
use super::packet::{HEADER_LEN, SaharaPacket, cmd};
use super::status::SaharaStatus;

/// Largest MEMORY_READ the host sends (what ramdump tools use).
pub const MAX_CHUNK: u64 = 512 * 1024;
/// Largest region table accepted (qdl's limit; a real table is a few hundred bytes).
pub const MAX_TABLE_LEN: u64 = 64 * 1024;
/// Length of the description and file-name fields of a table entry.
pub const NAME_LEN: usize = 20;

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

/// What went wrong in memory-debug mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemDebugError {
    /// A Sahara framing error (bad length, oversize packet...).
    #[error(transparent)]
    Sahara(#[from] SaharaError),
    /// The board's HELLO offers another mode than memory debug.
    #[error(
        "the board's Sahara HELLO offers mode {mode} ({}), not memory debug (mode 2): it is not in crash-dump mode",
        mode_name(*mode)
    )]
    NotDumpMode {
        /// Mode offered.
        mode: u32,
    },
    /// A Firehose programmer answers instead of the boot ROM.
    #[error("a Firehose programmer is running on the board: it is not in crash-dump mode")]
    FirehoseRunning,
    /// MEMORY_DEBUG announced a table length that is zero, too long, or not whole entries.
    #[error(
        "the board's MEMORY_DEBUG announces a {len}-byte region table; a table is 1 to {} entries of {entry} bytes",
        MAX_TABLE_LEN / *entry as u64
    )]
    BadTableLength {
        /// Announced length.
        len: u64,
        /// Entry length for the table width.
        entry: usize,
    },
    /// The board refused to send its region table.
    #[error("the board refused to send its region table: status {status}")]
    TableRefused {
        /// Status in END_IMAGE_TX.
        status: SaharaStatus,
    },
    /// A read outside what one MEMORY_READ can carry.
    #[error(
        "MEMORY_READ of {len} bytes at 0x{addr:x} is not possible (1..={MAX_CHUNK} bytes, inside the address space)"
    )]
    BadChunk {
        /// Address.
        addr: u64,
        /// Length.
        len: u64,
    },
    /// The host asked the machine for something it cannot do in its state.
    #[error("cannot {what} while {state}")]
    NotReady {
        /// What was asked.
        what: &'static str,
        /// The machine's state.
        state: &'static str,
    },
    /// The board sent a packet that makes no sense in this state.
    #[error("unexpected Sahara packet {got} while {state}")]
    Unexpected {
        /// The machine's state.
        state: &'static str,
        /// The packet's name.
        got: &'static str,
    },
    /// Nothing arrived in time.
    #[error("the board stayed silent while {waiting_for}")]
    Timeout {
        /// What the machine was waiting for.
        waiting_for: &'static str,
    },
}

impl MemDebugError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<&'static str> {
        Some(match self {
            Self::NotDumpMode { .. } | Self::FirehoseRunning => {
                "`ramdump` collects the RAM of a crashed module (05C6:900E); a board in download mode (9008) has no dump to give: use `diagnose` to see its state"
            }
            Self::BadTableLength { .. } | Self::TableRefused { .. } => {
                "the crashed board's dump table is unusable; power-cycle it (the dump is then lost) and report the module's firmware revision"
            }
            Self::Timeout { .. } => {
                "check the cable and that no other tool (QPST, QFIL, ModemManager) holds the port; the board keeps its dump until it is reset"
            }
            Self::Sahara(e) => return e.help(),
            _ => return None,
        })
    }
}

fn mode_name(m: u32) -> &'static str {
    match m {
        mode::IMAGE_TX_PENDING => "waiting for a programmer",
        mode::IMAGE_TX_COMPLETE => "image transfer complete",
        mode::MEMORY_DEBUG => "memory debug",
        mode::COMMAND => "command mode",
        _ => "unknown",
    }
}

/// What the driver must do or learn after feeding bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpStep {
    /// Write these bytes to the board.
    Send(Vec<u8>),
    /// The region table arrived (not yet checked: call [`check_table`]).
    Table {
        /// Table width.
        width: TableWidth,
        /// Table address on the board.
        address: u64,
        /// Table length in bytes.
        length: u64,
        /// The entries.
        regions: Vec<RawRegion>,
    },
    /// Raw bytes of the chunk being read, in order.
    Data(Vec<u8>),
    /// The chunk asked with [`DumpHost::read`] arrived whole.
    ChunkDone,
    /// The board refused the chunk (END_IMAGE_TX with an error status); it still accepts reads.
    ReadRefused {
        /// The status.
        status: SaharaStatus,
    },
    /// RESET_RESP arrived: the board reboots.
    ResetDone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    WaitHello,
    WaitDebug,
    Table {
        width: TableWidth,
        address: u64,
        length: u64,
    },
    Idle,
    Chunk {
        left: u64,
        checked: bool,
    },
    WaitResetResp,
    Over,
}

impl State {
    fn describe(&self) -> &'static str {
        match self {
            Self::WaitHello => "waiting for HELLO",
            Self::WaitDebug => "waiting for MEMORY_DEBUG (the region table offer)",
            Self::Table { .. } => "receiving the region table",
            Self::Idle => "idle between reads",
            Self::Chunk { .. } => "receiving memory data (MEMORY_READ)",
            Self::WaitResetResp => "waiting for RESET_RESP",
            Self::Over => "finished",
        }
    }
}

/// The error answer to a MEMORY_READ: END_IMAGE_TX, 16 bytes.
const REFUSAL_LEN: usize = 0x10;

/// Is `b` (at least 8 bytes) the header of an END_IMAGE_TX packet?
fn refusal_header(b: &[u8]) -> bool {
    b.get(..HEADER_LEN).is_some_and(|h| {
        h[..4] == cmd::END_IMAGE_TX.to_le_bytes() && h[4..8] == (REFUSAL_LEN as u32).to_le_bytes()
    })
}

/// The host side of a memory-debug session.
///
/// Drive it like [`super::SaharaHost`]: feed received bytes, perform the returned
/// [`DumpStep::Send`]s, report silence with [`DumpHost::on_silence`]. Once the table arrived,
/// ask for chunks with [`DumpHost::read`] (one at a time) and end with [`DumpHost::reset`].
///
/// A read answer whose first 8 bytes are exactly an END_IMAGE_TX header (`04 00 00 00 10 00
/// 00 00`) with a non-zero status is taken as the board's refusal, as ramdump tools do: raw
/// memory that starts with those 16 bytes at a chunk boundary would be misread.
#[derive(Debug, Clone)]
pub struct DumpHost {
    state: State,
    buf: Vec<u8>,
    width: Option<TableWidth>,
    version: u32,
    nudged: bool,
}

impl Default for DumpHost {
    fn default() -> Self {
        Self::new()
    }
}

impl DumpHost {
    /// A session waiting for the board's HELLO.
    pub fn new() -> Self {
        Self {
            state: State::WaitHello,
            buf: Vec::new(),
            width: None,
            version: 0,
            nudged: false,
        }
    }

    /// Sahara version the board announced in HELLO (0 before).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Table width, once MEMORY_DEBUG(_64) arrived.
    pub fn width(&self) -> Option<TableWidth> {
        self.width
    }

    /// What the machine waits for, in words.
    pub fn waiting_for(&self) -> &'static str {
        self.state.describe()
    }

    /// True between reads (the table arrived, no read or reset pending).
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    /// Received bytes.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<DumpStep>, MemDebugError> {
        if self.state == State::Over {
            return Err(MemDebugError::NotReady {
                what: "take more bytes",
                state: "finished",
            });
        }
        let mut steps = Vec::new();
        let mut input = bytes;
        // Chunk data goes straight through, without a copy into the buffer.
        if self.buf.is_empty()
            && let State::Chunk {
                left,
                checked: true,
            } = &mut self.state
        {
            let n = (*left).min(input.len() as u64) as usize;
            if n > 0 {
                steps.push(DumpStep::Data(input[..n].to_vec()));
                *left -= n as u64;
                input = &input[n..];
                if *left == 0 {
                    self.state = State::Idle;
                    steps.push(DumpStep::ChunkDone);
                }
            }
        }
        self.buf.extend_from_slice(input);
        match self.drain(&mut steps) {
            Ok(()) => Ok(steps),
            Err(e) => {
                self.state = State::Over;
                Err(e)
            }
        }
    }

    /// The driver's read timed out with nothing new.
    pub fn on_silence(&mut self) -> Result<Vec<DumpStep>, MemDebugError> {
        if self.state == State::WaitHello && self.buf.is_empty() && !self.nudged {
            // The HELLO may have been consumed by an earlier tool: answer it unasked, once.
            self.nudged = true;
            self.state = State::WaitDebug;
            return Ok(vec![DumpStep::Send(
                SaharaPacket::hello_resp(mode::MEMORY_DEBUG).encode(),
            )]);
        }
        let waiting_for = self.state.describe();
        self.state = State::Over;
        Err(MemDebugError::Timeout { waiting_for })
    }

    /// Ask for `len` bytes at `addr` (at most [`MAX_CHUNK`]); returns the packet to send.
    pub fn read(&mut self, addr: u64, len: u64) -> Result<Vec<u8>, MemDebugError> {
        let (State::Idle, Some(width)) = (&self.state, self.width) else {
            return Err(MemDebugError::NotReady {
                what: "read memory",
                state: self.state.describe(),
            });
        };
        let packet = width.read_packet(addr, len)?;
        self.state = State::Chunk {
            left: len,
            checked: false,
        };
        Ok(packet)
    }

    /// End the session: the RESET packet to send (the board reboots after RESET_RESP).
    pub fn reset(&mut self) -> Vec<u8> {
        self.buf.clear();
        self.state = State::WaitResetResp;
        SaharaPacket::Reset.encode()
    }

    fn drain(&mut self, steps: &mut Vec<DumpStep>) -> Result<(), MemDebugError> {
        loop {
            match self.state.clone() {
                State::Over => return Ok(()),
                State::Chunk { left, checked } => {
                    if !self.chunk(left, checked, steps) {
                        return Ok(());
                    }
                }
                State::Table {
                    width,
                    address,
                    length,
                } => {
                    if !self.table(width, address, length, steps)? {
                        return Ok(());
                    }
                }
                State::WaitHello if self.buf.starts_with(b"<?xml") => {
                    return Err(MemDebugError::FirehoseRunning);
                }
                State::WaitResetResp => {
                    // Leftovers of an abandoned read may precede RESET_RESP: skip them.
                    match SaharaPacket::decode(&self.buf) {
                        Ok(Some((packet, n))) => {
                            self.buf.drain(..n);
                            self.packet(packet, steps)?;
                        }
                        Ok(None) => return Ok(()),
                        Err(_) => {
                            self.buf.drain(..1);
                        }
                    }
                }
                _ => {
                    let Some((packet, n)) = SaharaPacket::decode(&self.buf)? else {
                        return Ok(());
                    };
                    self.buf.drain(..n);
                    self.packet(packet, steps)?;
                }
            }
        }
    }

    /// Move chunk bytes out of the buffer; false when more bytes are needed.
    fn chunk(&mut self, left: u64, checked: bool, steps: &mut Vec<DumpStep>) -> bool {
        if !checked {
            let probe = HEADER_LEN.min(left as usize);
            if self.buf.len() < probe {
                return false;
            }
            if refusal_header(&self.buf) {
                if self.buf.len() < REFUSAL_LEN {
                    return false;
                }
                let status =
                    u32::from_le_bytes([self.buf[12], self.buf[13], self.buf[14], self.buf[15]]);
                if status != 0 {
                    self.buf.drain(..REFUSAL_LEN);
                    self.state = State::Idle;
                    steps.push(DumpStep::ReadRefused {
                        status: SaharaStatus(status),
                    });
                    return true;
                }
            }
        }
        if self.buf.is_empty() {
            self.state = State::Chunk {
                left,
                checked: true,
            };
            return false;
        }
        let n = left.min(self.buf.len() as u64) as usize;
        steps.push(DumpStep::Data(self.buf.drain(..n).collect()));
        let left = left - n as u64;
        if left == 0 {
            self.state = State::Idle;
            steps.push(DumpStep::ChunkDone);
            true
        } else {
            self.state = State::Chunk {
                left,
                checked: true,
            };
            false
        }
    }

    fn table(
        &mut self,
        width: TableWidth,
        address: u64,
        length: u64,
        steps: &mut Vec<DumpStep>,
    ) -> Result<bool, MemDebugError> {
        if refusal_header(&self.buf) {
            if self.buf.len() < REFUSAL_LEN {
                return Ok(false);
            }
            let status =
                u32::from_le_bytes([self.buf[12], self.buf[13], self.buf[14], self.buf[15]]);
            if status != 0 {
                return Err(MemDebugError::TableRefused {
                    status: SaharaStatus(status),
                });
            }
        }
        let len = length as usize;
        if self.buf.len() < len {
            return Ok(false);
        }
        let bytes: Vec<u8> = self.buf.drain(..len).collect();
        let regions = parse_table(&bytes, width)?;
        self.state = State::Idle;
        steps.push(DumpStep::Table {
            width,
            address,
            length,
            regions,
        });
        Ok(true)
    }

    fn offer(
        &mut self,
        width: TableWidth,
        address: u64,
        length: u64,
        steps: &mut Vec<DumpStep>,
    ) -> Result<(), MemDebugError> {
        let entry = width.entry_len();
        if length < entry as u64 || length > MAX_TABLE_LEN {
            return Err(MemDebugError::BadTableLength { len: length, entry });
        }
        self.width = Some(width);
        let packet = width.read_packet(address, length)?;
        steps.push(DumpStep::Send(packet));
        self.state = State::Table {
            width,
            address,
            length,
        };
        Ok(())
    }

    fn packet(&mut self, p: SaharaPacket, steps: &mut Vec<DumpStep>) -> Result<(), MemDebugError> {
        use SaharaPacket as P;
        match (&self.state, p) {
            (State::WaitHello | State::WaitDebug, P::Hello { version, mode, .. }) => {
                if mode != super::mode::MEMORY_DEBUG {
                    return Err(MemDebugError::NotDumpMode { mode });
                }
                self.version = version;
                self.state = State::WaitDebug;
                steps.push(DumpStep::Send(
                    SaharaPacket::hello_resp(super::mode::MEMORY_DEBUG).encode(),
                ));
                Ok(())
            }
            (
                State::WaitHello | State::WaitDebug,
                P::MemoryDebug {
                    table_addr,
                    table_len,
                },
            ) => self.offer(
                TableWidth::Bits32,
                u64::from(table_addr),
                u64::from(table_len),
                steps,
            ),
            (
                State::WaitHello | State::WaitDebug,
                P::MemoryDebug64 {
                    table_addr,
                    table_len,
                },
            ) => self.offer(TableWidth::Bits64, table_addr, table_len, steps),
            (State::WaitResetResp, P::ResetResp) => {
                self.state = State::Over;
                steps.push(DumpStep::ResetDone);
                Ok(())
            }
            // Leftovers of an abandoned read may precede RESET_RESP: not an error.
            (State::WaitResetResp, _) => Ok(()),
            (State::WaitDebug, P::EndImageTx { status, .. }) if status != 0 => {
                Err(MemDebugError::TableRefused {
                    status: SaharaStatus(status),
                })
            }
            (state, other) => Err(MemDebugError::Unexpected {
                state: state.describe(),
                got: other.name(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_stay_in_one_folder() {
        assert_eq!(safe_file_name("DDRCS0.BIN", 0), "DDRCS0.BIN");
        assert_eq!(safe_file_name("../../etc/passwd", 1), "etc_passwd");
        assert_eq!(safe_file_name("C:\\x.bin", 2), "C_x.bin");
        assert_eq!(safe_file_name("", 3), "region3.bin");
        assert_eq!(safe_file_name("..", 4), "region4.bin");
        assert_eq!(safe_file_name(".hidden", 5), "hidden");
        assert_eq!(safe_file_name("CON.bin", 6), "_CON.bin");
        assert_eq!(safe_file_name("a/b", 7), "a_b");
    }

    #[test]
    fn reads_are_bounded() {
        assert!(TableWidth::Bits32.read_packet(0, MAX_CHUNK + 1).is_err());
        assert!(TableWidth::Bits32.read_packet(0xFFFF_FFFF, 2).is_err());
        assert!(TableWidth::Bits32.read_packet(0, 0).is_err());
        assert_eq!(
            TableWidth::Bits64
                .read_packet(0x1_0000_0000, 16)
                .unwrap()
                .len(),
            0x18
        );
    }
}
