//! A scripted backend for tests, screenshots and machines without the engine: boards, packages
//! and flash jobs whose outcome is fixed in advance. With no delay it answers on the calling
//! thread (deterministic tests); with a delay it plays each job on a named worker thread.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use oasis_engine::Help;
use oasis_engine::event::{ChipIdentity, ErrorKind, ErrorReport, Event, Phase};

use super::fake_script::{Step, canned_at, canned_diagnosis, flash_script, summary_for};
use super::{
    Backend, BackendError, BackendMsg, BoardInfo, BoardMode, BoardState, BoardStateText,
    CompatCheck, CompatReport, FlashJob, JobId, Level, TimelineEntry, TimelineKind, Waker,
    no_waker,
};

/// How a scripted flash ends.
#[derive(Debug, Clone, PartialEq)]
pub enum FlashOutcome {
    /// Every phase passes; the board comes back running `revision`.
    Succeed {
        /// The revision it reports afterwards.
        revision: String,
    },
    /// The job fails in `phase`.
    Fail {
        /// Where.
        phase: Phase,
        /// Why, as a kind.
        kind: ErrorKind,
        /// The plain-language cause.
        message: String,
        /// What to do next.
        hint: String,
        /// The partition being written.
        partition: Option<String>,
    },
}

/// One scripted board.
#[derive(Debug, Clone)]
pub struct FakeBoard {
    /// What the board list shows.
    pub info: BoardInfo,
    /// How a flash on it ends.
    pub outcome: FlashOutcome,
    /// Its chip identity.
    pub identity: ChipIdentity,
}

impl FakeBoard {
    /// A board with the given id, title, mode and outcome; the rest is filled plausibly.
    pub fn new(id: &str, title: &str, mode: BoardMode, outcome: FlashOutcome) -> FakeBoard {
        let state = match mode {
            BoardMode::Normal => BoardState::NormalAtOk,
            BoardMode::Download => BoardState::EdlWaiting,
            BoardMode::Programmer => BoardState::EdlProgrammerRunning,
            BoardMode::MemoryDump => BoardState::MemoryDump,
            BoardMode::Absent => BoardState::NotOnUsb,
            BoardMode::Unknown => BoardState::NormalAtSilent,
        };
        let serial = format!("{:08x}", fnv(id));
        FakeBoard {
            info: BoardInfo {
                id: id.to_owned(),
                port_path: id.to_owned(),
                title: title.to_owned(),
                mode,
                state,
                detail: format!("{} on {id}", ids_for(mode)),
                is_virtual: true,
                revision: (mode == BoardMode::Normal).then(|| "BG95M3LAR02A03".to_owned()),
                imei: (mode == BoardMode::Normal)
                    .then(|| format!("86{:013}", u64::from(fnv(id)) % 10_000_000_000_000)),
                serial: (mode != BoardMode::Normal).then(|| serial.clone()),
            },
            outcome,
            identity: ChipIdentity {
                serial: Some(serial),
                hw_id: Some("001070e100000000".to_owned()),
                chip: Some("MDM9205".to_owned()),
                pk_hash: Some(
                    "d40eee56f3194665574109a39267724ae7944134cd53cb767e293d3c40497955bc8a4519ff992b031fadc6355015ac87"
                        .to_owned(),
                ),
                sahara_version: Some(2),
                sbl_version: None,
            },
        }
    }

    /// Override the diagnosed state (the badge and the diagnosis).
    pub fn with_state(mut self, state: BoardState) -> FakeBoard {
        self.info.state = state;
        self
    }
}

fn ids_for(mode: BoardMode) -> &'static str {
    match mode {
        BoardMode::Normal => "2C7C:0700",
        BoardMode::Download | BoardMode::Programmer => "05C6:9008",
        BoardMode::MemoryDump => "05C6:900E",
        BoardMode::Absent | BoardMode::Unknown => "----:----",
    }
}

/// A small stable hash so fake serials and IMEIs differ per board.
fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// What the scripted backend and its job threads share (the fake's own bookkeeping; the UI only
/// ever sees copies sent as messages).
#[derive(Debug)]
struct Shared {
    boards: Vec<BoardInfo>,
    timeline: Vec<TimelineEntry>,
    started: Instant,
}

type SharedList = Arc<Mutex<Shared>>;

/// The scripted backend.
pub struct FakeBackend {
    boards: Vec<FakeBoard>,
    list: SharedList,
    tx: Sender<BackendMsg>,
    rx: Receiver<BackendMsg>,
    waker: Waker,
    delay: Duration,
    cancels: HashMap<JobId, Arc<AtomicBool>>,
}

impl std::fmt::Debug for FakeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBackend")
            .field("boards", &self.boards.len())
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

impl FakeBackend {
    /// A backend with these boards; `delay` between job events (zero = answer synchronously).
    pub fn new(boards: Vec<FakeBoard>, delay: Duration) -> FakeBackend {
        let (tx, rx) = unbounded();
        let started = Instant::now();
        let timeline = boards
            .iter()
            .enumerate()
            .map(|(i, b)| TimelineEntry {
                at_ms: 400 * i as u64,
                port_path: b.info.port_path.clone(),
                what: b.info.detail.clone(),
                kind: TimelineKind::Arrived,
                mode: b.info.mode,
            })
            .collect();
        let list = Arc::new(Mutex::new(Shared {
            boards: boards.iter().map(|b| b.info.clone()).collect(),
            timeline,
            started,
        }));
        FakeBackend {
            boards,
            list,
            tx,
            rx,
            waker: no_waker(),
            delay,
            cancels: HashMap::new(),
        }
    }

    /// The three demo boards: a healthy BG95 in download mode, a module in normal mode that
    /// answers AT, and a board whose flash fails while writing.
    pub fn demo_boards() -> Vec<FakeBoard> {
        let ok = FlashOutcome::Succeed {
            revision: "BG95M3LAR02A03_01.202.01.202".into(),
        };
        vec![
            FakeBoard::new(
                "virtual:1",
                "Virtual BG95-M3 #1 (healthy)",
                BoardMode::Download,
                ok.clone(),
            ),
            FakeBoard::new(
                "virtual:2",
                "Virtual BG95-M3 #2 (with firmware)",
                BoardMode::Normal,
                ok,
            ),
            FakeBoard::new(
                "virtual:3",
                "Virtual BG95-M3 #3 (worn NAND)",
                BoardMode::Download,
                FlashOutcome::Fail {
                    phase: Phase::Program,
                    kind: ErrorKind::Nak,
                    message: "The board refused to write partition \"modem\": it ran out of good \
                              NAND blocks in that region."
                        .into(),
                    hint: "The module's flash is worn or damaged. Try once more; if it fails \
                           again at the same partition, replace the module."
                        .into(),
                    partition: Some("modem".into()),
                },
            ),
        ]
    }

    /// One board per diagnosis state (for the diagnostics gallery and its tests).
    pub fn gallery_boards() -> Vec<FakeBoard> {
        let ok = FlashOutcome::Succeed {
            revision: "BG95M3LAR02A03".into(),
        };
        BoardState::ALL
            .iter()
            .enumerate()
            .map(|(i, s)| {
                FakeBoard::new(
                    &format!("gallery:{i}"),
                    &format!("Board {}", i + 1),
                    BoardMode::Unknown,
                    ok.clone(),
                )
                .with_state(*s)
            })
            .collect()
    }

    /// The scripted board and its current listing.
    fn board(&self, id: &str) -> Result<(FakeBoard, BoardInfo), BackendError> {
        let info = lock(&self.list).boards.iter().find(|b| b.id == id).cloned();
        match (self.boards.iter().find(|b| b.info.id == id), info) {
            (Some(b), Some(info)) => Ok((b.clone(), info)),
            _ => Err(BackendError::NoSuchBoard {
                board: id.to_owned(),
            }),
        }
    }

    fn send(&self, msg: BackendMsg) {
        // The receiver lives as long as the backend; a send can only fail after shutdown.
        let _ = self.tx.send(msg);
        (self.waker)();
    }
}

fn lock(list: &SharedList) -> MutexGuard<'_, Shared> {
    list.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Apply one step of a script: a board change updates the shared list, records the board leaving
/// and coming back in its new mode, and sends the whole list and timeline.
fn step_msgs(list: &SharedList, step: &Step) -> Vec<BackendMsg> {
    match step {
        Step::Msg(m) => vec![m.clone()],
        Step::Board(info) => {
            let mut sh = lock(list);
            let at_ms = sh.started.elapsed().as_millis() as u64;
            let old = sh.boards.iter().position(|b| b.id == info.id);
            if let Some(i) = old {
                if sh.boards[i].mode != info.mode {
                    let left = TimelineEntry {
                        at_ms,
                        port_path: info.port_path.clone(),
                        what: sh.boards[i].detail.clone(),
                        kind: TimelineKind::Left,
                        mode: sh.boards[i].mode,
                    };
                    let back = TimelineEntry {
                        at_ms: at_ms + 300,
                        port_path: info.port_path.clone(),
                        what: info.detail.clone(),
                        kind: TimelineKind::Arrived,
                        mode: info.mode,
                    };
                    sh.timeline.extend([left, back]);
                }
                sh.boards[i] = info.clone();
            }
            vec![
                BackendMsg::Boards(sh.boards.clone()),
                BackendMsg::Timeline(sh.timeline.clone()),
            ]
        }
    }
}

impl Backend for FakeBackend {
    fn name(&self) -> String {
        "scripted boards (no engine)".to_owned()
    }

    fn receiver(&self) -> Receiver<BackendMsg> {
        self.rx.clone()
    }

    fn set_waker(&mut self, waker: Waker) {
        self.waker = waker;
    }

    fn refresh_boards(&mut self) {
        let (boards, timeline) = {
            let sh = lock(&self.list);
            (sh.boards.clone(), sh.timeline.clone())
        };
        self.send(BackendMsg::Boards(boards));
        self.send(BackendMsg::Timeline(timeline));
    }

    fn open_package(&mut self, path: &Path) {
        let result = if path.exists() {
            Ok(summary_for(path))
        } else {
            Err(BackendError::Package {
                path: path.to_owned(),
                reason: "no such file or folder".into(),
                help: "Pick the package folder (the one holding update/ or md5.txt) or its .zip."
                    .into(),
            })
        };
        self.send(BackendMsg::Package {
            path: path.to_owned(),
            result,
        });
    }

    fn check_compat(&mut self, package: &Path, board: &str) {
        let mut checks = vec![CompatCheck {
            name: "Chip".into(),
            level: Level::Ok,
            reason: "programmer is for MDM9205; the board reports MDM9205".into(),
        }];
        match self.board(board) {
            Ok((_, info)) if info.mode == BoardMode::Normal => checks.push(CompatCheck {
                name: "Mode".into(),
                level: Level::Warn,
                reason: "board is running; Oasis will switch it to download mode first".into(),
            }),
            Ok(_) => {}
            Err(e) => checks.push(CompatCheck {
                name: "Board".into(),
                level: Level::Bad,
                reason: e.to_string(),
            }),
        }
        self.send(BackendMsg::Compat {
            board: board.to_owned(),
            package: package.to_owned(),
            report: CompatReport { checks },
        });
    }

    fn start_flash(&mut self, job: FlashJob) {
        let (board, info) = match self.board(&job.board) {
            Ok(b) => b,
            Err(e) => {
                let event = Event::Failed(ErrorReport {
                    kind: ErrorKind::Port,
                    message: e.to_string(),
                    hint: e.help().map(String::from),
                    phase: None,
                    partition: None,
                    device_log: Vec::new(),
                });
                self.send(BackendMsg::Job {
                    job: job.job,
                    event,
                });
                return;
            }
        };
        let script = flash_script(&board, &info, &job);
        let cancel = Arc::new(AtomicBool::new(false));
        if self.delay.is_zero() {
            play(
                &script,
                &self.list,
                &self.tx,
                &self.waker,
                Duration::ZERO,
                &cancel,
                job.job,
            );
            return;
        }
        self.cancels.insert(job.job, Arc::clone(&cancel));
        let (list, tx, waker) = (
            Arc::clone(&self.list),
            self.tx.clone(),
            Arc::clone(&self.waker),
        );
        let (delay, id) = (self.delay, job.job);
        let spawned = std::thread::Builder::new()
            .name(format!("oasis-fake-flash-{id}"))
            .spawn(move || play(&script, &list, &tx, &waker, delay, &cancel, id));
        if let Err(e) = spawned {
            self.send(BackendMsg::Notice(format!(
                "could not start a worker thread: {e}"
            )));
        }
    }

    fn cancel(&mut self, job: JobId) {
        if let Some(flag) = self.cancels.get(&job) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    fn diagnose(&mut self, board: &str) {
        let result = self.board(board).map(|(_, info)| canned_diagnosis(&info));
        self.send(BackendMsg::Diagnosis {
            board: board.to_owned(),
            result,
        });
    }

    fn probe_at(&mut self, board: &str) {
        let result = self.board(board).map(|(_, info)| canned_at(&info));
        self.send(BackendMsg::AtProbe {
            board: board.to_owned(),
            result,
        });
    }

    fn read_identity(&mut self, board: &str) {
        let result = self.board(board).and_then(|(b, info)| match info.mode {
            BoardMode::Download => Ok(b.identity),
            mode => Err(BackendError::WrongMode {
                board: board.to_owned(),
                action: "read the chip identity of",
                mode,
            }),
        });
        self.send(BackendMsg::Identity {
            board: board.to_owned(),
            result,
        });
    }

    fn collect_dump(&mut self, job: super::DumpJob) {
        let report = ErrorReport {
            kind: ErrorKind::Refused,
            message: "the scripted boards have no RAM to dump".to_owned(),
            hint: Some("collect crash dumps with the engine backend (a real or virtual board in memory-dump mode)".to_owned()),
            phase: None,
            partition: None,
            device_log: Vec::new(),
        };
        self.send(BackendMsg::Job {
            job: job.job,
            event: Event::Failed(report),
        });
    }

    fn switch_to_download(&mut self, board: &str) {
        let result = match self.board(board) {
            Ok((_, mut info)) if info.mode == BoardMode::Normal => {
                info.mode = BoardMode::Download;
                info.state = BoardState::EdlWaiting;
                info.detail = format!("05C6:9008 on {}", info.port_path);
                for msg in step_msgs(&self.list, &Step::Board(info)) {
                    self.send(msg);
                }
                Ok("The board left USB and came back as 05C6:9008 (download mode).".to_owned())
            }
            Ok((_, info)) => Err(BackendError::WrongMode {
                board: board.to_owned(),
                action: "switch to download mode",
                mode: info.mode,
            }),
            Err(e) => Err(e),
        };
        self.send(BackendMsg::Switched {
            board: board.to_owned(),
            result,
        });
    }
}

/// Play a script (on the caller's thread when `delay` is zero), stopping early as
/// `Failed(Cancelled)` when asked.
fn play(
    script: &[Step],
    list: &SharedList,
    tx: &Sender<BackendMsg>,
    waker: &Waker,
    delay: Duration,
    cancel: &AtomicBool,
    job: JobId,
) {
    for step in script {
        if cancel.load(Ordering::Relaxed) {
            let event = Event::Failed(ErrorReport {
                kind: ErrorKind::Cancelled,
                message: "You cancelled the flash. The board is left in download mode.".into(),
                hint: Some("Start the flash again to finish it.".into()),
                phase: None,
                partition: None,
                device_log: Vec::new(),
            });
            let _ = tx.send(BackendMsg::Job { job, event });
            waker();
            return;
        }
        for msg in step_msgs(list, step) {
            if tx.send(msg).is_err() {
                return;
            }
        }
        waker();
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }
}
