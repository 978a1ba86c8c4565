//! An ODrive running firmware 0.5.x, spoken to over its ASCII protocol, in
//! front of the simulated drive's plant. What it follows, from
//! `Firmware/communication/ascii_protocol.cpp` of the 0.5.x firmware:
//!
//! - a request line ends at `\r`, `\n` or `!`; a line is cut at `;` (a
//!   comment); a line that overflows the 256-byte buffer is dropped up to
//!   the next line end;
//! - `*N` after a request is checked against the XOR of every byte before
//!   the `*`; on a mismatch, or no digits after it, the line is ignored in
//!   silence. A `*` with nothing after it is not a checksum (the firmware
//!   tests `checksum_start < len`) and stays part of the command;
//! - when the request had a checksum the reply carries one: `*N` with N the
//!   decimal XOR of the reply text. Every reply ends in `\r\n`;
//! - an empty line (such as the one between the `\r` and `\n` of a CRLF) is
//!   answered "unknown command", as is any unknown first letter;
//! - `r` answers the value printed into a 10-byte buffer: floats as `%f`
//!   cut to 9 characters, integers as `%d`/`%u`, booleans `0`/`1`; an
//!   unknown property is "invalid property"; `w` answers nothing on success,
//!   "invalid property" for an unknown one, "not implemented" for a value
//!   that does not parse (`sscanf`, so a valid prefix is taken);
//! - `p`, `v`, `c`, `t` set the input and the control mode and feed the
//!   watchdog, answering nothing; `f` answers `%f %f` (pos_estimate,
//!   vel_estimate); `u` feeds the watchdog; `ss`, `se`, `sr`, `sc` answer
//!   nothing; a bad axis number is "invalid motor N", a missing argument
//!   "invalid command format".
//!
//! The axis (from 0.5.x `axis.cpp` and `controller.cpp`): requested_state 8
//! (CLOSED_LOOP_CONTROL) is refused while `error` is set; entering it sets
//! `input_pos` to the present position estimate and feeds the watchdog;
//! with `config.enable_watchdog` the axis goes IDLE with
//! `AXIS_ERROR_WATCHDOG_TIMER_EXPIRED` when not fed for `watchdog_timeout`.
//! The loop is ODrive's cascade at 8 kHz: velocity command = input_vel +
//! pos_gain·(input_pos − pos_estimate), clamped to ±vel_limit; torque =
//! input_torque + vel_gain·(vel command − vel_estimate) + integrator,
//! clamped to current_lim·torque_constant; the integrator adds
//! vel_integrator_gain·dt·error and decays by 1 % a tick while the torque
//! is clamped. The motor's current loop is taken as ideal (Iq_measured is
//! the commanded torque over torque_constant) and the encoder as exact:
//! the simulated drive's plant is driven directly, its own PID is unused
//! because an ODrive's loop is a P-PI cascade, not one position PID.
//! Not emulated: trajectory planning (`t` sets input_pos directly), input
//! filters, `es`, anticogging, the second axis's motor (axis1 answers but
//! moves nothing).
//!
//! The state a host may change is kept as the firmware keeps it, so tests
//! can check that a host left it as found (fw-v0.5.6 sources):
//! `current_state` holds until `requested_state` is written (closed loop
//! runs while `requested_state_` is UNDEFINED, `MotorControl/axis.cpp`
//! 343-345; a request replaces the task chain, 458-485) or the watchdog
//! idles the axis; `control_mode` changes with a write or a `p` (which sets
//! position control, `communication/ascii_protocol.cpp` 144); `u` only
//! feeds the watchdog (389-401) and `f` only reads (275-288).

use std::f64::consts::TAU;

use crate::sim::drive::{DriveConfig, SimDrive};
use crate::sim::emulated::EmulatedDevice;

/// The firmware's request buffer.
const MAX_LINE_LENGTH: usize = 256;
/// Control loop rate of ODrive 3.x.
pub const LOOP_HZ: u32 = 8000;
const AXIS_COUNT: usize = 2;
/// `AXIS_ERROR_WATCHDOG_TIMER_EXPIRED` in 0.5.x.
pub const ERROR_WATCHDOG: u32 = 0x800;

pub const STATE_IDLE: u8 = 1;
pub const STATE_CLOSED_LOOP: u8 = 8;

/// `CONTROL_MODE_*` of 0.5.x.
const MODE_TORQUE: u8 = 1;
const MODE_VELOCITY: u8 = 2;
const MODE_POSITION: u8 = 3;

/// One axis's configuration and state, in ODrive units (turns, Nm, A).
#[derive(Clone, Debug, PartialEq)]
pub struct OdriveAxis {
    pub pos_gain: f32,
    pub vel_gain: f32,
    pub vel_integrator_gain: f32,
    pub vel_limit: f32,
    pub current_lim: f32,
    pub control_mode: u8,
    pub input_pos: f32,
    pub input_vel: f32,
    pub input_torque: f32,
    pub enable_watchdog: bool,
    pub watchdog_timeout: f32,
    pub current_state: u8,
    pub error: u32,
    integrator: f64,
    iq: f64,
    /// Seconds left before the watchdog expires.
    watchdog_left: f64,
}

impl Default for OdriveAxis {
    /// The 0.5.x defaults (`odrive-interface.yaml`).
    fn default() -> Self {
        Self {
            pos_gain: 20.0,
            vel_gain: 1.0 / 6.0,
            vel_integrator_gain: 1.0 / 3.0,
            vel_limit: 2.0,
            current_lim: 10.0,
            control_mode: MODE_POSITION,
            input_pos: 0.0,
            input_vel: 0.0,
            input_torque: 0.0,
            enable_watchdog: false,
            watchdog_timeout: 0.0,
            current_state: STATE_IDLE,
            error: 0,
            integrator: 0.0,
            iq: 0.0,
            watchdog_left: 0.0,
        }
    }
}

impl OdriveAxis {
    fn feed_watchdog(&mut self) {
        self.watchdog_left = f64::from(self.watchdog_timeout);
    }
}

/// A property's value as the firmware stores it.
enum Value {
    Float(f32),
    Int(i64),
    Bool(bool),
}

/// The emulated ODrive.
pub struct OdriveSim {
    /// The plant axis 0 drives (its PID is not used; see the module doc).
    pub drive: SimDrive,
    pub axes: [OdriveAxis; AXIS_COUNT],
    /// The axes' configuration as last saved with `ss`.
    pub saved: Option<[OdriveAxis; AXIS_COUNT]>,
    /// Request lines ignored for a bad checksum.
    pub bad_checksums: u64,
    line: Vec<u8>,
    read_active: bool,
    output: Vec<u8>,
}

impl OdriveSim {
    pub fn new(config: DriveConfig) -> Self {
        Self {
            drive: SimDrive::new(config),
            axes: [OdriveAxis::default(), OdriveAxis::default()],
            saved: None,
            bad_checksums: 0,
            line: Vec::new(),
            read_active: true,
            output: Vec::new(),
        }
    }

    /// Position estimate of axis 0, turns.
    pub fn pos_estimate(&self) -> f64 {
        self.drive.plant.state.position / TAU
    }

    /// Velocity estimate of axis 0, turns/s.
    pub fn vel_estimate(&self) -> f64 {
        self.drive.plant.state.velocity / TAU
    }

    /// Queues `bytes` ahead of the next replies, as a noisy line would
    /// deliver them (for tests of the host's resynchronisation).
    pub fn inject_output(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    fn torque_constant(&self) -> f64 {
        self.drive.plant.constants.torque_constant
    }

    fn respond(&mut self, with_checksum: bool, text: &str) {
        // The firmware's reply buffer is 64 bytes.
        let mut reply = text.as_bytes()[..text.len().min(63)].to_vec();
        if with_checksum {
            let sum = reply.iter().fold(0u8, |s, b| s ^ b);
            reply.extend_from_slice(format!("*{sum}\r\n").as_bytes());
        } else {
            reply.extend_from_slice(b"\r\n");
        }
        reply.truncate(64);
        self.output.extend_from_slice(&reply);
    }

    fn process_line(&mut self, raw: &[u8]) {
        let mut line = raw;
        if let Some(comment) = line.iter().position(|&b| b == b';') {
            line = &line[..comment];
        }
        let star = line.iter().position(|&b| b == b'*');
        let mut with_checksum = false;
        if let Some(star) = star
            && star + 1 < line.len()
        {
            with_checksum = true;
            let sum = line[..star].iter().fold(0u8, |s, b| s ^ b);
            let digits: Vec<u8> = line[star + 1..]
                .iter()
                .copied()
                .skip_while(u8::is_ascii_whitespace)
                .take_while(u8::is_ascii_digit)
                .collect();
            let received = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse::<u64>().ok());
            if received != Some(u64::from(sum)) {
                self.bad_checksums += 1;
                return;
            }
            line = &line[..star];
        }
        let command = String::from_utf8_lossy(line).into_owned();
        self.execute(&command, with_checksum);
    }

    fn execute(&mut self, command: &str, c: bool) {
        let mut chars = command.chars();
        let first = chars.next();
        let rest = chars.as_str();
        match first {
            Some('p') => self.set_input(rest, c, MODE_POSITION),
            Some('q') => self.set_input(rest, c, MODE_POSITION),
            Some('v') => self.set_input(rest, c, MODE_VELOCITY),
            Some('c') => self.set_input(rest, c, MODE_TORQUE),
            Some('t') => self.set_input(rest, c, MODE_POSITION),
            Some('f') => match self.axis_arg(rest, c) {
                Some(0) => {
                    let text = format!("{:.6} {:.6}", self.pos_estimate(), self.vel_estimate());
                    self.respond(c, &text);
                }
                Some(_) => self.respond(c, "0.000000 0.000000"),
                None => {}
            },
            Some('u') => {
                if let Some(axis) = self.axis_arg(rest, c) {
                    self.axes[axis].feed_watchdog();
                }
            }
            Some('h') => {
                for line in [
                    "Please see documentation for more details",
                    "",
                    "Available commands syntax reference:",
                    "Position: q axis pos vel-lim I-lim",
                    "Position: p axis pos vel-ff I-ff",
                    "Velocity: v axis vel I-ff",
                    "Torque: c axis T",
                    "",
                    "Properties start at odrive root, such as axis0.requested_state",
                    "Read: r property",
                    "Write: w property value",
                    "",
                    "Save config: ss",
                    "Erase config: se",
                    "Reboot: sr",
                ] {
                    self.respond(c, line);
                }
            }
            Some('i') => {
                self.respond(c, "Hardware version: 3.6-56V");
                self.respond(c, "Firmware version: 0.5.6");
                self.respond(c, "Serial number: 2061377C3548");
            }
            Some('s') => match rest.chars().next() {
                Some('s') => self.saved = Some(self.axes.clone()),
                Some('e') => self.saved = None,
                Some('r') => self.reboot(),
                Some('c') => {
                    for axis in &mut self.axes {
                        axis.error = 0;
                    }
                }
                _ => {}
            },
            Some('r') => match rest.split_whitespace().next() {
                None => self.respond(c, "invalid command format"),
                Some(name) => match self.read(name) {
                    None => self.respond(c, "invalid property"),
                    Some(value) => {
                        let mut text = match value {
                            Value::Float(v) => format!("{:.6}", f64::from(v)),
                            Value::Int(v) => v.to_string(),
                            Value::Bool(v) => u8::from(v).to_string(),
                        };
                        // snprintf into the firmware's 10-byte buffer.
                        text.truncate(9);
                        self.respond(c, &text);
                    }
                },
            },
            Some('w') => {
                let mut words = rest.split_whitespace();
                match words.next() {
                    None => self.respond(c, "invalid command format"),
                    Some(name) => match self.write(name, words.next()) {
                        Ok(()) => {}
                        Err(Refusal::NoSuchProperty) => self.respond(c, "invalid property"),
                        Err(Refusal::BadValue) => self.respond(c, "not implemented"),
                    },
                }
            }
            Some('e') => self.respond(c, "invalid command format"),
            _ => self.respond(c, "unknown command"),
        }
    }

    /// `X %u`: the axis number, or the firmware's complaint.
    fn axis_arg(&mut self, rest: &str, c: bool) -> Option<usize> {
        match scan_unsigned(rest.trim_start()) {
            None => {
                self.respond(c, "invalid command format");
                None
            }
            Some(n) if n >= AXIS_COUNT as u64 => {
                self.respond(c, &format!("invalid motor {n}"));
                None
            }
            Some(n) => Some(n as usize),
        }
    }

    /// `p`/`q`/`v`/`c`/`t AXIS VALUE [..]`.
    fn set_input(&mut self, rest: &str, c: bool, mode: u8) {
        let mut words = rest.split_whitespace();
        let axis = words.next().and_then(scan_unsigned);
        let value = words.next().and_then(scan_float);
        let extra: Vec<f32> = words.map_while(scan_float).collect();
        let (Some(axis), Some(value)) = (axis, value) else {
            self.respond(c, "invalid command format");
            return;
        };
        if axis >= AXIS_COUNT as u64 {
            self.respond(c, &format!("invalid motor {axis}"));
            return;
        }
        let a = &mut self.axes[axis as usize];
        a.control_mode = mode;
        match mode {
            MODE_POSITION => {
                a.input_pos = value;
                if let Some(&v) = extra.first() {
                    a.input_vel = v;
                }
                if let Some(&t) = extra.get(1) {
                    a.input_torque = t;
                }
            }
            MODE_VELOCITY => {
                a.input_vel = value;
                if let Some(&t) = extra.first() {
                    a.input_torque = t;
                }
            }
            _ => a.input_torque = value,
        }
        a.feed_watchdog();
    }

    fn reboot(&mut self) {
        self.axes = self
            .saved
            .clone()
            .unwrap_or_else(|| [OdriveAxis::default(), OdriveAxis::default()]);
        for axis in &mut self.axes {
            axis.current_state = STATE_IDLE;
            axis.error = 0;
        }
    }

    fn read(&self, name: &str) -> Option<Value> {
        match name {
            "fw_version_major" => return Some(Value::Int(0)),
            "fw_version_minor" => return Some(Value::Int(5)),
            "fw_version_revision" => return Some(Value::Int(6)),
            "hw_version_major" => return Some(Value::Int(3)),
            "hw_version_minor" => return Some(Value::Int(6)),
            "vbus_voltage" => return Some(Value::Float(24.0)),
            _ => {}
        }
        let (index, path) = split_axis(name)?;
        let a = &self.axes[index];
        let moving = index == 0;
        Some(match path {
            "controller.config.pos_gain" => Value::Float(a.pos_gain),
            "controller.config.vel_gain" => Value::Float(a.vel_gain),
            "controller.config.vel_integrator_gain" => Value::Float(a.vel_integrator_gain),
            "controller.config.vel_limit" => Value::Float(a.vel_limit),
            "controller.config.control_mode" => Value::Int(i64::from(a.control_mode)),
            "controller.input_pos" => Value::Float(a.input_pos),
            "controller.input_vel" => Value::Float(a.input_vel),
            "controller.input_torque" => Value::Float(a.input_torque),
            "motor.config.current_lim" => Value::Float(a.current_lim),
            "motor.config.torque_constant" => Value::Float(self.torque_constant() as f32),
            "motor.current_control.Iq_measured" => Value::Float(a.iq as f32),
            "encoder.pos_estimate" if moving => Value::Float(self.pos_estimate() as f32),
            "encoder.vel_estimate" if moving => Value::Float(self.vel_estimate() as f32),
            "encoder.pos_estimate" | "encoder.vel_estimate" => Value::Float(0.0),
            "config.enable_watchdog" => Value::Bool(a.enable_watchdog),
            "config.watchdog_timeout" => Value::Float(a.watchdog_timeout),
            "current_state" => Value::Int(i64::from(a.current_state)),
            "requested_state" => Value::Int(0),
            "error" => Value::Int(i64::from(a.error)),
            _ => return None,
        })
    }

    fn write(&mut self, name: &str, text: Option<&str>) -> Result<(), Refusal> {
        if self.read(name).is_none() {
            return Err(Refusal::NoSuchProperty);
        }
        let (index, path) = split_axis(name).ok_or(Refusal::BadValue)?;
        let text = text.ok_or(Refusal::BadValue)?;
        let float = || scan_float(text).ok_or(Refusal::BadValue);
        let unsigned = || scan_unsigned(text).ok_or(Refusal::BadValue);
        let a = &mut self.axes[index];
        match path {
            "controller.config.pos_gain" => a.pos_gain = float()?,
            "controller.config.vel_gain" => a.vel_gain = float()?,
            "controller.config.vel_integrator_gain" => a.vel_integrator_gain = float()?,
            "controller.config.vel_limit" => a.vel_limit = float()?,
            "controller.config.control_mode" => a.control_mode = unsigned()? as u8,
            "controller.input_pos" => a.input_pos = float()?,
            "controller.input_vel" => a.input_vel = float()?,
            "controller.input_torque" => a.input_torque = float()?,
            "motor.config.current_lim" => a.current_lim = float()?,
            "motor.config.torque_constant" => {
                let kt = float()?;
                if index == 0 && kt > 0.0 {
                    self.drive.plant.constants.torque_constant = f64::from(kt);
                }
            }
            "config.enable_watchdog" => a.enable_watchdog = unsigned()? != 0,
            "config.watchdog_timeout" => a.watchdog_timeout = float()?,
            "requested_state" => {
                let state = unsigned()? as u8;
                self.request_state(index, state);
            }
            "error" => a.error = unsigned()? as u32,
            // Measurements and fixed values: the firmware takes the write
            // and the next tick overwrites it.
            _ => {}
        }
        Ok(())
    }

    fn request_state(&mut self, index: usize, state: u8) {
        let position = self.pos_estimate() as f32;
        let a = &mut self.axes[index];
        match state {
            STATE_CLOSED_LOOP if a.error == 0 => {
                if a.current_state != STATE_CLOSED_LOOP {
                    a.integrator = 0.0;
                    if a.control_mode == MODE_POSITION {
                        a.input_pos = if index == 0 { position } else { 0.0 };
                    }
                }
                a.current_state = STATE_CLOSED_LOOP;
                a.feed_watchdog();
            }
            STATE_IDLE => a.current_state = STATE_IDLE,
            _ => {}
        }
    }

    /// One control tick of both axes.
    fn tick(&mut self, dt: f64) {
        let (position, velocity) = (self.pos_estimate(), self.vel_estimate());
        let kt = self.torque_constant();
        for (index, a) in self.axes.iter_mut().enumerate() {
            if a.current_state == STATE_CLOSED_LOOP && a.enable_watchdog {
                a.watchdog_left -= dt;
                if a.watchdog_left <= 0.0 {
                    a.error |= ERROR_WATCHDOG;
                    a.current_state = STATE_IDLE;
                }
            }
            if a.current_state != STATE_CLOSED_LOOP || index != 0 {
                a.iq = 0.0;
                a.integrator = 0.0;
                continue;
            }
            let vel_limit = f64::from(a.vel_limit).max(0.0);
            let mut vel_command = f64::from(a.input_vel);
            if a.control_mode >= MODE_POSITION {
                vel_command += f64::from(a.pos_gain) * (f64::from(a.input_pos) - position);
            }
            vel_command = vel_command.clamp(-vel_limit, vel_limit);
            let error = vel_command - velocity;
            let mut torque = f64::from(a.input_torque);
            if a.control_mode >= MODE_VELOCITY {
                torque += f64::from(a.vel_gain) * error + a.integrator;
            }
            let limit = (f64::from(a.current_lim) * kt).max(0.0);
            let clamped = torque.clamp(-limit, limit);
            if a.control_mode >= MODE_VELOCITY {
                if clamped != torque {
                    a.integrator *= 0.99;
                } else {
                    a.integrator += f64::from(a.vel_integrator_gain) * dt * error;
                }
            }
            a.iq = clamped / kt;
        }
        let iq = self.axes[0].iq;
        self.drive.plant.step(iq, dt);
    }
}

enum Refusal {
    NoSuchProperty,
    BadValue,
}

/// `axisN.rest` → (N, rest).
fn split_axis(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("axis")?;
    let (number, path) = rest.split_once('.')?;
    let index = number.parse::<usize>().ok()?;
    (index < AXIS_COUNT).then_some((index, path))
}

/// `sscanf("%u")`: the leading digits.
fn scan_unsigned(text: &str) -> Option<u64> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `sscanf("%f")`: the longest leading text that is a number.
fn scan_float(text: &str) -> Option<f32> {
    let candidate: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
        .take(64)
        .collect();
    (1..=candidate.len())
        .rev()
        .find_map(|end| candidate[..end].parse::<f32>().ok())
}

impl EmulatedDevice for OdriveSim {
    fn loop_hz(&self) -> u32 {
        LOOP_HZ
    }

    fn receive(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if matches!(byte, b'\r' | b'\n' | b'!') {
                let line = std::mem::take(&mut self.line);
                if self.read_active {
                    self.process_line(&line);
                }
                self.read_active = true;
            } else if self.line.len() >= MAX_LINE_LENGTH {
                self.line.clear();
                self.read_active = false;
            } else {
                self.line.push(byte);
            }
        }
    }

    fn advance(&mut self, ticks: u64) {
        let dt = 1.0 / f64::from(LOOP_HZ);
        for _ in 0..ticks {
            self.tick(dt);
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(device: &mut OdriveSim, wire: &[u8]) -> String {
        device.receive(wire);
        String::from_utf8(device.take_output()).expect("replies are text")
    }

    fn with_sum(text: &str) -> Vec<u8> {
        let sum = text.bytes().fold(0u8, |s, b| s ^ b);
        format!("{text}*{sum}\n").into_bytes()
    }

    #[test]
    fn reads_answer_as_the_firmware_prints_them() {
        let mut d = OdriveSim::new(DriveConfig::default());
        assert_eq!(ask(&mut d, b"r fw_version_major\n"), "0\r\n");
        assert_eq!(ask(&mut d, b"r fw_version_minor\n"), "5\r\n");
        assert_eq!(
            ask(&mut d, b"r axis0.controller.config.pos_gain\n"),
            "20.000000\r\n"
        );
        // %f cut to 9 characters by the 10-byte buffer.
        assert_eq!(
            ask(&mut d, b"w axis0.controller.config.pos_gain 1234.5\n"),
            ""
        );
        assert_eq!(
            ask(&mut d, b"r axis0.controller.config.pos_gain\n"),
            "1234.5000\r\n"
        );
        assert_eq!(ask(&mut d, b"r axis0.nothing\n"), "invalid property\r\n");
        assert_eq!(ask(&mut d, b"w axis0.nothing 1\n"), "invalid property\r\n");
        assert_eq!(
            ask(&mut d, b"w axis0.controller.config.vel_gain x\n"),
            "not implemented\r\n"
        );
        assert_eq!(ask(&mut d, b"r axis0.config.enable_watchdog\n"), "0\r\n");
        assert_eq!(ask(&mut d, b"f 0\n"), "0.000000 0.000000\r\n");
        assert_eq!(ask(&mut d, b"f 2\n"), "invalid motor 2\r\n");
        assert_eq!(ask(&mut d, b"f\n"), "invalid command format\r\n");
        assert_eq!(ask(&mut d, b"x\n"), "unknown command\r\n");
        // CRLF: the empty line between \r and \n is an unknown command.
        assert_eq!(ask(&mut d, b"u 0\r\n"), "unknown command\r\n");
    }

    #[test]
    fn checksums_are_checked_in_silence_and_echoed() {
        let mut d = OdriveSim::new(DriveConfig::default());
        // The reply's checksum of "0" is '0' = 48.
        assert_eq!(ask(&mut d, &with_sum("r fw_version_major")), "0*48\r\n");
        assert_eq!(ask(&mut d, b"r fw_version_major*1\n"), "");
        assert_eq!(d.bad_checksums, 1);
        // A bare `*` is no checksum: the command is "f 0*", read as "f 0".
        assert_eq!(ask(&mut d, b"f 0*\n"), "0.000000 0.000000\r\n");
        // The comment goes first, its `*` with it: no checksum left.
        assert_eq!(
            ask(&mut d, &with_sum("f 0 ; comment")),
            "0.000000 0.000000\r\n"
        );
        assert_eq!(d.bad_checksums, 1);
        assert_eq!(
            ask(&mut d, b"f 0*118 ; comment\n"),
            "0.000000 0.000000*32\r\n"
        );
    }

    #[test]
    fn closed_loop_follows_a_position_step() {
        let mut d = OdriveSim::new(DriveConfig::default());
        ask(&mut d, b"w axis0.requested_state 8\n");
        assert_eq!(ask(&mut d, b"r axis0.current_state\n"), "8\r\n");
        ask(&mut d, b"p 0 0.5\n");
        d.advance(u64::from(LOOP_HZ) * 3);
        assert!(
            (d.pos_estimate() - 0.5).abs() < 0.01,
            "{}",
            d.pos_estimate()
        );
        ask(&mut d, b"w axis0.requested_state 1\n");
        assert_eq!(ask(&mut d, b"r axis0.current_state\n"), "1\r\n");
    }

    #[test]
    fn the_watchdog_idles_the_axis_until_its_error_is_cleared() {
        let mut d = OdriveSim::new(DriveConfig::default());
        ask(
            &mut d,
            b"w axis0.config.watchdog_timeout 0.1\nw axis0.config.enable_watchdog 1\n",
        );
        ask(&mut d, b"w axis0.requested_state 8\n");
        d.advance(u64::from(LOOP_HZ) / 20);
        ask(&mut d, b"u 0\n");
        d.advance(u64::from(LOOP_HZ) / 20);
        assert_eq!(d.axes[0].current_state, STATE_CLOSED_LOOP, "fed in time");
        d.advance(u64::from(LOOP_HZ) / 5);
        assert_eq!(d.axes[0].current_state, STATE_IDLE);
        assert_eq!(ask(&mut d, b"r axis0.error\n"), "2048\r\n");
        ask(&mut d, b"w axis0.requested_state 8\n");
        assert_eq!(d.axes[0].current_state, STATE_IDLE, "error still set");
        ask(&mut d, b"w axis0.error 0\nw axis0.requested_state 8\n");
        assert_eq!(d.axes[0].current_state, STATE_CLOSED_LOOP);
    }

    #[test]
    fn save_keeps_the_configuration_and_overlong_lines_are_dropped() {
        let mut d = OdriveSim::new(DriveConfig::default());
        ask(&mut d, b"w axis0.controller.config.vel_gain 0.25\nss\n");
        assert_eq!(d.saved.as_ref().map(|s| s[0].vel_gain), Some(0.25));
        let mut long = vec![b'r'; 300];
        long.extend_from_slice(b"\nr fw_version_minor\n");
        assert_eq!(ask(&mut d, &long), "5\r\n");
    }
}
