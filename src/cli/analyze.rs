//! `motiontune analyze`: the step metrics of every step in a recorded CSV.
//!
//! Any CSV with a `time_s` column will do, and motiontune's Parquet
//! recordings (read by [`crate::record::read`]); `motiontune record` writes one
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
use crate::record::read::{self, ReadOptions, TimeColumn};
use columns::read_step_columns;
use columns::split_header;
use columns::{ChosenColumns, ColumnNames, StepColumns, TIME_COLUMN, choose_columns};

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let path = args.file.as_path();
    let shown = path.display();
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {shown}"))?;
    let names = ColumnNames {
        reference: args.reference.as_deref(),
        feedback: args.feedback.as_deref(),
        effort: args.effort.as_deref(),
    };
    let mut start = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, 64 * 1024), &mut start)
        .with_context(|| format!("cannot read {shown}"))?;
    if start.iter().all(u8::is_ascii_whitespace) {
        bail!("{shown} is empty: no samples to measure");
    }
    let options = read_options(args);
    // motiontune's own CSV is read exactly (every digit as written); any
    // other file, and a time column chosen, by the reader the app uses.
    let own_csv = options == ReadOptions::default()
        && has_time_s_header(&start)
        && !start.starts_with(read::PARQUET_MAGIC);
    let StepColumns {
        headers,
        reference,
        feedback,
        effort,
        values,
    } = if !own_csv {
        recorded_step_columns(path, &shown.to_string(), names, &options)?
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {shown}"))?;
        read_step_columns(std::io::BufReader::new(file), &shown.to_string(), names)?
    };
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

/// How the general reader is to read the file, as the options say.
fn read_options(args: &AnalyzeArgs) -> ReadOptions {
    ReadOptions {
        time_column: match args.time_column.as_deref().map(str::trim) {
            None => TimeColumn::Detect,
            Some(text) => match text.parse::<usize>() {
                Ok(number) if number > 0 => TimeColumn::Index(number - 1),
                _ => TimeColumn::Named(text.to_owned()),
            },
        },
        time_unit: args.time_unit,
        device: args.device.clone(),
        ..ReadOptions::default()
    }
}

/// Whether the first line of `start` names a `time_s` column, as
/// motiontune's CSV does.
fn has_time_s_header(start: &[u8]) -> bool {
    let first = start.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(first)
        .trim_start_matches('\u{feff}')
        .split(',')
        .any(|cell| cell.trim().eq_ignore_ascii_case(TIME_COLUMN))
}

/// The columns to measure from a recording the app's reader opens (a
/// Parquet file, any CSV another tool wrote), held to what the exact CSV
/// reader holds them to: finite values, time increasing (rows counted
/// from 1). Times are seconds, whatever the file's unit.
fn recorded_step_columns(
    path: &std::path::Path,
    shown: &str,
    names: ColumnNames<'_>,
    options: &ReadOptions,
) -> anyhow::Result<StepColumns> {
    let file = read::open(path, options).map_err(|error| match error {
        read::ReadError::NoTimeColumn { .. } => {
            anyhow::anyhow!("{shown}: {error} with --time-column")
        }
        error => anyhow::anyhow!("{shown}: {error}"),
    })?;
    if let Some(layout) = file.csv_layout()
        && layout.device.is_none()
        && !layout.device_labels.is_empty()
    {
        bail!(
            "{shown} holds several devices ({}): choose one with --device",
            layout.device_labels.join(", ")
        );
    }
    // A row left out would be a silent hole in the step: refused, as the
    // exact reader refuses it. A value that is not a number is checked
    // below, only in the columns measured.
    let mut lost_rows = file
        .problems
        .iter()
        .filter(|p| !matches!(p, read::RowProblem::NotANumber { .. }));
    if let Some(first) = lost_rows.next() {
        let more = lost_rows.count() + file.problems_not_listed;
        if more > 0 {
            bail!("{shown} {first} ({more} more rows like it)");
        }
        bail!("{shown} {first}");
    }
    let headers: Vec<String> = std::iter::once(TIME_COLUMN.to_owned())
        .chain(file.channels.iter().map(read::RecordedChannel::label))
        .collect();
    let ChosenColumns {
        reference,
        feedback,
        effort,
        wanted,
    } = choose_columns(&headers, names, shown)?;
    let values: Vec<Vec<f64>> = wanted
        .iter()
        .map(|&column| match column {
            0 => file.times.clone(),
            c => file.columns[c - 1].iter().map(|&v| f64::from(v)).collect(),
        })
        .collect();
    for (values, &column) in values.iter().zip(&wanted) {
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            bail!(
                "{shown} row {}, column '{}': {} is not a number",
                row + 1,
                headers[column],
                values[row]
            );
        }
    }
    if let Some(row) = values[0].windows(2).position(|t| t[1] <= t[0]) {
        bail!(
            "{shown} row {}: {TIME_COLUMN} {} does not increase (the row before has {})",
            row + 2,
            values[0][row + 1],
            values[0][row]
        );
    }
    Ok(StepColumns {
        headers,
        reference,
        feedback,
        effort,
        values,
    })
}
