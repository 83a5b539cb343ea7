//! The Sahara target (PBL side): HELLO, command mode (serial, HWID, PK hash, SBL version,
//! chip ID v3), SWITCH_MODE, the ELF-driven image transfer, END_IMAGE_TX, DONE and RESET.

use oasis_proto::sahara::{SaharaPacket, exec, image_id, mode};

use crate::device::{Ctx, Transition};
use crate::dump;
use crate::fault::FaultKind;
use crate::image::{ImageLoader, Next, Piece};
use crate::secboot;

/// Status codes the target sends (docs/protocol.md §1).
mod st {
    pub const INVALID_COMMAND: u32 = 0x01;
    pub const INVALID_HOST_VERSION: u32 = 0x04;
    pub const INVALID_PACKET_SIZE: u32 = 0x05;
    pub const HOST_HELLO_ERROR: u32 = 0x15;
    pub const INVALID_MODE: u32 = 0x18;
    pub const MEMORY_DEBUG_UNSUPPORTED: u32 = 0x1B;
    pub const INVALID_MODE_SWITCH: u32 = 0x1C;
    pub const UNSUPPORTED_CLIENT_CMD: u32 = 0x1F;
    pub const IMAGE_TRANSFER_FAILED: u32 = 0x0C;
    pub const INVALID_CLIENT_CMD_DATA: u32 = 0x20;
}

#[derive(Debug, Clone)]
enum State {
    /// HELLO sent, waiting for HELLO_RESP.
    WaitHelloResp,
    /// CMD_READY sent; `pending` is the client command whose EXECUTE_RESP was sent.
    Command { pending: Option<u32> },
    /// READ_DATA sent; collecting `piece.len` raw bytes.
    Image { piece: Piece, got: Vec<u8> },
    /// END_IMAGE_TX(0) sent, waiting for DONE.
    WaitDone,
    /// An error END_IMAGE_TX was sent; only RESET / RESET_STATE_MACHINE help.
    Failed,
    /// Memory-dump mode accepted: MEMORY_READ requests are served until RESET.
    Dump,
}

/// The PBL's Sahara state machine.
#[derive(Debug, Clone)]
pub(crate) struct SaharaTarget {
    state: State,
    rx: Vec<u8>,
    loader: ImageLoader,
    hello_mode: u32,
    authenticated: bool,
    /// The SBL version was asked in command mode (see the `sbl-version-breaks-upload` quirk).
    sbl_version_asked: bool,
    /// Silent until a power cycle (`reset-silent` quirk after a RESET).
    silent: bool,
}

impl SaharaTarget {
    /// A target that has just booted into EDL; call [`SaharaTarget::start`] to send HELLO.
    pub fn new(ctx: &Ctx<'_>) -> Self {
        Self {
            state: State::WaitHelloResp,
            rx: Vec::new(),
            loader: Self::loader(ctx),
            hello_mode: mode::IMAGE_TX_PENDING,
            authenticated: false,
            sbl_version_asked: false,
            silent: false,
        }
    }

    fn loader(ctx: &Ctx<'_>) -> ImageLoader {
        ImageLoader::new(if ctx.profile.read_data_64 { 0x40 } else { 0x34 })
    }

    /// A target in memory-dump (crash) mode: HELLO offers mode 2 (MEMORY_DEBUG).
    pub fn memory_dump(ctx: &Ctx<'_>) -> Self {
        Self {
            hello_mode: mode::MEMORY_DEBUG,
            ..Self::new(ctx)
        }
    }

    /// Whether the target offers a memory dump (the board shows as 05C6:900E).
    pub fn is_memory_dump(&self) -> bool {
        self.hello_mode == mode::MEMORY_DEBUG
    }

    /// Send HELLO with the current mode and wait for HELLO_RESP.
    pub fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.state = State::WaitHelloResp;
        self.rx.clear();
        self.loader = Self::loader(ctx);
        self.authenticated = false;
        let p = ctx.profile;
        let hello = SaharaPacket::Hello {
            version: p.sahara_version,
            version_supported: p.sahara_min_version,
            max_cmd_packet_len: p.max_cmd_packet_len,
            mode: self.hello_mode,
            reserved: [0; 6],
        };
        let fault = ctx.faults.hit("hello");
        ctx.out.send(fault.as_ref(), hello.encode());
    }

    /// Bytes from the host.
    pub fn feed(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Transition {
        if self.silent {
            return Transition::Stay;
        }
        self.rx.extend_from_slice(data);
        loop {
            if let State::Image { piece, got } = &mut self.state {
                let want = (piece.len as usize).saturating_sub(got.len());
                let n = want.min(self.rx.len());
                got.extend(self.rx.drain(..n));
                if got.len() < piece.len as usize {
                    return Transition::Stay;
                }
                let (piece, got) = (*piece, std::mem::take(got));
                let t = self.image_piece(ctx, piece, &got);
                if !matches!(t, Transition::Stay) {
                    return t;
                }
                continue;
            }
            let packet = match SaharaPacket::decode(&self.rx) {
                Ok(None) => return Transition::Stay,
                Ok(Some((p, used))) => {
                    self.rx.drain(..used);
                    p
                }
                Err(e) => {
                    ctx.note(format!("Sahara: undecodable host packet ({e})"));
                    self.rx.clear();
                    self.fail(ctx, st::INVALID_PACKET_SIZE);
                    return Transition::Stay;
                }
            };
            let t = self.packet(ctx, packet);
            if !matches!(t, Transition::Stay) {
                return t;
            }
        }
    }

    fn end_image(&mut self, ctx: &mut Ctx<'_>, status: u32) {
        let fault = ctx.faults.hit("end-image");
        let image_id = image_id::FIREHOSE as u32;
        ctx.out.send(
            fault.as_ref(),
            SaharaPacket::EndImageTx { image_id, status }.encode(),
        );
    }

    fn fail(&mut self, ctx: &mut Ctx<'_>, status: u32) {
        self.end_image(ctx, status);
        self.state = State::Failed;
    }

    fn packet(&mut self, ctx: &mut Ctx<'_>, p: SaharaPacket) -> Transition {
        match (&self.state, p) {
            (_, SaharaPacket::Reset) if ctx.quirks.boot.reset_silent => {
                ctx.note(
                    "Sahara: RESET sent; this boot ROM stays silent until a power cycle".into(),
                );
                self.silent = true;
                self.rx.clear();
                Transition::Stay
            }
            (_, SaharaPacket::Reset) => {
                ctx.out.push(SaharaPacket::ResetResp.encode());
                Transition::Reboot
            }
            (_, SaharaPacket::ResetStateMachine) if ctx.profile.sahara_version >= 2 => {
                if !self.is_memory_dump() {
                    self.hello_mode = mode::IMAGE_TX_PENDING;
                }
                self.start(ctx);
                Transition::Stay
            }
            (
                State::WaitHelloResp,
                SaharaPacket::HelloResp {
                    version,
                    status,
                    mode: m,
                    ..
                },
            ) => {
                self.hello_resp(ctx, version, status, m);
                Transition::Stay
            }
            (State::Command { pending }, p) => {
                let pending = *pending;
                self.command(ctx, pending, p);
                Transition::Stay
            }
            (State::WaitDone, SaharaPacket::Done) => self.done(ctx),
            (State::Dump, SaharaPacket::MemoryRead { addr, length }) => {
                self.memory_read(ctx, u64::from(addr), u64::from(length));
                Transition::Stay
            }
            (State::Dump, SaharaPacket::MemoryRead64 { addr, length }) => {
                self.memory_read(ctx, addr, length);
                Transition::Stay
            }
            (_, other) => {
                ctx.note(format!(
                    "Sahara: host sent {} in state {:?}",
                    other.name(),
                    self.state_name()
                ));
                self.fail(ctx, st::INVALID_COMMAND);
                Transition::Stay
            }
        }
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::WaitHelloResp => "wait-hello-resp",
            State::Command { .. } => "command",
            State::Image { .. } => "image",
            State::WaitDone => "wait-done",
            State::Failed => "failed",
            State::Dump => "memory-dump",
        }
    }

    fn hello_resp(&mut self, ctx: &mut Ctx<'_>, version: u32, status: u32, m: u32) {
        if status != 0 {
            return self.fail(ctx, st::HOST_HELLO_ERROR);
        }
        if version < ctx.profile.sahara_min_version {
            return self.fail(ctx, st::INVALID_HOST_VERSION);
        }
        match m {
            mode::MEMORY_DEBUG if self.is_memory_dump() => {
                ctx.out.push(dump::offer(ctx.profile));
                self.state = State::Dump;
            }
            _ if self.is_memory_dump() => {
                ctx.note(format!(
                    "Sahara: host asked for mode {m} from a board that offers a memory dump"
                ));
                self.fail(ctx, st::INVALID_MODE);
            }
            mode::IMAGE_TX_PENDING => {
                let first = self.loader.start();
                self.request(ctx, first);
            }
            mode::COMMAND if ctx.quirks.boot.no_command_mode => {
                // This boot ROM does not do command mode: the request is dropped and it keeps
                // waiting for a HELLO_RESP for image transfer (or starts over with HELLO).
                ctx.note("Sahara: HELLO_RESP mode 3 (command) dropped by a boot ROM without command mode".into());
                if ctx.quirks.boot.hello_again {
                    self.hello_mode = mode::IMAGE_TX_PENDING;
                    self.start(ctx);
                }
            }
            mode::COMMAND if ctx.profile.sahara_version >= 2 => {
                let fault = ctx.faults.hit("cmd-ready");
                ctx.out
                    .send(fault.as_ref(), SaharaPacket::CmdReady.encode());
                self.state = State::Command { pending: None };
            }
            mode::MEMORY_DEBUG => self.fail(ctx, st::MEMORY_DEBUG_UNSUPPORTED),
            _ => self.fail(ctx, st::INVALID_MODE),
        }
    }

    /// A MEMORY_READ(_64) in dump mode: the raw bytes, or END_IMAGE_TX(0x19) for a read the
    /// target refuses (it stays in dump mode and takes the next read).
    fn memory_read(&mut self, ctx: &mut Ctx<'_>, addr: u64, len: u64) {
        let fault = ctx.faults.hit("memory-read");
        let refuse = |ctx: &mut Ctx<'_>| {
            ctx.out.push(
                SaharaPacket::EndImageTx {
                    image_id: 0,
                    status: dump::INVALID_MEMORY_READ,
                }
                .encode(),
            );
        };
        if fault == Some(FaultKind::Nak) {
            return refuse(ctx);
        }
        let Some(bytes) = dump::read(ctx.profile, addr, len) else {
            ctx.note(format!(
                "Sahara: MEMORY_READ of {len} bytes at 0x{addr:x} is outside the dump (or more than {} at once)",
                dump::MAX_READ
            ));
            return refuse(ctx);
        };
        if let Some(FaultKind::UnplugInData(at)) = fault {
            let cut = at.unwrap_or(len / 2).min(len) as usize;
            ctx.out.push(bytes[..cut].to_vec());
            ctx.out.push_unplug();
            return;
        }
        ctx.out.send(fault.as_ref(), bytes);
    }

    fn request(&mut self, ctx: &mut Ctx<'_>, piece: Piece) {
        let fault = ctx.faults.hit("read-data");
        match fault {
            Some(FaultKind::SaharaReset) => {
                self.hello_mode = mode::IMAGE_TX_PENDING;
                return self.start(ctx);
            }
            Some(FaultKind::SaharaWrong) => {
                // A memory-debug offer where a READ_DATA belongs: what a crashed target sends.
                let wrong = SaharaPacket::MemoryDebug {
                    table_addr: 0x0860_0000,
                    table_len: 0x34,
                };
                ctx.out.push(wrong.encode());
                self.state = State::Failed;
                return;
            }
            _ => {}
        }
        let id = image_id::FIREHOSE;
        let pkt = if ctx.profile.read_data_64 {
            SaharaPacket::ReadData64 {
                image_id: id,
                offset: piece.offset,
                length: piece.len,
            }
        } else {
            SaharaPacket::ReadData {
                image_id: id as u32,
                offset: piece.offset as u32,
                length: piece.len as u32,
            }
        };
        ctx.out.send(fault.as_ref(), pkt.encode());
        self.state = State::Image {
            piece,
            got: Vec::with_capacity(piece.len as usize),
        };
    }

    fn image_piece(&mut self, ctx: &mut Ctx<'_>, piece: Piece, data: &[u8]) -> Transition {
        let next = self.loader.deliver(piece, data);
        if !self.authenticated && self.loader.hash_segment_loaded() {
            self.authenticated = true;
            if let Some(status) = secboot::check(ctx.profile, &self.loader) {
                self.fail(ctx, status);
                return Transition::Stay;
            }
        }
        match next {
            Next::Read(p) => self.request(ctx, p),
            Next::Fail(status) => self.fail(ctx, status),
            Next::Complete => {
                if !self.authenticated
                    && let Some(status) = secboot::check(ctx.profile, &self.loader)
                {
                    self.fail(ctx, status);
                    return Transition::Stay;
                }
                let mut status = ctx.faults.sahara_status().unwrap_or(0);
                if status == 0
                    && self.sbl_version_asked
                    && ctx.quirks.boot.sbl_version_breaks_upload
                {
                    ctx.note("Sahara: the SBL version was asked in command mode; this boot ROM now fails the upload".into());
                    status = st::IMAGE_TRANSFER_FAILED;
                }
                self.end_image(ctx, status);
                self.state = if status == 0 {
                    State::WaitDone
                } else {
                    State::Failed
                };
            }
        }
        Transition::Stay
    }

    fn done(&mut self, ctx: &mut Ctx<'_>) -> Transition {
        let fault = ctx.faults.hit("done-resp");
        if fault == Some(FaultKind::SaharaWrong) {
            ctx.out.push(SaharaPacket::ResetResp.encode());
            self.state = State::Failed;
            return Transition::Stay;
        }
        let resp = SaharaPacket::DoneResp { image_tx_status: 1 };
        ctx.out.send(fault.as_ref(), resp.encode());
        if ctx.out.is_stalled() {
            return Transition::Stay;
        }
        Transition::StartProgrammer
    }

    fn command(&mut self, ctx: &mut Ctx<'_>, pending: Option<u32>, p: SaharaPacket) {
        match p {
            SaharaPacket::CmdExecute { client_cmd } => {
                if client_cmd == exec::GET_SOFTWARE_VERSION_SBL {
                    self.sbl_version_asked = true;
                }
                let fault = ctx.faults.hit("execute");
                match exec_data(ctx, client_cmd) {
                    Some(data) => {
                        let resp = SaharaPacket::CmdExecuteResp {
                            client_cmd,
                            data_length: data.len() as u32,
                        };
                        ctx.out.send(fault.as_ref(), resp.encode());
                        self.state = State::Command {
                            pending: Some(client_cmd),
                        };
                    }
                    None => {
                        self.end_image(ctx, st::UNSUPPORTED_CLIENT_CMD);
                        self.state = State::Command { pending: None };
                    }
                }
            }
            SaharaPacket::CmdExecuteData { client_cmd } if pending == Some(client_cmd) => {
                if let Some(data) = exec_data(ctx, client_cmd) {
                    ctx.out.push(data);
                }
                self.state = State::Command { pending: None };
            }
            SaharaPacket::CmdExecuteData { client_cmd } => {
                ctx.note(format!(
                    "Sahara: EXECUTE_DATA for 0x{client_cmd:02x} without a matching EXECUTE"
                ));
                self.end_image(ctx, st::INVALID_CLIENT_CMD_DATA);
            }
            SaharaPacket::CmdSwitchMode { mode: m } if m <= mode::COMMAND => {
                self.hello_mode = m;
                self.start(ctx);
            }
            SaharaPacket::CmdSwitchMode { .. } => self.end_image(ctx, st::INVALID_MODE_SWITCH),
            other => {
                ctx.note(format!(
                    "Sahara: host sent {} in command mode",
                    other.name()
                ));
                self.end_image(ctx, st::INVALID_COMMAND);
            }
        }
    }
}

/// The answer of a command-mode client command, `None` when the target refuses it.
fn exec_data(ctx: &Ctx<'_>, client_cmd: u32) -> Option<Vec<u8>> {
    let p = ctx.profile;
    let v3 = p.sahara_version >= 3;
    match client_cmd {
        exec::NOP => Some(Vec::new()),
        exec::SERIAL_NUM_READ => Some(p.serial.to_le_bytes().to_vec()),
        exec::MSM_HW_ID_READ if !v3 => {
            let one = p.hwid().to_le_bytes();
            Some(one.repeat(usize::from(p.hwid_repeat.max(1))))
        }
        exec::OEM_PK_HASH_READ => {
            let mut h = p.reported_pk_hash().to_vec();
            if let Some(n) = p.pk_hash_pad_to
                && n > h.len()
            {
                h.resize(n, 0);
            }
            Some(h)
        }
        exec::GET_SOFTWARE_VERSION_SBL => Some(p.sbl_version.to_le_bytes().to_vec()),
        exec::GET_COMMAND_ID_LIST => {
            let mut ids = vec![exec::NOP, exec::SERIAL_NUM_READ];
            ids.push(if v3 {
                exec::READ_CHIP_ID_V3
            } else {
                exec::MSM_HW_ID_READ
            });
            ids.extend([exec::OEM_PK_HASH_READ, exec::GET_SOFTWARE_VERSION_SBL]);
            Some(ids.iter().flat_map(|i| i.to_le_bytes()).collect())
        }
        exec::READ_CHIP_ID_V3 if v3 => {
            let mut d = vec![0u8; 48];
            d[0..4].copy_from_slice(&p.serial.to_le_bytes());
            d[36..40].copy_from_slice(&(p.msm_id & 0x00FF_FFFF).to_le_bytes());
            d[40..42].copy_from_slice(&p.oem_id.to_le_bytes());
            d[42..44].copy_from_slice(&p.model_id.to_le_bytes());
            Some(d)
        }
        _ => None,
    }
}
