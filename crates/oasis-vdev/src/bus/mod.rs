//! The virtual bus: virtual boards as the host sees real ones, USB devices with serial ports.
//!
//! A board on this bus is listed the way the OS lists a module ([`Bus::snapshot`]):
//!
//! * download mode: `05C6:9008` (`900E` in memory-dump mode), iProduct `QUSB__BULK_SN:<serial>`,
//!   one vendor-class interface with the serial port `vttyN.0`;
//! * normal mode: `2C7C:<pid>` with interface 0 DM (DIAG, Qualcomm modules only), 1 NMEA,
//!   2 AT and 3 modem, as Quectel's EC2x/BG9x enumerate (`vttyN.0` … `vttyN.3`);
//! * while it restarts: nowhere, for [`BusTiming::reenumerate`] after the host first sees the
//!   change (a real module drops off USB and comes back as another device), and opens fail
//!   `NotFound` then.
//!
//! Its USB path is `0-N` (bus 0, port N), so `usb:0-1` selects the first board and `usb` the
//! only one in download mode. Opening the download-mode device through `usb` gives a packet
//! link (libusb keeps transfer boundaries); its `vttyN.0` gives a stream (a tty). Every open
//! is claimed: a second open of a port that is in use fails `Busy`, as the OS answers.
//!
//! `virtual[:PROFILE[@STATE][+QUIRK…]]` is an alias ([`Bus::alias`]) of the board made for it
//! ([`VirtualBus::for_port`]): the engine resolves it to `usb:0-N` and then takes the path it
//! takes with a real module (a board in normal mode is switched through its DM port).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use oasis_transport::enumerate::{
    Accessibility, SerialPortInfo, Snapshot, UsbDeviceInfo, UsbInterfaceInfo,
};
use oasis_transport::{
    Bus, BusHandle, Claim, LinkKind, Opened, PortSpec, QuietLink, Transport, TransportError,
    TransportErrorKind, UsbSelector,
};

use crate::board::{BoardState, VirtualBoard};
use crate::error::VdevError;
use crate::options::HostAccess;
use crate::profile::Profile;

mod names;

use names::virtual_spec;
pub use names::{START_STATES, board_for};

/// How long a board is off the bus while it re-enumerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusTiming {
    /// Off the bus after a restart (a mode change or a reset), counted from the moment the host
    /// first sees the board gone or changed.
    pub reenumerate: Duration,
}

impl Default for BusTiming {
    /// 300 ms: enough that a host must wait for the device to come back, short enough for
    /// tests and demos.
    fn default() -> Self {
        Self {
            reenumerate: Duration::from_millis(300),
        }
    }
}

/// How long a board whose reset answer the host never read stays in reset before it boots.
const REBOOT_ALONE: Duration = Duration::from_secs(2);

/// What USB shows of a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shows {
    Edl,
    Dump,
    Normal,
    Nothing,
}

fn shows(state: BoardState) -> Shows {
    match state {
        BoardState::Sahara | BoardState::Firehose | BoardState::ProgrammerDead => Shows::Edl,
        BoardState::MemoryDump => Shows::Dump,
        BoardState::Normal => Shows::Normal,
        _ => Shows::Nothing,
    }
}

#[derive(Debug)]
struct Slot {
    n: u32,
    board: VirtualBoard,
    plugged: bool,
    alias: Option<String>,
    /// What the host last saw: the board's USB face and its reset count.
    seen: Option<(Shows, u32)>,
    gone_until: Option<Instant>,
    /// Since when the board has been restarting with its last answer unread.
    rebooting_since: Option<Instant>,
}

impl Slot {
    /// The board's USB face now, with the re-enumeration gap applied.
    fn face(&mut self, timing: BusTiming, now: Instant) -> Shows {
        if !self.plugged {
            self.seen = Some((Shows::Nothing, self.board.resets()));
            return Shows::Nothing;
        }
        let state = self.board.state();
        // A board restarts whether or not the host reads its last answer (a host that drops
        // the link after the reset command): after a moment it boots on its own.
        if state == BoardState::Rebooting {
            let since = *self.rebooting_since.get_or_insert(now);
            if now.duration_since(since) >= REBOOT_ALONE {
                let _ = self.board.after_reset();
            }
        } else {
            self.rebooting_since = None;
        }
        let now_shows = shows(self.board.state());
        let resets = self.board.resets();
        if let Some((was, was_resets)) = self.seen
            && (was != now_shows || was_resets != resets)
            && was != Shows::Nothing
        {
            self.gone_until = Some(now + timing.reenumerate);
        }
        self.seen = Some((now_shows, resets));
        match self.gone_until {
            Some(t) if now < t => Shows::Nothing,
            _ => now_shows,
        }
    }

    fn port_path(&self) -> String {
        format!("0-{}", self.n)
    }

    fn tty(&self, interface: u8) -> String {
        format!("vtty{}.{interface}", self.n)
    }
}

#[derive(Debug, Default)]
struct State {
    slots: Vec<Slot>,
    claims: HashSet<String>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    timing: BusTiming,
    /// Make the board a `virtual:…` name asks for, the first time it is asked.
    on_demand: bool,
}

/// A bus of virtual boards. Cloning gives another handle to the same bus.
#[derive(Debug, Clone)]
pub struct VirtualBus {
    inner: Arc<Inner>,
}

/// The claim on a virtual port: released when dropped.
struct VirtualClaim {
    key: String,
    inner: Arc<Inner>,
}

impl fmt::Debug for VirtualClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtualClaim({})", self.key)
    }
}

impl Claim for VirtualClaim {}

impl Drop for VirtualClaim {
    fn drop(&mut self) {
        let mut s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        s.claims.remove(&self.key);
    }
}

fn not_found(spec: &PortSpec, why: &str) -> TransportError {
    TransportError::new(TransportErrorKind::NotFound, "open", spec.to_string()).with_detail(why)
}

fn access(board: &VirtualBoard) -> Accessibility {
    match board.access() {
        HostAccess::ClaimedBy(who) => Accessibility::Busy(who),
        HostAccess::NoPermission => {
            Accessibility::PermissionDenied("no udev rule for this board".into())
        }
        HostAccess::Open => Accessibility::Accessible,
    }
}

fn iface(number: u8, class: (u8, u8, u8), driver: &str, tty: String) -> UsbInterfaceInfo {
    UsbInterfaceInfo::serial(number, class, Some(driver), Some(&tty))
}

impl VirtualBus {
    /// An empty bus.
    pub fn new(timing: BusTiming) -> Self {
        Self::make(timing, false)
    }

    /// A bus that makes the board a `virtual[:PROFILE[@STATE][+QUIRK…]]` name asks for the
    /// first time the name is resolved (the CLI's `--port virtual:eg25@normal`); the name then
    /// stays that board's alias.
    pub fn on_demand(timing: BusTiming) -> Self {
        Self::make(timing, true)
    }

    fn make(timing: BusTiming, on_demand: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                timing,
                on_demand,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Plug `board` into the next free socket; returns its number N (USB path `0-N`).
    pub fn plug(&self, board: VirtualBoard) -> u32 {
        self.plug_as(board, None)
    }

    /// Plug `board`, reachable also by the name `alias` (e.g. `virtual:eg25@normal`).
    pub fn plug_as(&self, board: VirtualBoard, alias: Option<&str>) -> u32 {
        let mut s = self.state();
        let n = s.slots.iter().map(|x| x.n).max().unwrap_or(0) + 1;
        s.slots.push(Slot {
            n,
            board,
            plugged: true,
            alias: alias.map(|a| a.trim().to_ascii_lowercase()),
            seen: None,
            gone_until: None,
            rebooting_since: None,
        });
        n
    }

    /// Pull board N off the bus (its links see `Disconnected`); `false` if there is none.
    pub fn unplug(&self, n: u32) -> bool {
        let mut s = self.state();
        match s.slots.iter_mut().find(|x| x.n == n) {
            Some(slot) => {
                slot.plugged = false;
                slot.board.unplug();
                true
            }
            None => false,
        }
    }

    /// Board N.
    pub fn board(&self, n: u32) -> Option<VirtualBoard> {
        self.state()
            .slots
            .iter()
            .find(|x| x.n == n)
            .map(|x| x.board.clone())
    }

    /// Every board, with its number.
    pub fn boards(&self) -> Vec<(u32, VirtualBoard)> {
        self.state()
            .slots
            .iter()
            .map(|x| (x.n, x.board.clone()))
            .collect()
    }

    /// The USB path of board N (`0-N`).
    pub fn port_path(n: u32) -> String {
        format!("0-{n}")
    }

    /// A shared handle to this bus, for the engine.
    pub fn handle(&self) -> BusHandle {
        BusHandle::new(self.clone())
    }

    /// For a port named `virtual[:PROFILE[@STATE][+QUIRK…]]`: a bus with that board on it,
    /// reachable under that name, and the board. `None` for any other name. `fallback` is the
    /// profile of a bare `virtual`.
    pub fn for_port(
        port: &str,
        fallback: &str,
        timing: BusTiming,
    ) -> Result<Option<(VirtualBus, VirtualBoard)>, VdevError> {
        let Some(spec) = virtual_spec(port) else {
            return Ok(None);
        };
        let board = board_for(spec, fallback)?;
        let bus = VirtualBus::new(timing);
        bus.plug_as(board.clone(), Some(port));
        Ok(Some((bus, board)))
    }

    fn claim(&self, key: String, spec: &PortSpec) -> Result<VirtualClaim, TransportError> {
        let mut s = self.state();
        if !s.claims.insert(key.clone()) {
            return Err(
                TransportError::new(TransportErrorKind::Busy, "open", spec.to_string())
                    .with_detail("another job of this Oasis has the port open"),
            );
        }
        Ok(VirtualClaim {
            key,
            inner: self.inner.clone(),
        })
    }

    /// The board a spec names, its face now, and the interface (serial ports) or `None` (USB).
    fn find(
        &self,
        spec: &PortSpec,
    ) -> Result<(VirtualBoard, Shows, u32, Option<u8>), TransportError> {
        let timing = self.inner.timing;
        let now = Instant::now();
        let mut s = self.state();
        let mut faces: Vec<(u32, Shows)> = Vec::new();
        for slot in &mut s.slots {
            let face = slot.face(timing, now);
            faces.push((slot.n, face));
        }
        let pick = |n: u32| faces.iter().find(|(m, _)| *m == n).map(|(_, f)| *f);
        let (n, iface) = match spec {
            PortSpec::Serial(name) => {
                let (n, i) = parse_tty(name).ok_or_else(|| not_found(spec, "no such port"))?;
                (n, Some(i))
            }
            PortSpec::Usb(UsbSelector::Path(p)) => {
                let n = p
                    .strip_prefix("0-")
                    .and_then(|x| x.parse::<u32>().ok())
                    .ok_or_else(|| not_found(spec, "no such USB path on the virtual bus"))?;
                (n, None)
            }
            PortSpec::Usb(UsbSelector::Serial(want)) => {
                let n = s
                    .slots
                    .iter()
                    .find(|x| {
                        format!("{:08X}", x.board.profile().serial).eq_ignore_ascii_case(want)
                    })
                    .map(|x| x.n)
                    .ok_or_else(|| not_found(spec, "no virtual board has this serial"))?;
                (n, None)
            }
            PortSpec::Usb(UsbSelector::Any) => {
                let edl: Vec<u32> = faces
                    .iter()
                    .filter(|(_, f)| matches!(f, Shows::Edl | Shows::Dump))
                    .map(|(n, _)| *n)
                    .collect();
                match edl.as_slice() {
                    [one] => (*one, None),
                    [] => return Err(not_found(spec, "no virtual board in download mode")),
                    many => {
                        let list: Vec<String> = many.iter().map(|n| format!("usb:0-{n}")).collect();
                        return Err(TransportError::new(
                            TransportErrorKind::NotFound,
                            "open",
                            spec.to_string(),
                        )
                        .with_detail(format!(
                            "several boards in download mode ({}): name one",
                            list.join(", ")
                        )));
                    }
                }
            }
        };
        let face = pick(n).unwrap_or(Shows::Nothing);
        let board = s
            .slots
            .iter()
            .find(|x| x.n == n)
            .map(|x| x.board.clone())
            .ok_or_else(|| not_found(spec, "no such board on the virtual bus"))?;
        Ok((board, face, n, iface))
    }
}

/// A fresh bus that makes the board each `virtual:…` name asks for (the CLI's, and tests').
pub fn demand() -> BusHandle {
    VirtualBus::on_demand(BusTiming::default()).handle()
}

/// A bus with just `board` on it, reachable as `alias` (e.g. `virtual:1`); the caller keeps
/// the board to look at it afterwards.
pub fn with_board(board: &VirtualBoard, alias: &str) -> VirtualBus {
    let bus = VirtualBus::new(BusTiming::default());
    bus.plug_as(board.clone(), Some(alias));
    bus
}

/// `vttyN.I` → (N, I).
fn parse_tty(name: &str) -> Option<(u32, u8)> {
    let rest = name.trim().strip_prefix("vtty")?;
    let (n, i) = rest.split_once('.')?;
    Some((n.parse().ok()?, i.parse().ok()?))
}

impl Bus for VirtualBus {
    fn describe(&self) -> String {
        let n = self.state().slots.iter().filter(|x| x.plugged).count();
        format!("virtual boards ({n})")
    }

    fn snapshot(&self) -> Snapshot {
        let timing = self.inner.timing;
        let now = Instant::now();
        let mut s = self.state();
        let mut snap = Snapshot::default();
        for slot in &mut s.slots {
            let face = slot.face(timing, now);
            let profile = slot.board.profile();
            let (vid, pid, product, ifaces): (u16, u16, String, Vec<UsbInterfaceInfo>) = match face
            {
                Shows::Nothing => continue,
                Shows::Edl | Shows::Dump => {
                    let mut edl = iface(0, (0xff, 0xff, 0xff), "qcserial", slot.tty(0));
                    if matches!(slot.board.access(), HostAccess::ClaimedBy(_)) {
                        // Held through libusb by another program (QPST, a vendor tool): no
                        // serial driver and no port for Oasis to go through.
                        edl.driver = None;
                        edl.tty = None;
                    }
                    (
                        0x05C6,
                        if face == Shows::Dump { 0x900E } else { 0x9008 },
                        format!("QUSB__BULK_SN:{:08X}", profile.serial),
                        vec![edl],
                    )
                }
                Shows::Normal => {
                    // Interface 0 is DIAG (ff/ff/ff) on Qualcomm modules only.
                    let if0 = if profile.diag_port {
                        (0xff, 0xff, 0xff)
                    } else {
                        (0xff, 0x00, 0x00)
                    };
                    (
                        0x2C7C,
                        profile.usb_pid,
                        profile.model.clone(),
                        vec![
                            iface(0, if0, "option", slot.tty(0)),
                            iface(1, (0xff, 0x00, 0x00), "option", slot.tty(1)),
                            iface(2, (0xff, 0x00, 0x00), "option", slot.tty(2)),
                            iface(3, (0xff, 0x00, 0x00), "option", slot.tty(3)),
                        ],
                    )
                }
            };
            for i in ifaces.iter().filter(|i| i.tty.is_some()) {
                snap.serial.push(SerialPortInfo {
                    name: i.tty.clone().unwrap_or_default(),
                    vid: Some(vid),
                    pid: Some(pid),
                    interface: Some(i.number),
                    serial_number: None,
                    manufacturer: Some("Oasis virtual board".into()),
                    product: Some(product.clone()),
                });
            }
            snap.usb.push(UsbDeviceInfo {
                vid,
                pid,
                bcd_device: 0x0318,
                bus: 0,
                address: u8::try_from(slot.n).unwrap_or(u8::MAX),
                port_path: slot.port_path(),
                speed: Some("high (480 Mbit/s)".into()),
                manufacturer: Some("Oasis virtual board".into()),
                product: Some(product),
                serial: None,
                interfaces: ifaces,
                access: access(&slot.board),
            });
        }
        snap
    }

    fn open(&self, spec: &PortSpec) -> Result<Opened, TransportError> {
        let (board, face, n, iface) = self.find(spec)?;
        let gone = || {
            not_found(
                spec,
                "the board is not on the bus now (restarting or unplugged)",
            )
        };
        match (face, iface) {
            (Shows::Nothing, _) => Err(gone()),
            (Shows::Edl | Shows::Dump, None | Some(0)) => {
                // One device: its USB interface and its tty are the same claim.
                let claim = self.claim(format!("0-{n}"), spec)?;
                let kind = if iface.is_some() {
                    LinkKind::Stream
                } else {
                    LinkKind::Packet
                };
                let pid = if face == Shows::Dump { "900e" } else { "9008" };
                let at = match iface {
                    Some(_) => format!("vtty{n}.0"),
                    None => format!("usb 0-{n}"),
                };
                let name = format!(
                    "virtual {} on {at} (05c6:{pid}, QUSB__BULK_SN:{:08X})",
                    board.profile().name,
                    board.profile().serial
                );
                let link = board.try_connect_as(kind)?.named(name);
                Ok(Opened {
                    link: Box::new(link),
                    claim: Box::new(claim),
                    simulated: true,
                })
            }
            (Shows::Edl | Shows::Dump, Some(_)) => Err(not_found(
                spec,
                "a board in download mode has only interface 0",
            )),
            (Shows::Normal, None) => Err(not_found(
                spec,
                "the board runs its firmware: it is not in download mode",
            )),
            (Shows::Normal, Some(i)) => {
                if let Some((kind, why)) = board.open_refusal() {
                    return Err(
                        TransportError::new(kind, "open", spec.to_string()).with_detail(why)
                    );
                }
                // Interfaces 2 and 3 both reach the board's one AT command interpreter: one
                // claim for the two, so two openers never read each other's answers.
                let key = match i {
                    2 | 3 => format!("vtty{n}.at"),
                    _ => format!("vtty{n}.{i}"),
                };
                let claim = self.claim(key, spec)?;
                let link: Box<dyn Transport> = match i {
                    0 => Box::new(board.connect_dm().map_err(|e| {
                        TransportError::new(TransportErrorKind::Io, "open", spec.to_string())
                            .with_detail(e.to_string())
                    })?),
                    1 => Box::new(QuietLink(format!("vtty{n}.1 (NMEA)"))),
                    2 | 3 => Box::new(board.connect()),
                    _ => return Err(not_found(spec, "no such interface")),
                };
                Ok(Opened {
                    link,
                    claim: Box::new(claim),
                    simulated: true,
                })
            }
        }
    }

    fn alias(&self, name: &str) -> Result<Option<String>, TransportError> {
        let want = name.trim().to_ascii_lowercase();
        let known = self
            .state()
            .slots
            .iter()
            .find(|x| x.alias.as_deref() == Some(want.as_str()))
            .map(|x| format!("usb:{}", x.port_path()));
        if known.is_some() || !self.inner.on_demand {
            return Ok(known);
        }
        let Some(spec) = virtual_spec(name) else {
            return Ok(None);
        };
        let board = board_for(spec, "bg95").map_err(|e| {
            TransportError::new(TransportErrorKind::NotFound, "open", name.trim()).with_detail(
                format!("{e} (virtual profiles: {})", Profile::NAMES.join(", ")),
            )
        })?;
        let n = self.plug_as(board, Some(name));
        Ok(Some(format!("usb:{}", VirtualBus::port_path(n))))
    }
}

#[cfg(test)]
mod tests;
