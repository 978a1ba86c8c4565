//! Relay auto-tune (Åström–Hägglund) on a device with a relay mode
//! (docs/PROTOCOL.md, "Relay mode"): the device switches its output
//! between `bias ± d` at its loop rate; this engine sets the relay up,
//! watches the limit cycle in the streamed samples, measures it with
//! [`crate::analysis::limit_cycle`] and always takes the relay down again.
//!
//! The contract:
//! - No I/O. The engine is fed every sample batch (and every value the
//!   device reports for `relay.active`) and answers with the parameter
//!   writes to send, in order; the caller sends them.
//! - It starts only on a device that declares `relay.active`,
//!   `relay.amplitude`, `relay.hysteresis` and `relay.travel`, streams a
//!   feedback and an effort channel, has a setpoint, and has its output on.
//! - It waits until the loop is at rest: over [`REST_WINDOW_S`] the
//!   feedback stays within [`REST_BAND_SHARE`] of the travel and does not
//!   creep (the means of the window's halves differ by at most a quarter of
//!   its spread, or the spread is below [`STILL_SHARE`] of the travel), does
//!   not ring down (the second half's spread is at least half the first's),
//!   the mean effort of the halves differs by at most [`EFFORT_DRIFT_SHARE`]
//!   of the relay amplitude; the
//!   feedback's peak-to-peak there is the noise band, the default
//!   hysteresis. Then it writes the setpoint to the resting position (so
//!   the relay switches about where the axis is), `relay.bias` when the
//!   device has it (the mean effort at rest when that exceeds
//!   [`BIAS_SHARE`] of d: a load to hold; 0 otherwise), amplitude,
//!   hysteresis, travel,
//!   and last `relay.active = 1`.
//! - The record starts at the first sample whose effort shows the relay.
//!   After every batch the record is measured; the first steady limit
//!   cycle (the analysis' spread limit) ends the run.
//! - It fails on the time limit, on the feedback leaving the travel, on
//!   the device leaving relay mode by itself, and on a gap in the samples.
//! - However it ends (finished, failed, aborted) its last writes are
//!   `relay.active = 0` and the setpoint back to its value before the run.

use super::ParamWrite;
use crate::analysis::{LimitCycleError, RelayRecord, limit_cycle};
use crate::protocol::{ChannelRole, DeviceInfo, SampleBatch};

/// Length of the rest check before the relay starts, s.
pub const REST_WINDOW_S: f64 = 0.2;
/// Widest feedback peak-to-peak at rest, as a share of the travel.
pub const REST_BAND_SHARE: f64 = 0.02;
/// Largest change of the mean effort between the rest window's halves, as
/// a share of the relay amplitude: the holding effort becomes the bias.
pub const EFFORT_DRIFT_SHARE: f64 = 0.05;
/// Mean effort at rest, as a share of the relay amplitude, above which it
/// is taken as a load to hold and becomes the relay's bias.
pub const BIAS_SHARE: f64 = 0.1;
/// Feedback spread over the rest window, as a share of the travel, below
/// which a loop counts as still even while it creeps.
pub const STILL_SHARE: f64 = 1e-4;
/// Device time the loop has to come to rest, s.
pub const REST_TIMEOUT_S: f64 = 10.0;
/// Largest gap between consecutive samples before the run counts them as
/// lost, s.
pub const MAX_SAMPLE_GAP_S: f64 = 0.25;
/// Longest run a plan may ask for, s.
pub const MAX_TIME_LIMIT_S: f64 = 120.0;
/// Device time allowed for the device to confirm `relay.active` = 1.
pub const CONFIRM_TIMEOUT_S: f64 = 5.0;
/// Share of the output limit the default relay amplitude takes.
pub const DEFAULT_AMPLITUDE_SHARE: f64 = 0.2;

mod plan;

pub use plan::{
    RelayError, RelayGains, RelayParams, RelayPlan, RelayResult, RelayState, relay_gains,
};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Resting {
        since_s: Option<f64>,
    },
    /// Writes sent; waiting for the effort to show the relay.
    Switching {
        written_s: f64,
        /// Device time of the newest sample when the device confirmed
        /// `relay.active` = 1.
        confirmed_s: Option<f64>,
    },
    Oscillating {
        start_s: f64,
    },
    Over,
}

/// A relay run in progress; see the module documentation.
#[derive(Debug)]
pub struct RelayTest {
    plan: RelayPlan,
    relay: RelayParams,
    setpoint_index: u8,
    original_setpoint: f32,
    feedback_channel: usize,
    effort_channel: usize,
    phase: Phase,
    state: RelayState,
    /// Samples of the rest window: (time, feedback, effort).
    rest: Vec<(f64, f64, f64)>,
    hysteresis: f64,
    bias: f64,
    start_position: f64,
    last_time: Option<f64>,
    time: Vec<f64>,
    effort: Vec<f64>,
    feedback: Vec<f64>,
    result: Option<RelayResult>,
    last_error: Option<LimitCycleError>,
    /// Switches of the output to its high side so far, and at the last
    /// measurement: the record is measured once per new cycle.
    switches_up: usize,
    measured_at: usize,
    /// Largest |effort − bias| seen while waiting for the relay.
    largest_swing: f64,
    /// The result was handed over by [`Self::take_result`].
    result_taken: bool,
}

impl RelayTest {
    /// Checks `plan` against the device and prepares the run; the first
    /// writes come out of [`RelayTest::on_samples`] once the loop rests.
    pub fn start(
        plan: RelayPlan,
        info: &DeviceInfo,
        output_enabled: bool,
    ) -> Result<Self, RelayError> {
        validate(&plan)?;
        let relay = RelayParams::find(&info.params).ok_or(RelayError::NoRelayMode)?;
        let setpoint_index = info
            .params
            .iter()
            .position(|p| p.flags.setpoint() && !p.flags.read_only())
            .ok_or(RelayError::NoSetpoint)?;
        let channel = |role| info.channels.iter().position(|c| c.role == role);
        let feedback_channel =
            channel(ChannelRole::Feedback).ok_or(RelayError::NoChannel("feedback"))?;
        let effort_channel = channel(ChannelRole::Effort).ok_or(RelayError::NoChannel("effort"))?;
        if !output_enabled {
            return Err(RelayError::OutputOff);
        }
        Ok(Self {
            plan,
            relay,
            setpoint_index: setpoint_index as u8,
            original_setpoint: info.params[setpoint_index].value,
            feedback_channel,
            effort_channel,
            phase: Phase::Resting { since_s: None },
            state: RelayState::Starting,
            rest: Vec::new(),
            hysteresis: plan.hysteresis.unwrap_or(0.0),
            bias: 0.0,
            start_position: 0.0,
            last_time: None,
            time: Vec::new(),
            effort: Vec::new(),
            feedback: Vec::new(),
            result: None,
            last_error: None,
            switches_up: 0,
            measured_at: 0,
            largest_swing: 0.0,
            result_taken: false,
        })
    }

    pub fn plan(&self) -> &RelayPlan {
        &self.plan
    }

    pub fn state(&self) -> &RelayState {
        &self.state
    }

    /// The run has ended, for whatever reason.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Over
    }

    pub fn result(&self) -> Option<&RelayResult> {
        self.result.as_ref()
    }

    /// The finished run's result, handed over once (it stays readable
    /// through [`Self::result`]).
    pub fn take_result(&mut self) -> Option<RelayResult> {
        if self.phase != Phase::Over || self.result_taken {
            return None;
        }
        self.result_taken = true;
        self.result.clone()
    }

    /// Why the run failed, if it did.
    pub fn failure(&self) -> Option<&RelayError> {
        match &self.state {
            RelayState::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// The hysteresis in use (measured at rest when the plan left it open).
    pub fn hysteresis(&self) -> f64 {
        self.hysteresis
    }

    /// The setpoint's value before the run, which it restores.
    pub fn original_setpoint(&self) -> f32 {
        self.original_setpoint
    }

    /// The writes that take the relay down and restore the setpoint.
    pub fn restoring_writes(&self) -> Vec<ParamWrite> {
        vec![
            ParamWrite {
                index: self.relay.active,
                value: 0.0,
            },
            ParamWrite {
                index: self.setpoint_index,
                value: self.original_setpoint,
            },
        ]
    }

    /// Stops the run; returns the restoring writes.
    pub fn abort(&mut self) -> Vec<ParamWrite> {
        if self.phase != Phase::Over {
            self.phase = Phase::Over;
            self.state = RelayState::Aborted;
        }
        self.restoring_writes()
    }

    /// A value the device reported: `relay.active` going to 0 once the
    /// relay was switched on means the device refused or stopped it. Returns the restoring writes
    /// when that ends the run.
    pub fn on_value(&mut self, index: u8, value: f32) -> Vec<ParamWrite> {
        let running = matches!(
            self.phase,
            Phase::Switching { .. } | Phase::Oscillating { .. }
        );
        if running && index == self.relay.active && value < 0.5 {
            return self.fail(RelayError::LeftRelayMode);
        }
        if let Phase::Switching { confirmed_s, .. } = &mut self.phase
            && index == self.relay.active
            && confirmed_s.is_none()
        {
            *confirmed_s = self.last_time;
        }
        Vec::new()
    }

    fn fail(&mut self, error: RelayError) -> Vec<ParamWrite> {
        self.phase = Phase::Over;
        self.state = RelayState::Failed(error);
        self.restoring_writes()
    }

    /// Feeds a batch of samples; returns the writes to send now, in order.
    pub fn on_samples(&mut self, batch: &SampleBatch) -> Vec<ParamWrite> {
        let mut writes = Vec::new();
        for k in 0..batch.len() {
            if self.phase == Phase::Over {
                break;
            }
            let values = batch.sample(k);
            let value = |channel: usize| values.get(channel).copied().map_or(f64::NAN, f64::from);
            let (feedback, effort) = (value(self.feedback_channel), value(self.effort_channel));
            writes.extend(self.on_sample(batch.time_of(k), feedback, effort));
        }
        if let Phase::Oscillating { .. } = self.phase {
            writes.extend(self.measure());
        }
        writes
    }

    fn on_sample(&mut self, time: f64, feedback: f64, effort: f64) -> Vec<ParamWrite> {
        if let Some(last) = self.last_time.replace(time)
            && time - last > MAX_SAMPLE_GAP_S
        {
            return self.fail(RelayError::SamplesLost { gap: time - last });
        }
        match self.phase {
            Phase::Resting { since_s } => self.rest_sample(since_s, time, feedback, effort),
            Phase::Switching {
                written_s,
                confirmed_s,
            } => {
                let d = self.plan.amplitude;
                // The relay must show soon after the device confirmed it;
                // a link slow to carry the writes (a loaded host) gets
                // longer before that.
                let waited = match confirmed_s {
                    Some(confirmed_s) => time - confirmed_s > self.plan.time_limit_s.min(1.0),
                    None => time - written_s > self.plan.time_limit_s.min(CONFIRM_TIMEOUT_S),
                };
                self.largest_swing = self.largest_swing.max((effort - self.bias).abs());
                if (effort - self.bias).abs() >= 0.9 * d {
                    self.phase = Phase::Oscillating { start_s: time };
                    self.state = RelayState::Oscillating { cycles: 0 };
                    self.record(time, time, feedback, effort)
                } else if waited {
                    self.fail(RelayError::RelayNotSeen {
                        largest: self.largest_swing,
                    })
                } else {
                    Vec::new()
                }
            }
            Phase::Oscillating { start_s } => self.record(start_s, time, feedback, effort),
            Phase::Over => Vec::new(),
        }
    }

    fn rest_sample(
        &mut self,
        since_s: Option<f64>,
        time: f64,
        feedback: f64,
        effort: f64,
    ) -> Vec<ParamWrite> {
        let since_s = since_s.unwrap_or(time);
        self.phase = Phase::Resting {
            since_s: Some(since_s),
        };
        self.rest.push((time, feedback, effort));
        self.rest.retain(|(t, _, _)| time - t <= REST_WINDOW_S);
        if time - self.rest[0].0 < REST_WINDOW_S - 1e-9 {
            return Vec::new();
        }
        let (low, high) = self
            .rest
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, y, _)| {
                (lo.min(*y), hi.max(*y))
            });
        let spread = high - low;
        // Noise and encoder steps leave the two halves' means close; a loop
        // still creeping towards its setpoint moves them half its spread.
        let half = self.rest.len() / 2;
        let mean = |part: &[(f64, f64, f64)]| {
            part.iter().map(|(_, y, _)| y).sum::<f64>() / part.len().max(1) as f64
        };
        let effort_mean = |part: &[(f64, f64, f64)]| {
            part.iter().map(|(_, _, u)| u).sum::<f64>() / part.len().max(1) as f64
        };
        let drift = (mean(&self.rest[half..]) - mean(&self.rest[..half])).abs();
        let effort_drift =
            (effort_mean(&self.rest[half..]) - effort_mean(&self.rest[..half])).abs();
        let half_spread = |part: &[(f64, f64, f64)]| {
            let (lo, hi) = part
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, y, _)| {
                    (lo.min(*y), hi.max(*y))
                });
            hi - lo
        };
        // Ringing decays from one half to the next; noise does not.
        let ringing = half_spread(&self.rest[half..]) < 0.5 * half_spread(&self.rest[..half]);
        let still = (drift <= spread / 4.0 || spread <= STILL_SHARE * self.plan.travel)
            && !ringing
            && effort_drift <= EFFORT_DRIFT_SHARE * self.plan.amplitude;
        if spread.is_nan() || spread > REST_BAND_SHARE * self.plan.travel || !still {
            if time - since_s > REST_TIMEOUT_S {
                return self.fail(RelayError::NotAtRest { spread });
            }
            return Vec::new();
        }
        let count = self.rest.len() as f64;
        let position = self.rest.iter().map(|(_, y, _)| y).sum::<f64>() / count;
        self.start_position = position;
        if self.plan.hysteresis.is_none() {
            self.hysteresis = spread;
        }
        let mut writes = vec![ParamWrite {
            index: self.setpoint_index,
            value: position as f32,
        }];
        if let Some(bias) = self.relay.bias {
            let holding = self.rest.iter().map(|(_, _, u)| u).sum::<f64>() / count;
            // A small mean effort is the controller's residue, not a load;
            // on an integrating axis any bias makes the cycle lopsided.
            self.bias = if holding.abs() > BIAS_SHARE * self.plan.amplitude {
                holding
            } else {
                0.0
            };
            writes.push(ParamWrite {
                index: bias,
                value: self.bias as f32,
            });
        }
        writes.extend([
            ParamWrite {
                index: self.relay.amplitude,
                value: self.plan.amplitude as f32,
            },
            ParamWrite {
                index: self.relay.hysteresis,
                value: self.hysteresis as f32,
            },
            ParamWrite {
                index: self.relay.travel,
                value: self.plan.travel as f32,
            },
            ParamWrite {
                index: self.relay.active,
                value: 1.0,
            },
        ]);
        self.phase = Phase::Switching {
            written_s: time,
            confirmed_s: None,
        };
        writes
    }

    fn record(&mut self, start_s: f64, time: f64, feedback: f64, effort: f64) -> Vec<ParamWrite> {
        if (feedback - self.start_position).abs() > self.plan.travel {
            return self.fail(RelayError::TravelExceeded {
                travel: self.plan.travel,
            });
        }
        if time - start_s > self.plan.time_limit_s {
            let reason = self
                .last_error
                .clone()
                .unwrap_or(LimitCycleError::NoSwitching);
            return self.fail(RelayError::TimeLimit {
                limit: self.plan.time_limit_s,
                reason,
            });
        }
        if self.effort.last().is_some_and(|last| *last < self.bias) && effort >= self.bias {
            self.switches_up += 1;
        }
        self.time.push(time - start_s);
        self.feedback.push(feedback);
        self.effort.push(effort);
        Vec::new()
    }

    /// Measures the record so far; ends the run on a steady limit cycle.
    fn measure(&mut self) -> Vec<ParamWrite> {
        let switches = self.switches_up;
        if switches == self.measured_at {
            return Vec::new();
        }
        self.measured_at = switches;
        self.state = RelayState::Oscillating {
            cycles: switches.saturating_sub(1),
        };
        // The first whole cycle is the start transient; wait for the
        // measured ones and one more before asking.
        if switches < self.plan.cycles.cycles + 2 {
            return Vec::new();
        }
        let record = RelayRecord {
            time: &self.time,
            output: &self.effort,
            feedback: &self.feedback,
            hysteresis: self.hysteresis,
        };
        match limit_cycle(&record, &self.plan.cycles) {
            Ok(cycle) => {
                self.result = Some(RelayResult {
                    cycle,
                    hysteresis: self.hysteresis,
                    time: std::mem::take(&mut self.time),
                    effort: std::mem::take(&mut self.effort),
                    feedback: std::mem::take(&mut self.feedback),
                });
                self.phase = Phase::Over;
                self.state = RelayState::Finished;
                self.restoring_writes()
            }
            Err(error) => {
                self.last_error = Some(error);
                Vec::new()
            }
        }
    }
}

fn validate(plan: &RelayPlan) -> Result<(), RelayError> {
    if !(plan.amplitude.is_finite() && plan.amplitude > 0.0) {
        return Err(RelayError::BadAmplitude(plan.amplitude));
    }
    if let Some(h) = plan.hysteresis
        && !(h.is_finite() && h >= 0.0)
    {
        return Err(RelayError::BadHysteresis(h));
    }
    if !(plan.travel.is_finite() && plan.travel > 0.0) {
        return Err(RelayError::BadTravel(plan.travel));
    }
    if !(plan.time_limit_s > 0.0 && plan.time_limit_s <= MAX_TIME_LIMIT_S) {
        return Err(RelayError::BadTimeLimit(plan.time_limit_s));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
