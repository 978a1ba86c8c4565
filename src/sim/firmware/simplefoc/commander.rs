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

use super::motor::{Motor, NOT_SET, is_set, motion, torque};

/// `MotionControlType` names as `motion()` prints them (441-462).
const MOTION_NAMES: [&str; 7] = [
    "torque",
    "vel",
    "angle",
    "vel open",
    "angle open",
    "angle nocascade",
    "custom",
];
/// `TorqueControlType` names (478-490).
const TORQUE_NAMES: [&str; 4] = ["volt", "dc curr", "foc curr", "est. curr"];
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
    pub id: u8,
    pub kind: HandlerKind,
    pub label: String,
    /// Times it was called.
    pub calls: u64,
}

/// What a line asks of the sketch beyond its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
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
    pub decimal_places: u8,
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
            b'W' => {
                self.verbose_text(out, "PWM Mod | ");
                match sub {
                    b'T' => {
                        self.verbose_text(out, "type: ");
                        if !get {
                            motor.foc_modulation = value as u8;
                        }
                        if let Some(name) = MODULATION_NAMES.get(usize::from(motor.foc_modulation))
                        {
                            self.println(out, name);
                        }
                    }
                    b'C' => {
                        self.verbose_text(out, "center: ");
                        if !get {
                            motor.modulation_centered = value as i8;
                        }
                        self.println_int(out, i64::from(motor.modulation_centered));
                    }
                    _ => self.error(out),
                }
            }
            b'R' => {
                self.verbose_text(out, "R phase: ");
                if !get {
                    motor.phase_resistance = value;
                }
                self.println_set_or_zero(out, motor.phase_resistance);
            }
            b'I' => {
                self.verbose_text(out, "L phase: ");
                match sub {
                    b'D' => {
                        self.verbose_text(out, "d: ");
                        if !get {
                            motor.axis_inductance_d = value;
                            motor.phase_inductance = value;
                        }
                        self.println_set_or_zero(out, motor.axis_inductance_d);
                    }
                    b'Q' => {
                        self.verbose_text(out, "q: ");
                        if !get {
                            motor.axis_inductance_q = value;
                        }
                        self.println_set_or_zero(out, motor.axis_inductance_q);
                    }
                    _ => {
                        if !get {
                            motor.phase_inductance = value;
                            motor.axis_inductance_d = value;
                            motor.axis_inductance_q = value;
                        }
                        self.println_set_or_zero(out, motor.phase_inductance);
                    }
                }
            }
            b'K' => {
                self.verbose_text(out, "Motor KV: ");
                if !get {
                    motor.kv_rating = value;
                }
                self.println_set_or_zero(out, motor.kv_rating);
            }
            b'S' => {
                self.verbose_text(out, "Sensor | ");
                match sub {
                    b'M' => {
                        self.verbose_text(out, "offset: ");
                        if !get {
                            motor.sensor_offset = value;
                        }
                        self.println_float(out, motor.sensor_offset);
                    }
                    b'E' => {
                        self.verbose_text(out, "el. offset: ");
                        if !get {
                            motor.zero_electric_angle = value;
                        }
                        self.println_float(out, motor.zero_electric_angle);
                    }
                    _ => self.error(out),
                }
            }
            b'F' => {
                self.verbose_text(out, "MOT | ");
                match sub {
                    b'R' => {
                        self.verbose_text(out, "Reinit!");
                        motor.zero_electric_angle = NOT_SET;
                        motor.target = 0.0;
                        return Follow::Reinit;
                    }
                    b'P' => {
                        self.verbose_text(out, "Meas motor params!");
                        // characteriseMotor() needs current sensing
                        // (FOCMotor.cpp:97-100): error code 1.
                        out.extend_from_slice(b"ERR-MOT:Fail. CS not init.\r\n");
                        self.verbose_text(out, "failed, err code: ");
                        self.println_int(out, 1);
                    }
                    b'C' => {
                        self.verbose_text(out, "PI tune curr.| ");
                        // tuneCurrentController() (FOCMotor.cpp:538-552).
                        let loop_hz = self.loop_hz as f32;
                        let code = if value <= 0.0 {
                            out.extend_from_slice(b"ERR-MOT:Fail. BW <= 0\r\n");
                            1
                        } else if value > 0.5 * loop_hz {
                            let text = format!(
                                "ERR-MOT:Fail. BW too high, current loop freq:{}\r\n",
                                arduino_float(loop_hz, 2)
                            );
                            out.extend_from_slice(text.as_bytes());
                            2
                        } else {
                            // Motor parameters missing: it tries to
                            // measure them, which needs current sensing.
                            out.extend_from_slice(b"WARN-MOT:Motor params missing!\r\n");
                            out.extend_from_slice(b"ERR-MOT:Fail. CS not init.\r\n");
                            3
                        };
                        self.verbose_text(out, "failed, err code: ");
                        self.println_int(out, code);
                    }
                    _ => self.error(out),
                }
            }
            b'M' => self.monitor(sub, get, value, command, motor, out),
            _ => {
                self.verbose_text(out, "unknown cmd ");
                self.error(out);
            }
        }
        Follow::Nothing
    }

    /// `println(x)` when set, else `println(0)` (an int): R, L, KV.
    fn println_set_or_zero(&self, out: &mut Vec<u8>, value: f32) {
        if is_set(value) {
            self.println_float(out, value);
        } else {
            self.println_int(out, 0);
        }
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

/// `Print::printFloat` (Arduino core): a fixed count of decimals rounded
/// half up, `nan`, `inf`, `ovf` beyond an unsigned long, and no sign on
/// a zero.
pub fn arduino_float(value: f32, decimals: usize) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return "inf".to_owned();
    }
    let wide = f64::from(value);
    if wide.abs() > 4_294_967_040.0 {
        return "ovf".to_owned();
    }
    let wide = if wide == 0.0 { 0.0 } else { wide };
    format!("{wide:.decimals$}")
}

/// C's `atof`: the longest number at the start (after blanks), else 0.
pub fn atof(bytes: &[u8]) -> f32 {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start();
    let end = text
        .char_indices()
        .take_while(|&(_, c)| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
        .last()
        .map_or(0, |(at, c)| at + c.len_utf8());
    (1..=end)
        .rev()
        .find_map(|end| text[..end].parse::<f32>().ok())
        .unwrap_or(0.0)
}

/// C's `atoi`: an optional sign and the digits after it, else 0.
pub fn atoi(bytes: &[u8]) -> i32 {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    sign * digits
        .parse::<i64>()
        .unwrap_or(0)
        .clamp(0, i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_parsing() {
        assert_eq!(atof(b"1.5e-3x"), 1.5e-3);
        assert_eq!(atof(b"abc"), 0.0);
        assert_eq!(atof(b" -2\n"), -2.0);
        assert_eq!(atof(b"3\n"), 3.0);
        assert_eq!(atoi(b"12\n"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
    }

    #[test]
    fn arduino_float_formats() {
        assert_eq!(arduino_float(0.5, 3), "0.500");
        assert_eq!(arduino_float(-0.0, 3), "0.000");
        assert_eq!(arduino_float(f32::NAN, 3), "nan");
        assert_eq!(arduino_float(1e10, 3), "ovf");
        assert_eq!(arduino_float(-12345.0, 2), "-12345.00");
    }
}
