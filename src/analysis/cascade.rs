//! A position loop around a velocity loop, the P–PI cascade ODrive and
//! SimpleFOC run: gains for a chosen velocity bandwidth from a motor
//! model, the step response they would give with the limits in force, and
//! each loop's margins.
//!
//! The contract:
//! - The model is the [`MotorModel`] fitted from effort to position,
//!   `ÿ = a·u − c·ẏ`. Seen from the velocity loop it is the first-order
//!   plant `a/(s + c)`: FOPDT with gain `a/c`, time constant `1/c`, and
//!   as dead time θ the loop's own delay (one control tick) plus the
//!   velocity filter's time constant (SIMC's half rule counts a small lag
//!   as delay). A damping rate too small to matter is the integrator `a/s`.
//! - Gains are in the model's units: velocity `kp` in effort per
//!   (feedback/s), velocity `ki` in effort per feedback, position `kp` in
//!   1/s. A device whose velocity loop outputs torque from a current
//!   effort scales them itself.
//! - The velocity PI is SIMC's (or lambda's) for that plant with
//!   `τc = 1/(2π·f)`; the position P is `1/(factor·(τc + θ))`: the outer
//!   loop a factor below the inner loop's closed-loop speed, which the
//!   delay slows below the one asked for.
//! - The prediction runs both loops each tick of `1/loop_hz` s: velocity
//!   command `kp_pos·(reference − position)` clamped to the velocity
//!   limit, effort `kp_vel·e + integral` clamped to the effort limit, the
//!   integral treated as the firmware treats it while the effort is
//!   clamped ([`AntiWindup`]), its change per tick bounded by the output
//!   ramp, the drive applying at most the applied limit of it, the
//!   velocity measured
//!   through the first-order filter. The model is advanced exactly with
//!   the effort held for the tick, as in [`super::predict_step`].

use std::f64::consts::TAU;

use realfft::num_complex::Complex64;

use super::closed_loop::ModelState;
use super::identify::{Fopdt, Ipdt, MotorModel};
use super::model_rules::{
    ClosedLoopSpeed, ModelTuningError, lambda_pi_fopdt, simc_pi_fopdt, simc_pi_ipdt,
};
use super::{PlantModel, Prediction, PredictionError, StepPlan};

/// The gains of a P–PI cascade, in the model's units (module contract).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CascadeGains {
    /// Position loop P, (feedback/s) per feedback: 1/s.
    pub position_kp: f64,
    /// Velocity loop P, effort per (feedback/s).
    pub velocity_kp: f64,
    /// Velocity loop I, effort per feedback.
    pub velocity_ki: f64,
}

/// What bounds the cascade, in the model's units.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CascadeLimits {
    /// Largest velocity command, feedback/s (infinite when none).
    pub velocity: f64,
    /// Largest effort the velocity loop commands, and the bound of its
    /// integral (infinite when none).
    pub effort: f64,
    /// Largest effort the drive applies: below `effort` where the
    /// modulation cannot give what is commanded (SimpleFOC's sine PWM).
    pub applied_effort: f64,
    /// Time constant of the filter on the measured velocity, s (0: none).
    pub velocity_filter: f64,
    /// Control loop rate, Hz.
    pub loop_hz: f64,
    /// What the velocity integral does while the effort is clamped.
    pub anti_windup: AntiWindup,
    /// Fastest change of the velocity loop's output, per second (infinite
    /// when none): SimpleFOC's `output_ramp`.
    pub output_ramp: f64,
}

/// What a firmware's velocity integral does while the effort is clamped:
/// the part of the loop that most changes a large step.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub enum AntiWindup {
    /// It stops integrating (the native drive's PID).
    #[default]
    Hold,
    /// It is multiplied by this each tick instead (ODrive: 0.99).
    Decay(f64),
    /// It integrates on, clamped to the effort limit (SimpleFOC's PID).
    ClampToLimit,
}

/// The bandwidths asked for.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CascadeTarget {
    /// The velocity loop's bandwidth, Hz.
    pub velocity_hz: f64,
    /// The position loop's bandwidth is the velocity loop's over this.
    pub factor: f64,
    /// SIMC (integral time `min(1/c, 4(τc + θ))`) or lambda (`1/c`).
    pub lambda: bool,
}

/// Largest damping rate, as a share of the velocity bandwidth, below
/// which the plant is taken as the integrator `a/s`.
const INTEGRATOR_SHARE: f64 = 1e-3;

/// The cascade's gains for `target` on `model`; see the module contract.
pub fn cascade_gains(
    model: &MotorModel,
    target: &CascadeTarget,
    limits: &CascadeLimits,
) -> Result<CascadeGains, ModelTuningError> {
    let a = model.acceleration_gain;
    let c = model.damping_rate;
    if !(a.is_finite() && a > 0.0) {
        return Err(ModelTuningError::InvalidModel("acceleration gain"));
    }
    if !c.is_finite() {
        return Err(ModelTuningError::InvalidModel("damping rate"));
    }
    if !(target.velocity_hz.is_finite() && target.velocity_hz > 0.0) {
        return Err(ModelTuningError::InvalidSpeed);
    }
    if !(target.factor.is_finite() && target.factor >= 1.0) {
        return Err(ModelTuningError::InvalidModel("bandwidth factor"));
    }
    let dead_time = delay(limits);
    let speed = ClosedLoopSpeed::BandwidthHz(target.velocity_hz);
    let omega = TAU * target.velocity_hz;
    let standard = if c <= INTEGRATOR_SHARE * omega {
        let ipdt = Ipdt { gain: a, dead_time };
        if target.lambda {
            // Lambda's integral time is the plant's 1/c: none for an
            // integrator.
            let mut gains = simc_pi_ipdt(&ipdt, speed)?;
            gains.ti = f64::INFINITY;
            gains
        } else {
            simc_pi_ipdt(&ipdt, speed)?
        }
    } else {
        let fopdt = Fopdt {
            gain: a / c,
            time_constant: 1.0 / c,
            dead_time,
        };
        if target.lambda {
            lambda_pi_fopdt(&fopdt, speed)?
        } else {
            simc_pi_fopdt(&fopdt, speed)?
        }
    };
    // The velocity loop closes at 1/(τc + θ): the position loop goes a
    // factor below what it gets, not below what was asked.
    Ok(CascadeGains {
        position_kp: 1.0 / ((1.0 / omega + dead_time) * target.factor),
        velocity_kp: standard.kp,
        velocity_ki: if standard.ti.is_finite() {
            standard.kp / standard.ti
        } else {
            0.0
        },
    })
}

/// The delay the velocity loop sees: one tick, and the velocity filter.
fn delay(limits: &CascadeLimits) -> f64 {
    let tick = if limits.loop_hz.is_finite() && limits.loop_hz > 0.0 {
        1.0 / limits.loop_hz
    } else {
        0.0
    };
    tick + limits.velocity_filter.max(0.0)
}

/// A predicted cascade step: the position step, and the velocity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CascadePrediction {
    /// Time, reference, position and effort, one sample per tick.
    pub step: Prediction,
    /// The velocity, feedback/s.
    pub velocity: Vec<f64>,
    /// Ticks where the velocity command was at its limit.
    pub velocity_limited: usize,
    /// Ticks where the effort was at its limit.
    pub effort_limited: usize,
}

/// Simulates the cascade on `model` for the position step in `plan`
/// (its `loop_hz` is the controller's); see the module contract.
pub fn predict_cascade_step(
    model: &MotorModel,
    gains: &CascadeGains,
    limits: &CascadeLimits,
    plan: &StepPlan,
) -> Result<CascadePrediction, PredictionError> {
    let (dt, before_ticks, ticks) = plan.ticks()?;
    let mut plant = ModelState::new(&PlantModel::Motor(*model), dt)?;
    let velocity_limit = limits.velocity.abs();
    let effort_limit = limits.effort.abs();
    let applied_limit = limits.applied_effort.abs().min(effort_limit);
    // Backward-Euler first-order filter on the measured velocity.
    let filter = limits.velocity_filter.max(0.0);
    let mut measured_velocity = 0.0;
    let mut integral = 0.0;
    let mut last_effort = 0.0_f64;
    let mut out = CascadePrediction::default();
    for k in 0..ticks {
        let reference = plan.initial + if k < before_ticks { 0.0 } else { plan.size };
        let position = plan.initial + plant.output();
        let velocity = plant.speed();
        if !position.is_finite() || position.abs() > 1e12 {
            return Err(PredictionError::Diverged);
        }
        measured_velocity = (filter * measured_velocity + dt * velocity) / (filter + dt);
        let wanted = gains.position_kp * (reference - position);
        let command = wanted.clamp(-velocity_limit, velocity_limit);
        out.velocity_limited += usize::from(command != wanted);
        let error = command - measured_velocity;
        let unclamped = gains.velocity_kp * error + integral;
        // The ramp acts on the clamped output, as SimpleFOC's PID does
        // (pid.cpp:47-57).
        let clamped_output = unclamped.clamp(-effort_limit, effort_limit);
        let step = limits.output_ramp.abs() * dt;
        let effort = clamped_output.clamp(last_effort - step, last_effort + step);
        last_effort = effort;
        let applied = effort.clamp(-applied_limit, applied_limit);
        let clamped = clamped_output != unclamped;
        out.effort_limited += usize::from(clamped);
        integral = match limits.anti_windup {
            AntiWindup::Hold if clamped => integral,
            AntiWindup::Decay(factor) if clamped => integral * factor,
            AntiWindup::ClampToLimit => {
                (integral + gains.velocity_ki * error * dt).clamp(-effort_limit, effort_limit)
            }
            _ => integral + gains.velocity_ki * error * dt,
        };
        out.step.time.push(k as f64 * dt);
        out.step.reference.push(reference);
        out.step.feedback.push(position);
        out.step.effort.push(effort);
        out.velocity.push(velocity);
        plant.advance(applied);
    }
    Ok(out)
}

/// Where a loop crosses 0 dB and how far it is from instability there.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LoopMargins {
    /// The open loop's gain crossover, Hz.
    pub crossover_hz: f64,
    /// 180° plus the open loop's phase at the crossover, degrees.
    pub phase_margin_deg: f64,
    /// How far below 0 dB the open loop is where its phase first reaches
    /// −180° above the crossover, dB; infinite when it never does in the
    /// band looked at.
    pub gain_margin_db: f64,
}

/// The margins of the velocity loop (broken at the effort) and of the
/// position loop (broken at the velocity command, the velocity loop
/// closed), linear: without the limits.
pub fn cascade_margins(
    model: &MotorModel,
    gains: &CascadeGains,
    limits: &CascadeLimits,
) -> (Option<LoopMargins>, Option<LoopMargins>) {
    let delay = if limits.loop_hz > 0.0 {
        1.0 / limits.loop_hz
    } else {
        0.0
    };
    let velocity_open = |w: f64| {
        let s = Complex64::new(0.0, w);
        let plant = model.acceleration_gain / (s + model.damping_rate);
        let controller = gains.velocity_kp + gains.velocity_ki / s;
        let lag = 1.0 / (s * limits.velocity_filter.max(0.0) + 1.0);
        controller * plant * lag * (-s * delay).exp()
    };
    let position_open = |w: f64| {
        let s = Complex64::new(0.0, w);
        let inner = velocity_open(w);
        let plant = model.acceleration_gain / (s + model.damping_rate);
        let controller = gains.velocity_kp + gains.velocity_ki / s;
        // Velocity command to velocity with the filter in the feedback.
        let closed = controller * plant * (-s * delay).exp() / (1.0 + inner);
        gains.position_kp * closed / s
    };
    (margins(velocity_open), margins(position_open))
}

/// The margins of `open` over 0.01 Hz … 100 kHz, on a log grid refined
/// where the gain and the phase cross.
fn margins(open: impl Fn(f64) -> Complex64) -> Option<LoopMargins> {
    const POINTS: usize = 4000;
    let (low, high) = ((TAU * 0.01).ln(), (TAU * 1e5).ln());
    let omega = |i: usize| (low + (high - low) * i as f64 / (POINTS - 1) as f64).exp();
    let mut crossover = None;
    let mut gain_margin = f64::INFINITY;
    let mut phase = open(omega(0)).arg();
    let mut last = open(omega(0));
    for i in 1..POINTS {
        let w = omega(i);
        let value = open(w);
        // Unwrap the phase along the grid.
        let mut step = (value / last).arg();
        if !step.is_finite() {
            step = 0.0;
        }
        let previous_phase = phase;
        phase += step;
        if crossover.is_none() && last.norm() >= 1.0 && value.norm() < 1.0 {
            crossover = Some((w, phase));
        }
        let minus_pi = -std::f64::consts::PI;
        let crossed = crossover.is_some();
        if crossed && gain_margin.is_infinite() && previous_phase > minus_pi && phase <= minus_pi {
            gain_margin = -20.0 * value.norm().log10();
        }
        last = value;
    }
    let (w, phase) = crossover?;
    Some(LoopMargins {
        crossover_hz: w / TAU,
        phase_margin_deg: 180.0 + phase.to_degrees(),
        gain_margin_db: gain_margin,
    })
}

#[cfg(test)]
mod tests;
