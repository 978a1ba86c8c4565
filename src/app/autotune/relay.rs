//! The relay method of the Auto-tune tab: its settings, the run and its
//! abort, Ku and Tu with how steady they were, the gains of every rule, and
//! their predicted step on the step model when one is fitted.

use egui_plot::{Legend, Line, LineStyle, Plot};

use super::{AutoTunePanel, params_of, points, predicted_metrics_ui, preview_plan};
use crate::analysis::{StepOptions, UltimateRule};
use crate::app::gains::GainsPanel;
use crate::device::session::{DeviceSession, ProcedureKind};
use crate::record::RunStore;
use crate::tuning::{
    LoopParams, MAX_TIME_LIMIT_S, Preview, RelayPlan, RelayResult, preview, relay_gains,
};

impl AutoTunePanel {
    /// The relay method: settings, run and abort, the result, the gains of
    /// every rule, the prediction on the step model, and the write.
    pub(super) fn relay_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut DeviceSession,
        runs: &RunStore,
        gains: &mut GainsPanel,
    ) {
        if let Some(info) = &session.info
            && self.relay.defaults_for.as_deref() != Some(info.name.as_str())
        {
            let plan = RelayPlan::for_device(info);
            self.relay.amplitude = plan.amplitude;
            self.relay.travel = plan.travel;
            self.relay.defaults_for = Some(info.name.clone());
        }
        let units = session
            .info
            .as_ref()
            .map_or((String::new(), String::new()), |info| {
                let unit = |role| {
                    info.channels
                        .iter()
                        .find(|c| c.role == role)
                        .map_or(String::new(), |c| c.unit.clone())
                };
                (
                    unit(crate::protocol::ChannelRole::Effort),
                    unit(crate::protocol::ChannelRole::Feedback),
                )
            });
        let (effort_unit, feedback_unit) = units;
        let mut predicted = None;
        egui::Panel::left("relay controls")
            .resizable(false)
            .exact_size(520.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.relay_choices_ui(ui, &effort_unit, &feedback_unit);
                    let running = session.procedure_running();
                    let c = &self.relay;
                    let plan = RelayPlan {
                        amplitude: c.amplitude,
                        hysteresis: (!c.hysteresis_from_noise).then_some(c.hysteresis),
                        travel: c.travel,
                        time_limit_s: c.time_limit_s,
                        cycles: Default::default(),
                    };
                    self.relay_controls.ui(
                        ui,
                        session,
                        ProcedureKind::Relay,
                        &feedback_unit,
                        |session| session.start_relay(plan),
                    );
                    if session.procedures.last(ProcedureKind::Relay).is_none() {
                        ui.weak("No relay run yet.");
                        return;
                    }
                    let Some(result) = session.procedures.relay_result().cloned() else {
                        return;
                    };
                    relay_result_ui(ui, &result, &effort_unit, &feedback_unit);
                    let chosen = result.gains(self.relay.rule);
                    relay_rules_ui(ui, &result, self.relay.rule);
                    let params = params_of(session);
                    let Some(loop_params) = LoopParams::find(&params) else {
                        ui.weak("The device has no kp, ki and kd gains to write.");
                        return;
                    };
                    predicted = self.relay_preview_ui(ui, session, runs, &chosen.parallel);
                    let writable = !session.write_in_flight() && !running;
                    if ui
                        .add_enabled(writable, egui::Button::new("Write relay gains"))
                        .clicked()
                    {
                        gains
                            .request_writes(loop_params.writes(&chosen.parallel).to_vec(), session);
                    }
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let result = session.procedures.relay_result();
            relay_plot_ui(ui, result, predicted.as_ref());
        });
    }

    fn relay_choices_ui(&mut self, ui: &mut egui::Ui, effort_unit: &str, feedback_unit: &str) {
        let c = &mut self.relay;
        egui::Grid::new("relay choices")
            .num_columns(2)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                let label = ui.label("Relay amplitude");
                ui.add(
                    egui::DragValue::new(&mut c.amplitude)
                        .range(1e-6..=1e6)
                        .speed(0.01)
                        .suffix(format!(" {effort_unit}")),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Hysteresis");
                ui.horizontal(|ui| {
                    ui.checkbox(&mut c.hysteresis_from_noise, "from the noise at rest");
                    ui.add_enabled(
                        !c.hysteresis_from_noise,
                        egui::DragValue::new(&mut c.hysteresis)
                            .range(0.0..=1e6)
                            .speed(1e-4)
                            .suffix(format!(" {feedback_unit}")),
                    )
                    .labelled_by(label.id);
                });
                ui.end_row();

                let label = ui.label("Travel");
                ui.add(
                    egui::DragValue::new(&mut c.travel)
                        .range(1e-6..=1e6)
                        .speed(0.01)
                        .suffix(format!(" {feedback_unit}")),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Time limit");
                ui.add(
                    egui::DragValue::new(&mut c.time_limit_s)
                        .range(0.1..=MAX_TIME_LIMIT_S)
                        .speed(0.1)
                        .suffix(" s"),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Relay rule");
                egui::ComboBox::from_id_salt("relay rule")
                    .selected_text(c.rule.label())
                    .show_ui(ui, |ui| {
                        for rule in UltimateRule::ALL {
                            ui.selectable_value(&mut c.rule, rule, rule.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();
            });
    }

    /// The chosen gains run on the model of the newest step run with
    /// effort, when it fits; its metrics shown.
    fn relay_preview_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &DeviceSession,
        runs: &RunStore,
        gains: &crate::analysis::ParallelGains,
    ) -> Option<Preview> {
        let Some(run) = runs.runs().iter().rev().find(|r| r.trace.effort.is_some()) else {
            ui.weak("Run a step test with an effort channel to preview these gains.");
            return None;
        };
        let model = match self.fit_of(run) {
            Ok(identified) => identified.model,
            Err(error) => {
                ui.weak(format!("No preview: {error}"));
                return None;
            }
        };
        let plan = preview_plan(session, run);
        let predicted = self
            .relay_predicted
            .get((run.id, self.kind, *gains, plan), || {
                preview(&model, gains, &plan, &StepOptions::default()).map_err(|e| e.to_string())
            });
        match predicted {
            Ok(predicted) => {
                ui.label(format!("Predicted on the model of {}:", run.name));
                predicted_metrics_ui(ui, predicted);
                Some(predicted.clone())
            }
            Err(error) => {
                ui.colored_label(ui.visuals().error_fg_color, error);
                None
            }
        }
    }
}

fn relay_result_ui(ui: &mut egui::Ui, result: &RelayResult, effort_unit: &str, unit: &str) {
    let cycle = &result.cycle;
    ui.label(format!(
        "Ku: {:.4} {effort_unit}/{unit}",
        cycle.ultimate.gain
    ));
    ui.label(format!("Tu: {:.5} s", cycle.ultimate.period));
    ui.label(format!(
        "Oscillation amplitude {:.4e} {unit}, relay {:.4} {effort_unit}, hysteresis {:.3e} {unit}",
        cycle.amplitude, cycle.relay_amplitude, result.hysteresis
    ));
    ui.label(format!(
        "Steadiness over {} cycles: amplitude spread {:.1} %, period spread {:.1} %",
        cycle.cycles.len(),
        cycle.amplitude_spread * 100.0,
        cycle.period_spread * 100.0
    ));
}

/// Every rule's gains, standard and parallel; the chosen rule highlighted.
fn relay_rules_ui(ui: &mut egui::Ui, result: &RelayResult, chosen: UltimateRule) {
    egui::Grid::new("relay gains")
        .num_columns(7)
        .striped(true)
        .show(ui, |ui| {
            for heading in ["Rule", "Kp", "Ti (s)", "Td (s)", "kp", "ki", "kd"] {
                ui.strong(heading);
            }
            ui.end_row();
            for rule in UltimateRule::ALL {
                let g = relay_gains(result.ultimate(), rule);
                let ti = if g.standard.ti.is_finite() {
                    format!("{:.5}", g.standard.ti)
                } else {
                    "∞".to_owned()
                };
                let cells = [
                    rule.label().to_owned(),
                    format!("{:.4}", g.standard.kp),
                    ti,
                    format!("{:.5}", g.standard.td),
                    format!("{:.4}", g.parallel.kp),
                    format!("{:.4}", g.parallel.ki),
                    format!("{:.5}", g.parallel.kd),
                ];
                for cell in cells {
                    if rule == chosen {
                        ui.strong(cell);
                    } else {
                        ui.label(cell);
                    }
                }
                ui.end_row();
            }
        });
}

/// The relay record (feedback and effort from the relay's start) and the
/// predicted step of the chosen gains.
fn relay_plot_ui(ui: &mut egui::Ui, result: Option<&RelayResult>, predicted: Option<&Preview>) {
    Plot::new("relay overlay")
        .legend(Legend::default())
        .x_axis_label("time [s]")
        .show(ui, |plot| {
            if let Some(result) = result {
                plot.line(Line::new(
                    "relay feedback",
                    points(&result.time, &result.feedback),
                ));
                // The effort is in another unit: scaled onto the feedback's
                // oscillation so the switching shows against it.
                let scale = result.cycle.amplitude / result.cycle.relay_amplitude.max(1e-12);
                let middle =
                    result.feedback.iter().sum::<f64>() / result.feedback.len().max(1) as f64;
                let effort: Vec<f64> = result
                    .effort
                    .iter()
                    .map(|u| (u - result.cycle.centre) * scale + middle)
                    .collect();
                plot.line(
                    Line::new("relay effort (scaled)", points(&result.time, &effort))
                        .style(LineStyle::dashed_loose()),
                );
            }
            if let Some(p) = predicted {
                let p = &p.prediction;
                plot.line(Line::new("predicted step", points(&p.time, &p.feedback)));
            }
        });
}
