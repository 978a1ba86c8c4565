//! What the user declares about a plain-text sketch, since it cannot say
//! it itself: which column (if any) is device time, which channel plays
//! which role, and the parameters with the command templates that set
//! them. Every text form here (`--lines-…` arguments, profile fields) is
//! parsed with one clear line on a bad value.

use std::fmt;
use std::str::FromStr;

use crate::protocol::ParamFlags;

/// The placeholder a command template replaces with the value written.
pub const VALUE_PLACEHOLDER: &str = "{value}";

/// The unit of a device-time column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// `micros()`: wraps at 2³² µs (71.6 minutes).
    Micros,
    /// `millis()`: wraps at 2³² ms (49.7 days).
    Millis,
    /// Seconds as a decimal number; never wraps.
    Seconds,
}

impl TimeUnit {
    /// The unit as `--lines-time-column` spells it (`us`, `ms`, `s`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Micros => "us",
            Self::Millis => "ms",
            Self::Seconds => "s",
        }
    }

    /// Device ticks per second for samples timed in this unit. Seconds are
    /// placed on a microsecond tick: a decimal second counter needs
    /// sub-second ticks.
    pub fn tick_hz(self) -> f64 {
        match self {
            Self::Micros | Self::Seconds => 1e6,
            Self::Millis => 1e3,
        }
    }

    /// Ticks in one unit of the column.
    pub fn ticks_per_unit(self) -> f64 {
        match self {
            Self::Micros | Self::Millis => 1.0,
            Self::Seconds => 1e6,
        }
    }

    /// The counter's wrap in ticks, for the Arduino `u32` counters.
    pub fn wrap_ticks(self) -> Option<i64> {
        match self {
            Self::Micros | Self::Millis => Some(1 << 32),
            Self::Seconds => None,
        }
    }
}

/// A column of each line that carries device time instead of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeColumn {
    /// 1-based position of the field in the line.
    pub column: usize,
    /// The unit the column counts in.
    pub unit: TimeUnit,
}

impl FromStr for TimeColumn {
    type Err = String;

    /// `N:us`, `N:ms` or `N:s`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refused = || format!("'{text}' is not a time column: use N:us, N:ms or N:s (N from 1)");
        let (column, unit) = text.split_once(':').ok_or_else(refused)?;
        let column: usize = column.trim().parse().map_err(|_| refused())?;
        if column == 0 {
            return Err(refused());
        }
        let unit = match unit.trim() {
            "us" | "µs" => TimeUnit::Micros,
            "ms" => TimeUnit::Millis,
            "s" => TimeUnit::Seconds,
            _ => return Err(refused()),
        };
        Ok(Self { column, unit })
    }
}

impl fmt::Display for TimeColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.column, self.unit.key())
    }
}

/// A command line with `{value}` where the number goes, e.g. `kp {value}\n`.
/// Escapes `\n`, `\r`, `\t` and `\\` are understood; a template without a
/// line end gets `\n`, which is what `Serial.readStringUntil('\n')` waits
/// for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandTemplate {
    /// As the user wrote it (escapes unexpanded), for saving and editing.
    source: String,
    before: String,
    after: String,
}

impl CommandTemplate {
    /// A template that carries a value.
    pub fn with_value(source: &str) -> Result<Self, String> {
        let expanded = unescape(source)?;
        let mut parts = expanded.split(VALUE_PLACEHOLDER);
        let before = parts.next().unwrap_or_default().to_owned();
        let Some(after) = parts.next() else {
            return Err(format!(
                "command template '{source}' has no {VALUE_PLACEHOLDER}"
            ));
        };
        if parts.next().is_some() {
            return Err(format!(
                "command template '{source}' has {VALUE_PLACEHOLDER} more than once"
            ));
        }
        Self::checked(source, before, after.to_owned())
    }

    /// A template without a value (enable, disable).
    pub fn fixed(source: &str) -> Result<Self, String> {
        let expanded = unescape(source)?;
        if expanded.contains(VALUE_PLACEHOLDER) {
            return Err(format!(
                "command template '{source}' takes no {VALUE_PLACEHOLDER}"
            ));
        }
        Self::checked(source, expanded, String::new())
    }

    fn checked(source: &str, before: String, mut after: String) -> Result<Self, String> {
        if before.trim().is_empty() && after.trim().is_empty() && !source.contains('{') {
            return Err("a command template cannot be empty".into());
        }
        let ends_line = after.ends_with('\n') || (after.is_empty() && before.ends_with('\n'));
        if !ends_line {
            after.push('\n');
        }
        Ok(Self {
            source: source.to_owned(),
            before,
            after,
        })
    }

    /// The template as the user wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The bytes that send `value`. Rust prints an `f32` in the shortest
    /// decimal that reads back to it and never with an exponent, which is
    /// what `Serial.parseFloat` and `atof` expect.
    pub fn render(&self, value: Option<f32>, out: &mut Vec<u8>) {
        out.extend_from_slice(self.before.as_bytes());
        if let Some(value) = value {
            out.extend_from_slice(value.to_string().as_bytes());
        }
        out.extend_from_slice(self.after.as_bytes());
    }
}

fn unescape(source: &str) -> Result<String, String> {
    let mut text = String::with_capacity(source.len());
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => text.push('\n'),
            Some('r') => text.push('\r'),
            Some('t') => text.push('\t'),
            Some('\\') => text.push('\\'),
            other => {
                let shown = other.map_or(String::new(), String::from);
                return Err(format!(
                    "command template '{source}' has an unknown escape \\{shown} (use \\n, \\r, \\t or \\\\)"
                ));
            }
        }
    }
    Ok(text)
}

/// One parameter of a sketch, declared by the user.
#[derive(Clone, Debug, PartialEq)]
pub struct LineParam {
    /// The parameter's name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// The lowest value the user allows.
    pub min: f32,
    /// The highest value the user allows.
    pub max: f32,
    /// Gain and/or setpoint (step tests drive the setpoint).
    pub flags: ParamFlags,
    /// The line sent to write it, `{value}` replaced by the value.
    pub template: CommandTemplate,
}

impl LineParam {
    /// The flags as the words `--lines-param` takes, `+`-separated.
    pub fn flag_words(&self) -> String {
        let mut words = vec![];
        if self.flags.tuning_gain() {
            words.push("gain");
        }
        if self.flags.setpoint() {
            words.push("setpoint");
        }
        if self.flags.log_scale() {
            words.push("log");
        }
        match self.flags.0 & ParamFlags::KIND_MASK {
            ParamFlags::KIND_INTEGER => words.push("int"),
            ParamFlags::KIND_SWITCH => words.push("switch"),
            _ => {}
        }
        if self.flags.mode() {
            words.push("mode");
        }
        if words.is_empty() {
            "none".into()
        } else {
            words.join("+")
        }
    }
}

/// Parses `gain`, `setpoint`, `log`, `int`, `switch`, `mode`, `none`,
/// joined with `+`: `int` and `switch` say what values the parameter takes,
/// `mode` that it switches what the sketch does (undo, profiles and
/// auto-tune never write it).
pub fn parse_flags(text: &str) -> Result<ParamFlags, String> {
    let mut flags = 0;
    for word in text.split('+').map(str::trim) {
        let bits = match word {
            "gain" => ParamFlags::TUNING_GAIN,
            "setpoint" => ParamFlags::SETPOINT,
            "log" => ParamFlags::LOG_SCALE,
            "int" => ParamFlags::KIND_INTEGER,
            "switch" => ParamFlags::KIND_SWITCH,
            "mode" => ParamFlags::MODE,
            "none" => 0,
            _ => {
                return Err(format!(
                    "'{word}' is not a parameter flag: use gain, setpoint, log, int, switch, mode or none, joined with +"
                ));
            }
        };
        if bits & ParamFlags::KIND_MASK != 0 && flags & ParamFlags::KIND_MASK != 0 {
            return Err(format!(
                "'{text}' names two kinds: a parameter is int or switch, not both"
            ));
        }
        flags |= bits;
    }
    Ok(ParamFlags(flags))
}

/// Checks and builds a parameter from its parts (CLI and profile).
pub fn line_param(
    name: &str,
    min: f32,
    max: f32,
    unit: &str,
    flags: ParamFlags,
    template: &str,
) -> Result<LineParam, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("a parameter needs a name".into());
    }
    if !(min.is_finite() && max.is_finite() && min <= max) {
        return Err(format!(
            "parameter {name}: the limits must be finite with MIN ≤ MAX"
        ));
    }
    let template =
        CommandTemplate::with_value(template).map_err(|e| format!("parameter {name}: {e}"))?;
    Ok(LineParam {
        name: name.to_owned(),
        unit: unit.trim().to_owned(),
        min,
        max,
        flags,
        template,
    })
}

impl FromStr for LineParam {
    type Err = String;

    /// `NAME:MIN:MAX[:UNIT[:FLAGS]]=TEMPLATE`; flags default to `gain`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (spec, template) = text
            .split_once('=')
            .ok_or_else(|| format!("'{text}' is not NAME:MIN:MAX[:UNIT[:FLAGS]]=TEMPLATE"))?;
        let fields: Vec<&str> = spec.split(':').collect();
        if !(3..=5).contains(&fields.len()) {
            return Err(format!(
                "'{spec}' is not NAME:MIN:MAX[:UNIT[:FLAGS]] (in {text})"
            ));
        }
        let number = |field: &str| {
            field
                .trim()
                .parse::<f32>()
                .map_err(|_| format!("'{}' is not a number (in {text})", field.trim()))
        };
        let flags = match fields.get(4) {
            Some(words) => parse_flags(words)?,
            None => ParamFlags(ParamFlags::TUNING_GAIN),
        };
        line_param(
            fields[0],
            number(fields[1])?,
            number(fields[2])?,
            fields.get(3).copied().unwrap_or_default(),
            flags,
            template,
        )
    }
}

/// Which channels are the loop's reference, feedback and effort, each by
/// 1-based channel number (time column not counted) or by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineRoles {
    /// The reference channel, by number or name.
    pub reference: Option<String>,
    /// The feedback channel, by number or name.
    pub feedback: Option<String>,
    /// The effort channel, by number or name.
    pub effort: Option<String>,
}

impl FromStr for LineRoles {
    type Err = String;

    /// `ref=1,fb=2,effort=3` (any subset; names instead of numbers too).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut roles = Self::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (role, channel) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not ROLE=CHANNEL (roles: ref, fb, effort)"))?;
            let channel = channel.trim();
            if channel.is_empty() || channel == "0" {
                return Err(format!(
                    "'{part}': name a channel (by number from 1, or by name)"
                ));
            }
            let slot = match role.trim() {
                "ref" | "reference" | "setpoint" => &mut roles.reference,
                "fb" | "feedback" => &mut roles.feedback,
                "effort" | "output" => &mut roles.effort,
                other => {
                    return Err(format!("'{other}' is not a role: use ref, fb or effort"));
                }
            };
            *slot = Some(channel.to_owned());
        }
        Ok(roles)
    }
}

impl fmt::Display for LineRoles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            ("ref", &self.reference),
            ("fb", &self.feedback),
            ("effort", &self.effort),
        ]
        .into_iter()
        .filter_map(|(key, channel)| channel.as_ref().map(|c| format!("{key}={c}")))
        .collect();
        f.write_str(&parts.join(","))
    }
}

/// Everything the user declares about a plain-text sketch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinesSettings {
    /// Device time from a column; `None` times lines by their arrival.
    pub time_column: Option<TimeColumn>,
    /// Which channels play which role in the loop.
    pub roles: LineRoles,
    /// The parameters the user declared.
    pub params: Vec<LineParam>,
    /// Sent for ENABLE; without it the app cannot switch the output.
    pub enable: Option<CommandTemplate>,
    /// Sent for ENABLE 0; without it the app cannot switch the output off.
    pub disable: Option<CommandTemplate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(template: &CommandTemplate, value: Option<f32>) -> String {
        let mut out = vec![];
        template.render(value, &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn templates_render_the_value_and_end_the_line() {
        let kp = CommandTemplate::with_value("kp {value}\\n").expect("valid");
        assert_eq!(rendered(&kp, Some(12.5)), "kp 12.5\n");
        let bare = CommandTemplate::with_value("P{value}").expect("valid");
        assert_eq!(rendered(&bare, Some(0.0001)), "P0.0001\n");
        let crlf = CommandTemplate::with_value("set kd={value}\\r\\n").expect("valid");
        assert_eq!(rendered(&crlf, Some(-3.0)), "set kd=-3\r\n");
        let enable = CommandTemplate::fixed("e1").expect("valid");
        assert_eq!(rendered(&enable, None), "e1\n");
    }

    #[test]
    fn bad_templates_say_why_in_one_line() {
        for (bad, why) in [
            ("kp", "no {value}"),
            ("{value} {value}", "more than once"),
            ("kp {value}\\x", "unknown escape"),
        ] {
            let error = CommandTemplate::with_value(bad).expect_err(bad);
            assert!(error.contains(why), "{error}");
            assert_eq!(error.lines().count(), 1);
        }
        assert!(CommandTemplate::fixed("kp {value}").is_err());
        assert!(CommandTemplate::fixed("").is_err());
    }

    #[test]
    fn params_parse_from_the_command_line_form() {
        let kp: LineParam = "kp:0:100:A/rad=kp {value}".parse().expect("valid");
        assert_eq!((kp.name.as_str(), kp.min, kp.max), ("kp", 0.0, 100.0));
        assert_eq!(kp.unit, "A/rad");
        assert!(kp.flags.tuning_gain());
        let sp: LineParam = "sp:-10:10:rad:setpoint=sp {value}".parse().expect("valid");
        assert!(sp.flags.setpoint() && !sp.flags.tuning_gain());
        assert_eq!(sp.flag_words(), "setpoint");
        for bad in [
            "kp:0:100",
            "kp:a:100=kp {value}",
            "kp:5:1=kp {value}",
            "kp:0:1:u:fast=x{value}",
            ":0:1=x{value}",
        ] {
            let error = bad.parse::<LineParam>().expect_err(bad);
            assert_eq!(error.lines().count(), 1, "{error}");
        }
    }

    #[test]
    fn time_columns_and_roles_parse() {
        assert_eq!(
            "1:ms".parse(),
            Ok(TimeColumn {
                column: 1,
                unit: TimeUnit::Millis
            })
        );
        assert!("0:ms".parse::<TimeColumn>().is_err());
        assert!("1:min".parse::<TimeColumn>().is_err());
        let roles: LineRoles = "ref=1,fb=position,effort=3".parse().expect("valid");
        assert_eq!(roles.feedback.as_deref(), Some("position"));
        assert_eq!(roles.to_string(), "ref=1,fb=position,effort=3");
        assert!("speed=2".parse::<LineRoles>().is_err());
        assert!("ref".parse::<LineRoles>().is_err());
    }
}
