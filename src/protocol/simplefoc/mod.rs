//! SimpleFOC's `Commander` (Arduino-FOC 2.x, held to 2.4.0's sources) as
//! an adapter: the motor's parameters read and written under its command
//! letter, `FOCMotor::monitor()`'s lines as samples. No I/O.
//!
//! What it promises, each part in its own module:
//! - [`adapter`]: nothing is sent while the sketch is in `setup()`; the
//!   first commands only read, and only the Commander's own (`@`, `?`,
//!   `#`), until a reply no other handler gives has shown the letter is a
//!   motor; every reply is read in verbosity `@3`, so none is taken for
//!   another or for a monitoring line; a write is answered with the value
//!   in force and the values the firmware moved with it.
//! - [`session`]: the Commander's verbosity and decimals are the
//!   session's, and are put back as found.
//! - [`monitor`]: the sketch's monitoring is put back as found.
//! - [`stream`]: monitoring lines in any format, at a rate the serial port
//!   carries.
//! - [`describe`], [`params`]: units and channel roles that follow the
//!   motion and torque types in force.
//! - [`wire`], [`requests`]: the Commander's lines and replies.

pub mod adapter;
pub mod describe;
pub mod monitor;
pub mod params;
pub mod requests;
pub mod session;
pub mod stream;
pub mod wire;

pub use params::{
    MOTION_INDEX, MOTION_NAMES, MotorParam, NOT_SET, TARGET_INDEX, ValueKind, motion_code,
    motor_params,
};
pub use wire::{CommandTooLong, MAX_LINE, command};

/// What the user tells the adapter about their sketch and port.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleFocSettings {
    /// The letter the sketch registered the motor under
    /// (`command.add('M', doMotor, "motor")`); when the sketch has none
    /// under it and one handler is labelled a motor, that one is used.
    pub letter: char,
    /// The variables to monitor, as the `MMS` bitmask (bit 6 = target …
    /// bit 0 = angle).
    pub monitored: u8,
    /// How often the sketch's `loop()` calls `motor.monitor()`, Hz, until
    /// the rate of the lines that arrive says otherwise.
    pub loop_hz: u32,
    /// The serial port's baud rate: monitoring takes at most 70 % of it.
    pub baud: u32,
}

impl Default for SimpleFocSettings {
    fn default() -> Self {
        Self {
            letter: 'M',
            monitored: MonitorVar::ALL_BITS,
            loop_hz: 10_000,
            baud: 115_200,
        }
    }
}

impl SimpleFocSettings {
    /// The settings with anything unusable replaced by its default.
    pub fn sanitized(&self) -> Self {
        let default = Self::default();
        let monitored = self.monitored & MonitorVar::ALL_BITS;
        Self {
            letter: if self.letter.is_ascii_alphabetic() {
                self.letter
            } else {
                default.letter
            },
            monitored: if monitored == 0 {
                default.monitored
            } else {
                monitored
            },
            loop_hz: self.loop_hz.max(1),
            baud: if self.baud >= 300 {
                self.baud
            } else {
                default.baud
            },
        }
    }
}

/// One variable `monitor()` can print, in its printing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorVar {
    /// The target.
    Target,
    /// The q-axis voltage.
    VoltageQ,
    /// The d-axis voltage.
    VoltageD,
    /// The q-axis current.
    CurrentQ,
    /// The d-axis current.
    CurrentD,
    /// The shaft velocity.
    Velocity,
    /// The shaft angle.
    Angle,
}

impl MonitorVar {
    /// Every variable, in `monitor()`'s printing order.
    pub const ORDER: [MonitorVar; 7] = [
        Self::Target,
        Self::VoltageQ,
        Self::VoltageD,
        Self::CurrentQ,
        Self::CurrentD,
        Self::Velocity,
        Self::Angle,
    ];
    /// The `MMS` mask with every variable on.
    pub const ALL_BITS: u8 = 0b111_1111;

    /// The variable's bit in the `MMS` mask (target is the leftmost).
    pub fn bit(self) -> u8 {
        let position = Self::ORDER.iter().position(|&v| v == self).unwrap_or(0);
        1 << (6 - position)
    }

    /// The variables of `mask`, in printing order.
    pub fn selected(mask: u8) -> Vec<MonitorVar> {
        Self::ORDER
            .into_iter()
            .filter(|v| mask & v.bit() != 0)
            .collect()
    }

    /// The variable's name as the app shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Target => "target",
            Self::VoltageQ => "Vq",
            Self::VoltageD => "Vd",
            Self::CurrentQ => "Iq",
            Self::CurrentD => "Id",
            Self::Velocity => "velocity",
            Self::Angle => "angle",
        }
    }

    /// A current, which `monitor()` prints in mA.
    pub fn is_current(self) -> bool {
        matches!(self, Self::CurrentQ | Self::CurrentD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_sanitized_and_bits_follow_the_printing_order() {
        assert_eq!(MonitorVar::Target.bit(), 0b100_0000);
        assert_eq!(MonitorVar::Angle.bit(), 1);
        assert_eq!(
            MonitorVar::selected(0b100_0011),
            [MonitorVar::Target, MonitorVar::Velocity, MonitorVar::Angle]
        );
        let odd = SimpleFocSettings {
            letter: '7',
            monitored: 0b1000_0000,
            loop_hz: 0,
            baud: 0,
        }
        .sanitized();
        assert_eq!(odd.letter, 'M');
        assert_eq!(odd.monitored, MonitorVar::ALL_BITS);
        assert_eq!(odd.baud, 115_200);
        let one = SimpleFocSettings {
            monitored: 0b1,
            ..SimpleFocSettings::default()
        };
        assert_eq!(one.sanitized().monitored, 1, "one variable reads in @3");
    }
}
