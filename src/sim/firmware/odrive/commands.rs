//! What each command line does, after its checksum and comment are gone:
//! fw-v0.5.6 `communication/ascii_protocol.cpp` 111-410 (fw-v0.5.1: the
//! `if` chain of its `ASCII_protocol_process_line`, 97-284), with the
//! differences between releases noted where they fall.

use super::OdriveSim;
use super::axis::{INPUT_MODE_TRAP_TRAJ, MODE_POSITION, MODE_TORQUE, MODE_VELOCITY};
use super::properties::Refusal;
use super::scan::Scanner;

/// The two axes of an ODrive 3.x.
pub const AXIS_COUNT: usize = 2;

/// `h`'s lines (ascii_protocol.cpp:296-310).
const HELP: [&str; 15] = [
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
];

impl OdriveSim {
    /// Runs one command; `c` says whether replies carry a checksum.
    pub(super) fn execute(&mut self, cmd: &str, c: bool) {
        let revision = self.version.revision;
        match cmd.as_bytes().first() {
            Some(b'p') => self.set_position(cmd, c),
            Some(b'q') => self.set_position_with_limits(cmd, c),
            Some(b'v') => self.set_velocity(cmd, c),
            Some(b'c') => self.set_torque(cmd, c),
            Some(b't') => self.set_trajectory(cmd, c),
            Some(b'f') => {
                if let Some(axis) = self.motor_number(Scanner::new(cmd), 'f', c) {
                    let (position, velocity) = self.estimates(axis);
                    // `%f %f` of floats promoted to double (275-288).
                    let text = format!(
                        "{:.6} {:.6}",
                        f64::from(position as f32),
                        f64::from(velocity as f32)
                    );
                    self.respond(c, &text);
                }
            }
            Some(b'h') => HELP.iter().for_each(|line| self.respond(c, line)),
            Some(b'i') => {
                self.respond(c, "Hardware version: 3.6-56V");
                let firmware = format!("Firmware version: 0.5.{revision}");
                self.respond(c, &firmware);
                self.respond(c, &format!("Serial number: {:X}", super::SERIAL_NUMBER));
            }
            Some(b's') => self.system(cmd.as_bytes().get(1).copied()),
            Some(b'r') => self.read(cmd, c),
            Some(b'w') => self.write(cmd, c),
            Some(b'u') => {
                // Feeds the watchdog and answers nothing (391-401).
                if let Some(axis) = self.motor_number(Scanner::new(cmd), 'u', c) {
                    self.axes[axis].feed_watchdog();
                }
            }
            // `es…` arrived in 0.5.2 (227-247); 0.5.1 has no `e`.
            Some(b'e') if revision >= 2 => self.encoder(cmd, c),
            // 0.5.1 answers an empty line with nothing (its chain ends
            // `else if (cmd[0] != 0)`, 282); later releases dispatch it to
            // `cmd_unknown` (125).
            None if revision == 1 => {}
            _ => self.respond(c, "unknown command"),
        }
    }

    /// `X %u`: the axis number, or the firmware's complaint.
    fn motor_number(&mut self, mut scan: Scanner<'_>, letter: char, c: bool) -> Option<usize> {
        let number = scan.literal(letter).and_then(|()| scan.unsigned());
        self.check_motor(number, c)
    }

    fn check_motor(&mut self, number: Option<u32>, c: bool) -> Option<usize> {
        match number {
            None => {
                self.respond(c, "invalid command format");
                None
            }
            Some(n) if n as usize >= AXIS_COUNT => {
                self.respond(c, &format!("invalid motor {n}"));
                None
            }
            Some(n) => Some(n as usize),
        }
    }

    /// The scan of `L %u %f[ %f[ %f]]`: the axis and up to three floats.
    fn motion_args(
        &mut self,
        cmd: &str,
        letter: char,
        c: bool,
    ) -> Option<(usize, f32, Option<f32>, Option<f32>)> {
        let mut scan = Scanner::new(cmd);
        let number = scan.literal(letter).and_then(|()| scan.unsigned());
        let first = number.and_then(|_| scan.float());
        let second = first.and_then(|_| scan.float());
        let third = second.and_then(|_| scan.float());
        let Some(first) = first else {
            self.respond(c, "invalid command format");
            return None;
        };
        let axis = self.check_motor(number, c)?;
        Some((axis, first, second, third))
    }

    /// `p`: position, velocity and torque feed-forward (133-153).
    fn set_position(&mut self, cmd: &str, c: bool) {
        if let Some((axis, pos, vel, torque)) = self.motion_args(cmd, 'p', c) {
            let a = &mut self.axes[axis];
            a.control_mode = MODE_POSITION;
            a.input_pos = pos;
            if let Some(vel) = vel {
                a.input_vel = vel;
            }
            if let Some(torque) = torque {
                a.input_torque = torque;
            }
            a.feed_watchdog();
        }
    }

    /// `q`: position with a velocity and torque limit (159-179).
    fn set_position_with_limits(&mut self, cmd: &str, c: bool) {
        if let Some((axis, pos, vel_limit, torque_lim)) = self.motion_args(cmd, 'q', c) {
            let a = &mut self.axes[axis];
            a.control_mode = MODE_POSITION;
            a.input_pos = pos;
            if let Some(limit) = vel_limit {
                a.vel_limit = limit;
            }
            if let Some(limit) = torque_lim {
                a.torque_lim = limit;
            }
            a.feed_watchdog();
        }
    }

    /// `v`: velocity and torque feed-forward (185-201).
    fn set_velocity(&mut self, cmd: &str, c: bool) {
        if let Some((axis, vel, torque, _)) = self.motion_args(cmd, 'v', c) {
            let a = &mut self.axes[axis];
            a.control_mode = MODE_VELOCITY;
            a.input_vel = vel;
            if let Some(torque) = torque {
                a.input_torque = torque;
            }
            a.feed_watchdog();
        }
    }

    /// `c`: torque (207-221).
    fn set_torque(&mut self, cmd: &str, c: bool) {
        if let Some((axis, torque, ..)) = self.motion_args(cmd, 'c', c) {
            let a = &mut self.axes[axis];
            a.control_mode = MODE_TORQUE;
            a.input_torque = torque;
            a.feed_watchdog();
        }
    }

    /// `t`: a trapezoidal move (253-269). The trajectory itself is not
    /// emulated: the goal becomes the position input at once.
    fn set_trajectory(&mut self, cmd: &str, c: bool) {
        if let Some((axis, goal, ..)) = self.motion_args(cmd, 't', c) {
            let a = &mut self.axes[axis];
            a.input_mode = INPUT_MODE_TRAP_TRAJ;
            a.control_mode = MODE_POSITION;
            a.input_pos = goal;
            a.feed_watchdog();
        }
    }

    /// `esl AXIS COUNT` (227-247): sets the encoder's count.
    fn encoder(&mut self, cmd: &str, c: bool) {
        if cmd.as_bytes().get(1) != Some(&b's') {
            self.respond(c, "invalid command format");
            return;
        }
        let mut scan = Scanner::new(&cmd[2..]);
        let number = scan.literal('l').and_then(|()| scan.unsigned());
        let count = number.and_then(|_| scan.integer());
        let Some(count) = count else {
            self.respond(c, "invalid command format");
            return;
        };
        let Some(axis) = self.check_motor(number, c) else {
            return;
        };
        self.set_linear_count(axis, count);
        self.axes[axis].feed_watchdog();
        // `%u` of an int.
        self.respond(c, &format!("encoder set to {}", count as u32));
    }

    /// `ss`, `se`, `sr`, `sc` (330-339), answering nothing.
    fn system(&mut self, what: Option<u8>) {
        let revision = self.version.revision;
        match what {
            // 0.5.1 stores the configuration and carries on (fw-v0.5.1
            // main.cpp:43-61); from 0.5.2 saving refuses while any motor
            // is armed and reboots after it (main.cpp:159-184).
            Some(b's') if revision == 1 => self.save(),
            Some(b's') if self.axes.iter().any(|a| a.armed) => {}
            Some(b's') => {
                self.save();
                self.reboot();
            }
            // Erasing reboots (main.cpp:186-195), as does `sr`.
            Some(b'e') => {
                self.saved = None;
                self.saved_board = None;
                self.reboot();
            }
            Some(b'r') => self.reboot(),
            // `clear_errors` arrived with 0.5.2.
            Some(b'c') if revision >= 2 => self.axes.iter_mut().for_each(|a| a.error = 0),
            _ => {}
        }
    }

    /// `r NAME` (345-361).
    fn read(&mut self, cmd: &str, c: bool) {
        let mut scan = Scanner::new(cmd);
        let name = scan.literal('r').and_then(|()| scan.word());
        let Some(name) = name else {
            self.respond(c, "invalid command format");
            return;
        };
        match self.read_property(name) {
            None => self.respond(c, "invalid property"),
            Some(value) => {
                let text = value.printed(self.version.revision);
                self.respond(c, &text);
            }
        }
    }

    /// `w NAME VALUE` (367-385): nothing back on success.
    fn write(&mut self, cmd: &str, c: bool) {
        let mut scan = Scanner::new(cmd);
        let name = scan.literal('w').and_then(|()| scan.word());
        let Some(name) = name else {
            self.respond(c, "invalid command format");
            return;
        };
        match self.write_property(name, scan.word()) {
            Ok(()) => {}
            Err(Refusal::NoSuchProperty) => self.respond(c, "invalid property"),
            Err(Refusal::NotImplemented) => self.respond(c, "not implemented"),
        }
    }
}
