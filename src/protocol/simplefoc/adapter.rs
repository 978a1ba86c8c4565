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
//!    monitoring ([`streaming`]), the enable state polled every second,
//!    lines the user typed, their replies passed on as text ([`typed`]).
//! 5. Close: what was changed is put back ([`SketchMonitor`],
//!    [`CommanderSettings`]); the output is the link's.

mod handshake;
mod replies;
mod streaming;
mod typed;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::SimpleFocSettings;
use super::monitor::SketchMonitor;
use super::params::{MotorParam, motor_params};
use super::requests::{Expect, Reply, ReplyKind, Request, Requests};
use super::session::{BootWatch, CommanderSettings, is_library_text};
use super::stream::{self, MonitorLine, MonitorReader};
use super::wire::{Line, classify, could_be_numbers, echo, is_commander_reply};
use crate::protocol::adapter::{Adapter, AdapterError, DecodeTally, Protocol, Unsupported};
use crate::protocol::host_clock::HostTiming;
use crate::protocol::{Command, DeviceInfo, Event, TextLevel};
use streaming::Streaming;
use typed::Refresh;

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
    /// A line the user typed, and what to read again after it.
    Typed(Option<Refresh>),
    /// A value a typed line may have changed.
    Refresh(u8),
    /// The torque type, which a typed line may have changed.
    RefreshTorque,
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
    /// The motor's letter is chosen from the handlers listed.
    motor_chosen: bool,
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
    /// When the last line of a typed line's reply came.
    typed_heard: Option<Instant>,
}

impl SimpleFocAdapter {
    /// An adapter for a sketch on a port opened at `now`, with the user's settings.
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
            motor_chosen: false,
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
            typed_heard: None,
            settings,
        }
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
        if self.typed_on_wire() && self.reply_to_written_next(text, now, tally, emit) {
            return;
        }
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
        if !self.typed_on_wire() && self.other_motor_s_monitoring(text) {
            tally.ok += 1;
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
            MonitorLine::NotMonitor if self.typed_on_wire() => {
                tally.ok += 1;
                self.streaming.flush_rows(now, emit);
                self.typed_reply_line(text, now);
            }
            MonitorLine::NotMonitor => {
                self.streaming.flush_rows(now, emit);
                self.on_text(text, now, tally);
            }
        }
    }

    /// Whether `text` is a monitoring line another motor of the sketch
    /// tagged with its letter (`monitor_start_char`), which a sketch with
    /// several motors sets to tell them apart. Until `?` has listed the
    /// handlers, a line tagged with any other letter may be one.
    fn other_motor_s_monitoring(&self, text: &str) -> bool {
        let Some(start) = text.chars().next() else {
            return false;
        };
        let other = if self.motor_chosen {
            self.is_other_motor(start)
        } else {
            start.is_ascii_alphabetic() && start != self.letter
        };
        other && stream::parse_any(text).is_some()
    }

    /// Whether `letter` is another handler's than this motor's.
    fn is_other_motor(&self, letter: char) -> bool {
        letter != self.letter && self.handlers.iter().any(|(l, _)| *l == letter)
    }

    /// A reply to a stop written while a typed line is on the wire: the
    /// stop's own, not the typed line's. True when `text` was one.
    fn reply_to_written_next(
        &mut self,
        text: &str,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> bool {
        let Some(reply) = self
            .requests
            .written_next()
            .and_then(|request| request.expect.read(text))
        else {
            return false;
        };
        tally.ok += 1;
        self.streaming.flush_rows(now, emit);
        if let Some(request) = self.requests.take_written_next() {
            self.on_reply(request.purpose, reply, now);
        }
        true
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
        // A reply that came late or twice (a request sent again) is no
        // message of the sketch's.
        if !text.is_empty() && !is_commander_reply(text, self.letter) {
            self.text(TextLevel::Info, text.to_owned());
        }
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

    /// Each motor streaming over the port gets an even share of it: a new
    /// `MMD` when the share changes the plan.
    fn port_shared_by(&mut self, links: usize) {
        if self.streaming.share_port(links) {
            self.push_rate();
        }
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
        self.typed_poll(now);
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
        if !self.line.is_empty()
            && matches!(self.stage, Stage::Waiting { .. })
            && !could_be_numbers(&self.line)
        {
            // Part of a line of text: a sketch printing dots while it
            // calibrates. Not the start of a monitoring line, which would
            // keep a monitoring sketch on a UART from ever seeming quiet.
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
            Command::Text(ref line) => self.typed_request(line)?,
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

    fn host_timing(&self) -> Option<HostTiming> {
        self.device.as_ref().and(self.streaming.timing())
    }

    fn text_refusal(&self, line: &str) -> String {
        match self.typed_refusal(line) {
            _ if self.device.is_none() => "not sent: the sketch is not described yet".to_owned(),
            Some(why) => why,
            None => "not sent".to_owned(),
        }
    }

    fn close(&mut self, _now: Instant, out: &mut Vec<u8>) {
        out.extend_from_slice(std::mem::take(&mut self.restore_due).as_bytes());
        out.extend_from_slice(self.found_monitor.restore(self.letter).as_bytes());
        self.found_monitor = SketchMonitor::default();
        out.extend_from_slice(self.commander.take_restore().as_bytes());
    }
}

#[cfg(test)]
mod tests;
