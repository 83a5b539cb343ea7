//! Bundles around a running flash job: the event tee, the session transcript in a scratch
//! file, and the zip written when the job ends (always with `bundle`, on failure with
//! `bundle_on_failure`).

use std::path::{Path, PathBuf};

use super::redact::Redactor;
use super::{BundleInput, Timeline, auto_path, prune, write_bundle};
use crate::error::EngineError;
use crate::event::Verdict;
use crate::options::{FlashOptions, FlashRequest};
use crate::paths;
use crate::progress::{Emitter, Sink};

/// Whether a job with these options records a bundle.
pub fn wanted(o: &FlashOptions) -> bool {
    o.bundle.is_some() || o.bundle_on_failure.is_some()
}

/// Send every event to `sink` and, when bundling, to the timeline too.
pub(crate) fn tee(mut sink: Sink, timeline: Option<Timeline>) -> Sink {
    match timeline {
        Some(tl) => Box::new(move |ev| {
            tl.push(&ev);
            sink(ev);
        }),
        None => sink,
    }
}

/// An error of the command line rather than of a board: the package path does not exist,
/// the named port does not, or a `virtual:` port names no virtual board (unknown profile, state
/// or quirk).
pub(crate) fn is_usage_error(req: &FlashRequest, e: &EngineError) -> bool {
    match e {
        EngineError::Package(_) | EngineError::BadInput { .. } => {
            std::fs::symlink_metadata(&req.package).is_err()
        }
        EngineError::Transport { source, .. } => {
            source.kind == oasis_transport::TransportErrorKind::NotFound && source.op == "open"
        }
        _ => false,
    }
}

/// Where the key of the identifier masks is kept: the data dir whose `bundles` folder the
/// caller named (the app's, the CLI's), else the default data dir.
fn key_dir(req: &FlashRequest) -> PathBuf {
    req.options
        .bundle_on_failure
        .as_deref()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(paths::data_dir, Path::to_path_buf)
}

fn scratch_transcript() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "oasis-session-{}-{nanos}.jsonl",
        std::process::id()
    ))
}

/// Run `work` (given where to record the transcript), then write the bundle its outcome
/// calls for and name it in an `Info` event.
pub(crate) fn with_bundle<F>(
    req: &FlashRequest,
    timeline: Option<&Timeline>,
    em: &mut Emitter,
    work: F,
) -> Result<Verdict, EngineError>
where
    F: FnOnce(&mut Emitter, Option<&Path>) -> Result<Verdict, EngineError>,
{
    let Some(tl) = timeline else {
        return work(em, None);
    };
    let transcript = scratch_transcript();
    let result = work(em, Some(&transcript));
    let target = match (&req.options.bundle, &result) {
        (Some(p), _) => Some(p.clone()),
        // A usage error (no such package, no such port) is no evidence: no automatic bundle.
        (None, Err(e)) if is_usage_error(req, e) => None,
        (None, Err(_)) => req.options.bundle_on_failure.as_deref().map(auto_path),
        (None, Ok(_)) => None,
    };
    if let Some(path) = target {
        let outcome = match &result {
            Ok(v) => Ok(v.clone()),
            Err(e) => Err(e.to_report(em.phase(), em.partition())),
        };
        let events = tl.snapshot();
        let recorded = transcript.exists().then_some(transcript.as_path());
        let redactor = (!req.options.include_identifiers).then(|| Redactor::new(&key_dir(req)));
        // What the job's bus shows now (a virtual board's bus, or this computer's).
        let devices = req.bus.snapshot();
        let input = BundleInput {
            request: req,
            events: &events,
            outcome: Some(&outcome),
            transcript: recorded,
            devices: Some(&devices),
            redact: redactor.as_ref(),
        };
        match write_bundle(&path, &input) {
            Ok(()) => {
                if let Some(dir) = &req.options.bundle_on_failure {
                    let cap = req
                        .options
                        .bundle_cap_bytes
                        .unwrap_or_else(prune::cap_bytes);
                    let p = prune::prune_dir(dir, cap, Some(&path));
                    if !p.removed.is_empty() {
                        em.info(format!(
                            "removed {} older support bundle(s) from {} (kept {} bytes, cap {cap}; {} sets it in MiB)",
                            p.removed.len(),
                            dir.display(),
                            p.kept_bytes,
                            prune::CAP_ENV
                        ));
                    }
                }
                em.bundle_written(&path);
            }
            Err(e) => em.info(format!("the support bundle could not be written: {e}")),
        }
    }
    let _ = std::fs::remove_file(&transcript);
    result
}
