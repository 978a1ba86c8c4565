//! A native device with several axes (docs/PROTOCOL.md, "Several axes")
//! shared by the links to its axes: each link speaks the native protocol
//! to a device that is its axis alone, with the axis's channels and
//! parameters under their names without the prefix, plus those every axis
//! shares. The router asks the device to describe itself once and answers
//! each link's HELLO from that description (with the values in force);
//! passes each link's GET and SET on with the device's index; gives each
//! link its axis's channels out of every SAMPLES frame, and each VALUE to
//! the axes that have the parameter; every STATUS and TEXT to every link;
//! each PONG and ERROR to the link that asked. ENABLE and SAVE go to the
//! device as they are: the device has one output, so an axis's ENABLE 0
//! stops every axis. The stream runs at the smallest divider a link asked
//! for, and stops when none wants it.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::{Inboxes, Router};
use crate::protocol::native::axes::{self, Axis};
use crate::protocol::native::frame::CRC16;
use crate::protocol::native::message::host_type;
use crate::protocol::native::{
    DeviceMessage, FrameDecoder, decode_command, encode_command, encode_frame,
};
use crate::protocol::{Command, DeviceErrorCode};

/// How often the device is asked to describe itself while a link waits.
const HELLO_PERIOD: Duration = Duration::from_millis(500);
/// A request the device has not refused within this never will be.
const ANSWER_WINDOW: Duration = Duration::from_secs(1);
/// PINGs remembered for their PONGs.
const PING_MEMORY: usize = 64;

/// A frame from the device that could not be read, passed on as one its
/// links count the same way.
#[derive(Clone, Copy, Debug)]
enum Broken {
    /// Its CRC did not match.
    Crc,
    /// Its framing was broken (stuffing, length).
    Framing,
    /// Whole, but no message: passed on as it came would need its bytes,
    /// so as a message type no device sends.
    Message,
}

impl Broken {
    /// A frame that fails the same way at the link.
    fn encode(self, out: &mut Vec<u8>) {
        match self {
            Self::Crc => {
                // A one-byte payload whose CRC is off by one bit, stuffed
                // by hand: no byte of it may be zero.
                let payload = 0x88u8;
                let crc = CRC16.checksum(&[payload]);
                let wrong = [0x0001u16, 0x0100, 0x0101]
                    .into_iter()
                    .map(|flip| crc ^ flip)
                    .find(|c| c.to_le_bytes().iter().all(|&b| b != 0))
                    .unwrap_or(0x0101);
                let [lo, hi] = wrong.to_le_bytes();
                out.extend_from_slice(&[4, payload, lo, hi, 0]);
            }
            // One byte decoded: too short for a payload and its CRC.
            Self::Framing => out.extend_from_slice(&[2, 1, 0]),
            Self::Message => encode_frame(&[0x7F], out),
        }
    }
}

/// The device's description as it gave it, values kept current.
struct Description {
    device: DeviceMessage,
    channels: Vec<DeviceMessage>,
    params: Vec<DeviceMessage>,
    axes: Vec<Axis>,
}

/// A description being assembled from the messages that answer HELLO.
struct Pending {
    device: DeviceMessage,
    channels: Vec<Option<DeviceMessage>>,
    params: Vec<Option<DeviceMessage>>,
}

/// One axis's link, as the router sees it.
#[derive(Default)]
struct End {
    from_link: FrameDecoder,
    /// It sent HELLO and has not been described yet.
    wants_description: bool,
    /// The divider it asked for; 0 for no stream.
    divider: u16,
}

/// The router between a native device's port and the links to its axes.
#[derive(Default)]
pub struct NativeAxes {
    from_device: FrameDecoder,
    described: Option<Description>,
    pending: Option<Pending>,
    hello_sent: Option<Instant>,
    ends: BTreeMap<String, End>,
    /// The divider the device streams at; 0 for none.
    streaming: u16,
    /// PINGs passed on: the device's token, the axis and its token.
    pings: VecDeque<(u32, String, u32)>,
    next_token: u32,
    /// Requests passed on that an ERROR may refuse: type, axis, when.
    asked: VecDeque<(u8, String, Instant)>,
}

fn deliver(inboxes: &mut Inboxes, axis: &str, message: &DeviceMessage) {
    if let Some(inbox) = inboxes.get_mut(axis) {
        encode_frame(&message.encode(), inbox);
    }
}

impl NativeAxes {
    pub fn new() -> Self {
        Self::default()
    }

    fn axis(&self, name: &str) -> Option<&Axis> {
        self.described
            .as_ref()
            .and_then(|d| d.axes.iter().find(|a| a.name == name))
    }

    /// `axis`'s description, as the device would give it alone.
    fn describe(&self, axis: &str, inboxes: &mut Inboxes) {
        let Some(description) = &self.described else {
            return;
        };
        let Some(found) = description.axes.iter().find(|a| a.name == axis) else {
            let names: Vec<&str> = description.axes.iter().map(|a| a.name.as_str()).collect();
            let message = if names.is_empty() {
                "this device names no axes: connect to it without one".to_owned()
            } else {
                format!(
                    "this device has no axis {axis:?}: its axes are {}",
                    names.join(", ")
                )
            };
            deliver(inboxes, axis, &DeviceMessage::Text { level: 2, message });
            return;
        };
        let DeviceMessage::Device {
            version,
            loop_hz,
            watchdog_ms,
            name,
            firmware,
            ..
        } = &description.device
        else {
            return;
        };
        deliver(
            inboxes,
            axis,
            &DeviceMessage::Device {
                version: *version,
                channel_count: found.channels.len() as u8,
                param_count: found.params.len() as u8,
                loop_hz: *loop_hz,
                watchdog_ms: *watchdog_ms,
                name: format!("{name} {axis}"),
                firmware: firmware.clone(),
            },
        );
        for (local, &index) in (0u8..).zip(&found.channels) {
            if let Some(DeviceMessage::Channel {
                role, name, unit, ..
            }) = description.channels.get(usize::from(index))
            {
                let message = DeviceMessage::Channel {
                    index: local,
                    role: *role,
                    name: found.local_name(name).to_owned(),
                    unit: unit.clone(),
                };
                deliver(inboxes, axis, &message);
            }
        }
        for (local, &index) in (0u8..).zip(&found.params) {
            if let Some(DeviceMessage::Param {
                flags,
                min,
                max,
                value,
                name,
                unit,
                choices,
                ..
            }) = description.params.get(usize::from(index))
            {
                let message = DeviceMessage::Param {
                    index: local,
                    flags: *flags,
                    min: *min,
                    max: *max,
                    value: *value,
                    name: found.local_name(name).to_owned(),
                    unit: unit.clone(),
                    choices: choices.clone(),
                };
                deliver(inboxes, axis, &message);
            }
        }
    }

    /// A request from `axis`'s link, passed on with the device's indices.
    fn request(
        &mut self,
        axis: &str,
        command: Command,
        now: Instant,
        out: &mut Vec<u8>,
        inboxes: &mut Inboxes,
    ) {
        let device_index = |local: u8| -> Option<u8> {
            let found = self.axis(axis)?;
            found.params.get(usize::from(local)).copied()
        };
        let passed = match command {
            Command::Hello => {
                if self.described.is_some() {
                    self.describe(axis, inboxes);
                } else if let Some(end) = self.ends.get_mut(axis) {
                    end.wants_description = true;
                    if self.hello_sent.is_none_or(|at| now >= at + HELLO_PERIOD) {
                        self.hello_sent = Some(now);
                        encode_frame(&encode_command(&Command::Hello), out);
                    }
                }
                return;
            }
            Command::Get { index } => device_index(index).map(|index| Command::Get { index }),
            Command::Set { index, value } => {
                device_index(index).map(|index| Command::Set { index, value })
            }
            Command::Stream { divider } => {
                if let Some(end) = self.ends.get_mut(axis) {
                    end.divider = divider;
                }
                self.restream(out);
                return;
            }
            Command::Ping { token } => {
                let mine = self.next_token;
                self.next_token = self.next_token.wrapping_add(1);
                if self.pings.len() >= PING_MEMORY {
                    self.pings.pop_front();
                }
                self.pings.push_back((mine, axis.to_owned(), token));
                Some(Command::Ping { token: mine })
            }
            Command::Enable(_) | Command::Save => Some(command.clone()),
            Command::Text(_) => None,
        };
        let kind = command.type_code();
        match passed {
            Some(command) => {
                self.asked.push_back((kind, axis.to_owned(), now));
                encode_frame(&encode_command(&command), out);
            }
            None => deliver(
                inboxes,
                axis,
                &DeviceMessage::Error {
                    request: kind,
                    code: DeviceErrorCode::BadIndex.code(),
                },
            ),
        }
    }

    /// Streams at the smallest divider a link asked for, or stops.
    fn restream(&mut self, out: &mut Vec<u8>) {
        let divider = self
            .ends
            .values()
            .map(|end| end.divider)
            .filter(|&d| d > 0)
            .min()
            .unwrap_or(0);
        if divider != self.streaming {
            self.streaming = divider;
            encode_frame(&encode_command(&Command::Stream { divider }), out);
        }
    }

    /// A message from the device, handed to the links it is for.
    fn on_message(&mut self, message: DeviceMessage, now: Instant, inboxes: &mut Inboxes) {
        match message {
            DeviceMessage::Device {
                channel_count,
                param_count,
                ..
            } => {
                self.pending = Some(Pending {
                    device: message,
                    channels: vec![None; usize::from(channel_count)],
                    params: vec![None; usize::from(param_count)],
                });
                self.finish_description(inboxes);
            }
            DeviceMessage::Channel { index, .. } => {
                if let Some(slot) = self
                    .pending
                    .as_mut()
                    .and_then(|p| p.channels.get_mut(usize::from(index)))
                {
                    *slot = Some(message);
                    self.finish_description(inboxes);
                }
            }
            DeviceMessage::Param { index, value, .. } => {
                if let Some(slot) = self
                    .pending
                    .as_mut()
                    .and_then(|p| p.params.get_mut(usize::from(index)))
                {
                    *slot = Some(message);
                    self.finish_description(inboxes);
                } else {
                    self.value(index, value, inboxes);
                }
            }
            DeviceMessage::Value { index, value } => self.value(index, value, inboxes),
            DeviceMessage::Samples {
                tick,
                stride,
                count,
                ref values,
            } => {
                let Some(description) = &self.described else {
                    return;
                };
                let width = description.channels.len();
                for axis in &description.axes {
                    let values = values
                        .chunks_exact(width.max(1))
                        .take(usize::from(count))
                        .flat_map(|sample| axis.channels.iter().map(|&c| sample[usize::from(c)]))
                        .collect();
                    let samples = DeviceMessage::Samples {
                        tick,
                        stride,
                        count,
                        values,
                    };
                    deliver(inboxes, &axis.name, &samples);
                }
            }
            DeviceMessage::Pong { token } => {
                if let Some(at) = self.pings.iter().position(|(mine, ..)| *mine == token) {
                    let (_, axis, token) = self.pings.remove(at).unwrap_or_default();
                    deliver(inboxes, &axis, &DeviceMessage::Pong { token });
                }
            }
            DeviceMessage::Error { request, .. } => {
                self.asked
                    .retain(|(_, _, at)| now.duration_since(*at) <= ANSWER_WINDOW);
                match self.asked.iter().position(|(kind, ..)| *kind == request) {
                    Some(at) => {
                        if let Some((_, axis, _)) = self.asked.remove(at) {
                            deliver(inboxes, &axis, &message);
                        }
                    }
                    None => self.to_every_axis(&message, inboxes),
                }
            }
            DeviceMessage::Status { .. } | DeviceMessage::Text { .. } => {
                self.to_every_axis(&message, inboxes);
            }
        }
    }

    fn to_every_axis(&self, message: &DeviceMessage, inboxes: &mut Inboxes) {
        let axes: Vec<String> = inboxes.keys().cloned().collect();
        for axis in axes {
            deliver(inboxes, &axis, message);
        }
    }

    /// A parameter's value in force: kept, and given to every axis that
    /// has the parameter under its own index.
    fn value(&mut self, index: u8, value: f32, inboxes: &mut Inboxes) {
        let Some(description) = &mut self.described else {
            return;
        };
        if let Some(DeviceMessage::Param { value: known, .. }) =
            description.params.get_mut(usize::from(index))
        {
            *known = value;
        }
        for axis in &description.axes {
            if let Some(local) = Axis::local(&axis.params, index) {
                let message = DeviceMessage::Value {
                    index: local,
                    value,
                };
                deliver(inboxes, &axis.name, &message);
            }
        }
        if let Some(at) = self
            .asked
            .iter()
            .position(|(kind, ..)| matches!(*kind, host_type::GET | host_type::SET))
        {
            self.asked.remove(at);
        }
    }

    /// Completes the description once every channel and parameter came,
    /// and answers the links waiting for it.
    fn finish_description(&mut self, inboxes: &mut Inboxes) {
        let Some(pending) = &self.pending else {
            return;
        };
        let channels: Option<Vec<DeviceMessage>> = pending.channels.iter().cloned().collect();
        let params: Option<Vec<DeviceMessage>> = pending.params.iter().cloned().collect();
        let (Some(channels), Some(params)) = (channels, params) else {
            return;
        };
        let channel_names = channels.iter().filter_map(|c| match c {
            DeviceMessage::Channel { name, role, .. } => Some((name.as_str(), *role == 2)),
            _ => None,
        });
        let param_names = params.iter().filter_map(|p| match p {
            DeviceMessage::Param { name, .. } => Some(name.as_str()),
            _ => None,
        });
        let axes = axes::axes(channel_names, param_names);
        let Some(pending) = self.pending.take() else {
            return;
        };
        self.described = Some(Description {
            device: pending.device,
            channels,
            params,
            axes,
        });
        let waiting: Vec<String> = self
            .ends
            .iter_mut()
            .filter_map(|(axis, end)| std::mem::take(&mut end.wants_description).then_some(axis))
            .cloned()
            .collect();
        for axis in waiting {
            self.describe(&axis, inboxes);
        }
    }
}

impl Router for NativeAxes {
    fn kind(&self) -> &'static str {
        "native axes"
    }

    fn attach(&mut self, axis: &str) {
        self.ends.insert(axis.to_owned(), End::default());
    }

    fn detach(&mut self, axis: &str, _out: &mut Vec<u8>) {
        self.ends.remove(axis);
        self.pings.retain(|(_, owner, _)| owner != axis);
        self.asked.retain(|(_, owner, _)| owner != axis);
    }

    fn write(
        &mut self,
        axis: &str,
        bytes: &[u8],
        now: Instant,
        out: &mut Vec<u8>,
        inboxes: &mut Inboxes,
    ) {
        let Some(end) = self.ends.get_mut(axis) else {
            return;
        };
        let mut commands = Vec::new();
        end.from_link.push(bytes, |frame| {
            if let Ok(command) = frame
                .map_err(|_| ())
                .and_then(|p| decode_command(p).map_err(|_| ()))
            {
                commands.push(command);
            }
        });
        for command in commands {
            self.request(axis, command, now, out, inboxes);
        }
    }

    fn poll(&mut self, _now: Instant, _out: &mut Vec<u8>) {}

    fn read(&mut self, bytes: &[u8], now: Instant, inboxes: &mut Inboxes) {
        let mut messages = Vec::new();
        self.from_device.push(bytes, |frame| {
            messages.push(match frame {
                Ok(payload) => DeviceMessage::decode(payload).map_err(|_| Broken::Message),
                Err(error) if error.is_crc() => Err(Broken::Crc),
                Err(_) => Err(Broken::Framing),
            });
        });
        for message in messages {
            match message {
                Ok(message) => self.on_message(message, now, inboxes),
                // Nobody can say whose it was: every axis's link counts
                // it, as it would on a port of its own.
                Err(broken) => inboxes.values_mut().for_each(|inbox| broken.encode(inbox)),
            }
        }
    }
}
