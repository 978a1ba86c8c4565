//! An Arduino sketch running SimpleFOC 2.x: a `BLDCMotor` in angle mode
//! around the simulated drive, its `Commander` under the letter `M`, and
//! `loop()` calling `motor.monitor()` once per control tick. Bytes in, text
//! out, exactly as the library prints it (simplefoc/Arduino-FOC,
//! `src/communication/Commander.cpp` and `FOCMotor::monitor()`):
//!
//! - `Commander::run`: bytes collect in a 20-byte buffer; `\n` or `\r` runs
//!   the line; at 20 bytes without one the buffer is cleared, so a longer
//!   line is lost and its tail is read as a new line.
//! - `isSentinel`: a `\r` ends a line too and, in `@2`, prints
//!   `Warn: \r detected! ` first.
//! - Verbosity: `@0` prints nothing, `@1` only values, `@2` (the default)
//!   labels, `@3` the command letters before the value; numbers with
//!   `decimal_places` (3) decimals; `println` ends lines in `\r\n`.
//! - `Commander::motor`: PIDs and filters `Q` `D` `V` `A` (`P I D R L F`),
//!   limits `L` (`C U V`), motion `C`, torque `T`, status `E` (`E1`
//!   enables: the code enables on a true value), monitor `M` (`G D C S #`),
//!   the target (a number or nothing); anything else prints
//!   `unknown cmd err` (`err` in `@1`). The target alone (`M`) prints only
//!   in `@3`, as `printlnMachineReadable` does.
//! - `monitor()`: every `monitor_downsample`-th call (100 by default; 0
//!   stops it) prints the `MMS`-selected variables with 4 decimals,
//!   tab-separated, currents in mA.
//!
//! The state a host may change, kept as the library keeps it so tests can
//! check that a host put it back (Arduino-FOC 2.4.0 sources): the motor's
//! enable (`E1`/`E0` call `enable()`/`disable()` and `E` alone only prints
//! `motor->enabled`, Commander.cpp:497-501), the monitor downsample (`MMD`
//! sets it only with a value and always prints it, Commander.cpp:377-380;
//! `FOCMotor.h`:286 starts it at 100), the monitored variables (`MMS`
//! likewise, Commander.cpp:391-404; `FOCMotor.h`:292 starts them at target,
//! Vq, velocity, angle), the motion type (`MC`) and the verbosity and
//! decimals (`@`, `#`, Commander.cpp:72-93).
//!
//! Mapping onto the simulated drive: its one position PID is the angle loop
//! (`MAP` `MAI` `MAD` ↔ kp ki kd, `MAF` ↔ its derivative filter) and the
//! voltage limit `MLU` is its output limit; its output is Vq (voltage
//! torque control, the library's default) and Iq is Vq over a 1 Ω phase.
//! The velocity and current loops, the other limits and the motion and
//! torque types are kept and printed back but do not act on the plant (the
//! drive has no inner velocity loop). The resistance, sensor and other
//! motor commands (`R` `S` `I` `K` `W` `F`) are not emulated and print
//! `err`.

use crate::sim::drive::{DriveConfig, DriveSample, SETPOINT_INDEX, SimDrive};
use crate::sim::emulated::EmulatedDevice;

/// The Commander's receive buffer, newline included.
const BUFFER: usize = 20;
/// `DEF_MON_DOWNSMAPLE` in the library.
const DEFAULT_MONITOR_DOWNSAMPLE: u32 = 100;
/// Control ticks per second of the emulated `loop()`.
pub const LOOP_HZ: u32 = 10_000;

const PID_LETTERS: [u8; 4] = [b'Q', b'D', b'V', b'A'];
const PID_LABELS: [&str; 4] = ["PID curr q| ", "PID curr d| ", "PID vel| ", "PID angle| "];
const ANGLE: usize = 3;

/// The emulated sketch.
pub struct SimpleFocFirmware {
    pub drive: SimDrive,
    letter: u8,
    received: Vec<u8>,
    output: Vec<u8>,
    /// 0 nothing, 1 on request, 2 user friendly, 3 machine readable.
    pub verbose: u8,
    pub decimal_places: usize,
    /// P I D ramp limit Tf of the current q, current d and velocity loops
    /// (the angle loop lives in the drive).
    pids: [[f32; 6]; 3],
    angle_ramp: f32,
    angle_limit: f32,
    current_limit: f32,
    velocity_limit: f32,
    pub motion: u8,
    torque: u8,
    pub monitor_downsample: u32,
    monitor_count: u32,
    pub monitor_variables: u8,
    monitor_decimals: usize,
    last: DriveSample,
    /// Lines the Commander ran (a dropped overlong line is not one).
    pub lines_run: u64,
}

impl SimpleFocFirmware {
    /// The sketch after `setup()`: motor initialised and enabled, in angle
    /// mode, monitoring target, Vq, velocity and angle.
    pub fn new(config: DriveConfig) -> Self {
        let mut drive = SimDrive::new(config);
        drive.set_enabled(true);
        let voltage_limit = drive.config.gains.output_limit as f32;
        let mut firmware = Self {
            letter: b'M',
            received: Vec::with_capacity(BUFFER),
            output: Vec::new(),
            verbose: 2,
            decimal_places: 3,
            pids: [
                [3.0, 300.0, 0.0, 0.0, voltage_limit, 0.005],
                [3.0, 300.0, 0.0, 0.0, voltage_limit, 0.005],
                [0.5, 10.0, 0.0, 1000.0, voltage_limit, 0.005],
            ],
            angle_ramp: 1.0e6,
            angle_limit: 20.0,
            current_limit: 2.0,
            velocity_limit: 20.0,
            motion: 2,
            torque: 0,
            monitor_downsample: DEFAULT_MONITOR_DOWNSAMPLE,
            monitor_count: 0,
            monitor_variables: 0b110_0011,
            monitor_decimals: 4,
            last: drive.tick(0.0),
            drive,
            lines_run: 0,
        };
        firmware
            .output
            .extend_from_slice(b"MOT: Monitor enabled!\r\n");
        firmware
    }

    /// Puts `bytes` on the wire as if the line had garbled the output (for
    /// tests of the host's resilience).
    pub fn inject_output(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    fn print(&mut self, text: &str) {
        if self.verbose != 0 {
            self.output.extend_from_slice(text.as_bytes());
        }
    }

    fn println(&mut self, text: &str) {
        self.print(text);
        self.print("\r\n");
    }

    fn print_number(&mut self, value: f32) {
        let text = arduino_float(value, self.decimal_places);
        self.println(&text);
    }

    fn print_verbose(&mut self, text: &str) {
        if self.verbose == 2 {
            self.print(text);
        }
    }

    fn print_machine(&mut self, text: &str) {
        if self.verbose == 3 {
            self.print(text);
        }
    }

    fn error(&mut self) {
        self.println("err");
    }

    fn is_sentinel(&mut self, byte: u8) -> bool {
        byte == b'\n' || byte == b'\r'
    }

    fn run_line(&mut self, line: &[u8]) {
        self.lines_run += 1;
        let at = |k: usize| line.get(k).copied().unwrap_or(0);
        let sentinel = |b: u8| b == b'\n' || b == b'\r';
        match at(0) {
            b'?' => {
                self.print_machine("?");
                self.print(&char::from(self.letter).to_string());
                self.print(":");
                self.println("motor");
            }
            b'@' => {
                if !sentinel(at(1)) {
                    self.verbose = atof(&line[1..]) as u8;
                }
                self.print_verbose("Verb:");
                self.print_machine("@");
                match self.verbose {
                    0 => self.println("off!"),
                    1 | 2 => self.println("on!"),
                    3 => self.println("machine"),
                    _ => {}
                }
            }
            b'#' => {
                if !sentinel(at(1)) {
                    self.decimal_places = atof(&line[1..]).max(0.0) as usize;
                }
                self.print_verbose("Decimal:");
                self.print_machine("#");
                self.println(&self.decimal_places.to_string());
            }
            id if id == self.letter => {
                self.print_machine(&char::from(id).to_string());
                self.motor(&line[1..]);
            }
            _ => {}
        }
    }

    fn motor(&mut self, command: &[u8]) {
        let at = |k: usize| command.get(k).copied().unwrap_or(0);
        let sentinel = |b: u8| b == b'\n' || b == b'\r';
        let first = at(0);
        if first.is_ascii_digit() || first == b'-' || first == b'+' || sentinel(first) {
            self.target(command);
            return;
        }
        let sub = at(1);
        let value_index = if sub.is_ascii_uppercase() || sub == b'#' {
            2
        } else {
            1
        };
        let get = sentinel(at(value_index));
        let value = atof(command.get(value_index..).unwrap_or(&[]));
        self.print_machine(&char::from(first).to_string());
        if sub.is_ascii_uppercase() {
            self.print_machine(&char::from(sub).to_string());
        }
        if let Some(loop_index) = PID_LETTERS.iter().position(|&l| l == first) {
            self.print_verbose(PID_LABELS[loop_index]);
            self.pid(
                loop_index,
                sub,
                sentinel(at(2)),
                atof(command.get(2..).unwrap_or(&[])),
            );
            return;
        }
        match first {
            b'L' => {
                self.print_verbose("Limits| ");
                let (label, slot) = match sub {
                    b'U' => ("volt: ", 0),
                    b'C' => ("curr: ", 1),
                    b'V' => ("vel: ", 2),
                    _ => return self.error(),
                };
                self.print_verbose(label);
                if !get {
                    match slot {
                        0 => {
                            let _ = self.drive.set_param(4, value);
                        }
                        1 => self.current_limit = value,
                        _ => {
                            self.velocity_limit = value;
                            self.angle_limit = value;
                        }
                    }
                }
                let now = match slot {
                    0 => self.drive.config.gains.output_limit as f32,
                    1 => self.current_limit,
                    _ => self.velocity_limit,
                };
                self.print_number(now);
            }
            b'C' => {
                self.print_verbose("Motion:");
                if !get && value >= 0.0 && (value as i32) < 7 {
                    self.motion = value as u8;
                }
                let name = crate::protocol::simplefoc::MOTION_NAMES[usize::from(self.motion)];
                self.println(name);
            }
            b'T' => {
                self.print_verbose("Torque: ");
                if !get && value >= 0.0 && (value as i32) < 4 {
                    self.torque = value as u8;
                }
                let name = ["volt", "dc curr", "foc curr", "est. curr"][usize::from(self.torque)];
                self.println(name);
            }
            b'E' => {
                self.print_verbose("Status: ");
                let value = atof(command.get(1..).unwrap_or(&[]));
                if !sentinel(at(1)) {
                    self.drive.set_enabled(value != 0.0);
                }
                let enabled = u8::from(self.drive.enabled());
                self.println(&enabled.to_string());
            }
            b'M' => self.monitor_command(sub, get, value, command),
            _ => {
                self.print_verbose("unknown cmd ");
                self.error();
            }
        }
    }

    fn pid(&mut self, loop_index: usize, sub: u8, get: bool, value: f32) {
        let (label, slot) = match sub {
            b'P' => ("P: ", 0),
            b'I' => ("I: ", 1),
            b'D' => ("D: ", 2),
            b'R' => ("ramp: ", 3),
            b'L' => ("limit: ", 4),
            b'F' => ("Tf: ", 5),
            _ => return self.error(),
        };
        self.print_verbose(label);
        let now = if loop_index == ANGLE {
            let index = match slot {
                0 => Some(0),
                1 => Some(1),
                2 => Some(2),
                5 => Some(3),
                _ => None,
            };
            match (index, get) {
                (Some(index), false) => self.drive.set_param(index, value).unwrap_or(value),
                (Some(index), true) => self.drive.param(index).unwrap_or(0.0),
                (None, _) => {
                    let stored = if slot == 3 {
                        &mut self.angle_ramp
                    } else {
                        &mut self.angle_limit
                    };
                    if !get {
                        *stored = value;
                    }
                    *stored
                }
            }
        } else {
            let stored = &mut self.pids[loop_index][slot];
            if !get {
                *stored = value;
            }
            *stored
        };
        self.print_number(now);
    }

    fn monitor_command(&mut self, sub: u8, get: bool, value: f32, command: &[u8]) {
        self.print_verbose("Monitor | ");
        match sub {
            b'G' => {
                let s = self.last;
                let (label, number) = match value as u8 {
                    0 => ("target: ", s.setpoint),
                    1 => ("Vq: ", s.effort),
                    2 => ("Vd: ", 0.0),
                    3 => ("Cq: ", s.effort),
                    4 => ("Cd: ", 0.0),
                    5 => ("vel: ", s.velocity),
                    6 => ("angle: ", s.position),
                    7 => {
                        self.print_verbose("all: ");
                        let all = [
                            s.setpoint, s.effort, 0.0, s.effort, 0.0, s.velocity, s.position,
                        ]
                        .map(|v| arduino_float(v, self.decimal_places))
                        .join(";");
                        self.println(&all);
                        return;
                    }
                    _ => return self.error(),
                };
                self.print_verbose(label);
                self.print_number(number);
            }
            b'D' => {
                self.print_verbose("downsample: ");
                if !get {
                    self.monitor_downsample = value.max(0.0) as u32;
                }
                self.println(&self.monitor_downsample.to_string());
            }
            b'C' => {
                self.monitor_variables = 0;
                self.println("clear");
            }
            b'#' => {
                self.print_verbose("decimal: ");
                self.monitor_decimals = value.max(0.0) as usize;
                self.println(&self.monitor_decimals.to_string());
            }
            b'S' => {
                if !get {
                    self.monitor_variables = 0;
                    for i in 0..7 {
                        let c = command.get(2 + i).copied().unwrap_or(0);
                        if c == b'\n' || c == b'\r' {
                            break;
                        }
                        self.monitor_variables |= c.wrapping_sub(b'0').wrapping_shl(6 - i as u32);
                    }
                }
                let bits: String = (0..7)
                    .map(|i| (self.monitor_variables >> (6 - i)) & 1)
                    .map(|b| char::from(b'0' + b))
                    .collect();
                self.println(&bits);
            }
            _ => self.error(),
        }
    }

    fn target(&mut self, command: &[u8]) {
        if command.first().is_none_or(|&b| b == b'\n' || b == b'\r') {
            if self.verbose == 3 {
                self.print_number(self.drive.config.setpoint as f32);
            }
            return;
        }
        let value = atof(command);
        let _ = self.drive.set_param(SETPOINT_INDEX, value);
        self.print_verbose("Target: ");
        self.print_number(self.drive.config.setpoint as f32);
    }

    /// `FOCMotor::monitor()`, called once per `loop()`.
    fn monitor(&mut self) {
        if self.monitor_downsample == 0 {
            return;
        }
        self.monitor_count += 1;
        if self.monitor_count < self.monitor_downsample {
            return;
        }
        self.monitor_count = 0;
        let s = self.last;
        let values = [
            s.setpoint,
            s.effort,
            0.0,
            s.effort * 1000.0,
            0.0,
            s.velocity,
            s.position,
        ];
        let line: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.monitor_variables & (1 << (6 - i)) != 0)
            .map(|(_, &v)| arduino_float(v, self.monitor_decimals))
            .collect();
        if !line.is_empty() {
            // The monitor prints whatever the Commander's verbosity.
            self.output.extend_from_slice(line.join("\t").as_bytes());
            self.output.extend_from_slice(b"\r\n");
        }
    }
}

/// `Print::printFloat`: fixed decimals, no sign on zero.
fn arduino_float(value: f32, decimals: usize) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return "inf".to_owned();
    }
    let value = if value == 0.0 { 0.0 } else { value };
    format!("{value:.decimals$}")
}

/// C's `atof`: the longest number at the start (after blanks), else 0.
fn atof(bytes: &[u8]) -> f32 {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start();
    (1..=text.len().min(32))
        .rev()
        .filter(|&end| text.is_char_boundary(end))
        .find_map(|end| text[..end].parse::<f32>().ok())
        .unwrap_or(0.0)
}

impl EmulatedDevice for SimpleFocFirmware {
    fn loop_hz(&self) -> u32 {
        LOOP_HZ
    }

    fn receive(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.received.push(byte);
            if self.is_sentinel(byte) {
                if byte == b'\r' {
                    self.print_verbose("Warn: \\r detected! \n");
                }
                let line = std::mem::take(&mut self.received);
                self.run_line(&line);
            }
            if self.received.len() >= BUFFER {
                self.received.clear();
            }
        }
    }

    fn advance(&mut self, ticks: u64) {
        let dt = 1.0 / f64::from(LOOP_HZ);
        for _ in 0..ticks {
            self.last = self.drive.tick(dt);
            self.monitor();
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(firmware: &mut SimpleFocFirmware, bytes: &str) -> String {
        firmware.take_output();
        firmware.receive(bytes.as_bytes());
        String::from_utf8(firmware.take_output()).expect("text")
    }

    #[test]
    fn replies_follow_the_verbosity() {
        let mut f = SimpleFocFirmware::new(DriveConfig::default());
        assert_eq!(say(&mut f, "MVP\n"), "PID vel| P: 0.500\r\n");
        assert_eq!(say(&mut f, "MAP\n"), "PID angle| P: 20.000\r\n");
        assert_eq!(say(&mut f, "@3\n"), "@machine\r\n");
        assert_eq!(say(&mut f, "MVP0.25\n"), "MVP0.250\r\n");
        assert_eq!(say(&mut f, "MC\n"), "MCangle\r\n");
        assert_eq!(say(&mut f, "M\n"), "M0.000\r\n");
        assert_eq!(say(&mut f, "MMG0\n"), "MMG0.000\r\n");
        assert_eq!(say(&mut f, "MX\n"), "MXerr\r\n");
        assert_eq!(say(&mut f, "@1\n"), "on!\r\n");
        assert_eq!(say(&mut f, "MLU\n"), "5.000\r\n");
        assert_eq!(say(&mut f, "M\n"), "", "the target alone prints only in @3");
        assert_eq!(say(&mut f, "@2\n"), "Verb:on!\r\n");
        assert_eq!(say(&mut f, "M1.5\n"), "Target: 1.500\r\n");
        assert_eq!(say(&mut f, "MMS1000011\n"), "Monitor | 1000011\r\n");
        assert_eq!(say(&mut f, "MZ\n"), "unknown cmd err\r\n");
        assert_eq!(say(&mut f, "X\n"), "", "an unregistered letter is ignored");
        assert_eq!(say(&mut f, "@0\n"), "");
        assert_eq!(say(&mut f, "MVP\n"), "");
    }

    #[test]
    fn e1_enables_and_e0_disables() {
        let mut f = SimpleFocFirmware::new(DriveConfig::default());
        assert_eq!(say(&mut f, "ME0\n"), "Status: 0\r\n");
        assert!(!f.drive.enabled());
        assert_eq!(say(&mut f, "ME1\n"), "Status: 1\r\n");
        assert!(f.drive.enabled());
    }

    #[test]
    fn lines_of_twenty_bytes_or_more_are_dropped() {
        let mut f = SimpleFocFirmware::new(DriveConfig::default());
        // 19 characters and the newline: run.
        assert_eq!(
            say(&mut f, "MAP2.00000000000000\n"),
            "PID angle| P: 2.000\r\n"
        );
        // 20 characters and the newline: lost without a word.
        assert_eq!(say(&mut f, "MAP3.000000000000000\n"), "");
        assert_eq!(f.drive.config.gains.kp, 2.0);
        // Its tail past 20 bytes is read as a line of its own.
        assert_eq!(say(&mut f, "MAP3.000000000000000ME0\n"), "Status: 0\r\n");
    }

    #[test]
    fn monitor_prints_the_selected_variables_every_downsample_calls() {
        let mut f = SimpleFocFirmware::new(DriveConfig::default());
        say(&mut f, "MMS1111111\n");
        say(&mut f, "MMD10\n");
        f.advance(100);
        let text = String::from_utf8(f.take_output()).expect("text");
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 10, "{text}");
        assert!(lines.iter().all(|l| l.split('\t').count() == 7), "{text}");
        say(&mut f, "MMD0\n");
        f.advance(100);
        assert!(f.take_output().is_empty());
        assert_eq!(atof(b"1.5e-3x"), 1.5e-3);
        assert_eq!(atof(b"abc"), 0.0);
        assert_eq!(atof(b" -2\n"), -2.0);
    }
}
