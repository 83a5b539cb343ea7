//! The board itself: which program runs (PBL Sahara, Firehose programmer, normal firmware),
//! its storage, faults and outgoing queue, and what a reboot leads to. Links only move bytes
//! in and out of a [`Device`].

use std::time::{Duration, Instant};

use oasis_transport::TransportErrorKind;

use crate::at::{AtModem, find_revision};
use crate::diag::{DiagAction, DiagPort};
use crate::fault::FaultPlan;
use crate::firehose::FirehoseTarget;
use crate::options::{BoardOptions, HostAccess, ResetBehaviour, StartIn};
use crate::outbox::{Outbox, Pop};
use crate::profile::Profile;
use crate::sahara::SaharaTarget;
use crate::storage::Storage;

/// Time from DONE_RESP to the programmer's first log line (a real one needs tens of ms).
pub(crate) const PROGRAMMER_START: Duration = Duration::from_millis(30);

/// What a protocol target hands the board while handling host bytes.
pub(crate) struct Ctx<'a> {
    pub profile: &'a Profile,
    pub storage: &'a mut Storage,
    pub faults: &'a mut FaultPlan,
    pub out: &'a mut Outbox,
    pub notes: &'a mut Vec<String>,
    /// The bytes being handled arrived as one USB transfer (chunking can be judged).
    pub packet: bool,
    /// Simulated device busy time accumulated while handling them.
    pub busy: Duration,
    pub nand_rate: Option<u64>,
    /// Real-board behaviours of this board.
    pub quirks: &'a crate::quirks::Quirks,
}

impl Ctx<'_> {
    /// Record something the host did that a real board tolerates or refuses but a careful
    /// host should not do.
    pub fn note(&mut self, s: String) {
        if self.notes.len() < 1000 {
            self.notes.push(s);
        }
    }
}

/// What a target asks the board to do after handling input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    Stay,
    /// Sahara DONE answered: the programmer starts.
    StartProgrammer,
    /// Reboot (Sahara RESET, `power reset`).
    Reboot,
    /// `power off`.
    PowerOff,
    /// `power reset_to_edl`.
    RebootToEdl,
    /// The link disappears now (unplug fault).
    Unplug,
}

/// What runs on the board.
#[derive(Debug)]
pub(crate) enum Phase {
    Sahara(Box<SaharaTarget>),
    Firehose(Box<FirehoseTarget>),
    /// A programmer that never started: input is swallowed, nothing comes out.
    Dead,
    Modem(Box<AtModem>),
    Off,
}

/// Where a reboot leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Landing {
    Modem,
    Edl,
    Gone,
}

/// Result of a link reading from the board.
#[derive(Debug)]
pub(crate) enum Out {
    Data(Vec<u8>),
    NotYet(Instant),
    Nothing,
    Gone,
}

/// One virtual board.
#[derive(Debug)]
pub(crate) struct Device {
    pub profile: Profile,
    pub opts: BoardOptions,
    pub storage: Storage,
    pub faults: FaultPlan,
    pub out: Outbox,
    /// What the DM (DIAG) port has said and the host has not read yet.
    pub dm_out: Outbox,
    /// The DIAG task, while the firmware runs (normal mode on a Qualcomm module).
    dm: Option<DiagPort>,
    pub notes: Vec<String>,
    pub phase: Phase,
    host_bytes: u64,
    /// Links of an older generation are disconnected.
    pub generation: u64,
    /// The board left the bus; links see Disconnected.
    pub gone: bool,
    /// A reboot is pending: when the queue drains the link goes away and `landing` boots.
    closing: Option<Landing>,
    /// The pending reboot was asked on the DM port (it completes once the DM echo is read).
    closing_dm: bool,
    /// Where the last reboot landed.
    pub landed: Option<Landing>,
    pub revision: String,
    pub resets: u32,
    /// When the board was made (the flapping clock).
    created: Instant,
    /// Which on/off period of a flapping board was last seen.
    flap_period: u64,
    /// When the firmware booted, while its first AT answer is still to come (`slow-at-boot`).
    at_booting: Option<Instant>,
    /// A DM-port restart that happens at this instant whatever the host reads (`dm-no-echo`).
    dm_restart_at: Option<Instant>,
    /// 9008 refuses opens until this instant (`edl-busy-at-first`).
    edl_busy_until: Option<Instant>,
}

impl Device {
    pub fn new(profile: Profile, opts: BoardOptions) -> Self {
        let mut d = Self {
            storage: Storage::new(profile.storage.clone()),
            faults: FaultPlan::new(opts.faults.clone()),
            out: Outbox::default(),
            dm_out: Outbox::default(),
            dm: None,
            notes: Vec::new(),
            phase: Phase::Off,
            host_bytes: 0,
            generation: 0,
            gone: false,
            closing: None,
            closing_dm: false,
            landed: None,
            revision: profile.revision.clone(),
            resets: 0,
            created: Instant::now(),
            flap_period: 0,
            at_booting: None,
            dm_restart_at: None,
            edl_busy_until: None,
            profile,
            opts,
        };
        d.boot_start();
        d
    }

    /// Boot into the state the options start in.
    fn boot_start(&mut self) {
        match self.opts.start_in {
            StartIn::Edl => self.boot_edl(),
            StartIn::Firehose => {
                self.dm = None;
                self.phase = Phase::Firehose(Box::new(FirehoseTarget::new(
                    &self.profile,
                    &self.opts.quirks.programmer,
                )));
            }
            StartIn::Normal => self.boot_normal(false),
            StartIn::NormalAtSilent => self.boot_normal(true),
            StartIn::MemoryDump => {
                self.dm = None;
                let (mut ctx, phase) = self.ctx(false);
                let mut t = SaharaTarget::memory_dump(&ctx);
                t.start(&mut ctx);
                *phase = Phase::Sahara(Box::new(t));
            }
        }
    }

    fn ctx(&mut self, packet: bool) -> (Ctx<'_>, &mut Phase) {
        (
            Ctx {
                profile: &self.profile,
                storage: &mut self.storage,
                faults: &mut self.faults,
                out: &mut self.out,
                notes: &mut self.notes,
                packet,
                busy: Duration::ZERO,
                nand_rate: self.opts.model.nand_program_rate,
                quirks: &self.opts.quirks,
            },
            &mut self.phase,
        )
    }

    fn boot_edl(&mut self) {
        self.dm = None;
        let (mut ctx, phase) = self.ctx(false);
        let mut t = SaharaTarget::new(&ctx);
        t.start(&mut ctx);
        *phase = Phase::Sahara(Box::new(t));
    }

    fn boot_normal(&mut self, silent: bool) {
        let mut m = AtModem::new(&self.profile, self.revision.clone());
        if silent {
            m = m.silent();
        }
        let rdy = m.take_output();
        if self.opts.quirks.boot.slow_at_boot {
            // RDY comes when the firmware is up; input before then is lost.
            let now = Instant::now();
            self.at_booting = Some(now);
            let before = self.out.ready_at;
            self.out.ready_at = Some(now + crate::quirks::AT_BOOT);
            self.out.push(rdy);
            self.out.ready_at = before;
        } else {
            self.at_booting = None;
            self.out.push(rdy);
        }
        self.phase = Phase::Modem(Box::new(m));
        self.dm = self
            .profile
            .diag_port
            .then(|| DiagPort::new(&self.profile, &self.revision));
    }

    /// Whether the DM (DIAG) port is on the bus (normal mode on a Qualcomm module).
    pub fn has_dm_port(&self) -> bool {
        !self.gone && self.dm.is_some()
    }

    /// Whether the board offers a memory dump (05C6:900E).
    pub fn is_memory_dump(&self) -> bool {
        matches!(&self.phase, Phase::Sahara(s) if s.is_memory_dump())
    }

    /// The error every link gets when the host may not open the board's ports.
    pub fn access_error(&self) -> Option<(TransportErrorKind, String)> {
        if self.edl_busy_until.is_some_and(|t| Instant::now() < t) {
            return Some((
                TransportErrorKind::Busy,
                "the new 9008 port is still held (ModemManager probing it, udev setting permissions)"
                    .to_owned(),
            ));
        }
        match &self.opts.access {
            HostAccess::Open => None,
            HostAccess::ClaimedBy(who) => Some((
                TransportErrorKind::Busy,
                format!("the port is held by {who}"),
            )),
            HostAccess::NoPermission => Some((
                TransportErrorKind::PermissionDenied,
                "the OS refused to open the port (no udev rule / not in the dialout group)"
                    .to_owned(),
            )),
        }
    }

    /// Whether the board currently speaks AT (normal mode) rather than EDL protocols.
    pub fn is_normal(&self) -> bool {
        matches!(self.phase, Phase::Modem(_))
    }

    /// Short name of the current state.
    pub fn state_name(&self) -> &'static str {
        if self.gone {
            return "gone";
        }
        if self.closing.is_some() {
            return "rebooting";
        }
        match &self.phase {
            Phase::Sahara(s) if s.is_memory_dump() => "in memory-dump mode (Sahara)",
            Phase::Sahara(_) => "in EDL (Sahara)",
            Phase::Firehose(_) => "in EDL (Firehose programmer)",
            Phase::Dead => "in EDL (programmer not responding)",
            Phase::Modem(_) => "in normal mode",
            Phase::Off => "off",
        }
    }

    /// Host bytes arrive. Returns how many were taken (fewer when the board vanished midway)
    /// and the simulated time the board was busy.
    pub fn feed(&mut self, data: &[u8], packet: bool) -> (usize, Duration) {
        if self.gone || self.closing.is_some() || data.is_empty() {
            return (0, Duration::ZERO);
        }
        let mut take = data.len();
        let mut unplug = false;
        if let Some(limit) = self.faults.unplug_at_byte() {
            let left = limit.saturating_sub(self.host_bytes);
            if (take as u64) >= left {
                take = left as usize;
                unplug = true;
            }
        }
        self.host_bytes += take as u64;
        if let Some(lat) = self.opts.model.latency {
            self.out.ready_at = Some(Instant::now() + lat);
        }
        let (taken, busy, t) = self.dispatch(&data[..take], packet);
        if unplug || t == Transition::Unplug {
            self.unplug();
            return (taken.min(take), busy);
        }
        self.transition(t);
        (take, busy)
    }

    /// Host bytes arrive on the DM (DIAG) port. Returns how many were taken (none when there
    /// is no DM port or the board is restarting).
    pub fn feed_dm(&mut self, data: &[u8]) -> usize {
        if self.gone || self.closing.is_some() || data.is_empty() {
            return 0;
        }
        let Some(dm) = self.dm.as_mut() else {
            return 0;
        };
        let (mut out, mut notes) = (Vec::new(), Vec::new());
        let action = dm.feed(data, &mut out, &mut notes);
        if action == DiagAction::RebootToEdl && self.opts.quirks.boot.dm_no_echo {
            // This module takes the command without echoing it and drops off the bus later.
            out.clear();
            self.dm_restart_at = Some(Instant::now() + crate::quirks::DM_RESTART);
        }
        if let Some(lat) = self.opts.model.latency {
            self.dm_out.ready_at = Some(Instant::now() + lat);
        }
        self.dm_out.push(out);
        for n in notes {
            if self.notes.len() < 1000 {
                self.notes.push(n);
            }
        }
        if action == DiagAction::RebootToEdl {
            // The module drops off USB once the echo is out and comes back as 05C6:9008.
            self.closing = Some(Landing::Edl);
            self.closing_dm = true;
        }
        data.len()
    }

    /// Next transfer of the DM port for a link of generation `generation`.
    pub fn pop_dm(&mut self, generation: u64, now: Instant) -> Out {
        if self.gone || generation != self.generation {
            return Out::Gone;
        }
        match self.dm_out.pop(&self.storage, now) {
            Pop::Data(d) => Out::Data(d),
            Pop::NotYet(t) => Out::NotYet(t),
            Pop::Empty if self.closing.is_some() && self.closing_dm => {
                if self.dm_restart_at.is_some_and(|t| now < t) {
                    return Out::Nothing;
                }
                self.finish_reboot();
                Out::Gone
            }
            Pop::Empty if self.dm.is_none() => Out::Gone,
            Pop::Empty | Pop::Unplug => Out::Nothing,
        }
    }

    /// A pending reboot whose last answers have been read completes now (a real board does
    /// not wait for the host to look).
    pub fn settle(&mut self) {
        let drained = if self.closing_dm {
            self.dm_out.is_empty()
        } else {
            self.out.is_empty()
        };
        let held = self.closing_dm && self.dm_restart_at.is_some_and(|t| Instant::now() < t);
        if self.closing.is_some() && drained && !held {
            self.finish_reboot();
        }
    }

    /// Follow a flapping board's clock: off the bus every other period, a fresh boot at each
    /// return.
    pub fn sync(&mut self, now: Instant) {
        let Some(period) = self.opts.flap.filter(|p| !p.is_zero()) else {
            return;
        };
        let n = (now.saturating_duration_since(self.created).as_nanos() / period.as_nanos()) as u64;
        if n == self.flap_period {
            return;
        }
        self.flap_period = n;
        self.out.clear();
        self.dm_out.clear();
        self.closing = None;
        self.closing_dm = false;
        self.generation += 1;
        if n % 2 == 1 {
            self.gone = true;
            self.dm = None;
            self.phase = Phase::Off;
        } else {
            self.gone = false;
            self.resets += 1;
            self.boot_start();
        }
    }

    fn dispatch(&mut self, data: &[u8], packet: bool) -> (usize, Duration, Transition) {
        let mut booting = self.at_booting;
        let (mut ctx, phase) = self.ctx(packet);
        let (taken, t) = match phase {
            Phase::Sahara(s) => (data.len(), s.feed(&mut ctx, data)),
            Phase::Firehose(f) => f.feed(&mut ctx, data),
            Phase::Modem(m) => {
                match booting {
                    Some(t) if t.elapsed() < crate::quirks::AT_BOOT => {
                        // Still booting: the input is lost.
                    }
                    Some(_) => {
                        // The first answer after boot is late.
                        booting = None;
                        m.feed(data);
                        let before = ctx.out.ready_at;
                        ctx.out.ready_at = Some(Instant::now() + crate::quirks::AT_FIRST_ANSWER);
                        ctx.out.push(m.take_output());
                        ctx.out.ready_at = before;
                    }
                    None => {
                        m.feed(data);
                        ctx.out.push(m.take_output());
                    }
                }
                (data.len(), Transition::Stay)
            }
            Phase::Dead | Phase::Off => (data.len(), Transition::Stay),
        };
        let busy = ctx.busy;
        self.at_booting = booting;
        (taken, busy, t)
    }

    fn transition(&mut self, t: Transition) {
        match t {
            Transition::Stay | Transition::Unplug => {}
            Transition::StartProgrammer => {
                if self.faults.no_programmer() {
                    self.phase = Phase::Dead;
                    return;
                }
                let mut f = FirehoseTarget::new(&self.profile, &self.opts.quirks.programmer);
                // A real programmer takes tens of milliseconds to start after DONE_RESP: its
                // first logs never share a transfer (or a read) with the boot ROM's answer.
                let before = self.out.ready_at;
                let start = Instant::now() + PROGRAMMER_START;
                self.out.ready_at = Some(before.map_or(start, |b| b.max(start)));
                let (mut ctx, phase) = self.ctx(false);
                f.start(&mut ctx);
                *phase = Phase::Firehose(Box::new(f));
                self.out.ready_at = before;
            }
            Transition::Reboot => self.closing = Some(self.landing_after_reset()),
            Transition::PowerOff => self.closing = Some(Landing::Gone),
            Transition::RebootToEdl => self.closing = Some(Landing::Edl),
        }
    }

    fn landing_after_reset(&self) -> Landing {
        match self.opts.after_reset {
            ResetBehaviour::NeverComesBack => Landing::Gone,
            ResetBehaviour::BackInEdl => Landing::Edl,
            ResetBehaviour::Normal | ResetBehaviour::AtSilent => {
                let magic = self.storage.read(0, 0, 1);
                if self.opts.require_sbl && magic.get(..4) != Some(&[0xD1, 0xDC, 0x4B, 0x84]) {
                    Landing::Edl
                } else {
                    Landing::Modem
                }
            }
        }
    }

    /// The board leaves the bus now (unplug fault): unread output is lost.
    pub fn unplug(&mut self) {
        self.gone = true;
        self.opts.flap = None;
        self.out.clear();
        self.dm_out.clear();
        self.dm = None;
        self.phase = Phase::Off;
        self.landed = Some(Landing::Gone);
    }

    /// Finish a pending reboot: old links are cut and the board boots where it lands.
    pub fn finish_reboot(&mut self) {
        let Some(landing) = self.closing.take() else {
            return;
        };
        self.closing_dm = false;
        self.out.clear();
        self.dm_out.clear();
        self.dm = None;
        self.generation += 1;
        self.resets += 1;
        self.landed = Some(landing);
        self.faults = FaultPlan::new(Vec::new());
        self.dm_restart_at = None;
        if landing == Landing::Edl && self.opts.quirks.boot.edl_busy_at_first {
            // udev and ModemManager race the host for the new 9008 port.
            self.edl_busy_until = Some(Instant::now() + crate::quirks::EDL_BUSY);
        }
        match landing {
            Landing::Edl => self.boot_edl(),
            Landing::Gone => {
                self.phase = Phase::Off;
                self.gone = true;
            }
            Landing::Modem => {
                if let Some(r) = &self.opts.revision_after_reset {
                    self.revision = r.clone();
                } else if let Some(r) = self.scan_revision() {
                    self.revision = r;
                }
                self.boot_normal(self.opts.after_reset == ResetBehaviour::AtSilent);
            }
        }
    }

    fn scan_revision(&self) -> Option<String> {
        let mut found = None;
        let model = self.profile.model.clone();
        self.storage.for_each_run(|buf| {
            found = find_revision(buf, &model);
            found.is_some()
        });
        found
    }

    /// Next transfer for a link of generation `generation`.
    pub fn pop(&mut self, generation: u64, now: Instant) -> Out {
        if self.gone || generation != self.generation {
            return Out::Gone;
        }
        match self.out.pop(&self.storage, now) {
            Pop::Data(d) => Out::Data(d),
            Pop::NotYet(t) => Out::NotYet(t),
            Pop::Unplug => {
                self.unplug();
                Out::Gone
            }
            Pop::Empty if self.closing.is_some() && !self.closing_dm => {
                self.finish_reboot();
                Out::Gone
            }
            Pop::Empty => Out::Nothing,
        }
    }

    /// Whether a write by a link of `generation` can reach the board.
    pub fn accepts(&self, generation: u64) -> bool {
        !self.gone && generation == self.generation && self.closing.is_none()
    }

    /// Whether the board takes no new data now: a single-threaded programmer (or one that
    /// NAKed in the middle of raw data) with something the host has not read.
    pub fn holds_input(&self) -> bool {
        match &self.phase {
            Phase::Firehose(f) => f.holds_input() && !self.out.is_empty(),
            _ => false,
        }
    }

    /// Whether the running programmer waits for the host to read before taking data.
    pub fn holds_when_unread(&self) -> bool {
        matches!(&self.phase, Phase::Firehose(f) if f.holds_input())
    }

    /// The short-reads fault's piece size, if armed.
    pub fn short_reads(&self) -> Option<usize> {
        self.faults.short_reads()
    }
}
