//! Cascade auto-tune: the velocity loop first, then the position loop
//! around it, on a device that declares a P–PI cascade
//! ([`CascadeLoops`]). Plain functions and data: the command line and the
//! Auto-tune tab run the same stages.
//!
//! The stages:
//! 1. **Identify** the motor from a position step small enough that the
//!    velocity command stays under half its limit
//!    ([`CascadeSetup::identification_amplitude`]); a step whose effort or
//!    velocity came within [`SATURATION_SHARE`] of a limit is refused
//!    ([`CascadeSetup::saturation`]) and the caller halves it; a step
//!    whose velocity command would reach the limit is halved before it
//!    runs ([`CascadeSetup::command_saturation`]).
//! 2. **Velocity loop**: the PI for the chosen bandwidth
//!    ([`crate::analysis::cascade_gains`]), predicted with the position gain
//!    in force and verified by the same small step once written.
//! 3. **Position loop**: its P a factor below, predicted at the
//!    verification step's size with every limit, verified by that step.
//!
//! Gains are designed in the model's units (effort per feedback); a device
//! whose velocity loop outputs torque from a current effort (ODrive) gets
//! them scaled by its output per effort. Writes go from the gains in force
//! to the proposal in increments the write guard allows ([`gain_walk`]).

mod design;
mod walk;

use crate::analysis::{
    CascadeGains, CascadeLimits, CascadePrediction, CascadeTarget, LoopMargins, MotorModel,
    Settling, StepMetrics, StepOptions, StepPlan, StepRecord, cascade_gains, cascade_margins,
    predict_cascade_step, step_metrics,
};
use crate::protocol::loops::CascadeLoops;
use crate::protocol::{ChannelRole, DeviceInfo};

use super::StepResponse;

pub use design::{DesignError, DesignInputs, MotorFit, design, fit_motor, refit_position};
pub use walk::{MAX_INCREMENTS, gain_walk};

/// A step within this share of a limit is taken as having reached it.
pub const SATURATION_SHARE: f64 = 0.95;
/// The identification step's velocity command, as a share of the limit.
pub const IDENTIFICATION_SHARE: f64 = 0.5;
/// The velocity bandwidth when none is given, Hz.
pub const DEFAULT_VELOCITY_HZ: f64 = 30.0;
/// The factors between the loops' bandwidths [`choose_factor`] tries.
pub const FACTORS: [f64; 9] = [2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0];
/// Most overshoot a chosen factor's predicted steps may show, %.
pub const CHOSEN_OVERSHOOT: f64 = 2.0;
/// Least phase margin a chosen factor's position loop may have, degrees.
pub const CHOSEN_PHASE_MARGIN: f64 = 45.0;
/// A predicted velocity peak above this share of the firmware's overspeed
/// threshold is warned about.
const OVERSPEED_MARGIN: f64 = 0.9;

/// Why the cascade cannot be tuned.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CascadeError {
    #[error(
        "the device declares no position–velocity cascade (docs/PROTOCOL.md, \"Loops\"): tune its single loop with --method step or relay"
    )]
    /// No cascade found.
    NoCascade,
    #[error(
        "the device streams no effort channel: the motor model is fitted from effort to position"
    )]
    /// No effort channel.
    NoEffort,
    #[error(
        "the position gain in force is {0}: a cascade needs one above 0 to keep the axis where it is"
    )]
    /// The position gain in force is not above 0.
    NoPositionGain(f64),
}

/// The cascade of a connected device, its gains in force and its limits,
/// all in the model's units.
#[derive(Clone, Debug, PartialEq)]
pub struct CascadeSetup {
    /// Where the cascade's settings are.
    pub loops: CascadeLoops,
    /// The velocity loop's output per unit of effort.
    pub output_per_effort: f64,
    /// The gains in force.
    pub in_force: CascadeGains,
    /// The limits in force and the controller's rate.
    pub limits: CascadeLimits,
}

impl CascadeSetup {
    /// The cascade `info` declares, as it is now.
    pub fn of(info: &DeviceInfo) -> Result<Self, CascadeError> {
        let loops = CascadeLoops::find(info).ok_or(CascadeError::NoCascade)?;
        let effort = info
            .channels
            .iter()
            .find(|c| c.role == ChannelRole::Effort)
            .ok_or(CascadeError::NoEffort)?;
        let applied_share = match loops.names.applied_voltage_share {
            Some(share) if effort.unit == "V" => share,
            _ => 1.0,
        };
        let params = &info.params;
        let output_per_effort = loops.output_per_effort(params);
        let value = |i| CascadeLoops::value(params, i);
        let in_force = CascadeGains {
            position_kp: value(loops.position_p),
            velocity_kp: value(loops.velocity_p) / output_per_effort,
            velocity_ki: value(loops.velocity_i) / output_per_effort,
        };
        if !(in_force.position_kp.is_finite() && in_force.position_kp > 0.0) {
            return Err(CascadeError::NoPositionGain(in_force.position_kp));
        }
        let effort_limit = CascadeLoops::limit(params, &loops.effort_limits);
        let limits = CascadeLimits {
            velocity: CascadeLoops::limit(params, &loops.velocity_limits),
            effort: effort_limit,
            applied_effort: applied_share * effort_limit,
            velocity_filter: loops.velocity_filter(params),
            loop_hz: loops
                .names
                .controller_hz
                .unwrap_or(f64::from(info.loop_hz.max(1))),
            anti_windup: loops.names.anti_windup,
            output_ramp: loops.output_ramp(params),
        };
        Ok(Self {
            loops,
            output_per_effort,
            in_force,
            limits,
        })
    }

    /// The largest position step whose velocity command, with the
    /// position gain in force, stays at [`IDENTIFICATION_SHARE`] of the
    /// velocity limit; `None` without a velocity limit.
    pub fn identification_amplitude(&self) -> Option<f64> {
        let amplitude = IDENTIFICATION_SHARE * self.limits.velocity / self.in_force.position_kp;
        amplitude.is_finite().then(|| step_size(amplitude))
    }

    /// The largest |effort| a measured step shows, and its fastest
    /// velocity: the position's slope over windows of at least three
    /// samples, so one quantization step between two close samples does
    /// not inflate it.
    pub fn peaks(&self, response: &StepResponse) -> (f64, f64) {
        let effort = response
            .effort
            .iter()
            .flatten()
            .fold(0.0_f64, |m, e| m.max(e.abs()));
        (effort, peak_slope(&response.time, &response.feedback))
    }

    /// The limit a measured step came within [`SATURATION_SHARE`] of, if
    /// any: the effort the drive can apply, or the velocity command's.
    pub fn saturation(&self, response: &StepResponse) -> Option<Saturation> {
        let (effort, velocity) = self.peaks(response);
        if effort >= SATURATION_SHARE * self.limits.applied_effort {
            return Some(Saturation {
                what: Limit::Effort,
                peak: effort,
                limit: self.limits.applied_effort,
            });
        }
        (velocity >= SATURATION_SHARE * self.limits.velocity).then_some(Saturation {
            what: Limit::Velocity,
            peak: velocity,
            limit: self.limits.velocity,
        })
    }

    /// The limit a step of `amplitude` would reach before it starts: its
    /// velocity command at the step, the position gain in force times the
    /// step, against [`SATURATION_SHARE`] of the velocity limit.
    pub fn command_saturation(&self, amplitude: f64) -> Option<Saturation> {
        let command = self.in_force.position_kp * amplitude.abs();
        (command >= SATURATION_SHARE * self.limits.velocity).then_some(Saturation {
            what: Limit::VelocityCommand,
            peak: command,
            limit: self.limits.velocity,
        })
    }

    /// Whether the most effort the drive applies is only known to lie
    /// between the assumed share of the limit and the limit (SimpleFOC in
    /// voltage mode), so a saturated step should measure it.
    pub fn applied_effort_uncertain(&self) -> bool {
        self.limits.applied_effort < self.limits.effort
    }

    /// The most effort the drive applies, fitted to `step` (measured with
    /// the gains in force, `pre_s` and `hold_s` as planned): of the
    /// ceilings from the assumed one to the effort limit, the one whose
    /// predicted step is closest to the measured position.
    pub fn fit_applied_effort(
        &self,
        model: &MotorModel,
        step: &StepResponse,
        pre_s: f64,
        hold_s: f64,
    ) -> f64 {
        let amplitude = f64::from(step.to - step.from);
        let error = |ceiling: f64| {
            let mut setup = self.clone();
            setup.limits.applied_effort = ceiling;
            let Ok(stage) = predict_stage(&setup, model, &self.in_force, amplitude, pre_s, hold_s)
            else {
                return f64::INFINITY;
            };
            let predicted = &stage.response.step;
            let start = f64::from(step.from);
            step.time
                .iter()
                .zip(&step.feedback)
                .filter(|(t, _)| **t >= 0.0 && **t <= hold_s)
                .map(|(&t, &x)| {
                    let at = ((t + pre_s) * setup.limits.loop_hz).round() as usize;
                    let y = predicted.feedback.get(at).copied().unwrap_or(f64::NAN);
                    (x - start - y).powi(2)
                })
                .sum::<f64>()
        };
        let (low, high) = (self.limits.applied_effort, self.limits.effort);
        let grid = |from: f64, to: f64| {
            (0..=12)
                .map(|i| from + (to - from) * f64::from(i) / 12.0)
                .map(|c| (c, error(c)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(from, |(c, _)| c)
        };
        let coarse = grid(low, high);
        let width = (high - low) / 12.0;
        grid((coarse - width).max(low), (coarse + width).min(high))
    }

    /// `gains` as the device's values of the position P, velocity P and
    /// velocity I, in that order, with their indices.
    pub fn device_values(&self, gains: &CascadeGains) -> [(u8, f32); 3] {
        [
            (self.loops.position_p, gains.position_kp as f32),
            (
                self.loops.velocity_p,
                (gains.velocity_kp * self.output_per_effort) as f32,
            ),
            (
                self.loops.velocity_i,
                (gains.velocity_ki * self.output_per_effort) as f32,
            ),
        ]
    }

    /// The velocity-loop stage's writes: its P and I.
    pub fn velocity_writes(&self, gains: &CascadeGains) -> Vec<(u8, f32)> {
        self.device_values(gains)[1..].to_vec()
    }

    /// The position-loop stage's write: its P.
    pub fn position_writes(&self, gains: &CascadeGains) -> Vec<(u8, f32)> {
        self.device_values(gains)[..1].to_vec()
    }

    /// The velocity above which the firmware stops with an error, if it
    /// does.
    pub fn overspeed(&self) -> Option<f64> {
        self.loops
            .names
            .overspeed_factor
            .map(|factor| factor * self.limits.velocity)
            .filter(|v| v.is_finite())
    }
}

/// Of [`FACTORS`], the one whose position steps of each of `amplitudes`
/// settle first, worst case, with at most [`CHOSEN_OVERSHOOT`] overshoot
/// and [`CHOSEN_PHASE_MARGIN`] phase margin in the position loop, and its
/// gains; the widest factor when none qualifies (the safest), `None` when
/// no factor gives gains or predictions. With `velocity`, its velocity
/// gains are kept (they are written already) and only the position gain
/// is chosen.
pub fn choose_factor(
    setup: &CascadeSetup,
    model: &MotorModel,
    target: &CascadeTarget,
    velocity: Option<&CascadeGains>,
    amplitudes: &[f64],
    (pre_s, hold_s): (f64, f64),
) -> Option<(f64, CascadeGains)> {
    let judged = |factor: f64| {
        let designed =
            cascade_gains(model, &CascadeTarget { factor, ..*target }, &setup.limits).ok()?;
        let gains = velocity.map_or(designed, |kept| CascadeGains {
            position_kp: designed.position_kp,
            ..*kept
        });
        let mut slowest = 0.0_f64;
        for &amplitude in amplitudes {
            let stage = predict_stage(setup, model, &gains, amplitude, pre_s, hold_s).ok()?;
            let margin = stage.position_margins.map_or(0.0, |m| m.phase_margin_deg);
            let settled = match stage.metrics.settling {
                Settling::Settled(t) => t,
                Settling::NotSettled => f64::INFINITY,
            };
            let fits = stage.metrics.overshoot_percent <= CHOSEN_OVERSHOOT
                && margin >= CHOSEN_PHASE_MARGIN
                && stage.warnings.is_empty();
            slowest = slowest.max(if fits { settled } else { f64::INFINITY });
        }
        Some((factor, gains, slowest))
    };
    let judged: Vec<(f64, CascadeGains, f64)> = FACTORS.iter().filter_map(|&f| judged(f)).collect();
    let widest = judged.last().map(|&(f, g, _)| (f, g));
    judged
        .into_iter()
        .filter(|(_, _, settled)| settled.is_finite())
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(f, g, _)| (f, g))
        .or(widest)
}

/// `amplitude` rounded down to two significant digits: a firmware that
/// prints its target with a few decimals (SimpleFOC's monitor: 4) must show
/// the step's target exactly for the step to be seen.
pub fn step_size(amplitude: f64) -> f64 {
    if !(amplitude.is_finite() && amplitude > 0.0) {
        return amplitude;
    }
    let scale = 10f64.powi(1 - amplitude.log10().floor() as i32);
    // The nudge keeps 0.05 from becoming 0.049 by rounding error.
    (amplitude * scale * (1.0 + 1e-9)).floor() / scale
}

/// Which limit a step reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The velocity's, measured.
    Velocity,
    /// The velocity command's, as the step would ask.
    VelocityCommand,
    /// The effort's.
    Effort,
}

/// A measured step that came within [`SATURATION_SHARE`] of a limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Saturation {
    /// Which limit.
    pub what: Limit,
    /// How far the step went, in the limit's unit.
    pub peak: f64,
    /// The limit.
    pub limit: f64,
}

impl std::fmt::Display for Saturation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, reached) = match self.what {
            Limit::Velocity => ("velocity", "reached"),
            Limit::VelocityCommand => ("velocity command", "would reach"),
            Limit::Effort => ("effort", "reached"),
        };
        write!(
            f,
            "the {what} {reached} {:.4} against its limit {:.4}",
            self.peak, self.limit
        )
    }
}

/// The fastest slope of `feedback` over windows of three sample periods.
fn peak_slope(time: &[f64], feedback: &[f64]) -> f64 {
    const SPAN: usize = 3;
    (SPAN..time.len())
        .map(|i| {
            let dt = time[i] - time[i - SPAN];
            if dt > 0.0 {
                ((feedback[i] - feedback[i - SPAN]) / dt).abs()
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max)
}

/// One stage's prediction: the step, its metrics, the loops' margins.
#[derive(Clone, Debug, PartialEq)]
pub struct StagePrediction {
    /// The gains predicted with.
    pub gains: CascadeGains,
    /// The simulated step.
    pub response: CascadePrediction,
    /// Its metrics.
    pub metrics: StepMetrics,
    /// The velocity loop's margins, linear.
    pub velocity_margins: Option<LoopMargins>,
    /// The position loop's margins, linear.
    pub position_margins: Option<LoopMargins>,
    /// The fastest predicted velocity.
    pub peak_velocity: f64,
    /// What the user should know before writing, one sentence each.
    pub warnings: Vec<String>,
}

/// Why a stage has no prediction.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StagePredictionError {
    #[error("no prediction: {0}")]
    /// The simulation failed.
    Prediction(#[from] crate::analysis::PredictionError),
    #[error("the predicted step cannot be measured: {0}")]
    /// The simulated step has no metrics.
    Metrics(#[from] crate::analysis::StepMetricsError),
}

/// Predicts a position step of `amplitude` held `hold_s` (after `pre_s`)
/// under `gains`, with the limits in force.
pub fn predict_stage(
    setup: &CascadeSetup,
    model: &MotorModel,
    gains: &CascadeGains,
    amplitude: f64,
    pre_s: f64,
    hold_s: f64,
) -> Result<StagePrediction, StagePredictionError> {
    let plan = StepPlan {
        initial: 0.0,
        size: amplitude,
        before: pre_s,
        after: hold_s,
        loop_hz: setup.limits.loop_hz,
    };
    let response = predict_cascade_step(model, gains, &setup.limits, &plan)?;
    let metrics = step_metrics(
        &StepRecord {
            time: &response.step.time,
            reference: &response.step.reference,
            feedback: &response.step.feedback,
            effort: Some(&response.step.effort),
        },
        &StepOptions::default(),
    )?;
    let (velocity_margins, position_margins) = cascade_margins(model, gains, &setup.limits);
    let peak_velocity = response
        .velocity
        .iter()
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    let mut warnings = Vec::new();
    if let Some(overspeed) = setup.overspeed()
        && peak_velocity > OVERSPEED_MARGIN * overspeed
    {
        warnings.push(format!(
            "the velocity peaks at {peak_velocity:.4}, within 10 % of {overspeed:.4} where the firmware stops with an overspeed error: lower the bandwidth or raise the velocity limit"
        ));
    }
    for (name, margins) in [
        ("velocity", velocity_margins),
        ("position", position_margins),
    ] {
        if let Some(m) = margins
            && m.phase_margin_deg < 30.0
        {
            warnings.push(format!(
                "the {name} loop's phase margin is {:.0}°, under 30°: it will ring",
                m.phase_margin_deg
            ));
        }
    }
    Ok(StagePrediction {
        gains: *gains,
        response,
        metrics,
        velocity_margins,
        position_margins,
        peak_velocity,
        warnings,
    })
}

#[cfg(test)]
mod tests;
