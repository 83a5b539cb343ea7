//! The log pane: every line of this run, filterable by text and severity; the same lines are
//! in the per-run log file named at the top.

use egui::RichText;

use super::{UiAction, level_color};
use crate::backend::Level;
use crate::logbook::{LogLine, Logbook, Severity};
use crate::state::Edits;

/// Draw the log tab.
pub fn show(ui: &mut egui::Ui, log: &Logbook, edits: &mut Edits) -> Option<UiAction> {
    match (log.path(), log.file_error()) {
        (_, Some(e)) => ui.label(
            RichText::new(format!("The log file cannot be written: {e}"))
                .color(level_color(Level::Amber)),
        ),
        (Some(p), None) => ui.label(RichText::new(format!("Saved to {}", p.display())).small()),
        (None, None) => ui.label(RichText::new("This log is kept in memory only.").small()),
    };
    ui.horizontal(|ui| {
        let filter = ui.label("Filter:");
        ui.add(
            egui::TextEdit::singleline(&mut edits.log_filter)
                .hint_text("text, board or job")
                .desired_width(240.0),
        )
        .labelled_by(filter.id);
        let shown = ui.label("Show:");
        egui::ComboBox::from_id_salt("log-level")
            .selected_text(label(edits.log_min))
            .show_ui(ui, |ui| {
                for s in [
                    Severity::Detail,
                    Severity::Info,
                    Severity::Warn,
                    Severity::Error,
                ] {
                    ui.selectable_value(&mut edits.log_min, s, label(s));
                }
            })
            .response
            .labelled_by(shown.id);
        if ui.button("Clear filter").clicked() {
            edits.log_filter.clear();
            edits.log_min = Severity::Detail;
        }
    });
    let lines: Vec<&LogLine> = log.filtered(&edits.log_filter, edits.log_min).collect();
    ui.label(RichText::new(format!("{} of {} lines", lines.len(), log.lines().len())).weak());
    let row_h = ui.text_style_height(&egui::TextStyle::Monospace);
    egui::ScrollArea::both()
        .auto_shrink(false)
        .stick_to_bottom(true)
        .show_rows(ui, row_h, lines.len(), |ui, range| {
            for l in &lines[range] {
                let mut text = RichText::new(l.render()).monospace();
                text = match l.severity {
                    Severity::Error => text.color(level_color(Level::Red)),
                    Severity::Warn => text.color(level_color(Level::Amber)),
                    Severity::Detail => text.weak(),
                    Severity::Info => text,
                };
                ui.label(text);
            }
        });
    None
}

fn label(s: Severity) -> &'static str {
    match s {
        Severity::Detail => "Everything",
        Severity::Info => "Info and above",
        Severity::Warn => "Warnings and errors",
        Severity::Error => "Errors only",
    }
}
