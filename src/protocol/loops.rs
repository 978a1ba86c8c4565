//! The loops a device runs, as data: which of its parameters are a
//! position P around a velocity PI (the cascade ODrive and SimpleFOC run),
//! which limits saturate them, and which channel streams the velocity.
//! Each firmware's adapter names its own settings ([`CascadeNames`], cited
//! from the firmware's source there); a native device declares a cascade
//! by naming its parameters as docs/PROTOCOL.md says. A device that names
//! none has the single PID loop auto-tune has always tuned.

use super::{DeviceInfo, ParamInfo};
use crate::analysis::AntiWindup;

/// The names a firmware gives its cascade's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CascadeNames {
    /// The position loop's P gain, (velocity)/(position).
    pub position_p: &'static str,
    /// The velocity loop's P gain.
    pub velocity_p: &'static str,
    /// The velocity loop's I gain.
    pub velocity_i: &'static str,
    /// The time constant of the filter on the measured velocity, s.
    pub velocity_filter: Option<&'static str>,
    /// Every setting that bounds the velocity command; the smallest above
    /// 0 is in force.
    pub velocity_limits: &'static [&'static str],
    /// Every setting that bounds the velocity loop's output, in the
    /// effort's unit; the smallest above 0 is in force.
    pub effort_limits: &'static [&'static str],
    /// The fastest change of the velocity loop's output, per second.
    pub output_ramp: Option<&'static str>,
    /// The velocity loop's output per unit of streamed effort, when they
    /// differ (ODrive: torque in Nm from a current in A).
    pub output_per_effort: Option<&'static str>,
    /// The channel that streams the measured velocity.
    pub velocity_channel: &'static str,
    /// The firmware stops with an error when the velocity exceeds its
    /// limit by this factor.
    pub overspeed_factor: Option<f64>,
    /// The rate the loops run at, Hz, when the firmware fixes it; `None`
    /// takes the device's sample rate.
    pub controller_hz: Option<f64>,
    /// What the velocity integral does while the output is clamped.
    pub anti_windup: AntiWindup,
    /// When the effort is a voltage (unit `V`), the share of the effort
    /// limit the drive can apply at most.
    pub applied_voltage_share: Option<f64>,
}

/// The native protocol's names for a cascade (docs/PROTOCOL.md, "Loops").
pub const NATIVE_CASCADE: CascadeNames = CascadeNames {
    position_p: "pos.kp",
    velocity_p: "vel.kp",
    velocity_i: "vel.ki",
    velocity_filter: Some("vel.filter"),
    velocity_limits: &["vel.limit"],
    effort_limits: &["vel.output_limit"],
    output_ramp: None,
    output_per_effort: None,
    velocity_channel: "velocity",
    overspeed_factor: None,
    controller_hz: None,
    anti_windup: AntiWindup::Hold,
    applied_voltage_share: None,
};

/// Every naming motiontune knows, tried in turn.
const KNOWN: [&CascadeNames; 3] = [
    &NATIVE_CASCADE,
    &super::odrive::params::CASCADE,
    &super::simplefoc::params::CASCADE,
];

/// A device's P–PI cascade: indices into its parameters and channels.
#[derive(Clone, Debug, PartialEq)]
pub struct CascadeLoops {
    /// The names it was found by.
    pub names: &'static CascadeNames,
    /// The position P.
    pub position_p: u8,
    /// The velocity P.
    pub velocity_p: u8,
    /// The velocity I.
    pub velocity_i: u8,
    /// The velocity filter's time constant.
    pub velocity_filter: Option<u8>,
    /// The velocity limits present.
    pub velocity_limits: Vec<u8>,
    /// The effort limits present.
    pub effort_limits: Vec<u8>,
    /// The output ramp.
    pub output_ramp: Option<u8>,
    /// The output per unit of effort.
    pub output_per_effort: Option<u8>,
    /// The velocity channel, when streamed.
    pub velocity_channel: Option<usize>,
}

impl CascadeLoops {
    /// The cascade `info` declares, by the first naming whose three gains
    /// are all writable parameters; `None` for a single loop.
    pub fn find(info: &DeviceInfo) -> Option<Self> {
        KNOWN.iter().find_map(|names| Self::named(info, names))
    }

    /// Whether `params` hold a cascade's three gains, writable, by any
    /// naming motiontune knows.
    pub fn declared(params: &[ParamInfo]) -> bool {
        KNOWN.iter().any(|names| gains(params, names).is_some())
    }

    fn named(info: &DeviceInfo, names: &'static CascadeNames) -> Option<Self> {
        let index = |name: &str| index(&info.params, name);
        let all = |list: &[&str]| list.iter().filter_map(|&n| index(n)).collect();
        let (position_p, velocity_p, velocity_i) = gains(&info.params, names)?;
        Some(Self {
            names,
            position_p,
            velocity_p,
            velocity_i,
            velocity_filter: names.velocity_filter.and_then(index),
            velocity_limits: all(names.velocity_limits),
            effort_limits: all(names.effort_limits),
            output_ramp: names.output_ramp.and_then(index),
            output_per_effort: names.output_per_effort.and_then(index),
            velocity_channel: info
                .channels
                .iter()
                .position(|c| c.name == names.velocity_channel),
        })
    }

    /// The value of parameter `index` in `params`.
    pub fn value(params: &[ParamInfo], index: u8) -> f64 {
        f64::from(param(params, index).value)
    }

    /// The velocity loop's output per unit of effort (1 when the same).
    pub fn output_per_effort(&self, params: &[ParamInfo]) -> f64 {
        self.output_per_effort
            .map(|i| Self::value(params, i))
            .filter(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(1.0)
    }

    /// The smallest limit above 0 among `indices`; infinite when none.
    pub fn limit(params: &[ParamInfo], indices: &[u8]) -> f64 {
        indices
            .iter()
            .map(|&i| Self::value(params, i))
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold(f64::INFINITY, f64::min)
    }

    /// The output ramp in force, per second (infinite when none: a
    /// firmware takes 0, and SimpleFOC its NOT_SET, as no ramp).
    pub fn output_ramp(&self, params: &[ParamInfo]) -> f64 {
        self.output_ramp
            .map(|i| Self::value(params, i))
            .filter(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(f64::INFINITY)
    }

    /// The velocity filter's time constant in force, s (0 when none).
    pub fn velocity_filter(&self, params: &[ParamInfo]) -> f64 {
        self.velocity_filter
            .map(|i| Self::value(params, i))
            .filter(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(0.0)
    }
}

/// The index of the parameter named `name`.
fn index(params: &[ParamInfo], name: &str) -> Option<u8> {
    params
        .iter()
        .position(|p| p.name == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// The position P, velocity P and velocity I `names` names, each writable.
fn gains(params: &[ParamInfo], names: &CascadeNames) -> Option<(u8, u8, u8)> {
    let writable =
        |name: &str| index(params, name).filter(|&i| !param(params, i).flags.read_only());
    Some((
        writable(names.position_p)?,
        writable(names.velocity_p)?,
        writable(names.velocity_i)?,
    ))
}

fn param(params: &[ParamInfo], index: u8) -> &ParamInfo {
    &params[usize::from(index)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChannelInfo, ChannelRole, ParamFlags};

    fn info(names: &[(&str, u8, f32)]) -> DeviceInfo {
        DeviceInfo {
            name: "test".into(),
            firmware: String::new(),
            protocol_version: 1,
            loop_hz: 1000,
            watchdog_ms: 0,
            channels: vec![ChannelInfo {
                name: "velocity".into(),
                unit: "rad/s".into(),
                role: ChannelRole::Other,
            }],
            params: names
                .iter()
                .map(|&(name, flags, value)| ParamInfo::real(name, "", flags, 0.0, 100.0, value))
                .collect(),
            other_axes: Vec::new(),
        }
    }

    #[test]
    fn a_native_device_declares_its_cascade_by_name() {
        let gain = ParamFlags::TUNING_GAIN;
        let device = info(&[
            ("pos.kp", gain, 20.0),
            ("vel.kp", gain, 0.1),
            ("vel.ki", gain, 1.0),
            ("vel.limit", 0, 30.0),
            ("vel.output_limit", 0, 5.0),
        ]);
        let loops = CascadeLoops::find(&device).expect("a cascade");
        assert_eq!(loops.names, &NATIVE_CASCADE);
        assert_eq!(
            (loops.position_p, loops.velocity_p, loops.velocity_i),
            (0, 1, 2)
        );
        assert_eq!(loops.velocity_filter, None);
        assert_eq!(
            CascadeLoops::limit(&device.params, &loops.velocity_limits),
            30.0
        );
        assert_eq!(
            CascadeLoops::limit(&device.params, &loops.effort_limits),
            5.0
        );
        assert_eq!(loops.output_per_effort(&device.params), 1.0);
        assert_eq!(loops.velocity_channel, Some(0));
        assert!(CascadeLoops::declared(&device.params));
    }

    #[test]
    fn a_single_loop_or_a_read_only_gain_is_no_cascade() {
        let gain = ParamFlags::TUNING_GAIN;
        // The simulated drive's single PID: pos.kp, pos.ki, pos.kd.
        let single = info(&[
            ("pos.kp", gain, 1.0),
            ("pos.ki", gain, 1.0),
            ("pos.kd", gain, 1.0),
        ]);
        assert!(CascadeLoops::find(&single).is_none());
        let read_only = info(&[
            ("pos.kp", gain | ParamFlags::READ_ONLY, 20.0),
            ("vel.kp", gain, 0.1),
            ("vel.ki", gain, 1.0),
        ]);
        assert!(CascadeLoops::find(&read_only).is_none());
        assert!(!CascadeLoops::declared(&read_only.params));
        assert!(!CascadeLoops::declared(&single.params));
    }

    #[test]
    fn the_smallest_limit_above_zero_is_in_force() {
        let device = info(&[("a", 0, 0.0), ("b", 0, 12.0), ("c", 0, 7.0)]);
        assert_eq!(CascadeLoops::limit(&device.params, &[0, 1, 2]), 7.0);
        assert_eq!(CascadeLoops::limit(&device.params, &[0]), f64::INFINITY);
    }
}
