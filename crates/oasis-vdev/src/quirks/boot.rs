//! Boot ROM (Sahara), link and running-module quirks of real boards.

/// Boot-ROM, link and running-module behaviours (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootQuirks {}

impl BootQuirks {
    /// Names accepted by [`BootQuirks::set`], with a one-line description.
    pub const NAMES: &'static [(&'static str, &'static str)] = &[];

    /// Turn on the quirk called `name` (lower case); false when the name is not one of these.
    pub(crate) fn set(&mut self, name: &str) -> bool {
        let _ = name;
        false
    }
}
