//! The JSON summary behind `oasis-cli info --json`: stable top-level keys, the plan as ordered steps.

use serde_json::{Value, json};

use crate::md5sum::Md5Status;
use crate::package::Package;

/// Build the summary object.
pub fn summary(pkg: &Package) -> Value {
    let name = pkg.name.as_ref();
    let programmer = pkg.programmer.as_ref().map(|p| {
        json!({
            "path": pkg.relative(&p.path),
            "given": p.given,
            "identity": p.identity,
            "error": p.error,
        })
    });
    let mismatches: Vec<Value> = pkg
        .md5
        .mismatches()
        .map(|e| match &e.status {
            Md5Status::Mismatch { expected, actual } => {
                json!({"path": e.path, "expected": expected, "actual": actual})
            }
            _ => Value::Null,
        })
        .collect();
    let md5 = json!({
        "status": pkg.md5.status(),
        "entries": pkg.md5.entries.len(),
        "ok": pkg.md5.ok().count(),
        "mismatches": mismatches,
        "missing": pkg.md5.missing().map(|e| e.path.clone()).collect::<Vec<_>>(),
    });
    json!({
        "root": pkg.root.display().to_string(),
        "source": pkg.source.display().to_string(),
        "kind": pkg.kind,
        "from_zip": pkg.from_zip,
        "model": name.map(|n| n.model.clone()),
        "variant": name.map(|n| n.variant.clone()),
        "revision": name.map(|n| n.revision.clone()),
        "version": name.and_then(|n| n.version.clone()),
        "storage": pkg.storage,
        "sector_size": pkg.sector_size,
        "pages_per_block": pkg.pages_per_block,
        "programmer": programmer,
        "rawprogram": pkg.rawprogram.iter().map(|p| pkg.relative(p)).collect::<Vec<_>>(),
        "patch": pkg.patch.iter().map(|p| pkg.relative(p)).collect::<Vec<_>>(),
        "md5": md5,
        "missing_images": pkg.missing_images,
        "skipped": pkg.skipped,
        "ignored_patches": pkg.ignored_patches,
        "partitions": pkg.partitions,
        "plan": pkg.plan,
        "warnings": pkg.warnings,
        "choices": pkg.choices,
        "total_bytes": pkg.total_bytes(),
    })
}
