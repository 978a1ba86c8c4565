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
//! - `frequency_response`: closed loop, plant and open loop from an excited
//!   record (Welch H1, coherence), and bandwidth, resonance and margins.

mod frequency_response;
mod metric_list;
mod step_metrics;
mod step_split;

pub use metric_list::{
    Better, METRICS, MetricInfo, MetricUnit, NamedMetric, metric_values, named_metrics,
};

pub use frequency_response::{
    BodePoint, COHERENT, FrequencyResponseError, LoopFigures, decibels, estimate_response,
    loop_figures, sine_response, unwrapped_phase_deg,
};
pub use step_metrics::{
    EffortMetrics, Rise, Settling, SettlingExtremes, StepMetrics, StepMetricsError, StepOptions,
    StepRecord, step_metrics,
};
pub use step_split::{MeasuredStep, StepSpan, measure_steps, split_steps};
