//! The hot-plug timeline, drawn with the painter: one lane per USB port path, a bar per stretch
//! a device stayed attached (coloured by mode), marks where it arrived and left.

use egui::{Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, pos2, vec2};

use oasis_engine::diag::timeline::{TimelineKind, describe};

use crate::backend::{BoardMode, ModeText, TimelineEvent};

/// Colour of a mode on the timeline (grey for a device whose mode is not known).
pub fn mode_color(mode: Option<BoardMode>) -> Color32 {
    match mode {
        Some(BoardMode::Normal) => Color32::from_rgb(46, 160, 67),
        Some(BoardMode::Edl) => Color32::from_rgb(40, 110, 200),
        Some(BoardMode::MemoryDump) => Color32::from_rgb(214, 140, 20),
        Some(BoardMode::NotFirehose) | None => Color32::GRAY,
    }
}

/// One attached stretch on a lane: (start ms, end ms or None while attached, mode).
pub type Span = (u64, Option<u64>, Option<BoardMode>);

fn ms(at_s: f64) -> u64 {
    (at_s.max(0.0) * 1000.0) as u64
}

/// Lanes (port path → attached stretches), in first-seen order, from the appearances and
/// departures (a mode change is one of each).
pub fn lanes(events: &[TimelineEvent]) -> Vec<(String, Vec<Span>)> {
    let mut out: Vec<(String, Vec<Span>)> = Vec::new();
    for e in events {
        let (path, arrived) = match &e.kind {
            TimelineKind::Appeared { port_path, device } => (port_path, Some(device.mode)),
            TimelineKind::Disappeared { port_path, .. } => (port_path, None),
            _ => continue,
        };
        let idx = match out.iter().position(|(p, _)| p == path) {
            Some(i) => i,
            None => {
                out.push((path.clone(), Vec::new()));
                out.len() - 1
            }
        };
        let spans = &mut out[idx].1;
        if let Some(last) = spans.last_mut()
            && last.1.is_none()
        {
            last.1 = Some(ms(e.at_s));
        }
        if let Some(mode) = arrived {
            spans.push((ms(e.at_s), None, mode));
        }
    }
    out
}

/// Draw the timeline.
pub fn show(ui: &mut egui::Ui, entries: &[TimelineEvent]) {
    if entries.is_empty() {
        ui.label(RichText::new("No device has come or gone yet.").weak());
        return;
    }
    let lanes = lanes(entries);
    let end_ms = entries
        .iter()
        .map(|e| ms(e.at_s))
        .max()
        .unwrap_or(0)
        .max(10_000)
        + 1_000;
    let lane_h = 22.0;
    let label_w = 90.0;
    let width = ui.available_width().max(200.0);
    let height = lane_h * lanes.len() as f32 + 24.0;
    let (rect, resp) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, 4.0, visuals.extreme_bg_color);
    let plot = Rect::from_min_max(
        pos2(rect.left() + label_w, rect.top() + 4.0),
        pos2(rect.right() - 8.0, rect.bottom() - 20.0),
    );
    let x_of = |ms: u64| plot.left() + plot.width() * (ms as f32 / end_ms as f32);
    let text_color = visuals.text_color();
    for (i, (port, spans)) in lanes.iter().enumerate() {
        let y = plot.top() + lane_h * i as f32 + lane_h / 2.0;
        painter.text(
            pos2(rect.left() + 6.0, y),
            egui::Align2::LEFT_CENTER,
            port,
            FontId::monospace(11.0),
            text_color,
        );
        painter.line_segment(
            [pos2(plot.left(), y), pos2(plot.right(), y)],
            Stroke::new(1.0, visuals.weak_text_color()),
        );
        for span in spans {
            draw_span(&painter, span, y, plot.right(), &x_of);
        }
    }
    let secs = end_ms / 1000;
    let step = ((secs / 5).max(1)) as usize;
    for s in (0..=secs).step_by(step) {
        let x = x_of(s * 1000);
        painter.text(
            pos2(x, plot.bottom() + 10.0),
            egui::Align2::CENTER_CENTER,
            format!("{s}s"),
            FontId::proportional(10.0),
            visuals.weak_text_color(),
        );
    }
    resp.on_hover_ui(|ui| recent(ui, entries));
    legend(ui);
}

/// One attached stretch: a bar in the mode's colour, a dot where it arrived, a cross where it left.
fn draw_span(
    painter: &egui::Painter,
    (start, end, mode): &Span,
    y: f32,
    right: f32,
    x_of: &dyn Fn(u64) -> f32,
) {
    let x0 = x_of(*start);
    let x1 = end.map_or(right, x_of).max(x0 + 2.0);
    let bar = Rect::from_min_max(pos2(x0, y - 6.0), pos2(x1, y + 6.0));
    painter.rect_filled(bar, 3.0, mode_color(*mode));
    painter.circle_filled(Pos2::new(x0, y), 4.0, mode_color(*mode));
    if end.is_some() {
        let s = Stroke::new(2.0, Color32::from_rgb(200, 50, 50));
        painter.line_segment([pos2(x1 - 4.0, y - 4.0), pos2(x1 + 4.0, y + 4.0)], s);
        painter.line_segment([pos2(x1 - 4.0, y + 4.0), pos2(x1 + 4.0, y - 4.0)], s);
    }
}

/// The latest events, newest first (the hover text), in the engine's words.
fn recent(ui: &mut egui::Ui, entries: &[TimelineEvent]) {
    for e in entries.iter().rev().take(8) {
        ui.label(describe(e));
    }
}

fn legend(ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        for mode in [BoardMode::Normal, BoardMode::Edl, BoardMode::MemoryDump] {
            let (r, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
            ui.painter().rect_filled(r, 2.0, mode_color(Some(mode)));
            ui.label(RichText::new(mode.badge()).small());
        }
    });
}

#[cfg(test)]
mod tests {
    use oasis_engine::diag::timeline::Seen;

    use super::*;

    fn seen(mode: BoardMode) -> Seen {
        Seen {
            vid: 0x05C6,
            pid: 0x9008,
            mode: Some(mode),
        }
    }

    fn at(s: f64, kind: TimelineKind) -> TimelineEvent {
        TimelineEvent { at_s: s, kind }
    }

    fn appeared(s: f64, port: &str, mode: BoardMode) -> TimelineEvent {
        let (port_path, device) = (port.into(), seen(mode));
        at(s, TimelineKind::Appeared { port_path, device })
    }

    #[test]
    fn spans_follow_arrivals_and_departures_per_port() {
        let gone = TimelineKind::Disappeared {
            port_path: "1-1".into(),
            device: seen(BoardMode::Normal),
            present_s: 1.0,
        };
        let changed = TimelineKind::ModeChanged {
            from_path: "1-1".into(),
            to_path: "1-1".into(),
            from: seen(BoardMode::Normal),
            to: seen(BoardMode::Edl),
            gone_s: 1.5,
        };
        let l = lanes(&[
            appeared(0.0, "1-1", BoardMode::Normal),
            appeared(0.5, "1-2", BoardMode::Edl),
            at(1.0, gone),
            appeared(2.5, "1-1", BoardMode::Edl),
            // A mode change only names the departure and arrival already listed.
            at(2.5, changed),
        ]);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].0, "1-1");
        assert_eq!(
            l[0].1,
            vec![
                (0, Some(1000), Some(BoardMode::Normal)),
                (2500, None, Some(BoardMode::Edl))
            ]
        );
        assert_eq!(l[1].1, vec![(500, None, Some(BoardMode::Edl))]);
    }
}
