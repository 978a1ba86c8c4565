//! Opening a recording: motiontune's own CSV (`time_s`, then `name [unit]`
//! per channel) and any reasonable CSV another tool wrote: pandas, a
//! PlotJuggler export, an Arduino serial-monitor log with timestamps, a
//! spreadsheet's `;`-separated file with decimal commas.
//!
//! The contract:
//! - The layout (separator, decimal comma, header row, time column and its
//!   unit, or dates and times in it) is detected from the first lines
//!   unless [`ReadOptions`] says otherwise, and reported as [`CsvLayout`] so
//!   a caller can show it and let the user correct it.
//! - Times are `f64` seconds as written (scaled from ms or µs); values are
//!   `f32`, parsed from the text directly (one rounding). An empty cell or
//!   `NaN` is a gap (NaN), not a problem.
//! - A row that cannot be read whole is never a panic and never skipped in
//!   silence: a ragged row, a row whose time is missing, not a number or
//!   earlier than the row before is left out and named in
//!   [`RecordedFile::problems`] by its line number; a value that is not a
//!   number becomes a gap, and is named there too.
//! - A file of several devices (`motiontune record --port A --port B`,
//!   [`crate::record::devices`]) reads as one device's samples on its own
//!   time when [`ReadOptions::device`] names it, or as every device's
//!   channels on the host's time, rows sorted by it (another device's
//!   channels are gaps in a device's rows).
//! - Only a file that cannot be read, or has no time column (none found,
//!   or the one chosen is not there), is an error.
//!
//! motiontune's Parquet recordings (a file starting with `PAR1`) open the
//! same way, bit for bit, including one whose recorder was killed: every
//! whole row group is recovered ([`ParquetInfo`]).

mod layout;
mod parquet;
mod parquet_any;
#[cfg(test)]
mod parquet_tests;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::protocol::ChannelRole;

pub use layout::{CsvLayout, find_column, split_header};
pub use parquet::{MAGIC as PARQUET_MAGIC, ParquetInfo, SMALL_FOOTER_MAGIC, read_parquet};

/// At most this many problems are listed; the rest are only counted.
pub const MAX_LISTED_PROBLEMS: usize = 1000;

/// How to read a CSV file; the defaults detect everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Which column holds the time.
    pub time_column: TimeColumn,
    /// The time column's unit; `None` takes it from the header (`[ms]`,
    /// `_us`, …), else seconds.
    pub time_unit: Option<TimeUnit>,
    /// The separator; `None` detects `,`, `;` or tab.
    pub separator: Option<u8>,
    /// Whether numbers are written with a decimal comma; `None` detects it.
    pub decimal_comma: Option<bool>,
    /// Whether the first row names the columns; `None` detects it.
    pub header: Option<bool>,
    /// In a file of several devices (`motiontune record --port A --port
    /// B`), the label of the one to read on its own time; `None` reads
    /// every device on the host's time.
    pub device: Option<String>,
}

/// The column that holds the time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TimeColumn {
    /// The first column named like a time (`time_s`, `time`, `t`,
    /// `__time`, `timestamp`, with or without a unit); the first column
    /// when there is no header.
    #[default]
    Detect,
    /// The column with this header, or this name without its unit,
    /// ignoring case.
    Named(String),
    /// The column at this index, counted from 0.
    Index(usize),
}

/// The unit of a time column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Milliseconds,
    /// Microseconds.
    Microseconds,
}

impl TimeUnit {
    /// How many of this unit make a second.
    pub fn per_second(self) -> f64 {
        match self {
            Self::Seconds => 1.0,
            Self::Milliseconds => 1e3,
            Self::Microseconds => 1e6,
        }
    }

    /// The unit's symbol: `s`, `ms`, `us`.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Seconds => "s",
            Self::Milliseconds => "ms",
            Self::Microseconds => "us",
        }
    }

    /// `s`, `ms`, `us` or `µs`, as written in a header or on a command line.
    pub fn from_symbol(symbol: &str) -> Option<Self> {
        match symbol.trim() {
            "s" | "sec" | "seconds" => Some(Self::Seconds),
            "ms" => Some(Self::Milliseconds),
            "us" | "µs" | "μs" => Some(Self::Microseconds),
            _ => None,
        }
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_symbol(text).ok_or_else(|| format!("'{text}' is not a time unit (s, ms, us)"))
    }
}

/// A recorded channel: its name and unit (empty when none is written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedChannel {
    /// The channel's name.
    pub name: String,
    /// Its unit.
    pub unit: String,
}

/// A recording as read: one time per row and one column of values per
/// channel, each as long as the times.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedFile {
    /// The channels, in column order.
    pub channels: Vec<RecordedChannel>,
    /// Seconds, as written (not shifted to start at zero).
    pub times: Vec<f64>,
    /// `columns[c][row]`: channel `c`'s value in that row; NaN is a gap.
    pub columns: Vec<Vec<f32>>,
    /// The rows that could not be read whole, in file order (at most
    /// [`MAX_LISTED_PROBLEMS`]).
    pub problems: Vec<RowProblem>,
    /// Problems found beyond those listed.
    pub problems_not_listed: usize,
    /// What the file was and how it was read.
    pub format: FileFormat,
}

/// The kind of file a recording was read from, and how.
#[derive(Clone, Debug, PartialEq)]
pub enum FileFormat {
    /// A CSV file, read as laid out.
    Csv(CsvLayout),
    /// A Parquet file, with what was found in it.
    Parquet(ParquetInfo),
}

/// Finer clocks tried, times the smallest step's rate, for times that lie
/// off that rate's grid: a device streaming every 10th tick of 10 kHz
/// from tick 496 has rows 1 ms apart at 0.0496 s, 0.0506 s, …
const FINER_CLOCKS: [f64; 7] = [2.0, 4.0, 5.0, 10.0, 100.0, 1000.0, 10_000.0];

/// Fastest clock a grid is put on.
const FASTEST_CLOCK_HZ: f64 = 10_000_000.0;

/// A recording's times as ticks of one clock: what a device streaming it
/// would count.
#[derive(Clone, Debug, PartialEq)]
pub struct TickGrid {
    /// Ticks a second: the rate the smallest step between rows gives
    /// (1 kHz when no two rows differ in time), or the first of a few
    /// multiples of it on whose grid every time lies exactly.
    pub rate_hz: f64,
    /// Each row's time in ticks, `round(time × rate_hz)`.
    pub ticks: Vec<i64>,
    /// Every `tick / rate_hz` is the time as written.
    pub exact: bool,
}

impl RecordedFile {
    /// The rows' times on the clock of the smallest step between rows
    /// (10 kHz for a 10 kHz recording), or a multiple of it when that puts
    /// every time on the grid exactly: every recording motiontune makes
    /// lies on one exactly; other times are rounded to the base clock.
    pub fn tick_grid(&self) -> TickGrid {
        let step = self
            .times
            .windows(2)
            .map(|t| t[1] - t[0])
            .filter(|&dt| dt > 0.0)
            .fold(f64::INFINITY, f64::min);
        let base_hz = if step.is_finite() {
            (1.0 / step).round().clamp(1.0, FASTEST_CLOCK_HZ)
        } else {
            1000.0
        };
        let on_grid = |rate_hz: f64| {
            let ticks: Vec<i64> = self
                .times
                .iter()
                .map(|&t| (t * rate_hz).round() as i64)
                .collect();
            let exact = ticks
                .iter()
                .zip(&self.times)
                .all(|(&tick, &t)| tick as f64 / rate_hz == t);
            TickGrid {
                rate_hz,
                ticks,
                exact,
            }
        };
        let base = on_grid(base_hz);
        if base.exact {
            return base;
        }
        FINER_CLOCKS
            .iter()
            .map(|times| base_hz * times)
            .take_while(|&rate_hz| rate_hz <= FASTEST_CLOCK_HZ)
            .map(on_grid)
            .find(|grid| grid.exact)
            .unwrap_or(base)
    }

    /// How a CSV file was read; `None` for Parquet.
    pub fn csv_layout(&self) -> Option<&CsvLayout> {
        match &self.format {
            FileFormat::Csv(layout) => Some(layout),
            FileFormat::Parquet(_) => None,
        }
    }
}

/// What was wrong with one row of a file. `line` counts from 1, as an
/// editor shows the file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RowProblem {
    #[error("line {line}: {cells} cells where the header has {expected}; row left out")]
    /// A row with another number of cells than the header.
    Ragged {
        /// Line number in the file, from 1.
        line: u64,
        /// Cells in the row.
        cells: usize,
        /// Cells in the header.
        expected: usize,
    },
    #[error("line {line}: the time '{cell}' is not a number; row left out")]
    /// A time that is not a number.
    BadTime {
        /// Line number in the file, from 1.
        line: u64,
        /// The cell as written.
        cell: String,
    },
    #[error("line {line}: no timestamp; row left out")]
    /// A row without a timestamp.
    NoTimestamp {
        /// Line number in the file, from 1.
        line: u64,
    },
    #[error("line {line}: the time {time} goes back (the row before is at {before}); row left out")]
    /// A time earlier than the row before's.
    TimeBackwards {
        /// Line number in the file, from 1.
        line: u64,
        /// The row's time, s.
        time: f64,
        /// The time of the row before, s.
        before: f64,
    },
    #[error("line {line}, column '{column}': '{cell}' is not a number; a gap in its place")]
    /// A value that is not a number; a gap takes its place.
    NotANumber {
        /// Line number in the file, from 1.
        line: u64,
        /// The column's name.
        column: String,
        /// The cell as written.
        cell: String,
    },
}

impl RowProblem {
    /// The line of the file the problem is on.
    pub fn line(&self) -> u64 {
        match self {
            Self::Ragged { line, .. }
            | Self::BadTime { line, .. }
            | Self::NoTimestamp { line }
            | Self::TimeBackwards { line, .. }
            | Self::NotANumber { line, .. } => *line,
        }
    }
}

/// Why a recording could not be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot open {path}: {reason}")]
    /// The file would not open.
    Open {
        /// The file.
        path: String,
        /// What the system said.
        reason: std::io::Error,
    },
    #[error("cannot read the file: {0}")]
    /// The CSV could not be read.
    Csv(#[from] csv::Error),
    #[error(
        "no time column: none is named time_s, time, t, __time or timestamp (columns: {columns}); choose one"
    )]
    /// No column is recognised as time.
    NoTimeColumn {
        /// The columns there are.
        columns: String,
    },
    #[error("no column named '{name}' (columns: {columns})")]
    /// No column has the name asked for.
    NoSuchColumn {
        /// The name asked for.
        name: String,
        /// The columns there are.
        columns: String,
    },
    #[error("there is no column {index}: the file has {count} columns (counted from 0)")]
    /// No column at the index asked for.
    NoColumnAt {
        /// The index asked for, from 0.
        index: usize,
        /// Columns in the file.
        count: usize,
    },
    #[error("the file has no header row to find a column named '{0}' in; choose it by number")]
    /// Columns can be named only with a header row.
    NoHeader(String),
    #[error("no device labelled '{label}' in the file (devices: {labels})")]
    /// A file of several devices has none with the label asked for.
    NoSuchDevice {
        /// The label asked for.
        label: String,
        /// The labels there are.
        labels: String,
    },
    #[error(
        "a device ('{0}') can be chosen only in a file of several devices, as `record --port A --port B` writes"
    )]
    /// A device was asked for in a file of one.
    NotSeveralDevices(String),
    #[error("a Parquet file without a footer, and no whole row group was found")]
    /// A Parquet file with no footer and no whole row group.
    NoFooter,
    #[error("cannot read the Parquet file: {0}")]
    /// The Parquet file could not be read.
    Parquet(String),
}

/// Opens the recording at `path`: Parquet if it starts with `PAR1`, else
/// CSV read with `options` (see the module's contract).
pub fn open(path: &Path, options: &ReadOptions) -> Result<RecordedFile, ReadError> {
    let bytes = std::fs::read(path).map_err(|reason| ReadError::Open {
        path: path.display().to_string(),
        reason,
    })?;
    read_bytes(bytes, options)
}

/// Reads a whole file's bytes: Parquet if they start with `PAR1`, else CSV
/// read with `options`.
pub fn read_bytes(bytes: Vec<u8>, options: &ReadOptions) -> Result<RecordedFile, ReadError> {
    if bytes.starts_with(parquet::MAGIC) {
        parquet::read_parquet(bytes)
    } else {
        read_csv(&bytes, options)
    }
}

/// Reads CSV text (see the module's contract).
pub fn read_csv(bytes: &[u8], options: &ReadOptions) -> Result<RecordedFile, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut problems = Problems::default();
    let serial_monitor = layout::serial_monitor_timestamps(bytes);
    let rewritten;
    let text = if serial_monitor {
        rewritten = layout::timestamps_as_a_column(bytes, &mut |line| {
            problems.push(RowProblem::NoTimestamp { line });
        });
        rewritten.as_slice()
    } else {
        bytes
    };
    let layout = CsvLayout::detect(text, options, serial_monitor)?;
    read_rows(text, &layout, problems)
}

/// Puts rows in time order, keeping the order of rows at the same time.
fn sort_by_time(times: &mut Vec<f64>, columns: &mut [Vec<f32>]) {
    if times.is_sorted() {
        return;
    }
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
    *times = order.iter().map(|&k| times[k]).collect();
    for column in columns {
        *column = order.iter().map(|&k| column[k]).collect();
    }
}

#[derive(Default)]
struct Problems {
    listed: Vec<RowProblem>,
    not_listed: usize,
}

impl Problems {
    fn push(&mut self, problem: RowProblem) {
        if self.listed.len() < MAX_LISTED_PROBLEMS {
            self.listed.push(problem);
        } else {
            self.not_listed += 1;
        }
    }
}

/// Reads every row after the header as the layout says.
fn read_rows(
    text: &[u8],
    layout: &CsvLayout,
    mut problems: Problems,
) -> Result<RecordedFile, ReadError> {
    let mut reader = layout.csv_reader(text);
    let mut record = csv::ByteRecord::new();
    let mut times = Vec::new();
    let mut columns: Vec<Vec<f32>> = vec![Vec::new(); layout.channel_columns.len()];
    let mut first = true;
    let mut cell_text = String::new();
    while reader.read_byte_record(&mut record)? {
        let line = record.position().map_or(0, csv::Position::line);
        if std::mem::take(&mut first) && layout.header {
            continue;
        }
        if record.len() != layout.column_count {
            problems.push(RowProblem::Ragged {
                line,
                cells: record.len(),
                expected: layout.column_count,
            });
            continue;
        }
        let time_cell = record.get(layout.time_column).unwrap_or_default();
        if layout.device.is_some() && time_cell.is_empty() {
            // Another device's row.
            continue;
        }
        let time = if layout.date_times {
            std::str::from_utf8(time_cell)
                .ok()
                .and_then(layout::date_time_seconds)
        } else {
            layout
                .number::<f64>(time_cell, &mut cell_text)
                .map(|t| t / layout.time_unit.per_second())
        };
        let Some(time) = time.filter(|t| t.is_finite()) else {
            problems.push(RowProblem::BadTime {
                line,
                cell: String::from_utf8_lossy(time_cell).into_owned(),
            });
            continue;
        };
        // Several devices' rows come in the order they reached the app,
        // not quite in host time: they are sorted below.
        if let Some(&before) = times.last()
            && time < before
            && layout.device_labels.is_empty()
        {
            problems.push(RowProblem::TimeBackwards { line, time, before });
            continue;
        }
        times.push(time);
        for (channel, &column) in layout.channel_columns.iter().enumerate() {
            let cell = record.get(column).unwrap_or_default();
            let value = if cell.is_empty() {
                f32::NAN
            } else if let Some(value) = layout.number::<f32>(cell, &mut cell_text) {
                value
            } else {
                problems.push(RowProblem::NotANumber {
                    line,
                    column: layout.channels[channel].label(),
                    cell: String::from_utf8_lossy(cell).into_owned(),
                });
                f32::NAN
            };
            columns[channel].push(value);
        }
    }
    if layout.device.is_none() && !layout.device_labels.is_empty() {
        sort_by_time(&mut times, &mut columns);
    }
    problems.listed.sort_by_key(RowProblem::line);
    Ok(RecordedFile {
        channels: layout.channels.clone(),
        times,
        columns,
        problems: problems.listed,
        problems_not_listed: problems.not_listed,
        format: FileFormat::Csv(layout.clone()),
    })
}

impl RecordedChannel {
    /// The role its name gives it, as motiontune's native devices name
    /// their channels (`setpoint`, `position`, `effort`, …); a topic path's
    /// last part counts (`/motor/setpoint`, as PlotJuggler exports it).
    pub fn role(&self) -> ChannelRole {
        let last = self.name.rsplit(['/', '.']).next().unwrap_or(&self.name);
        match last.to_ascii_lowercase().as_str() {
            "setpoint" | "reference" => ChannelRole::Reference,
            "position" | "feedback" => ChannelRole::Feedback,
            "effort" => ChannelRole::Effort,
            _ => ChannelRole::Other,
        }
    }

    /// `name [unit]`, or just the name when the unit is empty: the header
    /// motiontune writes.
    pub fn label(&self) -> String {
        if self.unit.is_empty() {
            self.name.clone()
        } else {
            format!("{} [{}]", self.name, self.unit)
        }
    }
}
