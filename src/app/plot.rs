//! The live plot: the device's channels over a rolling time window that
//! follows the newest sample. The loop's reference and feedback share the
//! upper plot; every other channel (velocity, effort …) is drawn below it,
//! linked on time. Each frame thins the visible range per pixel column
//! before egui_plot sees it.

use egui_plot::{Legend, Line, Plot, PlotPoint, PlotPoints};

use super::session::DeviceSession;
use crate::protocol::ChannelRole;

/// Rolling window lengths offered, seconds.
const WINDOWS_S: &[f64] = &[0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// Line colours, by channel index.
const PALETTE: &[egui::Color32] = &[
    egui::Color32::from_rgb(120, 120, 255),
    egui::Color32::from_rgb(255, 140, 60),
    egui::Color32::from_rgb(80, 200, 120),
    egui::Color32::from_rgb(230, 80, 200),
    egui::Color32::from_rgb(240, 220, 80),
    egui::Color32::from_rgb(80, 200, 230),
    egui::Color32::from_rgb(200, 80, 80),
    egui::Color32::from_rgb(180, 180, 180),
];

pub struct LivePlot {
    window_s: f64,
    /// Reused per-channel point buffers, handed to the plot borrowed.
    points: Vec<Vec<PlotPoint>>,
}

impl Default for LivePlot {
    fn default() -> Self {
        Self {
            window_s: 2.0,
            points: Vec::new(),
        }
    }
}

impl LivePlot {
    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&DeviceSession>) {
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("Window")
                .selected_text(format!("{} s", self.window_s))
                .show_ui(ui, |ui| {
                    for &w in WINDOWS_S {
                        ui.selectable_value(&mut self.window_s, w, format!("{w} s"));
                    }
                });
        });
        let (Some(session), Some(info)) = (session, session.and_then(|s| s.info.as_ref())) else {
            ui.centered_and_justified(|ui| ui.label("No data yet"));
            return;
        };
        let Some(history) = &session.history else {
            return;
        };
        let end = history.time_span().map_or(0.0, |(_, t1)| t1);
        let start = end - self.window_s;
        let columns = ui.available_width().max(100.0) as usize;

        self.points.resize_with(info.channels.len(), Vec::new);
        for (channel, buffer) in self.points.iter_mut().enumerate() {
            buffer.clear();
            let mut line = crate::history::ThinnedLine::default();
            history.thin(channel, start, end, columns, &mut line);
            buffer.extend(line.points.iter().map(|&[t, v]| PlotPoint::new(t, v)));
        }

        let is_loop =
            |role: ChannelRole| matches!(role, ChannelRole::Reference | ChannelRole::Feedback);
        let loop_channels: Vec<usize> = (0..info.channels.len())
            .filter(|&i| is_loop(info.channels[i].role))
            .collect();
        let other_channels: Vec<usize> = (0..info.channels.len())
            .filter(|&i| !is_loop(info.channels[i].role))
            .collect();
        let groups: Vec<(&str, Vec<usize>)> = [("loop", loop_channels), ("other", other_channels)]
            .into_iter()
            .filter(|(_, channels)| !channels.is_empty())
            .collect();
        let height = (ui.available_height() / groups.len().max(1) as f32 - 4.0).max(80.0);
        let link_group = ui.scope_id().with("time axis");
        for (name, channels) in groups {
            let points = &self.points;
            Plot::new(("live plot", name))
                .height(height)
                .legend(Legend::default())
                .link_axis(link_group, [true, false])
                .link_cursor(link_group, [true, false])
                .x_axis_label("device time [s]")
                .y_axis_min_width(56.0)
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .show(ui, |plot_ui| {
                    plot_ui.set_plot_bounds_x(start..=end);
                    plot_ui.set_auto_bounds([false, true]);
                    for &channel in &channels {
                        let color = PALETTE[channel % PALETTE.len()];
                        plot_ui.line(
                            Line::new(
                                info.channels[channel].label(),
                                PlotPoints::Borrowed(&points[channel]),
                            )
                            .color(color),
                        );
                    }
                });
        }
    }
}
