//! Does a programmer fit a board? The §4.4 warning rule and fixture finding 1, one reasoned check at a time.

use serde::{Deserialize, Serialize};

use super::chips::{
    chip_name, chip_name_for_soc_version, known_test_root_bytes, normalize_pk_hash,
};
use super::{ProgrammerIdentity, ProgrammerKind};

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CheckOutcome {
    /// The check passed.
    Pass,
    /// Not enough information to decide.
    Unknown,
    /// The board will (almost certainly) refuse the programmer, or the programmer is the wrong kind.
    Fail,
}

/// One check with its reason, worded for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitCheck {
    /// What was checked: `kind`, `chip`, `oem_id`, `model_id` or `pk_hash`.
    pub check: String,
    /// The outcome.
    pub outcome: CheckOutcome,
    /// Why, naming the values compared.
    pub reason: String,
}

/// Overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FitLevel {
    /// Every check passed.
    Fits,
    /// Nothing failed, but something could not be checked.
    Uncertain,
    /// At least one check failed.
    Mismatch,
}

/// The answer of [`ProgrammerIdentity::fits`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitVerdict {
    /// Worst outcome over the checks.
    pub level: FitLevel,
    /// The board's PK hash is this known Qualcomm test root (not secure-boot fused).
    pub board_test_root: Option<String>,
    /// Each check, in order: kind, chip, OEM id, model id, PK hash.
    pub checks: Vec<FitCheck>,
}

impl FitVerdict {
    /// True when every check passed.
    pub fn fits(&self) -> bool {
        self.level == FitLevel::Fits
    }
    /// True when at least one check failed.
    pub fn is_mismatch(&self) -> bool {
        self.level == FitLevel::Mismatch
    }
    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &FitCheck> {
        self.checks
            .iter()
            .filter(|c| c.outcome == CheckOutcome::Fail)
    }
    /// One line for a log or status bar: the verdict and the reasons of every check that did not pass.
    pub fn summary(&self) -> String {
        let head = match self.level {
            FitLevel::Fits => "programmer fits this board",
            FitLevel::Uncertain => "programmer may not fit this board",
            FitLevel::Mismatch => "programmer does not fit this board",
        };
        let notes: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| c.outcome != CheckOutcome::Pass)
            .map(|c| c.reason.as_str())
            .collect();
        if notes.is_empty() {
            head.to_owned()
        } else {
            format!("{head}: {}", notes.join("; "))
        }
    }
    /// The outcome of the check named `check`.
    pub fn outcome(&self, check: &str) -> Option<CheckOutcome> {
        self.checks
            .iter()
            .find(|c| c.check == check)
            .map(|c| c.outcome)
    }
}

fn check(name: &str, outcome: CheckOutcome, reason: impl Into<String>) -> FitCheck {
    FitCheck {
        check: name.to_owned(),
        outcome,
        reason: reason.into(),
    }
}

/// Apply the rule: kind, then (a) chip, (b) OEM id, model id, (c) PK hash.
pub(super) fn judge(id: &ProgrammerIdentity, board_hw_id: u64, board_pk_hash: &[u8]) -> FitVerdict {
    let pk = normalize_pk_hash(board_pk_hash);
    let test_root = if pk.is_empty() {
        None
    } else {
        known_test_root_bytes(pk)
    };
    let checks = vec![
        kind_check(id),
        chip_check(id, board_hw_id),
        oem_check(id, board_hw_id, test_root),
        model_check(id, board_hw_id, test_root),
        root_check(id, pk, test_root),
    ];
    let level = if checks.iter().any(|c| c.outcome == CheckOutcome::Fail) {
        FitLevel::Mismatch
    } else if checks.iter().any(|c| c.outcome == CheckOutcome::Unknown) {
        FitLevel::Uncertain
    } else {
        FitLevel::Fits
    };
    FitVerdict {
        level,
        board_test_root: test_root.map(str::to_owned),
        checks,
    }
}

fn kind_check(id: &ProgrammerIdentity) -> FitCheck {
    match id.kind {
        ProgrammerKind::Firehose => check(
            "kind",
            CheckOutcome::Pass,
            format!("Firehose programmer: {}", id.kind_evidence),
        ),
        ProgrammerKind::Nprg | ProgrammerKind::Enprg => check(
            "kind",
            CheckOutcome::Fail,
            format!(
                "not a Firehose programmer ({}); it speaks the old streaming-download protocol",
                id.kind_evidence
            ),
        ),
        _ => check(
            "kind",
            CheckOutcome::Unknown,
            format!("programmer kind unknown: {}", id.kind_evidence),
        ),
    }
}

fn describe_msm(msm: u32) -> String {
    match chip_name(msm) {
        Some(n) => format!("{msm:#010x} ({n})"),
        None => format!("{msm:#010x}"),
    }
}

/// (a) The MSM part: 0 is a wildcard, family codes compare by chip name, SoC-version binding too.
fn chip_check(id: &ProgrammerIdentity, board_hw_id: u64) -> FitCheck {
    let board_msm = (board_hw_id >> 32) as u32;
    let bound_to_soc = id.in_use_soc_hw_version == Some(true) && !id.soc_hw_versions.is_empty();
    let Some(prog_msm) = id.msm_id() else {
        if bound_to_soc {
            return soc_version_check(id, board_msm);
        }
        return check(
            "chip",
            CheckOutcome::Unknown,
            "the programmer states no HW_ID (unsigned or no OU/metadata), so its chip cannot be checked",
        );
    };
    if prog_msm == 0 {
        if bound_to_soc {
            return soc_version_check(id, board_msm);
        }
        return check(
            "chip",
            CheckOutcome::Pass,
            "programmer HW_ID has MSM 00000000: built for any chip",
        );
    }
    if board_msm == 0 {
        return check(
            "chip",
            CheckOutcome::Unknown,
            format!(
                "board reported no MSM id; programmer is for {}",
                describe_msm(prog_msm)
            ),
        );
    }
    let both_jtag = prog_msm & 0xFF == 0xE1 && board_msm & 0xFF == 0xE1;
    if prog_msm == board_msm || (both_jtag && prog_msm & 0x00FF_FFFF == board_msm & 0x00FF_FFFF) {
        return check(
            "chip",
            CheckOutcome::Pass,
            format!(
                "programmer and board MSM match: {}",
                describe_msm(board_msm)
            ),
        );
    }
    if !both_jtag {
        return family_form_check(prog_msm, board_msm);
    }
    mismatch(prog_msm, board_msm)
}

/// One side is a SoC family code rather than a JTAG id: compare chip names.
fn family_form_check(prog_msm: u32, board_msm: u32) -> FitCheck {
    match (chip_name(prog_msm), chip_name(board_msm)) {
        (Some(p), Some(b)) if p == b => check(
            "chip",
            CheckOutcome::Pass,
            format!("programmer MSM {prog_msm:#010x} and board {board_msm:#010x} are both {b}"),
        ),
        (Some(_), Some(_)) => mismatch(prog_msm, board_msm),
        _ => check(
            "chip",
            CheckOutcome::Unknown,
            format!(
                "cannot map programmer MSM {} and board {} to one chip family",
                describe_msm(prog_msm),
                describe_msm(board_msm)
            ),
        ),
    }
}

fn mismatch(prog_msm: u32, board_msm: u32) -> FitCheck {
    check(
        "chip",
        CheckOutcome::Fail,
        format!(
            "programmer is for MSM {}, board is {}",
            describe_msm(prog_msm),
            describe_msm(board_msm)
        ),
    )
}

fn soc_version_check(id: &ProgrammerIdentity, board_msm: u32) -> FitCheck {
    let list = id.soc_hw_versions.join(", ");
    let names: Vec<&str> = id
        .soc_hw_versions
        .iter()
        .filter_map(|v| u16::from_str_radix(v, 16).ok())
        .filter_map(chip_name_for_soc_version)
        .collect();
    match chip_name(board_msm) {
        Some(b) if names.contains(&b) => check(
            "chip",
            CheckOutcome::Pass,
            format!("programmer is bound to SoC versions [{list}] = {b}, the board's chip"),
        ),
        Some(b) if !names.is_empty() => check(
            "chip",
            CheckOutcome::Fail,
            format!(
                "programmer is bound to SoC versions [{list}] ({}), board is {b}",
                names.join(", ")
            ),
        ),
        _ => check(
            "chip",
            CheckOutcome::Unknown,
            format!(
                "programmer is bound to SoC versions [{list}]; cannot map them or board MSM {} to a chip",
                describe_msm(board_msm)
            ),
        ),
    }
}

/// (b) OEM_ID: only when the board has one, the programmer is not HW-agnostic, and the board is fused.
fn oem_check(id: &ProgrammerIdentity, board_hw_id: u64, test_root: Option<&str>) -> FitCheck {
    let board_oem = ((board_hw_id >> 16) & 0xFFFF) as u32;
    if board_oem == 0 {
        return check(
            "oem_id",
            CheckOutcome::Pass,
            "board OEM_ID is 0000: no OEM binding",
        );
    }
    if let Some(root) = test_root {
        return check(
            "oem_id",
            CheckOutcome::Pass,
            format!("board reports test root \"{root}\": not fused, OEM_ID not enforced"),
        );
    }
    if id.hw_id_value() == Some(0) {
        return check(
            "oem_id",
            CheckOutcome::Pass,
            "programmer HW_ID is 0: OEM-agnostic (the root hash decides)",
        );
    }
    match id.oem_id_value() {
        None => check(
            "oem_id",
            CheckOutcome::Unknown,
            format!("programmer states no OEM_ID; board OEM_ID is {board_oem:04x}"),
        ),
        Some(p) if p == board_oem => check(
            "oem_id",
            CheckOutcome::Pass,
            format!("OEM_ID {p:04x} matches"),
        ),
        Some(p) => check(
            "oem_id",
            CheckOutcome::Fail,
            format!("programmer OEM_ID {p:04x}, board OEM_ID {board_oem:04x}"),
        ),
    }
}

/// MODEL_ID: not in the §4.4 rule, so a difference is only "unknown", never a failure.
fn model_check(id: &ProgrammerIdentity, board_hw_id: u64, test_root: Option<&str>) -> FitCheck {
    let board_model = (board_hw_id & 0xFFFF) as u32;
    let prog_model = id
        .model_id
        .as_deref()
        .and_then(|m| u32::from_str_radix(m, 16).ok());
    if board_model == 0 || test_root.is_some() || id.hw_id_value() == Some(0) {
        return check(
            "model_id",
            CheckOutcome::Pass,
            "no MODEL_ID binding applies",
        );
    }
    match prog_model {
        Some(p) if p == board_model => check(
            "model_id",
            CheckOutcome::Pass,
            format!("MODEL_ID {p:04x} matches"),
        ),
        Some(p) => check(
            "model_id",
            CheckOutcome::Unknown,
            format!(
                "programmer MODEL_ID {p:04x} differs from board MODEL_ID {board_model:04x}; the board may refuse it"
            ),
        ),
        None => check(
            "model_id",
            CheckOutcome::Unknown,
            format!("programmer states no MODEL_ID; board MODEL_ID is {board_model:04x}"),
        ),
    }
}

/// (c) PK hash, compared on the digest length the board reports; a test root accepts anything.
fn root_check(id: &ProgrammerIdentity, pk: &[u8], test_root: Option<&str>) -> FitCheck {
    if pk.is_empty() {
        return check(
            "pk_hash",
            CheckOutcome::Unknown,
            "board reported no PK hash",
        );
    }
    let board = hex::encode(pk);
    if let Some(root) = test_root {
        return check(
            "pk_hash",
            CheckOutcome::Pass,
            format!(
                "board reports Qualcomm test root \"{root}\": not secure-boot fused, any programmer for its chip is accepted"
            ),
        );
    }
    if !id.signed {
        return check(
            "pk_hash",
            CheckOutcome::Fail,
            format!(
                "programmer is unsigned but the board is fused to root {board}: Sahara will reject it (status 0x21-0x25)"
            ),
        );
    }
    let alg = match pk.len() {
        32 => "SHA-256",
        48 => "SHA-384",
        n => {
            return check(
                "pk_hash",
                CheckOutcome::Unknown,
                format!("board PK hash has {n} bytes; expected 32 (SHA-256) or 48 (SHA-384)"),
            );
        }
    };
    match id.pk_hash_for_len(pk.len()) {
        Some(h) if h == board => check(
            "pk_hash",
            CheckOutcome::Pass,
            format!("programmer root {alg} matches the board PK hash {board}"),
        ),
        Some(h) => check(
            "pk_hash",
            CheckOutcome::Fail,
            format!(
                "programmer root {alg} {h} differs from board PK hash {board}: near-certain Sahara failure (status 0x21-0x25)"
            ),
        ),
        None => check(
            "pk_hash",
            CheckOutcome::Unknown,
            "programmer has no root certificate hash",
        ),
    }
}
