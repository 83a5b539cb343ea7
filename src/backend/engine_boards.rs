//! The boards the engine backend lists: Oasis's virtual boards (oasis-vdev, paced like a real
//! USB 2 link, on the app's virtual bus) and the real USB devices, all read from one bus
//! snapshot and turned into the UI's `BoardInfo` and the engine's `Diagnosis`; a virtual
//! board differs only in its name and title.

use std::time::Duration;

use oasis_engine::diag::at::{AtProbe, ProbeConfig};
use oasis_engine::diag::timeline::TimelineEvent;
use oasis_engine::diag::usb_table::{Role, device_roles, identify_device};
use oasis_engine::diag::{Diagnosis, Evidence};
use oasis_transport::BusHandle;
use oasis_transport::enumerate::{Snapshot, UsbDeviceInfo};
use oasis_vdev::fault::{FaultKind, FaultSpec};
use oasis_vdev::{BoardOptions, LinkModel, Profile, StartIn, VirtualBoard};

use super::{BackendError, BoardInfo, BoardState};

/// One of Oasis's virtual boards: plugged into the app's virtual bus, listed as `id`.
#[derive(Debug, Clone)]
pub struct Virtual {
    /// Id (`virtual:1`).
    pub id: String,
    /// List title.
    pub title: String,
    /// The board (a handle; clones share it).
    pub board: VirtualBoard,
}

impl Virtual {
    /// A virtual board listed as `id` with this title.
    pub fn new(id: impl Into<String>, title: impl Into<String>, board: VirtualBoard) -> Virtual {
        Virtual {
            id: id.into(),
            title: title.into(),
            board,
        }
    }
}

/// A virtual board's name in the list, by the USB path it has on the virtual bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// USB path on the bus (`0-1`).
    pub port_path: String,
    /// Id (`virtual:1`).
    pub id: String,
    /// Title.
    pub title: String,
}

/// Give the virtual boards in `list` their names and titles (by USB path).
pub fn label(list: &mut [BoardInfo], labels: &[Label]) {
    for b in list {
        if let Some(l) = labels.iter().find(|l| l.port_path == b.port_path) {
            b.detail = b.detail.replace(&format!("USB {}", l.port_path), &l.id);
            b.id.clone_from(&l.id);
            b.port_path.clone_from(&l.id);
            b.title.clone_from(&l.title);
            b.is_virtual = true;
        }
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

/// Another BG95 (its own chip serial and IMEI), so bench reports tell the two apart.
fn second_bg95() -> Profile {
    let mut p = Profile::bg95();
    p.serial = 0x5e6f_7a8b;
    p.imei = "866425051239871".into();
    p
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
                mode: id.mode,
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
                // As Sahara reports it (lower case), whatever case the USB string used.
                serial: view.and_then(|v| v.serial.as_ref().map(|s| s.to_ascii_lowercase())),
            }
        })
        .collect()
}

/// An engine diagnosis of the board on `port_path`, keeping only that device, shown under
/// `name` (a virtual board's id, else the path itself).
pub fn diagnosis_view(d: &Diagnosis, port_path: &str, name: &str) -> Diagnosis {
    let mut d = d.clone();
    d.devices.retain(|v| v.port_path == port_path);
    if let Some(v) = d.devices.first() {
        d.state = v.state;
    }
    for v in &mut d.devices {
        v.port_path = name.to_owned();
    }
    d.port_path = Some(name.to_owned());
    d
}

/// The TTYs of a USB device with the role of their interface.
pub fn ttys_with_roles(dev: &UsbDeviceInfo) -> Vec<(String, Role)> {
    let roles = device_roles(dev);
    dev.interfaces
        .iter()
        .zip(roles)
        .filter_map(|(i, (_, role))| i.tty.clone().map(|t| (t, role)))
        .collect()
}

/// AT probes of a USB device: each of its AT and modem ports, opened on `bus`. The app's
/// probes of one device take turns (the board list's, the compatibility check's and the
/// Diagnostics pane's would otherwise meet on its ports and find them busy).
pub fn probe_device(bus: &BusHandle, d: &UsbDeviceInfo) -> Vec<(AtProbe, Role)> {
    super::engine_serial::with_port(&format!("usb:{}", d.port_path), || {
        ttys_with_roles(d)
            .into_iter()
            .filter(|(_, role)| matches!(role, Role::At | Role::Modem))
            .map(|(tty, role)| {
                let probe = oasis_engine::diag::at::probe_on(bus, &tty, &at_config());
                (probe, role)
            })
            .collect()
    })
}

/// What the engine's diagnosis gets for device `d`: its part of the bus listing, its
/// hot-plug history, and the answers of its AT ports (another board on the bench must not
/// decide this one's verdict).
pub fn evidence_on(
    bus: &BusHandle,
    snapshot: Snapshot,
    d: &UsbDeviceInfo,
    timeline: Option<Vec<TimelineEvent>>,
) -> Evidence {
    let ttys: Vec<&str> = d
        .interfaces
        .iter()
        .filter_map(|i| i.tty.as_deref())
        .collect();
    let mine = Snapshot {
        usb: vec![d.clone()],
        serial: snapshot
            .serial
            .into_iter()
            .filter(|p| ttys.contains(&p.name.as_str()))
            .collect(),
        usb_error: snapshot.usb_error,
    };
    let timeline = timeline.map(|t| {
        t.into_iter()
            .filter(|e| event_path(e).is_none_or(|p| p == d.port_path))
            .collect()
    });
    Evidence {
        at: probe_device(bus, d).into_iter().map(|(p, _)| p).collect(),
        snapshot: mine,
        timeline,
        chip: None,
        firehose_running: None,
    }
}

/// The USB path a timeline event is about, when it names one.
fn event_path(ev: &TimelineEvent) -> Option<&str> {
    use oasis_engine::diag::timeline::TimelineKind as K;
    match &ev.kind {
        K::Appeared { port_path, .. }
        | K::Disappeared { port_path, .. }
        | K::Flapping { port_path, .. }
        | K::Settled { port_path } => Some(port_path),
        K::ModeChanged { to_path, .. } => Some(to_path),
        _ => None,
    }
}

/// A board request that failed, naming the board and what was asked, with the cause's own
/// advice when it has some.
pub(super) fn board_err(
    board: &str,
    action: &'static str,
    reason: impl Into<String>,
    help: Option<String>,
) -> BackendError {
    BackendError::Board {
        board: board.to_owned(),
        action,
        reason: reason.into(),
        help,
    }
}

/// The engine's download-mode command on the board's DM port (opened on `bus`, claimed while
/// it is used); the board then re-enumerates as 05C6:9008, which the board list shows.
pub(super) fn switch_real(
    bus: &BusHandle,
    board: &str,
    d: &UsbDeviceInfo,
) -> Result<String, BackendError> {
    let (dm, sent) = oasis_engine::switch_module(bus, d, Duration::from_secs(5)).map_err(|e| {
        let help = oasis_engine::Help::help(&e).map(String::from);
        board_err(board, "switching to download mode", e.to_string(), help)
    })?;
    Ok(format!(
        "Sent the download-mode command on the DM port {dm}; {}. The board restarts and re-appears as 05C6:9008.",
        sent.describe()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_vdev::{BusTiming, VirtualBus};

    #[test]
    fn virtual_boards_list_in_their_modes_under_their_names() {
        let bus = VirtualBus::new(BusTiming::default());
        let labels: Vec<Label> = demo_boards()
            .into_iter()
            .map(|v| Label {
                port_path: VirtualBus::port_path(bus.plug(v.board.clone())),
                id: v.id,
                title: v.title,
            })
            .collect();
        let mut list = real_boards(&bus.handle().snapshot());
        label(&mut list, &labels);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].id, "virtual:1");
        assert_eq!(list[0].mode, crate::backend::BoardMode::Edl);
        assert_eq!(list[0].serial.as_deref(), Some("1a2b3c4d"));
        assert!(list[0].is_virtual);
        assert_eq!(list[1].mode, crate::backend::BoardMode::Normal);
        assert_eq!(list[1].title, "Virtual EG25-G #2 (with firmware)");
        assert!(
            list[1].detail.starts_with("2C7C:0125 on virtual:2"),
            "{}",
            list[1].detail
        );
    }
}
