//! The trigger controls: source (a channel crossing a level, or a
//! parameter write), edge, level, pre- and post-trigger time, mode, arm and
//! stop, and the list of captures with overlay and clear.

use super::Display;
use crate::capture::{ArmState, Edge, TriggerMode, TriggerSettings, TriggerSource};
use crate::device::session::DeviceSession;
use crate::protocol::DeviceInfo;

/// The settings being edited, and which captures the scope has shown.
#[derive(Default)]
pub struct TriggerPanel {
    settings: TriggerSettings,
    /// Captures made when the scope last looked.
    captures_seen: Option<u32>,
}

impl TriggerPanel {
    /// The settings being edited.
    pub fn settings(&self) -> TriggerSettings {
        self.settings
    }

    /// Replaces the settings being edited (the next arming uses them).
    pub fn set_settings(&mut self, settings: TriggerSettings) {
        self.settings = settings;
    }

    /// Whether a capture arrived since the last call.
    pub fn take_new_capture(&mut self, session: &DeviceSession) -> bool {
        let newest = session.capture.captures().last().map(|c| c.number);
        let new = newest.is_some() && newest != self.captures_seen;
        self.captures_seen = newest;
        new
    }

    /// Returns the display to switch to, if the user chose one.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut DeviceSession,
        info: &DeviceInfo,
        overlay_earlier: &mut bool,
    ) -> Option<Display> {
        let mut display = None;
        egui::Grid::new("trigger settings")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Source");
                let selected = match self.settings.source {
                    TriggerSource::Level { channel, .. } => info
                        .channels
                        .get(channel)
                        .map_or("?".into(), |c| c.name.clone()),
                    TriggerSource::ParameterWrite => "parameter write".to_owned(),
                };
                egui::ComboBox::from_id_salt("trigger source")
                    .selected_text(selected)
                    .show_ui(ui, |ui| {
                        for (index, channel) in info.channels.iter().enumerate() {
                            let (level, edge) = self.level_and_edge();
                            ui.selectable_value(
                                &mut self.settings.source,
                                TriggerSource::Level {
                                    channel: index,
                                    level,
                                    edge,
                                },
                                channel.name.as_str(),
                            );
                        }
                        ui.selectable_value(
                            &mut self.settings.source,
                            TriggerSource::ParameterWrite,
                            "parameter write",
                        );
                    })
                    .response
                    .accessible_name("Trigger source");
                ui.end_row();
                if let TriggerSource::Level {
                    channel,
                    level,
                    edge,
                } = &mut self.settings.source
                {
                    ui.label("Edge");
                    ui.horizontal(|ui| {
                        for choice in Edge::ALL {
                            ui.selectable_value(edge, choice, choice.name());
                        }
                    });
                    ui.end_row();
                    let unit = info.channels.get(*channel).map_or("", |c| c.unit.as_str());
                    let label = ui.label("Level");
                    ui.add(
                        egui::DragValue::new(level)
                            .speed(0.01)
                            .suffix(format!(" {unit}")),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                }
                let label = ui.label("Pre-trigger");
                ui.add(
                    egui::DragValue::new(&mut self.settings.pre_s)
                        .range(0.0..=60.0)
                        .speed(0.005)
                        .suffix(" s"),
                )
                .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Post-trigger");
                ui.add(
                    egui::DragValue::new(&mut self.settings.post_s)
                        .range(0.001..=60.0)
                        .speed(0.005)
                        .suffix(" s"),
                )
                .labelled_by(label.id);
                ui.end_row();
                ui.label("Mode");
                ui.horizontal(|ui| {
                    for mode in TriggerMode::ALL {
                        ui.selectable_value(&mut self.settings.mode, mode, mode.name());
                    }
                });
                ui.end_row();
            });
        ui.horizontal(|ui| {
            let state = session.capture.state();
            if state == ArmState::Idle {
                if ui.button("Arm trigger").clicked() {
                    session.capture.arm(self.settings);
                }
            } else if ui.button("Stop trigger").clicked() {
                session.capture.disarm();
            }
            ui.label(match state {
                ArmState::Idle => "stopped",
                ArmState::Armed { .. } => "armed: waiting for the trigger",
                ArmState::Triggered { .. } => "triggered: capturing",
            });
        });
        let captures = session.capture.captures();
        if let Some(newest) = captures.last() {
            ui.label(format!(
                "{} capture{}; newest #{} at {:.4} s{}",
                captures.len(),
                if captures.len() == 1 { "" } else { "s" },
                newest.number,
                newest.trigger_time,
                if newest.forced {
                    " (auto, no trigger)"
                } else {
                    ""
                }
            ));
            ui.horizontal(|ui| {
                if ui.button("Show captures").clicked() {
                    display = Some(Display::Captures);
                }
                ui.checkbox(overlay_earlier, "Overlay earlier");
                if ui.button("Clear captures").clicked() {
                    session.capture.clear();
                    display = Some(Display::Live);
                }
            });
        }
        display
    }

    fn level_and_edge(&self) -> (f32, Edge) {
        match self.settings.source {
            TriggerSource::Level { level, edge, .. } => (level, edge),
            TriggerSource::ParameterWrite => (0.0, Edge::Rising),
        }
    }
}
