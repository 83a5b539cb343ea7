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
    pub(crate) fn to_timeouts(self) -> Timeouts {
        let d = Duration::from_millis;
        Timeouts {
            sahara_first: d(self.sahara_first),
            sahara_packet: d(self.sahara_packet),
            idle_window: d(self.idle_window),
            configure: d(self.configure),
            command: d(self.command),
            program_ack: d(self.program_ack),
            raw_write: d(self.raw_write),
            program_final: d(self.program_final),
            erase: d(self.erase),
            patch: d(self.patch),
            digest: d(self.digest),
            read_chunk: d(self.read_chunk),
            reset: d(self.reset),
            edl_switch: d(self.edl_switch),
            boot: d(self.boot),
        }
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
    pub(crate) fn to_request(&self) -> FlashRequest {
        let o = FlashOptions {
            verify: self.verify,
            allow_full_erase: self.allow_full_erase,
            skip_md5: self.skip_md5,
            no_reset: self.no_reset,
            at_port: self.at_port.clone(),
            confirm: self.confirm,
            programmer: self.programmer.clone(),
            rawprogram: self.rawprogram.clone(),
            backup: self.backup.clone(),
            resume: self.resume,
            previous_revision: self.previous_revision.clone(),
            timeouts: self.timeouts_ms.to_timeouts(),
            ..FlashOptions::default()
        };
        FlashRequest::new(self.package.clone(), self.port.clone()).with_options(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_survives_the_round_trip() {
        let o = FlashOptions {
            resume: true,
            no_reset: true,
            timeouts: Timeouts::default().scaled(0.2),
            at_port: Some("/dev/ttyUSB2".into()),
            ..FlashOptions::default()
        };
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
