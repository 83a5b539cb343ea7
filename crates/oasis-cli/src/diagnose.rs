//! `oasis-cli devices` and `oasis-cli diagnose`: what is attached and what state it is in,
//! through the engine's diagnostics. Both exit 0 whenever they could look.

use oasis_engine::Help;
use oasis_engine::diag::at::{AtProbe, ProbeConfig, probe_on};
use oasis_engine::diag::compat::{self, BoardFacts, PackageFacts};
use oasis_engine::diag::usb_table::{Role, UsbMode, device_roles, identify_device};
use oasis_engine::diag::{Diagnosis, Evidence, diagnose};
use oasis_engine::event::{ChipIdentity, SCHEMA_VERSION};
use oasis_package::{OpenOptions, Package};
use oasis_transport::enumerate::Snapshot;
use oasis_transport::{BusHandle, PortSpec};
use serde_json::json;
use std::path::Path;

use crate::args::{DevicesArgs, DiagnoseArgs};
use crate::output::{print_error, print_json_line};

/// Run `devices`; returns the exit status. `--json` prints a bare JSON list of boards.
pub fn run_devices(a: &DevicesArgs) -> i32 {
    let snap = crate::bus::cli_bus().snapshot();
    let d = diagnose(&Evidence {
        snapshot: snap.clone(),
        ..Evidence::default()
    });
    if a.json {
        print_json_line(&serde_json::to_value(&d.devices).unwrap_or_else(|_| json!([])));
        return 0;
    }
    if let Some(e) = &snap.usb_error {
        eprintln!("note: {e}");
    }
    if d.devices.is_empty() {
        println!("No Qualcomm or Quectel boards found on USB.");
    }
    for dev in &d.devices {
        println!(
            "{} usb:{}  {}  {}{}",
            dev.id,
            dev.port_path,
            dev.identity.family,
            dev.identity.mode.describe(),
            dev.serial
                .as_deref()
                .map(|s| format!("  serial {s}"))
                .unwrap_or_default()
        );
        for i in &dev.interfaces {
            println!(
                "    if{} {}  {}{}",
                i.number,
                i.class,
                i.role.describe(),
                i.tty
                    .as_deref()
                    .map(|t| format!("  {t}"))
                    .unwrap_or_default()
            );
        }
    }
    for p in &snap.serial {
        if p.vid.is_none() {
            println!("serial port {}", p.name);
        }
    }
    0
}

/// AT ports of modules in normal mode.
fn at_ports(snap: &Snapshot) -> Vec<String> {
    snap.usb
        .iter()
        .filter(|d| identify_device(d).is_some_and(|i| i.mode == UsbMode::Normal))
        .flat_map(|d| {
            let roles = device_roles(d);
            d.interfaces
                .iter()
                .filter(move |i| roles.iter().any(|(n, r)| *n == i.number && *r == Role::At))
                .filter_map(|i| i.tty.clone())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// True when serial port `name` belongs to a board in download mode.
fn is_edl_tty(snap: &Snapshot, name: &str) -> bool {
    snap.usb.iter().any(|d| {
        identify_device(d).is_some_and(|i| i.mode == UsbMode::Edl)
            && d.interfaces.iter().any(|i| i.tty.as_deref() == Some(name))
    })
}

fn probe_all(bus: &BusHandle, ports: &[String]) -> Vec<AtProbe> {
    ports
        .iter()
        .map(|p| probe_on(bus, p, &ProbeConfig::default()))
        .collect()
}

/// Gather evidence: AT probes on AT ports, or the Sahara identity on a download-mode port.
/// A module in normal mode is only asked on AT, never switched.
fn gather(bus: &BusHandle, port: Option<&str>) -> Evidence {
    // Resolve first: a `virtual:…` name makes its board, which the listing then shows.
    let target = port.map(|p| bus.resolve(p).unwrap_or_else(|_| p.to_owned()));
    let snap = bus.snapshot();
    let mut ev = Evidence::default();
    match target.as_deref().map(PortSpec::parse) {
        None => ev.at = probe_all(bus, &at_ports(&snap)),
        Some(PortSpec::Serial(name)) if !is_edl_tty(&snap, &name) => {
            ev.at = probe_all(bus, &[name]);
        }
        Some(PortSpec::Usb(sel))
            if !oasis_engine::normal_mode_modules(&snap.usb, &sel).is_empty() =>
        {
            let devices = oasis_engine::normal_mode_modules(&snap.usb, &sel);
            let only = Snapshot {
                usb: devices.into_iter().cloned().collect(),
                ..Snapshot::default()
            };
            ev.at = probe_all(bus, &at_ports(&only));
        }
        Some(_) => {
            // A download-mode port: ask the boot ROM, which leaves the board ready to flash.
            ev.chip = port.and_then(|p| oasis_engine::read_chip_identity(bus, p).ok());
        }
    }
    ev.snapshot = snap;
    ev
}

/// Largest USB listing read (a whole `lsusb -v` of a busy machine is well under 1 MiB).
const MAX_LISTING: u64 = 16 << 20;

/// The USB listing saved in `file`, or what is wrong with it (naming the file) and what to do.
fn saved_listing(file: &Path) -> Result<Snapshot, (String, Option<String>)> {
    let named = |e: &dyn std::fmt::Display| format!("{}: {e}", file.display());
    let len = std::fs::metadata(file)
        .map_err(|e| (named(&e), None))?
        .len();
    if len > MAX_LISTING {
        return Err((
            named(&format!("{len} bytes is too large for a USB listing")),
            Some("pass the output of `usb-devices` or `lsusb -v` for the board".into()),
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| (named(&e), None))?;
    oasis_engine::diag::parse::listing(&bytes).map_err(|e| (named(&e), e.help().map(String::from)))
}

/// Run `diagnose`; returns the exit status.
pub fn run_diagnose(a: &DiagnoseArgs) -> i32 {
    let pkg = match &a.package {
        Some(path) => match Package::open(path, &OpenOptions::default()) {
            Ok(p) => Some(p),
            Err(e) => {
                print_error(&e.to_string(), e.help().as_deref(), a.json, "bad_input");
                return 2;
            }
        },
        None => None,
    };
    let ev = match &a.usb_dump {
        Some(file) => match saved_listing(file) {
            Ok(snapshot) => Evidence {
                snapshot,
                ..Evidence::default()
            },
            Err((what, help)) => {
                print_error(&what, help.as_deref(), a.json, "bad_input");
                return 2;
            }
        },
        None => gather(&crate::bus::cli_bus(), a.port.as_deref()),
    };
    let d = diagnose(&ev);
    let fit = pkg.as_ref().map(|p| {
        let board = BoardFacts::from_evidence(ev.at.iter().find(|x| x.answered), ev.chip.as_ref());
        compat::check(&PackageFacts::from_package(p), &board)
    });
    if a.json {
        print_json_line(&json!({
            "schema": SCHEMA_VERSION,
            "diagnosis": d,
            "compat": fit,
            "at": ev.at,
            "chip": ev.chip,
            "usb_error": ev.snapshot.usb_error,
            "usb_dump": a.usb_dump,
        }));
    } else {
        if let Some(file) = &a.usb_dump {
            println!(
                "From the USB listing in {} (this computer's USB was not looked at, no board was asked)",
                file.display()
            );
            println!();
        }
        print_diagnosis(&d, ev.chip.as_ref());
        if let Some(c) = fit {
            println!();
            println!("Does this firmware fit? {}", c.answer);
            for check in &c.checks {
                println!("  [{:?}] {}: {}", check.status, check.name, check.reason);
            }
        }
    }
    0
}

/// After a failed confirmation: what state the board is in now, judged from the AT port the
/// flash was told about (or every module's AT port on USB). `None` for in-process virtual
/// boards, which the host machine cannot see.
pub fn after_confirm(at_port: Option<&str>, port: &str) -> Option<Diagnosis> {
    let on_usb = matches!(PortSpec::parse(port), PortSpec::Usb(_));
    let look = match at_port {
        Some(p) if p.eq_ignore_ascii_case("virtual") => return None,
        Some(p) => Some(p),
        None if on_usb => None,
        None => return None,
    };
    let bus = crate::bus::cli_bus();
    let snapshot = bus.snapshot();
    let at = match look {
        Some(p) => probe_all(&bus, &[p.to_owned()]),
        None => probe_all(&bus, &at_ports(&snapshot)),
    };
    Some(diagnose(&Evidence {
        snapshot,
        at,
        ..Evidence::default()
    }))
}

/// Print a diagnosis for people.
pub fn print_diagnosis(d: &Diagnosis, chip: Option<&ChipIdentity>) {
    println!("{}", d.title);
    println!("{}", d.summary);
    if !d.evidence.is_empty() {
        println!();
        println!("What Oasis saw:");
        for e in &d.evidence {
            println!("  - {e}");
        }
    }
    if let Some(c) = chip {
        for l in crate::output::chip_lines(c) {
            println!("  {l}");
        }
    }
    if !d.next_steps.is_empty() {
        println!();
        println!("What to do next:");
        for (i, s) in d.next_steps.iter().enumerate() {
            println!("  {}. {}", i + 1, s.text);
        }
    }
}
