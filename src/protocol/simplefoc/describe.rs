//! What a SimpleFOC motor is to the app, from what it answered: its
//! parameters with the units of the modes in force, and the monitored
//! channels with the roles the procedures measure by. It promises that a
//! step test, a Bode plot or auto-tune measures the quantity the target
//! commands (Arduino-FOC 2.4.0, `FOCMotor.cpp`:580-770):
//!
//! - Reference: the target.
//! - Feedback: the angle in the closed-loop angle modes, the velocity in
//!   velocity mode; in torque mode the current q with current control and
//!   Vq itself with voltage control (`voltage.q` is the target, clamped).
//!   The open-loop modes measure nothing (their angle and velocity are
//!   the commanded ones) and custom mode's loop is the sketch's: no
//!   feedback, so a step test refuses in one line.
//! - Effort: what the motion loop commands: Vq with voltage control, the
//!   current q with current control (when monitored).
//! - Currents are monitored in mA (FOCMotor.cpp:355, 361) and given in A,
//!   the unit of the target and limits they are compared with.

use super::params::{MotorParam, TORQUE_TITLES};
use super::{MonitorVar, SimpleFocSettings};
use crate::protocol::{ChannelInfo, ChannelRole, DeviceInfo, ParamFlags, ParamInfo};

/// What the motor answered while it was described.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers<'a> {
    /// The motor's command letter.
    pub letter: char,
    /// The parameters asked for.
    pub params: &'a [MotorParam],
    /// NaN for a parameter the firmware did not answer.
    pub values: &'a [f32],
    /// The motion type's code in force.
    pub motion: u8,
    /// The torque type's code in force.
    pub torque: u8,
    /// Monitored lines a second at stream divider 1.
    pub stream_hz: f64,
}

/// The device the app sees.
pub fn device_info(settings: &SimpleFocSettings, answers: &Answers<'_>) -> DeviceInfo {
    let params = answers
        .params
        .iter()
        .zip(answers.values)
        .map(|(param, &value)| {
            let mut flags = param.flags;
            if value.is_nan() {
                flags |= ParamFlags::READ_ONLY;
            }
            ParamInfo {
                name: param.name.to_owned(),
                unit: param.unit(answers.motion, answers.torque),
                flags: ParamFlags(flags),
                min: param.min,
                max: param.max,
                value: if value.is_nan() { 0.0 } else { value },
                kind: param.param_kind(),
            }
        })
        .collect();
    let torque = TORQUE_TITLES
        .get(usize::from(answers.torque))
        .copied()
        .unwrap_or("unknown");
    DeviceInfo {
        name: format!("SimpleFOC motor '{}'", answers.letter),
        firmware: format!("Arduino-FOC Commander, {torque} torque control"),
        protocol_version: 1,
        loop_hz: answers.stream_hz.round().max(1.0) as u32,
        watchdog_ms: 0,
        channels: channels(settings.monitored, answers.motion, answers.torque),
        params,
        other_axes: Vec::new(),
    }
}

/// The monitored channels with their units and roles.
pub fn channels(mask: u8, motion: u8, torque: u8) -> Vec<ChannelInfo> {
    let selected = MonitorVar::selected(mask);
    let current_control = torque != 0;
    let feedback = match motion {
        1 => Some(MonitorVar::Velocity),
        2 | 5 => Some(MonitorVar::Angle),
        0 if current_control => Some(MonitorVar::CurrentQ),
        0 => Some(MonitorVar::VoltageQ),
        _ => None,
    };
    let effort = if current_control && motion != 0 && selected.contains(&MonitorVar::CurrentQ) {
        Some(MonitorVar::CurrentQ)
    } else if feedback != Some(MonitorVar::VoltageQ) && selected.contains(&MonitorVar::VoltageQ) {
        Some(MonitorVar::VoltageQ)
    } else {
        None
    };
    selected
        .into_iter()
        .map(|var| ChannelInfo {
            name: var.name().to_owned(),
            unit: match var {
                MonitorVar::Target => super::params::target_unit(motion, torque),
                MonitorVar::VoltageQ | MonitorVar::VoltageD => "V",
                MonitorVar::CurrentQ | MonitorVar::CurrentD => "A",
                MonitorVar::Velocity => "rad/s",
                MonitorVar::Angle => "rad",
            }
            .to_owned(),
            role: if var == MonitorVar::Target {
                ChannelRole::Reference
            } else if Some(var) == feedback {
                ChannelRole::Feedback
            } else if Some(var) == effort {
                ChannelRole::Effort
            } else {
                ChannelRole::Other
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(motion: u8, torque: u8) -> Vec<(String, ChannelRole)> {
        channels(MonitorVar::ALL_BITS, motion, torque)
            .into_iter()
            .filter(|c| c.role != ChannelRole::Other)
            .map(|c| (c.name, c.role))
            .collect()
    }

    fn named(pairs: &[(&str, ChannelRole)]) -> Vec<(String, ChannelRole)> {
        pairs.iter().map(|&(n, r)| (n.to_owned(), r)).collect()
    }

    #[test]
    fn the_feedback_is_what_the_target_commands() {
        use ChannelRole::*;
        assert_eq!(
            roles(2, 0),
            named(&[("target", Reference), ("Vq", Effort), ("angle", Feedback)])
        );
        assert_eq!(
            roles(1, 0),
            named(&[
                ("target", Reference),
                ("Vq", Effort),
                ("velocity", Feedback)
            ])
        );
        assert_eq!(
            roles(0, 2),
            named(&[("target", Reference), ("Vq", Effort), ("Iq", Feedback)]),
            "torque with current control: the current"
        );
        assert_eq!(
            roles(0, 0),
            named(&[("target", Reference), ("Vq", Feedback)]),
            "torque with voltage control: the voltage itself"
        );
        assert_eq!(
            roles(1, 2),
            named(&[
                ("target", Reference),
                ("Iq", Effort),
                ("velocity", Feedback)
            ])
        );
        assert_eq!(roles(3, 0), named(&[("target", Reference), ("Vq", Effort)]));
        assert_eq!(roles(6, 0), named(&[("target", Reference), ("Vq", Effort)]));
        let units: Vec<String> = channels(MonitorVar::ALL_BITS, 0, 2)
            .into_iter()
            .map(|c| c.unit)
            .collect();
        assert_eq!(units, ["A", "V", "V", "A", "A", "rad/s", "rad"]);
    }
}
