//! Reading the columns `motiontune analyze` measures from CSV text, from
//! any reader (a file, or bytes under a fuzzer): the column choice by
//! header or by name without the unit, and every row of the chosen columns
//! as finite numbers with time increasing. Other columns may hold anything.

use std::io::Read;

use anyhow::{Context, bail};

pub const TIME_COLUMN: &str = "time_s";
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

/// The columns to measure as named on the command line; `None` takes the
/// defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct ColumnNames<'a> {
    pub reference: Option<&'a str>,
    pub feedback: Option<&'a str>,
    pub effort: Option<&'a str>,
}

/// What was read: the header row, the chosen columns, and their values as
/// time, reference, feedback and (when there is one) effort.
#[derive(Debug)]
pub struct StepColumns {
    pub headers: Vec<String>,
    pub reference: usize,
    pub feedback: usize,
    pub effort: Option<usize>,
    pub values: Vec<Vec<f64>>,
}

/// Reads the CSV text from `input`: finds the columns, then reads each row
/// of them as finite numbers with time increasing. `shown` names the
/// source in errors, which are one line each.
pub fn read_step_columns(
    input: impl Read,
    shown: &str,
    names: ColumnNames<'_>,
) -> anyhow::Result<StepColumns> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header row of {shown}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let ChosenColumns {
        reference,
        feedback,
        effort,
        wanted,
    } = choose_columns(&headers, names, shown)?;
    let values = read_columns(&mut reader, &headers, &wanted, shown)?;
    Ok(StepColumns {
        headers,
        reference,
        feedback,
        effort,
        values,
    })
}

/// The columns chosen from a header row: time first in `wanted`, then
/// reference, feedback and (when there is one) effort.
pub struct ChosenColumns {
    pub reference: usize,
    pub feedback: usize,
    pub effort: Option<usize>,
    pub wanted: Vec<usize>,
}

/// Finds the time column and the columns `names` asks for (or the
/// defaults) among `headers`; `shown` names the source in errors.
pub fn choose_columns(
    headers: &[String],
    names: ColumnNames<'_>,
    shown: &str,
) -> anyhow::Result<ChosenColumns> {
    let Some(time) = headers.iter().position(|h| h == TIME_COLUMN) else {
        bail!(
            "{shown} has no {TIME_COLUMN} column (columns: {})",
            listed(headers)
        );
    };
    let reference = choose(headers, names.reference, &DEFAULT_REFERENCE)
        .with_context(|| format!("{shown}: no reference column"))?;
    let feedback = choose(headers, names.feedback, &DEFAULT_FEEDBACK)
        .with_context(|| format!("{shown}: no feedback column"))?;
    let effort = match names.effort {
        Some(name) => {
            Some(find_column(headers, name).with_context(|| format!("{shown}: no effort column"))?)
        }
        None => DEFAULT_EFFORT
            .iter()
            .find_map(|name| find_column(headers, name).ok()),
    };
    let wanted = [Some(time), Some(reference), Some(feedback), effort]
        .into_iter()
        .flatten()
        .collect();
    Ok(ChosenColumns {
        reference,
        feedback,
        effort,
        wanted,
    })
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
/// `name`, ignoring case; else whose topic path ends in it
/// (`/motor/setpoint`, as PlotJuggler exports it).
fn find_column(headers: &[String], name: &str) -> anyhow::Result<usize> {
    let name = name.trim();
    let exact = |header: &str| header == name;
    let any_case = |header: &str| header.eq_ignore_ascii_case(name);
    let last_part = |header: &str| {
        let name = split_header(header).0;
        name.rsplit(['/', '.']).next().unwrap_or(name).to_owned()
    };
    [
        &exact as &dyn Fn(&str) -> bool,
        &any_case,
        &|header| exact(split_header(header).0),
        &|header| any_case(split_header(header).0),
        &|header| any_case(&last_part(header)),
    ]
    .iter()
    .find_map(|matches| headers.iter().position(|h| matches(h)))
    .ok_or_else(|| anyhow::anyhow!("none named '{name}' (columns: {})", listed(headers)))
}

/// `name [unit]` → (`name`, `unit`); a header without a unit is all name.
pub fn split_header(header: &str) -> (&str, &str) {
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
fn read_columns<R: Read>(
    reader: &mut csv::Reader<R>,
    headers: &[String],
    wanted: &[usize],
    shown: &str,
) -> anyhow::Result<Vec<Vec<f64>>> {
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
    fn a_topic_path_matches_by_its_last_part() {
        let headers: Vec<String> = ["time_s", "/motor/setpoint", "/motor/position", "arm.effort"]
            .map(String::from)
            .to_vec();
        let chosen = choose_columns(&headers, ColumnNames::default(), "x").expect("chosen");
        assert_eq!(
            (chosen.reference, chosen.feedback, chosen.effort),
            (1, 2, Some(3))
        );
    }

    #[test]
    fn headers_split_into_name_and_unit() {
        assert_eq!(split_header("position [rad]"), ("position", "rad"));
        assert_eq!(split_header("velocity [rad/s]"), ("velocity", "rad/s"));
        assert_eq!(split_header("time_s"), ("time_s", ""));
        assert_eq!(split_header("odd]"), ("odd]", ""));
    }
}
