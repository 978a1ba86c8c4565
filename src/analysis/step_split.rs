//! Finding the single steps in a long record, so that a recording with many
//! setpoint changes can be measured one step at a time by
//! [`step_metrics`](super::step_metrics).
//!
//! The contract:
//! - A step is a change of the reference between two consecutive samples,
//!   with the same tolerance `step_metrics` uses, so each span handed to it
//!   holds exactly one change.
//! - A step's hold runs from the first sample with the new reference up to
//!   the last sample before the next change (or the end of the record).
//! - Its pre-window is the last 10 % of the time before it, counted from the
//!   previous change (or the start of the record): the same share of the
//!   previous hold that gives the previous step its final value, so one
//!   step's initial value is the step before's final value. The window
//!   always holds at least one sample.

use std::ops::Range;

use super::step_metrics::{
    FINAL_WINDOW_FRACTION, REFERENCE_CHANGE_TOLERANCE, StepMetrics, StepMetricsError, StepOptions,
    StepRecord, step_metrics,
};

/// One step found in a record.
#[derive(Clone, Debug, PartialEq)]
pub struct StepSpan {
    /// The samples to measure it on: the pre-window, then the hold.
    pub samples: Range<usize>,
    /// Index of the first sample with the new reference.
    pub step: usize,
    /// The reference before the step.
    pub from: f64,
    /// The reference after it.
    pub to: f64,
}

/// One step found in a record, with its metrics or why it has none.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredStep {
    /// Where the step is in the record.
    pub span: StepSpan,
    /// Its metrics, or why it cannot be measured.
    pub metrics: Result<StepMetrics, StepMetricsError>,
}

/// Every step of the reference, in time order; see the module documentation.
/// Only the first `min(time.len(), reference.len())` samples are looked at.
pub fn split_steps(time: &[f64], reference: &[f64]) -> Vec<StepSpan> {
    let len = time.len().min(reference.len());
    let changes: Vec<usize> = (1..len)
        .filter(|&i| reference_changed(reference[i - 1], reference[i]))
        .collect();
    changes
        .iter()
        .enumerate()
        .map(|(k, &step)| {
            let previous = if k == 0 { 0 } else { changes[k - 1] };
            let end = changes.get(k + 1).copied().unwrap_or(len);
            StepSpan {
                samples: pre_window_start(&time[previous..step]) + previous..end,
                step,
                from: reference[step - 1],
                to: reference[step],
            }
        })
        .collect()
}

/// How many times `reference` changes: the steps [`split_steps`] would
/// find, counted without keeping them.
pub fn step_count(reference: &[f64]) -> usize {
    reference
        .windows(2)
        .filter(|pair| reference_changed(pair[0], pair[1]))
        .count()
}

/// Splits `record` with [`split_steps`] and measures each step.
pub fn measure_steps(
    record: &StepRecord<'_>,
    options: &StepOptions,
) -> Result<Vec<MeasuredStep>, StepMetricsError> {
    let time_len = record.time.len();
    let channels = [
        ("reference", Some(record.reference)),
        ("feedback", Some(record.feedback)),
        ("effort", record.effort),
    ];
    for (channel, values) in channels {
        if let Some(values) = values.filter(|values| values.len() != time_len) {
            return Err(StepMetricsError::LengthMismatch {
                channel,
                len: values.len(),
                time_len,
            });
        }
    }
    Ok(split_steps(record.time, record.reference)
        .into_iter()
        .map(|span| {
            let range = span.samples.clone();
            let one_step = StepRecord {
                time: &record.time[range.clone()],
                reference: &record.reference[range.clone()],
                feedback: &record.feedback[range.clone()],
                effort: record.effort.map(|effort| &effort[range]),
            };
            MeasuredStep {
                metrics: step_metrics(&one_step, options),
                span,
            }
        })
        .collect())
}

fn reference_changed(before: f64, after: f64) -> bool {
    (after - before).abs() > REFERENCE_CHANGE_TOLERANCE * before.abs().max(after.abs())
}

/// Offset into `before` (the samples since the previous change, not empty)
/// where the pre-window starts.
fn pre_window_start(before: &[f64]) -> usize {
    let (first, last) = (before[0], before[before.len() - 1]);
    let window_start = last - FINAL_WINDOW_FRACTION * (last - first);
    before
        .partition_point(|&t| t < window_start)
        .min(before.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Rise;

    const DT: f64 = 1e-4;
    const TAU: f64 = 0.02;

    /// A first-order lag with time constant `TAU` following a reference that
    /// takes each `(time, level)` from that time on, starting at level 0
    /// from t = 0; sampled every `DT` until `end`. The response is exact:
    /// after each change it relaxes from where it was towards the new level.
    struct Staircase {
        time: Vec<f64>,
        reference: Vec<f64>,
        feedback: Vec<f64>,
    }

    impl Staircase {
        fn new(levels: &[(f64, f64)], end: f64) -> Self {
            let count = (end / DT).round() as usize;
            let time: Vec<f64> = (0..count).map(|i| i as f64 * DT).collect();
            let level_at = |t: f64| {
                levels
                    .iter()
                    .rev()
                    .find(|(start, _)| t >= *start - DT / 2.0)
                    .map_or(0.0, |(_, level)| *level)
            };
            let reference: Vec<f64> = time.iter().map(|&t| level_at(t)).collect();
            let mut feedback = Vec::with_capacity(count);
            let (mut from_value, mut since) = (0.0, 0.0);
            for (i, &t) in time.iter().enumerate() {
                if i > 0 && reference[i] != reference[i - 1] {
                    from_value = feedback[i - 1];
                    since = t;
                }
                let target = reference[i];
                feedback.push(target + (from_value - target) * (-(t - since) / TAU).exp());
            }
            Self {
                time,
                reference,
                feedback,
            }
        }

        fn record(&self) -> StepRecord<'_> {
            StepRecord {
                time: &self.time,
                reference: &self.reference,
                feedback: &self.feedback,
                effort: None,
            }
        }
    }

    fn assert_close(what: &str, actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{what}: {actual} is not within {tolerance} of {expected}"
        );
    }

    #[test]
    fn each_change_is_one_step_from_the_tenth_before_it_to_the_next_change() {
        let record = Staircase::new(&[(0.2, 1.0), (0.5, -0.5), (0.6, 2.0)], 1.0);
        let spans = split_steps(&record.time, &record.reference);
        let index = |t: f64| (t / DT).round() as usize;
        // (pre-window start, step, end, from, to)
        let expected = [
            (index(0.18), index(0.2), index(0.5), 0.0, 1.0),
            (index(0.47), index(0.5), index(0.6), 1.0, -0.5),
            (index(0.59), index(0.6), record.time.len(), -0.5, 2.0),
        ];
        assert_eq!(spans.len(), expected.len());
        for (span, (start, step, end, from, to)) in spans.iter().zip(expected) {
            assert_eq!(
                *span,
                StepSpan {
                    samples: start..end,
                    step,
                    from,
                    to
                }
            );
        }
    }

    #[test]
    fn every_step_of_a_first_order_staircase_matches_the_analytic_answer() {
        // Up, down past the start, up again: each hold is 15τ or more, so
        // the response has settled (e^-15) before the next change.
        let levels = [(0.1, 1.0), (0.5, -2.0), (0.9, 0.5), (1.3, 3.0)];
        let record = Staircase::new(&levels, 1.7);
        let steps = measure_steps(&record.record(), &StepOptions::default())
            .expect("channels of one length");
        assert_eq!(steps.len(), levels.len());
        let mut previous_level = 0.0;
        for (step, (step_time, level)) in steps.iter().zip(levels) {
            let case = format!("step at {step_time} s");
            let metrics = step.metrics.as_ref().expect("a clean step");
            assert_eq!((step.span.from, step.span.to), (previous_level, level));
            assert_close(&case, metrics.step_time, step_time, DT / 2.0);
            let delta = level - previous_level;
            assert_close(&case, metrics.initial_value, previous_level, 1e-5);
            assert_close(&case, metrics.final_value, level, 1e-5 * delta.abs());
            let Rise::Reached { duration, .. } = metrics.rise else {
                panic!("{case}: never rose")
            };
            assert_close(&case, duration, TAU * 9.0_f64.ln(), 1e-3 * TAU);
            assert!(metrics.overshoot_percent < 1e-3, "{case}");
            assert!(metrics.undershoot_percent < 1e-3, "{case}");
            // IAE of a first-order lag: |Δ|τ.
            assert_close(
                &case,
                metrics.iae,
                delta.abs() * TAU,
                1e-3 * delta.abs() * TAU,
            );
            previous_level = level;
        }
    }

    #[test]
    fn initial_value_of_a_step_is_the_final_value_of_the_one_before() {
        // The second change comes before the first response has settled.
        let record = Staircase::new(&[(0.1, 1.0), (0.14, 0.0)], 0.5);
        let steps = measure_steps(&record.record(), &StepOptions::default())
            .expect("channels of one length");
        let [first, second] = &steps[..] else {
            panic!("two steps expected, found {}", steps.len())
        };
        let first = first.metrics.as_ref().expect("measurable");
        let second = second.metrics.as_ref().expect("measurable");
        assert_close("handover", second.initial_value, first.final_value, 1e-12);
        assert!(first.final_value < 0.9, "the first step had not settled");
    }

    #[test]
    fn a_step_that_cannot_be_measured_keeps_its_place_and_its_reason() {
        // A change one sample before the end leaves no hold to measure.
        let record = Staircase::new(&[(0.1, 1.0), (0.4999, 2.0)], 0.5);
        let steps = measure_steps(&record.record(), &StepOptions::default())
            .expect("channels of one length");
        assert_eq!(steps.len(), 2);
        assert!(steps[0].metrics.is_ok());
        assert_eq!(
            steps[1].metrics,
            Err(StepMetricsError::HoldTooShort { len: 1, min: 3 })
        );
    }

    #[test]
    fn a_flat_reference_has_no_steps_and_mismatched_channels_are_refused() {
        let time = [0.0, 0.1, 0.2, 0.3];
        let flat = [0.5; 4];
        assert!(split_steps(&time, &flat).is_empty());
        assert!(split_steps(&[], &[]).is_empty());
        let record = StepRecord {
            time: &time,
            reference: &flat,
            feedback: &flat[..3],
            effort: None,
        };
        assert_eq!(
            measure_steps(&record, &StepOptions::default()),
            Err(StepMetricsError::LengthMismatch {
                channel: "feedback",
                len: 3,
                time_len: 4
            })
        );
    }
}
