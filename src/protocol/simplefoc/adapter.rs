//! SimpleFOC's Commander as an [`Adapter`]: the session with the sketch
//! from its boot text to the port closing.
//!
//! 1. Wait: nothing is sent while the sketch is in `setup()` (its text is
//!    passed on as it comes; [`BootWatch`]).
//! 2. Probe ([`handshake`]), with the Commander's own commands only,
//!    which no handler sees: `@` (the verbosity in force), `@3`, then
//!    `?` and `#` (the handlers with their labels, the decimals). The
//!    motor is the handler under the letter asked for, or the one handler
//!    labelled a motor. Then `{L}C`, a read for both handlers the library
//!    has for a motor: `Commander::motor` answers `{L}C<motion>`,
//!    `Commander::motion` (which takes anything but `C`, `T` and `E` for a
//!    target, Commander.cpp:503-505) answers `{L}<motion>` and is refused.
//!    Then `#12`, so that every value reads exactly.
//! 3. Describe: the torque type, the enable state and every parameter.
//! 4. Serve: reads, writes (each answered with the value in force, after
//!    the values the firmware moved with it are read again), enable,
//!    monitoring ([`streaming`]), the enable state polled every second.
//! 5. Close: what was changed is put back ([`SketchMonitor`],
//!    [`CommanderSettings`]); the output is the link's.

mod handshake;
mod streaming;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::SimpleFocSettings;
use super::describe::{Answers, device_info};
use super::monitor::SketchMonitor;
use super::params::{MOTION_INDEX, MotorParam, TARGET_INDEX, ValueKind, motor_params};
use super::requests::{Expect, Reply, ReplyKind, Request, Requests};
use super::session::{BootWatch, CommanderSettings, is_library_text};
use super::stream::{MonitorLine, MonitorReader};
use super::wire::{Line, classify, command, echo};
use crate::protocol::adapter::{Adapter, AdapterError, DecodeTally, Protocol, Unsupported};
use crate::protocol::{Command, DeviceErrorCode, DeviceInfo, Event, StatusFlags, TextLevel};
use streaming::Streaming;

/// A line longer than this without a newline is garbage.
const MAX_LINE_BYTES: usize = 512;
/// How often the enable state is read while nothing else is asked.
const STATUS_POLL: Duration = Duration::from_secs(1);
/// The least time a connection allows the sketch to be found in: a board
/// that resets when the port opens, and prints nothing while it boots.
const LEAST_DESCRIBE_TIME: Duration = Duration::from_secs(5);

/// What a request on the wire is for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Purpose {
    ReadVerbosity,
    SetVerbosity,
    Scan,
    Verify,
    SetDecimals,
    ReadTorque,
    ReadEnabled,
    Describe(u8),
    Get(u8),
    Set {
        index: u8,
        value: f32,
    },
    /// A value the firmware may have moved with the write in progress.
    Reread(u8),
    Enable(bool),
    PollEnabled,
    MonitorSet,
    MonitorRate,
    FoundRate,
    FoundSelection,
}

/// Where the session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Waiting for the sketch's setup text to end; not before `retry`.
    Waiting {
        retry: Option<Instant>,
    },
    /// The Commander's own commands, before a reply proved the Commander.
    Probing,
    /// The Commander answered: finding the motor, reading it.
    Describing,
    Ready,
    /// Not a motiontune-usable motor; the message says why.
    Failed,
}

/// A write whose answer waits for the values it moved.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PendingWrite {
    index: u8,
    value: f32,
    rereads_left: usize,
}

/// Host side of a SimpleFOC Commander connection.
#[derive(Debug)]
pub struct SimpleFocAdapter {
    settings: SimpleFocSettings,
    /// The motor's letter: the one asked for, or the one `?` showed.
    letter: char,
    params: Vec<MotorParam>,
    values: Vec<Option<f32>>,
    motion: u8,
    torque: u8,
    enabled: Option<bool>,
    stage: Stage,
    boot: BootWatch,
    requests: Requests<Purpose>,
    commander: CommanderSettings,
    /// The handlers `?` listed: letter and label.
    handlers: Vec<(char, String)>,
    /// Description reads still unanswered.
    describe_left: usize,
    device: Option<DeviceInfo>,
    announced: bool,
    pending_events: VecDeque<Event>,
    failure: Option<String>,
    failure_reported: bool,
    /// Lines to write at the next poll (what a failed probe changed).
    restore_due: String,
    line: Vec<u8>,
    /// Bytes of an overlong line are being skipped up to its newline.
    skipping: bool,
    monitor: MonitorReader,
    streaming: Streaming,
    found_monitor: SketchMonitor,
    write: Option<PendingWrite>,
    /// When the device last showed it is a SimpleFOC sketch on its way.
    progress: Option<Instant>,
    next_status_poll: Option<Instant>,
}

impl SimpleFocAdapter {
    pub fn new(settings: &crate::protocol::adapter::AdapterSettings, now: Instant) -> Self {
        let settings = settings.simplefoc.sanitized();
        let params = motor_params();
        Self {
            letter: settings.letter,
            values: vec![None; params.len()],
            params,
            motion: 2,
            torque: 0,
            enabled: None,
            stage: Stage::Waiting { retry: None },
            boot: BootWatch::new(now),
            requests: Requests::default(),
            commander: CommanderSettings::default(),
            handlers: Vec::new(),
            describe_left: 0,
            device: None,
            announced: false,
            pending_events: VecDeque::new(),
            failure: None,
            failure_reported: false,
            restore_due: String::new(),
            line: Vec::new(),
            skipping: false,
            monitor: MonitorReader::default(),
            streaming: Streaming::new(&settings),
            found_monitor: SketchMonitor::default(),
            write: None,
            progress: None,
            next_status_poll: None,
            settings,
        }
    }

    /// A request for the value of parameter `index`.
    fn read_request(&self, index: u8, purpose: Purpose) -> Request<Purpose> {
        let param = self.params[usize::from(index)];
        let letters = param.read_letters();
        // Reads carry no value, so they always fit.
        let wire = command(self.letter, letters, None).unwrap_or_default();
        Request::new(
            purpose,
            wire,
            Expect::Value {
                echo: echo(self.letter, letters),
                kind: reply_kind(param.kind),
            },
        )
    }

    /// A request of the motor's command `letters` (a read), answered with
    /// a value of `kind`.
    fn motor_request(&self, purpose: Purpose, letters: &str, kind: ReplyKind) -> Request<Purpose> {
        Request::new(
            purpose,
            format!("{}{letters}\n", self.letter),
            Expect::Value {
                echo: echo(self.letter, letters),
                kind,
            },
        )
    }

    fn emit_later(&mut self, event: Event) {
        self.pending_events.push_back(event);
    }

    fn text(&mut self, level: TextLevel, message: String) {
        self.emit_later(Event::Text { level, message });
    }

    /// Gives up on the device: says why, and puts back what was changed.
    fn fail(&mut self, message: String) {
        self.stage = Stage::Failed;
        self.requests.clear();
        self.restore_due += &self.commander.take_restore();
        self.failure = Some(message);
    }

    /// Records the value of parameter `index` in force.
    fn update_value(&mut self, index: u8, value: f32) {
        self.values[usize::from(index)] = Some(value);
        if index == MOTION_INDEX && value.fract() == 0.0 && (0.0..7.0).contains(&value) {
            self.motion = value as u8;
        }
        if let Some(param) = self
            .device
            .as_mut()
            .and_then(|d| d.params.get_mut(usize::from(index)))
        {
            param.value = value;
        }
    }

    /// The description from the values read; `None` until complete.
    fn build_description(&self) -> DeviceInfo {
        let values: Vec<f32> = self.values.iter().map(|v| v.unwrap_or(f32::NAN)).collect();
        device_info(
            &self.settings,
            &Answers {
                letter: self.letter,
                params: &self.params,
                values: &values,
                motion: self.motion,
                torque: self.torque,
                stream_hz: self.streaming.plan().stream_hz(),
            },
        )
    }

    /// One description read answered (or given up).
    fn described_one(&mut self) {
        self.describe_left = self.describe_left.saturating_sub(1);
        if self.describe_left > 0 || self.stage != Stage::Describing {
            return;
        }
        self.device = Some(self.build_description());
        self.stage = Stage::Ready;
        if let Some(on) = self.enabled {
            self.emit_later(status(on));
        }
    }

    /// The description again after the modes changed what things mean.
    fn redescribe(&mut self) {
        let Some(old) = &self.device else {
            return;
        };
        let new = self.build_description();
        if new.channels != old.channels
            || new.firmware != old.firmware
            || new
                .params
                .iter()
                .zip(&old.params)
                .any(|(a, b)| a.unit != b.unit)
        {
            self.device = Some(new.clone());
            self.emit_later(Event::Described(new));
        }
    }

    /// A reply to the request on the wire.
    fn on_reply(&mut self, purpose: Purpose, reply: Reply, now: Instant) {
        self.progress = Some(now);
        match purpose {
            Purpose::ReadVerbosity
            | Purpose::SetVerbosity
            | Purpose::Scan
            | Purpose::Verify
            | Purpose::SetDecimals => self.on_handshake_reply(purpose, reply),
            Purpose::ReadTorque => {
                if let Reply::Code(code) = reply {
                    self.torque = code;
                }
                self.described_one();
            }
            Purpose::ReadEnabled => {
                if let Reply::Number(p) = reply {
                    self.enabled = Some(p.value != 0.0);
                }
                self.described_one();
            }
            Purpose::Describe(index) => {
                let value = reply_value(&reply).unwrap_or(f32::NAN);
                self.update_value(index, value);
                self.described_one();
            }
            Purpose::Get(index) => match reply_value(&reply) {
                Some(value) => {
                    self.update_value(index, value);
                    self.emit_later(Event::Value { index, value });
                }
                None => self.emit_later(refusal(purpose)),
            },
            Purpose::Set { index, value } => self.on_write_answered(index, value, &reply),
            Purpose::Reread(index) => {
                if let Some(value) = reply_value(&reply) {
                    self.update_value(index, value);
                    self.emit_later(Event::Value { index, value });
                }
                self.reread_done();
            }
            Purpose::Enable(_) | Purpose::PollEnabled => {
                if let Reply::Number(p) = reply {
                    let on = p.value != 0.0;
                    let changed = self.enabled != Some(on);
                    self.enabled = Some(on);
                    if changed || matches!(purpose, Purpose::Enable(_)) {
                        self.emit_later(status(on));
                    }
                } else if let Purpose::Enable(_) = purpose {
                    self.emit_later(refusal(purpose));
                }
            }
            Purpose::MonitorSet
            | Purpose::MonitorRate
            | Purpose::FoundRate
            | Purpose::FoundSelection => self.on_monitor_reply(purpose, &reply, now),
        }
    }

    /// The echo of a write: the value in force is the one written when the
    /// echo prints it (to within half its last digit), else the echo's.
    fn on_write_answered(&mut self, index: u8, requested: f32, reply: &Reply) {
        let value = match reply {
            Reply::Number(printed) if printed.agrees_with(requested) => requested,
            Reply::Number(printed) => printed.value,
            Reply::Code(code) => f32::from(*code),
            _ => {
                self.emit_later(refusal(Purpose::Set {
                    index,
                    value: requested,
                }));
                return;
            }
        };
        self.update_value(index, value);
        let moved: Vec<u8> = super::params::moved_by(self.params[usize::from(index)].name)
            .iter()
            .filter_map(|name| self.params.iter().position(|p| p.name == *name))
            .map(|at| at as u8)
            .collect();
        let rereads: Vec<Request<Purpose>> = moved
            .iter()
            .map(|&at| self.read_request(at, Purpose::Reread(at)))
            .collect();
        self.write = Some(PendingWrite {
            index,
            value,
            rereads_left: rereads.len(),
        });
        if rereads.is_empty() {
            self.reread_done();
        } else {
            self.requests.push_next(rereads);
        }
    }

    /// One value moved by a write read again; the write is answered after
    /// the last, so whoever waits for it finds the others current.
    fn reread_done(&mut self) {
        let Some(write) = &mut self.write else {
            return;
        };
        write.rereads_left = write.rereads_left.saturating_sub(1);
        if write.rereads_left > 0 {
            return;
        }
        let PendingWrite { index, value, .. } = *write;
        self.write = None;
        self.redescribe();
        self.emit_later(Event::Value { index, value });
    }

    /// A request whose reply never came.
    fn unanswered(&mut self, request: Request<Purpose>, now: Instant) {
        match request.purpose {
            Purpose::ReadVerbosity
            | Purpose::SetVerbosity
            | Purpose::Scan
            | Purpose::Verify
            | Purpose::SetDecimals => self.on_handshake_silence(request.purpose, now),
            Purpose::ReadTorque | Purpose::ReadEnabled => self.described_one(),
            Purpose::Describe(index) => {
                // A parameter this firmware does not answer: described
                // anyway, read-only, so the indices stay the same.
                self.values[usize::from(index)] = Some(f32::NAN);
                self.described_one();
            }
            Purpose::Reread(_) => self.reread_done(),
            Purpose::PollEnabled => {}
            Purpose::MonitorSet
            | Purpose::MonitorRate
            | Purpose::FoundRate
            | Purpose::FoundSelection => self.text(
                TextLevel::Warning,
                format!("no reply to {}", request.wire.trim_end()),
            ),
            Purpose::Get(_) | Purpose::Set { .. } | Purpose::Enable(_) => {
                self.emit_later(refusal(request.purpose));
            }
        }
    }

    /// Gives the description to the app once it is complete, and what is
    /// owed after it.
    fn flush(&mut self, emit: &mut dyn FnMut(Event)) {
        if !self.announced {
            let Some(info) = &self.device else {
                // Text heard while booting is passed on as it comes.
                self.pending_events.retain(|event| {
                    let keep = !matches!(event, Event::Text { .. });
                    if !keep {
                        emit(event.clone());
                    }
                    keep
                });
                return;
            };
            self.announced = true;
            emit(Event::Described(info.clone()));
        }
        while let Some(event) = self.pending_events.pop_front() {
            emit(event);
        }
    }

    /// One whole line from the device.
    fn on_line(
        &mut self,
        text: &str,
        bytes: usize,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        if let Some(request) = self.requests.in_flight()
            && let Some(reply) = request.expect.read(text)
        {
            tally.ok += 1;
            self.streaming.flush_rows(now, emit);
            let purpose = request.purpose;
            // A scan goes on to its `#` line.
            if !matches!(reply, Reply::Handler(..)) {
                self.requests.answered();
                self.requests.promote_sent(now);
            }
            self.on_reply(purpose, reply, now);
            return;
        }
        match self.monitor.read(text) {
            MonitorLine::Sample(values) => {
                tally.ok += 1;
                let described = self.device.is_some();
                self.streaming
                    .sample(&values, bytes, described, now, tally, emit);
            }
            MonitorLine::Learning => {
                tally.ok += 1;
                self.streaming.heard_monitor();
            }
            MonitorLine::Bad => {
                tally.ok += 1;
                tally.message_errors += 1;
                self.streaming.heard_monitor();
            }
            MonitorLine::NotMonitor => {
                self.streaming.flush_rows(now, emit);
                self.on_text(text, now, tally);
            }
        }
    }

    /// A line of text that answers nothing: a message of the sketch.
    fn on_text(&mut self, text: &str, now: Instant, tally: &mut DecodeTally) {
        let library = is_library_text(text);
        // Text before the description says nothing of the protocol, except
        // what only SimpleFOC prints.
        if library || self.device.is_some() {
            tally.ok += 1;
        }
        if library && self.device.is_none() {
            self.progress = Some(now);
        }
        self.late_verbosity(text);
        if matches!(self.stage, Stage::Waiting { .. } | Stage::Probing) {
            self.boot.hear_line(text, now);
            if self.stage == Stage::Probing && self.boot.in_setup() {
                // The library's setup is running (a board reset by the
                // port opening): the probe may be lost; it goes again once
                // the setup ends.
                self.requests.clear();
                self.stage = Stage::Waiting { retry: None };
            }
        }
        if !text.is_empty() {
            self.text(TextLevel::Info, text.to_owned());
        }
    }
}

/// How a parameter's reply is read.
fn reply_kind(kind: ValueKind) -> ReplyKind {
    match kind {
        ValueKind::Number => ReplyKind::Number,
        ValueKind::Motion => ReplyKind::Motion,
    }
}

/// The value a reply gives a parameter.
fn reply_value(reply: &Reply) -> Option<f32> {
    match reply {
        Reply::Number(printed) => Some(printed.value),
        Reply::Code(code) => Some(f32::from(*code)),
        _ => None,
    }
}

fn status(enabled: bool) -> Event {
    Event::Status {
        flags: StatusFlags(if enabled { StatusFlags::ENABLED } else { 0 }),
        tick: 0,
    }
}

fn refusal(purpose: Purpose) -> Event {
    let request = match purpose {
        Purpose::Get(index) => Command::Get { index },
        Purpose::Set { index, value } => Command::Set { index, value },
        Purpose::Enable(on) => Command::Enable(on),
        _ => Command::Hello,
    };
    Event::Refused {
        request: request.type_code(),
        code: DeviceErrorCode::Unsupported,
    }
}

impl Adapter for SimpleFocAdapter {
    fn protocol(&self) -> Protocol {
        Protocol::SimpleFoc
    }

    fn expecting(&self) -> String {
        if let Some(failure) = &self.failure {
            return failure.clone();
        }
        if self.boot.in_setup() {
            return "SimpleFOC Commander (the sketch printed its setup text and never finished: \
                    is it stuck in initFOC()?)"
                .to_owned();
        }
        format!(
            "SimpleFOC Commander (no reply to @ or @3: does loop() call command.run()? motor \
             expected under '{}')",
            self.settings.letter
        )
    }

    fn describe_timeout(&self, usual: Duration) -> Duration {
        usual.max(LEAST_DESCRIBE_TIME)
    }

    fn progress(&self) -> Option<Instant> {
        if self.stage == Stage::Failed {
            return None;
        }
        self.progress
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<u8>) {
        out.extend_from_slice(std::mem::take(&mut self.restore_due).as_bytes());
        self.handshake_poll(now);
        if self.stage == Stage::Ready {
            self.streaming_poll(now);
            let due = *self.next_status_poll.get_or_insert(now + STATUS_POLL);
            if now >= due && self.requests.is_idle() {
                self.next_status_poll = Some(now + STATUS_POLL);
                let poll = self.motor_request(Purpose::PollEnabled, "E", ReplyKind::Number);
                self.requests.push(poll.tries(1));
            }
        }
        if let Some(given_up) = self.requests.send_next(now, out) {
            self.unanswered(given_up, now);
            self.requests.send_next(now, out);
        }
    }

    fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        self.flush(emit);
        for &byte in bytes {
            if byte != b'\n' {
                if self.skipping {
                    continue;
                }
                if self.line.len() >= MAX_LINE_BYTES {
                    self.line.clear();
                    self.skipping = true;
                    tally.framing_errors += 1;
                    continue;
                }
                self.line.push(byte);
                continue;
            }
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            let line = std::mem::take(&mut self.line);
            match classify(&line) {
                Line::Garbage => tally.framing_errors += 1,
                Line::Text(text) => {
                    let text = text.to_owned();
                    self.on_line(&text, line.len() + 1, now, tally, emit);
                }
            }
            self.line = line;
            self.line.clear();
            self.flush(emit);
        }
        if !self.line.is_empty() && matches!(self.stage, Stage::Waiting { .. }) {
            // Part of a line: a sketch printing dots while it calibrates.
            self.boot.hear_part(now);
        }
        self.streaming.flush_rows(now, emit);
        self.flush(emit);
        if let (Some(failure), false) = (&self.failure, self.failure_reported) {
            self.failure_reported = true;
            return Err(AdapterError::Incompatible(failure.clone()));
        }
        Ok(())
    }

    fn encode(
        &mut self,
        command: &Command,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Unsupported> {
        if self.device.is_none() {
            return Err(Unsupported);
        }
        let request = match *command {
            Command::Hello | Command::Ping { .. } => return Ok(()),
            Command::Save => return Err(Unsupported),
            Command::Get { index } => {
                if usize::from(index) >= self.params.len() {
                    return Err(Unsupported);
                }
                self.read_request(index, Purpose::Get(index))
            }
            Command::Set { index, value } => self.write_request(index, value)?,
            Command::Enable(on) => {
                let request = Request::new(
                    Purpose::Enable(on),
                    format!("{}E{}\n", self.letter, u8::from(on)),
                    Expect::Value {
                        echo: echo(self.letter, "E"),
                        kind: ReplyKind::Number,
                    },
                );
                if on {
                    self.requests.push(request);
                } else {
                    self.requests.push_urgent(request, out);
                }
                self.requests.send_next(now, out);
                return Ok(());
            }
            Command::Stream { divider } => {
                self.stream_requests(divider, out);
                self.requests.send_next(now, out);
                return Ok(());
            }
        };
        self.requests.push(request);
        self.requests.send_next(now, out);
        Ok(())
    }

    fn device(&self) -> Option<&DeviceInfo> {
        self.device.as_ref()
    }

    fn close(&mut self, _now: Instant, out: &mut Vec<u8>) {
        out.extend_from_slice(std::mem::take(&mut self.restore_due).as_bytes());
        out.extend_from_slice(self.found_monitor.restore(self.letter).as_bytes());
        self.found_monitor = SketchMonitor::default();
        out.extend_from_slice(self.commander.take_restore().as_bytes());
    }
}

impl SimpleFocAdapter {
    /// The request that writes `value` to parameter `index`.
    fn write_request(&mut self, index: u8, value: f32) -> Result<Request<Purpose>, Unsupported> {
        let Some(param) = self.params.get(usize::from(index)).copied() else {
            return Err(Unsupported);
        };
        let value = if param.kind == ValueKind::Motion {
            value.round()
        } else {
            value
        };
        let wire = match command(self.letter, param.letters, Some(value)) {
            Ok(wire) => wire,
            Err(error) => {
                self.text(TextLevel::Error, error.to_string());
                return Err(Unsupported);
            }
        };
        let echo = if index == TARGET_INDEX {
            self.letter.to_string()
        } else {
            echo(self.letter, param.letters)
        };
        Ok(Request::new(
            Purpose::Set { index, value },
            wire,
            Expect::Value {
                echo,
                kind: reply_kind(param.kind),
            },
        ))
    }
}

#[cfg(test)]
mod tests;
