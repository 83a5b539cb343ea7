//! Carrying out what the panels ask for: backend requests, state changes, settings, reports.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::OasisApp;
use super::files::{self, FileDone};
use crate::backend::{FlashJob, JobId};
use crate::job::JobOutcome;
use crate::logbook::{Severity, utc_stamp};
use crate::picker::PickPurpose;
use crate::state::{DiagRequest, DiagView, FlashStage, FlashView, Tab};
use crate::ui::UiAction;
use oasis_engine::FlashOptions;

impl OasisApp {
    /// Carry out one action.
    pub fn dispatch(&mut self, ctx: &egui::Context, action: UiAction) {
        match action {
            UiAction::SelectTab(t) => {
                self.state.tab = t;
                self.auto_diagnose();
            }
            UiAction::BrowseFolder => self.pick(PickPurpose::PackageFolder),
            UiAction::BrowseZip => self.pick(PickPurpose::PackageZip),
            UiAction::OpenPackage(path) => {
                self.log.push(
                    Severity::Info,
                    "package",
                    format!("opening {}", path.display()),
                );
                self.state.package.opening = Some(path.clone());
                self.backend.open_package(&path);
            }
            UiAction::SelectBoard(id) => {
                if self.state.selected.as_ref() != Some(&id) {
                    self.state.selected = Some(id);
                    self.state.diag = DiagView::default();
                }
                self.selected_mode = self.state.selected_board().map(|b| (b.id.clone(), b.mode));
                self.check_compat_if_needed();
                self.auto_diagnose();
            }
            UiAction::OpenDemo => self.open_demo(ctx),
            UiAction::RefreshBoards => self.backend.refresh_boards(),
            UiAction::RequestFlash => self.state.flash.confirming = true,
            UiAction::DismissConfirm => {
                self.state.flash.confirming = false;
                self.state.flash.no_backup_override = false;
            }
            UiAction::NoBackupOverride(on) => self.state.flash.no_backup_override = on,
            UiAction::SaveBundle => self.save_bundle(),
            UiAction::CopySummary => self.copy_summary(ctx),
            UiAction::ConfirmFlash => self.start_flash(),
            UiAction::CancelFlash => {
                if let Some(job) = self.state.flash.job {
                    self.log
                        .push(Severity::Warn, &format!("job {job}"), "cancel requested");
                    self.backend.cancel(job);
                }
            }
            UiAction::NewFlash => {
                let compat = self.state.flash.compat.take();
                self.state.flash = FlashView {
                    compat,
                    ..FlashView::default()
                };
                self.compat_key = None;
                self.check_compat_if_needed();
            }
            UiAction::ToggleRawLog => self.state.flash.show_raw_log ^= true,
            UiAction::Diagnose(_)
            | UiAction::ProbeAt(_)
            | UiAction::ReadIdentity(_)
            | UiAction::SwitchToDownload(_) => self.diag_action(action),
            UiAction::BenchArm(_)
            | UiAction::BenchStart(_)
            | UiAction::BenchRetryFailed
            | UiAction::BenchNextBoard(_)
            | UiAction::BenchSaveReport
            | UiAction::BenchBrowseReport => self.bench_action(ctx, action),
            UiAction::ApplySettings => self.apply_settings(),
            UiAction::About(open) => self.state.about_open = open,
            UiAction::KeepOpen => self.state.close_prompt = false,
            UiAction::CollectDump(id) => self.start_dump(&id),
            UiAction::CancelDump => {
                if let Some(job) = self.state.dump.job.filter(|_| self.state.dump.running) {
                    self.backend.cancel(job);
                }
            }
            UiAction::ConfirmClose => {
                for job in self.running_jobs() {
                    self.backend.cancel(job);
                }
                self.state.close_prompt = false;
                self.state.close_confirmed = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// Diagnostics requests: select the board, mark the request pending, ask the backend.
    fn diag_action(&mut self, action: UiAction) {
        let (id, what) = match &action {
            UiAction::Diagnose(id) => (id, DiagRequest::Diagnose),
            UiAction::ProbeAt(id) => (id, DiagRequest::ProbeAt),
            UiAction::ReadIdentity(id) => (id, DiagRequest::ReadIdentity),
            UiAction::SwitchToDownload(id) => (id, DiagRequest::Switch),
            _ => return,
        };
        self.select_for_diag(id);
        self.state.diag.pending.push(what);
        match &action {
            UiAction::Diagnose(id) => {
                self.state.tab = Tab::Diagnostics;
                self.backend.diagnose(id);
            }
            UiAction::ProbeAt(id) => self.backend.probe_at(id),
            UiAction::ReadIdentity(id) => self.backend.read_identity(id),
            UiAction::SwitchToDownload(id) => self.backend.switch_to_download(id),
            _ => {}
        }
    }

    /// Bench requests.
    fn bench_action(&mut self, ctx: &egui::Context, action: UiAction) {
        let starts = match action {
            UiAction::BenchArm(on) => {
                self.state.bench.armed = on;
                let word = if on { "armed" } else { "disarmed" };
                self.log.push(Severity::Info, "bench", word);
                self.state.bench.on_boards(&self.state.boards)
            }
            UiAction::BenchStart(port) => vec![port],
            UiAction::BenchRetryFailed => self.state.bench.retry_failed(),
            UiAction::BenchNextBoard(port) => {
                self.state.bench.reset_slot(&port);
                Vec::new()
            }
            UiAction::BenchSaveReport => {
                self.save_report(ctx);
                Vec::new()
            }
            UiAction::BenchBrowseReport => {
                self.pick(PickPurpose::Report);
                Vec::new()
            }
            _ => Vec::new(),
        };
        for port in starts {
            self.start_bench_slot(&port);
        }
    }

    /// On the diagnostics tab, a selected board that has no diagnosis yet gets one.
    pub(super) fn auto_diagnose(&mut self) {
        if self.state.tab != Tab::Diagnostics
            || self.state.diag.diagnosis.is_some()
            || !self.state.diag.pending.is_empty()
        {
            return;
        }
        if let Some(id) = self.state.selected.clone() {
            self.state.diag.pending.push(DiagRequest::Diagnose);
            self.backend.diagnose(&id);
        }
    }

    fn open_demo(&mut self, ctx: &egui::Context) {
        let dir = self.data_dir.clone().unwrap_or_else(std::env::temp_dir);
        files::install_demo(ctx, &self.files_tx, dir);
    }

    fn running_jobs(&self) -> Vec<u64> {
        let mut jobs = self.state.bench.running_jobs();
        if self.state.flash.stage == FlashStage::Running
            && let Some(j) = self.state.flash.job
        {
            jobs.push(j);
        }
        if self.state.dump.running
            && let Some(j) = self.state.dump.job
        {
            jobs.push(j);
        }
        jobs
    }

    fn select_for_diag(&mut self, id: &str) {
        if self.state.selected.as_deref() != Some(id) {
            self.state.selected = Some(id.to_owned());
            self.state.diag = DiagView::default();
        }
    }

    /// The Oasis data folder the safety net writes into: the app's, else the engine's default.
    fn safety_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(oasis_engine::paths::data_dir)
    }

    /// The settings' flash options plus the safety net: a fresh backup folder (when the setting
    /// is on), and a support bundle for every job (`bundles/oasis-<time>-job<N>.zip`).
    fn safety_options(&self, job: JobId, serial: Option<&str>) -> FlashOptions {
        let mut o = self.state.settings.flash_options();
        let dir = self.safety_dir();
        if self.state.settings.backup_before_flash {
            let who = format!("{}-job{job}", serial.unwrap_or("board"));
            o.backup = Some(oasis_engine::paths::timestamped_backup_dir(
                &dir.join("backups"),
                Some(&who),
            ));
        }
        let bundles = dir.join("bundles");
        let stamp = oasis_engine::paths::compact_stamp(oasis_engine::paths::now_unix());
        o.bundle = Some(bundles.join(format!("oasis-{stamp}-job{job}.zip")));
        o.bundle_on_failure = Some(bundles);
        o
    }

    /// Ask where to save a copy of the finished job's support bundle.
    fn save_bundle(&mut self) {
        let Some(b) = self.state.flash.bundle_written.clone() else {
            return;
        };
        let name = b.file_name().map_or_else(
            || "oasis-bundle.zip".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let start = b.parent().map(Path::to_path_buf);
        self.picker
            .pick(PickPurpose::Bundle, start, &name, self.picks_tx.clone());
    }

    /// Copy the finished job's bundle to `to` (a picker's answer), off the UI thread.
    pub(super) fn copy_bundle_to(&mut self, ctx: &egui::Context, to: &Path) {
        let Some(from) = self.state.flash.bundle_written.clone() else {
            return;
        };
        files::copy_bundle(ctx, &self.files_tx, from, to.to_path_buf());
    }

    /// File work came back: log it and show it.
    pub(super) fn file_done(&mut self, ctx: &egui::Context, done: FileDone) {
        match done {
            FileDone::DemoInstalled(Ok(p)) => {
                self.edits.package_path = p.display().to_string();
                self.dispatch(ctx, UiAction::OpenPackage(p));
            }
            FileDone::DemoInstalled(Err(e)) => {
                self.log.push(Severity::Error, "package", e.message.clone());
                self.state.package.error = Some(e);
            }
            FileDone::BundleCopied(result) => {
                let line = match &result {
                    Ok(p) => format!("support bundle copied to {}", p.display()),
                    Err(e) => e.clone(),
                };
                self.log.push(Severity::Info, "app", line);
                self.state.flash.bundle_saved = Some(result);
            }
            FileDone::ReportWritten(result) => {
                match &result {
                    Ok(path) => self.log.push(
                        Severity::Info,
                        "bench",
                        format!("report written to {}", path.display()),
                    ),
                    Err(e) => self.log.push(Severity::Error, "bench", e.message.clone()),
                }
                self.state.last_report = Some(result);
            }
        }
    }

    /// Put the Markdown summary of the finished job on the clipboard.
    fn copy_summary(&mut self, ctx: &egui::Context) {
        let f = &self.state.flash;
        let outcome = match &f.progress.outcome {
            Some(JobOutcome::Finished(v)) => Some(Ok(v.clone())),
            Some(JobOutcome::Failed(r)) => Some(Err(r.clone())),
            None => None,
        };
        let package = self
            .state
            .package
            .summary
            .as_ref()
            .map(|p| p.path.as_path());
        let input = oasis_engine::SummaryInput {
            port: &f.port,
            package,
            identity: f.progress.identity.as_ref(),
            outcome: outcome.as_ref(),
            events: &f.events,
            bundle: f.bundle_written.as_deref(),
        };
        let mut text = oasis_engine::markdown_summary(&input);
        if !self.state.settings.include_identifiers {
            // The same masks as the job's bundle (whose writing read the data folder's key);
            // no file is touched on the UI thread.
            let mut r = oasis_engine::bundle::redact::Redactor::without_io(&self.safety_dir());
            if let Some(s) = f
                .progress
                .identity
                .as_ref()
                .and_then(|i| i.serial.as_deref())
            {
                r.add_serial(s);
            }
            r.add_serials_from_log(f.events.iter().filter_map(|e| match e {
                oasis_engine::Event::DeviceLog { line } => Some(line.as_str()),
                _ => None,
            }));
            text = r.text(&text);
        }
        ctx.copy_text(text.clone());
        self.state.flash.copied_summary = Some(text);
    }

    fn pick(&mut self, purpose: PickPurpose) {
        let start = match purpose {
            PickPurpose::Report => Some(self.report_dir()),
            _ => self.state.settings.last_package_dir.clone(),
        };
        let name = format!(
            "oasis-bench-{}.{}",
            utc_stamp(std::time::SystemTime::now()),
            self.state.settings.report_format.extension()
        );
        self.picker
            .pick(purpose, start, &name, self.picks_tx.clone());
    }

    fn start_flash(&mut self) {
        self.state.flash.confirming = false;
        let (Some(pkg), Some(board)) = (
            self.state.package.summary.clone(),
            self.state.selected_board().cloned(),
        ) else {
            return;
        };
        let needs_override =
            !self.state.settings.backup_before_flash && !pkg.destructive.is_empty();
        if needs_override && !self.state.flash.no_backup_override {
            self.log.push(
                Severity::Warn,
                "app",
                "not flashed: the plan destroys calibration data and neither a backup nor the override was chosen",
            );
            return;
        }
        let job = self.next_job;
        self.next_job += 1;
        let req = FlashJob {
            job,
            package: pkg.path.clone(),
            board: board.id.clone(),
            options: self.safety_options(job, board.serial.as_deref()),
        };
        self.log.push(
            Severity::Info,
            &format!("job {job}"),
            format!(
                "flash {} {} onto {} ({})",
                pkg.model, pkg.version, board.title, board.detail
            ),
        );
        let compat = self.state.flash.compat.take();
        self.state.flash = FlashView {
            stage: FlashStage::Running,
            job: Some(job),
            board_title: board.title.clone(),
            started: Some(Instant::now()),
            compat,
            backup_dir: req.options.backup.clone(),
            bundle: req.options.bundle.clone(),
            port: if board.is_virtual {
                board.id.clone()
            } else {
                format!("usb:{}", board.id)
            },
            ..FlashView::default()
        };
        self.backend.start_flash(req);
    }

    pub(super) fn start_bench_slot(&mut self, port: &str) {
        let Some(pkg) = self.state.package.summary.as_ref().map(|p| p.path.clone()) else {
            return;
        };
        let job = self.next_job;
        let Some(board) = self.state.bench.start(port, job) else {
            return;
        };
        self.next_job += 1;
        self.log.push(
            Severity::Info,
            "bench",
            format!("slot {port}: job {job} on board {board}"),
        );
        let serial = self
            .state
            .boards
            .iter()
            .find(|b| b.id == board)
            .and_then(|b| b.serial.clone());
        self.backend.start_flash(FlashJob {
            job,
            package: pkg,
            board,
            options: self.safety_options(job, serial.as_deref()),
        });
    }

    /// Ask for a compatibility verdict when package, board or board mode changed.
    pub(super) fn check_compat_if_needed(&mut self) {
        let (Some(pkg), Some(board)) = (&self.state.package.summary, self.state.selected_board())
        else {
            return;
        };
        let key = (pkg.path.clone(), board.id.clone(), board.mode);
        let (path, id) = (pkg.path.clone(), board.id.clone());
        if self.compat_key.as_ref() == Some(&key) || self.state.flash.stage == FlashStage::Running {
            return;
        }
        self.state.flash.compat = None;
        self.compat_key = Some(key);
        self.backend.check_compat(&path, &id);
    }

    pub(super) fn remember_package(&mut self, path: &Path) {
        self.edits.settings.last_package = Some(path.to_owned());
        self.edits.settings.last_package_dir = path.parent().map(Path::to_path_buf);
        self.apply_settings();
    }

    fn apply_settings(&mut self) {
        let s = self.edits.settings.clone().sanitised();
        if s == self.state.settings {
            return;
        }
        let ports_changed = s.manual_ports != self.state.settings.manual_ports;
        self.state.settings = s;
        if ports_changed {
            self.backend
                .set_manual_ports(self.state.settings.manual_ports.clone());
            self.backend.refresh_boards();
        }
        if let Some(storage) = &mut self.own_storage {
            self.state.settings.save(storage);
            eframe::Storage::flush(storage);
        }
    }

    fn report_dir(&self) -> PathBuf {
        self.state.settings.report_dir.clone().unwrap_or_else(|| {
            self.data_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir)
                .join("reports")
        })
    }

    fn save_report(&mut self, ctx: &egui::Context) {
        let fmt = self.state.settings.report_format;
        let path = if self.edits.report_path.trim().is_empty() {
            let name = format!(
                "oasis-bench-{}.{}",
                utc_stamp(std::time::SystemTime::now()),
                fmt.extension()
            );
            self.report_dir().join(name)
        } else {
            PathBuf::from(self.edits.report_path.trim())
        };
        let rows = self.state.bench.report();
        files::write_bench_report(ctx, &self.files_tx, path, rows, fmt);
    }
}
