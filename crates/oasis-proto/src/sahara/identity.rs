//! Board identity read in Sahara command mode (docs/protocol.md §1, §1): serial, HWID,
//! PK hash, SBL version, and the decoding rules for each reply payload.

use super::exec;
use super::status::SaharaStatus;

/// What the board told about itself. Fields stay `None` when the board refused or skipped
/// the query; `refused` says which.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// HELLO.version.
    pub sahara_version: u32,
    /// HELLO.version_supported (oldest version the board accepts).
    pub sahara_version_supported: u32,
    /// Chip serial number (exec 0x01).
    pub serial: Option<u32>,
    /// HWID: MSM_ID (bits 63..32) | OEM_ID (31..16) | MODEL_ID (15..0). From exec 0x02, or
    /// rebuilt from exec 0x0A on Sahara v3 as `00` + 24-bit MSM + OEM + MODEL.
    pub hw_id: Option<u64>,
    /// OEM public-key hash (32 or 48 bytes, repeats and zero padding trimmed).
    pub pk_hash: Option<Vec<u8>>,
    /// SBL software version (exec 0x07).
    pub sbl_version: Option<u32>,
    /// Raw exec 0x0A payload (Sahara v3).
    pub chip_id_v3: Option<Vec<u8>>,
    /// Client commands the board refused: (command, status when it sent one).
    pub refused: Vec<(u32, Option<SaharaStatus>)>,
    /// Set when the board refused command mode altogether (END_IMAGE_TX instead of CMD_READY).
    pub command_mode_refused: Option<SaharaStatus>,
    /// Set when the board never answered the request for command mode (no CMD_READY, no
    /// refusal); the host then went on with the image transfer.
    pub command_mode_silent: bool,
}

impl Identity {
    /// MSM_ID (top 32 bits of the HWID), e.g. 0x000480E1 for MDM9207.
    pub fn msm_id(&self) -> Option<u32> {
        self.hw_id.map(|h| (h >> 32) as u32)
    }

    /// OEM_ID (bits 31..16).
    pub fn oem_id(&self) -> Option<u16> {
        self.hw_id.map(|h| (h >> 16) as u16)
    }

    /// MODEL_ID (bits 15..0).
    pub fn model_id(&self) -> Option<u16> {
        self.hw_id.map(|h| h as u16)
    }

    /// HWID as 16 lower-case hex digits (`000480e100000000`), the form loader names use.
    pub fn hw_id_hex(&self) -> Option<String> {
        self.hw_id.map(|h| format!("{h:016x}"))
    }

    /// PK hash as lower-case hex.
    pub fn pk_hash_hex(&self) -> Option<String> {
        self.pk_hash
            .as_ref()
            .map(|h| h.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Store the payload of one client command. Returns false when the payload is too short
    /// to mean anything (the command then counts as refused).
    pub(crate) fn store(&mut self, client_cmd: u32, data: &[u8]) -> bool {
        match client_cmd {
            exec::SERIAL_NUM_READ => {
                self.serial = le_u32(data, 0);
                self.serial.is_some()
            }
            exec::GET_SOFTWARE_VERSION_SBL => {
                self.sbl_version = le_u32(data, 0);
                self.sbl_version.is_some()
            }
            exec::MSM_HW_ID_READ => {
                self.hw_id = le_u64(data, 0);
                self.hw_id.is_some()
            }
            exec::READ_CHIP_ID_V3 => {
                self.chip_id_v3 = Some(data.to_vec());
                self.hw_id = hw_id_from_chip_id_v3(data);
                self.hw_id.is_some()
            }
            exec::OEM_PK_HASH_READ => {
                self.pk_hash = trim_pk_hash(data);
                self.pk_hash.is_some()
            }
            _ => true,
        }
    }
}

fn le_u32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn le_u16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le_u64(d: &[u8], at: usize) -> Option<u64> {
    let b = d.get(at..at + 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(b);
    Some(u64::from_le_bytes(w))
}

/// HWID from a READ_CHIP_ID_V3 payload: MSM_ID u32 @36, OEM_ID u16 @40 (u16 @44 when that is
/// 0 and present), MODEL_ID u16 @42; rebuilt as `00` + low 24 bits of MSM + OEM + MODEL.
pub fn hw_id_from_chip_id_v3(data: &[u8]) -> Option<u64> {
    let msm = le_u32(data, 36)? & 0x00FF_FFFF;
    let mut oem = le_u16(data, 40)?;
    let model = le_u16(data, 42)?;
    if oem == 0 {
        oem = le_u16(data, 44).unwrap_or(0);
    }
    Some((u64::from(msm) << 32) | (u64::from(oem) << 16) | u64::from(model))
}

/// Trim an OEM_PK_HASH_READ payload to one hash: when the payload repeats its first 32, 48
/// or 64 bytes, keep one copy; otherwise strip trailing zero padding and round the length
/// back up to 32, 48 or 64. `None` for an empty payload.
pub fn trim_pk_hash(data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() {
        return None;
    }
    let used = data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    for period in [32usize, 48, 64] {
        if period < used && (period..used).all(|i| data.get(i) == data.get(i % period)) {
            return Some(data.get(..period)?.to_vec());
        }
    }
    let len = [32usize, 48, 64]
        .into_iter()
        .find(|&l| l >= used)
        .unwrap_or(used)
        .min(data.len());
    Some(data.get(..len)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pk_hash_trimming() {
        let h: Vec<u8> = (1..=32).collect();
        let mut twice = h.clone();
        twice.extend_from_slice(&h);
        assert_eq!(trim_pk_hash(&twice).unwrap(), h);
        let mut padded: Vec<u8> = (1..=48).collect();
        padded.resize(128, 0);
        assert_eq!(trim_pk_hash(&padded).unwrap().len(), 48);
        let mut ends_in_zero: Vec<u8> = (1..=32).collect();
        ends_in_zero[31] = 0;
        ends_in_zero.resize(64, 0);
        assert_eq!(trim_pk_hash(&ends_in_zero).unwrap().len(), 32);
        assert_eq!(trim_pk_hash(&[]), None);
        assert_eq!(trim_pk_hash(&[7; 5]).unwrap().len(), 5);
    }

    #[test]
    fn hwid_accessors_and_v3() {
        let id = Identity {
            hw_id: Some(0x0005_e0e1_0001_0004),
            ..Identity::default()
        };
        assert_eq!(id.msm_id(), Some(0x0005_e0e1));
        assert_eq!(id.oem_id(), Some(1));
        assert_eq!(id.model_id(), Some(4));
        assert_eq!(id.hw_id_hex().unwrap(), "0005e0e100010004");
        let mut v3 = vec![0u8; 48];
        v3[36..40].copy_from_slice(&0x0119_90e1u32.to_le_bytes());
        v3[42..44].copy_from_slice(&0x0002u16.to_le_bytes());
        v3[44..46].copy_from_slice(&0x0051u16.to_le_bytes());
        assert_eq!(hw_id_from_chip_id_v3(&v3), Some(0x0019_90e1_0051_0002));
        assert_eq!(hw_id_from_chip_id_v3(&v3[..43]), None);
    }
}
