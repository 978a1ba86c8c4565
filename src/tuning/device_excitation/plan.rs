//! What is settled before a device-side measurement writes anything:
//! where the device's `excite.*` parameters are, the default injection,
//! the checks a plan must pass, and the one choice between the device's
//! excitation and the host's setpoint writes.

use crate::protocol::{ChannelRole, DeviceInfo, ParamInfo};
use crate::tuning::{
    Excitation, ExcitationError, ExcitationKind, ExcitationPlan, MAX_DURATION_S, Procedure,
};

use super::{DeviceExcitation, InjectionPoint};

/// Where the device's excitation parameters sit in its table, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExciteParams {
    pub active: u8,
    pub amplitude: u8,
    pub f0: u8,
    pub f1: u8,
    pub duration: u8,
    /// `excite.kind`: 0 chirp, 1 PRBS; without it the device sweeps.
    pub kind: Option<u8>,
    /// `excite.point`: 0 setpoint, 1 effort; without it, the setpoint.
    pub point: Option<u8>,
}

impl ExciteParams {
    /// The excitation's parameters; `None` when the device lacks one it
    /// needs.
    pub fn find(params: &[ParamInfo]) -> Option<Self> {
        let index = |name: &str| {
            params
                .iter()
                .position(|p| p.name == name && !p.flags.read_only())
                .and_then(|i| u8::try_from(i).ok())
        };
        Some(Self {
            active: index("excite.active")?,
            amplitude: index("excite.amplitude")?,
            f0: index("excite.f0")?,
            f1: index("excite.f1")?,
            duration: index("excite.duration")?,
            kind: index("excite.kind"),
            point: index("excite.point"),
        })
    }

    /// Whether the device can inject at the effort point: it declares the
    /// choice and streams its effort.
    pub fn can_inject_effort(&self, info: &DeviceInfo) -> bool {
        let streams_effort = info.channels.iter().any(|c| c.role == ChannelRole::Effort);
        self.point
            .and_then(|i| info.params.get(usize::from(i)))
            .is_some_and(|p| p.max >= 1.0)
            && streams_effort
    }
}

/// Share of the output limit an effort injection takes by default. High on
/// purpose: above the loop's bandwidth the plant's motion falls with the
/// square of frequency, and what the encoder resolves there sets how high
/// the points stay coherent (on the simulated drive, 4 A of its 5 reach
/// about 240 Hz, 2 A about 150 Hz). The loop's own share of the output
/// clips near its crossover; away from the resonance and anti-resonance
/// the plant estimate still stays within 1 dB of the analytic plant (test
/// `an_effort_prbs_finds_the_plant_and_its_resonance`).
pub const EFFORT_AMPLITUDE_SHARE: f64 = 0.8;

/// The default injection amplitude at the effort point: a share of the
/// device's output limit (a parameter named `…output_limit`), else of the
/// amplitude's own largest value.
pub fn default_effort_amplitude(info: &DeviceInfo, params: &ExciteParams) -> f64 {
    let limit = info
        .params
        .iter()
        .find(|p| p.name.ends_with("output_limit") && p.value > 0.0)
        .map(|p| f64::from(p.value));
    let own = info
        .params
        .get(usize::from(params.amplitude))
        .map_or(1.0, |p| f64::from(p.max));
    EFFORT_AMPLITUDE_SHARE * limit.unwrap_or(own)
}

/// Whether [`frequency_response`] would have the device excite `plan`
/// itself: it declares the excitation, and the plan is a chirp or a PRBS.
pub fn device_excites(plan: &ExcitationPlan, info: &DeviceInfo) -> bool {
    plan.kind != ExcitationKind::SteppedSine && ExciteParams::find(&info.params).is_some()
}

/// The measurement `plan` asks for, run by the device when it declares
/// its excitation (at `point`; the setpoint when it cannot inject
/// effort), by the host's setpoint writes otherwise; `setpoint_now` is the
/// setpoint in force. A stepped sine is always the host's. The GUI and the
/// command line both start their measurement here.
pub fn frequency_response(
    plan: ExcitationPlan,
    point: InjectionPoint,
    info: &DeviceInfo,
    setpoint_now: f32,
) -> Result<Box<dyn Procedure>, ExcitationError> {
    match ExciteParams::find(&info.params) {
        Some(params) if device_excites(&plan, info) => {
            let point = if params.can_inject_effort(info) {
                point
            } else {
                InjectionPoint::Setpoint
            };
            let procedure = DeviceExcitation::start(plan, point, info, setpoint_now)?;
            Ok(Box::new(procedure))
        }
        _ => Ok(Box::new(Excitation::start(plan, info, setpoint_now)?)),
    }
}

/// What a device-side plan must satisfy before anything is written; the
/// write rate does not bound it.
pub(super) fn validate(plan: &ExcitationPlan) -> Result<(), ExcitationError> {
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
    Ok(())
}

/// The setpoint ± amplitude within the setpoint's limits.
pub(super) fn check_setpoint_range(
    plan: &ExcitationPlan,
    info: &DeviceInfo,
    setpoint_now: f32,
) -> Result<(), ExcitationError> {
    let setpoint = info
        .params
        .iter()
        .find(|p| p.flags.setpoint())
        .ok_or(ExcitationError::NoSetpoint)?;
    let low = f64::from(setpoint_now) - plan.amplitude;
    let high = f64::from(setpoint_now) + plan.amplitude;
    if low < f64::from(setpoint.min) || high > f64::from(setpoint.max) {
        return Err(ExcitationError::OutOfLimits {
            amplitude: plan.amplitude,
            setpoint: setpoint_now,
            min: setpoint.min,
            max: setpoint.max,
        });
    }
    Ok(())
}
