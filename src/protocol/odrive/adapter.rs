//! ODrive 0.5.x as an [`Adapter`]. The firmware streams nothing and its
//! replies carry no request id, so the adapter keeps the requests that
//! expect a reply in order ([`Expect`]) and matches each reply line to the
//! oldest. Writes (`w`, `p`, `u`, `ss`) are never answered on success, so
//! every write is followed by a read of what the firmware holds, and the
//! value the app is told is the one written when the reply confirms it
//! ([`values::confirms`]): the firmware holds exactly what it scanned,
//! whatever digits `r` prints.
//!
//! Samples come from polling `f AXIS` (position in turns, velocity in
//! turns/s), with `motor.current_control.Iq_measured` read in the same
//! batch when effort is polled: one sample per complete batch, nothing
//! held over from an earlier one, timed by its reply's arrival
//! ([`ArrivalClock`]). The reference channel is the `input_pos` the host
//! last commanded or read when the poll was sent: the firmware changes it
//! on a host's command and on entering closed loop, which the adapter
//! reads back before it says the output is on ([`super::axis`]).
//!
//! While the axis switches state, setpoint writes wait: one sent before
//! closed loop begins would be overwritten by its re-seed. With its
//! watchdog on, the adapter feeds it (`u`) five times a timeout, and feeds
//! it before enabling it or changing its timeout: a watchdog enabled with
//! nothing fed trips at once, even idle (fw-v0.5.6 axis.cpp:171-182).
//!
//! Lines the user typed go out so that their replies are never paired
//! with the adapter's requests ([`typed`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::OdriveSettings;
use super::axis::{STATE_CLOSED_LOOP, STATE_IDLE, Transition};
use super::line::{LineSplitter, encode_request};
use super::params::{
    CONTROL_MODE_INDEX, CURRENT_STATE_INDEX, INPUT_POS_INDEX, PARAMS, WATCHDOG_ON_INDEX,
    WATCHDOG_TIMEOUT_INDEX, choice_names,
};
use super::values;
use crate::protocol::adapter::{
    Adapter, AdapterError, AdapterSettings, DecodeTally, Protocol, Unsupported,
};
use crate::protocol::host_clock::{ArrivalClock, HostTiming};
use crate::protocol::{
    ChannelInfo, ChannelRole, Command, DeviceInfo, Event, ParamFlags, ParamInfo, ParamKind,
    TextLevel,
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
/// Feeds of the watchdog per timeout, as the link's heartbeat gives it.
const FEEDS_PER_TIMEOUT: u32 = 5;
/// How long a board saving from 0.5.2 on is left to reboot before it is
/// read again (over UART; on USB its port goes away).
const REBOOT_WAIT: Duration = Duration::from_millis(1500);

/// What a reply that is due will answer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    FirmwareMajor,
    FirmwareMinor,
    FirmwareRevision,
    Param(ParamRead),
    /// `f AXIS`, with the reference in force when it was sent.
    Feedback {
        reference: f32,
    },
    /// `Iq_measured`, completing the sample of the feedback before it.
    Effort,
    /// `current_state`, read every [`STATE_PERIOD`].
    State,
    /// One of a transition's check reads.
    Check {
        generation: u32,
        part: CheckPart,
    },
    /// The one reply line of a typed `r` or `f`, passed on as text.
    Typed,
    /// The other axis's `current_state`, read before saving.
    SaveCheck,
}

/// A parameter read: `answer` names the app's request (Get, or Set read
/// back), none during the handshake; `written` is the value a Set wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
struct ParamRead {
    index: u8,
    answer: Option<u8>,
    written: Option<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CheckPart {
    Requested,
    State,
    Error,
    InputPos,
}

/// Host side of an ODrive ASCII connection.
pub struct OdriveAdapter {
    settings: OdriveSettings,
    splitter: LineSplitter,
    /// Replies due, oldest first, with when each was asked.
    due: VecDeque<(Expect, Instant)>,
    /// fw_version_major, minor and revision, as read.
    firmware: (Option<u8>, Option<u8>, Option<u8>),
    /// Parameter values read during the handshake, as printed.
    values: Vec<Option<(f32, String)>>,
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
    /// Samples completed in the chunk being read, with when each was asked.
    chunk_samples: Vec<(Vec<f32>, Instant)>,
    state: Option<u8>,
    clock: ArrivalClock,
    /// The state switch under way, if any.
    transition: Option<Transition>,
    generation: u32,
    /// Setpoint writes held while the axis switches state.
    deferred: Vec<Command>,
    /// The watchdog's timeout while it is enabled, as last read or written.
    watchdog: Option<f32>,
    next_feed: Instant,
    /// A board saving from 0.5.2 reboots: nothing is sent until then.
    rebooting_until: Option<Instant>,
    /// The other axis was read idle: `ss` goes out with the next poll.
    save_due: bool,
    /// Events to give with the next bytes received.
    pending_events: Vec<Event>,
    /// Lines typed in the console and their replies.
    typing: typed::Typing,
}

impl OdriveAdapter {
    /// An adapter for an ODrive on a port opened at `now`, with the user's settings.
    pub fn new(settings: &AdapterSettings, now: Instant) -> Self {
        let settings = settings.odrive.clone();
        let poll_hz = settings.poll_hz.max(0.1);
        Self {
            clock: ArrivalClock::new(now, Duration::from_secs_f64(1.0 / poll_hz)),
            splitter: LineSplitter::new(settings.checksum),
            settings,
            due: VecDeque::new(),
            firmware: (None, None, None),
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
            chunk_samples: Vec::new(),
            state: None,
            transition: None,
            generation: 0,
            deferred: Vec::new(),
            watchdog: None,
            next_feed: now,
            rebooting_until: None,
            save_due: false,
            pending_events: Vec::new(),
            typing: typed::Typing::default(),
        }
    }

    fn property(&self, index: u8) -> Option<String> {
        PARAMS
            .get(usize::from(index))
            .map(|p| format!("axis{}.{}", self.settings.axis, p.path))
    }

    /// Sends a request; one that expects a reply waits while a resync or
    /// a typed line is under way. Writes go out at once: they have no
    /// reply to misplace, and a disable must not wait.
    fn request(&mut self, text: &str, expect: Option<Expect>, now: Instant, out: &mut Vec<u8>) {
        if let Some(expect) = expect
            && (self.resync_until.is_some() || self.typing())
        {
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
        self.splitter.clear();
        if let Some(transition) = &mut self.transition {
            transition.replies_lost();
        }
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

    fn read_param(
        &mut self,
        index: u8,
        answer: Option<u8>,
        written: Option<f32>,
        now: Instant,
        out: &mut Vec<u8>,
    ) {
        if let Some(property) = self.property(index) {
            let expect = Expect::Param(ParamRead {
                index,
                answer,
                written,
            });
            self.request(&format!("r {property}"), Some(expect), now, out);
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
        let (Some(major), Some(minor), _) = self.firmware else {
            return;
        };
        let Some(read) = self.values.iter().cloned().collect::<Option<Vec<_>>>() else {
            return;
        };
        let params = PARAMS
            .iter()
            .zip(&read)
            .map(|(p, (value, _))| ParamInfo {
                name: p.path.into(),
                unit: p.unit.into(),
                flags: ParamFlags(p.flags),
                min: p.min,
                max: p.max,
                value: *value,
                kind: ParamKind::from_wire(p.flags, choice_names(p.path)),
            })
            .collect();
        let watchdog_on = read[usize::from(WATCHDOG_ON_INDEX)].0 != 0.0;
        let timeout = read[usize::from(WATCHDOG_TIMEOUT_INDEX)].0;
        self.watchdog = watchdog_on.then_some(timeout);
        let info = DeviceInfo {
            name: format!("ODrive axis{}", self.settings.axis),
            firmware: format!("{major}.{minor}"),
            protocol_version: 1,
            loop_hz: self.settings.poll_hz.round().max(1.0) as u32,
            watchdog_ms: if watchdog_on {
                (timeout * 1000.0).clamp(0.0, f32::from(u16::MAX)) as u16
            } else {
                0
            },
            channels: self.channels(),
            params,
            other_axes: Vec::new(),
        };
        self.reference = read[usize::from(INPUT_POS_INDEX)].0;
        self.state = Some(read[usize::from(CURRENT_STATE_INDEX)].0 as u8);
        self.device = Some(info.clone());
        emit(Event::Described(info));
        let lost: Vec<String> = PARAMS
            .iter()
            .zip(&read)
            .filter_map(|(p, (_, text))| {
                values::digits_lost(text).map(|n| format!("{} {text} ({n} digits)", p.path))
            })
            .collect();
        if !lost.is_empty() {
            emit(Event::Text {
                level: TextLevel::Info,
                message: format!(
                    "as read back (the ODrive prints six decimals): {}",
                    lost.join(", ")
                ),
            });
        }
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

    /// The handshake: read-only requests only, until the device has
    /// described itself, so a probe of other firmware changes nothing.
    fn poll_handshake(&mut self, now: Instant, out: &mut Vec<u8>) {
        if now < self.drain_until || !self.due.is_empty() {
            return;
        }
        if self.next_handshake.is_some_and(|at| now < at) {
            return;
        }
        self.request("r fw_version_major", Some(Expect::FirmwareMajor), now, out);
        self.request("r fw_version_minor", Some(Expect::FirmwareMinor), now, out);
        self.request(
            "r fw_version_revision",
            Some(Expect::FirmwareRevision),
            now,
            out,
        );
        for index in 0..PARAMS.len() as u8 {
            if self.values[usize::from(index)].is_none() {
                self.read_param(index, None, None, now, out);
            }
        }
        self.next_handshake = Some(now + HANDSHAKE_PERIOD);
    }

    fn poll_stream(&mut self, now: Instant, out: &mut Vec<u8>) {
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
                Some(Expect::State),
                now,
                out,
            );
            self.next_state_read = now + STATE_PERIOD;
        }
        // On schedule, not from the last poll: the rate holds on average
        // through the link's jitter. Far behind (a stalled port), start
        // again from now.
        let period = Duration::from_secs_f64(1.0 / self.poll_hz);
        self.next_poll += period;
        if self.next_poll + period * MAX_POLLS_BEHIND < now {
            self.next_poll = now + period;
        }
    }
}

impl Adapter for OdriveAdapter {
    fn protocol(&self) -> Protocol {
        Protocol::Odrive
    }

    fn expecting(&self) -> String {
        "an ODrive (firmware 0.5.x) answering `r fw_version_major` over its ASCII protocol".into()
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<u8>) {
        if let Some(until) = self.rebooting_until {
            if now < until {
                return;
            }
            self.rebooting_until = None;
            self.reread_after_reboot(now, out);
        }
        self.expire(now);
        if !self.resync_over(now, out) {
            return;
        }
        if self.device.is_none() {
            self.poll_handshake(now, out);
            return;
        }
        if self.watchdog.is_some() && now >= self.next_feed {
            self.feed(now, out);
        }
        if self.save_due {
            self.save_now(now, out);
            return;
        }
        if !self.typing_over(now, out) {
            return;
        }
        self.poll_transition(now, out);
        self.poll_stream(now, out);
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
        self.pending_events.drain(..).for_each(&mut *emit);
        let mut lines = Vec::new();
        self.splitter
            .push(bytes, |line| lines.push(line.map(<[u8]>::to_vec)));
        for line in lines {
            self.handle_line(line.as_deref().map_err(|e| *e), now, tally, emit)?;
        }
        self.emit_samples(now, emit);
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
                self.read_param(index, Some(command.type_code()), None, now, out);
            }
            Command::Set { index, value } => {
                let Some(param) = PARAMS.get(usize::from(index)) else {
                    return Err(Unsupported);
                };
                if ParamFlags(param.flags).read_only() || !value.is_finite() {
                    return Err(Unsupported);
                }
                if index == INPUT_POS_INDEX && self.transition.is_some() {
                    // Entering closed loop would overwrite it: sent after.
                    self.deferred.push(command.clone());
                    return Ok(());
                }
                let code = command.type_code();
                match index {
                    INPUT_POS_INDEX => {
                        // `p` also selects position control and feeds the
                        // watchdog, as a setpoint stream should.
                        self.request(&format!("p {axis} {value}"), None, now, out);
                        self.reference = value;
                    }
                    // Fed first, so the count is not 0 when it starts.
                    WATCHDOG_ON_INDEX if value != 0.0 => {
                        self.feed(now, out);
                        self.request(&format!("w axis{axis}.{} 1", param.path), None, now, out);
                    }
                    _ => {
                        let path = param.path;
                        self.request(&format!("w axis{axis}.{path} {value}"), None, now, out);
                    }
                }
                if index == WATCHDOG_TIMEOUT_INDEX {
                    // The count holds the old timeout's until the next feed.
                    self.request(&format!("u {axis}"), None, now, out);
                }
                self.read_param(index, Some(code), Some(value), now, out);
                if index == CONTROL_MODE_INDEX {
                    // From 0.5.5 a position mode moves input_pos to the
                    // position (controller.cpp:115-125).
                    let get = Command::Get {
                        index: INPUT_POS_INDEX,
                    };
                    self.read_param(INPUT_POS_INDEX, Some(get.type_code()), None, now, out);
                }
            }
            Command::Enable(on) => {
                let target = if on { STATE_CLOSED_LOOP } else { STATE_IDLE };
                self.generation += 1;
                self.transition = Some(Transition::to(target, self.generation, now));
                // The check goes out with this command, not a poll later.
                self.poll_transition(now, out);
            }
            Command::Stream { divider } => {
                self.poll_hz = if divider == 0 {
                    0.0
                } else {
                    self.settings.poll_hz / f64::from(divider)
                };
                if self.poll_hz > 0.0 {
                    self.clock
                        .expect_period(Duration::from_secs_f64(1.0 / self.poll_hz));
                } else if let Some(stamped) = self.clock.flush() {
                    self.pending_events.push(Event::Samples {
                        batch: stamped.batch,
                        lost_before: stamped.lost_before,
                    });
                }
                self.next_poll = now;
            }
            Command::Ping { .. } => self.request(&format!("u {axis}"), None, now, out),
            Command::Save => self.save(now, out)?,
            Command::Text(ref line) => self.typed(line, now, out)?,
        }
        Ok(())
    }

    fn device(&self) -> Option<&DeviceInfo> {
        self.device.as_ref()
    }

    fn text_refusal(&self, line: &str) -> String {
        self.typed_refusal_line(line)
    }

    fn host_timing(&self) -> Option<HostTiming> {
        self.device.as_ref().map(|_| self.clock.timing())
    }
}

mod replies;
mod switching;
#[cfg(test)]
mod tests;
mod typed;
