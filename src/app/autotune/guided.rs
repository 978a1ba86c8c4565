//! The guided method of the Auto-tune tab: ODrive's manual tuning
//! procedure ([`crate::tuning::guided`]) run test by test on a device with
//! a position–velocity cascade. The panel writes the gains each test runs
//! at through the gains panel's guarded path (a large change waits for
//! the user's confirmation), runs the test as a step test on the engine,
//! and hands the procedure the step's overshoot and settling time and the
//! hold's velocity spectrum, read from the session's history. It shows the
//! stage, the gains found, in force and next, and every test's result; at
//! the end the user keeps the gains or restores the ones found. The
//! procedure advances only while the tab is shown; a step measured while
//! it is hidden is still taken.

use crate::analysis::Settling;
use crate::app::gains::GainsPanel;
use crate::device::session::{DeviceSession, ProcedureKind};
use crate::protocol::loops::CascadeLoops;
use crate::tuning::guided::{
    DeviceGains, GuidedOptions, GuidedTuning, Stage, TestResult, VibrationCriterion,
};
use crate::tuning::{StepDirection, StepPlan, StepResponse};

use super::AutoTunePanel;
use super::choices::labelled;

/// The guided method's state: the procedure, and where its driving stands.
pub struct GuidedPanel {
    tuning: Option<GuidedTuning>,
    /// Gains asked for and whether their writes were sent; cleared once
    /// the device holds them.
    writing: Option<(DeviceGains, bool)>,
    /// A step test this panel started has not been measured yet.
    testing: bool,
    /// Tests run one after the other without a click each.
    automatic: bool,
    /// The gains found were written back (abort, or restore at Done).
    restored: bool,
    /// The user kept the final gains.
    kept: bool,
    /// Size of each test's position step, in the feedback's unit.
    amplitude: f64,
    /// Seconds each step is held; the later half is the vibration hold.
    hold_s: f64,
    /// The last problem, in one line.
    note: Option<String>,
}

impl Default for GuidedPanel {
    fn default() -> Self {
        Self {
            tuning: None,
            writing: None,
            testing: false,
            automatic: false,
            restored: false,
            kept: false,
            amplitude: 0.05,
            hold_s: 0.6,
            note: None,
        }
    }
}

impl AutoTunePanel {
    /// The guided procedure, once started.
    pub fn guided_tuning(&self) -> Option<&GuidedTuning> {
        self.guided.tuning.as_ref()
    }
}

/// The gains in force on the device, as it last reported them.
fn in_force(session: &DeviceSession, loops: &CascadeLoops) -> DeviceGains {
    let value = |index: u8| {
        session
            .params
            .get(usize::from(index))
            .map_or(f64::NAN, |p| f64::from(p.info.value))
    };
    DeviceGains {
        position_p: value(loops.position_p),
        velocity_p: value(loops.velocity_p),
        velocity_i: value(loops.velocity_i),
    }
}

/// The writes that put `gains` in force.
fn writes(loops: &CascadeLoops, gains: &DeviceGains) -> Vec<(u8, f32)> {
    vec![
        (loops.position_p, gains.position_p as f32),
        (loops.velocity_p, gains.velocity_p as f32),
        (loops.velocity_i, gains.velocity_i as f32),
    ]
}

/// Whether the device holds `want`, as closely as it reads back (ODrive
/// prints six decimals).
fn holds(session: &DeviceSession, loops: &CascadeLoops, want: &DeviceGains) -> bool {
    let now = in_force(session, loops);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 + 1e-4 * b.abs();
    close(now.position_p, want.position_p)
        && close(now.velocity_p, want.velocity_p)
        && close(now.velocity_i, want.velocity_i)
}

/// The device's cascade, when it has one the procedure can tune.
fn cascade(session: &DeviceSession) -> Option<CascadeLoops> {
    session.info.as_ref().and_then(CascadeLoops::find)
}

impl GuidedPanel {
    /// Whether the device's cascade can be tuned here.
    pub fn available(session: &DeviceSession) -> bool {
        cascade(session).is_some_and(|l| l.velocity_channel.is_some())
    }

    fn running(&self) -> bool {
        self.tuning.as_ref().is_some_and(|t| t.stage().is_running())
    }

    /// The next test can start: the gains are in force and nothing runs.
    fn ready(&self, session: &DeviceSession) -> bool {
        self.running()
            && self.writing.is_none()
            && !self.testing
            && session.is_connected()
            && session.output_enabled()
            && !session.procedure_running()
            && !session.write_in_flight()
    }

    fn start(&mut self, session: &DeviceSession, loops: &CascadeLoops) {
        let tuning = GuidedTuning::new(in_force(session, loops), GuidedOptions::default());
        self.writing = tuning.next_gains().map(|g| (g, false));
        self.tuning = Some(tuning);
        self.testing = false;
        self.restored = false;
        self.kept = false;
        self.note = None;
    }

    fn run_test(&mut self, session: &mut DeviceSession) {
        let plan = StepPlan::once(self.amplitude, StepDirection::Up, 0.1, self.hold_s);
        match session.start_step_test(plan) {
            Ok(()) => self.testing = true,
            Err(error) => {
                self.automatic = false;
                self.note = Some(error.to_string());
            }
        }
    }

    /// Stops the procedure (and its test) and writes the gains found back.
    fn restore(&mut self, session: &mut DeviceSession) {
        if self.testing {
            session.abort_procedure();
            self.testing = false;
        }
        let Some(tuning) = &mut self.tuning else {
            return;
        };
        let found = if tuning.stage().is_running() {
            tuning.abort()
        } else {
            tuning.found()
        };
        self.writing = Some((found, false));
        self.automatic = false;
        self.restored = true;
    }

    /// Sends the pending writes once, and clears them when the device
    /// holds them; starts the next test when running automatically.
    fn drive(&mut self, session: &mut DeviceSession, gains: &mut GainsPanel, loops: &CascadeLoops) {
        if let Some((want, sent)) = &mut self.writing {
            if holds(session, loops, want) && !session.write_in_flight() {
                self.writing = None;
            } else if !*sent && !session.write_in_flight() {
                gains.request_writes(writes(loops, want), session);
                *sent = true;
            }
        }
        if self.testing
            && let Some(run) = session.procedures.last(ProcedureKind::StepTest)
            && let Some(ending) = &run.ended
            && (ending.aborted || ending.failure.is_some())
        {
            // Ended without a step to measure (its measured steps are taken
            // before the panes draw, so a finished test is already in).
            self.testing = false;
            self.automatic = false;
            self.note = Some(ending.failure.clone().unwrap_or_else(|| {
                "The test was stopped: press Next test to run it again.".to_owned()
            }));
        }
        if self.automatic && self.ready(session) {
            self.run_test(session);
        }
    }

    pub(super) fn step_measured(&mut self, response: &StepResponse, session: &DeviceSession) {
        if !std::mem::take(&mut self.testing) {
            return;
        }
        let (Some(loops), Some(criterion)) = (
            cascade(session),
            self.tuning.as_ref().map(|t| t.options().vibration),
        ) else {
            return;
        };
        let result = self.result_of(&criterion, response, session, &loops);
        let Some(tuning) = &mut self.tuning else {
            return;
        };
        match result {
            Ok(result) => tuning.record(result),
            Err(why) => {
                self.automatic = false;
                self.note = Some(why);
                return;
            }
        }
        if let Stage::Failed(_) = tuning.stage() {
            self.automatic = false;
        } else if tuning.stage().is_running() {
            self.writing = tuning.next_gains().map(|g| (g, false));
        }
    }

    /// The test's result: the step's overshoot and settling time, and the
    /// spectrum of the velocity over the later half of the hold.
    fn result_of(
        &self,
        criterion: &VibrationCriterion,
        response: &StepResponse,
        session: &DeviceSession,
        loops: &CascadeLoops,
    ) -> Result<TestResult, String> {
        let metrics = response
            .metrics
            .as_ref()
            .map_err(|e| format!("the test's step has no metrics: {e}"))?;
        let channel = loops
            .velocity_channel
            .ok_or("the device streams no velocity")?;
        let history = session.history.as_ref().ok_or("no samples were kept")?;
        let start = response.step_time_s + 0.5 * self.hold_s;
        let end = response.step_time_s + self.hold_s;
        let indices = history.index_range(start, end);
        let count = indices.end.saturating_sub(indices.start);
        let velocity: Vec<f64> = indices
            .clone()
            .map(|k| f64::from(history.value(channel, k)))
            .collect();
        let span = if count > 1 {
            history.time_of(indices.end - 1) - history.time_of(indices.start)
        } else {
            0.0
        };
        let sample_hz = (count.saturating_sub(1)) as f64 / span;
        let spectrum = criterion
            .spectrum(&velocity, sample_hz)
            .map_err(|e| e.to_string())?;
        Ok(TestResult {
            overshoot_percent: metrics.overshoot_percent,
            settling_s: match metrics.settling {
                Settling::Settled(s) => Some(s),
                Settling::NotSettled => None,
            },
            spectrum,
        })
    }

    /// The method: what it does, the controls, the gains and the tests.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &mut DeviceSession, gains: &mut GainsPanel) {
        let Some(loops) = cascade(session).filter(|l| l.velocity_channel.is_some()) else {
            ui.weak(
                "The guided method tunes a position loop around a velocity loop (ODrive's \
                 pos_gain, vel_gain, vel_integrator_gain) whose velocity is streamed; this \
                 device has none.",
            );
            return;
        };
        self.drive(session, gains, &loops);
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.label(
                "ODrive's manual procedure (docs/control.rst): integrator 0, raise vel_gain \
                 ×1.3 until the held motor vibrates, halve it, raise pos_gain ×1.3 until the \
                 step overshoots more than 2 %, keep the last without, then \
                 vel_integrator_gain = 0.5 · (1 / settling time) · vel_gain.",
            );
            self.controls_ui(ui, session, &loops);
            if let Some(note) = &self.note {
                ui.colored_label(ui.visuals().error_fg_color, note);
            }
            let Some(tuning) = &self.tuning else {
                return;
            };
            ui.separator();
            stage_ui(
                ui,
                tuning,
                self.writing.is_some(),
                self.testing,
                self.restored,
            );
            gains_table_ui(ui, tuning, &in_force(session, &loops));
            ui.separator();
            tests_table_ui(ui, tuning);
        });
    }

    fn controls_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut DeviceSession,
        loops: &CascadeLoops,
    ) {
        let running = self.running();
        let unit = super::cascade_view::unit(session, crate::protocol::ChannelRole::Feedback);
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!running && !self.testing, |ui| {
                labelled(ui, "Step size", |ui| {
                    ui.add(
                        egui::DragValue::new(&mut self.amplitude)
                            .range(1e-4..=10.0)
                            .speed(0.005)
                            .suffix(format!(" {unit}")),
                    )
                });
                labelled(ui, "Hold", |ui| {
                    ui.add(
                        egui::DragValue::new(&mut self.hold_s)
                            .range(0.2..=5.0)
                            .speed(0.05)
                            .suffix(" s"),
                    )
                });
            });
        });
        ui.horizontal_wrapped(|ui| {
            let can_start = !running
                && !self.testing
                && session.is_connected()
                && session.output_enabled()
                && !session.procedure_running()
                && !session.write_in_flight();
            if ui
                .add_enabled(can_start, egui::Button::new("Start guided tuning"))
                .on_disabled_hover_text("Enable the drive's output first")
                .clicked()
            {
                self.start(session, loops);
            }
            if ui
                .add_enabled(self.ready(session), egui::Button::new("Next test"))
                .clicked()
            {
                self.run_test(session);
            }
            ui.add_enabled(
                running,
                egui::Checkbox::new(&mut self.automatic, "Run automatically"),
            );
            if ui
                .add_enabled(running, egui::Button::new("Abort & restore"))
                .on_hover_text("Stop, and write back every gain as found at Start")
                .clicked()
            {
                self.restore(session);
            }
        });
        let finished = self
            .tuning
            .as_ref()
            .is_some_and(|t| matches!(t.stage(), Stage::Done | Stage::Failed(_)));
        if finished && !self.restored && !self.kept {
            ui.horizontal_wrapped(|ui| {
                let done = self
                    .tuning
                    .as_ref()
                    .is_some_and(|t| *t.stage() == Stage::Done);
                if ui
                    .add_enabled(done, egui::Button::new("Keep tuned gains"))
                    .clicked()
                {
                    self.kept = true;
                }
                if ui
                    .button("Restore gains found")
                    .on_hover_text("Write back every gain as found at Start")
                    .clicked()
                {
                    self.restore(session);
                }
            });
        }
    }
}

/// The stage, the test count and what the panel waits for.
fn stage_ui(
    ui: &mut egui::Ui,
    tuning: &GuidedTuning,
    writing: bool,
    testing: bool,
    restored: bool,
) {
    ui.strong(format!("Stage: {}", tuning.stage().label()));
    ui.label(format!("Tests run: {}", tuning.tests().len()));
    if let Stage::Failed(why) = tuning.stage() {
        ui.colored_label(ui.visuals().error_fg_color, why);
    }
    if let Some(v) = tuning.vibrating_velocity_p() {
        ui.label(format!("Vibration first seen at vel_gain {v:.4}"));
    }
    if let Some(bandwidth) = tuning.bandwidth() {
        ui.label(format!(
            "Bandwidth from the settling time: {bandwidth:.2} /s"
        ));
    }
    let waiting = match (writing, testing, restored) {
        (true, _, true) => Some("Writing back the gains found…"),
        (true, _, false) => Some("Writing the next gains (confirm a large change)…"),
        (false, true, _) => Some("Testing…"),
        (false, false, true) => Some("The gains found are back in force."),
        _ => None,
    };
    if let Some(waiting) = waiting {
        ui.label(waiting);
    }
}

/// One gain of a set.
type GainOf = fn(&DeviceGains) -> f64;

/// Found, in force and next for each gain.
fn gains_table_ui(ui: &mut egui::Ui, tuning: &GuidedTuning, now: &DeviceGains) {
    let found = tuning.found();
    let next = tuning.next_gains();
    let next_label = if *tuning.stage() == Stage::Done {
        "Final"
    } else {
        "Next"
    };
    egui::Grid::new("guided gains")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            ui.strong("Gain");
            ui.strong("Found");
            ui.strong("In force");
            ui.strong(next_label);
            ui.end_row();
            let rows: [(&str, GainOf); 3] = [
                ("pos_gain", |g| g.position_p),
                ("vel_gain", |g| g.velocity_p),
                ("vel_integrator_gain", |g| g.velocity_i),
            ];
            for (name, of) in rows {
                ui.label(name);
                ui.label(format!("{:.4}", of(&found)));
                ui.label(format!("{:.4}", of(now)));
                ui.label(next.map_or("–".to_owned(), |g| format!("{:.4}", of(&g))));
                ui.end_row();
            }
        });
}

/// One row per test: its gains and what it measured.
fn tests_table_ui(ui: &mut egui::Ui, tuning: &GuidedTuning) {
    if tuning.tests().is_empty() {
        ui.weak("No test run yet.");
        return;
    }
    egui::Grid::new("guided tests")
        .num_columns(8)
        .striped(true)
        .show(ui, |ui| {
            for heading in [
                "#",
                "pos_gain",
                "vel_gain",
                "vel_i",
                "Overshoot",
                "Settling",
                "Vibration (× baseline)",
                "Peak",
            ] {
                ui.strong(heading);
            }
            ui.end_row();
            for test in tuning.tests() {
                let r = &test.result;
                ui.label(test.number.to_string());
                ui.label(format!("{:.4}", test.gains.position_p));
                ui.label(format!("{:.4}", test.gains.velocity_p));
                ui.label(format!("{:.4}", test.gains.velocity_i));
                let overshoot = format!("{:.1} %", r.overshoot_percent);
                if test.overshot {
                    ui.colored_label(ui.visuals().warn_fg_color, overshoot);
                } else {
                    ui.label(overshoot);
                }
                ui.label(r.settling_s.map_or("not settled".to_owned(), |s| {
                    format!("{:.0} ms", s * 1000.0)
                }));
                let ratio = format!("{:.1}", test.vibration.ratio);
                if test.vibration.vibrating {
                    ui.colored_label(ui.visuals().warn_fg_color, format!("{ratio} vibrating"));
                } else {
                    ui.label(ratio);
                }
                ui.label(format!("{:.0} Hz", test.vibration.peak_hz));
                ui.end_row();
            }
        });
}
