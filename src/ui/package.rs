//! The package step: a path field (always there: a file dialog may not exist), Browse buttons,
//! drag-and-drop hint, and the package card.

use std::path::PathBuf;

use egui::RichText;

use super::{UiAction, level_color};
use crate::backend::{Level, Md5Status, PackageSummary};
use crate::job::human_bytes;
use crate::state::{AppState, ErrorView};

/// Draw the package chooser and card.
pub fn show(ui: &mut egui::Ui, st: &AppState, path_text: &mut String) -> Option<UiAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        let label = ui.label("Package:");
        let field = egui::TextEdit::singleline(path_text)
            .hint_text("folder or .zip of a firmware package")
            .desired_width((ui.available_width() - 190.0).max(160.0));
        let resp = ui
            .add(field)
            .labelled_by(label.id)
            .on_hover_text("Type or paste a path, then press Enter");
        let entered = resp.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Open").clicked() || entered) && !path_text.trim().is_empty() {
            action = Some(UiAction::OpenPackage(PathBuf::from(path_text.trim())));
        }
        if ui.button("Folder…").clicked() {
            action = Some(UiAction::BrowseFolder);
        }
        if ui.button("Zip…").clicked() {
            action = Some(UiAction::BrowseZip);
        }
    });
    ui.horizontal(|ui| {
        let hint = "…or drop a package folder or .zip onto this window, or try the";
        ui.label(RichText::new(hint).small().weak());
        if ui.small_button("demo package").clicked() {
            action = Some(UiAction::OpenDemo);
        }
    });
    if let Some(p) = &st.package.opening {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("Reading {} …", p.display()));
        });
    }
    if let Some(e) = &st.package.error {
        error_box(ui, e);
    }
    if let Some(s) = &st.package.summary {
        card(ui, s);
    }
    action
}

/// A red box with what went wrong and what to do.
pub fn error_box(ui: &mut egui::Ui, e: &ErrorView) {
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.5, level_color(Level::Red)))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new(&e.message)
                    .color(level_color(Level::Red))
                    .strong(),
            );
            ui.label(&e.help);
        });
}

fn card(ui: &mut egui::Ui, s: &PackageSummary) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new(format!("{}  ·  {}", s.model, s.version))
                .strong()
                .size(16.0),
        );
        egui::Grid::new("package-card")
            .num_columns(2)
            .spacing([16.0, 2.0])
            .show(ui, |ui| {
                let row = |ui: &mut egui::Ui, k: &str, v: &str| {
                    ui.label(RichText::new(k).weak());
                    ui.label(v);
                    ui.end_row();
                };
                row(ui, "Storage", &s.storage);
                row(ui, "Programmer", &s.programmer);
                row(ui, "Programmer chip", &s.programmer_chip);
                row(ui, "Signing", &s.signing);
                row(
                    ui,
                    "Size",
                    &format!("{} in {} partitions", human_bytes(s.size_bytes), s.programs),
                );
                ui.label(RichText::new("Checksums").weak());
                let level = match s.md5 {
                    Md5Status::Verified { .. } => Level::Green,
                    Md5Status::NoList => Level::Amber,
                    Md5Status::Mismatch { .. } => Level::Red,
                };
                ui.label(RichText::new(s.md5.describe()).color(level_color(level)));
                ui.end_row();
                if let Md5Status::Mismatch { help, .. } = &s.md5 {
                    // The package reader's own advice (re-download), under the verdict.
                    ui.label("");
                    ui.label(RichText::new(help).color(level_color(Level::Red)));
                    ui.end_row();
                }
                ui.label(RichText::new("Folder").weak());
                ui.label(RichText::new(s.path.display().to_string()).small());
                ui.end_row();
            });
        for w in &s.warnings {
            ui.label(RichText::new(format!("⚠ {w}")).color(level_color(Level::Amber)));
        }
    });
}
