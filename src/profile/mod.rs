//! Parameter profiles: the gains and plain settings of a device
//! ([`ParamInfo::is_tunable`]) saved to a TOML file with their units, and
//! loaded back as a [`ProfileDiff`] against a connected device. A profile
//! never holds, and never loads, the setpoint, a mode or a read-only value:
//! loading one cannot move the axis or start an experiment. The diff
//! promises that every [`ProfileChange`] is safe to send (the device has
//! the name, the parameter is a gain or setting, the value is finite and
//! inside its limits); everything else is a [`Refusal`] with a reason the
//! user can read, listed even when its value equals the device's. Nothing
//! here writes to a device or knows about egui.

pub mod devices;
pub mod lines;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::protocol::{DeviceInfo, ParamInfo};

/// What a profile file holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The name the user gave the profile.
    pub name: String,
    /// The device the profile was saved from.
    pub device: String,
    /// That device's firmware and version.
    pub firmware: String,
    /// When it was saved, RFC 3339 in UTC.
    pub saved: String,
    /// One entry per gain or plain setting, in the device's order.
    #[serde(rename = "param")]
    pub params: Vec<ProfileParam>,
    /// What the user declared about a plain-text sketch, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<lines::LinesSection>,
}

/// One parameter in a profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileParam {
    /// The parameter's name on the device.
    pub name: String,
    /// Its value, in its unit.
    pub value: f32,
    #[serde(default)]
    /// Its unit; empty when the file gives none.
    pub unit: String,
}

/// Why a profile could not be read or written; one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read {path}: {source}")]
    /// The file could not be read.
    Read {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    /// The file could not be written.
    Write {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    #[error("cannot write the profile as TOML: {0}")]
    /// The profile could not be encoded as TOML.
    Encode(String),
    #[error("{path}: {message}")]
    /// The file is not a profile.
    Parse {
        /// The file.
        path: String,
        /// Where and why, as the TOML reader said it.
        message: String,
    },
}

/// Parses TOML text; `path` names the source in the error, with the line
/// and, where the parser knows it, the field.
fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, path: &str) -> Result<T, ProfileError> {
    toml::from_str(text).map_err(|error| {
        let message = error.message().trim().replace('\n', " ");
        let message = match error.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: {message}")
            }
            None => message,
        };
        ProfileError::Parse {
            path: path.to_owned(),
            message,
        }
    })
}

impl Profile {
    /// A profile of the gains and plain settings among `params` (the
    /// values in force on `device`), stamped with now.
    pub fn from_device(name: &str, device: &DeviceInfo, params: &[ParamInfo]) -> Self {
        Self {
            name: name.to_owned(),
            device: device.name.clone(),
            firmware: device.firmware.clone(),
            saved: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            params: params
                .iter()
                .filter(|p| p.is_tunable())
                .map(|p| ProfileParam {
                    name: p.name.clone(),
                    value: p.value,
                    unit: p.unit.clone(),
                })
                .collect(),
            lines: None,
        }
    }

    /// The profile as TOML text.
    pub fn to_toml(&self) -> Result<String, ProfileError> {
        toml::to_string_pretty(self).map_err(|e| ProfileError::Encode(e.to_string()))
    }

    /// Parses TOML text; `path` names the source in the error, with the
    /// line and, where the parser knows it, the field.
    pub fn from_toml(text: &str, path: &str) -> Result<Self, ProfileError> {
        let profile: Self = parse_toml(text, path)?;
        if let Some(section) = &profile.lines
            && let Err(message) = section.to_settings()
        {
            return Err(ProfileError::Parse {
                path: path.to_owned(),
                message,
            });
        }
        Ok(profile)
    }

    /// Writes the profile as TOML to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        std::fs::write(path, self.to_toml()?).map_err(|source| ProfileError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads a profile from `path`; one that does not parse names the line and the field.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_toml(&text, &shown)
    }

    /// Compares the profile with the device's parameters as they are now.
    pub fn diff(&self, device: &[ParamInfo]) -> ProfileDiff {
        let mut diff = ProfileDiff::default();
        for wanted in &self.params {
            let Some((index, param)) = device
                .iter()
                .enumerate()
                .find(|(_, p)| p.name == wanted.name)
            else {
                diff.refused.push(Refusal {
                    name: wanted.name.clone(),
                    reason: RefusalReason::UnknownName,
                });
                continue;
            };
            if let Some(reason) = param.role().not_tunable_reason() {
                diff.refused.push(Refusal {
                    name: wanted.name.clone(),
                    reason: RefusalReason::NotTunable(reason),
                });
                continue;
            }
            if wanted.value == param.value {
                continue;
            }
            let reason = if !wanted.value.is_finite()
                || wanted.value < param.min
                || wanted.value > param.max
            {
                Some(RefusalReason::OutOfRange {
                    value: wanted.value,
                    min: param.min,
                    max: param.max,
                    unit: param.unit.clone(),
                })
            } else {
                None
            };
            match reason {
                Some(reason) => diff.refused.push(Refusal {
                    name: wanted.name.clone(),
                    reason,
                }),
                None => diff.changes.push(ProfileChange {
                    index: index as u8,
                    name: wanted.name.clone(),
                    old: param.value,
                    new: wanted.value,
                    unit: param.unit.clone(),
                }),
            }
        }
        diff
    }
}

/// What loading a profile would do to a device.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileDiff {
    /// Writable parameters whose value differs, in the profile's order.
    pub changes: Vec<ProfileChange>,
    /// Entries that will not be written, and why.
    pub refused: Vec<Refusal>,
}

/// One parameter the profile would change.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileChange {
    /// The parameter's index on the device.
    pub index: u8,
    /// Its name.
    pub name: String,
    /// The value in force on the device, in its unit.
    pub old: f32,
    /// The profile's value, in its unit.
    pub new: f32,
    /// Its unit.
    pub unit: String,
}

/// A profile entry that will not be written.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The entry's name.
    pub name: String,
    /// Why it is refused.
    pub reason: RefusalReason,
}

#[derive(Clone, Debug, PartialEq)]
/// Why a profile entry is refused.
pub enum RefusalReason {
    /// The device has no parameter of that name.
    UnknownName,
    /// The value is outside the device's limits (or not a number).
    OutOfRange {
        /// The profile's value.
        value: f32,
        /// The lowest value the device accepts.
        min: f32,
        /// The highest value the device accepts.
        max: f32,
        /// Their unit.
        unit: String,
    },
    /// Not a gain or setting: the setpoint, a mode or a read-only value
    /// (the reason says which).
    NotTunable(&'static str),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = &self.name;
        match &self.reason {
            RefusalReason::UnknownName => write!(f, "{name}: the device has no such parameter"),
            RefusalReason::OutOfRange {
                value,
                min,
                max,
                unit,
            } => write!(
                f,
                "{name}: {value} is outside the device's limits {min} … {max} {unit}"
            ),
            RefusalReason::NotTunable(reason) => {
                write!(f, "{name}: not loaded from a profile: {reason}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ParamFlags;

    fn param(name: &str, flags: u8, min: f32, max: f32, value: f32) -> ParamInfo {
        ParamInfo::real(name, "A", flags, min, max, value)
    }

    fn device() -> Vec<ParamInfo> {
        vec![
            param("pos.kp", ParamFlags::TUNING_GAIN, 0.0, 1000.0, 20.0),
            param("pos.ki", ParamFlags::TUNING_GAIN, 0.0, 100.0, 5.0),
            param("serial", ParamFlags::READ_ONLY, 0.0, 1e6, 42.0),
            param("pos.setpoint", ParamFlags::SETPOINT, -10.0, 10.0, 0.0),
            param("relay.active", ParamFlags::MODE, 0.0, 1.0, 0.0)
                .with_kind(crate::protocol::ParamKind::Switch),
        ]
    }

    fn info() -> DeviceInfo {
        DeviceInfo {
            name: "bench drive".into(),
            firmware: "1.2".into(),
            protocol_version: 1,
            loop_hz: 1000,
            watchdog_ms: 500,
            channels: Vec::new(),
            params: device(),
            other_axes: Vec::new(),
        }
    }

    fn profile(params: &[(&str, f32)]) -> Profile {
        Profile {
            name: "test".into(),
            device: "bench drive".into(),
            firmware: "1.2".into(),
            saved: "2026-01-01T00:00:00Z".into(),
            params: params
                .iter()
                .map(|&(name, value)| ProfileParam {
                    name: name.into(),
                    value,
                    unit: "A".into(),
                })
                .collect(),
            lines: None,
        }
    }

    #[test]
    fn a_saved_profile_loads_back_equal_and_diffs_to_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.toml");
        let saved = Profile::from_device("tuned", &info(), &device());
        let names: Vec<&str> = saved.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["pos.kp", "pos.ki"], "gains and settings only");
        saved.save(&path).expect("saved");
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(text.contains("name = \"tuned\""), "{text}");
        assert!(text.contains("device = \"bench drive\""), "{text}");
        assert!(text.contains("[[param]]"), "{text}");
        let loaded = Profile::load(&path).expect("loads");
        assert_eq!(loaded, saved);
        assert!(humantime::parse_rfc3339(&loaded.saved).is_ok());
        assert_eq!(loaded.diff(&device()), ProfileDiff::default());
    }

    #[test]
    fn diff_lists_changes_and_refuses_unknown_out_of_range_and_what_is_not_a_gain() {
        let wanted = profile(&[
            ("pos.kp", 30.0),
            ("pos.ki", 500.0),
            ("pos.kx", 1.0),
            ("serial", 7.0),
            ("pos.kd", f32::NAN),
            ("pos.setpoint", 5.0),
            ("relay.active", 1.0),
        ]);
        let diff = wanted.diff(&device());
        assert_eq!(
            diff.changes,
            vec![ProfileChange {
                index: 0,
                name: "pos.kp".into(),
                old: 20.0,
                new: 30.0,
                unit: "A".into(),
            }]
        );
        let reasons: Vec<_> = diff.refused.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            reasons,
            vec![
                "pos.ki: 500 is outside the device's limits 0 … 100 A",
                "pos.kx: the device has no such parameter",
                "serial: not loaded from a profile: it is read-only",
                "pos.kd: the device has no such parameter",
                "pos.setpoint: not loaded from a profile: it is the setpoint: writing it moves the axis",
                "relay.active: not loaded from a profile: it switches the drive's mode or state",
            ]
        );
    }

    #[test]
    fn a_nan_value_for_a_known_parameter_is_out_of_range() {
        let diff = profile(&[("pos.kp", f32::NAN)]).diff(&device());
        assert!(diff.changes.is_empty());
        assert!(matches!(
            diff.refused[0].reason,
            RefusalReason::OutOfRange { .. }
        ));
    }

    #[test]
    fn what_is_not_a_gain_is_refused_even_at_the_devices_value() {
        let diff = profile(&[("serial", 42.0), ("relay.active", 0.0)]).diff(&device());
        assert!(diff.changes.is_empty());
        assert_eq!(diff.refused.len(), 2, "{diff:?}");
    }

    #[test]
    fn a_bad_file_names_the_file_and_the_line() {
        let text = "name = \"x\"\ndevice = \"d\"\nfirmware = \"f\"\nsaved = \"s\"\n\n[[param]]\nname = \"pos.kp\"\nvalue = \"fast\"\n";
        let error = Profile::from_toml(text, "bad.toml").expect_err("a string is not a value");
        let message = error.to_string();
        assert!(message.starts_with("bad.toml: line 8: "), "{message}");
        assert!(!message.contains('\n'), "{message}");

        let error = Profile::from_toml("name = \"x\"\n", "short.toml").expect_err("fields missing");
        let message = error.to_string();
        assert!(message.starts_with("short.toml"), "{message}");
        assert!(message.contains("device"), "{message}");
    }

    #[test]
    fn a_missing_file_is_one_line_naming_it() {
        let error = Profile::load(Path::new("/nonexistent/p.toml")).expect_err("no file");
        assert!(
            error
                .to_string()
                .starts_with("cannot read /nonexistent/p.toml: ")
        );
    }

    #[test]
    fn a_lines_section_saves_and_loads_back_the_same_settings() {
        use crate::protocol::lines::{CommandTemplate, LinesSettings};
        let settings = LinesSettings {
            time_column: Some("1:ms".parse().expect("column")),
            roles: "ref=setpoint,fb=2".parse().expect("roles"),
            params: vec![
                "kp:0:100:A/rad:gain+log=kp {value}\\n".parse().expect("kp"),
                "sp:-5:5:rad:setpoint=sp {value}".parse().expect("sp"),
            ],
            enable: Some(CommandTemplate::fixed("e1").expect("enable")),
            disable: None,
        };
        let mut saved = profile(&[("kp", 3.0)]);
        saved.lines = Some(lines::LinesSection::from_settings(&settings));
        let text = saved.to_toml().expect("toml");
        assert!(
            text.contains("[lines]") && text.contains("[[lines.param]]"),
            "{text}"
        );
        assert!(
            text.contains(r#"template = 'kp {value}\n'"#)
                || text.contains(r#"template = "kp {value}\\n""#),
            "{text}"
        );
        let loaded = Profile::from_toml(&text, "p.toml").expect("loads");
        assert_eq!(loaded, saved);
        let section = loaded.lines.expect("a [lines] section");
        assert_eq!(section.to_settings(), Ok(settings));
    }

    #[test]
    fn a_bad_template_in_the_lines_section_is_one_line() {
        let text = "name = \"x\"\ndevice = \"d\"\nfirmware = \"f\"\nsaved = \"s\"\nparam = []\n\n[lines]\n[[lines.param]]\nname = \"kp\"\nmin = 0\nmax = 10\ntemplate = \"kp\"\n";
        let message = Profile::from_toml(text, "bad.toml")
            .expect_err("no {value}")
            .to_string();
        assert_eq!(
            message,
            "bad.toml: [lines]: parameter kp: command template 'kp' has no {value}"
        );
    }
}
