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
    /// The firmware takes a while to boot after a reset: AT input sent during the first
    /// [`AT_BOOT`] is lost (no echo, no answer), `RDY` comes at its end, and the first answer
    /// after that is late ([`AT_FIRST_ANSWER`]), as real modules do.
    pub slow_at_boot: bool,
    /// The DM port takes the download-mode command without echoing it; the module drops off
    /// the bus only [`DM_RESTART`] later (QFirehose ignores the echo and polls for 9008).
    pub dm_no_echo: bool,
    /// After the switch, 9008 refuses to be opened (Busy: ModemManager and udev race the first
    /// open) for [`EDL_BUSY`].
    pub edl_busy_at_first: bool,
}

/// How long a module with `dm-no-echo` keeps its DM port after the download-mode command.
pub const DM_RESTART: std::time::Duration = std::time::Duration::from_millis(1000);

/// How long 9008 refuses opens on a board with `edl-busy-at-first`.
pub const EDL_BUSY: std::time::Duration = std::time::Duration::from_millis(1000);

/// How long a module with `slow-at-boot` loses AT input after it boots.
pub const AT_BOOT: std::time::Duration = std::time::Duration::from_millis(800);

/// How late the first AT answer after boot comes on a module with `slow-at-boot`.
pub const AT_FIRST_ANSWER: std::time::Duration = std::time::Duration::from_millis(1200);

impl BootQuirks {
    /// Names accepted by `BootQuirks::set`, with a one-line description.
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
        (
            "dm-no-echo",
            "the DM port does not echo the download-mode command; the module restarts later",
        ),
        (
            "edl-busy-at-first",
            "after the switch, 9008 refuses the first opens (Busy) for a while",
        ),
        (
            "slow-at-boot",
            "after boot, AT input is lost for a while and the first answer is late (> 1 s)",
        ),
    ];

    /// Turn on the quirk called `name` (lower case); false when the name is not one of these.
    pub(crate) fn set(&mut self, name: &str) -> bool {
        let flag = match name {
            "no-command-mode" => &mut self.no_command_mode,
            "hello-again" => &mut self.hello_again,
            "sbl-version-breaks-upload" => &mut self.sbl_version_breaks_upload,
            "reset-silent" => &mut self.reset_silent,
            "slow-at-boot" => &mut self.slow_at_boot,
            "dm-no-echo" => &mut self.dm_no_echo,
            "edl-busy-at-first" => &mut self.edl_busy_at_first,
            _ => return false,
        };
        *flag = true;
        true
    }
}
