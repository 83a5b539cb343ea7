//! The individual compatibility rules (model, revision, chip, key, storage, programmer kind)
//! and the helpers they share. Pure functions of the input facts.

use super::{BoardFacts, Check, Level, PackageFacts, ProgrammerFacts, ProgrammerKind, Storage};
use crate::diag::usb_table::chip_name_for_hw_id;

/// Known Qualcomm default/test root hashes: a board reporting one is not secure-boot fused.
pub const TEST_ROOTS: &[&str] = &[
    "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f",
    "7be49b72f9e4337223ccb84d6eccca4e61ce16e3602ac2008cb18b75babe6d09",
    "afca69d4235117e5bfc21467068b20df85e0115d7413d5821883a6d244961581",
    "d40eee56f3194665574109a39267724ae7944134cd53cb767e293d3c40497955bc8a4519ff992b031fadc6355015ac87",
    "36c886068d9a6634e9c55185044344e9e756dcc3b5960874942c7a1a1550dee0",
];

/// Trim a board-reported PK hash: lower-case, drop a repeated copy and trailing zero padding,
/// and round the length back up to 32, 48 or 64 bytes.
pub fn normalise_pk_hash(hex_hash: &str) -> String {
    let h: String = hex_hash
        .trim()
        .trim_start_matches("0x")
        .to_ascii_lowercase();
    let mut h = h.as_str();
    for len in [64, 96, 128] {
        if h.len() >= 2 * len && h.get(len..2 * len) == h.get(..len) {
            h = &h[..len];
            break;
        }
    }
    let trimmed = h.trim_end_matches('0');
    let keep = [64, 96, 128]
        .into_iter()
        .find(|l| trimmed.len() <= *l)
        .unwrap_or(h.len());
    h.get(..keep.min(h.len())).unwrap_or(h).to_string()
}

/// True when the (normalised) hash is a known Qualcomm test root.
pub fn is_test_root(hex_hash: &str) -> bool {
    let n = normalise_pk_hash(hex_hash);
    TEST_ROOTS.contains(&n.as_str())
}

/// A Quectel revision split at its `R##A##` token: `EG25GGBR07A08M2G` → ("EG25GGB", (7, 8)).
fn split_revision(rev: &str) -> Option<(String, (u32, u32))> {
    let main = rev.split('_').next()?.to_ascii_uppercase();
    let b = main.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let tok = b.get(i..i + 6)?;
        let ok = tok[0] == b'R'
            && tok[3] == b'A'
            && [1, 2, 4, 5].iter().all(|k| tok[*k].is_ascii_digit());
        let num = |s: &[u8]| std::str::from_utf8(s).ok()?.parse::<u32>().ok();
        (ok && i > 0)
            .then(|| Some((main[..i].to_string(), (num(&tok[1..3])?, num(&tok[4..6])?))))?
    })
}

fn norm_model(m: &str) -> String {
    m.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Leading letters then digits: `EG25GGB` → `EG25`, `RM520NGL` → `RM520`.
fn base_model(m: &str) -> String {
    let letters = m.chars().take_while(char::is_ascii_alphabetic).count();
    let digits = m
        .chars()
        .skip(letters)
        .take_while(char::is_ascii_digit)
        .count();
    m.chars().take(letters + digits).collect()
}

pub(super) fn verdict(name: &str, status: Level, reason: impl Into<String>) -> Check {
    Check {
        name: name.to_string(),
        status,
        reason: reason.into(),
    }
}

pub(super) fn model_check(pkg: &PackageFacts, board: &BoardFacts) -> Check {
    let pkg_hw = pkg
        .revision
        .as_deref()
        .and_then(split_revision)
        .map(|x| x.0);
    let pkg_model = pkg_hw
        .clone()
        .or_else(|| pkg.model.as_deref().map(norm_model));
    let Some(pkg_model) = pkg_model else {
        return verdict(
            "model",
            Level::Amber,
            "the package does not say which module it is for",
        );
    };
    let board_hw = board
        .revision
        .as_deref()
        .and_then(split_revision)
        .map(|x| x.0);
    let board_model = board_hw
        .clone()
        .or_else(|| board.model.as_deref().map(norm_model));
    let Some(board_model) = board_model else {
        return verdict(
            "model",
            Level::Amber,
            format!(
                "the package is for {pkg_model}, but the board's model is not known: ask it over AT first"
            ),
        );
    };
    let exact = match (&pkg_hw, &board_hw) {
        (Some(p), Some(b)) => p == b,
        _ => pkg_model.starts_with(&board_model) || board_model.starts_with(&pkg_model),
    };
    if exact {
        verdict(
            "model",
            Level::Green,
            format!("the package is for {pkg_model} and the board is {board_model}"),
        )
    } else if base_model(&pkg_model) == base_model(&board_model) {
        verdict(
            "model",
            Level::Amber,
            format!(
                "same module family, but the variant differs: package {pkg_model}, board {board_model}; flash only if the supplier says this firmware is for this variant"
            ),
        )
    } else {
        verdict(
            "model",
            Level::Red,
            format!("the package is for {pkg_model}, but the board is {board_model}"),
        )
    }
}

pub(super) fn revision_check(pkg: &PackageFacts, board: &BoardFacts) -> Check {
    let Some(pkg_rev) = &pkg.revision else {
        return verdict(
            "revision",
            Level::Amber,
            "the package revision is not known",
        );
    };
    let Some(board_rev) = &board.revision else {
        return verdict(
            "revision",
            Level::Green,
            format!("the package is {pkg_rev}; the board's current firmware was not read"),
        );
    };
    if pkg_rev.eq_ignore_ascii_case(board_rev) {
        return verdict(
            "revision",
            Level::Green,
            format!("the board already runs {board_rev}; flashing it again is allowed"),
        );
    }
    match (split_revision(pkg_rev), split_revision(board_rev)) {
        (Some((ph, pr)), Some((bh, br))) if ph == bh && pr < br => verdict(
            "revision",
            Level::Amber,
            format!(
                "{pkg_rev} is older than the board's {board_rev}: a downgrade, which some firmware refuses"
            ),
        ),
        _ => verdict(
            "revision",
            Level::Green,
            format!("the board runs {board_rev}; the package is {pkg_rev}"),
        ),
    }
}

/// `(MSM part, OEM part)` of a HW ID.
fn hw_parts(hw: &str) -> Option<(String, String)> {
    let h = hw.trim().trim_start_matches("0x").to_ascii_lowercase();
    (h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (h[..8].to_string(), h[8..12].to_string()))
}

/// The chip family token Quectel/Qualcomm put in programmer file names: MDM9207 → `9x07`,
/// SDX55 → `sdx55`.
fn file_token(chip: &str) -> String {
    let c = chip.to_ascii_lowercase();
    match c.strip_prefix("mdm9") {
        Some(rest) if rest.len() == 3 => format!("9x{}", &rest[1..]),
        _ => c,
    }
}

/// An unsigned (or unparsed) programmer names no chip inside; its file name often does.
fn chip_by_file_name(prog: &ProgrammerFacts, board: &BoardFacts) -> Check {
    let board_chip = board.hw_id.as_deref().and_then(chip_name_for_hw_id);
    let file = prog.file.as_deref().unwrap_or("").to_ascii_lowercase();
    match board_chip {
        Some(chip) if !file.is_empty() && file.contains(&file_token(chip)) => verdict(
            "chip",
            Level::Green,
            format!(
                "the programmer names no chip inside, but its file name says {}, the family of the board's {chip}",
                file_token(chip)
            ),
        ),
        _ => verdict(
            "chip",
            Level::Amber,
            "the programmer does not state which chip it is for",
        ),
    }
}

pub(super) fn chip_check(prog: &ProgrammerFacts, board: &BoardFacts) -> Check {
    let name = |msm: &str| {
        chip_name_for_hw_id(&format!("{msm}00000000"))
            .map_or(format!("chip {msm}"), |n| format!("{n} ({msm})"))
    };
    let Some((pm, po)) = prog.hw_id.as_deref().and_then(hw_parts) else {
        return chip_by_file_name(prog, board);
    };
    if pm == "00000000" {
        return verdict(
            "chip",
            Level::Green,
            "the programmer is not tied to one chip",
        );
    }
    let Some((bm, bo)) = board.hw_id.as_deref().and_then(hw_parts) else {
        return verdict(
            "chip",
            Level::Amber,
            format!(
                "the programmer is for {}; read the board's chip identity to compare",
                name(&pm)
            ),
        );
    };
    if !pm.ends_with("e1") {
        return verdict(
            "chip",
            Level::Amber,
            format!(
                "the programmer names a chip family code ({pm}), which Oasis cannot compare with the board's {}",
                name(&bm)
            ),
        );
    }
    if pm != bm {
        return verdict(
            "chip",
            Level::Red,
            format!(
                "the programmer is for {}, but the board has {}",
                name(&pm),
                name(&bm)
            ),
        );
    }
    if bo != "0000" && po != "0000" && po != bo {
        return verdict(
            "chip",
            Level::Amber,
            format!(
                "same chip, but the programmer is for maker {po} and the board reports maker {bo}"
            ),
        );
    }
    verdict(
        "chip",
        Level::Green,
        format!("the programmer is for {}, the board's chip", name(&bm)),
    )
}

pub(super) fn key_check(prog: &ProgrammerFacts, board: &BoardFacts) -> Check {
    let Some(pk) = board.pk_hash.as_deref().map(normalise_pk_hash) else {
        return match board.secure_boot {
            Some(false) => verdict(
                "key",
                Level::Green,
                "the board reports secure boot off: it accepts any programmer for its chip",
            ),
            Some(true) => verdict(
                "key",
                Level::Amber,
                "the board has secure boot on: read its chip identity to compare its key with the programmer's signature",
            ),
            None => verdict(
                "key",
                Level::Amber,
                "the board's security key is not known: read its chip identity first",
            ),
        };
    };
    if is_test_root(&pk) {
        return verdict(
            "key",
            Level::Green,
            "the board carries a Qualcomm test key (not locked): any programmer for its chip loads",
        );
    }
    if prog.signed == Some(false) {
        return verdict(
            "key",
            Level::Red,
            "the programmer is unsigned, but the board only accepts programmers signed with its key",
        );
    }
    let mine = match pk.len() {
        64 => prog.root_sha256.as_deref(),
        96 => prog.root_sha384.as_deref(),
        _ => None,
    };
    match mine {
        Some(h) if h.eq_ignore_ascii_case(&pk) => verdict(
            "key",
            Level::Green,
            "the programmer is signed with the board's key",
        ),
        Some(_) => verdict(
            "key",
            Level::Red,
            format!(
                "the programmer is signed with another key than the board's ({}…): the board will refuse it at upload",
                pk.get(..16).unwrap_or(&pk)
            ),
        ),
        None => verdict(
            "key",
            Level::Amber,
            "the programmer's signing key is not known; the board may refuse it",
        ),
    }
}

pub(super) fn storage_check(
    pkg: &PackageFacts,
    prog: &ProgrammerFacts,
    board: &BoardFacts,
) -> Check {
    let word = |s: Storage| match s {
        Storage::Nand => "NAND",
        Storage::Emmc => "eMMC",
        Storage::Ufs => "UFS",
        Storage::Spinor => "SPI NOR",
    };
    match (pkg.storage, prog.storage, board.storage) {
        (Some(p), _, Some(b)) if p != b => verdict(
            "storage",
            Level::Red,
            format!(
                "the package writes {} but the board has {}",
                word(p),
                word(b)
            ),
        ),
        (Some(p), Some(g), _) if p != g => verdict(
            "storage",
            Level::Red,
            format!(
                "the package writes {} but its programmer drives {}",
                word(p),
                word(g)
            ),
        ),
        (Some(p), Some(_), _) | (Some(p), _, Some(_)) => verdict(
            "storage",
            Level::Green,
            format!("package and programmer both use {}", word(p)),
        ),
        (Some(p), None, None) => verdict(
            "storage",
            Level::Amber,
            format!(
                "the package writes {}; the programmer does not say which storage it drives",
                word(p)
            ),
        ),
        (None, ..) => verdict(
            "storage",
            Level::Amber,
            "the package does not say which storage it writes",
        ),
    }
}

pub(super) fn programmer_check(prog: &ProgrammerFacts) -> Check {
    let file = prog.file.as_deref().unwrap_or("the programmer");
    match prog.kind {
        ProgrammerKind::Firehose => verdict(
            "programmer",
            Level::Green,
            format!("{file} is a Firehose programmer"),
        ),
        ProgrammerKind::Streaming => verdict(
            "programmer",
            Level::Red,
            format!(
                "{file} is an old streaming-download (NPRG) programmer, not a Firehose one; the package's Firehose programmer is needed"
            ),
        ),
        ProgrammerKind::Unknown => verdict(
            "programmer",
            Level::Amber,
            format!("{file} could not be recognised as a Firehose programmer"),
        ),
    }
}

pub(super) fn answer(overall: Level, checks: &[Check], board: &BoardFacts) -> String {
    let reasons = |l: Level| {
        checks
            .iter()
            .filter(|c| c.status == l)
            .map(|c| c.reason.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    match overall {
        Level::Green => {
            let who = board
                .model
                .as_deref()
                .map_or("this module".to_string(), |m| format!("this {m}"));
            format!(
                "Yes: this firmware is made for {who}, and its programmer fits the board's chip and security key."
            )
        }
        Level::Amber => format!(
            "Probably, but not confirmed: {}. Check these before flashing.",
            reasons(Level::Amber)
        ),
        Level::Red => format!("No: {}.", reasons(Level::Red)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_split() {
        assert_eq!(
            split_revision("EG25GGBR07A08M2G"),
            Some(("EG25GGB".into(), (7, 8)))
        );
        assert_eq!(
            split_revision("BG95M3LAR02A03_01.011.01.011"),
            Some(("BG95M3LA".into(), (2, 3)))
        );
        assert_eq!(
            split_revision("RM520NGLAAR01A03M4G"),
            Some(("RM520NGLAA".into(), (1, 3)))
        );
        assert_eq!(split_revision("nothing"), None);
        assert_eq!(split_revision("R01A02"), None);
        assert_eq!(base_model("EG25GGB"), "EG25");
    }

    #[test]
    fn pk_hash_normalisation() {
        let sha384 = "d40eee56f3194665574109a39267724ae7944134cd53cb767e293d3c40497955bc8a4519ff992b031fadc6355015ac87";
        let padded = format!("{sha384}{}", "0".repeat(160));
        assert_eq!(normalise_pk_hash(&padded), sha384);
        let sha256 = "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f";
        assert_eq!(normalise_pk_hash(&format!("{sha256}{sha256}")), sha256);
        assert_eq!(normalise_pk_hash(&sha256.to_uppercase()), sha256);
        assert!(is_test_root(&padded));
        assert!(!is_test_root(&"ab".repeat(32)));
    }
}
