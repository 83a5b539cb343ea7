//! The `backup` and `restore` jobs. A backup reads the board-unique regions into a folder and
//! leaves the board in download mode (programmer running). A restore writes a backup's regions
//! back — NAND: erase, then program — verifies them, and refuses a backup that another board
//! (chip serial) made, before anything is written.

use std::path::{Path, PathBuf};

use oasis_package::data::{Piece, ProgramData};
use oasis_package::programmer::ProgrammerIdentity;
use oasis_package::{OpenOptions, Package, PartitionTable};
use oasis_proto::firehose::PowerAction;
use oasis_transport::Transport;

use crate::backup::{self, BackupContext, Manifest};
use crate::connect::{MAX_PROGRAMMER, ProgrammerImage};
use crate::error::EngineError;
use crate::event::{Phase, PhasePlan, Verdict};
use crate::execute::execute;
use crate::options::Timeouts;
use crate::pkgmap;
use crate::plan::{JobPlan, PhaseChoice, Step, StepOp};
use crate::port;
use crate::progress::Emitter;
use crate::regions;
use crate::resume::Resume;
use crate::session::{self, BoardReader, Session};
use crate::steps;

/// A backup job: which board, which package (programmer + partition table), where to.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BackupRequest {
    /// The board's port (any form `flash` takes).
    pub port: String,
    /// The backup folder itself (created; must be new or empty).
    pub out: PathBuf,
    /// Package made for the module: its programmer and partition table.
    pub package: Option<PathBuf>,
    /// Programmer to use instead of the package's (required without a package).
    pub programmer: Option<PathBuf>,
    /// Storage type without a package (`emmc`, `ufs`; NAND needs the package's table).
    pub memory: Option<String>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Where the port is found and opened (this computer unless the caller says otherwise).
    pub bus: oasis_transport::BusHandle,
}

impl BackupRequest {
    /// A backup of the board on `port` into `out`.
    pub fn new(port: impl Into<String>, out: impl Into<PathBuf>) -> Self {
        Self {
            port: port.into(),
            out: out.into(),
            ..Self::default()
        }
    }
}

/// A restore job: a backup folder onto the board it came from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RestoreRequest {
    /// The board's port.
    pub port: String,
    /// The backup folder (holding `manifest.json`).
    pub backup: PathBuf,
    /// Programmer to use instead of the copy in the backup.
    pub programmer: Option<PathBuf>,
    /// Leave the board in download mode at the end.
    pub no_reset: bool,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Where the port is found and opened (this computer unless the caller says otherwise).
    pub bus: oasis_transport::BusHandle,
}

impl RestoreRequest {
    /// Restore `backup` onto the board on `port`.
    pub fn new(port: impl Into<String>, backup: impl Into<PathBuf>) -> Self {
        Self {
            port: port.into(),
            backup: backup.into(),
            ..Self::default()
        }
    }
}

fn read_programmer(path: &Path) -> Result<ProgrammerImage, EngineError> {
    let name = path.display().to_string();
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_PROGRAMMER {
        return Err(EngineError::BadInput {
            what: format!("{name} is {len} bytes: too large to be a programmer"),
            help: Some("name the programmer file with --programmer".to_owned()),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| EngineError::BadInput {
        what: format!("cannot read the programmer {name}: {e}"),
        help: Some("name a readable programmer file with --programmer".to_owned()),
    })?;
    Ok(ProgrammerImage {
        name,
        identity: ProgrammerIdentity::from_bytes(&bytes).ok(),
        bytes,
    })
}

/// What a backup job works from.
struct Source {
    programmer: ProgrammerImage,
    table: Option<PartitionTable>,
    memory: String,
    sector_size: u32,
    pages_per_block: Option<u32>,
    package: Option<String>,
    _package: Option<Package>,
}

fn backup_source(req: &BackupRequest) -> Result<Source, EngineError> {
    let mut notes = Vec::new();
    let Some(path) = &req.package else {
        let Some(prog) = &req.programmer else {
            return Err(EngineError::BadInput {
                what: "a backup needs the package made for the module (its programmer and partition table)".to_owned(),
                help: Some("name it with --package PACKAGE (or give --programmer FILE on eMMC/UFS boards)".to_owned()),
            });
        };
        let memory = req.memory.clone().unwrap_or_else(|| "emmc".to_owned());
        let sector_size = if memory.eq_ignore_ascii_case("ufs") {
            4096
        } else {
            512
        };
        return Ok(Source {
            programmer: read_programmer(prog)?,
            table: None,
            memory,
            sector_size,
            pages_per_block: None,
            package: None,
            _package: None,
        });
    };
    let mut open = OpenOptions::default();
    open.programmer.clone_from(&req.programmer);
    let pkg = Package::open(path, &open)?;
    let programmer = pkgmap::load_programmer(&pkg, &mut notes)?;
    let sector_size = pkg
        .sector_size
        .or_else(|| pkg.plan.first().map(|s| s.sector_size))
        .unwrap_or(512);
    Ok(Source {
        programmer,
        table: pkg.partitions.clone(),
        memory: pkgmap::memory_name(&pkg, sector_size, &mut notes),
        sector_size,
        pages_per_block: pkg.pages_per_block,
        package: Some(pkg.root.display().to_string()),
        _package: Some(pkg),
    })
}

fn phases(extra: &[(Phase, u64)], programmer: u64) -> Vec<PhasePlan> {
    let mut list = vec![
        (Phase::Connect, 0),
        (Phase::Identify, 0),
        (Phase::Upload, programmer),
        (Phase::Configure, 0),
    ];
    list.extend_from_slice(extra);
    list.into_iter()
        .map(|(phase, bytes)| PhasePlan {
            phase,
            weight: phase.weight(),
            bytes,
        })
        .collect()
}

/// Run a backup job, opening the port.
pub(crate) fn backup_job(req: &BackupRequest, em: &mut Emitter) -> Result<Verdict, EngineError> {
    let src = backup_source(req)?;
    em.plan_ready(
        phases(&[(Phase::Backup, 0)], src.programmer.bytes.len() as u64),
        0,
        0,
    );
    em.start_phase(Phase::Connect, 0);
    let fallback = port::default_profile(&src.memory, src.sector_size);
    let opened = port::open(&req.bus, &req.port, fallback, &req.timeouts, em)?;
    let _claim = opened.claim;
    // A module switched from normal mode told its IMEI on the way.
    let imei = opened.before.and_then(|p| p.imei);
    backup_on(req, &src, opened.link, imei, em)
}

fn backup_on(
    req: &BackupRequest,
    src: &Source,
    link: Box<dyn Transport>,
    imei: Option<String>,
    em: &mut Emitter,
) -> Result<Verdict, EngineError> {
    let t = &req.timeouts;
    em.info(format!("connected to {}", link.describe()));
    let mut s = session::start(
        link,
        &src.programmer,
        &src.memory,
        src.sector_size,
        src.pages_per_block,
        true,
        t,
        em,
    )?;
    let ctx = BackupContext {
        table: src.table.as_ref(),
        memory: &src.memory,
        sector_size: src.sector_size,
        pages_per_block: src.pages_per_block,
        programmer: &src.programmer,
        package: src.package.clone(),
        imei,
    };
    let m = backup::take(&mut s, &ctx, &req.out, t, em)?;
    Ok(Verdict {
        summary: format!(
            "backed up {} ({} bytes) to {}; the board stays in download mode",
            backup::names(&m),
            m.total_bytes(),
            req.out.display()
        ),
        // Nothing was written, so nothing was verified on the board; the regions are named
        // in the summary and the manifest.
        verified: Vec::new(),
        skipped: Vec::new(),
        bytes: 0,
        seconds: em.elapsed(),
        confirmed: false,
        running_revision: None,
    })
}

/// The plan that writes a backup back: NAND erases its regions first.
pub(crate) fn restore_plan(m: &Manifest, dir: &Path) -> JobPlan {
    let nand = m.memory.eq_ignore_ascii_case("nand");
    let extra: Vec<(String, String)> = match (nand, m.pages_per_block) {
        (true, Some(ppb)) => vec![("PAGES_PER_BLOCK".to_owned(), ppb.to_string())],
        _ => Vec::new(),
    };
    let step = |op: StepOp, r: &backup::BackedUp| Step {
        op,
        label: r.region.name.clone(),
        sector_size: r.region.sector_size,
        physical_partition: r.region.physical_partition,
        start_sector: Some(r.region.start_sector.to_string()),
        sectors: Some(r.region.sectors),
        extra: extra.clone(),
        destructive: None,
        critical: false,
    };
    let mut steps = Vec::new();
    if nand {
        steps.extend(m.regions.iter().map(|r| step(StepOp::Erase, r)));
    }
    steps.extend(m.regions.iter().map(|r| {
        let data = ProgramData {
            pieces: vec![Piece::File {
                path: dir.join(&r.file),
                offset: 0,
                len: r.bytes,
            }],
            total_bytes: r.bytes,
        };
        step(StepOp::Program(data), r)
    }));
    JobPlan {
        steps,
        memory: m.memory.clone(),
        sector_size: m.sector_size,
    }
}

fn restore_source(
    req: &RestoreRequest,
) -> Result<(Manifest, JobPlan, ProgrammerImage), EngineError> {
    let m = Manifest::load(&req.backup)?;
    backup::check_files(&m, &req.backup)?;
    let prog = match (&req.programmer, &m.programmer) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => req.backup.join(&c.file),
        (None, None) => {
            return Err(EngineError::BadInput {
                what: format!("the backup {} holds no programmer", req.backup.display()),
                help: Some("name the module's Firehose programmer with --programmer".to_owned()),
            });
        }
    };
    let plan = restore_plan(&m, &req.backup);
    Ok((m, plan, read_programmer(&prog)?))
}

/// Refuse a backup another board made, or one that cannot be matched to this board.
pub(crate) fn check_board(m: &Manifest, s: &Session) -> Result<(), EngineError> {
    let here = s.identity.as_ref().and_then(|i| i.serial.as_deref());
    let refuse = |reason: String, help: &str| EngineError::Refused {
        reason,
        help: help.to_owned(),
    };
    match (m.board.serial.as_deref(), here) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => Ok(()),
        (Some(a), Some(b)) => Err(refuse(
            format!("this backup was taken from the board with chip serial {a}; this board is {b}. Calibration data belongs to one board only"),
            "restore the backup made from this board (its folder's manifest.json names the serial); nothing was written",
        )),
        (None, _) => Err(refuse(
            "the backup does not name the chip serial of the board it came from, so it cannot be matched to this board".to_owned(),
            "use a backup that names its board; nothing was written",
        )),
        (Some(a), None) => Err(refuse(
            format!("this board's chip serial could not be read (a programmer was already running), so it cannot be matched to the backup's board {a}"),
            "power-cycle the board into download mode (so the boot ROM tells its serial) and run restore again; nothing was written",
        )),
    }
}

/// Refuse to write a region where the board's own table (MIBIB or GPT) now puts something
/// else: a flash since the backup may have moved the calibration partitions.
pub(crate) fn check_layout(
    m: &Manifest,
    s: &mut Session,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<(), EngineError> {
    let mut reader = BoardReader {
        fh: &mut s.fh,
        em,
        t,
    };
    let on_board = if m.memory.eq_ignore_ascii_case("nand") {
        match m.mibib_start {
            Some(start) => {
                let ppb = m.pages_per_block.unwrap_or(64);
                regions::board_mibib(start, m.sector_size, ppb, &mut reader)?.unwrap_or_default()
            }
            None => Vec::new(),
        }
    } else {
        let mut luns: Vec<u32> = m
            .regions
            .iter()
            .map(|r| r.region.physical_partition)
            .collect();
        luns.sort_unstable();
        luns.dedup();
        regions::board_gpt(&luns, m.sector_size, &mut reader)
    };
    if on_board.is_empty() {
        em.info("the board's partition table names no calibration region (unreadable or erased): the backup's locations are used as recorded");
        return Ok(());
    }
    for r in &m.regions {
        let now = on_board
            .iter()
            .find(|b| b.name.eq_ignore_ascii_case(&r.region.name));
        if let Some(b) = now
            && (b.physical_partition, b.start_sector, b.sectors)
                != (
                    r.region.physical_partition,
                    r.region.start_sector,
                    r.region.sectors,
                )
        {
            return Err(EngineError::Refused {
                reason: format!(
                    "the board's partition table now puts '{}' at sector {} ({} sectors, physical partition {}), the backup has it at sector {} ({} sectors, physical partition {})",
                    r.region.name,
                    b.start_sector,
                    b.sectors,
                    b.physical_partition,
                    r.region.start_sector,
                    r.region.sectors,
                    r.region.physical_partition
                ),
                help: "the layout changed since the backup (another package was flashed): restoring would overwrite other data; nothing was written".to_owned(),
            });
        }
    }
    em.info("the backup's regions match the board's partition table");
    Ok(())
}

fn restore_choice(req: &RestoreRequest, plan: &JobPlan, programmer: u64) -> Vec<PhasePlan> {
    let c = PhaseChoice {
        identify: true,
        backup: false,
        verify: true,
        reset: !req.no_reset,
        confirm: false,
    };
    plan.phases(c, programmer)
}

/// Run a restore job, opening the port.
pub(crate) fn restore_job(req: &RestoreRequest, em: &mut Emitter) -> Result<Verdict, EngineError> {
    let (m, plan, prog) = restore_source(req)?;
    em.plan_ready(
        restore_choice(req, &plan, prog.bytes.len() as u64),
        plan.step_count(!req.no_reset),
        plan.total_bytes(),
    );
    em.start_phase(Phase::Connect, 0);
    let fallback = port::default_profile(&m.memory, m.sector_size);
    let opened = port::open(&req.bus, &req.port, fallback, &req.timeouts, em)?;
    let _claim = opened.claim;
    restore_on(req, &m, &plan, &prog, opened.link, em)
}

fn restore_on(
    req: &RestoreRequest,
    m: &Manifest,
    plan: &JobPlan,
    prog: &ProgrammerImage,
    link: Box<dyn Transport>,
    em: &mut Emitter,
) -> Result<Verdict, EngineError> {
    let t = &req.timeouts;
    em.info(format!("connected to {}", link.describe()));
    em.info(format!(
        "restoring {} taken {} from board {}",
        backup::names(m),
        m.created,
        m.board.serial.as_deref().unwrap_or("(unknown)")
    ));
    let mut s = session::start(
        link,
        prog,
        &m.memory,
        m.sector_size,
        m.pages_per_block,
        true,
        t,
        em,
    )?;
    check_board(m, &s)?;
    check_layout(m, &mut s, t, em)?;
    let verified = execute(&mut s.fh, plan, true, &Resume::default(), t, em)?;
    if !req.no_reset {
        em.start_phase(Phase::Reset, 0);
        steps::reset(&mut s.fh, em, PowerAction::Reset, t)?;
    }
    let stays = if req.no_reset {
        "; the board stays in download mode"
    } else {
        ""
    };
    Ok(Verdict {
        summary: format!("restored and verified {}{stays}", backup::names(m)),
        verified,
        skipped: Vec::new(),
        bytes: em.bytes_written(),
        seconds: em.elapsed(),
        confirmed: false,
        running_revision: None,
    })
}
