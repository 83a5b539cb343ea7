//! The device side of a Qualcomm DM (DIAG) port: what a module in normal mode answers on its
//! DIAG interface (interface 0 on EC2x/EG9x/BG9x).
//!
//! Frames are HDLC-like: payload, CRC-16/X.25 (little-endian), `7E`/`7D` escaped as `7D 5E` /
//! `7D 5D`, then `7E` (a leading `7E` is allowed). Frames with a bad CRC are dropped like a
//! real module drops them. Answered: the download-mode command `4B 65 01 00` (echoed, then the
//! module reboots into EDL), extended build ID `7C`; anything else gets the DIAG error reply
//! `13` (bad command) or `15` (bad length) followed by the request, as real modules send.

use crate::profile::Profile;

use oasis_proto::hdlc::{FLAG, SWITCH_TO_EDL_PAYLOAD as SWITCH_TO_EDL};
/// DIAG_EXT_BUILD_ID_F.
const EXT_BUILD_ID: u8 = 0x7C;
/// DIAG_SUBSYS_CMD_F.
const SUBSYS: u8 = 0x4B;
/// DIAG_BAD_CMD_F: the command is not known.
const BAD_CMD: u8 = 0x13;
/// DIAG_BAD_LEN_F: the command is known, its length is wrong.
const BAD_LEN: u8 = 0x15;
/// Longest frame kept while collecting (a real DIAG request is far shorter).
const MAX_FRAME: usize = 8 * 1024;
/// Request bytes quoted back in an error reply.
const QUOTE: usize = 64;

/// Frame a payload as the module sends it: payload + CRC (LE), escaped, then `7E`.
pub(crate) fn hdlc_encode(payload: &[u8]) -> Vec<u8> {
    oasis_proto::hdlc::encode(payload, false)
}

/// Unescape one frame (flags stripped) and check its CRC; the payload or why it was dropped.
fn hdlc_decode(frame: &[u8]) -> Result<Vec<u8>, &'static str> {
    oasis_proto::hdlc::decode(frame).map_err(oasis_proto::hdlc::HdlcError::what)
}

/// What the DIAG task asks the board to do after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DiagAction {
    /// Nothing.
    None,
    /// The download-mode command was answered: drop off USB and come back in EDL.
    RebootToEdl,
}

/// The DIAG task of a module in normal mode (device side, bytes in / frames out).
#[derive(Debug, Clone)]
pub(crate) struct DiagPort {
    rx: Vec<u8>,
    msm_id: u32,
    model_id: u16,
    revision: String,
}

impl DiagPort {
    /// The DIAG task of a module with this profile running firmware `revision`.
    pub fn new(profile: &Profile, revision: &str) -> Self {
        Self {
            rx: Vec::new(),
            msm_id: profile.msm_id,
            model_id: profile.model_id,
            revision: revision.to_owned(),
        }
    }

    /// Bytes the host wrote to the DM port: answers go to `out`, dropped frames to `notes`.
    /// Input after a download-mode command is ignored (the module is restarting).
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>, notes: &mut Vec<String>) -> DiagAction {
        for &b in data {
            if b != FLAG {
                if self.rx.len() < MAX_FRAME {
                    self.rx.push(b);
                } else if self.rx.len() == MAX_FRAME {
                    notes.push(format!(
                        "DIAG: a frame longer than {MAX_FRAME} bytes was dropped"
                    ));
                    self.rx.push(b);
                }
                continue;
            }
            let frame = std::mem::take(&mut self.rx);
            if frame.is_empty() || frame.len() > MAX_FRAME {
                continue; // a leading flag, or the rest of an over-long frame
            }
            match hdlc_decode(&frame) {
                Ok(payload) => {
                    if self.request(&payload, out) == DiagAction::RebootToEdl {
                        return DiagAction::RebootToEdl;
                    }
                }
                Err(why) => notes.push(format!(
                    "DIAG: frame {} dropped: {why}",
                    hex::encode(frame.get(..frame.len().min(QUOTE)).unwrap_or(&[]))
                )),
            }
        }
        DiagAction::None
    }

    fn request(&self, payload: &[u8], out: &mut Vec<u8>) -> DiagAction {
        if payload == SWITCH_TO_EDL {
            out.extend(hdlc_encode(payload));
            return DiagAction::RebootToEdl;
        }
        let reply = match payload {
            [EXT_BUILD_ID] => self.build_id(),
            [EXT_BUILD_ID, ..] => error_reply(BAD_LEN, payload),
            [SUBSYS, 0x65, 0x01, 0x00, ..] => error_reply(BAD_LEN, payload),
            _ => error_reply(BAD_CMD, payload),
        };
        out.extend(hdlc_encode(&reply));
        DiagAction::None
    }

    /// Extended build ID: cmd, version, 2 reserved, MSM hardware version, mobile model,
    /// NUL-terminated software revision, NUL-terminated model string (empty).
    fn build_id(&self) -> Vec<u8> {
        let mut r = vec![EXT_BUILD_ID, 2, 0, 0];
        r.extend(self.msm_id.to_le_bytes());
        r.extend(u32::from(self.model_id).to_le_bytes());
        r.extend(self.revision.as_bytes());
        r.extend([0, 0]);
        r
    }
}

fn error_reply(code: u8, request: &[u8]) -> Vec<u8> {
    let mut r = vec![code];
    r.extend(request.iter().take(QUOTE));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port() -> DiagPort {
        DiagPort::new(&Profile::eg25(), "EG25GGBR07A08M2G_01.002.01.002")
    }

    fn talk(p: &mut DiagPort, bytes: &[u8]) -> (Vec<u8>, DiagAction, Vec<String>) {
        let (mut out, mut notes) = (Vec::new(), Vec::new());
        let a = p.feed(bytes, &mut out, &mut notes);
        (out, a, notes)
    }

    #[test]
    fn the_switch_command_is_echoed_byte_for_byte() {
        let frame = [0x4B, 0x65, 0x01, 0x00, 0x54, 0x0F, 0x7E];
        assert_eq!(hdlc_encode(&SWITCH_TO_EDL), frame);
        let (out, a, notes) = talk(&mut port(), &frame);
        assert_eq!(
            (out.as_slice(), a),
            (frame.as_slice(), DiagAction::RebootToEdl)
        );
        assert!(notes.is_empty());
        // With a leading flag, split over two writes.
        let mut p = port();
        let (out, a, _) = talk(&mut p, &[0x7E, 0x4B, 0x65, 0x01]);
        assert!(out.is_empty() && a == DiagAction::None);
        let (out, a, _) = talk(&mut p, &[0x00, 0x54, 0x0F, 0x7E]);
        assert_eq!(
            (out.as_slice(), a),
            (frame.as_slice(), DiagAction::RebootToEdl)
        );
    }

    #[test]
    fn other_frames_get_a_diag_error_and_bad_crcs_are_dropped() {
        let mut p = port();
        let (out, a, _) = talk(&mut p, &hdlc_encode(&[0x3A]));
        assert_eq!(a, DiagAction::None);
        assert_eq!(hdlc_decode(&out[..out.len() - 1]).unwrap(), [BAD_CMD, 0x3A]);
        let (out, _, _) = talk(&mut p, &hdlc_encode(&[0x4B, 0x65, 0x01, 0x00, 0x01]));
        assert_eq!(hdlc_decode(&out[..out.len() - 1]).unwrap()[0], BAD_LEN);
        let (out, a, notes) = talk(&mut p, &[0x4B, 0x65, 0x01, 0x00, 0x55, 0x0F, 0x7E]);
        assert!(out.is_empty() && a == DiagAction::None);
        assert!(notes[0].contains("bad CRC"), "{notes:?}");
        // Escapes both ways: a payload holding 7E and 7D.
        let (out, _, _) = talk(&mut p, &hdlc_encode(&[0x7E, 0x7D]));
        assert_eq!(
            hdlc_decode(&out[..out.len() - 1]).unwrap(),
            [BAD_CMD, 0x7E, 0x7D]
        );
    }

    #[test]
    fn build_id_carries_chip_and_revision() {
        let (out, _, _) = talk(&mut port(), &[0x7C, 0x93, 0x49, 0x7E]);
        let r = hdlc_decode(&out[..out.len() - 1]).unwrap();
        assert_eq!(&r[..4], &[0x7C, 2, 0, 0]);
        assert_eq!(&r[4..8], &0x0004_80E1u32.to_le_bytes());
        assert!(
            r.windows(30)
                .any(|w| w == b"EG25GGBR07A08M2G_01.002.01.002")
        );
    }

    #[test]
    fn over_long_garbage_is_bounded() {
        let mut p = port();
        let (out, _, notes) = talk(&mut p, &vec![0x11; MAX_FRAME + 100]);
        assert!(out.is_empty());
        assert_eq!(notes.len(), 1);
        let (_, _, notes) = talk(&mut p, &[0x7E]);
        assert!(notes.is_empty(), "the long frame is not judged again");
        assert!(p.rx.is_empty());
    }
}
