//! Shared helpers of the reliability suite (fault matrix, load, soak): fixture packages on
//! virtual boards with injected faults and short timeouts, a watchdog against hangs, a "power
//! cycle" that keeps a board's storage, and process resource counts from /proc.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oasis_engine::{
    ErrorReport, Event, FlashOptions, FlashRequest, Timeouts, Verdict, spawn_flash,
};
use oasis_package::{OpenOptions, Package, StepOp};
use oasis_transport::LinkBus;
use oasis_vdev::{BoardOptions, FaultSpec, Profile, VirtualBoard};

use crate::common;

/// The longest any single job may take in this suite before it counts as a hang.
pub const WATCHDOG: Duration = Duration::from_secs(30);

/// Short timeouts (3 % of the defaults: 150 ms per command, 0.9 s per erase or digest) so
/// stalls end fast; the in-process board answers in microseconds.
pub fn short_timeouts() -> Timeouts {
    Timeouts::default().scaled(0.03)
}

/// A fixture package ready to flash and the virtual profile it was made for.
#[derive(Debug)]
pub struct Fixture {
    /// Keeps the temp copy alive.
    pub _tmp: tempfile::TempDir,
    /// Package root.
    pub root: PathBuf,
    /// Virtual profile name.
    pub profile: &'static str,
    /// Programmer override (packages that ship none).
    pub programmer: Option<PathBuf>,
}

impl Fixture {
    /// The real Quectel EG25-G NAND package (erase, program, digest) for the `eg25` board.
    pub fn nand() -> Self {
        let (_tmp, root) = common::package_copy("quectel-eg25g-nand-2022");
        Self {
            _tmp,
            root,
            profile: "eg25",
            programmer: None,
        }
    }

    /// The qdl UFS test package (program, GPT patches, two LUNs) for the `ufs` board.
    pub fn ufs() -> Self {
        let (_tmp, root) = common::package_copy("qdl-tests-ufs");
        Self {
            _tmp,
            root,
            profile: "ufs",
            programmer: Some(common::generic_programmer()),
        }
    }

    /// A request for this package on `virtual:<profile>` with short timeouts.
    pub fn request(&self) -> FlashRequest {
        let mut r = self.request_default_timeouts();
        r.options.timeouts = short_timeouts();
        r
    }

    /// A request for this package on `virtual:<profile>` with the default timeouts.
    pub fn request_default_timeouts(&self) -> FlashRequest {
        let mut o = FlashOptions::default();
        o.programmer.clone_from(&self.programmer);
        FlashRequest::new(&self.root, format!("virtual:{}", self.profile))
            .on_bus(oasis_vdev::bus::demand())
            .with_options(o)
    }

    /// A fresh board of the fixture's profile with these faults (spec strings).
    pub fn board(&self, faults: &[&str]) -> VirtualBoard {
        let faults = FaultSpec::parse_all(faults).unwrap();
        VirtualBoard::new(
            Profile::by_name(self.profile).unwrap(),
            BoardOptions::with_faults(faults),
        )
    }

    /// Open options matching the request (for storage checks).
    pub fn open_options(&self) -> OpenOptions {
        let mut o = OpenOptions::default();
        o.programmer.clone_from(&self.programmer);
        o
    }

    /// Label and padded byte count of the first program step the engine runs.
    pub fn first_program(&self) -> (String, u64) {
        let pkg = Package::open(&self.root, &self.open_options()).unwrap();
        let step = pkg.plan.iter().find(|s| s.op == StepOp::Program).unwrap();
        let ss = u64::from(step.sector_size);
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut pkg.open_reader(step).unwrap(), &mut data).unwrap();
        let bytes = (data.len() as u64).div_ceil(ss) * ss;
        (step.label.clone(), bytes)
    }
}

/// Outcome of one job: result, every event, wall time.
#[derive(Debug)]
pub struct Run {
    /// The job's result.
    pub out: Result<Verdict, ErrorReport>,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Wall time until the terminal event.
    pub elapsed: Duration,
}

impl Run {
    /// The failure report (panics on success, naming the run).
    pub fn failure(&self, what: &str) -> &ErrorReport {
        match &self.out {
            Err(r) => r,
            Ok(v) => panic!("{what}: expected a failure, got {v:?}"),
        }
    }
}

/// Flash `req` onto `board`; fails the test if no terminal event arrives within [`WATCHDOG`].
pub fn flash(req: FlashRequest, board: &VirtualBoard) -> Run {
    let (tx, rx) = crossbeam_channel::unbounded();
    let start = Instant::now();
    let bus = LinkBus::before(req.port.clone(), Box::new(board.connect()), req.bus.clone());
    let h = spawn_flash(
        req.on_bus(bus),
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    );
    let mut events = Vec::new();
    loop {
        match rx.recv_timeout(WATCHDOG.saturating_sub(start.elapsed())) {
            Ok(e) => {
                let last = e.is_terminal();
                events.push(e);
                if last {
                    break;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                h.cancel();
                panic!("job hung: no terminal event within {WATCHDOG:?}; events: {events:#?}");
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
    let elapsed = start.elapsed();
    let out = h.join();
    events.extend(rx.try_iter());
    Run {
        out,
        events,
        elapsed,
    }
}

/// What a power cycle leaves: a new board of the same profile, no faults, back in EDL, holding
/// exactly what the old board's storage held (a user unplugs and replugs with the boot pin).
pub fn power_cycle(board: &VirtualBoard) -> VirtualBoard {
    let fresh = VirtualBoard::new(board.profile(), BoardOptions::default());
    for r in board.written_ranges() {
        let data = board.read_storage(r.lun, r.start_sector, r.sectors);
        fresh.write_storage(r.lun, r.start_sector, &data).unwrap();
    }
    fresh
}

/// Flash the fixture again on a power-cycled copy of `board`: must succeed and leave the
/// package on the board byte for byte.
pub fn reflash_succeeds(fx: &Fixture, board: &VirtualBoard, what: &str) {
    let again = power_cycle(board);
    let run = flash(fx.request_default_timeouts(), &again);
    match &run.out {
        Ok(v) => assert!(!v.verified.is_empty(), "{what}: re-flash verified nothing"),
        Err(r) => panic!("{what}: the board is not re-flashable: {r:?}"),
    }
    common::check_event_order(&run.events);
    let compared = common::check_storage(&again, &fx.root, &fx.open_options());
    assert!(compared > 0, "{what}: nothing compared after the re-flash");
}

/// Entries of a /proc/self directory (`fd`, `task`).
pub fn count_proc(dir: &str) -> usize {
    std::fs::read_dir(Path::new("/proc/self").join(dir))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A field of /proc/self/status in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
