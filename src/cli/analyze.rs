//! `motiontune analyze`: the step metrics of every step in a recorded CSV.
//!
//! Any CSV with a `time_s` column will do; `motiontune record` writes one
//! column per channel named `name [unit]`. A column is chosen by its full
//! header or by its name without the unit, ignoring case. By default the
//! reference is `setpoint` (or `reference`), the feedback `position` (or
//! `feedback`) and the effort `effort` when there is one: the names the
//! native devices give the channels with those roles. Only the chosen
//! columns are read, so other columns may hold anything.

use anyhow::{Context, bail};

use super::AnalyzeArgs;
use super::report::{self, MeasuredSignals, StepReport};
use crate::analysis::{StepRecord, measure_steps};

mod columns;
use columns::split_header;
use columns::{ColumnNames, StepColumns, read_step_columns};

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let path = args.file.as_path();
    let shown = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {shown}"))?;
    let names = ColumnNames {
        reference: args.reference.as_deref(),
        feedback: args.feedback.as_deref(),
        effort: args.effort.as_deref(),
    };
    let StepColumns {
        headers,
        reference,
        feedback,
        effort,
        values,
    } = read_step_columns(std::io::BufReader::new(file), &shown.to_string(), names)?;
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
