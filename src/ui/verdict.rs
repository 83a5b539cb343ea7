//! The verdict screen: success with what was verified and how long it took, or failure with the
//! cause in plain words and what to do next; the raw log one click away.

use egui::RichText;

use super::{UiAction, level_color};
use crate::backend::Level;
use crate::job::{JobOutcome, human_bytes, human_duration};
use crate::state::{AppState, Tab};

/// Draw the verdict of the last guided flash.
pub fn show(ui: &mut egui::Ui, st: &AppState) -> Option<UiAction> {
    let mut action = None;
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            ui.add_space(12.0);
            match &st.flash.progress.outcome {
                Some(JobOutcome::Finished(v)) => success(ui, st, v),
                Some(JobOutcome::Failed(r)) => failure(ui, r),
                None => {
                    ui.label("No verdict yet.");
                }
            }
            ui.add_space(12.0);
            action = buttons(ui, st);
            safety_lines(ui, st);
            action = action.take().or(support_buttons(ui, st));
            if st.flash.show_raw_log {
                raw_log(ui, st);
            }
        });
    action
}

fn success(ui: &mut egui::Ui, st: &AppState, v: &oasis_engine::event::Verdict) {
    headline(ui, "Flash succeeded", Level::Green);
    ui.label(RichText::new(&v.summary).size(16.0));
    ui.add_space(6.0);
    let verified = if v.verified.is_empty() {
        "nothing (verification was off)".to_owned()
    } else {
        v.verified.join(", ")
    };
    let mut rows = vec![
        ("Board", st.flash.board_title.clone()),
        ("Verified on the board", verified),
    ];
    if !v.skipped.is_empty() {
        rows.push(("Already correct, skipped", v.skipped.join(", ")));
    }
    rows.push(("Written", human_bytes(v.bytes)));
    rows.push(("Took", human_duration(v.seconds)));
    rows.push(("Running firmware", running_firmware(st, v)));
    egui::Grid::new("verdict-ok").num_columns(2).show(ui, |ui| {
        for (k, v) in rows {
            ui.label(RichText::new(k).weak());
            ui.label(v);
            ui.end_row();
        }
    });
}

fn failure(ui: &mut egui::Ui, r: &oasis_engine::event::ErrorReport) {
    headline(ui, "Flash failed", Level::Red);
    ui.label(RichText::new(&r.message).size(16.0));
    let mut place = Vec::new();
    if let Some(p) = r.phase {
        place.push(format!("while {}", p.title().to_lowercase()));
    }
    if let Some(p) = &r.partition {
        place.push(format!("partition {p}"));
    }
    if !place.is_empty() {
        ui.label(RichText::new(place.join(", ")).weak());
    }
    ui.add_space(6.0);
    ui.label(RichText::new("What to do next").strong());
    ui.label(
        r.hint
            .as_deref()
            .unwrap_or("Run Diagnostics on the board to see what state it is in, then try again."),
    );
    if !r.device_log.is_empty() {
        ui.add_space(6.0);
        ui.label(RichText::new("The board said:").strong());
        for l in &r.device_log {
            ui.label(RichText::new(l).monospace());
        }
    }
}

/// Where the backup and the support bundle of the job are.
fn safety_lines(ui: &mut egui::Ui, st: &AppState) {
    let f = &st.flash;
    ui.add_space(6.0);
    match (&f.backup_dir, f.backup_written) {
        (Some(d), true) => {
            ui.label(format!("Calibration data backed up to {}", d.display()));
        }
        (Some(d), false) => {
            ui.label(
                RichText::new(format!(
                    "No backup was written (it would have gone to {}).",
                    d.display()
                ))
                .color(level_color(Level::Amber)),
            );
        }
        (None, _) => {
            ui.label(RichText::new("No backup was taken (off in Settings).").weak());
        }
    }
    match &f.bundle_written {
        Some(b) => {
            ui.label(format!("Support bundle saved in {}", b.display()));
        }
        None => {
            ui.label(RichText::new("No support bundle was written for this job.").weak());
        }
    }
}

/// "Save support bundle" and "Copy summary for a support ticket".
fn support_buttons(ui: &mut egui::Ui, st: &AppState) -> Option<UiAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        let save = egui::Button::new("Save support bundle");
        if ui
            .add_enabled(st.flash.bundle_written.is_some(), save)
            .clicked()
        {
            action = Some(UiAction::SaveBundle);
        }
        if ui.button("Copy summary for a support ticket").clicked() {
            action = Some(UiAction::CopySummary);
        }
        if st.flash.copied_summary.is_some() {
            ui.label(RichText::new("Copied").color(level_color(Level::Green)));
        }
    });
    match &st.flash.bundle_saved {
        Some(Ok(p)) => {
            ui.label(format!("Bundle copied to {}", p.display()));
        }
        Some(Err(why)) => {
            ui.label(RichText::new(why).color(level_color(Level::Amber)));
        }
        None => {}
    }
    action
}

fn buttons(ui: &mut egui::Ui, st: &AppState) -> Option<UiAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        if ui.button("Flash another board").clicked() {
            action = Some(UiAction::NewFlash);
        }
        if let Some(id) = &st.selected
            && ui.button("Diagnose this board").clicked()
        {
            action = Some(UiAction::Diagnose(id.clone()));
        }
        let label = if st.flash.show_raw_log {
            "Hide raw log"
        } else {
            "Show raw log"
        };
        if ui.button(label).clicked() {
            action = Some(UiAction::ToggleRawLog);
        }
        if ui.button("Open log tab").clicked() {
            action = Some(UiAction::SelectTab(Tab::Log));
        }
    });
    action
}

/// What the board runs now: the engine's confirmation, else what the board list reports since
/// its restart.
fn running_firmware(st: &AppState, v: &oasis_engine::event::Verdict) -> String {
    let reported = st
        .selected_board()
        .filter(|b| b.mode == crate::backend::BoardMode::Normal)
        .and_then(|b| b.revision.clone());
    match (&v.running_revision, v.confirmed, reported) {
        (Some(r), true, _) => format!("{r} (confirmed after restart)"),
        (Some(r), false, _) => format!("{r} (not confirmed)"),
        (None, _, Some(r)) => format!("{r} (the board reports it since its restart)"),
        (None, _, None) => "not checked after restart".to_owned(),
    }
}

fn headline(ui: &mut egui::Ui, text: &str, level: Level) {
    egui::Frame::new()
        .fill(level_color(level))
        .corner_radius(6.0)
        .inner_margin(12)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new(text)
                    .size(24.0)
                    .strong()
                    .color(egui::Color32::WHITE),
            );
        });
    ui.add_space(6.0);
}

fn raw_log(ui: &mut egui::Ui, st: &AppState) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        if let Some(p) = &st.log_path {
            ui.label(
                RichText::new(format!("Also saved in {}", p.display()))
                    .small()
                    .weak(),
            );
        }
        egui::ScrollArea::vertical()
            .id_salt("raw-log")
            .max_height(260.0)
            .stick_to_bottom(true)
            .show(ui, |ui| {
                for l in &st.flash.raw_log {
                    ui.label(RichText::new(l).monospace().small());
                }
            });
    });
}
