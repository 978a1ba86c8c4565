//! The step test controls: amplitude, direction, hold, repeats and the
//! pre-step window of a test on the device's setpoint parameter; Run, and
//! Abort (also Esc, with the emergency stop), and where the test stands.

use crate::device::session::DeviceSession;
use crate::tuning::{MAX_HOLD_S, MAX_REPEATS, StepDirection, StepPlan, StepTestState};

/// Red of the abort button, as the emergency stop's.
const ABORT_RED: egui::Color32 = egui::Color32::from_rgb(200, 30, 30);

#[derive(Default)]
pub struct StepTestPanel {
    pub plan: StepPlan,
    /// Why the last Run was refused.
    refusal: Option<String>,
}

impl StepTestPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let setpoint_unit = session
            .as_ref()
            .and_then(|s| s.params.iter().find(|p| p.info.flags.setpoint()))
            .map(|p| p.info.unit.clone())
            .unwrap_or_default();
        let running = session.as_ref().is_some_and(|s| s.step_test_running());
        ui.add_enabled_ui(!running, |ui| self.plan_ui(ui, &setpoint_unit));
        ui.add_space(6.0);

        let Some(session) = session else {
            ui.weak("Connect a device to run a step test.");
            return;
        };
        if running {
            let abort = egui::Button::new(
                egui::RichText::new("Abort step test")
                    .strong()
                    .color(egui::Color32::WHITE),
            )
            .fill(ABORT_RED);
            if ui
                .add(abort)
                .on_hover_text("Stop now and restore the setpoint (Esc also stops the drive)")
                .clicked()
            {
                session.abort_step_test();
            }
        } else {
            let ready = session.is_connected() && session.output_enabled();
            let run = ui
                .add_enabled(ready, egui::Button::new("Run step test"))
                .on_disabled_hover_text("Enable the drive's output first");
            if run.clicked() {
                self.refusal = session
                    .start_step_test(self.plan)
                    .err()
                    .map(|e| e.to_string());
            }
        }
        if let Some(refusal) = &self.refusal {
            ui.colored_label(ui.visuals().error_fg_color, refusal);
        }
        if let Some(test) = &session.step_test {
            let restored = format!("{} {setpoint_unit}", test.original_setpoint());
            match test.state() {
                StepTestState::Starting => ui.label("Measuring the loop at rest…"),
                StepTestState::Running { target, of } => ui.label(format!("Step {target} of {of}")),
                StepTestState::Finished => ui.label(format!("Done; setpoint back at {restored}")),
                StepTestState::Aborted => ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Aborted; setpoint restored to {restored}"),
                ),
                StepTestState::Failed(error) => ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("Failed: {error}; setpoint restored to {restored}"),
                ),
            };
        }
    }

    fn plan_ui(&mut self, ui: &mut egui::Ui, setpoint_unit: &str) {
        egui::Grid::new("step plan")
            .num_columns(2)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                let plan = &mut self.plan;
                let label = ui.label("Amplitude");
                ui.add(
                    egui::DragValue::new(&mut plan.amplitude)
                        .range(1e-6..=1e6)
                        .speed(0.01)
                        .suffix(format!(" {setpoint_unit}")),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Direction");
                egui::ComboBox::from_id_salt("step direction")
                    .selected_text(plan.direction.label())
                    .show_ui(ui, |ui| {
                        for direction in StepDirection::ALL {
                            ui.selectable_value(&mut plan.direction, direction, direction.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Hold");
                ui.add(
                    egui::DragValue::new(&mut plan.hold_s)
                        .range(0.01..=MAX_HOLD_S)
                        .speed(0.01)
                        .suffix(" s"),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Repeats");
                ui.add(egui::DragValue::new(&mut plan.repeats).range(1..=MAX_REPEATS))
                    .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Before step");
                ui.add(
                    egui::DragValue::new(&mut plan.pre_s)
                        .range(0.0..=MAX_HOLD_S)
                        .speed(0.005)
                        .suffix(" s"),
                )
                .labelled_by(label.id)
                .on_hover_text("Seconds recorded before each step");
                ui.end_row();
            });
    }
}
