//! How each channel is drawn: shown or hidden, colour, scale and offset
//! (so a 0.01 rad error and a 5 A current can share a plot), which of the
//! two stacked plots it goes in, and whether it reads against the plot's
//! second y-axis on the right.

use crate::protocol::{ChannelRole, DeviceInfo};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotSlot {
    Upper,
    Lower,
}

impl PlotSlot {
    pub const ALL: [Self; 2] = [Self::Upper, Self::Lower];

    pub fn name(self) -> &'static str {
        match self {
            Self::Upper => "upper",
            Self::Lower => "lower",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChannelStyle {
    /// The channel's name, so styles survive only while the device's
    /// channels stay the same.
    pub name: String,
    pub visible: bool,
    pub color: egui::Color32,
    pub scale: f32,
    pub offset: f32,
    pub slot: PlotSlot,
    /// Drawn against a second y-axis on the right of its plot, scaled to
    /// share the height with the left axis's channels.
    pub right_axis: bool,
}

/// Keeps one style per channel of `info`; a different channel list starts
/// over with defaults: the loop's reference and feedback in the upper
/// plot, everything else in the lower one.
pub fn sync_styles(styles: &mut Vec<ChannelStyle>, info: &DeviceInfo) {
    let same = styles.len() == info.channels.len()
        && styles
            .iter()
            .zip(&info.channels)
            .all(|(style, channel)| style.name == channel.name);
    if same {
        return;
    }
    *styles = info
        .channels
        .iter()
        .enumerate()
        .map(|(index, channel)| ChannelStyle {
            name: channel.name.clone(),
            visible: true,
            color: PALETTE[index % PALETTE.len()],
            scale: 1.0,
            offset: 0.0,
            slot: match channel.role {
                ChannelRole::Reference | ChannelRole::Feedback => PlotSlot::Upper,
                ChannelRole::Effort | ChannelRole::Other => PlotSlot::Lower,
            },
            right_axis: false,
        })
        .collect();
}

/// One row per channel.
pub fn ui(ui: &mut egui::Ui, styles: &mut [ChannelStyle], info: &DeviceInfo) {
    egui::Grid::new("channel styles")
        .num_columns(6)
        .striped(true)
        .show(ui, |ui| {
            for (style, channel) in styles.iter_mut().zip(&info.channels) {
                let label = channel.label();
                ui.checkbox(&mut style.visible, label.as_str())
                    .on_hover_text("show or hide this channel");
                ui.color_edit_button_srgba(&mut style.color)
                    .accessible_name(format!("{} colour", channel.name));
                ui.add(
                    egui::DragValue::new(&mut style.scale)
                        .speed(0.01)
                        .prefix("×"),
                )
                .accessible_name(format!("{} scale", channel.name))
                .on_hover_text("drawn as value × scale + offset");
                ui.add(
                    egui::DragValue::new(&mut style.offset)
                        .speed(0.01)
                        .prefix("+"),
                )
                .accessible_name(format!("{} offset", channel.name))
                .on_hover_text("drawn as value × scale + offset, in the channel's unit");
                let mut lower = style.slot == PlotSlot::Lower;
                if ui
                    .checkbox(&mut lower, "lower")
                    .accessible_name(format!("{} in lower plot", channel.name))
                    .on_hover_text("draw in the lower plot")
                    .changed()
                {
                    style.slot = if lower {
                        PlotSlot::Lower
                    } else {
                        PlotSlot::Upper
                    };
                }
                ui.checkbox(&mut style.right_axis, "right")
                    .accessible_name(format!("{} on right axis", channel.name))
                    .on_hover_text("draw against a second y-axis on the right of its plot");
                ui.end_row();
            }
        });
}
