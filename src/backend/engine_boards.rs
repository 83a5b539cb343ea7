//! The boards the engine backend lists: Oasis's virtual boards (oasis-vdev, paced like a real
//! USB 2 link) and the real USB devices from the enumeration poller, turned into the UI's
//! `BoardInfo`, `DiagnosisView`, `AtPortResult` and timeline entries.

use oasis_engine::diag::at::AtProbe;
use oasis_engine::diag::timeline::{TimelineEvent, TimelineKind as EngineKind};
use oasis_engine::diag::usb_table::{UsbMode, device_roles, identify_device};
use oasis_engine::diag::{Diagnosis, State};
use oasis_transport::enumerate::{Accessibility, Snapshot, UsbDeviceInfo, UsbInterfaceInfo};
use oasis_vdev::fault::{FaultKind, FaultSpec};
use oasis_vdev::{BoardOptions, BoardState as VState, LinkModel, Profile, StartIn, VirtualBoard};

use super::{
    AtPortResult, BoardInfo, BoardMode, BoardState, DiagnosisView, TimelineEntry, TimelineKind,
    UsbInterfaceView, UsbNode,
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
}

/// Paced like a module on USB 2 with NAND programming, so a demo flash takes a few seconds.
fn demo_pace() -> LinkModel {
    LinkModel {
        throughput: Some(160 * 1024),
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
        Virtual {
            id: "virtual:1".into(),
            title: "Virtual BG95-M3 #1 (healthy)".into(),
            board: VirtualBoard::new(Profile::bg95(), paced(StartIn::Edl, Vec::new())),
        },
        Virtual {
            id: "virtual:2".into(),
            title: "Virtual EG25-G #2 (with firmware)".into(),
            board: VirtualBoard::new(Profile::eg25(), paced(StartIn::Normal, Vec::new())),
        },
        Virtual {
            id: "virtual:3".into(),
            title: "Virtual BG95-M3 #3 (worn NAND)".into(),
            board: VirtualBoard::new(second_bg95(), paced(StartIn::Edl, vec![nak])),
        },
    ]
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
        VState::Normal => (BoardMode::Normal, BoardState::NormalAtOk),
        VState::Rebooting => (BoardMode::Unknown, BoardState::NormalAtSilent),
        _ => (BoardMode::Absent, BoardState::NotOnUsb),
    }
}

/// The list entry of a virtual board, as it is now.
pub fn virtual_info(v: &Virtual) -> BoardInfo {
    let profile = v.board.profile();
    let (mode, state) = virtual_mode(v.board.state());
    let ids = match mode {
        BoardMode::Normal => format!("2C7C:{:04X}", profile.usb_pid),
        BoardMode::Download | BoardMode::Programmer => "05C6:9008".to_owned(),
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
    let (vid, pid, product, interfaces) = match mode {
        BoardMode::Normal => (
            0x2C7C,
            profile.usb_pid,
            profile.model.clone(),
            vec![
                iface(0, (0xff, 0xff, 0xff), tty(0)),
                iface(1, (0xff, 0x00, 0x00), tty(1)),
                iface(2, (0xff, 0x00, 0x00), tty(2)),
                iface(3, (0xff, 0x00, 0x00), tty(3)),
            ],
        ),
        BoardMode::Download | BoardMode::Programmer => (
            0x05C6,
            0x9008,
            format!("QUSB__BULK_SN:{:08X}", profile.serial),
            vec![iface(0, (0xff, 0xff, 0xff), None)],
        ),
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
            access: Accessibility::Accessible,
        }],
        serial: Vec::new(),
        usb_error: None,
    }
}

fn state_of(s: State) -> BoardState {
    match s {
        State::NormalAtOk => BoardState::NormalAtOk,
        State::NormalAtSilent => BoardState::NormalAtSilent,
        State::EdlWaiting => BoardState::EdlWaiting,
        State::EdlProgrammerRunning => BoardState::EdlProgrammerRunning,
        State::MemoryDump => BoardState::MemoryDump,
        State::ClaimedByDriver => BoardState::ClaimedByDriver,
        State::NoPermission => BoardState::NoPermission,
        State::NotOnUsb => BoardState::NotOnUsb,
        State::Flapping => BoardState::Flapping,
        State::NotFirehoseModule => BoardState::NotFirehoseModule,
    }
}

fn mode_of(m: UsbMode) -> BoardMode {
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
            let state = view.map_or(BoardState::NormalAtSilent, |v| state_of(v.state));
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
                detail: format!("{:04X}:{:04X} on USB {}", d.vid, d.pid, d.port_path),
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
        .map_or(state_of(d.state), |v| state_of(v.state));
    DiagnosisView {
        state,
        title: d.title.clone(),
        summary: d.summary.clone(),
        evidence: d.evidence.clone(),
        next_steps: d.next_steps.iter().map(|s| s.text.clone()).collect(),
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

fn timeline_mode(seen: &oasis_engine::diag::timeline::Seen) -> BoardMode {
    seen.mode.map_or(BoardMode::Unknown, mode_of)
}

/// Timeline entries for one engine timeline event (a mode change is a departure plus an
/// arrival).
pub fn timeline_entries(ev: &TimelineEvent) -> Vec<TimelineEntry> {
    let at_ms = (ev.at_s.max(0.0) * 1000.0) as u64;
    let entry =
        |port: &str, seen: &oasis_engine::diag::timeline::Seen, kind, at_ms| TimelineEntry {
            at_ms,
            port_path: port.to_owned(),
            what: seen.id(),
            kind,
            mode: timeline_mode(seen),
        };
    match &ev.kind {
        EngineKind::Appeared { port_path, device } => {
            vec![entry(port_path, device, TimelineKind::Arrived, at_ms)]
        }
        EngineKind::Disappeared {
            port_path, device, ..
        } => {
            vec![entry(port_path, device, TimelineKind::Left, at_ms)]
        }
        EngineKind::ModeChanged {
            from_path,
            to_path,
            from,
            to,
            gone_s,
        } => {
            let left = at_ms.saturating_sub((gone_s * 1000.0) as u64);
            vec![
                entry(from_path, from, TimelineKind::Left, left),
                entry(to_path, to, TimelineKind::Arrived, at_ms),
            ]
        }
        _ => Vec::new(),
    }
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
