//! The Cascade method of the Auto-tune tab: a position P around a velocity
//! PI ([`crate::tuning::cascade`]), tuned inner loop first with the
//! stages of `motiontune autotune --method cascade` (docs/TUNING.md), one
//! click each. *Identify* runs a step up and back with the gains in force,
//! halved (twice at most) while it comes near a limit, then refused in one
//! line; the motor fitted to both steps gives the velocity PI for the
//! bandwidth asked for and the position P a factor below it, each stage
//! predicted with its margins beside the gains in force. Nothing is
//! written before *Write velocity gains*, then *Write position gain*, each
//! through the gains panel's guard; each stage is verified by a measured
//! step against its prediction, and the velocity stage's step refits the
//! motor for the position gain, as on the command line. *Put back the
//! gains found* writes the three gains as identification found them.
//! Every step is a step test on the engine; this tab only starts the next
//! once the last has ended. The stages are designed in `cascade_stages.rs`;
//! what the tab shows is drawn by `cascade_view.rs`.

use super::AutoTunePanel;
use super::cascade_view::{design_ui, plot_ui, stage_rows_ui};
use crate::analysis::{CascadeGains, CascadeTarget};
use crate::app::gains::GainsPanel;
use crate::device::session::{DeviceSession, ProcedureKind};
use crate::tuning::cascade::{
    CascadeError, CascadeSetup, FACTORS, MotorFit, StagePrediction, fit_motor, predict_stage,
    step_size,
};
use crate::tuning::{ModelRule, StepDirection, StepPlan, StepResponse};

/// Times the identification step is halved before the run is refused.
const MAX_HALVINGS: u32 = 2;

/// The Cascade method's steps, fit and stages.
#[derive(Default)]
pub(super) struct CascadeTab {
    /// The identification step asked for; `None` sizes it from the
    /// velocity limit.
    pub(super) amplitude: Option<f64>,
    /// The position stage's verification step; `None` is the
    /// identification step's size.
    pub(super) verify_amplitude: Option<f64>,
    /// The test this tab started and waits for.
    awaiting: Option<Test>,
    /// The steps the awaited test measured so far.
    measured: Vec<StepResponse>,
    /// What identification found, and the stages designed from it.
    pub(super) tuned: Option<Tuned>,
    /// Why the last action did nothing, in one line.
    refusal: Option<String>,
    /// What the tab did on its own (a halved step), in one line.
    note: Option<String>,
    /// The position's unit, for those lines.
    unit: String,
}

/// A step test the tab started.
enum Test {
    /// An identification step up and back with the gains in force.
    Identify {
        setup: Box<CascadeSetup>,
        amplitude: f64,
        halvings: u32,
    },
    /// A step that measures how much effort the drive applies.
    Ceiling,
    /// A stage's verification, up and back.
    Verify(StageKind),
}

/// The two stages, inner first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StageKind {
    Velocity,
    Position,
}

/// What identification found.
pub(super) struct Tuned {
    /// The cascade and its limits as identification found them.
    pub(super) setup: CascadeSetup,
    /// The identification steps, up and back.
    pub(super) identification: Vec<StepResponse>,
    /// Their size, in the feedback's unit.
    pub(super) amplitude: f64,
    /// Times it was halved.
    pub(super) halvings: u32,
    /// The motor fitted to them.
    pub(super) fit: MotorFit,
    /// The effort the drive applies, when a step measured it.
    pub(super) ceiling: Option<f64>,
    /// Seconds before each step and held after it.
    pub(super) times: (f64, f64),
    /// The stages for the choices they were designed for.
    pub(super) designed: Option<(DesignKey, Result<Designed, String>)>,
}

/// The choices a design depends on: bandwidth, factor, rule, verification
/// size (as bits, to compare exactly).
pub(super) type DesignKey = (u64, Option<u64>, bool, u64);

/// The stages designed for the choices.
pub(super) struct Designed {
    /// The bandwidths and factor designed for.
    pub(super) target: CascadeTarget,
    /// The factor was chosen by prediction.
    pub(super) factor_chosen: bool,
    /// The gains in force predicted on the model: how well the model and
    /// the loops as modelled agree with the identification step.
    pub(super) check: Result<StagePrediction, String>,
    /// Velocity, then position.
    pub(super) stages: [Stage; 2],
    /// The motor refitted on the velocity stage's step, when it fitted
    /// better and the position gain was designed again on it.
    pub(super) refit: Option<MotorFit>,
}

/// One stage: the gains it writes, its prediction, its verification.
pub(super) struct Stage {
    pub(super) kind: StageKind,
    /// All three gains once the stage is written.
    pub(super) gains: CascadeGains,
    /// The verification step's size.
    pub(super) amplitude: f64,
    pub(super) predicted: Result<StagePrediction, String>,
    /// The user asked for the writes (the design is kept from then on).
    pub(super) write_asked: bool,
    /// The verification steps, up and back.
    pub(super) measured: Vec<StepResponse>,
}

impl Stage {
    pub(super) fn label(&self) -> &'static str {
        match self.kind {
            StageKind::Velocity => "Velocity stage",
            StageKind::Position => "Position stage",
        }
    }

    /// The device writes of this stage.
    fn writes(&self, setup: &CascadeSetup) -> Vec<(u8, f32)> {
        match self.kind {
            StageKind::Velocity => setup.velocity_writes(&self.gains),
            StageKind::Position => setup.position_writes(&self.gains),
        }
    }
}

impl AutoTunePanel {
    /// The Cascade method: choices, identification, the stages, their
    /// writes and verifications, and the plot.
    pub(super) fn cascade_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut DeviceSession,
        gains: &mut GainsPanel,
        step_plan: StepPlan,
    ) {
        let setup = setup_of(session);
        let times = (step_plan.pre_s, step_plan.hold_s);
        let key = self.design_key();
        let target = self.cascade_target();
        let tab = &mut self.cascade;
        tab.follow(session, times, key, target);
        egui::Panel::left("cascade controls")
            .resizable(false)
            .exact_size(super::controls_width(ui, 420.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    if let Err(error) = &setup {
                        ui.colored_label(ui.visuals().error_fg_color, error);
                        return;
                    }
                    let unit =
                        super::cascade_view::unit(session, crate::protocol::ChannelRole::Feedback);
                    self.cascade_choices_ui(ui, &unit);
                    let tab = &mut self.cascade;
                    tab.identify_ui(ui, session, setup.as_ref().ok(), times);
                    if let Some(refusal) = &tab.refusal {
                        ui.colored_label(ui.visuals().error_fg_color, refusal);
                    }
                    let Some(tuned) = &mut tab.tuned else {
                        return;
                    };
                    tuned.design(key, target);
                    design_ui(ui, tuned, session);
                    if let Some((_, Ok(designed))) = &mut tuned.designed {
                        let action = stage_rows_ui(ui, designed, &tuned.setup, session);
                        if let Some(action) = action {
                            tab.act(action, session, gains, times);
                        }
                    }
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            plot_ui(ui, self.cascade.tuned.as_ref(), session);
        });
    }

    /// The target the stages are designed for.
    fn cascade_target(&self) -> CascadeTarget {
        CascadeTarget {
            velocity_hz: self.settings.cascade_bandwidth_hz,
            factor: self.settings.cascade_factor.unwrap_or(FACTORS[0]),
            lambda: self.settings.rule == ModelRule::Lambda,
        }
    }

    fn design_key(&self) -> DesignKey {
        let verify = self
            .cascade
            .verify_amplitude
            .or(self.cascade.tuned.as_ref().map(|t| t.amplitude))
            .unwrap_or(0.0);
        (
            self.settings.cascade_bandwidth_hz.to_bits(),
            self.settings.cascade_factor.map(f64::to_bits),
            self.settings.rule == ModelRule::Lambda,
            verify.to_bits(),
        )
    }
}

/// The device's cascade as it is now, with the values in force.
fn setup_of(session: &DeviceSession) -> Result<CascadeSetup, String> {
    let mut info = session
        .info
        .clone()
        .ok_or("the device has not described itself yet")?;
    info.params = super::params_of(session);
    CascadeSetup::of(&info).map_err(|e| match e {
        CascadeError::NoCascade => "The device declares no position–velocity cascade \
             (docs/PROTOCOL.md 4.7): tune its single loop with the Step model or Relay method."
            .to_owned(),
        other => other.to_string(),
    })
}

/// What a click in the stages asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    /// Write a stage's gains.
    Write(StageKind),
    /// Run a stage's verification step.
    Verify(StageKind),
    /// Write the three gains identification found.
    PutBack,
}

impl CascadeTab {
    /// A step the engine measured, while a test of this tab runs.
    pub(super) fn on_measured_step(&mut self, step: &StepResponse) {
        if self.awaiting.is_some() {
            self.measured.push(step.clone());
        }
    }

    /// The Identify button (Abort while a test of this tab runs) and the
    /// last halving.
    fn identify_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut DeviceSession,
        setup: Option<&CascadeSetup>,
        times: (f64, f64),
    ) {
        let ready = session.is_connected() && session.output_enabled();
        ui.horizontal(|ui| {
            if self.awaiting.is_some() {
                if ui.button("Abort").clicked() {
                    session.abort_procedure();
                }
                ui.spinner();
                ui.label("step test under way");
            } else if ui
                .add_enabled(
                    ready && !session.procedure_running(),
                    egui::Button::new("Identify"),
                )
                .on_hover_text(
                    "A step up and back with the gains in force, small enough to stay off the limits",
                )
                .on_disabled_hover_text("Enable the drive's output first")
                .clicked()
                && let Some(setup) = setup
            {
                self.identify(session, setup.clone(), times);
            }
        });
        if let Some(note) = &self.note {
            ui.label(note);
        }
    }

    /// Starts identification with the gains in force.
    fn identify(&mut self, session: &mut DeviceSession, setup: CascadeSetup, times: (f64, f64)) {
        self.tuned = None;
        self.note = None;
        self.unit = super::cascade_view::unit(session, crate::protocol::ChannelRole::Feedback);
        let Some(amplitude) = self.amplitude.or(setup.identification_amplitude()) else {
            self.refusal = Some(
                "the device has no velocity limit to size the identification step by: give the step's size"
                    .to_owned(),
            );
            return;
        };
        self.identify_at(session, Box::new(setup), amplitude, 0, times);
    }

    /// Runs the identification step of `amplitude`, or halves it first
    /// when its velocity command would reach the limit.
    fn identify_at(
        &mut self,
        session: &mut DeviceSession,
        setup: Box<CascadeSetup>,
        mut amplitude: f64,
        mut halvings: u32,
        times: (f64, f64),
    ) {
        while let Some(reached) = setup.command_saturation(amplitude) {
            if !self.halve(&mut amplitude, &mut halvings, &reached.to_string()) {
                return;
            }
        }
        let test = Test::Identify {
            setup,
            amplitude,
            halvings,
        };
        self.start(session, test, amplitude, StepDirection::UpThenDown, times);
    }

    /// Halves the identification step after it `reached` a limit; false
    /// (and the refusal) once it was halved [`MAX_HALVINGS`] times.
    fn halve(&mut self, amplitude: &mut f64, halvings: &mut u32, reached: &str) -> bool {
        if *halvings == MAX_HALVINGS {
            self.refusal = Some(format!(
                "the identification step of {amplitude} {} still saturates ({reached}) after halving it twice: give a smaller step; nothing was written",
                self.unit
            ));
            return false;
        }
        self.note = Some(format!(
            "identification step of {amplitude} {}: {reached}; halved",
            self.unit
        ));
        *amplitude = step_size(*amplitude / 2.0);
        *halvings += 1;
        true
    }

    /// Starts a step test for `test`.
    fn start(
        &mut self,
        session: &mut DeviceSession,
        test: Test,
        amplitude: f64,
        direction: StepDirection,
        (pre_s, hold_s): (f64, f64),
    ) {
        let plan = StepPlan::once(amplitude, direction, pre_s, hold_s);
        self.measured.clear();
        match session.start_step_test(plan) {
            Ok(()) => {
                self.refusal = None;
                self.awaiting = Some(test);
            }
            Err(error) => self.refusal = Some(error.to_string()),
        }
    }

    /// Takes the steps of a test of this tab once it has ended.
    fn follow(
        &mut self,
        session: &mut DeviceSession,
        times: (f64, f64),
        key: DesignKey,
        target: CascadeTarget,
    ) {
        if self.awaiting.is_none() || session.procedure_running() {
            return;
        }
        let Some(ending) = session
            .procedures
            .last(ProcedureKind::StepTest)
            .and_then(|run| run.ended.clone())
        else {
            return;
        };
        let Some(test) = self.awaiting.take() else {
            return;
        };
        let steps = std::mem::take(&mut self.measured);
        if ending.aborted || ending.failure.is_some() || steps.is_empty() {
            let why = ending.failure.unwrap_or_else(|| {
                if ending.aborted {
                    "it was aborted".to_owned()
                } else {
                    "it measured no step".to_owned()
                }
            });
            self.refusal = Some(format!("the step test ended without its steps: {why}"));
            return;
        }
        match test {
            Test::Identify {
                setup,
                mut amplitude,
                mut halvings,
            } => {
                if let Some(reached) = steps.iter().find_map(|s| setup.saturation(s)) {
                    if self.halve(&mut amplitude, &mut halvings, &reached.to_string()) {
                        self.identify_at(session, setup, amplitude, halvings, times);
                    }
                    return;
                }
                self.identified(session, *setup, steps, amplitude, halvings, times);
            }
            Test::Ceiling => {
                if let Some(tuned) = &mut self.tuned {
                    let (pre, hold) = tuned.times;
                    let applied =
                        tuned
                            .setup
                            .fit_applied_effort(&tuned.fit.model, &steps[0], pre, hold);
                    tuned.setup.limits.applied_effort = applied;
                    tuned.ceiling = Some(applied);
                    tuned.designed = None;
                }
            }
            Test::Verify(kind) => {
                if let Some(tuned) = &mut self.tuned {
                    tuned.verified(kind, steps, key, target);
                }
            }
        }
    }

    /// Fits the motor to the identification steps; where the drive may
    /// apply less effort than commanded, first measures how much.
    fn identified(
        &mut self,
        session: &mut DeviceSession,
        setup: CascadeSetup,
        steps: Vec<StepResponse>,
        amplitude: f64,
        halvings: u32,
        times: (f64, f64),
    ) {
        let fit = match fit_motor(&steps) {
            Ok(fit) => fit,
            Err(error) => {
                self.refusal = Some(error.to_string());
                return;
            }
        };
        let verify = self.verify_amplitude.unwrap_or(amplitude);
        let (pre, hold) = times;
        let needs_ceiling = setup.applied_effort_uncertain()
            && predict_stage(&setup, &fit.model, &setup.in_force, verify, pre, hold)
                .is_ok_and(|stage| stage.response.effort_limited > 0);
        self.tuned = Some(Tuned {
            setup,
            identification: steps,
            amplitude,
            halvings,
            fit,
            ceiling: None,
            times,
            designed: None,
        });
        if needs_ceiling {
            self.start(session, Test::Ceiling, verify, StepDirection::Up, times);
        }
    }

    /// Carries out a click in the stages.
    fn act(
        &mut self,
        action: Action,
        session: &mut DeviceSession,
        gains: &mut GainsPanel,
        times: (f64, f64),
    ) {
        let Some(tuned) = &mut self.tuned else {
            return;
        };
        let Some((_, Ok(designed))) = &mut tuned.designed else {
            return;
        };
        match action {
            Action::Write(kind) => {
                let stage = &mut designed.stages[kind as usize];
                stage.write_asked = true;
                gains.request_writes(stage.writes(&tuned.setup), session);
            }
            Action::Verify(kind) => {
                let amplitude = designed.stages[kind as usize].amplitude;
                self.start(
                    session,
                    Test::Verify(kind),
                    amplitude,
                    StepDirection::UpThenDown,
                    times,
                );
            }
            Action::PutBack => {
                let found = tuned.setup.device_values(&tuned.setup.in_force).to_vec();
                gains.request_writes(found, session);
            }
        }
    }
}
