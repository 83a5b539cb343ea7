//! Identity text inside the image: attestation OU fields (`NN <hex> NAME`), version strings, and the programmer kind.

use serde::{Deserialize, Serialize};

/// One attestation-certificate OU field such as `02 0008B0E100310000 HW_ID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OuField {
    /// The field number (`02`).
    pub number: u8,
    /// The hex value as written (case kept).
    pub value: String,
    /// The field name (`HW_ID`; for field 07 the algorithm, `SHA256`).
    pub name: String,
}

impl OuField {
    /// Parse `NN <hex> NAME`; anything else (e.g. "General LGE attestation") is not a field.
    pub fn parse(ou: &str) -> Option<Self> {
        let mut parts = ou.split_whitespace();
        let (num, value, name) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let num_ok = num.len() == 2 && num.bytes().all(|b| b.is_ascii_digit());
        let value_ok =
            (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit());
        let name_ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !(num_ok && value_ok && name_ok) {
            return None;
        }
        Some(Self {
            number: num.parse().ok()?,
            value: value.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The value as a number, if it fits in 64 bits.
    pub fn value_u64(&self) -> Option<u64> {
        u64::from_str_radix(&self.value, 16).ok()
    }
}

/// A `KEY=value` version string found in the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionString {
    /// `QC_IMAGE_VERSION_STRING`, `OEM_IMAGE_VERSION_STRING` or `IMAGE_VARIANT_STRING`.
    pub key: String,
    /// The text after `=`, up to the terminating NUL (printable ASCII only).
    pub value: String,
    /// File offset of the key.
    pub offset: u64,
}

const VERSION_KEYS: [&str; 3] = [
    "QC_IMAGE_VERSION_STRING=",
    "OEM_IMAGE_VERSION_STRING=",
    "IMAGE_VARIANT_STRING=",
];
/// Longest value kept.
const MAX_VALUE: usize = 160;
/// Most strings kept.
const MAX_STRINGS: usize = 32;

/// Every distinct version string in file order (first occurrence of each key/value pair).
pub(super) fn version_strings(data: &[u8]) -> Vec<VersionString> {
    let mut found: Vec<VersionString> = Vec::new();
    for (at, _) in data
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'Q' || **b == b'O' || **b == b'I')
    {
        if found.len() == MAX_STRINGS {
            break;
        }
        let Some(tail) = data.get(at..) else { break };
        let Some(key) = VERSION_KEYS.iter().find(|k| tail.starts_with(k.as_bytes())) else {
            continue;
        };
        // No key is a suffix of another, so each occurrence is read once.
        let rest = &tail[key.len()..];
        let value: String = rest
            .iter()
            .take_while(|b| (0x20..0x7F).contains(*b))
            .take(MAX_VALUE)
            .map(|b| char::from(*b))
            .collect();
        let value = value.trim().to_owned();
        let key = key.trim_end_matches('=').to_owned();
        if value.is_empty() || found.iter().any(|f| f.key == key && f.value == value) {
            continue;
        }
        found.push(VersionString {
            key,
            value,
            offset: at as u64,
        });
    }
    found
}

/// What sort of programmer an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ProgrammerKind {
    /// A Firehose programmer (Sahara image id 13), safe to upload as one.
    Firehose,
    /// A streaming-download NAND programmer (NPRG, image id 7): not Firehose.
    Nprg,
    /// An emergency streaming-download programmer (ENPRG, image id 11): not Firehose.
    Enprg,
    /// Could not tell.
    Unknown,
}

/// A string only Firehose programmers carry (the configure attribute they parse and report).
const FIREHOSE_MARKER: &[u8] = b"MaxPayloadSizeToTargetInBytes";

/// Decide the kind from the image id (v3 / raw header word) or, failing that, the image's strings.
/// Returns the kind and the evidence in words.
pub(super) fn classify(image_id: Option<u32>, data: &[u8]) -> (ProgrammerKind, String) {
    match image_id {
        Some(13) => {
            return (
                ProgrammerKind::Firehose,
                "image id 13 (Firehose / ehostdl)".to_owned(),
            );
        }
        Some(7) => {
            return (
                ProgrammerKind::Nprg,
                "image id 7 (NPRG streaming download)".to_owned(),
            );
        }
        Some(11) => {
            return (
                ProgrammerKind::Enprg,
                "image id 11 (ENPRG streaming download)".to_owned(),
            );
        }
        _ => {}
    }
    if data
        .windows(FIREHOSE_MARKER.len())
        .any(|w| w == FIREHOSE_MARKER)
    {
        return (
            ProgrammerKind::Firehose,
            "image contains the Firehose configure attribute MaxPayloadSizeToTargetInBytes"
                .to_owned(),
        );
    }
    let why = match image_id {
        Some(id) => {
            format!("image id {id} is not a programmer id and no Firehose strings were found")
        }
        None => "no image id and no Firehose strings were found".to_owned(),
    };
    (ProgrammerKind::Unknown, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_fields_parse_only_the_numbered_form() {
        let f = OuField::parse("02 0008B0E100310000 HW_ID");
        assert_eq!(
            f.as_ref().map(|f| (f.number, f.name.as_str())),
            Some((2, "HW_ID"))
        );
        assert_eq!(f.and_then(|f| f.value_u64()), Some(0x0008_B0E1_0031_0000));
        assert_eq!(
            OuField::parse("07 0001 SHA256").map(|f| f.name),
            Some("SHA256".to_owned())
        );
        assert!(OuField::parse("General LGE attestation").is_none());
        assert!(OuField::parse("CDMA Technologies").is_none());
        assert!(OuField::parse("02 00XZ HW_ID").is_none());
        assert!(OuField::parse("02 0000 HW_ID extra").is_none());
        assert!(OuField::parse("").is_none());
    }

    #[test]
    fn version_strings_are_found_in_order_and_deduplicated() {
        let mut d = b"junk\0QC_IMAGE_VERSION_STRING=BOOT.XF.1-2\0xx".to_vec();
        d.extend(b"IMAGE_VARIANT_STRING=SDM845LA\0OEM_IMAGE_VERSION_STRING=CRM\0");
        d.extend(b"QC_IMAGE_VERSION_STRING=BOOT.XF.1-2\0IMAGE_VARIANT_STRING=\0");
        let v = version_strings(&d);
        let pairs: Vec<(&str, &str)> = v
            .iter()
            .map(|s| (s.key.as_str(), s.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("QC_IMAGE_VERSION_STRING", "BOOT.XF.1-2"),
                ("IMAGE_VARIANT_STRING", "SDM845LA"),
                ("OEM_IMAGE_VERSION_STRING", "CRM"),
            ]
        );
        assert_eq!(v[0].offset, 5);
    }

    #[test]
    fn kind_from_image_id_then_strings() {
        assert_eq!(
            classify(Some(7), b"MaxPayloadSizeToTargetInBytes").0,
            ProgrammerKind::Nprg
        );
        assert_eq!(classify(Some(11), b"").0, ProgrammerKind::Enprg);
        assert_eq!(classify(Some(13), b"").0, ProgrammerKind::Firehose);
        assert_eq!(
            classify(Some(5), b"xxMaxPayloadSizeToTargetInBytes").0,
            ProgrammerKind::Firehose
        );
        let (k, why) = classify(Some(5), b"nothing here");
        assert_eq!(k, ProgrammerKind::Unknown);
        assert!(why.contains("image id 5"), "{why}");
    }
}
