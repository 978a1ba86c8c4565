//! The `[lines]` section of a profile: what the user declared about a
//! plain-text sketch (time column, roles, parameters with their command
//! templates, enable/disable commands), saved beside the values so the
//! sketch can be connected again as it was. Loading checks every field;
//! a bad one is one line naming it.

use serde::{Deserialize, Serialize};

use crate::protocol::lines::settings::{line_param, parse_flags};
use crate::protocol::lines::{CommandTemplate, LinesSettings};

/// `[lines]` as written in the file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinesSection {
    /// `N:us`, `N:ms` or `N:s`; absent: lines are timed on arrival.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_column: Option<String>,
    /// `ref=…,fb=…,effort=…`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub roles: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The line sent for ENABLE, as the user wrote it.
    pub enable: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The line sent for ENABLE 0, as the user wrote it.
    pub disable: Option<String>,
    #[serde(default, rename = "param")]
    /// The parameters declared, with their command templates.
    pub params: Vec<LinesParamEntry>,
}

/// One `[[lines.param]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinesParamEntry {
    /// The parameter's name.
    pub name: String,
    /// The lowest value allowed.
    pub min: f32,
    /// The highest value allowed.
    pub max: f32,
    #[serde(default)]
    /// Its unit; empty when the file gives none.
    pub unit: String,
    /// `gain`, `setpoint`, `log` or `none`, joined with `+`.
    #[serde(default = "default_flags")]
    pub flags: String,
    /// e.g. `kp {value}\n` (escapes as written on the command line).
    pub template: String,
}

fn default_flags() -> String {
    "gain".into()
}

impl LinesSection {
    /// The section that saves `settings`.
    pub fn from_settings(settings: &LinesSettings) -> Self {
        Self {
            time_column: settings.time_column.map(|c| c.to_string()),
            roles: settings.roles.to_string(),
            enable: settings.enable.as_ref().map(|t| t.source().to_owned()),
            disable: settings.disable.as_ref().map(|t| t.source().to_owned()),
            params: settings
                .params
                .iter()
                .map(|p| LinesParamEntry {
                    name: p.name.clone(),
                    min: p.min,
                    max: p.max,
                    unit: p.unit.clone(),
                    flags: p.flag_words(),
                    template: p.template.source().to_owned(),
                })
                .collect(),
        }
    }

    /// The settings the section declares, or one line saying what is wrong.
    pub fn to_settings(&self) -> Result<LinesSettings, String> {
        let in_lines = |e: String| format!("[lines]: {e}");
        let fixed = |template: &Option<String>| {
            template
                .as_deref()
                .map(CommandTemplate::fixed)
                .transpose()
                .map_err(in_lines)
        };
        Ok(LinesSettings {
            time_column: self
                .time_column
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(in_lines)?,
            roles: self.roles.parse().map_err(in_lines)?,
            params: self
                .params
                .iter()
                .map(|p| {
                    let flags = parse_flags(&p.flags)?;
                    line_param(&p.name, p.min, p.max, &p.unit, flags, &p.template)
                })
                .collect::<Result<_, _>>()
                .map_err(in_lines)?,
            enable: fixed(&self.enable)?,
            disable: fixed(&self.disable)?,
        })
    }
}
