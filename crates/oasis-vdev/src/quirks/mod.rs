//! Quirks: behaviours of real boards that differ from the happy path, each named after what a
//! real board does (sources in docs/protocol.md). A virtual board gets them with
//! `virtual:PROFILE@STATE+QUIRK+QUIRK` or `oasis-cli emulate --quirk QUIRK` (repeatable).
//!
//! Boot-ROM and link behaviours live in [`BootQuirks`] (`boot.rs`), programmer behaviours in
//! [`ProgrammerQuirks`] (`programmer.rs`).

mod boot;
mod programmer;

pub use boot::{AT_BOOT, AT_FIRST_ANSWER, BootQuirks, DM_RESTART, EDL_BUSY};
pub use programmer::ProgrammerQuirks;

use crate::VdevError;

/// Real-board behaviours a virtual board shows (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Boot ROM (Sahara), link and running-module behaviours.
    pub boot: BootQuirks,
    /// Firehose programmer behaviours.
    pub programmer: ProgrammerQuirks,
}

impl Quirks {
    /// Every quirk name with a one-line description, for help texts and errors.
    pub fn names() -> Vec<(&'static str, &'static str)> {
        let mut all = BootQuirks::NAMES.to_vec();
        all.extend_from_slice(ProgrammerQuirks::NAMES);
        all
    }

    /// Quirks from a list of names (case-insensitive), naming the first unknown one.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, VdevError> {
        let mut q = Quirks::default();
        for n in names {
            q.set(n.as_ref())?;
        }
        Ok(q)
    }

    /// Turn one quirk on by name.
    pub fn set(&mut self, name: &str) -> Result<(), VdevError> {
        let key = name.trim().to_ascii_lowercase();
        if self.boot.set(&key) || self.programmer.set(&key) {
            return Ok(());
        }
        let known: Vec<&str> = Self::names().iter().map(|(n, _)| *n).collect();
        Err(VdevError::BadOption {
            option: "quirk",
            reason: format!(
                "unknown quirk {name:?} (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_quirk_is_refused_by_name() {
        let e = Quirks::parse(&["no-such-quirk"])
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("no-such-quirk")),
            "{e:?}"
        );
    }

    #[test]
    fn every_listed_name_parses() {
        for (name, _) in Quirks::names() {
            assert!(Quirks::parse(&[name]).is_ok(), "{name}");
            assert_ne!(
                Quirks::parse(&[name]).ok(),
                Some(Quirks::default()),
                "{name}"
            );
        }
    }
}
