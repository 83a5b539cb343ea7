//! The in-process virtual board and its links: `VirtualBoard::new(profile, options)`,
//! `board.connect()` → a [`Transport`] (the EDL pipe, or the AT port in normal mode),
//! `board.connect_dm()` → the DM (DIAG) port in normal mode, storage inspection, and what the
//! board became after a reset.
//!
//! Processing is synchronous: `write_all` feeds the board, which queues its answers; `read`
//! pops them. When nothing is queued, `read` returns `Timeout` at once (nothing can arrive
//! later on an in-process link); answers delayed by the link model are waited for up to the
//! read timeout, never longer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use oasis_transport::{LinkKind, Transport, TransportError, TransportErrorKind};

use crate::VdevError;
use crate::device::{Device, Landing, Out, Phase};
use crate::options::{BoardOptions, HostAccess};
use crate::profile::Profile;
use crate::storage::WrittenRange;

/// What the board is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BoardState {
    /// EDL, PBL speaking Sahara.
    Sahara,
    /// EDL, Firehose programmer running.
    Firehose,
    /// EDL, the programmer never started (nothing answers).
    ProgrammerDead,
    /// Crash / memory-dump mode (05C6:900E): Sahara HELLO offering mode 2.
    MemoryDump,
    /// Normal mode, AT modem.
    Normal,
    /// A reboot was requested; the link goes away once the host has read the last answer.
    Rebooting,
    /// Off the bus (powered off, unplugged, never came back).
    Gone,
}

/// What a board became after a reset.
#[derive(Debug)]
pub enum AfterReset {
    /// Normal mode: the AT port (a byte-stream link; `RDY` is waiting).
    Modem(VirtualLink),
    /// Back in EDL: a new link with a fresh Sahara HELLO waiting.
    Edl(VirtualLink),
    /// It did not come back.
    Gone,
}

/// A virtual board. Cloning gives another handle to the same board.
#[derive(Debug, Clone)]
pub struct VirtualBoard {
    dev: Arc<Mutex<Device>>,
}

fn lock(dev: &Mutex<Device>) -> MutexGuard<'_, Device> {
    let mut d = dev.lock().unwrap_or_else(|e| e.into_inner());
    d.sync(Instant::now());
    d
}

impl VirtualBoard {
    /// A new board with this profile, in the state `options.start_in` says (EDL by default).
    pub fn new(profile: Profile, options: BoardOptions) -> Self {
        Self {
            dev: Arc::new(Mutex::new(Device::new(profile, options))),
        }
    }

    /// A link to the board as it is now: the EDL pipe (Packet framing unless the options say
    /// Stream) or, in normal mode, the AT port (Stream).
    pub fn connect(&self) -> VirtualLink {
        self.connect_framed(None)
    }

    /// Like [`VirtualBoard::try_connect`], with the download-mode link framed as `kind`: the
    /// virtual bus opens `usb` as a packet link and the board's tty as a stream.
    pub fn try_connect_as(&self, kind: LinkKind) -> Result<VirtualLink, TransportError> {
        self.refuse_or(Some(kind))
    }

    fn refuse_or(&self, framing: Option<LinkKind>) -> Result<VirtualLink, TransportError> {
        match self.open_refusal() {
            Some((kind, why)) => {
                let name = format!("virtual {}", self.profile().name);
                Err(TransportError::new(kind, "open", name).with_detail(why))
            }
            None => Ok(self.connect_framed(framing)),
        }
    }

    /// Why the OS would refuse to open the board's ports now (Busy, PermissionDenied), if it
    /// would.
    pub fn open_refusal(&self) -> Option<(TransportErrorKind, String)> {
        lock(&self.dev).access_error()
    }

    fn connect_framed(&self, framing: Option<LinkKind>) -> VirtualLink {
        let mut d = lock(&self.dev);
        d.finish_reboot();
        let kind = if d.is_normal() {
            LinkKind::Stream
        } else {
            framing.unwrap_or_else(|| d.opts.link_kind())
        };
        VirtualLink {
            dev: self.dev.clone(),
            generation: d.generation,
            kind,
            name: format!(
                "virtual {} ({})",
                d.profile.name,
                if d.is_normal() {
                    "AT port"
                } else if d.is_memory_dump() {
                    "05c6:900e"
                } else {
                    "05c6:9008"
                }
            ),
            throughput: d.opts.model.throughput,
            current: VecDeque::new(),
            overslept: Duration::ZERO,
            dm: false,
        }
    }

    /// Open the board's link the way a host opens a port: fails (Busy, PermissionDenied) when
    /// the OS would refuse the open now, else [`VirtualBoard::connect`].
    pub fn try_connect(&self) -> Result<VirtualLink, TransportError> {
        self.refuse_or(None)
    }

    /// The DM (DIAG) port of a Qualcomm module in normal mode (interface 0 on EC2x/BG9x), a
    /// byte-stream link. It answers the download-mode command `4B 65 01 00 54 0F 7E` with the
    /// same bytes, then the board drops off the bus and comes back in EDL (a fresh
    /// [`VirtualBoard::connect`] finds the Sahara HELLO); other DIAG requests get a DIAG error
    /// reply. There is no DM port in download mode, nor on a module that is not Qualcomm.
    pub fn connect_dm(&self) -> Result<VirtualLink, VdevError> {
        let mut d = lock(&self.dev);
        d.settle();
        if !d.has_dm_port() {
            let reason = if d.profile.diag_port {
                format!("the board is {}", d.state_name())
            } else {
                format!("the {} is not a Qualcomm module", d.profile.model)
            };
            return Err(VdevError::NoDmPort {
                board: d.profile.name.clone(),
                reason,
            });
        }
        Ok(VirtualLink {
            dev: self.dev.clone(),
            generation: d.generation,
            kind: LinkKind::Stream,
            name: format!("virtual {} (DM port)", d.profile.name),
            throughput: d.opts.model.throughput,
            current: VecDeque::new(),
            overslept: Duration::ZERO,
            dm: true,
        })
    }

    /// What the board is doing now.
    ///
    /// A reboot whose last answer the host has read completes here: the board boots without
    /// waiting for the host to look, as a real one does.
    pub fn state(&self) -> BoardState {
        let mut d = lock(&self.dev);
        d.settle();
        match (d.gone, d.state_name(), &d.phase) {
            (true, _, _) => BoardState::Gone,
            (_, "rebooting", _) => BoardState::Rebooting,
            (_, _, Phase::Sahara(s)) if s.is_memory_dump() => BoardState::MemoryDump,
            (_, _, Phase::Sahara(_)) => BoardState::Sahara,
            (_, _, Phase::Firehose(_)) => BoardState::Firehose,
            (_, _, Phase::Dead) => BoardState::ProgrammerDead,
            (_, _, Phase::Modem(_)) => BoardState::Normal,
            (_, _, Phase::Off) => BoardState::Gone,
        }
    }

    /// What the board became after its last reset (finishing a pending reboot first).
    pub fn after_reset(&self) -> Result<AfterReset, VdevError> {
        let landed = {
            let mut d = lock(&self.dev);
            d.finish_reboot();
            match d.landed {
                Some(l) => l,
                None => {
                    return Err(VdevError::NotReset {
                        state: d.state_name(),
                    });
                }
            }
        };
        Ok(match landed {
            Landing::Modem => AfterReset::Modem(self.connect()),
            Landing::Edl => AfterReset::Edl(self.connect()),
            Landing::Gone => AfterReset::Gone,
        })
    }

    /// Read sectors of physical partition `lun` (unwritten sectors read as erased).
    pub fn read_storage(&self, lun: u32, start_sector: u64, sectors: u64) -> Vec<u8> {
        lock(&self.dev).storage.read(lun, start_sector, sectors)
    }

    /// Put data on the board's storage directly (e.g. the firmware it shipped with).
    pub fn write_storage(&self, lun: u32, start_sector: u64, data: &[u8]) -> Result<(), VdevError> {
        lock(&self.dev)
            .storage
            .overwrite(lun, start_sector, data)
            .map_err(|e| VdevError::BadOption {
                option: "write_storage",
                reason: e.to_string(),
            })
    }

    /// Runs of written sectors, by LUN and sector.
    pub fn written_ranges(&self) -> Vec<WrittenRange> {
        lock(&self.dev).storage.written_ranges()
    }

    /// NAND pages programmed over data without an erase first.
    pub fn nand_overwrites(&self) -> u64 {
        lock(&self.dev).storage.nand_overwrites()
    }

    /// Things the host did that a careful host should not (each with the board's reason).
    pub fn host_notes(&self) -> Vec<String> {
        lock(&self.dev).notes.clone()
    }

    /// The firmware revision the board reports (or will report) in normal mode.
    pub fn revision(&self) -> String {
        lock(&self.dev).revision.clone()
    }

    /// The board's profile.
    pub fn profile(&self) -> Profile {
        lock(&self.dev).profile.clone()
    }

    /// How many times the board has rebooted.
    pub fn resets(&self) -> u32 {
        lock(&self.dev).resets
    }

    /// The negotiated Firehose payload size, when a programmer runs.
    pub fn negotiated_payload(&self) -> Option<u64> {
        match &lock(&self.dev).phase {
            Phase::Firehose(f) => Some(f.payload),
            _ => None,
        }
    }

    /// Pull the board off the bus now (every link sees `Disconnected`).
    pub fn unplug(&self) {
        lock(&self.dev).unplug();
    }

    /// Whether the board takes host bytes now (false while a single-threaded programmer has
    /// something the host has not read).
    pub fn takes_input(&self) -> bool {
        !lock(&self.dev).holds_input()
    }

    /// Whether the board, when it has output the host has not read, takes no new data (a
    /// single-threaded programmer, or one that NAKed in the middle of raw data).
    pub fn holds_when_unread(&self) -> bool {
        lock(&self.dev).holds_when_unread()
    }

    /// Whether the host may open the board's ports (what the OS would report for it).
    pub fn access(&self) -> HostAccess {
        lock(&self.dev).opts.access.clone()
    }
}

impl VirtualLink {
    /// The same link under another name (what the bus calls the port it was opened as).
    #[must_use]
    pub fn named(mut self, name: String) -> Self {
        self.name = name;
        self
    }
}

/// One link to a virtual board (the EDL pipe or the AT port). Implements [`Transport`].
#[derive(Debug)]
pub struct VirtualLink {
    dev: Arc<Mutex<Device>>,
    generation: u64,
    kind: LinkKind,
    name: String,
    throughput: Option<u64>,
    /// Rest of a transfer the host's buffer could not take.
    current: VecDeque<u8>,
    /// How much longer than modelled the link's sleeps have lasted so far (the OS wakes a
    /// sleeper 50 µs or more late); paid back from the next modelled wait, so a run of many
    /// short waits takes the modelled time, not the modelled time plus one wake-up per wait.
    overslept: Duration,
    /// This is the DM (DIAG) port, not the EDL pipe / AT port.
    dm: bool,
}

impl VirtualLink {
    /// Spend `d` of modelled link or flash time.
    fn model_wait(&mut self, d: Duration) {
        let pay = self.overslept.min(d);
        self.overslept -= pay;
        let want = d - pay;
        if want.is_zero() {
            return;
        }
        let start = Instant::now();
        std::thread::sleep(want);
        self.overslept += start.elapsed().saturating_sub(want);
    }

    /// Spend the modelled transfer time of `bytes`.
    fn pace(&mut self, bytes: usize) {
        if let Some(r) = self.throughput.filter(|r| *r > 0) {
            self.model_wait(Duration::from_secs_f64(bytes as f64 / r as f64));
        }
    }

    fn err(&self, kind: TransportErrorKind, op: &'static str) -> TransportError {
        TransportError::new(kind, op, self.name.clone())
    }

    /// Next transfer from the board, waiting up to `deadline` for delayed ones.
    fn next_transfer(&mut self, deadline: Instant) -> Result<Option<Vec<u8>>, TransportError> {
        loop {
            let out = {
                let mut d = lock(&self.dev);
                if self.dm {
                    d.pop_dm(self.generation, Instant::now())
                } else {
                    d.pop(self.generation, Instant::now())
                }
            };
            match out {
                Out::Data(d) => return Ok(Some(d)),
                Out::Nothing => return Ok(None),
                Out::Gone => {
                    return Err(self
                        .err(TransportErrorKind::Disconnected, "read")
                        .with_detail("the virtual board left the bus"));
                }
                Out::NotYet(t) => {
                    let now = Instant::now();
                    if t > deadline {
                        std::thread::sleep(deadline.saturating_duration_since(now));
                        return Ok(None);
                    }
                    std::thread::sleep(t.saturating_duration_since(now));
                }
            }
        }
    }
}

impl VirtualLink {
    /// The next transfer the board has sent, whole and alone (what one USB read returns), or
    /// None when nothing is ready yet. The pty service (Unix only) writes these one by one so a
    /// serial host sees the packet boundaries a real board has.
    #[cfg(unix)]
    pub(crate) fn read_transfer(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        if !self.current.is_empty() {
            return Ok(Some(self.current.drain(..).collect()));
        }
        let got = self.next_transfer(Instant::now())?;
        if let Some(d) = &got {
            self.pace(d.len());
        }
        Ok(got)
    }
}

impl Transport for VirtualLink {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        let (taken, busy) = {
            let mut d = lock(&self.dev);
            if !self.dm && d.holds_input() {
                // The programmer does not read while the host has not read what it sent; the
                // host is in this write, so nothing changes until the write gives up.
                drop(d);
                std::thread::sleep(timeout);
                return Err(self
                    .err(TransportErrorKind::Timeout, "write")
                    .with_detail("the board takes no data while it has unread answers")
                    .with_written(0));
            }
            if let Some((kind, why)) = d.access_error() {
                return Err(self.err(kind, "write").with_detail(why).with_written(0));
            }
            if !d.accepts(self.generation) {
                return Err(self
                    .err(TransportErrorKind::Disconnected, "write")
                    .with_written(0));
            }
            if self.dm {
                (d.feed_dm(buf), Duration::ZERO)
            } else {
                d.feed(buf, self.kind == LinkKind::Packet)
            }
        };
        self.model_wait(busy);
        self.pace(taken);
        if taken < buf.len() {
            return Err(self
                .err(TransportErrorKind::Disconnected, "write")
                .with_detail("the virtual board left the bus")
                .with_written(taken));
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        if buf.is_empty() {
            return Err(self
                .err(TransportErrorKind::Io, "read")
                .with_detail("read into an empty buffer"));
        }
        let limit = {
            let d = lock(&self.dev);
            if let Some((kind, why)) = d.access_error() {
                return Err(self.err(kind, "read").with_detail(why));
            }
            d.short_reads().unwrap_or(usize::MAX).min(buf.len())
        };
        let deadline = Instant::now() + timeout;
        let mut n = 0;
        while n < limit {
            if self.current.is_empty() {
                if n > 0 && self.kind == LinkKind::Packet {
                    break;
                }
                match self.next_transfer(if n > 0 { Instant::now() } else { deadline }) {
                    Ok(Some(d)) => self.current.extend(d),
                    Ok(None) => break,
                    Err(e) if n > 0 && e.kind == TransportErrorKind::Disconnected => break,
                    Err(e) => return Err(e),
                }
            }
            let take = self.current.len().min(limit - n);
            for (slot, b) in buf[n..n + take].iter_mut().zip(self.current.drain(..take)) {
                *slot = b;
            }
            n += take;
        }
        if n == 0 {
            return Err(self.err(TransportErrorKind::Timeout, "read"));
        }
        self.pace(n);
        Ok(n)
    }

    fn link_kind(&self) -> LinkKind {
        self.kind
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
