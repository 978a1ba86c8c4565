//! The scope: the device's channels over time, as on an oscilloscope.
//!
//! - The view follows the newest sample over a rolling window, or is
//!   frozen (zoom and pan with mouse or keys; capture and recording go on).
//! - Channels are drawn in two stacked plots linked on time, each channel
//!   with its own visibility, colour, scale and offset (`channels.rs`).
//! - A hover readout gives every channel at the pointer, two cursors give
//!   Δt, 1/Δt and Δy (`readout.rs`); parameter writes are marked on the time
//!   axis.
//! - Triggered captures stay on screen and can be overlaid (`trigger.rs`);
//!   an XY view plots one channel against another.
//! - Each frame thins the visible range per pixel column before egui_plot
//!   sees it ([`lines`]), so the frame costs the same for a second or for
//!   ten million samples.

mod channels;
pub mod lines;
mod readout;
mod toolbar;
mod trigger;
mod write_marks;
mod xy;

use egui_plot::{AxisHints, HPlacement, Legend, Plot};

use self::channels::{ChannelStyle, PlotSlot};
use self::lines::{ChannelLine, Placement};
use self::readout::Cursors;
use crate::capture::Capture;
use crate::device::session::DeviceSession;
use crate::history::History;
use crate::protocol::DeviceInfo;

/// Rolling window lengths offered, seconds; infinite shows the whole
/// history.
const WINDOWS_S: &[f64] = &[
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    600.0,
    f64::INFINITY,
];

/// How a window length reads.
fn window_name(window_s: f64) -> String {
    if window_s.is_finite() {
        format!("{window_s} s")
    } else {
        "all".to_owned()
    }
}

/// What the plots show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// The history, live or frozen.
    Live,
    /// The newest capture (and earlier ones overlaid), in time relative to
    /// the trigger.
    Captures,
}

/// The scope's state, kept between frames.
pub struct Scope {
    /// The view follows the newest sample.
    follow: bool,
    window_s: f64,
    /// The time range shown when not following (device time, or time
    /// relative to the trigger on captures).
    view: Option<(f64, f64)>,
    /// A range the plots must take this frame (keys, reset).
    forced_view: Option<(f64, f64)>,
    display: Display,
    /// The display drawn last frame.
    shown_display: Display,
    overlay_earlier: bool,
    styles: Vec<ChannelStyle>,
    cursors: Cursors,
    hover_time: Option<f64>,
    xy: xy::XyView,
    trigger: trigger::TriggerPanel,
    toolbar: toolbar::Toolbar,
    /// Reused line buffers: per slot of the frame, per channel.
    lines: Vec<ChannelLine>,
    /// Height the readout took last frame.
    readout_height: f32,
}

impl Default for Scope {
    fn default() -> Self {
        Self {
            follow: true,
            window_s: 2.0,
            view: None,
            forced_view: None,
            display: Display::Live,
            shown_display: Display::Live,
            overlay_earlier: true,
            styles: Vec::new(),
            cursors: Cursors::default(),
            hover_time: None,
            xy: xy::XyView::default(),
            trigger: trigger::TriggerPanel::default(),
            toolbar: toolbar::Toolbar::default(),
            lines: Vec::new(),
            readout_height: 64.0,
        }
    }
}

impl Scope {
    /// Where recordings and exports go.
    pub(super) fn set_save_folder(
        &mut self,
        folder: super::save_folder::SaveFolder,
        error: Option<String>,
    ) {
        self.toolbar.set_save_folder(folder, error);
    }

    /// Whether the view follows the newest sample.
    pub fn is_following(&self) -> bool {
        self.follow
    }

    /// Whether the plots move by themselves: the live history followed.
    /// A frozen view and the captures change only with input or a new
    /// capture.
    pub fn moves(&self) -> bool {
        self.follow && self.display == Display::Live
    }

    /// The side panel: channels, cursors, trigger.
    pub fn side_ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let Some(session) = session else {
            return;
        };
        let Some(info) = session.info.clone() else {
            return;
        };
        channels::sync_styles(&mut self.styles, &info);
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::CollapsingHeader::new("Channels")
                .default_open(true)
                .show(ui, |ui| {
                    channels::ui(ui, &mut self.styles, &info);
                });
            egui::CollapsingHeader::new("Trigger")
                .default_open(true)
                .show(ui, |ui| {
                    if let Some(shown) =
                        self.trigger
                            .ui(ui, session, &info, &mut self.overlay_earlier)
                    {
                        self.display = shown;
                    }
                });
            egui::CollapsingHeader::new("XY view")
                .default_open(false)
                .show(ui, |ui| {
                    self.xy.settings_ui(ui, &info);
                });
        });
    }

    /// The toolbar, plots and readout.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let Some(session) = session else {
            ui.centered_and_justified(|ui| ui.label("No device"));
            return;
        };
        let (Some(info), Some(_)) = (session.info.clone(), session.history.as_ref()) else {
            ui.centered_and_justified(|ui| ui.label("No data yet"));
            return;
        };
        channels::sync_styles(&mut self.styles, &info);
        if self.trigger.take_new_capture(session) {
            self.display = Display::Captures;
        }
        if session.capture.captures().is_empty() {
            self.display = Display::Live;
        }
        if self.display != self.shown_display {
            // Live and captures have different time axes.
            self.view = None;
            self.shown_display = self.display;
        }

        let action = self.toolbar.ui(
            ui,
            toolbar::ToolbarState {
                follow: self.follow,
                window_s: &mut self.window_s,
                display: &mut self.display,
                has_captures: !session.capture.captures().is_empty(),
                xy: &mut self.xy.enabled,
            },
            session,
        );
        let history_span = session.history.as_ref().and_then(History::time_span);
        match action {
            Some(toolbar::Action::Follow) => self.follow_newest(),
            Some(toolbar::Action::Freeze) => self.follow = false,
            Some(toolbar::Action::ExportView) => {
                let range = self.shown_range(history_span, session);
                self.toolbar.export_csv(session, self.display, range);
            }
            None => {}
        }
        self.handle_keys(ui, history_span, session);

        // The readout wraps to as many lines as the channels need: leave it
        // the room it took last frame.
        let plot_height = (ui.available_height() - self.readout_height).max(120.0);
        let range = self.shown_range(history_span, session);
        let plots = ui.allocate_ui(egui::vec2(ui.available_width(), plot_height), |ui| {
            if self.xy.enabled {
                self.xy.ui(ui, session, &info, self.display, range);
            } else {
                self.plots_ui(ui, session, &info, range);
            }
        });
        self.toolbar.set_plot_rect(plots.response.rect);
        let readout_top = ui.cursor().top();
        readout::ui(
            ui,
            session,
            &info,
            self.display,
            self.hover_time,
            &mut self.cursors,
        );
        self.readout_height = (ui.cursor().top() - readout_top).max(40.0) + 8.0;
        self.toolbar.poll(session);
    }

    fn follow_newest(&mut self) {
        self.follow = true;
        self.display = Display::Live;
        self.view = None;
    }

    /// The time range to draw this frame.
    fn shown_range(&self, history_span: Option<(f64, f64)>, session: &DeviceSession) -> (f64, f64) {
        if let Some(range) = self.forced_view {
            return range;
        }
        let rolling = || {
            let (oldest, newest) = history_span.unwrap_or((0.0, 0.0));
            if self.window_s.is_finite() {
                (newest - self.window_s, newest)
            } else {
                (oldest, newest.max(oldest + 1e-3))
            }
        };
        match self.display {
            Display::Live if self.follow => rolling(),
            Display::Live => self.view.unwrap_or_else(rolling),
            Display::Captures => self.view.unwrap_or_else(|| {
                let settings = session.capture.settings();
                (-settings.pre_s, settings.post_s)
            }),
        }
    }

    /// Arrow keys pan, +/− zoom, Home or F follows (Mac laptops have no
    /// Home key); only while no text field has the keyboard.
    fn handle_keys(
        &mut self,
        ui: &egui::Ui,
        history_span: Option<(f64, f64)>,
        session: &DeviceSession,
    ) {
        if ui.memory(|memory| memory.focused().is_some()) {
            return;
        }
        let (pan, zoom, home) = ui.input(|input| {
            let pan = i32::from(input.key_pressed(egui::Key::ArrowRight))
                - i32::from(input.key_pressed(egui::Key::ArrowLeft));
            let zoom = i32::from(
                input.key_pressed(egui::Key::Plus) || input.key_pressed(egui::Key::Equals),
            ) - i32::from(input.key_pressed(egui::Key::Minus));
            let follow = input.key_pressed(egui::Key::Home)
                || (input.key_pressed(egui::Key::F) && input.modifiers.is_none());
            (pan, zoom, follow)
        });
        if home {
            self.follow_newest();
            return;
        }
        if pan == 0 && zoom == 0 {
            return;
        }
        let (t0, t1) = self.shown_range(history_span, session);
        let width = t1 - t0;
        let center = (t0 + t1) / 2.0 + f64::from(pan) * width * 0.25;
        let width = width * 0.5f64.powi(zoom);
        self.follow = false;
        self.forced_view = Some((center - width / 2.0, center + width / 2.0));
    }

    /// When `slot` has channels on both axes: rescales this frame's lines
    /// of its right-axis channels onto its left axis, and returns the map.
    fn fit_right_axis(
        &mut self,
        slot: PlotSlot,
        layers: usize,
        channel_count: usize,
    ) -> Option<RightAxis> {
        let in_slot = |style: &ChannelStyle, right: bool| {
            style.visible && style.slot == slot && style.right_axis == right
        };
        let range_of = |lines: &[ChannelLine], right: bool| {
            (0..layers * channel_count)
                .filter(|&k| in_slot(&self.styles[k % channel_count], right))
                .fold(None, |range, k| widen(range, lines[k].value_range()))
        };
        let left = range_of(&self.lines, false)?;
        let right = range_of(&self.lines, true)?;
        let axis = RightAxis::fitting(right, left);
        for k in 0..layers * channel_count {
            if in_slot(&self.styles[k % channel_count], true) {
                self.lines[k].rescale(axis.gain, axis.shift);
            }
        }
        Some(axis)
    }

    fn plots_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut DeviceSession,
        info: &DeviceInfo,
        range: (f64, f64),
    ) {
        let slots: Vec<PlotSlot> = PlotSlot::ALL
            .into_iter()
            .filter(|slot| {
                self.styles
                    .iter()
                    .any(|style| style.visible && style.slot == *slot)
            })
            .collect();
        if slots.is_empty() {
            ui.centered_and_justified(|ui| ui.label("Every channel is hidden"));
            return;
        }
        let height = (ui.available_height() / slots.len() as f32 - 4.0).max(80.0);
        let width_px = (ui.available_width() * ui.pixels_per_point()).max(100.0) as usize;
        let (times, thin_columns) = lines::thinning_window(range.0..range.1, width_px);

        // Which histories to draw: the live one, or captures.
        let captures: Vec<&Capture> = match self.display {
            Display::Live => Vec::new(),
            Display::Captures => {
                let all = session.capture.captures();
                let shown = if self.overlay_earlier {
                    all.len()
                } else {
                    all.len().min(1)
                };
                all.iter().rev().take(shown).collect()
            }
        };
        let layers: Vec<(&History, f64, bool)> = match self.display {
            Display::Live => session.history.iter().map(|h| (h, 0.0, true)).collect(),
            Display::Captures => captures
                .iter()
                .enumerate()
                .map(|(k, capture)| (&capture.history, -capture.trigger_time, k == 0))
                .collect(),
        };
        let channel_count = info.channels.len();
        self.lines
            .resize_with(layers.len() * channel_count, ChannelLine::default);
        for (layer, (history, shift, _)) in layers.iter().enumerate() {
            for (channel, style) in self.styles.iter().enumerate() {
                let line = &mut self.lines[layer * channel_count + channel];
                let placement = Placement {
                    scale: style.scale,
                    offset: style.offset,
                    time_shift_s: *shift,
                };
                if style.visible {
                    line.update(
                        history,
                        channel,
                        (times.start - shift)..(times.end - shift),
                        thin_columns,
                        placement,
                    );
                } else {
                    line.update(history, channel, 0.0..0.0, 1, placement);
                }
            }
        }

        let right_axes: Vec<Option<RightAxis>> = slots
            .iter()
            .map(|&slot| self.fit_right_axis(slot, layers.len(), channel_count))
            .collect();
        let any_right_axis = right_axes.iter().any(Option::is_some);

        let link_group = ui.scope_id().with("time axis");
        let x_label = match self.display {
            Display::Live => "device time [s]",
            Display::Captures => "time from trigger [s]",
        };
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
            let follow = self.follow && self.display == Display::Live;
            let writes = match self.display {
                Display::Live => session.writes.as_slice(),
                Display::Captures => &[],
            };
            let mut plot = Plot::new(("scope", slot.name()))
                .height(height)
                .legend(Legend::default())
                .link_axis(link_group, [true, false])
                .link_cursor(link_group, [true, false])
                .x_axis_label(x_label);
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
                for (layer, (_, _, newest)) in layers.iter().enumerate() {
                    for (channel, style) in styles.iter().enumerate() {
                        if !style.visible || style.slot != slot {
                            continue;
                        }
                        let (name, color, width) = if *newest {
                            (
                                legend_name(
                                    &info.channels[channel].label(),
                                    style,
                                    right_axis.is_some(),
                                ),
                                style.color,
                                1.5,
                            )
                        } else {
                            // Earlier captures: faded, and out of the legend.
                            (String::new(), style.color.gamma_multiply(0.35), 1.0)
                        };
                        lines[layer * channel_count + channel].draw(plot_ui, &name, color, width);
                    }
                }
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

/// A plot's second y-axis: right-axis values `v` are drawn at
/// `v · gain + shift` on the left axis's scale.
#[derive(Clone, Copy, Debug)]
struct RightAxis {
    gain: f64,
    shift: f64,
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

    /// The right-axis value at a grid mark of the left axis, with as many
    /// decimals as the mark spacing needs there.
    fn label(self, mark: egui_plot::GridMark) -> String {
        let value = (mark.value - self.shift) / self.gain;
        let step = mark.step_size / self.gain.abs();
        let decimals = (-step.log10().floor()).clamp(0.0, 9.0) as usize;
        format!("{value:.decimals$}")
    }
}

/// A channel's legend entry, marked when it reads against the right axis.
fn legend_name(label: &str, style: &ChannelStyle, has_right_axis: bool) -> String {
    if has_right_axis && style.right_axis {
        format!("{label} (right axis)")
    } else {
        label.to_owned()
    }
}

/// The lowest and highest of two optional ranges.
fn widen(range: Option<(f64, f64)>, with: Option<(f64, f64)>) -> Option<(f64, f64)> {
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
