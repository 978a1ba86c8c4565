//! Channels of the other connected devices drawn beside the selected
//! device's, on its time axis through the host clock ([`host_clock`]).
//!
//! - The Channels pane has a section per other device (its colour and
//!   label) with a checkbox per channel, named `Show LABEL.channel`, and a
//!   line stating how its clock is mapped (`LABEL on host clock ±x ms`),
//!   or why it is not drawn.
//! - A chosen channel is drawn in the plot and on the axis the device's
//!   own default styles give it, in the device's colour, dashed, named
//!   `LABEL.channel` (on hover and in the legend strip), thinned as the
//!   scope's own lines are ([`super::lines`]). Only the live history is
//!   drawn this way: captures have their own time axis.
//! - Choices are kept by device id (never reused) and channel name, for as
//!   long as the app runs.
//!
//! [`host_clock`]: super::host_clock

use std::collections::{BTreeMap, BTreeSet};

use egui_plot::{LineStyle, PlotPoint};

use super::channels::{PlotSlot, default_styles};
use super::host_clock::ClockMap;
use super::lines::{self, ChannelLine, Placement};
use crate::device::DeviceId;
use crate::history::History;
use crate::link::Alignment;
use crate::protocol::DeviceInfo;

/// What the scope reads of a device other than the selected one.
pub struct OtherDevice<'a> {
    /// Its id, which keeps the user's choices.
    pub id: DeviceId,
    /// What the user calls it: names its traces.
    pub label: &'a str,
    /// Its colour in the device list, used for its traces.
    pub colour: [u8; 3],
    /// Its description, once given.
    pub info: Option<&'a DeviceInfo>,
    /// Its samples, once streaming.
    pub history: Option<&'a History>,
    /// Its clock on the host's, once batches arrived.
    pub alignment: Option<Alignment>,
}

/// One other device's channel drawn this frame.
#[derive(Debug)]
pub struct OtherTrace {
    /// `LABEL.channel`.
    pub name: String,
    /// The device's label.
    pub device: String,
    /// The device's colour.
    pub color: egui::Color32,
    /// The plot it is drawn in.
    pub slot: PlotSlot,
    /// Drawn against the plot's right axis.
    pub right_axis: bool,
    /// How its device's clock is mapped.
    pub map: ClockMap,
    line: ChannelLine,
}

impl OtherTrace {
    /// The points handed to the plot this frame, on the selected device's
    /// time axis.
    pub fn points(&self) -> impl Iterator<Item = &PlotPoint> {
        self.line.runs().flatten()
    }
}

/// The other devices' channels chosen, and this frame's traces.
#[derive(Default)]
pub struct OtherChannels {
    chosen: BTreeMap<DeviceId, BTreeSet<String>>,
    traces: Vec<OtherTrace>,
    /// Line buffers kept for the next frame.
    spare: Vec<ChannelLine>,
    /// Why a device with channels chosen is not drawn, by label.
    unmapped: Vec<String>,
}

impl OtherChannels {
    /// Whether `channel` of device `id` is to be drawn.
    pub fn is_chosen(&self, id: DeviceId, channel: &str) -> bool {
        self.chosen.get(&id).is_some_and(|c| c.contains(channel))
    }

    /// Chooses or drops `channel` of device `id`.
    pub fn choose(&mut self, id: DeviceId, channel: &str, shown: bool) {
        let channels = self.chosen.entry(id).or_default();
        if shown {
            channels.insert(channel.to_owned());
        } else {
            channels.remove(channel);
        }
    }

    /// The traces drawn last frame.
    pub fn traces(&self) -> &[OtherTrace] {
        &self.traces
    }

    /// The traces drawn in `slot`.
    pub fn in_slot(&self, slot: PlotSlot) -> impl Iterator<Item = &OtherTrace> {
        self.traces.iter().filter(move |t| t.slot == slot)
    }

    /// Why devices with channels chosen are not drawn, one line each.
    pub fn unmapped(&self) -> &[String] {
        &self.unmapped
    }

    /// Thins every chosen channel of `others` over `range` (the selected
    /// device's time) for a plot `width_px` wide, each device's times
    /// mapped through the host clock; `live` is false while captures are
    /// shown, and then nothing is drawn.
    pub fn update(
        &mut self,
        others: &[OtherDevice<'_>],
        selected: Option<Alignment>,
        live: bool,
        range: (f64, f64),
        width_px: usize,
    ) {
        self.spare.extend(self.traces.drain(..).map(|t| t.line));
        self.unmapped.clear();
        if !live {
            return;
        }
        let (times, columns) = lines::thinning_window(range.0..range.1, width_px);
        for device in others {
            let (Some(info), Some(history)) = (device.info, device.history) else {
                continue;
            };
            let chosen: Vec<usize> = (0..info.channels.len())
                .filter(|&k| self.is_chosen(device.id, &info.channels[k].name))
                .collect();
            if chosen.is_empty() {
                continue;
            }
            let map = match ClockMap::between(selected, device.alignment) {
                Ok(map) => map,
                Err(why) => {
                    self.unmapped.push(why.describe(device.label));
                    continue;
                }
            };
            let styles = default_styles(&info.channels);
            let [r, g, b] = device.colour;
            for channel in chosen {
                let mut line = self.spare.pop().unwrap_or_default();
                let shifted = map.device_time(times.start)..map.device_time(times.end);
                let placement = Placement {
                    time_shift_s: map.shift_s,
                    ..Placement::default()
                };
                line.update(history, channel, shifted, columns, placement);
                self.traces.push(OtherTrace {
                    name: format!("{}.{}", device.label, info.channels[channel].name),
                    device: device.label.to_owned(),
                    color: egui::Color32::from_rgb(r, g, b),
                    slot: styles[channel].slot,
                    right_axis: styles[channel].right_axis,
                    map,
                    line,
                });
            }
        }
    }

    /// Moves the right-axis traces of `slot` onto its left axis with the
    /// plot's own map (`None`: the plot has no right axis, and they read
    /// against the left one).
    pub fn fit_right_axis(&mut self, slot: PlotSlot, axis: Option<(f64, f64)>) {
        let Some((gain, shift)) = axis else {
            return;
        };
        for trace in &mut self.traces {
            if trace.slot == slot && trace.right_axis {
                trace.line.rescale(gain, shift);
            }
        }
    }

    /// Draws `slot`'s traces, dashed, named for the plot's hover label.
    pub fn draw<'a>(&'a self, plot_ui: &mut egui_plot::PlotUi<'a>, slot: PlotSlot) {
        for trace in self.in_slot(slot) {
            trace
                .line
                .draw_styled(plot_ui, &trace.name, trace.color, 1.5, DASHED);
        }
    }
}

/// How other devices' traces are drawn.
const DASHED: LineStyle = LineStyle::Dashed { length: 8.0 };

/// The Channels pane's sections for `others`: per device its label in its
/// colour, how its clock is mapped, and a checkbox per channel.
pub fn picker_ui(
    ui: &mut egui::Ui,
    chosen: &mut OtherChannels,
    others: &[OtherDevice<'_>],
    selected: Option<Alignment>,
) {
    for device in others {
        let [r, g, b] = device.colour;
        let colour = egui::Color32::from_rgb(r, g, b);
        let header = egui::RichText::new(device.label).color(colour).strong();
        egui::CollapsingHeader::new(header)
            .id_salt(("other device channels", device.id))
            .default_open(true)
            .show(ui, |ui| {
                let Some(info) = device.info else {
                    ui.weak("Not described yet");
                    return;
                };
                match ClockMap::between(selected, device.alignment) {
                    Ok(map) => {
                        ui.weak(map.describe(device.label)).on_hover_text(format!(
                            "Its times are drawn at the shown device's time of the same host instant: {}; the ± is the larger of the two clocks' arrival spreads",
                            device
                                .alignment
                                .map_or_else(String::new, |a| a.describe())
                        ));
                    }
                    Err(why) => {
                        ui.colored_label(ui.visuals().warn_fg_color, why.describe(device.label));
                    }
                }
                for channel in &info.channels {
                    let mut shown = chosen.is_chosen(device.id, &channel.name);
                    let name = format!("{}.{}", device.label, channel.name);
                    let response = ui
                        .checkbox(&mut shown, channel.name.as_str())
                        .accessible_name(format!("Show {name}"))
                        .on_hover_text(format!("draw {} beside the shown device's", channel.label()));
                    if response.changed() {
                        chosen.choose(device.id, &channel.name, shown);
                    }
                }
            });
    }
}

/// The legend strip's entries for `slot`'s traces: a dashed swatch and
/// `LABEL.channel`, then each device's `±x ms`; then why chosen devices
/// are not drawn.
pub fn legend_ui(strip: &mut egui::Ui, chosen: &OtherChannels, slot: PlotSlot) {
    let mut stated: Vec<&str> = Vec::new();
    for trace in chosen.in_slot(slot) {
        let (swatch, _) = strip.allocate_exact_size(egui::vec2(16.0, 10.0), egui::Sense::hover());
        let stroke = egui::Stroke::new(3.0, trace.color);
        let y = swatch.center().y;
        for x in [swatch.left(), swatch.left() + 10.0] {
            strip
                .painter()
                .line_segment([egui::pos2(x, y), egui::pos2(x + 5.0, y)], stroke);
        }
        strip.add(egui::Label::new(trace.name.as_str()).extend());
        let label = trace.device.as_str();
        if !stated.contains(&label) {
            stated.push(label);
            strip
                .add(
                    egui::Label::new(
                        egui::RichText::new(format!("±{:.1} ms", trace.map.uncertainty_s * 1e3))
                            .weak(),
                    )
                    .extend(),
                )
                .on_hover_text(trace.map.describe(label));
        }
    }
    if slot == PlotSlot::Upper {
        for why in chosen.unmapped() {
            strip.add(
                egui::Label::new(egui::RichText::new(why).color(strip.visuals().warn_fg_color))
                    .extend(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_kept_by_device_and_channel() {
        let mut chosen = OtherChannels::default();
        assert!(!chosen.is_chosen(DeviceId(2), "position"));
        chosen.choose(DeviceId(2), "position", true);
        assert!(chosen.is_chosen(DeviceId(2), "position"));
        assert!(!chosen.is_chosen(DeviceId(3), "position"));
        chosen.choose(DeviceId(2), "position", false);
        assert!(!chosen.is_chosen(DeviceId(2), "position"));
    }

    #[test]
    fn a_device_with_no_offset_yet_draws_nothing_and_says_why() {
        let info = DeviceInfo {
            name: "load".into(),
            firmware: String::new(),
            protocol_version: 1,
            loop_hz: 1000,
            watchdog_ms: 0,
            channels: crate::sim::drive::SimDrive::channels(),
            params: Vec::new(),
            other_axes: Vec::new(),
        };
        let history = History::new(info.channels.len(), 1000);
        let mut chosen = OtherChannels::default();
        chosen.choose(DeviceId(2), &info.channels[0].name, true);
        let mut other = OtherDevice {
            id: DeviceId(2),
            label: "load",
            colour: [1, 2, 3],
            info: Some(&info),
            history: Some(&history),
            alignment: None,
        };
        let selected = Some(Alignment {
            offset_s: 1.0,
            settled_s: 0.0,
            spread_s: 0.001,
        });
        chosen.update(
            std::slice::from_ref(&other),
            selected,
            true,
            (0.0, 1.0),
            400,
        );
        assert!(chosen.traces().is_empty());
        assert_eq!(
            chosen.unmapped(),
            ["load: no host clock offset yet, not drawn"]
        );
        other.alignment = selected;
        chosen.update(
            std::slice::from_ref(&other),
            selected,
            true,
            (0.0, 1.0),
            400,
        );
        assert_eq!(chosen.traces().len(), 1);
        assert_eq!(
            chosen.traces()[0].name,
            format!("load.{}", info.channels[0].name)
        );
        assert!(chosen.unmapped().is_empty());
        // Captures shown: nothing of the other devices.
        chosen.update(
            std::slice::from_ref(&other),
            selected,
            false,
            (0.0, 1.0),
            400,
        );
        assert!(chosen.traces().is_empty());
    }
}
