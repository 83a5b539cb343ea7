//! `oasis-cli emulate`: a virtual board on a pseudo-terminal (oasis-vdev's `serve_pty`) until
//! Ctrl-C, so any serial tool (or `oasis-cli flash --port LINK`) can talk to it. After a reset
//! the same pty carries the AT modem (`flash --at-port LINK` confirms on it); `--after-reset`
//! makes the board never come back, come back in 9008, or keep its AT port silent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oasis_engine::Help;
use oasis_vdev::{BoardOptions, FaultSpec, Profile, Quirks, ResetBehaviour, StartIn, serve_pty};

use crate::args::EmulateArgs;
use crate::output::print_error;

/// Default virtual profile for `emulate`.
pub const DEFAULT_PROFILE: &str = "eg25";

/// `--after-reset` words → what the virtual board does when it reboots.
pub fn after_reset(word: &str) -> Option<ResetBehaviour> {
    match word.to_ascii_lowercase().as_str() {
        "normal" => Some(ResetBehaviour::Normal),
        "never" => Some(ResetBehaviour::NeverComesBack),
        "edl" | "9008" => Some(ResetBehaviour::BackInEdl),
        "silent" => Some(ResetBehaviour::AtSilent),
        _ => None,
    }
}

/// `--start` words → the state the virtual board starts in.
pub fn start_in(word: &str) -> Option<StartIn> {
    match word.to_ascii_lowercase().as_str() {
        "edl" | "9008" => Some(StartIn::Edl),
        "programmer" | "firehose" => Some(StartIn::Firehose),
        "normal" => Some(StartIn::Normal),
        "silent" => Some(StartIn::NormalAtSilent),
        "dump" | "900e" => Some(StartIn::MemoryDump),
        _ => None,
    }
}

/// Run `emulate`; returns the exit status.
pub fn run(a: &EmulateArgs) -> i32 {
    let name = a.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
    let profile = match Profile::by_name(name) {
        Ok(p) => p,
        Err(e) => {
            print_error(&e.to_string(), e.help().as_deref(), false, "bad_input");
            return 2;
        }
    };
    let faults = match FaultSpec::parse_all(&a.faults) {
        Ok(f) => f,
        Err(e) => {
            print_error(&e.to_string(), e.help().as_deref(), false, "bad_input");
            return 2;
        }
    };
    let Some(behaviour) = after_reset(&a.after_reset) else {
        print_error(
            &format!(
                "--after-reset {:?} is not one of normal, never, edl, silent",
                a.after_reset
            ),
            Some(
                "normal: boots and answers AT; never: does not come back; edl: back in 9008; silent: AT never answers",
            ),
            false,
            "bad_input",
        );
        return 2;
    };
    let Some(start_in) = start_in(&a.start) else {
        print_error(
            &format!(
                "--start {:?} is not one of edl, programmer, normal, silent, dump",
                a.start
            ),
            Some(
                "edl: Sahara HELLO waiting; programmer: Firehose already running; normal: AT answers; silent: AT never answers; dump: memory-dump mode",
            ),
            false,
            "bad_input",
        );
        return 2;
    };
    let quirks = match Quirks::parse(&a.quirks) {
        Ok(q) => q,
        Err(e) => {
            let known: Vec<String> = Quirks::names()
                .iter()
                .map(|(n, what)| format!("{n}: {what}"))
                .collect();
            print_error(&e.to_string(), Some(&known.join("; ")), false, "bad_input");
            return 2;
        }
    };
    let options = BoardOptions {
        after_reset: behaviour,
        start_in,
        revision_after_reset: a.revision_after_reset.clone(),
        quirks,
        ..BoardOptions::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        eprintln!("note: Ctrl-C handler not installed ({e})");
    }
    let service = match serve_pty(&a.pty, profile, faults, options) {
        Ok(s) => s,
        Err(e) => {
            print_error(&e.to_string(), e.help().as_deref(), false, "bad_input");
            return 2;
        }
    };
    eprintln!(
        "virtual board '{name}' on {} (pty {}); Ctrl-C stops it",
        service.link().display(),
        service.slave_path()
    );
    while !stop.load(Ordering::Relaxed) && service.is_running() {
        std::thread::sleep(Duration::from_millis(100));
    }
    service.stop();
    eprintln!("virtual board stopped");
    0
}
