//! The evidence lines of a diagnosis: what was seen, one fact per line, in words a technician
//! can read out over the phone ("05C6:9008 on USB port 1-1.4, interface ff/ff/ff, driver
//! qcserial").

use oasis_transport::enumerate::Accessibility;

use super::{DeviceView, Evidence, InterfaceView, State};
use crate::diag::at::{AtProbe, SimState, UsbNet};
use crate::diag::compat::is_test_root;
use crate::diag::timeline::describe;
use crate::diag::usb_table::{UsbMode, chip_name_for_hw_id};

/// Timeline events quoted at most.
const TIMELINE_LINES: usize = 8;

fn iface_text(i: &InterfaceView) -> String {
    let mut s = format!("interface {}: {}, {}", i.number, i.class, i.role.describe());
    if let Some(d) = &i.driver {
        s.push_str(&format!(", driver {d}"));
    }
    if let Some(t) = &i.tty {
        s.push_str(&format!(", port {t}"));
    }
    s
}

fn device_lines(v: &DeviceView, out: &mut Vec<String>) {
    let mut head = format!("{} on USB port {}", v.id, v.port_path);
    if let [only] = v.interfaces.as_slice() {
        head.push_str(&format!(", interface {}", only.class));
        if let Some(d) = &only.driver {
            head.push_str(&format!(", driver {d}"));
        }
        if let Some(t) = &only.tty {
            head.push_str(&format!(", port {t}"));
        }
    }
    if v.identity.mode == UsbMode::Normal {
        head.push_str(&format!(
            ": {} ({})",
            v.identity.family,
            v.identity.mode.describe()
        ));
    } else {
        head.push_str(&format!(": {}", v.identity.family));
    }
    out.push(head);
    if let Some(chip) = &v.identity.chip {
        out.push(format!("{}: chip {chip}", v.id));
    }
    if let Some(sn) = &v.serial {
        out.push(format!("{}: serial number {sn}", v.id));
    }
    if let Some(note) = &v.identity.note {
        out.push(format!("{}: note: {note}", v.id));
    }
    if v.interfaces.len() > 1 {
        out.extend(
            v.interfaces
                .iter()
                .map(|i| format!("{}: {}", v.id, iface_text(i))),
        );
    }
    match &v.access {
        Accessibility::PermissionDenied(d) => {
            out.push(format!("{}: this computer refused access ({d})", v.id))
        }
        Accessibility::Busy(d) if v.state == State::ClaimedByDriver => {
            out.push(format!("{}: held by another driver or program ({d})", v.id))
        }
        Accessibility::Busy(d) => {
            out.push(format!("{}: bound to {d}; Oasis can still reach it", v.id))
        }
        Accessibility::Accessible | Accessibility::Unknown => {}
    }
}

fn sim_text(s: &SimState) -> String {
    match s {
        SimState::Ready => "SIM ready".into(),
        SimState::PinRequired => "SIM waits for its PIN".into(),
        SimState::PukRequired => "SIM locked (PUK needed)".into(),
        SimState::NotInserted => "no SIM inserted".into(),
        SimState::Failure => "SIM failure".into(),
        SimState::Busy => "SIM busy".into(),
        SimState::Other(o) => format!("SIM: {o}"),
    }
}

fn usbnet_text(u: &UsbNet) -> String {
    match u {
        UsbNet::Rmnet => "network mode RmNet/QMI".into(),
        UsbNet::Ecm => "network mode ECM".into(),
        UsbNet::Mbim => "network mode MBIM".into(),
        UsbNet::Rndis => "network mode RNDIS".into(),
        UsbNet::Modem => "network mode: second modem port".into(),
        UsbNet::Other(o) => format!("network mode {o}"),
    }
}

/// Radio, SIM, USB and secure-boot facts of an answering AT port.
fn state_parts(p: &AtProbe) -> Vec<String> {
    let mut state = Vec::new();
    if let Some(c) = p.cfun {
        state.push(match c {
            1 => "radio on (CFUN 1)".to_string(),
            0 => "minimum function (CFUN 0)".to_string(),
            4 => "radio off (CFUN 4)".to_string(),
            n => format!("CFUN {n}"),
        });
    }
    state.extend(p.sim.as_ref().map(sim_text));
    state.extend(p.usbnet.as_ref().map(usbnet_text));
    if let Some(cfg) = &p.usbcfg {
        state.push(format!(
            "USB identity set to {:04X}:{:04X}",
            cfg.vid, cfg.pid
        ));
    }
    state.extend(p.secure_boot.map(|s| {
        if s {
            "secure boot ON"
        } else {
            "secure boot off"
        }
        .to_string()
    }));
    state
}

fn probe_lines(p: &AtProbe, out: &mut Vec<String>) {
    if let Some(e) = &p.error {
        out.push(format!(
            "AT port {} could not be used: {}",
            p.port, e.message
        ));
        return;
    }
    if !p.answered {
        out.push(format!(
            "AT port {} did not answer \"AT\" (asked twice)",
            p.port
        ));
        return;
    }
    let mut parts = Vec::new();
    let who: Vec<&str> = [p.manufacturer.as_deref(), p.model.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !who.is_empty() {
        parts.push(who.join(" "));
    }
    if let Some(r) = p.full_revision.as_ref().or(p.revision.as_ref()) {
        parts.push(format!("firmware {r}"));
    }
    if let Some(i) = &p.imei {
        parts.push(format!("IMEI {i}"));
    }
    out.push(format!("AT port {} answered: {}", p.port, parts.join(", ")));
    let state = state_parts(p);
    if !state.is_empty() {
        out.push(format!("AT port {}: {}", p.port, state.join(", ")));
    }
    if !p.urcs.is_empty() {
        out.push(format!(
            "AT port {}: unsolicited messages {}",
            p.port,
            p.urcs.join(" | ")
        ));
    }
}

fn chip_lines(ev: &Evidence, out: &mut Vec<String>) {
    let Some(c) = &ev.chip else { return };
    if let Some(h) = &c.hw_id {
        let name = c.chip.as_deref().or_else(|| chip_name_for_hw_id(h));
        out.push(match name {
            Some(n) => format!("chip identity: HW ID {h} ({n})"),
            None => format!("chip identity: HW ID {h}"),
        });
    }
    if let Some(pk) = &c.pk_hash {
        let short = pk.get(..16).unwrap_or(pk);
        out.push(if is_test_root(pk) {
            format!("chip key hash {short}…: a Qualcomm test key, so the board is not locked to signed programmers")
        } else {
            format!("chip key hash {short}…: the board only accepts programmers signed with this key")
        });
    }
    if let Some(s) = &c.serial {
        out.push(format!("chip serial number {s}"));
    }
}

/// Every evidence line, the diagnosed device first.
pub(super) fn lines<'a>(
    ev: &Evidence,
    devices: impl Iterator<Item = &'a DeviceView>,
    primary: Option<&DeviceView>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = &ev.snapshot.usb_error {
        out.push(format!("USB could not be listed: {e}"));
    }
    let devices: Vec<&DeviceView> = devices.collect();
    if devices.is_empty() && ev.snapshot.usb_error.is_none() {
        out.push("no Qualcomm or Quectel device on USB".to_string());
    }
    for v in &devices {
        device_lines(v, &mut out);
    }
    for s in ev.snapshot.serial.iter().filter(|s| s.vid.is_none()) {
        if let Some(p) = &s.product {
            out.push(format!("port {} (not on USB): {p}", s.name));
        }
    }
    for p in &ev.at {
        probe_lines(p, &mut out);
    }
    chip_lines(ev, &mut out);
    match ev.firehose_running {
        Some(true) => out.push("a programmer answered on the download-mode port".to_string()),
        Some(false) if primary.is_some() => {
            out.push("no programmer is running yet on the download-mode port".to_string())
        }
        _ => {}
    }
    if let Some(tl) = &ev.timeline {
        let skip = tl.len().saturating_sub(TIMELINE_LINES);
        out.extend(tl.iter().skip(skip).map(describe));
    }
    out
}
