//! Carrying out what the panels ask for: backend requests, state changes, settings, reports.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::OasisApp;
use crate::backend::FlashJob;
use crate::bench::write_report;
use crate::logbook::{Severity, utc_stamp};
use crate::picker::PickPurpose;
use crate::state::{DiagView, ErrorView, FlashStage, FlashView, Tab};
use crate::ui::UiAction;

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
                self.check_compat_if_needed();
                self.auto_diagnose();
            }
            UiAction::OpenDemo => self.open_demo(ctx),
            UiAction::RefreshBoards => self.backend.refresh_boards(),
            UiAction::RequestFlash => self.state.flash.confirming = true,
            UiAction::DismissConfirm => self.state.flash.confirming = false,
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
            | UiAction::BenchBrowseReport => self.bench_action(action),
            UiAction::ApplySettings => self.apply_settings(),
            UiAction::About(open) => self.state.about_open = open,
            UiAction::KeepOpen => self.state.close_prompt = false,
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
            UiAction::Diagnose(id) => (id, "Diagnosing"),
            UiAction::ProbeAt(id) => (id, "Probing AT ports"),
            UiAction::ReadIdentity(id) => (id, "Reading chip identity"),
            UiAction::SwitchToDownload(id) => (id, "Switching to download mode"),
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
    fn bench_action(&mut self, action: UiAction) {
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
                self.save_report();
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
    fn auto_diagnose(&mut self) {
        if self.state.tab != Tab::Diagnostics
            || self.state.diag.diagnosis.is_some()
            || !self.state.diag.pending.is_empty()
        {
            return;
        }
        if let Some(id) = self.state.selected.clone() {
            self.state.diag.pending.push("Diagnosing");
            self.backend.diagnose(&id);
        }
    }

    fn open_demo(&mut self, ctx: &egui::Context) {
        let dir = self.data_dir.clone().unwrap_or_else(std::env::temp_dir);
        match crate::demo::install(&dir) {
            Ok(p) => {
                self.edits.package_path = p.display().to_string();
                self.dispatch(ctx, UiAction::OpenPackage(p));
            }
            Err(e) => {
                self.log.push(Severity::Error, "package", e.to_string());
                self.state.package.error = Some(ErrorView {
                    message: e.to_string(),
                    help: e.help().to_owned(),
                });
            }
        }
    }

    fn running_jobs(&self) -> Vec<u64> {
        let mut jobs = self.state.bench.running_jobs();
        if self.state.flash.stage == FlashStage::Running
            && let Some(j) = self.state.flash.job
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
        let job = self.next_job;
        self.next_job += 1;
        let req = FlashJob {
            job,
            package: pkg.path.clone(),
            board: board.id.clone(),
            options: self.state.settings.flash_options(),
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
        self.backend.start_flash(FlashJob {
            job,
            package: pkg,
            board,
            options: self.state.settings.flash_options(),
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
        self.state.settings = s;
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

    fn save_report(&mut self) {
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
        match write_report(&path, &rows, fmt) {
            Ok(()) => {
                self.log.push(
                    Severity::Info,
                    "bench",
                    format!("report written to {}", path.display()),
                );
                self.state.last_report = Some(Ok(path));
            }
            Err(e) => {
                self.log.push(Severity::Error, "bench", e.to_string());
                self.state.last_report = Some(Err(ErrorView {
                    message: e.to_string(),
                    help: e.help().to_owned(),
                }));
            }
        }
    }
}
