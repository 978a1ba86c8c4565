//! The relay method of the Auto-tune tab: its settings, the run and its
//! abort, Ku and Tu with how steady they were, the gains of every rule
//! (each flagged when it looks wild), their predicted step on the step
//! model when one is fitted, and two plots: the relay record, and the
//! predicted step on its own axis so neither squashes the other.

use egui_plot::{Legend, Line, LineStyle, Plot};

use super::choices::{labelled, threshold_ui};
use super::views::points;
use super::warnings::{Warning, warning_cell, warnings, warnings_ui};
use super::{
    AutoTunePanel, controls_width, gains_in_force, params_of, predicted_metrics_ui, preview_plan,
};
use crate::analysis::{ParallelGains, StepOptions, UltimateRule};
use crate::app::gains::GainsPanel;
use crate::app::numbers::significant_digits;
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
            .exact_size(controls_width(ui, 560.0))
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
                    let rule = self.settings.relay_rule;
                    let chosen = result.gains(rule);
                    let previews = self.relay_previews(ui, session, runs, &result);
                    let in_force = gains_in_force(session);
                    let limit = self.settings.overshoot_warning_percent;
                    let flagged: Vec<Vec<Warning>> = UltimateRule::ALL
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let gains = result.gains(*r).parallel;
                            let predicted = previews.as_ref().map(|(_, p)| &p[i]);
                            warnings(predicted, &gains, in_force.as_ref(), limit)
                        })
                        .collect();
                    relay_rules_ui(ui, &result, rule, &flagged);
                    let chosen_index = UltimateRule::ALL.iter().position(|r| *r == rule);
                    if let Some(i) = chosen_index {
                        warnings_ui(ui, rule.label(), &flagged[i]);
                    }
                    let params = params_of(session);
                    let Some(loop_params) = LoopParams::find(&params) else {
                        ui.weak(super::no_pid_reason(&params, "to write"));
                        return;
                    };
                    if let (Some((run_name, previews)), Some(i)) = (&previews, chosen_index) {
                        match &previews[i] {
                            Ok(preview) => {
                                ui.label(format!("Predicted on the model of {run_name}:"));
                                predicted_metrics_ui(ui, preview, &feedback_unit, &effort_unit);
                                predicted = Some(preview.clone());
                            }
                            Err(error) => {
                                ui.colored_label(ui.visuals().error_fg_color, error);
                            }
                        }
                    }
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
            relay_plots_ui(ui, result, predicted.as_ref(), &feedback_unit, &effort_unit);
        });
    }

    fn relay_choices_ui(&mut self, ui: &mut egui::Ui, effort_unit: &str, feedback_unit: &str) {
        let c = &mut self.relay;
        labelled(ui, "Relay amplitude", |ui| {
            ui.add(
                egui::DragValue::new(&mut c.amplitude)
                    .range(1e-6..=1e6)
                    .speed(0.01)
                    .suffix(format!(" {effort_unit}")),
            )
        });
        let label = ui.label("Hysteresis");
        ui.horizontal_wrapped(|ui| {
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
        labelled(ui, "Travel", |ui| {
            ui.add(
                egui::DragValue::new(&mut c.travel)
                    .range(1e-6..=1e6)
                    .speed(0.01)
                    .suffix(format!(" {feedback_unit}")),
            )
        });
        labelled(ui, "Time limit", |ui| {
            ui.add(
                egui::DragValue::new(&mut c.time_limit_s)
                    .range(0.1..=MAX_TIME_LIMIT_S)
                    .speed(0.1)
                    .suffix(" s"),
            )
        });
        let settings = &mut self.settings;
        let width = ui.available_width() - 8.0;
        labelled(ui, "Relay rule", |ui| {
            egui::ComboBox::from_id_salt("relay rule")
                .width(width.min(240.0))
                .selected_text(settings.relay_rule.label())
                .show_ui(ui, |ui| {
                    for rule in UltimateRule::ALL {
                        ui.selectable_value(&mut settings.relay_rule, rule, rule.label());
                    }
                })
                .response
        });
        threshold_ui(ui, &mut settings.overshoot_warning_percent);
    }

    /// Every rule's gains run on the model of the newest step run with
    /// effort, with that run's name, when it fits; `None` (and why,
    /// shown) when there is none.
    fn relay_previews(
        &mut self,
        ui: &mut egui::Ui,
        session: &DeviceSession,
        runs: &RunStore,
        result: &RelayResult,
    ) -> Option<(String, Vec<Result<Preview, String>>)> {
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
        let ultimate = result.ultimate();
        let key = (
            run.id,
            self.settings.model,
            [ultimate.gain.to_bits(), ultimate.period.to_bits()],
            plan,
        );
        let previews = self.relay_predicted.get(key, || {
            UltimateRule::ALL
                .iter()
                .map(|rule| {
                    let gains: ParallelGains = result.gains(*rule).parallel;
                    preview(&model, &gains, &plan, &StepOptions::default())
                        .map_err(|e| e.to_string())
                })
                .collect()
        });
        Some((run.name.clone(), previews.clone()))
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

/// Every rule's parallel gains (the standard form on hover) and its
/// warnings; the chosen rule highlighted. Scrolls sideways rather than
/// cutting a column off in a narrow pane.
fn relay_rules_ui(
    ui: &mut egui::Ui,
    result: &RelayResult,
    chosen: UltimateRule,
    flagged: &[Vec<Warning>],
) {
    egui::ScrollArea::horizontal()
        .id_salt("relay gains")
        .show(ui, |ui| {
            egui::Grid::new("relay gains")
                .num_columns(5)
                .striped(true)
                .show(ui, |ui| {
                    for heading in ["Rule", "kp", "ki", "kd", "Warning"] {
                        ui.strong(heading);
                    }
                    ui.end_row();
                    for (rule, warnings) in UltimateRule::ALL.into_iter().zip(flagged) {
                        let g = relay_gains(result.ultimate(), rule);
                        let ti = if g.standard.ti.is_finite() {
                            format!("{:.5} s", g.standard.ti)
                        } else {
                            "∞".to_owned()
                        };
                        let standard = format!(
                            "Standard form: Kp {}, Ti {ti}, Td {:.5} s",
                            significant_digits(g.standard.kp, 4),
                            g.standard.td
                        );
                        let cells = [
                            significant_digits(g.parallel.kp, 4),
                            significant_digits(g.parallel.ki, 4),
                            significant_digits(g.parallel.kd, 4),
                        ];
                        let name = egui::RichText::new(rule.label());
                        let name = if rule == chosen { name.strong() } else { name };
                        ui.label(name).on_hover_text(standard);
                        for cell in cells {
                            if rule == chosen {
                                ui.strong(cell);
                            } else {
                                ui.label(cell);
                            }
                        }
                        warning_cell(ui, rule.label(), warnings);
                        ui.end_row();
                    }
                });
        });
}

/// The relay record (feedback, with the effort scaled onto it) and, below
/// it on an axis of its own, the predicted step of the chosen gains.
fn relay_plots_ui(
    ui: &mut egui::Ui,
    result: Option<&RelayResult>,
    predicted: Option<&Preview>,
    feedback_unit: &str,
    effort_unit: &str,
) {
    let height = if predicted.is_some() {
        (ui.available_height() - ui.spacing().item_spacing.y) / 2.0
    } else {
        ui.available_height()
    };
    Plot::new("relay record")
        .height(height)
        .legend(Legend::default())
        .x_axis_label("time [s]")
        .y_axis_label(format!("[{feedback_unit}]"))
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
                    Line::new(
                        format!("relay effort (scaled, {effort_unit})"),
                        points(&result.time, &effort),
                    )
                    .style(LineStyle::dashed_loose()),
                );
            }
        });
    if let Some(p) = predicted {
        Plot::new("relay predicted step")
            .height(height)
            .legend(Legend::default())
            .x_axis_label("time from step [s]")
            .y_axis_label(format!("[{feedback_unit}]"))
            .show(ui, |plot| {
                let p = &p.prediction;
                plot.line(Line::new("predicted step", points(&p.time, &p.feedback)));
            });
    }
}
