//! Folding backend messages into the state (and the log), one message at a time.

use oasis_engine::event::Event;

use super::OasisApp;
use crate::backend::{BackendMsg, JobId, LevelText};
use crate::job::JobOutcome;
use crate::logbook::Severity;
use crate::picker::{PickPurpose, Picked};
use crate::state::{DiagRequest, ErrorView, FlashStage};
use crate::ui::UiAction;

impl OasisApp {
    pub(super) fn apply(&mut self, msg: BackendMsg) {
        match msg {
            BackendMsg::Boards(list) => self.on_boards(list),
            BackendMsg::Package { path, result } => self.on_package(&path, result),
            BackendMsg::Compat {
                board,
                package,
                report,
            } => {
                let current = self.compat_key.as_ref().map(|(p, b, _)| (p, b));
                if current == Some((&package, &board)) {
                    for c in &report.checks {
                        let text = format!("{}: {} - {}", c.name, c.status.word(), c.reason);
                        self.log.push(Severity::Info, "compat", text);
                    }
                    self.state.flash.compat = Some(report);
                }
            }
            BackendMsg::Job { job, event } => self.job_event(job, &event),
            BackendMsg::Diagnosis { board, result } => {
                self.done_pending(DiagRequest::Diagnose);
                if let Ok(d) = &result {
                    self.board_log(&board, Severity::Info, format!("diagnosis: {}", d.title));
                }
                if self.is_selected(&board) {
                    self.state.diag.diagnosis = Some(result.map_err(|e| ErrorView::from(&e)));
                }
            }
            BackendMsg::AtProbe { board, result } => {
                self.done_pending(DiagRequest::ProbeAt);
                for p in result.iter().flatten() {
                    for (cmd, ans) in p.answers() {
                        let text = format!("{} {cmd} -> {ans}", p.probe.port);
                        self.board_log(&board, Severity::Detail, text);
                    }
                }
                if self.is_selected(&board) {
                    self.state.diag.at = Some(result.map_err(|e| ErrorView::from(&e)));
                }
            }
            BackendMsg::Identity { board, result } => self.on_identity(&board, result),
            BackendMsg::Switched { board, result } => {
                self.done_pending(DiagRequest::Switch);
                match &result {
                    Ok(t) => self.board_log(&board, Severity::Info, t.clone()),
                    Err(e) => self.board_log(&board, Severity::Error, e.to_string()),
                }
                self.state.diag.switched = Some(result.map_err(|e| ErrorView::from(&e)));
            }
            BackendMsg::Timeline(entries) => self.state.timeline = entries,
            BackendMsg::Notice(text) => {
                self.log.push(Severity::Info, "backend", text.clone());
                self.state.status = Some(text);
            }
        }
    }

    fn board_log(&mut self, board: &str, severity: Severity, text: String) {
        self.log.push(severity, &format!("board {board}"), text);
    }

    fn on_boards(&mut self, list: Vec<crate::backend::BoardInfo>) {
        self.state.boards = list;
        // A selected board that left the list stays selected: a module re-enumerating after a
        // switch or a reset is gone for a moment and comes back on the same port.
        if self.state.selected.is_none() {
            let first = self.state.visible_boards().next().map(|b| b.id.clone());
            self.state.selected = first;
        }
        if let Some(b) = self.state.selected_board() {
            let now = (b.id.clone(), b.mode);
            let changed = self
                .selected_mode
                .as_ref()
                .is_some_and(|(id, mode)| *id == now.0 && *mode != now.1);
            self.selected_mode = Some(now);
            if changed {
                // What the Diagnostics pane showed was the board's state before; look again.
                self.state.diag.diagnosis = None;
                self.auto_diagnose();
            }
        }
        let starts = self.state.bench.on_boards(&self.state.boards);
        for port in starts {
            self.start_bench_slot(&port);
        }
        self.check_compat_if_needed();
    }

    fn on_package(
        &mut self,
        path: &std::path::Path,
        result: Result<crate::backend::PackageSummary, crate::backend::BackendError>,
    ) {
        if self.state.package.opening.as_deref() == Some(path) {
            self.state.package.opening = None;
        }
        match result {
            Ok(summary) => {
                let text = format!(
                    "opened {} {} from {}",
                    summary.model,
                    summary.version,
                    path.display()
                );
                self.log.push(Severity::Info, "package", text);
                for w in &summary.warnings {
                    self.log.push(Severity::Warn, "package", w.clone());
                }
                self.state.package.error = None;
                self.state.package.summary = Some(summary);
                self.remember_package(path);
            }
            Err(e) => {
                self.log.push(Severity::Error, "package", e.to_string());
                self.state.package.error = Some(ErrorView::from(&e));
                self.state.package.summary = None;
            }
        }
        self.compat_key = None;
        self.check_compat_if_needed();
    }

    fn on_identity(
        &mut self,
        board: &str,
        result: Result<oasis_engine::event::ChipIdentity, crate::backend::BackendError>,
    ) {
        self.done_pending(DiagRequest::ReadIdentity);
        if let Ok(id) = &result {
            let text = format!(
                "chip {} serial {} hw_id {}",
                id.chip.as_deref().unwrap_or("?"),
                id.serial.as_deref().unwrap_or("?"),
                id.hw_id.as_deref().unwrap_or("?")
            );
            self.board_log(board, Severity::Info, text);
        }
        if self.is_selected(board) {
            self.state.diag.identity = Some(result.map_err(|e| ErrorView::from(&e)));
        }
    }

    fn is_selected(&self, board: &str) -> bool {
        self.state.selected.as_deref() == Some(board)
    }

    fn done_pending(&mut self, what: DiagRequest) {
        if let Some(i) = self.state.diag.pending.iter().position(|p| *p == what) {
            self.state.diag.pending.remove(i);
        }
    }

    fn job_event(&mut self, job: JobId, ev: &Event) {
        if self.state.dump.job == Some(job) {
            return self.dump_event(job, ev);
        }
        let source = format!("job {job}");
        log_event(&mut self.log, &source, ev);
        if let Event::Progress {
            partition: Some(p), ..
        } = ev
        {
            let before = if self.state.flash.job == Some(job) {
                self.state.flash.progress.partition.as_ref()
            } else {
                self.state
                    .bench
                    .slots()
                    .iter()
                    .find(|s| s.job == Some(job))
                    .and_then(|s| s.progress.partition.as_ref())
            };
            if before != Some(p) {
                self.log
                    .push(Severity::Detail, &source, format!("partition {p}"));
            }
        }
        if self.state.flash.job == Some(job) && self.state.flash.stage == FlashStage::Running {
            self.state.flash.progress.apply(ev);
            self.state.flash.events.push(ev.clone());
            if let Event::BundleWritten { path } = ev {
                self.state.flash.bundle_written = Some(path.clone());
            }
            if ev.is_terminal() {
                let f = &mut self.state.flash;
                f.backup_written = f
                    .backup_dir
                    .as_ref()
                    .is_some_and(|d| d.join("manifest.json").is_file());
                f.bundle_written = f.bundle_written.take().filter(|b| b.is_file());
                self.state.flash.stage = FlashStage::Done;
                self.state.flash.raw_log = self.log.of_source(&source);
                let verdict = match &self.state.flash.progress.outcome {
                    Some(JobOutcome::Finished(_)) => "succeeded",
                    _ => "failed",
                };
                self.state.status = Some(format!(
                    "Job {job} on {}: {verdict}",
                    self.state.flash.board_title
                ));
            }
        } else {
            self.state.bench.on_event(job, ev);
        }
    }

    /// A file dialog answered.
    pub(super) fn picked(&mut self, ctx: &egui::Context, p: Picked) {
        let Some(path) = p.path else {
            if p.purpose == PickPurpose::Bundle
                && let Some(b) = &self.state.flash.bundle_written
            {
                self.state.flash.bundle_saved = Some(Err(format!(
                    "No file dialog answered; the bundle stays in {}",
                    b.display()
                )));
                return;
            }
            let text = "No file dialog answered (on Linux it needs xdg-desktop-portal). Type or paste the path instead, or drop the folder onto the window.";
            self.log.push(Severity::Warn, "app", text);
            self.state.status = Some(text.to_owned());
            return;
        };
        match p.purpose {
            PickPurpose::PackageFolder | PickPurpose::PackageZip => {
                self.edits.package_path = path.display().to_string();
                self.dispatch(ctx, UiAction::OpenPackage(path));
            }
            PickPurpose::Report => {
                self.edits.report_path = path.display().to_string();
                self.dispatch(ctx, UiAction::BenchSaveReport);
            }
            PickPurpose::Bundle => self.copy_bundle_to(ctx, &path),
        }
    }
}

/// One log line per event worth reading (progress only when the partition changes).
fn log_event(log: &mut crate::logbook::Logbook, source: &str, ev: &Event) {
    let (sev, text) = match ev {
        Event::PlanReady {
            phases,
            steps,
            total_bytes,
        } => (
            Severity::Info,
            format!(
                "plan: {} phases, {steps} steps, {total_bytes} bytes to write",
                phases.len()
            ),
        ),
        Event::PhaseStarted { phase } => (Severity::Info, format!("{}…", phase.title())),
        // The `Info` line before it says the same for people.
        Event::Progress { .. } | Event::BundleWritten { .. } => return,
        Event::DeviceLog { line } => (Severity::Detail, format!("board: {line}")),
        Event::Info { message } => (Severity::Info, message.clone()),
        Event::ChipIdentity(id) => (
            Severity::Info,
            format!(
                "chip {} serial {}",
                id.chip.as_deref().unwrap_or("?"),
                id.serial.as_deref().unwrap_or("?")
            ),
        ),
        Event::PhaseFinished { phase } => (Severity::Detail, format!("{} done", phase.title())),
        Event::Finished(v) => (
            Severity::Info,
            format!("finished: {} ({:.1} s)", v.summary, v.seconds),
        ),
        Event::Failed(r) => {
            let hint = r
                .hint
                .as_deref()
                .map(|h| format!(" - {h}"))
                .unwrap_or_default();
            (
                Severity::Error,
                format!("failed ({:?}): {}{hint}", r.kind, r.message),
            )
        }
    };
    log.push(sev, source, text);
}
