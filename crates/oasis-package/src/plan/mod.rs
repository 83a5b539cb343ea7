//! The flash plan: ordered device steps with sizes, data sources and safety marks.
//! NAND follows QFirehose's brick-safe order (§2.8); eMMC/UFS keep XML order then patch,
//! set-bootable and reset (§2.9). Built from parsed XML by [`build`]; nothing here talks to a device.

mod build;
mod mark;

use std::path::PathBuf;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::data::ProgramData;
use crate::rawprogram::{Origin, VerbatimTag};

pub use build::{MissingImage, OversizedImage, PlanInput, PlanOutput, SkippedEntry, build};
pub use mark::is_protected_name;

/// What a step does on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepOp {
    /// `<erase>`.
    Erase,
    /// `<program>` followed by raw data.
    Program,
    /// `<patch>` (DISK only).
    Patch,
    /// `<setbootablestoragedrive value=N/>`.
    SetBootable,
    /// `<power value="reset"/>`.
    Reset,
    /// A Quectel `vendor="quectel"` line sent exactly as written ([`PlanStep::verbatim`]); expect ACK.
    Vendor,
}

/// The fields of a DISK patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchSpec {
    /// `byte_offset` in the sector.
    pub byte_offset: u64,
    /// `size_in_bytes` (1..=8).
    pub size_in_bytes: u32,
    /// `value`, verbatim (`NUM_DISK_SECTORS-6.`, `CRC32(2,4096)`).
    pub value: String,
    /// `what`, the description.
    pub what: Option<String>,
}

/// One device step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// What it does.
    pub op: StepOp,
    /// Label: the XML label, else the partition name from the table, else the file stem.
    pub label: String,
    /// The file as written in the XML (program steps).
    pub file: Option<String>,
    /// The file resolved inside the package (program steps; `None` if not written in the XML).
    pub path: Option<PathBuf>,
    /// LUN / physical partition.
    pub physical_partition_number: u32,
    /// `start_sector` as written (expressions kept verbatim); "0" for set-bootable/reset.
    pub start_sector: String,
    /// Sectors written/erased; `None` = to the end of the partition (erase) or unknown (missing image).
    pub sectors: Option<u64>,
    /// `SECTOR_SIZE_IN_BYTES`.
    pub sector_size: u32,
    /// NAND `PAGES_PER_BLOCK`, to pass on.
    pub pages_per_block: Option<u32>,
    /// NAND `last_sector`, to pass on verbatim.
    pub last_sector: Option<String>,
    /// Why the step destroys data the package does not restore (serialised as `destructive`
    /// bool + `destructive_reason`).
    pub destructive: Option<String>,
    /// Whether an interruption here leaves no working boot loader ("do not unplug").
    pub critical: bool,
    /// Program data: pieces, zero-padded to `sectors × sector_size` (`None` when the image is missing).
    pub data: Option<ProgramData>,
    /// DISK patch fields.
    pub patch: Option<PatchSpec>,
    /// The exact tag for [`StepOp::Vendor`] steps.
    pub verbatim: Option<VerbatimTag>,
    /// Where the step was written (none for generated set-bootable/reset).
    pub origin: Option<Origin>,
}

impl PlanStep {
    /// Bytes sent (program) or covered (erase): sectors × sector size.
    pub fn bytes(&self) -> Option<u64> {
        self.sectors
            .map(|s| s.saturating_mul(u64::from(self.sector_size)))
    }

    /// `start_sector` as a number, when it is one.
    pub fn start_number(&self) -> Option<u64> {
        crate::number::parse_u64(&self.start_sector).ok()
    }

    /// A generated step with no XML behind it.
    fn generated(op: StepOp, label: &str, ppn: u32, sector_size: u32) -> Self {
        PlanStep {
            op,
            label: label.to_string(),
            file: None,
            path: None,
            physical_partition_number: ppn,
            start_sector: "0".into(),
            sectors: None,
            sector_size,
            pages_per_block: None,
            last_sector: None,
            destructive: None,
            critical: false,
            data: None,
            patch: None,
            verbatim: None,
            origin: None,
        }
    }
}

impl Serialize for PlanStep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PlanStep", 19)?;
        st.serialize_field("op", &self.op)?;
        st.serialize_field("label", &self.label)?;
        st.serialize_field("file", &self.file)?;
        st.serialize_field("physical_partition_number", &self.physical_partition_number)?;
        st.serialize_field("start_sector", &self.start_sector)?;
        st.serialize_field("sectors", &self.sectors)?;
        st.serialize_field("sector_size", &self.sector_size)?;
        st.serialize_field("bytes", &self.bytes())?;
        st.serialize_field("destructive", &self.destructive.is_some())?;
        st.serialize_field("destructive_reason", &self.destructive)?;
        st.serialize_field("critical", &self.critical)?;
        st.serialize_field("pages_per_block", &self.pages_per_block)?;
        st.serialize_field("last_sector", &self.last_sector)?;
        st.serialize_field("data", &self.data)?;
        st.serialize_field("patch", &self.patch)?;
        st.serialize_field("verbatim", &self.verbatim)?;
        st.serialize_field(
            "missing_image",
            &(self.op == StepOp::Program && self.data.is_none()),
        )?;
        st.serialize_field(
            "xml",
            &self.origin.as_ref().map(|o| o.file.display().to_string()),
        )?;
        st.serialize_field("line", &self.origin.as_ref().map(|o| o.line))?;
        st.end()
    }
}
