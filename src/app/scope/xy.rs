//! The XY view: one channel against another over the time range shown
//! (position against setpoint, current against velocity …). Points are
//! taken at an even stride so the view stays within a fixed budget.

use egui_plot::{Line, Plot, PlotPoint, PlotPoints};

use super::Display;
use crate::device::session::DeviceSession;
use crate::protocol::DeviceInfo;

/// Most points drawn in the XY view.
const MAX_POINTS: u64 = 20_000;

pub struct XyView {
    pub enabled: bool,
    x: usize,
    y: usize,
    points: Vec<PlotPoint>,
}

impl Default for XyView {
    fn default() -> Self {
        Self {
            enabled: false,
            x: 0,
            y: 1,
            points: Vec::new(),
        }
    }
}

impl XyView {
    pub fn settings_ui(&mut self, ui: &mut egui::Ui, info: &DeviceInfo) {
        ui.checkbox(&mut self.enabled, "Show XY view");
        for (axis, selected) in [("X channel", &mut self.x), ("Y channel", &mut self.y)] {
            egui::ComboBox::from_label(axis)
                .selected_text(
                    info.channels
                        .get(*selected)
                        .map_or("?".into(), |c| c.label()),
                )
                .show_ui(ui, |ui| {
                    for (index, channel) in info.channels.iter().enumerate() {
                        ui.selectable_value(selected, index, channel.label());
                    }
                });
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &DeviceSession,
        info: &DeviceInfo,
        display: Display,
        range: (f64, f64),
    ) {
        let (history, indices) = match display {
            Display::Live => {
                let Some(history) = &session.history else {
                    return;
                };
                (history, history.index_range(range.0, range.1))
            }
            Display::Captures => {
                let Some(capture) = session.capture.captures().last() else {
                    return;
                };
                (&capture.history, capture.history.indices())
            }
        };
        let (Some(x_channel), Some(y_channel)) =
            (info.channels.get(self.x), info.channels.get(self.y))
        else {
            return;
        };
        let stride = ((indices.end - indices.start) / MAX_POINTS).max(1);
        self.points.clear();
        self.points.extend(
            (indices.start..indices.end)
                .step_by(stride as usize)
                .map(|i| {
                    PlotPoint::new(
                        f64::from(history.value(self.x, i)),
                        f64::from(history.value(self.y, i)),
                    )
                })
                .filter(|p| p.x.is_finite() && p.y.is_finite()),
        );
        let name = format!("{} against {}", y_channel.name, x_channel.name);
        Plot::new("xy view")
            .legend(egui_plot::Legend::default())
            .x_axis_label(x_channel.label())
            .y_axis_label(y_channel.label())
            .show(ui, |plot_ui| {
                plot_ui.line(
                    Line::new(name, PlotPoints::Borrowed(&self.points))
                        .color(egui::Color32::from_rgb(120, 200, 255)),
                );
            });
    }
}
