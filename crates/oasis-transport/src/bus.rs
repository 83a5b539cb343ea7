//! The device bus: the one way Oasis lists and opens boards.
//!
//! A [`Bus`] answers two questions: what is attached now ([`Bus::snapshot`], USB devices with
//! their serial ports, the evidence the diagnosis reads) and "open this port"
//! ([`Bus::open`], which hands back the link together with its claim on the port, so every
//! caller is locked the same way). The engine never opens a port any other way.
//!
//! [`SystemBus`] is the machine's own: sysfs/libusb enumeration, serial ports and libusb
//! devices, each open claimed with a [`PortLock`] (one Oasis process per port). The virtual
//! boards of `oasis-vdev` come as another bus whose boards appear as USB devices with serial
//! ports, exactly as real ones do; [`JoinedBus`] puts several buses side by side (the app's
//! real boards plus its demo boards). [`LinkBus`] holds one link a caller opened itself (a
//! test's in-process board, a replayed transcript) under a port name, so a job started on it
//! takes the same path as any other.
//!
//! A bus may also give a name of its own a meaning ([`Bus::alias`]): the virtual bus maps
//! `virtual:eg25@normal` to the USB path of the board it made for it. Names the user typed
//! stay what the user sees; only the open follows the alias.

use std::fmt;
use std::sync::Arc;

use crate::enumerate::Snapshot;
use crate::lock::PortLock;
use crate::{PortSpec, Transport, TransportError, TransportErrorKind};

/// A claim on an opened port, released when dropped (a [`PortLock`] on the system bus).
pub trait Claim: Send + fmt::Debug {}

impl Claim for PortLock {}

/// An opened port: the link and the claim that keeps other openers out while it lives.
pub struct Opened {
    /// The link to the board.
    pub link: Box<dyn Transport>,
    /// The claim on the port; drop it (after the link) to let others in.
    pub claim: Box<dyn Claim>,
    /// True when the board is simulated (a virtual board), not hardware: what only a
    /// simulated board may be given (Oasis's demo package) is refused on anything else.
    pub simulated: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("link", &self.link.describe())
            .field("claim", &self.claim)
            .field("simulated", &self.simulated)
            .finish()
    }
}

/// Where boards are listed and opened.
pub trait Bus: Send + Sync {
    /// A short description ("this computer", "virtual boards").
    fn describe(&self) -> String;
    /// What is attached now. Never blocks long and never disturbs a board.
    fn snapshot(&self) -> Snapshot;
    /// Open `spec`, claiming the port. A port this bus does not have is `NotFound`.
    fn open(&self, spec: &PortSpec) -> Result<Opened, TransportError>;
    /// The port name this bus gives `name`, when `name` is one of its own aliases
    /// (`virtual:eg25` on the virtual bus); `None` for ordinary names; an error when `name` is
    /// of the bus's own form but names nothing it can have (an unknown virtual profile).
    fn alias(&self, name: &str) -> Result<Option<String>, TransportError> {
        let _ = name;
        Ok(None)
    }
}

/// A shared handle to a bus; the default is the [`SystemBus`].
#[derive(Clone)]
pub struct BusHandle(Arc<dyn Bus>);

impl BusHandle {
    /// Share `bus`.
    pub fn new(bus: impl Bus + 'static) -> Self {
        Self(Arc::new(bus))
    }

    /// Share an already shared bus.
    pub fn from_arc(bus: Arc<dyn Bus>) -> Self {
        Self(bus)
    }

    /// The machine's own bus.
    pub fn system() -> Self {
        Self::new(SystemBus)
    }

    /// What is attached now.
    pub fn snapshot(&self) -> Snapshot {
        self.0.snapshot()
    }

    /// Open `spec`, claiming the port.
    pub fn open(&self, spec: &PortSpec) -> Result<Opened, TransportError> {
        self.0.open(spec)
    }

    /// Open a serial port by name (AT, DM ports), claiming it.
    pub fn open_serial(&self, name: &str) -> Result<Opened, TransportError> {
        self.0.open(&PortSpec::Serial(name.to_owned()))
    }

    /// What `name` means on this bus: its alias target, or `name` itself.
    pub fn resolve(&self, name: &str) -> Result<String, TransportError> {
        Ok(self.0.alias(name)?.unwrap_or_else(|| name.to_owned()))
    }

    /// Whether `name` is one of this bus's aliases.
    pub fn has_alias(&self, name: &str) -> bool {
        matches!(self.0.alias(name), Ok(Some(_)))
    }

    /// A short description of the bus.
    pub fn describe(&self) -> String {
        self.0.describe()
    }
}

impl Default for BusHandle {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for BusHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BusHandle")
            .field(&self.0.describe())
            .finish()
    }
}

/// This computer: enumeration from sysfs/libusb, serial ports, libusb devices, and a
/// [`PortLock`] on every open.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemBus;

impl Bus for SystemBus {
    fn describe(&self) -> String {
        "this computer".to_owned()
    }

    fn snapshot(&self) -> Snapshot {
        crate::enumerate::snapshot()
    }

    fn open(&self, spec: &PortSpec) -> Result<Opened, TransportError> {
        let lock = PortLock::acquire(&spec.to_string())?;
        let link = crate::open(spec)?;
        Ok(Opened {
            link,
            claim: Box::new(lock),
            simulated: false,
        })
    }
}

/// A port that opens but never answers (a module's NMEA port, to AT; a stand-in in tests).
#[derive(Debug)]
pub struct QuietLink(pub String);

impl Transport for QuietLink {
    fn write_all(&mut self, _: &[u8], _: std::time::Duration) -> Result<(), TransportError> {
        Ok(())
    }
    fn read(
        &mut self,
        _: &mut [u8],
        timeout: std::time::Duration,
    ) -> Result<usize, TransportError> {
        // Nothing ever comes: wait a little of the timeout, as a real port would, then say so.
        std::thread::sleep(timeout.min(std::time::Duration::from_millis(5)));
        Err(TransportError::new(
            TransportErrorKind::Timeout,
            "read",
            &self.0,
        ))
    }
    fn link_kind(&self) -> crate::LinkKind {
        crate::LinkKind::Stream
    }
    fn describe(&self) -> String {
        self.0.clone()
    }
}

/// Several buses side by side: snapshots are joined; an open goes to the first bus that has
/// the port (one that says `NotFound` passes it on).
#[derive(Debug)]
pub struct JoinedBus(Vec<BusHandle>);

impl JoinedBus {
    /// Join `buses`, asked in this order.
    pub fn new(buses: Vec<BusHandle>) -> Self {
        Self(buses)
    }
}

impl JoinedBus {
    /// The bus whose listing shows the port `spec` names (a USB path, a serial port name). The
    /// last bus is not listed for this: it is asked anyway when no earlier one has the port, and
    /// its listing may be the costly one (this computer's).
    fn owner(&self, spec: &PortSpec) -> Option<&BusHandle> {
        let earlier = self.0.len().saturating_sub(1);
        self.0.iter().take(earlier).find(|b| {
            let snap = b.snapshot();
            match spec {
                PortSpec::Usb(crate::UsbSelector::Path(p)) => {
                    snap.usb.iter().any(|d| d.port_path == *p)
                }
                PortSpec::Serial(name) => snap.serial.iter().any(|s| s.name == *name),
                PortSpec::Usb(_) => false,
            }
        })
    }
}

impl Bus for JoinedBus {
    fn describe(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(BusHandle::describe).collect();
        parts.join(" + ")
    }

    fn snapshot(&self) -> Snapshot {
        let mut all = Snapshot::default();
        for bus in &self.0 {
            let s = bus.snapshot();
            all.usb.extend(s.usb);
            all.serial.extend(s.serial);
            if all.usb_error.is_none() {
                all.usb_error = s.usb_error;
            }
        }
        all
    }

    fn open(&self, spec: &PortSpec) -> Result<Opened, TransportError> {
        // A bus that lists the port gets it, and its answer is the answer.
        if let Some(bus) = self.owner(spec) {
            return bus.open(spec);
        }
        let mut errors = Vec::new();
        for bus in &self.0 {
            match bus.open(spec) {
                Ok(o) => return Ok(o),
                Err(e) => errors.push(e),
            }
        }
        // The most telling refusal: a real one (busy, permission), then "no USB here", then
        // "not found".
        let rank = |e: &TransportError| match e.kind {
            TransportErrorKind::NotFound => 2,
            TransportErrorKind::Unsupported => 1,
            _ => 0,
        };
        errors.sort_by_key(rank);
        errors.into_iter().next().map_or_else(
            || {
                Err(
                    TransportError::new(TransportErrorKind::NotFound, "open", spec.to_string())
                        .with_detail("no bus to open it on"),
                )
            },
            Err,
        )
    }

    fn alias(&self, name: &str) -> Result<Option<String>, TransportError> {
        for bus in &self.0 {
            if let Some(a) = bus.0.alias(name)? {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }
}

/// A bus holding one link the caller opened itself (an in-process virtual board in a test, a
/// replayed transcript, a bench's link): it lists that one port under its name, as a serial
/// port, and hands the link out on the first open of that name, so a job started on it runs
/// the path every other job runs. The link is handed out once: a second open of the name is
/// refused `NotFound`, saying so (and the port is no longer listed, so a [`JoinedBus`] asks its
/// next bus). Names it does not hold are not its own.
pub struct LinkBus {
    name: String,
    link: std::sync::Mutex<Option<Box<dyn Transport>>>,
}

/// The claim of a [`LinkBus`] link: the caller opened the link and owns its port.
#[derive(Debug)]
struct HeldByCaller;

impl Claim for HeldByCaller {}

impl LinkBus {
    /// Hold `link` under the port name `name`.
    pub fn new(name: impl Into<String>, link: Box<dyn Transport>) -> Self {
        Self {
            name: name.into().trim().to_owned(),
            link: std::sync::Mutex::new(Some(link)),
        }
    }

    /// `link` under `name`, joined in front of `rest`: an open of `name` gets the link, every
    /// other port (an AT port, the boards of a virtual bus) is opened on `rest`.
    pub fn before(name: impl Into<String>, link: Box<dyn Transport>, rest: BusHandle) -> BusHandle {
        BusHandle::new(JoinedBus::new(vec![
            BusHandle::new(Self::new(name, link)),
            rest,
        ]))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Box<dyn Transport>>> {
        self.link
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `spec` names the held port.
    fn names(&self, spec: &PortSpec) -> bool {
        spec.to_string() == PortSpec::parse(&self.name).to_string()
    }
}

impl fmt::Debug for LinkBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkBus")
            .field("name", &self.name)
            .field("held", &self.held().is_some())
            .finish()
    }
}

impl Bus for LinkBus {
    fn describe(&self) -> String {
        format!("the link {}", self.name)
    }

    fn snapshot(&self) -> Snapshot {
        if self.held().is_none() {
            return Snapshot::default();
        }
        Snapshot {
            serial: vec![crate::enumerate::SerialPortInfo::named(self.name.clone())],
            ..Snapshot::default()
        }
    }

    fn open(&self, spec: &PortSpec) -> Result<Opened, TransportError> {
        if !self.names(spec) {
            return Err(TransportError::new(
                TransportErrorKind::NotFound,
                "open",
                spec.to_string(),
            )
            .with_detail(format!("not the link {} the caller opened", self.name)));
        }
        match self.held().take() {
            Some(link) => Ok(Opened {
                link,
                claim: Box::new(HeldByCaller),
                simulated: false,
            }),
            None => Err(TransportError::new(
                TransportErrorKind::NotFound,
                "open",
                spec.to_string(),
            )
            .with_detail(
                "the link the caller opened for this port was already handed out (it opens once)",
            )),
        }
    }

    /// A held name means itself, here first: a `virtual:eg25` held is this link, not a board
    /// a virtual bus behind would make for the name.
    fn alias(&self, name: &str) -> Result<Option<String>, TransportError> {
        Ok((name.trim() == self.name).then(|| self.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enumerate::SerialPortInfo;
    use std::sync::Mutex;

    #[derive(Debug)]
    struct NoClaim;
    impl Claim for NoClaim {}

    /// A bus with fixed port names that records what it was asked to open.
    struct Fixed {
        ports: Vec<&'static str>,
        asked: Mutex<Vec<String>>,
    }

    impl Bus for Fixed {
        fn describe(&self) -> String {
            format!("fixed {}", self.ports.join(","))
        }
        fn snapshot(&self) -> Snapshot {
            Snapshot {
                serial: self
                    .ports
                    .iter()
                    .map(|p| SerialPortInfo::named((*p).to_owned()))
                    .collect(),
                ..Snapshot::default()
            }
        }
        fn open(&self, spec: &PortSpec) -> Result<Opened, TransportError> {
            let name = spec.to_string();
            if let Ok(mut a) = self.asked.lock() {
                a.push(name.clone());
            }
            if self.ports.contains(&name.as_str()) {
                Ok(Opened {
                    link: Box::new(QuietLink(name)),
                    claim: Box::new(NoClaim),
                    simulated: false,
                })
            } else {
                Err(TransportError::new(
                    TransportErrorKind::NotFound,
                    "open",
                    name,
                ))
            }
        }
        fn alias(&self, name: &str) -> Result<Option<String>, TransportError> {
            Ok((name == "first").then(|| self.ports[0].to_owned()))
        }
    }

    fn fixed(ports: Vec<&'static str>) -> BusHandle {
        BusHandle::new(Fixed {
            ports,
            asked: Mutex::new(Vec::new()),
        })
    }

    #[test]
    fn a_joined_bus_lists_all_and_opens_where_the_port_is() {
        let bus = JoinedBus::new(vec![fixed(vec!["A", "B"]), fixed(vec!["C"])]);
        let names: Vec<String> = bus.snapshot().serial.into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["A", "B", "C"]);
        let opened = bus.open(&PortSpec::Serial("C".into())).unwrap();
        assert_eq!(opened.link.describe(), "C");
        let e = bus.open(&PortSpec::Serial("D".into())).unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::NotFound);
        // The bus that lists a port answers for it alone: B is asked once, of the first bus.
        assert!(bus.open(&PortSpec::Serial("B".into())).is_ok());
        assert_eq!(bus.alias("first").unwrap().as_deref(), Some("A"));
        assert_eq!(bus.alias("other").unwrap(), None);
    }

    #[test]
    fn a_handle_resolves_aliases_and_leaves_other_names_alone() {
        let bus = fixed(vec!["X"]);
        assert_eq!(bus.resolve("first").unwrap(), "X");
        assert!(bus.has_alias("first"));
        assert_eq!(bus.resolve("/dev/ttyUSB0").unwrap(), "/dev/ttyUSB0");
        assert!(format!("{bus:?}").contains("fixed X"));
    }

    #[test]
    fn the_system_bus_claims_the_port_before_it_opens() {
        // No such port: the open fails NotFound (or similar), and the claim is let go, so a
        // second try gets the same answer rather than Busy.
        let spec = PortSpec::Serial("/nonexistent/oasis-bus-test".into());
        let first = SystemBus.open(&spec).unwrap_err();
        let second = SystemBus.open(&spec).unwrap_err();
        assert_ne!(first.kind, TransportErrorKind::Busy, "{first}");
        assert_eq!(first.kind, second.kind);
    }

    #[test]
    fn a_link_bus_hands_its_link_out_once() {
        let bus = LinkBus::new("virtual:eg25", Box::new(QuietLink("held".into())));
        let names: Vec<String> = bus.snapshot().serial.into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["virtual:eg25"]);
        // A held virtual name means itself: no virtual bus behind makes a board for it.
        assert_eq!(
            bus.alias("virtual:eg25").unwrap().as_deref(),
            Some("virtual:eg25")
        );
        assert_eq!(bus.alias("virtual:bg95").unwrap(), None);
        let spec = PortSpec::Serial("virtual:eg25".into());
        let first = bus.open(&spec).unwrap();
        assert_eq!(first.link.describe(), "held");
        assert!(!first.simulated);
        let second = bus.open(&spec).unwrap_err();
        assert_eq!(second.kind, TransportErrorKind::NotFound);
        assert!(
            second.to_string().contains("already handed out"),
            "{second}"
        );
        // Handed out, it is no longer listed.
        assert!(bus.snapshot().serial.is_empty());
        let other = bus
            .open(&PortSpec::Serial("/dev/ttyUSB2".into()))
            .unwrap_err();
        assert_eq!(other.kind, TransportErrorKind::NotFound);
    }

    #[test]
    fn a_link_bus_in_front_passes_other_names_on() {
        let bus = LinkBus::before(
            "/dev/pts/7",
            Box::new(QuietLink("held".into())),
            fixed(vec!["AT"]),
        );
        let names: Vec<String> = bus.snapshot().serial.into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["/dev/pts/7", "AT"]);
        assert_eq!(bus.resolve("/dev/pts/7").unwrap(), "/dev/pts/7");
        // The rest's aliases still answer.
        assert_eq!(bus.resolve("first").unwrap(), "AT");
        assert_eq!(bus.open_serial("AT").unwrap().link.describe(), "AT");
        assert_eq!(
            bus.open_serial("/dev/pts/7").unwrap().link.describe(),
            "held"
        );
        let again = bus.open_serial("/dev/pts/7").unwrap_err();
        assert!(again.to_string().contains("already handed out"), "{again}");
        assert!(
            bus.describe().starts_with("the link /dev/pts/7 + "),
            "{}",
            bus.describe()
        );
    }
}
