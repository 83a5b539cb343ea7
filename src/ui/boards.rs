//! The live board list with state badges, shared by the flash and diagnostics tabs.

use egui::RichText;

use super::{UiAction, badge};
use crate::backend::{BoardInfo, BoardStateText, Level, ModeText};
use crate::state::AppState;

/// Draw the board list; clicking a row selects that board.
pub fn show(ui: &mut egui::Ui, st: &AppState) -> Option<UiAction> {
    let mut action = None;
    let boards: Vec<&BoardInfo> = st.visible_boards().collect();
    ui.horizontal(|ui| {
        ui.label(format!("{} board(s) attached", boards.len()));
        if ui.button("Refresh").clicked() {
            action = Some(UiAction::RefreshBoards);
        }
    });
    if boards.is_empty() {
        ui.label(
            RichText::new(
                "No board found. Plug a module in with a data cable, or turn on virtual boards in \
                 Settings to try Oasis without hardware.",
            )
            .italics(),
        );
        return action;
    }
    for b in boards {
        let selected = st.selected.as_deref() == Some(b.id.as_str());
        let frame = egui::Frame::group(ui.style()).fill(if selected {
            ui.visuals().selection.bg_fill.gamma_multiply(0.35)
        } else {
            ui.visuals().faint_bg_color
        });
        frame.show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                if ui
                    .selectable_label(selected, RichText::new(&b.title).strong())
                    .clicked()
                {
                    action = Some(UiAction::SelectBoard(b.id.clone()));
                }
                badge(ui, b.mode.badge(), mode_level(b));
                badge(ui, b.state.title(), b.state.level());
                if b.is_virtual {
                    ui.label(RichText::new("virtual").small().italics());
                }
                if b.mode == crate::backend::BoardMode::MemoryDump
                    && !st.dump.running
                    && ui.small_button("Collect crash dump").clicked()
                {
                    action = Some(UiAction::CollectDump(b.id.clone()));
                }
            });
            let mut line = b.detail.clone();
            if let Some(r) = &b.revision {
                line.push_str(&format!("  ·  firmware {r}"));
            }
            ui.label(RichText::new(line).small().weak());
        });
    }
    action
}

fn mode_level(b: &BoardInfo) -> Level {
    match b.mode {
        crate::backend::BoardMode::NotFirehose => Level::Amber,
        _ => Level::Green,
    }
}
