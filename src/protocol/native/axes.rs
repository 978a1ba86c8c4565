//! Several axes in one native device (docs/PROTOCOL.md, "Several axes"):
//! an axis is the prefix before the first `.` of a feedback channel's name
//! (`x.position` makes axis `x`); the channels and parameters named with
//! that prefix are the axis's, under their names without it, and those
//! named with no axis's prefix (`plant.inertia`, `link.bad_frames`) belong
//! to every axis. A device with no prefixed feedback channel has no axes.

/// One axis: its name and, in order, the device's indices of its channels
/// and parameters (its own, then the shared, as the device lists them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// The prefix that names it (`x`).
    pub name: String,
    /// Device channel indices, in the device's order.
    pub channels: Vec<u8>,
    /// Device parameter indices, in the device's order.
    pub params: Vec<u8>,
}

impl Axis {
    /// The axis's index of device channel or parameter `device_index`
    /// among `indices`.
    pub fn local(indices: &[u8], device_index: u8) -> Option<u8> {
        indices
            .iter()
            .position(|&i| i == device_index)
            .map(|at| at as u8)
    }

    /// `name` as the axis calls it: without its prefix.
    pub fn local_name<'a>(&self, name: &'a str) -> &'a str {
        name.strip_prefix(self.name.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(name)
    }
}

/// The prefix of `name`, if it has one.
fn prefix(name: &str) -> Option<&str> {
    name.split_once('.').map(|(prefix, _)| prefix)
}

/// The device's axes, from its channels (name, is feedback) and
/// parameter names; none for a device that names no axis.
pub fn axes<'a>(
    channels: impl IntoIterator<Item = (&'a str, bool)> + Clone,
    params: impl IntoIterator<Item = &'a str> + Clone,
) -> Vec<Axis> {
    let mut names: Vec<&str> = Vec::new();
    for (name, feedback) in channels.clone() {
        if let Some(axis) = prefix(name).filter(|_| feedback)
            && !names.contains(&axis)
        {
            names.push(axis);
        }
    }
    let belongs = |axis: &str, name: &str| match prefix(name) {
        Some(p) if names.contains(&p) => p == axis,
        _ => true,
    };
    names
        .iter()
        .map(|&axis| Axis {
            name: axis.to_owned(),
            channels: (0u8..)
                .zip(channels.clone())
                .filter(|(_, (name, _))| belongs(axis, name))
                .map(|(i, _)| i)
                .collect(),
            params: (0u8..)
                .zip(params.clone())
                .filter(|(_, name)| belongs(axis, name))
                .map(|(i, _)| i)
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prefixed_feedback_channel_makes_an_axis_and_the_rest_is_shared() {
        let channels = [
            ("x.setpoint", false),
            ("x.position", true),
            ("y.setpoint", false),
            ("y.position", true),
            ("bus.voltage", false),
        ];
        let params = ["x.kp", "y.kp", "plant.inertia", "x.setpoint", "y.setpoint"];
        let found = axes(channels, params);
        assert_eq!(
            found,
            [
                Axis {
                    name: "x".into(),
                    channels: vec![0, 1, 4],
                    params: vec![0, 2, 3],
                },
                Axis {
                    name: "y".into(),
                    channels: vec![2, 3, 4],
                    params: vec![1, 2, 4],
                },
            ]
        );
        assert_eq!(found[1].local_name("y.kp"), "kp");
        assert_eq!(found[1].local_name("plant.inertia"), "plant.inertia");
        assert_eq!(Axis::local(&found[1].params, 4), Some(2));
        assert_eq!(Axis::local(&found[1].params, 0), None);
    }

    #[test]
    fn a_device_naming_no_axis_has_none() {
        // The simulated drive: dotted parameters, no prefixed feedback.
        let channels = [
            ("setpoint", false),
            ("position", true),
            ("pos.error", false),
        ];
        assert!(axes(channels, ["pos.kp", "plant.inertia"]).is_empty());
    }
}
