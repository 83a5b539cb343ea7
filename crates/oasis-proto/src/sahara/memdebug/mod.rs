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

use std::borrow::Cow;

use crate::Help;

mod host;
mod table;

pub use host::{DumpHost, DumpStep};
pub use table::{
    CheckedTable, Limits, RawRegion, RefusedRegion, Region, TableWidth, check_table, encode_table,
    parse_table, safe_file_name,
};

use super::error::SaharaError;
use super::mode;
use super::status::SaharaStatus;

/// Largest MEMORY_READ the host sends (what ramdump tools use).
pub const MAX_CHUNK: u64 = 512 * 1024;
/// Largest region table accepted (qdl's limit; a real table is a few hundred bytes).
pub const MAX_TABLE_LEN: u64 = 64 * 1024;
/// Length of the description and file-name fields of a table entry.
pub const NAME_LEN: usize = 20;

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

impl Help for MemDebugError {
    /// What the user can do about it.
    fn help(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(match self {
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
        }))
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
