//! Sahara: the boot-ROM (PBL) protocol that uploads a programmer (docs/protocol.md §1).
//!
//! [`packet`] is the wire codec (both directions), [`status`] the status-code table,
//! [`host`] the host-side state machine. Nothing here does I/O.

pub mod error;
pub mod host;
pub mod identity;
pub mod memdebug;
pub mod packet;
pub mod status;

pub use error::SaharaError;
pub use host::{HostAction, HostGoal, Outcome, SaharaHost};
pub use identity::Identity;
pub use memdebug::{DumpHost, DumpStep, MemDebugError, TableWidth};
pub use packet::SaharaPacket;
pub use status::SaharaStatus;

/// Sahara modes as carried in HELLO / HELLO_RESP / CMD_SWITCH_MODE (§1).
pub mod mode {
    /// Normal EDL: the target wants an image (the programmer).
    pub const IMAGE_TX_PENDING: u32 = 0;
    /// Image transfer complete.
    pub const IMAGE_TX_COMPLETE: u32 = 1;
    /// Crash / ramdump mode: the target offers a memory region table.
    pub const MEMORY_DEBUG: u32 = 2;
    /// Command mode: the host runs EXECUTE queries (serial, HWID, PK hash).
    pub const COMMAND: u32 = 3;
}

/// Command-mode client commands for CMD_EXECUTE (§1).
pub mod exec {
    /// No operation.
    pub const NOP: u32 = 0x00;
    /// Chip serial number, 4 bytes.
    pub const SERIAL_NUM_READ: u32 = 0x01;
    /// MSM hardware id, 8 bytes (sometimes repeated: 24 bytes). Not answered on Sahara v3.
    pub const MSM_HW_ID_READ: u32 = 0x02;
    /// OEM public-key hash (32 or 48 bytes, possibly repeated or zero padded).
    pub const OEM_PK_HASH_READ: u32 = 0x03;
    /// Legacy: switch to DMSS download.
    pub const SWITCH_TO_DMSS_DLOAD: u32 = 0x04;
    /// Legacy: switch to streaming download.
    pub const SWITCH_TO_STREAM_DLOAD: u32 = 0x05;
    /// Read debug data.
    pub const READ_DEBUG_DATA: u32 = 0x06;
    /// SBL software version, 4 bytes.
    pub const GET_SOFTWARE_VERSION_SBL: u32 = 0x07;
    /// List of supported command ids.
    pub const GET_COMMAND_ID_LIST: u32 = 0x08;
    /// DDR training blob.
    pub const GET_TRAINING_DATA: u32 = 0x09;
    /// Chip identity for Sahara v3 (>= 44 bytes).
    pub const READ_CHIP_ID_V3: u32 = 0x0A;
}

/// Well-known image ids requested in READ_DATA (§1).
pub mod image_id {
    /// NPRG: streaming NAND programmer.
    pub const NPRG: u64 = 7;
    /// ENPRG: emergency programmer.
    pub const ENPRG: u64 = 11;
    /// Firehose / ehostdl programmer.
    pub const FIREHOSE: u64 = 13;
    /// sbl1 (AG35).
    pub const SBL1: u64 = 21;
    /// Image ids for which a DONE_RESP of PENDING is accepted as success (QFirehose/fwupd quirk).
    pub const PENDING_ALLOWED: [u64; 3] = [NPRG, FIREHOSE, SBL1];
}
