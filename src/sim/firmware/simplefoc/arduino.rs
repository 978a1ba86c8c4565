//! Numbers as an Arduino sketch writes and reads them: `Print`'s float
//! format (the Arduino core's `printFloat`) and C's `atof` and `atoi`, which
//! the Commander parses its commands with.

/// `Print::printFloat` (Arduino core): a fixed count of decimals, `nan`,
/// `inf`, `ovf` beyond an unsigned long, and no sign on a zero. Arduino
/// adds half a unit and truncates; rounding to the nearest, as here,
/// differs only on a value exactly halfway.
pub fn arduino_float(value: f32, decimals: usize) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return "inf".to_owned();
    }
    let wide = f64::from(value);
    if wide.abs() > 4_294_967_040.0 {
        return "ovf".to_owned();
    }
    let wide = if wide == 0.0 { 0.0 } else { wide };
    format!("{wide:.decimals$}")
}

/// C's `atof`: the longest number at the start (after blanks), else 0.
pub fn atof(bytes: &[u8]) -> f32 {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start();
    let end = text
        .char_indices()
        .take_while(|&(_, c)| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
        .last()
        .map_or(0, |(at, c)| at + c.len_utf8());
    (1..=end)
        .rev()
        .find_map(|end| text[..end].parse::<f32>().ok())
        .unwrap_or(0.0)
}

/// C's `atoi`: an optional sign and the digits after it, else 0.
pub fn atoi(bytes: &[u8]) -> i32 {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    sign * digits
        .parse::<i64>()
        .unwrap_or(0)
        .clamp(0, i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_parsing() {
        assert_eq!(atof(b"1.5e-3x"), 1.5e-3);
        assert_eq!(atof(b"abc"), 0.0);
        assert_eq!(atof(b" -2\n"), -2.0);
        assert_eq!(atof(b"3\n"), 3.0);
        assert_eq!(atoi(b"12\n"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
    }

    #[test]
    fn arduino_float_formats() {
        assert_eq!(arduino_float(0.5, 3), "0.500");
        assert_eq!(arduino_float(-0.0, 3), "0.000");
        assert_eq!(arduino_float(f32::NAN, 3), "nan");
        assert_eq!(arduino_float(1e10, 3), "ovf");
        assert_eq!(arduino_float(-12345.0, 2), "-12345.00");
    }
}
