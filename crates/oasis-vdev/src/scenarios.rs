//! Ready-made boards for demos, the GUI and diagnostics tests: each a constructor plus a name
//! and a sentence — one scenario per state a technician meets (which diagnosis a host reaches
//! for each is the diagnosis's business, and its tests say so).

use std::time::Duration;

use crate::board::VirtualBoard;
use crate::fault::{FaultKind, FaultSpec};
use crate::options::{BoardOptions, HostAccess, StartIn};
use crate::profile::Profile;

/// A named demo board.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Short stable name (`healthy-bg95`, ...).
    pub name: &'static str,
    /// One sentence for a user.
    pub description: &'static str,
    /// Builds a fresh board.
    pub build: fn() -> VirtualBoard,
}

fn starting_in(profile: Profile, start_in: StartIn) -> VirtualBoard {
    let opts = BoardOptions {
        start_in,
        ..BoardOptions::default()
    };
    VirtualBoard::new(profile, opts)
}

/// A healthy BG95-M3 in download mode (EDL 9008, Sahara HELLO waiting).
pub fn healthy_bg95() -> VirtualBoard {
    VirtualBoard::new(Profile::bg95(), BoardOptions::default())
}

/// An EG25-G in normal mode answering AT commands (`RDY` waiting), with its DM port.
pub fn normal_mode_eg25() -> VirtualBoard {
    starting_in(Profile::eg25(), StartIn::Normal)
}

/// A BG95 whose flash fails: the third `<program>` is NAKed after its data with a NAND
/// program-failure log, like a board with a worn-out block.
pub fn failing_flash_bg95() -> VirtualBoard {
    let fault = FaultSpec {
        kind: FaultKind::Nak,
        point: Some("program".into()),
        nth: 3,
    };
    VirtualBoard::new(Profile::bg95(), BoardOptions::with_faults(vec![fault]))
}

/// An EG25-G running its firmware whose AT port never answers (its DM port still does).
pub fn at_silent_eg25() -> VirtualBoard {
    starting_in(Profile::eg25(), StartIn::NormalAtSilent)
}

/// A BG95 in download mode whose programmer already runs (an earlier tool uploaded it).
pub fn programmer_running_bg95() -> VirtualBoard {
    starting_in(Profile::bg95(), StartIn::Firehose)
}

/// A BG95 that crashed into memory-dump mode (05C6:900E, Sahara HELLO mode 2).
pub fn memory_dump_bg95() -> VirtualBoard {
    starting_in(Profile::bg95(), StartIn::MemoryDump)
}

/// A BG95 in download mode that another program (ModemManager) holds.
pub fn claimed_bg95() -> VirtualBoard {
    let opts = BoardOptions {
        access: HostAccess::ClaimedBy("ModemManager".into()),
        ..BoardOptions::default()
    };
    VirtualBoard::new(Profile::bg95(), opts)
}

/// A BG95 in download mode that this user may not open (no udev rule).
pub fn no_permission_bg95() -> VirtualBoard {
    let opts = BoardOptions {
        access: HostAccess::NoPermission,
        ..BoardOptions::default()
    };
    VirtualBoard::new(Profile::bg95(), opts)
}

/// An EG25-G that was unplugged: nothing on the bus.
pub fn unplugged_eg25() -> VirtualBoard {
    let b = normal_mode_eg25();
    b.unplug();
    b
}

/// A BG95 on a loose cable: on the bus for a second, off for a second, again and again.
pub fn flapping_bg95() -> VirtualBoard {
    let opts = BoardOptions {
        flap: Some(Duration::from_secs(1)),
        ..BoardOptions::default()
    };
    VirtualBoard::new(Profile::bg95(), opts)
}

/// An EC200T (ASR chip, 2C7C:6026): answers AT, but is no Qualcomm Firehose target.
pub fn not_firehose_ec200t() -> VirtualBoard {
    starting_in(Profile::ec200t(), StartIn::Normal)
}

/// All scenarios: the three demo boards first, then one per remaining diagnosis state.
pub fn scenarios() -> Vec<Scenario> {
    let s = |name, description, build| Scenario {
        name,
        description,
        build,
    };
    vec![
        s(
            "healthy-bg95",
            "A healthy Quectel BG95-M3 in download mode (05c6:9008), ready to flash.",
            healthy_bg95,
        ),
        s(
            "normal-eg25",
            "A Quectel EG25-G running its firmware, answering AT commands.",
            normal_mode_eg25,
        ),
        s(
            "failing-flash-bg95",
            "A BG95-M3 whose NAND fails while programming the third image.",
            failing_flash_bg95,
        ),
        s(
            "silent-eg25",
            "An EG25-G running its firmware whose AT port stays silent.",
            at_silent_eg25,
        ),
        s(
            "programmer-bg95",
            "A BG95-M3 in download mode with a programmer already running.",
            programmer_running_bg95,
        ),
        s(
            "dump-bg95",
            "A BG95-M3 that crashed into memory-dump mode (05c6:900e).",
            memory_dump_bg95,
        ),
        s(
            "claimed-bg95",
            "A BG95-M3 in download mode held by another program (ModemManager).",
            claimed_bg95,
        ),
        s(
            "no-permission-bg95",
            "A BG95-M3 in download mode this user may not open.",
            no_permission_bg95,
        ),
        s(
            "unplugged-eg25",
            "An EG25-G that was unplugged.",
            unplugged_eg25,
        ),
        s(
            "flapping-bg95",
            "A BG95-M3 on a loose cable, dropping off the bus every second.",
            flapping_bg95,
        ),
        s(
            "ec200t",
            "A Quectel EC200T (ASR chip): answers AT but is no Qualcomm Firehose target.",
            not_firehose_ec200t,
        ),
    ]
}
