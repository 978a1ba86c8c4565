//! An ODrive v3.6 running firmware 0.5.1 to 0.5.6, spoken to over its ASCII
//! protocol, in front of the simulated drive's plant: written from the
//! firmware's source (tags fw-v0.5.1 … fw-v0.5.6 of odriverobotics/ODrive;
//! line numbers are fw-v0.5.6's unless a tag is named). There is no real
//! ODrive here: this emulator is what the adapter is tested against.
//!
//! The wire ([`OdriveSim::receive`], [`OdriveSim::respond`]):
//! - a request line ends at `\r`, `\n` or `!`; the line buffer holds 256
//!   bytes, so a line of 256 characters or more is dropped up to its end
//!   (ascii_protocol.cpp:417-445; fw-v0.5.1 287-312);
//! - `;` starts a comment; `*N` after the command is checked against the
//!   XOR of every byte before the `*`, and a line whose `N` does not scan
//!   or match is ignored in silence; a `*` with nothing after it is not a
//!   checksum (`checksum_start < len`, 75-107);
//! - a reply is printed into 64 bytes (44-66): a longer one is cut, its
//!   last byte the string's NUL. When the request had a checksum the reply
//!   carries `*N`, the XOR of the reply text. Replies end in `\r\n` —
//!   except a checksummed reply of fw-v0.5.2, which ends at its checksum
//!   (fw-v0.5.2 ascii_protocol.cpp:54 prints `"*%u"` alone);
//! - an empty line (the one between the `\r` and `\n` of a CRLF) is
//!   answered "unknown command" from 0.5.2, and ignored by 0.5.1.
//!
//! What the commands and properties do is in [`commands`] and
//! [`properties`]; the axis thread, watchdog and control loop in [`axis`];
//! the encoder's PLL estimate the loop closes on, and `pos_estimate` and
//! `vel_estimate` report, in [`encoder`].
//! Saving (`ss`) from 0.5.2 reboots the board when no motor is armed
//! (main.cpp:159-184); a reboot (`ss`, `se`, `sr`) loads the configuration
//! last saved, starts every axis idle, restarts the encoder count from 0
//! and answers nothing for [`BOOT_S`].
//!
//! Not emulated: trajectory planning (`t` sets `input_pos` directly),
//! input filters, anticogging, calibration (the motor and encoder are
//! taken as calibrated; calibration states end at once), the overspeed
//! and other controller, motor and encoder errors. Axis 1 drives a motor
//! of its own, the same as axis 0's ([`OdriveSim::drive1`]), so the two
//! axes of one board can be tuned side by side over its one port.

mod axis;
mod commands;
mod encoder;
mod properties;
mod scan;
#[cfg(test)]
mod tests;

use std::f64::consts::TAU;
use std::fmt;
use std::str::FromStr;

pub use axis::{
    ERROR_INVALID_STATE, ERROR_WATCHDOG, LOOP_HZ, OdriveAxis, STATE_CLOSED_LOOP, STATE_IDLE,
    STATE_UNDEFINED,
};
use commands::AXIS_COUNT;
use encoder::EncoderPll;

use crate::sim::drive::{DriveConfig, SimDrive};
use crate::sim::emulated::EmulatedDevice;

/// The request line buffer (`MAX_LINE_LENGTH`, ascii_protocol.hpp:7).
const MAX_LINE_LENGTH: usize = 256;
/// The reply buffer (ascii_protocol.cpp:45).
const TX_BUFFER: usize = 64;
/// How long a rebooted board takes before it answers again.
pub const BOOT_S: f64 = 0.5;
/// The board's serial number, as `i` prints it in hexadecimal.
const SERIAL_NUMBER: u64 = 0x2061_377C_3548;
/// Counts per turn of the emulated encoder (`encoder.config.cpr`).
const CPR: i32 = 8192;

/// A 0.5.x release of the firmware, by its revision: 0.5.N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OdriveVersion {
    /// N of 0.5.N.
    pub revision: u8,
}

impl OdriveVersion {
    /// Every release emulated, oldest first.
    pub const ALL: [OdriveVersion; 6] = [
        Self { revision: 1 },
        Self { revision: 2 },
        Self { revision: 3 },
        Self { revision: 4 },
        Self { revision: 5 },
        Self { revision: 6 },
    ];
    /// The last 0.5.x release.
    pub const LATEST: OdriveVersion = Self { revision: 6 };
}

impl Default for OdriveVersion {
    fn default() -> Self {
        Self::LATEST
    }
}

impl fmt::Display for OdriveVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0.5.{}", self.revision)
    }
}

impl FromStr for OdriveVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.strip_prefix("0.5.")
            .and_then(|n| n.parse::<u8>().ok())
            .map(|revision| Self { revision })
            .filter(|v| Self::ALL.contains(v))
            .ok_or_else(|| format!("unknown ODrive firmware {text:?}: use 0.5.1 to 0.5.6"))
    }
}

/// The board's own configuration a host can change (the UART and USB
/// settings whose names changed in 0.5.2; see [`properties`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BoardConfig {
    /// `config.enable_uart_a` (0.5.2 on; `enable_uart` before).
    pub enable_uart: bool,
    /// `config.uart_a_baudrate` (0.5.2 on; `uart_baudrate` before).
    pub uart_baudrate: u32,
    /// `config.enable_ascii_protocol_on_usb` (before 0.5.2).
    pub enable_ascii_protocol_on_usb: bool,
    /// `STREAM_PROTOCOL_TYPE_*`: 3 is ASCII and stdout, the default.
    pub usb_cdc_protocol: u8,
}

impl Default for BoardConfig {
    fn default() -> Self {
        Self {
            enable_uart: true,
            uart_baudrate: 115_200,
            enable_ascii_protocol_on_usb: true,
            usb_cdc_protocol: 3,
        }
    }
}

/// The emulated ODrive.
pub struct OdriveSim {
    /// The plant axis 0 drives (its PID is not used: an ODrive's loop is
    /// its own P–PI cascade, [`OdriveAxis::control_tick`]).
    pub drive: SimDrive,
    /// The plant axis 1 drives, built from the same configuration.
    pub drive1: SimDrive,
    /// Axis 0 and axis 1.
    pub axes: [OdriveAxis; AXIS_COUNT],
    /// The axes' configuration as last saved with `ss`.
    pub saved: Option<[OdriveAxis; AXIS_COUNT]>,
    /// The board's configuration in force.
    pub board: BoardConfig,
    /// The board's configuration as last saved with `ss`.
    pub saved_board: Option<BoardConfig>,
    /// Request lines ignored for a bad checksum.
    pub bad_checksums: u64,
    /// Times the board rebooted.
    pub reboots: u64,
    version: OdriveVersion,
    cpr: i32,
    /// Turns of each axis's rotor at its encoder count 0.
    encoder_offset: [f64; AXIS_COUNT],
    /// Each axis's estimate of its encoder's counts.
    pll: [EncoderPll; AXIS_COUNT],
    line: Vec<u8>,
    read_active: bool,
    output: Vec<u8>,
    ticks: u64,
    /// Control loops left before a rebooted board answers.
    booting: u64,
}

impl OdriveSim {
    /// An ODrive on the latest 0.5.x release.
    pub fn new(config: DriveConfig) -> Self {
        Self::with_version(config, OdriveVersion::LATEST)
    }

    /// A board on `config`'s drive running release `version`.
    pub fn with_version(config: DriveConfig, version: OdriveVersion) -> Self {
        Self {
            drive1: SimDrive::new(config.clone()),
            drive: SimDrive::new(config),
            axes: [OdriveAxis::default(), OdriveAxis::default()],
            saved: None,
            board: BoardConfig::default(),
            saved_board: None,
            bad_checksums: 0,
            reboots: 0,
            version,
            cpr: CPR,
            encoder_offset: [0.0; AXIS_COUNT],
            pll: [EncoderPll::default(), EncoderPll::default()],
            line: Vec::new(),
            read_active: true,
            output: Vec::new(),
            ticks: 0,
            booting: 0,
        }
    }

    /// The release it runs.
    pub fn version(&self) -> OdriveVersion {
        self.version
    }

    /// Position estimate of axis 0, turns.
    pub fn pos_estimate(&self) -> f64 {
        self.estimates(0).0
    }

    /// Velocity estimate of axis 0, turns/s.
    pub fn vel_estimate(&self) -> f64 {
        self.estimates(0).1
    }

    /// Puts axis 0's rotor at `turns` on its encoder, at rest (a motor a
    /// previous session left somewhere else than 0).
    pub fn place_rotor(&mut self, turns: f64) {
        let offset = self.encoder_offset[0];
        let state = &mut self.drive.plant.state;
        state.position = (turns + offset) * TAU;
        state.velocity = 0.0;
        state.load_position = state.position;
        state.load_velocity = 0.0;
        let count = self.shadow_count(0);
        self.pll[0].settle_at(count);
    }

    /// Whether the board is rebooting and deaf.
    pub fn is_booting(&self) -> bool {
        self.booting > 0
    }

    /// Queues `bytes` ahead of the next replies, as a noisy line would
    /// deliver them (for tests of the host's resynchronisation).
    pub fn inject_output(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    /// The encoder's position and velocity estimate of `axis`: its PLL's
    /// ([`encoder`]), what the controller closes on.
    fn estimates(&self, axis: usize) -> (f64, f64) {
        self.pll[axis].estimates(self.cpr)
    }

    /// The plant `axis` drives.
    fn plant(&self, axis: usize) -> &SimDrive {
        if axis == 0 { &self.drive } else { &self.drive1 }
    }

    /// The plant `axis` drives, to change.
    fn plant_mut(&mut self, axis: usize) -> &mut SimDrive {
        if axis == 0 {
            &mut self.drive
        } else {
            &mut self.drive1
        }
    }

    /// `axis`'s encoder count (`shadow_count_`): the rotor's turns since
    /// count 0, in whole counts.
    fn shadow_count(&self, axis: usize) -> i32 {
        let turns = self.plant(axis).plant.state.position / TAU - self.encoder_offset[axis];
        (turns * f64::from(self.cpr.max(1))).floor() as i32
    }

    /// `set_linear_count` of `axis`'s encoder.
    fn set_linear_count(&mut self, axis: usize, count: i32) {
        let turns = self.plant(axis).plant.state.position / TAU;
        self.encoder_offset[axis] = turns - f64::from(count) / f64::from(self.cpr.max(1));
        self.pll[axis].set_linear_count(count);
    }

    fn save(&mut self) {
        self.saved = Some(self.axes.clone());
        self.saved_board = Some(self.board.clone());
    }

    /// `NVIC_SystemReset`: what was not saved is gone.
    fn reboot(&mut self) {
        let config = self.saved.clone().unwrap_or_default();
        self.axes = [config[0].rebooted(), config[1].rebooted()];
        self.board = self.saved_board.clone().unwrap_or_default();
        self.cpr = CPR;
        (0..AXIS_COUNT).for_each(|axis| self.set_linear_count(axis, 0));
        self.line.clear();
        self.read_active = true;
        self.output.clear();
        self.booting = (BOOT_S * f64::from(LOOP_HZ)) as u64;
        self.reboots += 1;
    }

    /// Sends `text` as the firmware's `respond` does.
    fn respond(&mut self, with_checksum: bool, text: &str) {
        // snprintf into the 64-byte buffer: at most 63 characters and the
        // NUL, which is sent when the text did not fit (len is capped at
        // the buffer's size, not at the string's end).
        let bytes = text.as_bytes();
        let mut buffer = bytes[..bytes.len().min(TX_BUFFER - 1)].to_vec();
        if bytes.len() >= TX_BUFFER {
            buffer.push(0);
        }
        let sum = buffer.iter().fold(0u8, |s, b| s ^ b);
        if self.version.revision == 1 {
            // fw-v0.5.1 ascii_protocol.cpp:38-52: the text, then `*N` from
            // a buffer of its own, then `\r\n`, each written apart.
            self.output.extend_from_slice(&buffer);
            if with_checksum {
                self.output.extend_from_slice(format!("*{sum}").as_bytes());
            }
            self.output.extend_from_slice(b"\r\n");
            return;
        }
        let suffix = match (with_checksum, self.version.revision) {
            (true, 2) => format!("*{sum}"),
            (true, _) => format!("*{sum}\r\n"),
            (false, _) => "\r\n".to_owned(),
        };
        // The suffix goes into what is left of the same buffer.
        let room = TX_BUFFER - buffer.len();
        if room > 0 {
            let fits = suffix.len().min(room - 1);
            buffer.extend_from_slice(&suffix.as_bytes()[..fits]);
            if suffix.len() >= room {
                buffer.push(0);
            }
        }
        self.output.extend_from_slice(&buffer);
    }

    /// One request line, without its line end (75-127).
    fn process_line(&mut self, raw: &[u8]) {
        let mut line = raw;
        let mut sum = 0u8;
        let mut checksum_start = usize::MAX;
        for (i, &byte) in raw.iter().enumerate() {
            if byte == b';' {
                line = &raw[..i];
                break;
            }
            if checksum_start > i {
                if byte == b'*' {
                    checksum_start = i + 1;
                } else {
                    sum ^= byte;
                }
            }
        }
        let len = line.len().min(MAX_LINE_LENGTH);
        let mut command = &line[..len];
        let with_checksum = checksum_start < len;
        if with_checksum {
            let digits = String::from_utf8_lossy(&command[checksum_start..]);
            let received = scan::Scanner::new(&digits).unsigned();
            if received != Some(u32::from(sum)) {
                self.bad_checksums += 1;
                return;
            }
            command = &command[..checksum_start - 1];
        }
        let command = String::from_utf8_lossy(command).into_owned();
        self.execute(&command, with_checksum);
    }
}

impl EmulatedDevice for OdriveSim {
    fn loop_hz(&self) -> u32 {
        LOOP_HZ
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.booting > 0 {
            return;
        }
        for &byte in bytes {
            // A full buffer without a line end is dropped, and so is the
            // rest of that line (fw-v0.5.1 294-297; fw-v0.5.6 441-445).
            if self.line.len() >= MAX_LINE_LENGTH {
                self.line.clear();
                self.read_active = false;
            }
            if matches!(byte, b'\r' | b'\n' | b'!') {
                let line = std::mem::take(&mut self.line);
                if self.read_active {
                    self.process_line(&line);
                }
                self.read_active = true;
            } else if self.read_active {
                self.line.push(byte);
            }
        }
    }

    fn advance(&mut self, ticks: u64) {
        let dt = 1.0 / f64::from(LOOP_HZ);
        // fw-v0.5.1's axis thread runs once per control loop; later ones
        // wake once a millisecond.
        let thread_every = if self.version.revision == 1 {
            1
        } else {
            u64::from(LOOP_HZ / 1000)
        };
        for _ in 0..ticks {
            for axis in 0..AXIS_COUNT {
                // The encoder is read and its PLL updated before the
                // controller runs on its estimate (main.cpp:432, 443).
                let count = self.shadow_count(axis);
                self.pll[axis].update(count, dt as f32);
                let (position, velocity) = self.estimates(axis);
                let kt = self.plant(axis).plant.constants.torque_constant;
                let torque = self.axes[axis].control_tick(position, velocity, kt, dt);
                self.plant_mut(axis).plant.step(torque / kt, dt);
            }
            self.ticks += 1;
            self.booting = self.booting.saturating_sub(1);
            if self.ticks.is_multiple_of(thread_every) {
                let revision = self.version.revision;
                for axis in 0..AXIS_COUNT {
                    let position = self.estimates(axis).0 as f32;
                    self.axes[axis].thread_step(revision, position);
                }
            }
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}
