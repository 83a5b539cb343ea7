//! Virtual boards named as ports: `virtual[:PROFILE][@STATE][+QUIRK…]` (the CLI's `--port`,
//! an alias on the virtual bus) to the board it asks for.

use crate::board::VirtualBoard;
use crate::error::VdevError;
use crate::options::{BoardOptions, StartIn};
use crate::profile::Profile;
use crate::quirks::Quirks;

/// States a `virtual:PROFILE@STATE` board can start in.
pub const START_STATES: &str = "edl, normal, programmer, dump";

/// The `PROFILE@STATE+QUIRK` part of `virtual[:…]`, or `None` when `port` is not virtual.
pub(super) fn virtual_spec(port: &str) -> Option<&str> {
    let p = port.trim();
    if p.eq_ignore_ascii_case("virtual") {
        return Some("");
    }
    let head = p.get(..8)?;
    head.eq_ignore_ascii_case("virtual:")
        .then(|| p.get(8..))
        .flatten()
}

/// Where a `virtual:PROFILE@STATE` board starts.
fn start_state(word: &str) -> Result<StartIn, VdevError> {
    match word.trim().to_ascii_lowercase().as_str() {
        "" | "edl" | "9008" | "download" => Ok(StartIn::Edl),
        "normal" | "running" => Ok(StartIn::Normal),
        "programmer" | "firehose" => Ok(StartIn::Firehose),
        "dump" | "memory-dump" | "900e" => Ok(StartIn::MemoryDump),
        other => Err(VdevError::BadOption {
            option: "virtual board state",
            reason: format!(
                "unknown virtual board state '@{other}': write virtual:PROFILE@STATE with STATE one of {START_STATES}, e.g. virtual:eg25@normal"
            ),
        }),
    }
}

/// The board `PROFILE[@STATE][+QUIRK…]` names (an empty profile is `fallback`).
pub fn board_for(spec: &str, fallback: &str) -> Result<VirtualBoard, VdevError> {
    let mut parts = spec.split('+');
    let head = parts.next().unwrap_or_default();
    let quirk_names: Vec<&str> = parts.collect();
    let quirks = Quirks::parse(&quirk_names)?;
    let (name, state) = head.split_once('@').unwrap_or((head, ""));
    let name = if name.trim().is_empty() {
        fallback
    } else {
        name.trim()
    };
    let profile = Profile::by_name(name)?;
    let opts = BoardOptions {
        start_in: start_state(state)?,
        quirks,
        ..BoardOptions::default()
    };
    Ok(VirtualBoard::new(profile, opts))
}
