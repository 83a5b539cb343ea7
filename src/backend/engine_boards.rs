//! The boards the engine backend lists: Oasis's virtual boards (oasis-vdev, paced like a real
//! USB 2 link) and the real USB devices from the enumeration poller, turned into the UI's
//! `BoardInfo`, `DiagnosisView`, `AtPortResult` and timeline entries; and the evidence a
//! virtual board gives the engine's diagnosis (the USB device it would show, its AT probe),
//! one session at a time on its ports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use oasis_engine::diag::at::{AtProbe, ProbeConfig, probe};
use oasis_engine::diag::timeline::TimelineEvent;
use oasis_engine::diag::usb_table::{UsbMode, device_roles, identify_device};
use oasis_engine::diag::{Diagnosis, Evidence};
use oasis_transport::enumerate::{Accessibility, Snapshot, UsbDeviceInfo, UsbInterfaceInfo};
use oasis_transport::{TransportError, TransportErrorKind};
use oasis_vdev::fault::{FaultKind, FaultSpec};
use oasis_vdev::{
    BoardOptions, BoardState as VState, HostAccess, LinkModel, Profile, StartIn, VirtualBoard,
};

use super::engine_watch::timeline_path;
use super::{
    AtPortResult, BackendError, BoardInfo, BoardMode, BoardState, DiagnosisView, UsbInterfaceView,
    UsbNode,
};

/// One of Oasis's virtual boards.
#[derive(Debug, Clone)]
pub struct Virtual {
    /// Id and port path (`virtual:1`).
    pub id: String,
    /// List title.
    pub title: String,
    /// The board (a handle; clones share it).
    pub board: VirtualBoard,
    /// Who may talk to the board's ports now (clones share it).
    pub port: PortGuard,
}

impl Virtual {
    /// A virtual board listed as `id` with this title.
    pub fn new(id: impl Into<String>, title: impl Into<String>, board: VirtualBoard) -> Virtual {
        Virtual {
            id: id.into(),
            title: title.into(),
            board,
            port: PortGuard::default(),
        }
    }
}

/// One session at a time on a virtual board's ports, as a real port opens once: AT probes,
/// identity reads and switches wait for each other (two probes on one AT port would read each
/// other's answers), and a running flash job keeps everyone else out.
#[derive(Debug, Clone, Default)]
pub struct PortGuard {
    session: Arc<Mutex<()>>,
    flashing: Arc<AtomicBool>,
}

impl PortGuard {
    /// Wait for the ports (a probe or switch in progress finishes first).
    pub fn wait(&self) -> MutexGuard<'_, ()> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The ports for a short session, unless a flash job uses the board.
    pub fn session(&self) -> Result<MutexGuard<'_, ()>, String> {
        let guard = self.wait();
        if self.is_flashing() {
            return Err("a flash job is using this board".into());
        }
        Ok(guard)
    }

    /// Mark the board as used by a flash job (or free again).
    pub fn set_flashing(&self, on: bool) {
        self.flashing.store(on, Ordering::Release);
    }

    /// Whether a flash job uses the board.
    pub fn is_flashing(&self) -> bool {
        self.flashing.load(Ordering::Acquire)
    }
}

/// Limits of the app's AT probes (short: the Diagnostics pane waits for them).
pub fn at_config() -> ProbeConfig {
    ProbeConfig {
        per_command: Duration::from_millis(800),
        total: Duration::from_secs(8),
        drain: Duration::from_millis(100),
    }
}

/// The AT probe of a virtual board running its firmware, the caller holding its session.
pub fn probe_virtual_locked(v: &Virtual) -> Option<AtProbe> {
    (v.board.state() == VState::Normal).then(|| {
        let mut link = v.board.connect();
        probe(&mut link, &format!("{} AT port", v.id), &at_config())
    })
}

/// The AT probe of a virtual board running its firmware (waiting for its ports); a board a
/// flash job uses reports the port busy.
pub fn probe_virtual(v: &Virtual) -> Option<AtProbe> {
    match v.port.session() {
        Ok(_session) => probe_virtual_locked(v),
        Err(why) => (v.board.state() == VState::Normal).then(|| {
            let port = format!("{} AT port", v.id);
            let e = TransportError::new(TransportErrorKind::Busy, "open", port.clone())
                .with_detail(why);
            AtProbe::failed(&port, &e)
        }),
    }
}

/// Paced like a module on USB 2 with NAND programming, so a demo flash takes a few seconds.
fn demo_pace() -> LinkModel {
    LinkModel {
        throughput: Some(4 * 1024 * 1024),
        latency: None,
        nand_program_rate: Some(120 * 1024),
    }
}

/// The three demo boards: a healthy BG95 in download mode, an EG25-G running its firmware and
/// answering AT, and a BG95 whose NAND fails on the third program.
pub fn demo_boards() -> Vec<Virtual> {
    let paced = |start_in, faults| BoardOptions {
        model: demo_pace(),
        start_in,
        faults,
        ..BoardOptions::default()
    };
    let nak = FaultSpec {
        kind: FaultKind::Nak,
        point: Some("program".into()),
        nth: 3,
    };
    vec![
        Virtual::new(
            "virtual:1",
            "Virtual BG95-M3 #1 (healthy)",
            VirtualBoard::new(Profile::bg95(), paced(StartIn::Edl, Vec::new())),
        ),
        Virtual::new(
            "virtual:2",
            "Virtual EG25-G #2 (with firmware)",
            VirtualBoard::new(Profile::eg25(), paced(StartIn::Normal, Vec::new())),
        ),
        Virtual::new(
            "virtual:3",
            "Virtual BG95-M3 #3 (worn NAND)",
            VirtualBoard::new(second_bg95(), paced(StartIn::Edl, vec![nak])),
        ),
    ]
}

/// One virtual board per diagnosis state (oasis-vdev's scenarios), listed as `virtual:s1`…,
/// titled with the scenario's sentence: for training and for testing the Diagnostics pane.
pub fn state_boards() -> Vec<(Virtual, &'static str)> {
    oasis_vdev::scenarios()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = Virtual::new(format!("virtual:s{}", i + 1), s.description, (s.build)());
            (v, s.state)
        })
        .collect()
}

/// Another BG95 (its own chip serial and IMEI), so bench reports tell the two apart.
fn second_bg95() -> Profile {
    let mut p = Profile::bg95();
    p.serial = 0x5e6f_7a8b;
    p.imei = "866425051239871".into();
    p
}

fn virtual_mode(state: VState) -> (BoardMode, BoardState) {
    match state {
        VState::Sahara => (BoardMode::Download, BoardState::EdlWaiting),
        VState::Firehose | VState::ProgrammerDead => {
            (BoardMode::Programmer, BoardState::EdlProgrammerRunning)
        }
        VState::MemoryDump => (BoardMode::MemoryDump, BoardState::MemoryDump),
        VState::Normal => (BoardMode::Normal, BoardState::NormalAtOk),
        VState::Rebooting => (BoardMode::Unknown, BoardState::NormalAtSilent),
        _ => (BoardMode::Absent, BoardState::NotOnUsb),
    }
}

/// What the OS would report for a virtual board's ports.
fn virtual_access(v: &Virtual) -> Accessibility {
    match v.board.access() {
        HostAccess::ClaimedBy(who) => Accessibility::Busy(who),
        HostAccess::NoPermission => {
            Accessibility::PermissionDenied("no udev rule for this board".into())
        }
        _ => Accessibility::Accessible,
    }
}

/// The list entry of a virtual board, as it is now.
pub fn virtual_info(v: &Virtual) -> BoardInfo {
    let profile = v.board.profile();
    let (mode, mut state) = virtual_mode(v.board.state());
    let present = !matches!(mode, BoardMode::Absent | BoardMode::Unknown);
    match virtual_access(v) {
        Accessibility::Busy(_) if present => state = BoardState::ClaimedByDriver,
        Accessibility::PermissionDenied(_) if present => state = BoardState::NoPermission,
        _ if mode == BoardMode::Normal && !profile.diag_port => {
            state = BoardState::NotFirehoseModule;
        }
        _ => {}
    }
    let ids = match mode {
        BoardMode::Normal => format!("2C7C:{:04X}", profile.usb_pid),
        BoardMode::Download | BoardMode::Programmer => "05C6:9008".to_owned(),
        BoardMode::MemoryDump => "05C6:900E".to_owned(),
        _ => "not on USB".to_owned(),
    };
    let normal = mode == BoardMode::Normal;
    BoardInfo {
        id: v.id.clone(),
        port_path: v.id.clone(),
        title: v.title.clone(),
        mode,
        state,
        detail: format!("{ids} on {}", v.id),
        is_virtual: true,
        revision: normal.then(|| v.board.revision()),
        imei: normal.then(|| profile.imei.clone()),
        serial: (!normal).then(|| format!("{:08x}", profile.serial)),
    }
}

fn iface(number: u8, class: (u8, u8, u8), tty: Option<String>) -> UsbInterfaceInfo {
    UsbInterfaceInfo {
        number,
        class: class.0,
        subclass: class.1,
        protocol: class.2,
        endpoints: 2,
        driver: None,
        tty,
    }
}

/// The USB device a virtual board would show, as enumeration evidence for the diagnosis.
pub fn virtual_snapshot(v: &Virtual) -> Snapshot {
    let profile = v.board.profile();
    let (mode, _) = virtual_mode(v.board.state());
    let tty = |n: u8| Some(format!("{}/if{n}", v.id));
    // Interface 0 is DIAG (ff/ff/ff) on Qualcomm modules only.
    let if0 = if profile.diag_port {
        (0xff, 0xff, 0xff)
    } else {
        (0xff, 0x00, 0x00)
    };
    let edl = |pid| {
        (
            0x05C6,
            pid,
            format!("QUSB__BULK_SN:{:08X}", profile.serial),
            vec![iface(0, (0xff, 0xff, 0xff), None)],
        )
    };
    let (vid, pid, product, interfaces) = match mode {
        BoardMode::Normal => (
            0x2C7C,
            profile.usb_pid,
            profile.model.clone(),
            vec![
                iface(0, if0, tty(0)),
                iface(1, (0xff, 0x00, 0x00), tty(1)),
                iface(2, (0xff, 0x00, 0x00), tty(2)),
                iface(3, (0xff, 0x00, 0x00), tty(3)),
            ],
        ),
        BoardMode::Download | BoardMode::Programmer => edl(0x9008),
        BoardMode::MemoryDump => edl(0x900E),
        _ => return Snapshot::default(),
    };
    Snapshot {
        usb: vec![UsbDeviceInfo {
            vid,
            pid,
            bcd_device: 0x0318,
            bus: 0,
            address: 0,
            port_path: v.id.clone(),
            speed: Some("virtual".into()),
            manufacturer: Some("Oasis virtual board".into()),
            product: Some(product),
            serial: None,
            interfaces,
            access: virtual_access(v),
        }],
        serial: Vec::new(),
        usb_error: None,
    }
}

/// Everything a virtual board shows the engine's diagnosis: the USB device it would be, its
/// AT probe (when it runs its firmware), whether a programmer answers, and the hot-plug
/// history of the virtual boards.
pub fn virtual_evidence(v: &Virtual, timeline: &[TimelineEvent]) -> Evidence {
    let mine: Vec<TimelineEvent> = timeline
        .iter()
        .filter(|e| timeline_path(e).is_none_or(|p| p == v.id))
        .cloned()
        .collect();
    Evidence {
        snapshot: virtual_snapshot(v),
        timeline: Some(mine),
        at: probe_virtual(v).into_iter().collect(),
        chip: None,
        firehose_running: match v.board.state() {
            VState::Firehose => Some(true),
            VState::Sahara => Some(false),
            _ => None,
        },
    }
}

pub(super) fn mode_of(m: UsbMode) -> BoardMode {
    match m {
        UsbMode::Edl => BoardMode::Download,
        UsbMode::MemoryDump => BoardMode::MemoryDump,
        UsbMode::Normal | UsbMode::NotFirehose => BoardMode::Normal,
    }
}

/// The real boards in a snapshot, with the per-device state the diagnosis gives them.
pub fn real_boards(snap: &Snapshot) -> Vec<BoardInfo> {
    let evidence = oasis_engine::diag::Evidence {
        snapshot: snap.clone(),
        ..Default::default()
    };
    let diagnosis = oasis_engine::diag::diagnose(&evidence);
    snap.usb
        .iter()
        .filter_map(|d| identify_device(d).map(|id| (d, id)))
        .map(|(d, id)| {
            let view = diagnosis
                .devices
                .iter()
                .find(|v| v.port_path == d.port_path);
            let state = view.map_or(BoardState::NormalAtSilent, |v| v.state);
            let chip = id
                .chip
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            BoardInfo {
                id: d.port_path.clone(),
                port_path: d.port_path.clone(),
                title: format!("{}{chip}", id.family),
                mode: mode_of(id.mode),
                state,
                detail: format!(
                    "{:04X}:{:04X} on USB {} · via {}",
                    d.vid,
                    d.pid,
                    d.port_path,
                    super::engine_serial::describe_link(&super::engine_serial::link_for(d))
                ),
                is_virtual: false,
                revision: None,
                imei: None,
                serial: view.and_then(|v| v.serial.clone()),
            }
        })
        .collect()
}

/// The UI's view of an engine diagnosis, keeping only the devices on `port_path`.
pub fn diagnosis_view(d: &Diagnosis, port_path: &str) -> DiagnosisView {
    let usb = d
        .devices
        .iter()
        .filter(|v| v.port_path == port_path)
        .map(|v| UsbNode {
            port_path: v.port_path.clone(),
            ids: v.id.clone(),
            name: v.identity.family.clone(),
            interfaces: v
                .interfaces
                .iter()
                .map(|i| UsbInterfaceView {
                    number: i.number,
                    class: i.class.clone(),
                    role: i.role.describe().to_owned(),
                    driver: i.driver.clone(),
                    tty: i.tty.clone(),
                })
                .collect(),
        })
        .collect();
    let state = d
        .devices
        .iter()
        .find(|v| v.port_path == port_path)
        .map_or(d.state, |v| v.state);
    DiagnosisView {
        state,
        title: d.title.clone(),
        summary: d.summary.clone(),
        evidence: d.evidence.clone(),
        next_steps: d.next_steps.clone(),
        usb,
    }
}

/// The TTYs of a USB device with the role of their interface.
pub fn ttys_with_roles(dev: &UsbDeviceInfo) -> Vec<(String, String)> {
    let roles = device_roles(dev);
    dev.interfaces
        .iter()
        .zip(roles)
        .filter_map(|(i, (_, role))| i.tty.clone().map(|t| (t, role.describe().to_owned())))
        .collect()
}

/// An AT probe as the UI lists it.
pub fn at_result(p: &AtProbe, role: &str) -> AtPortResult {
    let mut answers: Vec<(String, String)> = p
        .raw
        .iter()
        .map(|(cmd, lines)| {
            let text = if lines.is_empty() {
                "(no answer)".to_owned()
            } else {
                lines.join(" ")
            };
            (cmd.clone(), text)
        })
        .collect();
    if let Some(e) = &p.error {
        answers.push(("(port)".into(), e.message.clone()));
    }
    AtPortResult {
        port: p.port.clone(),
        role: role.to_owned(),
        answers,
        answered: p.answered,
    }
}

/// How long a switched virtual board may take to come back in download mode.
const SWITCH_WAIT: Duration = Duration::from_secs(30);

/// A board request that failed, naming the board and what was asked.
pub(super) fn board_err(
    board: &str,
    action: &'static str,
    reason: impl Into<String>,
) -> BackendError {
    BackendError::Board {
        board: board.to_owned(),
        action,
        reason: reason.into(),
    }
}

/// The DIAG download-mode command on a virtual board's DM port, then follow it (bounded) until
/// it is back in download mode.
pub(super) fn switch_virtual(board: &str, v: &Virtual) -> Result<String, BackendError> {
    const ACTION: &str = "switching to download mode";
    let _session = v
        .port
        .session()
        .map_err(|why| board_err(board, ACTION, why))?;
    let mut dm = v
        .board
        .connect_dm()
        .map_err(|e| board_err(board, "opening the DM port", e.to_string()))?;
    let outcome = oasis_engine::diag::dload::switch_to_edl(&mut dm, Duration::from_secs(5))
        .map_err(|e| board_err(board, ACTION, e.to_string()))?;
    drop(dm);
    let waited = Instant::now();
    while !matches!(v.board.state(), VState::Sahara | VState::Firehose) {
        if waited.elapsed() > SWITCH_WAIT {
            return Err(board_err(
                board,
                ACTION,
                format!(
                    "the module did not come back in download mode within {} s",
                    SWITCH_WAIT.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let how = match outcome {
        oasis_engine::diag::dload::SwitchOutcome::Echoed => "the module echoed it",
        oasis_engine::diag::dload::SwitchOutcome::PortGone => "the DM port went away at once",
    };
    Ok(format!(
        "Sent the download-mode command on the DM port of {}; {how}, restarted and is back as 05C6:9008.",
        v.title
    ))
}

pub(super) fn switch_real(
    board: &str,
    d: &oasis_transport::enumerate::UsbDeviceInfo,
) -> Result<String, BackendError> {
    let Some((dm, _)) = ttys_with_roles(d)
        .into_iter()
        .find(|(_, r)| r.contains("DIAG"))
    else {
        return Err(board_err(
            board,
            "switching to download mode",
            "no DM/DIAG serial port on this board",
        ));
    };
    let mut port = oasis_transport::serial::SerialTransport::open(&dm)
        .map_err(|e| board_err(board, "opening the DM port", e.to_string()))?;
    oasis_engine::diag::dload::switch_to_edl(&mut port, Duration::from_secs(5))
        .map_err(|e| board_err(board, "switching to download mode", e.to_string()))?;
    Ok(format!(
        "Sent the download-mode command on {dm}; the board re-appears as 05C6:9008."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_boards_list_in_their_modes() {
        let boards = demo_boards();
        let infos: Vec<BoardInfo> = boards.iter().map(virtual_info).collect();
        assert_eq!(infos[0].mode, BoardMode::Download);
        assert_eq!(infos[0].serial.as_deref(), Some("1a2b3c4d"));
        assert_eq!(infos[1].mode, BoardMode::Normal);
        assert_eq!(
            infos[1].imei.as_deref(),
            Some(Profile::eg25().imei.as_str())
        );
        assert_eq!(infos[1].detail, "2C7C:0125 on virtual:2");
        // The engine's own diagnosis agrees with the synthesized USB evidence.
        for (v, info) in boards.iter().zip(&infos) {
            let ev = oasis_engine::diag::Evidence {
                snapshot: virtual_snapshot(v),
                ..Default::default()
            };
            let d = oasis_engine::diag::diagnose(&ev);
            let view = diagnosis_view(&d, &v.id);
            assert_eq!(view.usb.len(), 1, "{}", v.id);
            let expect = if info.mode == BoardMode::Normal {
                BoardState::NormalAtSilent // no AT probe in this evidence
            } else {
                BoardState::EdlWaiting
            };
            assert_eq!(view.state, expect, "{}", v.id);
        }
    }
}
