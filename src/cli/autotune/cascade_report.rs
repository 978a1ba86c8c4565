//! What `autotune --method cascade` prints: the identification and its
//! model, then each stage's gains under the device's own names (in force
//! → proposed), its margins, predicted and measured step metrics with the
//! rise time's error, and its warnings; as text or one JSON document.

use super::super::report::MeasuredSignals;
use super::report::{metrics_json, metrics_table};
use crate::analysis::{
    CascadeGains, CascadeLimits, CascadeTarget, LoopMargins, MotorModel, PlantModel, StepMetrics,
};
use crate::protocol::DeviceInfo;
use crate::tuning::StepResponse;
use crate::tuning::cascade::{CascadeSetup, StagePrediction};
use crate::tuning::model_parameters;

/// One stage: its writes, prediction and verification.
pub(super) struct StageReport {
    pub name: &'static str,
    /// The device's names and values of the stage's parameters, in force
    /// and proposed.
    pub rows: Vec<(String, f32, f32)>,
    pub predicted: Option<StagePrediction>,
    /// The steps measured: up, and back down for a verification.
    pub measured: Vec<StepResponse>,
    /// Increments the writes took (0: not written).
    pub increments: usize,
}

impl StageReport {
    /// The stage that moves from `from` to `to`: the rows whose values
    /// differ.
    pub fn new(
        name: &'static str,
        setup: &CascadeSetup,
        from: &CascadeGains,
        to: &CascadeGains,
        info: &DeviceInfo,
    ) -> Self {
        let rows = setup
            .device_values(from)
            .iter()
            .zip(setup.device_values(to))
            .filter(|((_, a), (_, b))| a != b)
            .map(|(&(index, a), (_, b))| (info.params[usize::from(index)].name.clone(), a, b))
            .collect();
        Self {
            name,
            rows,
            predicted: None,
            measured: Vec::new(),
            increments: 0,
        }
    }

    /// The first step's metrics.
    fn measured_metrics(&self) -> Option<&StepMetrics> {
        self.measured.first().and_then(|m| m.metrics.as_ref().ok())
    }

    /// The mean rise time of the steps measured, s.
    fn measured_rise(&self) -> Option<f64> {
        let rises = self
            .measured
            .iter()
            .map(|m| m.metrics.as_ref().ok().and_then(rise))
            .collect::<Option<Vec<f64>>>()?;
        (!rises.is_empty()).then(|| rises.iter().sum::<f64>() / rises.len() as f64)
    }

    /// Predicted over measured (mean) rise time, less 1, in %.
    fn rise_error_percent(&self) -> Option<f64> {
        let predicted = rise(&self.predicted.as_ref()?.metrics)?;
        Some((predicted / self.measured_rise()? - 1.0) * 100.0)
    }
}

/// Everything the command found and did.
pub(super) struct CascadeReport<'a> {
    pub info: &'a DeviceInfo,
    pub port: &'a str,
    pub target: CascadeTarget,
    /// The factor between the loops was chosen by prediction.
    pub factor_chosen: bool,
    /// The most effort the drive applies, when a step measured it.
    pub ceiling: Option<f64>,
    pub amplitude: f64,
    pub halvings: u32,
    pub verify_amplitude: f64,
    pub model: MotorModel,
    pub fit_rms: f64,
    /// The motor refitted to the velocity stage's verification step.
    pub refit: Option<(MotorModel, f64)>,
    /// The identification step against the gains in force predicted on
    /// the model.
    pub check: StageReport,
    /// The identification step's largest effort and velocity.
    pub peaks: (f64, f64),
    /// The limits in force.
    pub limits: CascadeLimits,
    pub stages: [StageReport; 2],
    pub write: bool,
    pub written: bool,
}

impl CascadeReport<'_> {
    pub fn json(&self) -> serde_json::Value {
        let signals = MeasuredSignals::of(self.info);
        let model = |m: &MotorModel| -> serde_json::Value {
            model_parameters(
                &PlantModel::Motor(*m),
                &signals.signal_unit,
                &signals.effort_unit,
            )
            .into_iter()
            .map(|(name, value)| (name, serde_json::Value::from(value)))
            .collect::<serde_json::Map<_, _>>()
            .into()
        };
        let stages: Vec<serde_json::Value> = self
            .stages
            .iter()
            .map(|stage| {
                let values = |pick: fn(&(String, f32, f32)) -> f32| -> serde_json::Value {
                    stage
                        .rows
                        .iter()
                        .map(|row| (row.0.clone(), f64::from(pick(row)).into()))
                        .collect::<serde_json::Map<_, _>>()
                        .into()
                };
                let predicted = stage.predicted.as_ref();
                serde_json::json!({
                    "stage": stage.name,
                    "in_force": values(|r| r.1),
                    "proposed": values(|r| r.2),
                    "predicted": predicted.map(|p| metrics_json(&p.metrics)),
                    "predicted_peak_velocity": predicted.map(|p| p.peak_velocity),
                    "velocity_margins": predicted.and_then(|p| p.velocity_margins).map(margins_json),
                    "position_margins": predicted.and_then(|p| p.position_margins).map(margins_json),
                    "warnings": predicted.map_or_else(Vec::new, |p| p.warnings.clone()),
                    "measured": stage.measured_metrics().map(metrics_json),
                    "measured_steps": stage.measured.len(),
                    "measured_mean_rise_time_s": stage.measured_rise(),
                    "rise_time_error_percent": stage.rise_error_percent(),
                    "increments": stage.increments,
                })
            })
            .collect();
        serde_json::json!({
            "device": self.info.name,
            "port": self.port,
            "method": "cascade",
            "rule": if self.target.lambda { "lambda" } else { "simc" },
            "velocity_bandwidth_hz": self.target.velocity_hz,
            "factor": self.target.factor,
            "factor_chosen": self.factor_chosen,
            "identification": {
                "amplitude": self.amplitude,
                "halvings": self.halvings,
                "model": model(&self.model),
                "fit_rms": self.fit_rms,
                "peak_effort": self.peaks.0,
                "peak_velocity": self.peaks.1,
                "applied_effort_limit": finite(self.limits.applied_effort),
                "applied_effort_measured": self.ceiling.is_some(),
                "velocity_limit": finite(self.limits.velocity),
                "measured": self.check.measured_metrics().map(metrics_json),
                "predicted": self.check.predicted.as_ref().map(|p| metrics_json(&p.metrics)),
                "rise_time_error_percent": self.check.rise_error_percent(),
            },
            "refit": self.refit.as_ref().map(|(m, rms)| serde_json::json!({
                "model": model(m),
                "fit_rms": rms,
            })),
            "verify_amplitude": self.verify_amplitude,
            "stages": stages,
            "written": self.written,
        })
    }

    pub fn text(&self) -> String {
        let signals = MeasuredSignals::of(self.info);
        let unit = &signals.signal_unit;
        let target = &self.target;
        let mut out = format!(
            "{} on {}: cascade, velocity loop {} Hz ({}), position loop {:.3} Hz (÷{}{})\n",
            self.info.name,
            self.port,
            target.velocity_hz,
            if target.lambda { "lambda" } else { "SIMC" },
            target.velocity_hz / target.factor,
            target.factor,
            if self.factor_chosen {
                ", the factor whose predicted steps settle first"
            } else {
                ""
            },
        );
        out += &format!(
            "identification step of {:.6} {unit}{}: motor model (fit RMS {:.3e} {unit})\n",
            self.amplitude,
            match self.halvings {
                0 => String::new(),
                n => format!(" (halved {n}× to stay inside the limits)"),
            },
            self.fit_rms,
        );
        let parameters = |m: &MotorModel| {
            model_parameters(&PlantModel::Motor(*m), unit, &signals.effort_unit)
                .iter()
                .map(|(name, value)| format!("  {name}: {value:.6}\n"))
                .collect::<String>()
        };
        out += &parameters(&self.model);
        if let Some(ceiling) = self.ceiling {
            out += &format!(
                "  the drive applies at most {ceiling:.4} {} (fitted to a step of {} {unit} with the gains in force)\n",
                signals.effort_unit, self.verify_amplitude
            );
        }
        if let Some(error) = self.check.rise_error_percent() {
            out += &format!(
                "  the gains in force on this model predict the step's rise time {error:+.1} % of the measured\n"
            );
        }
        for (number, stage) in self.stages.iter().enumerate() {
            out += &format!("stage {}, {} loop:\n", number + 1, stage.name);
            if number == 1
                && let Some((model, rms)) = &self.refit
            {
                out += &format!(
                    "  predicted from the motor refitted to stage 1's step (fit RMS {rms:.3e} {unit}):\n"
                );
                out += &parameters(model);
            }
            for (name, now, new) in &stage.rows {
                out += &format!("  {name}: {now:.6} → {new:.6}\n");
            }
            if let Some(predicted) = &stage.predicted {
                for (loop_name, margins) in [
                    ("velocity", predicted.velocity_margins),
                    ("position", predicted.position_margins),
                ] {
                    if let Some(m) = margins {
                        out += &format!(
                            "  {loop_name} loop: crossover {:.2} Hz, phase margin {:.0}°, gain margin {}\n",
                            m.crossover_hz,
                            m.phase_margin_deg,
                            if m.gain_margin_db.is_finite() {
                                format!("{:.1} dB", m.gain_margin_db)
                            } else {
                                "∞".to_owned()
                            },
                        );
                    }
                }
                let size = if number == 0 {
                    self.amplitude
                } else {
                    self.verify_amplitude
                };
                out += &format!("  step of {size:.6} {unit}:\n");
                out += &metrics_table(&predicted.metrics, stage.measured_metrics())
                    .lines()
                    .map(|line| format!("  {line}\n"))
                    .collect::<String>();
                if let Some(error) = stage.rise_error_percent() {
                    out += &format!(
                        "  predicted rise time {error:+.1} % of the measured (mean of {} steps)\n",
                        stage.measured.len()
                    );
                }
                for warning in &predicted.warnings {
                    out += &format!("  warning: {warning}\n");
                }
            }
            if stage.increments > 1 {
                out += &format!(
                    "  written in {} increments the write guard allows, a step after each\n",
                    stage.increments
                );
            }
        }
        if !self.write {
            out += "Nothing written: add --write to write the gains, velocity loop first, each stage verified by a step.\n";
        }
        out
    }
}

fn rise(metrics: &StepMetrics) -> Option<f64> {
    metrics.rise.time()
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

fn margins_json(m: LoopMargins) -> serde_json::Value {
    serde_json::json!({
        "crossover_hz": m.crossover_hz,
        "phase_margin_deg": m.phase_margin_deg,
        "gain_margin_db": m.gain_margin_db.is_finite().then_some(m.gain_margin_db),
    })
}
