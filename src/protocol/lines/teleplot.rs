//! Teleplot's serial format, as Teleplot reads it
//! (nesnes/teleplot, server/www/classes/communication/serverMessageReading.js
//! at 40caddd: lines 19-20 and 58-68 for logs, 78-157 for values):
//! - A line starting with `>` is telemetry; every other line is a log line
//!   (shown as text).
//! - `>name:values[§unit][|flags]`: `name` may carry `,widget` (ignored);
//!   values are separated by `;`, each `value` or `timestamp:value` with
//!   the timestamp in milliseconds (Teleplot divides by 1000). A `§` starts
//!   the unit; the last `|` starts the flags.
//! - Flags: `xy` makes values `x:y[:timestamp]` points of an XY plot,
//!   which motiontune does not show (one warning); `t` makes a value text
//!   (shown as text); others (`np`, `clr`) are ignored.
//! - `>|a|b|` lists commands the sketch offers, `>3D|…` a 3D shape:
//!   neither is plotted.
//!
//! Several telemetry lines make one sample ([`TeleplotRows`]): a row holds
//! one value per name and closes when a name comes again, or the
//! timestamp changes, or every channel described has its value. Values a
//! line lists with `;` are samples of that name alone, each a row.

use std::time::Instant;

use super::parse::value_of;

/// What a line starting with `>` says.
#[derive(Clone, Debug, PartialEq)]
pub enum Teleplot {
    /// Numbers (`name:value` or `name:ms:value;…`).
    Values(Values),
    /// A text telemetry (`|t`): `name: text`.
    Text(String),
    /// Commands the sketch offers (`>|a|b|`): nothing to show.
    Commands,
    /// What motiontune does not plot, named for the warning: `XY data
    /// (name)` or `3D shapes`.
    Unsupported(String),
}

/// The values of one telemetry line.
#[derive(Clone, Debug, PartialEq)]
pub struct Values {
    /// The telemetry's name.
    pub name: String,
    /// Its unit (`§unit`), when it gives one.
    pub unit: Option<String>,
    /// (timestamp in ms, value); NaN for a gap.
    pub samples: Vec<(Option<f64>, f64)>,
}

/// Reads a line of Teleplot telemetry; `None` for a line that is not one
/// (no `>`, no name): text.
pub fn parse(line: &str) -> Option<Teleplot> {
    let message = line.strip_prefix('>')?;
    if message.starts_with('|') {
        return Some(Teleplot::Commands);
    }
    if message.starts_with("3D|") {
        return Some(Teleplot::Unsupported("3D shapes".into()));
    }
    let (key, rest) = message.split_once(':')?;
    let name = key.split(',').next().unwrap_or_default().trim();
    if name.is_empty() {
        return None;
    }
    let (body, flags) = rest.rsplit_once('|').unwrap_or((rest, ""));
    let (body, unit) = match body.split_once('§') {
        Some((body, unit)) => (body, Some(unit.trim().to_owned())),
        None => (body, None),
    };
    if flags.contains("xy") {
        return Some(Teleplot::Unsupported(format!("XY data ({name})")));
    }
    if flags.contains('t') {
        return Some(Teleplot::Text(format!("{name}: {}", body.trim())));
    }
    let samples = body
        .split(';')
        .filter(|value| !value.trim().is_empty())
        .filter_map(|value| match value.split(':').collect::<Vec<_>>()[..] {
            [value] => Some((None, number(value))),
            [time, value] => value_of(time.trim())
                .filter(|t| t.is_finite())
                .map(|time| (Some(time), number(value))),
            _ => None,
        })
        .collect();
    Some(Teleplot::Values(Values {
        name: name.to_owned(),
        unit: unit.filter(|u| !u.is_empty()),
        samples,
    }))
}

/// A value, NaN for a gap.
fn number(text: &str) -> f64 {
    value_of(text.trim()).unwrap_or(f64::NAN)
}

/// One sample assembled from telemetry lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TeleplotRow {
    /// The timestamp its values carried, ms.
    pub time_ms: Option<f64>,
    /// Each telemetry's name and value.
    pub values: Vec<(String, f64)>,
    /// When its last value arrived.
    pub arrived: Option<Instant>,
}

/// Assembles rows from telemetry lines (see the module documentation).
#[derive(Debug, Default)]
pub struct TeleplotRows {
    open: Option<TeleplotRow>,
}

impl TeleplotRows {
    /// Adds one value, arrived `at`; a row it closes goes to `closed`.
    pub fn add(
        &mut self,
        name: &str,
        time_ms: Option<f64>,
        value: f64,
        at: Instant,
        closed: &mut Vec<TeleplotRow>,
    ) {
        let ends = self.open.as_ref().is_some_and(|row| {
            row.values.iter().any(|(n, _)| n == name)
                || (time_ms.is_some() && row.time_ms.is_some() && time_ms != row.time_ms)
        });
        if ends {
            closed.extend(self.open.take());
        }
        let row = self.open.get_or_insert_with(TeleplotRow::default);
        row.time_ms = row.time_ms.or(time_ms);
        row.values.push((name.to_owned(), value));
        row.arrived = Some(at);
    }

    /// When the last value of the open row arrived, if a row is open.
    pub fn open_arrival(&self) -> Option<Instant> {
        self.open.as_ref().and_then(|row| row.arrived)
    }

    /// Closes the open row.
    pub fn close(&mut self, closed: &mut Vec<TeleplotRow>) {
        closed.extend(self.open.take());
    }

    /// Closes the open row if it holds a value for every one of `names`.
    pub fn close_if_complete(&mut self, names: &[String], closed: &mut Vec<TeleplotRow>) {
        let complete = self.open.as_ref().is_some_and(|row| {
            !names.is_empty() && names.iter().all(|n| row.values.iter().any(|(m, _)| m == n))
        });
        if complete {
            closed.extend(self.open.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(name: &str, unit: Option<&str>, samples: &[(Option<f64>, f64)]) -> Option<Teleplot> {
        Some(Teleplot::Values(Values {
            name: name.into(),
            unit: unit.map(str::to_owned),
            samples: samples.to_vec(),
        }))
    }

    #[test]
    fn every_form_teleplot_reads() {
        assert_eq!(parse(">speed:1.5"), values("speed", None, &[(None, 1.5)]));
        assert_eq!(
            parse(">speed:1234:1.5§rad/s|g"),
            values("speed", Some("rad/s"), &[(Some(1234.0), 1.5)])
        );
        assert_eq!(
            parse(">a,chart1:1;2;;3"),
            values("a", None, &[(None, 1.0), (None, 2.0), (None, 3.0)])
        );
        assert_eq!(
            parse(">a:10:1;20:2|np"),
            values("a", None, &[(Some(10.0), 1.0), (Some(20.0), 2.0)])
        );
        let Some(Teleplot::Values(bad)) = parse(">a:nan;ovf;x") else {
            panic!("values");
        };
        assert!(bad.samples.iter().all(|(t, v)| t.is_none() && v.is_nan()));
        assert_eq!(
            parse(">pos:1:2|xy"),
            Some(Teleplot::Unsupported("XY data (pos)".into()))
        );
        assert_eq!(
            parse(">state:Running|t"),
            Some(Teleplot::Text("state: Running".into()))
        );
        assert_eq!(parse(">|start|stop|"), Some(Teleplot::Commands));
        assert_eq!(
            parse(">3D|cube:S:cube:W:1"),
            Some(Teleplot::Unsupported("3D shapes".into()))
        );
        for text in ["speed:1.5", ">", ">:hello", ">no colon"] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn rows_close_when_a_name_or_timestamp_comes_again_or_all_are_there() {
        let mut rows = TeleplotRows::default();
        let mut closed = Vec::new();
        let at = Instant::now();
        for (name, t, v) in [
            ("a", None, 1.0),
            ("b", None, 2.0),
            ("a", None, 3.0),
            ("b", None, 4.0),
        ] {
            rows.add(name, t, v, at, &mut closed);
        }
        assert_eq!(closed.len(), 1);
        let names = vec!["a".to_owned(), "b".to_owned()];
        rows.close_if_complete(&names, &mut closed);
        assert_eq!(closed.len(), 2);
        assert_eq!(
            closed[1].values,
            [("a".to_owned(), 3.0), ("b".to_owned(), 4.0)]
        );
        for (name, t) in [("a", 10.0), ("b", 10.0), ("a", 20.0)] {
            rows.add(name, Some(t), 0.0, at, &mut closed);
        }
        assert_eq!(closed.len(), 3);
        assert_eq!(closed[2].time_ms, Some(10.0));
        rows.add("b", Some(30.0), 0.0, at, &mut closed);
        assert_eq!(closed.last().map(|r| r.time_ms), Some(Some(20.0)));
    }
}
