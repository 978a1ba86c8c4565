//! Plain text lines, the Arduino serial-plotter format, as an [`Adapter`].
//!
//! Contract:
//! - A line is data, a header of names, or malformed ([`parse`]). Malformed
//!   lines, lines too long, and data lines whose shape (field count and
//!   labels) differs from the described one are counted as framing errors
//!   and skipped: nothing of them is plotted, never a zero.
//! - The device is described once 3 consecutive data lines agree in shape
//!   (and, timed by the host, 300 ms have passed to estimate the rate):
//!   name "serial-plotter sketch", channels named by their labels, else a
//!   header line of the same width, else `ch1..chN`; roles and parameters
//!   as the user declared them. A probe of other firmware sees no such
//!   run of lines, so it never describes.
//! - A new shape held for 3 consecutive lines is the sketch restarted with
//!   other output on purpose: a new description follows (the lines of
//!   the new shape before it were counted as errors). One stray line of
//!   another shape is noise.
//! - Samples are timed by [`HostClock`] or by a declared time column (see
//!   [`DeviceTime`]).
//! - SET writes the parameter's template and answers with the value as
//!   sent (clamped to the declared limits): a plain sketch echoes nothing.
//!   GET answers with the value last sent (0 clamped to the limits before
//!   any write). ENABLE sends the enable/disable template and answers with
//!   the state as sent; without templates it is unsupported. Answers go
//!   out with the next bytes received, since only `receive` emits events.
//! - STREAM's divider keeps every Nth line (0 keeps none); PING writes
//!   nothing, a sketch has no watchdog to feed.
//! - TEXT (a line typed in the console) goes out as it is, ended by `\n`.

pub mod parse;
pub mod settings;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use settings::{CommandTemplate, LineParam, LineRoles, LinesSettings, TimeColumn, TimeUnit};

use self::parse::{Field, Line, LineSplitter, RawLine, parse_line};
use super::adapter::{Adapter, AdapterError, AdapterSettings, DecodeTally, Protocol, Unsupported};
use super::host_clock::{HOST_TICK_HZ, HostClock};
use super::{
    ChannelInfo, ChannelRole, Command, DeviceInfo, Event, ParamInfo, ParamKind, SampleBatch,
    StatusFlags,
};

/// The name every sketch is described by.
pub const DEVICE_NAME: &str = "serial-plotter sketch";
/// Consecutive lines of one shape that describe (or re-describe) a sketch.
pub const CONSISTENT_LINES: usize = 3;
/// How long host-timed lines are watched before describing, to estimate
/// their rate.
const RATE_WINDOW: Duration = Duration::from_millis(300);
/// Differences kept for the median stride of device-timed lines.
const STRIDE_WINDOW: usize = 15;

/// Field count and labels: what makes two data lines the same kind.
#[derive(Clone, Debug, PartialEq)]
struct Shape {
    labels: Vec<Option<String>>,
}

impl Shape {
    fn of(fields: &[Field]) -> Self {
        Self {
            labels: fields.iter().map(|f| f.label.clone()).collect(),
        }
    }
}

/// A run of lines of one shape, not yet described.
#[derive(Debug)]
struct Candidate {
    shape: Shape,
    lines: usize,
    first_arrival: Instant,
    later_lines: usize,
}

/// Device time from a column of the line.
///
/// Ticks are the column's value in µs (`us`, `s`) or ms (`ms`). A `u32`
/// counter (`micros()`, `millis()`) that steps back by more than half its
/// range has wrapped: 2³² is added from then on, so time runs on. Any
/// other step back, or a repeat, is a break (the sketch restarted): the
/// line continues one stride after the last sample, keeping the plot's
/// time increasing. The stride of a batch is the median of the last
/// differences; lines that do not fall on it start a new batch at their
/// own tick, so no sample is moved.
#[derive(Debug)]
pub struct DeviceTime {
    unit: TimeUnit,
    wrap_offset: i64,
    rebase: i64,
    last_raw: Option<i64>,
    last_tick: Option<i64>,
    differences: VecDeque<i64>,
}

impl DeviceTime {
    fn new(unit: TimeUnit) -> Self {
        Self {
            unit,
            wrap_offset: 0,
            rebase: 0,
            last_raw: None,
            last_tick: None,
            differences: VecDeque::new(),
        }
    }

    /// The median difference between consecutive lines, in ticks.
    fn stride(&self) -> Option<i64> {
        let mut sorted: Vec<i64> = self.differences.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }

    /// The tick of a line whose time column reads `value`; `None` when
    /// the value is no time (outside ±2⁵³ ticks).
    fn place(&mut self, value: f64) -> Option<i64> {
        let ticks = (value * self.unit.ticks_per_unit()).round();
        if ticks.abs() > 9.0e15 {
            return None;
        }
        let raw = ticks as i64;
        if let (Some(last_raw), Some(wrap)) = (self.last_raw, self.unit.wrap_ticks())
            && raw < last_raw
            && last_raw - raw > wrap / 2
        {
            self.wrap_offset += wrap;
        }
        self.last_raw = Some(raw);
        let mut tick = raw + self.wrap_offset + self.rebase;
        if let Some(last) = self.last_tick {
            if tick <= last {
                let stride = self.stride().unwrap_or(1).max(1);
                self.rebase += last + stride - tick;
                tick = last + stride;
            } else {
                if self.differences.len() == STRIDE_WINDOW {
                    self.differences.pop_front();
                }
                self.differences.push_back(tick - last);
            }
        }
        self.last_tick = Some(tick);
        Some(tick)
    }
}

/// Rows waiting to become sample batches.
#[derive(Debug, Default)]
struct Rows {
    ticks: Vec<Option<i64>>,
    values: Vec<f32>,
}

/// Host side of a plain-text-lines connection.
#[derive(Debug)]
pub struct LinesAdapter {
    settings: LinesSettings,
    splitter: LineSplitter,
    header: Option<Vec<String>>,
    /// The shape being watched: how many lines of it in a row, when the
    /// first arrived, and how many arrived later than it (lines already
    /// waiting in the port's buffer arrive at once and say nothing about
    /// the rate).
    candidate: Option<Candidate>,
    shape: Option<Shape>,
    device: Option<DeviceInfo>,
    /// Value last sent per declared parameter.
    values: Vec<f32>,
    host_clock: HostClock,
    device_time: Option<DeviceTime>,
    divider: u16,
    lines_to_next_sample: u16,
    /// Answers to commands, emitted with the next bytes received.
    answers: Vec<Event>,
    rows: Rows,
}

impl LinesAdapter {
    pub fn new(settings: &AdapterSettings, now: Instant) -> Self {
        let settings = (*settings.lines).clone();
        let values = settings
            .params
            .iter()
            .map(|p| 0f32.clamp(p.min, p.max))
            .collect();
        Self {
            device_time: settings.time_column.map(|c| DeviceTime::new(c.unit)),
            settings,
            splitter: LineSplitter::default(),
            header: None,
            candidate: None,
            shape: None,
            device: None,
            values,
            host_clock: HostClock::new(now, 10_000),
            divider: 1,
            lines_to_next_sample: 0,
            answers: Vec::new(),
            rows: Rows::default(),
        }
    }

    /// The field index of the time column, when it is within `width`.
    fn time_index(&self, width: usize) -> Option<usize> {
        self.settings
            .time_column
            .map(|c| c.column - 1)
            .filter(|&i| i < width)
    }

    fn handle(
        &mut self,
        line: RawLine<'_>,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        let text = match line {
            RawLine::Text(text) => text,
            RawLine::Binary | RawLine::TooLong => {
                self.candidate = None;
                tally.framing_errors += 1;
                return;
            }
        };
        let fields = match parse_line(text) {
            Line::Empty => return,
            Line::Malformed => {
                self.candidate = None;
                tally.framing_errors += 1;
                return;
            }
            Line::Header(names) => {
                tally.ok += 1;
                if self.device.is_none() {
                    self.header = Some(names);
                }
                return;
            }
            Line::Data(fields) => fields,
        };
        let shape = Shape::of(&fields);
        let width = fields.len();
        let needs_time = self
            .settings
            .time_column
            .is_some_and(|c| c.column > width || width < 2);
        if needs_time {
            // The declared time column is missing: no time, no sample.
            self.candidate = None;
            tally.framing_errors += 1;
            return;
        }
        if self.shape.as_ref() != Some(&shape) {
            let run = match self.candidate.take() {
                Some(mut run) if run.shape == shape => {
                    run.lines += 1;
                    if now > run.first_arrival {
                        run.later_lines += 1;
                    }
                    run
                }
                _ => Candidate {
                    shape,
                    lines: 1,
                    first_arrival: now,
                    later_lines: 0,
                },
            };
            let ready = run.lines >= CONSISTENT_LINES
                && (self.settings.time_column.is_some()
                    || now.duration_since(run.first_arrival) >= RATE_WINDOW);
            if !ready {
                if self.device.is_some() {
                    tally.framing_errors += 1;
                } else {
                    tally.ok += 1;
                }
                // Device time must follow the run to give its rate.
                if let (Some(index), Some(time)) =
                    (self.time_index(width), self.device_time.as_mut())
                {
                    time.place(fields[index].value);
                }
                self.candidate = Some(run);
                return;
            }
            self.flush(now, emit);
            let span = now.duration_since(run.first_arrival);
            self.describe(&run.shape, run.later_lines, span, now, emit);
            self.shape = Some(run.shape);
        }
        self.candidate = None;
        tally.ok += 1;
        self.add_row(&fields);
    }

    fn add_row(&mut self, fields: &[Field]) {
        let time_index = self.time_index(fields.len());
        let tick = match (time_index, self.device_time.as_mut()) {
            (Some(index), Some(time)) => match time.place(fields[index].value) {
                Some(tick) => Some(tick),
                None => return,
            },
            _ => None,
        };
        if self.divider == 0 {
            return;
        }
        if self.lines_to_next_sample > 0 {
            self.lines_to_next_sample -= 1;
            return;
        }
        self.lines_to_next_sample = self.divider - 1;
        self.rows.ticks.push(tick);
        self.rows.values.extend(
            fields
                .iter()
                .enumerate()
                .filter(|&(i, _)| Some(i) != time_index)
                .map(|(_, f)| f.value as f32),
        );
    }

    /// Describes the sketch; `lines_in_span` lines arrived over `span`
    /// after the first of the run.
    fn describe(
        &mut self,
        shape: &Shape,
        lines_in_span: usize,
        span: Duration,
        now: Instant,
        emit: &mut dyn FnMut(Event),
    ) {
        let width = shape.labels.len();
        let time_index = self.time_index(width);
        let header = self.header.take().filter(|names| names.len() == width);
        let names: Vec<String> = (0..width)
            .filter(|&i| Some(i) != time_index)
            .enumerate()
            .map(|(channel, field)| {
                shape.labels[field]
                    .clone()
                    .or_else(|| header.as_ref().map(|h| h[field].clone()))
                    .unwrap_or_else(|| format!("ch{}", channel + 1))
            })
            .collect();
        let role_of = |index: usize, name: &str| {
            let roles = &self.settings.roles;
            let is = |choice: &Option<String>| {
                choice
                    .as_deref()
                    .is_some_and(|c| c == name || c.parse::<usize>().is_ok_and(|n| n == index + 1))
            };
            if is(&roles.reference) {
                ChannelRole::Reference
            } else if is(&roles.feedback) {
                ChannelRole::Feedback
            } else if is(&roles.effort) {
                ChannelRole::Effort
            } else {
                ChannelRole::Other
            }
        };
        let channels = names
            .iter()
            .enumerate()
            .map(|(index, name)| ChannelInfo {
                name: name.clone(),
                unit: String::new(),
                role: role_of(index, name),
            })
            .collect();
        let loop_hz = match (&self.device_time, self.settings.time_column) {
            (Some(time), Some(column)) => time
                .stride()
                .filter(|&s| s > 0)
                .map_or(1.0, |s| column.unit.tick_hz() / s as f64),
            _ => lines_in_span as f64 / span.as_secs_f64().max(1e-3),
        };
        let params = self
            .settings
            .params
            .iter()
            .zip(&self.values)
            .map(|(p, &value)| ParamInfo {
                name: p.name.clone(),
                unit: p.unit.clone(),
                flags: p.flags,
                min: p.min,
                max: p.max,
                value,
                kind: ParamKind::from_wire(p.flags.0, Vec::new()),
            })
            .collect();
        let info = DeviceInfo {
            name: DEVICE_NAME.into(),
            firmware: "plain text lines".into(),
            protocol_version: 1,
            loop_hz: loop_hz.round().clamp(1.0, f64::from(u32::MAX)) as u32,
            watchdog_ms: 0,
            channels,
            params,
        };
        self.host_clock = HostClock::new(now, (1e6 / f64::from(info.loop_hz)) as u32);
        self.device = Some(info.clone());
        emit(Event::Described(info));
    }

    /// Turns the rows read so far into sample batches.
    fn flush(&mut self, now: Instant, emit: &mut dyn FnMut(Event)) {
        let rows = std::mem::take(&mut self.rows);
        let count = rows.ticks.len();
        let Some(device) = &self.device else { return };
        let channel_count = device.channels.len();
        if count == 0 || channel_count == 0 {
            return;
        }
        let Some(column) = self.settings.time_column else {
            let placed = self.host_clock.place(count, now);
            emit(Event::Samples {
                batch: SampleBatch {
                    first_tick: placed.first_tick,
                    stride: placed.stride,
                    tick_hz: HOST_TICK_HZ,
                    channel_count,
                    values: rows.values,
                },
                lost_before: 0,
            });
            return;
        };
        let fallback = self
            .device_time
            .as_ref()
            .and_then(DeviceTime::stride)
            .unwrap_or(1);
        let mut start = 0;
        while start < count {
            let Some(first) = rows.ticks[start] else {
                start += 1;
                continue;
            };
            let stride = rows
                .ticks
                .get(start + 1)
                .copied()
                .flatten()
                .map(|next| next - first)
                .filter(|&d| d > 0 && d <= i64::from(u32::MAX))
                .unwrap_or(fallback.clamp(1, i64::from(u32::MAX)));
            let mut end = start + 1;
            while end < count && rows.ticks[end] == Some(first + (end - start) as i64 * stride) {
                end += 1;
            }
            emit(Event::Samples {
                batch: SampleBatch {
                    first_tick: first,
                    stride: stride as u32,
                    tick_hz: column.unit.tick_hz(),
                    channel_count,
                    values: rows.values[start * channel_count..end * channel_count].to_vec(),
                },
                lost_before: 0,
            });
            start = end;
        }
    }
}

impl Adapter for LinesAdapter {
    fn protocol(&self) -> Protocol {
        Protocol::Lines
    }

    fn expecting(&self) -> String {
        format!(
            "{} ({CONSISTENT_LINES} lines of numbers alike)",
            Protocol::Lines.title()
        )
    }

    fn describe_timeout(&self, usual: Duration) -> Duration {
        // A slow sketch printing once a second still gets its 3 lines.
        usual + Duration::from_secs(3)
    }

    fn poll(&mut self, _now: Instant, _out: &mut Vec<u8>) {}

    fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        for answer in self.answers.drain(..) {
            emit(answer);
        }
        let mut splitter = std::mem::take(&mut self.splitter);
        splitter.push(bytes, |line| self.handle(line, now, tally, emit));
        self.splitter = splitter;
        self.flush(now, emit);
        Ok(())
    }

    fn encode(
        &mut self,
        command: &Command,
        _now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Unsupported> {
        match *command {
            Command::Hello | Command::Ping { .. } => Ok(()),
            Command::Stream { divider } => {
                self.divider = divider;
                self.lines_to_next_sample = 0;
                Ok(())
            }
            Command::Get { index } => {
                let value = *self.values.get(usize::from(index)).ok_or(Unsupported)?;
                self.answers.push(Event::Value { index, value });
                Ok(())
            }
            Command::Set { index, value } => {
                let param = self
                    .settings
                    .params
                    .get(usize::from(index))
                    .ok_or(Unsupported)?;
                if !value.is_finite() {
                    return Err(Unsupported);
                }
                let value = value.clamp(param.min, param.max);
                param.template.render(Some(value), out);
                self.values[usize::from(index)] = value;
                self.answers.push(Event::Value { index, value });
                Ok(())
            }
            Command::Enable(on) => {
                let template = if on {
                    &self.settings.enable
                } else {
                    &self.settings.disable
                };
                template.as_ref().ok_or(Unsupported)?.render(None, out);
                let flags = if on { StatusFlags::ENABLED } else { 0 };
                self.answers.push(Event::Status {
                    flags: StatusFlags(flags),
                    tick: 0,
                });
                Ok(())
            }
            Command::Save => Err(Unsupported),
            // The console's hook: a typed line goes out as it is, with the
            // line end a sketch's `readStringUntil('\n')` waits for.
            Command::Text(ref line) => {
                if !super::is_sendable_line(line) {
                    return Err(Unsupported);
                }
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
                Ok(())
            }
        }
    }

    fn device(&self) -> Option<&DeviceInfo> {
        self.device.as_ref()
    }

    fn text_refusal(&self, _line: &str) -> String {
        super::UNSENDABLE_LINE.to_owned()
    }
}

#[cfg(test)]
mod tests;
