//! Programmer identity from the file's bytes, never from its name: container, MBN header, certificates, HW_ID, PK hash.
//!
//! A Firehose programmer is an ELF (or an old raw MBN) whose hash segment carries an MBN header,
//! a signature and a DER certificate chain (docs/protocol.md §4). [`ProgrammerIdentity::from_bytes`]
//! reads all of it; [`ProgrammerIdentity::fits`] says whether a board with a given HWID and PK
//! hash will accept it. Names like `000480e100000000_cc3153a80293939b_fhprg.bin` are ignored:
//! they record what some device reported, not what the file contains.
//!
//! ```no_run
//! use oasis_package::programmer::{ProgrammerIdentity, is_known_test_root};
//!
//! let id = ProgrammerIdentity::from_path("prog_nand_firehose_9x07.mbn".as_ref())?;
//! if !id.is_firehose() {
//!     // An NPRG/ENPRG streaming programmer: do not upload it as Firehose.
//! }
//! // HWID and PK hash as the board reported them through Sahara command mode.
//! let pk = [0u8; 32];
//! let verdict = id.fits(0x0004_80E1_0000_0000, &pk);
//! println!("{}", verdict.summary());
//! assert!(is_known_test_root(
//!     "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f"
//! ).is_some());
//! # Ok::<(), oasis_package::programmer::ProgrammerError>(())
//! ```

mod chips;
mod container;
mod der;
mod error;
mod fields;
mod fit;
mod mbn;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod identity_tests;
#[cfg(test)]
mod kit_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod realworld_identity_tests;

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha384};

pub use chips::{
    chip_name, chip_name_for_soc_version, is_known_test_root, known_test_root_bytes,
    normalize_pk_hash,
};
pub use container::{Container, HashSegment, RawMbnHeader};
pub use der::CertificateInfo;
pub use error::ProgrammerError;
pub use fields::{OuField, ProgrammerKind, VersionString};
pub use fit::{CheckOutcome, FitCheck, FitLevel, FitVerdict};
pub use mbn::{ChainOwner, CommonMetadata, MbnHeader, OemMetadata};

/// Largest file [`ProgrammerIdentity::from_path`] reads (real programmers are well under 4 MiB).
pub const MAX_PROGRAMMER_SIZE: u64 = 64 * 1024 * 1024;

/// Where the HW_ID came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HwIdSource {
    /// The attestation certificate's OU `02 <16 hex> HW_ID` (MBN v3/v5, raw MBN, some v6).
    AttestationOu,
    /// MBN v6 OEM metadata `hw_id | oem_id | model_id`.
    OemMetadata,
}

/// The digest a PK hash is taken with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-1 (OU `07 0000 SHA1`; very old images).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

/// Everything the bytes of a programmer say about which boards it is for.
///
/// Serialised with serde; identifiers and hashes are lower-case hex strings:
/// `hw_id` 16 digits (MSM 8 | OEM 4 | MODEL 4, zeros kept), `oem_id` and `model_id` at least 4,
/// `sw_id` and `debug` 16 (the width of the OU field; metadata values are widened to it),
/// `pk_hash_sha256` 64, `pk_hash_sha384` 96, SoC versions 4. Absent facts are `null`, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammerIdentity {
    /// File format.
    pub container: Container,
    /// Firehose, NPRG, ENPRG or unknown.
    pub kind: ProgrammerKind,
    /// Why `kind` was chosen.
    pub kind_evidence: String,
    /// Image id from the v3/raw header (13 Firehose, 7 NPRG, 11 ENPRG), or word 0 of later headers.
    pub image_id: Option<u32>,
    /// MBN header version of the hash segment (3, 5, 6, 7, 8); `None` for raw MBN or no hash segment.
    pub mbn_version: Option<u32>,
    /// At least one certificate was found (signature and chain present).
    pub signed: bool,
    /// HW_ID as 16 hex digits; `None` when the image does not state one (e.g. unsigned).
    pub hw_id: Option<String>,
    /// Where `hw_id` came from.
    pub hw_id_source: Option<HwIdSource>,
    /// OEM_ID (at least 4 hex digits).
    pub oem_id: Option<String>,
    /// MODEL_ID (at least 4 hex digits).
    pub model_id: Option<String>,
    /// SW_ID (16 hex digits; 3 = Firehose programmer).
    pub sw_id: Option<String>,
    /// DEBUG field (16 hex digits; for v6 metadata the 2-bit debug setting).
    pub debug: Option<String>,
    /// The image is bound to SoC hardware versions (OU `IN_USE_SOC_HW_VERSION` or metadata flag bit 1).
    pub in_use_soc_hw_version: Option<bool>,
    /// SoC hardware-version family codes the image names (4 hex digits each).
    pub soc_hw_versions: Vec<String>,
    /// Chip family name from the HW_ID's MSM part, else from a SoC version.
    pub chip: Option<String>,
    /// PK hash algorithm the image declares (OU field 07) or implies (v6+: SHA-384).
    pub hash_alg: Option<HashAlg>,
    /// SHA-256 of the root certificate DER.
    pub pk_hash_sha256: Option<String>,
    /// SHA-384 of the root certificate DER.
    pub pk_hash_sha384: Option<String>,
    /// Subject of the root certificate (`CN=…, OU=…`).
    pub root_subject: Option<String>,
    /// Index of the root in `certificates`: the self-signed one, else the last.
    pub root_index: Option<usize>,
    /// Which chain was read (OEM, or QTI when the image has only that).
    pub chain_owner: Option<ChainOwner>,
    /// The certificate chain in file order (attestation certificate first).
    pub certificates: Vec<CertificateInfo>,
    /// The attestation certificate's numbered OU fields, in the order they appear.
    pub ou_fields: Vec<OuField>,
    /// The ELF hash segment.
    pub hash_segment: Option<HashSegment>,
    /// The MBN header of the hash segment.
    pub mbn_header: Option<MbnHeader>,
    /// MBN v6 OEM metadata (layout 0.0).
    pub oem_metadata: Option<OemMetadata>,
    /// MBN v7 common metadata.
    pub common_metadata: Option<CommonMetadata>,
    /// The 80-byte header of a raw MBN.
    pub raw_header: Option<RawMbnHeader>,
    /// `QC_IMAGE_VERSION_STRING=` and friends, in file order.
    pub version_strings: Vec<VersionString>,
    /// File size in bytes.
    pub size: u64,
    /// SHA-256 of the whole file.
    pub sha256: String,
}

impl ProgrammerIdentity {
    /// Read and identify the programmer at `path`. Errors name the path.
    pub fn from_path(path: &Path) -> Result<Self, ProgrammerError> {
        let io = |source| ProgrammerError::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_PROGRAMMER_SIZE {
            return Err(ProgrammerError::FileTooLarge {
                path: path.to_path_buf(),
                size,
                limit: MAX_PROGRAMMER_SIZE,
            });
        }
        let mut data = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_PROGRAMMER_SIZE)
            .read_to_end(&mut data)
            .map_err(io)?;
        Self::from_bytes(&data).map_err(|e| e.at_path(path))
    }

    /// Identify a programmer from its bytes. Never panics; bad input is a [`ProgrammerError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProgrammerError> {
        let located = container::locate(bytes)?;
        let mut id = Self::blank(bytes);
        let chain = match located {
            container::Located::Elf {
                container,
                hash_segment,
            } => {
                id.container = container;
                match hash_segment {
                    Some(seg) => {
                        let parsed = mbn::parse_segment(bytes, &seg)?;
                        id.hash_segment = Some(seg);
                        id.apply_segment(parsed)
                    }
                    None => (0, 0),
                }
            }
            container::Located::Raw { header, chain } => {
                id.container = Container::Mbn;
                id.image_id = Some(header.image_id);
                id.raw_header = Some(header);
                if chain.1 > 0 {
                    id.chain_owner = Some(ChainOwner::Oem);
                }
                chain
            }
        };
        if chain.1 > 0 {
            let region = container::slice(bytes, chain.0, chain.1).ok_or_else(|| {
                error::out_of_range(
                    "certificate chain",
                    chain.0,
                    chain.1,
                    "file",
                    bytes.len() as u64,
                )
            })?;
            id.apply_certificates(der::walk_chain(region, chain.0)?);
        }
        id.apply_identity_fields();
        let (kind, why) = fields::classify(id.image_id, bytes);
        id.kind = kind;
        id.kind_evidence = why;
        id.version_strings = fields::version_strings(bytes);
        Ok(id)
    }

    fn blank(bytes: &[u8]) -> Self {
        Self {
            container: Container::Elf32,
            kind: ProgrammerKind::Unknown,
            kind_evidence: String::new(),
            image_id: None,
            mbn_version: None,
            signed: false,
            hw_id: None,
            hw_id_source: None,
            oem_id: None,
            model_id: None,
            sw_id: None,
            debug: None,
            in_use_soc_hw_version: None,
            soc_hw_versions: Vec::new(),
            chip: None,
            hash_alg: None,
            pk_hash_sha256: None,
            pk_hash_sha384: None,
            root_subject: None,
            root_index: None,
            chain_owner: None,
            certificates: Vec::new(),
            ou_fields: Vec::new(),
            hash_segment: None,
            mbn_header: None,
            oem_metadata: None,
            common_metadata: None,
            raw_header: None,
            version_strings: Vec::new(),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// Record the parsed hash segment; returns the certificate chain region.
    fn apply_segment(&mut self, p: mbn::ParsedSegment) -> (u64, u64) {
        self.mbn_version = Some(p.header.version);
        self.image_id = Some(p.header.image_id);
        self.mbn_header = Some(p.header);
        self.oem_metadata = p.oem_metadata;
        self.common_metadata = p.common_metadata;
        self.chain_owner = p.chain_owner;
        p.chain
    }

    /// Record the chain, pick the root (self-signed, else last) and hash it.
    fn apply_certificates(&mut self, certs: Vec<(CertificateInfo, &[u8])>) {
        let root = certs
            .iter()
            .rposition(|(c, _)| c.self_signed)
            .or_else(|| certs.len().checked_sub(1));
        if let Some(i) = root
            && let Some((cert, der)) = certs.get(i)
        {
            self.root_index = Some(i);
            self.root_subject = Some(cert.subject.clone());
            self.pk_hash_sha256 = Some(hex::encode(Sha256::digest(der)));
            self.pk_hash_sha384 = Some(hex::encode(Sha384::digest(der)));
        }
        if let Some((att, _)) = certs.first() {
            self.ou_fields = att
                .subject_ou
                .iter()
                .filter_map(|s| OuField::parse(s))
                .collect();
        }
        self.signed = !certs.is_empty();
        self.certificates = certs.into_iter().map(|(c, _)| c).collect();
    }

    fn ou(&self, name: &str) -> Option<&OuField> {
        self.ou_fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// HW_ID, OEM/MODEL/SW ids, debug, SoC versions, hash algorithm and chip, from OU fields then metadata.
    fn apply_identity_fields(&mut self) {
        let meta = self.oem_metadata.clone();
        let lower = |f: &OuField| f.value.to_ascii_lowercase();
        if let Some(v) = self.ou("HW_ID").and_then(OuField::value_u64) {
            self.hw_id = Some(format!("{v:016x}"));
            self.hw_id_source = Some(HwIdSource::AttestationOu);
        } else if let Some(m) = &meta {
            let v = (u64::from(m.hw_id) << 32)
                | (u64::from(m.oem_id & 0xFFFF) << 16)
                | u64::from(m.model_id & 0xFFFF);
            self.hw_id = Some(format!("{v:016x}"));
            self.hw_id_source = Some(HwIdSource::OemMetadata);
        }
        self.oem_id = self
            .ou("OEM_ID")
            .map(lower)
            .or_else(|| meta.as_ref().map(|m| format!("{:04x}", m.oem_id)));
        self.model_id = self
            .ou("MODEL_ID")
            .map(lower)
            .or_else(|| meta.as_ref().map(|m| format!("{:04x}", m.model_id)));
        self.sw_id = self
            .ou("SW_ID")
            .map(lower)
            .or_else(|| meta.as_ref().map(|m| format!("{:016x}", m.sw_id)))
            .or_else(|| {
                self.common_metadata
                    .as_ref()
                    .map(|c| format!("{:016x}", c.sw_id))
            });
        self.debug = self
            .ou("DEBUG")
            .map(lower)
            .or_else(|| meta.as_ref().map(|m| format!("{:016x}", m.debug())));
        self.in_use_soc_hw_version = self
            .ou("IN_USE_SOC_HW_VERSION")
            .map(|f| f.value_u64().unwrap_or(0) != 0)
            .or_else(|| meta.as_ref().map(OemMetadata::in_use_soc_hw_version));
        self.soc_hw_versions = self.soc_versions(meta.as_ref());
        self.hash_alg = self.declared_hash_alg();
        self.chip = self.chip_from_ids();
    }

    fn soc_versions(&self, meta: Option<&OemMetadata>) -> Vec<String> {
        if let Some(m) = meta
            && !m.soc_vers.is_empty()
        {
            return m.soc_vers.iter().map(|v| format!("{v:04x}")).collect();
        }
        let Some(f) = self.ou("SOC_VERS") else {
            return Vec::new();
        };
        let v = f.value.to_ascii_lowercase();
        v.as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .filter(|c| c.len() == 4 && *c != "0000")
            .map(str::to_owned)
            .collect()
    }

    /// OU field 07 names the algorithm; v6+ images without it use SHA-384; unsigned images have none.
    fn declared_hash_alg(&self) -> Option<HashAlg> {
        if !self.signed {
            return None;
        }
        if let Some(f) = self.ou_fields.iter().find(|f| f.number == 7) {
            let by_name = match f.name.to_ascii_uppercase().as_str() {
                "SHA1" => Some(HashAlg::Sha1),
                "SHA256" => Some(HashAlg::Sha256),
                "SHA384" => Some(HashAlg::Sha384),
                _ => None,
            };
            let by_value = match f.value_u64() {
                Some(0) => Some(HashAlg::Sha1),
                Some(1) => Some(HashAlg::Sha256),
                Some(2) => Some(HashAlg::Sha384),
                _ => None,
            };
            if let Some(alg) = by_name.or(by_value) {
                return Some(alg);
            }
        }
        match self.mbn_version {
            Some(v) if v >= 6 => Some(HashAlg::Sha384),
            _ => None,
        }
    }

    fn chip_from_ids(&self) -> Option<String> {
        let by_msm = self.msm_id().filter(|m| *m != 0).and_then(chip_name);
        let by_soc = || {
            self.soc_hw_versions
                .iter()
                .filter_map(|v| u16::from_str_radix(v, 16).ok())
                .find_map(chip_name_for_soc_version)
        };
        by_msm.or_else(by_soc).map(str::to_owned)
    }

    /// The HW_ID as a number.
    pub fn hw_id_value(&self) -> Option<u64> {
        self.hw_id
            .as_deref()
            .and_then(|h| u64::from_str_radix(h, 16).ok())
    }

    /// The MSM part of the HW_ID (top 32 bits); 0 means "any chip".
    pub fn msm_id(&self) -> Option<u32> {
        self.hw_id_value().and_then(|v| u32::try_from(v >> 32).ok())
    }

    /// The OEM_ID as a number.
    pub fn oem_id_value(&self) -> Option<u32> {
        self.oem_id
            .as_deref()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    }

    /// The root hash to compare with a board PK hash of `len` bytes (32 → SHA-256, 48 → SHA-384).
    pub fn pk_hash_for_len(&self, len: usize) -> Option<&str> {
        match len {
            32 => self.pk_hash_sha256.as_deref(),
            48 => self.pk_hash_sha384.as_deref(),
            _ => None,
        }
    }

    /// True when this image may be uploaded as a Firehose programmer (not NPRG/ENPRG/unknown).
    pub fn is_firehose(&self) -> bool {
        self.kind == ProgrammerKind::Firehose
    }

    /// Will a board reporting `board_hw_id` and `board_pk_hash` (Sahara exec 0x02 / 0x03) accept this
    /// programmer? See [`FitVerdict`]; each check carries its reason.
    pub fn fits(&self, board_hw_id: u64, board_pk_hash: &[u8]) -> FitVerdict {
        fit::judge(self, board_hw_id, board_pk_hash)
    }
}
