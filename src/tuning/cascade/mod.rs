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
//!    ([`CascadeSetup::saturation`]) and the caller halves it.
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

mod walk;

use crate::analysis::{
    CascadeGains, CascadeLimits, CascadePrediction, LoopMargins, MotorModel, StepMetrics,
    StepOptions, StepPlan, StepRecord, cascade_margins, predict_cascade_step, step_metrics,
};
use crate::protocol::loops::CascadeLoops;
use crate::protocol::{ChannelRole, DeviceInfo};

use super::StepResponse;

pub use walk::{MAX_INCREMENTS, gain_walk};

/// A step within this share of a limit is taken as having reached it.
pub const SATURATION_SHARE: f64 = 0.95;
/// The identification step's velocity command, as a share of the limit.
pub const IDENTIFICATION_SHARE: f64 = 0.5;
/// The velocity bandwidth when none is given, Hz.
pub const DEFAULT_VELOCITY_HZ: f64 = 30.0;
/// The position loop's bandwidth is the velocity loop's over this, unless
/// the user picks another.
pub const DEFAULT_FACTOR: f64 = 4.0;
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

    /// The limit a measured step came within [`SATURATION_SHARE`] of, if
    /// any: the effort from its channel, the velocity from the position's
    /// slope over windows of at least three samples.
    pub fn saturation(&self, response: &StepResponse) -> Option<Saturation> {
        let effort_peak = response
            .effort
            .iter()
            .flatten()
            .fold(0.0_f64, |m, e| m.max(e.abs()));
        if effort_peak >= SATURATION_SHARE * self.limits.applied_effort {
            return Some(Saturation {
                what: Limit::Effort,
                peak: effort_peak,
                limit: self.limits.applied_effort,
            });
        }
        let velocity_peak = peak_slope(&response.time, &response.feedback);
        (velocity_peak >= SATURATION_SHARE * self.limits.velocity).then_some(Saturation {
            what: Limit::Velocity,
            peak: velocity_peak,
            limit: self.limits.velocity,
        })
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
    /// The velocity command's.
    Velocity,
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
        let what = match self.what {
            Limit::Velocity => "velocity",
            Limit::Effort => "effort",
        };
        write!(
            f,
            "the {what} reached {:.4} against its limit {:.4}",
            self.peak, self.limit
        )
    }
}

/// The fastest slope of `feedback` over windows of at least three sample
/// periods: a velocity that one quantization step between two close
/// samples does not inflate.
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
