//! Tuning procedures that drive a device through the link and measure what
//! it does: plain state machines fed samples in device time, answering with
//! the writes to send. No egui, no threads, no I/O, so the app and the
//! command line run the same procedure.
//!
//! - `step_test`: planned setpoint steps, each recorded and measured.
//! - `excitation`: chirp, stepped-sine or PRBS excitation of the setpoint,
//!   recorded and turned into a frequency response.
//! - `device_excitation`: the same measurement excited by the device itself
//!   (its `excite.*` mode), and the chooser between the two.
//! - `cascade`: a position P around a velocity PI tuned inner loop first,
//!   and the increments its gains are written in.
//! - `guided`: ODrive's manual procedure (raise `vel_gain` until the
//!   velocity spectrum shows vibration, halve it, raise `pos_gain` until
//!   overshoot, integrator from the settling time) as stages over tests.
//! - `model_autotune`: a model fitted to a step, gains from it, their preview.
//! - `relay`: a relay run in the device's relay mode, Ku and Tu from it.
//! - `procedure`: what every procedure is to the engine that runs it.
//! - `write_guard`: the one guard every parameter write passes.

pub mod cascade;
mod device_excitation;
mod excitation;
pub mod guided;
mod model_autotune;
mod procedure;
mod relay;
mod step_test;
pub mod write_guard;

pub use device_excitation::{
    DEVICE_EXCITATION_NAME, DeviceExcitation, EFFORT_AMPLITUDE_SHARE, ExciteParams, InjectionPoint,
    default_effort_amplitude, device_excites, frequency_response,
};
pub use excitation::{
    DEFAULT_MAX_WRITE_HZ, Excitation, ExcitationError, ExcitationKind, ExcitationPlan,
    ExcitationRecord, ExcitationState, FrequencyMeasurement, MAX_DURATION_S, SPEED_SHARE,
    WRITES_PER_PERIOD, recorded_response, speed_limit,
};
pub use model_autotune::{
    AutoTuneError, Identified, LoopParams, ModelKind, ModelRule, Preview, PreviewPlan, Proposal,
    identify, model_parameters, preview, propose,
};
pub use procedure::{Outcome, ParamWrite, Procedure, ProcedureState};
pub use relay::REST_TIMEOUT_S as RELAY_REST_TIMEOUT_S;
pub use relay::{
    MAX_TIME_LIMIT_S, RelayError, RelayGains, RelayParams, RelayPlan, RelayResult, RelayState,
    RelayTest, relay_gains,
};
pub use step_test::{
    MAX_HOLD_S, MAX_REPEATS, STEP_SEEN_TIMEOUT_S, StepDirection, StepPlan, StepResponse, StepTest,
    StepTestError, StepTestState,
};
