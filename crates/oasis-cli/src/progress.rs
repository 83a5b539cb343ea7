//! The progress a person sees while a job runs: an `indicatif` bar when stderr is a terminal
//! (indicatif and its `console` crate do the terminal detection, redraw throttling and Windows
//! consoles), plain log lines otherwise (a pipe, a file, CI: no escape codes, no carriage
//! returns). The wording (phase, partition, rate, ETA, "DO NOT UNPLUG", the confirm countdown)
//! is made here once, for both.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oasis_engine::event::Phase;

use crate::output::{human_bytes, human_duration};

/// Bar positions per job (the bar shows `overall` in 0.1 % steps).
const STEPS: u64 = 1000;

/// The bar's layout: a 30-column bar of `#` and `-`, the percentage, then [`bar_parts`]: the
/// warning first, the status after it cut to the terminal's width (a narrow window never wraps
/// the line, and never hides "DO NOT UNPLUG").
const TEMPLATE: &str = "[{bar:30}] {percent:>3}% {prefix}{wide_msg}";

/// One progress report, as the engine's `Event::Progress` carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report<'a> {
    /// The phase.
    pub phase: Phase,
    /// The partition being handled, if any.
    pub partition: Option<&'a str>,
    /// Overall completion, 0.0..=1.0.
    pub overall: f64,
    /// Bytes per second (0 when not measured).
    pub rate: f64,
    /// Seconds left for the whole job, when estimated.
    pub eta: Option<f64>,
    /// A region the board cannot boot without is being rewritten.
    pub critical: bool,
    /// The confirm phase's countdown, in seconds.
    pub seconds_left: Option<u64>,
}

/// What follows the percentage: `Writing modem  2.0 KiB/s  ETA 0:10  DO NOT UNPLUG`.
pub fn status_text(r: &Report<'_>) -> String {
    let mut line = r.phase.title().to_owned();
    if let Some(p) = r.partition {
        line.push_str(&format!(" {p}"));
    }
    if r.rate > 0.0 {
        line.push_str(&format!("  {}/s", human_bytes(r.rate.max(0.0) as u64)));
    }
    if let Some(e) = r.eta {
        line.push_str(&format!("  ETA {}", human_duration(e)));
    }
    if r.critical {
        line.push_str("  DO NOT UNPLUG");
    }
    if let Some(s) = r.seconds_left {
        line.push_str(&format!("  {s} s left"));
    }
    line
}

/// The bar's two texts: the warning (drawn first, never cut) and the status.
pub fn bar_parts(r: &Report<'_>) -> (&'static str, String) {
    let warning = if r.critical { "DO NOT UNPLUG  " } else { "" };
    let status = status_text(&Report {
        critical: false,
        ..*r
    });
    (warning, status)
}

/// Whole percent, clamped to 0..=100.
fn percent(overall: f64) -> u32 {
    (overall.clamp(0.0, 1.0) * 100.0).round() as u32
}

/// One plain log line: ` 50% Writing modem  2.0 KiB/s  ETA 0:10`.
pub fn plain_line(r: &Report<'_>) -> String {
    format!("{:3}% {}", percent(r.overall), status_text(r))
}

/// Decides which reports become plain log lines: the first of each phase/partition (and each
/// change of the "do not unplug" state), every further 10 % of the job, and every 10 s of the
/// confirm countdown. A log stays short however many chunks a partition has.
#[derive(Debug, Default)]
pub struct PlainLog {
    last: Option<(Phase, Option<String>, bool)>,
    decile: u32,
    seconds_left: Option<u64>,
}

impl PlainLog {
    /// The line to print for this report, if it is worth one.
    pub fn line(&mut self, r: &Report<'_>) -> Option<String> {
        let key = (r.phase, r.partition.map(str::to_owned), r.critical);
        let decile = percent(r.overall) / 10;
        let new_stage = self.last.as_ref() != Some(&key);
        let new_decile = decile > self.decile;
        let countdown = r
            .seconds_left
            .is_some_and(|s| s % 10 == 0 && self.seconds_left != Some(s));
        if !(new_stage || new_decile || countdown) {
            return None;
        }
        self.last = Some(key);
        self.decile = self.decile.max(decile);
        self.seconds_left = r.seconds_left;
        Some(plain_line(r))
    }
}

/// The bar's style; the built-in bar should the template ever not parse.
fn style() -> ProgressStyle {
    ProgressStyle::with_template(TEMPLATE)
        .map(|s| s.progress_chars("#-"))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Progress on stderr: a live bar on a terminal, plain lines elsewhere.
#[derive(Debug)]
pub enum Progress {
    /// stderr is a terminal: `indicatif` draws (created at the first report).
    Bar(Option<ProgressBar>),
    /// stderr is a pipe or a file: log lines.
    Plain(PlainLog),
}

impl Progress {
    /// A bar when `tty`, log lines otherwise.
    pub fn new(tty: bool) -> Self {
        if tty {
            Self::Bar(None)
        } else {
            Self::Plain(PlainLog::default())
        }
    }

    /// Show one report.
    pub fn report(&mut self, r: &Report<'_>) {
        match self {
            Self::Bar(bar) => {
                let bar = bar.get_or_insert_with(|| {
                    ProgressBar::with_draw_target(Some(STEPS), ProgressDrawTarget::stderr())
                        .with_style(style())
                });
                let (warning, status) = bar_parts(r);
                bar.set_prefix(warning);
                bar.set_message(status);
                bar.set_position((r.overall.clamp(0.0, 1.0) * STEPS as f64).round() as u64);
            }
            Self::Plain(log) => {
                if let Some(line) = log.line(r) {
                    eprintln!("{line}");
                }
            }
        }
    }

    /// Print lines above the bar (or plainly): the bar is hidden while `print` writes.
    pub fn above(&self, print: impl FnOnce()) {
        match self {
            Self::Bar(Some(bar)) => bar.suspend(print),
            _ => print(),
        }
    }

    /// The job ended: remove the bar (the verdict follows on a clean line).
    pub fn clear(&mut self) {
        if let Self::Bar(bar) = self
            && let Some(b) = bar.take()
        {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(phase: Phase, partition: Option<&str>, overall: f64) -> Report<'_> {
        Report {
            phase,
            partition,
            overall,
            rate: 0.0,
            eta: None,
            critical: false,
            seconds_left: None,
        }
    }

    #[test]
    fn status_keeps_the_wording() {
        let r = Report {
            rate: 2048.0,
            eta: Some(10.0),
            critical: true,
            ..report(Phase::Program, Some("modem"), 0.5)
        };
        assert_eq!(
            status_text(&r),
            "Writing modem  2.0 KiB/s  ETA 0:10  DO NOT UNPLUG"
        );
        assert_eq!(
            plain_line(&r),
            " 50% Writing modem  2.0 KiB/s  ETA 0:10  DO NOT UNPLUG"
        );
        let c = Report {
            seconds_left: Some(42),
            ..report(Phase::Confirm, None, 0.97)
        };
        assert!(
            status_text(&c).ends_with("  42 s left"),
            "{}",
            status_text(&c)
        );
        // No rate, no ETA, no partition: just the phase.
        assert_eq!(
            plain_line(&report(Phase::Erase, None, 1.7)),
            format!("100% {}", Phase::Erase.title())
        );
    }

    #[test]
    fn the_bar_puts_the_warning_first() {
        let r = Report {
            rate: 2048.0,
            critical: true,
            ..report(Phase::Program, Some("sbl1"), 0.5)
        };
        assert_eq!(
            bar_parts(&r),
            ("DO NOT UNPLUG  ", "Writing sbl1  2.0 KiB/s".to_owned())
        );
        let calm = Report {
            critical: false,
            ..r
        };
        assert_eq!(bar_parts(&calm).0, "");
    }

    #[test]
    fn plain_lines_have_no_escape_codes_or_carriage_returns() {
        let r = Report {
            rate: 1e6,
            eta: Some(4000.0),
            critical: true,
            seconds_left: Some(3),
            ..report(Phase::Program, Some("sbl1"), 0.25)
        };
        let l = plain_line(&r);
        assert!(!l.bytes().any(|b| b == 0x1b || b == b'\r'), "{l:?}");
    }

    #[test]
    fn plain_log_prints_stages_and_every_tenth() {
        let mut log = PlainLog::default();
        let mut printed = Vec::new();
        // 200 chunks of one partition, then a second partition.
        for i in 0..=200 {
            let overall = f64::from(i) / 400.0;
            if let Some(l) = log.line(&report(Phase::Program, Some("modem"), overall)) {
                printed.push(l);
            }
        }
        for i in 200..=400 {
            let overall = f64::from(i) / 400.0;
            if let Some(l) = log.line(&report(Phase::Program, Some("system"), overall)) {
                printed.push(l);
            }
        }
        let w = Phase::Program.title();
        assert_eq!(
            printed,
            vec![
                format!("  0% {w} modem"),
                format!(" 10% {w} modem"),
                format!(" 20% {w} modem"),
                format!(" 30% {w} modem"),
                format!(" 40% {w} modem"),
                format!(" 50% {w} modem"),
                format!(" 50% {w} system"),
                format!(" 60% {w} system"),
                format!(" 70% {w} system"),
                format!(" 80% {w} system"),
                format!(" 90% {w} system"),
                format!("100% {w} system"),
            ]
        );
    }

    #[test]
    fn plain_log_marks_unplug_danger_and_counts_down() {
        let mut log = PlainLog::default();
        let base = report(Phase::Program, Some("sbl1"), 0.1);
        assert!(log.line(&base).is_some());
        assert!(log.line(&base).is_none(), "a repeat is not logged");
        let danger = Report {
            critical: true,
            ..base
        };
        assert!(
            log.line(&danger)
                .is_some_and(|l| l.ends_with("DO NOT UNPLUG"))
        );
        let mut ticks = Vec::new();
        for s in (0..=25).rev() {
            let r = Report {
                seconds_left: Some(s),
                ..report(Phase::Confirm, None, 0.99)
            };
            if let Some(l) = log.line(&r) {
                ticks.push(l);
            }
        }
        // The phase's first report (25 s), then every 10 s.
        assert_eq!(ticks.len(), 4, "{ticks:?}");
        assert!(ticks[0].ends_with("25 s left") && ticks[3].ends_with(" 0 s left"));
    }

    #[test]
    fn the_bar_template_parses() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }
}
