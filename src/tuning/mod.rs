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
//! - `runs`: measured steps kept for A/B comparison, saved to a file.
//! - `model_tune`: a model fitted to a step, gains from it, their preview.
//! - `relay`: a relay run in the device's relay mode, Ku and Tu from it.
//! - `write_guard`: the one guard every parameter write passes.

mod device_excitation;
mod excitation;
mod model_tune;
mod relay;
mod runs;
mod step_test;
pub mod write_guard;

pub use device_excitation::{
    DeviceExcitation, EFFORT_AMPLITUDE_SHARE, ExciteParams, FrequencyResponse, InjectionPoint,
    default_effort_amplitude, frequency_response,
};
pub use excitation::{
    DEFAULT_MAX_WRITE_HZ, Excitation, ExcitationError, ExcitationKind, ExcitationPlan,
    ExcitationRecord, ExcitationState, FrequencyMeasurement, MAX_DURATION_S, SPEED_SHARE,
    WRITES_PER_PERIOD, speed_limit,
};
pub use model_tune::{
    AutoTuneError, Identified, LoopParams, ModelKind, Preview, PreviewPlan, Proposal, TuneRule,
    identify, model_parameters, preview, propose,
};
pub use relay::REST_TIMEOUT_S as RELAY_REST_TIMEOUT_S;
pub use relay::{
    MAX_TIME_LIMIT_S, ParamWrite, RelayError, RelayGains, RelayParams, RelayPlan, RelayResult,
    RelayState, RelayTest, relay_gains,
};
pub use runs::{GainValue, MAX_TRACE_POINTS, RunContext, RunStore, RunsFileError, StepRun, Trace};
pub use step_test::{
    MAX_HOLD_S, MAX_REPEATS, STEP_SEEN_TIMEOUT_S, SetpointWrite, StepDirection, StepPlan,
    StepResponse, StepTest, StepTestError, StepTestState,
};
