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

/// Width of one channel's cell in the readout, points.
const CELL_WIDTH: f32 = 170.0;

/// Height of one readout row, points.
const ROW_HEIGHT: f32 = 20.0;

/// Channel cells per row in a readout `width` wide.
fn columns(width: f32) -> usize {
    ((width - CELL_WIDTH) / CELL_WIDTH).floor().max(1.0) as usize
}

/// The readout's height for `channels` channels `width` wide: the cursor
/// row, then the pointer's readings and the cursors' differences, each
/// over as many rows as the channels need. It depends on nothing the
/// pointer does, so the plots above never resize as it moves.
pub fn height(width: f32, channels: usize) -> f32 {
    let rows = channels.div_ceil(columns(width)).max(1);
    ROW_HEIGHT * (1 + 2 * rows) as f32 + 6.0
}

/// Puts `text` in `rect`, cut short with … when it does not fit (the full
/// text shows on hover).
fn cell(ui: &mut egui::Ui, rect: egui::Rect, text: impl Into<egui::WidgetText>) {
    ui.put(rect, egui::Label::new(text).truncate());
}

/// The readout in `rect`: a row for the cursors (A, B, Δt, 1/Δt), a block
/// with every channel at the pointer (the time first), and a block with
/// each channel's Δy from A to B, in cells of fixed size.
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
    let columns = columns(rect.width());
    let rows = channels.div_ceil(columns).max(1);
    let row = |index: usize| {
        egui::Rect::from_min_size(
            rect.min + egui::vec2(0.0, index as f32 * ROW_HEIGHT),
            egui::vec2(rect.width(), ROW_HEIGHT),
        )
    };
    // A block's first column holds its title; channel cells follow.
    let channel_cell = |block_row: usize, channel: usize| {
        let line = row(block_row + channel / columns);
        egui::Rect::from_min_size(
            line.min + egui::vec2(CELL_WIDTH * (1 + channel % columns) as f32, 0.0),
            egui::vec2(CELL_WIDTH - 8.0, ROW_HEIGHT),
        )
    };
    let title_cell = |block_row: usize| {
        egui::Rect::from_min_size(row(block_row).min, egui::vec2(CELL_WIDTH - 8.0, ROW_HEIGHT))
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

    // At the pointer.
    let at_pointer = hover_time.and_then(|t| Some((t, values_at(history, channels, t + shift)?)));
    if let Some((time, values)) = at_pointer {
        cell(ui, title_cell(1), format!("t = {time:.5} s"));
        for (index, (channel, value)) in info.channels.iter().zip(values).enumerate() {
            cell(
                ui,
                channel_cell(1, index),
                format!("{} {value:.5} {}", channel.name, channel.unit),
            );
        }
    }

    // From A to B.
    let deltas = cursors.a.zip(cursors.b).and_then(|(a, b)| {
        Some((
            values_at(history, channels, a + shift)?,
            values_at(history, channels, b + shift)?,
        ))
    });
    if let Some((at_a, at_b)) = deltas {
        cell(ui, title_cell(1 + rows), "B − A");
        for (index, ((channel, va), vb)) in info.channels.iter().zip(at_a).zip(at_b).enumerate() {
            cell(
                ui,
                channel_cell(1 + rows, index),
                format!("Δ{} {:.5} {}", channel.name, vb - va, channel.unit),
            );
        }
    }
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
