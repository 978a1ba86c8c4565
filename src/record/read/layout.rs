//! How a CSV file is laid out, detected from its first rows: separator,
//! decimal comma, header row, time column and unit, which columns are
//! channels. And the Arduino serial monitor's `12:34:56.789 -> ` line
//! prefix, turned into a time column before the rest is read as CSV.

use super::{ReadError, ReadOptions, RecordedChannel, TimeColumn, TimeUnit};
use crate::record::devices;

/// Rows looked at to detect the layout.
const SAMPLE_ROWS: usize = 64;

/// Separators tried, the most telling first: a tab or `;` is never part of
/// a number, a `,` may be (a decimal comma), a space may pad a cell.
const SEPARATORS: [u8; 3] = [b'\t', b';', b','];

/// How a CSV file is read.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvLayout {
    /// The byte between cells: `,`, `;`, tab or space.
    pub separator: u8,
    /// Whether numbers are written with a decimal comma.
    pub decimal_comma: bool,
    /// Whether the first row names the columns.
    pub header: bool,
    /// Cells in a whole row.
    pub column_count: usize,
    /// The header row's cells (empty without a header).
    pub headers: Vec<String>,
    /// Index of the time column.
    pub time_column: usize,
    /// The unit of the time column.
    pub time_unit: TimeUnit,
    /// Whether the time column holds dates and times (`2024-05-01
    /// 12:00:00.125`, as pandas writes a datetime index), read as seconds
    /// since 1970-01-01 UTC.
    pub date_times: bool,
    /// Whether the times are the Arduino serial monitor's timestamps
    /// (seconds since the first line's), column 0.
    pub serial_monitor: bool,
    /// Index of each channel's column; a pandas index column (an unnamed
    /// first column) is not a channel.
    pub channel_columns: Vec<usize>,
    /// The channels, in column order.
    pub channels: Vec<RecordedChannel>,
    /// The devices' labels in a file of several
    /// ([`crate::record::devices`]); empty for any other file.
    pub device_labels: Vec<String>,
    /// In a file of several devices, the one read, on its own time; `None`
    /// reads them all on the host's time, rows sorted by it.
    pub device: Option<String>,
}

impl CsvLayout {
    /// How the file was read, in one line: separator, decimals, header,
    /// and the time column with its unit.
    pub fn describe(&self) -> String {
        let separator = match self.separator {
            b',' => "comma",
            b';' => "semicolon",
            b'\t' => "tab",
            b' ' => "space",
            _ => "other",
        };
        let time = if self.serial_monitor {
            "serial-monitor timestamps".to_owned()
        } else {
            let name = self.headers.get(self.time_column).map_or_else(
                || format!("column {}", self.time_column + 1),
                |h| format!("'{h}'"),
            );
            if self.date_times {
                format!("time {name} (dates and times)")
            } else {
                format!("time {name} in {}", self.time_unit.symbol())
            }
        };
        let time = match (&self.device, self.device_labels.is_empty()) {
            (Some(device), _) => format!(
                "device '{device}' of {} on its own time",
                self.device_labels.join(", ")
            ),
            (None, false) => format!("devices {} on host time", self.device_labels.join(", ")),
            (None, true) => time,
        };
        format!(
            "{separator}-separated{}, {}, {time}",
            if self.decimal_comma {
                " with decimal commas"
            } else {
                ""
            },
            if self.header {
                "header row"
            } else {
                "no header"
            },
        )
    }
}

impl Default for CsvLayout {
    fn default() -> Self {
        Self {
            separator: b',',
            decimal_comma: false,
            header: true,
            column_count: 0,
            headers: Vec::new(),
            time_column: 0,
            time_unit: TimeUnit::Seconds,
            date_times: false,
            serial_monitor: false,
            channel_columns: Vec::new(),
            channels: Vec::new(),
            device_labels: Vec::new(),
            device: None,
        }
    }
}

impl CsvLayout {
    /// Detects what `options` leave open from the first rows of `text`.
    pub(super) fn detect(
        text: &[u8],
        options: &ReadOptions,
        serial_monitor: bool,
    ) -> Result<Self, ReadError> {
        let separator = options
            .separator
            .unwrap_or_else(|| detect_separator(text, serial_monitor));
        let mut layout = Self {
            separator,
            serial_monitor,
            ..Self::default()
        };
        let sample = sample_rows(text, separator);
        layout.column_count = modal_count(&sample).unwrap_or(0);
        layout.decimal_comma = options
            .decimal_comma
            .unwrap_or_else(|| separator != b',' && decimal_commas(sample.get(1..).unwrap_or(&[])));
        layout.header = options.header.unwrap_or_else(|| {
            sample.first().is_some_and(|first| {
                first.iter().any(|cell| {
                    !cell.is_empty()
                        && layout
                            .number::<f64>(cell.as_bytes(), &mut String::new())
                            .is_none()
                        && date_time_seconds(cell).is_none()
                })
            })
        });
        if layout.header {
            layout.headers = sample.first().cloned().unwrap_or_default();
        }
        let groups = layout
            .header
            .then(|| devices::device_groups(&layout.headers))
            .flatten();
        match (groups, &options.device) {
            (Some(groups), device) => return layout.several_devices(&groups, device.as_deref()),
            (None, Some(device)) => return Err(ReadError::NotSeveralDevices(device.clone())),
            (None, None) => {}
        }
        layout.time_column = layout.find_time_column(&options.time_column)?;
        let time_header = layout.headers.get(layout.time_column).map(String::as_str);
        layout.time_unit = options
            .time_unit
            .or_else(|| time_header.and_then(unit_of_time))
            .unwrap_or(TimeUnit::Seconds);
        let first_time = sample
            .get(usize::from(layout.header))
            .and_then(|row| row.get(layout.time_column));
        layout.date_times = first_time.is_some_and(|cell| {
            layout
                .number::<f64>(cell.as_bytes(), &mut String::new())
                .is_none()
                && date_time_seconds(cell).is_some()
        });
        if layout.date_times || (serial_monitor && layout.time_column == 0) {
            layout.time_unit = TimeUnit::Seconds;
        }
        let pandas_index = layout.header
            && layout.time_column != 0
            && layout
                .headers
                .first()
                .is_some_and(|h| h.is_empty() || h == "Unnamed: 0");
        layout.channel_columns = (0..layout.column_count)
            .filter(|&c| c != layout.time_column && !(c == 0 && pandas_index))
            .collect();
        layout.channels = layout
            .channel_columns
            .iter()
            .map(|&c| channel_named(layout.headers.get(c).map_or("", String::as_str), c))
            .collect();
        Ok(layout)
    }

    /// The layout of a file of several devices: `device`'s columns on its
    /// own time, or every device's channels on the host's.
    fn several_devices(
        mut self,
        groups: &[devices::DeviceColumns],
        device: Option<&str>,
    ) -> Result<Self, ReadError> {
        self.device_labels = groups.iter().map(|g| g.label.clone()).collect();
        let named = |c: usize, prefix: usize| {
            let header = self.headers.get(c).map_or("", String::as_str);
            channel_named(header.get(prefix..).unwrap_or(header), c)
        };
        match device {
            Some(label) => {
                let Some(group) = groups.iter().find(|g| g.label == label) else {
                    return Err(ReadError::NoSuchDevice {
                        label: label.to_owned(),
                        labels: self.device_labels.join(", "),
                    });
                };
                self.device = Some(label.to_owned());
                self.time_column = group.time_column;
                self.channel_columns =
                    (group.time_column + 1..=group.time_column + group.channels).collect();
                // The channels as a one-device recording names them.
                let prefix = label.len() + 1;
                self.channels = self
                    .channel_columns
                    .iter()
                    .map(|&c| named(c, prefix))
                    .collect();
            }
            None => {
                self.time_column = 0;
                let times: Vec<usize> = groups.iter().map(|g| g.time_column).collect();
                self.channel_columns = (1..self.column_count)
                    .filter(|c| !times.contains(c))
                    .collect();
                self.channels = self.channel_columns.iter().map(|&c| named(c, 0)).collect();
            }
        }
        Ok(self)
    }

    /// A reader of every row as the layout says (the header row included).
    pub(super) fn csv_reader<'t>(&self, text: &'t [u8]) -> csv::Reader<&'t [u8]> {
        csv::ReaderBuilder::new()
            .delimiter(self.separator)
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text)
    }

    /// The number in `cell`, read with a decimal comma if the file has
    /// them (`scratch` holds the rewritten text).
    pub(super) fn number<T: std::str::FromStr>(
        &self,
        cell: &[u8],
        scratch: &mut String,
    ) -> Option<T> {
        let text = std::str::from_utf8(cell).ok()?;
        if self.decimal_comma && text.contains(',') {
            scratch.clear();
            scratch.extend(text.chars().map(|c| if c == ',' { '.' } else { c }));
            scratch.parse().ok()
        } else {
            text.parse().ok()
        }
    }

    fn find_time_column(&self, choice: &TimeColumn) -> Result<usize, ReadError> {
        let listed = || {
            if self.headers.is_empty() {
                format!("{} without a header", self.column_count)
            } else {
                self.headers.join(", ")
            }
        };
        match choice {
            TimeColumn::Index(index) if *index < self.column_count.max(1) => Ok(*index),
            TimeColumn::Index(index) => Err(ReadError::NoColumnAt {
                index: *index,
                count: self.column_count,
            }),
            TimeColumn::Named(name) if !self.header => Err(ReadError::NoHeader(name.clone())),
            TimeColumn::Named(name) => {
                find_column(&self.headers, name).ok_or_else(|| ReadError::NoSuchColumn {
                    name: name.clone(),
                    columns: listed(),
                })
            }
            TimeColumn::Detect if !self.header || self.serial_monitor => Ok(0),
            TimeColumn::Detect => self
                .headers
                .iter()
                .position(|h| is_time_name(h))
                .ok_or_else(|| ReadError::NoTimeColumn { columns: listed() }),
        }
    }
}

/// The first rows as text, each split into its cells.
fn sample_rows(text: &[u8], separator: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text)
        .byte_records()
        .take(SAMPLE_ROWS)
        .map_while(Result::ok)
        .map(|row| {
            row.iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect()
        })
        .collect()
}

/// The most common number of cells in a row.
fn modal_count(rows: &[Vec<String>]) -> Option<usize> {
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for row in rows {
        match counts.iter_mut().find(|(cells, _)| *cells == row.len()) {
            Some((_, seen)) => *seen += 1,
            None => counts.push((row.len(), 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(cells, seen)| (seen, cells))
        .map(|(cells, _)| cells)
}

/// The separator that splits nearly every one of the first rows into the
/// same number (two or more) of cells, the most telling first.
fn detect_separator(text: &[u8], serial_monitor: bool) -> u8 {
    let spaces = [b' '];
    let candidates = SEPARATORS
        .iter()
        .chain(if serial_monitor { &spaces[..] } else { &[] });
    let mut widest = (1, b',');
    for &separator in candidates {
        let rows: Vec<usize> = csv::ReaderBuilder::new()
            .delimiter(separator)
            .has_headers(false)
            .flexible(true)
            .from_reader(text)
            .byte_records()
            .take(SAMPLE_ROWS)
            .map_while(Result::ok)
            .map(|row| row.len())
            .collect();
        let Some(cells) = modal_count_of(&rows) else {
            continue;
        };
        let same = rows.iter().filter(|&&n| n == cells).count();
        if cells >= 2 && same * 10 >= rows.len() * 9 {
            return separator;
        }
        if cells > widest.0 {
            widest = (cells, separator);
        }
    }
    widest.1
}

fn modal_count_of(counts: &[usize]) -> Option<usize> {
    let rows: Vec<Vec<String>> = counts.iter().map(|&n| vec![String::new(); n]).collect();
    modal_count(&rows)
}

/// Whether more cells hold a digit, a comma and a digit than a digit, a
/// point and a digit.
fn decimal_commas(rows: &[Vec<String>]) -> bool {
    let between_digits = |cell: &str, mark: u8| {
        cell.as_bytes()
            .windows(3)
            .any(|w| w[0].is_ascii_digit() && w[1] == mark && w[2].is_ascii_digit())
    };
    let (mut commas, mut points) = (0, 0);
    for cell in rows.iter().flatten() {
        commas += usize::from(between_digits(cell, b','));
        points += usize::from(between_digits(cell, b'.'));
    }
    commas > points
}

/// `name [unit]` or `name (unit)` → (`name`, `unit`); a header without a
/// unit is all name.
pub fn split_header(header: &str) -> (&str, &str) {
    header
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once(" ["))
        .or_else(|| {
            header
                .strip_suffix(')')
                .and_then(|rest| rest.rsplit_once(" ("))
        })
        .unwrap_or((header, ""))
}

/// The channel in column `index` under `header` (`column N`, counted from
/// 1, when it has none).
pub(super) fn channel_named(header: &str, index: usize) -> RecordedChannel {
    let (name, unit) = split_header(header);
    RecordedChannel {
        name: if name.is_empty() {
            format!("column {}", index + 1)
        } else {
            name.to_owned()
        },
        unit: unit.to_owned(),
    }
}

/// The column whose header is `name`, or whose name without the unit is
/// `name`, exactly, then ignoring case.
pub fn find_column(headers: &[String], name: &str) -> Option<usize> {
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
}

/// Names a time column goes by, with a unit suffix or not.
const TIME_NAMES: [&str; 5] = ["time", "t", "__time", "timestamp", "seconds"];

pub(super) fn is_time_name(header: &str) -> bool {
    let name = split_header(header).0.to_ascii_lowercase();
    let bare = ["_s", "_ms", "_us"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(&name);
    TIME_NAMES.contains(&bare) || TIME_NAMES.contains(&name.as_str())
}

/// The unit a time column's header names: `time [ms]`, `time (us)`,
/// `time_ms`; `None` when it names none.
pub(super) fn unit_of_time(header: &str) -> Option<TimeUnit> {
    let (name, unit) = split_header(header);
    if let Some(unit) = TimeUnit::from_symbol(unit) {
        return Some(unit);
    }
    let name = name.to_ascii_lowercase();
    [
        ("_ms", TimeUnit::Milliseconds),
        ("_us", TimeUnit::Microseconds),
        ("_s", TimeUnit::Seconds),
    ]
    .into_iter()
    .find_map(|(suffix, unit)| name.ends_with(suffix).then_some(unit))
}

/// `2024-05-01 12:00:00.125` (or with a `T`, a `Z` or an offset such as
/// `+02:00`) as seconds since 1970-01-01 UTC; a time without an offset is
/// taken as UTC.
pub fn date_time_seconds(text: &str) -> Option<f64> {
    let b = text.trim().as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        b.get(range)?.iter().try_fold(0_i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    if b.len() < 19
        || [b[4], b[7], b[13], b[16]] != [b'-', b'-', b':', b':']
        || !matches!(b[10], b'T' | b' ')
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text.trim()[19..];
    let mut fraction = 0.0;
    if let Some(after) = rest.strip_prefix('.') {
        let end = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        if end == 0 {
            return None;
        }
        fraction = format!("0.{}", &after[..end]).parse().ok()?;
        rest = &after[end..];
    }
    let offset = match rest.as_bytes() {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let number = |a: &u8, b: &u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let minutes = number(h1, h2)? * 60 + number(m1, m2)?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    // Days from 1970-01-01 in the proleptic Gregorian calendar (Howard
    // Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(seconds as f64 + fraction)
}

/// The serial monitor's prefix on a line, `12:34:56.789 -> `: the time of
/// day in milliseconds, and the rest of the line.
fn serial_monitor_line(line: &[u8]) -> Option<(u64, &[u8])> {
    let (stamp, rest) = (line.get(..12)?, line.get(12..)?);
    let rest = rest
        .strip_prefix(b" -> ")
        .or_else(|| rest.strip_prefix(b" ->"))?;
    let digits = |range: std::ops::Range<usize>| {
        stamp[range].iter().try_fold(0_u64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
        })
    };
    if [stamp[2], stamp[5], stamp[8]] != [b':', b':', b'.'] {
        return None;
    }
    let ms = ((digits(0..2)? * 60 + digits(3..5)?) * 60 + digits(6..8)?) * 1000 + digits(9..12)?;
    Some((ms, rest))
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

/// Whether most of the first lines carry the serial monitor's timestamp.
pub(super) fn serial_monitor_timestamps(bytes: &[u8]) -> bool {
    let sample: Vec<&[u8]> = lines(bytes)
        .filter(|l| !l.is_empty())
        .take(SAMPLE_ROWS)
        .collect();
    let stamped = sample
        .iter()
        .filter(|l| serial_monitor_line(l).is_some())
        .count();
    !sample.is_empty() && stamped * 2 > sample.len()
}

/// The log with each line's timestamp turned into a first cell of seconds
/// since the first line's (a midnight passed is counted), separated from
/// the data as the data's cells are. A line without a timestamp is named
/// to `no_timestamp` and left empty, so every line keeps its number.
pub(super) fn timestamps_as_a_column(bytes: &[u8], no_timestamp: &mut dyn FnMut(u64)) -> Vec<u8> {
    let data: Vec<u8> = lines(bytes)
        .filter_map(serial_monitor_line)
        .take(SAMPLE_ROWS)
        .flat_map(|(_, rest)| rest.iter().copied().chain([b'\n']))
        .collect();
    let separator = detect_separator(&data, true);
    let mut out = Vec::with_capacity(bytes.len());
    let (mut first, mut previous, mut days) = (None, 0, 0);
    for (number, line) in lines(bytes).enumerate() {
        if let Some((ms, rest)) = serial_monitor_line(line) {
            if ms + 12 * 3_600_000 < previous {
                days += 1;
            }
            previous = ms;
            let ms = (ms + days * 86_400_000) as i64;
            let since = ms - *first.get_or_insert(ms);
            // Milliseconds are exact in an i64; the seconds printed are the
            // shortest text that reads back as the nearest f64.
            out.extend_from_slice((since as f64 / 1000.0).to_string().as_bytes());
            out.push(separator);
            out.extend_from_slice(rest);
        } else if !line.iter().all(u8::is_ascii_whitespace) {
            no_timestamp(number as u64 + 1);
        }
        out.push(b'\n');
    }
    out
}
