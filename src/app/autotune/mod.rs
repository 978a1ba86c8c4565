//! The Auto-tune tab, four methods. Step model: pick a kept step run (or
//! run a new identification step), fit a model from effort to position,
//! propose gains by SIMC or lambda tuning and preview their step response
//! on the model; "Verify" then runs a step test and shows predicted
//! against measured. Cascade (`cascade.rs`): a position P around a
//! velocity PI tuned inner loop first, stage by stage. Guided
//! (`guided.rs`): ODrive's manual procedure, test by test, on a device
//! with a position–velocity cascade. Relay
//! (`relay.rs`): run the device's relay mode
//! ([`crate::tuning::RelayTest`]), show Ku, Tu and how steady they were,
//! the gains of every rule with the chosen one highlighted, and their
//! predicted step on the step model when there is one. Any proposal that
//! looks wild is flagged (`warnings.rs`). Nothing is written until a
//! "Write …" click, which goes through the gains panel's guarded write
//! path. The run identified from changes only when the user picks one (or
//! runs an identification step): a verification run never takes its
//! place. The fitting and tuning live in [`crate::tuning`]; the chain
//! (fit, proposal, prediction) is computed when what it depends on
//! changes and kept, not every frame. The tab fits a pane of about
//! 800×300 px: controls on the left, plots on the right.

mod cascade;
mod cascade_stages;
mod cascade_view;
mod choices;
mod guided;
mod relay;
mod views;
mod warnings;

use serde::{Deserialize, Serialize};

use super::gains::GainsPanel;
use super::procedure_controls::ProcedureControls;
use crate::analysis::{ClosedLoopSpeed, ParallelGains, StepOptions, UltimateRule};
use crate::device::session::DeviceSession;
use crate::record::{RunStore, StepRun};
use crate::tuning::{
    Identified, LoopParams, ModelKind, ModelRule, Preview, PreviewPlan, Proposal, StepPlan,
    identify, model_parameters, preview, propose,
};
use views::{f64s, overlay_ui, predicted_metrics_ui, verification_ui};
use warnings::{warnings, warnings_ui};

/// How the loop is identified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AutoTuneMethod {
    /// Fit a model to a step run and tune from the model.
    #[default]
    StepModel,
    /// Find Ku and Tu with a relay and tune by an ultimate-gain rule.
    Relay,
    /// Tune a position P around a velocity PI, inner loop first.
    Cascade,
    /// ODrive's manual procedure on a position–velocity cascade, guided.
    Guided,
}

/// How the closed-loop speed is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpeedInput {
    /// As a closed-loop time constant, s.
    #[default]
    TimeConstant,
    /// As a closed-loop bandwidth, Hz.
    Bandwidth,
}

/// What the Auto-tune tab remembers between launches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoTuneSettings {
    /// Step model or relay.
    pub method: AutoTuneMethod,
    /// The model fitted to a step run.
    pub model: ModelKind,
    /// The rule that turns the model into gains.
    pub rule: ModelRule,
    /// The rule that turns Ku and Tu into gains.
    pub relay_rule: UltimateRule,
    /// Whether the speed is given as a time constant or a bandwidth.
    pub speed_input: SpeedInput,
    /// The closed-loop time constant asked for, s.
    pub time_constant_s: f64,
    /// The closed-loop bandwidth asked for, Hz.
    pub bandwidth_hz: f64,
    /// A predicted overshoot above this many percent is flagged.
    pub overshoot_warning_percent: f64,
    /// The cascade's velocity loop bandwidth, Hz.
    pub cascade_bandwidth_hz: f64,
    /// The factor between the cascade's loops; `None` chooses it by
    /// prediction.
    pub cascade_factor: Option<f64>,
}

impl Default for AutoTuneSettings {
    fn default() -> Self {
        Self {
            method: AutoTuneMethod::StepModel,
            model: ModelKind::Motor,
            rule: ModelRule::Simc,
            relay_rule: UltimateRule::ZieglerNicholsPid,
            speed_input: SpeedInput::TimeConstant,
            time_constant_s: 0.01,
            bandwidth_hz: 16.0,
            overshoot_warning_percent: 25.0,
            cascade_bandwidth_hz: crate::tuning::cascade::DEFAULT_VELOCITY_HZ,
            cascade_factor: None,
        }
    }
}

/// The relay run's settings as the user edits them.
struct RelayChoices {
    amplitude: f64,
    hysteresis_from_noise: bool,
    hysteresis: f64,
    travel: f64,
    time_limit_s: f64,
    /// The device the defaults were taken from.
    defaults_for: Option<String>,
}

impl Default for RelayChoices {
    fn default() -> Self {
        Self {
            amplitude: 1.0,
            hysteresis_from_noise: true,
            hysteresis: 0.0,
            travel: 0.5,
            time_limit_s: 10.0,
            defaults_for: None,
        }
    }
}

/// A value computed from a key and kept until the key changes.
struct Cached<K, V> {
    entry: Option<(K, V)>,
}

impl<K, V> Default for Cached<K, V> {
    fn default() -> Self {
        Self { entry: None }
    }
}

impl<K: PartialEq, V> Cached<K, V> {
    /// The value for `key`: the kept one, or `compute`d (and kept) when
    /// the key changed.
    fn get(&mut self, key: K, compute: impl FnOnce() -> V) -> &V {
        if self.entry.as_ref().is_some_and(|(kept, _)| *kept != key) {
            self.entry = None;
        }
        &self.entry.get_or_insert_with(|| (key, compute())).1
    }
}

/// What a model's proposal and its prediction depend on: the run and model
/// fitted, the rule, the speed asked for and the step predicted.
type ProposalKey = (u64, ModelKind, ModelRule, ClosedLoopSpeed, PreviewPlan);
/// A proposal (or why none) and its prediction (or why none).
type ProposalChain = Result<(Proposal, Result<Preview, String>), String>;
/// What the relay rules' predictions depend on: the run and model fitted,
/// the relay's Ku and Tu, and the step predicted.
type RelayPreviewKey = (u64, ModelKind, [u64; 2], PreviewPlan);

/// The tab's choices and what was computed from them.
#[derive(Default)]
pub struct AutoTunePanel {
    settings: AutoTuneSettings,
    relay: RelayChoices,
    relay_controls: ProcedureControls,
    cascade: cascade::CascadeTab,
    guided: guided::GuidedPanel,
    /// The run to identify from, as the user picked it; when none is
    /// picked (or it was deleted) the newest with effort is pinned once.
    chosen_run: Option<u64>,
    /// The newest run id before "Run identification step" was clicked:
    /// the next run with effort becomes the source.
    identify_after: Option<Option<u64>>,
    /// The fit, cached for the run and model it was made from.
    fit: Option<((u64, ModelKind), Result<Identified, String>)>,
    /// The proposal and its prediction, for the choices they came from.
    proposed: Cached<ProposalKey, ProposalChain>,
    /// Every relay rule's prediction on the step model, in
    /// [`UltimateRule::ALL`] order.
    relay_predicted: Cached<RelayPreviewKey, Vec<Result<Preview, String>>>,
    /// The prediction of the gains last written, and the newest run id
    /// before "Verify" was clicked (the verification is the next run).
    written: Option<Preview>,
    verify_after: Option<u64>,
    refusal: Option<String>,
}

impl AutoTunePanel {
    /// The choices to remember between launches.
    pub fn settings(&self) -> AutoTuneSettings {
        self.settings.clone()
    }

    /// Restores remembered choices.
    pub fn apply_settings(&mut self, settings: AutoTuneSettings) {
        self.settings = settings;
    }

    /// Another device is shown: hands over what was measured, proposed or
    /// written on the shown one (a cascade's stages, the guided wizard), to
    /// be kept for it, and starts afresh; the choices stay.
    pub fn take_device_state(&mut self) -> AutoTuneDeviceState {
        let fresh = Self {
            settings: std::mem::take(&mut self.settings),
            ..Self::default()
        };
        AutoTuneDeviceState(std::mem::replace(self, fresh))
    }

    /// The device shown now had `state` kept for it (or starts afresh with
    /// the default): its work comes back under the window's choices.
    pub fn restore_device_state(&mut self, state: AutoTuneDeviceState) {
        *self = Self {
            settings: std::mem::take(&mut self.settings),
            ..state.0
        };
    }
}

/// What the tab keeps of one device while another is shown: all its work,
/// none of its choices (the panel's own are the window's; those in here
/// are never given back).
#[derive(Default)]
pub struct AutoTuneDeviceState(AutoTunePanel);

/// Width of the controls beside the plots: most of a narrow pane, a
/// readable column of a wide one.
fn controls_width(ui: &egui::Ui, at_most: f32) -> f32 {
    (ui.available_width() * 0.5).clamp(260.0, at_most)
}

impl AutoTunePanel {
    /// A step the engine measured (every one, whatever tab shows): the
    /// Cascade and Guided methods take those of the tests they started.
    pub fn step_measured(&mut self, step: &crate::tuning::StepResponse, session: &DeviceSession) {
        self.cascade.on_measured_step(step);
        self.guided.step_measured(step, session);
    }

    /// The prediction for the gains last written from this tab.
    pub fn written_prediction(&self) -> Option<&Preview> {
        self.written.as_ref()
    }

    /// The tab: the method's controls on the left, its plots on the right.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: Option<&mut DeviceSession>,
        runs: &RunStore,
        gains: &mut GainsPanel,
        step_plan: StepPlan,
    ) {
        let Some(session) = session else {
            ui.weak("Connect a device to auto-tune it.");
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.label("Method:");
            let method = &mut self.settings.method;
            ui.selectable_value(method, AutoTuneMethod::StepModel, "Step model");
            ui.selectable_value(method, AutoTuneMethod::Relay, "Relay");
            ui.selectable_value(method, AutoTuneMethod::Cascade, "Cascade");
            ui.add_enabled_ui(guided::GuidedPanel::available(session), |ui| {
                ui.selectable_value(method, AutoTuneMethod::Guided, "Guided (ODrive manual)")
                    .on_disabled_hover_text("For a position loop around a velocity loop");
            });
        });
        match self.settings.method {
            AutoTuneMethod::Relay => return self.relay_ui(ui, session, runs, gains),
            AutoTuneMethod::Cascade => return self.cascade_ui(ui, session, gains, step_plan),
            AutoTuneMethod::Guided => return self.guided.ui(ui, session, gains),
            AutoTuneMethod::StepModel => {}
        }
        self.follow_identification(runs);
        let run = self
            .chosen_run
            .and_then(|id| runs.runs().iter().find(|r| r.id == id));

        let mut proposal = None;
        let mut predicted = None;
        let verification = self
            .verify_after
            .and_then(|after| runs.runs().iter().find(|r| r.id > after));
        egui::Panel::left("auto-tune controls")
            .resizable(false)
            .exact_size(controls_width(ui, 340.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.choices_ui(ui, runs, run);
                    ui.add_space(4.0);
                    let running = session.procedure_running();
                    let ready = session.is_connected() && session.output_enabled() && !running;
                    if ui
                        .add_enabled(ready, egui::Button::new("Run identification step"))
                        .on_disabled_hover_text("Enable the drive's output first")
                        .clicked()
                    {
                        self.refusal = session
                            .start_step_test(step_plan)
                            .err()
                            .map(|e| e.to_string());
                        if self.refusal.is_none() {
                            self.identify_after = Some(runs.runs().last().map(|r| r.id));
                        }
                    }
                    ui.separator();
                    let Some(run) = run else {
                        ui.weak("Run a step test with an effort channel to identify from.");
                        return;
                    };
                    match self.fit_of(run) {
                        Err(error) => {
                            ui.colored_label(ui.visuals().error_fg_color, error);
                        }
                        Ok(identified) => {
                            for (name, value) in model_parameters(
                                &identified.model,
                                &run.signal_unit,
                                &run.effort_unit,
                            ) {
                                ui.label(format!("{name}: {value:.5}"));
                            }
                            ui.label(format!(
                                "Fit residual (RMS): {:.3e} {}",
                                identified.rms, run.signal_unit
                            ));
                            let model = identified.model;
                            (proposal, predicted) = self.proposal_ui(ui, session, &model, run);
                        }
                    }
                    let writable = proposal.is_some() && !session.write_in_flight();
                    if ui
                        .add_enabled(writable, egui::Button::new("Write proposed gains"))
                        .clicked()
                        && let (Some(proposal), Some(loop_params)) =
                            (proposal, LoopParams::find(&params_of(session)))
                    {
                        gains.request_writes(
                            loop_params.writes(&proposal.parallel).to_vec(),
                            session,
                        );
                        self.written = predicted.clone();
                    }
                    let can_verify = self.written.is_some() && ready;
                    if ui
                        .add_enabled(can_verify, egui::Button::new("Verify"))
                        .on_hover_text(
                            "Run a step test with the gains written; it is added to the runs, \
                             and the run identified from stays as it is",
                        )
                        .clicked()
                    {
                        self.identify_after = None;
                        self.verify_after = runs.runs().last().map(|r| r.id);
                        self.refusal = session
                            .start_step_test(step_plan)
                            .err()
                            .map(|e| e.to_string());
                    }
                    if let Some(refusal) = &self.refusal {
                        ui.colored_label(ui.visuals().error_fg_color, refusal);
                    }
                    if let (Some(written), Some(measured)) = (&self.written, verification) {
                        ui.separator();
                        verification_ui(ui, written, measured);
                    }
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let fit = self.fit.as_ref().and_then(|(_, f)| f.as_ref().ok());
            overlay_ui(
                ui,
                run,
                fit,
                predicted.as_ref(),
                verification,
                self.written.as_ref(),
            );
        });
    }

    /// Keeps the run identified from: the run an identification step just
    /// measured, else the user's pick; only when there is neither (or the
    /// pick was deleted) the newest run with effort, pinned from then on.
    fn follow_identification(&mut self, runs: &RunStore) {
        let with_effort = || runs.runs().iter().filter(|r| r.trace.effort.is_some());
        if let Some(after) = self.identify_after
            && let Some(new) = with_effort().find(|r| Some(r.id) > after)
        {
            self.chosen_run = Some(new.id);
            self.identify_after = None;
        }
        let exists = |id| with_effort().any(|r| r.id == id);
        if !self.chosen_run.is_some_and(exists) {
            self.chosen_run = with_effort().next_back().map(|r| r.id);
        }
    }

    /// The fit of `run` with the chosen model, computed once per choice.
    fn fit_of(&mut self, run: &StepRun) -> Result<&Identified, &str> {
        let key = (run.id, self.settings.model);
        if self.fit.as_ref().is_none_or(|(k, _)| *k != key) {
            let effort = run.trace.effort.as_deref().map(f64s);
            let result = identify(
                self.settings.model,
                &f64s(&run.trace.time),
                effort.as_deref(),
                &f64s(&run.trace.feedback),
            )
            .map_err(|e| e.to_string());
            self.fit = Some((key, result));
        }
        match &self.fit {
            Some((_, Ok(identified))) => Ok(identified),
            Some((_, Err(error))) => Err(error),
            None => Err("no fit"),
        }
    }

    /// The closed-loop speed asked for.
    fn speed(&self) -> ClosedLoopSpeed {
        match self.settings.speed_input {
            SpeedInput::TimeConstant => {
                ClosedLoopSpeed::TimeConstant(self.settings.time_constant_s)
            }
            SpeedInput::Bandwidth => ClosedLoopSpeed::BandwidthHz(self.settings.bandwidth_hz),
        }
    }

    /// The gains table (in force and proposed), the prediction and any
    /// warning about it.
    fn proposal_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &DeviceSession,
        model: &crate::analysis::PlantModel,
        run: &StepRun,
    ) -> (Option<Proposal>, Option<Preview>) {
        let speed = self.speed();
        let params = params_of(session);
        let Some(loop_params) = LoopParams::find(&params) else {
            ui.weak(no_pid_reason(&params, "to propose values for"));
            return (None, None);
        };
        let plan = preview_plan(session, run);
        let rule = self.settings.rule;
        let chain = self
            .proposed
            .get((run.id, self.settings.model, rule, speed, plan), || {
                let proposal = propose(model, rule, speed).map_err(|e| e.to_string())?;
                let predicted = preview(model, &proposal.parallel, &plan, &StepOptions::default())
                    .map_err(|e| e.to_string());
                Ok((proposal, predicted))
            });
        let (proposal, predicted) = match chain {
            Ok((proposal, predicted)) => (*proposal, predicted),
            Err(error) => {
                ui.colored_label(ui.visuals().error_fg_color, error);
                return (None, None);
            }
        };
        let in_force = loop_params.gains(&params);
        egui::Grid::new("proposed gains")
            .num_columns(3)
            .show(ui, |ui| {
                ui.strong("Gain");
                ui.strong("In force");
                ui.strong("Proposed");
                ui.end_row();
                let rows = [
                    (loop_params.kp, in_force.kp, proposal.parallel.kp),
                    (loop_params.ki, in_force.ki, proposal.parallel.ki),
                    (loop_params.kd, in_force.kd, proposal.parallel.kd),
                ];
                for (index, now, proposed) in rows {
                    let param = &params[usize::from(index)];
                    ui.label(format!("{} ({})", param.name, param.unit));
                    ui.label(format!("{now:.4}"));
                    ui.label(format!("{proposed:.4}"));
                    ui.end_row();
                }
            });
        let found = warnings(
            Some(predicted),
            &proposal.parallel,
            Some(&in_force),
            self.settings.overshoot_warning_percent,
        );
        warnings_ui(ui, rule.label(), &found);
        match predicted {
            Ok(predicted) => {
                predicted_metrics_ui(ui, predicted, &run.signal_unit, &run.effort_unit);
                (Some(proposal), Some(predicted.clone()))
            }
            Err(error) => {
                ui.colored_label(ui.visuals().error_fg_color, error);
                (None, None)
            }
        }
    }
}

/// The step of `run` to predict, with the device's derivative filter,
/// output limit and loop rate.
fn preview_plan(session: &DeviceSession, run: &StepRun) -> PreviewPlan {
    let params = params_of(session);
    let (derivative_filter, output_limit) =
        LoopParams::find(&params).map_or((0.0, f64::INFINITY), |l| l.filter_and_limit(&params));
    let last = run.trace.time.last().map_or(1.0, |t| f64::from(*t));
    let first = run.trace.time.first().map_or(0.0, |t| f64::from(*t));
    PreviewPlan {
        from: f64::from(run.from),
        to: f64::from(run.to),
        before_s: -first,
        hold_s: last,
        loop_hz: session
            .info
            .as_ref()
            .map_or(1000.0, |i| f64::from(i.loop_hz)),
        derivative_filter,
        output_limit,
    }
}

fn params_of(session: &DeviceSession) -> Vec<crate::protocol::ParamInfo> {
    session.params.iter().map(|p| p.info.clone()).collect()
}

/// Why a device without a single PID loop gets no gains here: a cascade
/// has its own method.
fn no_pid_reason(params: &[crate::protocol::ParamInfo], what_for: &str) -> String {
    if crate::protocol::loops::CascadeLoops::declared(params) {
        "This device runs a position loop around a velocity loop: tune it with the Cascade \
         method (or `motiontune autotune --method cascade`, docs/TUNING.md)."
            .to_owned()
    } else {
        format!("The device has no kp, ki and kd gains {what_for}.")
    }
}

/// The gains in force on the device, when it has a PID loop.
fn gains_in_force(session: &DeviceSession) -> Option<ParallelGains> {
    let params = params_of(session);
    LoopParams::find(&params).map(|l| l.gains(&params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cascade_is_pointed_to_the_cascade_method_a_device_without_gains_is_told_so() {
        use crate::protocol::{ParamFlags, ParamInfo};
        let gain = ParamFlags::TUNING_GAIN;
        let odrive: Vec<ParamInfo> = [
            "controller.config.pos_gain",
            "controller.config.vel_gain",
            "controller.config.vel_integrator_gain",
        ]
        .iter()
        .map(|name| ParamInfo::real(name, "", gain, 0.0, 100.0, 1.0))
        .collect();
        assert!(no_pid_reason(&odrive, "to write").contains("Cascade method"));
        let none = [ParamInfo::real("speed", "", 0, 0.0, 1.0, 0.5)];
        assert_eq!(
            no_pid_reason(&none, "to write"),
            "The device has no kp, ki and kd gains to write."
        );
    }

    #[test]
    fn settings_survive_a_round_trip_and_missing_fields_take_defaults() {
        let mut panel = AutoTunePanel::default();
        let settings = AutoTuneSettings {
            method: AutoTuneMethod::Relay,
            model: ModelKind::Ipdt,
            rule: ModelRule::Lambda,
            relay_rule: UltimateRule::ALL[3],
            speed_input: SpeedInput::Bandwidth,
            time_constant_s: 0.05,
            bandwidth_hz: 8.0,
            overshoot_warning_percent: 10.0,
            cascade_bandwidth_hz: 12.5,
            cascade_factor: Some(4.0),
        };
        panel.apply_settings(settings.clone());
        let json = serde_json::to_string(&panel.settings()).expect("serializes");
        let back: AutoTuneSettings = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, settings);
        let old: AutoTuneSettings =
            serde_json::from_str(r#"{"method": "Relay"}"#).expect("an older file");
        assert_eq!(
            old,
            AutoTuneSettings {
                method: AutoTuneMethod::Relay,
                ..AutoTuneSettings::default()
            }
        );
    }
}
