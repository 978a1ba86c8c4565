//! SimpleFOC Commander as an [`Adapter`]: one request on the wire at a time
//! (the Commander answers in order, one line each), monitoring lines turned
//! into host-timed samples, and the description built from reads only: the
//! motion type first (its reply, a motion name, proves the Commander), then
//! every motor parameter. Streaming reads the sketch's monitoring first and
//! the link's close puts it back ([`SketchMonitor`]); the adapter changes
//! nothing else of the Commander's (no `@` verbosity, no `#` decimals).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::monitor::SketchMonitor;
use super::{
    Line, MOTION_INDEX, MonitorVar, MotorParam, SimpleFocSettings, TARGET_INDEX,
    TARGET_READ_FRIENDLY, ValueKind, classify, command, is_error_reply, motor_params, reply_value,
};
use crate::protocol::adapter::{Adapter, AdapterError, DecodeTally, Protocol, Unsupported};
use crate::protocol::host_clock::{HOST_TICK_HZ, HostClock};
use crate::protocol::{
    ChannelInfo, ChannelRole, Command, DeviceErrorCode, DeviceInfo, Event, ParamInfo, SampleBatch,
    StatusFlags, TextLevel,
};

/// How long a request waits for its reply before it is sent again: long
/// enough for a reply queued behind monitoring output on a busy host, since
/// a resent request that was only late gets a second reply.
const REPLY_TIMEOUT: Duration = Duration::from_millis(300);
/// Sends of one request before it is given up.
const TRIES: u8 = 3;
/// A line longer than this without a newline is garbage.
const MAX_LINE_BYTES: usize = 512;

/// What a request on the wire is for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Purpose {
    /// A read while describing.
    Describe(u8),
    Get(u8),
    /// A write; `read_back` once it went unanswered (verbosity `@0`).
    Set {
        index: u8,
        read_back: bool,
    },
    Enable(bool),
    /// `MMS`: once answered, monitoring lines hold the channels described.
    MonitorSet,
    /// `MMD`: no event, only its turn on the wire.
    MonitorRate,
    /// `MMD` without a value: the sketch's downsample, to put back.
    FoundRate,
    /// `MMS` without a value: the sketch's selection, to put back.
    FoundSelection,
}

#[derive(Clone, Debug)]
struct Request {
    purpose: Purpose,
    wire: String,
    /// What `@3` echoes before the value.
    machine: String,
    /// What `@2` prints before the value.
    friendly: String,
    kind: ValueKind,
    /// Already written (a stop, which does not wait its turn).
    sent: bool,
}

#[derive(Debug)]
struct InFlight {
    request: Request,
    sent_at: Instant,
    tries: u8,
}

/// Host side of a SimpleFOC Commander connection.
#[derive(Debug)]
pub struct SimpleFocAdapter {
    settings: SimpleFocSettings,
    params: Vec<MotorParam>,
    values: Vec<Option<f32>>,
    device: Option<DeviceInfo>,
    /// The motion type's reply came: the device speaks the Commander.
    proven: bool,
    queue: VecDeque<Request>,
    in_flight: Option<InFlight>,
    line: Vec<u8>,
    /// Bytes of an overlong line are being skipped up to its newline.
    skipping: bool,
    clock: HostClock,
    /// Monitoring lines count once `MMS` has been answered; before, they
    /// may hold the sketch's own selection.
    monitoring_set: bool,
    channel_count: usize,
    /// Events owed to the app, given with the next bytes received.
    pending_events: VecDeque<Event>,
    /// The description has been given to the app.
    announced: bool,
    /// The sketch's monitoring as found, and what this connection changed.
    found_monitor: SketchMonitor,
}

impl SimpleFocAdapter {
    pub fn new(settings: &crate::protocol::adapter::AdapterSettings, now: Instant) -> Self {
        let settings = settings.simplefoc.sanitized();
        let params = motor_params();
        let mut adapter = Self {
            clock: HostClock::new(now, 1_000_000 / settings.loop_hz.max(1)),
            channel_count: MonitorVar::selected(settings.monitored).len(),
            values: vec![None; params.len()],
            params,
            settings,
            device: None,
            proven: false,
            queue: VecDeque::new(),
            in_flight: None,
            line: Vec::new(),
            skipping: false,
            monitoring_set: false,
            pending_events: VecDeque::new(),
            announced: false,
            found_monitor: SketchMonitor::default(),
        };
        // The motion type first: its reply proves the Commander.
        let order = std::iter::once(MOTION_INDEX)
            .chain((0..adapter.params.len() as u8).filter(|&i| i != MOTION_INDEX));
        for index in order {
            let request = adapter.read_request(index, Purpose::Describe(index));
            adapter.queue.push_back(request);
        }
        adapter
    }

    fn letter(&self) -> char {
        self.settings.letter
    }

    /// The `@3` echo of a command: the motor letter, the command letter and
    /// a sub-command letter (never the digits after them).
    fn machine(&self, letters: &str) -> String {
        let mut echo = String::from(self.letter());
        echo.extend(
            letters
                .chars()
                .take(2)
                .enumerate()
                .filter(|&(at, c)| at == 0 || c.is_ascii_uppercase())
                .map(|(_, c)| c),
        );
        echo
    }

    fn read_request(&self, index: u8, purpose: Purpose) -> Request {
        let param = self.params[usize::from(index)];
        let friendly = if index == TARGET_INDEX {
            TARGET_READ_FRIENDLY
        } else {
            param.friendly
        };
        Request {
            purpose,
            // Reads carry no value, so they always fit.
            wire: command(self.letter(), param.read, None).unwrap_or_default(),
            machine: self.machine(param.read),
            friendly: friendly.to_owned(),
            kind: param.kind,
            sent: false,
        }
    }

    /// Queues a request; a stop (disable, end of monitoring) is written at
    /// once, ahead of everything not yet sent, so it goes out even when the
    /// link closes right after.
    fn submit(&mut self, mut request: Request, urgent: bool, now: Instant, out: &mut Vec<u8>) {
        if urgent {
            out.extend_from_slice(request.wire.as_bytes());
            request.sent = true;
            let at = self.queue.iter().take_while(|r| r.sent).count();
            self.queue.insert(at, request);
        } else {
            self.queue.push_back(request);
        }
        self.send_next(now, out);
    }

    fn send_next(&mut self, now: Instant, out: &mut Vec<u8>) {
        if let Some(flight) = &mut self.in_flight {
            if now.duration_since(flight.sent_at) < REPLY_TIMEOUT {
                return;
            }
            if flight.tries < TRIES {
                flight.tries += 1;
                flight.sent_at = now;
                out.extend_from_slice(flight.request.wire.as_bytes());
                return;
            }
            if let Some(flight) = self.in_flight.take() {
                self.unanswered(flight.request);
            }
        }
        let Some(request) = self.queue.pop_front() else {
            return;
        };
        if !request.sent {
            out.extend_from_slice(request.wire.as_bytes());
        }
        self.in_flight = Some(InFlight {
            request,
            sent_at: now,
            tries: 1,
        });
    }

    /// A request whose reply never came.
    fn unanswered(&mut self, request: Request) {
        match request.purpose {
            Purpose::Describe(index) => {
                // A parameter this firmware does not answer: describe it
                // anyway, read-only, so the indices stay the same.
                self.values[usize::from(index)] = Some(f32::NAN);
                self.try_describe();
            }
            Purpose::Set {
                index,
                read_back: false,
            } => {
                let read = self.read_request(
                    index,
                    Purpose::Set {
                        index,
                        read_back: true,
                    },
                );
                self.queue.push_front(read);
            }
            Purpose::MonitorSet
            | Purpose::MonitorRate
            | Purpose::FoundRate
            | Purpose::FoundSelection => {
                self.pending_events.push_back(Event::Text {
                    level: TextLevel::Warning,
                    message: format!("no reply to {}", request.wire.trim_end()),
                });
            }
            Purpose::Get(_) | Purpose::Set { .. } | Purpose::Enable(_) => {
                self.pending_events.push_back(refusal(request.purpose));
            }
        }
    }

    fn try_describe(&mut self) {
        if self.device.is_some() || !self.proven || self.values.iter().any(Option::is_none) {
            return;
        }
        let motion = self.values[usize::from(MOTION_INDEX)].unwrap_or(2.0) as u8;
        let params = self
            .params
            .iter()
            .zip(&self.values)
            .map(|(param, value)| {
                let value = value.unwrap_or(f32::NAN);
                let mut flags = param.flags;
                let mut unit = param.unit;
                if value.is_nan() {
                    flags |= crate::protocol::ParamFlags::READ_ONLY;
                }
                if param.name == "target" {
                    unit = target_unit(motion);
                }
                ParamInfo {
                    name: param.name.to_owned(),
                    unit: unit.to_owned(),
                    flags: crate::protocol::ParamFlags(flags),
                    min: param.min,
                    max: param.max,
                    value: if value.is_nan() { 0.0 } else { value },
                    kind: param.param_kind(),
                }
            })
            .collect();
        self.device = Some(DeviceInfo {
            name: format!("SimpleFOC motor '{}'", self.letter()),
            firmware: "Arduino-FOC Commander".to_owned(),
            protocol_version: 1,
            loop_hz: (self.settings.loop_hz / u32::from(self.settings.base_downsample)).max(1),
            watchdog_ms: 0,
            channels: channels(self.settings.monitored, motion),
            params,
        });
    }

    /// Handles one text line: the reply to the request in flight, or a
    /// message of the firmware. True if it was a reply.
    fn text_line(&mut self, text: &str, emit: &mut dyn FnMut(Event)) -> bool {
        let Some(flight) = &self.in_flight else {
            if !text.is_empty() {
                emit(Event::Text {
                    level: TextLevel::Info,
                    message: text.to_owned(),
                });
            }
            return false;
        };
        let request = &flight.request;
        if is_error_reply(text) && text.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let purpose = request.purpose;
            self.in_flight = None;
            match purpose {
                Purpose::Describe(index) => {
                    self.values[usize::from(index)] = Some(f32::NAN);
                    self.try_describe();
                }
                Purpose::MonitorSet
                | Purpose::MonitorRate
                | Purpose::FoundRate
                | Purpose::FoundSelection => emit(Event::Text {
                    level: TextLevel::Warning,
                    message: format!("SimpleFOC refused {}", request_wire(&purpose)),
                }),
                other => emit(refusal(other)),
            }
            return true;
        }
        let Some(value) = reply_value(text, &request.machine, &request.friendly, request.kind)
        else {
            // A debug message between the request and its reply.
            if !text.is_empty() {
                emit(Event::Text {
                    level: TextLevel::Info,
                    message: text.to_owned(),
                });
            }
            return false;
        };
        let purpose = request.purpose;
        self.in_flight = None;
        match purpose {
            Purpose::Describe(index) => {
                if index == MOTION_INDEX {
                    self.proven = true;
                }
                self.values[usize::from(index)] = Some(value);
                self.try_describe();
            }
            Purpose::Get(index) | Purpose::Set { index, .. } => {
                self.update_value(index, value);
                emit(Event::Value { index, value });
            }
            Purpose::Enable(_) => emit(Event::Status {
                flags: StatusFlags(if value != 0.0 {
                    StatusFlags::ENABLED
                } else {
                    0
                }),
                tick: 0,
            }),
            Purpose::MonitorSet => self.monitoring_set = true,
            Purpose::MonitorRate => {}
            Purpose::FoundRate => self.found_monitor.found_downsample(value),
            Purpose::FoundSelection => self.found_monitor.found_selection(value),
        }
        true
    }

    /// Gives the description to the app once it is complete.
    fn announce(&mut self, emit: &mut dyn FnMut(Event)) {
        if let (false, Some(info)) = (self.announced, &self.device) {
            self.announced = true;
            emit(Event::Described(info.clone()));
        }
    }

    fn update_value(&mut self, index: u8, value: f32) {
        if let Some(param) = self
            .device
            .as_mut()
            .and_then(|d| d.params.get_mut(usize::from(index)))
        {
            param.value = value;
        }
    }

    fn monitor_lines(
        &mut self,
        rows: &mut Vec<f32>,
        count: usize,
        now: Instant,
        emit: &mut dyn FnMut(Event),
    ) {
        if count == 0 {
            return;
        }
        let placed = self.clock.place(count, now);
        emit(Event::Samples {
            batch: SampleBatch {
                first_tick: placed.first_tick,
                stride: placed.stride,
                tick_hz: HOST_TICK_HZ,
                channel_count: self.channel_count,
                values: std::mem::take(rows),
            },
            lost_before: 0,
        });
    }
}

fn request_wire(purpose: &Purpose) -> &'static str {
    match purpose {
        Purpose::MonitorSet | Purpose::FoundSelection => "the monitored variables (MMS)",
        _ => "the monitoring rate (MMD)",
    }
}

fn refusal(purpose: Purpose) -> Event {
    let request = match purpose {
        Purpose::Get(index) => Command::Get { index },
        Purpose::Set { index, .. } => Command::Set { index, value: 0.0 },
        Purpose::Enable(on) => Command::Enable(on),
        Purpose::Describe(_)
        | Purpose::MonitorSet
        | Purpose::MonitorRate
        | Purpose::FoundRate
        | Purpose::FoundSelection => Command::Hello,
    };
    Event::Refused {
        request: request.type_code(),
        code: DeviceErrorCode::Unsupported,
    }
}

/// The target's unit in a motion type (torque mode: volts, the default
/// voltage torque control).
fn target_unit(motion: u8) -> &'static str {
    match motion {
        1 | 3 => "rad/s",
        2 | 4 | 5 => "rad",
        _ => "V",
    }
}

/// The monitored channels with their roles: the target is the reference;
/// the angle (angle modes) or the velocity (velocity modes) the feedback;
/// Vq the effort (the library's default torque control is voltage, where Vq
/// is what the loops command), Iq when Vq is not monitored.
fn channels(mask: u8, motion: u8) -> Vec<ChannelInfo> {
    let selected = MonitorVar::selected(mask);
    let feedback = match motion {
        1 | 3 => MonitorVar::Velocity,
        _ => MonitorVar::Angle,
    };
    let effort = if selected.contains(&MonitorVar::VoltageQ) {
        MonitorVar::VoltageQ
    } else {
        MonitorVar::CurrentQ
    };
    selected
        .into_iter()
        .map(|var| ChannelInfo {
            name: var.name().to_owned(),
            unit: match var {
                MonitorVar::Target => target_unit(motion),
                MonitorVar::VoltageQ | MonitorVar::VoltageD => "V",
                MonitorVar::CurrentQ | MonitorVar::CurrentD => "mA",
                MonitorVar::Velocity => "rad/s",
                MonitorVar::Angle => "rad",
            }
            .to_owned(),
            role: if var == MonitorVar::Target {
                ChannelRole::Reference
            } else if var == feedback {
                ChannelRole::Feedback
            } else if var == effort {
                ChannelRole::Effort
            } else {
                ChannelRole::Other
            },
        })
        .collect()
}

impl Adapter for SimpleFocAdapter {
    fn protocol(&self) -> Protocol {
        Protocol::SimpleFoc
    }

    fn expecting(&self) -> String {
        format!(
            "SimpleFOC Commander with the motor under '{}' (a Commander in verbosity @0 prints nothing: send @2)",
            self.letter()
        )
    }

    fn describe_timeout(&self, usual: Duration) -> Duration {
        // 29 reads, one at a time, each allowed its retries.
        usual.max(Duration::from_secs(5))
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.send_next(now, out);
    }

    fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        let mut rows = Vec::new();
        let mut count = 0;
        self.announce(emit);
        while let Some(event) = self.pending_events.pop_front() {
            emit(event);
        }
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
            let line_kind = classify(&line);
            // Every whole line counts once as decoded or as a framing error,
            // message errors among the decoded, except text before the
            // description that answers nothing: any device prints some, so
            // it is no sign of SimpleFOC (nor, when auto-detection tries
            // SimpleFOC on another firmware, one of that firmware).
            match line_kind {
                Line::Garbage => tally.framing_errors += 1,
                Line::BadMonitor | Line::Monitor(_) => tally.ok += 1,
                Line::Text(_) => {}
            }
            match line_kind {
                Line::Garbage => {}
                Line::BadMonitor => tally.message_errors += 1,
                Line::Monitor(values) => {
                    if self.device.is_none() || !self.monitoring_set {
                        continue;
                    }
                    if values.len() != self.channel_count {
                        tally.message_errors += 1;
                        continue;
                    }
                    rows.extend(values);
                    count += 1;
                }
                Line::Text(text) => {
                    // Samples stay in order with the replies around them.
                    self.monitor_lines(&mut rows, count, now, emit);
                    count = 0;
                    let text = text.to_owned();
                    if self.text_line(&text, emit) || self.device.is_some() {
                        tally.ok += 1;
                    }
                }
            }
            self.line = line;
            self.line.clear();
        }
        self.monitor_lines(&mut rows, count, now, emit);
        self.announce(emit);
        Ok(())
    }

    fn encode(
        &mut self,
        command: &Command,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Unsupported> {
        let letter = self.letter();
        let request = match *command {
            Command::Hello | Command::Ping { .. } => return Ok(()),
            Command::Save => return Err(Unsupported),
            Command::Get { index } => {
                if usize::from(index) >= self.params.len() {
                    return Err(Unsupported);
                }
                self.read_request(index, Purpose::Get(index))
            }
            Command::Set { index, value } => {
                let Some(param) = self.params.get(usize::from(index)).copied() else {
                    return Err(Unsupported);
                };
                let value = if param.kind == ValueKind::Motion {
                    value.round()
                } else {
                    value
                };
                let wire = match super::command(letter, param.write, Some(value)) {
                    Ok(wire) => wire,
                    Err(error) => {
                        self.pending_events.push_back(Event::Text {
                            level: TextLevel::Error,
                            message: error.to_string(),
                        });
                        return Err(Unsupported);
                    }
                };
                Request {
                    purpose: Purpose::Set {
                        index,
                        read_back: false,
                    },
                    wire,
                    machine: self.machine(param.write),
                    friendly: param.friendly.to_owned(),
                    kind: param.kind,
                    sent: false,
                }
            }
            Command::Enable(on) => {
                let request = Request {
                    purpose: Purpose::Enable(on),
                    wire: format!("{letter}E{}\n", u8::from(on)),
                    machine: format!("{letter}E"),
                    friendly: "Status: ".to_owned(),
                    kind: ValueKind::Number,
                    sent: false,
                };
                self.submit(request, !on, now, out);
                return Ok(());
            }
            Command::Stream { divider } => {
                if divider == 0 {
                    let stop = monitor_request(Purpose::MonitorRate, letter, "MD0", "downsample: ");
                    self.found_monitor.rate_changed();
                    self.submit(stop, true, now, out);
                    return Ok(());
                }
                if self.found_monitor.take_first_read() {
                    // Read before replaced, so the close can put them back.
                    let rate = monitor_request(Purpose::FoundRate, letter, "MD", "downsample: ");
                    self.submit(rate, false, now, out);
                    let selection = monitor_request(Purpose::FoundSelection, letter, "MS", "");
                    self.submit(selection, false, now, out);
                }
                let bits: String = (0..7)
                    .rev()
                    .map(|bit| {
                        if self.settings.monitored & (1 << bit) != 0 {
                            '1'
                        } else {
                            '0'
                        }
                    })
                    .collect();
                let select = monitor_request(Purpose::MonitorSet, letter, &format!("MS{bits}"), "");
                self.found_monitor.selection_changed();
                self.submit(select, false, now, out);
                self.found_monitor.rate_changed();
                let downsample = u32::from(divider) * u32::from(self.settings.base_downsample);
                monitor_request(
                    Purpose::MonitorRate,
                    letter,
                    &format!("MD{downsample}"),
                    "downsample: ",
                )
            }
        };
        self.submit(request, false, now, out);
        Ok(())
    }

    fn device(&self) -> Option<&DeviceInfo> {
        self.device.as_ref()
    }

    fn close(&mut self, _now: Instant, out: &mut Vec<u8>) {
        out.extend_from_slice(self.found_monitor.restore(self.letter()).as_bytes());
    }
}

fn monitor_request(purpose: Purpose, letter: char, letters: &str, label: &str) -> Request {
    Request {
        purpose,
        wire: format!("{letter}{letters}\n"),
        machine: format!("{letter}{}", &letters[..2.min(letters.len())]),
        friendly: format!("Monitor | {label}"),
        kind: ValueKind::Number,
        sent: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::adapter::AdapterSettings;
    use crate::sim::EmulatedDevice;
    use crate::sim::drive::DriveConfig;
    use crate::sim::firmware::simplefoc::SimpleFocFirmware;

    /// The adapter and the emulated sketch wired together in simulated
    /// time, device output delivered in chunks of `chunk` bytes.
    struct Bench {
        adapter: SimpleFocAdapter,
        firmware: SimpleFocFirmware,
        now: Instant,
        tally: DecodeTally,
        events: Vec<Event>,
        chunk: usize,
    }

    impl Bench {
        fn new(verbose: u8, chunk: usize) -> Self {
            let now = Instant::now();
            let mut firmware = SimpleFocFirmware::new(DriveConfig::default());
            firmware.verbose = verbose;
            Self {
                adapter: SimpleFocAdapter::new(&AdapterSettings::default(), now),
                firmware,
                now,
                tally: DecodeTally::default(),
                events: Vec::new(),
                chunk,
            }
        }

        fn deliver(&mut self, bytes: &[u8]) {
            for piece in bytes.chunks(self.chunk.max(1)) {
                let events = &mut self.events;
                self.adapter
                    .receive(piece, self.now, &mut self.tally, &mut |e| events.push(e))
                    .expect("no fatal error");
            }
        }

        /// Runs `ms` milliseconds, one at a time.
        fn run(&mut self, ms: u32) {
            for _ in 0..ms {
                let mut out = Vec::new();
                self.adapter.poll(self.now, &mut out);
                self.firmware.receive(&out);
                self.firmware.advance(10);
                let output = self.firmware.take_output();
                self.deliver(&output);
                self.now += Duration::from_millis(1);
            }
        }

        fn send(&mut self, command: Command) {
            let mut out = Vec::new();
            self.adapter
                .encode(&command, self.now, &mut out)
                .expect("supported");
            self.firmware.receive(&out);
        }
    }

    #[test]
    fn describes_in_every_talking_verbosity_and_split_reads() {
        for (verbose, chunk) in [(1, 1), (2, 7), (3, 4096)] {
            let mut bench = Bench::new(verbose, chunk);
            bench.run(200);
            let info = bench.adapter.device().expect("described").clone();
            let announced = bench
                .events
                .iter()
                .filter(|e| matches!(e, Event::Described(_)));
            assert_eq!(announced.count(), 1);
            let kp = &info.params[6];
            assert_eq!(kp.name, "angle.P");
            assert_eq!(kp.value, 20.0, "@{verbose}");
            assert_eq!(info.params[usize::from(MOTION_INDEX)].value, 2.0);
            assert!(info.params[usize::from(TARGET_INDEX)].flags.setpoint());
            assert_eq!(info.params[usize::from(TARGET_INDEX)].unit, "rad");
            assert_eq!(info.channels.len(), 7);
            assert_eq!(info.channels[0].role, ChannelRole::Reference);
            assert_eq!(info.channels[1].role, ChannelRole::Effort);
            assert_eq!(info.channels[6].role, ChannelRole::Feedback);
            assert_eq!(bench.tally.framing_errors + bench.tally.message_errors, 0);
        }
    }

    #[test]
    fn a_silent_commander_or_a_plain_text_sketch_is_never_described() {
        let mut bench = Bench::new(0, 64);
        bench.run(2000);
        assert!(bench.adapter.device().is_none());
        let now = Instant::now();
        let mut adapter = SimpleFocAdapter::new(&AdapterSettings::default(), now);
        let mut tally = DecodeTally::default();
        for _ in 0..100 {
            let mut out = Vec::new();
            adapter.poll(now + Duration::from_secs(1), &mut out);
            adapter
                .receive(b"1.5\n2.5\nkp 3\n", now, &mut tally, &mut |_| {})
                .expect("no fatal error");
        }
        assert!(adapter.device().is_none());
    }

    #[test]
    fn streams_writes_enables_and_skips_garbage() {
        let mut bench = Bench::new(2, 13);
        bench.run(200);
        assert!(bench.adapter.device().is_some());
        bench.events.clear();
        bench.send(Command::Stream { divider: 1 });
        bench.run(200);
        let rows: usize = bench
            .events
            .iter()
            .map(|e| match e {
                Event::Samples { batch, .. } => {
                    assert_eq!(batch.channel_count, 7);
                    batch.len()
                }
                _ => 0,
            })
            .sum();
        // MMD10 at 10 kHz: 1000 lines a second, less the setup.
        assert!((150..=200).contains(&rows), "{rows}");

        bench.send(Command::Set {
            index: 6,
            value: 12.5,
        });
        bench.run(20);
        assert!(bench.events.contains(&Event::Value {
            index: 6,
            value: 12.5
        }));
        assert_eq!(bench.firmware.drive.config.gains.kp, 12.5);

        bench.send(Command::Enable(false));
        bench.run(20);
        assert!(bench.events.contains(&Event::Status {
            flags: StatusFlags(0),
            tick: 0
        }));
        assert!(!bench.firmware.drive.enabled());

        let before = bench.tally;
        bench.deliver(b"\xff\xfe\x00junk\n1.0\tx\t3\n1\t2\n");
        assert_eq!(bench.tally.framing_errors, before.framing_errors + 1);
        assert_eq!(bench.tally.message_errors, before.message_errors + 2);
        bench.events.clear();
        bench.run(50);
        assert!(
            bench
                .events
                .iter()
                .any(|e| matches!(e, Event::Samples { .. }))
        );
    }

    #[test]
    fn a_value_too_long_for_the_commander_is_refused_not_sent() {
        let mut bench = Bench::new(2, 64);
        bench.run(200);
        let mut out = Vec::new();
        let refused = bench.adapter.encode(
            &Command::Set {
                index: 0,
                value: f32::INFINITY,
            },
            bench.now,
            &mut out,
        );
        assert_eq!(refused, Err(Unsupported));
        assert!(out.is_empty());
    }
}
