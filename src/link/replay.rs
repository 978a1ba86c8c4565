//! A recording played back as a device: it speaks the native protocol byte
//! for byte, as the simulated drive does, describing the recording's
//! channels and streaming its samples at their recorded times, so every
//! read-only view, trigger and analysis works on it as on a live device.
//! Run by [`RealtimeSim`](crate::sim::realtime::RealtimeSim) it keeps the
//! recording's pace, or `speed` times it.
//!
//! The contract:
//! - Times travel as ticks of the rate the recording's smallest time step
//!   gives (10 kHz for a 10 kHz recording), or of a multiple of it that
//!   puts every time on the grid ([`RecordedFile::tick_grid`]). A
//!   recording whose times lie on such a grid (every recording motiontune
//!   makes) reaches the host exactly: `tick / rate` is the time written.
//!   Other times are rounded to the grid ([`ReplayDevice::exact`] says
//!   which).
//! - Values reach the host bit for bit, gaps (NaN) included.
//! - Rows follow each other on the wire as the recording has them; a jump
//!   in time starts a new SAMPLES message (the host sees the jump as the
//!   device's own lost samples, as a recording with gaps has them).
//! - Every write (SET, ENABLE, SAVE) and every GET is refused with a
//!   native ERROR: a replay has no parameters and no output.
//!
//! It lives here, not in `sim/`, because it reads recordings
//! (`record::read`), which the fuzz crate that compiles `sim/` does not.

use crate::protocol::native::frame::{FrameDecoder, MAX_PAYLOAD, encode_frame};
use crate::protocol::native::message::{
    DeviceMessage, MessageError, SAMPLES_HEADER_LEN, decode_command, host_type,
};
use crate::protocol::{Command, DeviceErrorCode, StatusFlags};
use crate::record::read::{RecordedChannel, RecordedFile};
use crate::sim::EmulatedDevice;

/// The most channels one SAMPLES frame carries a sample of.
pub const MAX_CHANNELS: usize = (MAX_PAYLOAD - SAMPLES_HEADER_LEN) / 4;

/// Why a recording cannot be replayed.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ReplayError {
    #[error("the recording has no samples to replay")]
    /// The recording holds no sample.
    Empty,
    #[error("the recording has {0} channels; a replay carries {MAX_CHANNELS} at most")]
    /// More channels than a replay carries.
    TooManyChannels(usize),
    #[error("a replay speed must be above zero, not {0}")]
    /// The speed is not above zero.
    BadSpeed(f64),
}

/// A recording that plays as a device.
pub struct ReplayDevice {
    name: String,
    channels: Vec<RecordedChannel>,
    columns: Vec<Vec<f32>>,
    /// Each row's time in ticks of `rate_hz`, from the first row's.
    ticks: Vec<u32>,
    rate_hz: u32,
    exact: bool,
    speed: f64,
    decoder: FrameDecoder,
    output: Vec<u8>,
    /// Device time, in ticks since the first row.
    now: u64,
    next_row: usize,
    divider: u16,
}

impl ReplayDevice {
    /// A device playing `file`, named `name`, at `speed` times its pace.
    pub fn new(file: &RecordedFile, name: &str, speed: f64) -> Result<Self, ReplayError> {
        if !(speed > 0.0 && speed.is_finite()) {
            return Err(ReplayError::BadSpeed(speed));
        }
        if file.times.is_empty() {
            return Err(ReplayError::Empty);
        }
        if file.channels.len() > MAX_CHANNELS {
            return Err(ReplayError::TooManyChannels(file.channels.len()));
        }
        let grid = file.tick_grid();
        let (rate_hz, on_grid, exact) = (grid.rate_hz, grid.ticks, grid.exact);
        let first_tick = on_grid[0];
        // Ticks on the wire are u32: counted from the first row, unless
        // the recorded ticks fit as they are (then times stay absolute).
        let base = if (0..=i64::from(i32::MAX)).contains(&first_tick)
            && on_grid.last().is_some_and(|&l| l <= i64::from(i32::MAX))
        {
            0
        } else {
            first_tick
        };
        let ticks = on_grid.iter().map(|&t| (t - base) as u32).collect();
        Ok(Self {
            name: name.to_owned(),
            channels: file.channels.clone(),
            columns: file.columns.clone(),
            ticks,
            rate_hz: rate_hz as u32,
            exact: exact && base == 0,
            speed,
            decoder: FrameDecoder::new(),
            output: Vec::new(),
            now: 0,
            next_row: 0,
            divider: 0,
        })
    }

    /// Whether the host will see every time exactly as recorded.
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// The tick rate the device declares.
    pub fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    /// Whether every row has been sent.
    pub fn finished(&self) -> bool {
        self.next_row >= self.ticks.len()
    }

    fn send(&mut self, message: DeviceMessage) {
        encode_frame(&message.encode(), &mut self.output);
    }

    fn refuse(&mut self, request: u8, code: DeviceErrorCode) {
        self.send(DeviceMessage::Error {
            request,
            code: code.code(),
        });
    }

    /// The tick on the wire now: device time from the first row's tick.
    fn wire_tick(&self) -> u32 {
        let first = self.ticks.first().copied().unwrap_or(0);
        first.wrapping_add(self.now as u32)
    }

    fn describe(&mut self) {
        self.send(DeviceMessage::Device {
            version: 1,
            channel_count: self.channels.len() as u8,
            param_count: 0,
            loop_hz: self.rate_hz,
            watchdog_ms: 0,
            name: self.name.clone(),
            firmware: concat!("motiontune replay ", env!("CARGO_PKG_VERSION")).into(),
        });
        for index in 0..self.channels.len() {
            let channel = &self.channels[index];
            let message = DeviceMessage::Channel {
                index: index as u8,
                role: channel.role().code(),
                name: channel.name.clone(),
                unit: channel.unit.clone(),
            };
            self.send(message);
        }
    }

    fn send_status(&mut self) {
        let tick = self.wire_tick();
        self.send(DeviceMessage::Status {
            flags: StatusFlags(0).0,
            tick,
        });
    }

    /// Sends the rows due by now, every `divider`-th, in runs of evenly
    /// spaced ticks.
    fn stream_due(&mut self) {
        let stride = self.divider;
        if stride == 0 {
            return;
        }
        let due = self.wire_tick();
        let per_frame = ((MAX_PAYLOAD - SAMPLES_HEADER_LEN) / (4 * self.channels.len().max(1)))
            .min(usize::from(u8::MAX));
        let step = usize::from(stride);
        while self.next_row < self.ticks.len() && self.ticks[self.next_row] <= due {
            let first = self.next_row;
            let first_tick = self.ticks[first];
            // Ticks between the rows sent: the divider's rows apart, each
            // as many ticks apart as the first two are.
            let spacing = self.ticks.get(first + step).map_or(stride, |&t| {
                u16::try_from(t.wrapping_sub(first_tick))
                    .unwrap_or(u16::MAX)
                    .max(1)
            });
            let mut count = 0;
            let mut values = Vec::new();
            while count < per_frame {
                let row = first + count * step;
                let on_time = self.ticks.get(row).is_some_and(|&t| {
                    t <= due && t == first_tick.wrapping_add(count as u32 * u32::from(spacing))
                });
                if !on_time {
                    break;
                }
                values.extend(self.columns.iter().map(|column| column[row]));
                count += 1;
            }
            self.next_row = first + count * step;
            self.send(DeviceMessage::Samples {
                tick: first_tick,
                stride: spacing,
                count: count as u8,
                values,
            });
        }
    }
}

impl EmulatedDevice for ReplayDevice {
    /// Ticks per second of wall time: the recording's rate times the speed.
    fn loop_hz(&self) -> u32 {
        (f64::from(self.rate_hz) * self.speed).round().max(1.0) as u32
    }

    fn receive(&mut self, bytes: &[u8]) {
        let mut payloads = Vec::new();
        self.decoder.push(bytes, |frame| {
            if let Ok(payload) = frame {
                payloads.push(payload.to_vec());
            }
        });
        for payload in payloads {
            match decode_command(&payload) {
                Ok(Command::Hello) => self.describe(),
                Ok(Command::Stream { divider }) => {
                    self.divider = divider;
                    self.send_status();
                }
                Ok(Command::Ping { token }) => self.send(DeviceMessage::Pong { token }),
                Ok(Command::Get { .. }) => self.refuse(host_type::GET, DeviceErrorCode::BadIndex),
                Ok(Command::Set { .. }) => {
                    self.refuse(host_type::SET, DeviceErrorCode::Unsupported)
                }
                Ok(Command::Enable(_)) => {
                    self.refuse(host_type::ENABLE, DeviceErrorCode::Unsupported)
                }
                Ok(Command::Save) => self.refuse(host_type::SAVE, DeviceErrorCode::Unsupported),
                Ok(Command::Text(_)) => {}
                Err(MessageError::UnknownType(kind)) => {
                    self.refuse(kind, DeviceErrorCode::UnknownType)
                }
                Err(MessageError::TooShort(kind)) => self.refuse(kind, DeviceErrorCode::BadLength),
                Err(MessageError::Empty | MessageError::BadText(_)) => {}
            }
        }
    }

    fn advance(&mut self, ticks: u64) {
        self.now = self.now.saturating_add(ticks);
        self.stream_due();
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}

#[cfg(test)]
mod tests;
