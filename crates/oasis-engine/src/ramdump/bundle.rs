//! The support bundle of a crash-dump job: it references the dump folder and its manifest and
//! carries no RAM data.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::{DumpManifest, RamdumpRequest, SECRETS_NOTE};
use crate::event::{ErrorReport, Event, Verdict};
use crate::paths::{iso8601, now_unix};

/// Write a support bundle for a crash-dump job: `summary.md`, `log.txt`, `events.jsonl`,
/// `outcome.json`, `ramdump.json` (the dump's manifest and folder) and `bundle.json`. The
/// region files are not copied: they may hold secrets, and they are large.
pub fn write_dump_bundle(
    path: &Path,
    req: &RamdumpRequest,
    events: &[(f64, Event)],
    outcome: &Result<Verdict, ErrorReport>,
) -> Result<(), String> {
    use zip::write::SimpleFileOptions;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut z = zip::ZipWriter::new(file);
    let folder = std::fs::canonicalize(&req.out).unwrap_or_else(|_| req.out.clone());
    let manifest = DumpManifest::load(&req.out).ok();
    let mut md = format!(
        "# Oasis crash dump\n\n- Port: `{}`\n- Dump folder: `{}`\n",
        req.port,
        folder.display()
    );
    match outcome {
        Ok(v) => md.push_str(&format!("- Result: {}\n", v.summary)),
        Err(r) => md.push_str(&format!("- Result: failed: {}\n", r.message)),
    }
    if let Some(m) = &manifest {
        md.push_str(&format!(
            "- Status: {:?}, {} of {} regions, {} bytes\n",
            m.status,
            m.collected().count(),
            m.regions.len(),
            m.bytes
        ));
        if !m.missing.is_empty() {
            md.push_str(&format!("- Not collected: {}\n", m.missing.join(", ")));
        }
        md.push_str("\n| region | address | length | SHA-256 |\n|---|---|---|---|\n");
        for r in &m.regions {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                r.name,
                r.address,
                r.length,
                r.sha256.as_deref().unwrap_or("not collected")
            ));
        }
    }
    md.push_str(&format!(
        "\nThe dump files are not in this bundle. {SECRETS_NOTE}\n"
    ));
    let mut log = String::new();
    let mut timeline = String::new();
    for (t, e) in events {
        if let Event::Info { message } = e {
            log.push_str(&format!("{t:8.3} {message}\n"));
        }
        let mut v = serde_json::to_value(e).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("t".into(), serde_json::json!(t));
        }
        timeline.push_str(&v.to_string());
        timeline.push('\n');
    }
    let record = crate::bundle::OutcomeRecord::from_outcome(outcome);
    let reference = serde_json::json!({
        "dump_folder": folder.display().to_string(),
        "manifest": manifest,
    });
    let info = crate::bundle::BundleInfo {
        format: crate::bundle::FORMAT,
        created: iso8601(now_unix()),
        tool: format!("oasis {}", env!("CARGO_PKG_VERSION")),
        os: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        raw_data_elided: false,
    };
    let members: [(&str, Vec<u8>); 6] = [
        ("summary.md", md.into_bytes()),
        ("log.txt", log.into_bytes()),
        ("events.jsonl", timeline.into_bytes()),
        (
            "outcome.json",
            serde_json::to_vec_pretty(&record).unwrap_or_default(),
        ),
        (
            "ramdump.json",
            serde_json::to_vec_pretty(&reference).unwrap_or_default(),
        ),
        (
            "bundle.json",
            serde_json::to_vec_pretty(&info).unwrap_or_default(),
        ),
    ];
    for (name, bytes) in members {
        z.start_file(name, SimpleFileOptions::default())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        z.write_all(&bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    z.finish().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

/// The `ramdump.json` member of a crash-dump support bundle: the dump folder it references
/// (`dump_folder`) and the dump's manifest (`manifest`).
pub fn bundle_reference(bundle: &Path) -> Result<serde_json::Value, String> {
    let file = File::open(bundle).map_err(|e| format!("{}: {e}", bundle.display()))?;
    let mut z = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", bundle.display()))?;
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut z
            .by_name("ramdump.json")
            .map_err(|e| format!("{}: ramdump.json: {e}", bundle.display()))?,
        &mut text,
    )
    .map_err(|e| format!("{}: {e}", bundle.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: ramdump.json: {e}", bundle.display()))
}
