//! Sahara packet codec: every command of docs/protocol.md §1, both directions, as bytes.
//!
//! Framing: 8-byte header `{u32 command, u32 length}` (length includes the header) + body,
//! all little-endian. [`SaharaPacket::decode`] works on a byte stream: it returns `Ok(None)`
//! until a whole packet is buffered, so it serves packet transports and COM ports alike.

use super::error::SaharaError;

/// Size of the Sahara packet header.
pub const HEADER_LEN: usize = 8;
/// Largest packet this codec accepts. Real targets send at most 0x30 bytes (HELLO);
/// the bound keeps a garbage length field from making a driver wait for megabytes.
pub const MAX_PACKET_LEN: usize = 0x1000;

/// Command ids (§1).
pub mod cmd {
    /// HELLO (target → host).
    pub const HELLO: u32 = 0x01;
    /// HELLO_RESP (host → target).
    pub const HELLO_RESP: u32 = 0x02;
    /// READ_DATA (target → host).
    pub const READ_DATA: u32 = 0x03;
    /// END_IMAGE_TX (target → host).
    pub const END_IMAGE_TX: u32 = 0x04;
    /// DONE (host → target).
    pub const DONE: u32 = 0x05;
    /// DONE_RESP (target → host).
    pub const DONE_RESP: u32 = 0x06;
    /// RESET (host → target).
    pub const RESET: u32 = 0x07;
    /// RESET_RESP (target → host).
    pub const RESET_RESP: u32 = 0x08;
    /// MEMORY_DEBUG (target → host).
    pub const MEMORY_DEBUG: u32 = 0x09;
    /// MEMORY_READ (host → target).
    pub const MEMORY_READ: u32 = 0x0A;
    /// CMD_READY (target → host).
    pub const CMD_READY: u32 = 0x0B;
    /// CMD_SWITCH_MODE (host → target).
    pub const CMD_SWITCH_MODE: u32 = 0x0C;
    /// CMD_EXECUTE (host → target).
    pub const CMD_EXECUTE: u32 = 0x0D;
    /// CMD_EXECUTE_RESP (target → host).
    pub const CMD_EXECUTE_RESP: u32 = 0x0E;
    /// CMD_EXECUTE_DATA (host → target).
    pub const CMD_EXECUTE_DATA: u32 = 0x0F;
    /// MEMORY_DEBUG_64 (target → host).
    pub const MEMORY_DEBUG_64: u32 = 0x10;
    /// MEMORY_READ_64 (host → target).
    pub const MEMORY_READ_64: u32 = 0x11;
    /// READ_DATA_64 (target → host).
    pub const READ_DATA_64: u32 = 0x12;
    /// RESET_STATE_MACHINE (host → target).
    pub const RESET_STATE_MACHINE: u32 = 0x13;
}

/// One Sahara packet. Field names follow docs/protocol.md §1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaharaPacket {
    /// 0x01 target greeting.
    Hello {
        /// Protocol version the target speaks.
        version: u32,
        /// Oldest version the target accepts.
        version_supported: u32,
        /// Largest command packet the target accepts.
        max_cmd_packet_len: u32,
        /// Mode the target offers (see [`super::mode`]).
        mode: u32,
        /// Six reserved words.
        reserved: [u32; 6],
    },
    /// 0x02 host answer to HELLO.
    HelloResp {
        /// Host protocol version.
        version: u32,
        /// Oldest version the host accepts.
        version_supported: u32,
        /// 0 = OK.
        status: u32,
        /// Mode the host asks for.
        mode: u32,
        /// Six reserved words (ignored by targets).
        reserved: [u32; 6],
    },
    /// 0x03 request for image bytes (32-bit).
    ReadData {
        /// Image id (13 = Firehose programmer).
        image_id: u32,
        /// Offset into the image.
        offset: u32,
        /// Number of bytes wanted.
        length: u32,
    },
    /// 0x12 request for image bytes (64-bit).
    ReadData64 {
        /// Image id.
        image_id: u64,
        /// Offset into the image.
        offset: u64,
        /// Number of bytes wanted.
        length: u64,
    },
    /// 0x04 end of image transfer with a status (§1).
    EndImageTx {
        /// Image id.
        image_id: u32,
        /// 0 = OK, otherwise an error code.
        status: u32,
    },
    /// 0x05 host: transfer done.
    Done,
    /// 0x06 target answer to DONE: 0 = PENDING, 1 = COMPLETE.
    DoneResp {
        /// Image transfer status.
        image_tx_status: u32,
    },
    /// 0x07 host: reset the target.
    Reset,
    /// 0x08 target answer to RESET.
    ResetResp,
    /// 0x09 memory-debug offer (32-bit).
    MemoryDebug {
        /// Address of the region table.
        table_addr: u32,
        /// Length of the region table.
        table_len: u32,
    },
    /// 0x10 memory-debug offer (64-bit).
    MemoryDebug64 {
        /// Address of the region table.
        table_addr: u64,
        /// Length of the region table.
        table_len: u64,
    },
    /// 0x0A host: read target memory (32-bit).
    MemoryRead {
        /// Address.
        addr: u32,
        /// Length.
        length: u32,
    },
    /// 0x11 host: read target memory (64-bit).
    MemoryRead64 {
        /// Address.
        addr: u64,
        /// Length.
        length: u64,
    },
    /// 0x0B command mode entered.
    CmdReady,
    /// 0x0C host: switch mode.
    CmdSwitchMode {
        /// New mode.
        mode: u32,
    },
    /// 0x0D host: execute a client command (see [`super::exec`]).
    CmdExecute {
        /// Client command.
        client_cmd: u32,
    },
    /// 0x0E target: result size of a client command.
    CmdExecuteResp {
        /// Client command.
        client_cmd: u32,
        /// Number of raw bytes the target will send after CMD_EXECUTE_DATA.
        data_length: u32,
    },
    /// 0x0F host: send me the result data (raw bytes follow, no header).
    CmdExecuteData {
        /// Client command.
        client_cmd: u32,
    },
    /// 0x13 host: reset the Sahara state machine.
    ResetStateMachine,
    /// Any other command (e.g. 0x14 WRITE_DATA, layout unconfirmed), body kept as is.
    Unknown {
        /// Command id.
        command: u32,
        /// Bytes after the header.
        body: Vec<u8>,
    },
}

fn put_u32s(command: u32, words: &[u32]) -> Vec<u8> {
    let len = HEADER_LEN + 4 * words.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out
}

fn put_u64s(command: u32, words: &[u64]) -> Vec<u8> {
    let len = HEADER_LEN + 8 * words.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(i * 4..i * 4 + 4) {
        w.copy_from_slice(s);
    }
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(i * 8..i * 8 + 8) {
        w.copy_from_slice(s);
    }
    u64::from_le_bytes(w)
}

fn six(b: &[u8], first: usize) -> [u32; 6] {
    let mut r = [0u32; 6];
    for (k, slot) in r.iter_mut().enumerate() {
        *slot = u32_at(b, first + k);
    }
    r
}

/// Total packet length (header included) the codec requires for a known command,
/// or `None` for commands it keeps as [`SaharaPacket::Unknown`].
pub fn required_len(command: u32) -> Option<usize> {
    Some(match command {
        cmd::HELLO | cmd::HELLO_RESP => 0x30,
        cmd::READ_DATA => 0x14,
        cmd::END_IMAGE_TX | cmd::MEMORY_DEBUG | cmd::MEMORY_READ | cmd::CMD_EXECUTE_RESP => 0x10,
        cmd::DONE_RESP | cmd::CMD_SWITCH_MODE | cmd::CMD_EXECUTE | cmd::CMD_EXECUTE_DATA => 0x0C,
        cmd::DONE | cmd::RESET | cmd::RESET_RESP | cmd::CMD_READY | cmd::RESET_STATE_MACHINE => {
            0x08
        }
        cmd::MEMORY_DEBUG_64 | cmd::MEMORY_READ_64 => 0x18,
        cmd::READ_DATA_64 => 0x20,
        _ => return None,
    })
}

/// Human name of a command id, for error messages and logs.
pub fn command_name(command: u32) -> &'static str {
    match command {
        cmd::HELLO => "HELLO",
        cmd::HELLO_RESP => "HELLO_RESP",
        cmd::READ_DATA => "READ_DATA",
        cmd::END_IMAGE_TX => "END_IMAGE_TX",
        cmd::DONE => "DONE",
        cmd::DONE_RESP => "DONE_RESP",
        cmd::RESET => "RESET",
        cmd::RESET_RESP => "RESET_RESP",
        cmd::MEMORY_DEBUG => "MEMORY_DEBUG",
        cmd::MEMORY_READ => "MEMORY_READ",
        cmd::CMD_READY => "CMD_READY",
        cmd::CMD_SWITCH_MODE => "CMD_SWITCH_MODE",
        cmd::CMD_EXECUTE => "CMD_EXECUTE",
        cmd::CMD_EXECUTE_RESP => "CMD_EXECUTE_RESP",
        cmd::CMD_EXECUTE_DATA => "CMD_EXECUTE_DATA",
        cmd::MEMORY_DEBUG_64 => "MEMORY_DEBUG_64",
        cmd::MEMORY_READ_64 => "MEMORY_READ_64",
        cmd::READ_DATA_64 => "READ_DATA_64",
        cmd::RESET_STATE_MACHINE => "RESET_STATE_MACHINE",
        0x14 => "WRITE_DATA",
        _ => "unknown",
    }
}

impl SaharaPacket {
    /// The command id of this packet.
    pub fn command(&self) -> u32 {
        match self {
            Self::Hello { .. } => cmd::HELLO,
            Self::HelloResp { .. } => cmd::HELLO_RESP,
            Self::ReadData { .. } => cmd::READ_DATA,
            Self::ReadData64 { .. } => cmd::READ_DATA_64,
            Self::EndImageTx { .. } => cmd::END_IMAGE_TX,
            Self::Done => cmd::DONE,
            Self::DoneResp { .. } => cmd::DONE_RESP,
            Self::Reset => cmd::RESET,
            Self::ResetResp => cmd::RESET_RESP,
            Self::MemoryDebug { .. } => cmd::MEMORY_DEBUG,
            Self::MemoryDebug64 { .. } => cmd::MEMORY_DEBUG_64,
            Self::MemoryRead { .. } => cmd::MEMORY_READ,
            Self::MemoryRead64 { .. } => cmd::MEMORY_READ_64,
            Self::CmdReady => cmd::CMD_READY,
            Self::CmdSwitchMode { .. } => cmd::CMD_SWITCH_MODE,
            Self::CmdExecute { .. } => cmd::CMD_EXECUTE,
            Self::CmdExecuteResp { .. } => cmd::CMD_EXECUTE_RESP,
            Self::CmdExecuteData { .. } => cmd::CMD_EXECUTE_DATA,
            Self::ResetStateMachine => cmd::RESET_STATE_MACHINE,
            Self::Unknown { command, .. } => *command,
        }
    }

    /// Human name of this packet's command (e.g. `"READ_DATA_64"`).
    pub fn name(&self) -> &'static str {
        command_name(self.command())
    }

    /// A HELLO_RESP as real hosts send it: version 2, min 1, status 0, reserved zero.
    pub fn hello_resp(mode: u32) -> Self {
        Self::HelloResp {
            version: 2,
            version_supported: 1,
            status: 0,
            mode,
            reserved: [0; 6],
        }
    }

    /// Encode to wire bytes (header + body).
    pub fn encode(&self) -> Vec<u8> {
        let c = self.command();
        match self {
            Self::Hello {
                version,
                version_supported,
                max_cmd_packet_len: third,
                mode,
                reserved,
            }
            | Self::HelloResp {
                version,
                version_supported,
                status: third,
                mode,
                reserved,
            } => {
                let mut w = vec![*version, *version_supported, *third, *mode];
                w.extend_from_slice(reserved);
                put_u32s(c, &w)
            }
            Self::ReadData {
                image_id,
                offset,
                length,
            } => put_u32s(c, &[*image_id, *offset, *length]),
            Self::ReadData64 {
                image_id,
                offset,
                length,
            } => put_u64s(c, &[*image_id, *offset, *length]),
            Self::EndImageTx { image_id, status } => put_u32s(c, &[*image_id, *status]),
            Self::DoneResp { image_tx_status } => put_u32s(c, &[*image_tx_status]),
            Self::MemoryDebug {
                table_addr: a,
                table_len: b,
            }
            | Self::MemoryRead { addr: a, length: b } => put_u32s(c, &[*a, *b]),
            Self::MemoryDebug64 {
                table_addr: a,
                table_len: b,
            }
            | Self::MemoryRead64 { addr: a, length: b } => put_u64s(c, &[*a, *b]),
            Self::CmdSwitchMode { mode: v }
            | Self::CmdExecute { client_cmd: v }
            | Self::CmdExecuteData { client_cmd: v } => put_u32s(c, &[*v]),
            Self::CmdExecuteResp {
                client_cmd,
                data_length,
            } => put_u32s(c, &[*client_cmd, *data_length]),
            Self::Done
            | Self::Reset
            | Self::ResetResp
            | Self::CmdReady
            | Self::ResetStateMachine => put_u32s(c, &[]),
            Self::Unknown { command, body } => {
                let mut out = Vec::with_capacity(HEADER_LEN + body.len());
                out.extend_from_slice(&command.to_le_bytes());
                out.extend_from_slice(&((HEADER_LEN + body.len()) as u32).to_le_bytes());
                out.extend_from_slice(body);
                out
            }
        }
    }

    /// Decode one packet from the front of `buf`.
    ///
    /// `Ok(None)`: not enough bytes yet. `Ok(Some((packet, consumed)))`: one packet, `consumed`
    /// bytes long (the length field). Errors: a length field below 8 or above
    /// [`MAX_PACKET_LEN`], or shorter than the known command's layout. A known command with
    /// a longer length than its layout is accepted (extra bytes ignored): newer targets may
    /// append fields.
    pub fn decode(buf: &[u8]) -> Result<Option<(SaharaPacket, usize)>, SaharaError> {
        if buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let command = u32_at(buf, 0);
        let length = u32_at(buf, 1) as usize;
        if length < HEADER_LEN {
            return Err(SaharaError::BadLength {
                command,
                name: command_name(command),
                length: length as u64,
            });
        }
        if length > MAX_PACKET_LEN {
            return Err(SaharaError::Oversize {
                command,
                name: command_name(command),
                length: length as u64,
                max: MAX_PACKET_LEN,
            });
        }
        if let Some(required) = required_len(command)
            && length < required
        {
            return Err(SaharaError::ShortPacket {
                name: command_name(command),
                expected: required,
                got: length,
            });
        }
        let Some(packet) = buf.get(..length) else {
            return Ok(None);
        };
        let body = packet.get(HEADER_LEN..).unwrap_or_default();
        Ok(Some((Self::from_body(command, body), length)))
    }

    fn from_body(command: u32, b: &[u8]) -> Self {
        match command {
            cmd::HELLO => Self::Hello {
                version: u32_at(b, 0),
                version_supported: u32_at(b, 1),
                max_cmd_packet_len: u32_at(b, 2),
                mode: u32_at(b, 3),
                reserved: six(b, 4),
            },
            cmd::HELLO_RESP => Self::HelloResp {
                version: u32_at(b, 0),
                version_supported: u32_at(b, 1),
                status: u32_at(b, 2),
                mode: u32_at(b, 3),
                reserved: six(b, 4),
            },
            cmd::READ_DATA => Self::ReadData {
                image_id: u32_at(b, 0),
                offset: u32_at(b, 1),
                length: u32_at(b, 2),
            },
            cmd::READ_DATA_64 => Self::ReadData64 {
                image_id: u64_at(b, 0),
                offset: u64_at(b, 1),
                length: u64_at(b, 2),
            },
            cmd::END_IMAGE_TX => Self::EndImageTx {
                image_id: u32_at(b, 0),
                status: u32_at(b, 1),
            },
            cmd::DONE => Self::Done,
            cmd::DONE_RESP => Self::DoneResp {
                image_tx_status: u32_at(b, 0),
            },
            cmd::RESET => Self::Reset,
            cmd::RESET_RESP => Self::ResetResp,
            cmd::MEMORY_DEBUG => Self::MemoryDebug {
                table_addr: u32_at(b, 0),
                table_len: u32_at(b, 1),
            },
            cmd::MEMORY_DEBUG_64 => Self::MemoryDebug64 {
                table_addr: u64_at(b, 0),
                table_len: u64_at(b, 1),
            },
            cmd::MEMORY_READ => Self::MemoryRead {
                addr: u32_at(b, 0),
                length: u32_at(b, 1),
            },
            cmd::MEMORY_READ_64 => Self::MemoryRead64 {
                addr: u64_at(b, 0),
                length: u64_at(b, 1),
            },
            cmd::CMD_READY => Self::CmdReady,
            cmd::CMD_SWITCH_MODE => Self::CmdSwitchMode { mode: u32_at(b, 0) },
            cmd::CMD_EXECUTE => Self::CmdExecute {
                client_cmd: u32_at(b, 0),
            },
            cmd::CMD_EXECUTE_RESP => Self::CmdExecuteResp {
                client_cmd: u32_at(b, 0),
                data_length: u32_at(b, 1),
            },
            cmd::CMD_EXECUTE_DATA => Self::CmdExecuteData {
                client_cmd: u32_at(b, 0),
            },
            cmd::RESET_STATE_MACHINE => Self::ResetStateMachine,
            _ => Self::Unknown {
                command,
                body: b.to_vec(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_more_then_packet() {
        let bytes = SaharaPacket::ReadData {
            image_id: 13,
            offset: 0x1000,
            length: 0x1000,
        }
        .encode();
        for cut in 0..bytes.len() {
            assert_eq!(
                SaharaPacket::decode(&bytes[..cut]).unwrap(),
                None,
                "cut {cut}"
            );
        }
        let (p, n) = SaharaPacket::decode(&bytes).unwrap().unwrap();
        assert_eq!(n, 0x14);
        assert_eq!(p.name(), "READ_DATA");
    }

    #[test]
    fn bad_lengths_are_specific_errors() {
        let mut b = vec![1, 0, 0, 0, 4, 0, 0, 0];
        assert!(matches!(
            SaharaPacket::decode(&b),
            Err(SaharaError::BadLength { length: 4, .. })
        ));
        b[4..8].copy_from_slice(&0x10u32.to_le_bytes());
        assert!(matches!(
            SaharaPacket::decode(&b),
            Err(SaharaError::ShortPacket {
                name: "HELLO",
                expected: 0x30,
                got: 0x10
            })
        ));
        b[4..8].copy_from_slice(&0x10_0000u32.to_le_bytes());
        assert!(matches!(
            SaharaPacket::decode(&b),
            Err(SaharaError::Oversize { .. })
        ));
    }
}
