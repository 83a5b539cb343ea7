//! Host-side Sahara state machine (docs/protocol.md §1, §1): bytes in, [`HostAction`]s out.
//!
//! It buffers input, so packets may arrive one per USB transfer, split byte by byte or glued
//! together. The driver writes every [`HostAction::Send`], reads more and calls
//! [`SaharaHost::feed`], and calls [`SaharaHost::on_silence`] when a read timed out.
//!
//! Choices (documented for the engine): a READ_DATA past the end of the image is an error
//! ([`SaharaError::ReadPastEnd`]), as qdl does, rather than 0xFF padding as edl does.
//! DONE_RESP PENDING is accepted for image ids 7, 13 and 21 only. On silence before any HELLO
//! the machine sends one unsolicited HELLO_RESP (mode 0 for an upload, mode 3 when it still
//! wants the identity), then fails with [`SaharaError::Timeout`].

use super::error::SaharaError;
use super::identity::Identity;
use super::packet::SaharaPacket;
use super::status::SaharaStatus;
use super::{exec, image_id, mode};

mod command;

/// Largest command-mode reply accepted (identity replies are at most a few hundred bytes).
pub const MAX_EXEC_DATA: usize = 0x1_0000;

/// HELLOs answered in one session before a boot ROM that keeps restarting is given up on.
const MAX_HELLOS: u32 = 16;

/// What the session should achieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostGoal {
    /// Upload the programmer right away.
    Upload,
    /// Read serial/HWID/PK hash in command mode, switch back, then upload.
    IdentityThenUpload,
    /// Read the identity, switch back to image transfer (the board re-sends HELLO and waits
    /// for a programmer), and finish.
    IdentityOnly,
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAction {
    /// Write these bytes to the board.
    Send(Vec<u8>),
    /// The board will now send this many raw bytes (no header): read at least that much.
    ExpectRaw(usize),
    /// The session is over; nothing follows.
    Finished(Outcome),
}

/// How a successful session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The programmer was accepted and now runs on the same pipe.
    Uploaded {
        /// Identity, when it was asked for (possibly partial: see its `refused` fields).
        identity: Option<Identity>,
        /// Image id the board asked for (13 = Firehose programmer).
        image_id: u64,
        /// Bytes sent in answer to READ_DATA requests.
        bytes_served: u64,
        /// The board answered DONE_RESP PENDING (accepted quirk for ids 7, 13, 21).
        pending_accepted: bool,
        /// Bytes received after DONE_RESP (the programmer's first output, if glued).
        trailing: Vec<u8>,
    },
    /// The first bytes were `<?xml`: a Firehose programmer is already running.
    FirehoseAlreadyRunning {
        /// Everything received so far, to be handed to the Firehose side.
        received: Vec<u8>,
    },
    /// Identity read and SWITCH_MODE(0) sent; the board is waiting for a programmer.
    IdentityRead {
        /// What the board reported.
        identity: Identity,
        /// Bytes received after the last reply (e.g. the re-sent HELLO, if glued).
        trailing: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    WaitHello,
    WaitCmdReady,
    WaitExecResp(u32),
    RecvExecData(u32, usize),
    Upload,
    WaitDoneResp,
    WaitResetResp(&'static str, &'static str),
    Over,
}

impl State {
    fn describe(&self) -> &'static str {
        match self {
            Self::WaitHello => "waiting for HELLO",
            Self::WaitCmdReady => "waiting for CMD_READY (command mode)",
            Self::WaitExecResp(_) => "waiting for CMD_EXECUTE_RESP",
            Self::RecvExecData(..) => "receiving command-mode data",
            Self::Upload => "serving the programmer (READ_DATA)",
            Self::WaitDoneResp => "waiting for DONE_RESP",
            Self::WaitResetResp(..) => "waiting for RESET_RESP",
            Self::Over => "finished",
        }
    }
}

/// The host side of one Sahara session.
#[derive(Debug, Clone)]
pub struct SaharaHost {
    goal: HostGoal,
    image: Option<Vec<u8>>,
    state: State,
    buf: Vec<u8>,
    seen_packet: bool,
    nudge_allowed: bool,
    identity: Option<Identity>,
    identity_done: bool,
    /// Command mode fell silent once already (see [`SaharaHost::on_silence`]).
    command_mode_fallback_used: bool,
    /// HELLOs answered so far.
    hellos: u32,
    queue: Vec<u32>,
    image_id: u64,
    bytes_served: u64,
}

impl SaharaHost {
    /// A session with this goal. `programmer` is the image served on READ_DATA (ignored for
    /// [`HostGoal::IdentityOnly`]).
    pub fn new(goal: HostGoal, programmer: Option<Vec<u8>>) -> Self {
        let wants_identity = goal != HostGoal::Upload;
        Self {
            goal,
            image: if goal == HostGoal::IdentityOnly {
                None
            } else {
                programmer
            },
            state: State::WaitHello,
            buf: Vec::new(),
            seen_packet: false,
            nudge_allowed: true,
            identity: wants_identity.then(Identity::default),
            identity_done: !wants_identity,
            command_mode_fallback_used: false,
            hellos: 0,
            queue: Vec::new(),
            image_id: 0,
            bytes_served: 0,
        }
    }

    /// Bytes served so far and the image size (for progress).
    pub fn progress(&self) -> (u64, u64) {
        let len = self.image.as_ref().map_or(0, |i| i.len() as u64);
        (self.bytes_served, len)
    }

    /// Identity gathered so far (None when not asked for).
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// True once the session finished or failed.
    pub fn is_over(&self) -> bool {
        self.state == State::Over
    }

    /// Consume received bytes; returns the actions to perform, in order (empty = read more).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<HostAction>, SaharaError> {
        if self.state == State::Over {
            return Err(SaharaError::Finished);
        }
        self.buf.extend_from_slice(bytes);
        let mut actions = Vec::new();
        match self.drain(&mut actions) {
            Ok(()) => Ok(actions),
            Err(e) => {
                self.state = State::Over;
                Err(e)
            }
        }
    }

    /// The driver's read timed out with nothing new.
    pub fn on_silence(&mut self) -> Result<Vec<HostAction>, SaharaError> {
        let waiting_for = self.state.describe();
        let nudgeable = matches!(self.state, State::WaitHello) && self.nudge_allowed;
        if nudgeable && self.buf.is_empty() {
            // The HELLO may already have been consumed (Windows driver, an earlier tool).
            self.nudge_allowed = false;
            let m = self.hello_resp_mode(mode::IMAGE_TX_PENDING);
            self.state = if m == mode::COMMAND {
                State::WaitCmdReady
            } else {
                State::Upload
            };
            return Ok(vec![HostAction::Send(SaharaPacket::hello_resp(m).encode())]);
        }
        if let Some(actions) = self.command_mode_fallback() {
            return Ok(actions);
        }
        let err = match self.state {
            // A RESET that never got its RESET_RESP still reports the original surprise.
            State::WaitResetResp(state, got) => SaharaError::Unexpected { state, got },
            _ => SaharaError::Timeout { waiting_for },
        };
        self.state = State::Over;
        Err(err)
    }

    fn drain(&mut self, actions: &mut Vec<HostAction>) -> Result<(), SaharaError> {
        loop {
            if self.state == State::Over {
                return Ok(());
            }
            if !self.seen_packet && self.check_firehose(actions) {
                return Ok(());
            }
            if let State::RecvExecData(cmd, len) = self.state {
                if self.buf.len() < len {
                    return Ok(());
                }
                let data: Vec<u8> = self.buf.drain(..len).collect();
                self.on_exec_data(cmd, &data, actions);
                continue;
            }
            let Some((packet, n)) = SaharaPacket::decode(&self.buf)? else {
                return Ok(());
            };
            self.buf.drain(..n);
            self.seen_packet = true;
            self.on_packet(packet, actions)?;
        }
    }

    /// Detect a running Firehose programmer. Returns true when the machine must stop here
    /// (finished, or waiting for enough bytes to decide).
    fn check_firehose(&mut self, actions: &mut Vec<HostAction>) -> bool {
        const XML: &[u8] = b"<?xml";
        if self.buf.starts_with(XML) {
            self.state = State::Over;
            let received = std::mem::take(&mut self.buf);
            actions.push(HostAction::Finished(Outcome::FirehoseAlreadyRunning {
                received,
            }));
            return true;
        }
        !self.buf.is_empty() && self.buf.len() < XML.len() && XML.starts_with(&self.buf)
    }

    fn hello_resp_mode(&self, offered: u32) -> u32 {
        if !self.identity_done {
            mode::COMMAND
        } else if offered == mode::COMMAND {
            mode::IMAGE_TX_PENDING
        } else {
            offered
        }
    }

    /// A HELLO is answered in every state but these: a boot ROM that re-sends HELLO restarted
    /// its side of the session (qdl answers every HELLO; QFirehose skips, never resets for one).
    fn hello_acceptable(&self) -> bool {
        !matches!(self.state, State::WaitResetResp(..) | State::Over) && self.hellos < MAX_HELLOS
    }

    /// A HELLO that comes while command mode was asked for or under way: the boot ROM did
    /// not take command mode (it dropped HELLO_RESP mode 3 and started over). The identity is
    /// given up and the session goes on with image transfer.
    fn abandon_command_mode(&mut self) -> bool {
        if matches!(
            self.state,
            State::WaitCmdReady | State::WaitExecResp(_) | State::RecvExecData(..)
        ) && !self.identity_done
        {
            if let Some(id) = self.identity.as_mut() {
                if self.state == State::WaitCmdReady {
                    id.command_mode_silent = true;
                }
                if let State::WaitExecResp(cmd) = self.state {
                    id.refused.push((cmd, None));
                }
            }
            self.identity_done = true;
            self.queue.clear();
            return true;
        }
        false
    }

    fn on_packet(
        &mut self,
        p: SaharaPacket,
        actions: &mut Vec<HostAction>,
    ) -> Result<(), SaharaError> {
        use SaharaPacket as P;
        match (&self.state, p) {
            // Whatever answers our RESET, the session has failed on the earlier surprise.
            (State::WaitResetResp(state, got), _) => Err(SaharaError::Unexpected { state, got }),
            (_, P::MemoryDebug { .. } | P::MemoryDebug64 { .. }) => {
                Err(SaharaError::MemoryDebugMode)
            }
            (_, P::Hello { mode: m, .. }) if m == mode::MEMORY_DEBUG => {
                Err(SaharaError::MemoryDebugMode)
            }
            (
                _,
                P::Hello {
                    version,
                    version_supported,
                    mode: offered,
                    ..
                },
            ) if self.hello_acceptable() => {
                self.on_hello(version, version_supported, offered, actions);
                Ok(())
            }
            (State::WaitCmdReady | State::WaitHello, P::CmdReady) => {
                self.on_cmd_ready(actions);
                Ok(())
            }
            (State::WaitCmdReady, P::EndImageTx { status, .. }) => {
                self.on_command_mode_refused(SaharaStatus(status), actions);
                Ok(())
            }
            (State::WaitExecResp(cmd), p) => {
                let cmd = *cmd;
                self.on_exec_packet(cmd, p, actions)
            }
            (_, p) => self.on_image_packet(p, actions),
        }
    }

    /// Packets of the image-transfer phase.
    fn on_image_packet(
        &mut self,
        p: SaharaPacket,
        actions: &mut Vec<HostAction>,
    ) -> Result<(), SaharaError> {
        use SaharaPacket as P;
        let serving = matches!(
            self.state,
            State::WaitHello | State::WaitCmdReady | State::Upload
        );
        match p {
            P::ReadData {
                image_id,
                offset,
                length,
            } if serving => self.serve(
                u64::from(image_id),
                u64::from(offset),
                u64::from(length),
                actions,
            ),
            P::ReadData64 {
                image_id,
                offset,
                length,
            } if serving => self.serve(image_id, offset, length, actions),
            P::EndImageTx { image_id, status }
                if matches!(self.state, State::Upload | State::WaitHello) =>
            {
                self.on_end_image(u64::from(image_id), SaharaStatus(status), actions)
            }
            P::DoneResp { image_tx_status } if self.state == State::WaitDoneResp => {
                self.on_done_resp(image_tx_status, actions)
            }
            other => {
                self.unexpected(other.name(), actions);
                Ok(())
            }
        }
    }

    fn unexpected(&mut self, got: &'static str, actions: &mut Vec<HostAction>) {
        let was = self.state.describe();
        actions.push(HostAction::Send(SaharaPacket::Reset.encode()));
        self.state = State::WaitResetResp(was, got);
    }

    fn on_hello(
        &mut self,
        version: u32,
        version_supported: u32,
        offered: u32,
        actions: &mut Vec<HostAction>,
    ) {
        self.nudge_allowed = false;
        self.hellos += 1;
        let abandoned = self.abandon_command_mode();
        if matches!(self.state, State::Upload | State::WaitDoneResp) {
            // The boot ROM started the image transfer over: serve it again from the start.
            self.bytes_served = 0;
        }
        if self.goal == HostGoal::IdentityOnly && abandoned {
            // Command mode was dropped (what was read so far is kept): answer for image
            // transfer and hand over to the upload.
            actions.push(HostAction::Send(
                SaharaPacket::hello_resp(mode::IMAGE_TX_PENDING).encode(),
            ));
            self.finish_identity(actions);
            return;
        }
        if let Some(id) = self.identity.as_mut() {
            id.sahara_version = version;
            id.sahara_version_supported = version_supported;
        }
        let m = self.hello_resp_mode(offered);
        if m == mode::COMMAND {
            // Only what the programmer check needs (popped from the end). The SBL version
            // (0x07) is left out, as edl does: some boot ROMs fail the upload after it.
            self.queue = if version >= 3 {
                vec![
                    exec::OEM_PK_HASH_READ,
                    exec::READ_CHIP_ID_V3,
                    exec::SERIAL_NUM_READ,
                ]
            } else {
                vec![
                    exec::OEM_PK_HASH_READ,
                    exec::MSM_HW_ID_READ,
                    exec::SERIAL_NUM_READ,
                ]
            };
            self.state = State::WaitCmdReady;
        } else {
            self.state = State::Upload;
        }
        actions.push(HostAction::Send(SaharaPacket::hello_resp(m).encode()));
    }

    fn serve(
        &mut self,
        image_id: u64,
        offset: u64,
        length: u64,
        actions: &mut Vec<HostAction>,
    ) -> Result<(), SaharaError> {
        let Some(image) = self.image.as_ref() else {
            return Err(SaharaError::NoImage { image_id });
        };
        let past_end = || SaharaError::ReadPastEnd {
            image_id,
            offset,
            length,
            image_len: image.len(),
        };
        let start = usize::try_from(offset).map_err(|_| past_end())?;
        let end = offset
            .checked_add(length)
            .and_then(|e| usize::try_from(e).ok())
            .ok_or_else(past_end)?;
        let chunk = image.get(start..end).ok_or_else(past_end)?;
        if self.identity.is_some() && !self.identity_done {
            // The board went straight to image transfer: command mode is not available.
            self.identity_done = true;
            self.queue.clear();
        }
        self.nudge_allowed = false;
        self.image_id = image_id;
        self.bytes_served += length;
        self.state = State::Upload;
        if !chunk.is_empty() {
            actions.push(HostAction::Send(chunk.to_vec()));
        }
        Ok(())
    }

    fn on_end_image(
        &mut self,
        image_id: u64,
        status: SaharaStatus,
        actions: &mut Vec<HostAction>,
    ) -> Result<(), SaharaError> {
        if !status.is_success() {
            return Err(SaharaError::ImageRejected { image_id, status });
        }
        if self.bytes_served == 0 {
            self.unexpected("END_IMAGE_TX", actions);
            return Ok(());
        }
        actions.push(HostAction::Send(SaharaPacket::Done.encode()));
        self.state = State::WaitDoneResp;
        Ok(())
    }

    fn on_done_resp(
        &mut self,
        status: u32,
        actions: &mut Vec<HostAction>,
    ) -> Result<(), SaharaError> {
        let pending_accepted = match status {
            1 => false,
            0 if image_id::PENDING_ALLOWED.contains(&self.image_id) => true,
            _ => {
                return Err(SaharaError::NotComplete {
                    image_id: self.image_id,
                    status,
                });
            }
        };
        self.state = State::Over;
        actions.push(HostAction::Finished(Outcome::Uploaded {
            identity: self.identity.clone(),
            image_id: self.image_id,
            bytes_served: self.bytes_served,
            pending_accepted,
            trailing: std::mem::take(&mut self.buf),
        }));
        Ok(())
    }
}
