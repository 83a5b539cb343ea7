//! Firehose programmer quirks of real boards.

use std::time::Duration;

/// Programmer behaviours (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgrammerQuirks {
    /// Log lines follow every ACK (qdl: "db410c sometimes sends a `<response>` followed by `<log>`
    /// entries"; MSM8916 programmers log after their response). Not after the rawmode ACK of a
    /// `<read>`: its data follows at once.
    pub logs_after_ack: bool,
    /// The first `configure` answers only after [`ProgrammerQuirks::SLOW_CONFIGURE`] (storage
    /// initialisation).
    pub slow_configure: bool,
    /// Single-threaded: while it has sent something the host has not read (a `<log>`, a
    /// `<response>`, an answer still being prepared), it takes no new data. On the in-process
    /// link a write then times out; on a pty the bytes wait unread.
    pub single_threaded: bool,
}

impl ProgrammerQuirks {
    /// How long the first `configure` takes with `slow_configure`: storage initialisation on
    /// the first configure takes seconds on some NAND parts.
    pub const SLOW_CONFIGURE: Duration = Duration::from_millis(2500);

    /// Names accepted by `ProgrammerQuirks::set`, with a one-line description.
    pub const NAMES: &'static [(&'static str, &'static str)] = &[
        (
            "logs-after-ack",
            "the programmer sends <log> lines after every ACK (MSM8916 / db410c programmers)",
        ),
        (
            "slow-configure",
            "the first <configure> answers after 2.5 s of storage initialisation",
        ),
        (
            "single-threaded",
            "the programmer takes no new data while the host has not read what it sent",
        ),
    ];

    /// Turn on the quirk called `name` (lower case); false when the name is not one of these.
    pub(crate) fn set(&mut self, name: &str) -> bool {
        match name {
            "logs-after-ack" => self.logs_after_ack = true,
            "slow-configure" => self.slow_configure = true,
            "single-threaded" => self.single_threaded = true,
            _ => return false,
        }
        true
    }
}
