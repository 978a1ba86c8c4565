//! The step-model method's choices, stacked label over control so that
//! nothing is cut off in a narrow pane: the run identified from, the
//! model, the rule, the closed-loop speed and the overshoot warning
//! threshold.

use super::{AutoTunePanel, SpeedInput};
use crate::record::{RunStore, StepRun};
use crate::tuning::{ModelKind, ModelRule};

/// `text` over the control `add` makes, which it labels.
pub(super) fn labelled(
    ui: &mut egui::Ui,
    text: &str,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    let label = ui.label(text);
    add(ui).labelled_by(label.id)
}

/// The overshoot above which a prediction is flagged.
pub(super) fn threshold_ui(ui: &mut egui::Ui, percent: &mut f64) {
    labelled(ui, "Overshoot warning above", |ui| {
        ui.add(
            egui::DragValue::new(percent)
                .range(0.0..=1000.0)
                .speed(0.5)
                .suffix(" %"),
        )
    })
    .on_hover_text("A rule whose predicted overshoot is larger is flagged");
}

impl AutoTunePanel {
    pub(super) fn choices_ui(&mut self, ui: &mut egui::Ui, runs: &RunStore, run: Option<&StepRun>) {
        let width = ui.available_width() - 8.0;
        let hover = run.map_or_else(
            || "No run with an effort channel yet".to_owned(),
            |r| format!("{} ({}, {})", r.name, r.device, r.recorded_at),
        );
        labelled(ui, "Identify from", |ui| {
            egui::ComboBox::from_id_salt("identify from")
                .width(width)
                .selected_text(run.map_or("no run", |r| r.name.as_str()))
                .show_ui(ui, |ui| {
                    for r in runs.runs().iter().filter(|r| r.trace.effort.is_some()) {
                        ui.selectable_value(&mut self.chosen_run, Some(r.id), &r.name);
                    }
                })
                .response
                .on_hover_text(hover)
        });

        let settings = &mut self.settings;
        labelled(ui, "Model", |ui| {
            egui::ComboBox::from_id_salt("model kind")
                .width(width)
                .selected_text(settings.model.label())
                .show_ui(ui, |ui| {
                    for kind in ModelKind::ALL {
                        ui.selectable_value(&mut settings.model, kind, kind.label());
                    }
                })
                .response
        });

        labelled(ui, "Rule", |ui| {
            egui::ComboBox::from_id_salt("tuning rule")
                .width(width)
                .selected_text(settings.rule.label())
                .show_ui(ui, |ui| {
                    for rule in ModelRule::ALL {
                        ui.selectable_value(&mut settings.rule, rule, rule.label());
                    }
                })
                .response
        });

        labelled(ui, "Speed given as", |ui| {
            ui.horizontal_wrapped(|ui| {
                let input = &mut settings.speed_input;
                ui.selectable_value(input, SpeedInput::TimeConstant, "time constant");
                ui.selectable_value(input, SpeedInput::Bandwidth, "bandwidth");
            })
            .response
        });

        match settings.speed_input {
            SpeedInput::TimeConstant => labelled(ui, "Closed-loop time constant", |ui| {
                ui.add(
                    egui::DragValue::new(&mut settings.time_constant_s)
                        .range(1e-4..=10.0)
                        .speed(0.001)
                        .suffix(" s"),
                )
            }),
            SpeedInput::Bandwidth => labelled(ui, "Closed-loop bandwidth", |ui| {
                ui.add(
                    egui::DragValue::new(&mut settings.bandwidth_hz)
                        .range(0.01..=1000.0)
                        .speed(0.1)
                        .suffix(" Hz"),
                )
            }),
        };
        threshold_ui(ui, &mut settings.overshoot_warning_percent);
    }
}
