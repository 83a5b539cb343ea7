//! Words for people: the bundle's human log (one line per event) and the short Markdown
//! summary an app copies into a support ticket.

use std::fmt::Write as _;
use std::path::Path;

use crate::event::{ChipIdentity, ErrorReport, Event, Verdict};

/// One line of the human log for an event (`None` for progress ticks).
pub fn log_line(t: f64, ev: &Event) -> Option<String> {
    let body = match ev {
        Event::PlanReady {
            phases,
            steps,
            total_bytes,
        } => {
            let names: Vec<&str> = phases.iter().map(|p| p.phase.title()).collect();
            format!(
                "plan: {steps} device steps, {total_bytes} bytes; phases: {}",
                names.join(", ")
            )
        }
        Event::PhaseStarted { phase } => format!("{}...", phase.title()),
        Event::PhaseFinished { phase } => format!("{} done", phase.title()),
        // The `Info` line before it says the same for people.
        Event::Progress { .. } | Event::BundleWritten { .. } => return None,
        Event::DeviceLog { line } => format!("board: {line}"),
        Event::Info { message } => message.clone(),
        Event::ChipIdentity(id) => format!(
            "chip identity: serial {}, HW ID {}, chip {}, PK hash {}",
            or_unknown(id.serial.as_deref()),
            or_unknown(id.hw_id.as_deref()),
            or_unknown(id.chip.as_deref()),
            or_unknown(id.pk_hash.as_deref())
        ),
        Event::Finished(v) => format!("FINISHED: {}", v.summary),
        Event::Failed(r) => {
            let mut s = format!("FAILED ({}): {}", kind_name(r), r.message);
            if let Some(h) = &r.hint {
                let _ = write!(s, " | hint: {h}");
            }
            s
        }
    };
    Some(format!("[{t:9.3}] {body}"))
}

fn or_unknown(v: Option<&str>) -> &str {
    v.unwrap_or("unknown")
}

fn kind_name(r: &ErrorReport) -> String {
    serde_json::to_value(r.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", r.kind))
}

/// What the Markdown summary is made from.
#[derive(Debug, Clone, Copy, Default)]
pub struct SummaryInput<'a> {
    /// The port as the user named it.
    pub port: &'a str,
    /// The package.
    pub package: Option<&'a Path>,
    /// The board's identity, if read.
    pub identity: Option<&'a ChipIdentity>,
    /// How the job ended, if it did.
    pub outcome: Option<&'a Result<Verdict, ErrorReport>>,
    /// The job's events (for the phases done and the board's last words).
    pub events: &'a [Event],
    /// Where the support bundle is, if one was written.
    pub bundle: Option<&'a Path>,
}

fn outcome_lines(out: &mut String, outcome: Option<&Result<Verdict, ErrorReport>>) {
    match outcome {
        Some(Ok(v)) => {
            let _ = writeln!(out, "- **Result:** succeeded: {}", v.summary);
            if !v.skipped.is_empty() {
                let _ = writeln!(
                    out,
                    "- **Skipped (already on the board):** {}",
                    v.skipped.join(", ")
                );
            }
        }
        Some(Err(r)) => {
            let place = match (r.phase, &r.partition) {
                (Some(p), Some(part)) => format!(" in {}, partition '{part}'", p.title()),
                (Some(p), None) => format!(" in {}", p.title()),
                _ => String::new(),
            };
            let _ = writeln!(out, "- **Result:** failed (`{}`){place}", kind_name(r));
            let _ = writeln!(out, "- **Message:** {}", r.message);
            if let Some(h) = &r.hint {
                let _ = writeln!(out, "- **Hint:** {h}");
            }
        }
        None => {
            let _ = writeln!(out, "- **Result:** not finished");
        }
    }
}

fn identity_line(out: &mut String, s: &SummaryInput<'_>) {
    let id = s.identity.or_else(|| {
        s.events.iter().find_map(|e| match e {
            Event::ChipIdentity(id) => Some(id),
            _ => None,
        })
    });
    if let Some(id) = id {
        let _ = writeln!(
            out,
            "- **Board:** serial `{}`, HW ID `{}`{}",
            or_unknown(id.serial.as_deref()),
            or_unknown(id.hw_id.as_deref()),
            id.chip
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        );
    }
}

/// The board's last five log lines, as a code block.
fn last_words(out: &mut String, events: &[Event]) {
    let said: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::DeviceLog { line } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    if !said.is_empty() {
        out.push_str("\nLast board log lines:\n\n```\n");
        for l in said.iter().skip(said.len().saturating_sub(5)) {
            let _ = writeln!(out, "{l}");
        }
        out.push_str("```\n");
    }
}

/// A short Markdown summary of a job for a support ticket: versions, port, package, board,
/// result, the phases reached and the board's last log lines.
pub fn markdown_summary(s: &SummaryInput<'_>) -> String {
    let mut out = String::from("### Oasis support summary\n\n");
    let _ = writeln!(
        out,
        "- **Oasis:** {} ({} {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let _ = writeln!(out, "- **Port:** `{}`", s.port);
    if let Some(p) = s.package {
        let name = p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let _ = writeln!(out, "- **Package:** `{name}`");
    }
    identity_line(&mut out, s);
    outcome_lines(&mut out, s.outcome);
    let phases: Vec<&str> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PhaseFinished { phase } => Some(phase.title()),
            _ => None,
        })
        .collect();
    if !phases.is_empty() {
        let _ = writeln!(out, "- **Phases reached:** {}", phases.join(" > "));
    }
    last_words(&mut out, s.events);
    if let Some(b) = s.bundle {
        let _ = writeln!(
            out,
            "\nSupport bundle: `{}` (attach it to the ticket)",
            b.display()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ErrorKind, Phase};

    #[test]
    fn the_summary_names_result_board_and_last_words() {
        let events = vec![
            Event::ChipIdentity(ChipIdentity {
                serial: Some("0cf94c64".into()),
                hw_id: Some("000480e100000000".into()),
                chip: Some("MDM9207".into()),
                ..ChipIdentity::default()
            }),
            Event::PhaseFinished {
                phase: Phase::Connect,
            },
            Event::DeviceLog {
                line: "ERROR: write failed".into(),
            },
        ];
        let out: Result<Verdict, ErrorReport> = Err(ErrorReport {
            kind: ErrorKind::Nak,
            message: "Writing: the board refused <program>".into(),
            hint: Some("try again".into()),
            phase: Some(Phase::Program),
            partition: Some("modem".into()),
            device_log: vec![],
        });
        let md = markdown_summary(&SummaryInput {
            port: "/dev/ttyUSB0",
            package: Some(Path::new("/x/EG25GGBR07A08M2G_30.006.30.006")),
            outcome: Some(&out),
            events: &events,
            ..SummaryInput::default()
        });
        assert!(md.starts_with("### Oasis support summary"), "{md}");
        assert!(
            md.contains("failed (`nak`) in Writing, partition 'modem'"),
            "{md}"
        );
        assert!(
            md.contains("serial `0cf94c64`") && md.contains("(MDM9207)"),
            "{md}"
        );
        assert!(
            md.contains("ERROR: write failed") && md.contains("EG25GGBR07A08M2G"),
            "{md}"
        );
        let line = log_line(1.5, &events[2]).unwrap();
        assert_eq!(line, "[    1.500] board: ERROR: write failed");
    }
}
