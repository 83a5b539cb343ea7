//! The guided flash on one screen: package → board → compatibility → one Flash button, then the
//! progress screen (one honest bar, step, partition, rate, ETA, "do not unplug"), then the
//! verdict (see `verdict`). The destructive-step confirmation names the regions it erases.

use egui::{RichText, Vec2};

use super::{UiAction, boards, level_color, package, step_heading, verdict};
use crate::backend::{Compat, Destructive, Level, LevelText, Md5Status, ModeText};
use crate::job::{JobProgress, human_bytes, human_duration};
use crate::state::{AppState, FlashStage};

/// Draw the flash tab.
pub fn show(ui: &mut egui::Ui, st: &AppState, path_text: &mut String) -> Option<UiAction> {
    match st.flash.stage {
        FlashStage::Setup => setup(ui, st, path_text),
        FlashStage::Running => progress(ui, st),
        FlashStage::Done => verdict::show(ui, st),
    }
}

/// Why the Flash button is off, if it is.
pub fn blocked_reason(st: &AppState) -> Option<String> {
    let Some(pkg) = &st.package.summary else {
        return Some("Open a package first.".into());
    };
    if let Md5Status::Mismatch { files, help } = &pkg.md5 {
        return Some(format!(
            "The package is damaged: {} do not match md5.txt ({help}).",
            files.join(", ")
        ));
    }
    let Some(board) = st.selected_board() else {
        return Some(if st.selected.is_some() {
            "The selected board is not on USB right now; wait for it to come back.".into()
        } else {
            "Pick a board.".into()
        });
    };
    if !matches!(
        board.mode,
        crate::backend::BoardMode::Normal | crate::backend::BoardMode::Edl
    ) {
        return Some(format!(
            "The board is in {} mode; see Diagnostics.",
            board.mode.badge()
        ));
    }
    match &st.flash.compat {
        None => Some("Checking compatibility…".into()),
        Some(c) if c.overall == Level::Red => {
            Some("This package does not fit this board (see the red lines above).".into())
        }
        Some(_) => None,
    }
}

fn setup(ui: &mut egui::Ui, st: &AppState, path_text: &mut String) -> Option<UiAction> {
    let mut action = None;
    // Wide windows: package and board on the left, verdict and button on the right, so the
    // Flash button is on screen without scrolling.
    let wide = ui.available_width() >= 900.0;
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            if wide {
                let top_down = egui::Layout::top_down(egui::Align::Min);
                ui.columns(2, |cols| {
                    let [left, right] = cols else { return };
                    action = left
                        .with_layout(top_down, |ui| choose(ui, st, path_text))
                        .inner;
                    let a = right.with_layout(top_down, |ui| decide(ui, st)).inner;
                    action = action.take().or(a);
                });
            } else {
                action = choose(ui, st, path_text);
                action = action.take().or(decide(ui, st));
            }
        });
    if st.flash.confirming {
        action = action.or(confirm(ui, st));
    }
    action
}

/// Steps 1 and 2: package and board.
fn choose(ui: &mut egui::Ui, st: &AppState, path_text: &mut String) -> Option<UiAction> {
    step_heading(ui, 1, "Firmware package");
    let a = package::show(ui, st, path_text);
    step_heading(ui, 2, "Board");
    a.or(boards::show(ui, st))
}

/// Steps 3 and 4: the compatibility verdict and the Flash button.
fn decide(ui: &mut egui::Ui, st: &AppState) -> Option<UiAction> {
    step_heading(ui, 3, "Compatibility");
    match (
        &st.flash.compat,
        st.package.summary.is_some() && st.selected.is_some(),
    ) {
        (Some(c), true) => compat(ui, c),
        (None, true) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Checking…");
            });
        }
        _ => {
            ui.label(RichText::new("Open a package and pick a board.").weak());
        }
    }
    step_heading(ui, 4, "Flash");
    let blocked = blocked_reason(st);
    let text = RichText::new("Start flash")
        .size(22.0)
        .strong()
        .color(egui::Color32::WHITE);
    let fill = if blocked.is_none() {
        egui::Color32::from_rgb(30, 110, 190)
    } else {
        ui.visuals().widgets.inactive.bg_fill
    };
    let button = egui::Button::new(text)
        .fill(fill)
        .min_size(Vec2::new(220.0, 48.0));
    let mut action = None;
    if ui.add_enabled(blocked.is_none(), button).clicked() {
        action = Some(UiAction::RequestFlash);
    }
    if let Some(why) = blocked {
        ui.label(RichText::new(why).weak());
    }
    action
}

/// The compatibility verdict: a coloured box, one line per check.
pub fn compat(ui: &mut egui::Ui, c: &Compat) {
    let overall = c.overall;
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(2.0, level_color(overall)))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let head = match overall {
                Level::Green => "Compatible",
                Level::Amber => "Compatible, with caveats",
                Level::Red => "Not compatible",
            };
            ui.label(
                RichText::new(head)
                    .strong()
                    .color(level_color(overall))
                    .size(16.0),
            );
            ui.add(egui::Label::new(&c.answer).wrap());
            for check in &c.checks {
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(check.status.word())
                            .color(level_color(check.status))
                            .strong(),
                    );
                    ui.label(RichText::new(&check.name).strong());
                });
                ui.indent(("compat", &check.name), |ui| {
                    ui.add(egui::Label::new(&check.reason).wrap());
                });
            }
        });
}

fn confirm(ui: &mut egui::Ui, st: &AppState) -> Option<UiAction> {
    let mut action = None;
    let board = st
        .selected_board()
        .map_or("the board", |b| b.title.as_str());
    let modal = egui::Modal::new(egui::Id::unique("confirm-flash")).show(ui.ctx(), |ui| {
        ui.set_max_width(460.0);
        ui.heading("Confirm flash");
        if let Some(pkg) = &st.package.summary {
            if pkg.erases.is_empty() {
                ui.label(format!(
                    "Oasis will write {} partitions to {board}.",
                    pkg.programs
                ));
            } else {
                ui.label(
                    RichText::new(format!("This ERASES on {board}:"))
                        .strong()
                        .color(level_color(Level::Red)),
                );
                for region in &pkg.erases {
                    ui.label(RichText::new(format!("  • {region}")).strong());
                }
                ui.label(format!(
                    "then writes {} partitions ({}).",
                    pkg.programs,
                    human_bytes(pkg.size_bytes)
                ));
            }
            for w in &pkg.warnings {
                ui.label(RichText::new(w).color(level_color(Level::Amber)));
            }
        }
        ui.add_space(8.0);
        let allowed = backup_note(ui, st, &mut action);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            let go = egui::Button::new(RichText::new("Erase and flash").strong())
                .fill(level_color(Level::Red).gamma_multiply(0.8));
            if ui.add_enabled(allowed, go).clicked() {
                action = Some(UiAction::ConfirmFlash);
            }
            if ui.button("Cancel").clicked() {
                action = Some(UiAction::DismissConfirm);
            }
        });
    });
    if modal.should_close() && action.is_none() {
        action = Some(UiAction::DismissConfirm);
    }
    action
}

/// The checkbox text that lets a destructive plan run without a backup.
pub fn override_text(destructive: &[Destructive]) -> String {
    let region = if destructive.iter().any(|d| d.whole_flash) {
        "the whole flash".to_owned()
    } else {
        destructive
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("Erase {region} without a backup — calibration data (EFS2/NV) will be lost")
}

/// What the confirmation says about the backup; false while a destructive plan without a
/// backup lacks the user's explicit override.
fn backup_note(ui: &mut egui::Ui, st: &AppState, action: &mut Option<UiAction>) -> bool {
    let destructive = st
        .package
        .summary
        .as_ref()
        .map_or(&[][..], |p| p.destructive.as_slice());
    if st.settings.backup_before_flash {
        ui.label(
            RichText::new(
                "The board's calibration data (EFS2/NV, modem state) is backed up first, into \
                 the backups folder of Oasis's data folder.",
            )
            .color(level_color(Level::Green)),
        );
        return true;
    }
    if destructive.is_empty() {
        ui.label(RichText::new("No backup is taken (see Settings).").weak());
        return true;
    }
    ui.label(
        RichText::new("Backup before flashing is off (see Settings).")
            .strong()
            .color(level_color(Level::Amber)),
    );
    let mut ticked = st.flash.no_backup_override;
    if ui
        .checkbox(&mut ticked, override_text(destructive))
        .changed()
    {
        *action = Some(UiAction::NoBackupOverride(ticked));
    }
    ticked
}

/// "Waiting for the board to restart… 42 s left" while the Confirm phase counts down.
pub fn countdown_line(p: &JobProgress) -> Option<String> {
    if p.phase != Some(oasis_engine::event::Phase::Confirm) || p.total == 0 {
        return None;
    }
    let left = p.total.saturating_sub(p.done);
    Some(format!("Waiting for the board to restart… {left} s left"))
}

fn progress(ui: &mut egui::Ui, st: &AppState) -> Option<UiAction> {
    let mut action = None;
    let p = &st.flash.progress;
    ui.add_space(12.0);
    ui.heading(format!("Flashing {}", st.flash.board_title));
    ui.add_space(8.0);
    let bar = egui::ProgressBar::new(p.overall as f32)
        .show_percentage()
        .desired_height(30.0);
    ui.add(bar);
    ui.label(RichText::new(p.status_line()).size(15.0));
    if let Some(line) = countdown_line(p) {
        ui.label(RichText::new(line).size(18.0).strong());
    }
    if let Some(t) = st.flash.started {
        ui.label(
            RichText::new(format!(
                "Elapsed {}",
                human_duration(t.elapsed().as_secs_f64())
            ))
            .weak(),
        );
    }
    ui.add_space(8.0);
    if p.critical {
        do_not_unplug(ui);
    }
    ui.add_space(8.0);
    phase_list(ui, p);
    ui.add_space(12.0);
    if ui.button("Cancel flash").clicked() {
        action = Some(UiAction::CancelFlash);
    }
    ui.label(
        RichText::new("Cancelling stops at the next safe point; the board stays in download mode.")
            .small()
            .weak(),
    );
    action
}

/// The red "do not unplug" banner.
pub fn do_not_unplug(ui: &mut egui::Ui) {
    egui::Frame::new()
        .fill(level_color(Level::Red))
        .corner_radius(6.0)
        .inner_margin(10)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new("Do not unplug the board or cut its power now.")
                    .color(egui::Color32::WHITE)
                    .strong()
                    .size(18.0),
            );
            ui.label(
                RichText::new(
                    "Its boot loader is erased and not yet rewritten; an interruption now leaves it \
                     in download mode (Oasis can still recover it).",
                )
                .color(egui::Color32::WHITE),
            );
        });
}

fn phase_list(ui: &mut egui::Ui, p: &JobProgress) {
    egui::Grid::new("phases").num_columns(2).show(ui, |ui| {
        for step in &p.plan {
            let (mark, text) = if p.finished.contains(&step.phase) {
                ("✔", RichText::new(step.phase.title()))
            } else if p.phase == Some(step.phase) {
                ("…", RichText::new(step.phase.title()).strong())
            } else {
                ("", RichText::new(step.phase.title()).weak())
            };
            ui.label(mark);
            ui.label(text);
            ui.end_row();
        }
    });
}
