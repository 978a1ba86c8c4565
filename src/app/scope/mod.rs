//! The scope: the device's channels over time, as on an oscilloscope.
//!
//! - The view follows the newest sample over a rolling window, or is
//!   frozen (zoom and pan with mouse or keys; capture and recording go on).
//! - Channels are drawn in two stacked plots linked on time (`plots.rs`),
//!   each channel with its own visibility, colour, scale and offset, one
//!   unit per y-axis by default (`channels.rs`); legends sit above the
//!   plots, and time ticks are labelled at every zoom (`time_axis.rs`).
//! - A readout of fixed size gives every channel at the pointer, two
//!   cursors give Δt, 1/Δt and Δy (`readout.rs`); parameter writes are
//!   marked on the time axis, labelled where there is room
//!   (`write_marks.rs`).
//! - The plots save as PNG and SVG drawn from the data off-screen
//!   (`export.rs`, `figure.rs`); what is worth keeping between launches is
//!   [`ScopeSettings`] (`settings.rs`).
//! - Triggered captures stay on screen and can be overlaid (`trigger.rs`);
//!   an XY view plots one channel against another.
//! - With several devices connected, the other devices' channels can be
//!   drawn beside the selected device's, their times mapped onto its time
//!   axis through the host clock and the mapping's uncertainty stated
//!   (`other_devices.rs`, `host_clock.rs`).
//! - Each frame thins the visible range per pixel column before egui_plot
//!   sees it ([`lines`]), so the frame costs the same for a second or for
//!   ten million samples.

mod channels;
mod export;
mod figure;
mod host_clock;
pub mod lines;
mod other_devices;
mod plots;
mod readout;
mod settings;
mod time_axis;
mod toolbar;
mod trigger;
mod write_marks;
mod xy;

use std::collections::BTreeMap;

pub use self::channels::{ChannelStyle, PlotSlot};
pub use self::host_clock::{ClockMap, Unmapped};
use self::lines::ChannelLine;
pub use self::other_devices::{OtherDevice, OtherTrace};
use self::readout::Cursors;
pub use self::settings::{SavedTrigger, ScopeSettings};
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
    /// Other devices' channels chosen, and their lines this frame.
    others: other_devices::OtherChannels,
    /// The connected device's name, once described.
    device: Option<String>,
    /// Styles of devices seen or remembered, by name; the connected
    /// device's are in `styles`.
    saved_styles: BTreeMap<String, Vec<ChannelStyle>>,
    /// Size of saved images, pixels.
    export_size: [u32; 2],
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
            others: other_devices::OtherChannels::default(),
            device: None,
            saved_styles: BTreeMap::new(),
            export_size: settings::DEFAULT_EXPORT_SIZE,
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

    /// What is worth keeping between launches.
    pub fn settings(&self) -> ScopeSettings {
        let mut styles = self.saved_styles.clone();
        if let Some(device) = &self.device {
            styles.insert(device.clone(), self.styles.clone());
        }
        ScopeSettings {
            window_s: self.window_s.is_finite().then_some(self.window_s),
            styles,
            trigger: SavedTrigger::from(self.trigger.settings()),
            export_size: self.export_size,
            record_format: self.toolbar.record_format,
        }
    }

    /// Takes saved settings; a device's styles apply when it connects
    /// (now, if it is connected and its channels match).
    pub fn apply_settings(&mut self, settings: ScopeSettings) {
        self.window_s = match settings.window_s {
            Some(window) if window > 0.0 && window.is_finite() => window,
            Some(_) => self.window_s,
            None => f64::INFINITY,
        };
        self.trigger.set_settings(settings.trigger.to_settings());
        self.export_size = settings.export_size.map(|side| side.clamp(100, 8000));
        self.toolbar.record_format = settings.record_format;
        self.saved_styles = settings.styles;
        // The connected device's saved styles apply now (when its channels
        // still match, `sync_styles` keeps them).
        if let Some(device) = &self.device
            && let Some(saved) = self.saved_styles.remove(device)
        {
            self.styles = saved;
        }
    }

    /// Keeps the styles for `info`: the connected device's, its saved ones
    /// when another device (or none) was connected, or defaults.
    fn sync_device(&mut self, info: &DeviceInfo) {
        if self.device.as_deref() != Some(info.name.as_str()) {
            if let Some(previous) = self.device.take() {
                self.saved_styles
                    .insert(previous, std::mem::take(&mut self.styles));
            }
            if let Some(saved) = self.saved_styles.remove(&info.name) {
                self.styles = saved;
            }
            self.device = Some(info.name.clone());
        }
        channels::sync_styles(&mut self.styles, info);
    }

    /// The other devices' channels drawn last frame, on the selected
    /// device's time axis.
    pub fn other_traces(&self) -> &[OtherTrace] {
        self.others.traces()
    }

    /// The Channels pane: each channel's visibility, colour, scale, offset,
    /// plot and axis, the other devices' channels to draw beside them, and
    /// the XY view's channels.
    pub fn channels_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: Option<&mut DeviceSession>,
        others: &[OtherDevice<'_>],
    ) {
        let Some(session) = session else {
            ui.weak("No device");
            return;
        };
        let Some(info) = session.info.clone() else {
            ui.weak("No device");
            return;
        };
        let selected_clock = session.host_alignment();
        self.sync_device(&info);
        egui::ScrollArea::vertical().show(ui, |ui| {
            channels::ui(ui, &mut self.styles, &info);
            if !others.is_empty() {
                ui.separator();
                ui.weak("Other devices, on this device's time axis:");
                other_devices::picker_ui(ui, &mut self.others, others, selected_clock);
            }
            egui::CollapsingHeader::new("XY view")
                .default_open(false)
                .show(ui, |ui| self.xy.settings_ui(ui, &info));
        });
    }

    /// The Trigger pane: the trigger's settings, arming, and the captures.
    pub fn trigger_ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let Some(session) = session else {
            ui.weak("No device");
            return;
        };
        let Some(info) = session.info.clone() else {
            ui.weak("No device");
            return;
        };
        if let Some(shown) = self
            .trigger
            .ui(ui, session, &info, &mut self.overlay_earlier)
        {
            self.display = shown;
        }
    }

    /// *Record all devices*, in the toolbar.
    pub(crate) fn record_all(&mut self) -> &mut crate::app::record_all::RecordAllControl {
        &mut self.toolbar.record_all
    }

    /// The toolbar, plots and readout; `others`' chosen channels are drawn
    /// beside the session's.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: Option<&mut DeviceSession>,
        others: &[OtherDevice<'_>],
    ) {
        let Some(session) = session else {
            ui.centered_and_justified(|ui| ui.label("No device"));
            return;
        };
        let (Some(info), Some(_)) = (session.info.clone(), session.history.as_ref()) else {
            ui.centered_and_justified(|ui| ui.label("No data yet"));
            return;
        };
        self.sync_device(&info);
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
                export_size: &mut self.export_size,
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
            Some(toolbar::Action::SaveImage) => {
                let range = self.shown_range(history_span, session);
                let figure = self.figure(session, &info, range);
                self.toolbar.save_image(ui.ctx(), figure);
            }
            None => {}
        }
        self.handle_keys(ui, history_span, session);

        // The readout keeps one size whatever the pointer does, and its
        // place at the bottom however short the pane: the plots take the
        // rest and never resize as the pointer moves.
        let area = ui.available_rect_before_wrap();
        let readout_height = readout::height().min(area.height() * 0.5);
        let plot_rect = egui::Rect::from_min_max(
            area.min,
            egui::pos2(area.right(), area.bottom() - readout_height),
        );
        let readout_rect =
            egui::Rect::from_min_max(egui::pos2(area.left(), plot_rect.bottom()), area.max);
        ui.allocate_rect(area, egui::Sense::hover());
        let range = self.shown_range(history_span, session);
        let mut plots_ui = ui.new_child(egui::UiBuilder::new().max_rect(plot_rect));
        plots_ui.set_clip_rect(plot_rect.intersect(ui.clip_rect()));
        if self.xy.enabled {
            self.xy
                .ui(&mut plots_ui, session, &info, self.display, range);
        } else {
            self.plots_ui(&mut plots_ui, session, &info, range, others);
        }
        let mut readout_ui = ui.new_child(egui::UiBuilder::new().max_rect(readout_rect));
        readout_ui.set_clip_rect(readout_rect.intersect(ui.clip_rect()));
        readout::ui(
            &mut readout_ui,
            readout_rect.shrink2(egui::vec2(0.0, 3.0)),
            session,
            &info,
            self.display,
            self.hover_time,
            &mut self.cursors,
        );
        self.toolbar.poll(session);
    }

    /// The plots as an image of the export size, over `range`.
    fn figure(
        &self,
        session: &DeviceSession,
        info: &DeviceInfo,
        range: (f64, f64),
    ) -> figure::Figure {
        let layers = plots::layers(session, self.display, self.overlay_earlier);
        export::figure(&export::ExportInput {
            layers: &layers,
            styles: &self.styles,
            info,
            range,
            x_label: plots::x_label(self.display),
            writes: match self.display {
                Display::Live => session.writes.as_slice(),
                Display::Captures => &[],
            },
            size: self.export_size,
        })
    }

    /// Shows `span` whole, frozen (a recording just shown); `None` follows
    /// the newest sample.
    pub fn show_span(&mut self, span: Option<(f64, f64)>) {
        match span {
            Some((t0, t1)) => {
                self.follow = false;
                self.display = Display::Live;
                self.view = None;
                self.forced_view = Some((t0, t1.max(t0 + 1e-3)));
            }
            None => self.follow_newest(),
        }
    }

    /// Follows the newest sample of the live history.
    pub fn follow_newest(&mut self) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(name: &str) -> DeviceInfo {
        DeviceInfo {
            name: name.into(),
            firmware: String::new(),
            protocol_version: 1,
            loop_hz: 1000,
            watchdog_ms: 0,
            channels: crate::sim::drive::SimDrive::channels(),
            params: Vec::new(),
            other_axes: Vec::new(),
        }
    }

    #[test]
    fn a_device_s_saved_styles_apply_when_it_connects_and_are_saved_again() {
        let sim = device("sim");
        let mut first = Scope::default();
        first.sync_device(&sim);
        first.styles[2].visible = false;
        first.styles[3].scale = 4.0;
        first.window_s = f64::INFINITY;
        let saved = first.settings();
        assert_eq!(saved.window_s, None);

        let mut next = Scope::default();
        next.apply_settings(saved.clone());
        assert!(next.window_s.is_infinite());
        // Another device gets defaults; the sim its own styles.
        next.sync_device(&device("other"));
        assert!(next.styles[2].visible);
        next.sync_device(&sim);
        assert!(!next.styles[2].visible);
        assert_eq!(next.styles[3].scale, 4.0);
        // Both devices' styles are kept.
        let again = next.settings();
        assert_eq!(again.styles["sim"], saved.styles["sim"]);
        assert!(again.styles.contains_key("other"));
    }
}
