//! The step test controls: amplitude, direction, hold, repeats and the
//! pre-step window of a test on the device's setpoint parameter; Run, and
//! Abort (also Esc, with the emergency stop), and where the test stands.
//! With several devices connected, *Run on every device* starts the same
//! test on each one whose output is on, in one frame (a gantry's axes
//! stepped together); each device's steps are kept as its runs.

use super::procedure_controls::ProcedureControls;
use crate::device::Devices;
use crate::device::session::{DeviceSession, ProcedureKind};
use crate::tuning::{MAX_HOLD_S, MAX_REPEATS, StepDirection, StepPlan};

#[derive(Default)]
pub struct StepTestPanel {
    pub plan: StepPlan,
    controls: ProcedureControls,
    /// Devices connected, as of the last frame.
    devices: usize,
    /// *Run on every device* was clicked: done after the panes.
    run_on_every_device: bool,
    /// What the last run on every device came to.
    every_device: Option<Result<String, String>>,
}

impl StepTestPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let setpoint_unit = session
            .as_ref()
            .and_then(|s| s.params.iter().find(|p| p.info.flags.setpoint()))
            .map(|p| p.info.unit.clone())
            .unwrap_or_default();
        let running = session.as_ref().is_some_and(|s| s.procedure_running());
        ui.add_enabled_ui(!running, |ui| self.plan_ui(ui, &setpoint_unit));
        ui.add_space(6.0);

        let Some(session) = session else {
            ui.weak("Connect a device to run a step test.");
            return;
        };
        let plan = self.plan;
        self.controls.ui(
            ui,
            session,
            ProcedureKind::StepTest,
            &setpoint_unit,
            |session| session.start_step_test(plan),
        );
        if self.devices > 1 {
            let clicked = ui
                .add_enabled(!running, egui::Button::new("Run on every device"))
                .on_hover_text(
                    "The same step test on every device whose output is on, started together",
                )
                .clicked();
            self.run_on_every_device |= clicked;
            super::outcome_ui(ui, &self.every_device);
        }
    }

    /// After the panes, with every device: starts the test on each one
    /// when asked, all in this frame; says which started and why any did
    /// not (its output off, a procedure already running on it).
    pub fn every_device(&mut self, devices: &mut Devices) {
        self.devices = devices.len();
        if !std::mem::take(&mut self.run_on_every_device) {
            return;
        }
        let labels: Vec<String> = devices.iter().map(|d| d.label().to_owned()).collect();
        let mut started = Vec::new();
        let mut refused = Vec::new();
        for (session, label) in devices.sessions_mut().zip(labels) {
            if session.procedure_running() {
                refused.push(format!("{label}: a procedure is running"));
                continue;
            }
            match session.start_step_test(self.plan) {
                Ok(()) => started.push(label),
                Err(why) => refused.push(format!("{label}: {why}")),
            }
        }
        self.every_device = Some(match (started.is_empty(), refused.is_empty()) {
            (false, true) => Ok(format!("Started on {}", started.join(", "))),
            (true, _) => Err(format!("Started on none: {}", refused.join("; "))),
            (false, false) => Err(format!(
                "Started on {}; not on {}",
                started.join(", "),
                refused.join("; ")
            )),
        });
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
