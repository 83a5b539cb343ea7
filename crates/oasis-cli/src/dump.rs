//! `oasis-cli dump`: read partitions or sector ranges back from a board into a folder with a
//! manifest, on the same event front-end and exit statuses as `flash` (2 for an unknown label,
//! naming the labels that exist).

use oasis_engine::dump::RawRange;
use oasis_engine::event::ErrorKind;
use oasis_engine::{DumpRequest, spawn_dump};

use crate::args::DumpArgs;
use crate::flash::{timeouts, watch};
use crate::output::{print_error, print_failure, print_json_line, print_verdict, result_json};

/// Run `dump`; returns the exit status.
pub fn run(a: DumpArgs) -> i32 {
    let mut raw = Vec::new();
    for spec in &a.raw {
        match RawRange::parse(spec) {
            Ok(r) => raw.push(r),
            Err(e) => {
                print_error(
                    &e,
                    Some("e.g. --raw 640:64 (64 sectors from sector 640) or --raw 4:0:8 (LUN 4)"),
                    a.json,
                    "bad_input",
                );
                return ErrorKind::BadInput.exit_code();
            }
        }
    }
    let mut req = DumpRequest::new(a.port, a.package, a.out.clone());
    req.bus = crate::bus::cli_bus();
    req.partitions = a.partitions;
    req.all = a.all;
    req.raw = raw;
    req.programmer = a.programmer;
    req.timeouts = timeouts();
    let (sink, rx) = oasis_engine::event_channel();
    let handle = spawn_dump(req, sink);
    let (outcome, _) = watch(handle, rx, a.json);
    let manifest = a.out.join(oasis_engine::dump::MANIFEST);
    if a.json {
        let mut v = result_json(&outcome);
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("out".into(), serde_json::json!(a.out.display().to_string()));
            m.insert(
                "manifest".into(),
                serde_json::json!(
                    (outcome.is_ok() && manifest.is_file()).then(|| manifest.display().to_string())
                ),
            );
        }
        print_json_line(&v);
    } else {
        match &outcome {
            Ok(v) => {
                print_verdict(v);
                println!("manifest: {}", manifest.display());
            }
            Err(r) => print_failure(r),
        }
    }
    match &outcome {
        Ok(_) => 0,
        Err(r) => r.kind.exit_code(),
    }
}
