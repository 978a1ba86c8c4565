//! The values the command line takes, each refused in one line that
//! names it and says what it should be.

use super::Assignment;

pub(super) fn parse_assignment(text: &str) -> Result<Assignment, String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not NAME=VALUE"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("'{text}' has no parameter name"));
    }
    let value: f32 = value
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number (in {text})", value.trim()))?;
    if !value.is_finite() {
        return Err(format!("'{text}': the value must be finite"));
    }
    Ok(Assignment {
        name: name.to_owned(),
        value,
    })
}

pub(super) fn parse_amplitude(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(amplitude) if amplitude.is_finite() && amplitude > 0.0 => Ok(amplitude),
        _ => Err(format!(
            "'{text}' is not an amplitude (a number above 0; --direction says which way)"
        )),
    }
}

pub(super) fn parse_excursion(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(amplitude) if amplitude.is_finite() && amplitude > 0.0 => Ok(amplitude),
        _ => Err(format!("'{text}' is not an amplitude (a number above 0)")),
    }
}

pub(super) fn parse_settle(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.0..=60.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "'{text}' is not a settling time in seconds (0 ≤ s ≤ 60)"
        )),
    }
}

pub(super) fn parse_rise_limits(text: &str) -> Result<(f64, f64), String> {
    let refused = || format!("'{text}' is not LOW,HIGH with 0 ≤ LOW < HIGH ≤ 1 (e.g. 0.1,0.9)");
    let (low, high) = text.split_once(',').ok_or_else(refused)?;
    let low: f64 = low.trim().parse().map_err(|_| refused())?;
    let high: f64 = high.trim().parse().map_err(|_| refused())?;
    if 0.0 <= low && low < high && high <= 1.0 {
        Ok((low, high))
    } else {
        Err(refused())
    }
}

pub(super) fn parse_settling_band(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(band) if band > 0.0 && band < 1.0 => Ok(band),
        _ => Err(format!(
            "'{text}' is not a settling band (a fraction above 0 and below 1, e.g. 0.02)"
        )),
    }
}

pub(super) fn parse_effort_limit(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(limit) if limit.is_finite() && limit > 0.0 => Ok(limit),
        _ => Err(format!(
            "'{text}' is not an effort limit (a number above 0)"
        )),
    }
}

pub(super) fn parse_baud(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(baud) if (50..=20_000_000).contains(&baud) => Ok(baud),
        _ => Err(format!("'{text}' is not a baud rate (50 to 20000000)")),
    }
}

pub(super) fn parse_divider(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(divider) if divider >= 1 => Ok(divider),
        _ => Err(format!("'{text}' is not a divider (1 to 65535)")),
    }
}

pub(super) fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "'{text}' is not a duration in seconds (0 < s ≤ 86400)"
        )),
    }
}

/// How many times its recorded pace a replay plays at.
pub(super) fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 1000.0 => Ok(x),
        _ => Err(format!(
            "'{text}' is not a replay speed (a number above 0, at most 1000)"
        )),
    }
}

/// A recording to open: a file that exists (a mistyped subcommand is
/// refused here, not opened as a file).
pub(super) fn parse_recording(text: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(text);
    if path.is_file() {
        Ok(path)
    } else if path.exists() {
        Err(format!("'{text}' is not a file"))
    } else {
        Err(format!(
            "'{text}' is neither a command nor a file (see motiontune --help)"
        ))
    }
}

pub(super) fn parse_factor(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && (1.0..=100.0).contains(&x) => Ok(x),
        _ => Err(format!("'{text}' is not a bandwidth factor (1 to 100)")),
    }
}

pub(super) fn parse_hz(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(hz) if hz.is_finite() && hz > 0.0 && hz <= 1e6 => Ok(hz),
        _ => Err(format!(
            "'{text}' is not a frequency in Hz (0 < f ≤ 1000000)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_parse_or_say_why_not() {
        assert_eq!(
            parse_assignment("pos.kp=12.5"),
            Ok(Assignment {
                name: "pos.kp".into(),
                value: 12.5
            })
        );
        assert!(
            parse_assignment("pos.kp=abc")
                .expect_err("must be refused")
                .contains("not a number")
        );
        assert!(
            parse_assignment("pos.kp")
                .expect_err("must be refused")
                .contains("NAME=VALUE")
        );
        assert!(
            parse_assignment("=3")
                .expect_err("must be refused")
                .contains("no parameter name")
        );
        assert!(parse_assignment("x=inf").is_err());
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert!(parse_baud("fast").is_err());
        assert!(parse_baud("0").is_err());
        assert_eq!(parse_baud("921600"), Ok(921_600));
        assert!(parse_divider("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert_eq!(parse_rise_limits("0.05, 0.95"), Ok((0.05, 0.95)));
        for bad in ["0.9,0.1", "10,90", "0.1", "a,b", "NaN,0.9"] {
            assert!(parse_rise_limits(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_settling_band("0.05"), Ok(0.05));
        assert!(parse_settling_band("2").is_err());
        assert!(parse_effort_limit("0").is_err());
        assert!(parse_effort_limit("inf").is_err());
    }
}
