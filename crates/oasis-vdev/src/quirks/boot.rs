//! Boot ROM (Sahara), link and running-module quirks of real boards.

/// Boot-ROM, link and running-module behaviours (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootQuirks {
    /// The boot ROM ignores Sahara command mode: a HELLO_RESP asking for mode 3 is dropped and
    /// the boot ROM keeps waiting for a HELLO_RESP for image transfer.
    pub no_command_mode: bool,
    /// After dropping a request it does not take, the boot ROM starts over and sends HELLO
    /// again (as boot ROMs do after their own timeout).
    pub hello_again: bool,
    /// Asking the SBL version (EXECUTE 0x07) in command mode breaks the later upload: the
    /// boot ROM answers the query, then fails the image transfer (edl leaves 0x07 out).
    pub sbl_version_breaks_upload: bool,
    /// A Sahara RESET leaves the boot ROM silent until a power cycle (no RESET_RESP, no HELLO).
    pub reset_silent: bool,
}

impl BootQuirks {
    /// Names accepted by [`BootQuirks::set`], with a one-line description.
    pub const NAMES: &'static [(&'static str, &'static str)] = &[
        (
            "no-command-mode",
            "the boot ROM ignores Sahara command mode (HELLO_RESP mode 3 is dropped)",
        ),
        (
            "hello-again",
            "the boot ROM re-sends HELLO after dropping a request (with no-command-mode)",
        ),
        (
            "sbl-version-breaks-upload",
            "asking the SBL version (EXECUTE 0x07) makes the boot ROM fail the upload",
        ),
        (
            "reset-silent",
            "a Sahara RESET leaves the boot ROM silent until a power cycle",
        ),
    ];

    /// Turn on the quirk called `name` (lower case); false when the name is not one of these.
    pub(crate) fn set(&mut self, name: &str) -> bool {
        let flag = match name {
            "no-command-mode" => &mut self.no_command_mode,
            "hello-again" => &mut self.hello_again,
            "sbl-version-breaks-upload" => &mut self.sbl_version_breaks_upload,
            "reset-silent" => &mut self.reset_silent,
            _ => return false,
        };
        *flag = true;
        true
    }
}
