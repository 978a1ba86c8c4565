//! The simulated drive's firmware: it parses host frames, answers every
//! request of native protocol v1, batches samples into SAMPLES frames and
//! runs the watchdog, all in device time. It does no I/O: bytes go in with
//! [`SimDevice::receive`], time moves with [`SimDevice::advance`], and the
//! bytes it sends are taken with [`SimDevice::take_output`]; every change
//! of the output's state, with its device time and cause, with
//! [`SimDevice::take_output_changes`]; and every SET it received, as sent,
//! with [`SimDevice::sets_received`], so a test can tell exactly what a
//! host wrote.

use std::collections::VecDeque;
use std::fmt;

use super::drive::{CHANNEL_COUNT, DriveConfig, SimDrive, WriteRefusal};
use super::emulated::EmulatedDevice;
use crate::protocol::Command;
use crate::protocol::native::frame::{FrameDecoder, MAX_PAYLOAD, encode_frame};
use crate::protocol::native::message::{
    DeviceMessage, MessageError, SAMPLES_HEADER_LEN, decode_command, host_type,
};
use crate::protocol::{DeviceErrorCode, ParamFlags, StatusFlags};

/// How the simulated device presents itself.
#[derive(Clone, Debug)]
pub struct DeviceSettings {
    pub loop_hz: u32,
    pub watchdog_ms: u16,
    /// Longest a sample waits in a half-full SAMPLES frame, in seconds of
    /// device time.
    pub max_batch_latency_s: f64,
    /// The tick counter's starting value (to exercise wrap-around).
    pub first_tick: u32,
    /// Enable the output when a host says HELLO, as a bench drive wired to
    /// arm on connection does (off by default: a drive starts disabled).
    pub enable_on_hello: bool,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            loop_hz: 10_000,
            watchdog_ms: 500,
            max_batch_latency_s: 0.010,
            first_tick: 0,
            enable_on_hello: false,
        }
    }
}

/// Why the drive's output changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputCause {
    /// The host sent ENABLE with this state.
    HostEnable,
    /// The host said HELLO and the device enables on connection.
    Hello,
    /// No valid host frame for the watchdog time.
    Watchdog,
}

/// One change of the output's state, in device time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputChange {
    pub enabled: bool,
    pub cause: OutputCause,
    /// Device time of the change, seconds (tick / loop rate).
    pub time_s: f64,
    /// The watchdog time in force, for the message.
    pub watchdog_ms: u16,
}

impl fmt::Display for OutputChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.enabled { "enabled" } else { "disabled" };
        write!(f, "output {state} at device time {:.4} s: ", self.time_s)?;
        match self.cause {
            OutputCause::HostEnable => write!(f, "host sent ENABLE {}", u8::from(self.enabled)),
            OutputCause::Hello => write!(f, "host said HELLO (enable on connect)"),
            OutputCause::Watchdog => {
                write!(f, "watchdog (no host frame for {} ms)", self.watchdog_ms)
            }
        }
    }
}

/// Output changes kept until taken; older ones are dropped past this, so a
/// device whose changes nobody reads stays bounded.
const OUTPUT_CHANGES_KEPT: usize = 256;

/// SETs kept for [`SimDevice::sets_received`]; older ones are dropped past
/// this, so a device written for hours stays bounded.
const SETS_KEPT: usize = 4096;

/// Name the simulated drive reports in DEVICE.
pub const DEVICE_NAME: &str = "motiontune simulated drive";

/// The simulated drive's firmware.
pub struct SimDevice {
    pub drive: SimDrive,
    settings: DeviceSettings,
    decoder: FrameDecoder,
    output: Vec<u8>,
    tick: u32,
    /// Ticks since the last valid host frame.
    ticks_since_host: u64,
    watchdog_tripped: bool,
    stream_divider: u16,
    ticks_to_next_sample: u16,
    batch: Vec<f32>,
    batch_first_tick: u32,
    batch_age_ticks: u32,
    /// Frames the device dropped (bad CRC, stuffing, length).
    pub bad_frames: u64,
    output_changes: VecDeque<OutputChange>,
    /// Every SET received (index, value as sent), the newest [`SETS_KEPT`].
    sets_received: VecDeque<(u8, f32)>,
}

impl SimDevice {
    pub fn new(config: DriveConfig, settings: DeviceSettings) -> Self {
        Self {
            drive: SimDrive::new(config),
            tick: settings.first_tick,
            settings,
            decoder: FrameDecoder::new(),
            output: Vec::new(),
            ticks_since_host: 0,
            watchdog_tripped: false,
            stream_divider: 0,
            ticks_to_next_sample: 0,
            batch: Vec::new(),
            batch_first_tick: 0,
            batch_age_ticks: 0,
            bad_frames: 0,
            output_changes: VecDeque::new(),
            sets_received: VecDeque::new(),
        }
    }

    pub fn settings(&self) -> &DeviceSettings {
        &self.settings
    }

    /// Whether the output is enabled.
    pub fn enabled(&self) -> bool {
        self.drive.enabled()
    }

    pub fn watchdog_tripped(&self) -> bool {
        self.watchdog_tripped
    }

    /// The STREAM divider in force: 0 while the device does not stream.
    pub fn stream_divider(&self) -> u16 {
        self.stream_divider
    }

    /// Device time now, seconds (the tick counter over the loop rate).
    pub fn time_s(&self) -> f64 {
        f64::from(self.tick) / f64::from(self.settings.loop_hz)
    }

    /// Changes of the output's state since the last call, oldest first.
    pub fn take_output_changes(&mut self) -> Vec<OutputChange> {
        self.output_changes.drain(..).collect()
    }

    /// The SETs received so far (index, value as the host sent it), oldest
    /// first; whether the device took them or not.
    pub fn sets_received(&self) -> Vec<(u8, f32)> {
        self.sets_received.iter().copied().collect()
    }

    /// Switches the output, noting the change (if it is one) and why.
    fn set_output(&mut self, enabled: bool, cause: OutputCause) {
        let changed = enabled != self.drive.enabled();
        let modes_before = self.drive.modes();
        self.drive.set_enabled(enabled);
        self.report_mode_ends(modes_before);
        if !changed {
            return;
        }
        if self.output_changes.len() >= OUTPUT_CHANGES_KEPT {
            self.output_changes.pop_front();
        }
        self.output_changes.push_back(OutputChange {
            enabled,
            cause,
            time_s: self.time_s(),
            watchdog_ms: self.settings.watchdog_ms,
        });
    }

    /// Says `relay.active` or `excite.active` is 0 when the drive left that
    /// mode by itself, as a device does when it changes a parameter on its
    /// own.
    fn report_mode_ends(&mut self, before: [(u8, bool); 2]) {
        for ((index, was_active), (_, active)) in before.into_iter().zip(self.drive.modes()) {
            if was_active && !active {
                self.send(DeviceMessage::Value { index, value: 0.0 });
            }
        }
    }

    /// Bytes the device has sent since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    fn send(&mut self, message: DeviceMessage) {
        encode_frame(&message.encode(), &mut self.output);
    }

    fn status_flags(&self) -> u8 {
        let mut flags = 0;
        if self.drive.enabled() {
            flags |= StatusFlags::ENABLED;
        }
        if self.watchdog_tripped {
            flags |= StatusFlags::WATCHDOG;
        }
        if self.drive.saturated() {
            flags |= StatusFlags::SATURATED;
        }
        flags
    }

    fn send_status(&mut self) {
        self.send(DeviceMessage::Status {
            flags: self.status_flags(),
            tick: self.tick,
        });
    }

    fn refuse(&mut self, request: u8, code: DeviceErrorCode) {
        self.send(DeviceMessage::Error {
            request,
            code: code.code(),
        });
    }

    /// Bytes from the host.
    pub fn receive(&mut self, bytes: &[u8]) {
        let mut payloads = Vec::new();
        let mut bad = 0;
        self.decoder.push(bytes, |frame| match frame {
            Ok(payload) => payloads.push(payload.to_vec()),
            Err(_) => bad += 1,
        });
        self.bad_frames += bad;
        for payload in payloads {
            // Any valid frame feeds the watchdog, even one we refuse.
            self.ticks_since_host = 0;
            match decode_command(&payload) {
                Ok(command) => self.execute(command),
                Err(MessageError::UnknownType(kind)) => {
                    self.refuse(kind, DeviceErrorCode::UnknownType)
                }
                Err(MessageError::TooShort(kind)) => self.refuse(kind, DeviceErrorCode::BadLength),
                Err(MessageError::Empty | MessageError::BadText(_)) => {}
            }
        }
    }

    fn execute(&mut self, command: Command) {
        match command {
            Command::Hello => {
                self.describe();
                if self.settings.enable_on_hello && !self.drive.enabled() {
                    self.watchdog_tripped = false;
                    self.set_output(true, OutputCause::Hello);
                    self.send_status();
                }
            }
            Command::Get { index } => match self.drive.param(index) {
                Some(value) => self.send(DeviceMessage::Value { index, value }),
                None => self.refuse(host_type::GET, DeviceErrorCode::BadIndex),
            },
            Command::Set { index, value } => {
                if self.sets_received.len() >= SETS_KEPT {
                    self.sets_received.pop_front();
                }
                self.sets_received.push_back((index, value));
                let resonance_before = self.drive.param(super::drive::RESONANCE_INDEX);
                match self.drive.set_param(index, value) {
                    Ok(value) => {
                        self.send(DeviceMessage::Value { index, value });
                        // A plant change moves the derived resonance: say so,
                        // as a device does when it changes a parameter itself.
                        let resonance = self.drive.param(super::drive::RESONANCE_INDEX);
                        if let (Some(now), true) = (resonance, resonance != resonance_before) {
                            self.send(DeviceMessage::Value {
                                index: super::drive::RESONANCE_INDEX,
                                value: now,
                            });
                        }
                    }
                    Err(WriteRefusal::ReadOnly) => {
                        self.refuse(host_type::SET, DeviceErrorCode::ReadOnly)
                    }
                    Err(WriteRefusal::BadIndex) => {
                        self.refuse(host_type::SET, DeviceErrorCode::BadIndex)
                    }
                }
            }
            Command::Enable(on) => {
                if on {
                    self.watchdog_tripped = false;
                }
                self.set_output(on, OutputCause::HostEnable);
                self.send_status();
            }
            Command::Stream { divider } => {
                self.flush_batch();
                self.stream_divider = divider;
                self.ticks_to_next_sample = 0;
                self.send_status();
            }
            Command::Ping { token } => self.send(DeviceMessage::Pong { token }),
            Command::Save => self.refuse(host_type::SAVE, DeviceErrorCode::Unsupported),
            // Never decoded: the native protocol has no request for it.
            Command::Text(_) => {}
        }
    }

    fn describe(&mut self) {
        let channels = SimDrive::channels();
        let params = self.drive.params();
        self.send(DeviceMessage::Device {
            version: 1,
            channel_count: channels.len() as u8,
            param_count: params.len() as u8,
            loop_hz: self.settings.loop_hz,
            watchdog_ms: self.settings.watchdog_ms,
            name: DEVICE_NAME.into(),
            firmware: concat!("motiontune-sim ", env!("CARGO_PKG_VERSION")).into(),
        });
        for (index, channel) in channels.into_iter().enumerate() {
            self.send(DeviceMessage::Channel {
                index: index as u8,
                role: channel.role.code(),
                name: channel.name,
                unit: channel.unit,
            });
        }
        for (index, param) in params.into_iter().enumerate() {
            self.send(DeviceMessage::Param {
                index: index as u8,
                flags: (param.flags.0 & !ParamFlags::KIND_MASK) | param.kind.wire_bits(),
                choices: param.kind.names().to_vec(),
                min: param.min,
                max: param.max,
                value: param.value,
                name: param.name,
                unit: param.unit,
            });
        }
    }

    fn samples_per_frame() -> usize {
        (MAX_PAYLOAD - SAMPLES_HEADER_LEN) / (4 * CHANNEL_COUNT)
    }

    fn flush_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let values = std::mem::take(&mut self.batch);
        let count = (values.len() / CHANNEL_COUNT) as u8;
        self.send(DeviceMessage::Samples {
            tick: self.batch_first_tick,
            stride: self.stream_divider.max(1),
            count,
            values,
        });
        self.batch_age_ticks = 0;
    }

    /// Runs the control loop for `ticks` ticks.
    pub fn advance(&mut self, ticks: u64) {
        let dt = 1.0 / f64::from(self.settings.loop_hz);
        let watchdog_ticks =
            u64::from(self.settings.watchdog_ms) * u64::from(self.settings.loop_hz) / 1000;
        let per_frame = Self::samples_per_frame();
        let max_age_ticks =
            ((self.settings.max_batch_latency_s * f64::from(self.settings.loop_hz)) as u32).max(1);
        for _ in 0..ticks {
            let modes_before = self.drive.modes();
            let sample = self.drive.tick(dt);
            self.report_mode_ends(modes_before);
            if self.stream_divider > 0 {
                if self.ticks_to_next_sample == 0 {
                    if self.batch.is_empty() {
                        self.batch_first_tick = self.tick;
                    }
                    self.batch.extend_from_slice(&sample.as_array());
                    self.ticks_to_next_sample = self.stream_divider;
                }
                self.ticks_to_next_sample -= 1;
                if !self.batch.is_empty() {
                    self.batch_age_ticks += 1;
                }
                if self.batch.len() / CHANNEL_COUNT >= per_frame
                    || self.batch_age_ticks >= max_age_ticks
                {
                    self.flush_batch();
                }
            }
            self.tick = self.tick.wrapping_add(1);
            // Checked at the end of the tick, so the trip's device time is
            // the watchdog time after the last host frame, to the tick.
            self.ticks_since_host += 1;
            if watchdog_ticks > 0 && self.drive.enabled() && self.ticks_since_host >= watchdog_ticks
            {
                self.set_output(false, OutputCause::Watchdog);
                self.watchdog_tripped = true;
                self.send_status();
            }
        }
    }
}

impl EmulatedDevice for SimDevice {
    fn loop_hz(&self) -> u32 {
        self.settings.loop_hz
    }

    fn receive(&mut self, bytes: &[u8]) {
        SimDevice::receive(self, bytes);
    }

    fn advance(&mut self, ticks: u64) {
        SimDevice::advance(self, ticks);
    }

    fn take_output(&mut self) -> Vec<u8> {
        SimDevice::take_output(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::native::{FrameDecoder, encode_command};
    use crate::sim::drive::{EXCITE_ACTIVE_INDEX, RELAY_ACTIVE_INDEX};

    fn send(device: &mut SimDevice, command: Command) {
        let mut wire = Vec::new();
        encode_frame(&encode_command(&command), &mut wire);
        device.receive(&wire);
    }

    fn replies(device: &mut SimDevice) -> Vec<DeviceMessage> {
        let mut decoder = FrameDecoder::new();
        let mut out = Vec::new();
        decoder.push(&device.take_output(), |frame| {
            out.push(DeviceMessage::decode(frame.expect("device frames are valid")).expect("valid"))
        });
        out
    }

    #[test]
    fn hello_is_answered_with_the_full_description() {
        let mut device = SimDevice::new(DriveConfig::default(), DeviceSettings::default());
        send(&mut device, Command::Hello);
        let messages = replies(&mut device);
        assert!(matches!(
            messages[0],
            DeviceMessage::Device {
                channel_count: 8,
                ..
            }
        ));
        assert_eq!(messages.len(), 1 + 8 + SimDrive::param_count());
    }

    #[test]
    fn streams_every_nth_tick_in_full_frames() {
        let mut device = SimDevice::new(DriveConfig::default(), DeviceSettings::default());
        send(&mut device, Command::Stream { divider: 2 });
        replies(&mut device);
        // 20 frames' worth: 7 samples of 8 channels fill a frame.
        assert_eq!(SimDevice::samples_per_frame(), 7);
        device.advance(2 * 7 * 20);
        let mut expected_tick = 0u32;
        let mut total = 0;
        for message in replies(&mut device) {
            if let DeviceMessage::Samples {
                tick,
                stride,
                count,
                values,
            } = message
            {
                assert_eq!(tick, expected_tick);
                assert_eq!(stride, 2);
                assert_eq!(count, 7, "full frames");
                assert_eq!(values.len(), count as usize * CHANNEL_COUNT);
                expected_tick += u32::from(count) * 2;
                total += count as usize;
            }
        }
        assert_eq!(total, 7 * 20);
    }

    #[test]
    fn batches_wait_at_most_ten_ms_of_device_time() {
        // At 500 Hz, 10 ms is 5 ticks: frames leave before they are full.
        let settings = DeviceSettings {
            loop_hz: 500,
            ..DeviceSettings::default()
        };
        let mut device = SimDevice::new(DriveConfig::default(), settings);
        send(&mut device, Command::Stream { divider: 1 });
        replies(&mut device);
        device.advance(1000);
        let counts: Vec<u8> = replies(&mut device)
            .into_iter()
            .filter_map(|m| match m {
                DeviceMessage::Samples { count, .. } => Some(count),
                _ => None,
            })
            .collect();
        assert_eq!(counts.iter().map(|&c| u32::from(c)).sum::<u32>(), 1000);
        assert!(counts.iter().all(|&c| c <= 5), "{counts:?}");
    }

    #[test]
    fn resyncs_after_garbage_and_counts_it() {
        let mut device = SimDevice::new(DriveConfig::default(), DeviceSettings::default());
        let mut wire = b"\x42\x13garbage\x00\x00".to_vec();
        encode_frame(&encode_command(&Command::Hello), &mut wire);
        device.receive(&wire);
        assert_eq!(device.bad_frames, 2, "the garbage and the empty frame");
        assert!(matches!(
            replies(&mut device)[0],
            DeviceMessage::Device { .. }
        ));
    }

    #[test]
    fn watchdog_disables_output_without_host_frames() {
        let settings = DeviceSettings {
            watchdog_ms: 100,
            ..DeviceSettings::default()
        };
        let mut device = SimDevice::new(DriveConfig::default(), settings);
        send(&mut device, Command::Enable(true));
        device.advance(900);
        send(&mut device, Command::Ping { token: 1 });
        device.advance(900);
        assert!(device.enabled(), "pings keep it alive");
        device.advance(200);
        assert!(!device.enabled());
        assert!(device.watchdog_tripped());
        let status = replies(&mut device)
            .into_iter()
            .rev()
            .find_map(|m| match m {
                DeviceMessage::Status { flags, .. } => Some(flags),
                _ => None,
            });
        assert_eq!(status, Some(StatusFlags::WATCHDOG));
    }

    #[test]
    fn output_changes_are_logged_with_device_time_and_cause() {
        let settings = DeviceSettings {
            watchdog_ms: 100,
            enable_on_hello: true,
            ..DeviceSettings::default()
        };
        let mut device = SimDevice::new(DriveConfig::default(), settings);
        device.advance(5000);
        send(&mut device, Command::Hello);
        assert!(device.enabled(), "HELLO enables the output");
        send(&mut device, Command::Hello);
        device.advance(2000);
        let changes = device.take_output_changes();
        assert_eq!(
            changes.len(),
            2,
            "a second HELLO changes nothing: {changes:?}"
        );
        assert_eq!(
            (changes[0].enabled, changes[0].cause, changes[0].time_s),
            (true, OutputCause::Hello, 0.5)
        );
        // The last host frame came at tick 5000; the watchdog is 1000 ticks.
        assert_eq!(
            (changes[1].enabled, changes[1].cause, changes[1].time_s),
            (false, OutputCause::Watchdog, 0.6)
        );
        assert_eq!(
            changes[1].to_string(),
            "output disabled at device time 0.6000 s: watchdog (no host frame for 100 ms)"
        );
        send(&mut device, Command::Enable(false));
        assert!(
            device.take_output_changes().is_empty(),
            "no change, no entry"
        );
        send(&mut device, Command::Enable(true));
        let changes = device.take_output_changes();
        assert_eq!(changes[0].cause, OutputCause::HostEnable);
        assert_eq!(
            changes[0].to_string(),
            "output enabled at device time 0.7000 s: host sent ENABLE 1"
        );
    }

    #[test]
    fn hello_leaves_the_output_off_by_default() {
        let mut device = SimDevice::new(DriveConfig::default(), DeviceSettings::default());
        send(&mut device, Command::Hello);
        assert!(!device.enabled());
        assert!(device.take_output_changes().is_empty());
    }

    /// The relay mode (docs/PROTOCOL.md 4.5): refused while the output is
    /// off, switches the effort between ±d while on, and ends by itself
    /// at the travel with an unprompted VALUE.
    #[test]
    fn relay_mode_switches_and_ends_itself_at_the_travel() {
        let mut config = DriveConfig::linear();
        config.relay.amplitude = 2.0;
        // Less than the limit cycle's amplitude (about 7 mrad at 2 A).
        config.relay.travel = 0.001;
        config.relay.bias = 0.5;
        let mut device = SimDevice::new(config, DeviceSettings::default());
        let set_active = |device: &mut SimDevice, value: f32| {
            send(
                device,
                Command::Set {
                    index: RELAY_ACTIVE_INDEX,
                    value,
                },
            )
        };
        set_active(&mut device, 1.0);
        assert!(matches!(
            replies(&mut device)[..],
            [DeviceMessage::Value { value, .. }] if value == 0.0
        ));
        send(&mut device, Command::Enable(true));
        set_active(&mut device, 1.0);
        replies(&mut device);
        assert!(device.drive.relay_active());
        let mut efforts = Vec::new();
        for _ in 0..20_000 {
            let sample = device.drive.tick(1e-4);
            if !device.drive.relay_active() {
                break;
            }
            efforts.push(sample.effort);
        }
        // 2.5 A one way, −1.5 A the other, until the feedback leaves the travel.
        assert!(
            efforts.iter().all(|e| *e == 2.5 || *e == -1.5),
            "{efforts:?}"
        );
        assert!(efforts.contains(&-1.5) && efforts.contains(&2.5));
        assert!(
            !device.drive.relay_active(),
            "the bias walks it off its travel"
        );

        // Through the firmware the end is reported.
        set_active(&mut device, 1.0);
        replies(&mut device);
        device.advance(20_000);
        let ended = replies(&mut device).into_iter().any(|m| {
            matches!(m, DeviceMessage::Value { index, value } if index == RELAY_ACTIVE_INDEX && value == 0.0)
        });
        assert!(ended, "no VALUE relay.active = 0");
        set_active(&mut device, 1.0);
        send(&mut device, Command::Enable(false));
        assert!(!device.drive.relay_active(), "output off ends the relay");
    }

    /// The device-side excitation (docs/PROTOCOL.md 4.6): refused while
    /// the output is off, ends by itself after its duration with an
    /// unprompted VALUE, and ENABLE 0 ends it too.
    #[test]
    fn excitation_ends_itself_after_its_duration_with_a_value() {
        let mut config = DriveConfig::linear();
        config.excite.duration = 0.05;
        let mut device = SimDevice::new(config, DeviceSettings::default());
        let set_active = |device: &mut SimDevice, value: f32| {
            send(
                device,
                Command::Set {
                    index: EXCITE_ACTIVE_INDEX,
                    value,
                },
            )
        };
        set_active(&mut device, 1.0);
        assert!(matches!(
            replies(&mut device)[..],
            [DeviceMessage::Value { value, .. }] if value == 0.0
        ));
        send(&mut device, Command::Enable(true));
        set_active(&mut device, 1.0);
        replies(&mut device);
        assert!(device.drive.excite_active());
        // 0.05 s at 10 kHz is 500 ticks: still on after 499, off after 500.
        device.advance(499);
        assert!(device.drive.excite_active());
        let early_end = replies(&mut device).into_iter().any(
            |m| matches!(m, DeviceMessage::Value { index, .. } if index == EXCITE_ACTIVE_INDEX),
        );
        assert!(!early_end, "reported an end before the duration");
        device.advance(2);
        assert!(!device.drive.excite_active());
        let ended = replies(&mut device).into_iter().any(|m| {
            matches!(m, DeviceMessage::Value { index, value } if index == EXCITE_ACTIVE_INDEX && value == 0.0)
        });
        assert!(ended, "no VALUE excite.active = 0");

        set_active(&mut device, 1.0);
        assert!(device.drive.excite_active());
        replies(&mut device);
        send(&mut device, Command::Enable(false));
        assert!(!device.drive.excite_active(), "output off ends it");
        let ended = replies(&mut device).into_iter().any(|m| {
            matches!(m, DeviceMessage::Value { index, value } if index == EXCITE_ACTIVE_INDEX && value == 0.0)
        });
        assert!(ended, "no VALUE excite.active = 0 on ENABLE 0");
    }

    #[test]
    fn refuses_what_it_must() {
        let mut device = SimDevice::new(DriveConfig::default(), DeviceSettings::default());
        send(
            &mut device,
            Command::Set {
                index: super::super::drive::RESONANCE_INDEX,
                value: 3.0,
            },
        );
        send(&mut device, Command::Get { index: 99 });
        send(&mut device, Command::Save);
        let mut wire = Vec::new();
        encode_frame(&[0x03, 0x01], &mut wire); // SET without its value
        encode_frame(&[0x55], &mut wire); // unknown type
        device.receive(&wire);
        let codes: Vec<(u8, u8)> = replies(&mut device)
            .into_iter()
            .filter_map(|m| match m {
                DeviceMessage::Error { request, code } => Some((request, code)),
                _ => None,
            })
            .collect();
        assert_eq!(
            codes,
            vec![(0x03, 4), (0x02, 3), (0x07, 5), (0x03, 2), (0x55, 1)]
        );
    }
}
