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
use crate::options::{BoardOptions, HostAccess, StartIn};
use crate::profile::Profile;
use crate::quirks::Quirks;

/// States a `virtual:PROFILE@STATE` board can start in.
pub const START_STATES: &str = "edl, normal, programmer, dump";

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

/// The `PROFILE@STATE+QUIRK` part of `virtual[:…]`, or `None` when `port` is not virtual.
fn virtual_spec(port: &str) -> Option<&str> {
    let p = port.trim();
    if p.eq_ignore_ascii_case("virtual") {
        return Some("");
    }
    let head = p.get(..8)?;
    head.eq_ignore_ascii_case("virtual:")
        .then(|| p.get(8..))
        .flatten()
}

/// Where a `virtual:PROFILE@STATE` board starts.
fn start_state(word: &str) -> Result<StartIn, VdevError> {
    match word.trim().to_ascii_lowercase().as_str() {
        "" | "edl" | "9008" | "download" => Ok(StartIn::Edl),
        "normal" | "running" => Ok(StartIn::Normal),
        "programmer" | "firehose" => Ok(StartIn::Firehose),
        "dump" | "memory-dump" | "900e" => Ok(StartIn::MemoryDump),
        other => Err(VdevError::BadOption {
            option: "virtual board state",
            reason: format!(
                "unknown virtual board state '@{other}': write virtual:PROFILE@STATE with STATE one of {START_STATES}, e.g. virtual:eg25@normal"
            ),
        }),
    }
}

/// The board `PROFILE[@STATE][+QUIRK…]` names (an empty profile is `fallback`).
pub fn board_for(spec: &str, fallback: &str) -> Result<VirtualBoard, VdevError> {
    let mut parts = spec.split('+');
    let head = parts.next().unwrap_or_default();
    let quirk_names: Vec<&str> = parts.collect();
    let quirks = Quirks::parse(&quirk_names)?;
    let (name, state) = head.split_once('@').unwrap_or((head, ""));
    let name = if name.trim().is_empty() {
        fallback
    } else {
        name.trim()
    };
    let profile = Profile::by_name(name)?;
    let opts = BoardOptions {
        start_in: start_state(state)?,
        quirks,
        ..BoardOptions::default()
    };
    Ok(VirtualBoard::new(profile, opts))
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
mod tests {
    use super::*;

    fn fast() -> BusTiming {
        BusTiming {
            reenumerate: Duration::from_millis(50),
        }
    }

    fn wait_for(bus: &VirtualBus, what: &str, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
        // Bounded by a count of polls, not a clock: the board must show up eventually.
        for _ in 0..2000 {
            let s = bus.snapshot();
            if pred(&s) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("never saw {what}");
    }

    #[test]
    fn a_board_in_download_mode_is_a_9008_device_with_one_tty() {
        let bus = VirtualBus::new(fast());
        let n = bus.plug(board_for("bg95", "bg95").unwrap());
        let s = bus.snapshot();
        assert_eq!(s.usb.len(), 1);
        let d = &s.usb[0];
        assert_eq!((d.vid, d.pid), (0x05C6, 0x9008));
        assert_eq!(d.port_path, format!("0-{n}"));
        assert!(d.product.as_deref().unwrap().starts_with("QUSB__BULK_SN:"));
        assert_eq!(d.interfaces.len(), 1);
        assert_eq!(d.interfaces[0].tty.as_deref(), Some("vtty1.0"));
        assert_eq!(s.serial.len(), 1);
        assert_eq!(s.serial[0].pid, Some(0x9008));
    }

    #[test]
    fn a_module_in_normal_mode_shows_dm_nmea_at_and_modem() {
        let bus = VirtualBus::new(fast());
        bus.plug(board_for("eg25@normal", "bg95").unwrap());
        let s = bus.snapshot();
        let d = &s.usb[0];
        assert_eq!((d.vid, d.pid), (0x2C7C, 0x0125));
        let ttys: Vec<&str> = d
            .interfaces
            .iter()
            .filter_map(|i| i.tty.as_deref())
            .collect();
        assert_eq!(ttys, ["vtty1.0", "vtty1.1", "vtty1.2", "vtty1.3"]);
        assert_eq!(
            (d.interfaces[0].class, d.interfaces[0].subclass),
            (0xff, 0xff)
        );
        // The AT port answers AT; the USB device is not in download mode.
        let mut at = bus.open(&PortSpec::Serial("vtty1.2".into())).unwrap();
        at.link
            .write_all(b"AT\r", Duration::from_millis(100))
            .unwrap();
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        for _ in 0..50 {
            if let Ok(k) = at.link.read(&mut buf, Duration::from_millis(20)) {
                got.extend_from_slice(&buf[..k]);
            }
            if String::from_utf8_lossy(&got).contains("OK") {
                break;
            }
        }
        assert!(String::from_utf8_lossy(&got).contains("OK"), "{got:?}");
        let e = bus.open(&PortSpec::parse("usb:0-1")).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::NotFound);
        assert!(e.to_string().contains("not in download mode"), "{e}");
    }

    #[test]
    fn usb_opens_as_packets_the_tty_as_a_stream_and_a_second_open_is_busy() {
        let bus = VirtualBus::new(fast());
        bus.plug(board_for("bg95", "bg95").unwrap());
        let usb = bus.open(&PortSpec::parse("usb")).unwrap();
        assert_eq!(usb.link.link_kind(), LinkKind::Packet);
        let e = bus.open(&PortSpec::Serial("vtty1.0".into())).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Busy, "{e}");
        drop(usb);
        let tty = bus.open(&PortSpec::Serial("vtty1.0".into())).unwrap();
        assert_eq!(tty.link.link_kind(), LinkKind::Stream);
        let e = bus.open(&PortSpec::Serial("vtty7.0".into())).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::NotFound);
    }

    #[test]
    fn usb_any_with_two_boards_in_download_mode_names_them() {
        let bus = VirtualBus::new(fast());
        bus.plug(board_for("bg95", "bg95").unwrap());
        bus.plug(board_for("eg25", "bg95").unwrap());
        let e = bus.open(&PortSpec::parse("usb")).unwrap_err();
        assert!(e.to_string().contains("usb:0-1, usb:0-2"), "{e}");
        assert!(bus.open(&PortSpec::parse("usb:0-2")).is_ok());
    }

    #[test]
    fn a_switched_module_leaves_the_bus_and_comes_back_as_9008() {
        let bus = VirtualBus::new(fast());
        bus.plug(board_for("eg25@normal", "bg95").unwrap());
        assert_eq!(bus.snapshot().usb[0].pid, 0x0125);
        {
            let mut dm = bus.open(&PortSpec::Serial("vtty1.0".into())).unwrap();
            dm.link
                .write_all(
                    &[0x4B, 0x65, 0x01, 0x00, 0x54, 0x0F, 0x7E],
                    Duration::from_millis(100),
                )
                .unwrap();
            let mut buf = [0u8; 16];
            let _ = dm.link.read(&mut buf, Duration::from_millis(100));
        }
        // Right after the switch the module is off the bus; opens fail NotFound.
        let gone = bus.snapshot();
        assert!(gone.usb.is_empty(), "{gone:?}");
        assert_eq!(
            bus.open(&PortSpec::parse("usb:0-1")).unwrap_err().kind,
            TransportErrorKind::NotFound
        );
        let back = wait_for(&bus, "9008", |s| s.usb.iter().any(|d| d.pid == 0x9008));
        assert_eq!(back.usb[0].port_path, "0-1");
        assert!(bus.open(&PortSpec::parse("usb:0-1")).is_ok());
    }

    #[test]
    fn an_alias_names_the_board_made_for_it_and_unplugging_removes_it() {
        let (bus, board) = VirtualBus::for_port("virtual:eg25@normal", "bg95", fast())
            .unwrap()
            .unwrap();
        assert_eq!(board.state(), BoardState::Normal);
        assert_eq!(
            bus.alias("Virtual:EG25@normal").unwrap().as_deref(),
            Some("usb:0-1")
        );
        assert_eq!(bus.alias("virtual:bg95").unwrap(), None);
        assert!(
            VirtualBus::for_port("/dev/ttyUSB0", "bg95", fast())
                .unwrap()
                .is_none()
        );
        let e = VirtualBus::for_port("virtual:eg25@sleeping", "bg95", fast()).unwrap_err();
        assert!(e.to_string().contains("@sleeping"), "{e}");
        let e = VirtualBus::for_port("virtual:nosuch", "bg95", fast()).unwrap_err();
        assert!(e.to_string().contains("nosuch"), "{e}");
        assert!(bus.unplug(1));
        assert!(bus.snapshot().usb.is_empty());
        assert!(!bus.unplug(9));
    }

    #[test]
    fn an_on_demand_bus_makes_the_board_a_name_asks_for_once() {
        let bus = VirtualBus::on_demand(fast());
        assert_eq!(bus.alias("/dev/ttyUSB0").unwrap(), None);
        assert_eq!(
            bus.alias("virtual:eg25@normal").unwrap().as_deref(),
            Some("usb:0-1")
        );
        assert_eq!(
            bus.alias("virtual:eg25@normal").unwrap().as_deref(),
            Some("usb:0-1")
        );
        assert_eq!(bus.alias("virtual").unwrap().as_deref(), Some("usb:0-2"));
        assert_eq!(bus.board(2).unwrap().profile().name, "bg95");
        let e = bus.alias("virtual:2").unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::NotFound);
        assert!(e.to_string().contains("profile \"2\""), "{e}");
        assert!(e.to_string().contains("eg25"), "{e}");
        assert_eq!(bus.boards().len(), 2);
    }

    #[test]
    fn a_board_claimed_by_another_program_is_listed_busy_and_refuses_the_open() {
        let bus = VirtualBus::new(fast());
        let opts = BoardOptions {
            access: HostAccess::ClaimedBy("ModemManager".into()),
            ..BoardOptions::default()
        };
        bus.plug(VirtualBoard::new(Profile::bg95(), opts));
        let s = bus.snapshot();
        assert_eq!(s.usb[0].access, Accessibility::Busy("ModemManager".into()));
        let e = bus.open(&PortSpec::parse("usb")).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Busy);
    }
}
