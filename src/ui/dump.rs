//! "Collect crash dump": the state of a crash-dump job (a board in memory-dump mode, 05C6:900E)
//! and the section the diagnostics pane draws for it — progress, rate, ETA, the region being
//! read, the folder the dump went to and the support bundle that references it.

use std::path::PathBuf;

use egui::RichText;
use oasis_engine::event::{Event, Phase};

use super::{UiAction, level_color};
use crate::backend::{JobId, Level};
use crate::state::ErrorView;

/// A crash-dump job as the UI shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DumpView {
    /// The job, once started.
    pub job: Option<JobId>,
    /// Title of the board it reads.
    pub board: String,
    /// True until the job's terminal event.
    pub running: bool,
    /// The dump folder.
    pub out: Option<PathBuf>,
    /// The phase running now.
    pub phase: Option<Phase>,
    /// The region being read.
    pub region: Option<String>,
    /// Bytes read of the dump.
    pub done: u64,
    /// Bytes of the dump.
    pub total: u64,
    /// Bytes per second.
    pub rate: f64,
    /// Seconds left.
    pub eta: Option<f64>,
    /// The support bundle written at the end.
    pub bundle_written: Option<PathBuf>,
    /// The verdict sentence, or the failure.
    pub result: Option<Result<String, ErrorView>>,
}

impl DumpView {
    /// Fold one engine event of the job in.
    pub fn apply(&mut self, ev: &Event) {
        match ev {
            Event::PhaseStarted { phase } => self.phase = Some(*phase),
            Event::Progress {
                phase: Phase::RamDump,
                partition,
                done,
                total,
                rate,
                eta_seconds,
                ..
            } => {
                self.region.clone_from(partition);
                self.done = *done;
                self.total = *total;
                self.rate = *rate;
                self.eta = *eta_seconds;
            }
            Event::BundleWritten { path } => self.bundle_written = Some(path.clone()),
            Event::Finished(v) => {
                self.running = false;
                self.done = self.total;
                self.result = Some(Ok(v.summary.clone()));
            }
            Event::Failed(r) => {
                self.running = false;
                self.result = Some(Err(ErrorView {
                    message: r.message.clone(),
                    help: r.hint.clone().unwrap_or_default(),
                }));
            }
            _ => {}
        }
    }
}

fn bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

/// Draw the crash-dump section (nothing before the first dump).
pub fn show(ui: &mut egui::Ui, d: &DumpView) -> Option<UiAction> {
    d.job?;
    let mut action = None;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(format!("Crash dump of {}", d.board)).strong());
        if d.running {
            let frac = if d.total > 0 {
                d.done as f32 / d.total as f32
            } else {
                0.0
            };
            let mut text = match (&d.phase, &d.region) {
                (Some(Phase::RamDump), Some(r)) => format!("Reading {r}"),
                (Some(p), _) => p.title().to_owned(),
                _ => "Starting".to_owned(),
            };
            if d.rate > 0.0 {
                text.push_str(&format!("  ·  {}/s", bytes(d.rate)));
            }
            if let Some(e) = d.eta {
                text.push_str(&format!("  ·  {:.0} s left", e.max(0.0)));
            }
            ui.add(egui::ProgressBar::new(frac).text(text));
            if ui.button("Cancel").clicked() {
                action = Some(UiAction::CancelDump);
            }
        }
        match &d.result {
            Some(Ok(summary)) => {
                ui.label(RichText::new(summary).color(level_color(Level::Green)));
            }
            Some(Err(e)) => {
                ui.label(RichText::new(&e.message).color(level_color(Level::Red)));
                if !e.help.is_empty() {
                    ui.label(&e.help);
                }
            }
            None => {}
        }
        if let Some(out) = &d.out {
            ui.label(format!("Folder: {}", out.display()));
        }
        if let Some(b) = &d.bundle_written {
            ui.label(format!("Support bundle: {}", b.display()));
        }
        ui.label(
            RichText::new(
                "A crash dump may contain secrets (keys, credentials, personal data): share it \
                 only privately, with the module vendor.",
            )
            .small()
            .weak(),
        );
    });
    action
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_engine::event::{ErrorKind, ErrorReport, Verdict};

    #[test]
    fn events_fold_into_progress_folder_and_verdict() {
        let mut d = DumpView {
            job: Some(1),
            running: true,
            ..DumpView::default()
        };
        d.apply(&Event::PhaseStarted {
            phase: Phase::RamDump,
        });
        d.apply(&Event::Progress {
            phase: Phase::RamDump,
            partition: Some("DDRCS0.BIN".into()),
            done: 10,
            total: 40,
            rate: 2048.0,
            overall: 0.25,
            eta_seconds: Some(3.0),
            critical: false,
        });
        assert_eq!(
            (d.done, d.total, d.region.as_deref()),
            (10, 40, Some("DDRCS0.BIN"))
        );
        d.apply(&Event::BundleWritten {
            path: PathBuf::from("/tmp/b.zip"),
        });
        assert_eq!(d.bundle_written, Some(PathBuf::from("/tmp/b.zip")));
        d.apply(&Event::Finished(Verdict {
            summary: "crash dump: 6 of 6 regions".into(),
            verified: vec![],
            skipped: vec![],
            bytes: 40,
            seconds: 1.0,
            confirmed: false,
            running_revision: None,
        }));
        assert!(!d.running);
        assert_eq!(d.result, Some(Ok("crash dump: 6 of 6 regions".into())));
        d.apply(&Event::Failed(ErrorReport {
            kind: ErrorKind::Disconnected,
            message: "gone".into(),
            hint: None,
            phase: None,
            partition: None,
            device_log: vec![],
        }));
        assert!(matches!(d.result, Some(Err(ref e)) if e.message == "gone"));
    }
}
