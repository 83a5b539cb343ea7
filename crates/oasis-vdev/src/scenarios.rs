//! Ready-made boards for demos and the GUI: each a constructor plus a name and a sentence.

use crate::board::VirtualBoard;
use crate::fault::{FaultKind, FaultSpec};
use crate::options::{BoardOptions, StartIn};
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

/// A healthy BG95-M3 in download mode (EDL 9008, Sahara HELLO waiting).
pub fn healthy_bg95() -> VirtualBoard {
    VirtualBoard::new(Profile::bg95(), BoardOptions::default())
}

/// An EG25-G in normal mode answering AT commands (`RDY` waiting).
pub fn normal_mode_eg25() -> VirtualBoard {
    let opts = BoardOptions {
        start_in: StartIn::Normal,
        ..BoardOptions::default()
    };
    VirtualBoard::new(Profile::eg25(), opts)
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

/// All demo scenarios.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "healthy-bg95",
            description: "A healthy Quectel BG95-M3 in download mode (05c6:9008), ready to flash.",
            build: healthy_bg95,
        },
        Scenario {
            name: "normal-eg25",
            description: "A Quectel EG25-G running its firmware, answering AT commands.",
            build: normal_mode_eg25,
        },
        Scenario {
            name: "failing-flash-bg95",
            description: "A BG95-M3 whose NAND fails while programming the third image.",
            build: failing_flash_bg95,
        },
    ]
}
