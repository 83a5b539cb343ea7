//! `OasisApp`: owns the backend handle, folds its messages into the state each frame, draws the
//! panels and carries out the [`UiAction`]s they return. The UI thread only ever drains channels.

mod actions;
mod apply;
mod dump;
mod files;

use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use egui::RichText;

use crate::assets::Pictures;
use crate::backend::{Backend, BackendMsg, JobId, egui_waker};
use crate::logbook::{Logbook, Severity};
use crate::picker::{Picked, Picker, RfdPicker};
use crate::settings::{JsonFileStorage, Settings};
use crate::state::{AppState, Edits, FlashStage, Tab};
use crate::ui::{self, UiAction};

/// How the app is started.
pub struct AppOptions {
    /// The backend (the engine with real and virtual boards; tests use stubs).
    pub backend: Box<dyn Backend>,
    /// Folder for logs, reports and (without eframe persistence) settings; `None` = memory only.
    pub data_dir: Option<PathBuf>,
    /// Open this package at start (else the last one, else none).
    pub package: Option<PathBuf>,
    /// The file dialogs (`None`: rfd).
    pub picker: Option<Box<dyn Picker>>,
}

impl std::fmt::Debug for AppOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppOptions")
            .field("backend", &self.backend.name())
            .field("data_dir", &self.data_dir)
            .field("package", &self.package)
            .finish_non_exhaustive()
    }
}

/// The desktop app.
pub struct OasisApp {
    backend: Box<dyn Backend>,
    rx: Receiver<BackendMsg>,
    /// What the panels read (public for tests).
    pub state: AppState,
    /// What the user is typing.
    pub edits: Edits,
    log: Logbook,
    pictures: Pictures,
    picker: Box<dyn Picker>,
    picks_tx: Sender<Picked>,
    picks_rx: Receiver<Picked>,
    files_tx: Sender<files::FileDone>,
    files_rx: Receiver<files::FileDone>,
    own_storage: Option<JsonFileStorage>,
    data_dir: Option<PathBuf>,
    next_job: JobId,
    compat_key: Option<(PathBuf, String, crate::backend::BoardMode)>,
    /// The selected board and the mode it was last listed in (a board that comes back in
    /// another mode is diagnosed again).
    selected_mode: Option<(String, crate::backend::BoardMode)>,
}

impl std::fmt::Debug for OasisApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OasisApp")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl OasisApp {
    /// Build the app inside eframe's creation callback.
    pub fn new(cc: &eframe::CreationContext<'_>, opts: AppOptions) -> OasisApp {
        let ctx = &cc.egui_ctx;
        let own_storage = match cc.storage {
            Some(_) => None,
            None => Some(match &opts.data_dir {
                Some(d) => JsonFileStorage::open(&d.join("settings.json")),
                None => JsonFileStorage::in_memory(),
            }),
        };
        let settings = match (cc.storage, &own_storage) {
            (Some(s), _) => Settings::load(s),
            (None, Some(s)) => Settings::load(s),
            (None, None) => Settings::default(),
        };
        let mut backend = opts.backend;
        backend.set_waker(egui_waker(ctx));
        let picker = opts
            .picker
            .unwrap_or_else(|| Box::new(RfdPicker::new(egui_waker(ctx))));
        let log = Logbook::new(opts.data_dir.as_ref().map(|d| d.join("logs")).as_deref());
        let (picks_tx, picks_rx) = unbounded();
        let (files_tx, files_rx) = unbounded();
        let mut state = AppState::new(settings.clone(), backend.name());
        state.log_path = log.path().map(std::path::Path::to_path_buf);
        let mut app = OasisApp {
            rx: backend.receiver(),
            backend,
            state,
            edits: Edits::new(&settings),
            log,
            pictures: Pictures::default(),
            picker,
            picks_tx,
            picks_rx,
            files_tx,
            files_rx,
            own_storage,
            data_dir: opts.data_dir,
            next_job: 1,
            compat_key: None,
            selected_mode: None,
        };
        app.log.push(
            Severity::Info,
            "app",
            format!(
                "Oasis {} started; boards from {}",
                env!("CARGO_PKG_VERSION"),
                app.state.backend_name
            ),
        );
        app.backend
            .set_manual_ports(app.state.settings.manual_ports.clone());
        app.backend.refresh_boards();
        let start = opts
            .package
            .or_else(|| settings.last_package.clone().filter(|p| p.exists()));
        match start {
            Some(p) => {
                app.edits.package_path = p.display().to_string();
                app.dispatch(ctx, UiAction::OpenPackage(p));
            }
            // First run: the demo package, so a new user can click through a whole flash.
            None => app.dispatch(ctx, UiAction::OpenDemo),
        }
        app
    }

    /// Say in the run's log which renderer draws the window (and why, after a fallback).
    pub fn note_renderer(&mut self, text: impl Into<String>) {
        self.log.push(Severity::Info, "app", text.into());
    }

    /// The run's log (tests read it).
    pub fn logbook(&self) -> &Logbook {
        &self.log
    }

    /// Drain every pending message (the UI thread never waits on a channel).
    fn poll(&mut self, ctx: &egui::Context) {
        while let Ok(msg) = self.rx.try_recv() {
            self.apply(msg);
        }
        while let Ok(p) = self.picks_rx.try_recv() {
            self.picked(ctx, p);
        }
        while let Ok(done) = self.files_rx.try_recv() {
            self.file_done(ctx, done);
        }
    }

    fn draw(&mut self, ui: &mut egui::Ui) -> Option<UiAction> {
        let ctx = ui.ctx().clone();
        let mut action = None;
        egui::Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Oasis").strong().size(18.0));
                ui.separator();
                for t in Tab::ALL {
                    if ui
                        .selectable_label(self.state.tab == t, t.title())
                        .clicked()
                    {
                        action = Some(UiAction::SelectTab(t));
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("About").clicked() {
                        action = Some(UiAction::About(true));
                    }
                });
            });
            if self.state.critical() && self.state.tab != Tab::Flash {
                ui::flash::do_not_unplug(ui);
            }
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                let n = self.state.visible_boards().count();
                ui.label(
                    RichText::new(format!("{n} board(s)  ·  {}", self.state.backend_name)).small(),
                );
                if let Some(s) = &self.state.status {
                    ui.separator();
                    ui.label(RichText::new(s).small());
                }
            });
        });
        let picture = self.diagnosis_picture(&ctx);
        egui::CentralPanel::default().show(ui, |ui| {
            let a = match self.state.tab {
                Tab::Flash => ui::flash::show(ui, &self.state, &mut self.edits.package_path),
                Tab::Diagnostics => ui::diagnostics::show(ui, &self.state, picture.as_ref()),
                Tab::Bench => ui::bench::show(ui, &self.state, &mut self.edits),
                Tab::Log => ui::log::show(ui, &self.log, &mut self.edits),
                Tab::Settings => ui::settings::show(ui, &self.state, &mut self.edits),
            };
            action = action.take().or(a);
        });
        if self.state.about_open {
            action = action.or(ui::settings::about(&ctx, &self.state));
        }
        if self.state.close_prompt {
            action = action.or(close_prompt(&ctx, &self.state));
        }
        drop_overlay(&ctx);
        action
    }

    fn diagnosis_picture(&mut self, ctx: &egui::Context) -> Option<egui::TextureHandle> {
        let state = self.state.diag.diagnosis.as_ref()?.as_ref().ok()?.state;
        match self.pictures.state(ctx, state) {
            Ok(t) => Some(t),
            Err(e) => {
                self.log.push(Severity::Error, "app", e.to_string());
                None
            }
        }
    }

    fn handle_close_request(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested())
            && self.state.busy()
            && !self.state.close_confirmed
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.state.close_prompt = true;
        }
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) -> Option<UiAction> {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        let path = dropped.first().map(|f| f.path().to_path_buf())?;
        self.edits.package_path = path.display().to_string();
        self.state.tab = Tab::Flash;
        Some(UiAction::OpenPackage(path))
    }
}

impl eframe::App for OasisApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.poll(&ctx);
        self.handle_close_request(&ctx);
        let dropped = self.handle_dropped_files(&ctx);
        let action = dropped.or(self.draw(ui));
        if let Some(a) = action {
            self.dispatch(&ctx, a);
        }
        if self.state.busy() {
            // The elapsed time ticks even when no event arrives.
            ctx.request_repaint_after(Duration::from_millis(500));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.state.settings.save(storage);
    }
}

fn close_prompt(ctx: &egui::Context, st: &AppState) -> Option<UiAction> {
    let mut action = None;
    let what = if st.flash.stage == FlashStage::Running {
        format!("A flash of {} is running.", st.flash.board_title)
    } else {
        format!(
            "{} bench flash(es) are running.",
            st.bench.running_jobs().len()
        )
    };
    let modal = egui::Modal::new(egui::Id::unique("close-prompt")).show(ctx, |ui| {
        ui.set_max_width(440.0);
        ui.heading("Close Oasis?");
        ui.label(what);
        ui.label(
            "Closing stops it at the next safe point. The board is then left in download mode; \
             flash it again to finish.",
        );
        if st.critical() {
            ui::flash::do_not_unplug(ui);
        }
        ui.horizontal(|ui| {
            if ui.button("Keep flashing").clicked() {
                action = Some(UiAction::KeepOpen);
            }
            if ui.button("Stop and close").clicked() {
                action = Some(UiAction::ConfirmClose);
            }
        });
    });
    if modal.should_close() && action.is_none() {
        action = Some(UiAction::KeepOpen);
    }
    action
}

fn drop_overlay(ctx: &egui::Context) {
    if ctx.input(|i| i.raw.hovered_files.is_empty()) {
        return;
    }
    let screen = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop-overlay"),
    ));
    painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(160));
    painter.text(
        screen.center(),
        egui::Align2::CENTER_CENTER,
        "Drop to open this firmware package",
        egui::FontId::proportional(24.0),
        egui::Color32::WHITE,
    );
}
