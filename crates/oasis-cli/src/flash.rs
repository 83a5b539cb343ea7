//! `oasis-cli flash` and `oasis-cli chipinfo`: run an engine job, show its events, and map the
//! outcome to the exit status (0 ok, 1 board/link, 2 bad input, 3 refused).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oasis_engine::diag::Diagnosis;
use oasis_engine::event::{ErrorReport, Event, Phase, Verdict};
use oasis_engine::{FlashOptions, FlashRequest, JobHandle, Timeouts, event_channel, spawn_flash};

use crate::args::{ChipinfoArgs, FlashArgs};
use crate::output::{
    Human, chip_lines, event_json, print_failure, print_json_line, print_verdict, result_json,
};

fn options(a: &FlashArgs) -> FlashOptions {
    let mut o = FlashOptions::default();
    o.verify = !a.no_verify;
    o.allow_full_erase = a.allow_full_erase;
    o.skip_md5 = a.skip_md5;
    o.no_reset = a.no_reset;
    o.at_port.clone_from(&a.at_port);
    o.confirm = a.confirm;
    o.programmer.clone_from(&a.programmer);
    o.rawprogram.clone_from(&a.rawprogram);
    o.bundle.clone_from(&a.bundle);
    o.backup.clone_from(&a.backup);
    o.resume = a.resume;
    o.include_identifiers = a.include_identifiers;
    o.no_identity = a.no_identity;
    o.zlp = a.zlp;
    if a.bundle.is_none() && !a.no_bundle {
        o.bundle_on_failure = Some(oasis_engine::paths::bundles_dir());
    }
    o.timeouts = timeouts();
    if let Some(secs) = a.boot_wait {
        o.timeouts.boot = Duration::from_secs(secs);
    }
    o
}

/// Default timeouts, scaled by `OASIS_TIMEOUT_SCALE` when set (e.g. `0.2` for tests that
/// inject stalls; values are clamped to 0.01..=100).
pub fn timeouts() -> Timeouts {
    let t = Timeouts::default();
    match std::env::var("OASIS_TIMEOUT_SCALE")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite())
    {
        Some(f) => t.scaled(f.clamp(0.01, 100.0)),
        None => t,
    }
}

/// Ctrl-C cancels the job between two chunks; the job then reports Failed(Cancelled).
pub fn cancel_on_ctrl_c(flag: Arc<AtomicBool>) {
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        eprintln!("note: Ctrl-C will not cancel cleanly ({e})");
    }
}

/// Show a job's events (JSON lines or the human front-end) until it ends; returns its outcome
/// and the support bundle it named, if any.
pub fn watch(
    handle: JobHandle,
    events: impl IntoIterator<Item = Event>,
    json: bool,
) -> (Result<Verdict, ErrorReport>, Option<String>) {
    cancel_on_ctrl_c(handle.cancel_flag());
    let mut human = Human::new();
    let mut bundle = None;
    for ev in events {
        if let Event::BundleWritten { path } = &ev {
            bundle = Some(path.display().to_string());
        }
        if json {
            print_json_line(&event_json(&ev));
        } else {
            human.on_event(&ev);
        }
    }
    (handle.join(), bundle)
}

/// Print a job's outcome (the JSON result line, or the verdict / failure for people) and
/// return the exit status.
pub fn finish(outcome: &Result<Verdict, ErrorReport>, bundle: Option<&str>, json: bool) -> i32 {
    finish_with(outcome, bundle, None, json)
}

/// [`finish`], with the diagnosis made after a failed confirmation.
fn finish_with(
    outcome: &Result<Verdict, ErrorReport>,
    bundle: Option<&str>,
    diagnosis: Option<&Diagnosis>,
    json: bool,
) -> i32 {
    if json {
        let mut v = result_json(outcome);
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("bundle".into(), serde_json::json!(bundle));
            if let Some(d) = diagnosis {
                m.insert("diagnosis".into(), serde_json::json!(d));
            }
        }
        print_json_line(&v);
    } else {
        match outcome {
            Ok(v) => print_verdict(v),
            Err(r) => print_failure(r),
        }
        if let (Some(b), Err(_)) = (bundle, outcome) {
            eprintln!(
                "support bundle: {b} (attach it to a support request; `oasis-cli replay {b}` re-runs it)"
            );
        }
        if let Some(d) = diagnosis {
            println!();
            println!("The new firmware was not confirmed. Diagnosis:");
            crate::diagnose::print_diagnosis(d, None);
        }
    }
    match outcome {
        Ok(_) => 0,
        Err(r) => r.kind.exit_code(),
    }
}

/// Run a flash; returns the exit status.
pub fn run_flash(a: FlashArgs) -> i32 {
    let opts = options(&a);
    let json = a.json;
    let req = FlashRequest::new(a.package, a.port.clone())
        .on_bus(crate::bus::cli_bus())
        .with_options(opts);
    let (sink, rx) = event_channel();
    let handle = spawn_flash(req, sink);
    let (outcome, bundle) = watch(handle, rx, json);
    // A board that did not come back as expected: switch to the diagnosis.
    let diagnosis = match &outcome {
        Err(r) if r.phase == Some(Phase::Confirm) => {
            crate::diagnose::after_confirm(a.at_port.as_deref(), &a.port)
        }
        _ => None,
    };
    finish_with(&outcome, bundle.as_deref(), diagnosis.as_ref(), json)
}

/// Read the chip identity; returns the exit status.
pub fn run_chipinfo(a: &ChipinfoArgs) -> i32 {
    match oasis_engine::read_chip_identity(&crate::bus::cli_bus(), &a.port) {
        Ok(id) => {
            if a.json {
                let mut v = serde_json::to_value(&id).unwrap_or_default();
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert(
                        "schema".into(),
                        serde_json::json!(oasis_engine::event::SCHEMA_VERSION),
                    );
                }
                print_json_line(&v);
            } else {
                for l in chip_lines(&id) {
                    println!("{l}");
                }
            }
            0
        }
        Err(r) => {
            if a.json {
                print_json_line(&result_json(&Err(r.clone())));
            } else {
                print_failure(&r);
            }
            r.kind.exit_code()
        }
    }
}
