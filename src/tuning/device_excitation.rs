//! A frequency-response measurement the device excites itself
//! (docs/PROTOCOL.md 4.6, "Device-side excitation"): the device generates
//! a chirp or a PRBS at its loop rate, on its setpoint or added to its
//! output, and streams what it applied; this engine sets it up, records
//! the run and estimates the response. Setpoint writes no longer bound the
//! band: only the loop rate and the stream do.
//!
//! The contract:
//! - No I/O. It is fed every sample batch and every value the device
//!   reports, and answers with the parameter writes to send, in order.
//! - It starts only on a device that declares `excite.active`,
//!   `excite.amplitude`, `excite.f0`, `excite.f1` and `excite.duration`,
//!   streams reference and feedback (and effort, for the effort point),
//!   and whose limits hold the plan; [`frequency_response`] picks it when
//!   the device declares them and the host-written [`Excitation`](super::Excitation)
//!   otherwise.
//! - With its first batch it writes the settings that differ from the
//!   device's, then `excite.active` = 1 last. The record starts with the
//!   next batch; the run counts from the device's VALUE `excite.active` =
//!   1 and ends on its unprompted VALUE 0, after a tail of
//!   [`TAIL_S`] so the batch still under way when the device ended is in.
//!   A device that answers 0 at once refused; one that runs for less than
//!   [`EARLY_SHARE`] of the duration was stopped (ENABLE 0, a fault); one
//!   still running [`END_SLACK_S`] after the duration has not ended.
//! - The samples outside the run hold the reference constant, so they add
//!   nothing to the cross spectra the estimate divides.
//! - At the setpoint point the estimate is that of [`Excitation`](super::Excitation): the
//!   reference channel is what the loop followed. At the effort point the
//!   reference channel streams the setpoint plus the injection d, and with
//!   d as instrument the plant is `P = S_dy / S_du` and the sensitivity
//!   `S = S_du / S_dd`: the loop broken at the plant's input is
//!   `L = 1/S − 1` and its closed loop `1 − S`, exact also for a
//!   derivative on the measurement. A point's coherence is the lower of
//!   d → effort and d → feedback.
//! - However it ends, its last writes are `excite.active` = 0 (unless the
//!   device already said 0) and each setting it changed back to its value
//!   before.

use crate::analysis::{BodePoint, estimate_response, loop_figures};
use crate::protocol::{ChannelRole, DeviceInfo, SampleBatch};

use super::excitation::{evenly_spaced, segment_len};
use super::{
    ExcitationError, ExcitationKind, ExcitationPlan, ExcitationRecord, ExcitationState,
    FrequencyMeasurement,
};
use super::{Outcome, ParamWrite, Procedure, ProcedureState};

/// Device time recorded after the device said the run is over, s: the
/// samples of its last ticks come in the batch after that VALUE.
pub const TAIL_S: f64 = 0.05;
/// Device time past the duration the device has to end the run, s.
pub const END_SLACK_S: f64 = 2.0;
/// Share of the duration a run must have lasted to count as complete.
pub const EARLY_SHARE: f64 = 0.95;
/// Device time the device has to confirm `excite.active` = 1, s.
pub const CONFIRM_TIMEOUT_S: f64 = 2.0;

/// Where the excitation enters the loop (`excite.point`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InjectionPoint {
    /// On the setpoint: the closed loop as the reference sees it.
    #[default]
    Setpoint,
    /// Added to the controller's output: the plant through its resonances,
    /// far above the loop's bandwidth.
    Effort,
}

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// Nothing written yet.
    Setup,
    /// `excite.active` = 1 sent at this device time; not yet confirmed.
    Starting {
        sent_s: f64,
    },
    /// Confirmed: the run began about this device time.
    Running {
        since_s: f64,
    },
    /// The device said 0 at about `ended_s`, after `lasted_s`; recording
    /// the tail.
    Ending {
        ended_s: f64,
        lasted_s: f64,
    },
    Over,
}

/// A device-side measurement in progress; see the module documentation.
#[derive(Debug)]
pub struct DeviceExcitation {
    plan: ExcitationPlan,
    point: InjectionPoint,
    params: ExciteParams,
    setpoint: f32,
    /// The settings to write, in order, and their values before.
    settings: Vec<(ParamWrite, f32)>,
    reference_channel: usize,
    feedback_channel: usize,
    effort_channel: Option<usize>,
    /// Device time of the newest sample seen.
    now_s: f64,
    next_s: Option<f64>,
    lost: usize,
    recording: bool,
    /// Device time of the record's first sample.
    record_start_s: Option<f64>,
    record: ExcitationRecord,
    phase: Phase,
    state: ExcitationState,
    result: Option<FrequencyMeasurement>,
}

impl DeviceExcitation {
    /// Checks `plan` against the device's declared excitation and limits.
    pub fn start(
        plan: ExcitationPlan,
        point: InjectionPoint,
        info: &DeviceInfo,
        setpoint_now: f32,
    ) -> Result<Self, ExcitationError> {
        let params = ExciteParams::find(&info.params).ok_or(ExcitationError::NoDeviceExcitation)?;
        validate(&plan)?;
        let channel = |role| info.channels.iter().position(|c| c.role == role);
        let reference_channel =
            channel(ChannelRole::Reference).ok_or(ExcitationError::NoChannel("reference"))?;
        let feedback_channel =
            channel(ChannelRole::Feedback).ok_or(ExcitationError::NoChannel("feedback"))?;
        let effort_channel = channel(ChannelRole::Effort);
        if point == InjectionPoint::Effort && effort_channel.is_none() {
            return Err(ExcitationError::NoChannel("effort"));
        }
        if point == InjectionPoint::Setpoint {
            check_setpoint_range(&plan, info, setpoint_now)?;
        }
        let kind = match plan.kind {
            ExcitationKind::Prbs => 1.0,
            _ => 0.0,
        };
        let mut wanted = vec![
            (params.amplitude, plan.amplitude),
            (params.f0, plan.from_hz),
            (params.f1, plan.to_hz),
            (params.duration, plan.duration_s),
        ];
        match (params.kind, plan.kind) {
            (Some(index), _) => wanted.push((index, kind)),
            (None, ExcitationKind::Chirp) => {}
            (None, _) => return Err(ExcitationError::DeviceKind(plan.kind.label())),
        }
        if let Some(index) = params.point {
            wanted.push((index, f64::from(u8::from(point == InjectionPoint::Effort))));
        }
        let mut settings = Vec::new();
        for (index, value) in wanted {
            let param = &info.params[usize::from(index)];
            if !(f64::from(param.min)..=f64::from(param.max)).contains(&value) {
                return Err(ExcitationError::OutsideDeviceLimits {
                    name: param.name.clone(),
                    value,
                    min: param.min,
                    max: param.max,
                });
            }
            if param.value != value as f32 {
                let write = ParamWrite {
                    index,
                    value: value as f32,
                };
                settings.push((write, param.value));
            }
        }
        Ok(Self {
            plan,
            point,
            params,
            setpoint: setpoint_now,
            settings,
            reference_channel,
            feedback_channel,
            effort_channel,
            now_s: 0.0,
            next_s: None,
            lost: 0,
            recording: false,
            record_start_s: None,
            record: ExcitationRecord {
                effort: effort_channel.map(|_| Vec::new()),
                ..ExcitationRecord::default()
            },
            phase: Phase::Setup,
            state: ExcitationState::Running { done: 0.0 },
            result: None,
        })
    }

    pub fn plan(&self) -> &ExcitationPlan {
        &self.plan
    }

    pub fn point(&self) -> InjectionPoint {
        self.point
    }

    pub fn state(&self) -> &ExcitationState {
        &self.state
    }

    pub fn is_done(&self) -> bool {
        !matches!(self.state, ExcitationState::Running { .. })
    }

    /// Why it failed, if it did.
    pub fn failure(&self) -> Option<&ExcitationError> {
        match &self.state {
            ExcitationState::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// Takes the finished measurement, once.
    pub fn take_result(&mut self) -> Option<FrequencyMeasurement> {
        self.result.take()
    }

    /// Stops the run; returns the writes that end it and restore the
    /// settings.
    pub fn abort(&mut self) -> Vec<ParamWrite> {
        if self.is_done() {
            return Vec::new();
        }
        self.state = ExcitationState::Aborted;
        self.end()
    }

    /// A value the device reports.
    pub fn on_value(&mut self, index: u8, value: f32) -> Vec<ParamWrite> {
        if index != self.params.active || self.is_done() {
            return Vec::new();
        }
        match self.phase {
            Phase::Starting { .. } if value >= 0.5 => {
                self.phase = Phase::Running {
                    since_s: self.now_s,
                };
                Vec::new()
            }
            Phase::Starting { .. } => self.fail(ExcitationError::DeviceRefused),
            Phase::Running { since_s } if value < 0.5 => {
                self.phase = Phase::Ending {
                    ended_s: self.now_s,
                    lasted_s: self.now_s - since_s,
                };
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Feeds a batch of samples; returns the writes to send now.
    pub fn on_samples(&mut self, batch: &SampleBatch) -> Vec<ParamWrite> {
        if self.is_done() || batch.is_empty() {
            return Vec::new();
        }
        let sample_hz = batch.tick_hz / f64::from(batch.stride.max(1));
        if self.recording {
            if let Some(next) = self.next_s
                && batch.time_of(0) - next > 0.5 / sample_hz
            {
                self.lost += ((batch.time_of(0) - next) * sample_hz).round() as usize;
            }
            self.record.sample_hz = sample_hz;
            let start_s = *self.record_start_s.get_or_insert(batch.time_of(0));
            for k in 0..batch.len() {
                let time = batch.time_of(k);
                let values = batch.sample(k);
                let value = |c: usize| values.get(c).copied().map_or(f64::NAN, f64::from);
                self.record.time.push(time - start_s);
                self.record.reference.push(value(self.reference_channel));
                self.record.feedback.push(value(self.feedback_channel));
                if let (Some(effort), Some(c)) = (&mut self.record.effort, self.effort_channel) {
                    effort.push(value(c));
                }
            }
        }
        self.next_s = Some(batch.time_of(batch.len() - 1) + batch.period_s());
        self.now_s = batch.time_of(batch.len() - 1);
        let duration = self.plan.duration_s;
        match self.phase {
            Phase::Setup => {
                self.phase = Phase::Starting { sent_s: self.now_s };
                self.recording = true;
                let mut writes: Vec<ParamWrite> = self.settings.iter().map(|(w, _)| *w).collect();
                writes.push(self.active(1.0));
                return writes;
            }
            Phase::Starting { sent_s } if self.now_s - sent_s > CONFIRM_TIMEOUT_S => {
                return self.fail(ExcitationError::DeviceSilent(CONFIRM_TIMEOUT_S));
            }
            Phase::Starting { .. } => {}
            Phase::Running { since_s } => {
                let elapsed = self.now_s - since_s;
                if elapsed > duration + END_SLACK_S {
                    return self.fail(ExcitationError::DeviceDidNotEnd(duration + END_SLACK_S));
                }
                self.state = ExcitationState::Running {
                    done: (elapsed / duration).clamp(0.0, 1.0),
                };
            }
            Phase::Ending { ended_s, lasted_s } if self.now_s - ended_s >= TAIL_S => {
                self.phase = Phase::Over;
                if lasted_s < EARLY_SHARE * duration {
                    self.state = ExcitationState::Failed(ExcitationError::DeviceEndedEarly {
                        lasted: lasted_s,
                        duration,
                    });
                } else {
                    self.finish();
                }
                // The device already ended the run: only the settings.
                return self.restores();
            }
            Phase::Ending { .. } | Phase::Over => {}
        }
        Vec::new()
    }

    fn active(&self, value: f32) -> ParamWrite {
        ParamWrite {
            index: self.params.active,
            value,
        }
    }

    /// The settings back to their values from before, last first.
    fn restores(&self) -> Vec<ParamWrite> {
        self.settings
            .iter()
            .rev()
            .map(|(write, before)| ParamWrite {
                index: write.index,
                value: *before,
            })
            .collect()
    }

    /// `excite.active` = 0 unless the device said so, then the restores;
    /// nothing when nothing was written.
    fn end(&mut self) -> Vec<ParamWrite> {
        let phase = std::mem::replace(&mut self.phase, Phase::Over);
        match phase {
            Phase::Setup => Vec::new(),
            Phase::Ending { .. } | Phase::Over => self.restores(),
            Phase::Starting { .. } | Phase::Running { .. } => {
                let mut writes = vec![self.active(0.0)];
                writes.extend(self.restores());
                writes
            }
        }
    }

    fn fail(&mut self, error: ExcitationError) -> Vec<ParamWrite> {
        self.state = ExcitationState::Failed(error);
        self.end()
    }

    fn finish(&mut self) {
        match self.estimate() {
            Ok(measurement) => {
                self.state = ExcitationState::Finished;
                self.result = Some(measurement);
            }
            Err(error) => self.state = ExcitationState::Failed(error),
        }
    }

    fn estimate(&mut self) -> Result<FrequencyMeasurement, ExcitationError> {
        if self.lost > 0 {
            return Err(ExcitationError::SamplesLost(self.lost));
        }
        let record = evenly_spaced(std::mem::take(&mut self.record));
        let plan = self.plan;
        let segment = segment_len(record.sample_hz, plan.from_hz, record.reference.len());
        let mut points = match (self.point, record.effort.as_deref()) {
            (InjectionPoint::Effort, Some(effort)) => {
                let setpoint = f64::from(self.setpoint);
                let injected: Vec<f64> = record.reference.iter().map(|r| r - setpoint).collect();
                plant_input_response(
                    record.sample_hz,
                    &injected,
                    &record.feedback,
                    effort,
                    segment,
                )?
            }
            _ => estimate_response(
                record.sample_hz,
                &record.reference,
                &record.feedback,
                record.effort.as_deref(),
                segment,
            )?,
        };
        points.retain(|p| (plan.from_hz * 0.999..=plan.to_hz * 1.001).contains(&p.frequency_hz));
        let figures = loop_figures(&points);
        Ok(FrequencyMeasurement {
            plan,
            record,
            points,
            figures,
        })
    }
}

/// The engine runs it like every procedure.
impl Procedure for DeviceExcitation {
    fn name(&self) -> &'static str {
        DEVICE_EXCITATION_NAME
    }

    fn on_samples(&mut self, batch: &SampleBatch) -> Vec<ParamWrite> {
        DeviceExcitation::on_samples(self, batch)
    }

    fn on_value(&mut self, index: u8, value: f32) -> Vec<ParamWrite> {
        DeviceExcitation::on_value(self, index, value)
    }

    fn abort(&mut self) -> Vec<ParamWrite> {
        DeviceExcitation::abort(self)
    }

    fn is_done(&self) -> bool {
        DeviceExcitation::is_done(self)
    }

    fn take_outcomes(&mut self) -> Vec<Outcome> {
        self.take_result()
            .map(Outcome::FrequencyResponse)
            .into_iter()
            .collect()
    }

    fn failure(&self) -> Option<String> {
        DeviceExcitation::failure(self).map(ToString::to_string)
    }

    fn state(&self) -> ProcedureState {
        ProcedureState::Excitation(DeviceExcitation::state(self).clone())
    }
}

/// What the engine calls a device-side measurement.
pub const DEVICE_EXCITATION_NAME: &str = "frequency response (device-excited)";

/// The response from an injection `d` added to the loop's output: the
/// plant with `d` as instrument and the loop broken at the plant's input
/// (see the module documentation).
fn plant_input_response(
    sample_hz: f64,
    injected: &[f64],
    feedback: &[f64],
    effort: &[f64],
    segment: usize,
) -> Result<Vec<BodePoint>, ExcitationError> {
    // d → y with u: plant = S_dy / S_du; d → u: S = S_du / S_dd.
    let through_plant = estimate_response(sample_hz, injected, feedback, Some(effort), segment)?;
    let sensitivity = estimate_response(sample_hz, injected, effort, None, segment)?;
    let one = realfft::num_complex::Complex64::new(1.0, 0.0);
    Ok(through_plant
        .iter()
        .zip(&sensitivity)
        .map(|(plant, s)| BodePoint {
            frequency_hz: plant.frequency_hz,
            closed_loop: one - s.closed_loop,
            coherence: plant.coherence.min(s.coherence),
            plant: plant.plant,
            open_loop: one / s.closed_loop - one,
        })
        .collect())
}

mod plan;
#[cfg(test)]
mod tests;

pub use plan::{
    EFFORT_AMPLITUDE_SHARE, ExciteParams, default_effort_amplitude, device_excites,
    frequency_response,
};
use plan::{check_setpoint_range, validate};
