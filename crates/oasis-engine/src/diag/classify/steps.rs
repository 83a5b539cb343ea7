//! Titles, summaries and ordered next steps per state, in plain words for a lab technician:
//! physical steps (power, PWRKEY, USB_BOOT, cable, hub) and platform steps (udev rule, Windows
//! driver) alongside the Oasis actions. No developer jargon.

use oasis_transport::enumerate::Accessibility;

use super::{Action, DeviceView, Evidence, NextStep, State};
use crate::diag::at::AtProbe;
use crate::diag::timeline::{TimelineEvent, TimelineKind};
use crate::diag::usb_table::{UsbMode, boot_pin, chip_name_for_hw_id};

/// What the texts need to know.
pub(super) struct Context {
    /// "the BG95", "the module".
    module: String,
    /// "the BG95's USB_BOOT pin", "the module's USB_BOOT contact (see its hardware guide)".
    pin: String,
    /// `05C6:9008 on USB port 1-1.4`.
    where_: String,
    mode: Option<UsbMode>,
    access: Option<String>,
    at_port: Option<String>,
    firmware: Option<String>,
    probed: bool,
    chip: Option<String>,
    flap: Option<(String, usize, f64)>,
    gone_s: Option<f64>,
    non_usb: bool,
    /// Why USB could not be listed at all (no USB subsystem, no permission to look).
    usb_error: Option<String>,
}

/// The family of the board that last left USB before download mode, from the timeline.
fn family_before(tl: &[TimelineEvent]) -> Option<String> {
    tl.iter().rev().find_map(|e| match &e.kind {
        TimelineKind::ModeChanged { from, .. } => {
            crate::diag::usb_table::identify(from.vid, from.pid).map(|k| k.family.to_string())
        }
        _ => None,
    })
}

/// Seconds since the last departure, when nothing came back after it.
fn gone_for(tl: &[TimelineEvent]) -> Option<f64> {
    let last = tl.last()?;
    match &last.kind {
        TimelineKind::Disappeared { .. } => Some(0.0),
        _ => None,
    }
}

impl Context {
    pub(super) fn new(
        ev: &Evidence,
        dev: Option<&DeviceView>,
        probes: &[&AtProbe],
        flap: Option<(String, usize, f64)>,
    ) -> Self {
        let tl = ev.timeline.as_deref().unwrap_or(&[]);
        let model = probes.iter().find_map(|p| p.model.clone());
        let family = match dev {
            Some(d) if d.identity.mode == UsbMode::Normal => Some(d.identity.family.clone()),
            Some(d) if d.identity.mode == UsbMode::NotFirehose => Some(d.identity.family.clone()),
            _ => model.clone().or_else(|| family_before(tl)),
        };
        let module = family
            .as_ref()
            .map_or("the module".to_string(), |f| format!("the {f}"));
        let pin = match family.as_deref().and_then(boot_pin) {
            Some(p) => format!("{}'s {}", module, p.trim_start_matches("the ")),
            None => format!("{module}'s USB_BOOT contact (see its hardware guide)"),
        };
        let chip = ev.chip.as_ref().and_then(|c| {
            c.chip.clone().or_else(|| {
                c.hw_id
                    .as_deref()
                    .and_then(chip_name_for_hw_id)
                    .map(str::to_string)
            })
        });
        Self {
            module,
            pin,
            where_: dev.map_or("the board".to_string(), |d| {
                format!("{} on USB port {}", d.id, d.port_path)
            }),
            mode: dev.map(|d| d.identity.mode),
            access: dev.and_then(|d| match &d.access {
                Accessibility::PermissionDenied(s) | Accessibility::Busy(s) => Some(s.clone()),
                _ => None,
            }),
            at_port: probes.first().map(|p| p.port.clone()),
            firmware: probes
                .iter()
                .find_map(|p| p.full_revision.clone().or(p.revision.clone())),
            probed: !probes.is_empty(),
            chip,
            flap,
            gone_s: gone_for(tl),
            non_usb: ev
                .snapshot
                .serial
                .iter()
                .any(|s| s.vid.is_none() && s.product.is_some()),
            usb_error: ev.snapshot.usb_error.clone(),
        }
    }

    fn force_download(&self) -> String {
        format!(
            "To force download mode: power {} off, connect {} to 1.8 V (the VDD_EXT pin), power it on, and release it once the board shows up in download mode.",
            self.module, self.pin
        )
    }
}

/// Title, summary and steps.
pub(super) struct Texts {
    pub title: String,
    pub summary: String,
    pub steps: Vec<NextStep>,
}

fn step(text: impl Into<String>, action: Option<Action>) -> NextStep {
    NextStep {
        text: text.into(),
        action,
    }
}

const WINDOWS_EDL_DRIVER: &str = "On Windows, the board in download mode must appear in Device Manager as \"Qualcomm HS-USB QDLoader 9008\"; if it shows a warning sign, install the Qualcomm/Quectel USB driver.";
const POWER: &str = "Check the power: the supply must give at least 2 A peaks (the module restarts on weak power), and the module must be switched on: press its PWRKEY (hold it low) for about one second, or power-cycle the board.";
const CABLE: &str = "Use a short USB data cable (not a charge-only one) straight into the computer, without a hub; try another USB socket.";

/// The texts for a state.
pub(super) fn texts(state: State, c: &Context) -> Texts {
    match state {
        State::NormalAtOk => normal_ok(c),
        State::NormalAtSilent => normal_silent(c),
        State::EdlWaiting => edl_waiting(c),
        State::EdlProgrammerRunning => edl_running(c),
        State::MemoryDump => memory_dump(c),
        State::ClaimedByDriver => claimed(c),
        State::NoPermission => no_permission(c),
        State::NotOnUsb => not_on_usb(c),
        State::Flapping => flapping(c),
        State::NotFirehoseModule => not_firehose(c),
    }
}

fn normal_ok(c: &Context) -> Texts {
    let fw = c
        .firmware
        .as_ref()
        .map_or(String::new(), |f| format!(" It runs firmware {f}."));
    let port = c.at_port.as_deref().unwrap_or("its AT port");
    Texts {
        title: "Module is running normally and answers commands".into(),
        summary: format!(
            "{} is in normal mode and answered on {port}.{fw}",
            cap(&c.where_)
        ),
        steps: vec![
            step(
                "Compare the firmware version above with the package you want to load.",
                None,
            ),
            step(
                "To load new firmware, press Flash: Oasis switches the module to download mode by itself.",
                Some(Action::Flash),
            ),
            step(
                "To check the chip and its security key first, switch the module to download mode and read its identity.",
                Some(Action::SwitchToDownload),
            ),
        ],
    }
}

fn normal_silent(c: &Context) -> Texts {
    let (title, summary) = if c.probed {
        (
            "Module is running, but its AT port does not answer",
            format!(
                "{} is in normal mode, but {} did not answer.",
                cap(&c.where_),
                c.at_port.as_deref().unwrap_or("its AT port")
            ),
        )
    } else {
        (
            "Module is running; its AT port has not been asked yet",
            format!(
                "{} is in normal mode. Oasis has not talked to it yet.",
                cap(&c.where_)
            ),
        )
    };
    let mut steps = Vec::new();
    if !c.probed {
        steps.push(step(
            "Ask the module for its model and firmware version over its AT port.",
            Some(Action::ProbeAt),
        ));
    }
    steps.extend([
        step("Wait 30 seconds: a module that has just started needs up to half a minute before it answers. Then ask again.", Some(Action::ProbeAt)),
        step("Close other programs that may use the port (modem managers, terminal programs, QPST/QFIL), then ask again.", Some(Action::ProbeAt)),
        step("Firmware can still be loaded: press Flash, and Oasis switches the module to download mode through its DM port.", Some(Action::Flash)),
        step(c.force_download(), None),
    ]);
    Texts {
        title: title.into(),
        summary,
        steps,
    }
}

fn edl_waiting(c: &Context) -> Texts {
    let mut steps = Vec::new();
    match &c.chip {
        Some(chip) => steps.push(step(format!("The chip is known ({chip}): choose the firmware package made for {} and press Flash.", c.module), Some(Action::Flash))),
        None => {
            steps.push(step("Read the chip identity, so Oasis can check that the package and its programmer fit this board.", Some(Action::ReadChipIdentity)));
            steps.push(step(format!("Choose the firmware package made for {} and press Flash.", c.module), Some(Action::Flash)));
        }
    }
    steps.push(step("If the board was not meant to be in download mode, restart it: press Reset, or power it off and on.", Some(Action::Reset)));
    steps.push(step(WINDOWS_EDL_DRIVER, None));
    Texts {
        title: "Board is in download mode, waiting for firmware".into(),
        summary: format!(
            "{} is in emergency download mode: its own firmware is not running and it waits for a programmer. It was either switched there on purpose or its firmware is damaged; loading a firmware package fixes both.",
            cap(&c.where_)
        ),
        steps,
    }
}

fn edl_running(c: &Context) -> Texts {
    Texts {
        title: "Board is in download mode with a programmer already running".into(),
        summary: format!(
            "{} is in download mode and a programmer, loaded earlier by Oasis or another tool, is waiting for commands.",
            cap(&c.where_)
        ),
        steps: vec![
            step(
                "Press Flash to continue: Oasis talks to the running programmer directly.",
                Some(Action::Flash),
            ),
            step(
                "If flashing does not start, restart the board (press Reset, or power it off and on) so it returns to a clean download mode, then press Flash again.",
                Some(Action::Reset),
            ),
            step(
                "Close other flashing tools (QFIL, QPST) that may have loaded the programmer.",
                None,
            ),
        ],
    }
}

fn memory_dump(c: &Context) -> Texts {
    Texts {
        title: "Module crashed and is offering a memory dump".into(),
        summary: format!(
            "{} is in crash-dump mode: its firmware stopped with an error and the chip waits for someone to collect its memory. It will not work normally until it is restarted.",
            cap(&c.where_)
        ),
        steps: vec![
            step(
                "If the module supplier asked for a crash dump, collect it now with their tool before anything else.",
                None,
            ),
            step(
                "Restart the module: press Reset, or power it off and on.",
                Some(Action::Reset),
            ),
            step(
                format!(
                    "If it crashes again after every start, reload its firmware. {}",
                    c.force_download()
                ),
                None,
            ),
            step(
                "Then choose the firmware package and press Flash.",
                Some(Action::Flash),
            ),
        ],
    }
}

fn claimed(c: &Context) -> Texts {
    let who = c
        .access
        .as_deref()
        .map_or(String::new(), |a| format!(" ({a})"));
    let edl = matches!(c.mode, Some(UsbMode::Edl | UsbMode::MemoryDump));
    let mut steps = vec![
        step(
            "Close QPST, QFIL, other flashing tools and terminal programs that may hold the board.",
            None,
        ),
        step(
            "On Linux, stop ModemManager while you work on the board; the Oasis udev rule also tells it to leave these boards alone.",
            Some(Action::InstallUdevRule),
        ),
    ];
    if edl {
        steps.push(step(WINDOWS_EDL_DRIVER, None));
        steps.push(step(
            "Unplug the board and plug it in again, then read its chip identity.",
            Some(Action::ReadChipIdentity),
        ));
    } else {
        steps.push(step(
            "Unplug the board and plug it in again, then ask it again.",
            Some(Action::ProbeAt),
        ));
    }
    Texts {
        title: "Board is connected, but another program holds it".into(),
        summary: format!(
            "{} is present, but another driver or program is using it{who}, so Oasis cannot open it.",
            cap(&c.where_)
        ),
        steps,
    }
}

fn no_permission(c: &Context) -> Texts {
    let edl = matches!(c.mode, Some(UsbMode::Edl | UsbMode::MemoryDump));
    let again = if edl {
        step(
            "Then read the chip identity again.",
            Some(Action::ReadChipIdentity),
        )
    } else {
        step("Then ask the module again.", Some(Action::ProbeAt))
    };
    Texts {
        title: "Board is connected, but this computer does not let Oasis open it".into(),
        summary: format!(
            "{} is present, but the system refused access to it.",
            cap(&c.where_)
        ),
        steps: vec![
            step(
                "On Linux, install the Oasis udev rule, then unplug the board and plug it in again.",
                Some(Action::InstallUdevRule),
            ),
            step(
                "On Linux, if it still fails, log out and back in (new permissions apply after a new login).",
                None,
            ),
            step(
                "On Windows, install the Quectel USB driver (normal mode) and the \"Qualcomm HS-USB QDLoader 9008\" driver (download mode).",
                None,
            ),
            again,
        ],
    }
}

fn not_on_usb(c: &Context) -> Texts {
    let mut steps = Vec::new();
    if c.gone_s.is_some() {
        steps.push(step("The board has just left USB. A restarting module takes 15 to 30 seconds to come back: wait, then check again.", None));
    }
    steps.push(step(POWER, None));
    steps.push(step(CABLE, None));
    if c.non_usb {
        steps.push(step(
            "A module on a PCIe (M.2) slot is not on USB: Oasis needs it connected over USB.",
            None,
        ));
    }
    steps.push(step(
        format!(
            "If it still does not appear, its firmware may be damaged. {}",
            c.force_download()
        ),
        None,
    ));
    steps.push(step(
        "On Windows, install the Quectel USB driver so the module shows up.",
        None,
    ));
    let silent_port = c.at_port.as_deref().filter(|_| c.probed);
    let (title, summary) = match (&c.usb_error, silent_port) {
        (Some(why), Some(port)) => (
            "Port does not answer, and USB could not be looked at".to_string(),
            format!(
                "Oasis could not list USB devices on this computer ({why}), and {port} did not answer AT. The module may be off, restarting, in download mode, or on another port."
            ),
        ),
        (Some(why), None) => (
            "USB could not be looked at".to_string(),
            format!(
                "Oasis could not list USB devices on this computer ({why}), so it cannot tell whether a module is attached. Name the module's port to check it over AT."
            ),
        ),
        (None, Some(port)) => (
            "No module found on USB".to_string(),
            format!(
                "No Qualcomm or Quectel board is visible on USB, and {port} did not answer AT. The module may be off, restarting, badly cabled, or stuck without working firmware."
            ),
        ),
        (None, None) => (
            "No module found on USB".to_string(),
            "No Qualcomm or Quectel board is visible on USB. It may be off, restarting, badly cabled, or stuck without working firmware.".to_string(),
        ),
    };
    Texts {
        title,
        summary,
        steps,
    }
}

fn flapping(c: &Context) -> Texts {
    let (path, cycles, window) = c.flap.clone().unwrap_or_default();
    Texts {
        title: "Board keeps disconnecting and reconnecting".into(),
        summary: format!(
            "USB port {path} lost the board and found it again {cycles} times within {window:.0} seconds. This is usually weak power or a bad cable or hub, or firmware that crashes right after starting."
        ),
        steps: vec![
            step(POWER, None),
            step(CABLE, None),
            step(
                "Close other flashing tools: one of them may be restarting the board.",
                None,
            ),
            step(
                format!(
                    "If it keeps restarting with good power and cable, the firmware is probably damaged. {}",
                    c.force_download()
                ),
                None,
            ),
            step(
                "Then choose the firmware package and press Flash.",
                Some(Action::Flash),
            ),
        ],
    }
}

fn not_firehose(c: &Context) -> Texts {
    Texts {
        title: "This module is not Qualcomm-based: Oasis cannot flash it".into(),
        summary: format!(
            "{} is built on another chip platform (ASR or UNISOC). Its firmware is loaded with the manufacturer's own tool, not through Qualcomm download mode.",
            cap(&c.where_)
        ),
        steps: vec![
            step(
                "Use the module manufacturer's download tool for this model (ask the supplier for it and for the firmware).",
                None,
            ),
            step(
                "If you expected a Qualcomm-based module (for example EC25 or BG95), check the part number printed on the module.",
                None,
            ),
        ],
    }
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
