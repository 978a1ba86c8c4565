//! Analysis of recorded responses: plain functions over time and signal
//! slices, with no egui, no threads and no I/O, so every result can be
//! checked against a known answer and computed the same way in the app and
//! on the command line.
//!
//! - `step_metrics`: MATLAB `stepinfo`'s metrics of one step, plus the
//!   error integrals and effort use.
//! - `metric_list`: those metrics as one ordered list of named values, for
//!   tables, printed reports and JSON.
//! - `step_split`: the single steps of a long record, each measured with
//!   `step_metrics`.
//! - `ultimate_rules`: PID gains from the ultimate gain and period by the
//!   published rules (Ziegler–Nichols, Tyreus–Luyben, Pessen, …), in
//!   standard, parallel and per-sample form.
//! - `limit_cycle`: amplitude, period and steadiness of a relay
//!   experiment's oscillation, and the ultimate gain and period they give.
//! - `identify`: first-order-plus-dead-time, integrating-plus-dead-time and
//!   motor models fitted to a record by least squares.
//! - `model_rules`: PID gains from those models by SIMC and lambda (IMC)
//!   tuning.
//! - `cascade`: a position P around a velocity PI: gains for a velocity
//!   bandwidth from the motor model, the predicted step with the limits,
//!   the loops' margins.
//! - `closed_loop`: the predicted step response of a model under a PID run
//!   the way the simulated drive runs it, for the preview before writing.
//! - `frequency_response`: closed loop, plant and open loop from an excited
//!   record (Welch H1, coherence), and bandwidth, resonance, margins and
//!   the plant's resonance.

mod cascade;
mod closed_loop;
mod frequency_response;
mod identify;
mod limit_cycle;
mod metric_list;
mod model_rules;
mod step_metrics;
mod step_split;
mod ultimate_rules;

pub use cascade::{
    AntiWindup, CascadeGains, CascadeLimits, CascadePrediction, CascadeTarget, LoopMargins,
    cascade_gains, cascade_margins, predict_cascade_step,
};
pub use closed_loop::{PlantModel, Prediction, PredictionError, StepPlan, predict_step};
pub(crate) use frequency_response::detrend;
pub use frequency_response::{
    BodePoint, COHERENT, FrequencyResponseError, LoopFigures, PLANT_PEAK_RISE_DB, decibels,
    estimate_response, loop_figures, plant_peak, sine_response, unwrapped_phase_deg,
};
pub use identify::{
    Fit, Fopdt, IdentifyError, InputRecord, Ipdt, MotorModel, fit_fopdt, fit_ipdt, fit_motor,
};
pub use limit_cycle::{
    LimitCycle, LimitCycleError, LimitCycleOptions, RelayCycle, RelayRecord, limit_cycle,
};
pub use metric_list::{
    Better, METRICS, MetricInfo, MetricUnit, NamedMetric, metric_values, named_metrics,
};
pub use model_rules::{
    ClosedLoopSpeed, ModelTuningError, lambda_pi_fopdt, lambda_pi_ipdt, simc_pi_fopdt,
    simc_pi_ipdt, simc_pid_fopdt, simc_pid_motor,
};
pub use step_metrics::{
    EffortMetrics, Rise, Settling, SettlingExtremes, StepMetrics, StepMetricsError, StepOptions,
    StepRecord, step_metrics,
};
pub use step_split::{MeasuredStep, StepSpan, measure_steps, split_steps, step_count};
pub use ultimate_rules::{
    ParallelGains, PerSampleGains, RuleCoefficients, StandardGains, Ultimate, UltimateRule,
};
