//! Model-based auto-tune: fit a model to a measured step (the drive's
//! effort in, the position out), propose PID gains from it by SIMC or
//! lambda tuning, and predict the step response those gains would give.
//! Plain functions: the Auto-tune tab and `motiontune autotune` call the
//! same ones.
//!
//! The contract:
//! - Every model is fitted from effort to feedback: the plant the position
//!   controller sees. A step without an effort channel cannot be used.
//! - The proposed gains are continuous parallel gains `Kp + Ki/s + Kd·s`
//!   in effort per unit of feedback: the units the device's `kp`, `ki`,
//!   `kd` parameters take (A/rad, A/(rad·s), A·s/rad on the simulated
//!   drive).
//! - The prediction runs the device's own PID (derivative filter and
//!   output limit as in force) on the model, with the step at time 0 as in
//!   a measured [`super::StepResponse`].

use crate::analysis::{
    ClosedLoopSpeed, IdentifyError, InputRecord, ModelTuningError, ParallelGains, PlantModel,
    Prediction, PredictionError, StandardGains, StepMetrics, StepMetricsError, StepOptions,
    StepPlan as PredictionPlan, StepRecord, fit_fopdt, fit_ipdt, fit_motor, lambda_pi_fopdt,
    lambda_pi_ipdt, predict_step, simc_pi_ipdt, simc_pid_fopdt, simc_pid_motor, step_metrics,
};
use crate::protocol::ParamInfo;
use crate::sim::controller::PidGains;

/// Where the position loop's settings sit in the device's parameter table,
/// found by name: the tuning gains ending in `kp`, `ki`, `kd`, and the
/// derivative filter (`kd_filter`) and output limit (`output_limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopParams {
    /// Index of the proportional gain.
    pub kp: u8,
    /// Index of the integral gain.
    pub ki: u8,
    /// Index of the derivative gain.
    pub kd: u8,
    /// Index of the derivative filter's time constant, when the device has one.
    pub derivative_filter: Option<u8>,
    /// Index of the output limit, when the device has one.
    pub output_limit: Option<u8>,
}

impl LoopParams {
    /// The loop's parameters; `None` when the device lacks one of the gains.
    pub fn find(params: &[ParamInfo]) -> Option<Self> {
        let index = |suffix: &str, gain: bool| {
            params
                .iter()
                .position(|p| {
                    p.name.ends_with(suffix)
                        && !p.flags.read_only()
                        && (!gain || p.flags.tuning_gain())
                })
                .and_then(|i| u8::try_from(i).ok())
        };
        Some(Self {
            kp: index("kp", true)?,
            ki: index("ki", true)?,
            kd: index("kd", true)?,
            derivative_filter: index("kd_filter", false),
            output_limit: index("output_limit", false),
        })
    }

    /// The gains in force.
    pub fn gains(&self, params: &[ParamInfo]) -> ParallelGains {
        let value = |i: u8| {
            params
                .get(usize::from(i))
                .map_or(0.0, |p| f64::from(p.value))
        };
        ParallelGains {
            kp: value(self.kp),
            ki: value(self.ki),
            kd: value(self.kd),
        }
    }

    /// The derivative filter (0 when the device has none) and output limit
    /// (unlimited when it has none) in force.
    pub fn filter_and_limit(&self, params: &[ParamInfo]) -> (f64, f64) {
        let value = |i: Option<u8>| {
            i.and_then(|i| params.get(usize::from(i)))
                .map(|p| f64::from(p.value))
        };
        (
            value(self.derivative_filter).unwrap_or(0.0),
            value(self.output_limit).unwrap_or(f64::INFINITY),
        )
    }

    /// The writes that put `gains` in force.
    pub fn writes(&self, gains: &ParallelGains) -> [(u8, f32); 3] {
        [
            (self.kp, gains.kp as f32),
            (self.ki, gains.ki as f32),
            (self.kd, gains.kd as f32),
        ]
    }
}

/// Which model to fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ModelKind {
    /// `ÿ = (K/J)·u − (b/J)·ẏ`: the motor and its position.
    #[default]
    Motor,
    /// First order plus dead time.
    Fopdt,
    /// Integrating plus dead time.
    Ipdt,
}

impl ModelKind {
    /// Every model, in the order the UI lists them.
    pub const ALL: [Self; 3] = [Self::Motor, Self::Fopdt, Self::Ipdt];

    /// The model's name as the UI shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Motor => "Motor (effort to position)",
            Self::Fopdt => "First order + dead time",
            Self::Ipdt => "Integrator + dead time",
        }
    }
}

/// Which tuning rule turns the model into gains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ModelRule {
    /// Skogestad's SIMC (PID for the motor and FOPDT, PI for IPDT).
    #[default]
    Simc,
    /// Lambda / IMC (PI for FOPDT and IPDT).
    Lambda,
}

impl ModelRule {
    /// Every rule, in the order the UI lists them.
    pub const ALL: [Self; 2] = [Self::Simc, Self::Lambda];

    /// The rule's name as the UI shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Simc => "SIMC",
            Self::Lambda => "Lambda (IMC)",
        }
    }
}

/// Why there is no model, gains or prediction.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AutoTuneError {
    #[error("this step has no effort channel: the model is fitted from effort to position")]
    /// The step has no effort channel.
    NoEffort,
    #[error("the fit failed: {0}")]
    /// The model could not be fitted.
    Identify(#[from] IdentifyError),
    #[error("no gains: {0}")]
    /// The model gives no gains.
    Tuning(#[from] ModelTuningError),
    #[error(
        "the lambda rule has no form for the motor model: choose SIMC, or the integrator + dead time model"
    )]
    /// Lambda tuning has no form for the motor model.
    NoLambdaForMotor,
    #[error("no prediction: {0}")]
    /// The step could not be predicted.
    Prediction(#[from] PredictionError),
}

/// A fitted model with its fit, ready to overlay on the data.
#[derive(Clone, Debug, PartialEq)]
pub struct Identified {
    /// The fitted model.
    pub model: PlantModel,
    /// The model's output at each sample of the record.
    pub fitted: Vec<f64>,
    /// `feedback − fitted`, per sample.
    pub residual: Vec<f64>,
    /// Root mean square of the residual, in the feedback's unit.
    pub rms: f64,
}

/// Fits `kind` to a step's effort and feedback, sampled at `time` (in
/// seconds from the step, as in a [`super::StepResponse`]). The fit uses
/// the record up to the end of the motion: twice the time the feedback
/// takes to first cover 90 % of its change. In the hold after it, friction
/// and stiction hold the axis with an effort a linear model reads as
/// drive, and its error integrates twice in a motor model; on the
/// simulated drive a 1 s hold took the fitted K/J from 68 to 9 rad/s²/A
/// (true 71). `fitted` and `residual` cover that window only.
pub fn identify(
    kind: ModelKind,
    time: &[f64],
    effort: Option<&[f64]>,
    feedback: &[f64],
) -> Result<Identified, AutoTuneError> {
    let effort = effort.ok_or(AutoTuneError::NoEffort)?;
    let len = motion_window(time, feedback)
        .min(effort.len())
        .min(feedback.len());
    let record = InputRecord {
        time: &time[..len.min(time.len())],
        input: &effort[..len],
        output: &feedback[..len],
    };
    Ok(match kind {
        ModelKind::Motor => {
            let fit = fit_motor(&record)?;
            Identified {
                model: PlantModel::Motor(fit.model),
                fitted: fit.fitted,
                residual: fit.residual,
                rms: fit.rms,
            }
        }
        ModelKind::Fopdt => {
            let fit = fit_fopdt(&record)?;
            Identified {
                model: PlantModel::Fopdt(fit.model),
                fitted: fit.fitted,
                residual: fit.residual,
                rms: fit.rms,
            }
        }
        ModelKind::Ipdt => {
            let fit = fit_ipdt(&record)?;
            Identified {
                model: PlantModel::Ipdt(fit.model),
                fitted: fit.fitted,
                residual: fit.residual,
                rms: fit.rms,
            }
        }
    })
}

/// Samples from the start of the record to twice the time from the step
/// (time 0) to the first sample 90 % of the way to the final value (the
/// mean of the last 10 % of the record); all of them when that is never
/// reached.
fn motion_window(time: &[f64], feedback: &[f64]) -> usize {
    let len = time.len().min(feedback.len());
    let Some(step) = time[..len].iter().position(|t| *t >= 0.0) else {
        return len;
    };
    let tail = &feedback[len - (len / 10).max(1)..len];
    let initial = feedback[step];
    let change = tail.iter().sum::<f64>() / tail.len() as f64 - initial;
    let reached =
        (step..len).find(|&i| (feedback[i] - initial) * change.signum() >= 0.9 * change.abs());
    match reached {
        Some(i) if change != 0.0 => {
            let end = 2.0 * time[i];
            time[..len].iter().position(|t| *t > end).unwrap_or(len)
        }
        _ => len,
    }
}

/// The model's parameters as (name, value, unit) for display; `signal`
/// and `effort` are the feedback's and effort's units.
pub fn model_parameters(model: &PlantModel, signal: &str, effort: &str) -> Vec<(String, f64)> {
    match model {
        PlantModel::Motor(m) => vec![
            (
                format!("acceleration gain K/J ({signal}/s² per {effort})"),
                m.acceleration_gain,
            ),
            ("damping rate b/J (1/s)".to_owned(), m.damping_rate),
            (
                "mechanical time constant J/b (s)".to_owned(),
                1.0 / m.damping_rate,
            ),
        ],
        PlantModel::Fopdt(m) => vec![
            (format!("gain K ({signal}/{effort})"), m.gain),
            ("time constant (s)".to_owned(), m.time_constant),
            ("dead time (s)".to_owned(), m.dead_time),
        ],
        PlantModel::Ipdt(m) => vec![
            (format!("gain K ({signal}/s per {effort})"), m.gain),
            ("dead time (s)".to_owned(), m.dead_time),
        ],
    }
}

/// Proposed gains, in both forms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proposal {
    /// In standard (ISA) form.
    pub standard: StandardGains,
    /// In parallel form, as the simulated drive takes them.
    pub parallel: ParallelGains,
}

/// Gains for `model` by `rule` at closed-loop `speed`.
pub fn propose(
    model: &PlantModel,
    rule: ModelRule,
    speed: ClosedLoopSpeed,
) -> Result<Proposal, AutoTuneError> {
    let standard = match (model, rule) {
        (PlantModel::Motor(m), ModelRule::Simc) => simc_pid_motor(m, speed)?,
        (PlantModel::Motor(_), ModelRule::Lambda) => return Err(AutoTuneError::NoLambdaForMotor),
        (PlantModel::Fopdt(m), ModelRule::Simc) => simc_pid_fopdt(m, speed)?,
        (PlantModel::Fopdt(m), ModelRule::Lambda) => lambda_pi_fopdt(m, speed)?,
        (PlantModel::Ipdt(m), ModelRule::Simc) => simc_pi_ipdt(m, speed)?,
        (PlantModel::Ipdt(m), ModelRule::Lambda) => lambda_pi_ipdt(m, speed)?,
    };
    Ok(Proposal {
        standard,
        parallel: standard.parallel(),
    })
}

/// The step to predict and the controller settings in force that the
/// proposal does not change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PreviewPlan {
    /// Setpoint before and after the step.
    pub from: f64,
    /// The setpoint after the step.
    pub to: f64,
    /// Seconds before and after the step.
    pub before_s: f64,
    /// Seconds after it.
    pub hold_s: f64,
    /// The device's loop rate, Hz.
    pub loop_hz: f64,
    /// The derivative filter's time constant in force, s.
    pub derivative_filter: f64,
    /// The output limit in force, in effort units.
    pub output_limit: f64,
}

/// A predicted step and its metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    /// Time from the step, s (negative before it).
    pub prediction: Prediction,
    /// The predicted step's metrics, or why it has none.
    pub metrics: Result<StepMetrics, StepMetricsError>,
}

/// Predicts the step in `plan` with `gains` on `model`.
pub fn preview(
    model: &PlantModel,
    gains: &ParallelGains,
    plan: &PreviewPlan,
    options: &StepOptions,
) -> Result<Preview, AutoTuneError> {
    let pid = PidGains {
        kp: gains.kp,
        ki: gains.ki,
        kd: gains.kd,
        derivative_filter: plan.derivative_filter,
        output_limit: plan.output_limit,
    };
    let mut prediction = predict_step(
        model,
        &pid,
        &PredictionPlan {
            initial: plan.from,
            size: plan.to - plan.from,
            before: plan.before_s,
            after: plan.hold_s,
            loop_hz: plan.loop_hz,
        },
    )?;
    // The step is at the first sample with the new reference: move it to 0.
    let step_at = prediction
        .reference
        .iter()
        .position(|r| *r != plan.from)
        .map_or(0.0, |i| prediction.time[i]);
    for t in &mut prediction.time {
        *t -= step_at;
    }
    let metrics = step_metrics(
        &StepRecord {
            time: &prediction.time,
            reference: &prediction.reference,
            feedback: &prediction.feedback,
            effort: Some(&prediction.effort),
        },
        options,
    );
    Ok(Preview {
        prediction,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{MotorModel, Rise};

    const MOTOR: MotorModel = MotorModel {
        acceleration_gain: 50.0,
        damping_rate: 1.0,
    };

    fn plan() -> PreviewPlan {
        PreviewPlan {
            from: 0.0,
            to: 0.1,
            before_s: 0.05,
            hold_s: 1.0,
            loop_hz: 10_000.0,
            derivative_filter: 0.0,
            output_limit: 1e6,
        }
    }

    /// A step of the motor itself under some gains: the record to fit.
    fn motor_step() -> Prediction {
        let gains = ParallelGains {
            kp: 2.0,
            ki: 0.0,
            kd: 0.2,
        };
        let plan = PreviewPlan {
            loop_hz: 1000.0,
            ..plan()
        };
        preview(
            &PlantModel::Motor(MOTOR),
            &gains,
            &plan,
            &StepOptions::default(),
        )
        .expect("the test loop is stable")
        .prediction
    }

    #[test]
    fn identify_recovers_the_motor_from_its_own_step() {
        let step = motor_step();
        let identified = identify(
            ModelKind::Motor,
            &step.time,
            Some(&step.effort),
            &step.feedback,
        )
        .expect("a clean step fits");
        let PlantModel::Motor(fitted) = identified.model else {
            panic!("asked for a motor model, got {:?}", identified.model);
        };
        assert!((fitted.acceleration_gain / MOTOR.acceleration_gain - 1.0).abs() < 1e-3);
        assert!((fitted.damping_rate / MOTOR.damping_rate - 1.0).abs() < 1e-3);
        assert!(identified.rms < 1e-6, "rms {}", identified.rms);
        // The fit covers the motion: twice the time to 90 % of the step.
        let n = identified.fitted.len();
        assert!(n > 50 && n < step.time.len(), "{n} of {}", step.time.len());
        let initial = step.feedback[50];
        let tail = &step.feedback[step.feedback.len() * 9 / 10..];
        let change = tail.iter().sum::<f64>() / tail.len() as f64 - initial;
        let t90 = step
            .time
            .iter()
            .zip(&step.feedback)
            .find(|(t, y)| **t >= 0.0 && **y - initial >= 0.9 * change)
            .map(|(t, _)| *t)
            .expect("the step reaches 90 %");
        assert!(
            (step.time[n - 1] - 2.0 * t90).abs() <= 1e-3,
            "window ends at {}",
            step.time[n - 1]
        );
    }

    #[test]
    fn a_record_that_never_gets_near_its_final_value_is_fitted_whole() {
        let time = [-0.2, -0.1, 0.0, 0.1, 0.2, 0.3];
        let flat = [0.0; 6];
        assert_eq!(motion_window(&time, &flat), 6);
    }

    #[test]
    fn a_step_without_effort_is_refused() {
        let step = motor_step();
        assert_eq!(
            identify(ModelKind::Motor, &step.time, None, &step.feedback),
            Err(AutoTuneError::NoEffort)
        );
    }

    #[test]
    fn simc_on_the_motor_is_the_published_rule() {
        let tau_c = 0.05;
        let proposal = propose(
            &PlantModel::Motor(MOTOR),
            ModelRule::Simc,
            ClosedLoopSpeed::TimeConstant(tau_c),
        )
        .expect("a valid model has gains");
        // K' = 50, τ2 = 1: Kc = 1/(K'τc) = 0.4, τI = 0.2, τD = 1 (series).
        let (kc, tau_i, tau_d) = (0.4, 0.2, 1.0);
        let kp = kc * (1.0 + tau_d / tau_i);
        assert!((proposal.parallel.kp - kp).abs() < 1e-12);
        assert!((proposal.parallel.ki - kc / tau_i).abs() < 1e-12);
        assert!((proposal.parallel.kd - kc * tau_d).abs() < 1e-12);
    }

    #[test]
    fn lambda_has_no_motor_form() {
        assert_eq!(
            propose(
                &PlantModel::Motor(MOTOR),
                ModelRule::Lambda,
                ClosedLoopSpeed::TimeConstant(0.1)
            ),
            Err(AutoTuneError::NoLambdaForMotor)
        );
    }

    #[test]
    fn a_slower_target_gives_a_slower_predicted_rise() {
        let rise = |tau_c: f64| {
            let proposal = propose(
                &PlantModel::Motor(MOTOR),
                ModelRule::Simc,
                ClosedLoopSpeed::TimeConstant(tau_c),
            )
            .expect("gains");
            let preview = preview(
                &PlantModel::Motor(MOTOR),
                &proposal.parallel,
                &plan(),
                &StepOptions::default(),
            )
            .expect("stable");
            assert!(preview.prediction.time[0] < 0.0, "the step is at time 0");
            match preview.metrics.expect("measurable").rise {
                Rise::Reached { duration, .. } => duration,
                other => panic!("no rise: {other:?}"),
            }
        };
        let fast = rise(0.02);
        let slow = rise(0.08);
        assert!(
            slow > 2.0 * fast,
            "rise {fast} s at τc 0.02, {slow} s at 0.08"
        );
    }
}
