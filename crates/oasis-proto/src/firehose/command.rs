//! Host → target Firehose commands: typed, encoded one per document, and parsed back from an
//! [`Element`] (the virtual device uses [`Command::from_element`] on what a host sends).
//!
//! Attribute order is fixed per command (standard attributes first, then `extra` as given),
//! every value is XML-escaped, and `benchmark` cannot be encoded: it overwrites storage.

use super::error::FirehoseError;
use super::xml::{Document, Element, is_valid_name};

/// Addressing shared by program, read and getsha256digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// `SECTOR_SIZE_IN_BYTES` (512, 2048, 4096).
    pub sector_size: u32,
    /// `num_partition_sectors`.
    pub num_sectors: u64,
    /// `physical_partition_number` (LUN / eMMC area; NAND: 0).
    pub physical_partition: u32,
    /// `start_sector`: a number or an expression such as `NUM_DISK_SECTORS-5.`, sent verbatim.
    pub start_sector: String,
}

impl Region {
    /// A region starting at a plain sector number.
    pub fn new(
        sector_size: u32,
        physical_partition: u32,
        start_sector: u64,
        num_sectors: u64,
    ) -> Self {
        Self {
            sector_size,
            num_sectors,
            physical_partition,
            start_sector: start_sector.to_string(),
        }
    }

    /// Bytes covered: `num_sectors × sector_size`.
    pub fn byte_len(&self) -> u64 {
        self.num_sectors.saturating_mul(u64::from(self.sector_size))
    }
}

/// `configure` attributes (docs/protocol.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configure {
    /// `MemoryName`: nand, emmc, ufs, spinor.
    pub memory_name: String,
    /// `MaxPayloadSizeToTargetInBytes`.
    pub max_payload_to_target: u64,
    /// `ZlpAwareHost` (1 on Linux hosts with ZLP support).
    pub zlp_aware_host: bool,
    /// `SkipStorageInit`.
    pub skip_storage_init: bool,
    /// `Verbose`.
    pub verbose: bool,
    /// `AlwaysValidate`.
    pub always_validate: bool,
    /// `MaxDigestTableSizeInBytes` (QFirehose sends 2048).
    pub max_digest_table_size: Option<u64>,
    /// Further attributes, in order (e.g. NAND `PAGES_PER_BLOCK`).
    pub extra: Vec<(String, String)>,
}

impl Configure {
    /// The configure a Linux host sends: Verbose 0, AlwaysValidate 0, MaxDigestTableSizeInBytes
    /// 2048, ZlpAwareHost 1, SkipStorageInit 0.
    pub fn new(memory_name: impl Into<String>, max_payload_to_target: u64) -> Self {
        Self {
            memory_name: memory_name.into(),
            max_payload_to_target,
            zlp_aware_host: true,
            skip_storage_init: false,
            verbose: false,
            always_validate: false,
            max_digest_table_size: Some(2048),
            extra: Vec::new(),
        }
    }
}

/// `patch` attributes (docs/protocol.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// `SECTOR_SIZE_IN_BYTES`.
    pub sector_size: u32,
    /// `byte_offset` inside the sector.
    pub byte_offset: u64,
    /// `filename` (only `DISK` entries go to a device).
    pub filename: String,
    /// `physical_partition_number`.
    pub physical_partition: u32,
    /// `size_in_bytes` (≤ 8).
    pub size_in_bytes: u32,
    /// `start_sector` (number or expression, verbatim).
    pub start_sector: String,
    /// `value` (number, `NUM_DISK_SECTORS-N.` or `CRC32(..)`, verbatim).
    pub value: String,
    /// `what` (a comment), when given.
    pub what: Option<String>,
}

/// `power` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    /// Reboot normally.
    Reset,
    /// Power off.
    Off,
    /// Reboot back into EDL.
    ResetToEdl,
}

impl PowerAction {
    /// The `value` attribute text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Off => "off",
            Self::ResetToEdl => "reset_to_edl",
        }
    }
}

/// A command given as tag + ordered attributes and sent verbatim (e.g. Quectel
/// `vendor="quectel"` erase lines). Construct with [`VendorCommand::new`], which refuses
/// `benchmark` and invalid names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorCommand {
    tag: String,
    attrs: Vec<(String, String)>,
}

/// Tags Oasis refuses to send, with the reason.
pub fn forbidden_reason(tag: &str) -> Option<&'static str> {
    tag.eq_ignore_ascii_case("benchmark").then_some(
        "benchmark writes over sector 0+ of LUN 0 and leaves the device needing a re-flash",
    )
}

fn check_names(tag: &str, attrs: &[(String, String)]) -> Result<(), FirehoseError> {
    if let Some(why) = forbidden_reason(tag) {
        return Err(FirehoseError::Forbidden {
            tag: tag.to_string(),
            why,
        });
    }
    if !is_valid_name(tag) {
        return Err(FirehoseError::InvalidName {
            what: "tag",
            name: tag.to_string(),
        });
    }
    match attrs.iter().find(|(k, _)| !is_valid_name(k)) {
        Some((k, _)) => Err(FirehoseError::InvalidName {
            what: "attribute",
            name: k.clone(),
        }),
        None => Ok(()),
    }
}

impl VendorCommand {
    /// Validate and keep tag + attributes as given.
    pub fn new(
        tag: impl Into<String>,
        attrs: Vec<(String, String)>,
    ) -> Result<Self, FirehoseError> {
        let tag = tag.into();
        check_names(&tag, &attrs)?;
        Ok(Self { tag, attrs })
    }

    /// Tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Attributes in order.
    pub fn attrs(&self) -> &[(String, String)] {
        &self.attrs
    }
}

/// One host command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `<configure>`.
    Configure(Configure),
    /// `<program>`: write sectors (raw data follows the rawmode ACK).
    Program {
        /// Where.
        region: Region,
        /// Further attributes in order (filename, label, PAGES_PER_BLOCK, last_sector…).
        extra: Vec<(String, String)>,
    },
    /// `<read>`: read sectors (raw data arrives after the rawmode ACK).
    Read {
        /// Where.
        region: Region,
        /// Further attributes in order.
        extra: Vec<(String, String)>,
    },
    /// `<erase>`; without start/count it erases the whole physical partition.
    Erase {
        /// `SECTOR_SIZE_IN_BYTES`.
        sector_size: u32,
        /// `physical_partition_number`.
        physical_partition: u32,
        /// `start_sector`, verbatim.
        start_sector: Option<String>,
        /// `num_partition_sectors`.
        num_sectors: Option<u64>,
        /// Further attributes in order (NAND `PAGES_PER_BLOCK`…).
        extra: Vec<(String, String)>,
    },
    /// `<patch>`.
    Patch(Patch),
    /// `<getsha256digest>`.
    GetSha256Digest {
        /// Where.
        region: Region,
    },
    /// `<getstorageinfo>`.
    GetStorageInfo {
        /// `physical_partition_number`.
        physical_partition: u32,
    },
    /// `<nop />`.
    Nop,
    /// `<power>`.
    Power {
        /// What to do.
        action: PowerAction,
        /// `DelayInSeconds` (qdl/QFirehose send 10).
        delay_seconds: Option<u32>,
    },
    /// `<setbootablestoragedrive value=N />`.
    SetBootableStorageDrive {
        /// Physical partition / LUN to mark bootable.
        value: u32,
    },
    /// Verbatim pass-through.
    Vendor(VendorCommand),
}

fn region_attrs(el: Element, r: &Region) -> Element {
    el.with("SECTOR_SIZE_IN_BYTES", r.sector_size.to_string())
        .with("num_partition_sectors", r.num_sectors.to_string())
        .with(
            "physical_partition_number",
            r.physical_partition.to_string(),
        )
        .with("start_sector", r.start_sector.clone())
}

fn opt(el: Element, name: &str, value: Option<&impl ToString>) -> Element {
    match value {
        Some(v) => el.with(name, v.to_string()),
        None => el,
    }
}

impl Configure {
    /// Standard attributes in QFirehose's order (extras are appended by the caller).
    fn element(&self, el: Element) -> Element {
        let el = el
            .with("MemoryName", self.memory_name.clone())
            .with("Verbose", bit(self.verbose))
            .with("AlwaysValidate", bit(self.always_validate));
        opt(
            el,
            "MaxDigestTableSizeInBytes",
            self.max_digest_table_size.as_ref(),
        )
        .with(
            "MaxPayloadSizeToTargetInBytes",
            self.max_payload_to_target.to_string(),
        )
        .with("ZlpAwareHost", bit(self.zlp_aware_host))
        .with("SkipStorageInit", bit(self.skip_storage_init))
    }
}

impl Patch {
    /// Attributes in the order of patch XML files.
    fn element(&self, el: Element) -> Element {
        let el = el
            .with("SECTOR_SIZE_IN_BYTES", self.sector_size.to_string())
            .with("byte_offset", self.byte_offset.to_string())
            .with("filename", self.filename.clone())
            .with(
                "physical_partition_number",
                self.physical_partition.to_string(),
            )
            .with("size_in_bytes", self.size_in_bytes.to_string())
            .with("start_sector", self.start_sector.clone())
            .with("value", self.value.clone());
        opt(el, "what", self.what.as_ref())
    }
}

fn bit(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

fn with_extra(mut el: Element, extra: &[(String, String)]) -> Result<Element, FirehoseError> {
    for (k, v) in extra {
        if el.attr(k).is_some() {
            return Err(FirehoseError::InvalidName {
                what: "attribute (duplicate of a standard one)",
                name: k.clone(),
            });
        }
        el.attrs.push((k.clone(), v.clone()));
    }
    Ok(el)
}

impl Command {
    /// The tag this command is sent as.
    pub fn tag(&self) -> &str {
        match self {
            Self::Configure(_) => "configure",
            Self::Program { .. } => "program",
            Self::Read { .. } => "read",
            Self::Erase { .. } => "erase",
            Self::Patch(_) => "patch",
            Self::GetSha256Digest { .. } => "getsha256digest",
            Self::GetStorageInfo { .. } => "getstorageinfo",
            Self::Nop => "nop",
            Self::Power { .. } => "power",
            Self::SetBootableStorageDrive { .. } => "setbootablestoragedrive",
            Self::Vendor(v) => v.tag(),
        }
    }

    /// The element as sent (standard attributes first, then extras in order).
    pub fn to_element(&self) -> Result<Element, FirehoseError> {
        let el = Element::new(self.tag());
        let el = match self {
            Self::Configure(c) => with_extra(c.element(el), &c.extra)?,
            Self::Program { region, extra } | Self::Read { region, extra } => {
                with_extra(region_attrs(el, region), extra)?
            }
            Self::Erase {
                sector_size,
                physical_partition,
                start_sector,
                num_sectors,
                extra,
            } => {
                let el = el.with("SECTOR_SIZE_IN_BYTES", sector_size.to_string());
                let el = opt(el, "num_partition_sectors", num_sectors.as_ref())
                    .with("physical_partition_number", physical_partition.to_string());
                with_extra(opt(el, "start_sector", start_sector.as_ref()), extra)?
            }
            Self::Patch(p) => p.element(el),
            Self::GetSha256Digest { region } => region_attrs(el, region),
            Self::GetStorageInfo { physical_partition } => {
                el.with("physical_partition_number", physical_partition.to_string())
            }
            Self::Nop => el,
            Self::Power {
                action,
                delay_seconds,
            } => opt(
                el.with("value", action.as_str()),
                "DelayInSeconds",
                delay_seconds.as_ref(),
            ),
            Self::SetBootableStorageDrive { value } => el.with("value", value.to_string()),
            Self::Vendor(v) => Element {
                tag: v.tag.clone(),
                attrs: v.attrs.clone(),
            },
        };
        check_names(&el.tag, &el.attrs)?;
        Ok(el)
    }

    /// Encode as one document: `<?xml version="1.0" ?><data><TAG a="v" ... /></data>`.
    pub fn encode(&self) -> Result<Vec<u8>, FirehoseError> {
        Ok(Document {
            elements: vec![self.to_element()?],
        }
        .encode())
    }
}
