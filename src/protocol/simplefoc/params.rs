//! The motor parameters the Commander reads and writes under the motor's
//! letter, what each means in the motion and torque types in force, and
//! which others the firmware changes along with a write. It promises that
//! a unit shown is the unit the firmware works in now (Arduino-FOC 2.4.0,
//! `src/common/base_classes/FOCMotor.cpp`, cited by line):
//!
//! - The velocity PID's output is the torque loop's setpoint
//!   (`current_sp`, 735-741): volts with voltage torque control, amperes
//!   with the current modes (`loopFOC`, 605-655). So are its limit and
//!   ramp, and in `angle_nocascade` the angle P controller's (723).
//! - The target is the outermost loop's setpoint (710-770): volts or
//!   amperes in torque mode, rad/s in the velocity modes, rad in the
//!   angle modes, whatever the sketch's callback takes in custom mode.
//! - Writes that move others (446-535): the voltage limit sets the
//!   current PIDs' limits and, in voltage mode, the velocity PID's (and in
//!   nocascade the angle P's); the current limit, in the current modes,
//!   the velocity PID's (and the angle P's in nocascade); the velocity
//!   limit the angle P's (except in nocascade); the motion type the
//!   target and every limit.

use crate::analysis::AntiWindup;
use crate::protocol::loops::CascadeNames;
use crate::protocol::{ParamFlags, ParamKind};

/// `NOT_SET` (Arduino-FOC `src/common/foc_utils.h`:34): the value a
/// setting holds when it is not set (the velocity PID's ramp by default,
/// `defaults.h`:9); outside every range here, so the app shows "not set".
pub use crate::protocol::NOT_SET;

/// The motion control types as `MC` prints them (Commander.cpp:441-462),
/// by code (`MotionControlType`, FOCMotor.h:49-57).
pub const MOTION_NAMES: [&str; 7] = [
    "torque",
    "vel",
    "angle",
    "vel open",
    "angle open",
    "angle nocascade",
    "custom",
];

/// The torque control types as `MT` prints them (Commander.cpp:478-490),
/// by code (`TorqueControlType`, FOCMotor.h:62-67).
pub const TORQUE_NAMES: [&str; 4] = ["volt", "dc curr", "foc curr", "est. curr"];

/// What the torque control types are called in messages.
pub const TORQUE_TITLES: [&str; 4] = ["voltage", "DC current", "FOC current", "estimated current"];

/// The code of a motion name as `MC` prints it.
pub fn motion_code(name: &str) -> Option<u8> {
    MOTION_NAMES
        .iter()
        .position(|&n| n == name)
        .map(|code| code as u8)
}

/// The code of a torque type as `MT` prints it.
pub fn torque_code(name: &str) -> Option<u8> {
    TORQUE_NAMES
        .iter()
        .position(|&n| n == name)
        .map(|code| code as u8)
}

/// How a parameter's value is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A number.
    Number,
    /// `MC`: the motion type's name.
    Motion,
}

/// What a parameter's unit follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Fixed(&'static str),
    /// The torque loop's setpoint: V or A, `per` something.
    Torque(&'static str),
    /// The angle P controller's output: rad/s, or V or A in nocascade.
    AngleOutput(&'static str),
    /// The target's unit.
    Target,
}

/// One motor parameter the Commander reads and writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotorParam {
    /// The parameter's name as the app shows it.
    pub name: &'static str,
    /// The letters after the motor's letter that write and read it
    /// (`VP`); the target is written as a bare number and read as `MG0`.
    pub letters: &'static str,
    unit: Unit,
    /// The flags the app sees (`ParamFlags`).
    pub flags: u8,
    /// The lowest value, in its unit.
    pub min: f32,
    /// The highest value, in its unit.
    pub max: f32,
    /// How its value is printed.
    pub kind: ValueKind,
}

impl MotorParam {
    /// The letters that read it.
    pub fn read_letters(&self) -> &'static str {
        if self.name == "target" {
            "MG0"
        } else {
            self.letters
        }
    }

    /// Its unit with motion type `motion` and torque type `torque`.
    pub fn unit(&self, motion: u8, torque: u8) -> String {
        let torque_unit = if torque == 0 { "V" } else { "A" };
        match self.unit {
            Unit::Fixed(unit) => unit.to_owned(),
            Unit::Torque(per) => format!("{torque_unit}{per}"),
            Unit::AngleOutput(per) if motion == 5 => format!("{torque_unit}{per}"),
            Unit::AngleOutput(per) => format!("rad/s{per}"),
            Unit::Target => target_unit(motion, torque).to_owned(),
        }
    }

    /// What values the parameter takes: the motion type is a choice of
    /// `MotionControlType` (FOCMotor.h:49-57), everything else a number.
    pub fn param_kind(&self) -> ParamKind {
        match self.kind {
            ValueKind::Number => ParamKind::Real,
            ValueKind::Motion => {
                ParamKind::Choice(MOTION_NAMES.iter().map(|&n| n.to_owned()).collect())
            }
        }
    }
}

/// The target's unit: the outer loop's quantity (FOCMotor.cpp:710-770).
pub fn target_unit(motion: u8, torque: u8) -> &'static str {
    match motion {
        0 if torque == 0 => "V",
        0 => "A",
        1 | 3 => "rad/s",
        2 | 4 | 5 => "rad",
        _ => "",
    }
}

const GAIN: u8 = ParamFlags::TUNING_GAIN | ParamFlags::LOG_SCALE;

const fn param(
    name: &'static str,
    letters: &'static str,
    unit: Unit,
    flags: u8,
    max: f32,
) -> MotorParam {
    MotorParam {
        name,
        letters,
        unit,
        flags,
        min: 0.0,
        max,
        kind: ValueKind::Number,
    }
}

/// A PID's six parameters: P, I, D, ramp, limit (`Commander::pid`,
/// Commander.cpp:509-544) and its filter's Tf (`lpf`, 546-561). `output`
/// is the unit of its output; `per` what its error is in.
macro_rules! pid_params {
    ($prefix:literal, $letter:literal, $output:expr, $per:literal, $p:literal, $i:literal, $d:literal, $limit:literal) => {
        [
            param(
                concat!($prefix, ".P"),
                concat!($letter, "P"),
                $output(concat!("/", $per)),
                GAIN,
                $p,
            ),
            param(
                concat!($prefix, ".I"),
                concat!($letter, "I"),
                $output(concat!("/(", $per, "·s)")),
                GAIN,
                $i,
            ),
            param(
                concat!($prefix, ".D"),
                concat!($letter, "D"),
                $output(concat!("·s/", $per)),
                GAIN,
                $d,
            ),
            param(
                concat!($prefix, ".ramp"),
                concat!($letter, "R"),
                $output("/s"),
                0,
                1.0e6,
            ),
            param(
                concat!($prefix, ".limit"),
                concat!($letter, "L"),
                $output(""),
                0,
                $limit,
            ),
            param(
                concat!($prefix, ".Tf"),
                concat!($letter, "F"),
                Unit::Fixed("s"),
                0,
                1.0,
            ),
        ]
    };
}

/// The angle mode's P–PI cascade (Arduino-FOC 2.4.0
/// `FOCMotor::move`, src/common/base_classes/FOCMotor.cpp:726-734):
/// `P_angle` on the angle error is the velocity command, clamped to
/// `velocity_limit`, which also sets `P_angle.limit` (446-450);
/// `PID_velocity` on the velocity error, its output limited to the voltage
/// or current limit by torque control (453-477), is the torque command in
/// the streamed effort's unit (Vq or Iq). The measured velocity passes
/// `LPF_velocity` (74), whose time constant is `vel.Tf`. The PID's
/// integral integrates on while the output is clamped, itself clamped to
/// the limit (src/common/pid.cpp:37-40). In voltage mode a `Uq` above half
/// the driver's voltage limit is not applied: sine PWM centres the phases
/// on half of it and the driver clamps each to 0 … the limit
/// (BLDCMotor.cpp:222-269), and the motor's limit is at most the driver's
/// (76), so half the voltage limit is what can surely be applied. The velocity
/// PID's output ramp (`vel.ramp`) is not modelled. The loop rate is the
/// sketch's `loop()` rate, which the wire does not tell: 10 kHz is taken
/// (the emulator's, and a fast MCU's), `autotune --loop-hz` says otherwise.
pub const CASCADE: CascadeNames = CascadeNames {
    position_p: "angle.P",
    velocity_p: "vel.P",
    velocity_i: "vel.I",
    velocity_filter: Some("vel.Tf"),
    velocity_limits: &["angle.limit", "limit.velocity"],
    effort_limits: &["vel.limit"],
    output_ramp: Some("vel.ramp"),
    output_per_effort: None,
    velocity_channel: "velocity",
    overspeed_factor: None,
    controller_hz: Some(10_000.0),
    anti_windup: AntiWindup::ClampToLimit,
    applied_voltage_share: Some(0.5),
};

/// Index of the motion type in [`motor_params`].
pub const MOTION_INDEX: u8 = 27;
/// Index of the target (the setpoint) in [`motor_params`].
pub const TARGET_INDEX: u8 = 28;

/// The motor parameters, index = position. The bounds are ours (the
/// firmware has none): gains span two decades above the library's example
/// values (velocity P 0.2, I 20; angle P 20; current P 3, I 300), limits a
/// bench motor's range (the library defaults are 12 V, 2 A, 20 rad/s).
pub fn motor_params() -> Vec<MotorParam> {
    let mut params = Vec::with_capacity(29);
    params.extend(pid_params!(
        "vel",
        "V",
        Unit::Torque,
        "(rad/s)",
        100.0,
        10_000.0,
        10.0,
        100.0
    ));
    params.extend(pid_params!(
        "angle",
        "A",
        Unit::AngleOutput,
        "rad",
        1000.0,
        10_000.0,
        100.0,
        1000.0
    ));
    params.extend(pid_params!(
        "curr_q",
        "Q",
        current_loop,
        "A",
        100.0,
        100_000.0,
        10.0,
        100.0
    ));
    params.extend(pid_params!(
        "curr_d",
        "D",
        current_loop,
        "A",
        100.0,
        100_000.0,
        10.0,
        100.0
    ));
    params.push(param("limit.current", "LC", Unit::Fixed("A"), 0, 100.0));
    params.push(param("limit.voltage", "LU", Unit::Fixed("V"), 0, 100.0));
    params.push(param(
        "limit.velocity",
        "LV",
        Unit::Fixed("rad/s"),
        0,
        1000.0,
    ));
    params.push(MotorParam {
        name: "motion",
        letters: "C",
        unit: Unit::Fixed(""),
        // Changing it changes what the motor does (and, in the firmware,
        // re-seeds the target: FOCMotor.cpp:495-535).
        flags: ParamFlags::MODE,
        min: 0.0,
        max: 6.0,
        kind: ValueKind::Motion,
    });
    params.push(MotorParam {
        name: "target",
        letters: "",
        unit: Unit::Target,
        flags: ParamFlags::SETPOINT,
        min: -1000.0,
        max: 1000.0,
        kind: ValueKind::Number,
    });
    params
}

/// The current loops' units: volts out per ampere of error.
fn current_loop(per: &'static str) -> Unit {
    Unit::Fixed(match per {
        "/A" => "V/A",
        "/(A·s)" => "V/(A·s)",
        "·s/A" => "V·s/A",
        "/s" => "V/s",
        _ => "V",
    })
}

/// The parameters the firmware changes along with a write of `name`
/// (FOCMotor.cpp:446-535), to be read again after it.
pub fn moved_by(name: &str) -> &'static [&'static str] {
    match name {
        // updateVoltageLimit (466-477).
        "limit.voltage" => &["curr_q.limit", "curr_d.limit", "vel.limit", "angle.limit"],
        // updateCurrentLimit (453-461).
        "limit.current" => &["vel.limit", "angle.limit"],
        // updateVelocityLimit (446-449).
        "limit.velocity" => &["angle.limit"],
        // updateMotionControlType (495-535): the target and every limit.
        "motion" => &[
            "target",
            "angle.limit",
            "vel.limit",
            "curr_q.limit",
            "curr_d.limit",
        ],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str, motion: u8, torque: u8) -> String {
        let params = motor_params();
        let param = params.iter().find(|p| p.name == name).expect("known");
        param.unit(motion, torque)
    }

    #[test]
    fn units_follow_the_motion_and_torque_types() {
        assert_eq!(unit("target", 2, 0), "rad");
        assert_eq!(unit("target", 1, 0), "rad/s");
        assert_eq!(unit("target", 0, 0), "V");
        assert_eq!(unit("target", 0, 2), "A", "foc_current: a current");
        assert_eq!(unit("vel.limit", 2, 0), "V");
        assert_eq!(unit("vel.limit", 2, 1), "A", "dc_current: a current");
        assert_eq!(unit("vel.P", 1, 2), "A/(rad/s)");
        assert_eq!(unit("angle.P", 2, 0), "rad/s/rad");
        assert_eq!(unit("angle.limit", 5, 2), "A", "nocascade: a current");
        assert_eq!(unit("curr_q.P", 2, 2), "V/A");
        assert_eq!(unit("limit.velocity", 0, 0), "rad/s");
    }

    #[test]
    fn the_table_keeps_its_indices() {
        let params = motor_params();
        assert_eq!(params.len(), usize::from(TARGET_INDEX) + 1);
        assert_eq!(params[usize::from(MOTION_INDEX)].name, "motion");
        assert_eq!(params[6].name, "angle.P");
        for moved in ["limit.voltage", "limit.current", "limit.velocity", "motion"]
            .iter()
            .flat_map(|name| moved_by(name))
        {
            assert!(params.iter().any(|p| p.name == *moved), "{moved}");
        }
        assert_eq!(motion_code("angle nocascade"), Some(5));
        assert_eq!(torque_code("foc curr"), Some(2));
    }
}
