//! The compatibility verdict before flashing: does this package (and its programmer) fit this
//! board? Plain structs in, a green/amber/red verdict with one reason per check and a direct
//! answer sentence out. Pure; callers map package and board types onto the input structs.

mod from_package;
mod rules;

use serde::{Deserialize, Serialize};

use super::at::AtProbe;
use crate::event::ChipIdentity;
pub use from_package::storage_of;
pub use rules::{TEST_ROOTS, is_test_root, normalise_pk_hash};
use rules::{
    answer, chip_check, key_check, model_check, programmer_check, revision_check, storage_check,
    verdict,
};

/// Verdict colour. Ordered: `Green < Amber < Red`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Fits.
    Green,
    /// Unknown or risky: check before flashing.
    Amber,
    /// Does not fit: flashing would fail or harm the board.
    Red,
}

/// Storage technology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// Raw NAND (nearly all Quectel modules).
    Nand,
    /// eMMC.
    Emmc,
    /// UFS.
    Ufs,
    /// SPI NOR.
    Spinor,
}

/// What a programmer file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammerKind {
    /// A Firehose programmer (what Oasis speaks).
    Firehose,
    /// An old streaming-download NAND programmer (NPRG / ENPRG).
    Streaming,
    /// Not known.
    Unknown,
}

/// Facts about the package's programmer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammerFacts {
    /// File name, for the messages.
    pub file: Option<String>,
    /// What kind of programmer it is.
    pub kind: ProgrammerKind,
    /// HW ID it is signed for (16 hex digits; all zero = any chip), if signed.
    pub hw_id: Option<String>,
    /// Whether it carries a signature at all.
    pub signed: Option<bool>,
    /// SHA-256 of its root certificate, lower-case hex.
    pub root_sha256: Option<String>,
    /// SHA-384 of its root certificate, lower-case hex.
    pub root_sha384: Option<String>,
    /// Storage it drives, where its name or contents say.
    pub storage: Option<Storage>,
}

/// Facts about the package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFacts {
    /// Model the package is for, if stated (e.g. "BG95-M3").
    pub model: Option<String>,
    /// Package revision, e.g. `BG95M3LAR02A03_01.202.01.202` or `EG25GGBR07A08M2G`.
    pub revision: Option<String>,
    /// Storage the package's XML targets.
    pub storage: Option<Storage>,
    /// Its programmer.
    pub programmer: Option<ProgrammerFacts>,
}

/// Facts about the board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardFacts {
    /// Model from `ATI`, e.g. "BG95-M3", "EG25".
    pub model: Option<String>,
    /// Revision from `AT+QGMR` (preferred) or `ATI`.
    pub revision: Option<String>,
    /// HW ID from Sahara (16 hex digits).
    pub hw_id: Option<String>,
    /// PK hash from Sahara (hex; padding is tolerated).
    pub pk_hash: Option<String>,
    /// Secure-boot flag from AT.
    pub secure_boot: Option<bool>,
    /// Storage reported by a running programmer.
    pub storage: Option<Storage>,
}

impl BoardFacts {
    /// Collect board facts from an AT probe and a Sahara chip identity.
    pub fn from_evidence(probe: Option<&AtProbe>, chip: Option<&ChipIdentity>) -> Self {
        Self {
            model: probe.and_then(|p| p.model.clone()),
            revision: probe.and_then(|p| p.full_revision.clone().or(p.revision.clone())),
            hw_id: chip.and_then(|c| c.hw_id.clone()),
            pk_hash: chip.and_then(|c| c.pk_hash.clone()),
            secure_boot: probe.and_then(|p| p.secure_boot),
            storage: None,
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was compared ("model", "revision", "chip", "key", "storage", "programmer").
    pub name: String,
    /// Its verdict.
    pub status: Level,
    /// Why, in plain words.
    pub reason: String,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compat {
    /// The worst check.
    pub overall: Level,
    /// Every check, in a fixed order.
    pub checks: Vec<Check>,
    /// The direct answer to "does this firmware fit this module?".
    pub answer: String,
}

/// Compare a package with a board.
pub fn check(pkg: &PackageFacts, board: &BoardFacts) -> Compat {
    let mut checks = vec![model_check(pkg, board), revision_check(pkg, board)];
    match &pkg.programmer {
        Some(prog) => {
            checks.push(chip_check(prog, board));
            checks.push(key_check(prog, board));
            checks.push(storage_check(pkg, prog, board));
            checks.push(programmer_check(prog));
        }
        None => checks.push(verdict(
            "programmer",
            Level::Red,
            "the package has no programmer, so the board cannot be flashed with it",
        )),
    }
    let overall = checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Level::Amber);
    Compat {
        answer: answer(overall, &checks, board),
        overall,
        checks,
    }
}
