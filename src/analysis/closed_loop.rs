//! The predicted step response of an identified model under a proposed
//! PID, computed the way the simulated drive runs its loop, for the
//! preview shown before any gain is written.
//!
//! The contract:
//! - The controller is the drive's own ([`crate::sim::controller::Pid`]):
//!   derivative on the measurement through a first-order filter, clamping
//!   anti-windup, symmetric output limit, one update per tick of
//!   `1/loop_hz` s. Each tick measures, computes the effort, then advances
//!   the model with that effort held for the tick (as `SimDrive::tick`).
//! - The model starts at rest at the initial reference with zero effort:
//!   the prediction is about that operating point, and the effort is the
//!   change from what held the axis there (0 for a motor at rest).
//! - The model is advanced exactly for a held effort; a dead time that is
//!   not a whole number of ticks splits the tick where the delayed effort
//!   changes.
//! - The result has one sample per tick: time from 0, the reference
//!   (initial, then initial + size from the step on), the feedback and the
//!   effort, ready for [`super::step_metrics`].

use super::identify::{Fopdt, Ipdt, MotorModel};
use crate::sim::controller::{Pid, PidGains};

/// A model to predict with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PlantModel {
    /// First order plus dead time.
    Fopdt(Fopdt),
    /// Integrating plus dead time.
    Ipdt(Ipdt),
    /// The motor: effort to position.
    Motor(MotorModel),
}

/// The step to predict.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepPlan {
    /// Reference before the step.
    pub initial: f64,
    /// Size of the step.
    pub size: f64,
    /// Time held before the step, s (at least one tick is used).
    pub before: f64,
    /// Time held after the step, s.
    pub after: f64,
    /// Control loop rate, Hz.
    pub loop_hz: f64,
}

/// The predicted response, one sample per control tick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prediction {
    /// Seconds from the start of the prediction, one per control tick.
    pub time: Vec<f64>,
    /// The reference, in the feedback's unit.
    pub reference: Vec<f64>,
    /// The predicted feedback.
    pub feedback: Vec<f64>,
    /// The predicted effort, after the limit.
    pub effort: Vec<f64>,
}

/// Why there is no prediction.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PredictionError {
    #[error("loop rate {0} Hz must be a finite number above 0")]
    /// The loop rate is not a finite number above 0.
    InvalidLoopRate(f64),
    #[error("step times must be finite and 0 or above, the step size finite")]
    /// A step time is negative or not finite, or the step size not finite.
    InvalidPlan,
    #[error("the prediction would take {0} ticks: shorten it or lower the loop rate")]
    /// The prediction would take too many ticks.
    TooLong(usize),
    #[error("the model's parameters are not finite numbers, or its time constant is not above 0")]
    /// The model's parameters are not usable.
    InvalidModel,
    #[error("the predicted response diverged: the proposed gains make this model unstable")]
    /// The predicted response diverged.
    Diverged,
}

/// Most ticks one prediction simulates (10 kHz for 100 s).
const MAX_TICKS: usize = 1_000_000;

impl StepPlan {
    /// The tick, the ticks before the step and the ticks in all, once the
    /// plan is checked: a loop rate above 0, finite times of 0 or more, a
    /// finite step, at most [`MAX_TICKS`].
    pub(super) fn ticks(&self) -> Result<(f64, usize, usize), PredictionError> {
        if !(self.loop_hz.is_finite() && self.loop_hz > 0.0) {
            return Err(PredictionError::InvalidLoopRate(self.loop_hz));
        }
        let times_valid = [self.before, self.after]
            .iter()
            .all(|t| t.is_finite() && *t >= 0.0);
        if !(times_valid && self.size.is_finite() && self.initial.is_finite()) {
            return Err(PredictionError::InvalidPlan);
        }
        let dt = 1.0 / self.loop_hz;
        let before_ticks = ((self.before / dt).round() as usize).max(1);
        let ticks = before_ticks + ((self.after / dt).round() as usize).max(1);
        if ticks > MAX_TICKS {
            return Err(PredictionError::TooLong(ticks));
        }
        Ok((dt, before_ticks, ticks))
    }
}

/// Simulates `gains` on `model` for the step in `plan`; see the module
/// contract.
pub fn predict_step(
    model: &PlantModel,
    gains: &PidGains,
    plan: &StepPlan,
) -> Result<Prediction, PredictionError> {
    let (dt, before_ticks, ticks) = plan.ticks()?;
    let mut plant = ModelState::new(model, dt)?;
    let mut pid = Pid::default();
    let mut out = Prediction {
        time: Vec::with_capacity(ticks),
        reference: Vec::with_capacity(ticks),
        feedback: Vec::with_capacity(ticks),
        effort: Vec::with_capacity(ticks),
    };
    for k in 0..ticks {
        let reference = if k < before_ticks {
            plan.initial
        } else {
            plan.initial + plan.size
        };
        let feedback = plan.initial + plant.output();
        if !feedback.is_finite() || feedback.abs() > 1e12 {
            return Err(PredictionError::Diverged);
        }
        let effort = pid.update(gains, reference, feedback, dt);
        out.time.push(k as f64 * dt);
        out.reference.push(reference);
        out.feedback.push(feedback);
        out.effort.push(effort);
        plant.advance(effort);
    }
    Ok(out)
}

/// A model's state, advanced one tick at a time.
pub(super) struct ModelState {
    model: PlantModel,
    dt: f64,
    /// Output (position for the motor) as a change from the start.
    output: f64,
    /// Motor speed.
    speed: f64,
    /// Past efforts, newest last, as far back as the dead time reaches.
    history: std::collections::VecDeque<f64>,
    /// Dead time in whole ticks and the fraction of a tick left over.
    delay_ticks: usize,
    delay_fraction: f64,
}

impl ModelState {
    pub(super) fn new(model: &PlantModel, dt: f64) -> Result<Self, PredictionError> {
        let (finite, dead_time) = match *model {
            PlantModel::Fopdt(m) => (
                m.gain.is_finite() && m.time_constant.is_finite() && m.time_constant > 0.0,
                m.dead_time,
            ),
            PlantModel::Ipdt(m) => (m.gain.is_finite(), m.dead_time),
            PlantModel::Motor(m) => (
                m.acceleration_gain.is_finite() && m.damping_rate.is_finite(),
                0.0,
            ),
        };
        if !(finite && dead_time.is_finite() && dead_time >= 0.0) {
            return Err(PredictionError::InvalidModel);
        }
        let in_ticks = dead_time / dt;
        let delay_ticks = in_ticks.floor() as usize;
        Ok(Self {
            model: *model,
            dt,
            output: 0.0,
            speed: 0.0,
            history: std::collections::VecDeque::from(vec![0.0; delay_ticks + 2]),
            delay_ticks,
            delay_fraction: in_ticks - delay_ticks as f64,
        })
    }

    pub(super) fn output(&self) -> f64 {
        self.output
    }

    /// The motor's speed (0 for the other models).
    pub(super) fn speed(&self) -> f64 {
        self.speed
    }

    /// Advances one tick with `effort` applied now (seen after the dead
    /// time).
    pub(super) fn advance(&mut self, effort: f64) {
        self.history.push_back(effort);
        self.history.pop_front();
        let newest = self.history.len() - 1;
        // Over this tick the model sees, first, the effort from
        // `delay_ticks + 1` ticks ago for `delay_fraction` of the tick,
        // then the one from `delay_ticks` ago.
        let older = self.history[newest - self.delay_ticks - 1];
        let newer = self.history[newest - self.delay_ticks];
        let first = self.delay_fraction * self.dt;
        if first > 0.0 {
            self.hold(older, first);
        }
        self.hold(newer, self.dt - first);
    }

    /// Advances `h` seconds with input `u` held, exactly.
    fn hold(&mut self, u: f64, h: f64) {
        match self.model {
            PlantModel::Fopdt(m) => {
                let settled = m.gain * u;
                self.output = settled + (self.output - settled) * (-h / m.time_constant).exp();
            }
            PlantModel::Ipdt(m) => self.output += m.gain * u * h,
            PlantModel::Motor(m) => {
                let acceleration = m.acceleration_gain * u;
                let rate = m.damping_rate;
                if rate.abs() * h < 1e-9 {
                    // No damping to speak of: constant acceleration.
                    self.output += self.speed * h + 0.5 * acceleration * h * h;
                    self.speed += acceleration * h;
                } else {
                    let settled = acceleration / rate;
                    let decay = (-rate * h).exp();
                    self.output += settled * h + (self.speed - settled) * (1.0 - decay) / rate;
                    self.speed = settled + (self.speed - settled) * decay;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{StepOptions, StepRecord, step_metrics};
    use crate::sim::drive::SETPOINT_INDEX;
    use crate::sim::{DriveConfig, SimDrive};

    /// The linear simulated drive's own motor as a [`MotorModel`].
    fn sim_motor(config: &DriveConfig) -> MotorModel {
        let p = &config.plant;
        MotorModel {
            acceleration_gain: p.torque_constant / p.inertia,
            damping_rate: p.viscous / p.inertia,
        }
    }

    #[test]
    fn prediction_matches_the_simulated_drive_within_one_percent_of_the_step() {
        let config = DriveConfig::linear();
        let loop_hz = 10_000.0;
        let dt = 1.0 / loop_hz;
        // A small step stays linear, a large one saturates the 5 A limit.
        for size in [0.05, 1.0] {
            let plan = StepPlan {
                initial: 0.0,
                size,
                before: 0.01,
                after: 1.0,
                loop_hz,
            };
            let predicted =
                predict_step(&PlantModel::Motor(sim_motor(&config)), &config.gains, &plan)
                    .expect("a prediction");

            let mut drive = SimDrive::new(config.clone());
            drive.set_enabled(true);
            let before = (plan.before * loop_hz).round() as usize;
            let mut worst: f64 = 0.0;
            let mut saturated = false;
            for k in 0..predicted.time.len() {
                if k == before {
                    drive
                        .set_param(SETPOINT_INDEX, size as f32)
                        .expect("writable");
                }
                let sample = drive.tick(dt);
                worst = worst.max((f64::from(sample.position) - predicted.feedback[k]).abs());
                saturated |= sample.effort.abs() >= 4.999;
            }
            assert!(
                worst < 0.01 * size,
                "step {size}: worst deviation {worst} ({:.3} % of the step)",
                worst / size * 100.0
            );
            assert_eq!(saturated, size > 0.5, "step {size}");

            let metrics = step_metrics(
                &StepRecord {
                    time: &predicted.time,
                    reference: &predicted.reference,
                    feedback: &predicted.feedback,
                    effort: Some(&predicted.effort),
                },
                &StepOptions::default(),
            )
            .expect("the prediction is a measurable step");
            // The untuned drive overshoots (about 50 % for a small step).
            assert!(metrics.overshoot_percent > 20.0, "{metrics:?}");
        }
    }

    #[test]
    fn fopdt_under_proportional_control_settles_where_the_loop_gain_says() {
        // K 2, Kp 1 → final value = 2/(1+2) of the step; dead time 0.0105 s
        // is 10.5 ticks at 1 kHz and shows as no response before it.
        let model = PlantModel::Fopdt(Fopdt {
            gain: 2.0,
            time_constant: 0.2,
            dead_time: 0.0105,
        });
        let gains = PidGains {
            kp: 1.0,
            ki: 0.0,
            kd: 0.0,
            derivative_filter: 0.0,
            output_limit: 100.0,
        };
        let plan = StepPlan {
            initial: 3.0,
            size: 1.0,
            before: 0.1,
            after: 3.0,
            loop_hz: 1000.0,
        };
        let p = predict_step(&model, &gains, &plan).expect("a prediction");
        let last = p.feedback[p.feedback.len() - 1];
        assert!((last - (3.0 + 2.0 / 3.0)).abs() < 1e-6, "{last}");
        // The step is at tick 100; the effort moves at once, the output only
        // after the dead time (10 whole ticks and a half).
        assert_eq!(p.feedback[110], 3.0);
        assert!(p.feedback[112] > 3.0);
    }

    #[test]
    fn unstable_gains_and_bad_plans_are_errors() {
        let model = PlantModel::Ipdt(Ipdt {
            gain: 10.0,
            dead_time: 0.1,
        });
        let gains = PidGains {
            kp: 100.0,
            ki: 0.0,
            kd: 0.0,
            derivative_filter: 0.0,
            output_limit: f64::INFINITY,
        };
        let plan = StepPlan {
            initial: 0.0,
            size: 1.0,
            before: 0.1,
            after: 60.0,
            loop_hz: 1000.0,
        };
        assert_eq!(
            predict_step(&model, &gains, &plan),
            Err(PredictionError::Diverged)
        );
        assert_eq!(
            predict_step(
                &model,
                &gains,
                &StepPlan {
                    loop_hz: 0.0,
                    ..plan
                }
            ),
            Err(PredictionError::InvalidLoopRate(0.0))
        );
    }
}
