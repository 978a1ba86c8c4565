//! The stacked time plots of the scope: which histories are drawn (the
//! live one, or captures), their lines thinned for the frame, a legend
//! strip above each plot (outside the data, so it never hides a trace),
//! the right axis when two units share a plot, and the time axis with
//! labelled ticks at every zoom. Other devices' chosen channels are drawn
//! in the same plots, dashed (`other_devices.rs`).

use egui_plot::{AxisHints, HPlacement, Plot};

use super::channels::{ChannelStyle, PlotSlot};
use super::lines::{self, ChannelLine, Placement};
use super::other_devices::{self, OtherChannels, OtherDevice};
use super::{Display, Scope, time_axis, write_marks};
use crate::capture::Capture;
use crate::device::session::DeviceSession;
use crate::history::History;
use crate::protocol::DeviceInfo;

/// Height of a plot's legend strip, points.
const LEGEND_HEIGHT: f32 = 18.0;

/// One history drawn: live, or a capture in time from its trigger.
#[derive(Clone, Copy)]
pub(super) struct Layer<'a> {
    /// The samples.
    pub history: &'a History,
    /// Added to device time to get the plot's time.
    pub shift: f64,
    /// The newest: drawn in full colour and named in the legend.
    pub newest: bool,
}

/// The histories `display` draws, newest first.
pub(super) fn layers(
    session: &DeviceSession,
    display: Display,
    overlay_earlier: bool,
) -> Vec<Layer<'_>> {
    match display {
        Display::Live => session
            .history
            .iter()
            .map(|history| Layer {
                history,
                shift: 0.0,
                newest: true,
            })
            .collect(),
        Display::Captures => {
            let all = session.capture.captures();
            let shown = if overlay_earlier {
                all.len()
            } else {
                all.len().min(1)
            };
            all.iter()
                .rev()
                .take(shown)
                .enumerate()
                .map(|(k, capture): (usize, &Capture)| Layer {
                    history: &capture.history,
                    shift: -capture.trigger_time,
                    newest: k == 0,
                })
                .collect()
        }
    }
}

/// The plots with at least one visible channel, top first.
pub(super) fn shown_slots(styles: &[ChannelStyle]) -> Vec<PlotSlot> {
    PlotSlot::ALL
        .into_iter()
        .filter(|slot| styles.iter().any(|s| s.visible && s.slot == *slot))
        .collect()
}

/// Thins every visible channel of every layer over `range` into
/// `lines[layer · channels + channel]`, for a plot `width_px` wide.
pub(super) fn update_lines(
    lines: &mut Vec<ChannelLine>,
    layers: &[Layer<'_>],
    styles: &[ChannelStyle],
    range: (f64, f64),
    width_px: usize,
) {
    let (times, columns) = lines::thinning_window(range.0..range.1, width_px);
    let channel_count = styles.len();
    lines.resize_with(layers.len() * channel_count, ChannelLine::default);
    for (k, layer) in layers.iter().enumerate() {
        for (channel, style) in styles.iter().enumerate() {
            let line = &mut lines[k * channel_count + channel];
            let placement = Placement {
                scale: style.scale,
                offset: style.offset,
                time_shift_s: layer.shift,
            };
            if style.visible {
                let shifted = (times.start - layer.shift)..(times.end - layer.shift);
                line.update(layer.history, channel, shifted, columns, placement);
            } else {
                line.update(layer.history, channel, 0.0..0.0, 1, placement);
            }
        }
    }
}

/// When `slot` has channels on both axes: rescales the lines of its
/// right-axis channels onto its left axis, and returns the map.
pub(super) fn fit_right_axis(
    lines: &mut [ChannelLine],
    styles: &[ChannelStyle],
    slot: PlotSlot,
) -> Option<RightAxis> {
    let channel_count = styles.len().max(1);
    let in_slot = |k: usize, right: bool| {
        let style = &styles[k % channel_count];
        style.visible && style.slot == slot && style.right_axis == right
    };
    let range_of = |lines: &[ChannelLine], right: bool| {
        (0..lines.len())
            .filter(|&k| in_slot(k, right))
            .fold(None, |range, k| widen(range, lines[k].value_range()))
    };
    let left = range_of(lines, false)?;
    let right = range_of(lines, true)?;
    let axis = RightAxis::fitting(right, left);
    for (k, line) in lines.iter_mut().enumerate() {
        if in_slot(k, true) {
            line.rescale(axis.gain, axis.shift);
        }
    }
    Some(axis)
}

/// A legend entry: the channel's label, marked when it reads against the
/// right axis.
pub(super) fn legend_name(label: &str, style: &ChannelStyle, has_right_axis: bool) -> String {
    if has_right_axis && style.right_axis {
        format!("{label} (right axis)")
    } else {
        label.to_owned()
    }
}

/// The legend above a plot, one group per y-axis: a colour swatch and
/// the name of each channel, then the axis's unit (`[A]`, `[rad/s] right
/// axis`), in one row of fixed height; names that do not fit are cut
/// short (the full list is in the side panel).
fn legend_strip(
    ui: &mut egui::Ui,
    styles: &[ChannelStyle],
    info: &DeviceInfo,
    others: &OtherChannels,
    slot: PlotSlot,
    has_right_axis: bool,
) {
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), LEGEND_HEIGHT),
        egui::Sense::hover(),
    );
    let mut strip = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(rect)
            .layout(egui::Layout::left_to_right(egui::Align::Center)),
    );
    strip.set_clip_rect(rect.intersect(ui.clip_rect()));
    strip.spacing_mut().item_spacing.x = 4.0;
    for right in [false, true] {
        let group: Vec<_> = styles
            .iter()
            .zip(&info.channels)
            .filter(|(style, _)| {
                style.visible && style.slot == slot && (style.right_axis && has_right_axis) == right
            })
            .collect();
        if group.is_empty() {
            continue;
        }
        let mut units: Vec<&str> = Vec::new();
        for (style, channel) in group {
            let (swatch, _) =
                strip.allocate_exact_size(egui::vec2(16.0, 10.0), egui::Sense::hover());
            strip.painter().line_segment(
                [swatch.left_center(), swatch.right_center()],
                egui::Stroke::new(3.0, style.color),
            );
            strip.add(egui::Label::new(channel.name.as_str()).extend());
            if !channel.unit.is_empty() && !units.contains(&channel.unit.as_str()) {
                units.push(&channel.unit);
            }
        }
        let axis = if right { " right axis" } else { "" };
        // Channels without a unit get no empty brackets.
        let units = if units.is_empty() {
            axis.trim_start().to_owned()
        } else {
            format!("[{}]{axis}", units.join(", "))
        };
        strip.add(egui::Label::new(egui::RichText::new(units).weak()).extend());
        strip.add_space(16.0);
    }
    other_devices::legend_ui(&mut strip, others, slot);
}

impl Scope {
    pub(super) fn plots_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut DeviceSession,
        info: &DeviceInfo,
        range: (f64, f64),
        others: &[OtherDevice<'_>],
    ) {
        let width_px = (ui.available_width() * ui.pixels_per_point()).max(100.0) as usize;
        self.others.update(
            others,
            session.host_alignment(),
            self.display == Display::Live,
            range,
            width_px,
        );
        // Another device's trace opens its plot too.
        let slots: Vec<PlotSlot> = PlotSlot::ALL
            .into_iter()
            .filter(|slot| {
                shown_slots(&self.styles).contains(slot)
                    || self.others.in_slot(*slot).next().is_some()
            })
            .collect();
        if slots.is_empty() {
            ui.centered_and_justified(|ui| ui.label("Every channel is hidden"));
            return;
        }
        // Each plot's share of the height, less its legend and the gaps.
        let height = (ui.available_height() / slots.len() as f32
            - ui.spacing().item_spacing.y * 2.0
            - LEGEND_HEIGHT)
            .max(40.0);
        let layers = layers(session, self.display, self.overlay_earlier);
        update_lines(&mut self.lines, &layers, &self.styles, range, width_px);
        let right_axes: Vec<Option<RightAxis>> = slots
            .iter()
            .map(|&slot| {
                let axis = fit_right_axis(&mut self.lines, &self.styles, slot);
                self.others
                    .fit_right_axis(slot, axis.map(|a| (a.gain, a.shift)));
                axis
            })
            .collect();
        let any_right_axis = right_axes.iter().any(Option::is_some);
        let channel_count = info.channels.len();

        let link_group = ui.scope_id().with("time axis");
        let x_label = x_label(self.display);
        let forced = self.forced_view.take();
        let mut hover_time = None;
        let mut new_view = None;
        let mut interacted = false;
        let mut reset = false;
        let mut clicked_at = None;
        for (slot, right_axis) in slots.into_iter().zip(right_axes) {
            let lines = &self.lines;
            let styles = &self.styles;
            let cursors = &self.cursors;
            let other_lines = &self.others;
            let follow = self.follow && self.display == Display::Live;
            let writes = match self.display {
                Display::Live => session.writes.as_slice(),
                Display::Captures => &[],
            };
            legend_strip(ui, styles, info, other_lines, slot, right_axis.is_some());
            let mut plot = Plot::new(("scope", slot.name()))
                .height(height)
                .link_axis(link_group, [true, false])
                .link_cursor(link_group, [true, false])
                .grid_spacing(egui::Rangef::new(time_axis::GRID_SPACING_MIN, 300.0))
                .x_grid_spacer(time_axis::marks)
                .custom_x_axes(vec![time_axis::axis_hints(x_label)]);
            plot = match right_axis {
                Some(axis) => plot.custom_y_axes(vec![
                    AxisHints::new_y().min_thickness(56.0),
                    AxisHints::new_y()
                        .placement(HPlacement::Right)
                        .min_thickness(56.0)
                        .formatter(move |mark, _| axis.label(mark)),
                ]),
                // An empty right axis keeps the time axes of the stacked
                // plots aligned when the other one has a right axis.
                None if any_right_axis => plot.custom_y_axes(vec![
                    AxisHints::new_y().min_thickness(56.0),
                    AxisHints::new_y()
                        .placement(HPlacement::Right)
                        .min_thickness(56.0)
                        .formatter(|_, _| String::new()),
                ]),
                None => plot.y_axis_min_width(56.0),
            };
            let response = plot.show(ui, |plot_ui| {
                if follow || forced.is_some() || self.view.is_none() {
                    plot_ui.set_plot_bounds_x(range.0..=range.1);
                }
                if follow || forced.is_some() {
                    // Keys move the time axis; values refit to what shows.
                    plot_ui.set_auto_bounds([false, true]);
                }
                for (k, layer) in layers.iter().enumerate() {
                    for (channel, style) in styles.iter().enumerate() {
                        if !style.visible || style.slot != slot {
                            continue;
                        }
                        let (color, width) = if layer.newest {
                            (style.color, 1.5)
                        } else {
                            // Earlier captures: faded.
                            (style.color.gamma_multiply(0.35), 1.0)
                        };
                        lines[k * channel_count + channel].draw(plot_ui, "", color, width);
                    }
                }
                other_lines.draw(plot_ui, slot);
                let bounds = plot_ui.plot_bounds();
                write_marks::draw_write_marks(plot_ui, writes, &bounds);
                cursors.draw(plot_ui);
                (bounds, plot_ui.pointer_coordinate())
            });
            if slot == PlotSlot::Upper {
                write_marks::label_write_marks(ui, &response, writes);
            }
            let (bounds, pointer) = response.inner;
            if response.response.hovered() {
                hover_time = pointer.map(|p| p.x);
            }
            if response.response.clicked() {
                clicked_at = pointer.map(|p| (p.x, ui.input(|i| i.modifiers.shift)));
            }
            if response.response.double_clicked() {
                reset = true;
            }
            let scrolled = response.response.hovered()
                && ui.input(|i| i.smooth_scroll_delta != egui::Vec2::ZERO || i.zoom_delta() != 1.0);
            interacted |= response.response.dragged() || scrolled;
            new_view = Some((bounds.min()[0], bounds.max()[0]));
        }
        self.hover_time = hover_time;
        if let Some((time, second)) = clicked_at {
            self.cursors.place(time, second);
        }
        if reset {
            match self.display {
                Display::Live => self.follow_newest(),
                Display::Captures => self.view = None,
            }
        } else if interacted || !self.follow || self.display == Display::Captures {
            if interacted && self.display == Display::Live {
                self.follow = false;
            }
            if !(self.follow && self.display == Display::Live) {
                self.view = new_view.or(self.view);
            }
        }
    }
}

/// The time axis's title.
pub(super) fn x_label(display: Display) -> &'static str {
    match display {
        Display::Live => "device time [s]",
        Display::Captures => "time from trigger [s]",
    }
}

/// A plot's second y-axis: right-axis values `v` are drawn at
/// `v · gain + shift` on the left axis's scale.
#[derive(Clone, Copy, Debug)]
pub(super) struct RightAxis {
    /// Multiplies a right-axis value.
    pub gain: f64,
    /// Added after.
    pub shift: f64,
}

impl RightAxis {
    /// Maps `right` onto `left` so both use the plot's full height.
    fn fitting(right: (f64, f64), left: (f64, f64)) -> Self {
        let right_span = right.1 - right.0;
        let left_span = left.1 - left.0;
        if right_span > 0.0 && left_span > 0.0 {
            let gain = left_span / right_span;
            Self {
                gain,
                shift: left.0 - right.0 * gain,
            }
        } else {
            // A flat line on either side: centre one on the other.
            Self {
                gain: 1.0,
                shift: (left.0 + left.1) / 2.0 - (right.0 + right.1) / 2.0,
            }
        }
    }

    /// The right-axis value at a left-axis value.
    pub fn value_at(self, left: f64) -> f64 {
        (left - self.shift) / self.gain
    }

    /// The right-axis value at a grid mark of the left axis, with as many
    /// decimals as the mark spacing needs there (`time_axis::label` suits
    /// any axis).
    fn label(self, mark: egui_plot::GridMark) -> String {
        time_axis::label(self.value_at(mark.value), mark.step_size / self.gain.abs())
    }
}

/// The lowest and highest of two optional ranges.
pub(super) fn widen(range: Option<(f64, f64)>, with: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match (range, with) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_axis_shares_the_left_axis_height_and_labels_its_own_values() {
        // Effort −5…5 A drawn beside a position of 0…1 rad.
        let axis = RightAxis::fitting((-5.0, 5.0), (0.0, 1.0));
        assert!((-5.0 * axis.gain + axis.shift).abs() < 1e-12);
        assert!((5.0 * axis.gain + axis.shift - 1.0).abs() < 1e-12);
        let mark = |value, step_size| egui_plot::GridMark { value, step_size };
        assert_eq!(axis.label(mark(0.5, 0.1)), "0");
        assert_eq!(axis.label(mark(0.75, 0.05)), "2.5");
        // A flat right channel sits in the middle of the left range.
        let flat = RightAxis::fitting((3.0, 3.0), (0.0, 2.0));
        assert!((3.0 * flat.gain + flat.shift - 1.0).abs() < 1e-12);
    }
}
