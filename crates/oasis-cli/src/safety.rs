//! `oasis-cli backup`, `restore` and `replay`: the safety net's own commands, on the same
//! event front-end and exit statuses as `flash`.

use oasis_engine::Help;
use oasis_engine::bundle::load_bundle;
use oasis_engine::bundle::replay::{ReplayReport, replay_bundle};
use oasis_engine::event::{ErrorKind, Event};
use oasis_engine::{BackupRequest, JobHandle, RestoreRequest, spawn_backup, spawn_restore};

use crate::args::{BackupArgs, ReplayArgs, RestoreArgs};
use crate::flash::{finish, timeouts, watch};
use crate::output::{print_error, print_json_line, result_json};

type Sink = Box<dyn FnMut(Event) + Send>;

fn run(json: bool, start: impl FnOnce(Sink) -> JobHandle) -> i32 {
    let (sink, rx) = oasis_engine::event_channel();
    let handle = start(sink);
    let (outcome, bundle) = watch(handle, rx, json);
    finish(&outcome, bundle.as_deref(), json)
}

/// Run `backup`; returns the exit status.
pub fn run_backup(a: BackupArgs) -> i32 {
    let mut req = BackupRequest::new(a.port, a.out);
    req.bus = crate::bus::cli_bus();
    req.package = a.package;
    req.programmer = a.programmer;
    req.memory = a.memory;
    req.timeouts = timeouts();
    run(a.json, |sink| spawn_backup(req, sink))
}

/// Run `restore`; returns the exit status.
pub fn run_restore(a: RestoreArgs) -> i32 {
    let mut req = RestoreRequest::new(a.port, a.backup);
    req.bus = crate::bus::cli_bus();
    req.programmer = a.programmer;
    req.no_reset = a.no_reset;
    req.timeouts = timeouts();
    run(a.json, |sink| spawn_restore(req, sink))
}

fn describe(r: &ReplayReport) -> String {
    let recorded = match &r.recorded {
        Some(o) if o.ok => "succeeded".to_owned(),
        Some(o) => o
            .error
            .as_ref()
            .map_or_else(|| "failed".to_owned(), |e| format!("failed: {}", e.message)),
        None => "ended unrecorded".to_owned(),
    };
    let replayed = match &r.replayed {
        Ok(_) => "succeeded".to_owned(),
        Err(e) => format!("failed: {}", e.message),
    };
    if r.reproduced {
        format!("reproduced: the replay {replayed} (same error kind and message as recorded)")
    } else {
        format!("NOT reproduced: the recorded job {recorded}; the replay {replayed}")
    }
}

/// Run `replay`; returns the replayed job's exit status (2 when the bundle is unusable).
pub fn run_replay(a: &ReplayArgs) -> i32 {
    let bundle = match load_bundle(&a.bundle) {
        Ok(b) => b,
        Err(e) => {
            print_error(&e.to_string(), e.help().as_deref(), a.json, "bad_input");
            return ErrorKind::BadInput.exit_code();
        }
    };
    let (sink, rx) = oasis_engine::event_channel();
    let json = a.json;
    let shown = std::thread::Builder::new()
        .name("oasis-replay-events".into())
        .spawn(move || {
            let mut human = crate::output::Human::new();
            for ev in rx {
                if json {
                    print_json_line(&crate::output::event_json(&ev));
                } else {
                    human.on_event(&ev);
                }
            }
        });
    let report = replay_bundle(&bundle, a.package.as_deref(), sink);
    if let Ok(t) = shown {
        let _ = t.join();
    }
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            print_error(&e.to_string(), e.help().as_deref(), a.json, "bad_input");
            return ErrorKind::BadInput.exit_code();
        }
    };
    let line = describe(&report);
    if a.json {
        let mut v = result_json(&report.replayed);
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("reproduced".into(), serde_json::json!(report.reproduced));
            m.insert("mismatch".into(), serde_json::json!(report.mismatch));
            m.insert("notes".into(), serde_json::json!(report.notes));
            m.insert("replay".into(), serde_json::json!(line));
        }
        print_json_line(&v);
    } else {
        for n in &report.notes {
            eprintln!("note: {n}");
        }
        if let Some(m) = &report.mismatch {
            eprintln!("note: the host did not repeat the recorded session: {m}");
        }
        match &report.replayed {
            Ok(v) => crate::output::print_verdict(v),
            Err(r) => crate::output::print_failure(r),
        }
        println!("{line}");
    }
    match &report.replayed {
        Ok(_) => 0,
        Err(r) => r.kind.exit_code(),
    }
}
