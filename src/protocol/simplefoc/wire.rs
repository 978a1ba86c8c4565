//! Commander lines on the wire: the commands the adapter sends (never
//! longer than the 20 bytes the Commander keeps) and the replies it reads
//! (Arduino-FOC 2.4.0, `src/communication/Commander.cpp`, cited by line).
//!
//! - A command is a line ended by `\n`. The Commander keeps
//!   `MAX_COMMAND_LENGTH` = 20 bytes, line end included (Commander.h:11);
//!   at 20 without a line end it clears the buffer (Commander.cpp:49-52),
//!   so a longer command is lost and its tail read as a command of its own.
//! - The adapter speaks in verbosity `@3`, where every reply begins with
//!   the letters of its command (`printMachineReadable`, 98, 124-127):
//!   `MVP0.200`, `MCangle`, `?M:motor`, `#12`, `@machine`. No monitoring
//!   line and no other reply can be taken for a reply, and a reply names
//!   the command it answers.
//! - Numbers are printed with `decimal_places` decimals (`print(float)`,
//!   675-678), counts as integers; Arduino prints `nan`, `inf`, and `ovf`
//!   beyond an unsigned long.
//! - An error is `err` after the echo (`printError`, 753-755).

/// The longest line the Commander keeps, line end included.
pub const MAX_LINE: usize = 20;

/// A command that cannot be written within the Commander's 20 bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandTooLong(pub String);

/// `{letter}{letters}{value}\n`, the value written as precisely as fits in
/// the Commander's 20 bytes (shortest exact decimal, else an exponent with
/// as many digits as fit; `atof` reads both).
pub fn command(letter: char, letters: &str, value: Option<f32>) -> Result<String, CommandTooLong> {
    let head = format!("{letter}{letters}");
    let room = MAX_LINE.saturating_sub(head.len() + 1);
    let number = match value {
        None => String::new(),
        Some(value) if !value.is_finite() => {
            return Err(CommandTooLong(format!(
                "{value} cannot be written to a SimpleFOC parameter"
            )));
        }
        Some(value) => fit_number(value, room).ok_or_else(|| {
            CommandTooLong(format!(
                "{value} does not fit the 20 characters SimpleFOC accepts after {head}"
            ))
        })?,
    };
    if head.len() + number.len() + 1 > MAX_LINE {
        return Err(CommandTooLong(format!(
            "the command {head} is longer than the 20 characters SimpleFOC accepts"
        )));
    }
    Ok(format!("{head}{number}\n"))
}

fn fit_number(value: f32, room: usize) -> Option<String> {
    let plain = format!("{value}");
    if plain.len() <= room {
        return Some(plain);
    }
    (0..=8)
        .rev()
        .map(|digits| format!("{value:.digits$e}"))
        .find(|text| text.len() <= room)
}

/// A number as the Commander printed it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Printed {
    /// The value read.
    pub value: f32,
    /// Decimals printed: the value is known to within half the last one.
    pub decimals: u32,
}

impl Printed {
    /// Whether `value` prints as this: within half the last printed digit,
    /// or within the digits an `f32` carries (an AVR board prints floats
    /// in single precision, so its last decimals of 12 are noise). The
    /// firmware holds `value` exactly when it was written as the shortest
    /// decimal of that `f32` and echoes as this.
    pub fn agrees_with(&self, value: f32) -> bool {
        let half = 0.5 * 10f64.powi(-(self.decimals as i32));
        let off = (f64::from(self.value) - f64::from(value)).abs();
        off <= half * (1.0 + 1e-9) || off <= f64::from(value.abs()) * 1e-6
    }
}

/// A number in Arduino's `print` format: an optional `-`, digits, and
/// decimals after a `.`; `nan`, `ovf` read as NaN, `inf` as infinity.
pub fn printed_number(text: &str) -> Option<Printed> {
    match text {
        "nan" | "ovf" => {
            return Some(Printed {
                value: f32::NAN,
                decimals: 0,
            });
        }
        "inf" => {
            return Some(Printed {
                value: f32::INFINITY,
                decimals: 0,
            });
        }
        _ => {}
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    if digits.contains('.') && fraction.is_empty() {
        return None;
    }
    // Through f64: the decimal text is rounded to an f32 once.
    let value = text.parse::<f64>().ok()? as f32;
    Some(Printed {
        value,
        decimals: fraction.len() as u32,
    })
}

/// The verbosity a reply to `@` shows (Commander.cpp:72-88): `Verb:on!`
/// in `@2`, `on!` in `@1`, `@machine` in `@3`; `@0` prints nothing.
pub fn verbosity_reply(line: &str) -> Option<u8> {
    match line {
        "Verb:on!" => Some(2),
        "on!" => Some(1),
        "@machine" => Some(3),
        _ => None,
    }
}

/// One line of `?` in `@3`: `?` then the handler's letter, `:` and its
/// label (Commander.cpp:63-71).
pub fn scan_line(line: &str) -> Option<(char, &str)> {
    let rest = line.strip_prefix('?')?;
    let mut chars = rest.chars();
    let letter = chars.next()?;
    let label = chars.as_str().strip_prefix(':')?;
    Some((letter, label))
}

/// The reply to `#` in `@3`: `#` and the decimal places (89-94).
pub fn decimals_reply(line: &str) -> Option<u8> {
    line.strip_prefix('#')?.parse().ok()
}

/// `MMS`'s seven digits, target first (Commander.cpp:400-404).
pub fn bits(text: &str) -> Option<u8> {
    if text.len() != 7 || !text.bytes().all(|b| b == b'0' || b == b'1') {
        return None;
    }
    u8::from_str_radix(text, 2).ok()
}

/// Whether `line` is a reply of the Commander's in `@3` (to the motor
/// under `letter`, or its own): one that came late or twice matches no
/// request, and is no message of the sketch's either.
pub fn is_commander_reply(line: &str, letter: char) -> bool {
    if verbosity_reply(line).is_some()
        || decimals_reply(line).is_some()
        || scan_line(line).is_some()
    {
        return true;
    }
    let Some(rest) = line.strip_prefix(letter) else {
        return false;
    };
    let value = |text: &str| {
        text == "err"
            || printed_number(text).is_some()
            || super::params::motion_code(text).is_some()
            || super::params::torque_code(text).is_some()
            || bits(text).is_some()
    };
    (0..=2).any(|echoed| {
        rest.get(..echoed)
            .is_some_and(|letters| letters.bytes().all(|b| b.is_ascii_uppercase()))
            && rest.get(echoed..).is_some_and(value)
    })
}

/// Whether `part`, a line still arriving, can be the start of a
/// monitoring line: numbers and the separators between them, a digit among
/// them. A UART at 115200 baud delivers a line a few bytes at a time.
pub fn could_be_numbers(part: &[u8]) -> bool {
    part.iter().any(u8::is_ascii_digit)
        && part
            .iter()
            .all(|b| b.is_ascii_digit() || b"+-.eE \t,;:\r".contains(b))
}

/// What the Commander's verbosity `@3` shows of the command `letters`
/// after the motor's letter: the command letter and an upper-case
/// sub-command letter (Commander.cpp:124-127), never the digits after.
pub fn echo(letter: char, letters: &str) -> String {
    let mut echo = String::from(letter);
    echo.extend(
        letters
            .chars()
            .take(2)
            .enumerate()
            .filter(|&(at, c)| at == 0 || c.is_ascii_uppercase())
            .map(|(_, c)| c),
    );
    echo
}

/// What a line is before any reply is looked for in it.
#[derive(Clone, Debug, PartialEq)]
pub enum Line<'a> {
    /// Printable text (a reply, a monitoring line, a message).
    Text(&'a str),
    /// Bytes that are not printable text.
    Garbage,
}

/// Classifies one line, its `\n` already removed (and a `\r` before it).
pub fn classify(line: &[u8]) -> Line<'_> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Line::Garbage;
    };
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Line::Garbage;
    }
    Line::Text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_fit_in_twenty_bytes_and_keep_the_value() {
        assert_eq!(command('M', "VP", Some(0.5)).as_deref(), Ok("MVP0.5\n"));
        assert_eq!(command('M', "", Some(-1.25)).as_deref(), Ok("M-1.25\n"));
        assert_eq!(command('M', "VP", None).as_deref(), Ok("MVP\n"));
        for value in [1e-12f32, 123_456_790.0, f32::MAX, -f32::MIN_POSITIVE, 0.1] {
            let text = command('M', "VP", Some(value)).expect("fits");
            assert!(text.len() <= MAX_LINE, "{text:?}");
            let number: f32 = text[3..text.len() - 1].parse().expect("a number");
            assert!((number - value).abs() <= value.abs() * 1e-6, "{text}");
        }
        assert!(command('M', "VP", Some(f32::NAN)).is_err());
        let long = command('M', "ABCDEFGHIJKLMNOPQRS", Some(1.0)).expect_err("too long");
        assert!(long.0.contains("20 characters"), "{long}");
    }

    #[test]
    fn printed_numbers_carry_their_precision() {
        let tf = printed_number("0.001").expect("a number");
        assert_eq!(tf.decimals, 3);
        assert!(tf.agrees_with(0.000_530_516), "3 decimals hide it");
        let exact = printed_number("0.000530516438").expect("a number");
        assert_eq!(exact.value, 1.0 / (std::f32::consts::TAU * 300.0));
        assert!(!exact.agrees_with(0.001));
        // Single-precision printing's noise in the last of 12 decimals.
        let avr = printed_number("0.123456791043").expect("a number");
        assert!(avr.agrees_with(0.123_456_7));
        assert!(!avr.agrees_with(0.1235));
        assert_eq!(
            printed_number("-12345.000").map(|p| p.value),
            Some(-12345.0)
        );
        assert!(printed_number("nan").is_some_and(|p| p.value.is_nan()));
        assert_eq!(printed_number("12").map(|p| p.decimals), Some(0));
        for bad in ["", "-", "1.", ".5", "1.2.3", "1e3", "angle", "0.5x"] {
            assert_eq!(printed_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn replies_of_the_commander_itself() {
        assert_eq!(verbosity_reply("Verb:on!"), Some(2));
        assert_eq!(verbosity_reply("on!"), Some(1));
        assert_eq!(verbosity_reply("@machine"), Some(3));
        assert_eq!(verbosity_reply("MOT:Ready."), None);
        assert_eq!(scan_line("?T:target angle"), Some(('T', "target angle")));
        assert_eq!(scan_line("?M:"), Some(('M', "")));
        assert_eq!(scan_line("M:motor"), None);
        assert_eq!(decimals_reply("#12"), Some(12));
        assert_eq!(echo('M', "VP"), "MVP");
        assert_eq!(echo('N', "MG0"), "NMG");
        assert_eq!(echo('M', "C"), "MC");
        for reply in [
            "Verb:on!",
            "#12",
            "?M:motor",
            "ME1",
            "MVP0.200",
            "MCangle",
            "MMS1100011",
            "M1.5",
            "MVXerr",
        ] {
            assert!(is_commander_reply(reply, 'M'), "{reply}");
        }
        for text in [
            "MOT:Ready.",
            "Motor ready.",
            "Set the target",
            "1.5",
            "ME1x",
        ] {
            assert!(!is_commander_reply(text, 'M'), "{text}");
        }
    }

    #[test]
    fn garbage_is_told_from_text() {
        assert_eq!(classify(b"1.0\t2.0\r"), Line::Text("1.0\t2.0"));
        assert_eq!(classify(&[0xff, 0x00, 0x41]), Line::Garbage);
        assert_eq!(classify(b"a\x01b"), Line::Garbage);
    }
}
