//! The metrics of measured steps as `motiontune step` and `motiontune
//! analyze` print them: one block of text per step, or one JSON document.
//! Names, order and units come from [`named_metrics`], the same list the
//! app's comparison table shows.
//!
//! JSON: `{"signals": {...}, "units": {key: unit}, "steps": [...]}`; each
//! step has `step` (1-based), `step_time` (s, record or device time), `from`
//! and `to` (the reference before and after), then every metric key. A
//! metric the response does not have is `null`, with its reason under
//! `missing`; a step that could not be measured has `error` instead of
//! metrics.

use serde_json::{Map, Value, json};

use crate::analysis::{METRICS, MetricUnit, NamedMetric, StepMetrics, named_metrics};
use crate::protocol::{ChannelRole, DeviceInfo};

/// Which signals were measured, for the report's header and units.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredSignals {
    /// The reference's name without its unit (`setpoint`).
    pub reference: String,
    /// The feedback's name without its unit (`position`).
    pub feedback: String,
    /// The effort's name without its unit, when there is one.
    pub effort: Option<String>,
    /// The feedback's unit, which the reference shares (`rad`).
    pub signal_unit: String,
    /// The effort's unit (`A`), empty without an effort channel.
    pub effort_unit: String,
}

impl MeasuredSignals {
    /// The channels a procedure measures on `info`, by role.
    pub fn of(info: &DeviceInfo) -> Self {
        let channel = |role| info.channels.iter().find(|c| c.role == role);
        let name = |role| channel(role).map(|c| c.name.clone());
        let unit = |role| channel(role).map(|c| c.unit.clone()).unwrap_or_default();
        Self {
            reference: name(ChannelRole::Reference).unwrap_or_default(),
            feedback: name(ChannelRole::Feedback).unwrap_or_default(),
            effort: name(ChannelRole::Effort),
            signal_unit: unit(ChannelRole::Feedback),
            effort_unit: unit(ChannelRole::Effort),
        }
    }
}

/// One step, measured or not.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// Time of the first sample with the new reference, in seconds.
    pub step_time: f64,
    /// The reference before the step.
    pub from: f64,
    /// The reference after it.
    pub to: f64,
    /// The metrics, or why the step could not be measured.
    pub metrics: Result<StepMetrics, String>,
}

/// Significant digits in the text report; JSON carries full precision.
const SIGNIFICANT_DIGITS: usize = 5;

/// The report as text: a block per step, one line per metric.
pub fn text(signals: &MeasuredSignals, steps: &[StepReport]) -> String {
    let unit = |unit: MetricUnit| unit.text(&signals.signal_unit, &signals.effort_unit);
    let mut out = String::new();
    for (number, step) in steps.iter().enumerate() {
        out += &format!(
            "step {} at {} s: {} {} → {}{}\n",
            number + 1,
            significant(step.step_time),
            signals.reference,
            significant(step.from),
            significant(step.to),
            spaced(&signals.signal_unit),
        );
        match &step.metrics {
            Ok(metrics) => {
                let width = METRICS.iter().map(|m| m.label.chars().count()).max();
                for NamedMetric { info, value } in named_metrics(metrics) {
                    let shown = match value {
                        Some(value) => {
                            format!("{}{}", significant(value), spaced(&unit(info.unit)))
                        }
                        None => info.missing_reason.to_owned(),
                    };
                    out += &format!(
                        "  {:<width$}  {shown}\n",
                        info.label,
                        width = width.unwrap_or(0)
                    );
                }
            }
            Err(reason) => out += &format!("  not measured: {reason}\n"),
        }
    }
    out
}

/// The report as JSON; see the module documentation for its shape.
pub fn json(signals: &MeasuredSignals, steps: &[StepReport]) -> Value {
    let mut units = Map::new();
    units.insert("step_time".into(), "s".into());
    for key in ["from", "to"] {
        units.insert(key.into(), signals.signal_unit.clone().into());
    }
    for info in &METRICS {
        let unit = info.unit.text(&signals.signal_unit, &signals.effort_unit);
        units.insert(info.key.into(), unit.into());
    }
    let steps: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(number, step)| step_json(number + 1, step))
        .collect();
    json!({
        "signals": {
            "reference": signals.reference,
            "feedback": signals.feedback,
            "effort": signals.effort,
        },
        "units": units,
        "steps": steps,
    })
}

fn step_json(number: usize, step: &StepReport) -> Value {
    let mut object = Map::new();
    object.insert("step".into(), number.into());
    object.insert("step_time".into(), step.step_time.into());
    object.insert("from".into(), step.from.into());
    object.insert("to".into(), step.to.into());
    match &step.metrics {
        Ok(metrics) => {
            let mut missing = Map::new();
            for NamedMetric { info, value } in named_metrics(metrics) {
                object.insert(info.key.into(), value.into());
                if value.is_none() {
                    missing.insert(info.key.into(), info.missing_reason.into());
                }
            }
            object.insert("missing".into(), missing.into());
        }
        Err(reason) => {
            object.insert("error".into(), reason.clone().into());
        }
    }
    object.into()
}

/// Writes `text` to stdout, every error returned (`println!` would panic
/// on a closed pipe): a reader that went away (`| head`) comes back as the
/// broken pipe it is, and the command ends there, quietly
/// ([`super::is_broken_pipe`]).
pub fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// ` unit`, or nothing for a unitless value.
fn spaced(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    }
}

/// `value` with [`SIGNIFICANT_DIGITS`] significant digits, in plain
/// notation unless it is very small or very large.
fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..9).contains(&magnitude) {
        return format!("{value:.prec$e}", prec = SIGNIFICANT_DIGITS - 1);
    }
    let decimals = (SIGNIFICANT_DIGITS as i32 - 1 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{StepOptions, StepRecord, step_metrics};

    fn signals() -> MeasuredSignals {
        MeasuredSignals {
            reference: "setpoint".into(),
            feedback: "position".into(),
            effort: None,
            signal_unit: "rad".into(),
            effort_unit: String::new(),
        }
    }

    /// A first-order step that is cut off before it settles.
    fn unsettled_step() -> StepReport {
        let time: Vec<f64> = (0..100).map(|i| f64::from(i) * 0.01).collect();
        let reference: Vec<f64> = time
            .iter()
            .map(|&t| if t < 0.1 { 0.0 } else { 2.0 })
            .collect();
        let feedback: Vec<f64> = time
            .iter()
            .map(|&t| {
                if t < 0.1 {
                    0.0
                } else {
                    2.0 * (1.0 - (-(t - 0.1) / 0.5).exp())
                }
            })
            .collect();
        let record = StepRecord {
            time: &time,
            reference: &reference,
            feedback: &feedback,
            effort: None,
        };
        StepReport {
            step_time: 0.1,
            from: 0.0,
            to: 2.0,
            metrics: step_metrics(&record, &StepOptions::default()).map_err(|e| e.to_string()),
        }
    }

    #[test]
    fn json_has_every_metric_key_with_units_and_reasons_for_missing_values() {
        let measured = unsettled_step();
        let failed = StepReport {
            metrics: Err("the feedback did not move".into()),
            ..measured.clone()
        };
        let report = json(&signals(), &[measured.clone(), failed.clone()]);
        let Ok(metrics) = &measured.metrics else {
            panic!("measurable")
        };
        let first = &report["steps"][0];
        assert_eq!(first["step"], 1);
        assert_eq!(first["to"], 2.0);
        for NamedMetric { info, value } in named_metrics(metrics) {
            assert_eq!(first[info.key], json!(value), "{}", info.key);
            assert!(report["units"][info.key].is_string(), "{}", info.key);
        }
        assert_eq!(first["settling_time"], Value::Null);
        assert_eq!(first["missing"]["settling_time"], "not settled");
        assert_eq!(first["missing"]["peak_effort"], "no effort channel");
        assert_eq!(report["units"]["overshoot"], "%");
        assert_eq!(report["units"]["iae"], "rad·s");
        assert_eq!(report["steps"][1]["error"], "the feedback did not move");
        assert_eq!(report["steps"][1]["step"], 2);

        let only_failed = json(&signals(), &[failed]);
        assert_eq!(
            only_failed["units"].as_object().map(Map::len),
            Some(3 + METRICS.len()),
            "units do not depend on a measured step"
        );
    }

    #[test]
    fn text_has_a_line_per_metric_and_says_what_is_missing() {
        let report = text(&signals(), &[unsettled_step()]);
        let mut lines = report.lines();
        assert_eq!(
            lines.next(),
            Some("step 1 at 0.10000 s: setpoint 0 → 2.0000 rad")
        );
        let settling = report
            .lines()
            .find(|l| l.trim_start().starts_with("Settling time"))
            .expect("settling line");
        assert!(settling.ends_with("not settled"), "{settling}");
        assert!(report.contains("Overshoot"), "{report}");
        assert_eq!(report.lines().count(), 1 + METRICS.len(), "{report}");
    }

    #[test]
    fn numbers_keep_five_significant_digits() {
        assert_eq!(significant(0.0439445), "0.043944");
        assert_eq!(significant(12.345678), "12.346");
        assert_eq!(significant(-3.0), "-3.0000");
        assert_eq!(significant(1.5e-7), "1.5000e-7");
        assert_eq!(significant(0.0), "0");
    }
}
