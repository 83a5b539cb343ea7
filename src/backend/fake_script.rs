//! Canned answers of the scripted backend: the event sequence of a flash (in the engine's
//! documented order), diagnoses for each board state, AT answers and a package summary.

use std::path::Path;

use oasis_engine::event::{ErrorReport, Event, Phase, PhasePlan, Verdict, overall_fraction};

use super::fake::{FakeBoard, FlashOutcome};
use super::{
    AtPortResult, BackendMsg, BoardInfo, BoardMode, BoardState, BoardStateText, DiagnosisView,
    FlashJob, Md5Status, PackageSummary, UsbInterfaceView, UsbNode,
};

/// Partitions of the scripted plan, with sizes in bytes (sbl1 last, as Quectel orders NAND).
const PARTS: [(&str, u64); 6] = [
    ("tz", 256 << 10),
    ("rpm", 128 << 10),
    ("aboot", 256 << 10),
    ("modem", 2 << 20),
    ("system", 1 << 20),
    ("sbl", 256 << 10),
];

/// The package summary the scripted backend shows for any existing path.
pub fn summary_for(path: &Path) -> PackageSummary {
    PackageSummary {
        path: path.to_owned(),
        model: "BG95-M3".into(),
        version: "BG95M3LAR02A03_01.202.01.202".into(),
        storage: "nand (2 KiB pages, 64 per block)".into(),
        programmer: "prog_firehose_nand_mdm9x05.elf".into(),
        programmer_chip: "MDM9205 (HW ID 001070e1, any OEM)".into(),
        signing: "unsigned".into(),
        size_bytes: PARTS.iter().map(|p| p.1).sum(),
        md5: Md5Status::Verified {
            checked: 9,
            missing: 0,
        },
        warnings: vec!["The plan erases the whole flash, including NV/EFS calibration.".into()],
        erases: vec!["whole flash (erase whole disk, from sector 0)".into()],
        destructive: vec!["whole flash (erase whole disk, from sector 0)".into()],
        programs: PARTS.len(),
    }
}

fn plan(job: &FlashJob) -> Vec<PhasePlan> {
    let total: u64 = PARTS.iter().map(|p| p.1).sum();
    let mut phases = vec![
        Phase::Connect,
        Phase::Identify,
        Phase::Upload,
        Phase::Configure,
        Phase::Erase,
        Phase::Program,
        Phase::Patch,
        Phase::Verify,
        Phase::Reset,
    ];
    if job.options.confirm_after_reset {
        phases.push(Phase::Confirm);
    }
    phases
        .into_iter()
        .map(|phase| PhasePlan {
            phase,
            weight: phase.weight(),
            bytes: if phase == Phase::Program { total } else { 0 },
        })
        .collect()
}

/// Accumulates the messages of one scripted flash.
struct Script<'a> {
    job: &'a FlashJob,
    board: &'a FakeBoard,
    info: &'a BoardInfo,
    plan: Vec<PhasePlan>,
    finished: Vec<Phase>,
    out: Vec<Step>,
    critical: bool,
}

/// One step of a scripted flash.
#[derive(Debug, Clone)]
pub enum Step {
    /// Send this message.
    Msg(BackendMsg),
    /// The board's listing changes to this (the full list is sent).
    Board(BoardInfo),
}

impl Script<'_> {
    fn ev(&mut self, event: Event) {
        self.out.push(Step::Msg(BackendMsg::Job {
            job: self.job.job,
            event,
        }));
    }

    fn progress(&mut self, phase: Phase, partition: Option<&str>, done: u64, total: u64) {
        let frac = if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        };
        let overall = overall_fraction(&self.plan, &self.finished, Some((phase, frac)));
        self.ev(Event::Progress {
            phase,
            partition: partition.map(str::to_owned),
            done,
            total,
            rate: 1_800_000.0,
            overall,
            eta_seconds: Some((1.0 - overall) * 12.0),
            critical: self.critical,
        });
    }

    fn board_as(&mut self, mode: BoardMode, revision: Option<String>) {
        let mut info = self.info.clone();
        info.mode = mode;
        info.state = match mode {
            BoardMode::Normal => BoardState::NormalAtOk,
            _ => BoardState::EdlWaiting,
        };
        let ids = if mode == BoardMode::Normal {
            "2C7C:0700"
        } else {
            "05C6:9008"
        };
        info.detail = format!("{ids} on {}", info.port_path);
        if revision.is_some() {
            info.revision = revision;
        }
        self.out.push(Step::Board(info));
    }

    /// Run one phase; returns false when the scripted failure happened in it.
    fn phase(&mut self, phase: Phase) -> bool {
        self.ev(Event::PhaseStarted { phase });
        match phase {
            Phase::Connect if self.info.mode == BoardMode::Normal => {
                self.ev(Event::Info {
                    message: "switching the board to download mode (DIAG 4B 65 01 00)".into(),
                });
                self.board_as(BoardMode::Download, None);
            }
            Phase::Identify => self.ev(Event::ChipIdentity(self.board.identity.clone())),
            Phase::Configure => {
                self.ev(Event::DeviceLog {
                    line: "INFO: Binary build date: Jun 10 2021 @ 11:12:20".into(),
                });
                self.ev(Event::Info {
                    message: "programmer accepts 8192-byte payloads to the target".into(),
                });
            }
            Phase::Erase => self.critical = true,
            _ => {}
        }
        if let FlashOutcome::Fail {
            phase: p,
            kind,
            message,
            hint,
            partition,
        } = &self.board.outcome
            && *p == phase
        {
            self.progress(phase, partition.as_deref(), 1 << 19, 2 << 20);
            self.ev(Event::DeviceLog {
                line: "ERROR: Failed to write page 0x2c40, no good block left".into(),
            });
            self.ev(Event::Failed(ErrorReport {
                kind: *kind,
                message: message.clone(),
                hint: Some(hint.clone()),
                phase: Some(phase),
                partition: partition.clone(),
                device_log: vec!["ERROR: Failed to write page 0x2c40, no good block left".into()],
            }));
            return false;
        }
        if phase == Phase::Program {
            let total: u64 = PARTS.iter().map(|p| p.1).sum();
            let mut done = 0;
            for (name, size) in PARTS {
                self.progress(phase, Some(name), done + size / 2, total);
                done += size;
                if name == "sbl" {
                    self.critical = false;
                }
                self.progress(phase, Some(name), done, total);
            }
        } else {
            self.progress(phase, None, 1, 1);
        }
        if phase == Phase::Reset {
            let revision = match &self.board.outcome {
                FlashOutcome::Succeed { revision } => Some(revision.clone()),
                FlashOutcome::Fail { .. } => None,
            };
            self.board_as(BoardMode::Normal, revision);
        }
        self.ev(Event::PhaseFinished { phase });
        self.finished.push(phase);
        true
    }
}

/// The whole step sequence of a scripted flash of `board`, listed now as `info`.
pub fn flash_script(board: &FakeBoard, info: &BoardInfo, job: &FlashJob) -> Vec<Step> {
    let plan = plan(job);
    let total_bytes = PARTS.iter().map(|p| p.1).sum();
    let mut s = Script {
        job,
        board,
        info,
        plan: plan.clone(),
        finished: Vec::new(),
        out: Vec::new(),
        critical: false,
    };
    s.ev(Event::PlanReady {
        phases: plan.clone(),
        steps: PARTS.len() * 2 + 2,
        total_bytes,
    });
    for p in &plan {
        if !s.phase(p.phase) {
            return s.out;
        }
    }
    let revision = match &board.outcome {
        FlashOutcome::Succeed { revision } => Some(revision.clone()),
        FlashOutcome::Fail { .. } => None,
    };
    let confirmed = job.options.confirm_after_reset && revision.is_some();
    s.ev(Event::Finished(Verdict {
        summary: if confirmed {
            "Flashed, verified, and the board is running the new firmware.".into()
        } else {
            "Flashed and verified; not yet confirmed running.".into()
        },
        verified: PARTS.iter().map(|p| p.0.to_owned()).collect(),
        skipped: Vec::new(),
        bytes: total_bytes,
        seconds: 12.4,
        confirmed,
        running_revision: if confirmed { revision } else { None },
    }));
    s.out
}

fn usb_for(info: &BoardInfo) -> Vec<UsbNode> {
    let iface = |number, class: &str, role: &str, tty: Option<&str>| UsbInterfaceView {
        number,
        class: class.into(),
        role: role.into(),
        driver: Some(if tty.is_some() { "option" } else { "qmi_wwan" }.into()),
        tty: tty.map(str::to_owned),
    };
    match info.mode {
        BoardMode::Normal => vec![UsbNode {
            port_path: info.port_path.clone(),
            ids: "2C7C:0700".into(),
            name: "Quectel BG95-M3".into(),
            interfaces: vec![
                iface(0, "ff/ff/30", "DIAG", Some("/dev/ttyUSB0")),
                iface(1, "ff/00/00", "GNSS/NMEA", Some("/dev/ttyUSB1")),
                iface(2, "ff/00/00", "AT", Some("/dev/ttyUSB2")),
                iface(3, "ff/00/00", "Modem", Some("/dev/ttyUSB3")),
            ],
        }],
        BoardMode::Download | BoardMode::Programmer | BoardMode::MemoryDump => vec![UsbNode {
            port_path: info.port_path.clone(),
            ids: if info.mode == BoardMode::MemoryDump {
                "05C6:900E"
            } else {
                "05C6:9008"
            }
            .into(),
            name: "QUSB__BULK".into(),
            interfaces: vec![UsbInterfaceView {
                number: 0,
                class: "ff/ff/ff".into(),
                role: "EDL (Sahara/Firehose)".into(),
                driver: None,
                tty: None,
            }],
        }],
        BoardMode::Absent | BoardMode::Unknown => Vec::new(),
    }
}

/// A diagnosis for a scripted board, by its state.
pub fn canned_diagnosis(info: &BoardInfo) -> DiagnosisView {
    let (summary, evidence, steps): (&str, &[&str], &[&str]) = match info.state {
        BoardState::NormalAtOk => (
            "The module runs its firmware and answers on the AT port.",
            &[
                "2C7C:0700 with 4 interfaces",
                "AT port answered ATI with OK",
            ],
            &["Flash it: Oasis switches it to download mode by itself."],
        ),
        BoardState::NormalAtSilent => (
            "The module is on USB in normal mode, but no port answers AT.",
            &[
                "2C7C:0700 present",
                "no answer to AT on /dev/ttyUSB2 within 1 s",
            ],
            &[
                "Close other programs using the port (ModemManager, minicom).",
                "Power-cycle the module.",
            ],
        ),
        BoardState::EdlWaiting => (
            "Emergency download mode: the boot ROM waits for a programmer.",
            &["05C6:9008, one interface ff/ff/ff", "Sahara HELLO received"],
            &["Flash a package now."],
        ),
        BoardState::EdlProgrammerRunning => (
            "A Firehose programmer is already running on the board.",
            &[
                "05C6:9008",
                "first read returned <?xml …> instead of a Sahara HELLO",
            ],
            &[
                "Flash again: Oasis talks to the running programmer.",
                "Or power-cycle to restart from the boot ROM.",
            ],
        ),
        BoardState::MemoryDump => (
            "The module crashed and waits for a memory dump to be collected.",
            &["05C6:900E", "Sahara HELLO with mode 2 (memory debug)"],
            &[
                "Power-cycle the module.",
                "If it crashes again, reflash the firmware.",
            ],
        ),
        BoardState::ClaimedByDriver => (
            "Another driver or program holds the device.",
            &[
                "05C6:9008 bound to qcserial",
                "claiming interface 0 failed: busy",
            ],
            &[
                "Close QPST/QFirehose or ModemManager.",
                "Linux: unbind qcserial (see Help).",
            ],
        ),
        BoardState::NoPermission => (
            "The operating system does not let Oasis open the device.",
            &["05C6:9008 present", "open failed: permission denied"],
            &[
                "Linux: install the Oasis udev rule and replug.",
                "Windows: install the WinUSB driver.",
            ],
        ),
        BoardState::NotOnUsb => (
            "Nothing of this board is on USB.",
            &["no 2C7C or 05C6 device", "no serial port with Quectel ids"],
            &[
                "Check power and the USB cable (data, not charge-only).",
                "Try another port.",
            ],
        ),
        BoardState::Flapping => (
            "The board keeps appearing and disappearing.",
            &["5 arrivals and 5 departures in 20 s on the same port"],
            &[
                "Use a powered hub or a shorter cable.",
                "Check the module's supply voltage.",
            ],
        ),
        BoardState::NotFirehoseModule => (
            "This Quectel module is not built on a Qualcomm chip; Oasis cannot flash it.",
            &["2C7C:6001 (EC200S family, ASR chip)"],
            &["Use Quectel's own tool for this chip family."],
        ),
    };
    DiagnosisView {
        state: info.state,
        title: info.state.title().to_owned(),
        summary: summary.to_owned(),
        evidence: evidence.iter().map(|s| (*s).to_owned()).collect(),
        next_steps: steps.iter().map(|s| (*s).to_owned()).collect(),
        usb: usb_for(info),
    }
}

/// AT answers of a scripted board (only normal-mode boards have ports).
pub fn canned_at(info: &BoardInfo) -> Vec<AtPortResult> {
    if info.mode != BoardMode::Normal {
        return Vec::new();
    }
    let silent = info.state == BoardState::NormalAtSilent;
    let answer = |s: &str| {
        if silent {
            "(no answer)".to_owned()
        } else {
            s.to_owned()
        }
    };
    let rev = info
        .revision
        .clone()
        .unwrap_or_else(|| "BG95M3LAR02A03".into());
    vec![
        AtPortResult {
            port: "/dev/ttyUSB2".into(),
            role: "AT".into(),
            answers: vec![
                (
                    "ATI".into(),
                    answer(&format!("Quectel BG95-M3 Revision: {rev}")),
                ),
                ("AT+QGMR".into(), answer(&format!("{rev}_01.202.01.202"))),
                (
                    "AT+CGSN".into(),
                    answer(info.imei.as_deref().unwrap_or("(none)")),
                ),
            ],
            answered: !silent,
        },
        AtPortResult {
            port: "/dev/ttyUSB3".into(),
            role: "Modem".into(),
            answers: vec![("AT".into(), answer("OK"))],
            answered: !silent,
        },
    ]
}
