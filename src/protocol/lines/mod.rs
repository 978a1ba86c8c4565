//! Plain text lines as an [`Adapter`]: the Arduino serial-plotter format in
//! every form sketches print it ([`parse`]), and Teleplot's ([`teleplot`]).
//!
//! Contract:
//! - Every line is data, names, text or garbage. Text (a banner, a debug
//!   print, a Teleplot log line) is passed on as [`Event::Text`]. Names are
//!   the header of the data after them when the next line is data of as
//!   many unlabelled fields, and text otherwise. Garbage (control
//!   characters, not UTF-8, over [`parse::MAX_LINE`] bytes) is counted as
//!   a framing error.
//! - A value that is no number (`nan`, `inf`, `ovf`, a word, an empty
//!   field) is a gap, NaN, in its channel only: its line keeps its time
//!   slot and its other values. Values reach the app exactly as printed
//!   ([`SampleBatch::exact`] where an `f32` cannot hold them).
//! - The sketch is described once 3 data rows of one shape have come
//!   ([`shape`]; text lines between them do not matter, gaps neither) and,
//!   timed by the host, their arrivals have given a rate. It is named
//!   "serial-plotter sketch", its channels as [`shape`] says, units from
//!   Teleplot's `§`, roles and parameters as the user declared them. A
//!   probe of other firmware sees no such rows, so it never describes.
//! - Once described, a row that fits the description is plotted. A data
//!   line that does not (another number of fields, other labels) is a gap
//!   in every channel, in its time slot, counted as a framing error,
//!   unless 3 rows of its shape come in a row: the sketch restarted with
//!   other output, and is described again. A Teleplot name not described
//!   that comes in 3 rows describes the sketch again with it.
//! - Teleplot: once a line starting with `>` has been read as telemetry,
//!   every line that does not start with `>` is its log: text.
//! - Samples are timed by the host ([`HostClock`], rows held while it
//!   judges a silence), or by device time: a declared time column, or
//!   Teleplot's timestamps ([`DeviceTime`]).
//! - SET writes the parameter's template and answers with the value as
//!   sent (clamped to the declared limits): a plain sketch echoes nothing.
//!   GET answers with the value last sent (0 clamped to the limits before
//!   any write). ENABLE sends the enable/disable template and answers with
//!   the state as sent; without templates it is unsupported. Answers go
//!   out with the next bytes received, since only `receive` emits events.
//! - STREAM's divider keeps every Nth row (0 keeps none); PING writes
//!   nothing, a sketch has no watchdog to feed.
//! - TEXT (a line typed in the console) goes out as it is, ended by `\n`.

mod describe;
mod device_time;
pub mod parse;
pub mod settings;
pub mod shape;
mod telemetry;
pub mod teleplot;

use std::time::{Duration, Instant};

pub use device_time::{DeviceTime, TimeScale};
pub use settings::{CommandTemplate, LineParam, LineRoles, LinesSettings, TimeColumn, TimeUnit};

use self::parse::{Field, Line, LineSplitter, RawLine, parse_line};
use self::shape::{Candidate, Shape};
use self::teleplot::TeleplotRows;
use super::adapter::{Adapter, AdapterError, AdapterSettings, DecodeTally, Protocol, Unsupported};
use super::host_clock::{HostClock, HostTimed, HostTiming};
use super::{Command, DeviceInfo, Event, SampleBatch, StatusFlags, TextLevel};

/// The name every sketch is described by.
pub const DEVICE_NAME: &str = "serial-plotter sketch";
/// Consecutive rows of one shape that describe (or re-describe) a sketch.
pub const CONSISTENT_LINES: usize = 3;
/// The period a host clock assumes before the lines' arrivals say.
const GUESSED_PERIOD_US: u32 = 10_000;

/// A row read in this receive, on its way to a clock.
#[derive(Debug)]
struct Row {
    /// One value per channel; `None` for a row that only takes its time
    /// slot (before the sketch is described).
    values: Option<Vec<f64>>,
    tick: Option<i64>,
    /// When its last line arrived: a Teleplot row closes only when the
    /// next one starts, maybe a read later.
    arrived: Instant,
}

/// Host side of a plain-text-lines connection.
#[derive(Debug)]
pub struct LinesAdapter {
    settings: LinesSettings,
    splitter: LineSplitter,
    /// Names waiting for the next line, with the line as printed.
    names: Option<(Vec<String>, String)>,
    header: Option<Vec<String>>,
    /// A Teleplot telemetry line has been read: other lines are its log.
    teleplot_mode: bool,
    teleplot: TeleplotRows,
    /// Teleplot's unit per name, as first given.
    units: Vec<(String, String)>,
    /// Teleplot names not described, and in how many rows they came.
    new_names: Vec<(String, usize)>,
    /// Warnings given once.
    warned: Vec<String>,
    /// Lines of text read, for the one line that says why a sketch that
    /// printed only text was never described.
    text_lines: u64,
    candidate: Option<Candidate>,
    shape: Option<Shape>,
    device: Option<DeviceInfo>,
    /// Value last sent per declared parameter.
    values: Vec<f32>,
    host: HostTimed,
    device_time: Option<DeviceTime>,
    rows: Vec<Row>,
    divider: u16,
    lines_to_next_sample: u16,
    /// Answers to commands, emitted with the next bytes received.
    answers: Vec<Event>,
}

impl LinesAdapter {
    /// An adapter whose host clock counts from `origin` (the connection's
    /// opening).
    pub fn new(settings: &AdapterSettings, origin: Instant) -> Self {
        let settings = (*settings.lines).clone();
        let values = settings
            .params
            .iter()
            .map(|p| 0f32.clamp(p.min, p.max))
            .collect();
        Self {
            device_time: settings
                .time_column
                .map(|c| DeviceTime::new(TimeScale::of(c.unit))),
            settings,
            splitter: LineSplitter::default(),
            names: None,
            header: None,
            teleplot_mode: false,
            teleplot: TeleplotRows::default(),
            units: Vec::new(),
            new_names: Vec::new(),
            warned: Vec::new(),
            text_lines: 0,
            candidate: None,
            shape: None,
            device: None,
            values,
            host: HostTimed::new(HostClock::new(origin, GUESSED_PERIOD_US)),
            rows: Vec::new(),
            divider: 1,
            lines_to_next_sample: 0,
            answers: Vec::new(),
        }
    }

    /// The field index of the declared time column, when it is within
    /// `width` (a row needs it and one value more).
    fn time_index(&self, width: usize) -> Option<usize> {
        self.settings
            .time_column
            .map(|c| c.column - 1)
            .filter(|&i| i < width && width >= 2)
    }

    fn handle(
        &mut self,
        line: RawLine<'_>,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        let RawLine::Text(text) = line else {
            self.resolve_names(None, tally, emit);
            tally.framing_errors += 1;
            return;
        };
        if let Some(telemetry) = teleplot::parse(text) {
            self.resolve_names(None, tally, emit);
            self.telemetry(telemetry, now, tally, emit);
            return;
        }
        if self.teleplot_mode {
            self.text(text.to_owned(), TextLevel::Info, tally, emit);
            return;
        }
        match parse_line(text) {
            Line::Empty => {}
            Line::Garbage => {
                self.resolve_names(None, tally, emit);
                tally.framing_errors += 1;
            }
            Line::Text => {
                self.resolve_names(None, tally, emit);
                self.text(text.to_owned(), TextLevel::Info, tally, emit);
            }
            Line::Names(names) => {
                self.resolve_names(None, tally, emit);
                self.names = Some((names, text.to_owned()));
            }
            Line::Data(mut fields) => {
                self.resolve_names(Some(&fields), tally, emit);
                // `1,2,` where 3 fields are expected: the last one is empty,
                // not a separator at the end.
                let expected = self
                    .shape
                    .as_ref()
                    .or(self.candidate.as_ref().map(|c| &c.shape));
                if let Some(Shape::Plotter(labels)) = expected
                    && is_foreign(labels, &fields)
                {
                    // `debug: 100 lines` among labelled data: a message.
                    self.text(text.to_owned(), TextLevel::Info, tally, emit);
                    return;
                }
                if let Some(Shape::Plotter(labels)) = expected
                    && labels.len() == fields.len() + 1
                    && labels.last().is_some_and(Option::is_none)
                    && text.trim_end_matches([' ', '\t']).ends_with(',')
                {
                    fields.push(Field {
                        label: None,
                        value: f64::NAN,
                    });
                }
                self.plotter_row(&fields, now, tally, emit);
            }
        }
    }

    /// Names waiting for this line: the header of `data` when it has as
    /// many fields, none labelled; text otherwise.
    fn resolve_names(
        &mut self,
        data: Option<&[Field]>,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        let Some((names, line)) = self.names.take() else {
            return;
        };
        let header = data.is_some_and(|fields| {
            fields.len() == names.len() && fields.iter().all(|f| f.label.is_none())
        });
        if header {
            tally.ok += 1;
            self.header = Some(names);
        } else {
            self.text(line, TextLevel::Info, tally, emit);
        }
    }

    fn text(
        &mut self,
        message: String,
        level: TextLevel,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        tally.ok += 1;
        self.text_lines += 1;
        emit(Event::Text { level, message });
    }

    fn warn_once(&mut self, message: String, emit: &mut dyn FnMut(Event)) {
        if !self.warned.contains(&message) {
            self.warned.push(message.clone());
            emit(Event::Text {
                level: TextLevel::Warning,
                message,
            });
        }
    }

    fn plotter_row(
        &mut self,
        fields: &[Field],
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        let time = match self.settings.time_column {
            Some(_) => match self.time_index(fields.len()) {
                Some(index) => Some(fields[index].value),
                None => {
                    // The declared time column is missing: no time, no sample.
                    self.candidate = None;
                    tally.framing_errors += 1;
                    return;
                }
            },
            None => None,
        };
        let labels: Vec<Option<String>> = fields.iter().map(|f| f.label.clone()).collect();
        let values: Vec<f64> = fields.iter().map(|f| f.value).collect();
        self.row(
            Shape::Plotter(labels.clone()),
            &labels,
            &values,
            time,
            now,
            tally,
            emit,
        );
    }

    /// A row of `values` labelled `labels` (of a row of `shape`), with
    /// its device time if it has one.
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        shape: Shape,
        labels: &[Option<String>],
        values: &[f64],
        time: Option<f64>,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        // Device time follows every row, described or not, for its stride.
        let tick = match (self.device_time.as_mut(), time) {
            (Some(device_time), Some(time)) => match device_time.place(time) {
                Some(tick) => Some(tick),
                None => {
                    tally.framing_errors += 1;
                    return;
                }
            },
            (Some(_), None) => {
                tally.framing_errors += 1;
                return;
            }
            (None, _) => None,
        };
        if let Some(fitted) = self.fit(labels, values) {
            if self
                .candidate
                .as_ref()
                .is_some_and(|c| c.rows < CONSISTENT_LINES)
            {
                self.candidate = None;
            }
            tally.ok += 1;
            return self.keep(Some(fitted), tick, now);
        }
        let teleplot = matches!(shape, Shape::Teleplot(_));
        Candidate::count(&mut self.candidate, shape);
        if self.ready() {
            self.describe_candidate(emit);
            if let Some(fitted) = self.fit(labels, values) {
                tally.ok += 1;
                return self.keep(Some(fitted), tick, now);
            }
        }
        match &self.shape {
            None => {
                tally.ok += 1;
                self.keep(None, tick, now);
            }
            // A Teleplot row in a plotter stream takes no slot.
            Some(_) if teleplot => tally.framing_errors += 1,
            Some(described) => {
                tally.framing_errors += 1;
                let width = self.channel_count(described);
                self.keep(Some(vec![f64::NAN; width]), tick, now);
            }
        }
    }

    /// `values` as the described channels, if the row fits.
    fn fit(&self, labels: &[Option<String>], values: &[f64]) -> Option<Vec<f64>> {
        let described = self.shape.as_ref()?;
        let mut fitted = described.fit(labels, values)?;
        if let Some(index) = self.time_field(described) {
            fitted.remove(index);
        }
        Some(fitted)
    }

    /// The field of a plotter shape that is the declared time column.
    fn time_field(&self, shape: &Shape) -> Option<usize> {
        match shape {
            Shape::Plotter(_) => self.time_index(shape.width()),
            Shape::Teleplot(_) => None,
        }
    }

    fn channel_count(&self, shape: &Shape) -> usize {
        shape.width() - usize::from(self.time_field(shape).is_some())
    }

    /// Whether the candidate run describes the sketch now.
    fn ready(&self) -> bool {
        self.candidate
            .as_ref()
            .is_some_and(|c| c.rows >= CONSISTENT_LINES)
            && (self.device_time.is_some() || self.host.clock().rate_known())
    }

    /// A row for the clocks, after STREAM's divider.
    fn keep(&mut self, values: Option<Vec<f64>>, tick: Option<i64>, arrived: Instant) {
        let shown = values.is_some() && self.device.is_some();
        if shown {
            if self.divider == 0 {
                return;
            }
            if self.lines_to_next_sample > 0 {
                self.lines_to_next_sample -= 1;
                return;
            }
            self.lines_to_next_sample = self.divider - 1;
        } else if self.device_time.is_some() {
            // Device time needs no slot.
            return;
        }
        self.rows.push(Row {
            values: values.filter(|_| shown),
            tick,
            arrived,
        });
    }

    /// Gives the rows read so far to their clock, each read's rows at
    /// the time they arrived; batches placed go out.
    fn flush(&mut self, emit: &mut dyn FnMut(Event)) {
        let mut rows = std::mem::take(&mut self.rows);
        if self.device_time.is_none()
            && let Some(open) = self.teleplot.open_arrival()
        {
            // A Teleplot row still open came in the last read: that read's
            // rows wait for it, so the clock hears of each read once, with
            // its last line (two points of one arrival would say the lines
            // between them took no time).
            let waiting = rows.iter().rev().take_while(|r| r.arrived == open).count();
            self.rows = rows.split_off(rows.len() - waiting);
        }
        if rows.is_empty() {
            return;
        }
        let mut samples = |batch: SampleBatch| {
            emit(Event::Samples {
                batch,
                lost_before: 0,
            })
        };
        match &self.device_time {
            Some(time) => {
                let shown: Vec<(i64, Vec<f64>)> = rows
                    .into_iter()
                    .filter_map(|row| Some((row.tick?, row.values?)))
                    .collect();
                let width = self.device.as_ref().map_or(0, |d| d.channels.len());
                if width > 0 && !shown.is_empty() {
                    time.batches(&shown, width).into_iter().for_each(samples);
                }
            }
            None => {
                let mut rows = rows.into_iter().peekable();
                while let Some(first) = rows.next() {
                    let arrived = first.arrived;
                    let mut read = vec![first.values];
                    while let Some(row) = rows.next_if(|row| row.arrived == arrived) {
                        read.push(row.values);
                    }
                    self.host.push(read, arrived, &mut samples);
                }
            }
        }
    }
}

/// Whether `fields` are labelled but by none of the labels of a labelled
/// shape: a sketch's message that happens to hold a `word:` and a number
/// (`debug: 100 lines`), not a row of gaps. A row that shares a label with
/// the shape is a misshapen row and keeps its time slot.
fn is_foreign(labels: &[Option<String>], fields: &[Field]) -> bool {
    let mut own = fields.iter().filter_map(|f| f.label.as_ref()).peekable();
    labels.iter().all(Option::is_some)
        && own.peek().is_some()
        && own.all(|label| !labels.contains(&Some(label.clone())))
}

impl Adapter for LinesAdapter {
    fn protocol(&self) -> Protocol {
        Protocol::Lines
    }

    fn expecting(&self) -> String {
        // A sketch that printed text and no data did answer: say what.
        let heard = match self.text_lines {
            0 => String::new(),
            n => format!("; it printed {n} lines of text and no {CONSISTENT_LINES} of numbers"),
        };
        format!(
            "{} ({CONSISTENT_LINES} lines of numbers alike{heard})",
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
        self.flush(emit);
        // The rows just given to the clock may have given it its rate.
        if self.ready() {
            self.describe_candidate(emit);
        }
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
                let before = self.divider;
                if self.device_time.is_none() && before > 0 && divider > 0 && divider != before {
                    // Every Nth row: the clock's rows come N times slower.
                    let period = u64::from(self.host.clock().period_us()) * u64::from(divider)
                        / u64::from(before);
                    let period = period.clamp(1, u64::from(u32::MAX)) as u32;
                    self.host.clock_mut().rate_changed(period);
                }
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

    fn host_timing(&self) -> Option<HostTiming> {
        (self.device.is_some() && self.device_time.is_none()).then(|| self.host.clock().timing())
    }

    fn text_refusal(&self, _line: &str) -> String {
        super::UNSENDABLE_LINE.to_owned()
    }
}

#[cfg(test)]
mod tests;
