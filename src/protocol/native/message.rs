//! Payload layouts of native protocol v1: the host's requests (encoded from
//! and decoded to [`Command`]) and the device's messages ([`DeviceMessage`]).
//!
//! Fields are little-endian; `str` is a u8 length then UTF-8 bytes. Trailing
//! bytes a message does not define are ignored (room for later versions); a
//! payload shorter than its type needs is rejected.

use crate::protocol::Command;

/// Host → device type bytes.
pub mod host_type {
    /// HELLO: describe yourself.
    pub const HELLO: u8 = 0x01;
    /// GET: read a parameter.
    pub const GET: u8 = 0x02;
    /// SET: write a parameter.
    pub const SET: u8 = 0x03;
    /// ENABLE: switch the drive output.
    pub const ENABLE: u8 = 0x04;
    /// STREAM: start, change or stop streaming.
    pub const STREAM: u8 = 0x05;
    /// PING: heartbeat and round-trip probe.
    pub const PING: u8 = 0x06;
    /// SAVE: persist the parameters.
    pub const SAVE: u8 = 0x07;
}

/// Device → host type bytes.
pub mod device_type {
    /// DEVICE: identity and sizes, the first answer to HELLO.
    pub const DEVICE: u8 = 0x81;
    /// CHANNEL: one streamed signal.
    pub const CHANNEL: u8 = 0x82;
    /// PARAM: one parameter.
    pub const PARAM: u8 = 0x83;
    /// VALUE: a parameter's value in force.
    pub const VALUE: u8 = 0x84;
    /// SAMPLES: a batch of streamed samples.
    pub const SAMPLES: u8 = 0x85;
    /// STATUS: the drive's state.
    pub const STATUS: u8 = 0x86;
    /// PONG: the answer to PING.
    pub const PONG: u8 = 0x87;
    /// TEXT: a log line for the user.
    pub const TEXT: u8 = 0x88;
    /// ERROR: a host message was refused.
    pub const ERROR: u8 = 0x8F;
}

/// Bytes of a SAMPLES payload before its values.
pub const SAMPLES_HEADER_LEN: usize = 1 + 4 + 2 + 1;

/// Why a payload could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("empty payload")]
    /// The payload has no type byte.
    Empty,
    #[error("unknown message type 0x{0:02X}")]
    /// The type byte is not one this version defines.
    UnknownType(u8),
    #[error("message 0x{0:02X} is too short")]
    /// The payload is shorter than its type needs.
    TooShort(u8),
    #[error("message 0x{0:02X} holds a string that is not UTF-8")]
    /// A string field is not UTF-8.
    BadText(u8),
}

/// A message from the device.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceMessage {
    /// DEVICE: identity and sizes.
    Device {
        /// The protocol version the device speaks.
        version: u8,
        /// How many CHANNEL messages follow.
        channel_count: u8,
        /// How many PARAM messages follow.
        param_count: u8,
        /// Control-loop rate, ticks per second.
        loop_hz: u32,
        /// Watchdog time in milliseconds; 0 for none.
        watchdog_ms: u16,
        /// The device's name.
        name: String,
        /// Its firmware and version.
        firmware: String,
    },
    /// CHANNEL: one streamed signal.
    Channel {
        /// Its position in every sample.
        index: u8,
        /// Its role's wire code (0 other, 1 reference, 2 feedback, 3 effort).
        role: u8,
        /// Its name.
        name: String,
        /// Its unit.
        unit: String,
    },
    /// PARAM: one parameter.
    Param {
        /// Its index in the device's table.
        index: u8,
        /// The flags byte (`ParamFlags`).
        flags: u8,
        /// The lowest value accepted.
        min: f32,
        /// The highest value accepted.
        max: f32,
        /// The value in force.
        value: f32,
        /// Its name.
        name: String,
        /// Its unit.
        unit: String,
        /// The names of a choice's values from `min` up (flags kind bits
        /// 3); sent after the unit only when there are any.
        choices: Vec<String>,
    },
    /// VALUE: a parameter's value in force.
    Value {
        /// The parameter's index.
        index: u8,
        /// Its value.
        value: f32,
    },
    /// `values` holds every whole f32 after the header; the session, which
    /// knows the channel count, takes `count × channels` of them.
    Samples {
        /// Control-loop tick of the first sample.
        tick: u32,
        /// Ticks between consecutive samples.
        stride: u16,
        /// Samples in the batch.
        count: u8,
        /// Every whole f32 after the header, sample by sample.
        values: Vec<f32>,
    },
    /// STATUS: the drive's state.
    Status {
        /// The status flags byte (`StatusFlags`).
        flags: u8,
        /// The control-loop tick it was sent at.
        tick: u32,
    },
    /// PONG: the answer to PING.
    Pong {
        /// The PING's token.
        token: u32,
    },
    /// TEXT: a log line for the user.
    Text {
        /// Its level's wire code (0 info, 1 warning, 2 error).
        level: u8,
        /// The text.
        message: String,
    },
    /// ERROR: a host message was refused.
    Error {
        /// The refused message's type byte.
        request: u8,
        /// Why (the wire code of `DeviceErrorCode`).
        code: u8,
    },
}

/// Little-endian payload builder.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn f32(mut self, v: f32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Strings longer than 255 bytes are cut at a character boundary.
    fn str(mut self, s: &str) -> Self {
        let mut end = s.len().min(255);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.0.push(end as u8);
        self.0.extend_from_slice(&s.as_bytes()[..end]);
        self
    }
}

/// Little-endian payload reader that fails with the message type on underrun.
struct Reader<'a> {
    kind: u8,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MessageError> {
        if self.rest.len() < n {
            return Err(MessageError::TooShort(self.kind));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, MessageError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, MessageError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, MessageError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32(&mut self) -> Result<f32, MessageError> {
        Ok(f32::from_bits(self.u32()?))
    }
    fn str(&mut self) -> Result<String, MessageError> {
        let len = self.u8()? as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| MessageError::BadText(self.kind))
    }
}

fn split_type(payload: &[u8]) -> Result<(u8, Reader<'_>), MessageError> {
    let (&kind, rest) = payload.split_first().ok_or(MessageError::Empty)?;
    Ok((kind, Reader { kind, rest }))
}

/// The payload of a host request.
///
/// A typed line ([`Command::Text`]) has no native request: it encodes as
/// nothing, and the adapter refuses it before it gets here.
pub fn encode_command(command: &Command) -> Vec<u8> {
    use host_type::*;
    let w = Writer::default();
    match *command {
        Command::Hello => w.u8(HELLO),
        Command::Get { index } => w.u8(GET).u8(index),
        Command::Set { index, value } => w.u8(SET).u8(index).f32(value),
        Command::Enable(on) => w.u8(ENABLE).u8(u8::from(on)),
        Command::Stream { divider } => w.u8(STREAM).u16(divider),
        Command::Ping { token } => w.u8(PING).u32(token),
        Command::Save => w.u8(SAVE),
        Command::Text(_) => w,
    }
    .0
}

/// Reads a host request (the device side of the protocol).
pub fn decode_command(payload: &[u8]) -> Result<Command, MessageError> {
    use host_type::*;
    let (kind, mut r) = split_type(payload)?;
    Ok(match kind {
        HELLO => Command::Hello,
        GET => Command::Get { index: r.u8()? },
        SET => Command::Set {
            index: r.u8()?,
            value: r.f32()?,
        },
        // Only 1 enables: an undefined value must never turn a motor on.
        ENABLE => Command::Enable(r.u8()? == 1),
        STREAM => Command::Stream { divider: r.u16()? },
        PING => Command::Ping { token: r.u32()? },
        SAVE => Command::Save,
        other => return Err(MessageError::UnknownType(other)),
    })
}

impl DeviceMessage {
    /// The payload of this message.
    pub fn encode(&self) -> Vec<u8> {
        use device_type::*;
        let w = Writer::default();
        match self {
            Self::Device {
                version,
                channel_count,
                param_count,
                loop_hz,
                watchdog_ms,
                name,
                firmware,
            } => w
                .u8(DEVICE)
                .u8(*version)
                .u8(*channel_count)
                .u8(*param_count)
                .u32(*loop_hz)
                .u16(*watchdog_ms)
                .str(name)
                .str(firmware),
            Self::Channel {
                index,
                role,
                name,
                unit,
            } => w.u8(CHANNEL).u8(*index).u8(*role).str(name).str(unit),
            Self::Param {
                index,
                flags,
                min,
                max,
                value,
                name,
                unit,
                choices,
            } => {
                let w = w
                    .u8(PARAM)
                    .u8(*index)
                    .u8(*flags)
                    .f32(*min)
                    .f32(*max)
                    .f32(*value)
                    .str(name)
                    .str(unit);
                if choices.is_empty() {
                    w
                } else {
                    choices
                        .iter()
                        .fold(w.u8(choices.len() as u8), |w, choice| w.str(choice))
                }
            }
            Self::Value { index, value } => w.u8(VALUE).u8(*index).f32(*value),
            Self::Samples {
                tick,
                stride,
                count,
                values,
            } => values
                .iter()
                .fold(w.u8(SAMPLES).u32(*tick).u16(*stride).u8(*count), |w, v| {
                    w.f32(*v)
                }),
            Self::Status { flags, tick } => w.u8(STATUS).u8(*flags).u32(*tick),
            Self::Pong { token } => w.u8(PONG).u32(*token),
            Self::Text { level, message } => w.u8(TEXT).u8(*level).str(message),
            Self::Error { request, code } => w.u8(ERROR).u8(*request).u8(*code),
        }
        .0
    }

    /// Reads a device message.
    pub fn decode(payload: &[u8]) -> Result<Self, MessageError> {
        use device_type::*;
        let (kind, mut r) = split_type(payload)?;
        Ok(match kind {
            DEVICE => Self::Device {
                version: r.u8()?,
                channel_count: r.u8()?,
                param_count: r.u8()?,
                loop_hz: r.u32()?,
                watchdog_ms: r.u16()?,
                name: r.str()?,
                firmware: r.str()?,
            },
            CHANNEL => Self::Channel {
                index: r.u8()?,
                role: r.u8()?,
                name: r.str()?,
                unit: r.str()?,
            },
            PARAM => Self::Param {
                index: r.u8()?,
                flags: r.u8()?,
                min: r.f32()?,
                max: r.f32()?,
                value: r.f32()?,
                name: r.str()?,
                unit: r.str()?,
                // A device from before choices ends here.
                choices: if r.rest.is_empty() {
                    Vec::new()
                } else {
                    (0..r.u8()?).map(|_| r.str()).collect::<Result<_, _>>()?
                },
            },
            VALUE => Self::Value {
                index: r.u8()?,
                value: r.f32()?,
            },
            SAMPLES => {
                let tick = r.u32()?;
                let stride = r.u16()?;
                let count = r.u8()?;
                // Whole 4-byte arrays let the conversion compile to a block
                // copy on little-endian hosts.
                let (whole, _) = r.rest.as_chunks::<4>();
                let values = whole.iter().map(|&b| f32::from_le_bytes(b)).collect();
                Self::Samples {
                    tick,
                    stride,
                    count,
                    values,
                }
            }
            STATUS => Self::Status {
                flags: r.u8()?,
                tick: r.u32()?,
            },
            PONG => Self::Pong { token: r.u32()? },
            TEXT => Self::Text {
                level: r.u8()?,
                message: r.str()?,
            },
            ERROR => Self::Error {
                request: r.u8()?,
                code: r.u8()?,
            },
            other => return Err(MessageError::UnknownType(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_device_message() -> Vec<DeviceMessage> {
        vec![
            DeviceMessage::Device {
                version: 1,
                channel_count: 4,
                param_count: 12,
                loop_hz: 10_000,
                watchdog_ms: 500,
                name: "motiontune sim".into(),
                firmware: "0.1.0".into(),
            },
            DeviceMessage::Channel {
                index: 1,
                role: 2,
                name: "position".into(),
                unit: "rad".into(),
            },
            DeviceMessage::Param {
                index: 0,
                flags: 0b0100,
                min: 0.0,
                max: 100.0,
                value: 12.5,
                name: "pos.kp".into(),
                unit: "A/rad".into(),
                choices: Vec::new(),
            },
            DeviceMessage::Param {
                index: 1,
                flags: 0b0111_0000,
                min: 0.0,
                max: 2.0,
                value: 1.0,
                name: "mode".into(),
                unit: String::new(),
                choices: vec!["idle".into(), "position".into(), "velocity".into()],
            },
            DeviceMessage::Value {
                index: 3,
                value: -1.25,
            },
            DeviceMessage::Samples {
                tick: u32::MAX - 1,
                stride: 2,
                count: 2,
                values: vec![1.0, 2.0, 3.0, 4.0],
            },
            DeviceMessage::Status {
                flags: 0b1001,
                tick: 123_456,
            },
            DeviceMessage::Pong { token: 0xDEAD_BEEF },
            DeviceMessage::Text {
                level: 1,
                message: "µ-step ✓".into(),
            },
            DeviceMessage::Error {
                request: 0x03,
                code: 4,
            },
        ]
    }

    #[test]
    fn device_messages_round_trip() {
        for message in every_device_message() {
            let payload = message.encode();
            assert_eq!(DeviceMessage::decode(&payload), Ok(message));
        }
    }

    /// The payload and wire bytes of a `### 6.x` example in PROTOCOL.md.
    fn documented_example(section: &str) -> (Vec<u8>, Vec<u8>) {
        let doc = include_str!("../../../docs/PROTOCOL.md");
        let start = doc.find(section).expect("section in PROTOCOL.md");
        let hex_after = |label: &str| -> Vec<u8> {
            let line = doc[start..]
                .lines()
                .find(|l| l.starts_with(label))
                .expect("line in section");
            line[label.len()..]
                .split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
                .collect()
        };
        (hex_after("payload"), hex_after("wire"))
    }

    #[test]
    fn a_named_choice_reads_as_documented() {
        let (payload, wire) = documented_example("### 6.7 A named choice");
        let message = DeviceMessage::Param {
            index: 6,
            flags: 0x70,
            min: 0.0,
            max: 2.0,
            value: 1.0,
            name: "mode".into(),
            unit: String::new(),
            choices: vec!["off".into(), "position".into(), "velocity".into()],
        };
        assert_eq!(message.encode(), payload);
        assert_eq!(DeviceMessage::decode(&payload), Ok(message));
        let mut framed = Vec::new();
        crate::protocol::native::frame::encode_frame(&payload, &mut framed);
        assert_eq!(framed, wire);
        let kind = crate::protocol::ParamKind::from_wire(0x70, vec!["off".into()]);
        assert_eq!(kind, crate::protocol::ParamKind::Choice(vec!["off".into()]));
    }

    #[test]
    fn commands_round_trip() {
        let commands = [
            Command::Hello,
            Command::Get { index: 7 },
            Command::Set {
                index: 2,
                value: 3.5,
            },
            Command::Enable(true),
            Command::Enable(false),
            Command::Stream { divider: 65535 },
            Command::Ping { token: 42 },
            Command::Save,
        ];
        for command in commands {
            assert_eq!(decode_command(&encode_command(&command)), Ok(command));
        }
    }

    #[test]
    fn set_layout_is_little_endian() {
        let payload = encode_command(&Command::Set {
            index: 0,
            value: 2.5,
        });
        assert_eq!(payload, [0x03, 0x00, 0x00, 0x00, 0x20, 0x40]);
    }

    #[test]
    fn short_payloads_are_rejected_and_trailing_bytes_ignored() {
        for message in every_device_message() {
            let payload = message.encode();
            let kind = payload[0];
            let is_samples = kind == device_type::SAMPLES;
            // A PARAM may end after its unit (a device from before choices).
            let without_choices = match &message {
                DeviceMessage::Param { choices, .. } if !choices.is_empty() => {
                    let mut plain = message.clone();
                    if let DeviceMessage::Param { choices, .. } = &mut plain {
                        choices.clear();
                    }
                    Some(plain)
                }
                _ => None,
            };
            let plain_len = without_choices.as_ref().map(|m| m.encode().len());
            for cut in 1..payload.len() {
                let result = DeviceMessage::decode(&payload[..cut]);
                if is_samples && cut >= SAMPLES_HEADER_LEN {
                    // Fewer values than `count` is the session's call.
                    assert!(result.is_ok());
                } else if Some(cut) == plain_len {
                    assert_eq!(result.as_ref().ok(), without_choices.as_ref());
                } else {
                    assert_eq!(result, Err(MessageError::TooShort(kind)), "cut {cut}");
                }
            }
            let mut longer = payload.clone();
            if matches!(&message, DeviceMessage::Param { choices, .. } if choices.is_empty()) {
                // After the unit comes the count of choices.
                longer.push(0);
            }
            longer.extend_from_slice(&[0xAA, 0xBB, 0xCC]);
            if !is_samples {
                assert_eq!(DeviceMessage::decode(&longer), Ok(message));
            }
        }
        assert_eq!(
            decode_command(&[0x03, 0x00, 0x00]),
            Err(MessageError::TooShort(0x03))
        );
        assert_eq!(decode_command(&[0x01, 0xFF]), Ok(Command::Hello));
        assert_eq!(
            decode_command(&[0x42]),
            Err(MessageError::UnknownType(0x42))
        );
        assert_eq!(DeviceMessage::decode(&[]), Err(MessageError::Empty));
    }

    #[test]
    fn long_strings_are_cut_on_a_char_boundary() {
        let message = DeviceMessage::Text {
            level: 0,
            message: "é".repeat(200),
        };
        match DeviceMessage::decode(&message.encode()) {
            Ok(DeviceMessage::Text { message, .. }) => assert_eq!(message, "é".repeat(127)),
            other => panic!("unexpected {other:?}"),
        }
    }
}
