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
    pub a: Option<f64>,
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

pub fn ui(
    ui: &mut egui::Ui,
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
    // Cursors first: their row (and its button) stays put while the
    // hover row below changes with the pointer.
    ui.horizontal_wrapped(|ui| {
        let (Some(a), Some(b)) = (cursors.a, cursors.b) else {
            if let Some(a) = cursors.a {
                ui.label(format!("A {a:.5} s"));
            }
            if let Some(b) = cursors.b {
                ui.label(format!("B {b:.5} s"));
            }
            return;
        };
        // First in the row, so it stays in reach however far the row wraps.
        if ui.button("Clear cursors").clicked() {
            *cursors = Cursors::default();
            return;
        }
        let dt = b - a;
        ui.label(format!(
            "A {a:.5} s  B {b:.5} s  Δt {}",
            format_duration(dt)
        ));
        if dt != 0.0 {
            ui.label(format!("1/Δt {:.4} Hz", 1.0 / dt.abs()));
        }
        if let (Some(at_a), Some(at_b)) = (
            values_at(history, channels, a + shift),
            values_at(history, channels, b + shift),
        ) {
            for ((channel, va), vb) in info.channels.iter().zip(at_a).zip(at_b) {
                ui.separator();
                ui.label(format!("Δ{} {:.5} {}", channel.name, vb - va, channel.unit));
            }
        }
    });
    ui.horizontal_wrapped(|ui| {
        match hover_time.and_then(|t| Some((t, values_at(history, channels, t + shift)?))) {
            Some((time, values)) => {
                ui.label(format!("t = {time:.5} s"));
                for (channel, value) in info.channels.iter().zip(values) {
                    ui.separator();
                    ui.label(format!("{} {value:.5} {}", channel.name, channel.unit));
                }
            }
            None => {
                ui.weak("hover a plot for values; click sets cursor A, shift-click cursor B");
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
