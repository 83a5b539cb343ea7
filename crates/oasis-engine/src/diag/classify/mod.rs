//! The pure diagnosis: evidence in, one [`Diagnosis`] out (state, plain words, what was seen,
//! ordered next steps). No I/O, no clock; the same evidence always gives the same answer.

mod facts;
mod steps;

use oasis_transport::TransportErrorKind;
use oasis_transport::enumerate::{Accessibility, Snapshot, UsbDeviceInfo};
use serde::{Deserialize, Serialize};

use super::at::AtProbe;
use super::timeline::{TimelineEvent, TimelineKind};
use super::usb_table::{
    DeviceIdentity, Role, UsbMode, device_roles, identify_device, is_edl_signature,
};
use crate::event::ChipIdentity;

/// Everything known about the attached boards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What is attached now.
    pub snapshot: Snapshot,
    /// The hot-plug history, if one was kept.
    pub timeline: Option<Vec<TimelineEvent>>,
    /// AT probes made on serial ports.
    pub at: Vec<AtProbe>,
    /// The chip identity read in Sahara command mode, if read.
    pub chip: Option<ChipIdentity>,
    /// Whether a Firehose programmer answered on the download-mode port, if checked.
    pub firehose_running: Option<bool>,
}

/// The board's state. Serialised in snake_case (`edl_waiting`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Normal mode and answering AT.
    NormalAtOk,
    /// Normal mode, AT port silent (or not asked yet).
    NormalAtSilent,
    /// Download mode (05C6:9008), waiting for a programmer.
    EdlWaiting,
    /// Download mode with a programmer already running.
    EdlProgrammerRunning,
    /// Crash / memory-dump mode (900E).
    MemoryDump,
    /// Visible, but another driver or program holds it.
    ClaimedByDriver,
    /// Visible, but the OS does not let Oasis open it.
    NoPermission,
    /// Nothing on USB.
    NotOnUsb,
    /// Keeps disconnecting and reconnecting.
    Flapping,
    /// A module that is not a Qualcomm Firehose target (ASR/UNISOC).
    NotFirehoseModule,
}

impl State {
    /// Which state to report first when several boards are attached (higher first).
    fn urgency(self) -> u8 {
        match self {
            State::Flapping => 10,
            State::NoPermission => 9,
            State::ClaimedByDriver => 8,
            State::EdlProgrammerRunning => 7,
            State::EdlWaiting => 6,
            State::MemoryDump => 5,
            State::NormalAtSilent => 4,
            State::NormalAtOk => 3,
            State::NotFirehoseModule => 2,
            State::NotOnUsb => 0,
        }
    }
}

/// An Oasis action a next step offers as a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send the DIAG download-mode command.
    SwitchToDownload,
    /// Read serial, HW ID and PK hash in Sahara command mode.
    ReadChipIdentity,
    /// Start the flash job.
    Flash,
    /// Run the AT probe.
    ProbeAt,
    /// Install the Linux udev rule.
    InstallUdevRule,
    /// Reset the board.
    Reset,
}

/// One thing to do, in plain words, optionally with an Oasis action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextStep {
    /// What to do.
    pub text: String,
    /// The Oasis action that does it, if any.
    pub action: Option<Action>,
}

/// One interface of a device, with its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceView {
    /// Interface number.
    pub number: u8,
    /// `ff/ff/ff` class/subclass/protocol.
    pub class: String,
    /// What it is for.
    pub role: Role,
    /// Kernel driver bound to it.
    pub driver: Option<String>,
    /// Serial port it appears as.
    pub tty: Option<String>,
}

/// A board (or board-like device) seen on USB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    /// Physical port path.
    pub port_path: String,
    /// `05C6:9008`.
    pub id: String,
    /// What the identity says.
    pub identity: DeviceIdentity,
    /// Serial number (from iSerial, or the `_SN:` part of a 9008 product string).
    pub serial: Option<String>,
    /// Interfaces and their roles.
    pub interfaces: Vec<InterfaceView>,
    /// Whether Oasis can open it.
    pub access: Accessibility,
    /// The state of this device on its own.
    pub state: State,
}

/// The answer: what state, why, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The state.
    pub state: State,
    /// A short title in plain words.
    pub title: String,
    /// Two or three sentences: what this means.
    pub summary: String,
    /// What was seen, one fact per line.
    pub evidence: Vec<String>,
    /// What to do, in order.
    pub next_steps: Vec<NextStep>,
    /// Every board seen, most urgent first.
    pub devices: Vec<DeviceView>,
    /// The port path of the board the diagnosis is about, if it is on USB.
    pub port_path: Option<String>,
}

/// Serial number from a 9008 product string `QUSB__BULK_SN:1A2B3C4D`.
fn serial_of(dev: &UsbDeviceInfo) -> Option<String> {
    dev.serial.clone().or_else(|| {
        let p = dev.product.as_deref()?;
        p.split_once("_SN:").map(|(_, s)| s.trim().to_string())
    })
}

/// The AT probes that belong to a device: matched by tty, by the serial port's USB ids, or
/// (when only one normal-mode board is attached) all probes that match nothing else.
fn probes_for<'a>(ev: &'a Evidence, dev: &UsbDeviceInfo, sole_normal: bool) -> Vec<&'a AtProbe> {
    let mine = |p: &AtProbe| {
        dev.interfaces
            .iter()
            .any(|i| i.tty.as_deref() == Some(p.port.as_str()))
            || ev
                .snapshot
                .serial
                .iter()
                .any(|s| s.name == p.port && s.vid == Some(dev.vid) && s.pid == Some(dev.pid))
    };
    let anyone = |p: &AtProbe| {
        ev.snapshot.usb.iter().any(|d| {
            d.interfaces
                .iter()
                .any(|i| i.tty.as_deref() == Some(p.port.as_str()))
        }) || ev
            .snapshot
            .serial
            .iter()
            .any(|s| s.name == p.port && s.vid.is_some())
    };
    ev.at
        .iter()
        .filter(|p| mine(p) || (sole_normal && !anyone(p)))
        .collect()
}

/// Drivers that hold a download-mode interface without blocking Oasis: qcserial is detached
/// when Oasis opens the device, and its serial port works as well.
const HARMLESS_DRIVERS: &[&str] = &["qcserial"];

/// True when a `Busy` device can still be reached: held by a driver Oasis detaches, or a
/// serial port (the Windows QDLoader COM port, a Linux ttyUSB) exists for it.
fn busy_but_reachable(snapshot: &Snapshot, dev: &UsbDeviceInfo) -> bool {
    let Accessibility::Busy(detail) = &dev.access else {
        return false;
    };
    let harmless = |d: &str| HARMLESS_DRIVERS.iter().any(|h| d.starts_with(h));
    let by_driver = dev
        .interfaces
        .iter()
        .filter(|i| is_edl_signature(i))
        .any(|i| i.driver.as_deref().is_some_and(harmless));
    let has_port = dev.interfaces.iter().any(|i| i.tty.is_some())
        || snapshot
            .serial
            .iter()
            .any(|s| s.vid == Some(dev.vid) && s.pid == Some(dev.pid));
    by_driver || harmless(detail) || has_port
}

fn access_state(snapshot: &Snapshot, dev: &UsbDeviceInfo) -> Option<State> {
    match &dev.access {
        Accessibility::PermissionDenied(_) => Some(State::NoPermission),
        Accessibility::Busy(_) if busy_but_reachable(snapshot, dev) => None,
        Accessibility::Busy(_) => Some(State::ClaimedByDriver),
        Accessibility::Accessible | Accessibility::Unknown => None,
    }
}

fn device_state(
    ev: &Evidence,
    dev: &UsbDeviceInfo,
    id: &DeviceIdentity,
    probes: &[&AtProbe],
) -> State {
    let blocked = access_state(&ev.snapshot, dev);
    match id.mode {
        UsbMode::Edl | UsbMode::MemoryDump if blocked.is_some() => {
            blocked.unwrap_or(State::NoPermission)
        }
        UsbMode::Edl if ev.firehose_running == Some(true) => State::EdlProgrammerRunning,
        UsbMode::Edl => State::EdlWaiting,
        UsbMode::MemoryDump => State::MemoryDump,
        UsbMode::NotFirehose => State::NotFirehoseModule,
        UsbMode::Normal => normal_state(probes),
    }
}

fn normal_state(probes: &[&AtProbe]) -> State {
    if probes.iter().any(|p| p.answered) {
        return State::NormalAtOk;
    }
    let kinds: Vec<TransportErrorKind> = probes
        .iter()
        .filter_map(|p| p.error.as_ref().map(|e| e.kind))
        .collect();
    if kinds.contains(&TransportErrorKind::PermissionDenied) {
        State::NoPermission
    } else if kinds.contains(&TransportErrorKind::Busy) {
        State::ClaimedByDriver
    } else {
        State::NormalAtSilent
    }
}

fn view(dev: &UsbDeviceInfo, identity: DeviceIdentity, state: State) -> DeviceView {
    let roles = device_roles(dev);
    DeviceView {
        port_path: dev.port_path.clone(),
        id: format!("{:04X}:{:04X}", dev.vid, dev.pid),
        identity,
        serial: serial_of(dev),
        interfaces: dev
            .interfaces
            .iter()
            .zip(roles)
            .map(|(i, (_, role))| InterfaceView {
                number: i.number,
                class: format!("{:02x}/{:02x}/{:02x}", i.class, i.subclass, i.protocol),
                role,
                driver: i.driver.clone(),
                tty: i.tty.clone(),
            })
            .collect(),
        access: dev.access.clone(),
        state,
    }
}

/// The port the timeline reports as flapping (its latest flapping/settled event says
/// flapping), with the cycles and window it reported.
fn flapping(ev: &Evidence) -> Option<(String, usize, f64)> {
    let tl = ev.timeline.as_ref()?;
    let mut decided: Vec<&str> = Vec::new();
    for e in tl.iter().rev() {
        match &e.kind {
            TimelineKind::Flapping {
                port_path,
                cycles,
                window_s,
            } if !decided.contains(&port_path.as_str()) => {
                return Some((port_path.clone(), *cycles, *window_s));
            }
            TimelineKind::Settled { port_path } => decided.push(port_path),
            _ => {}
        }
    }
    None
}

/// Diagnose the attached boards. When several are attached, the most urgent one is
/// diagnosed and all are listed in [`Diagnosis::devices`].
pub fn diagnose(ev: &Evidence) -> Diagnosis {
    let relevant: Vec<(&UsbDeviceInfo, DeviceIdentity)> = ev
        .snapshot
        .usb
        .iter()
        .filter_map(|d| identify_device(d).map(|i| (d, i)))
        .collect();
    let normals = relevant
        .iter()
        .filter(|(_, i)| i.mode == UsbMode::Normal)
        .count();
    let mut devices: Vec<(DeviceView, Vec<&AtProbe>)> = relevant
        .into_iter()
        .map(|(d, id)| {
            let probes = probes_for(ev, d, normals == 1);
            let state = device_state(ev, d, &id, &probes);
            (view(d, id, state), probes)
        })
        .collect();
    let flap = flapping(ev);
    if let Some((path, ..)) = &flap {
        for (v, _) in devices.iter_mut().filter(|(v, _)| &v.port_path == path) {
            v.state = State::Flapping;
        }
    }
    devices.sort_by_key(|(v, _)| std::cmp::Reverse(v.state.urgency()));
    let primary = devices.first();
    let state = match (&flap, primary) {
        (Some(_), _) => State::Flapping,
        (None, Some((v, _))) => v.state,
        (None, None) if ev.at.iter().any(|p| p.answered) => State::NormalAtOk,
        (None, None) => State::NotOnUsb,
    };
    let probes: Vec<&AtProbe> = match primary {
        Some((_, p)) => p.clone(),
        None => ev.at.iter().collect(),
    };
    let ctx = steps::Context::new(ev, primary.map(|(v, _)| v), &probes, flap.clone());
    let text = steps::texts(state, &ctx);
    Diagnosis {
        state,
        title: text.title,
        summary: text.summary,
        evidence: facts::lines(ev, devices.iter().map(|(v, _)| v), primary.map(|(v, _)| v)),
        next_steps: text.steps,
        port_path: flap
            .map(|f| f.0)
            .or_else(|| primary.map(|(v, _)| v.port_path.clone())),
        devices: devices.into_iter().map(|(v, _)| v).collect(),
    }
}
