//! The Auto-tune tab, two methods. Step model: pick a kept step run (or
//! run a new identification step), fit a model from effort to position,
//! propose gains by SIMC or lambda tuning and preview their step response
//! on the model; "Verify" then runs a step test and shows predicted
//! against measured. Relay (`relay.rs`): run the device's relay mode
//! ([`crate::tuning::RelayTest`]), show Ku, Tu and how steady they were,
//! the gains of every rule with the chosen one highlighted, and their
//! predicted step on the step model when there is one. Nothing is written
//! until a "Write …" click, which goes through the gains panel's guarded
//! write path. The fitting and tuning live in [`crate::tuning`]; the
//! chain (fit, proposal, prediction) is computed when what it depends on
//! changes and kept, not every frame.

mod relay;

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};

use super::gains::GainsPanel;
use super::procedure_controls::ProcedureControls;
use crate::analysis::{
    ClosedLoopSpeed, METRICS, ParallelGains, StepOptions, UltimateRule, metric_values,
};
use crate::device::session::DeviceSession;
use crate::record::{RunStore, StepRun};
use crate::tuning::{
    Identified, LoopParams, ModelKind, ModelRule, Preview, PreviewPlan, Proposal, StepPlan,
    identify, model_parameters, preview, propose,
};

/// Metrics compared between the prediction and the verification step.
const COMPARED: [&str; 3] = ["overshoot", "rise_time", "settling_time"];

/// How the loop is identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    StepModel,
    Relay,
}

/// The relay run's settings as the user edits them.
struct RelayChoices {
    amplitude: f64,
    hysteresis_from_noise: bool,
    hysteresis: f64,
    travel: f64,
    time_limit_s: f64,
    rule: UltimateRule,
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
            rule: UltimateRule::ZieglerNicholsPid,
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
/// What a relay rule's prediction depends on: the run and model fitted,
/// the gains and the step predicted.
type RelayPreviewKey = (u64, ModelKind, ParallelGains, PreviewPlan);

/// How the closed-loop speed is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SpeedInput {
    TimeConstant,
    Bandwidth,
}

/// The tab's choices and what was computed from them.
pub struct AutoTunePanel {
    method: Method,
    relay: RelayChoices,
    relay_controls: ProcedureControls,
    /// The run to identify from; `None` follows the newest with effort.
    chosen_run: Option<u64>,
    kind: ModelKind,
    rule: ModelRule,
    speed_input: SpeedInput,
    tau_s: f64,
    bandwidth_hz: f64,
    /// The fit, cached for the run and model it was made from.
    fit: Option<((u64, ModelKind), Result<Identified, String>)>,
    /// The proposal and its prediction, for the choices they came from.
    proposed: Cached<ProposalKey, ProposalChain>,
    /// The relay rule's prediction on the step model.
    relay_predicted: Cached<RelayPreviewKey, Result<Preview, String>>,
    /// The prediction of the gains last written, and the newest run id
    /// before "Verify" was clicked (the verification is the next run).
    written: Option<Preview>,
    verify_after: Option<u64>,
    refusal: Option<String>,
}

impl Default for AutoTunePanel {
    fn default() -> Self {
        Self {
            method: Method::StepModel,
            relay: RelayChoices::default(),
            relay_controls: ProcedureControls::default(),
            chosen_run: None,
            kind: ModelKind::Motor,
            rule: ModelRule::Simc,
            speed_input: SpeedInput::TimeConstant,
            tau_s: 0.01,
            bandwidth_hz: 16.0,
            fit: None,
            proposed: Cached::default(),
            relay_predicted: Cached::default(),
            written: None,
            verify_after: None,
            refusal: None,
        }
    }
}

fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|v| f64::from(*v)).collect()
}

fn points(time: &[f64], values: &[f64]) -> PlotPoints<'static> {
    time.iter().zip(values).map(|(t, v)| [*t, *v]).collect()
}

impl AutoTunePanel {
    /// The prediction for the gains last written from this tab.
    pub fn written_prediction(&self) -> Option<&Preview> {
        self.written.as_ref()
    }

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
        ui.horizontal(|ui| {
            ui.label("Method:");
            ui.selectable_value(&mut self.method, Method::StepModel, "Step model");
            ui.selectable_value(&mut self.method, Method::Relay, "Relay");
        });
        if self.method == Method::Relay {
            self.relay_ui(ui, session, runs, gains);
            return;
        }
        let newest_with_effort = runs
            .runs()
            .iter()
            .rev()
            .find(|r| r.trace.effort.is_some())
            .map(|r| r.id);
        let run_id = self.chosen_run.or(newest_with_effort);
        let run = run_id.and_then(|id| runs.runs().iter().find(|r| r.id == id));

        let mut proposal = None;
        let mut predicted = None;
        egui::Panel::left("auto-tune controls")
            .resizable(false)
            .exact_size(320.0)
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
                        self.chosen_run = None;
                        self.refusal = session
                            .start_step_test(step_plan)
                            .err()
                            .map(|e| e.to_string());
                    }
                    ui.separator();
                    let Some(run) = run else {
                        ui.weak("Run a step test with an effort channel to identify from.");
                        return;
                    };
                    let fit = self.fit_of(run);
                    match fit {
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
                        .clicked()
                    {
                        self.verify_after = runs.runs().last().map(|r| r.id);
                        self.refusal = session
                            .start_step_test(step_plan)
                            .err()
                            .map(|e| e.to_string());
                    }
                    if let Some(refusal) = &self.refusal {
                        ui.colored_label(ui.visuals().error_fg_color, refusal);
                    }
                });
            });
        let verification = self
            .verify_after
            .and_then(|after| runs.runs().iter().find(|r| r.id > after));
        if let (Some(written), Some(measured)) = (&self.written, verification) {
            egui::Panel::right("auto-tune verification")
                .resizable(false)
                .exact_size(300.0)
                .show(ui, |ui| verification_ui(ui, written, measured));
        }
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

    fn choices_ui(&mut self, ui: &mut egui::Ui, runs: &RunStore, run: Option<&StepRun>) {
        egui::Grid::new("auto-tune choices")
            .num_columns(2)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                let label = ui.label("Identify from");
                egui::ComboBox::from_id_salt("identify from")
                    .selected_text(run.map_or("no run", |r| r.name.as_str()))
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.chosen_run, None, "newest with effort");
                        for r in runs.runs().iter().filter(|r| r.trace.effort.is_some()) {
                            ui.selectable_value(&mut self.chosen_run, Some(r.id), &r.name);
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Model");
                egui::ComboBox::from_id_salt("model kind")
                    .selected_text(self.kind.label())
                    .show_ui(ui, |ui| {
                        for kind in ModelKind::ALL {
                            ui.selectable_value(&mut self.kind, kind, kind.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Rule");
                egui::ComboBox::from_id_salt("tuning rule")
                    .selected_text(self.rule.label())
                    .show_ui(ui, |ui| {
                        for rule in ModelRule::ALL {
                            ui.selectable_value(&mut self.rule, rule, rule.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Speed given as");
                ui.horizontal(|ui| {
                    ui.selectable_value(
                        &mut self.speed_input,
                        SpeedInput::TimeConstant,
                        "time constant",
                    );
                    ui.selectable_value(&mut self.speed_input, SpeedInput::Bandwidth, "bandwidth");
                })
                .response
                .labelled_by(label.id);
                ui.end_row();

                match self.speed_input {
                    SpeedInput::TimeConstant => {
                        let label = ui.label("Closed-loop time constant");
                        ui.add(
                            egui::DragValue::new(&mut self.tau_s)
                                .range(1e-4..=10.0)
                                .speed(0.001)
                                .suffix(" s"),
                        )
                        .labelled_by(label.id);
                    }
                    SpeedInput::Bandwidth => {
                        let label = ui.label("Closed-loop bandwidth");
                        ui.add(
                            egui::DragValue::new(&mut self.bandwidth_hz)
                                .range(0.01..=1000.0)
                                .speed(0.1)
                                .suffix(" Hz"),
                        )
                        .labelled_by(label.id);
                    }
                }
                ui.end_row();
            });
    }

    /// The fit of `run` with the chosen model, computed once per choice.
    fn fit_of(&mut self, run: &StepRun) -> Result<&Identified, &str> {
        let key = (run.id, self.kind);
        if self.fit.as_ref().is_none_or(|(k, _)| *k != key) {
            let effort = run.trace.effort.as_deref().map(f64s);
            let result = identify(
                self.kind,
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

    /// The gains table (in force and proposed) and the prediction.
    fn proposal_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &DeviceSession,
        model: &crate::analysis::PlantModel,
        run: &StepRun,
    ) -> (Option<Proposal>, Option<Preview>) {
        let speed = match self.speed_input {
            SpeedInput::TimeConstant => ClosedLoopSpeed::TimeConstant(self.tau_s),
            SpeedInput::Bandwidth => ClosedLoopSpeed::BandwidthHz(self.bandwidth_hz),
        };
        let params = params_of(session);
        let Some(loop_params) = LoopParams::find(&params) else {
            ui.weak("The device has no kp, ki and kd gains to propose values for.");
            return (None, None);
        };
        let plan = preview_plan(session, run);
        let rule = self.rule;
        let chain = self
            .proposed
            .get((run.id, self.kind, rule, speed, plan), || {
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
        match predicted {
            Ok(predicted) => {
                predicted_metrics_ui(ui, predicted);
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

/// The compared metrics of a prediction, one line each.
fn predicted_metrics_ui(ui: &mut egui::Ui, predicted: &Preview) {
    if let Ok(metrics) = &predicted.metrics {
        for (info, value) in METRICS.iter().zip(metric_values(metrics)) {
            if COMPARED.contains(&info.key) {
                ui.label(format!(
                    "Predicted {}: {}",
                    info.label,
                    value.map_or("—".to_owned(), |v| format!("{v:.4}"))
                ));
            }
        }
    }
}

fn params_of(session: &DeviceSession) -> Vec<crate::protocol::ParamInfo> {
    session.params.iter().map(|p| p.info.clone()).collect()
}

/// Predicted against measured metrics after "Verify".
fn verification_ui(ui: &mut egui::Ui, written: &Preview, measured: &StepRun) {
    ui.strong(format!("Verification ({})", measured.name));
    let predicted = written.metrics.as_ref().ok().map(metric_values);
    egui::Grid::new("verification metrics")
        .num_columns(3)
        .show(ui, |ui| {
            ui.strong("Metric");
            ui.strong("Predicted");
            ui.strong("Measured");
            ui.end_row();
            for (i, info) in METRICS.iter().enumerate() {
                if !COMPARED.contains(&info.key) {
                    continue;
                }
                let cell = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.4}"));
                ui.label(info.label);
                ui.label(cell(predicted.and_then(|p| p[i])));
                ui.label(cell(measured.metric(info.key)));
                ui.end_row();
            }
        });
}

/// The identification run, its fit, the prediction, and the verification.
fn overlay_ui(
    ui: &mut egui::Ui,
    run: Option<&StepRun>,
    fit: Option<&Identified>,
    predicted: Option<&Preview>,
    verification: Option<&StepRun>,
    written: Option<&Preview>,
) {
    Plot::new("auto-tune overlay")
        .legend(Legend::default())
        .x_axis_label("time from step [s]")
        .show(ui, |plot| {
            if let Some(run) = run {
                let time = f64s(&run.trace.time);
                plot.line(Line::new(
                    "measured",
                    points(&time, &f64s(&run.trace.feedback)),
                ));
                if let Some(fit) = fit {
                    plot.line(
                        Line::new("model fit", points(&time[..fit.fitted.len()], &fit.fitted))
                            .style(LineStyle::dashed_loose()),
                    );
                }
            }
            if let Some(p) = predicted {
                let p = &p.prediction;
                plot.line(Line::new("predicted", points(&p.time, &p.feedback)));
            }
            if let (Some(v), Some(w)) = (verification, written) {
                let time = f64s(&v.trace.time);
                plot.line(Line::new(
                    "verification",
                    points(&time, &f64s(&v.trace.feedback)),
                ));
                let p = &w.prediction;
                plot.line(
                    Line::new("predicted (written)", points(&p.time, &p.feedback))
                        .style(LineStyle::dashed_dense()),
                );
            }
        });
}
