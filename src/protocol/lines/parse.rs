//! One line of serial-plotter text, classified. The format is the Arduino
//! serial plotter's (build/shared/ArduinoSerialPlotterProtocol.md in the
//! Arduino IDE 1.x sources, kept by IDE 2's plotter): fields separated by
//! spaces, tabs or commas (runs of them and trailing ones ignored, as the
//! IDE does), each `value`, `label:value` or `label:`; a line of names
//! only is a header. `:` is the only label separator (IDE 2 does not take
//! `=`; arduino-serial-plotter-webapp issue 22 asks for it). A number is
//! finite as the `f32` it is plotted as: `nan`, `inf` and `ovf`, which
//! `Serial.print(float)` prints for bad values, and numbers beyond `f32`
//! make the line malformed rather than a plotted value.

/// What one line says.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// Nothing but separators.
    Empty,
    /// Names only: a CSV-style header or a label-only message.
    Header(Vec<String>),
    /// Numbers, each with the label it came with, if any.
    Data(Vec<Field>),
    /// Anything else: counted and skipped.
    Malformed,
}

/// One number of a data line.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub label: Option<String>,
    pub value: f64,
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | ',')
}

/// A value that is finite as the `f32` it is plotted as.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|&v| v.is_finite() && (v as f32).is_finite())
}

/// What `Serial.print(float)` prints for a value it cannot show, and
/// numbers out of range: a bad value, not a name.
fn is_bad_number(token: &str) -> bool {
    token.parse::<f64>().is_ok() || token.eq_ignore_ascii_case("ovf")
}

/// Classifies one line (without its line end).
pub fn parse_line(text: &str) -> Line {
    let mut fields = Vec::new();
    let mut names = Vec::new();
    for token in text.split(is_separator).filter(|t| !t.is_empty()) {
        match token.split_once(':') {
            Some((label, "")) if !label.is_empty() => names.push(label.to_owned()),
            Some((label, value)) if !label.is_empty() => match number(value) {
                Some(value) => fields.push(Field {
                    label: Some(label.to_owned()),
                    value,
                }),
                None => return Line::Malformed,
            },
            Some(_) => return Line::Malformed,
            None => match number(token) {
                Some(value) => fields.push(Field { label: None, value }),
                None if is_bad_number(token) => return Line::Malformed,
                None if token.chars().all(|c| !c.is_control()) => names.push(token.to_owned()),
                None => return Line::Malformed,
            },
        }
    }
    match (fields.is_empty(), names.is_empty()) {
        (true, true) => Line::Empty,
        (true, false) => Line::Header(names),
        (false, true) => Line::Data(fields),
        // A word among numbers, or a label without its value.
        (false, false) => Line::Malformed,
    }
}

/// Cuts a byte stream into lines ending in `\n` (a `\r` before it is
/// dropped), across reads. A line longer than [`MAX_LINE`] is dropped
/// whole and reported once as [`RawLine::TooLong`].
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    overflowed: bool,
}

/// Longest line kept: far beyond any plotter line (the IDE's buffer is
/// smaller), short enough that binary noise without `\n` stays bounded.
pub const MAX_LINE: usize = 1024;

/// One line cut from the stream.
#[derive(Debug, PartialEq)]
pub enum RawLine<'a> {
    Text(&'a str),
    /// Not UTF-8.
    Binary,
    TooLong,
}

impl LineSplitter {
    /// Feeds bytes; `line` gets every complete line in order.
    pub fn push(&mut self, bytes: &[u8], mut line: impl FnMut(RawLine<'_>)) {
        for &byte in bytes {
            if byte != b'\n' {
                if self.partial.len() < MAX_LINE {
                    self.partial.push(byte);
                } else {
                    self.overflowed = true;
                }
                continue;
            }
            if std::mem::take(&mut self.overflowed) {
                line(RawLine::TooLong);
            } else {
                let text = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
                match std::str::from_utf8(text) {
                    Ok(text) => line(RawLine::Text(text)),
                    Err(_) => line(RawLine::Binary),
                }
            }
            self.partial.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(values: &[(Option<&str>, f64)]) -> Line {
        Line::Data(
            values
                .iter()
                .map(|&(label, value)| Field {
                    label: label.map(str::to_owned),
                    value,
                })
                .collect(),
        )
    }

    #[test]
    fn every_form_of_the_plotter_format() {
        let plain = data(&[(None, 1.0), (None, -2.5), (None, 300.0)]);
        for text in [
            "1 -2.5 300",
            "1\t-2.5\t300",
            "1,-2.5,300",
            "1, -2.5, 300,",
            " 1  -2.5\t300 ",
        ] {
            assert_eq!(parse_line(text), plain, "{text:?}");
        }
        assert_eq!(
            parse_line("setpoint:0.5,position:0.25\teffort:-1"),
            data(&[
                (Some("setpoint"), 0.5),
                (Some("position"), 0.25),
                (Some("effort"), -1.0)
            ])
        );
        assert_eq!(parse_line("a:1 2"), data(&[(Some("a"), 1.0), (None, 2.0)]));
        let names = Line::Header(vec!["time".into(), "sp".into(), "pos".into()]);
        assert_eq!(parse_line("time sp pos"), names);
        assert_eq!(parse_line("time:\tsp:\tpos:"), names);
        assert_eq!(parse_line(""), Line::Empty);
        assert_eq!(parse_line(" ,\t"), Line::Empty);
        assert_eq!(
            parse_line("1e3 2E-3"),
            data(&[(None, 1000.0), (None, 0.002)])
        );
    }

    #[test]
    fn bad_values_make_the_line_malformed_never_a_number() {
        for text in [
            "1 2 x",
            "a:1 b:",
            "a:x",
            ":5",
            "1 nan 3",
            "inf",
            "1 ovf",
            "1e999",
            "1 1e39",
            "1 \u{1} 2",
        ] {
            assert_eq!(parse_line(text), Line::Malformed, "{text:?}");
        }
    }

    #[test]
    fn lines_are_cut_the_same_however_the_bytes_arrive() {
        let stream = b"1 2\r\n3 4\n\xff\xfe\nlast".to_vec();
        let whole = collect(&[&stream]);
        assert_eq!(whole, ["Text(\"1 2\")", "Text(\"3 4\")", "Binary"]);
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(collect(&[a, b]), whole, "cut at {cut}");
        }
    }

    #[test]
    fn an_endless_line_is_dropped_once_and_the_next_one_reads() {
        let mut stream = vec![b'7'; 5 * MAX_LINE];
        stream.extend_from_slice(b"\n1 2\n");
        assert_eq!(collect(&[&stream]), ["TooLong", "Text(\"1 2\")"]);
    }

    fn collect(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::default();
        let mut lines = vec![];
        for chunk in chunks {
            splitter.push(chunk, |line| lines.push(format!("{line:?}")));
        }
        lines
    }
}
