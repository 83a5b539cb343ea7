//! Bench mode: one row per USB socket, auto-start when armed, a verdict per slot, retry of the
//! failed ones, and the CSV/JSON report.

use egui::RichText;

use super::{UiAction, badge, level_color};
use crate::backend::{Level, ModeText};
use crate::bench::{Slot, SlotStatus};
use crate::job::human_duration;
use crate::settings::ReportFormat;
use crate::state::{AppState, Edits, ErrorView};

/// Draw the bench tab.
pub fn show(ui: &mut egui::Ui, st: &AppState, edits: &mut Edits) -> Option<UiAction> {
    let mut action = None;
    match &st.package.summary {
        Some(p) => ui.label(RichText::new(format!("Package: {} {}", p.model, p.version)).strong()),
        None => ui.label(
            RichText::new("Open a package in the Flash tab first; every slot gets that package.")
                .color(level_color(Level::Amber)),
        ),
    };
    ui.horizontal(|ui| {
        let mut armed = st.bench.armed;
        let label = "Auto-start when a board is plugged in";
        if ui
            .add_enabled(
                st.package.summary.is_some(),
                egui::Checkbox::new(&mut armed, label),
            )
            .changed()
        {
            action = Some(UiAction::BenchArm(armed));
        }
        let failed = st
            .bench
            .slots()
            .iter()
            .any(|s| matches!(s.status, SlotStatus::Failed(_)));
        if ui
            .add_enabled(failed, egui::Button::new("Retry failed slots"))
            .clicked()
        {
            action = Some(UiAction::BenchRetryFailed);
        }
    });
    if st.bench.armed {
        ui.label(
            RichText::new(
                "Armed: each board plugged in is flashed right away. A slot starts again only \
                 when a different board (another IMEI or chip serial) appears on it.",
            )
            .small(),
        );
    }
    ui.add_space(6.0);
    action = action.or(slots(ui, st));
    ui.add_space(10.0);
    action.or(report(ui, st, edits))
}

fn slots(ui: &mut egui::Ui, st: &AppState) -> Option<UiAction> {
    let mut action = None;
    if st.bench.slots().is_empty() {
        ui.label(RichText::new("No board on any USB port yet.").weak());
        return None;
    }
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - 90.0)
        .show(ui, |ui| {
            egui::Grid::new("bench-slots")
                .num_columns(8)
                .striped(true)
                .spacing([12.0, 6.0])
                .show(ui, |ui| {
                    for h in [
                        "Port",
                        "Board",
                        "Status",
                        "Chip serial",
                        "IMEI",
                        "Revision",
                        "Time",
                        "",
                    ] {
                        ui.label(RichText::new(h).weak());
                    }
                    ui.end_row();
                    for s in st.bench.slots() {
                        action = action.take().or(slot_row(ui, st, s));
                        ui.end_row();
                    }
                });
        });
    action
}

fn slot_row(ui: &mut egui::Ui, st: &AppState, s: &Slot) -> Option<UiAction> {
    ui.label(RichText::new(&s.port_path).monospace());
    ui.vertical(|ui| {
        ui.add(egui::Label::new(&s.title).extend());
        let presence = if s.present {
            s.mode.badge()
        } else {
            "unplugged"
        };
        ui.label(RichText::new(presence).small().weak());
    });
    status_cell(ui, s);
    let serial = s.progress.identity.as_ref().and_then(|i| i.serial.clone());
    ui.label(RichText::new(serial.unwrap_or_else(|| "-".into())).monospace());
    ui.label(RichText::new(s.imei.clone().unwrap_or_else(|| "-".into())).monospace());
    let revisions = format!(
        "{} -> {}",
        s.old_revision.as_deref().unwrap_or("?"),
        s.new_revision.as_deref().unwrap_or("?")
    );
    ui.add(egui::Label::new(revisions).extend());
    ui.label(s.duration_s.map_or_else(|| "-".into(), human_duration));
    action_cell(ui, st, s)
}

fn status_cell(ui: &mut egui::Ui, s: &Slot) {
    match &s.status {
        SlotStatus::Ready => {
            ui.label(if s.attempts == 0 {
                "ready"
            } else {
                "ready to retry"
            });
        }
        SlotStatus::Running => {
            ui.vertical(|ui| {
                ui.add(
                    egui::ProgressBar::new(s.progress.overall as f32)
                        .show_percentage()
                        .desired_width(160.0),
                );
                let phase = s.progress.phase.map_or("Starting", |p| p.title());
                ui.label(RichText::new(phase).small());
            });
        }
        SlotStatus::Passed => {
            badge(ui, "passed", Level::Green);
        }
        SlotStatus::Failed(why) => {
            ui.vertical(|ui| {
                badge(ui, "failed", Level::Red).on_hover_text(why);
                let short: String = why.chars().take(48).collect();
                let more = if short.len() < why.len() { "…" } else { "" };
                ui.add(egui::Label::new(RichText::new(format!("{short}{more}")).small()).extend())
                    .on_hover_text(why);
            });
        }
    }
}

fn action_cell(ui: &mut egui::Ui, st: &AppState, s: &Slot) -> Option<UiAction> {
    let mut action = None;
    let can_start = st.package.summary.is_some() && s.present;
    match &s.status {
        SlotStatus::Ready => {
            if ui
                .add_enabled(can_start, egui::Button::new("Start"))
                .clicked()
            {
                action = Some(UiAction::BenchStart(s.port_path.clone()));
            }
        }
        SlotStatus::Failed(_) => {
            if ui
                .add_enabled(can_start, egui::Button::new("Retry"))
                .clicked()
            {
                action = Some(UiAction::BenchStart(s.port_path.clone()));
            }
        }
        SlotStatus::Passed => {
            if ui
                .button("Next board")
                .on_hover_text("Start this slot over")
                .clicked()
            {
                action = Some(UiAction::BenchNextBoard(s.port_path.clone()));
            }
        }
        SlotStatus::Running => {
            ui.label("");
        }
    }
    action
}

fn report(ui: &mut egui::Ui, st: &AppState, edits: &mut Edits) -> Option<UiAction> {
    let mut action = None;
    ui.label(RichText::new("Report").strong());
    ui.horizontal(|ui| {
        let mut fmt = edits.settings.report_format;
        ui.radio_value(&mut fmt, ReportFormat::Csv, "CSV");
        ui.radio_value(&mut fmt, ReportFormat::Json, "JSON");
        if fmt != edits.settings.report_format {
            edits.settings.report_format = fmt;
            action = Some(UiAction::ApplySettings);
        }
        ui.add(
            egui::TextEdit::singleline(&mut edits.report_path)
                .hint_text("report file (empty: a dated file in the reports folder)")
                .desired_width(360.0),
        );
        if ui.button("Choose file…").clicked() {
            action = Some(UiAction::BenchBrowseReport);
        }
        let any = !st.bench.slots().is_empty();
        if ui
            .add_enabled(any, egui::Button::new("Save report"))
            .clicked()
        {
            action = Some(UiAction::BenchSaveReport);
        }
    });
    match &st.last_report {
        Some(Ok(p)) => {
            ui.label(
                RichText::new(format!("Report saved to {}", p.display()))
                    .color(level_color(Level::Green)),
            );
        }
        Some(Err(ErrorView { message, help })) => {
            ui.label(RichText::new(message).color(level_color(Level::Red)));
            ui.label(help);
        }
        None => {}
    }
    action
}
