//! ODrive 0.5.x as an [`Adapter`]. The firmware streams nothing and its
//! replies carry no request id, so the adapter keeps the requests that
//! expect a reply in order ([`Expect`]) and matches each reply line to the
//! oldest. Writes (`w`, `p`, `u`, `ss`) are never answered on success, so
//! every write is followed by a read of what the firmware holds.
//!
//! Samples come from polling `f AXIS` (position in turns, velocity in
//! turns/s), with `motor.current_control.Iq_measured` read in the same
//! batch when effort is polled: one sample per complete batch, nothing
//! held over from an earlier one. The reference channel is the
//! `input_pos` the host last commanded when the poll was sent (read from
//! the firmware at connection and after every write): the firmware only
//! changes it on a host's command, and replies come in request order, so
//! that is exactly the reference in force when the feedback was measured.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::OdriveSettings;
use super::line::{LineSplitter, ReplyError, encode_request, parse_reply};
use crate::protocol::adapter::{
    Adapter, AdapterError, AdapterSettings, DecodeTally, Protocol, Unsupported,
};
use crate::protocol::host_clock::{HOST_TICK_HZ, HostClock};
use crate::protocol::{
    ChannelInfo, ChannelRole, Command, DeviceErrorCode, DeviceInfo, Event, ParamFlags, ParamInfo,
    ParamKind, SampleBatch, StatusFlags,
};

/// A reply that has not come within this is taken as lost (the firmware
/// stays silent on a request whose checksum is wrong).
const REPLY_TIMEOUT: Duration = Duration::from_millis(300);
/// Lines arriving this long after opening are dropped unread before the
/// handshake: replies to a previous client's polls still in the port.
const DRAIN: Duration = Duration::from_millis(100);
/// How often the version is asked again while the device has not answered.
const HANDSHAKE_PERIOD: Duration = Duration::from_millis(500);
/// How often `current_state` is read while streaming, so a watchdog trip
/// or an error that idles the axis shows as a status change.
const STATE_PERIOD: Duration = Duration::from_millis(250);
/// Feedback polls that may be in flight at once: two, so a round trip a
/// little longer than the poll period does not slow the rate.
const MAX_POLLS_DUE: usize = 2;
/// After replies went missing, how long the device must stay silent before
/// requests go out again: every reply still on its way has arrived by then,
/// so the next one answers the next request. ODrive's ASCII protocol has no
/// request ids; order is all that pairs a reply with its request.
const RESYNC_QUIET: Duration = Duration::from_millis(30);
/// Polls the schedule may fall behind before it restarts from now.
const MAX_POLLS_BEHIND: u32 = 5;

/// `AXIS_STATE_IDLE` and `AXIS_STATE_CLOSED_LOOP_CONTROL` (0.5.x enums).
const STATE_IDLE: u8 = 1;
const STATE_CLOSED_LOOP: u8 = 8;

const GAIN: u8 = ParamFlags::TUNING_GAIN | ParamFlags::LOG_SCALE;

/// The properties offered as parameters: path below `axisN.`, name shown,
/// unit, flags, min, max. Gain limits bracket the 0.5.x defaults (pos_gain
/// 20, vel_gain 1/6, vel_integrator_gain 1/3, from the firmware's
/// `odrive-interface.yaml`) by about two decades each way; the smallest is
/// kept above 1e-3 because a read prints six decimals (`%f`).
const PARAMS: &[(&str, &str, u8, f32, f32)] = &[
    (
        "controller.config.pos_gain",
        "(turn/s)/turn",
        GAIN,
        0.1,
        1000.0,
    ),
    (
        "controller.config.vel_gain",
        "Nm/(turn/s)",
        GAIN,
        1e-3,
        20.0,
    ),
    (
        "controller.config.vel_integrator_gain",
        "Nm/turn",
        GAIN,
        0.0,
        200.0,
    ),
    ("controller.config.vel_limit", "turn/s", 0, 0.0, 1000.0),
    ("motor.config.current_lim", "A", 0, 0.0, 120.0),
    (
        "controller.input_pos",
        "turn",
        ParamFlags::SETPOINT,
        -1e4,
        1e4,
    ),
    (
        "config.enable_watchdog",
        "",
        ParamFlags::KIND_SWITCH,
        0.0,
        1.0,
    ),
    ("config.watchdog_timeout", "s", 0, 0.0, 10.0),
    (
        "current_state",
        "",
        ParamFlags::READ_ONLY | ParamFlags::KIND_CHOICE,
        0.0,
        13.0,
    ),
    (
        "controller.config.control_mode",
        "",
        ParamFlags::MODE | ParamFlags::KIND_CHOICE,
        0.0,
        3.0,
    ),
];

/// `ODrive.Axis.AxisState` from 0 (fw-v0.5.6 `odrive-interface.yaml`
/// 1523-1580; 5, sensorless control before 0.5, is no state there).
const AXIS_STATES: [&str; 14] = [
    "undefined",
    "idle",
    "startup sequence",
    "full calibration",
    "motor calibration",
    "(no state 5)",
    "encoder index search",
    "encoder offset calibration",
    "closed loop",
    "lockin spin",
    "encoder direction find",
    "homing",
    "hall polarity calibration",
    "hall phase calibration",
];

/// `ODrive.Controller.ControlMode` from 0 (fw-v0.5.6
/// `odrive-interface.yaml` 1603-1623).
const CONTROL_MODES: [&str; 4] = ["voltage", "torque", "velocity", "position"];

/// The names of a choice parameter's values (kind bits in its flags).
fn choice_names(path: &str) -> Vec<String> {
    let names: &[&str] = match path {
        "current_state" => &AXIS_STATES,
        "controller.config.control_mode" => &CONTROL_MODES,
        _ => &[],
    };
    names.iter().map(|&n| n.to_owned()).collect()
}

const INPUT_POS_INDEX: u8 = 5;
const CURRENT_STATE_INDEX: u8 = 8;

/// What a reply that is due will answer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    FirmwareMajor,
    FirmwareMinor,
    /// A parameter read; `answer` names the app's request (Get, or Set
    /// read back), none during the handshake.
    Param {
        index: u8,
        answer: Option<u8>,
    },
    /// `f AXIS`, with the reference in force when it was sent.
    Feedback {
        reference: f32,
    },
    /// `Iq_measured`, completing the sample of the feedback before it.
    Effort,
    /// `current_state`; `announce` when the app asked (Enable).
    State {
        announce: bool,
    },
}

/// Host side of an ODrive ASCII connection.
pub struct OdriveAdapter {
    settings: OdriveSettings,
    splitter: LineSplitter,
    /// Replies due, oldest first, with when each was asked.
    due: VecDeque<(Expect, Instant)>,
    firmware: (Option<u8>, Option<u8>),
    /// Parameter values read during the handshake.
    values: Vec<Option<f32>>,
    device: Option<DeviceInfo>,
    next_handshake: Option<Instant>,
    /// Until then, what arrives is left over from an earlier client.
    drain_until: Instant,
    /// While set, replies went missing and requests wait for the device to
    /// fall silent until then ([`RESYNC_QUIET`]); each line that arrives
    /// meanwhile moves it on.
    resync_until: Option<Instant>,
    /// Reads the app asked for during a resync, sent once it ends.
    held: Vec<(String, Expect)>,
    /// Polls per second; 0 stops polling.
    poll_hz: f64,
    next_poll: Instant,
    next_state_read: Instant,
    /// The `input_pos` last commanded or read.
    reference: f32,
    /// Position and velocity of a feedback reply waiting for its effort.
    pending_sample: Option<[f32; 3]>,
    state: Option<u8>,
    clock: HostClock,
}

impl OdriveAdapter {
    pub fn new(settings: &AdapterSettings, now: Instant) -> Self {
        let settings = settings.odrive.clone();
        let poll_hz = settings.poll_hz.max(0.1);
        Self {
            clock: HostClock::new(now, (1e6 / poll_hz) as u32),
            settings,
            splitter: LineSplitter::new(),
            due: VecDeque::new(),
            firmware: (None, None),
            values: vec![None; PARAMS.len()],
            device: None,
            next_handshake: None,
            drain_until: now + DRAIN,
            resync_until: None,
            held: Vec::new(),
            poll_hz: 0.0,
            next_poll: now,
            next_state_read: now,
            reference: 0.0,
            pending_sample: None,
            state: None,
        }
    }

    fn property(&self, index: u8) -> Option<String> {
        PARAMS
            .get(usize::from(index))
            .map(|(path, ..)| format!("axis{}.{path}", self.settings.axis))
    }

    /// Sends a request; one that expects a reply waits while a resync is
    /// under way. Writes go out at once: they have no reply to misplace,
    /// and a disable must not wait.
    fn request(&mut self, text: &str, expect: Option<Expect>, now: Instant, out: &mut Vec<u8>) {
        if let (Some(expect), Some(_)) = (expect, self.resync_until) {
            self.held.push((text.to_owned(), expect));
            return;
        }
        encode_request(text, self.settings.checksum, out);
        if let Some(expect) = expect {
            self.due.push_back((expect, now));
        }
    }

    /// Replies went missing, or one answered another request: forget what
    /// is due and wait for the device to fall silent.
    fn resync(&mut self, now: Instant) {
        self.forget_due();
        self.resync_until = Some(now + RESYNC_QUIET);
    }

    fn forget_due(&mut self) {
        self.due.clear();
        self.pending_sample = None;
    }

    /// Ends a resync once the device has been silent long enough, sending
    /// the reads held meanwhile; false while it goes on.
    fn resync_over(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        match self.resync_until {
            Some(until) if now < until => false,
            Some(_) => {
                self.resync_until = None;
                for (text, expect) in std::mem::take(&mut self.held) {
                    self.request(&text, Some(expect), now, out);
                }
                true
            }
            None => true,
        }
    }

    fn read_param(&mut self, index: u8, answer: Option<u8>, now: Instant, out: &mut Vec<u8>) {
        if let Some(property) = self.property(index) {
            self.request(
                &format!("r {property}"),
                Some(Expect::Param { index, answer }),
                now,
                out,
            );
        }
    }

    fn channels(&self) -> Vec<ChannelInfo> {
        let channel = |name: &str, unit: &str, role| ChannelInfo {
            name: name.into(),
            unit: unit.into(),
            role,
        };
        let mut channels = vec![
            channel("input_pos", "turn", ChannelRole::Reference),
            channel("pos_estimate", "turn", ChannelRole::Feedback),
            channel("vel_estimate", "turn/s", ChannelRole::Other),
        ];
        if self.settings.poll_effort {
            channels.push(channel("Iq_measured", "A", ChannelRole::Effort));
        }
        channels
    }

    /// Completes the description once the version and every parameter
    /// have been read.
    fn try_describe(&mut self, emit: &mut dyn FnMut(Event)) {
        if self.device.is_some() {
            return;
        }
        let (Some(major), Some(minor)) = self.firmware else {
            return;
        };
        let Some(values) = self.values.iter().copied().collect::<Option<Vec<f32>>>() else {
            return;
        };
        let params = PARAMS
            .iter()
            .zip(values)
            .map(|(&(path, unit, flags, min, max), value)| ParamInfo {
                name: path.into(),
                unit: unit.into(),
                flags: ParamFlags(flags),
                min,
                max,
                value,
                kind: ParamKind::from_wire(flags, choice_names(path)),
            })
            .collect();
        let watchdog_on = self.values[6].is_some_and(|v| v != 0.0);
        let watchdog_s = self.values[7].unwrap_or(0.0);
        let info = DeviceInfo {
            name: format!("ODrive axis{}", self.settings.axis),
            firmware: format!("{major}.{minor}"),
            protocol_version: 1,
            loop_hz: self.settings.poll_hz.round().max(1.0) as u32,
            watchdog_ms: if watchdog_on {
                (watchdog_s * 1000.0).clamp(0.0, f32::from(u16::MAX)) as u16
            } else {
                0
            },
            channels: self.channels(),
            params,
        };
        self.reference = self.values[usize::from(INPUT_POS_INDEX)].unwrap_or(0.0);
        self.device = Some(info.clone());
        emit(Event::Described(info));
    }

    fn handle_line(
        &mut self,
        line: Result<&[u8], ReplyError>,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        if self.resync_until.is_some() {
            // Any line, whole or not, shows the device is not silent yet.
            self.resync_until = Some(now + RESYNC_QUIET);
        }
        let due = self.due.pop_front();
        let text = match line.and_then(|l| parse_reply(l, self.settings.checksum)) {
            Ok(text) => text,
            Err(error) => {
                match error {
                    ReplyError::Checksum => tally.checksum_errors += 1,
                    ReplyError::Framing => tally.framing_errors += 1,
                }
                if let Some((expect, _)) = due {
                    self.drop_sample_in_progress(expect);
                }
                return Ok(());
            }
        };
        tally.ok += 1;
        // A line with nothing due is left over from a request given up on.
        let Some((expect, _)) = due else {
            tally.message_errors += 1;
            return Ok(());
        };
        match expect {
            Expect::FirmwareMajor | Expect::FirmwareMinor => {
                let Ok(number) = text.parse::<u8>() else {
                    tally.message_errors += 1;
                    return Ok(());
                };
                if expect == Expect::FirmwareMajor {
                    self.firmware.0 = Some(number);
                } else {
                    self.firmware.1 = Some(number);
                }
                if let (Some(major), Some(minor)) = self.firmware
                    && (major, minor) != (0, 5)
                {
                    return Err(AdapterError::Incompatible(format!(
                        "the ODrive runs firmware {major}.{minor}; this app speaks the ASCII protocol of firmware 0.5.x only"
                    )));
                }
                self.try_describe(emit);
            }
            Expect::Param { index, answer } => match parse_value(text) {
                Some(value) => {
                    if index == INPUT_POS_INDEX {
                        self.reference = value;
                    }
                    if self.device.is_none() {
                        self.values[usize::from(index)] = Some(value);
                        self.try_describe(emit);
                    } else if answer.is_some() {
                        emit(Event::Value { index, value });
                    }
                }
                None => match answer {
                    Some(request) if is_refusal(text) => emit(Event::Refused {
                        request,
                        code: DeviceErrorCode::BadIndex,
                    }),
                    _ => self.misplaced_reply(now, tally),
                },
            },
            Expect::Feedback { reference } => match parse_pair(text) {
                Some((position, velocity)) => {
                    let sample = [reference, position, velocity];
                    if self.settings.poll_effort {
                        self.pending_sample = Some(sample);
                    } else {
                        self.emit_sample(&sample, now, emit);
                    }
                }
                None => self.misplaced_reply(now, tally),
            },
            Expect::Effort => {
                let sample = self.pending_sample.take();
                match (sample, parse_float(text)) {
                    (Some([reference, position, velocity]), Some(effort)) => {
                        self.emit_sample(&[reference, position, velocity, effort], now, emit);
                    }
                    (None, Some(_)) => {}
                    (_, None) => self.misplaced_reply(now, tally),
                }
            }
            Expect::State { announce } => match text.parse::<u8>() {
                Ok(state) => {
                    let changed = self.state != Some(state);
                    self.state = Some(state);
                    if announce || changed {
                        let flags = if state == STATE_CLOSED_LOOP {
                            StatusFlags::ENABLED
                        } else {
                            0
                        };
                        emit(Event::Status {
                            flags: StatusFlags(flags),
                            tick: 0,
                        });
                    }
                    if changed && let Some(device) = &mut self.device {
                        let value = f32::from(state);
                        if let Some(param) = device.params.get_mut(usize::from(CURRENT_STATE_INDEX))
                        {
                            param.value = value;
                        }
                        emit(Event::Value {
                            index: CURRENT_STATE_INDEX,
                            value,
                        });
                    }
                }
                Err(_) => self.misplaced_reply(now, tally),
            },
        }
        Ok(())
    }

    /// A reply of the wrong shape for the request it was paired with: most
    /// likely the answer to another, the replies before it lost.
    fn misplaced_reply(&mut self, now: Instant, tally: &mut DecodeTally) {
        tally.message_errors += 1;
        if self.device.is_some() {
            self.resync(now);
        }
    }

    /// A feedback reply that was lost leaves no half sample behind.
    fn drop_sample_in_progress(&mut self, expect: Expect) {
        if matches!(expect, Expect::Feedback { .. } | Expect::Effort) {
            self.pending_sample = None;
        }
    }

    fn emit_sample(&mut self, values: &[f32], now: Instant, emit: &mut dyn FnMut(Event)) {
        let placed = self.clock.place(1, now);
        emit(Event::Samples {
            batch: SampleBatch {
                first_tick: placed.first_tick,
                stride: placed.stride,
                tick_hz: HOST_TICK_HZ,
                channel_count: values.len(),
                values: values.to_vec(),
            },
            lost_before: 0,
        });
    }

    /// Gives up on replies that are overdue.
    fn expire(&mut self, now: Instant) {
        if self
            .due
            .front()
            .is_some_and(|&(_, asked)| now.duration_since(asked) > REPLY_TIMEOUT)
        {
            if self.device.is_some() {
                self.resync(now);
            } else {
                // The handshake asks everything again on its own schedule.
                self.forget_due();
            }
        }
    }

    /// Feedback polls sent and not answered yet.
    fn feedback_due(&self) -> usize {
        self.due
            .iter()
            .filter(|(expect, _)| matches!(expect, Expect::Feedback { .. }))
            .count()
    }
}

/// A property's value as the firmware prints it: `%f` for floats
/// (truncated to 9 characters by its 10-byte buffer), `%d`/`%u` for
/// integers and enums, `0`/`1` for booleans.
fn parse_value(text: &str) -> Option<f32> {
    // Nine characters without a point are the truncated head of a float of
    // 1e9 or more: not its value.
    if text.len() >= 9 && !text.contains('.') {
        return None;
    }
    let value = text.parse::<f32>().ok()?;
    value.is_finite().then_some(value)
}

/// A float property as `%f` prints it, always with a point: an integer
/// (such as a `current_state` reply) is not one.
fn parse_float(text: &str) -> Option<f32> {
    if !text.contains('.') {
        return None;
    }
    parse_value(text)
}

/// `f`'s reply: two `%f` floats.
fn parse_pair(text: &str) -> Option<(f32, f32)> {
    let mut fields = text.split(' ');
    let position = parse_float(fields.next()?)?;
    let velocity = parse_float(fields.next()?)?;
    fields.next().is_none().then_some((position, velocity))
}

/// The firmware's answers to a request it could not carry out.
fn is_refusal(text: &str) -> bool {
    matches!(
        text,
        "invalid property" | "not implemented" | "invalid command format" | "unknown command"
    ) || text.starts_with("invalid motor")
}

impl Adapter for OdriveAdapter {
    fn protocol(&self) -> Protocol {
        Protocol::Odrive
    }

    fn expecting(&self) -> String {
        "an ODrive (firmware 0.5.x) answering `r fw_version_major` over its ASCII protocol".into()
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.expire(now);
        if !self.resync_over(now, out) {
            return;
        }
        if self.device.is_none() {
            if now < self.drain_until {
                return;
            }
            if self.due.is_empty() && self.next_handshake.is_none_or(|at| now >= at) {
                // Read-only requests only, until the device has described
                // itself: a probe of other firmware must change nothing.
                self.request("r fw_version_major", Some(Expect::FirmwareMajor), now, out);
                self.request("r fw_version_minor", Some(Expect::FirmwareMinor), now, out);
                for index in 0..PARAMS.len() as u8 {
                    if self.values[usize::from(index)].is_none() {
                        self.read_param(index, None, now, out);
                    }
                }
                self.next_handshake = Some(now + HANDSHAKE_PERIOD);
            }
            return;
        }
        if self.poll_hz <= 0.0 || now < self.next_poll || self.feedback_due() >= MAX_POLLS_DUE {
            return;
        }
        let axis = self.settings.axis;
        let reference = self.reference;
        self.request(
            &format!("f {axis}"),
            Some(Expect::Feedback { reference }),
            now,
            out,
        );
        if self.settings.poll_effort {
            self.request(
                &format!("r axis{axis}.motor.current_control.Iq_measured"),
                Some(Expect::Effort),
                now,
                out,
            );
        }
        if now >= self.next_state_read {
            self.request(
                &format!("r axis{axis}.current_state"),
                Some(Expect::State { announce: false }),
                now,
                out,
            );
            self.next_state_read = now + STATE_PERIOD;
        }
        // On schedule, not from the last poll: the rate holds on average
        // through the link's jitter, so the host clock's stride stays the
        // poll period. Far behind (a stalled port), start again from now.
        let period = Duration::from_secs_f64(1.0 / self.poll_hz);
        self.next_poll += period;
        if self.next_poll + period * MAX_POLLS_BEHIND < now {
            self.next_poll = now + period;
        }
    }

    fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        if self.device.is_none() && now < self.drain_until {
            // Keep the tail of a line, so the next line starts clean.
            self.splitter.push(bytes, |_| {});
            return Ok(());
        }
        let mut lines = Vec::new();
        self.splitter
            .push(bytes, |line| lines.push(line.map(<[u8]>::to_vec)));
        for line in lines {
            self.handle_line(line.as_deref().map_err(|e| *e), now, tally, emit)?;
        }
        Ok(())
    }

    fn encode(
        &mut self,
        command: &Command,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Unsupported> {
        let axis = self.settings.axis;
        match *command {
            Command::Hello => {}
            Command::Get { index } => {
                if usize::from(index) >= PARAMS.len() {
                    return Err(Unsupported);
                }
                self.read_param(index, Some(command.type_code()), now, out);
            }
            Command::Set { index, value } => {
                let Some(&(_, _, flags, ..)) = PARAMS.get(usize::from(index)) else {
                    return Err(Unsupported);
                };
                if ParamFlags(flags).read_only() || !value.is_finite() {
                    return Err(Unsupported);
                }
                if index == INPUT_POS_INDEX {
                    // `p` also selects position control and feeds the
                    // watchdog, as a setpoint stream should.
                    self.request(&format!("p {axis} {value}"), None, now, out);
                    self.reference = value;
                } else if let Some(property) = self.property(index) {
                    self.request(&format!("w {property} {value}"), None, now, out);
                }
                self.read_param(index, Some(command.type_code()), now, out);
            }
            Command::Enable(on) => {
                let state = if on { STATE_CLOSED_LOOP } else { STATE_IDLE };
                if on {
                    // 0.5.x refuses closed loop while an error (such as a
                    // watchdog trip) is latched.
                    self.request(&format!("w axis{axis}.error 0"), None, now, out);
                }
                self.request(
                    &format!("w axis{axis}.requested_state {state}"),
                    None,
                    now,
                    out,
                );
                self.request(
                    &format!("r axis{axis}.current_state"),
                    Some(Expect::State { announce: true }),
                    now,
                    out,
                );
                if on {
                    // Entering closed loop moves input_pos to the position.
                    self.read_param(
                        INPUT_POS_INDEX,
                        Some(
                            Command::Get {
                                index: INPUT_POS_INDEX,
                            }
                            .type_code(),
                        ),
                        now,
                        out,
                    );
                }
            }
            Command::Stream { divider } => {
                self.poll_hz = if divider == 0 {
                    0.0
                } else {
                    self.settings.poll_hz / f64::from(divider)
                };
                self.next_poll = now;
            }
            Command::Ping { .. } => self.request(&format!("u {axis}"), None, now, out),
            Command::Save => self.request("ss", None, now, out),
        }
        Ok(())
    }

    fn device(&self) -> Option<&DeviceInfo> {
        self.device.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::drive::DriveConfig;
    use crate::sim::emulated::EmulatedDevice;
    use crate::sim::firmware::odrive::OdriveSim;

    /// The adapter and the emulator wired back to back, in device time.
    struct Bench {
        adapter: OdriveAdapter,
        device: OdriveSim,
        now: Instant,
        tally: DecodeTally,
        events: Vec<Event>,
    }

    impl Bench {
        fn new(settings: OdriveSettings) -> Self {
            let now = Instant::now();
            let settings = AdapterSettings {
                odrive: settings,
                ..AdapterSettings::default()
            };
            Self {
                adapter: OdriveAdapter::new(&settings, now),
                device: OdriveSim::new(DriveConfig::default()),
                now,
                tally: DecodeTally::default(),
                events: Vec::new(),
            }
        }

        fn deliver(&mut self, bytes: &[u8]) -> Result<(), AdapterError> {
            let events = &mut self.events;
            self.adapter
                .receive(bytes, self.now, &mut self.tally, &mut |e| events.push(e))
        }

        /// `ms` milliseconds, 1 ms at a time: poll, device, replies.
        fn run(&mut self, ms: u64) -> Result<(), AdapterError> {
            for _ in 0..ms {
                let mut out = Vec::new();
                self.adapter.poll(self.now, &mut out);
                self.device.receive(&out);
                self.device.advance(8);
                let reply = self.device.take_output();
                self.deliver(&reply)?;
                self.now += Duration::from_millis(1);
            }
            Ok(())
        }

        /// Runs until `lines` reply lines have been lost on the way, as
        /// through a cable that drops out, after passing `kept` more; then
        /// delivers the rest.
        fn run_losing(&mut self, mut kept: usize, mut lines: usize) {
            while lines > 0 {
                let mut out = Vec::new();
                self.adapter.poll(self.now, &mut out);
                self.device.receive(&out);
                self.device.advance(8);
                let reply = self.device.take_output();
                let mut delivered = Vec::new();
                for line in reply.split_inclusive(|&b| b == b'\n') {
                    if kept > 0 {
                        kept -= 1;
                    } else if lines > 0 {
                        lines -= 1;
                        continue;
                    }
                    delivered.extend_from_slice(line);
                }
                self.deliver(&delivered).expect("delivered");
                self.now += Duration::from_millis(1);
            }
        }

        fn command(&mut self, command: Command) {
            let mut out = Vec::new();
            self.adapter
                .encode(&command, self.now, &mut out)
                .expect("supported");
            self.device.receive(&out);
        }

        fn samples(&self) -> Vec<Vec<f32>> {
            self.events
                .iter()
                .filter_map(|e| match e {
                    Event::Samples { batch, .. } => Some(batch.values.clone()),
                    _ => None,
                })
                .collect()
        }
    }

    #[test]
    fn describes_after_the_version_and_every_property_are_read() {
        let mut bench = Bench::new(OdriveSettings::default());
        bench.run(150).expect("0.5 is compatible");
        let info = bench.adapter.device().expect("described").clone();
        assert_eq!(info.firmware, "0.5");
        assert_eq!(info.loop_hz, 200);
        let roles: Vec<_> = info.channels.iter().map(|c| c.role).collect();
        assert_eq!(
            roles,
            [
                ChannelRole::Reference,
                ChannelRole::Feedback,
                ChannelRole::Other,
                ChannelRole::Effort
            ]
        );
        assert_eq!(info.params[0].name, "controller.config.pos_gain");
        assert_eq!(info.params[0].value, 20.0);
        assert!(info.params[5].flags.setpoint());
        assert!(info.params[8].flags.read_only());
        assert_eq!(bench.device.bad_checksums, 0);
        assert_eq!(bench.tally.checksum_errors, 0);
    }

    #[test]
    fn streams_one_sample_per_feedback_and_effort_pair() {
        let mut bench = Bench::new(OdriveSettings::default());
        bench.run(150).expect("described");
        bench.command(Command::Enable(true));
        bench.command(Command::Stream { divider: 2 });
        bench.command(Command::Set {
            index: INPUT_POS_INDEX,
            value: 0.25,
        });
        bench.run(1000).expect("streams");
        let samples = bench.samples();
        // 100 Hz for one second.
        assert!((95..=101).contains(&samples.len()), "{}", samples.len());
        let last = samples.last().expect("samples");
        assert_eq!(last[0], 0.25, "reference");
        assert!((last[1] - 0.25).abs() < 0.02, "position {last:?}");
        assert!(samples.iter().all(|s| s.len() == 4));
        assert!(samples.iter().any(|s| s[3].abs() > 1.0), "effort moves");
        assert!(bench.events.contains(&Event::Status {
            flags: StatusFlags(StatusFlags::ENABLED),
            tick: 0
        }));
        bench.command(Command::Stream { divider: 0 });
        bench.run(50).expect("stops");
        let before = bench.samples().len();
        bench.run(100).expect("stopped");
        assert_eq!(bench.samples().len(), before, "Stream 0 stops polling");
    }

    #[test]
    fn writes_are_read_back_and_unknown_properties_refused() {
        let mut bench = Bench::new(OdriveSettings::default());
        bench.run(150).expect("described");
        bench.command(Command::Set {
            index: 1,
            value: 0.05,
        });
        bench.run(5).expect("read back");
        assert!(bench.events.contains(&Event::Value {
            index: 1,
            value: 0.05
        }));
        assert_eq!(bench.device.axes[0].vel_gain, 0.05);
        assert_eq!(
            bench.adapter.encode(
                &Command::Set {
                    index: CURRENT_STATE_INDEX,
                    value: 8.0
                },
                bench.now,
                &mut Vec::new()
            ),
            Err(Unsupported)
        );
        // A reply "invalid property" to an app's read is a refusal.
        bench.adapter.due.push_back((
            Expect::Param {
                index: 0,
                answer: Some(Command::Get { index: 0 }.type_code()),
            },
            bench.now,
        ));
        let refusal = format!(
            "invalid property*{}\r\n",
            super::super::line::checksum(b"invalid property")
        );
        bench.deliver(refusal.as_bytes()).expect("a refusal");
        assert!(matches!(
            bench.events.last(),
            Some(Event::Refused {
                code: DeviceErrorCode::BadIndex,
                ..
            })
        ));
    }

    #[test]
    fn corrupted_replies_are_counted_and_never_become_samples() {
        let mut bench = Bench::new(OdriveSettings {
            poll_effort: false,
            ..OdriveSettings::default()
        });
        bench.run(150).expect("described");
        bench.command(Command::Stream { divider: 1 });
        bench.run(100).expect("streams");
        let before = bench.samples().len();
        bench
            .adapter
            .due
            .push_back((Expect::Feedback { reference: 0.0 }, bench.now));
        bench.deliver(b"9.000000 0.000000*99\r\n").expect("counted");
        assert_eq!(bench.tally.checksum_errors, 1);
        bench
            .adapter
            .due
            .push_back((Expect::Feedback { reference: 0.0 }, bench.now));
        // Split across chunks, and without the checksum the request asked.
        bench.deliver(b"9.0000").expect("partial");
        bench.deliver(b"00 1\r\n").expect("counted");
        assert_eq!(bench.tally.checksum_errors, 2);
        assert_eq!(bench.samples().len(), before);
        bench.run(100).expect("streams on");
        // 200 Hz for 0.1 s.
        assert!(bench.samples().len() > before + 15);
        assert!(bench.samples().iter().all(|s| s[1] != 9.0));
    }

    #[test]
    fn replies_lost_in_a_dropout_never_shift_the_next_ones_onto_other_requests() {
        let mut bench = Bench::new(OdriveSettings::default());
        bench.run(150).expect("described");
        bench.command(Command::Stream { divider: 1 });
        bench.run(100).expect("streams");
        // Idle at rest: every true sample has Iq exactly 0, while a
        // `current_state` reply (1, IDLE) taken for Iq would read 1.
        let rest = bench.device.pos_estimate() as f32;
        // Dropouts of one to six replies, each starting and ending at
        // another point of the poll cycle (feedback, Iq, and every 250 ms
        // the state).
        for (kept, dropped) in (0..=2).flat_map(|kept| (1..=6).map(move |n| (kept, n))) {
            let before = bench.samples().len();
            bench.run_losing(kept, dropped);
            // Within the reply timeout and the quiet after it, then 100 ms
            // of polls at 200 a second.
            bench.run(450).expect("streams on");
            let resumed = bench.samples().len() - before;
            assert!(
                resumed >= 15,
                "{resumed} samples after {dropped} lost replies from the {kept}th"
            );
        }
        let samples = bench.samples();
        for sample in &samples {
            assert_eq!(sample[3], 0.0, "a wrong value taken for Iq: {sample:?}");
            assert!(
                (sample[1] - rest).abs() < 1e-3,
                "a wrong position: {sample:?}"
            );
        }
        assert!(bench.tally.message_errors > 0, "the shifts were noticed");
    }

    #[test]
    fn a_state_reply_in_place_of_a_lost_iq_reply_is_not_taken_for_iq() {
        let mut bench = Bench::new(OdriveSettings {
            checksum: false,
            ..OdriveSettings::default()
        });
        bench.run(150).expect("described");
        let errors = bench.tally.message_errors;
        let now = bench.now;
        bench.adapter.due.extend([
            (Expect::Feedback { reference: 0.0 }, now),
            (Expect::Effort, now),
            (Expect::State { announce: false }, now),
        ]);
        // The Iq reply between these two was lost.
        bench
            .deliver(b"0.500000 0.000000\r\n1\r\n")
            .expect("counted");
        assert!(bench.samples().is_empty(), "{:?}", bench.samples());
        assert_eq!(bench.tally.message_errors, errors + 1);
        assert!(bench.adapter.due.is_empty(), "resynchronising");
    }

    #[test]
    fn another_firmware_version_is_refused_and_other_devices_never_describe() {
        let opened = Instant::now();
        let mut adapter = OdriveAdapter::new(&AdapterSettings::default(), opened);
        // Replies left from an earlier client are drained unread.
        let mut tally = DecodeTally::default();
        adapter
            .receive(b"1*49\r\n0*48\r\n", opened, &mut tally, &mut |_| {})
            .expect("drained");
        let now = opened + DRAIN;
        adapter.poll(now, &mut Vec::new());
        let result = adapter.receive(b"0*48\r\n6*54\r\n", now, &mut tally, &mut |_| {});
        assert!(
            matches!(&result, Err(AdapterError::Incompatible(m)) if m.contains("firmware 0.6")),
            "{result:?}"
        );
        // A plain-text sketch printing numbers has no checksums.
        let mut adapter = OdriveAdapter::new(&AdapterSettings::default(), opened);
        let mut out = Vec::new();
        adapter.poll(now, &mut out);
        assert!(out.starts_with(b"r fw_version_major*"));
        assert!(
            out.split(|&b| b == b'\n')
                .all(|l| l.is_empty() || l.starts_with(b"r ")),
            "read-only until described"
        );
        for _ in 0..50 {
            adapter
                .receive(b"0\r\n5\r\n1.0 2.0\r\n", now, &mut tally, &mut |_| {})
                .expect("no error");
        }
        assert!(adapter.device().is_none());
        assert!(tally.checksum_errors > 0);
    }

    #[test]
    fn values_parse_as_the_firmware_prints_them() {
        assert_eq!(parse_value("20.000000"), Some(20.0));
        assert_eq!(parse_value("1234.5000"), Some(1234.5));
        assert_eq!(parse_value("8"), Some(8.0));
        assert_eq!(parse_value("123456789"), None, "a truncated large float");
        assert_eq!(parse_value("nan"), None);
        assert_eq!(parse_value("invalid property"), None);
        assert_eq!(parse_pair("0.5 -1.25"), Some((0.5, -1.25)));
        assert_eq!(parse_pair("0.5"), None);
        assert_eq!(parse_pair("0.5 1 2"), None);
        assert_eq!(parse_pair("inf 1"), None);
    }
}
