//! The command-mode half of the host machine (docs/protocol.md §1): CMD_READY, the EXECUTE
//! queries for serial, HW ID, PK hash and SBL version, refusals and silence, and the switch back
//! to image transfer. Split from `host.rs` so each file keeps one concern.

use super::{HostAction, HostGoal, MAX_EXEC_DATA, Outcome, SaharaHost, State};
use crate::sahara::error::SaharaError;
use crate::sahara::mode;
use crate::sahara::packet::SaharaPacket;
use crate::sahara::status::SaharaStatus;

impl SaharaHost {
    /// A board that stays silent in command mode (it ignored HELLO_RESP mode 3, or an EXECUTE
    /// it does not know) must not cost the flash: once per session, give up on the identity and
    /// go on with the image transfer — HELLO_RESP mode 0 when CMD_READY never came, SWITCH_MODE(0)
    /// when an EXECUTE went unanswered. The unanswered query is recorded as refused.
    pub(super) fn command_mode_fallback(&mut self) -> Option<Vec<HostAction>> {
        if self.command_mode_fallback_used || !self.buf.is_empty() {
            return None;
        }
        let mut actions = Vec::new();
        match self.state {
            // A board that never sent a packet is silent, not a boot ROM without command mode.
            State::WaitCmdReady if self.goal == HostGoal::IdentityOnly && !self.seen_packet => {
                return None;
            }
            State::WaitCmdReady => {
                if let Some(id) = self.identity.as_mut() {
                    id.command_mode_silent = true;
                }
                self.identity_done = true;
                self.queue.clear();
                self.state = State::Upload;
                actions.push(HostAction::Send(
                    SaharaPacket::hello_resp(mode::IMAGE_TX_PENDING).encode(),
                ));
                if self.goal == HostGoal::IdentityOnly {
                    // The boot ROM still waits for a HELLO_RESP: answering for image transfer
                    // hands the board to the upload session, which serves its READ_DATA.
                    self.finish_identity(&mut actions);
                }
            }
            State::WaitExecResp(cmd) => {
                self.refuse(cmd, None);
                self.queue.clear();
                self.identity_done = true;
                self.switch_to_image_tx(&mut actions);
                if self.goal == HostGoal::IdentityOnly {
                    self.finish_identity(&mut actions);
                }
            }
            _ => return None,
        }
        self.command_mode_fallback_used = true;
        Some(actions)
    }

    /// Packets answering CMD_EXECUTE.
    pub(super) fn on_exec_packet(
        &mut self,
        cmd: u32,
        p: SaharaPacket,
        actions: &mut Vec<HostAction>,
    ) -> Result<(), SaharaError> {
        match p {
            SaharaPacket::CmdExecuteResp {
                client_cmd,
                data_length,
            } => self.on_exec_resp(cmd, client_cmd, data_length, actions),
            SaharaPacket::EndImageTx { status, .. } => {
                self.refuse(cmd, Some(SaharaStatus(status)));
                self.next_exec(actions);
                Ok(())
            }
            other => {
                self.unexpected(other.name(), actions);
                Ok(())
            }
        }
    }

    pub(super) fn on_cmd_ready(&mut self, actions: &mut Vec<HostAction>) {
        if self.identity_done {
            // Command mode we did not ask for: go back to image transfer.
            self.switch_to_image_tx(actions);
        } else {
            self.next_exec(actions);
        }
    }

    pub(super) fn on_command_mode_refused(
        &mut self,
        status: SaharaStatus,
        actions: &mut Vec<HostAction>,
    ) {
        if let Some(id) = self.identity.as_mut() {
            id.command_mode_refused = Some(status);
        }
        self.identity_done = true;
        self.queue.clear();
        if self.goal == HostGoal::IdentityOnly {
            self.finish_identity(actions);
        } else {
            self.state = State::WaitHello;
            self.nudge_allowed = true;
        }
    }

    pub(super) fn on_exec_resp(
        &mut self,
        asked: u32,
        client_cmd: u32,
        data_length: u32,
        actions: &mut Vec<HostAction>,
    ) -> Result<(), SaharaError> {
        if client_cmd != asked {
            return Err(SaharaError::ExecuteMismatch {
                expected: asked,
                got: client_cmd,
            });
        }
        let len = data_length as usize;
        if len == 0 {
            self.refuse(asked, None);
            self.next_exec(actions);
            return Ok(());
        }
        if len > MAX_EXEC_DATA {
            return Err(SaharaError::Oversize {
                command: client_cmd,
                name: "CMD_EXECUTE_RESP data",
                length: u64::from(data_length),
                max: MAX_EXEC_DATA,
            });
        }
        actions.push(HostAction::Send(
            SaharaPacket::CmdExecuteData { client_cmd }.encode(),
        ));
        actions.push(HostAction::ExpectRaw(len));
        self.state = State::RecvExecData(asked, len);
        Ok(())
    }

    pub(super) fn on_exec_data(&mut self, cmd: u32, data: &[u8], actions: &mut Vec<HostAction>) {
        let stored = self.identity.as_mut().is_some_and(|id| id.store(cmd, data));
        if !stored {
            self.refuse(cmd, None);
        }
        self.next_exec(actions);
    }

    pub(super) fn refuse(&mut self, cmd: u32, status: Option<SaharaStatus>) {
        if let Some(id) = self.identity.as_mut() {
            id.refused.push((cmd, status));
        }
    }

    pub(super) fn next_exec(&mut self, actions: &mut Vec<HostAction>) {
        match self.queue.pop() {
            Some(client_cmd) => {
                actions.push(HostAction::Send(
                    SaharaPacket::CmdExecute { client_cmd }.encode(),
                ));
                self.state = State::WaitExecResp(client_cmd);
            }
            None => {
                self.identity_done = true;
                self.switch_to_image_tx(actions);
                if self.goal == HostGoal::IdentityOnly {
                    self.finish_identity(actions);
                }
            }
        }
    }

    pub(super) fn switch_to_image_tx(&mut self, actions: &mut Vec<HostAction>) {
        let p = SaharaPacket::CmdSwitchMode {
            mode: mode::IMAGE_TX_PENDING,
        };
        actions.push(HostAction::Send(p.encode()));
        self.state = State::WaitHello;
        self.nudge_allowed = true;
    }

    pub(super) fn finish_identity(&mut self, actions: &mut Vec<HostAction>) {
        self.state = State::Over;
        actions.push(HostAction::Finished(Outcome::IdentityRead {
            identity: self.identity.clone().unwrap_or_default(),
            trailing: std::mem::take(&mut self.buf),
        }));
    }
}
