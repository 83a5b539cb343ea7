//! The diagnostics pane: board list, the state card (picture, evidence, next steps), actions
//! (probe AT, read chip identity, switch to download mode), the USB tree with interface roles,
//! AT answers per port, and the hot-plug timeline.

use egui::RichText;

use super::{UiAction, badge, boards, level_color, package::error_box, timeline};
use crate::backend::{AtPortResult, BoardMode, BoardStateText, Diagnosis, Level, LevelText};
use crate::state::{AppState, Tab};
use oasis_engine::diag::{Action, DeviceView};

/// Draw the diagnostics tab. `picture` is the texture of the diagnosed state, if any.
pub fn show(
    ui: &mut egui::Ui,
    st: &AppState,
    picture: Option<&egui::TextureHandle>,
) -> Option<UiAction> {
    let mut action = None;
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            let top_down = egui::Layout::top_down(egui::Align::Min);
            ui.columns(2, |cols| {
                let [left, right_col] = cols else { return };
                let a = left.with_layout(top_down, |ui| {
                    let a = boards::show(ui, st);
                    ui.add_space(8.0);
                    ui.label(RichText::new("Hot-plug timeline").strong());
                    timeline::show(ui, &st.timeline);
                    a
                });
                let b = right_col.with_layout(top_down, |ui| right(ui, st, picture));
                action = a.inner.or(b.inner);
            });
        });
    action
}

fn right(
    ui: &mut egui::Ui,
    st: &AppState,
    picture: Option<&egui::TextureHandle>,
) -> Option<UiAction> {
    let mut action = None;
    let Some(board) = st.selected_board() else {
        ui.label(if st.selected.is_some() {
            "The selected board is not on USB right now. A board that restarts (a switch to \
             download mode, a reset) comes back in a moment; check the cable if it does not."
        } else {
            "Pick a board on the left to diagnose it."
        });
        // A crash dump's result stays in view while its board restarts (it is off the bus
        // for a moment after the reset that ends the dump).
        return super::dump::show(ui, &st.dump);
    };
    ui.horizontal_wrapped(|ui| {
        let id = board.id.clone();
        if ui.button("Diagnose").clicked() {
            action = Some(UiAction::Diagnose(id.clone()));
        }
        if ui.button("Probe AT").clicked() {
            action = Some(UiAction::ProbeAt(id.clone()));
        }
        let edl = matches!(board.mode, BoardMode::Edl);
        if ui
            .add_enabled(edl, egui::Button::new("Read chip identity"))
            .on_disabled_hover_text("Only in download mode (05C6:9008)")
            .clicked()
        {
            action = Some(UiAction::ReadIdentity(id.clone()));
        }
        let normal = board.mode == BoardMode::Normal;
        if ui
            .add_enabled(normal, egui::Button::new("Switch to download mode"))
            .on_disabled_hover_text("Only for a board running its firmware")
            .clicked()
        {
            action = Some(UiAction::SwitchToDownload(id.clone()));
        }
        let crashed = board.mode == BoardMode::MemoryDump && !st.dump.running;
        if ui
            .add_enabled(crashed, egui::Button::new("Collect crash dump"))
            .on_disabled_hover_text("Only for a crashed board in memory-dump mode (05C6:900E)")
            .clicked()
        {
            action = Some(UiAction::CollectDump(id));
        }
    });
    if let Some(a) = super::dump::show(ui, &st.dump) {
        action = Some(a);
    }
    for p in &st.diag.pending {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("{}…", p.doing()));
        });
    }
    match &st.diag.diagnosis {
        Some(Ok(d)) => {
            if let Some(a) = state_card(ui, d, &board.id, picture) {
                action = Some(a);
            }
        }
        Some(Err(e)) => error_box(ui, e),
        None => {
            ui.label(RichText::new("Not diagnosed yet.").weak());
        }
    }
    if let Some(r) = &st.diag.switched {
        match r {
            Ok(text) => {
                ui.label(RichText::new(text).color(level_color(Level::Green)));
            }
            Err(e) => error_box(ui, e),
        }
    }
    identity(ui, st);
    match &st.diag.at {
        Some(Ok(ports)) => at_results(ui, ports),
        Some(Err(e)) => error_box(ui, e),
        None => {}
    }
    action
}

/// The button beside a next step of the engine's diagnosis that does its action on `board`,
/// for the actions the app can run. None for the others (the app has no request for a reset
/// or for installing the udev rule, which needs root): the step's text says what to do.
fn step_button(action: Action, board: &str) -> Option<(&'static str, UiAction)> {
    let board = board.to_owned();
    match action {
        Action::SwitchToDownload => Some(("Switch now", UiAction::SwitchToDownload(board))),
        Action::ReadChipIdentity => Some(("Read identity now", UiAction::ReadIdentity(board))),
        Action::ProbeAt => Some(("Ask over AT now", UiAction::ProbeAt(board))),
        Action::Flash => Some(("Go to Flash", UiAction::SelectTab(Tab::Flash))),
        Action::InstallUdevRule | Action::Reset => None,
    }
}

fn state_card(
    ui: &mut egui::Ui,
    d: &Diagnosis,
    board: &str,
    picture: Option<&egui::TextureHandle>,
) -> Option<UiAction> {
    let mut action = None;
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(2.0, level_color(d.state.level())))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new(&d.title).size(18.0).strong());
                badge(ui, d.state.level().word(), d.state.level());
            });
            if let Some(tex) = picture {
                let w = ui.available_width().min(320.0);
                ui.add(egui::Image::new(tex).fit_to_exact_size(egui::vec2(w, w * 9.0 / 16.0)));
            }
            ui.label(&d.summary);
            if !d.evidence.is_empty() {
                ui.label(RichText::new("What Oasis saw").strong());
                for e in &d.evidence {
                    ui.label(format!("  • {e}"));
                }
            }
            if !d.next_steps.is_empty() {
                ui.label(RichText::new("What to do next").strong());
                for (i, s) in d.next_steps.iter().enumerate() {
                    ui.horizontal_wrapped(|ui| {
                        ui.label(format!("  {}. {}", i + 1, s.text));
                        if let Some((text, a)) = s.action.and_then(|a| step_button(a, board))
                            && ui.small_button(text).clicked()
                        {
                            action = Some(a);
                        }
                    });
                }
            }
            if !d.devices.is_empty() {
                ui.label(RichText::new("USB").strong());
                for n in &d.devices {
                    usb_node(ui, n);
                }
            }
        });
    action
}

fn usb_node(ui: &mut egui::Ui, n: &DeviceView) {
    egui::CollapsingHeader::new(format!("{} {} on {}", n.id, n.identity.family, n.port_path))
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new(("usb", &n.port_path))
                .num_columns(5)
                .striped(true)
                .show(ui, |ui| {
                    for h in ["If", "Class", "Role", "Driver", "Port"] {
                        ui.label(RichText::new(h).weak());
                    }
                    ui.end_row();
                    for i in &n.interfaces {
                        ui.label(i.number.to_string());
                        ui.label(RichText::new(&i.class).monospace());
                        ui.label(RichText::new(i.role.describe()).strong());
                        ui.label(i.driver.as_deref().unwrap_or("-"));
                        ui.label(i.tty.as_deref().unwrap_or("-"));
                        ui.end_row();
                    }
                });
        });
}

fn identity(ui: &mut egui::Ui, st: &AppState) {
    match &st.diag.identity {
        Some(Ok(id)) => {
            ui.label(RichText::new("Chip identity").strong());
            egui::Grid::new("identity").num_columns(2).show(ui, |ui| {
                let rows = [
                    ("Chip", id.chip.clone()),
                    ("Serial", id.serial.clone()),
                    ("HW ID", id.hw_id.clone()),
                    ("PK hash", id.pk_hash.clone()),
                    ("Sahara", id.sahara_version.map(|v| format!("version {v}"))),
                    ("SBL", id.sbl_version.clone()),
                ];
                for (k, v) in rows {
                    ui.label(RichText::new(k).weak());
                    ui.label(RichText::new(v.unwrap_or_else(|| "-".into())).monospace());
                    ui.end_row();
                }
            });
        }
        Some(Err(e)) => error_box(ui, e),
        None => {}
    }
}

fn at_results(ui: &mut egui::Ui, ports: &[AtPortResult]) {
    ui.label(RichText::new("AT probe").strong());
    if ports.is_empty() {
        ui.label("The board has no serial ports in this mode.");
    }
    for p in ports {
        let level = if p.probe.answered {
            Level::Green
        } else {
            Level::Amber
        };
        ui.horizontal(|ui| {
            ui.label(RichText::new(format!("{} ({})", p.probe.port, p.role.describe())).strong());
            let word = if p.probe.answered {
                "answers"
            } else {
                "silent"
            };
            badge(ui, word, level);
        });
        egui::Grid::new(("at", &p.probe.port))
            .num_columns(2)
            .show(ui, |ui| {
                for (cmd, answer) in p.answers() {
                    ui.label(RichText::new(&cmd).monospace());
                    ui.label(RichText::new(&answer).monospace());
                    ui.end_row();
                }
            });
    }
}
