//! The sans-IO host of memory-debug mode: answer HELLO mode 2, read the table, read regions in
//! bounded chunks, reset.

use crate::sahara::mode;
use crate::sahara::packet::{HEADER_LEN, SaharaPacket, cmd};
use crate::sahara::status::SaharaStatus;

use super::{MAX_TABLE_LEN, MemDebugError, RawRegion, TableWidth, parse_table};

/// What the driver must do or learn after feeding bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpStep {
    /// Write these bytes to the board.
    Send(Vec<u8>),
    /// The region table arrived (not yet checked: call [`check_table`](super::check_table)).
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
/// Drive it like [`crate::sahara::SaharaHost`]: feed received bytes, perform the returned
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

    /// Ask for `len` bytes at `addr` (at most [`MAX_CHUNK`](super::MAX_CHUNK)); returns the packet to send.
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
                if mode != mode::MEMORY_DEBUG {
                    return Err(MemDebugError::NotDumpMode { mode });
                }
                self.version = version;
                self.state = State::WaitDebug;
                steps.push(DumpStep::Send(
                    SaharaPacket::hello_resp(mode::MEMORY_DEBUG).encode(),
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
