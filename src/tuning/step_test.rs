//! A step test: drives the device's setpoint parameter through a planned
//! sequence of steps and records each one, all in device time.
//!
//! The contract:
//! - The test does no I/O. It is fed every sample batch and answers with the
//!   setpoint writes to send; the caller sends them.
//! - Before the first write it waits until the loop is at rest: over the
//!   last quarter of the hold (at most [`MAX_REST_WINDOW_S`], at least
//!   [`MIN_REST_WINDOW_S`], never shorter than `pre_s`) the feedback stays within
//!   [`REST_BAND`] of the amplitude, so the step's initial value is not
//!   taken from a loop still moving after it was enabled. Encoder steps and
//!   noise must fit in that band: a smaller step cannot be measured anyway.
//!   A loop not at rest within [`REST_TIMEOUT_S`] fails the test before
//!   anything is written.
//! - The first step must start from where the axis is: when its target is
//!   further from the feedback than the amplitude (and the rest band for
//!   noise), the setpoint the test started from is not where the axis
//!   rests (firmware moved it, or it was read before the output came on)
//!   and the test fails with nothing written, rather than make a move of
//!   that size.
//! - A step starts at the first sample whose reference channel shows the
//!   written value, measured, not assumed from when the write was sent. If
//!   the reference has not followed within [`STEP_SEEN_TIMEOUT_S`] of device
//!   time, the test fails and restores the setpoint.
//! - Each target is held for `hold_s` from its step. A measured step is
//!   recorded from `pre_s` before it to the end of its hold, so a record
//!   holds exactly one change of the reference.
//! - Every test ends with the setpoint at its value from before the test:
//!   the plan's last target is that value, and [`StepTest::abort`] and a
//!   failure write it at once.

use std::collections::VecDeque;
use std::time::Instant;

use super::ParamWrite;
use crate::analysis::{StepMetrics, StepMetricsError, StepOptions, StepRecord, step_metrics};
use crate::protocol::{ChannelRole, DeviceInfo, SampleBatch};

/// Device time within which the reference channel must show a written
/// setpoint: the write's round trip plus a batch or two.
pub const STEP_SEEN_TIMEOUT_S: f64 = 1.0;
/// Longest hold a plan may ask for; a record of one step stays a few MB.
pub const MAX_HOLD_S: f64 = 60.0;
/// Most repeats a plan may ask for.
pub const MAX_REPEATS: u32 = 100;
/// Widest spread of the feedback, as a share of the amplitude, of a loop
/// taken to be at rest.
pub const REST_BAND: f64 = 0.05;
/// Shortest window the rest check looks at.
pub const MIN_REST_WINDOW_S: f64 = 0.05;
/// Longest window the rest check looks at, unless `pre_s` is longer.
pub const MAX_REST_WINDOW_S: f64 = 1.0;
/// Device time a loop has to come to rest before the first step.
pub const REST_TIMEOUT_S: f64 = 10.0;

/// Which way the setpoint moves from where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum StepDirection {
    /// Up by the amplitude, measured; back down, not measured.
    #[default]
    Up,
    /// Down by the amplitude, measured; back up, not measured.
    Down,
    /// Up by the amplitude and back down, both measured.
    UpThenDown,
}

impl StepDirection {
    /// Every direction, in the order the UI lists them.
    pub const ALL: [Self; 3] = [Self::Up, Self::Down, Self::UpThenDown];

    /// The direction's name as the UI and the CLI show it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::UpThenDown => "up then down",
        }
    }
}

/// What the user asks for; remembered between launches.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct StepPlan {
    /// Size of each step in the setpoint's unit, above 0.
    pub amplitude: f64,
    /// Which way the setpoint moves from where it is.
    pub direction: StepDirection,
    /// Seconds each target is held from its step.
    pub hold_s: f64,
    /// How many times the sequence runs.
    pub repeats: u32,
    /// Seconds of the record before each step.
    pub pre_s: f64,
}

impl StepPlan {
    /// The sequence run once: a step of `amplitude` in `direction`,
    /// recorded from `pre_s` before it, each target held `hold_s`.
    pub fn once(amplitude: f64, direction: StepDirection, pre_s: f64, hold_s: f64) -> Self {
        Self {
            amplitude,
            direction,
            hold_s,
            repeats: 1,
            pre_s,
        }
    }
}

impl StepPlan {
    /// Seconds over which the loop must stay still before the first step:
    /// a quarter of the hold, within [`MIN_REST_WINDOW_S`] and
    /// [`MAX_REST_WINDOW_S`], never shorter than `pre_s`.
    pub fn rest_window_s(&self) -> f64 {
        (self.hold_s / 4.0)
            .clamp(MIN_REST_WINDOW_S, MAX_REST_WINDOW_S)
            .max(self.pre_s)
    }
}

impl Default for StepPlan {
    fn default() -> Self {
        Self {
            amplitude: 1.0,
            direction: StepDirection::Up,
            hold_s: 1.0,
            repeats: 1,
            pre_s: 0.1,
        }
    }
}

/// Why a step test cannot start or did not finish.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StepTestError {
    #[error("the amplitude must be a number above 0, not {0}")]
    /// The amplitude is not a number above 0.
    BadAmplitude(f64),
    #[error("the hold must be above 0 s and at most {MAX_HOLD_S} s, not {0} s")]
    /// The hold is not above 0 s or is above [`MAX_HOLD_S`].
    BadHold(f64),
    #[error("the repeats must be 1 to {MAX_REPEATS}, not {0}")]
    /// The repeats are not 1 to [`MAX_REPEATS`].
    BadRepeats(u32),
    #[error("the pre-step window must be 0 s or more and shorter than the hold, not {0} s")]
    /// The pre-step window is negative or not shorter than the hold.
    BadPreWindow(f64),
    #[error("the drive's output is off: enable it before a step test")]
    /// The drive's output is off.
    OutputOff,
    #[error("the device has no setpoint parameter to step")]
    /// The device declares no setpoint parameter.
    NoSetpoint,
    #[error("the device streams no {0} channel to measure the step on")]
    /// The device streams no channel of this role.
    NoChannel(&'static str),
    #[error("a step to {target} {unit} leaves the setpoint's limits {min} … {max} {unit}")]
    /// A target leaves the setpoint's limits.
    OutOfLimits {
        /// The target, in the setpoint's unit.
        target: f64,
        /// The setpoint's lowest value.
        min: f32,
        /// The setpoint's highest value.
        max: f32,
        /// The setpoint's unit.
        unit: String,
    },
    #[error(
        "the loop did not come to rest within {REST_TIMEOUT_S} s (its feedback spread over {spread} in the last window): let it settle, or step by more than its noise"
    )]
    /// The loop did not come to rest in time.
    NotAtRest {
        /// Max − min of the feedback over the last window, in its unit.
        spread: f64,
    },
    #[error(
        "the loop was not at rest at the start shared with the other devices: nothing written (let it settle and run again)"
    )]
    /// A test that starts at a shared instant found the loop moving then.
    NotAtRestAtStart,
    #[error(
        "the reference channel did not show the setpoint {target} within {STEP_SEEN_TIMEOUT_S} s of device time: is the device following its setpoint parameter?"
    )]
    /// The reference channel never showed the new setpoint.
    ReferenceDidNotFollow {
        /// The setpoint written.
        target: f32,
    },
    #[error(
        "refused: the first step would go to {target} {unit}, {distance:.4} {unit} from where the axis is ({feedback:.4} {unit}), more than the amplitude {amplitude} {unit}; nothing was written"
    )]
    /// The first step would start farther from the axis than the amplitude; nothing was written.
    StartsAway {
        /// The first target, in the setpoint's unit.
        target: f32,
        /// Where the axis is.
        feedback: f64,
        /// How far apart they are.
        distance: f64,
        /// The step's amplitude.
        amplitude: f64,
        /// The setpoint's unit.
        unit: String,
    },
}

/// One measured step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResponse {
    /// Position among the plan's measured steps, from 1.
    pub number: usize,
    /// The setpoint before and after the step.
    pub from: f32,
    /// The setpoint after the step.
    pub to: f32,
    /// Device time of the step (first sample with the new reference).
    pub step_time_s: f64,
    /// Seconds from the step; negative before it.
    pub time: Vec<f64>,
    /// The reference, in the setpoint's unit.
    pub reference: Vec<f64>,
    /// The feedback, in its unit.
    pub feedback: Vec<f64>,
    /// The effort, when the device streams one.
    pub effort: Option<Vec<f64>>,
    /// The step's metrics, or why it has none.
    pub metrics: Result<StepMetrics, StepMetricsError>,
}

/// Where a step test stands.
#[derive(Clone, Debug, PartialEq)]
pub enum StepTestState {
    /// Collecting the samples before the first step.
    Starting,
    /// Waiting for, or holding, target `target` (from 1) of `of`.
    Running {
        /// The target, from 1.
        target: usize,
        /// Targets in the plan.
        of: usize,
    },
    /// Every step measured, and the setpoint back where it was.
    Finished,
    /// Stopped before the end.
    Aborted,
    /// Ended with an error.
    Failed(StepTestError),
}

/// One target of the plan.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Target {
    value: f32,
    measured: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// Before the first write: waiting for the loop to rest, since `since_s`.
    Collecting {
        since_s: Option<f64>,
    },
    /// Target written at `written_s`; the reference has not shown it yet.
    AwaitingStep {
        written_s: f64,
    },
    /// The reference showed the target at `step_s`.
    Holding {
        step_s: f64,
    },
    Over,
}

/// One sample of the three channels the test measures.
#[derive(Clone, Copy, Debug)]
struct Sample {
    time: f64,
    reference: f64,
    feedback: f64,
    effort: f64,
}

/// A step test in progress; see the module documentation.
#[derive(Debug)]
pub struct StepTest {
    plan: StepPlan,
    options: StepOptions,
    setpoint_index: u8,
    /// The setpoint's unit, for messages.
    unit: String,
    original: f32,
    reference_channel: usize,
    feedback_channel: usize,
    effort_channel: Option<usize>,
    targets: Vec<Target>,
    /// Index into `targets` of the one written last.
    current: usize,
    phase: Phase,
    state: StepTestState,
    /// Samples from `pre_s` before the current target's write on.
    samples: VecDeque<Sample>,
    /// The newest sample's time, once any arrived.
    newest_s: Option<f64>,
    measured_so_far: usize,
    responses: Vec<StepResponse>,
    /// The instant the first step is written, shared with other devices'
    /// tests ([`StepTest::starting_at`]); `None` steps once at rest.
    start_at: Option<Instant>,
    /// The loop was at rest over the newest window, while a shared start
    /// is awaited.
    at_rest: bool,
}

impl StepTest {
    /// Checks `plan` against the device and prepares the test; the first
    /// write comes out of [`StepTest::on_samples`] once `pre_s` of samples
    /// arrived. `setpoint_now` is the setpoint parameter's value in force,
    /// which the test restores at its end.
    ///
    /// Without an effort limit in `options`, a writable parameter named
    /// `…output_limit` in the effort channel's unit is taken as the limit
    /// for time in saturation.
    pub fn start(
        plan: StepPlan,
        info: &DeviceInfo,
        setpoint_now: f32,
        mut options: StepOptions,
    ) -> Result<Self, StepTestError> {
        validate(&plan)?;
        let setpoint_index = info
            .params
            .iter()
            .position(|p| p.flags.setpoint() && !p.flags.read_only())
            .ok_or(StepTestError::NoSetpoint)?;
        let setpoint = &info.params[setpoint_index];
        let channel = |role| info.channels.iter().position(|c| c.role == role);
        let reference_channel =
            channel(ChannelRole::Reference).ok_or(StepTestError::NoChannel("reference"))?;
        let feedback_channel =
            channel(ChannelRole::Feedback).ok_or(StepTestError::NoChannel("feedback"))?;
        let effort_channel = channel(ChannelRole::Effort);
        if options.effort_limit.is_none()
            && let Some(effort) = effort_channel
        {
            let unit = &info.channels[effort].unit;
            options.effort_limit = info
                .params
                .iter()
                .find(|p| p.name.ends_with("output_limit") && &p.unit == unit && p.value > 0.0)
                .map(|p| f64::from(p.value));
        }

        let targets = plan_targets(&plan, setpoint_now);
        for target in &targets {
            if !(setpoint.min..=setpoint.max).contains(&target.value) {
                return Err(StepTestError::OutOfLimits {
                    target: f64::from(target.value),
                    min: setpoint.min,
                    max: setpoint.max,
                    unit: setpoint.unit.clone(),
                });
            }
        }
        Ok(Self {
            plan,
            options,
            setpoint_index: setpoint_index as u8,
            unit: setpoint.unit.clone(),
            original: setpoint_now,
            reference_channel,
            feedback_channel,
            effort_channel,
            targets,
            current: 0,
            phase: Phase::Collecting { since_s: None },
            state: StepTestState::Starting,
            samples: VecDeque::new(),
            newest_s: None,
            measured_so_far: 0,
            responses: Vec::new(),
            start_at: None,
            at_rest: false,
        })
    }

    /// The same test with its first step written at `at` (a host instant
    /// shared by the tests of several devices, a gantry's axes stepped
    /// together) rather than as soon as the loop is at rest. The loop must
    /// be at rest then, and its first step start where the axis is, or the
    /// test fails with nothing written ([`StepTestError::NotAtRestAtStart`]).
    pub fn starting_at(mut self, at: Instant) -> Self {
        self.start_at = Some(at);
        self
    }

    /// The time passing, a few milliseconds apart at most: at a shared
    /// start ([`StepTest::starting_at`]), the first step's write.
    pub fn on_tick(&mut self, now: Instant) -> Option<ParamWrite> {
        let at = self.start_at?;
        if now < at || !matches!(self.phase, Phase::Collecting { .. }) {
            return None;
        }
        self.start_at = None;
        let newest = self.samples.back().copied();
        match newest {
            Some(sample) if self.at_rest => Some(self.write_target(0, sample.time)),
            _ => {
                self.phase = Phase::Over;
                self.state = StepTestState::Failed(StepTestError::NotAtRestAtStart);
                None
            }
        }
    }

    /// What was asked for.
    pub fn plan(&self) -> &StepPlan {
        &self.plan
    }

    /// Where it stands.
    pub fn state(&self) -> &StepTestState {
        &self.state
    }

    /// The test has ended, for whatever reason.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Over
    }

    /// Why the test failed, if it did.
    pub fn failure(&self) -> Option<&StepTestError> {
        match &self.state {
            StepTestState::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// The setpoint's value before the test, which it restores.
    pub fn original_setpoint(&self) -> f32 {
        self.original
    }

    /// Takes the steps measured since the last call.
    pub fn take_responses(&mut self) -> Vec<StepResponse> {
        std::mem::take(&mut self.responses)
    }

    /// Stops the test; returns the write that restores the setpoint.
    pub fn abort(&mut self) -> ParamWrite {
        if self.phase != Phase::Over {
            self.phase = Phase::Over;
            self.state = StepTestState::Aborted;
        }
        self.write(self.original)
    }

    /// Feeds a batch of samples; returns a setpoint write to send now.
    pub fn on_samples(&mut self, batch: &SampleBatch) -> Option<ParamWrite> {
        if self.phase == Phase::Over {
            return None;
        }
        let mut write = None;
        for k in 0..batch.len() {
            let values = batch.sample(k);
            let value = |channel: usize| values.get(channel).copied().map_or(f64::NAN, f64::from);
            let sample = Sample {
                time: batch.time_of(k),
                reference: value(self.reference_channel),
                feedback: value(self.feedback_channel),
                effort: self.effort_channel.map_or(f64::NAN, value),
            };
            if let Some(next) = self.on_sample(sample) {
                write = Some(next);
            }
            if self.phase == Phase::Over {
                break;
            }
        }
        write
    }

    fn on_sample(&mut self, sample: Sample) -> Option<ParamWrite> {
        self.samples.push_back(sample);
        self.newest_s = Some(sample.time);
        match self.phase {
            Phase::Collecting { since_s } => {
                let since_s = since_s.unwrap_or(sample.time);
                self.phase = Phase::Collecting {
                    since_s: Some(since_s),
                };
                // A quarter of the hold: a loop that would still drift
                // visibly over the hold drifts visibly over this window.
                let window = self.plan.rest_window_s();
                while self
                    .samples
                    .front()
                    .is_some_and(|s| sample.time - s.time > window)
                {
                    self.samples.pop_front();
                }
                // A whole window since collecting began, not a sample exactly
                // a window ago: host-timed samples (polled firmware) come at
                // strides that need not divide the window.
                if sample.time - since_s < window - 1e-9 {
                    return None;
                }
                let spread = self.spread();
                self.at_rest = spread <= REST_BAND * self.plan.amplitude;
                if self.at_rest {
                    if let Err(error) = self.starts_where_the_axis_is(sample.feedback) {
                        self.phase = Phase::Over;
                        self.state = StepTestState::Failed(error);
                        return None;
                    }
                    if self.start_at.is_some() {
                        // The shared start writes it ([`Self::on_tick`]).
                        return None;
                    }
                    Some(self.write_target(0, sample.time))
                } else {
                    if sample.time - since_s > REST_TIMEOUT_S {
                        self.phase = Phase::Over;
                        self.state = StepTestState::Failed(StepTestError::NotAtRest { spread });
                    }
                    None
                }
            }
            Phase::AwaitingStep { written_s } => {
                let target = f64::from(self.targets[self.current].value);
                if reached(sample.reference, target) {
                    self.phase = Phase::Holding {
                        step_s: sample.time,
                    };
                    None
                } else if sample.time - written_s > STEP_SEEN_TIMEOUT_S {
                    self.phase = Phase::Over;
                    self.state = StepTestState::Failed(StepTestError::ReferenceDidNotFollow {
                        target: self.targets[self.current].value,
                    });
                    Some(self.write(self.original))
                } else {
                    None
                }
            }
            Phase::Holding { step_s } => {
                if sample.time - step_s < self.plan.hold_s {
                    return None;
                }
                if self.targets[self.current].measured {
                    self.record_step(step_s);
                }
                let next = self.current + 1;
                if next == self.targets.len() {
                    // The last target is the original setpoint: nothing to write.
                    self.phase = Phase::Over;
                    self.state = StepTestState::Finished;
                    None
                } else {
                    Some(self.write_target(next, sample.time))
                }
            }
            Phase::Over => None,
        }
    }

    /// Whether the first target is within the amplitude (and the rest band)
    /// of the feedback, so the first step moves the axis by the amplitude.
    fn starts_where_the_axis_is(&self, feedback: f64) -> Result<(), StepTestError> {
        let target = self.targets[0].value;
        let distance = (f64::from(target) - feedback).abs();
        if distance <= self.plan.amplitude * (1.0 + REST_BAND) {
            return Ok(());
        }
        Err(StepTestError::StartsAway {
            target,
            feedback,
            distance,
            amplitude: self.plan.amplitude,
            unit: self.unit.clone(),
        })
    }

    /// Highest minus lowest feedback of the samples kept.
    fn spread(&self) -> f64 {
        let (low, high) = self
            .samples
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), s| {
                (low.min(s.feedback), high.max(s.feedback))
            });
        high - low
    }

    fn write_target(&mut self, index: usize, now_s: f64) -> ParamWrite {
        self.current = index;
        self.phase = Phase::AwaitingStep { written_s: now_s };
        self.state = StepTestState::Running {
            target: index + 1,
            of: self.targets.len(),
        };
        // Only the window before this write is needed from here on.
        while self
            .samples
            .front()
            .is_some_and(|s| now_s - s.time > self.plan.pre_s)
        {
            self.samples.pop_front();
        }
        self.write(self.targets[index].value)
    }

    fn record_step(&mut self, step_s: f64) {
        let from = self
            .current
            .checked_sub(1)
            .map_or(self.original, |i| self.targets[i].value);
        let window: Vec<Sample> = self
            .samples
            .iter()
            .filter(|s| s.time >= step_s - self.plan.pre_s - 1e-9)
            .copied()
            .collect();
        let time: Vec<f64> = window.iter().map(|s| s.time - step_s).collect();
        let reference: Vec<f64> = window.iter().map(|s| s.reference).collect();
        let feedback: Vec<f64> = window.iter().map(|s| s.feedback).collect();
        let effort = self
            .effort_channel
            .map(|_| window.iter().map(|s| s.effort).collect::<Vec<f64>>());
        let metrics = step_metrics(
            &StepRecord {
                time: &time,
                reference: &reference,
                feedback: &feedback,
                effort: effort.as_deref(),
            },
            &self.options,
        );
        self.measured_so_far += 1;
        self.responses.push(StepResponse {
            number: self.measured_so_far,
            from,
            to: self.targets[self.current].value,
            step_time_s: step_s,
            time,
            reference,
            feedback,
            effort,
            metrics,
        });
    }

    fn write(&self, value: f32) -> ParamWrite {
        ParamWrite {
            index: self.setpoint_index,
            value,
        }
    }
}

fn validate(plan: &StepPlan) -> Result<(), StepTestError> {
    // Written so that NaN fails every comparison and is refused.
    if !(plan.amplitude.is_finite() && plan.amplitude > 0.0) {
        return Err(StepTestError::BadAmplitude(plan.amplitude));
    }
    if !(plan.hold_s > 0.0 && plan.hold_s <= MAX_HOLD_S) {
        return Err(StepTestError::BadHold(plan.hold_s));
    }
    if !(1..=MAX_REPEATS).contains(&plan.repeats) {
        return Err(StepTestError::BadRepeats(plan.repeats));
    }
    if !(plan.pre_s >= 0.0 && plan.pre_s < plan.hold_s) {
        return Err(StepTestError::BadPreWindow(plan.pre_s));
    }
    Ok(())
}

/// The targets in order; the last one is always `original`.
fn plan_targets(plan: &StepPlan, original: f32) -> Vec<Target> {
    let amplitude = plan.amplitude as f32;
    let away = |value| Target {
        value,
        measured: true,
    };
    let back = |measured| Target {
        value: original,
        measured,
    };
    let one = match plan.direction {
        StepDirection::Up => [away(original + amplitude), back(false)],
        StepDirection::Down => [away(original - amplitude), back(false)],
        StepDirection::UpThenDown => [away(original + amplitude), back(true)],
    };
    (0..plan.repeats).flat_map(|_| one).collect()
}

/// The reference shows `target`: setpoints travel as f32, so allow their
/// rounding and nothing more.
fn reached(reference: f64, target: f64) -> bool {
    (reference - target).abs() <= 1e-6 * target.abs().max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Rise, Settling};
    use crate::sim::SimDrive;
    use crate::sim::controller::PidGains;
    use crate::sim::drive::{DriveConfig, SETPOINT_INDEX};

    const TICK_HZ: f64 = 10_000.0;
    /// Samples per batch: 10 ms, as the simulated firmware batches.
    const BATCH: usize = 100;

    /// Runs `test` against `drive` in device time until it ends, applying
    /// each write one batch after it was asked for (a round trip), and
    /// returns the writes in order.
    fn run(test: &mut StepTest, drive: &mut SimDrive, max_s: f64) -> Vec<ParamWrite> {
        let mut writes = Vec::new();
        let mut in_flight: Option<ParamWrite> = None;
        let mut tick = 0i64;
        while !test.is_done() && (tick as f64) < max_s * TICK_HZ {
            if let Some(write) = in_flight.take() {
                drive
                    .set_param(write.index, write.value)
                    .expect("the setpoint is writable");
            }
            let mut values = Vec::with_capacity(BATCH * 8);
            for _ in 0..BATCH {
                values.extend(drive.tick(1.0 / TICK_HZ).as_array());
            }
            let batch = SampleBatch {
                first_tick: tick,
                stride: 1,
                tick_hz: TICK_HZ,
                channel_count: 8,
                values,
                exact: None,
            };
            tick += BATCH as i64;
            if let Some(write) = test.on_samples(&batch) {
                writes.push(write);
                in_flight = Some(write);
            }
        }
        if let Some(write) = in_flight {
            drive.set_param(write.index, write.value).expect("writable");
        }
        writes
    }

    /// Moves the drive's setpoint to `setpoint` and lets it come to rest.
    fn rest_at(drive: &mut SimDrive, setpoint: f32) {
        drive
            .set_param(SETPOINT_INDEX, setpoint)
            .expect("the setpoint is writable");
        for _ in 0..(5.0 * TICK_HZ) as usize {
            drive.tick(1.0 / TICK_HZ);
        }
    }

    /// A linear PD loop: J·s² + (b + Kt·kd)·s + Kt·kp, ωn = 10 rad/s,
    /// ζ = 0.475.
    fn second_order_drive() -> (SimDrive, f64) {
        let mut config = DriveConfig::linear();
        config.gains = PidGains {
            kp: 2.0,
            ki: 0.0,
            kd: 0.17,
            derivative_filter: 0.0,
            output_limit: 1e6,
        };
        config.plant.inertia = 1e-3;
        config.plant.viscous = 1e-3;
        config.plant.torque_constant = 0.05;
        let p = &config.plant;
        let wn = (p.torque_constant * config.gains.kp / p.inertia).sqrt();
        let zeta = (p.viscous + p.torque_constant * config.gains.kd) / (2.0 * p.inertia * wn);
        let mut drive = SimDrive::new(config);
        drive.set_enabled(true);
        (drive, zeta)
    }

    #[test]
    fn measures_the_analytic_overshoot_of_a_second_order_loop() {
        let (mut drive, zeta) = second_order_drive();
        let plan = StepPlan {
            amplitude: 0.5,
            hold_s: 2.0,
            ..StepPlan::default()
        };
        let info = drive.device_info(TICK_HZ as u32);
        let mut test = StepTest::start(plan, &info, 0.0, StepOptions::default()).expect("valid");
        let writes = run(&mut test, &mut drive, 10.0);
        assert_eq!(test.state(), &StepTestState::Finished);
        assert_eq!(
            writes,
            [
                ParamWrite {
                    index: SETPOINT_INDEX,
                    value: 0.5
                },
                ParamWrite {
                    index: SETPOINT_INDEX,
                    value: 0.0
                },
            ]
        );
        let responses = test.take_responses();
        assert_eq!(responses.len(), 1, "the way back is not measured");
        let step = &responses[0];
        assert_eq!((step.from, step.to), (0.0, 0.5));
        let metrics = step.metrics.as_ref().expect("measurable");
        let expected = 100.0 * (-std::f64::consts::PI * zeta / (1.0 - zeta * zeta).sqrt()).exp();
        assert!(
            (metrics.overshoot_percent - expected).abs() < 0.01 * expected,
            "overshoot {} %, analytic {expected} %",
            metrics.overshoot_percent
        );
        // The step is measured where the reference changed, not where the
        // write was asked for: the record starts pre_s before it.
        assert!(metrics.step_time.abs() < 1e-9, "{}", metrics.step_time);
        assert!(
            (step.time[0] + plan.pre_s).abs() <= 1e-4,
            "{}",
            step.time[0]
        );
        assert!(step.time.last().is_some_and(|&t| t >= plan.hold_s - 1e-4));
        assert!(step.effort.is_some(), "the sim streams effort");
    }

    #[test]
    fn up_then_down_measures_both_steps_and_repeats() {
        let (mut drive, _) = second_order_drive();
        let plan = StepPlan {
            amplitude: 0.2,
            direction: StepDirection::UpThenDown,
            hold_s: 1.5,
            repeats: 2,
            pre_s: 0.05,
        };
        let info = drive.device_info(TICK_HZ as u32);
        let mut test = StepTest::start(plan, &info, 1.0, StepOptions::default()).expect("valid");
        drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
        let values: Vec<f32> = run(&mut test, &mut drive, 20.0)
            .iter()
            .map(|w| w.value)
            .collect();
        assert_eq!(values, [1.2, 1.0, 1.2, 1.0]);
        let responses = test.take_responses();
        let steps: Vec<(usize, f32, f32)> =
            responses.iter().map(|r| (r.number, r.from, r.to)).collect();
        assert_eq!(
            steps,
            [(1, 1.0, 1.2), (2, 1.2, 1.0), (3, 1.0, 1.2), (4, 1.2, 1.0)]
        );
        // A linear loop answers a step down as the mirror of a step up.
        let overshoot =
            |r: &StepResponse| r.metrics.as_ref().expect("measurable").overshoot_percent;
        assert!((overshoot(&responses[0]) - overshoot(&responses[1])).abs() < 0.5);
        for response in &responses {
            let metrics = response.metrics.as_ref().expect("measurable");
            assert!(matches!(metrics.rise, Rise::Reached { .. }));
            assert!(matches!(metrics.settling, Settling::Settled(_)));
        }
    }

    #[test]
    fn abort_restores_the_setpoint_and_ends_the_test() {
        let (mut drive, _) = second_order_drive();
        let info = drive.device_info(TICK_HZ as u32);
        let mut test = StepTest::start(StepPlan::default(), &info, 0.25, StepOptions::default())
            .expect("valid");
        rest_at(&mut drive, 0.25);
        run(&mut test, &mut drive, 0.3);
        assert!(matches!(
            test.state(),
            StepTestState::Running { target: 1, .. }
        ));
        let restore = test.abort();
        assert_eq!(
            restore,
            ParamWrite {
                index: SETPOINT_INDEX,
                value: 0.25
            }
        );
        assert_eq!(test.state(), &StepTestState::Aborted);
        assert!(test.is_done());
        assert!(test.take_responses().is_empty(), "the hold was cut short");
    }

    #[test]
    fn a_first_step_further_than_its_amplitude_from_the_axis_is_refused_unwritten() {
        let (mut drive, _) = second_order_drive();
        let info = drive.device_info(TICK_HZ as u32);
        let plan = StepPlan {
            amplitude: 0.5,
            ..StepPlan::default()
        };
        // The setpoint as read before the output came on, 0, while the
        // axis rests at 3.7: the first step would be a 4.2-turn move.
        rest_at(&mut drive, 3.7);
        let mut test = StepTest::start(plan, &info, 0.0, StepOptions::default()).expect("valid");
        let writes = run(&mut test, &mut drive, 10.0);
        assert!(writes.is_empty(), "{writes:?}");
        let Some(StepTestError::StartsAway {
            target, distance, ..
        }) = test.failure()
        else {
            panic!("{:?}", test.state());
        };
        assert_eq!(*target, 0.5);
        assert!((distance - 3.2).abs() < 0.01, "{distance}");
        let message = test.failure().map(ToString::to_string).unwrap_or_default();
        assert!(
            message.starts_with("refused: the first step would go to 0.5"),
            "{message}"
        );
        // From where the axis rests it runs.
        let mut test = StepTest::start(plan, &info, 3.7, StepOptions::default()).expect("valid");
        let writes = run(&mut test, &mut drive, 10.0);
        assert_eq!(writes.first().map(|w| w.value), Some(4.2));
        assert_eq!(test.state(), &StepTestState::Finished);
    }

    #[test]
    fn a_reference_that_never_follows_fails_and_restores() {
        let (mut drive, _) = second_order_drive();
        let info = drive.device_info(TICK_HZ as u32);
        let mut test = StepTest::start(StepPlan::default(), &info, 0.0, StepOptions::default())
            .expect("valid");
        // A device that ignores its setpoint: writes are never applied.
        let mut writes = Vec::new();
        for n in 0..200i64 {
            let mut values = Vec::new();
            for _ in 0..BATCH {
                values.extend(drive.tick(1.0 / TICK_HZ).as_array());
            }
            let batch = SampleBatch {
                first_tick: n * BATCH as i64,
                stride: 1,
                tick_hz: TICK_HZ,
                channel_count: 8,
                values,
                exact: None,
            };
            writes.extend(test.on_samples(&batch));
        }
        assert_eq!(
            test.failure(),
            Some(&StepTestError::ReferenceDidNotFollow { target: 1.0 })
        );
        assert_eq!(writes.last().map(|w| w.value), Some(0.0), "restored");
    }

    /// Feeds `seconds` of `drive`'s samples to `test` from `tick`,
    /// applying what it writes at once; how many writes.
    fn feed(test: &mut StepTest, drive: &mut SimDrive, tick: &mut i64, seconds: f64) -> usize {
        let mut writes = 0;
        for _ in 0..(seconds * TICK_HZ / BATCH as f64) as usize {
            let mut values = Vec::new();
            for _ in 0..BATCH {
                values.extend(drive.tick(1.0 / TICK_HZ).as_array());
            }
            let batch = SampleBatch {
                first_tick: *tick,
                stride: 1,
                tick_hz: TICK_HZ,
                channel_count: 8,
                values,
                exact: None,
            };
            *tick += BATCH as i64;
            if let Some(write) = test.on_samples(&batch) {
                drive.set_param(write.index, write.value).expect("writable");
                writes += 1;
            }
        }
        writes
    }

    #[test]
    fn a_shared_start_writes_the_first_step_at_its_instant_and_not_before() {
        let (mut drive, _) = second_order_drive();
        let info = drive.device_info(TICK_HZ as u32);
        let plan = StepPlan::once(0.2, StepDirection::Up, 0.1, 1.0);
        let start = Instant::now() + std::time::Duration::from_secs(3600);
        let mut test = StepTest::start(plan, &info, 0.0, StepOptions::default())
            .expect("valid")
            .starting_at(start);
        let mut tick = 0;
        // At rest long before the start: nothing written on a sample.
        assert_eq!(feed(&mut test, &mut drive, &mut tick, 2.0), 0);
        assert_eq!(
            test.on_tick(start - std::time::Duration::from_millis(1)),
            None
        );
        let write = test.on_tick(start).expect("the first step at the start");
        assert_eq!(write.value, 0.2);
        assert_eq!(test.on_tick(start), None, "written once");
        drive.set_param(write.index, write.value).expect("writable");
        assert_eq!(feed(&mut test, &mut drive, &mut tick, 3.0), 1, "back down");
        assert_eq!(test.take_responses().len(), 1);
        assert!(test.is_done() && test.failure().is_none());
    }

    #[test]
    fn a_loop_moving_at_the_shared_start_writes_nothing() {
        let (mut drive, _) = second_order_drive();
        let info = drive.device_info(TICK_HZ as u32);
        let plan = StepPlan::once(0.2, StepDirection::Up, 0.1, 1.0);
        let start = Instant::now();
        let mut test = StepTest::start(plan, &info, 0.0, StepOptions::default())
            .expect("valid")
            .starting_at(start);
        // Too few samples to know the loop is at rest.
        let mut tick = 0;
        feed(&mut test, &mut drive, &mut tick, 0.05);
        assert_eq!(test.on_tick(start), None);
        assert_eq!(test.failure(), Some(&StepTestError::NotAtRestAtStart));
        assert_eq!(feed(&mut test, &mut drive, &mut tick, 1.0), 0);
    }

    #[test]
    fn waits_for_a_moving_loop_to_come_to_rest() {
        let (mut drive, _) = second_order_drive();
        // The drive was just told to go to 0.5: the loop is still moving.
        drive.set_param(SETPOINT_INDEX, 0.5).expect("writable");
        let info = drive.device_info(TICK_HZ as u32);
        let plan = StepPlan {
            amplitude: 0.2,
            hold_s: 2.0,
            ..StepPlan::default()
        };
        let mut test = StepTest::start(plan, &info, 0.5, StepOptions::default()).expect("valid");
        run(&mut test, &mut drive, 20.0);
        let step = &test.take_responses()[0];
        let metrics = step.metrics.as_ref().expect("measurable");
        assert!(
            (metrics.initial_value - 0.5).abs() < 0.03 * plan.amplitude,
            "measured from rest at 0.5, not on the way: {}",
            metrics.initial_value
        );
    }

    #[test]
    fn a_loop_that_never_rests_fails_before_writing() {
        let mut config = DriveConfig::linear();
        // No damping at all: the loop rings for ever.
        config.gains = PidGains {
            kp: 2.0,
            ki: 0.0,
            kd: 0.0,
            derivative_filter: 0.0,
            output_limit: 1e6,
        };
        config.plant.viscous = 0.0;
        let mut drive = SimDrive::new(config);
        drive.set_enabled(true);
        drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
        let info = drive.device_info(TICK_HZ as u32);
        let mut test = StepTest::start(StepPlan::default(), &info, 1.0, StepOptions::default())
            .expect("valid");
        let writes = run(&mut test, &mut drive, 30.0);
        assert!(writes.is_empty(), "nothing written: {writes:?}");
        assert!(matches!(
            test.failure(),
            Some(StepTestError::NotAtRest { .. })
        ));
    }

    #[test]
    fn refuses_plans_that_cannot_run() {
        let (drive, _) = second_order_drive();
        let info = drive.device_info(TICK_HZ as u32);
        let start = |plan: StepPlan, now: f32| {
            StepTest::start(plan, &info, now, StepOptions::default()).map(|_| ())
        };
        let plan = StepPlan::default();
        assert_eq!(
            start(
                StepPlan {
                    amplitude: -1.0,
                    ..plan
                },
                0.0
            ),
            Err(StepTestError::BadAmplitude(-1.0))
        );
        assert!(matches!(
            start(
                StepPlan {
                    amplitude: f64::NAN,
                    ..plan
                },
                0.0
            ),
            Err(StepTestError::BadAmplitude(_))
        ));
        assert_eq!(
            start(
                StepPlan {
                    hold_s: 0.0,
                    ..plan
                },
                0.0
            ),
            Err(StepTestError::BadHold(0.0))
        );
        assert_eq!(
            start(StepPlan { repeats: 0, ..plan }, 0.0),
            Err(StepTestError::BadRepeats(0))
        );
        assert_eq!(
            start(StepPlan { pre_s: 2.0, ..plan }, 0.0),
            Err(StepTestError::BadPreWindow(2.0))
        );
        assert!(matches!(
            start(plan, 99.5),
            Err(StepTestError::OutOfLimits { target, .. }) if target == 100.5
        ));
        let mut no_setpoint = info.clone();
        no_setpoint.params.retain(|p| !p.flags.setpoint());
        assert_eq!(
            StepTest::start(plan, &no_setpoint, 0.0, StepOptions::default()).map(|_| ()),
            Err(StepTestError::NoSetpoint)
        );
    }

    #[test]
    fn takes_the_output_limit_as_the_saturation_limit() {
        let drive = SimDrive::new(DriveConfig::default());
        let info = drive.device_info(TICK_HZ as u32);
        let test = StepTest::start(StepPlan::default(), &info, 0.0, StepOptions::default())
            .expect("valid");
        assert_eq!(test.options.effort_limit, Some(5.0));
    }
}
