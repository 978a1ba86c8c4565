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
use crate::analysis::{
    LimitCycle, LimitCycleError, LimitCycleOptions, ParallelGains, RelayRecord, StandardGains,
    Ultimate, UltimateRule, limit_cycle,
};
use crate::protocol::{ChannelRole, DeviceInfo, ParamInfo, SampleBatch};

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

/// Where the relay mode's parameters sit in the device's table, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayParams {
    pub active: u8,
    pub amplitude: u8,
    pub hysteresis: u8,
    pub travel: u8,
    pub bias: Option<u8>,
}

impl RelayParams {
    /// The relay parameters; `None` when the device lacks a required one.
    pub fn find(params: &[ParamInfo]) -> Option<Self> {
        let index = |name: &str| {
            params
                .iter()
                .position(|p| p.name == name && !p.flags.read_only())
                .and_then(|i| u8::try_from(i).ok())
        };
        Some(Self {
            active: index("relay.active")?,
            amplitude: index("relay.amplitude")?,
            hysteresis: index("relay.hysteresis")?,
            travel: index("relay.travel")?,
            bias: index("relay.bias"),
        })
    }
}

/// What the user asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RelayPlan {
    /// Relay amplitude d, in the effort's unit, above 0.
    pub amplitude: f64,
    /// Hysteresis ε in the feedback's unit; `None` takes the noise band
    /// measured at rest.
    pub hysteresis: Option<f64>,
    /// Largest distance from the start position, in the feedback's unit.
    pub travel: f64,
    /// Longest the relay may run, s of device time.
    pub time_limit_s: f64,
    /// Cycles measured and the steadiness asked of them.
    pub cycles: LimitCycleOptions,
}

impl RelayPlan {
    /// Safe defaults for `info`: d a fifth of the output limit (the
    /// device's own `relay.amplitude` without a limit), ε from the noise,
    /// the device's own travel, 10 s.
    pub fn for_device(info: &DeviceInfo) -> Self {
        let value = |name: &str| {
            info.params
                .iter()
                .find(|p| p.name.ends_with(name))
                .map(|p| f64::from(p.value))
                .filter(|v| v.is_finite() && *v > 0.0)
        };
        Self {
            amplitude: value("output_limit")
                .map(|limit| DEFAULT_AMPLITUDE_SHARE * limit)
                .or_else(|| value("relay.amplitude"))
                .unwrap_or(1.0),
            hysteresis: None,
            travel: value("relay.travel").unwrap_or(1.0),
            time_limit_s: 10.0,
            cycles: LimitCycleOptions::default(),
        }
    }
}

/// Why a relay run cannot start or did not finish.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RelayError {
    #[error(
        "the device has no relay mode (relay.active, relay.amplitude, relay.hysteresis, relay.travel): see docs/PROTOCOL.md"
    )]
    NoRelayMode,
    #[error("the device has no setpoint parameter")]
    NoSetpoint,
    #[error("the device streams no {0} channel to measure the relay on")]
    NoChannel(&'static str),
    #[error("the drive's output is off: enable it before a relay run")]
    OutputOff,
    #[error("the relay amplitude must be a number above 0, not {0}")]
    BadAmplitude(f64),
    #[error("the hysteresis must be a number of 0 or more, not {0}")]
    BadHysteresis(f64),
    #[error("the travel must be a number above 0, not {0}")]
    BadTravel(f64),
    #[error("the time limit must be above 0 s and at most {MAX_TIME_LIMIT_S} s, not {0} s")]
    BadTimeLimit(f64),
    #[error(
        "the loop did not come to rest within {REST_TIMEOUT_S} s (feedback spread {spread}): let it settle or allow more travel"
    )]
    NotAtRest { spread: f64 },
    #[error(
        "the effort never showed the relay (largest change {largest} from the bias): is the device's relay mode working?"
    )]
    RelayNotSeen { largest: f64 },
    #[error("the feedback left the travel of {travel} from the start: relay stopped")]
    TravelExceeded { travel: f64 },
    #[error("the device left relay mode by itself (travel or output off)")]
    LeftRelayMode,
    #[error("no sample for {gap:.3} s of device time: samples were lost, relay stopped")]
    SamplesLost { gap: f64 },
    #[error("no steady limit cycle within {limit} s: {reason}")]
    TimeLimit { limit: f64, reason: LimitCycleError },
}

/// Where a relay run stands.
#[derive(Clone, Debug, PartialEq)]
pub enum RelayState {
    /// Waiting for the loop to rest before the relay starts.
    Starting,
    /// The relay is on; `cycles` whole output cycles so far.
    Oscillating {
        cycles: usize,
    },
    Finished,
    Aborted,
    Failed(RelayError),
}

/// A measured relay run.
#[derive(Clone, Debug, PartialEq)]
pub struct RelayResult {
    pub cycle: LimitCycle,
    /// The hysteresis the relay ran with.
    pub hysteresis: f64,
    /// The record from the relay's start: seconds from it, effort, feedback.
    pub time: Vec<f64>,
    pub effort: Vec<f64>,
    pub feedback: Vec<f64>,
}

impl RelayResult {
    /// Ku and Tu.
    pub fn ultimate(&self) -> Ultimate {
        self.cycle.ultimate
    }

    /// The gains `rule` gives for this run, in both forms.
    pub fn gains(&self, rule: UltimateRule) -> RelayGains {
        relay_gains(self.cycle.ultimate, rule)
    }
}

/// Gains from a rule, in both forms, in effort per unit of feedback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RelayGains {
    pub rule: UltimateRule,
    pub standard: StandardGains,
    pub parallel: ParallelGains,
}

/// The gains `rule` gives for `ultimate`.
pub fn relay_gains(ultimate: Ultimate, rule: UltimateRule) -> RelayGains {
    let standard = rule.apply(ultimate);
    RelayGains {
        rule,
        standard,
        parallel: standard.parallel(),
    }
}

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
mod tests {
    use super::*;
    use crate::protocol::SampleBatch;
    use crate::sim::drive::{DriveConfig, SimDrive};

    const LOOP_HZ: f64 = 10_000.0;
    const BATCH: usize = 50;

    /// Runs `test` on `drive` ticked in-process, every sample streamed in
    /// batches of [`BATCH`], the writes applied at once, the values the
    /// drive changes by itself reported; at most `seconds` of device time.
    fn run(test: &mut RelayTest, drive: &mut SimDrive, seconds: f64) {
        let dt = 1.0 / LOOP_HZ;
        let mut tick = 0i64;
        while !test.is_done() && (tick as f64) * dt < seconds {
            let mut values = Vec::new();
            for _ in 0..BATCH {
                let was_active = drive.relay_active();
                values.extend_from_slice(&drive.tick(dt).as_array());
                if was_active && !drive.relay_active() {
                    for write in test.on_value(crate::sim::drive::RELAY_ACTIVE_INDEX, 0.0) {
                        apply(drive, write);
                    }
                }
            }
            let batch = SampleBatch {
                first_tick: tick,
                stride: 1,
                tick_hz: LOOP_HZ,
                channel_count: values.len() / BATCH,
                values,
                exact: None,
            };
            tick += BATCH as i64;
            for write in test.on_samples(&batch) {
                apply(drive, write);
            }
        }
    }

    fn apply(drive: &mut SimDrive, write: ParamWrite) {
        drive
            .set_param(write.index, write.value)
            .expect("the engine writes only the drive's parameters");
    }

    fn enabled(config: DriveConfig) -> SimDrive {
        let mut drive = SimDrive::new(config);
        drive.set_enabled(true);
        drive
    }

    /// Fraction by which the loop with P control `kp` grows (> 1) or
    /// decays (< 1) over 1 s, and its period: the linear drive, ki = kd = 0,
    /// started 1 mrad off its setpoint.
    fn p_loop(kp: f64) -> (f64, f64) {
        let mut config = DriveConfig::linear();
        config.gains.kp = kp;
        config.gains.ki = 0.0;
        config.gains.kd = 0.0;
        config.gains.output_limit = 1e6;
        let mut drive = enabled(config);
        drive.plant.state.position = 1e-3;
        let dt = 1.0 / LOOP_HZ;
        let feedback: Vec<f64> = (0..40_000)
            .map(|_| f64::from(drive.tick(dt).position))
            .collect();
        let peak = |s: &[f64]| s.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let growth = peak(&feedback[30_000..]) / peak(&feedback[20_000..30_000]);
        let ups: Vec<usize> = (30_001..40_000)
            .filter(|&k| feedback[k - 1] < 0.0 && feedback[k] >= 0.0)
            .collect();
        let period = match (ups.first(), ups.last()) {
            (Some(first), Some(last)) if ups.len() > 1 => {
                (last - first) as f64 * dt / (ups.len() - 1) as f64
            }
            _ => f64::NAN,
        };
        (growth, period)
    }

    /// The true ultimate gain and period: kp bisected (geometrically)
    /// until the oscillation neither grows nor decays.
    fn true_ultimate() -> Ultimate {
        let (mut stable, mut unstable) = (1.0, 1000.0);
        assert!(p_loop(stable).0 < 1.0 && p_loop(unstable).0 > 1.0);
        for _ in 0..30 {
            let mid = f64::sqrt(stable * unstable);
            if p_loop(mid).0 > 1.0 {
                unstable = mid;
            } else {
                stable = mid;
            }
        }
        Ultimate {
            gain: stable,
            period: p_loop(stable).1,
        }
    }

    fn plan() -> RelayPlan {
        RelayPlan {
            amplitude: 1.0,
            hysteresis: Some(0.0),
            travel: 0.5,
            time_limit_s: 5.0,
            cycles: LimitCycleOptions::default(),
        }
    }

    #[test]
    fn relay_on_the_linear_drive_finds_ku_and_tu_and_restores_everything() {
        let mut drive = enabled(DriveConfig::linear());
        // At rest away from zero. (Started from a loop that has just
        // settled, the sampled relay loop can fall into another of its
        // coexisting limit cycles: docs/TUNING.md.)
        drive.config.setpoint = 0.25;
        drive.plant.state.position = 0.25;
        let mut test =
            RelayTest::start(plan(), &drive.device_info(LOOP_HZ as u32), true).expect("starts");
        run(&mut test, &mut drive, 20.0);
        assert_eq!(test.state(), &RelayState::Finished, "{:?}", test.failure());
        let result = test.result().expect("a result");
        let ultimate = result.ultimate();
        // Analytic, continuous: J·ω²/Kt at ω² = 2b/(J·T) (where the
        // viscous lead equals the half-tick lag): 400 A/rad, 19.9 ms.
        assert!((ultimate.gain / 400.0 - 1.0).abs() < 0.2, "{ultimate:?}");
        assert!((ultimate.period / 0.0199 - 1.0).abs() < 0.2, "{ultimate:?}");
        assert!(result.cycle.period_spread < 0.05 && result.cycle.amplitude_spread < 0.05);
        assert!((result.cycle.relay_amplitude - 1.0).abs() < 1e-6);
        assert!(!drive.relay_active());
        assert_eq!(drive.config.setpoint as f32, 0.25f32);
        assert_eq!((drive.config.gains.kp, drive.config.gains.ki), (20.0, 20.0));
    }

    /// The bar of issue 5: from the default gains, the proposal is within
    /// 20 % of the rule applied to the loop's true Ku and Tu.
    #[test]
    fn relay_proposal_is_within_20_percent_of_the_rule_on_the_true_ultimate_point() {
        let truth = true_ultimate();
        assert!(
            (truth.gain / 400.0 - 1.0).abs() < 0.05,
            "bisected Ku {truth:?}"
        );
        let mut drive = enabled(DriveConfig::linear());
        let mut test =
            RelayTest::start(plan(), &drive.device_info(LOOP_HZ as u32), true).expect("starts");
        run(&mut test, &mut drive, 10.0);
        let measured = test.result().expect("a steady limit cycle").ultimate();
        eprintln!("true {truth:?}, relay {measured:?}");
        for rule in [
            UltimateRule::ZieglerNicholsPid,
            UltimateRule::ZieglerNicholsPi,
            UltimateRule::TyreusLuybenPid,
            UltimateRule::SomeOvershoot,
        ] {
            let want = relay_gains(truth, rule).standard;
            let got = relay_gains(measured, rule).standard;
            let off = |a: f64, b: f64| {
                if b.is_finite() && b != 0.0 {
                    a / b - 1.0
                } else {
                    a - b
                }
            };
            for (name, error) in [
                ("Kp", off(got.kp, want.kp)),
                ("Ti", off(got.ti, want.ti)),
                ("Td", off(got.td, want.td)),
            ] {
                eprintln!("{rule:?} {name}: {:+.1} %", error * 100.0);
                assert!(
                    error.abs() < 0.2,
                    "{rule:?} {name} off by {:.1} %",
                    error * 100.0
                );
            }
        }
    }

    #[test]
    fn leaving_the_travel_fails_and_takes_the_relay_down() {
        let mut drive = enabled(DriveConfig::linear());
        // A relay about a bias that pushes one way walks off its travel.
        let mut test = RelayTest::start(
            RelayPlan {
                travel: 0.002,
                ..plan()
            },
            &drive.device_info(LOOP_HZ as u32),
            true,
        )
        .expect("starts");
        run(&mut test, &mut drive, 5.0);
        assert!(
            matches!(
                test.failure(),
                Some(RelayError::TravelExceeded { .. } | RelayError::LeftRelayMode)
            ),
            "{:?}",
            test.state()
        );
        assert!(!drive.relay_active());
    }

    #[test]
    fn abort_and_refusals() {
        let drive = enabled(DriveConfig::linear());
        let info = drive.device_info(LOOP_HZ as u32);
        assert_eq!(
            RelayTest::start(plan(), &info, false).err(),
            Some(RelayError::OutputOff)
        );
        let mut no_relay = info.clone();
        no_relay.params.retain(|p| !p.name.starts_with("relay."));
        assert_eq!(
            RelayTest::start(plan(), &no_relay, true).err(),
            Some(RelayError::NoRelayMode)
        );
        assert_eq!(
            RelayTest::start(
                RelayPlan {
                    amplitude: -1.0,
                    ..plan()
                },
                &info,
                true
            )
            .err(),
            Some(RelayError::BadAmplitude(-1.0))
        );
        let mut test = RelayTest::start(plan(), &info, true).expect("starts");
        let writes = test.abort();
        assert_eq!(test.state(), &RelayState::Aborted);
        assert_eq!(
            writes[0],
            ParamWrite {
                index: crate::sim::drive::RELAY_ACTIVE_INDEX,
                value: 0.0
            }
        );
        let defaults = RelayPlan::for_device(&info);
        assert_eq!(defaults.amplitude, 1.0, "a fifth of the 5 A limit");
        assert_eq!(defaults.hysteresis, None);
    }
}
