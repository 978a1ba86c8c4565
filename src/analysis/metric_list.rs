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
    /// Seconds.
    Seconds,
    /// Percent of the step.
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
    /// The lower value is better.
    Lower,
    /// The value nearer zero is better.
    NearerZero,
    /// A description of the response, not a score.
    Neither,
}

/// What a metric is, apart from its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricInfo {
    /// snake_case name: the JSON key.
    pub key: &'static str,
    /// Name for people.
    pub label: &'static str,
    /// What it is measured in.
    pub unit: MetricUnit,
    /// Which value is the better one.
    pub better: Better,
    /// What a missing value means, in words.
    pub missing_reason: &'static str,
}

const fn info(
    key: &'static str,
    label: &'static str,
    unit: MetricUnit,
    better: Better,
    missing_reason: &'static str,
) -> MetricInfo {
    MetricInfo {
        key,
        label,
        unit,
        better,
        missing_reason,
    }
}

/// Every metric, in table order; [`metric_values`] follows this order.
pub const METRICS: [MetricInfo; 17] = {
    use Better::{Lower, NearerZero, Neither};
    use MetricUnit::{
        Effort, Percent, Seconds, Signal, SignalSeconds, SignalSecondsSquared, SignalSquaredSeconds,
    };
    [
        info("rise_time", "Rise time", Seconds, Lower, "not reached"),
        info("rise_start", "Rise start", Seconds, Lower, "not reached"),
        info(
            "settling_time",
            "Settling time",
            Seconds,
            Lower,
            "not settled",
        ),
        info("overshoot", "Overshoot", Percent, Lower, ""),
        info("undershoot", "Undershoot", Percent, Lower, ""),
        info("peak", "Peak", Signal, Neither, ""),
        info("peak_time", "Peak time", Seconds, Neither, ""),
        info(
            "settling_min",
            "Settling min",
            Signal,
            Neither,
            "not reached",
        ),
        info(
            "settling_max",
            "Settling max",
            Signal,
            Neither,
            "not reached",
        ),
        info(
            "steady_state_error",
            "Steady-state error",
            Signal,
            NearerZero,
            "",
        ),
        info("iae", "IAE", SignalSeconds, Lower, ""),
        info("ise", "ISE", SignalSquaredSeconds, Lower, ""),
        info("itae", "ITAE", SignalSecondsSquared, Lower, ""),
        info(
            "peak_effort",
            "Peak effort",
            Effort,
            Neither,
            "no effort channel",
        ),
        info(
            "time_in_saturation",
            "Time in saturation",
            Seconds,
            Lower,
            "no effort limit",
        ),
        info("initial_value", "Initial value", Signal, Neither, ""),
        info("final_value", "Final value", Signal, Neither, ""),
    ]
};

/// The value of every metric of [`METRICS`], in its order; `None` where the
/// metric does not exist for this response.
pub fn metric_values(metrics: &StepMetrics) -> [Option<f64>; METRICS.len()] {
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
    [
        rise_time,
        rise_start,
        settling_time,
        Some(metrics.overshoot_percent),
        Some(metrics.undershoot_percent),
        Some(metrics.peak),
        Some(metrics.peak_time),
        extremes.map(|e| e.min),
        extremes.map(|e| e.max),
        Some(metrics.steady_state_error),
        Some(metrics.iae),
        Some(metrics.ise),
        Some(metrics.itae),
        effort.map(|e| e.peak),
        effort.and_then(|e| e.time_in_saturation),
        Some(metrics.initial_value),
        Some(metrics.final_value),
    ]
}

/// One metric of one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NamedMetric {
    /// Which metric it is.
    pub info: MetricInfo,
    /// `None` when the metric does not exist for this response; the info's
    /// `missing_reason` says why.
    pub value: Option<f64>,
}

impl Better {
    /// Picks, from one metric's values across runs, the index of the best,
    /// or `None` when the metric is not a score or no run has a value.
    pub fn best_of(self, values: &[Option<f64>]) -> Option<usize> {
        let score = |v: f64| match self {
            Self::Lower => Some(v),
            Self::NearerZero => Some(v.abs()),
            Self::Neither => None,
        };
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some((i, score((*v)?)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }
}

/// The metrics of `metrics` in table order, each with what it is.
pub fn named_metrics(metrics: &StepMetrics) -> Vec<NamedMetric> {
    METRICS
        .iter()
        .zip(metric_values(metrics))
        .map(|(&info, value)| NamedMetric { info, value })
        .collect()
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
        let mut keys: Vec<_> = list.iter().map(|m| m.info.key).collect();
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
        let value = |key| {
            list.iter()
                .find(|m| m.info.key == key)
                .and_then(|m| m.value)
        };
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
            .find(|m| m.info.key == "settling_time")
            .expect("listed");
        assert_eq!(settling.value, None);
        assert_eq!(settling.info.missing_reason, "not settled");
    }

    #[test]
    fn best_is_lowest_or_nearest_zero_and_skips_missing() {
        let values = [Some(3.0), None, Some(-1.0), Some(2.0)];
        assert_eq!(Better::Lower.best_of(&values), Some(2));
        assert_eq!(Better::NearerZero.best_of(&values), Some(2));
        assert_eq!(
            Better::NearerZero.best_of(&[Some(-3.0), Some(0.5)]),
            Some(1)
        );
        assert_eq!(Better::Neither.best_of(&values), None);
        assert_eq!(Better::Lower.best_of(&[None, None]), None);
    }
}
