//! `motiontune analyze`: the step metrics of every step in a recorded CSV.
//!
//! Any CSV with a `time_s` column will do; `motiontune record` writes one
//! column per channel named `name [unit]`. A column is chosen by its full
//! header or by its name without the unit, ignoring case. By default the
//! reference is `setpoint` (or `reference`), the feedback `position` (or
//! `feedback`) and the effort `effort` when there is one: the names the
//! native devices give the channels with those roles. Only the chosen
//! columns are read, so other columns may hold anything.

use std::path::Path;

use anyhow::{Context, bail};

use super::AnalyzeArgs;
use super::report::{self, MeasuredSignals, StepReport};
use crate::analysis::{StepRecord, measure_steps};

const TIME_COLUMN: &str = "time_s";
/// Column names tried, in order, for a role not named on the command line,
/// and the option that names it.
struct RoleDefaults {
    names: &'static [&'static str],
    option: &'static str,
}
const DEFAULT_REFERENCE: RoleDefaults = RoleDefaults {
    names: &["setpoint", "reference"],
    option: "--reference",
};
const DEFAULT_FEEDBACK: RoleDefaults = RoleDefaults {
    names: &["position", "feedback"],
    option: "--feedback",
};
const DEFAULT_EFFORT: &[&str] = &["effort"];

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let path = args.file.as_path();
    let shown = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("cannot open {shown}"))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header row of {shown}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let columns = || listed(&headers);

    let Some(time) = headers.iter().position(|h| h == TIME_COLUMN) else {
        bail!(
            "{shown} has no {TIME_COLUMN} column (columns: {})",
            columns()
        );
    };
    let reference = choose(&headers, args.reference.as_deref(), &DEFAULT_REFERENCE)
        .with_context(|| format!("{shown}: no reference column"))?;
    let feedback = choose(&headers, args.feedback.as_deref(), &DEFAULT_FEEDBACK)
        .with_context(|| format!("{shown}: no feedback column"))?;
    let effort = match args.effort.as_deref() {
        Some(name) => Some(
            find_column(&headers, name).with_context(|| format!("{shown}: no effort column"))?,
        ),
        None => DEFAULT_EFFORT
            .iter()
            .find_map(|name| find_column(&headers, name).ok()),
    };

    let wanted: Vec<usize> = [Some(time), Some(reference), Some(feedback), effort]
        .into_iter()
        .flatten()
        .collect();
    let values = read_columns(&mut reader, &headers, &wanted, path)?;
    let [time_values, reference_values, feedback_values] =
        [0, 1, 2].map(|role| values[role].as_slice());
    let effort_values = effort.map(|_| values[3].as_slice());
    if time_values.len() < 2 {
        bail!(
            "{shown} has {} samples: no step to measure",
            time_values.len()
        );
    }

    let record = StepRecord {
        time: time_values,
        reference: reference_values,
        feedback: feedback_values,
        effort: effort_values,
    };
    let steps = measure_steps(&record, &args.metrics.step_options())?;
    if steps.is_empty() {
        bail!(
            "{shown}: the reference '{}' never changes: there is no step to measure",
            headers[reference]
        );
    }
    let reports: Vec<StepReport> = steps
        .into_iter()
        .map(|step| StepReport {
            step_time: time_values[step.span.step],
            from: step.span.from,
            to: step.span.to,
            metrics: step.metrics.map_err(|error| error.to_string()),
        })
        .collect();

    let (reference_name, reference_unit) = split_header(&headers[reference]);
    let (feedback_name, feedback_unit) = split_header(&headers[feedback]);
    let signals = MeasuredSignals {
        reference: reference_name.to_owned(),
        feedback: feedback_name.to_owned(),
        effort: effort.map(|e| split_header(&headers[e]).0.to_owned()),
        signal_unit: if feedback_unit.is_empty() {
            reference_unit
        } else {
            feedback_unit
        }
        .to_owned(),
        effort_unit: effort
            .map_or("", |e| split_header(&headers[e]).1)
            .to_owned(),
    };
    if args.json {
        let mut document = report::json(&signals, &reports);
        document["file"] = shown.to_string().into();
        report::print(&format!("{}\n", serde_json::to_string_pretty(&document)?))?;
    } else {
        let header = format!(
            "{shown}: {} step{}; reference '{}', feedback '{}'{}\n",
            reports.len(),
            if reports.len() == 1 { "" } else { "s" },
            headers[reference],
            headers[feedback],
            effort.map_or(String::new(), |e| format!(", effort '{}'", headers[e]))
        );
        report::print(&(header + &report::text(&signals, &reports)))?;
    }
    Ok(())
}

/// The column `named` on the command line, or the first default present.
fn choose(
    headers: &[String],
    named: Option<&str>,
    defaults: &RoleDefaults,
) -> anyhow::Result<usize> {
    match named {
        Some(name) => find_column(headers, name),
        None => defaults
            .names
            .iter()
            .find_map(|name| find_column(headers, name).ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "none named {} (columns: {}); choose one with {}",
                    defaults
                        .names
                        .iter()
                        .map(|d| format!("'{d}'"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    listed(headers),
                    defaults.option
                )
            }),
    }
}

/// The column whose header is `name`, or whose name without the unit is
/// `name`, ignoring case.
fn find_column(headers: &[String], name: &str) -> anyhow::Result<usize> {
    let name = name.trim();
    let exact = |header: &str| header == name;
    let any_case = |header: &str| header.eq_ignore_ascii_case(name);
    [
        &exact as &dyn Fn(&str) -> bool,
        &any_case,
        &|header| exact(split_header(header).0),
        &|header| any_case(split_header(header).0),
    ]
    .iter()
    .find_map(|matches| headers.iter().position(|h| matches(h)))
    .ok_or_else(|| anyhow::anyhow!("none named '{name}' (columns: {})", listed(headers)))
}

/// `name [unit]` → (`name`, `unit`); a header without a unit is all name.
fn split_header(header: &str) -> (&str, &str) {
    header
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once(" ["))
        .unwrap_or((header, ""))
}

fn listed(headers: &[String]) -> String {
    if headers.is_empty() {
        "none: the file has no header row".into()
    } else {
        headers.join(", ")
    }
}

/// Reads the `wanted` columns of every row as finite numbers, checking that
/// time (the first wanted column) increases.
fn read_columns(
    reader: &mut csv::Reader<std::fs::File>,
    headers: &[String],
    wanted: &[usize],
    path: &Path,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let shown = path.display();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); wanted.len()];
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => bail!("cannot read {shown}: {error}"),
        }
        let line = row.position().map_or(0, csv::Position::line);
        for (values, &column) in columns.iter_mut().zip(wanted) {
            let cell = row.get(column).unwrap_or("");
            let value = cell
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{shown} line {line}, column '{}': '{cell}' is not a number",
                        headers[column]
                    )
                })?;
            values.push(value);
        }
        let time = &columns[0];
        if let [.., before, now] = time[..]
            && now <= before
        {
            bail!(
                "{shown} line {line}: {TIME_COLUMN} {now} does not increase (the row before has {before})"
            );
        }
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<String> {
        [
            "time_s",
            "setpoint [rad]",
            "position [rad]",
            "Effort [A]",
            "raw",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn columns_match_by_header_name_or_name_ignoring_case() {
        let headers = headers();
        let found = |name| find_column(&headers, name).ok();
        assert_eq!(found("position [rad]"), Some(2));
        assert_eq!(found("position"), Some(2));
        assert_eq!(found("Position [RAD]"), Some(2));
        assert_eq!(found("effort"), Some(3));
        assert_eq!(found("raw"), Some(4));
        assert_eq!(found("velocity"), None);
        let Err(error) = find_column(&headers, "velocity") else {
            panic!("no such column")
        };
        assert_eq!(
            error.to_string(),
            "none named 'velocity' (columns: time_s, setpoint [rad], position [rad], Effort [A], raw)"
        );
    }

    #[test]
    fn roles_default_to_the_native_channel_names() {
        let headers = headers();
        assert_eq!(choose(&headers, None, &DEFAULT_REFERENCE).ok(), Some(1));
        assert_eq!(choose(&headers, None, &DEFAULT_FEEDBACK).ok(), Some(2));
        assert_eq!(
            choose(&headers, Some("raw"), &DEFAULT_FEEDBACK).ok(),
            Some(4)
        );
        let plain = ["time_s", "reference", "feedback"].map(String::from);
        assert_eq!(choose(&plain, None, &DEFAULT_REFERENCE).ok(), Some(1));
        assert_eq!(choose(&plain, None, &DEFAULT_FEEDBACK).ok(), Some(2));
        let Err(error) = choose(&plain[..2], None, &DEFAULT_FEEDBACK) else {
            panic!("no feedback column")
        };
        assert!(error.to_string().contains("'position' or 'feedback'"));
    }

    #[test]
    fn headers_split_into_name_and_unit() {
        assert_eq!(split_header("position [rad]"), ("position", "rad"));
        assert_eq!(split_header("velocity [rad/s]"), ("velocity", "rad/s"));
        assert_eq!(split_header("time_s"), ("time_s", ""));
        assert_eq!(split_header("odd]"), ("odd]", ""));
    }
}
