//! What a relay run is asked to do and what it gives: where the device's
//! relay parameters sit, the plan and its checks' errors, the state, and
//! the result with the gains the rules derive from it.

use super::{DEFAULT_AMPLITUDE_SHARE, MAX_TIME_LIMIT_S, REST_TIMEOUT_S};
use crate::analysis::{
    LimitCycle, LimitCycleError, LimitCycleOptions, ParallelGains, StandardGains, Ultimate,
    UltimateRule,
};
use crate::protocol::{DeviceInfo, ParamInfo};

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
