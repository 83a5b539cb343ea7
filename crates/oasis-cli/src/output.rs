//! What the CLI shows: JSON lines (`--json`) or progress on stderr (see `progress`) and a plain
//! verdict.
//! The only place that formats engine events for people or scripts.

use std::io::{IsTerminal, Write};

use oasis_engine::event::{ChipIdentity, ErrorReport, Event, Phase, SCHEMA_VERSION, Verdict};
use serde_json::{Value, json};

use crate::progress::{Progress, Report};

/// An event as one JSON object with `"schema"` added.
pub fn event_json(ev: &Event) -> Value {
    let mut v = serde_json::to_value(ev)
        .unwrap_or_else(|e| json!({"event": "unprintable", "error": e.to_string()}));
    if let Value::Object(map) = &mut v {
        map.insert("schema".into(), json!(SCHEMA_VERSION));
    }
    v
}

/// The last `--json` line of a job.
pub fn result_json(outcome: &Result<Verdict, ErrorReport>) -> Value {
    match outcome {
        Ok(v) => json!({
            "event": "result", "schema": SCHEMA_VERSION, "ok": true,
            "error_kind": null, "message": v.summary, "hint": null,
            "verified": v.verified, "bytes": v.bytes, "seconds": v.seconds,
            "skipped": v.skipped, "confirmed": v.confirmed,
            "running_revision": v.running_revision,
        }),
        Err(r) => json!({
            "event": "result", "schema": SCHEMA_VERSION, "ok": false,
            "error_kind": r.kind, "message": r.message, "hint": r.hint,
            "verified": [], "bytes": 0, "seconds": null,
            "phase": r.phase, "partition": r.partition, "device_log": r.device_log,
        }),
    }
}

/// Print one JSON value as a line on stdout (flushed, so a reader sees it at once).
pub fn print_json_line(v: &Value) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not turn into a panic.
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// Human-readable byte count (the engine's wording, the same as the app's).
pub use oasis_engine::progress::human_bytes;

/// `m:ss` for an ETA.
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The human front-end: progress on stderr (a bar on a terminal, plain lines otherwise; see
/// [`crate::progress`]), phase and info lines, then the verdict.
#[derive(Debug)]
pub struct Human {
    progress: Progress,
}

impl Default for Human {
    fn default() -> Self {
        Self::new()
    }
}

impl Human {
    /// A front-end drawing a bar only when stderr is a terminal.
    pub fn new() -> Self {
        Self {
            progress: Progress::new(std::io::stderr().is_terminal()),
        }
    }

    /// Show one event.
    pub fn on_event(&mut self, ev: &Event) {
        let lines: Vec<String> = match ev {
            Event::Progress {
                phase,
                partition,
                overall,
                rate,
                eta_seconds,
                critical,
                done,
                total,
            } => {
                self.progress.report(&Report {
                    phase: *phase,
                    partition: partition.as_deref(),
                    overall: *overall,
                    rate: *rate,
                    eta: *eta_seconds,
                    critical: *critical,
                    // The Confirm phase counts seconds: show the countdown.
                    seconds_left: (*phase == Phase::Confirm && *total > 0)
                        .then(|| total.saturating_sub(*done)),
                });
                return;
            }
            Event::PhaseStarted { phase } => vec![format!("{}...", phase.title())],
            Event::Info { message } => vec![format!("  {message}")],
            Event::ChipIdentity(id) => chip_lines(id).iter().map(|l| format!("  {l}")).collect(),
            Event::Finished(_) | Event::Failed(_) => {
                self.progress.clear();
                return;
            }
            _ => return,
        };
        self.progress.above(|| {
            let mut err = std::io::stderr().lock();
            for l in &lines {
                let _ = writeln!(err, "{l}");
            }
            let _ = err.flush();
        });
    }
}

/// The chip identity in plain lines.
pub fn chip_lines(id: &ChipIdentity) -> Vec<String> {
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "not reported".to_owned());
    vec![
        format!("Chip serial: {}", or_unknown(&id.serial)),
        format!("HW ID:       {}", or_unknown(&id.hw_id)),
        format!(
            "Chip:        {}",
            id.chip.clone().unwrap_or_else(|| "unknown".to_owned())
        ),
        format!("PK hash:     {}", or_unknown(&id.pk_hash)),
    ]
}

/// Print a failure for people: the message, the board's words, and the hint.
pub fn print_failure(r: &ErrorReport) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {}", r.message);
    if !r.device_log.is_empty() && !r.message.contains("the board said") {
        let _ = writeln!(err, "the board said:");
        for l in r.device_log.iter().rev().take(5).rev() {
            let _ = writeln!(err, "  {l}");
        }
    }
    if let Some(h) = &r.hint {
        let _ = writeln!(err, "hint: {h}");
    }
}

/// Print an error that is not a job outcome: as a result-shaped JSON object, or as
/// `error:` and `hint:` lines on stderr.
pub fn print_error(message: &str, hint: Option<&str>, json: bool, kind: &str) {
    if json {
        print_json_line(&json!({
            "event": "result", "schema": SCHEMA_VERSION, "ok": false,
            "error_kind": kind, "message": message, "hint": hint,
        }));
    } else {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "error: {message}");
        if let Some(h) = hint {
            let _ = writeln!(err, "hint: {h}");
        }
    }
}

/// Print a success verdict for people.
pub fn print_verdict(v: &Verdict) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Done: {} ({} written in {:.1} s).",
        v.summary,
        human_bytes(v.bytes),
        v.seconds
    );
    if !v.verified.is_empty() {
        let _ = writeln!(out, "Verified: {}", v.verified.join(", "));
    }
    if !v.skipped.is_empty() {
        let _ = writeln!(
            out,
            "Skipped (already on the board): {}",
            v.skipped.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_engine::event::ErrorKind;

    #[test]
    fn events_carry_the_schema() {
        let v = event_json(&Event::PhaseStarted {
            phase: Phase::Erase,
        });
        assert_eq!(v["event"], "phase_started");
        assert_eq!(v["schema"], 1);
        assert_eq!(v["phase"], "erase");
    }

    #[test]
    fn result_line_has_the_contract_keys() {
        let ok = result_json(&Ok(Verdict {
            summary: "verified, not yet confirmed running".into(),
            verified: vec!["sbl".into()],
            skipped: vec![],
            bytes: 4096,
            seconds: 1.5,
            confirmed: false,
            running_revision: None,
        }));
        for k in [
            "event",
            "schema",
            "ok",
            "error_kind",
            "message",
            "hint",
            "verified",
            "bytes",
            "seconds",
        ] {
            assert!(ok.get(k).is_some(), "missing {k}");
        }
        assert_eq!(ok["ok"], true);
        assert_eq!(ok["verified"][0], "sbl");
        let err = result_json(&Err(ErrorReport {
            kind: ErrorKind::Refused,
            message: "no".into(),
            hint: Some("h".into()),
            phase: None,
            partition: None,
            device_log: vec![],
        }));
        assert_eq!(err["ok"], false);
        assert_eq!(err["error_kind"], "refused");
        assert_eq!(err["hint"], "h");
    }

    #[test]
    fn units() {
        assert_eq!(human_duration(75.0), "1:15");
        assert_eq!(human_duration(3725.0), "1:02:05");
    }
}
