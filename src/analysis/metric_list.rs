//! The metrics of one step as a flat, ordered list of named values: the
//! columns of the app's comparison table, the lines `motiontune step` and
//! `motiontune analyze` print, and the keys of their JSON. One list, so the
//! three never disagree on a name, a unit or which value is better.
//!
//! A metric that does not exist for a response (a rise never reached, a
//! response that never settles, effort without an effort channel) has no
//! value: it is shown as what happened, never as a number.

use super::step_metrics::{Rise, Settling, StepMetrics};

/// What a metric is measured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricUnit {
    Seconds,
    Percent,
    /// The feedback signal's own unit.
    Signal,
    /// ∫|e| dt: the signal's unit times seconds.
    SignalSeconds,
    /// ∫e² dt.
    SignalSquaredSeconds,
    /// ∫t·|e| dt.
    SignalSecondsSquared,
    /// The effort channel's own unit.
    Effort,
}

impl MetricUnit {
    /// The unit as text, given the signal's and the effort's units.
    pub fn text(self, signal: &str, effort: &str) -> String {
        let signal = if signal.is_empty() { "1" } else { signal };
        match self {
            Self::Seconds => "s".into(),
            Self::Percent => "%".into(),
            Self::Signal => signal.into(),
            Self::SignalSeconds => format!("{signal}·s"),
            Self::SignalSquaredSeconds => format!("{signal}²·s"),
            Self::SignalSecondsSquared => format!("{signal}·s²"),
            Self::Effort => effort.into(),
        }
    }
}

/// Which value of a metric is the better one when runs are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    NearerZero,
    /// A description of the response, not a score.
    Neither,
}

/// One metric of one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NamedMetric {
    /// snake_case name: the JSON key.
    pub key: &'static str,
    /// Name for people.
    pub label: &'static str,
    pub unit: MetricUnit,
    pub better: Better,
    /// `None` when the metric does not exist for this response; see
    /// [`NamedMetric::missing_reason`].
    pub value: Option<f64>,
    /// Why the value is missing, in words, when it is.
    pub missing_reason: &'static str,
}

impl NamedMetric {
    /// Picks, from one metric's values across runs, the index of the best,
    /// or `None` when the metric is not a score or no run has a value.
    pub fn best_of(better: Better, values: &[Option<f64>]) -> Option<usize> {
        let score = |v: f64| match better {
            Better::Lower => Some(v),
            Better::NearerZero => Some(v.abs()),
            Better::Neither => None,
        };
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some((i, score((*v)?)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }
}

/// The metrics of `metrics` in table order.
pub fn named_metrics(metrics: &StepMetrics) -> Vec<NamedMetric> {
    use Better::{Lower, NearerZero, Neither};
    use MetricUnit::{
        Effort, Percent, Seconds, Signal, SignalSeconds, SignalSecondsSquared, SignalSquaredSeconds,
    };
    let metric = |key, label, unit, better, value: Option<f64>, missing_reason| NamedMetric {
        key,
        label,
        unit,
        better,
        value,
        missing_reason,
    };
    let (rise_time, rise_start) = match metrics.rise {
        Rise::Reached { start, duration } => (Some(duration), Some(start)),
        Rise::NotReached => (None, None),
    };
    let settling_time = match metrics.settling {
        Settling::Settled(time) => Some(time),
        Settling::NotSettled => None,
    };
    let extremes = metrics.settling_extremes;
    let effort = metrics.effort;
    vec![
        metric(
            "rise_time",
            "Rise time",
            Seconds,
            Lower,
            rise_time,
            "not reached",
        ),
        metric(
            "rise_start",
            "Rise start",
            Seconds,
            Lower,
            rise_start,
            "not reached",
        ),
        metric(
            "settling_time",
            "Settling time",
            Seconds,
            Lower,
            settling_time,
            "not settled",
        ),
        metric(
            "overshoot",
            "Overshoot",
            Percent,
            Lower,
            Some(metrics.overshoot_percent),
            "",
        ),
        metric(
            "undershoot",
            "Undershoot",
            Percent,
            Lower,
            Some(metrics.undershoot_percent),
            "",
        ),
        metric("peak", "Peak", Signal, Neither, Some(metrics.peak), ""),
        metric(
            "peak_time",
            "Peak time",
            Seconds,
            Neither,
            Some(metrics.peak_time),
            "",
        ),
        metric(
            "settling_min",
            "Settling min",
            Signal,
            Neither,
            extremes.map(|e| e.min),
            "not reached",
        ),
        metric(
            "settling_max",
            "Settling max",
            Signal,
            Neither,
            extremes.map(|e| e.max),
            "not reached",
        ),
        metric(
            "steady_state_error",
            "Steady-state error",
            Signal,
            NearerZero,
            Some(metrics.steady_state_error),
            "",
        ),
        metric("iae", "IAE", SignalSeconds, Lower, Some(metrics.iae), ""),
        metric(
            "ise",
            "ISE",
            SignalSquaredSeconds,
            Lower,
            Some(metrics.ise),
            "",
        ),
        metric(
            "itae",
            "ITAE",
            SignalSecondsSquared,
            Lower,
            Some(metrics.itae),
            "",
        ),
        metric(
            "peak_effort",
            "Peak effort",
            Effort,
            Neither,
            effort.map(|e| e.peak),
            "no effort channel",
        ),
        metric(
            "time_in_saturation",
            "Time in saturation",
            Seconds,
            Lower,
            effort.and_then(|e| e.time_in_saturation),
            "no effort limit",
        ),
        metric(
            "initial_value",
            "Initial value",
            Signal,
            Neither,
            Some(metrics.initial_value),
            "",
        ),
        metric(
            "final_value",
            "Final value",
            Signal,
            Neither,
            Some(metrics.final_value),
            "",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{StepOptions, StepRecord, step_metrics};

    fn first_order_metrics() -> StepMetrics {
        let time: Vec<f64> = (0..2000).map(|i| f64::from(i) * 1e-3 - 0.1).collect();
        let reference: Vec<f64> = time
            .iter()
            .map(|&t| if t < 0.0 { 0.0 } else { 1.0 })
            .collect();
        let feedback: Vec<f64> = time
            .iter()
            .map(|&t| if t < 0.0 { 0.0 } else { 1.0 - (-t / 0.1).exp() })
            .collect();
        let record = StepRecord {
            time: &time,
            reference: &reference,
            feedback: &feedback,
            effort: None,
        };
        step_metrics(&record, &StepOptions::default()).expect("a clean first-order step")
    }

    #[test]
    fn keys_are_unique_snake_case() {
        let list = named_metrics(&first_order_metrics());
        let mut keys: Vec<_> = list.iter().map(|m| m.key).collect();
        assert!(
            keys.iter()
                .all(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), list.len());
    }

    #[test]
    fn values_come_from_the_metrics() {
        let metrics = first_order_metrics();
        let list = named_metrics(&metrics);
        let value = |key| list.iter().find(|m| m.key == key).and_then(|m| m.value);
        let Rise::Reached { duration, .. } = metrics.rise else {
            panic!("first order rises")
        };
        assert_eq!(value("rise_time"), Some(duration));
        assert_eq!(value("overshoot"), Some(metrics.overshoot_percent));
        assert_eq!(value("iae"), Some(metrics.iae));
        assert_eq!(value("peak_effort"), None, "no effort channel");
    }

    #[test]
    fn a_response_that_never_settles_has_no_settling_time() {
        let mut metrics = first_order_metrics();
        metrics.settling = Settling::NotSettled;
        let settling = named_metrics(&metrics)
            .into_iter()
            .find(|m| m.key == "settling_time")
            .expect("listed");
        assert_eq!(settling.value, None);
        assert_eq!(settling.missing_reason, "not settled");
    }

    #[test]
    fn best_is_lowest_or_nearest_zero_and_skips_missing() {
        let values = [Some(3.0), None, Some(-1.0), Some(2.0)];
        assert_eq!(NamedMetric::best_of(Better::Lower, &values), Some(2));
        assert_eq!(NamedMetric::best_of(Better::NearerZero, &values), Some(2));
        assert_eq!(
            NamedMetric::best_of(Better::NearerZero, &[Some(-3.0), Some(0.5)]),
            Some(1)
        );
        assert_eq!(NamedMetric::best_of(Better::Neither, &values), None);
        assert_eq!(NamedMetric::best_of(Better::Lower, &[None, None]), None);
    }
}
