//! The step test controls: amplitude, direction, hold, repeats and the
//! pre-step window of a test on the device's setpoint parameter; Run, and
//! Abort (also Esc, with the emergency stop), and where the test stands.
//! With several devices connected, *Run on every device* starts the same
//! test on each one whose output is on, in one frame (a gantry's axes
//! stepped together), every first step written at one host instant
//! ([`SHARED_START_MARGIN_S`] after the rest window): a device whose loop
//! is not at rest then writes nothing. Each device's steps are kept as its
//! runs, and once every device's first step is measured the tab says how
//! far apart they were on the host clock ([`crate::link::HostAlignment`]).

use std::time::{Duration, Instant};

use super::procedure_controls::ProcedureControls;
use crate::device::session::{DeviceSession, ProcedureKind};
use crate::device::{DeviceId, Devices};
use crate::tuning::{MAX_HOLD_S, MAX_REPEATS, StepDirection, StepPlan, StepResponse};

/// How long after the rest window every device's first step is written:
/// time for each link to take the test and a polled device's first
/// replies.
pub const SHARED_START_MARGIN_S: f64 = 0.5;

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
    /// The devices it started on, each with its first step's host time
    /// and its clock's spread once measured.
    together: Vec<(DeviceId, Option<(f64, f64)>)>,
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
                    "The same step test on every device whose output is on, every first step \
                     written at one instant (a device not at rest then writes nothing)",
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
        self.together.clear();
        let start_at = Instant::now()
            + Duration::from_secs_f64(self.plan.rest_window_s() + SHARED_START_MARGIN_S);
        for ((id, session), label) in devices.sessions_with_ids_mut().zip(labels) {
            if session.procedure_running() {
                refused.push(format!("{label}: a procedure is running"));
                continue;
            }
            match session.start_step_test_at(self.plan, Some(start_at)) {
                Ok(()) => {
                    started.push(label);
                    self.together.push((id, None));
                }
                Err(why) => refused.push(format!("{label}: {why}")),
            }
        }
        if started.len() < 2 {
            self.together.clear();
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

    /// A step `id` measured: the first of a run on every device places it
    /// on the host clock; once every device's is, the tab says how far
    /// apart they were.
    pub fn step_measured(
        &mut self,
        id: DeviceId,
        response: &StepResponse,
        session: &DeviceSession,
    ) {
        if response.number != 1 {
            return;
        }
        let Some((_, at)) = self
            .together
            .iter_mut()
            .find(|(d, at)| *d == id && at.is_none())
        else {
            return;
        };
        let Some(clock) = session.host_alignment() else {
            return;
        };
        *at = Some((response.step_time_s + clock.offset_s, clock.spread_s));
        let placed: Vec<(f64, f64)> = self.together.iter().filter_map(|(_, at)| *at).collect();
        if placed.len() < self.together.len() {
            return;
        }
        let first = placed.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let last = placed.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let spread = placed.iter().map(|p| p.1).fold(0.0, f64::max);
        self.together.clear();
        if let Some(Ok(news)) = &mut self.every_device {
            news.push_str(&format!(
                "; first steps {:.1} ms apart on the host clock (each device's clock mapped within {:.1} ms)",
                (last - first) * 1e3,
                spread * 1e3
            ));
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
