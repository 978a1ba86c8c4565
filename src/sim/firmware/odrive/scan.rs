//! The firmware's `sscanf` conversions, as the ASCII protocol uses them
//! (`%u`, `%d`, `%i`, `%f`, `%255s`): each skips leading white space, takes
//! the longest prefix it can convert and leaves the rest for the next one;
//! a conversion that finds nothing ends the scan (`numscan` counts the ones
//! before it).

/// A cursor over a command's text.
pub struct Scanner<'a> {
    rest: &'a str,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        // The firmware's command buffer is a C string: it ends at a NUL.
        let end = text.find('\0').unwrap_or(text.len());
        Self { rest: &text[..end] }
    }

    /// A literal character of the format: matches only itself, here.
    pub fn literal(&mut self, c: char) -> Option<()> {
        self.rest = self.rest.strip_prefix(c)?;
        Some(())
    }

    fn skip_space(&mut self) {
        self.rest = self
            .rest
            .trim_start_matches(|c: char| c.is_ascii_whitespace());
    }

    /// `%u`: optional sign and decimal digits; a negative number wraps, as
    /// `strtoul` does, and one too large saturates.
    pub fn unsigned(&mut self) -> Option<u32> {
        self.skip_space();
        let (negative, digits) = self.sign_and_digits()?;
        let value = digits.parse::<u32>().unwrap_or(u32::MAX);
        Some(if negative {
            value.wrapping_neg()
        } else {
            value
        })
    }

    /// `%d`: optional sign and decimal digits, saturating.
    pub fn signed(&mut self) -> Option<i32> {
        self.skip_space();
        let (negative, digits) = self.sign_and_digits()?;
        let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
        let value = if negative { -magnitude } else { magnitude };
        Some(value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    /// `%i`: as `%d`, but `0x` starts hexadecimal and `0` octal.
    pub fn integer(&mut self) -> Option<i32> {
        self.skip_space();
        let negative = self.rest.starts_with('-');
        let unsigned = self.rest.strip_prefix(['+', '-']).unwrap_or(self.rest);
        let (radix, body) = if let Some(hex) = unsigned
            .strip_prefix("0x")
            .or_else(|| unsigned.strip_prefix("0X"))
            .filter(|h| h.starts_with(|c: char| c.is_ascii_hexdigit()))
        {
            (16, hex)
        } else if unsigned.starts_with('0') {
            (8, unsigned)
        } else {
            (10, unsigned)
        };
        let len = body
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(body.len());
        if len == 0 {
            return None;
        }
        self.rest = &body[len..];
        let magnitude = i64::from_str_radix(&body[..len], radix).unwrap_or(i64::MAX);
        let value = if negative { -magnitude } else { magnitude };
        Some(value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    /// `%f` into a float: the longest prefix that is a number (decimal with
    /// an optional exponent, `inf`, `infinity` or `nan`).
    pub fn float(&mut self) -> Option<f32> {
        self.skip_space();
        let text = self.rest;
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let sign_len = text.len() - unsigned.len();
        for word in ["infinity", "inf", "nan"] {
            if unsigned
                .get(..word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
            {
                let len = sign_len + word.len();
                self.rest = &text[len..];
                let value = if word == "nan" {
                    f32::NAN
                } else {
                    f32::INFINITY
                };
                return Some(if text.starts_with('-') { -value } else { value });
            }
        }
        let bytes = unsigned.as_bytes();
        let mut at = 0;
        let int_digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        at += int_digits;
        let mut frac_digits = 0;
        if bytes.get(at) == Some(&b'.') {
            frac_digits = bytes[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if int_digits + frac_digits > 0 {
                at += 1 + frac_digits;
            }
        }
        if int_digits + frac_digits == 0 {
            return None;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            let exp = &bytes[at + 1..];
            let exp_sign = usize::from(matches!(exp.first(), Some(b'+' | b'-')));
            let exp_digits = exp[exp_sign..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if exp_digits > 0 {
                at += 1 + exp_sign + exp_digits;
            }
        }
        let number = &text[..sign_len + at];
        self.rest = &text[sign_len + at..];
        number.parse::<f32>().ok()
    }

    /// `%255s`: the next word, at most 255 characters.
    pub fn word(&mut self) -> Option<&'a str> {
        self.skip_space();
        let len = self
            .rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(self.rest.len())
            .min(255);
        if len == 0 {
            return None;
        }
        let (word, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(word)
    }

    fn sign_and_digits(&mut self) -> Option<(bool, &'a str)> {
        let text = self.rest;
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let len = unsigned
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(unsigned.len());
        if len == 0 {
            return None;
        }
        self.rest = &unsigned[len..];
        Some((text.starts_with('-'), &unsigned[..len]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_take_the_longest_prefix_and_leave_the_rest() {
        let mut s = Scanner::new("p 0 1.5x 2");
        assert_eq!(s.literal('p'), Some(()));
        assert_eq!(s.unsigned(), Some(0));
        assert_eq!(s.float(), Some(1.5));
        // `%f` stops at the `x`, and so does the scan.
        assert_eq!(s.float(), None);
        let mut s = Scanner::new("  -1 +7 12abc");
        assert_eq!(s.unsigned(), Some(u32::MAX));
        assert_eq!(s.signed(), Some(7));
        assert_eq!(s.unsigned(), Some(12));
        assert_eq!(s.word(), Some("abc"));
        assert_eq!(s.word(), None);
    }

    #[test]
    fn floats_as_strtof_reads_them() {
        let float = |text: &str| Scanner::new(text).float();
        assert_eq!(float("0.0123456789"), Some(0.012_345_679));
        assert_eq!(float("1e3x"), Some(1000.0));
        assert_eq!(float("1e"), Some(1.0));
        assert_eq!(float("-.5"), Some(-0.5));
        assert_eq!(float("5."), Some(5.0));
        assert_eq!(float("."), None);
        assert_eq!(float("-inf"), Some(f32::NEG_INFINITY));
        assert!(float("NaN").is_some_and(f32::is_nan));
        assert_eq!(float("x1"), None);
    }

    #[test]
    fn integers_in_every_base_percent_i_reads() {
        let integer = |text: &str| Scanner::new(text).integer();
        assert_eq!(integer("0x10"), Some(16));
        assert_eq!(integer("010"), Some(8));
        assert_eq!(integer("-42 rest"), Some(-42));
        assert_eq!(integer("x"), None);
        assert_eq!(Scanner::new("1\0 2").word(), Some("1"));
    }
}
