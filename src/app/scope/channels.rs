//! How each channel is drawn: shown or hidden, colour, scale and offset
//! (so a 0.01 rad error and a 5 A current can share a plot), which of the
//! two stacked plots it goes in, and whether it reads against the plot's
//! second y-axis on the right.
//!
//! Defaults put one unit on each y-axis: the loop's reference and
//! feedback on the upper plot's left axis, the effort's unit on the lower
//! plot's left axis, and the other units on the free right axes (upper,
//! then lower). The loop's signals and the other channels are grouped
//! apart even when they share a unit: a following error in rad is a
//! thousandth of the position. Channels of units that find no free axis
//! start hidden.

use crate::protocol::{ChannelInfo, ChannelRole, DeviceInfo};

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

/// One of the two plots stacked on a shared time axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PlotSlot {
    /// The top plot.
    Upper,
    /// The bottom plot.
    Lower,
}

impl PlotSlot {
    /// Both plots, top first.
    pub const ALL: [Self; 2] = [Self::Upper, Self::Lower];

    /// The plot's name, for ids and files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Upper => "upper",
            Self::Lower => "lower",
        }
    }
}

/// How one channel is drawn.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ChannelStyle {
    /// The channel's name, so styles survive only while the device's
    /// channels stay the same.
    pub name: String,
    /// Drawn at all.
    pub visible: bool,
    /// Line colour.
    #[serde(with = "rgba")]
    pub color: egui::Color32,
    /// Multiplies every value.
    pub scale: f32,
    /// Added after scaling, in the channel's unit.
    pub offset: f32,
    /// The plot it is drawn in.
    pub slot: PlotSlot,
    /// Drawn against a second y-axis on the right of its plot, scaled to
    /// share the height with the left axis's channels.
    pub right_axis: bool,
}

impl Default for ChannelStyle {
    fn default() -> Self {
        Self {
            name: String::new(),
            visible: true,
            color: PALETTE[0],
            scale: 1.0,
            offset: 0.0,
            slot: PlotSlot::Lower,
            right_axis: false,
        }
    }
}

/// Colours as `[r, g, b, a]` in saved settings.
mod rgba {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(color: &egui::Color32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(color.to_srgba_unmultiplied())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<egui::Color32, D::Error> {
        let [r, g, b, a] = <[u8; 4]>::deserialize(d)?;
        Ok(egui::Color32::from_rgba_unmultiplied(r, g, b, a))
    }
}

/// Whether `styles` were made for exactly `info`'s channels.
pub fn styles_fit(styles: &[ChannelStyle], info: &DeviceInfo) -> bool {
    styles.len() == info.channels.len()
        && styles
            .iter()
            .zip(&info.channels)
            .all(|(style, channel)| style.name == channel.name)
}

/// Keeps one style per channel of `info`; a different channel list starts
/// over with [`default_styles`]. Returns whether it started over.
pub fn sync_styles(styles: &mut Vec<ChannelStyle>, info: &DeviceInfo) -> bool {
    if styles_fit(styles, info) {
        return false;
    }
    *styles = default_styles(&info.channels);
    true
}

/// The default styles: one unit per y-axis (see the module's doc).
pub fn default_styles(channels: &[ChannelInfo]) -> Vec<ChannelStyle> {
    let is_loop =
        |c: &ChannelInfo| matches!(c.role, ChannelRole::Reference | ChannelRole::Feedback);
    // Unit groups, keyed by (loop signal, unit), in the order they take
    // axes: the loop's, the effort's, then the others'.
    let key = |c: &ChannelInfo| (is_loop(c), c.unit.clone());
    let rank = |c: &&ChannelInfo| match c.role {
        ChannelRole::Reference | ChannelRole::Feedback => 0,
        ChannelRole::Effort => 1,
        ChannelRole::Other => 2,
    };
    let mut ordered: Vec<&ChannelInfo> = channels.iter().collect();
    ordered.sort_by_key(rank);
    let mut groups: Vec<(bool, String)> = Vec::new();
    for channel in ordered {
        let k = key(channel);
        if !groups.contains(&k) {
            groups.push(k);
        }
    }
    // The axes in the order groups take them: a loop group claims the
    // upper plot first, any other group the lower plot.
    let mut free = vec![
        (PlotSlot::Upper, false),
        (PlotSlot::Lower, false),
        (PlotSlot::Upper, true),
        (PlotSlot::Lower, true),
    ];
    let axes: Vec<Option<(PlotSlot, bool)>> = groups
        .iter()
        .map(|(looped, _)| {
            let preferred = if *looped {
                PlotSlot::Upper
            } else {
                PlotSlot::Lower
            };
            let at = free
                .iter()
                .position(|&(slot, right)| slot == preferred && !right)
                .or_else(|| (!free.is_empty()).then_some(0))?;
            Some(free.remove(at))
        })
        .collect();
    channels
        .iter()
        .enumerate()
        .map(|(index, channel)| {
            let group = groups.iter().position(|g| *g == key(channel));
            let axis = group.and_then(|g| axes[g]);
            let (slot, right_axis) = axis.unwrap_or((PlotSlot::Lower, false));
            ChannelStyle {
                name: channel.name.clone(),
                visible: axis.is_some(),
                color: PALETTE[index % PALETTE.len()],
                slot,
                right_axis,
                ..ChannelStyle::default()
            }
        })
        .collect()
}

/// Where a channel can be drawn: a plot and an axis, as the axis menu
/// offers them.
const AXES: [(PlotSlot, bool, &str, &str); 4] = [
    (PlotSlot::Upper, false, "upper L", "upper plot, left axis"),
    (PlotSlot::Upper, true, "upper R", "upper plot, right axis"),
    (PlotSlot::Lower, false, "lower L", "lower plot, left axis"),
    (PlotSlot::Lower, true, "lower R", "lower plot, right axis"),
];

/// One row per channel, narrow enough for a side pane: visibility and
/// name, colour, plot and axis, and a menu with scale and offset.
pub fn ui(ui: &mut egui::Ui, styles: &mut [ChannelStyle], info: &DeviceInfo) {
    ui.scope(|ui| {
        // Tight enough for a side pane a fifth of a 1280-point window wide.
        ui.spacing_mut().item_spacing.x = 5.0;
        ui.spacing_mut().interact_size.x = 26.0;
        egui::Grid::new("channel styles")
            .num_columns(4)
            .striped(true)
            .show(ui, |ui| {
                for (style, channel) in styles.iter_mut().zip(&info.channels) {
                    row(ui, style, channel);
                    ui.end_row();
                }
            });
    });
}

fn row(ui: &mut egui::Ui, style: &mut ChannelStyle, channel: &ChannelInfo) {
    ui.checkbox(&mut style.visible, channel.name.as_str())
        .on_hover_text(format!("show or hide {}", channel.label()));
    ui.color_edit_button_srgba(&mut style.color)
        .accessible_name(format!("{} colour", channel.name));
    let shown = AXES
        .iter()
        .find(|(slot, right, ..)| *slot == style.slot && *right == style.right_axis)
        .map_or("?", |axis| axis.2);
    egui::ComboBox::from_id_salt(("channel axis", &channel.name))
        .selected_text(shown)
        .width(56.0)
        .show_ui(ui, |ui| {
            for (slot, right, _, long) in AXES {
                let chosen = style.slot == slot && style.right_axis == right;
                if ui.selectable_label(chosen, long).clicked() {
                    style.slot = slot;
                    style.right_axis = right;
                }
            }
        })
        .response
        .accessible_name(format!("{} axis", channel.name))
        .on_hover_text("the plot and y-axis it is drawn against");
    let scaled = style.scale != 1.0 || style.offset != 0.0;
    ui.menu_button(if scaled { "±•" } else { "±" }, |ui| {
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut style.scale)
                    .speed(0.01)
                    .prefix("×"),
            )
            .accessible_name(format!("{} scale", channel.name));
            ui.add(
                egui::DragValue::new(&mut style.offset)
                    .speed(0.01)
                    .prefix("+"),
            )
            .accessible_name(format!("{} offset", channel.name));
        });
        ui.label(format!(
            "drawn as value × scale + offset, offset in {}",
            channel.unit
        ));
        if ui.button("Reset").clicked() {
            style.scale = 1.0;
            style.offset = 0.0;
        }
    })
    .response
    .accessible_name(format!("{} scale and offset", channel.name))
    .on_hover_text("scale and offset (• when not 1 and 0)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sim_s_channels_get_one_unit_per_axis() {
        let channels = crate::sim::drive::SimDrive::channels();
        let styles = default_styles(&channels);
        let mut units_on_axis: Vec<((PlotSlot, bool), Vec<&str>)> = Vec::new();
        for (style, channel) in styles.iter().zip(&channels) {
            assert!(style.visible, "{} is hidden", channel.name);
            let axis = (style.slot, style.right_axis);
            match units_on_axis.iter_mut().find(|(a, _)| *a == axis) {
                Some((_, units)) if !units.contains(&channel.unit.as_str()) => {
                    units.push(channel.unit.as_str());
                }
                Some(_) => {}
                None => units_on_axis.push((axis, vec![channel.unit.as_str()])),
            }
        }
        for (axis, units) in &units_on_axis {
            assert_eq!(units.len(), 1, "{axis:?} carries {units:?}");
        }
        // A right axis only where the plot has a left one.
        for slot in PlotSlot::ALL {
            let right = styles.iter().any(|s| s.slot == slot && s.right_axis);
            let left = styles.iter().any(|s| s.slot == slot && !s.right_axis);
            assert!(!right || left, "{slot:?} has a right axis alone");
        }
        let by_name = |name: &str| {
            let at = channels.iter().position(|c| c.name == name).expect(name);
            (styles[at].slot, styles[at].right_axis)
        };
        assert_eq!(by_name("position"), (PlotSlot::Upper, false));
        assert_eq!(by_name("setpoint"), (PlotSlot::Upper, false));
        assert_eq!(by_name("effort"), (PlotSlot::Lower, false));
        assert_eq!(by_name("p term"), (PlotSlot::Lower, false));
    }

    #[test]
    fn a_single_unit_device_has_no_right_axis_and_extra_units_start_hidden() {
        let channel = |name: &str, unit: &str, role| ChannelInfo {
            name: name.into(),
            unit: unit.into(),
            role,
        };
        let one = default_styles(&[
            channel("a", "V", ChannelRole::Other),
            channel("b", "V", ChannelRole::Other),
        ]);
        assert!(one.iter().all(|s| !s.right_axis && s.visible));
        let many: Vec<ChannelInfo> = ["A", "B", "C", "D", "E"]
            .iter()
            .map(|u| channel(u, u, ChannelRole::Other))
            .collect();
        let styles = default_styles(&many);
        assert_eq!(styles.iter().filter(|s| s.visible).count(), 4);
        assert!(!styles[4].visible);
    }
}
