//! `oasis-cli ramdump`: collect the RAM dump of a crashed module (Sahara memory debug,
//! 05C6:900E) into a folder — one file per region and `manifest.json` — then reset it.
//!
//! Exit status: 0 when at least one region was collected (regions that failed are named),
//! 1 when nothing was (or the board/link failed first, or Ctrl-C), 2 bad input (the folder is
//! not empty, an unknown `--region`), 3 refused (not enough disk space).

use std::path::Path;

use oasis_engine::ramdump::{DumpManifest, RegionStatus, SECRETS_NOTE};
use oasis_engine::{RamdumpRequest, event_channel, spawn_ramdump};
use serde_json::{Value, json};

use crate::args::RamdumpArgs;
use crate::flash::{timeouts, watch};
use crate::output::{human_bytes, print_failure, print_json_line, result_json};

/// Run `ramdump`; returns the exit status.
pub fn run(a: RamdumpArgs) -> i32 {
    let mut req = RamdumpRequest::new(a.port.clone(), a.out.clone());
    req.bus = crate::bus::cli_bus();
    req.regions.clone_from(&a.regions);
    req.timeouts = timeouts();
    let (sink, rx) = event_channel();
    let handle = spawn_ramdump(req, sink);
    let (outcome, _) = watch(handle, rx, a.json);
    let manifest = DumpManifest::load(&a.out).ok();
    if a.json {
        let mut v = result_json(&outcome);
        if let Value::Object(m) = &mut v {
            m.insert("out".into(), json!(a.out.display().to_string()));
            if let Some(man) = &manifest {
                m.insert(
                    "manifest".into(),
                    json!(
                        a.out
                            .join(oasis_engine::ramdump::MANIFEST)
                            .display()
                            .to_string()
                    ),
                );
                m.insert("status".into(), json!(man.status));
                m.insert("regions".into(), regions_json(man));
                m.insert("missing".into(), json!(man.missing));
                m.insert("reset".into(), json!(man.reset));
                m.insert("note".into(), json!(SECRETS_NOTE));
            }
        }
        print_json_line(&v);
    } else {
        match &outcome {
            Ok(v) => println!("Done: {} ({:.1} s).", v.summary, v.seconds),
            Err(r) => print_failure(r),
        }
        if let Some(man) = &manifest {
            print_regions(man, &a.out);
        }
    }
    match outcome {
        Ok(_) => 0,
        Err(r) => r.kind.exit_code(),
    }
}

fn regions_json(m: &DumpManifest) -> Value {
    Value::Array(
        m.regions
            .iter()
            .map(|r| {
                json!({
                    "name": r.name, "file": r.file, "address": r.address, "length": r.length,
                    "bytes": r.bytes, "status": r.status, "sha256": r.sha256, "error": r.error,
                })
            })
            .collect(),
    )
}

fn print_regions(m: &DumpManifest, out: &Path) {
    if m.regions.is_empty() {
        return;
    }
    println!("Regions ({}):", out.display());
    for r in &m.regions {
        let state = match r.status {
            RegionStatus::Collected => format!(
                "sha256 {}",
                r.sha256
                    .as_deref()
                    .map_or("?", |s| s.get(..16).unwrap_or(s))
            ),
            _ => format!(
                "NOT COLLECTED ({})",
                r.error.as_deref().unwrap_or("not read")
            ),
        };
        println!(
            "  {:<14} {:>12} {:>10}  {state}",
            r.name,
            r.address,
            human_bytes(r.length)
        );
    }
    for r in &m.refused {
        println!("  (not read: {}: {})", r.name, r.reason);
    }
    println!(
        "Manifest: {}",
        out.join(oasis_engine::ramdump::MANIFEST).display()
    );
    println!("Note: {SECRETS_NOTE}");
}
