//! What an ODrive's replies say about the values it holds. `r` prints a
//! property into a 10-byte buffer (fw-v0.5.6 ascii_protocol.cpp:356-358):
//! floats as `%f` cut to 9 characters, so a reply carries six decimals at
//! most and fewer as the number grows (`1234.5677`), integers and enums as
//! `%u`/`%d` (a 32-bit flags value as `%ud` up to fw-v0.5.3, `2048d`;
//! fw-v0.5.3 fibre-cpp/protocol.hpp 151-154), booleans `0`/`1`.
//!
//! A value the host wrote is confirmed when the reply is what the firmware
//! prints for it, within one unit of the last digit printed (the cut
//! truncates): the firmware then holds exactly the float the host sent,
//! however few digits the reply shows. A value only read is known to the
//! digits printed; [`digits_lost`] says when that is fewer than the float
//! holds.

/// A property's value as the firmware prints it: `%f` for floats
/// (truncated to 9 characters), `%d`/`%u` for integers and enums (with
/// the `d` of `%ud`), `0`/`1` for booleans.
pub fn parse_value(text: &str) -> Option<f32> {
    // Nine characters without a point are the truncated head of a float of
    // 1e9 or more: not its value.
    if text.len() >= 9 && !text.contains('.') {
        return None;
    }
    if let Some(whole) = parse_integer(text) {
        return Some(whole as f32);
    }
    let value = text.parse::<f32>().ok()?;
    value.is_finite().then_some(value)
}

/// An integer reply, `%u`'s `d` tolerated.
pub fn parse_integer(text: &str) -> Option<i64> {
    let digits = text.strip_suffix('d').unwrap_or(text);
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A float property as `%f` prints it, always with a point: an integer
/// (such as a `current_state` reply) is not one.
pub fn parse_float(text: &str) -> Option<f32> {
    if !text.contains('.') {
        return None;
    }
    parse_value(text)
}

/// `f`'s reply: two `%f` floats.
pub fn parse_pair(text: &str) -> Option<(f32, f32)> {
    let mut fields = text.split(' ');
    let position = parse_float(fields.next()?)?;
    let velocity = parse_float(fields.next()?)?;
    fields.next().is_none().then_some((position, velocity))
}

/// The firmware's answers to a request it could not carry out.
pub fn is_refusal(text: &str) -> bool {
    matches!(
        text,
        "invalid property" | "not implemented" | "invalid command format" | "unknown command"
    ) || text.starts_with("invalid motor")
}

/// What `r` prints for a float property holding `value`.
pub fn printed_float(value: f32) -> String {
    let mut text = format!("{:.6}", f64::from(value));
    text.truncate(9);
    text
}

/// The place value of the last digit of a float reply: 1e-6 for
/// `0.012346`, 1e-4 for `1234.5677`, 1 for `12345679.`.
fn last_digit_unit(text: &str) -> Option<f64> {
    let (_, decimals) = text.split_once('.')?;
    Some(10f64.powi(-(decimals.len() as i32)))
}

/// Whether `text`, read back after the host wrote `written`, says the
/// firmware holds `written`.
pub fn confirms(text: &str, written: f32) -> bool {
    if !text.contains('.') {
        return text == printed_float(written)
            || parse_integer(text).is_some_and(|v| v as f64 == f64::from(written));
    }
    let (Some(read), Some(unit)) = (parse_value(text), last_digit_unit(text)) else {
        return false;
    };
    // The cut truncates: the value lies within one unit of what is shown.
    (f64::from(read) - f64::from(written)).abs() <= unit * (1.0 + 1e-6)
}

/// Significant digits of a float reply that more than one float prints
/// as (the firmware holds one of them, which the reply cannot tell);
/// `None` when the reply names its float exactly, or is no float.
pub fn digits_lost(text: &str) -> Option<usize> {
    let unit = last_digit_unit(text)?;
    let value = parse_float(text)?.abs();
    let spacing = f64::from(value.next_up()) - f64::from(value);
    if unit <= spacing {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    Some(digits.trim_start_matches('0').len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_the_firmware_prints_them() {
        assert_eq!(parse_value("20.000000"), Some(20.0));
        assert_eq!(parse_value("1234.5000"), Some(1234.5));
        assert_eq!(parse_value("8"), Some(8.0));
        assert_eq!(parse_value("2048d"), Some(2048.0), "%ud up to 0.5.3");
        assert_eq!(parse_value("-3"), Some(-3.0));
        assert_eq!(parse_value("123456789"), None, "a truncated large float");
        assert_eq!(parse_value("nan"), None);
        assert_eq!(parse_value("d"), None);
        assert_eq!(parse_value("invalid property"), None);
        assert_eq!(parse_pair("0.5 -1.25"), Some((0.5, -1.25)));
        assert_eq!(parse_pair("0.5"), None);
        assert_eq!(parse_pair("0.5 1 2"), None);
        assert_eq!(parse_pair("inf 1"), None);
        assert_eq!(parse_float("8"), None);
    }

    #[test]
    fn a_write_is_confirmed_within_what_the_printed_digits_say() {
        for written in [
            0.012_345_679,
            1234.5678,
            -1234.5678,
            12_345_679.0,
            1e10,
            1e-7,
            20.0,
            1.0 / 6.0,
        ] {
            assert!(confirms(&printed_float(written), written), "{written}");
        }
        assert!(confirms("8", 8.0));
        assert!(confirms("1", 1.0));
        assert!(!confirms("0.012346", 0.0124));
        assert!(!confirms("20.000000", 20.1));
        assert!(!confirms("7", 8.0));
        assert!(!confirms("invalid property", 1.0));
        // A head of digits says only that much: 1e9 and 1e10 print alike.
        assert!(confirms("100000000", 1e9));
        assert!(!confirms("100000000", 2e9));
    }

    #[test]
    fn lost_digits_are_counted_where_more_than_one_float_prints_the_same() {
        assert_eq!(digits_lost("0.012346"), Some(5));
        assert_eq!(digits_lost("0.166667"), Some(6));
        assert_eq!(digits_lost("0.000000"), Some(0));
        assert_eq!(digits_lost("20.000000"), None);
        assert_eq!(digits_lost("1234.5677"), None);
        assert_eq!(digits_lost("8"), None);
    }
}
