//! What a bundle records about the request, so `replay` can run the same job again: port,
//! package, options and every timeout (in milliseconds).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::options::{FlashOptions, FlashRequest, Timeouts};

/// Every timeout, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // one field per `Timeouts` field, same names
pub struct TimeoutsMs {
    pub sahara_first: u64,
    pub sahara_packet: u64,
    pub idle_window: u64,
    pub configure: u64,
    pub command: u64,
    pub program_ack: u64,
    pub raw_write: u64,
    pub program_final: u64,
    pub erase: u64,
    pub patch: u64,
    pub digest: u64,
    pub read_chunk: u64,
    pub reset: u64,
    pub edl_switch: u64,
    pub boot: u64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&Timeouts> for TimeoutsMs {
    fn from(t: &Timeouts) -> Self {
        Self {
            sahara_first: ms(t.sahara_first),
            sahara_packet: ms(t.sahara_packet),
            idle_window: ms(t.idle_window),
            configure: ms(t.configure),
            command: ms(t.command),
            program_ack: ms(t.program_ack),
            raw_write: ms(t.raw_write),
            program_final: ms(t.program_final),
            erase: ms(t.erase),
            patch: ms(t.patch),
            digest: ms(t.digest),
            read_chunk: ms(t.read_chunk),
            reset: ms(t.reset),
            edl_switch: ms(t.edl_switch),
            boot: ms(t.boot),
        }
    }
}

impl TimeoutsMs {
    /// Back to [`Timeouts`].
    pub fn to_timeouts(&self) -> Timeouts {
        let d = Duration::from_millis;
        let mut t = Timeouts::default();
        t.sahara_first = d(self.sahara_first);
        t.sahara_packet = d(self.sahara_packet);
        t.idle_window = d(self.idle_window);
        t.configure = d(self.configure);
        t.command = d(self.command);
        t.program_ack = d(self.program_ack);
        t.raw_write = d(self.raw_write);
        t.program_final = d(self.program_final);
        t.erase = d(self.erase);
        t.patch = d(self.patch);
        t.digest = d(self.digest);
        t.read_chunk = d(self.read_chunk);
        t.reset = d(self.reset);
        t.edl_switch = d(self.edl_switch);
        t.boot = d(self.boot);
        t
    }
}

/// `request.json` of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // the FlashRequest / FlashOptions fields of the same names
pub struct RequestRecord {
    pub port: String,
    pub package: PathBuf,
    pub verify: bool,
    pub allow_full_erase: bool,
    pub skip_md5: bool,
    pub no_reset: bool,
    pub at_port: Option<String>,
    pub confirm: bool,
    pub programmer: Option<PathBuf>,
    pub rawprogram: Option<PathBuf>,
    pub backup: Option<PathBuf>,
    pub resume: bool,
    pub previous_revision: Option<String>,
    pub timeouts_ms: TimeoutsMs,
}

impl From<&FlashRequest> for RequestRecord {
    fn from(r: &FlashRequest) -> Self {
        let o = &r.options;
        Self {
            port: r.port.clone(),
            package: r.package.clone(),
            verify: o.verify,
            allow_full_erase: o.allow_full_erase,
            skip_md5: o.skip_md5,
            no_reset: o.no_reset,
            at_port: o.at_port.clone(),
            confirm: o.confirm,
            programmer: o.programmer.clone(),
            rawprogram: o.rawprogram.clone(),
            backup: o.backup.clone(),
            resume: o.resume,
            previous_revision: o.previous_revision.clone(),
            timeouts_ms: TimeoutsMs::from(&o.timeouts),
        }
    }
}

impl RequestRecord {
    /// The request again (no bundle options: a replay does not write bundles).
    pub fn to_request(&self) -> FlashRequest {
        let mut o = FlashOptions::default();
        o.verify = self.verify;
        o.allow_full_erase = self.allow_full_erase;
        o.skip_md5 = self.skip_md5;
        o.no_reset = self.no_reset;
        o.at_port.clone_from(&self.at_port);
        o.confirm = self.confirm;
        o.programmer.clone_from(&self.programmer);
        o.rawprogram.clone_from(&self.rawprogram);
        o.backup.clone_from(&self.backup);
        o.resume = self.resume;
        o.previous_revision.clone_from(&self.previous_revision);
        o.timeouts = self.timeouts_ms.to_timeouts();
        FlashRequest::new(self.package.clone(), self.port.clone()).with_options(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_survives_the_round_trip() {
        let mut o = FlashOptions::default();
        o.resume = true;
        o.no_reset = true;
        o.timeouts = Timeouts::default().scaled(0.2);
        o.at_port = Some("/dev/ttyUSB2".into());
        let req = FlashRequest::new("/p/pkg", "virtual:eg25").with_options(o);
        let rec = RequestRecord::from(&req);
        let text = serde_json::to_string(&rec).unwrap();
        let back: RequestRecord = serde_json::from_str(&text).unwrap();
        let again = back.to_request();
        assert_eq!(again.port, "virtual:eg25");
        assert!(again.options.resume && again.options.no_reset);
        assert_eq!(
            again.options.timeouts.program_final,
            Duration::from_secs(24)
        );
        assert_eq!(again.options.at_port.as_deref(), Some("/dev/ttyUSB2"));
    }
}
