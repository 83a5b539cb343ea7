//! DIAG framing (HDLC-like), as spoken on a Qualcomm module's DM port in normal mode: payload,
//! CRC-16/X.25 (little-endian), `7E`/`7D` escaped as `7D 5E`/`7D 5D`, then the flag `7E`
//! (a leading flag is optional). Used by the host to switch a running module to download mode
//! and by the virtual device to answer it; both sides share this one codec.

use std::fmt;

/// HDLC flag byte.
pub const FLAG: u8 = 0x7E;
/// HDLC escape byte.
pub const ESCAPE: u8 = 0x7D;
/// The DIAG payload that asks the module to reboot into download mode: subsystem dispatch
/// `4B`, subsystem `65`, subcommand `0001` (LE).
pub const SWITCH_TO_EDL_PAYLOAD: [u8; 4] = [0x4B, 0x65, 0x01, 0x00];
/// The complete download-mode frame as sent on the wire (docs/protocol.md §5).
pub const SWITCH_TO_EDL: [u8; 7] = [0x4B, 0x65, 0x01, 0x00, 0x54, 0x0F, 0x7E];

/// Why a frame was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HdlcError {
    /// The frame ends with an escape byte.
    DanglingEscape,
    /// A flag byte inside the frame body.
    FlagInside,
    /// Fewer than one payload byte plus the two CRC bytes.
    TooShort,
    /// The CRC does not match the payload.
    BadCrc {
        /// CRC computed over the payload.
        expected: u16,
        /// CRC carried by the frame.
        got: u16,
    },
}

impl HdlcError {
    /// A short description for messages and logs.
    pub fn what(self) -> &'static str {
        match self {
            Self::DanglingEscape => "dangling escape",
            Self::FlagInside => "flag inside frame",
            Self::TooShort => "too short",
            Self::BadCrc { .. } => "bad CRC",
        }
    }
}

impl fmt::Display for HdlcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadCrc { expected, got } => {
                write!(f, "bad CRC (expected {expected:#06x}, got {got:#06x})")
            }
            other => f.write_str(other.what()),
        }
    }
}

impl std::error::Error for HdlcError {}

/// CRC-16/X.25 (poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF).
pub fn crc16_x25(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Frame a payload: payload + CRC (LE), escaped, then `7E`; with `leading_flag` a `7E` is also
/// put in front (some hosts do; modules accept both forms).
pub fn encode(payload: &[u8], leading_flag: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 6);
    if leading_flag {
        out.push(FLAG);
    }
    let crc = crc16_x25(payload).to_le_bytes();
    for &b in payload.iter().chain(crc.iter()) {
        if b == FLAG || b == ESCAPE {
            out.extend([ESCAPE, b ^ 0x20]);
        } else {
            out.push(b);
        }
    }
    out.push(FLAG);
    out
}

/// Decode one frame (flags optional at either end): unescape, check and strip the CRC.
pub fn decode(frame: &[u8]) -> Result<Vec<u8>, HdlcError> {
    let body = frame.strip_prefix(&[FLAG]).unwrap_or(frame);
    let body = body.strip_suffix(&[FLAG]).unwrap_or(body);
    let mut raw = Vec::with_capacity(body.len());
    let mut it = body.iter();
    while let Some(&b) = it.next() {
        match b {
            ESCAPE => raw.push(it.next().ok_or(HdlcError::DanglingEscape)? ^ 0x20),
            FLAG => return Err(HdlcError::FlagInside),
            _ => raw.push(b),
        }
    }
    if raw.len() < 3 {
        return Err(HdlcError::TooShort);
    }
    let (payload, crc) = raw.split_at(raw.len() - 2);
    let got = u16::from_le_bytes([crc[0], crc[1]]);
    let expected = crc16_x25(payload);
    if expected != got {
        return Err(HdlcError::BadCrc { expected, got });
    }
    Ok(payload.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_frames() {
        assert_eq!(crc16_x25(b"123456789"), 0x906E);
        assert_eq!(encode(&SWITCH_TO_EDL_PAYLOAD, false), SWITCH_TO_EDL);
        assert_eq!(encode(&[0x7C], true), [0x7E, 0x7C, 0x93, 0x49, 0x7E]);
        assert_eq!(decode(&SWITCH_TO_EDL), Ok(SWITCH_TO_EDL_PAYLOAD.to_vec()));
    }

    #[test]
    fn escapes_round_trip_and_bad_frames_are_named() {
        let payload = [0x7E, 0x7D, 0x00, 0x7E];
        let framed = encode(&payload, true);
        assert!(!framed[1..framed.len() - 1].contains(&FLAG));
        assert_eq!(decode(&framed), Ok(payload.to_vec()));
        assert_eq!(decode(&[0x01, 0x02, 0x7D]), Err(HdlcError::DanglingEscape));
        assert_eq!(decode(&[0x7E]), Err(HdlcError::TooShort));
        assert_eq!(
            decode(&[0x7E, 0x01, 0x7E, 0x02, 0x03, 0x7E]),
            Err(HdlcError::FlagInside)
        );
        assert!(matches!(
            decode(&[0x4B, 0x65, 0x01, 0x00, 0x55, 0x0F, 0x7E]),
            Err(HdlcError::BadCrc {
                expected: 0x0F54,
                got: 0x0F55
            })
        ));
    }
}
