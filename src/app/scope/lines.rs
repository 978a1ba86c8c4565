//! Turning a history into plot lines for one frame: each channel thinned
//! to the pixel columns of the visible range, scaled, and handed to
//! egui_plot as borrowed points, one line per gap-free run. The buffers
//! are kept between frames, so a frame allocates nothing once warm.

use std::ops::Range;

use egui_plot::{Line, LineStyle, PlotPoint, PlotPoints, PlotUi};

use crate::history::{History, ThinnedLine};

/// The time range and pixel columns to thin for a view of `view` seconds
/// drawn `width_px` wide: the view plus a tenth on each side, so a pan
/// shows data at once, at one column per pixel (two points per pixel at
/// most).
pub fn thinning_window(view: Range<f64>, width_px: usize) -> (Range<f64>, usize) {
    let margin = (view.end - view.start) * 0.1;
    let columns = (width_px as f64 * 1.2).ceil() as usize;
    ((view.start - margin)..(view.end + margin), columns.max(1))
}

/// How a channel's values are drawn: `value · scale + offset`, and the
/// time shifted by `time_shift_s` (a capture is drawn relative to its
/// trigger).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Multiplies every value.
    pub scale: f32,
    /// Added after scaling, in the channel's unit.
    pub offset: f32,
    /// Seconds added to every time.
    pub time_shift_s: f64,
}

impl Default for Placement {
    fn default() -> Self {
        Self {
            scale: 1.0,
            offset: 0.0,
            time_shift_s: 0.0,
        }
    }
}

/// One channel's points for the frame being drawn.
#[derive(Debug, Default)]
pub struct ChannelLine {
    thinned: ThinnedLine,
    points: Vec<PlotPoint>,
    runs: Vec<Range<usize>>,
}

impl ChannelLine {
    /// Thins `channel` of `history` over device times `times` to
    /// `columns` pixel columns.
    pub fn update(
        &mut self,
        history: &History,
        channel: usize,
        times: Range<f64>,
        columns: usize,
        placement: Placement,
    ) {
        history.thin(channel, times.start, times.end, columns, &mut self.thinned);
        self.points.clear();
        self.runs.clear();
        let scale = f64::from(placement.scale);
        let offset = f64::from(placement.offset);
        for run in self.thinned.runs() {
            let start = self.points.len();
            self.points.extend(
                run.iter()
                    .map(|&[t, v]| PlotPoint::new(t + placement.time_shift_s, v * scale + offset)),
            );
            self.runs.push(start..self.points.len());
        }
    }

    /// The lowest and highest value handed over this frame.
    pub fn value_range(&self) -> Option<(f64, f64)> {
        let mut values = self.points.iter().map(|p| p.y);
        let first = values.next()?;
        Some(values.fold((first, first), |(low, high), y| (low.min(y), high.max(y))))
    }

    /// Redraws this frame's values as `value · gain + shift`, to show them
    /// against another channel's axis.
    pub fn rescale(&mut self, gain: f64, shift: f64) {
        for point in &mut self.points {
            point.y = point.y * gain + shift;
        }
    }

    /// This frame's gap-free runs of points.
    pub fn runs(&self) -> impl Iterator<Item = &[PlotPoint]> {
        self.runs.iter().map(|run| &self.points[run.clone()])
    }

    /// Points handed to the plot this frame.
    pub fn point_count(&self) -> usize {
        self.points.len()
    }

    /// Adds the line to the plot; every run shares `name`, so the legend
    /// shows one entry.
    pub fn draw<'a>(
        &'a self,
        plot_ui: &mut PlotUi<'a>,
        name: &str,
        color: egui::Color32,
        width: f32,
    ) {
        self.draw_styled(plot_ui, name, color, width, LineStyle::Solid);
    }

    /// Adds the line to the plot drawn in `style` (dashed for another
    /// device's channel).
    pub fn draw_styled<'a>(
        &'a self,
        plot_ui: &mut PlotUi<'a>,
        name: &str,
        color: egui::Color32,
        width: f32,
        style: LineStyle,
    ) {
        for run in &self.runs {
            plot_ui.line(
                Line::new(name, PlotPoints::Borrowed(&self.points[run.clone()]))
                    .color(color)
                    .width(width)
                    .style(style),
            );
        }
    }
}
