//! What a frequency-response measurement is asked to do: the kind of
//! excitation, its band, amplitude and length, checked against what the
//! writes and the device can carry, and why a plan is refused.

use super::{DEFAULT_MAX_WRITE_HZ, MAX_DURATION_S, SPEED_SHARE, WRITES_PER_PERIOD};
use crate::analysis::FrequencyResponseError;
use crate::protocol::{ChannelRole, DeviceInfo};

/// The device's velocity limit, in its feedback's unit per second: a
/// parameter named `…vel_limit` in that unit (an ODrive's
/// `controller.config.vel_limit`, turn/s).
pub fn speed_limit(info: &DeviceInfo) -> Option<f64> {
    let feedback = info
        .channels
        .iter()
        .find(|c| c.role == ChannelRole::Feedback)?;
    let unit = format!("{}/s", feedback.unit);
    info.params
        .iter()
        .find(|p| p.name.ends_with("vel_limit") && p.unit == unit && p.value > 0.0)
        .map(|p| f64::from(p.value))
}

/// The signal put on the setpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExcitationKind {
    /// A sine sweeping from `from_hz` to `to_hz` at a constant rate in
    /// octaves per second.
    #[default]
    Chirp,
    /// One sine per frequency, log-spaced: settle, then measure.
    SteppedSine,
    /// A pseudo-random binary sequence of ±amplitude.
    Prbs,
}

impl ExcitationKind {
    /// Every kind, in the order the UI lists them.
    pub const ALL: [Self; 3] = [Self::Chirp, Self::SteppedSine, Self::Prbs];

    /// The kind's name as the UI shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Chirp => "chirp",
            Self::SteppedSine => "stepped sine",
            Self::Prbs => "PRBS",
        }
    }
}

/// What the user asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExcitationPlan {
    /// The signal.
    pub kind: ExcitationKind,
    /// Lowest frequency excited, Hz.
    pub from_hz: f64,
    /// Highest frequency excited, Hz.
    pub to_hz: f64,
    /// Peak excursion from the present setpoint, in its unit.
    pub amplitude: f64,
    /// How long the excitation runs, s of device time.
    pub duration_s: f64,
    /// Most setpoint writes a second.
    pub max_write_hz: f64,
}

impl ExcitationPlan {
    /// A plan that fits a device running its loop at `loop_hz`, streaming
    /// `stream_hz` samples a second, whose setpoint writes reach it
    /// `write_hz` times a second: up to a fifth of the slower of the
    /// stream and the writes (see [`WRITES_PER_PERIOD`]) and a twentieth
    /// of the loop, two decades down from there.
    pub fn for_device(loop_hz: f64, stream_hz: f64, write_hz: f64, setpoint_span: f64) -> Self {
        let max_write_hz = write_hz.min(DEFAULT_MAX_WRITE_HZ);
        let to_hz = (loop_hz / 20.0)
            .min(stream_hz.min(max_write_hz) / WRITES_PER_PERIOD)
            .max(f64::EPSILON);
        Self {
            kind: ExcitationKind::Chirp,
            from_hz: to_hz / 100.0,
            to_hz,
            amplitude: (setpoint_span * 1e-4).max(f64::EPSILON),
            duration_s: 10.0,
            max_write_hz,
        }
    }

    /// The plan with its amplitude lowered, if need be, so that a sine at
    /// the top of its band moves the setpoint no faster than half of
    /// `speed_limit` (2π·to_hz·amplitude): the excitation then measures the
    /// loop, not its velocity limit, and stays gentle on a real axis.
    pub fn within_speed(mut self, speed_limit: f64) -> Self {
        if speed_limit.is_finite() && speed_limit > 0.0 {
            let most = SPEED_SHARE * speed_limit / (std::f64::consts::TAU * self.to_hz);
            self.amplitude = self.amplitude.min(most);
        }
        self
    }

    /// The highest frequency the plan's write rate can excite.
    pub fn highest_hz_for_writes(&self) -> f64 {
        self.max_write_hz / WRITES_PER_PERIOD
    }

    /// Frequencies a stepped sine measures, log-spaced, ten a decade.
    pub fn sine_frequencies(&self) -> Vec<f64> {
        let decades = (self.to_hz / self.from_hz).log10();
        let count = ((decades * 10.0).round() as usize).clamp(2, 40);
        (0..count)
            .map(|k| self.from_hz * (self.to_hz / self.from_hz).powf(k as f64 / (count - 1) as f64))
            .collect()
    }
}

/// Why a measurement cannot start or did not give a result.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExcitationError {
    #[error("the frequencies must satisfy 0 < from < to, not {from} … {to} Hz")]
    /// The band is not 0 < from < to.
    BadRange {
        /// Lowest frequency, Hz.
        from: f64,
        /// Highest frequency, Hz.
        to: f64,
    },
    #[error("the amplitude must be a number above 0, not {0}")]
    /// The amplitude is not a number above 0.
    BadAmplitude(f64),
    #[error("the duration must be above 0 s and at most {MAX_DURATION_S} s, not {0} s")]
    /// The duration is not above 0 s or is above [`MAX_DURATION_S`].
    BadDuration(f64),
    #[error("the write rate must be above 0 per second, not {0}")]
    /// The write rate is not above 0.
    BadWriteRate(f64),
    #[error(
        "{to} Hz is above what the setpoint writes can excite: they reach the device {write_hz:.0} times a second and a period needs {WRITES_PER_PERIOD}, so the highest frequency is {highest:.1} Hz"
    )]
    /// The band reaches above what the setpoint writes can excite.
    AboveWriteRate {
        /// The highest frequency asked for, Hz.
        to: f64,
        /// Setpoint writes reaching the device per second.
        write_hz: f64,
        /// The highest frequency they can excite, Hz.
        highest: f64,
    },
    #[error(
        "{duration} s cannot hold a stepped sine from {from} Hz: give it at least {needed:.1} s"
    )]
    /// The duration cannot hold a stepped sine from the lowest frequency.
    TooShortForSine {
        /// The duration asked for, s.
        duration: f64,
        /// The lowest frequency, Hz.
        from: f64,
        /// The shortest duration that holds it, s.
        needed: f64,
    },
    #[error("the device has no setpoint parameter to excite")]
    /// The device declares no setpoint parameter.
    NoSetpoint,
    #[error("the device streams no {0} channel to measure on")]
    /// The device streams no channel of this role.
    NoChannel(&'static str),
    #[error(
        "an excursion of {amplitude} about {setpoint} leaves the setpoint's limits {min} … {max}"
    )]
    /// The excursion leaves the setpoint's limits.
    OutOfLimits {
        /// Peak excursion, in the setpoint's unit.
        amplitude: f64,
        /// The setpoint it is about.
        setpoint: f32,
        /// The setpoint's lowest value.
        min: f32,
        /// The setpoint's highest value.
        max: f32,
    },
    #[error("the device declares no excitation of its own (excite.* parameters)")]
    /// The device declares no `excite.*` parameters.
    NoDeviceExcitation,
    #[error("the device's own excitation has no {0}: it declares no excite.kind")]
    /// The device cannot produce the kind of signal asked for.
    DeviceKind(&'static str),
    #[error("the device's {name} takes {min} … {max}, not {value}")]
    /// A setting is outside what the device's `excite.*` parameter takes.
    OutsideDeviceLimits {
        /// The parameter's name.
        name: String,
        /// The value asked for.
        value: f64,
        /// The parameter's lowest value.
        min: f32,
        /// The parameter's highest value.
        max: f32,
    },
    #[error("the device did not start its excitation (it answered excite.active = 0)")]
    /// The device answered `excite.active = 0`.
    DeviceRefused,
    #[error("the device did not confirm excite.active = 1 within {0} s")]
    /// The device did not confirm the start within this many seconds.
    DeviceSilent(f64),
    #[error("the device was still exciting {0} s after the start; it was told to stop")]
    /// The device was still exciting this many seconds after the start.
    DeviceDidNotEnd(f64),
    #[error(
        "the device ended its excitation after {lasted:.2} s of {duration} s (output off or a fault?)"
    )]
    /// The device ended its excitation before the duration.
    DeviceEndedEarly {
        /// How long it ran, s.
        lasted: f64,
        /// How long it was asked to run, s.
        duration: f64,
    },
    #[error("{0} samples were lost during the measurement; measure again")]
    /// Samples were lost while measuring.
    SamplesLost(usize),
    #[error("{0}")]
    /// The response could not be estimated.
    Estimate(#[from] FrequencyResponseError),
}

pub(super) fn validate(plan: &ExcitationPlan) -> Result<(), ExcitationError> {
    // Written so that NaN fails every comparison and is refused.
    if !(plan.from_hz > 0.0 && plan.to_hz > plan.from_hz && plan.to_hz.is_finite()) {
        return Err(ExcitationError::BadRange {
            from: plan.from_hz,
            to: plan.to_hz,
        });
    }
    if !(plan.amplitude.is_finite() && plan.amplitude > 0.0) {
        return Err(ExcitationError::BadAmplitude(plan.amplitude));
    }
    if !(plan.duration_s > 0.0 && plan.duration_s <= MAX_DURATION_S) {
        return Err(ExcitationError::BadDuration(plan.duration_s));
    }
    if !(plan.max_write_hz.is_finite() && plan.max_write_hz > 0.0) {
        return Err(ExcitationError::BadWriteRate(plan.max_write_hz));
    }
    // A hair of slack, so a plan derived from the write rate passes.
    if plan.to_hz > plan.highest_hz_for_writes() * (1.0 + 1e-9) {
        return Err(ExcitationError::AboveWriteRate {
            to: plan.to_hz,
            write_hz: plan.max_write_hz,
            highest: plan.highest_hz_for_writes(),
        });
    }
    if plan.kind == ExcitationKind::SteppedSine {
        // Each frequency needs its settling and a few periods to measure.
        let needed = plan.sine_frequencies().len() as f64 * 5.0 / plan.from_hz;
        if plan.duration_s < needed {
            return Err(ExcitationError::TooShortForSine {
                duration: plan.duration_s,
                from: plan.from_hz,
                needed,
            });
        }
    }
    Ok(())
}
