//! Profiles of several devices: one TOML file with a `[[device]]` section
//! per device, each a whole [`Profile`] under the device's label. Loading
//! matches sections to the devices connected by label and gives each its
//! own [`ProfileDiff`], with the same promises as one device's; a section
//! whose device is not connected, and a connected device the file has no
//! section for, are named and left alone.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Profile, ProfileDiff, ProfileError, parse_toml};
use crate::protocol::{DeviceInfo, ParamInfo};

/// What a profile file of several devices holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DevicesProfile {
    /// The name the user gave the profile.
    pub name: String,
    /// When it was saved, RFC 3339 in UTC.
    pub saved: String,
    /// One section per device, in the order they were listed.
    #[serde(rename = "device")]
    pub devices: Vec<DeviceSection>,
}

/// One device's part of a profile of several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceSection {
    /// The device's label when it was saved: what it is matched by.
    pub label: String,
    /// Its gains and settings, as a one-device profile holds them.
    #[serde(flatten)]
    pub profile: Profile,
}

/// A device connected now: its label and its parameters as they are.
pub struct Connected<'a> {
    /// Its label.
    pub label: &'a str,
    /// Its parameters, with the values in force.
    pub params: &'a [ParamInfo],
}

/// What loading a profile of several devices would do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DevicesDiff {
    /// Each connected device the file has a section for, by label, with
    /// what the section would change on it.
    pub devices: Vec<(String, ProfileDiff)>,
    /// Sections whose device is not connected: nothing is written for them.
    pub absent: Vec<String>,
    /// Connected devices the file has no section for: left as they are.
    pub not_in_profile: Vec<String>,
}

impl DevicesProfile {
    /// A profile of each device's gains and plain settings, as in force
    /// now, each under its label; stamped with now.
    pub fn from_devices(name: &str, devices: &[(&str, &DeviceInfo, &[ParamInfo])]) -> Self {
        let sections: Vec<DeviceSection> = devices
            .iter()
            .map(|(label, info, params)| DeviceSection {
                label: (*label).to_owned(),
                profile: Profile::from_device(name, info, params),
            })
            .collect();
        Self {
            name: name.to_owned(),
            saved: sections
                .first()
                .map_or_else(String::new, |s| s.profile.saved.clone()),
            devices: sections,
        }
    }

    /// The profile as TOML text.
    pub fn to_toml(&self) -> Result<String, ProfileError> {
        toml::to_string_pretty(self).map_err(|e| ProfileError::Encode(e.to_string()))
    }

    /// Parses TOML text: every section a valid profile, no label twice.
    pub fn from_toml(text: &str, path: &str) -> Result<Self, ProfileError> {
        let profile: Self = parse_toml(text, path)?;
        for (k, section) in profile.devices.iter().enumerate() {
            let parse = |message: String| ProfileError::Parse {
                path: path.to_owned(),
                message,
            };
            if profile.devices[..k]
                .iter()
                .any(|s| s.label == section.label)
            {
                return Err(parse(format!(
                    "device '{}' has two sections",
                    section.label
                )));
            }
            if let Some(lines) = &section.profile.lines {
                lines
                    .to_settings()
                    .map_err(|m| parse(format!("device '{}': {m}", section.label)))?;
            }
        }
        Ok(profile)
    }

    /// Whether TOML text is a profile of several devices (it has `[[device]]`
    /// sections) rather than of one.
    pub fn is_several(text: &str) -> bool {
        text.parse::<toml::Table>()
            .is_ok_and(|table| table.get("device").is_some_and(toml::Value::is_array))
    }

    /// Writes the profile as TOML to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        std::fs::write(path, self.to_toml()?).map_err(|source| ProfileError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// Compares each section with the device of its label, if connected.
    pub fn diff(&self, connected: &[Connected<'_>]) -> DevicesDiff {
        let mut diff = DevicesDiff::default();
        for section in &self.devices {
            match connected.iter().find(|c| c.label == section.label) {
                Some(device) => diff
                    .devices
                    .push((section.label.clone(), section.profile.diff(device.params))),
                None => diff.absent.push(section.label.clone()),
            }
        }
        diff.not_in_profile = connected
            .iter()
            .filter(|c| self.devices.iter().all(|s| s.label != c.label))
            .map(|c| c.label.to_owned())
            .collect();
        diff
    }
}

impl DevicesDiff {
    /// Changes to write, over every device.
    pub fn change_count(&self) -> usize {
        self.devices.iter().map(|(_, d)| d.changes.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ParamFlags;

    fn info(name: &str) -> DeviceInfo {
        DeviceInfo {
            name: name.into(),
            firmware: "fw".into(),
            protocol_version: 1,
            loop_hz: 1000,
            watchdog_ms: 0,
            channels: Vec::new(),
            params: Vec::new(),
            other_axes: Vec::new(),
        }
    }

    fn gains(kp: f32) -> Vec<ParamInfo> {
        vec![
            ParamInfo::real("pos.kp", "A/rad", ParamFlags::TUNING_GAIN, 0.0, 100.0, kp),
            ParamInfo::real("serial", "", ParamFlags::READ_ONLY, 0.0, 1e6, 42.0),
        ]
    }

    #[test]
    fn each_section_applies_to_its_device_only() {
        let (x, y) = (gains(20.0), gains(30.0));
        let saved = DevicesProfile::from_devices(
            "gantry",
            &[("x", &info("drive"), &x), ("y", &info("drive"), &y)],
        );
        let text = saved.to_toml().expect("encodes");
        assert!(text.contains("[[device]]"), "{text}");
        assert!(
            !text.contains("serial"),
            "read-only values are not saved: {text}"
        );
        assert!(DevicesProfile::is_several(&text));
        assert!(!DevicesProfile::is_several(
            &Profile::from_device("one", &info("drive"), &x)
                .to_toml()
                .expect("encodes")
        ));
        let loaded = DevicesProfile::from_toml(&text, "gantry.toml").expect("parses");
        assert_eq!(loaded, saved);

        // Now x's gain moved; y is the same; z is connected and not in the
        // file; the file's y is matched by label, not by order.
        let (x_now, z) = (gains(25.0), gains(1.0));
        let diff = loaded.diff(&[
            Connected {
                label: "z",
                params: &z,
            },
            Connected {
                label: "x",
                params: &x_now,
            },
        ]);
        assert_eq!(diff.devices.len(), 1);
        let (label, x_diff) = &diff.devices[0];
        assert_eq!(label, "x");
        assert_eq!(x_diff.changes.len(), 1);
        assert_eq!((x_diff.changes[0].old, x_diff.changes[0].new), (25.0, 20.0));
        assert_eq!(diff.change_count(), 1);
        assert_eq!(diff.absent, ["y"]);
        assert_eq!(diff.not_in_profile, ["z"]);
    }

    #[test]
    fn a_label_twice_or_a_broken_section_is_one_line() {
        let x = gains(20.0);
        let mut twice =
            DevicesProfile::from_devices("p", &[("x", &info("a"), &x), ("x2", &info("b"), &x)]);
        twice.devices[1].label = "x".into();
        let text = twice.to_toml().expect("encodes");
        let error = DevicesProfile::from_toml(&text, "p.toml").expect_err("refused");
        assert_eq!(error.to_string(), "p.toml: device 'x' has two sections");
        let error = DevicesProfile::from_toml("name = 3", "p.toml").expect_err("refused");
        assert!(error.to_string().starts_with("p.toml: line 1"), "{error}");
    }
}
