//! What the Cascade method shows: the identification and the motor fitted,
//! the gains in force against each stage's, each stage's prediction with
//! its margins and warnings, its write and verify buttons and its measured
//! step against the prediction, and one plot of every step, measured and
//! predicted, from where it started.

use egui::Color32;
use egui_plot::{Legend, Line, LineStyle, Plot};

use super::AutoTunePanel;
use super::cascade::{Action, Designed, Stage, StageKind, Tuned};
use super::choices::labelled;
use super::views::points;
use crate::analysis::{LoopMargins, StepMetrics};
use crate::app::numbers::significant_digits;
use crate::device::session::DeviceSession;
use crate::protocol::ChannelRole;
use crate::tuning::cascade::FACTORS;
use crate::tuning::cascade::{CascadeSetup, StagePrediction};
use crate::tuning::{ModelRule, StepResponse};

/// A value in four significant digits.
fn sig(value: f64) -> String {
    significant_digits(value, 4)
}

/// The unit of the channel with `role`, or "".
pub(super) fn unit(session: &DeviceSession, role: ChannelRole) -> String {
    session
        .info
        .as_ref()
        .and_then(|i| i.channels.iter().find(|c| c.role == role))
        .map_or(String::new(), |c| c.unit.clone())
}

/// The identification, the motor fitted, the target and the gains.
pub(super) fn design_ui(ui: &mut egui::Ui, tuned: &Tuned, session: &DeviceSession) {
    let position = unit(session, ChannelRole::Feedback);
    let effort = unit(session, ChannelRole::Effort);
    ui.separator();
    let halved = match tuned.halvings {
        0 => String::new(),
        n => format!(", halved {n}×"),
    };
    ui.label(format!(
        "Identified from a step of {} {position} up and back{halved}",
        sig(tuned.amplitude)
    ));
    let (effort_peak, velocity_peak) = tuned
        .identification
        .iter()
        .map(|step| tuned.setup.peaks(step))
        .fold((0.0_f64, 0.0_f64), |a, b| (a.0.max(b.0), a.1.max(b.1)));
    let limits = &tuned.setup.limits;
    ui.label(format!(
        "Peaks: effort {} of {} {effort}, velocity {} of {} {position}/s",
        sig(effort_peak),
        sig(limits.applied_effort),
        sig(velocity_peak),
        sig(limits.velocity)
    ));
    if let Some(ceiling) = tuned.ceiling {
        ui.label(format!(
            "The drive applies at most {} {effort} (measured by a step)",
            sig(ceiling)
        ));
    }
    if let Some(Ok(m)) = tuned.identification.first().map(|s| &s.metrics) {
        ui.label(format!(
            "Measured with the gains found: {}",
            metrics_text(m)
        ));
    }
    let model = &tuned.fit.model;
    ui.label(format!(
        "Motor: acceleration {} {position}/s² per {effort}, damping {} 1/s",
        sig(model.acceleration_gain),
        sig(model.damping_rate)
    ));
    ui.label(format!(
        "Fit residual (RMS): {} {position}",
        sig(tuned.fit.rms)
    ));
    let Some((_, designed)) = &tuned.designed else {
        return;
    };
    let designed = match designed {
        Ok(designed) => designed,
        Err(error) => {
            ui.colored_label(ui.visuals().error_fg_color, error);
            return;
        }
    };
    let target = &designed.target;
    let how = if designed.factor_chosen {
        "chosen by prediction"
    } else {
        "given"
    };
    ui.label(format!(
        "Velocity loop {} Hz, position loop {}× below ({how})",
        sig(target.velocity_hz),
        sig(target.factor)
    ));
    if let Some(refit) = &designed.refit {
        ui.label(format!(
            "Position gain from the motor refitted on the velocity stage's step: acceleration {}, damping {} (residual {})",
            sig(refit.model.acceleration_gain),
            sig(refit.model.damping_rate),
            sig(refit.rms)
        ));
    }
    gains_ui(ui, &tuned.setup, designed, session);
    match &designed.check {
        Ok(check) => {
            if let Some(error) = rise_error(check, &tuned.identification) {
                ui.label(format!(
                    "The gains in force, on this model, predict the identification step's rise time {error:+.1} % of the measured"
                ));
            }
        }
        Err(error) => {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
    }
}

/// The gains in force and each stage's, as the device's values.
fn gains_ui(ui: &mut egui::Ui, setup: &CascadeSetup, designed: &Designed, session: &DeviceSession) {
    let now = setup.device_values(&setup.in_force);
    let [velocity, position] = &designed.stages;
    let velocity = setup.device_values(&velocity.gains);
    let position = setup.device_values(&position.gains);
    egui::Grid::new("cascade gains")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            ui.strong("Gain");
            ui.strong("Found");
            ui.strong("Velocity stage");
            ui.strong("Position stage");
            ui.end_row();
            for (k, role) in ["position P", "velocity P", "velocity I"]
                .iter()
                .enumerate()
            {
                let index = usize::from(now[k].0);
                let name = session
                    .params
                    .get(index)
                    .map_or(String::new(), |p| p.info.name.clone());
                ui.label(*role).on_hover_text(name);
                for value in [now[k].1, velocity[k].1, position[k].1] {
                    ui.label(sig(f64::from(value)));
                }
                ui.end_row();
            }
        });
}

/// Whether every write in `writes` is the value in force on the device
/// (to what the device reports back: some print few decimals).
fn in_force(session: &DeviceSession, writes: &[(u8, f32)]) -> bool {
    writes.iter().all(|&(index, value)| {
        session.params.get(usize::from(index)).is_some_and(|p| {
            let (now, asked) = (f64::from(p.info.value), f64::from(value));
            (now - asked).abs() <= 1e-3 * asked.abs().max(1.0)
        })
    })
}

/// Each stage with its prediction, buttons and verification, then "Put
/// back the gains found"; the click, if any.
pub(super) fn stage_rows_ui(
    ui: &mut egui::Ui,
    designed: &Designed,
    setup: &CascadeSetup,
    session: &DeviceSession,
) -> Option<Action> {
    let mut action = None;
    let idle = session.is_connected()
        && session.output_enabled()
        && !session.procedure_running()
        && !session.write_in_flight();
    let velocity_verified = !designed.stages[0].measured.is_empty();
    for stage in &designed.stages {
        ui.separator();
        ui.strong(stage.label());
        prediction_ui(ui, &stage.predicted);
        let writes = match stage.kind {
            StageKind::Velocity => setup.velocity_writes(&stage.gains),
            StageKind::Position => setup.position_writes(&stage.gains),
        };
        let written = in_force(session, &writes);
        let may_write = match stage.kind {
            StageKind::Velocity => true,
            StageKind::Position => velocity_verified,
        };
        ui.horizontal(|ui| {
            let write = match stage.kind {
                StageKind::Velocity => "Write velocity gains",
                StageKind::Position => "Write position gain",
            };
            if ui
                .add_enabled(idle && may_write && !written, egui::Button::new(write))
                .on_disabled_hover_text(if written {
                    "These gains are in force"
                } else {
                    "The velocity stage is verified first"
                })
                .clicked()
            {
                action = Some(Action::Write(stage.kind));
            }
            let verify = match stage.kind {
                StageKind::Velocity => "Verify velocity stage",
                StageKind::Position => "Verify position stage",
            };
            if ui
                .add_enabled(idle && written, egui::Button::new(verify))
                .on_hover_text(format!(
                    "A step of {} up and back with these gains",
                    sig(stage.amplitude)
                ))
                .clicked()
            {
                action = Some(Action::Verify(stage.kind));
            }
        });
        verification_ui(ui, stage);
    }
    ui.separator();
    let found = setup.device_values(&setup.in_force);
    if ui
        .add_enabled(
            idle && !in_force(session, &found),
            egui::Button::new("Put back the gains found"),
        )
        .on_hover_text("Writes the three gains as identification found them")
        .clicked()
    {
        action = Some(Action::PutBack);
    }
    action
}

/// A stage's predicted step, margins and warnings.
fn prediction_ui(ui: &mut egui::Ui, predicted: &Result<StagePrediction, String>) {
    let predicted = match predicted {
        Ok(p) => p,
        Err(error) => {
            ui.colored_label(ui.visuals().error_fg_color, error);
            return;
        }
    };
    ui.label(format!("Predicted: {}", metrics_text(&predicted.metrics)));
    for (name, margins) in [
        ("velocity", predicted.velocity_margins),
        ("position", predicted.position_margins),
    ] {
        if let Some(m) = margins {
            ui.label(format!("{name} loop: {}", margins_text(&m)));
        }
    }
    for warning in &predicted.warnings {
        ui.colored_label(ui.visuals().warn_fg_color, format!("⚠ {warning}"));
    }
}

fn metrics_text(m: &StepMetrics) -> String {
    let time = |t: Option<f64>| t.map_or("—".to_owned(), |t| format!("{} s", sig(t)));
    format!(
        "rise {}, settling {}, overshoot {:.1} %",
        time(m.rise.time()),
        time(m.settling.time()),
        m.overshoot_percent
    )
}

fn margins_text(m: &LoopMargins) -> String {
    let gain = if m.gain_margin_db.is_finite() {
        format!(", gain margin {:.1} dB", m.gain_margin_db)
    } else {
        String::new()
    };
    format!(
        "crossover {} Hz, phase margin {:.0}°{gain}",
        sig(m.crossover_hz),
        m.phase_margin_deg
    )
}

/// Predicted over mean measured rise time, less 1, in %.
fn rise_error(predicted: &StagePrediction, measured: &[StepResponse]) -> Option<f64> {
    let rises: Vec<f64> = measured
        .iter()
        .filter_map(|s| s.metrics.as_ref().ok()?.rise.time())
        .collect();
    let predicted = predicted.metrics.rise.time()?;
    (!rises.is_empty())
        .then(|| (predicted * rises.len() as f64 / rises.iter().sum::<f64>() - 1.0) * 100.0)
}

/// A stage's measured steps against its prediction.
fn verification_ui(ui: &mut egui::Ui, stage: &Stage) {
    if stage.measured.is_empty() {
        return;
    }
    for (step, way) in stage.measured.iter().zip(["up", "back"]) {
        match &step.metrics {
            Ok(m) => ui.label(format!("Measured {way}: {}", metrics_text(m))),
            Err(error) => ui.label(format!("Measured {way}: {error}")),
        };
    }
    if let Ok(predicted) = &stage.predicted
        && let Some(error) = rise_error(predicted, &stage.measured)
    {
        ui.label(format!("Predicted rise time {error:+.1} % of the measured"));
    }
}

/// Every step, measured and predicted, from where it started: the
/// identification step up, and each stage's.
pub(super) fn plot_ui(ui: &mut egui::Ui, tuned: Option<&Tuned>, session: &DeviceSession) {
    let position = unit(session, ChannelRole::Feedback);
    Plot::new("cascade steps")
        .legend(Legend::default())
        .x_axis_label("time from step [s]")
        .y_axis_label(format!("from the start [{position}]"))
        .show(ui, |plot| {
            let Some(tuned) = tuned else {
                return;
            };
            let measured = |name: String, step: &StepResponse, colour| {
                let start = f64::from(step.from);
                let moved: Vec<f64> = step.feedback.iter().map(|x| x - start).collect();
                Line::new(name, points(&step.time, &moved)).color(colour)
            };
            let pre = tuned.times.0;
            let predicted = |name: &str, p: &StagePrediction, colour| {
                let time: Vec<f64> = p.response.step.time.iter().map(|t| t - pre).collect();
                Line::new(name.to_owned(), points(&time, &p.response.step.feedback))
                    .color(colour)
                    .style(LineStyle::dashed_loose())
            };
            // Each step measured and predicted in one colour: solid
            // measured, dashed predicted.
            let found = Color32::from_rgb(150, 150, 160);
            if let Some(step) = tuned.identification.first() {
                plot.line(measured("gains found (measured)".to_owned(), step, found));
            }
            let Some((_, Ok(designed))) = &tuned.designed else {
                return;
            };
            if let Ok(check) = &designed.check {
                plot.line(predicted("gains found (predicted)", check, found));
            }
            let colours = [
                Color32::from_rgb(80, 200, 120),
                Color32::from_rgb(255, 150, 60),
            ];
            for (stage, colour) in designed.stages.iter().zip(colours) {
                let label = stage.label().to_lowercase();
                if let Ok(p) = &stage.predicted {
                    plot.line(predicted(&format!("{label} (predicted)"), p, colour));
                }
                if let Some(step) = stage.measured.first() {
                    plot.line(measured(format!("{label} (measured)"), step, colour));
                }
            }
        });
}

impl AutoTunePanel {
    /// The bandwidth, the factor (chosen or given), the rule, and the
    /// steps' sizes.
    pub(super) fn cascade_choices_ui(&mut self, ui: &mut egui::Ui, unit: &str) {
        // One choice under another: the column stays as narrow as the
        // pane, so the lines below it wrap inside it.
        let settings = &mut self.settings;
        let tab = &mut self.cascade;
        ui.horizontal(|ui| {
            labelled(ui, "Velocity bandwidth", |ui| {
                ui.add(
                    egui::DragValue::new(&mut settings.cascade_bandwidth_hz)
                        .range(0.1..=2000.0)
                        .speed(0.5)
                        .suffix(" Hz"),
                )
            });
        });
        ui.horizontal(|ui| {
            ui.label("Rule");
            ui.selectable_value(&mut settings.rule, ModelRule::Simc, "SIMC");
            ui.selectable_value(&mut settings.rule, ModelRule::Lambda, "Lambda");
        });
        optional_ui(
            ui,
            "Factor between the loops",
            "choose by prediction",
            &mut settings.cascade_factor,
            FACTORS[2],
            (1.5, 20.0),
            "",
        );
        let suffix = format!(" {unit}");
        optional_ui(
            ui,
            "Identification step",
            "size from the velocity limit",
            &mut tab.amplitude,
            0.1,
            (1e-6, 1e6),
            &suffix,
        );
        optional_ui(
            ui,
            "Verification step",
            "same as identification",
            &mut tab.verify_amplitude,
            tab.tuned.as_ref().map_or(0.1, |t| t.amplitude),
            (1e-6, 1e6),
            &suffix,
        );
    }
}

/// A value the tab chooses unless the user gives one: a checkbox for the
/// tab's choice and the value when unchecked.
fn optional_ui(
    ui: &mut egui::Ui,
    label: &str,
    chosen: &str,
    value: &mut Option<f64>,
    first: f64,
    (low, high): (f64, f64),
    suffix: &str,
) {
    let row = ui.label(label);
    ui.horizontal(|ui| {
        let mut auto = value.is_none();
        if ui
            .checkbox(&mut auto, chosen)
            .on_hover_text(format!("{label}: {chosen}"))
            .changed()
        {
            *value = (!auto).then_some(first);
        }
        if let Some(v) = value {
            let drag = egui::DragValue::new(v)
                .range(low..=high)
                .speed(0.01)
                .suffix(suffix.to_owned());
            ui.add(drag).labelled_by(row.id);
        }
    });
}
