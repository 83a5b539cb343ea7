//! Sahara status codes (docs/protocol.md §1) with plain-language explanations.
//!
//! The table is Qualcomm's own numbering (0x00–0x23) plus edl's enum for 0x24–0x28. edl's
//! human-readable table is shifted by one; it is deliberately not used here.

use std::fmt;

/// A Sahara status code as found in END_IMAGE_TX.status or HELLO_RESP.status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SaharaStatus(pub u32);

const TABLE: [&str; 0x29] = [
    "success",
    "invalid command in current state",
    "protocol mismatch between host and target",
    "invalid target protocol version",
    "invalid host protocol version",
    "invalid packet size",
    "unexpected image ID",
    "invalid image header size",
    "invalid image data size",
    "invalid image type",
    "invalid transmission length",
    "invalid reception length",
    "general transmit/receive error",
    "error sending READ_DATA",
    "unsupported number of ELF program headers",
    "invalid program-header data length",
    "multiple shared segments in ELF image",
    "uninitialised program-header location",
    "invalid destination address",
    "invalid data size in image header",
    "invalid ELF header",
    "unknown host error in HELLO_RESP",
    "timeout receiving data",
    "timeout transmitting data",
    "invalid mode from host",
    "invalid memory read access",
    "host can't handle read size requested",
    "memory debug not supported",
    "invalid mode switch",
    "command execution failed",
    "invalid parameter to command",
    "unsupported client command",
    "invalid client command for data response",
    "hash table authentication failed",
    "segment hash verification failed",
    "hash table not found in ELF image",
    "target init failure",
    "image authentication failure",
    "invalid ELF hash-table size",
    "enumeration failure",
    "hardware bulk-transfer error",
];

impl SaharaStatus {
    /// Success.
    pub const SUCCESS: Self = Self(0x00);
    /// Hash table authentication failed (wrongly signed programmer).
    pub const HASH_TABLE_AUTH_FAILURE: Self = Self(0x21);
    /// Segment hash verification failed.
    pub const HASH_VERIFICATION_FAILURE: Self = Self(0x22);
    /// Hash table not found in the ELF image.
    pub const HASH_TABLE_NOT_FOUND: Self = Self(0x23);
    /// Image authentication failure.
    pub const IMAGE_AUTH_FAILURE: Self = Self(0x25);

    /// Plain-language meaning of the code (`"unknown status code"` for codes past 0x28).
    pub fn explain(self) -> &'static str {
        usize::try_from(self.0)
            .ok()
            .and_then(|i| TABLE.get(i))
            .copied()
            .unwrap_or("unknown status code")
    }

    /// True for the codes a wrongly-signed or wrong-chip programmer produces
    /// (0x21, 0x22, 0x23, 0x25).
    pub fn is_auth_failure(self) -> bool {
        matches!(self.0, 0x21 | 0x22 | 0x23 | 0x25)
    }

    /// True for status 0.
    pub fn is_success(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for SaharaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#04x} ({})", self.0, self.explain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_uses_qualcomm_numbering_not_edls_shifted_text() {
        assert_eq!(
            SaharaStatus(0x21).explain(),
            "hash table authentication failed"
        );
        assert_eq!(SaharaStatus(0x25).explain(), "image authentication failure");
        assert_eq!(
            SaharaStatus(0x01).explain(),
            "invalid command in current state"
        );
        assert_eq!(SaharaStatus(0x28).explain(), "hardware bulk-transfer error");
        assert_eq!(SaharaStatus(0x29).explain(), "unknown status code");
        assert_eq!(SaharaStatus(u32::MAX).explain(), "unknown status code");
        assert!(SaharaStatus(0x25).is_auth_failure());
        assert!(!SaharaStatus(0x24).is_auth_failure());
        assert_eq!(
            SaharaStatus(0x21).to_string(),
            "0x21 (hash table authentication failed)"
        );
    }
}
