//! What a recording measures: the steps of its setpoint, as `motiontune
//! analyze` finds and measures them, or, when the setpoint changes too
//! often to be steps, the frequency response of that excitation.

use super::MAX_STEPS;
use crate::analysis::{StepOptions, StepRecord, measure_steps, step_count};
use crate::protocol::ChannelRole;
use crate::record::read::{RecordedFile, TickGrid};
use crate::tuning::{ExcitationRecord, FrequencyMeasurement, StepResponse, recorded_response};

/// What a recording measures.
pub(super) struct Measured {
    pub steps: Vec<StepResponse>,
    pub no_steps: Option<String>,
    pub response: Option<Result<FrequencyMeasurement, String>>,
}

impl Measured {
    fn none(why: String) -> Self {
        Self {
            steps: Vec::new(),
            no_steps: Some(why),
            response: None,
        }
    }
}

/// The file's steps, each as a response around its step time, or why
/// there are none; or the response to its excitation.
pub(super) fn measure(file: &RecordedFile, grid: &TickGrid) -> Measured {
    let column_of = |role| -> Option<Vec<f64>> {
        file.channels
            .iter()
            .position(|c| c.role() == role)
            .map(|c| file.columns[c].iter().map(|&v| f64::from(v)).collect())
    };
    let (Some(reference), Some(feedback)) = (
        column_of(ChannelRole::Reference),
        column_of(ChannelRole::Feedback),
    ) else {
        return Measured::none(
            "no steps measured: no channel is named setpoint (or reference) and position (or feedback)"
                .into(),
        );
    };
    let effort = column_of(ChannelRole::Effort);
    let changes = step_count(&reference);
    if changes > MAX_STEPS {
        let record = ExcitationRecord {
            sample_hz: grid.rate_hz,
            time: file.times.clone(),
            reference,
            feedback,
            effort,
        };
        let response = recorded_response(record).map_err(|e| format!("no frequency response: {e}"));
        return Measured {
            response: Some(response),
            ..Measured::none(format!(
                "no steps measured: the setpoint changes {changes} times (more than {MAX_STEPS}): an excitation, not steps"
            ))
        };
    }
    let record = StepRecord {
        time: &file.times,
        reference: &reference,
        feedback: &feedback,
        effort: effort.as_deref(),
    };
    let steps = match measure_steps(&record, &StepOptions::default()) {
        Ok(steps) if steps.is_empty() => {
            return Measured::none("no steps measured: the setpoint never changes".into());
        }
        Ok(steps) => steps,
        Err(error) => return Measured::none(format!("no steps measured: {error}")),
    };
    let steps = steps
        .into_iter()
        .enumerate()
        .map(|(k, step)| {
            let range = step.span.samples.clone();
            let at = file.times[step.span.step];
            StepResponse {
                number: k + 1,
                from: step.span.from as f32,
                to: step.span.to as f32,
                step_time_s: at,
                time: file.times[range.clone()].iter().map(|t| t - at).collect(),
                reference: reference[range.clone()].to_vec(),
                feedback: feedback[range.clone()].to_vec(),
                effort: effort.as_ref().map(|e| e[range].to_vec()),
                metrics: step.metrics,
            }
        })
        .collect();
    Measured {
        steps,
        no_steps: None,
        response: None,
    }
}
