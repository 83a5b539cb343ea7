//! `--port usb` on a module in normal mode (a 2C7C composite, no 9008): send diag's
//! switch-to-download command on its DM port, follow it (bounded) until it reappears as
//! 05C6:9008, and open that.

use std::time::Duration;

use oasis_transport::enumerate::UsbDeviceInfo;
use oasis_transport::{BusHandle, Opened, PortSpec, UsbSelector};

use crate::Help;
use crate::diag::DiagError;
use crate::diag::at::{AtProbe, ProbeConfig, probe_on};
use crate::diag::dload::{SwitchOutcome, follow_to_edl, switch_to_edl};
use crate::diag::ports::at_ports;
use crate::diag::usb_table::{Role, UsbMode, device_roles, identify_device};
use crate::error::EngineError;
use crate::options::Timeouts;
use crate::progress::Emitter;

/// How often the USB bus is looked at while the module restarts (qdl polls every 250 ms).
const POLL: Duration = Duration::from_millis(250);

fn diag_error(e: &DiagError) -> EngineError {
    EngineError::Protocol {
        what: e.to_string(),
        device_log: Vec::new(),
        help: e.help().map(String::from),
    }
}

pub(crate) fn selected(dev: &UsbDeviceInfo, sel: &UsbSelector) -> bool {
    match sel {
        UsbSelector::Any => true,
        UsbSelector::Path(p) => dev.port_path == *p,
        UsbSelector::Serial(s) => dev.serial.as_deref() == Some(s.as_str()),
    }
}

/// Modules in normal mode that `sel` names.
pub fn normal_mode_modules<'a>(
    devices: &'a [UsbDeviceInfo],
    sel: &UsbSelector,
) -> Vec<&'a UsbDeviceInfo> {
    devices
        .iter()
        .filter(|d| identify_device(d).is_some_and(|i| i.mode == UsbMode::Normal))
        .filter(|d| selected(d, sel))
        .collect()
}

/// The serial port of a module's DM interface.
pub fn dm_port(dev: &UsbDeviceInfo) -> Option<String> {
    let (num, _) = device_roles(dev)
        .into_iter()
        .find(|(_, r)| *r == Role::Diag)?;
    dev.interfaces
        .iter()
        .find(|i| i.number == num)
        .and_then(|i| i.tty.clone())
}

/// What became of the download-mode command sent to a module's DM port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// The module echoed it; it restarts.
    Echoed,
    /// The DM port went away before the echo: the module restarts.
    PortGone,
    /// No echo: not every module echoes, and it restarts anyway (QFirehose looks for 9008
    /// regardless).
    NoEcho,
}

impl Sent {
    /// In plain words ("the module echoed it").
    pub fn describe(self) -> &'static str {
        match self {
            Sent::Echoed => "the module echoed it",
            Sent::PortGone => "the DM port went away at once",
            Sent::NoEcho => "the module did not echo it",
        }
    }
}

/// Send the download-mode command to the DM port of module `dev` (found from its interface
/// roles, opened on `bus` and claimed while it is used). Nothing is followed: the module
/// restarts and comes back as 05C6:9008 by itself, which the bus then lists. Returns the DM
/// port and what became of the command.
pub fn switch_module(
    bus: &BusHandle,
    dev: &UsbDeviceInfo,
    timeout: Duration,
) -> Result<(String, Sent), EngineError> {
    let Some(tty) = dm_port(dev) else {
        return Err(EngineError::BadInput {
            what: format!(
                "the module {:04X}:{:04X} on usb:{} has no DM/DIAG serial port",
                dev.vid, dev.pid, dev.port_path
            ),
            help: Some("load the option/qcserial driver for the module, or put it into download mode with its USB_BOOT pin".to_owned()),
        });
    };
    let mut dm = bus.open_serial(&tty)?;
    let sent = match switch_to_edl(&mut *dm.link, timeout) {
        Ok(SwitchOutcome::Echoed) => Sent::Echoed,
        Ok(SwitchOutcome::PortGone) => Sent::PortGone,
        Err(DiagError::NoEcho { .. }) => Sent::NoEcho,
        Err(e) => return Err(diag_error(&e)),
    };
    Ok((tty, sent))
}

/// The download-mode link of a switched module, and what its AT port said before the switch.
pub type Switched = (Opened, Option<AtProbe>);

/// Switch the module `sel` names to download mode and open it. `Err(None)` = there is no
/// module in normal mode to switch (the caller reports its own "not found"). Before the
/// switch the module's AT port is asked what it runs (revision, IMEI), when it answers.
pub(crate) fn switch_and_open(
    bus: &BusHandle,
    sel: &UsbSelector,
    t: &Timeouts,
    em: &mut Emitter,
    check: crate::port::SwitchCheck<'_>,
) -> Result<Switched, Option<EngineError>> {
    let snap = bus.snapshot();
    let found = normal_mode_modules(&snap.usb, sel);
    let dev = match found.as_slice() {
        [] => return Err(not_firehose(&snap, sel)),
        [one] => (*one).clone(),
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|d| format!("{:04X}:{:04X} on usb:{}", d.vid, d.pid, d.port_path))
                .collect();
            return Err(Some(EngineError::BadInput {
                what: format!("several modules in normal mode: {}", list.join(", ")),
                help: Some("name one with --port usb:BUS-PORTPATH".to_owned()),
            }));
        }
    };
    let Some(tty) = dm_port(&dev) else {
        return Err(Some(EngineError::BadInput {
            what: format!(
                "the module {:04X}:{:04X} on usb:{} is in normal mode, but its DM port has no serial device",
                dev.vid, dev.pid, dev.port_path
            ),
            help: Some("load the option/qcserial driver for the module, or put it into download mode with its USB_BOOT pin".to_owned()),
        }));
    };
    let before = ask_before_switch(bus, &snap, &dev, em);
    if let Some(p) = &before {
        check(p).map_err(Some)?;
    }
    em.info(format!(
        "module {:04X}:{:04X} on usb:{} is in normal mode: switching it to download mode through its DM port {tty}",
        dev.vid, dev.pid, dev.port_path
    ));
    match switch_module(bus, &dev, t.command).map_err(Some)?.1 {
        Sent::Echoed => em.info("the module echoed the download-mode command; it restarts"),
        Sent::PortGone => em.info("the DM port went away before the echo: the module restarts"),
        // Not every module echoes: poll for 9008 anyway, as QFirehose does.
        Sent::NoEcho => em.info(
            "the module did not echo the download-mode command; looking for it in download mode anyway",
        ),
    }
    let edl = follow_to_edl(|| bus.snapshot(), Some(&dev.port_path), t.edl_switch, POLL)
        .map_err(|e| Some(diag_error(&e)))?;
    em.info(format!(
        "the module is back in download mode on usb:{}",
        edl.port_path
    ));
    let spec = PortSpec::Usb(UsbSelector::Path(edl.port_path));
    let opened = open_retrying(bus, &spec, em).map_err(Some)?;
    Ok((opened, before))
}

/// A module `sel` names that runs its firmware but is no Qualcomm Firehose target (EC200T and
/// other ASR/UNISOC platforms): refused with the reason, never switched.
fn not_firehose(
    snap: &oasis_transport::enumerate::Snapshot,
    sel: &UsbSelector,
) -> Option<EngineError> {
    snap.usb.iter().filter(|d| selected(d, sel)).find_map(|d| {
        let id = identify_device(d)?;
        (id.mode == UsbMode::NotFirehose).then(|| EngineError::Refused {
            reason: format!(
                "the {} ({:04X}:{:04X}) on usb:{} runs its firmware and is not a Qualcomm module: {}",
                id.family,
                d.vid,
                d.pid,
                d.port_path,
                id.note.as_deref().unwrap_or("it has no Firehose download mode")
            ),
            help: "flash it with its vendor's own tool; Oasis flashes Qualcomm-based modules".to_owned(),
        })
    })
}

/// Open the new 9008 port, retrying (bounded) while udev and ModemManager still hold it.
fn open_retrying(
    bus: &BusHandle,
    spec: &PortSpec,
    em: &mut Emitter,
) -> Result<Opened, EngineError> {
    let start = std::time::Instant::now();
    let mut told = false;
    loop {
        match bus.open(spec) {
            Ok(l) => return Ok(l),
            Err(e)
                if crate::port::open_retryable(e.kind)
                    && start.elapsed() < crate::port::OPEN_RETRY =>
            {
                if !told {
                    em.info(format!("{e}; retrying the open"));
                    told = true;
                }
                em.check_cancel()?;
                std::thread::sleep(crate::port::OPEN_RETRY_EVERY);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Ask the module's AT port (read-only commands) what it runs before it is switched: the
/// revision then tells "the revision did not change" after the flash, and the IMEI goes into
/// the backup manifest.
fn ask_before_switch(
    bus: &BusHandle,
    snap: &oasis_transport::enumerate::Snapshot,
    dev: &UsbDeviceInfo,
    em: &mut Emitter,
) -> Option<AtProbe> {
    let port = at_ports(snap, dev).into_iter().next()?;
    let p = probe_on(bus, &port, &ProbeConfig::default());
    if !p.answered {
        return None;
    }
    let rev = p.full_revision.clone().or_else(|| p.revision.clone());
    em.info(format!(
        "before the switch the module runs {}{}",
        rev.as_deref().unwrap_or("an unreported revision"),
        p.ids_suffix()
    ));
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_transport::enumerate::{Accessibility, UsbInterfaceInfo};

    fn iface(number: u8, tty: &str) -> UsbInterfaceInfo {
        UsbInterfaceInfo {
            number,
            class: 0xff,
            subclass: if number == 0 { 0xff } else { 0 },
            protocol: if number == 0 { 0xff } else { 0 },
            endpoints: 2,
            driver: Some("option".into()),
            tty: Some(tty.into()),
        }
    }

    fn ec25() -> UsbDeviceInfo {
        UsbDeviceInfo {
            vid: 0x2c7c,
            pid: 0x0125,
            bcd_device: 0x0318,
            bus: 1,
            address: 5,
            port_path: "1-1.4".into(),
            speed: None,
            manufacturer: Some("Quectel".into()),
            product: Some("EC25".into()),
            serial: Some("abc".into()),
            interfaces: vec![
                iface(0, "/dev/ttyUSB0"),
                iface(1, "/dev/ttyUSB1"),
                iface(2, "/dev/ttyUSB2"),
            ],
            access: Accessibility::Accessible,
        }
    }

    #[test]
    fn finds_the_dm_port_of_a_normal_mode_module() {
        let devs = vec![ec25()];
        let found = normal_mode_modules(&devs, &UsbSelector::Any);
        assert_eq!(found.len(), 1);
        assert_eq!(dm_port(found[0]).as_deref(), Some("/dev/ttyUSB0"));
        assert!(normal_mode_modules(&devs, &UsbSelector::Path("2-1".into())).is_empty());
        assert_eq!(
            normal_mode_modules(&devs, &UsbSelector::Serial("abc".into())).len(),
            1
        );
    }
}
