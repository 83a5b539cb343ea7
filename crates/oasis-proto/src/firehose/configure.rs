//! `configure` negotiation (docs/protocol.md §2), sans-IO: start with a guess, follow a NAK's
//! `MaxPayloadSizeToTargetInBytes` or an ACK's larger `…Supported`, at most twice, then accept.

use super::command::{Command, Configure};
use super::error::FirehoseError;
use super::response::Reply;

/// First guess for NAND (QFirehose/fwupd default; Quectel NAND programmers' maximum).
pub const NAND_GUESS: u64 = 8192;
/// First guess for eMMC / UFS / SPI-NOR.
pub const BLOCK_GUESS: u64 = 1024 * 1024;
/// Largest payload Oasis will adopt, whatever the programmer offers.
pub const MAX_ADOPTED_PAYLOAD: u64 = 16 * 1024 * 1024;
/// Renegotiations allowed after the first configure.
pub const MAX_RENEGOTIATIONS: u32 = 2;

/// The agreed session parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Raw payload per write: accepted size rounded down to whole sectors.
    pub payload: u64,
    /// `MaxXMLSizeInBytes` (4096 when absent).
    pub max_xml: u64,
    /// `TargetName`, when given.
    pub target_name: Option<String>,
    /// `MemoryName` the board answered with.
    pub memory_name: Option<String>,
    /// `Version`, when given.
    pub version: Option<String>,
    /// `MinVersionSupported`, when given.
    pub min_version: Option<String>,
    /// Every attribute of the final ACK.
    pub attrs: Vec<(String, String)>,
    /// The board's logs during negotiation.
    pub logs: Vec<String>,
}

/// What to do after a configure reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigureStep {
    /// Send this configure again (with another payload size) and feed its reply.
    Resend(Command),
    /// Negotiation finished.
    Done(Negotiated),
}

/// The negotiation state.
#[derive(Debug, Clone)]
pub struct ConfigureNegotiation {
    template: Configure,
    sector_size: u32,
    renegotiations: u32,
    logs: Vec<String>,
}

/// The first payload guess for a memory type (`nand` → 8192, others → 1 MiB).
pub fn initial_guess(memory_name: &str) -> u64 {
    if memory_name.trim().to_ascii_lowercase().starts_with("nand") {
        NAND_GUESS
    } else {
        BLOCK_GUESS
    }
}

impl ConfigureNegotiation {
    /// Start: returns the machine and the first configure to send. `sector_size` is the
    /// storage sector (NAND page) size the payload must be a multiple of.
    pub fn start(memory_name: &str, sector_size: u32) -> (Self, Command) {
        Self::with(
            Configure::new(memory_name, initial_guess(memory_name)),
            sector_size,
        )
    }

    /// Start from a full configure (custom flags or guess).
    pub fn with(template: Configure, sector_size: u32) -> (Self, Command) {
        let cmd = Command::Configure(template.clone());
        let me = Self {
            template,
            sector_size: sector_size.max(1),
            renegotiations: 0,
            logs: Vec::new(),
        };
        (me, cmd)
    }

    /// The payload size sent last.
    pub fn asked(&self) -> u64 {
        self.template.max_payload_to_target
    }

    fn resend(&mut self, size: u64, reply: &Reply) -> ConfigureStep {
        self.logs.extend(reply.logs().iter().cloned());
        self.renegotiations += 1;
        self.template.max_payload_to_target = size;
        ConfigureStep::Resend(Command::Configure(self.template.clone()))
    }

    /// Feed the reply to the configure last sent.
    pub fn on_reply(&mut self, reply: Reply) -> Result<ConfigureStep, FirehoseError> {
        let asked = self.asked();
        let told = reply
            .attr_u64("MaxPayloadSizeToTargetInBytes")
            .filter(|&n| n > 0);
        let can_retry = self.renegotiations < MAX_RENEGOTIATIONS;
        if !reply.is_ack() {
            return match told {
                Some(t) if t != asked && can_retry => {
                    Ok(self.resend(t.min(MAX_ADOPTED_PAYLOAD), &reply))
                }
                _ => {
                    let mut logs = std::mem::take(&mut self.logs);
                    logs.extend(reply.logs().iter().cloned());
                    Err(FirehoseError::Nak {
                        command: "configure".into(),
                        logs,
                        attrs: reply.attrs().to_vec(),
                    })
                }
            };
        }
        let supported = reply
            .attr_u64("MaxPayloadSizeToTargetInBytesSupported")
            .map(|s| s.min(MAX_ADOPTED_PAYLOAD));
        if let Some(s) = supported.filter(|&s| s > asked && s > told.unwrap_or(0))
            && can_retry
        {
            return Ok(self.resend(s, &reply));
        }
        self.finish(reply, asked, told)
    }

    fn finish(
        &mut self,
        reply: Reply,
        asked: u64,
        told: Option<u64>,
    ) -> Result<ConfigureStep, FirehoseError> {
        let sector = u64::from(self.sector_size);
        let accepted = told.map_or(asked, |t| t.min(asked));
        let payload = accepted / sector * sector;
        if payload == 0 {
            return Err(FirehoseError::BadValue {
                element: "response".into(),
                attribute: "MaxPayloadSizeToTargetInBytes".into(),
                value: accepted.to_string(),
                why: "smaller than one sector",
            });
        }
        let mut logs = std::mem::take(&mut self.logs);
        logs.extend(reply.logs().iter().cloned());
        let s = |n: &str| reply.attr(n).map(str::to_string);
        Ok(ConfigureStep::Done(Negotiated {
            payload,
            max_xml: reply.attr_u64("MaxXMLSizeInBytes").unwrap_or(4096),
            target_name: s("TargetName"),
            memory_name: s("MemoryName"),
            version: s("Version"),
            min_version: s("MinVersionSupported"),
            attrs: reply.attrs().to_vec(),
            logs,
        }))
    }
}
