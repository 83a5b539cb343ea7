//! Switching a running module to download mode (EDL) through its DM/DIAG port, and following
//! it until it re-appears as 05C6:9008.
//!
//! DIAG frames are HDLC-like: payload + CRC-16/X.25 (little-endian), `7E`/`7D` escaped as
//! `7D 5E`/`7D 5D`, terminated by `7E`. The download-mode command is subsystem dispatch `4B`,
//! subsystem `65`, subcommand `0001`; success is the same frame echoed.

use std::time::{Duration, Instant};

use oasis_transport::enumerate::{Snapshot, UsbDeviceInfo};
use oasis_transport::{Transport, TransportErrorKind};
use serde::{Deserialize, Serialize};

use super::DiagError;
use super::usb_table::{PID_EDL, UsbMode, VID_QUALCOMM, identify_device};

pub use oasis_proto::hdlc::{ESCAPE, FLAG, SWITCH_TO_EDL, SWITCH_TO_EDL_PAYLOAD, crc16_x25};

/// Frame a DIAG payload: payload + CRC (LE), escaped, then `7E`. With `leading_flag` a `7E` is
/// also put in front (some hosts do; both forms are accepted by modules).
pub fn hdlc_encode(payload: &[u8], leading_flag: bool) -> Vec<u8> {
    oasis_proto::hdlc::encode(payload, leading_flag)
}

/// Decode one frame (flags optional at either end): unescape, check and strip the CRC.
pub fn hdlc_decode(frame: &[u8]) -> Result<Vec<u8>, DiagError> {
    oasis_proto::hdlc::decode(frame).map_err(|e| DiagError::Hdlc {
        what: e.what(),
        frame_hex: hex::encode(frame),
    })
}

/// How the switch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchOutcome {
    /// The module echoed the command; it is restarting into download mode.
    Echoed,
    /// The port went away before an echo arrived: the module is probably restarting already.
    PortGone,
}

/// DIAG error response command codes: bad command (0x13), bad parameters (0x14), bad length
/// (0x15), bad mode (0x18).
const DIAG_ERRORS: [u8; 4] = [0x13, 0x14, 0x15, 0x18];

/// Longest the DM port is drained before the command (log packets may be streaming).
const DRAIN: Duration = Duration::from_millis(200);

/// Send the download-mode command on an open DM/DIAG port and check the echo (a reply that
/// starts with 0x4B counts, as edl accepts it). Callers should not depend on the echo: on
/// [`DiagError::NoEcho`] they poll for 05C6:9008 anyway, as QFirehose does.
///
/// Unrelated DIAG frames before the echo are skipped; a DIAG error frame is
/// [`DiagError::Refused`]; nothing within `timeout` is [`DiagError::NoEcho`].
pub fn switch_to_edl(t: &mut dyn Transport, timeout: Duration) -> Result<SwitchOutcome, DiagError> {
    let tr = |during| move |source| DiagError::Transport { during, source };
    let mut buf = [0u8; 4096];
    let drain_end = Instant::now() + DRAIN;
    while Instant::now() < drain_end {
        match t.read(&mut buf, Duration::from_millis(20)) {
            Ok(_) => {}
            Err(e) if e.is_timeout() => break,
            Err(e) => return Err(tr("draining the DM port")(e)),
        }
    }
    t.write_all(&SWITCH_TO_EDL, timeout)
        .map_err(tr("sending the download-mode command"))?;
    let start = Instant::now();
    let mut got: Vec<u8> = Vec::new();
    while start.elapsed() < timeout {
        match t.read(
            &mut buf,
            timeout
                .saturating_sub(start.elapsed())
                .min(Duration::from_millis(100)),
        ) {
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            Err(e) if e.is_timeout() => continue,
            Err(e) if e.kind == TransportErrorKind::Disconnected => {
                return Ok(SwitchOutcome::PortGone);
            }
            Err(e) => return Err(tr("reading the DM port")(e)),
        }
        for frame in got.split(|b| *b == FLAG).filter(|f| !f.is_empty()) {
            let Ok(payload) = hdlc_decode(frame) else {
                continue;
            };
            // The exact echo, or (as edl accepts) any reply of the subsystem dispatch 0x4B.
            if payload == SWITCH_TO_EDL_PAYLOAD || payload.first() == Some(&0x4B) {
                return Ok(SwitchOutcome::Echoed);
            }
            if payload.first().is_some_and(|c| DIAG_ERRORS.contains(c)) {
                return Err(DiagError::Refused {
                    reply_hex: hex::encode(&payload),
                });
            }
        }
        if got.len() > 64 * 1024 {
            got.drain(..got.len() - 4096);
        }
    }
    Err(DiagError::NoEcho {
        waited_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        got_hex: hex::encode(got.get(..got.len().min(64)).unwrap_or(&[])),
    })
}

fn is_edl(dev: &UsbDeviceInfo) -> bool {
    (dev.vid == VID_QUALCOMM && dev.pid == PID_EDL)
        || identify_device(dev).is_some_and(|i| i.mode == UsbMode::Edl)
}

/// Wait (bounded by `timeout`) for a board in download mode to appear, calling `poll` every
/// `interval`. A device on `prefer_path` wins; otherwise a download-mode device that was not
/// there at the first look (a USB3 host may move the board to a new path). Boards already in
/// download mode elsewhere at the start are never taken.
pub fn follow_to_edl<F>(
    mut poll: F,
    prefer_path: Option<&str>,
    timeout: Duration,
    interval: Duration,
) -> Result<UsbDeviceInfo, DiagError>
where
    F: FnMut() -> Snapshot,
{
    let start = Instant::now();
    let first = poll();
    let before: Vec<String> = first
        .usb
        .iter()
        .filter(|d| is_edl(d) && Some(d.port_path.as_str()) != prefer_path)
        .map(|d| d.port_path.clone())
        .collect();
    let mut snap = first;
    loop {
        let edl: Vec<&UsbDeviceInfo> = snap.usb.iter().filter(|d| is_edl(d)).collect();
        if let Some(d) = edl
            .iter()
            .find(|d| Some(d.port_path.as_str()) == prefer_path)
        {
            return Ok((*d).clone());
        }
        if let Some(d) = edl.iter().find(|d| !before.contains(&d.port_path)) {
            return Ok((*d).clone());
        }
        if start.elapsed() >= timeout {
            return Err(DiagError::EdlNotSeen {
                waited_s: start.elapsed().as_secs_f64(),
                prefer_path: prefer_path.map(str::to_string),
                last_seen: snap
                    .usb
                    .iter()
                    .map(|d| format!("{:04X}:{:04X} on {}", d.vid, d.pid, d.port_path))
                    .collect(),
            });
        }
        std::thread::sleep(interval.min(timeout.saturating_sub(start.elapsed())));
        snap = poll();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_bad_frames() {
        assert!(matches!(
            hdlc_decode(&[0x7E]),
            Err(DiagError::Hdlc {
                what: "too short",
                ..
            })
        ));
        assert!(matches!(
            hdlc_decode(&[0x4B, 0x65, 0x01, 0x00, 0x55, 0x0F, 0x7E]),
            Err(DiagError::Hdlc {
                what: "bad CRC",
                ..
            })
        ));
        assert!(matches!(
            hdlc_decode(&[0x01, 0x02, 0x7D]),
            Err(DiagError::Hdlc {
                what: "dangling escape",
                ..
            })
        ));
        assert!(hdlc_decode(&[0x7E, 0x01, 0x7E, 0x02, 0x03, 0x7E]).is_err());
    }
}
