//! The host's side of a native-protocol conversation: assembles the device
//! description from DEVICE/CHANNEL/PARAM, unwraps the u32 sample tick into
//! device time, and counts samples lost between SAMPLES frames.

use super::message::DeviceMessage;
use crate::protocol::{
    ChannelInfo, ChannelRole, DeviceErrorCode, DeviceInfo, Event, ParamFlags, ParamInfo, ParamKind,
    SampleBatch, StatusFlags, TextLevel,
};

/// Why a device message could not become an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("samples arrived before the device described itself")]
    /// SAMPLES came before the description.
    SamplesBeforeDescription,
    #[error("SAMPLES frame announces {announced} values but holds {held}")]
    /// A SAMPLES frame holds fewer values than its header announces.
    ShortSamples {
        /// Values announced: count × channels.
        announced: usize,
        /// Values held.
        held: usize,
    },
    #[error("SAMPLES frame with stride 0")]
    /// A SAMPLES frame with stride 0.
    ZeroStride,
    #[error("device speaks protocol version {0}, this app speaks 1")]
    /// The device speaks another protocol version.
    UnsupportedVersion(u8),
}

/// A description being assembled from the messages that answer HELLO.
#[derive(Debug)]
struct PendingDescription {
    info: DeviceInfo,
    channels: Vec<Option<ChannelInfo>>,
    params: Vec<Option<ParamInfo>>,
}

impl PendingDescription {
    fn complete(&self) -> Option<DeviceInfo> {
        let channels: Option<Vec<_>> = self.channels.iter().cloned().collect();
        let params: Option<Vec<_>> = self.params.iter().cloned().collect();
        Some(DeviceInfo {
            channels: channels?,
            params: params?,
            ..self.info.clone()
        })
    }
}

/// Host-side state of one native-protocol connection.
#[derive(Debug, Default)]
pub struct HostSession {
    pending: Option<PendingDescription>,
    described: Option<DeviceInfo>,
    /// Last raw tick seen and its unwrapped value.
    last_tick: Option<(u32, i64)>,
    /// Unwrapped tick the next SAMPLES frame should start at.
    expected_tick: Option<i64>,
    /// The divider last sent with STREAM, if any (0 = stopped).
    requested_stride: Option<u16>,
    /// Whether a batch with the requested stride has arrived since.
    stride_confirmed: bool,
}

impl HostSession {
    /// A session waiting for the device's description.
    pub fn new() -> Self {
        Self::default()
    }

    /// The device description, once complete.
    pub fn device(&self) -> Option<&DeviceInfo> {
        self.described.as_ref()
    }

    /// The host sent STREAM with `divider`. The next SAMPLES frame starts a
    /// new run and is not compared with the last one, since the gap that
    /// follows is intended; frames still in flight from the old stream
    /// (another stride, or any after a stop) are dropped, so a recording
    /// never mixes two rates.
    pub fn restart_stream(&mut self, divider: u16) {
        self.expected_tick = None;
        self.requested_stride = Some(divider);
        self.stride_confirmed = false;
    }

    /// Whether a batch with this stride belongs to the stream the host
    /// asked for.
    fn accepts_stride(&mut self, stride: u16) -> bool {
        match self.requested_stride {
            None => true,
            Some(0) => false,
            Some(_) if self.stride_confirmed => true,
            Some(requested) => {
                self.stride_confirmed = stride == requested;
                self.stride_confirmed
            }
        }
    }

    /// Turns a device message into an event, if it completes one.
    pub fn handle(&mut self, message: DeviceMessage) -> Result<Option<Event>, SessionError> {
        Ok(match message {
            DeviceMessage::Device {
                version,
                channel_count,
                param_count,
                loop_hz,
                watchdog_ms,
                name,
                firmware,
            } => {
                if version != 1 {
                    return Err(SessionError::UnsupportedVersion(version));
                }
                self.pending = Some(PendingDescription {
                    info: DeviceInfo {
                        name,
                        firmware,
                        protocol_version: version,
                        loop_hz: loop_hz.max(1),
                        watchdog_ms,
                        channels: Vec::new(),
                        params: Vec::new(),
                        other_axes: Vec::new(),
                    },
                    channels: vec![None; channel_count as usize],
                    params: vec![None; param_count as usize],
                });
                self.last_tick = None;
                self.expected_tick = None;
                self.finish_description()
            }
            DeviceMessage::Channel {
                index,
                role,
                name,
                unit,
            } => {
                if let Some(slot) = self
                    .pending
                    .as_mut()
                    .and_then(|p| p.channels.get_mut(index as usize))
                {
                    *slot = Some(ChannelInfo {
                        name,
                        unit,
                        role: ChannelRole::from_code(role),
                    });
                }
                self.finish_description()
            }
            DeviceMessage::Param {
                index,
                flags,
                min,
                max,
                value,
                name,
                unit,
                choices,
            } => {
                let param = ParamInfo {
                    name,
                    unit,
                    flags: ParamFlags(flags),
                    min,
                    max,
                    value,
                    kind: ParamKind::from_wire(flags, choices),
                };
                if let Some(slot) = self
                    .pending
                    .as_mut()
                    .and_then(|p| p.params.get_mut(index as usize))
                {
                    *slot = Some(param);
                    self.finish_description()
                } else if let Some(known) = self
                    .described
                    .as_mut()
                    .and_then(|d| d.params.get_mut(index as usize))
                {
                    known.value = param.value;
                    Some(Event::Value {
                        index,
                        value: param.value,
                    })
                } else {
                    None
                }
            }
            DeviceMessage::Value { index, value } => {
                if let Some(known) = self
                    .described
                    .as_mut()
                    .and_then(|d| d.params.get_mut(index as usize))
                {
                    known.value = value;
                }
                Some(Event::Value { index, value })
            }
            DeviceMessage::Samples {
                tick,
                stride,
                count,
                values,
            } => {
                if self.described.is_some() && !self.accepts_stride(stride) {
                    return Ok(None);
                }
                Some(self.samples(tick, stride, count, values)?)
            }
            DeviceMessage::Status { flags, tick } => Some(Event::Status {
                flags: StatusFlags(flags),
                tick,
            }),
            DeviceMessage::Pong { token } => Some(Event::Pong { token }),
            DeviceMessage::Text { level, message } => Some(Event::Text {
                level: match level {
                    0 => TextLevel::Info,
                    1 => TextLevel::Warning,
                    _ => TextLevel::Error,
                },
                message,
            }),
            DeviceMessage::Error { request, code } => Some(Event::Refused {
                request,
                code: DeviceErrorCode::from_code(code),
            }),
        })
    }

    fn finish_description(&mut self) -> Option<Event> {
        let info = self.pending.as_ref()?.complete()?;
        self.pending = None;
        self.described = Some(info.clone());
        Some(Event::Described(info))
    }

    fn unwrap_tick(&mut self, tick: u32) -> i64 {
        let unwrapped = match self.last_tick {
            // The signed distance from the last tick handles wrap-around in
            // both directions as long as frames are less than 2^31 ticks apart.
            Some((raw, base)) => base + i64::from(tick.wrapping_sub(raw) as i32),
            None => i64::from(tick),
        };
        self.last_tick = Some((tick, unwrapped));
        unwrapped
    }

    fn samples(
        &mut self,
        tick: u32,
        stride: u16,
        count: u8,
        mut values: Vec<f32>,
    ) -> Result<Event, SessionError> {
        let device = self
            .described
            .as_ref()
            .ok_or(SessionError::SamplesBeforeDescription)?;
        let channel_count = device.channels.len();
        let loop_hz = f64::from(device.loop_hz);
        if stride == 0 {
            return Err(SessionError::ZeroStride);
        }
        let announced = count as usize * channel_count;
        if values.len() < announced {
            return Err(SessionError::ShortSamples {
                announced,
                held: values.len(),
            });
        }
        values.truncate(announced);

        let first = self.unwrap_tick(tick);
        let lost_before = match self.expected_tick {
            Some(expected) if first > expected => ((first - expected) / i64::from(stride)) as u64,
            _ => 0,
        };
        self.expected_tick = Some(first + i64::from(count) * i64::from(stride));
        Ok(Event::Samples {
            batch: SampleBatch {
                first_tick: first,
                stride: u32::from(stride),
                tick_hz: loop_hz,
                channel_count,
                values,
                exact: None,
            },
            lost_before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(session: &mut HostSession, channels: u8) -> DeviceInfo {
        let mut events = vec![];
        let mut messages = vec![DeviceMessage::Device {
            version: 1,
            channel_count: channels,
            param_count: 1,
            loop_hz: 1000,
            watchdog_ms: 0,
            name: "dev".into(),
            firmware: "fw".into(),
        }];
        for index in 0..channels {
            messages.push(DeviceMessage::Channel {
                index,
                role: 0,
                name: format!("ch{index}"),
                unit: String::new(),
            });
        }
        messages.push(DeviceMessage::Param {
            index: 0,
            flags: 0,
            min: 0.0,
            max: 1.0,
            value: 0.5,
            name: "kp".into(),
            unit: String::new(),
            choices: Vec::new(),
        });
        for m in messages {
            events.extend(session.handle(m).expect("valid"));
        }
        match events.as_slice() {
            [Event::Described(info)] => info.clone(),
            other => panic!("expected one description, got {other:?}"),
        }
    }

    fn samples(tick: u32, stride: u16, count: u8, channels: usize) -> DeviceMessage {
        DeviceMessage::Samples {
            tick,
            stride,
            count,
            values: vec![0.0; count as usize * channels],
        }
    }

    fn lost_and_time(event: Option<Event>) -> (u64, f64) {
        match event {
            Some(Event::Samples { batch, lost_before }) => (lost_before, batch.time_of(0)),
            other => panic!("expected samples, got {other:?}"),
        }
    }

    #[test]
    fn description_completes_only_when_everything_arrived() {
        let mut session = HostSession::new();
        let info = describe(&mut session, 3);
        assert_eq!(info.channels.len(), 3);
        assert_eq!(info.params[0].name, "kp");
        assert_eq!(session.device(), Some(&info));
    }

    #[test]
    fn counts_lost_samples_from_tick_gaps() {
        let mut session = HostSession::new();
        describe(&mut session, 2);
        let (lost, _) = lost_and_time(session.handle(samples(100, 2, 5, 2)).expect("ok"));
        assert_eq!(lost, 0);
        // Next expected tick is 110; 120 means 5 samples (stride 2) are missing.
        let (lost, time) = lost_and_time(session.handle(samples(120, 2, 5, 2)).expect("ok"));
        assert_eq!(lost, 5);
        assert!((time - 0.120).abs() < 1e-12);
        let (lost, _) = lost_and_time(session.handle(samples(130, 2, 5, 2)).expect("ok"));
        assert_eq!(lost, 0);
    }

    #[test]
    fn unwraps_tick_wrap_around() {
        let mut session = HostSession::new();
        describe(&mut session, 1);
        let start = u32::MAX - 9;
        let (_, t0) = lost_and_time(session.handle(samples(start, 1, 10, 1)).expect("ok"));
        let (lost, t1) = lost_and_time(session.handle(samples(0, 1, 10, 1)).expect("ok"));
        assert_eq!(lost, 0);
        assert!(
            (t1 - t0 - 0.010).abs() < 1e-9,
            "time must keep rising: {t0} {t1}"
        );
    }

    #[test]
    fn rejects_short_and_early_samples() {
        let mut session = HostSession::new();
        assert_eq!(
            session.handle(samples(0, 1, 1, 1)),
            Err(SessionError::SamplesBeforeDescription)
        );
        describe(&mut session, 2);
        let short = DeviceMessage::Samples {
            tick: 0,
            stride: 1,
            count: 3,
            values: vec![0.0; 5],
        };
        assert_eq!(
            session.handle(short),
            Err(SessionError::ShortSamples {
                announced: 6,
                held: 5
            })
        );
    }

    #[test]
    fn restart_stream_forgets_the_gap() {
        let mut session = HostSession::new();
        describe(&mut session, 1);
        session.handle(samples(0, 1, 10, 1)).expect("ok");
        session.restart_stream(1);
        let (lost, _) = lost_and_time(session.handle(samples(5000, 1, 10, 1)).expect("ok"));
        assert_eq!(lost, 0);
    }

    #[test]
    fn frames_of_the_old_stream_are_dropped_after_a_change() {
        let mut session = HostSession::new();
        describe(&mut session, 1);
        session.restart_stream(1);
        // Still in flight from an earlier stream at divider 10.
        assert_eq!(session.handle(samples(100, 10, 5, 1)), Ok(None));
        let (lost, _) = lost_and_time(session.handle(samples(160, 1, 10, 1)).expect("ok"));
        assert_eq!(lost, 0);
        // Once the new stream is confirmed every frame counts.
        let (lost, _) = lost_and_time(session.handle(samples(180, 1, 10, 1)).expect("ok"));
        assert_eq!(lost, 10);
        session.restart_stream(0);
        assert_eq!(session.handle(samples(190, 1, 10, 1)), Ok(None));
    }
}
