//! The emulated sketch's `Commander` (Arduino-FOC 2.4.0,
//! `src/communication/Commander.cpp`): one line in, the library's text
//! out, byte for byte. It promises the library's quirks, each cited:
//!
//! - `run(user_input)` (59-105): `?` lists every handler as `ID:label`
//!   (63-71), `@` reads or sets the verbosity and `#` the decimal places
//!   (72-94), any other first character calls the handler registered under
//!   it after echoing it in `@3`; an unregistered one prints nothing.
//! - `isSentinel` (659-669) prints `Warn: \r detected! ` in `@2` each time
//!   it meets a `\r`, and it is called where the library calls it (41,
//!   73, 90, 110, 121, 396, 421, 511, 548, 564, 572).
//! - `motor()` (107-415), `motion()` (417-507), `target()` (570-656),
//!   `pid()` (509-544), `lpf()` (546-561): the same commands, labels,
//!   `GET` checks and numbers (`decimal_places` decimals; counts as
//!   integers), including the ones that print `0` for a value not set
//!   (`R`, `I`, `K`: 217-263) and `MM#`, which has no `GET` check and sets
//!   the monitor's decimals to 0 when sent bare (386-390).
//! - Verbosity (`Commander.h`:14-19): `@0` prints nothing, `@1` values,
//!   `@2` labels and values, `@3` the command letters and values.

mod motor_settings;

pub use super::arduino::{arduino_float, atof, atoi};
use super::motor::{Motor, motion, torque};

// The motion and torque types' names as `motion()` prints them (441-462,
// 478-490) are the adapter's table: one list, held to the real library by
// `tests/simplefoc_real.rs`.
use crate::protocol::simplefoc::params::{MOTION_NAMES, TORQUE_NAMES};

/// `FOCModulationType` names (192-205).
const MODULATION_NAMES: [&str; 4] = ["SinePWM", "SVPWM", "Trap 120", "Trap 150"];

/// What a handler registered with `command.add()` calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// `command.motor(&motor, cmd)`.
    Motor,
    /// `command.motion(&motor, cmd)`, as the B_G431B_ESC1 example has.
    Motion,
}

/// One `command.add(id, callback, label)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// The command letter, as a byte.
    pub id: u8,
    /// Which of the library's callbacks it calls.
    pub kind: HandlerKind,
    /// The label shown by the `?` scan.
    pub label: String,
    /// Times it was called.
    pub calls: u64,
}

/// What a line asks of the sketch beyond its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Only the reply.
    Nothing,
    /// `MFR`: `initFOC()` runs again; `done` is printed when it ends
    /// (Commander.cpp:286-293).
    Reinit,
}

/// The Commander's state.
#[derive(Clone, Debug)]
pub struct Commander {
    /// `VerboseMode`: 0 nothing, 1 on request, 2 user friendly (the
    /// default), 3 machine readable.
    pub verbose: u8,
    /// `decimal_places`: digits printed after the point.
    pub decimal_places: u8,
    /// The handlers added, in order.
    pub handlers: Vec<Handler>,
    /// The `loop()` rate, for `MCT` (the time between `move()` calls).
    pub loop_hz: u32,
}

impl Commander {
    fn print(&self, out: &mut Vec<u8>, text: &str) {
        if self.verbose != 0 {
            out.extend_from_slice(text.as_bytes());
        }
    }

    /// `Commander::println`: `text` and `\r\n`, nothing at verbosity 0.
    pub fn println(&self, out: &mut Vec<u8>, text: &str) {
        self.print(out, text);
        self.print(out, "\r\n");
    }

    fn println_float(&self, out: &mut Vec<u8>, value: f32) {
        self.println(out, &arduino_float(value, usize::from(self.decimal_places)));
    }

    fn println_int(&self, out: &mut Vec<u8>, value: i64) {
        self.println(out, &value.to_string());
    }

    fn verbose_text(&self, out: &mut Vec<u8>, text: &str) {
        if self.verbose == 2 {
            self.print(out, text);
        }
    }

    fn machine(&self, out: &mut Vec<u8>, text: &str) {
        if self.verbose == 3 {
            self.print(out, text);
        }
    }

    fn machine_char(&self, out: &mut Vec<u8>, c: u8) {
        self.machine(out, &char::from(c).to_string());
    }

    fn error(&self, out: &mut Vec<u8>) {
        self.println(out, "err");
    }

    /// `isSentinel`: the line end, or a `\r` (warned about in `@2`).
    pub fn is_sentinel(&self, out: &mut Vec<u8>, c: u8) -> bool {
        if c == b'\n' {
            return true;
        }
        if c == b'\r' {
            self.verbose_text(out, "Warn: \\r detected! \n");
            return true;
        }
        false
    }

    /// `run(char* user_input)` on one line (its line end included).
    pub fn run(&mut self, line: &[u8], motor: &mut Motor, out: &mut Vec<u8>) -> Follow {
        let at = |k: usize| line.get(k).copied().unwrap_or(0);
        match at(0) {
            b'?' => {
                for handler in &self.handlers {
                    self.machine(out, "?");
                    self.print(out, &char::from(handler.id).to_string());
                    self.print(out, ":");
                    self.println(out, &handler.label);
                }
            }
            b'@' => {
                if !self.is_sentinel(out, at(1)) {
                    self.verbose = atoi(&line[1..]) as u8;
                }
                self.verbose_text(out, "Verb:");
                self.machine(out, "@");
                match self.verbose {
                    0 => self.println(out, "off!"),
                    1 | 2 => self.println(out, "on!"),
                    3 => self.machine(out, "machine\r\n"),
                    _ => {}
                }
            }
            b'#' => {
                if !self.is_sentinel(out, at(1)) {
                    self.decimal_places = atoi(&line[1..]) as u8;
                }
                self.verbose_text(out, "Decimal:");
                self.machine(out, "#");
                self.println_int(out, i64::from(self.decimal_places));
            }
            id => {
                let Some(at_handler) = self.handlers.iter().position(|h| h.id == id) else {
                    return Follow::Nothing;
                };
                self.handlers[at_handler].calls += 1;
                self.machine_char(out, id);
                let command = &line[1..];
                return match self.handlers[at_handler].kind {
                    HandlerKind::Motor => self.motor(command, motor, out),
                    HandlerKind::Motion => {
                        self.motion(command, motor, out);
                        Follow::Nothing
                    }
                };
            }
        }
        Follow::Nothing
    }

    /// `Commander::motor` (107-415).
    fn motor(&self, command: &[u8], motor: &mut Motor, out: &mut Vec<u8>) -> Follow {
        let at = |k: usize| command.get(k).copied().unwrap_or(0);
        let first = at(0);
        if first.is_ascii_digit() || first == b'-' || first == b'+' || self.is_sentinel(out, first)
        {
            self.target(command, motor, out);
            return Follow::Nothing;
        }
        let sub = at(1);
        let value_index = if sub.is_ascii_uppercase() || sub == b'#' {
            2
        } else {
            1
        };
        let get = self.is_sentinel(out, at(value_index));
        let value = atof(command.get(value_index..).unwrap_or(&[]));
        self.machine_char(out, first);
        if sub.is_ascii_uppercase() {
            self.machine_char(out, sub);
        }
        let tail = command.get(1..).unwrap_or(&[]);
        match first {
            b'Q' | b'D' | b'V' | b'A' => {
                let (label, pid, lpf) = match first {
                    b'Q' => (
                        "PID curr q| ",
                        &mut motor.pid_current_q,
                        &mut motor.lpf_current_q,
                    ),
                    b'D' => (
                        "PID curr d| ",
                        &mut motor.pid_current_d,
                        &mut motor.lpf_current_d,
                    ),
                    b'V' => (
                        "PID vel| ",
                        &mut motor.pid_velocity,
                        &mut motor.lpf_velocity,
                    ),
                    _ => ("PID angle| ", &mut motor.p_angle, &mut motor.lpf_angle),
                };
                self.verbose_text(out, label);
                if sub == b'F' {
                    self.lpf(tail, &mut lpf.tf, out);
                } else {
                    self.pid(tail, pid, out);
                }
            }
            b'L' => {
                self.verbose_text(out, "Limits| ");
                match sub {
                    b'U' => {
                        self.verbose_text(out, "volt: ");
                        if !get {
                            motor.update_voltage_limit(value);
                        }
                        self.println_float(out, motor.voltage_limit);
                    }
                    b'C' => {
                        self.verbose_text(out, "curr: ");
                        if !get {
                            motor.update_current_limit(value);
                        }
                        self.println_float(out, motor.current_limit);
                    }
                    b'V' => {
                        self.verbose_text(out, "vel: ");
                        if !get {
                            motor.update_velocity_limit(value);
                        }
                        self.println_float(out, motor.velocity_limit);
                    }
                    _ => self.error(out),
                }
            }
            b'C' | b'T' | b'E' => self.motion(command, motor, out),
            b'W' | b'R' | b'I' | b'K' | b'S' | b'F' => {
                return self.motor_settings(first, sub, get, value, motor, out);
            }
            b'M' => self.monitor(sub, get, value, command, motor, out),
            _ => {
                self.verbose_text(out, "unknown cmd ");
                self.error(out);
            }
        }
        Follow::Nothing
    }

    /// The monitor sub-commands (323-410).
    fn monitor(
        &self,
        sub: u8,
        get: bool,
        value: f32,
        command: &[u8],
        motor: &mut Motor,
        out: &mut Vec<u8>,
    ) {
        self.verbose_text(out, "Monitor | ");
        match sub {
            b'G' => {
                let pick = value as u8;
                let all = [
                    ("target: ", motor.target),
                    ("Vq: ", motor.voltage_q),
                    ("Vd: ", motor.voltage_d),
                    ("Cq: ", motor.current_q),
                    ("Cd: ", motor.current_d),
                    ("vel: ", motor.shaft_velocity),
                    ("angle: ", motor.shaft_angle),
                ];
                if let Some(&(label, number)) = all.get(usize::from(pick)) {
                    self.verbose_text(out, label);
                    self.println_float(out, number);
                } else if pick == 7 {
                    self.verbose_text(out, "all: ");
                    let places = usize::from(self.decimal_places);
                    let text = all
                        .iter()
                        .map(|&(_, v)| arduino_float(v, places))
                        .collect::<Vec<_>>()
                        .join(";");
                    self.println(out, &text);
                } else {
                    self.error(out);
                }
            }
            b'D' => {
                self.verbose_text(out, "downsample: ");
                if !get {
                    // A float into an unsigned int: a negative value wraps.
                    motor.monitor.downsample = value as i64 as u32;
                }
                self.println_int(out, i64::from(motor.monitor.downsample as i32));
            }
            b'C' => {
                motor.monitor.variables = 0;
                self.println(out, "clear");
            }
            b'#' => {
                self.verbose_text(out, "decimal: ");
                // No GET check: a bare `MM#` sets 0.
                motor.monitor.decimals = value as i64 as u32;
                self.println_int(out, i64::from(motor.monitor.decimals as i32));
            }
            b'S' => {
                if !get {
                    motor.monitor.variables = 0;
                    for i in 0..7 {
                        let c = command.get(2 + i).copied().unwrap_or(0);
                        if self.is_sentinel(out, c) {
                            break;
                        }
                        let bit = i32::from(c) - i32::from(b'0');
                        motor.monitor.variables |= (bit << (6 - i)) as u8;
                    }
                }
                let bits: String = (0..7)
                    .map(|i| (motor.monitor.variables >> (6 - i)) & 1)
                    .map(|b| char::from(b'0' + b))
                    .collect();
                self.println(out, &bits);
            }
            _ => self.error(out),
        }
    }

    /// `Commander::motion` (417-507).
    fn motion(&self, command: &[u8], motor: &mut Motor, out: &mut Vec<u8>) {
        let at = |k: usize| command.get(k).copied().unwrap_or(0);
        let (cmd, sub) = (at(0), at(1));
        let value_index = if sub == b'D' { 2 } else { 1 };
        let get = self.is_sentinel(out, at(value_index));
        let value_at = if sub.is_ascii_uppercase() { 2 } else { 1 };
        let value = atof(command.get(value_at..).unwrap_or(&[]));
        match cmd {
            b'C' => {
                self.verbose_text(out, "Motion:");
                match sub {
                    b'T' => {
                        self.verbose_text(out, " time: ");
                        self.println_int(out, i64::from(motor.move_time_us(self.loop_hz)));
                    }
                    b'D' => {
                        self.verbose_text(out, " downsample: ");
                        if !get {
                            motor.motion_downsample = value as i64 as u32;
                        }
                        self.println_int(out, i64::from(motor.motion_downsample as i32));
                    }
                    _ => {
                        if !get && value >= 0.0 && (value as i32) < 7 {
                            motor.update_motion_control_type(value as u8);
                        }
                        self.println(out, MOTION_NAMES[usize::from(motor.controller)]);
                    }
                }
            }
            b'T' => {
                self.verbose_text(out, "Torque: ");
                if sub == b'T' {
                    self.verbose_text(out, " time: ");
                    self.println_int(out, i64::from(motor.move_time_us(self.loop_hz)));
                    return;
                }
                let code = value as i32 as i8;
                if !get && (0..4).contains(&code) {
                    motor.update_torque_control_type(code as u8);
                }
                self.println(out, TORQUE_NAMES[usize::from(motor.torque_controller)]);
            }
            b'E' => {
                self.verbose_text(out, "Status: ");
                if !get {
                    if value != 0.0 {
                        motor.enable();
                    } else {
                        motor.disable();
                    }
                }
                self.println_int(out, i64::from(motor.enabled));
            }
            _ => self.target(command, motor, out),
        }
    }

    /// `Commander::target` (570-656): the target, and in the modes that
    /// take them, limits after it separated by spaces.
    fn target(&self, command: &[u8], motor: &mut Motor, out: &mut Vec<u8>) {
        if self.is_sentinel(out, command.first().copied().unwrap_or(0)) {
            if self.verbose == 3 {
                self.println_float(out, motor.target);
            }
            return;
        }
        // strtok(user_cmd, " "): the line end stays in the last token.
        let tokens: Vec<f32> = command
            .split(|&b| b == b' ')
            .filter(|t| !t.is_empty())
            .map(atof)
            .collect();
        let limit_torque = |motor: &mut Motor, value: f32| {
            if motor.torque_controller == torque::VOLTAGE {
                motor.update_voltage_limit(value);
            } else {
                motor.update_current_limit(value);
            }
        };
        let first = tokens.first().copied().unwrap_or(0.0);
        match motor.controller {
            motion::TORQUE | motion::ANGLE_NOCASCADE => motor.target = first,
            motion::VELOCITY | motion::VELOCITY_OPENLOOP => {
                motor.target = first;
                if let Some(&limit) = tokens.get(1) {
                    limit_torque(motor, limit);
                }
            }
            motion::ANGLE | motion::ANGLE_OPENLOOP => {
                motor.target = first;
                if let Some(&velocity) = tokens.get(1) {
                    motor.update_velocity_limit(velocity);
                    if let Some(&limit) = tokens.get(2) {
                        limit_torque(motor, limit);
                    }
                }
            }
            // Custom: no case in the switch, the target stays.
            _ => {}
        }
        self.verbose_text(out, "Target: ");
        self.println_float(out, motor.target);
    }

    /// `Commander::pid` (509-544), `command` after the loop's letter.
    fn pid(&self, command: &[u8], pid: &mut super::motor::Pid, out: &mut Vec<u8>) {
        let get = self.is_sentinel(out, command.get(1).copied().unwrap_or(0));
        let value = atof(command.get(1..).unwrap_or(&[]));
        let (label, slot) = match command.first().copied().unwrap_or(0) {
            b'P' => ("P: ", &mut pid.p),
            b'I' => ("I: ", &mut pid.i),
            b'D' => ("D: ", &mut pid.d),
            b'R' => ("ramp: ", &mut pid.output_ramp),
            b'L' => ("limit: ", &mut pid.limit),
            _ => return self.error(out),
        };
        self.verbose_text(out, label);
        if !get {
            *slot = value;
        }
        self.println_float(out, *slot);
    }

    /// `Commander::lpf` (546-561).
    fn lpf(&self, command: &[u8], tf: &mut f32, out: &mut Vec<u8>) {
        let get = self.is_sentinel(out, command.get(1).copied().unwrap_or(0));
        let value = atof(command.get(1..).unwrap_or(&[]));
        if command.first() != Some(&b'F') {
            return self.error(out);
        }
        self.verbose_text(out, "Tf: ");
        if !get {
            *tf = value;
        }
        self.println_float(out, *tf);
    }
}
