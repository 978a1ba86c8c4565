//! SimpleFOC Commander (Arduino-FOC 2.x) on the wire: the motor parameters
//! the Commander reads and writes under the motor's command letter, the
//! commands that carry them (never longer than the 20 bytes the Commander
//! buffers), the replies it prints in each verbosity, and the monitoring
//! lines `FOCMotor::monitor()` prints. No I/O; [`adapter`] drives it.
//!
//! Behaviour followed (simplefoc/Arduino-FOC, `src/communication/Commander.cpp`
//! and `src/common/base_classes/FOCMotor.cpp`):
//! - A command is a line ended by `\n` (a `\r` also ends it). The Commander
//!   keeps 20 bytes, newline included; at 20 without a newline it clears the
//!   buffer, so a longer command is lost (and its tail read as a new line).
//! - Replies end in `\r\n` (Arduino `println`) and depend on the verbosity:
//!   `@0` prints nothing at all, `@1` only the value (`0.500`), `@2` (the
//!   default) a label then the value (`PID vel| P: 0.500`), `@3` the command
//!   letters then the value (`MVP0.500`). Numbers have `decimal_places`
//!   decimals (3 by default). An unknown motor command prints `err`.
//! - Reading the target is `M` alone, which prints only in `@3`; `MMG0`
//!   (monitor get, variable 0) prints it in every verbosity, so it is used.
//! - `E1` enables and `E0` disables (the code calls `enable()` for a true
//!   value, whatever the header comment says).
//! - `monitor()` prints the variables selected by `MMS` (a 7-character
//!   bitmask: target, Vq, Vd, Iq, Id, velocity, angle) separated by tabs,
//!   currents in mA, every `MMD`-th call; `MMD0` stops it. No timestamps.

pub mod adapter;
pub mod monitor;

/// What the user tells the adapter about their sketch.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleFocSettings {
    /// The letter the sketch registered the motor under
    /// (`command.add('M', doMotor, "motor")`).
    pub letter: char,
    /// The variables to monitor, as the `MMS` bitmask (bit 6 = target …
    /// bit 0 = angle); at least two, so monitoring lines (which then hold a
    /// tab) never look like replies.
    pub monitored: u8,
    /// How often the sketch's `loop()` calls `motor.monitor()`, Hz. Only the
    /// app's rate arithmetic uses it: samples are timed on the host.
    pub loop_hz: u32,
    /// `monitor()` calls per stream tick: a stream divider `d` becomes
    /// `MMD{d × base_downsample}`, so the default divider 1 does not flood a
    /// 115200-baud port (which would stall the motor loop).
    pub base_downsample: u16,
}

impl Default for SimpleFocSettings {
    fn default() -> Self {
        Self {
            letter: 'M',
            monitored: MonitorVar::ALL_BITS,
            loop_hz: 10_000,
            base_downsample: 10,
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
            monitored: if monitored.count_ones() >= 2 {
                monitored
            } else {
                default.monitored
            },
            loop_hz: self.loop_hz.max(1),
            base_downsample: self.base_downsample.max(1),
        }
    }
}

/// One variable `monitor()` can print, in its printing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorVar {
    Target,
    VoltageQ,
    VoltageD,
    CurrentQ,
    CurrentD,
    Velocity,
    Angle,
}

impl MonitorVar {
    pub const ORDER: [MonitorVar; 7] = [
        Self::Target,
        Self::VoltageQ,
        Self::VoltageD,
        Self::CurrentQ,
        Self::CurrentD,
        Self::Velocity,
        Self::Angle,
    ];
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
}

/// The motion control types of `MC`, by their code.
pub const MOTION_NAMES: [&str; 7] = [
    "torque",
    "vel",
    "angle",
    "vel open",
    "angle open",
    "angle nocascade",
    "custom",
];

/// The code of a motion name as `MC` prints it.
pub fn motion_code(name: &str) -> Option<u8> {
    MOTION_NAMES
        .iter()
        .position(|&n| n == name)
        .map(|code| code as u8)
}

/// How a parameter's value is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Number,
    /// `MC`: the motion type's name.
    Motion,
}

/// One motor parameter the Commander reads and writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotorParam {
    pub name: &'static str,
    /// The letters after the motor's letter that write it (`VP`).
    pub write: &'static str,
    /// The letters that read it (the same, except the target).
    pub read: &'static str,
    /// What `@2` prints before the value.
    pub friendly: &'static str,
    pub unit: &'static str,
    pub flags: u8,
    pub min: f32,
    pub max: f32,
    pub kind: ValueKind,
}

impl MotorParam {
    /// What values the parameter takes: the motion type is a choice of
    /// `MotionControlType` (FOCMotor.h:49-57), everything else a number.
    pub fn param_kind(&self) -> crate::protocol::ParamKind {
        match self.kind {
            ValueKind::Number => crate::protocol::ParamKind::Real,
            ValueKind::Motion => crate::protocol::ParamKind::Choice(
                MOTION_NAMES.iter().map(|&n| n.to_owned()).collect(),
            ),
        }
    }
}

const GAIN: u8 = crate::protocol::ParamFlags::TUNING_GAIN | crate::protocol::ParamFlags::LOG_SCALE;

macro_rules! pid_params {
    ($prefix:literal, $letter:literal, $label:literal, $p:literal, $i:literal, $d:literal, $unit:literal, $limit_unit:literal, $limit:literal) => {
        [
            number(
                concat!($prefix, ".P"),
                concat!($letter, "P"),
                concat!($label, "P: "),
                $unit,
                GAIN,
                $p,
            ),
            number(
                concat!($prefix, ".I"),
                concat!($letter, "I"),
                concat!($label, "I: "),
                concat!($unit, "/s"),
                GAIN,
                $i,
            ),
            number(
                concat!($prefix, ".D"),
                concat!($letter, "D"),
                concat!($label, "D: "),
                concat!($unit, "·s"),
                GAIN,
                $d,
            ),
            number(
                concat!($prefix, ".ramp"),
                concat!($letter, "R"),
                concat!($label, "ramp: "),
                concat!($limit_unit, "/s"),
                0,
                1.0e6,
            ),
            number(
                concat!($prefix, ".limit"),
                concat!($letter, "L"),
                concat!($label, "limit: "),
                $limit_unit,
                0,
                $limit,
            ),
            number(
                concat!($prefix, ".Tf"),
                concat!($letter, "F"),
                concat!($label, "Tf: "),
                "s",
                0,
                1.0,
            ),
        ]
    };
}

const fn number(
    name: &'static str,
    letters: &'static str,
    friendly: &'static str,
    unit: &'static str,
    flags: u8,
    max: f32,
) -> MotorParam {
    MotorParam {
        name,
        write: letters,
        read: letters,
        friendly,
        unit,
        flags,
        min: 0.0,
        max,
        kind: ValueKind::Number,
    }
}

/// Index of the target (the setpoint) in [`motor_params`].
pub const TARGET_INDEX: u8 = 28;
/// Index of the motion type in [`motor_params`].
pub const MOTION_INDEX: u8 = 27;

/// The motor parameters, index = position. The bounds are ours (the
/// firmware has none): gains span two decades above the library's example
/// values (velocity P 0.2, I 20; angle P 20; current P 3, I 300), limits a
/// bench motor's range (the library defaults are 12 V, 2 A, 20 rad/s).
pub fn motor_params() -> Vec<MotorParam> {
    let mut params = Vec::with_capacity(29);
    params.extend(pid_params!(
        "vel",
        "V",
        "PID vel| ",
        100.0,
        10_000.0,
        10.0,
        "V·s/rad",
        "V",
        100.0
    ));
    params.extend(pid_params!(
        "angle",
        "A",
        "PID angle| ",
        1000.0,
        10_000.0,
        100.0,
        "rad/s/rad",
        "rad/s",
        1000.0
    ));
    params.extend(pid_params!(
        "curr_q",
        "Q",
        "PID curr q| ",
        100.0,
        100_000.0,
        10.0,
        "V/A",
        "V",
        100.0
    ));
    params.extend(pid_params!(
        "curr_d",
        "D",
        "PID curr d| ",
        100.0,
        100_000.0,
        10.0,
        "V/A",
        "V",
        100.0
    ));
    params.push(number(
        "limit.current",
        "LC",
        "Limits| curr: ",
        "A",
        0,
        100.0,
    ));
    params.push(number(
        "limit.voltage",
        "LU",
        "Limits| volt: ",
        "V",
        0,
        100.0,
    ));
    params.push(number(
        "limit.velocity",
        "LV",
        "Limits| vel: ",
        "rad/s",
        0,
        1000.0,
    ));
    params.push(MotorParam {
        name: "motion",
        write: "C",
        read: "C",
        friendly: "Motion:",
        unit: "",
        // Changing it changes what the motor does (and, in the firmware,
        // re-seeds the target: FOCMotor.cpp:495-535).
        flags: crate::protocol::ParamFlags::MODE,
        min: 0.0,
        max: 6.0,
        kind: ValueKind::Motion,
    });
    params.push(MotorParam {
        name: "target",
        write: "",
        read: "MG0",
        friendly: "Target: ",
        unit: "",
        flags: crate::protocol::ParamFlags::SETPOINT,
        min: -1000.0,
        max: 1000.0,
        kind: ValueKind::Number,
    });
    params
}

/// What `MMG0` prints before the target in `@2`.
pub const TARGET_READ_FRIENDLY: &str = "Monitor | target: ";

/// The longest line the Commander keeps, newline included.
pub const MAX_LINE: usize = 20;

/// A command that cannot be written within the Commander's 20 bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandTooLong(pub String);

/// `{letter}{letters}{value}\n`, the value written as precisely as fits in
/// the Commander's 20 bytes (shortest exact decimal, else an exponent with
/// as many digits as fit).
pub fn command(letter: char, letters: &str, value: Option<f32>) -> Result<String, CommandTooLong> {
    let head = format!("{letter}{letters}");
    let room = MAX_LINE.saturating_sub(head.len() + 1);
    let number = match value {
        None => String::new(),
        Some(value) if !value.is_finite() => {
            return Err(CommandTooLong(format!(
                "{value} cannot be written to a SimpleFOC parameter"
            )));
        }
        Some(value) => fit_number(value, room).ok_or_else(|| {
            CommandTooLong(format!(
                "{value} does not fit the 20 characters SimpleFOC accepts after {head}"
            ))
        })?,
    };
    if head.len() + number.len() + 1 > MAX_LINE {
        return Err(CommandTooLong(format!(
            "the command {head} is longer than the 20 characters SimpleFOC accepts"
        )));
    }
    Ok(format!("{head}{number}\n"))
}

fn fit_number(value: f32, room: usize) -> Option<String> {
    let plain = format!("{value}");
    if plain.len() <= room {
        return Some(plain);
    }
    (0..=8)
        .rev()
        .map(|digits| format!("{value:.digits$e}"))
        .find(|text| text.len() <= room)
}

/// What a line from the device is.
#[derive(Clone, Debug, PartialEq)]
pub enum Line<'a> {
    /// Tab-separated numbers (a monitoring line).
    Monitor(Vec<f32>),
    /// A line with a tab that is not all numbers.
    BadMonitor,
    /// Anything else printable: a reply or a debug message.
    Text(&'a str),
    /// Bytes that are not printable text.
    Garbage,
}

/// Classifies one line, its `\r\n` or `\n` already removed.
pub fn classify(line: &[u8]) -> Line<'_> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Line::Garbage;
    };
    if text
        .chars()
        .any(|c| c.is_control() && c != '\t' && c != '\r')
    {
        return Line::Garbage;
    }
    let text = text.trim_end_matches('\r');
    if !text.contains('\t') {
        return Line::Text(text);
    }
    let values: Option<Vec<f32>> = text
        .trim_end_matches('\t')
        .split('\t')
        .map(|field| field.trim().parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect();
    values.map_or(Line::BadMonitor, Line::Monitor)
}

/// The value in a reply to the request whose `@3` echo is `machine` and
/// whose `@2` label is `friendly`, in whichever verbosity it was printed.
pub fn reply_value(line: &str, machine: &str, friendly: &str, kind: ValueKind) -> Option<f32> {
    let body = line
        .strip_prefix(friendly)
        .or_else(|| line.strip_prefix(machine))
        .unwrap_or(line);
    match kind {
        ValueKind::Number => body.trim().parse::<f32>().ok().filter(|v| v.is_finite()),
        ValueKind::Motion => motion_code(body.trim()).map(f32::from),
    }
}

/// Whether a reply is the Commander's error (`err`, after any prefix).
pub fn is_error_reply(line: &str) -> bool {
    line.ends_with("err")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_fit_in_twenty_bytes_and_keep_the_value() {
        assert_eq!(command('M', "VP", Some(0.5)).as_deref(), Ok("MVP0.5\n"));
        assert_eq!(command('M', "", Some(-1.25)).as_deref(), Ok("M-1.25\n"));
        assert_eq!(command('M', "VP", None).as_deref(), Ok("MVP\n"));
        for value in [1e-12f32, 123_456_790.0, f32::MAX, -f32::MIN_POSITIVE, 0.1] {
            let text = command('M', "VP", Some(value)).expect("fits");
            assert!(text.len() <= MAX_LINE, "{text:?}");
            let number: f32 = text[3..text.len() - 1].parse().expect("a number");
            assert!((number - value).abs() <= value.abs() * 1e-6, "{text}");
        }
        assert!(command('M', "VP", Some(f32::NAN)).is_err());
        let long = command('M', "ABCDEFGHIJKLMNOPQRS", Some(1.0)).expect_err("too long");
        assert!(long.0.contains("20 characters"), "{long}");
    }

    #[test]
    fn replies_parse_in_every_verbosity() {
        let vp = |line| reply_value(line, "MVP", "PID vel| P: ", ValueKind::Number);
        assert_eq!(vp("0.500"), Some(0.5));
        assert_eq!(vp("PID vel| P: 0.500"), Some(0.5));
        assert_eq!(vp("MVP0.500"), Some(0.5));
        assert_eq!(vp("MOT: Monitor enabled!"), None);
        let mc = |line| reply_value(line, "MC", "Motion:", ValueKind::Motion);
        assert_eq!(mc("Motion:angle"), Some(2.0));
        assert_eq!(mc("MCvel open"), Some(3.0));
        assert_eq!(mc("torque"), Some(0.0));
        assert_eq!(mc("0.5"), None);
        assert!(is_error_reply("unknown cmd err"));
        assert!(is_error_reply("MXerr"));
    }

    #[test]
    fn lines_are_told_apart() {
        assert_eq!(
            classify(b"1.0000\t-0.5000\t2\r"),
            Line::Monitor(vec![1.0, -0.5, 2.0])
        );
        assert_eq!(classify(b"1.0\tnan"), Line::BadMonitor);
        assert_eq!(classify(b"1.0\tx"), Line::BadMonitor);
        assert_eq!(
            classify(b"PID vel| P: 0.5\r"),
            Line::Text("PID vel| P: 0.5")
        );
        assert_eq!(classify(&[0xff, 0x00, 0x41]), Line::Garbage);
    }

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
            monitored: 0b1,
            loop_hz: 0,
            base_downsample: 0,
        }
        .sanitized();
        assert_eq!(odd.letter, 'M');
        assert_eq!(odd.monitored, MonitorVar::ALL_BITS);
        assert_eq!(motor_params().len(), usize::from(TARGET_INDEX) + 1);
        assert_eq!(motor_params()[usize::from(MOTION_INDEX)].name, "motion");
    }
}
