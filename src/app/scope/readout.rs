//! Numbers under the plots: every channel's value at the pointer, and two
//! cursors (click sets A, shift-click sets B) with Δt, 1/Δt and each
//! channel's Δy between them. Values are the samples nearest in time, as
//! the device sent them (before the plot's scale and offset).

use egui_plot::{LineStyle, PlotUi, VLine};

use super::Display;
use crate::device::session::DeviceSession;
use crate::history::History;
use crate::protocol::DeviceInfo;

/// The two cursors, in the shown time axis.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cursors {
    /// Cursor A's time.
    pub a: Option<f64>,
    /// Cursor B's time.
    pub b: Option<f64>,
}

impl Cursors {
    /// Sets cursor A, or B when `second`.
    pub fn place(&mut self, time: f64, second: bool) {
        if second {
            self.b = Some(time);
        } else {
            self.a = Some(time);
        }
    }

    /// Dashed lines at the cursors placed.
    pub fn draw(&self, plot_ui: &mut PlotUi<'_>) {
        let color = egui::Color32::from_rgb(230, 230, 230);
        for (name, time) in [("", self.a), ("", self.b)] {
            if let Some(time) = time {
                plot_ui.vline(
                    VLine::new(name, time)
                        .color(color)
                        .style(LineStyle::dashed_loose()),
                );
            }
        }
    }
}

/// The history shown and the shift from its device time to the plot's.
fn shown_history(session: &DeviceSession, display: Display) -> Option<(&History, f64)> {
    match display {
        Display::Live => session.history.as_ref().map(|history| (history, 0.0)),
        Display::Captures => session
            .capture
            .captures()
            .last()
            .map(|capture| (&capture.history, capture.trigger_time)),
    }
}

/// The sample nearest to device time `time`.
fn nearest_sample(history: &History, time: f64) -> Option<u64> {
    let held = history.indices();
    if held.is_empty() {
        return None;
    }
    let after = history.first_at_or_after(time).min(held.end - 1);
    let before = after.saturating_sub(1).max(held.start);
    let closer_before =
        (time - history.time_of(before)).abs() < (history.time_of(after) - time).abs();
    Some(if closer_before { before } else { after })
}

fn values_at(history: &History, channels: usize, time: f64) -> Option<Vec<f32>> {
    let index = nearest_sample(history, time)?;
    Some(
        (0..channels)
            .map(|channel| history.value(channel, index))
            .collect(),
    )
}

/// Height of one readout row, points.
const ROW_HEIGHT: f32 = 20.0;

/// Width of the column of row titles (and the pointer's time), points.
const TITLE_WIDTH: f32 = 130.0;

/// The readout's height: a row for the cursors, one for the values at
/// the pointer, one for the differences between the cursors. It depends
/// on nothing the pointer does, so the plots above never resize as it
/// moves; channels that do not fit across scroll sideways.
pub fn height() -> f32 {
    ROW_HEIGHT * 3.0 + 8.0
}

/// Puts `text` in `rect`, cut short with … when it does not fit (the full
/// text shows on hover).
fn cell(ui: &mut egui::Ui, rect: egui::Rect, text: impl Into<egui::WidgetText>) {
    ui.put(rect, egui::Label::new(text).truncate());
}

/// Each channel's column width: room for its name, a value of nine
/// digits and sign, and its unit, whatever the value shown.
fn column_widths(ui: &egui::Ui, info: &DeviceInfo) -> Vec<f32> {
    let font = egui::TextStyle::Body.resolve(ui.style());
    info.channels
        .iter()
        .map(|channel| {
            let template = format!("Δ{} -0000.00000 {}", channel.name, channel.unit);
            let galley = ui
                .painter()
                .layout_no_wrap(template, font.clone(), egui::Color32::WHITE);
            galley.size().x + 16.0
        })
        .collect()
}

/// The readout in `rect`: a row for the cursors (A, B, Δt, 1/Δt), a row
/// with every channel at the pointer (the time first), and a row with each
/// channel's Δy from A to B, in columns of fixed width.
pub fn ui(
    ui: &mut egui::Ui,
    rect: egui::Rect,
    session: &DeviceSession,
    info: &DeviceInfo,
    display: Display,
    hover_time: Option<f64>,
    cursors: &mut Cursors,
) {
    let Some((history, shift)) = shown_history(session, display) else {
        return;
    };
    let channels = info.channels.len();
    let row = |index: usize| {
        egui::Rect::from_min_size(
            rect.min + egui::vec2(0.0, index as f32 * ROW_HEIGHT),
            egui::vec2(rect.width(), ROW_HEIGHT),
        )
    };

    // The cursor row: its button is always first, so it never moves.
    let cursor_row = row(0);
    let mut text_left = cursor_row.left();
    if cursors.a.is_some() || cursors.b.is_some() {
        let button = egui::Rect::from_min_size(cursor_row.min, egui::vec2(110.0, ROW_HEIGHT - 2.0));
        if ui.put(button, egui::Button::new("Clear cursors")).clicked() {
            *cursors = Cursors::default();
        }
        text_left = button.right() + 8.0;
    }
    let text_rect =
        egui::Rect::from_min_max(egui::pos2(text_left, cursor_row.top()), cursor_row.max);
    match (cursors.a, cursors.b) {
        (Some(a), Some(b)) => {
            let dt = b - a;
            let rate = if dt == 0.0 {
                String::new()
            } else {
                format!("   1/Δt {:.4} Hz", 1.0 / dt.abs())
            };
            cell(
                ui,
                text_rect,
                format!("A {a:.5} s  B {b:.5} s  Δt {}{rate}", format_duration(dt)),
            );
        }
        (Some(a), None) => cell(ui, text_rect, format!("A {a:.5} s; shift-click sets B")),
        (None, Some(b)) => cell(ui, text_rect, format!("B {b:.5} s; click sets A")),
        (None, None) => {
            cell(
                ui,
                text_rect,
                egui::RichText::new(
                    "hover a plot for values; click sets cursor A, shift-click cursor B",
                )
                .weak(),
            );
        }
    }

    let at_pointer = hover_time.and_then(|t| Some((t, values_at(history, channels, t + shift)?)));
    let deltas = cursors.a.zip(cursors.b).and_then(|(a, b)| {
        Some((
            values_at(history, channels, a + shift)?,
            values_at(history, channels, b + shift)?,
        ))
    });
    let widths = column_widths(ui, info);
    let table = egui::Rect::from_min_max(row(1).min, row(2).max);
    let mut table_ui = ui.new_child(egui::UiBuilder::new().max_rect(table));
    egui::ScrollArea::horizontal()
        .id_salt("readout columns")
        .max_height(table.height())
        .show(&mut table_ui, |ui| {
            let total = TITLE_WIDTH + widths.iter().sum::<f32>();
            let (area, _) = ui.allocate_exact_size(
                egui::vec2(total.max(table.width()), 2.0 * ROW_HEIGHT),
                egui::Sense::hover(),
            );
            let cell_rect = |line: usize, column: Option<usize>| {
                let (left, width) = match column {
                    None => (0.0, TITLE_WIDTH),
                    Some(c) => (TITLE_WIDTH + widths[..c].iter().sum::<f32>(), widths[c]),
                };
                egui::Rect::from_min_size(
                    area.min + egui::vec2(left, line as f32 * ROW_HEIGHT),
                    egui::vec2(width - 8.0, ROW_HEIGHT),
                )
            };
            if let Some((time, values)) = at_pointer {
                cell(ui, cell_rect(0, None), format!("t = {time:.5} s"));
                for (index, (channel, value)) in info.channels.iter().zip(values).enumerate() {
                    cell(
                        ui,
                        cell_rect(0, Some(index)),
                        format!("{} {value:.5} {}", channel.name, channel.unit),
                    );
                }
            }
            if let Some((at_a, at_b)) = deltas {
                cell(ui, cell_rect(1, None), "B − A");
                for (index, ((channel, va), vb)) in
                    info.channels.iter().zip(at_a).zip(at_b).enumerate()
                {
                    cell(
                        ui,
                        cell_rect(1, Some(index)),
                        format!("Δ{} {:.5} {}", channel.name, vb - va, channel.unit),
                    );
                }
            }
        });
}

/// A span in the unit that reads best.
fn format_duration(seconds: f64) -> String {
    let magnitude = seconds.abs();
    if magnitude >= 1.0 {
        format!("{seconds:.4} s")
    } else if magnitude >= 1e-3 {
        format!("{:.3} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SampleBatch;

    #[test]
    fn nearest_sample_picks_the_closer_neighbour() {
        let mut history = History::new(1, 100);
        history.push_batch(
            &SampleBatch {
                first_tick: 0,
                stride: 10,
                tick_hz: 1000.0,
                channel_count: 1,
                values: vec![0.0, 1.0, 2.0],
                exact: None,
            },
            0,
        );
        assert_eq!(nearest_sample(&history, 0.004), Some(0));
        assert_eq!(nearest_sample(&history, 0.006), Some(1));
        assert_eq!(nearest_sample(&history, 5.0), Some(2));
        assert_eq!(nearest_sample(&history, -5.0), Some(0));
        assert_eq!(format_duration(0.0125), "12.500 ms");
    }
}
