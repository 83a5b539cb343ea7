//! `oasis-cli info`: what a package (or a single programmer file) contains. Missing images and
//! md5 mismatches are findings here, not errors: `info` exits 0 whenever it could read.

use std::path::Path;

use oasis_engine::Help;
use oasis_package::programmer::ProgrammerIdentity;
use oasis_package::{OpenOptions, Package, StepOp};
use serde_json::{Value, json};

use crate::args::InfoArgs;
use crate::output::{human_bytes, print_json_line};

/// Run `info`; returns the exit status.
pub fn run(a: &InfoArgs) -> i32 {
    if is_single_programmer(&a.package) {
        return programmer_info(&a.package, a.json);
    }
    let mut opts = OpenOptions::default();
    opts.programmer.clone_from(&a.programmer);
    opts.rawprogram.clone_from(&a.rawprogram);
    match Package::open(&a.package, &opts) {
        Ok(pkg) => {
            if a.json {
                print_json_line(&pkg.summary_json());
            } else {
                print_package(&pkg);
            }
            0
        }
        Err(e) => {
            crate::output::print_error(&e.to_string(), e.help().as_deref(), a.json, "bad_input");
            2
        }
    }
}

/// A file that is neither a zip nor an XML is taken for a programmer.
fn is_single_programmer(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    path.is_file() && ext != "zip" && ext != "xml"
}

fn programmer_info(path: &Path, json: bool) -> i32 {
    match ProgrammerIdentity::from_path(path) {
        Ok(id) => {
            if json {
                print_json_line(&serde_json::to_value(&id).unwrap_or(Value::Null));
            } else {
                print_programmer(path, &id);
            }
            0
        }
        Err(e) => {
            crate::output::print_error(&e.to_string(), e.help().as_deref(), json, "bad_input");
            2
        }
    }
}

fn or_none(v: Option<&str>) -> &str {
    v.unwrap_or("not stated")
}

fn print_programmer(path: &Path, id: &ProgrammerIdentity) {
    println!("Programmer {}", path.display());
    let kind = serde_json::to_value(id.kind).unwrap_or(json!("unknown"));
    println!(
        "  Kind:        {} ({})",
        kind.as_str().unwrap_or("unknown"),
        id.kind_evidence
    );
    println!("  Chip:        {}", or_none(id.chip.as_deref()));
    println!("  HW ID:       {}", or_none(id.hw_id.as_deref()));
    println!("  OEM ID:      {}", or_none(id.oem_id.as_deref()));
    println!("  Model ID:    {}", or_none(id.model_id.as_deref()));
    println!("  SW ID:       {}", or_none(id.sw_id.as_deref()));
    println!(
        "  Signed:      {}",
        if id.signed { "yes" } else { "no (unsigned)" }
    );
    if let Some(v) = id.mbn_version {
        println!("  MBN header:  v{v}");
    }
    println!("  Root SHA-256: {}", or_none(id.pk_hash_sha256.as_deref()));
    println!("  Root SHA-384: {}", or_none(id.pk_hash_sha384.as_deref()));
    if let Some(s) = &id.root_subject {
        println!("  Root:        {s}");
    }
}

fn print_package(pkg: &Package) {
    let s = pkg.summary_json();
    let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_owned);
    println!("Package {}", pkg.root.display());
    println!(
        "  Firmware:    {} {}",
        text("revision").unwrap_or_else(|| "(name states no revision)".into()),
        text("version").unwrap_or_default()
    );
    let storage = s
        .get("storage")
        .map(|v| v.to_string().trim_matches('"').to_owned());
    println!(
        "  Storage:     {} ({}-byte sectors)",
        storage.unwrap_or_else(|| "unknown".into()),
        pkg.sector_size.map_or("?".into(), |n| n.to_string())
    );
    match &pkg.programmer {
        Some(p) => {
            let who = p.identity.as_ref().map_or_else(
                || p.error.clone().unwrap_or_default(),
                |id| {
                    format!(
                        "{}, {}",
                        id.chip.as_deref().unwrap_or("chip not stated"),
                        if id.signed { "signed" } else { "unsigned" }
                    )
                },
            );
            println!("  Programmer:  {} ({who})", pkg.relative(&p.path));
        }
        None => println!("  Programmer:  none found"),
    }
    for x in &pkg.rawprogram {
        println!("  Rawprogram:  {}", pkg.relative(x));
    }
    let programs = pkg.plan.iter().filter(|p| p.op == StepOp::Program).count();
    println!(
        "  Plan:        {} steps ({programs} program), {} to write",
        pkg.plan.len(),
        human_bytes(pkg.total_bytes())
    );
    print_plan(pkg);
    print_findings(pkg);
}

/// The plan as a table: every step Oasis will send, in order, with its size.
fn print_plan(pkg: &Package) {
    println!("  Steps (in the order Oasis sends them):");
    let critical: Vec<usize> = (0..pkg.plan.len())
        .filter(|&i| pkg.plan[i].critical)
        .collect();
    if let (Some(first), Some(last)) = (critical.first(), critical.last()) {
        println!(
            "    Steps {}-{} must not be interrupted: the board cannot boot until they finish \
             (an interruption leaves it in download mode, recoverable with Oasis).",
            first + 1,
            last + 1
        );
    }
    println!(
        "    {:>3}  {:<11} {:<16} {:<34} {:>3} {:>22} {:>10}",
        "#", "op", "label", "file", "lun", "start sector", "length"
    );
    for (i, step) in pkg.plan.iter().enumerate() {
        let op = format!("{:?}", step.op).to_lowercase();
        let len = match (step.op, step.bytes()) {
            (StepOp::Program | StepOp::Erase, Some(b)) => human_bytes(b),
            (StepOp::Erase, None) => "whole disk".to_owned(),
            (StepOp::Program, None) => "?".to_owned(),
            _ => "-".to_owned(),
        };
        let mut marks = String::new();
        if let Some(why) = &step.destructive {
            marks.push_str(&format!("  [DESTRUCTIVE: {why}]"));
        }
        println!(
            "    {:>3}  {:<11} {:<16} {:<34} {:>3} {:>22} {:>10}{marks}",
            i + 1,
            op,
            clip(&step.label, 16),
            clip(step.file.as_deref().unwrap_or("-"), 34),
            step.physical_partition_number,
            clip(&step.start_sector, 22),
            len
        );
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let head: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{head}…")
    }
}

fn print_findings(pkg: &Package) {
    let md5 = &pkg.md5;
    let line = match md5.status() {
        "none" => "no md5.txt in the package: image checksums not checked".to_owned(),
        status => format!(
            "{} listed: {} match, {} mismatch, {} not in the package ({status})",
            md5.entries.len(),
            md5.ok().count(),
            md5.mismatches().count(),
            md5.missing().count()
        ),
    };
    println!("  md5.txt:     {line}");
    for e in pkg.md5.mismatches() {
        println!("    MISMATCH {}", e.path);
    }
    if !pkg.missing_images.is_empty() {
        println!("  Missing images ({}):", pkg.missing_images.len());
        for m in &pkg.missing_images {
            println!("    {} (named in {} line {})", m.path, m.xml, m.line);
        }
    }
    for s in pkg.plan.iter().filter(|s| s.destructive.is_some()) {
        println!(
            "  Destructive: {}: {}",
            s.label,
            s.destructive.as_deref().unwrap_or_default()
        );
    }
    for w in &pkg.warnings {
        println!("  Warning:     {w}");
    }
    for c in &pkg.choices {
        println!("  Chose {}: {} ({})", c.what, c.chosen, c.reason);
    }
}
