//! Settings (verification, timeouts, virtual boards, report folder) and the About box.

use egui::RichText;

use super::UiAction;
use crate::backend::{ManualPort, ManualPortKind, Verification};
use crate::settings::Settings;
use crate::state::{AppState, Edits};

/// Draw the settings tab; any change is applied and saved at once.
pub fn show(ui: &mut egui::Ui, st: &AppState, edits: &mut Edits) -> Option<UiAction> {
    let s = &mut edits.settings;
    ui.heading("Flashing");
    let mut changed = flashing(ui, s);
    ui.add_space(8.0);
    ui.heading("Boards");
    changed |= ui
        .checkbox(
            &mut s.show_virtual_boards,
            "Show virtual boards (demo and training)",
        )
        .changed();
    changed |= manual_ports(ui, s, &mut edits.new_port);
    ui.add_space(8.0);
    ui.heading("Bench reports");
    changed |= report_folder(ui, s);
    ui.add_space(12.0);
    let mut action = changed.then_some(UiAction::ApplySettings);
    if ui.button("About Oasis").clicked() {
        action = Some(UiAction::About(true));
    }
    if let Some(p) = &st.log_path {
        ui.label(
            RichText::new(format!("This run's log: {}", p.display()))
                .small()
                .weak(),
        );
    }
    action
}

/// Verification, timeouts and the after-flash check; true when something changed.
fn flashing(ui: &mut egui::Ui, s: &mut Settings) -> bool {
    let mut changed = false;
    egui::Grid::new("settings")
        .num_columns(2)
        .spacing([16.0, 8.0])
        .show(ui, |ui| {
            let label = ui.label("Verification");
            egui::ComboBox::from_id_salt("verification")
                .selected_text(s.verification.label())
                .show_ui(ui, |ui| {
                    for v in Verification::ALL {
                        changed |= ui
                            .selectable_value(&mut s.verification, v, v.label())
                            .changed();
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();
            ui.label("Command timeout");
            changed |= ui
                .add(
                    egui::DragValue::new(&mut s.command_timeout_s)
                        .range(1..=600)
                        .suffix(" s"),
                )
                .changed();
            ui.end_row();
            ui.label("Wait for the board to come back");
            changed |= ui
                .add(
                    egui::DragValue::new(&mut s.reenumerate_timeout_s)
                        .range(5..=600)
                        .suffix(" s"),
                )
                .changed();
            ui.end_row();
            ui.label("After flashing");
            changed |= ui
                .checkbox(
                    &mut s.confirm_after_reset,
                    "Restart the board and check its new revision",
                )
                .changed();
            ui.end_row();
            ui.label("Before flashing");
            changed |= ui
                .checkbox(
                    &mut s.backup_before_flash,
                    "Back up calibration data before flashing",
                )
                .changed();
            ui.end_row();
            ui.label("Support bundles");
            changed |= ui
                .checkbox(
                    &mut s.include_identifiers,
                    "Include IMEI, ICCID and chip serial in bundles and ticket summaries",
                )
                .on_hover_text(
                    "Off (the default): they are masked as a short hash and their last 4 digits, \
                     so a bundle can be attached to a public issue. Backups always keep them.",
                )
                .changed();
            ui.end_row();
        });
    changed
}

/// Serial ports added by hand (listed as boards); true when the list changed.
fn manual_ports(ui: &mut egui::Ui, s: &mut Settings, new: &mut (String, ManualPortKind)) -> bool {
    let mut changed = false;
    ui.label(
        RichText::new(
            "Boards are found on USB and on serial ports (COM ports) by themselves. Add a port \
             here when it is not: a UART adapter wired to the module's main UART, or a port \
             Windows lists without USB ids.",
        )
        .small()
        .weak(),
    );
    let mut remove = None;
    for (i, p) in s.manual_ports.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!("{}  ·  {}", p.name, p.kind.label()));
            if ui.small_button(format!("Remove {}", p.name)).clicked() {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        s.manual_ports.remove(i);
        changed = true;
    }
    ui.horizontal(|ui| {
        let label = ui.label("Serial port");
        ui.add(
            egui::TextEdit::singleline(&mut new.0)
                .hint_text(if cfg!(windows) {
                    "COM12"
                } else {
                    "/dev/ttyUSB0"
                })
                .desired_width(220.0),
        )
        .labelled_by(label.id);
        let carries = ui.label("carries");
        egui::ComboBox::from_id_salt("manual-port-kind")
            .selected_text(new.1.label())
            .show_ui(ui, |ui| {
                for k in ManualPortKind::ALL {
                    ui.selectable_value(&mut new.1, k, k.label());
                }
            })
            .response
            .labelled_by(carries.id);
        let name = new.0.trim().to_owned();
        let fresh = !name.is_empty() && !s.manual_ports.iter().any(|p| p.name == name);
        if ui
            .add_enabled(fresh, egui::Button::new("Add port"))
            .clicked()
        {
            s.manual_ports.push(ManualPort { name, kind: new.1 });
            new.0.clear();
            changed = true;
        }
    });
    changed
}

/// The bench report folder; true when it changed.
fn report_folder(ui: &mut egui::Ui, s: &mut Settings) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        ui.label("Folder");
        let mut text = s
            .report_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let resp = ui.add(
            egui::TextEdit::singleline(&mut text)
                .hint_text("default: reports/ in the data folder")
                .desired_width(360.0),
        );
        if resp.changed() {
            s.report_dir = (!text.trim().is_empty()).then(|| text.trim().into());
            changed = true;
        }
    });
    changed
}

/// Version and build facts for the About box.
pub fn build_info(st: &AppState) -> Vec<(&'static str, String)> {
    vec![
        ("Version", env!("CARGO_PKG_VERSION").to_owned()),
        (
            "Build",
            format!(
                "{} build for {}-{}",
                if cfg!(debug_assertions) {
                    "debug"
                } else {
                    "release"
                },
                std::env::consts::ARCH,
                std::env::consts::OS
            ),
        ),
        ("Commit", env!("OASIS_GIT_COMMIT").to_owned()),
        (
            "Rust",
            option_env!("CARGO_PKG_RUST_VERSION")
                .unwrap_or("")
                .to_owned(),
        ),
        ("Boards from", st.backend_name.clone()),
        ("License", env!("CARGO_PKG_LICENSE").to_owned()),
    ]
}

/// The About window.
pub fn about(ctx: &egui::Context, st: &AppState) -> Option<UiAction> {
    let mut open = true;
    let mut action = None;
    egui::Window::new("About Oasis")
        .collapsible(false)
        .resizable(false)
        .open(&mut open)
        .show(ctx, |ui| {
            ui.label(RichText::new("Oasis").size(22.0).strong());
            ui.label("Flasher and rescue kit for Qualcomm-based cellular modules.");
            ui.add_space(6.0);
            egui::Grid::new("about").num_columns(2).show(ui, |ui| {
                for (k, v) in build_info(st) {
                    ui.label(RichText::new(k).weak());
                    ui.label(v);
                    ui.end_row();
                }
            });
            if ui.button("Close").clicked() {
                action = Some(UiAction::About(false));
            }
        });
    if !open {
        action = Some(UiAction::About(false));
    }
    action
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_about_box_names_the_commit_it_was_built_from() {
        let st = AppState::new(crate::settings::Settings::default(), "test".into());
        let info = build_info(&st);
        let commit = info
            .iter()
            .find(|(k, _)| *k == "Commit")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let in_git = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".git")
            .exists();
        if in_git {
            assert_eq!(commit.len(), 12, "{commit:?}");
            assert!(commit.chars().all(|c| c.is_ascii_hexdigit()), "{commit:?}");
        } else {
            assert!(commit.starts_with("unknown"), "{commit:?}");
        }
    }
}
