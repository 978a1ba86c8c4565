//! The axis properties offered as parameters, with their units, flags and
//! slider bounds, and the names of the choices among them.

use crate::analysis::AntiWindup;
use crate::protocol::ParamFlags;
use crate::protocol::loops::CascadeNames;

/// One property offered as a parameter.
pub struct Param {
    /// Path below `axisN.`.
    pub path: &'static str,
    /// Its unit, empty for a switch or a choice.
    pub unit: &'static str,
    /// The flags the app sees (`ParamFlags`).
    pub flags: u8,
    /// The slider's lower bound, in its unit.
    pub min: f32,
    /// The slider's upper bound, in its unit.
    pub max: f32,
}

const GAIN: u8 = ParamFlags::TUNING_GAIN | ParamFlags::LOG_SCALE;

const fn param(path: &'static str, unit: &'static str, flags: u8, min: f32, max: f32) -> Param {
    Param {
        path,
        unit,
        flags,
        min,
        max,
    }
}

/// Gain limits bracket the 0.5.x defaults (pos_gain 20, vel_gain 1/6,
/// vel_integrator_gain 1/3, fw-v0.5.6 controller.hpp:27-30) by about two
/// decades each way; the smallest is kept above 1e-3, where a read still
/// shows four significant digits of `%f`'s six decimals.
pub const PARAMS: &[Param] = &[
    param(
        "controller.config.pos_gain",
        "(turn/s)/turn",
        GAIN,
        0.1,
        1000.0,
    ),
    param(
        "controller.config.vel_gain",
        "Nm/(turn/s)",
        GAIN,
        1e-3,
        20.0,
    ),
    param(
        "controller.config.vel_integrator_gain",
        "Nm/turn",
        GAIN,
        0.0,
        200.0,
    ),
    param("controller.config.vel_limit", "turn/s", 0, 0.0, 1000.0),
    param("motor.config.current_lim", "A", 0, 0.0, 120.0),
    param(
        "controller.input_pos",
        "turn",
        ParamFlags::SETPOINT,
        -1e4,
        1e4,
    ),
    param(
        "config.enable_watchdog",
        "",
        ParamFlags::KIND_SWITCH,
        0.0,
        1.0,
    ),
    param("config.watchdog_timeout", "s", 0, 0.0, 10.0),
    param(
        "current_state",
        "",
        ParamFlags::READ_ONLY | ParamFlags::KIND_CHOICE,
        0.0,
        13.0,
    ),
    param(
        "controller.config.control_mode",
        "",
        ParamFlags::MODE | ParamFlags::KIND_CHOICE,
        0.0,
        3.0,
    ),
    // Read, never written: the cascade's gains are torques per velocity,
    // the streamed effort a current (motor.hpp:24, default 0.04 Nm/A).
    param(
        "motor.config.torque_constant",
        "Nm/A",
        ParamFlags::READ_ONLY,
        0.0,
        10.0,
    ),
];

/// The P–PI cascade of fw-v0.5.6 `Controller::update`: `pos_gain` on the
/// position error is the velocity command, clamped to `vel_limit`
/// (controller.cpp:286-287, 326-329); `vel_gain` and the integrator of
/// `vel_integrator_gain` on the velocity error are the torque
/// (373-385), clamped to `current_lim × torque_constant` (289,
/// motor.cpp:385-395), the integrator decaying while clamped (407-419).
/// Above `vel_limit_tolerance` (1.2, controller.hpp:32) × `vel_limit` the
/// axis stops with `ERROR_OVERSPEED` (controller.cpp:331-340). The loops
/// run at ODrive 3.x's `current_meas_hz`, 8 kHz (Board/v3/Inc/board.h:117).
pub const CASCADE: CascadeNames = CascadeNames {
    position_p: "controller.config.pos_gain",
    velocity_p: "controller.config.vel_gain",
    velocity_i: "controller.config.vel_integrator_gain",
    velocity_filter: None,
    velocity_limits: &["controller.config.vel_limit"],
    effort_limits: &["motor.config.current_lim"],
    output_ramp: None,
    output_per_effort: Some("motor.config.torque_constant"),
    velocity_channel: "vel_estimate",
    overspeed_factor: Some(1.2),
    controller_hz: Some(8000.0),
    anti_windup: AntiWindup::Decay(0.99),
    applied_voltage_share: None,
};

/// Index of `controller.input_pos`, the setpoint, in [`PARAMS`].
pub const INPUT_POS_INDEX: u8 = 5;
/// Index of `config.enable_watchdog` in [`PARAMS`].
pub const WATCHDOG_ON_INDEX: u8 = 6;
/// Index of `config.watchdog_timeout` in [`PARAMS`].
pub const WATCHDOG_TIMEOUT_INDEX: u8 = 7;
/// Index of `current_state` in [`PARAMS`].
pub const CURRENT_STATE_INDEX: u8 = 8;
/// Index of `controller.config.control_mode` in [`PARAMS`].
pub const CONTROL_MODE_INDEX: u8 = 9;

/// `ODrive.Axis.AxisState` from 0 (fw-v0.5.6 `odrive-interface.yaml`
/// 1523-1580; 5, sensorless control before 0.5, is no state there).
const AXIS_STATES: [&str; 14] = [
    "undefined",
    "idle",
    "startup sequence",
    "full calibration",
    "motor calibration",
    "(no state 5)",
    "encoder index search",
    "encoder offset calibration",
    "closed loop",
    "lockin spin",
    "encoder direction find",
    "homing",
    "hall polarity calibration",
    "hall phase calibration",
];

/// `ODrive.Controller.ControlMode` from 0 (fw-v0.5.6
/// `odrive-interface.yaml` 1603-1623).
const CONTROL_MODES: [&str; 4] = ["voltage", "torque", "velocity", "position"];

/// The names of a choice parameter's values (kind bits in its flags).
pub fn choice_names(path: &str) -> Vec<String> {
    let names: &[&str] = match path {
        "current_state" => &AXIS_STATES,
        "controller.config.control_mode" => &CONTROL_MODES,
        _ => &[],
    };
    names.iter().map(|&n| n.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_indices_name_their_parameters() {
        let path = |index: u8| PARAMS[usize::from(index)].path;
        assert_eq!(path(INPUT_POS_INDEX), "controller.input_pos");
        assert_eq!(path(WATCHDOG_ON_INDEX), "config.enable_watchdog");
        assert_eq!(path(WATCHDOG_TIMEOUT_INDEX), "config.watchdog_timeout");
        assert_eq!(path(CURRENT_STATE_INDEX), "current_state");
        assert_eq!(path(CONTROL_MODE_INDEX), "controller.config.control_mode");
    }
}
