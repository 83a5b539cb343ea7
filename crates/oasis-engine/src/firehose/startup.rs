//! A fresh programmer's start-up (its build, serial and supported functions, drained before
//! anything is sent) and the `configure` negotiation (payload size, ZlpAwareHost, first answer
//! allowed to take as long as storage initialisation).

use std::time::{Duration, Instant};

use oasis_proto::firehose::configure::initial_guess;
use oasis_proto::firehose::logs::{split_function_list, strip_level, supported_functions};
use oasis_proto::firehose::{
    Configure, ConfigureNegotiation, ConfigureStep, FirehoseError, Negotiated,
};

use crate::Help;
use crate::error::EngineError;
use crate::progress::Emitter;

use super::{Firehose, Got, describe_payload};

/// Time slice for one configure attempt before it is sent again (qdl retries configure).
const CONFIGURE_SLICE: Duration = Duration::from_millis(1500);

/// How long the first configure may take before it is sent again (at most half the configure
/// budget): a programmer initialises its storage on the first configure, which takes seconds
/// on some NAND parts, and a single-threaded programmer takes no second configure while it has
/// not been read.
const FIRST_CONFIGURE_WAIT: Duration = Duration::from_secs(6);

/// What the programmer said while starting.
#[derive(Debug, Clone, Default)]
pub(crate) struct Startup {
    /// Functions it lists as supported (lower-case tags); empty when it did not say.
    pub supported: Vec<String>,
    /// Chip serial from its `Chip serial num: N (0xN)` line, as 8 lower-case hex digits.
    pub serial: Option<String>,
}

/// The chip serial a programmer logs at start-up (`Chip serial num: 217664612 (0xcf94c64)`),
/// as 8 lower-case hex digits.
pub fn startup_serial(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|l| {
        let lower = strip_level(l).to_ascii_lowercase();
        let rest = lower.split_once("chip serial num")?.1;
        let rest = rest.trim_start_matches([':', ' ', '=']);
        let hex = rest
            .split_once("(0x")
            .map(|(_, h)| h.trim_end_matches(|c: char| !c.is_ascii_hexdigit()));
        let value = match hex {
            Some(h) => u32::from_str_radix(h.split(')').next().unwrap_or(h), 16).ok(),
            None => rest.split_whitespace().next()?.parse::<u32>().ok(),
        }?;
        Some(format!("{value:08x}"))
    })
}

/// True once the start-up log holds a whole function list: the one-line form, or the
/// per-line form up to its `End of supported functions` marker.
pub(crate) fn function_list_complete(lines: &[String]) -> bool {
    lines.iter().any(|l| {
        let t = strip_level(l).to_ascii_lowercase();
        t.starts_with("end of supported functions")
            || (t.starts_with("supported functions")
                && t.split_once(':')
                    .is_some_and(|(_, rest)| !split_function_list(rest).is_empty()))
    })
}

impl Firehose {
    /// Read the programmer's start-up log until the link is quiet for `idle` (after at most
    /// `first` for its first line), or `budget` ran out. Never sleeps: every wait is a read
    /// with a timeout.
    pub(crate) fn drain_startup(
        &mut self,
        em: &mut Emitter,
        first: Duration,
        idle: Duration,
        budget: Duration,
    ) -> Result<Startup, EngineError> {
        let end = Instant::now() + budget;
        let mut lines = Vec::new();
        let mut wait = first.min(budget);
        loop {
            let deadline = (Instant::now() + wait).min(end);
            match self.next_doc(deadline)? {
                Got::Quiet => break,
                Got::Doc(doc) => {
                    let mut these = Vec::new();
                    // A response here answers an earlier session's command; keep its logs.
                    match self.take_doc(em, &doc, &mut these) {
                        Some(reply) => lines.extend(reply.logs().iter().cloned()),
                        None => lines.append(&mut these),
                    }
                    if function_list_complete(&lines) {
                        // The list's end marker came: no need to wait for the link to go quiet.
                        break;
                    }
                    wait = idle;
                }
            }
        }
        Ok(Startup {
            supported: supported_functions(&lines).unwrap_or_default(),
            serial: startup_serial(&lines),
        })
    }

    /// Negotiate `configure` (docs/protocol.md §2) with proto's negotiation, re-sending the same
    /// configure while the programmer is still starting (as qdl does), within `budget`.
    pub(crate) fn configure(
        &mut self,
        em: &mut Emitter,
        memory: &str,
        sector_size: u32,
        budget: Duration,
    ) -> Result<Negotiated, EngineError> {
        let deadline = Instant::now() + budget;
        let mut template = Configure::new(memory, initial_guess(memory));
        template.zlp_aware_host = self.zlp_aware;
        let (mut nego, mut cmd) = ConfigureNegotiation::with(template, sector_size);
        let mut sent = 0u32;
        let mut first_attempt = true;
        loop {
            self.send(em, &cmd, None)?;
            sent += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            // The first attempt may take as long as storage initialisation does.
            let wait = if sent == 1 && first_attempt {
                FIRST_CONFIGURE_WAIT
                    .min(budget / 2)
                    .max(CONFIGURE_SLICE.min(budget))
            } else {
                CONFIGURE_SLICE
            };
            let slice = wait.min(left).max(Duration::from_millis(1));
            let reply = match self.wait_response(em, "<configure>", None, slice) {
                Ok(r) => r,
                Err(EngineError::Timeout { .. }) if Instant::now() < deadline => continue,
                Err(EngineError::Timeout { .. }) => {
                    return Err(EngineError::timeout("<configure>", None, budget));
                }
                Err(e) => return Err(e),
            };
            if sent > 1 {
                // Answers to the earlier attempts may still be on their way: let them arrive.
                self.absorb_extra_responses(em)?;
            }
            match nego.on_reply(reply) {
                Ok(ConfigureStep::Resend(next)) => {
                    em.info(format!(
                        "the programmer asks for another payload size; configuring again ({})",
                        describe_payload(&next)
                    ));
                    cmd = next;
                    sent = 0;
                    first_attempt = false;
                }
                Ok(ConfigureStep::Done(n)) => return Ok(n),
                Err(FirehoseError::Nak { logs, .. }) => {
                    return Err(self.nak("<configure>", None, &logs));
                }
                Err(e) => {
                    return Err(EngineError::Protocol {
                        what: format!("configure: {e}"),
                        device_log: self.recent_logs(),
                        help: e.help().map(String::from),
                    });
                }
            }
        }
    }

    pub(super) fn absorb_extra_responses(&mut self, em: &mut Emitter) -> Result<(), EngineError> {
        let mut logs = Vec::new();
        while let Got::Doc(doc) = self.next_doc(Instant::now() + Duration::from_millis(200))? {
            let _ = self.take_doc(em, &doc, &mut logs);
        }
        Ok(())
    }
}

#[cfg(test)]
mod serial_tests {
    use super::*;

    #[test]
    fn the_startup_serial_is_read_in_either_form() {
        let l = |s: &str| vec!["INFO: Binary build date: x".to_owned(), s.to_owned()];
        assert_eq!(
            startup_serial(&l("INFO: Chip serial num: 217664612 (0xcf94c64)")).as_deref(),
            Some("0cf94c64")
        );
        assert_eq!(
            startup_serial(&l("Chip serial num: 4096")).as_deref(),
            Some("00001000")
        );
        assert_eq!(startup_serial(&l("INFO: Chip serial num: none")), None);
    }
}
