//! One line of serial-plotter text, classified: data, names, or text.
//!
//! The format is the Arduino serial plotter's
//! (build/shared/ArduinoSerialPlotterProtocol.md in the Arduino IDE 1.x
//! sources, kept by IDE 2's plotter), read the way real sketches print it:
//! - Fields are separated by commas, tabs or spaces. A comma ends a field
//!   even when nothing came before it: `1,,3` is a gap between 1 and 3 (a
//!   sensor that printed nothing); one comma at the end of a line is
//!   ignored, as the IDE does. Runs of spaces and tabs are one separator.
//! - A field is `value`, `label:value`, or `label:` followed by its value
//!   (`x: 5`, what `Serial.print("x: ")` gives). A label may hold spaces
//!   (`Motor speed:5`): words just before a `label:` belong to it.
//! - A value is a number; `nan`, `inf`, `ovf` (what `Serial.print(float)`
//!   prints for a value it cannot show), `-nan`, `Infinity`, a number
//!   beyond `f32`, a word, or an empty field is a gap: NaN in that field
//!   only, the line keeps its other values.
//! - A line is data when it holds at least as many values and gaps as
//!   stray words (`1 nan 3`, `Temp 21.5 Hum 40`), names when it holds
//!   only names of one form, separated by commas or by blanks but not
//!   both (`time,sp,pos`, `sp: pos:`; a name does not end in `.`, `!` or
//!   `?`),
//!   and text otherwise (`Booting...`, `IMU found, starting`, `Kp set to
//!   2.5`). Whether names are a header is for the lines after them to say.
//! - Control characters other than tab make a line garbage.

/// What one line says.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// Nothing but separators.
    Empty,
    /// Names only: a header, if the data that follows has as many fields.
    Names(Vec<String>),
    /// Values, each with the label it came with, if any; NaN is a gap.
    Data(Vec<Field>),
    /// A message of the sketch's, not data.
    Text,
    /// Control characters: noise on the wire.
    Garbage,
}

/// One value of a data line.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The label before the value (`kp:` gives `kp`), if any.
    pub label: Option<String>,
    /// NaN for a gap.
    pub value: f64,
}

/// How a piece of a line reads.
#[derive(Debug)]
enum Piece {
    /// A number, or a bad value (NaN).
    Value(f64),
    Labelled(String, f64),
    /// `label:` with nothing after it: a name, or a labelled gap in data.
    Label(String),
    /// A word that is no label's: a gap in data, a name in a header.
    Word(String),
    /// An empty comma field.
    Gap,
}

/// Which separator came before a piece.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Separator {
    Space,
    Tab,
    Comma,
}

/// The value a token gives: a number, NaN for a bad value (`nan`, `inf`,
/// `ovf`, beyond `f32`), `None` for a word.
pub fn value_of(token: &str) -> Option<f64> {
    let unsigned = token.trim_start_matches(['+', '-']);
    if unsigned.eq_ignore_ascii_case("ovf") {
        return Some(f64::NAN);
    }
    // `parse` takes "inf", "infinity" and "nan" in any case: gaps all.
    let number = token.parse::<f64>().ok()?;
    Some(if (number as f32).is_finite() {
        number
    } else {
        f64::NAN
    })
}

/// The tokens of a line, each with the separator before it; `None` for
/// an empty comma field.
fn tokens(text: &str) -> Vec<(Separator, Option<&str>)> {
    let blank = |field: &str| field.trim_matches([' ', '\t']).is_empty();
    let mut fields: Vec<&str> = text.split(',').collect();
    // One comma at the end of a line is a separator, not a field.
    if fields.len() > 1 && fields.last().is_some_and(|f| blank(f)) {
        fields.pop();
    }
    if let [only] = fields[..]
        && blank(only)
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (k, field) in fields.iter().enumerate() {
        let mut separator = if k == 0 {
            Separator::Space
        } else {
            Separator::Comma
        };
        if blank(field) {
            out.push((separator, None));
            continue;
        }
        let mut start = None;
        for (i, c) in field.char_indices() {
            let is_blank = c == ' ' || c == '\t';
            match (is_blank, start) {
                (false, None) => start = Some(i),
                (true, Some(from)) => {
                    out.push((separator, Some(&field[from..i])));
                    start = None;
                    separator = Separator::Space;
                }
                _ => {}
            }
            if c == '\t' && start.is_none() && separator != Separator::Comma {
                separator = Separator::Tab;
            }
        }
        if let Some(from) = start {
            out.push((separator, Some(&field[from..])));
        }
    }
    out
}

/// Reads the tokens of a line as pieces, each with the separator before it.
fn pieces(text: &str) -> Vec<(Separator, Piece)> {
    let mut out: Vec<(Separator, Piece)> = Vec::new();
    // Words waiting to see whether a label follows them.
    let mut words: Vec<(Separator, &str)> = Vec::new();
    let flush = |words: &mut Vec<(Separator, &str)>, out: &mut Vec<(Separator, Piece)>| {
        out.extend(
            words
                .drain(..)
                .map(|(separator, word)| (separator, Piece::Word(word.to_owned()))),
        );
    };
    for (separator, token) in tokens(text) {
        let Some(token) = token else {
            flush(&mut words, &mut out);
            out.push((separator, Piece::Gap));
            continue;
        };
        // A value after `label:`, with no comma between, is that label's.
        if words.is_empty()
            && separator != Separator::Comma
            && let Some((_, Piece::Label(_))) = out.last()
            && let Some(value) = value_of(token)
            && let Some((before, Piece::Label(label))) = out.pop()
        {
            out.push((before, Piece::Labelled(label, value)));
            continue;
        }
        match token.split_once(':') {
            Some((label, rest)) if !label.is_empty() => {
                // Words just before the label, with single spaces between,
                // are part of it (`Motor speed:5`).
                let mut start = words.len();
                let mut between = separator;
                while start > 0 && between == Separator::Space {
                    start -= 1;
                    between = words[start].0;
                }
                let label_separator = words.get(start).map_or(separator, |&(sep, _)| sep);
                let label = words[start..]
                    .iter()
                    .map(|&(_, word)| word)
                    .chain([label])
                    .collect::<Vec<_>>()
                    .join(" ");
                words.truncate(start);
                flush(&mut words, &mut out);
                let piece = if rest.is_empty() {
                    Piece::Label(label)
                } else {
                    Piece::Labelled(label, value_of(rest).unwrap_or(f64::NAN))
                };
                out.push((label_separator, piece));
            }
            // `:5`: no label, a value.
            Some((_, rest)) => {
                flush(&mut words, &mut out);
                let value = value_of(rest).unwrap_or(f64::NAN);
                out.push((separator, Piece::Value(value)));
            }
            None => match value_of(token) {
                Some(value) => {
                    flush(&mut words, &mut out);
                    out.push((separator, Piece::Value(value)));
                }
                None => words.push((separator, token)),
            },
        }
    }
    flush(&mut words, &mut out);
    out
}

/// Whether `name` reads as a column name rather than a sentence's word.
fn is_name(name: &str) -> bool {
    !name.ends_with(['.', '!', '?', ':']) && !name.contains("..")
}

/// Classifies one line (without its line end).
pub fn parse_line(text: &str) -> Line {
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Line::Garbage;
    }
    let pieces = pieces(text.trim_matches([' ', '\t']));
    if pieces.is_empty() {
        return Line::Empty;
    }
    let count = |what: fn(&Piece) -> bool| pieces.iter().filter(|(_, p)| what(p)).count();
    let values = count(|p| matches!(p, Piece::Value(_) | Piece::Labelled(..) | Piece::Gap));
    let labels = count(|p| matches!(p, Piece::Label(_)));
    let words = count(|p| matches!(p, Piece::Word(_)));
    if values == 0 {
        // Names: one form (`a b c` or `a: b: c:`), separated by commas or
        // by blanks, not both (`IMU found, starting` is a sentence).
        let commas: Vec<bool> = pieces
            .iter()
            .skip(1)
            .map(|&(sep, _)| sep == Separator::Comma)
            .collect();
        let one_kind = commas.windows(2).all(|w| w[0] == w[1]);
        let names: Vec<String> = pieces
            .into_iter()
            .filter_map(|(_, p)| match p {
                Piece::Label(name) | Piece::Word(name) => Some(name),
                _ => None,
            })
            .collect();
        let one_form = labels == 0 || words == 0;
        return if one_kind && one_form && names.iter().all(|n| is_name(n)) {
            Line::Names(names)
        } else {
            Line::Text
        };
    }
    if values + labels < words {
        return Line::Text;
    }
    Line::Data(
        pieces
            .into_iter()
            .map(|(_, piece)| match piece {
                Piece::Value(value) => Field { label: None, value },
                Piece::Labelled(label, value) => Field {
                    label: Some(label),
                    value,
                },
                Piece::Label(label) => Field {
                    label: Some(label),
                    value: f64::NAN,
                },
                Piece::Word(_) | Piece::Gap => Field {
                    label: None,
                    value: f64::NAN,
                },
            })
            .collect(),
    )
}

/// Cuts a byte stream into lines ending in `\n` (a `\r` before it is
/// dropped), across reads. A line longer than [`MAX_LINE`] is dropped
/// whole and reported once as [`RawLine::TooLong`].
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    overflowed: bool,
}

/// Longest line kept: a plotter line of a hundred channels and more, short
/// enough that binary noise without `\n` stays bounded.
pub const MAX_LINE: usize = 8192;

/// One line cut from the stream.
#[derive(Debug, PartialEq)]
pub enum RawLine<'a> {
    /// A line of UTF-8 text, without its line end.
    Text(&'a str),
    /// Not UTF-8.
    Binary,
    /// Longer than [`MAX_LINE`]: dropped.
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
mod tests;
