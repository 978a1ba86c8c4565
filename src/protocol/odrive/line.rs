//! The line format of ODrive's ASCII protocol (firmware 0.5.x,
//! `Firmware/communication/ascii_protocol.cpp`): a request is one line,
//! optionally followed by `*N` where N is the decimal XOR of every byte
//! before the `*`; the firmware then appends the same kind of checksum to
//! its reply. A request line ends at `\r`, `\n` or `!`, so requests end in
//! `\n` alone: `\r\n` would add an empty line the firmware answers with
//! "unknown command".
//!
//! Replies end in `\r\n`, except a checksummed one of fw-v0.5.2, which
//! ends with its checksum (fw-v0.5.2 ascii_protocol.cpp:54): there a
//! checksummed reply is complete once the digits after its `*` spell the
//! XOR of the text before it (a number no shorter prefix of its digits
//! spells). The splitter completes replies that way until a line end is
//! seen to follow one, and from then on at line ends, so a `*` a noisy
//! line makes out of another byte cannot cut a reply in two.

/// Longest reply line kept; the firmware's reply buffer is 64 bytes.
pub const MAX_REPLY_LEN: usize = 128;

/// XOR of every byte, as the firmware computes it.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |sum, byte| sum ^ byte)
}

/// Appends the request `text` as one line, with its checksum if asked.
pub fn encode_request(text: &str, with_checksum: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(text.as_bytes());
    if with_checksum {
        out.extend_from_slice(format!("*{}", checksum(text.as_bytes())).as_bytes());
    }
    out.push(b'\n');
}

/// Why a reply line was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// Longer than any reply, or not text.
    Framing,
    /// The checksum is missing (when the request carried one) or wrong.
    Checksum,
}

/// The text of one reply line (without `\r\n`), its checksum checked and
/// removed when `with_checksum`.
pub fn parse_reply(line: &[u8], with_checksum: bool) -> Result<&str, ReplyError> {
    let text = std::str::from_utf8(line).map_err(|_| ReplyError::Framing)?;
    if text.bytes().any(|b| b.is_ascii_control()) {
        return Err(ReplyError::Framing);
    }
    if !with_checksum {
        return Ok(text);
    }
    let (body, sum) = text.rsplit_once('*').ok_or(ReplyError::Checksum)?;
    if sum.is_empty() || !sum.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReplyError::Checksum);
    }
    match sum.parse::<u8>() {
        Ok(sum) if sum == checksum(body.as_bytes()) => Ok(body),
        _ => Err(ReplyError::Checksum),
    }
}

/// Cuts a byte stream into replies at `\n` (a `\r` before it is dropped),
/// or, for checksummed replies, at their checksum while the firmware ends
/// them there (see the module documentation); in whatever chunks the bytes
/// arrive.
#[derive(Debug, Default)]
pub struct LineSplitter {
    line: Vec<u8>,
    /// The current line grew past [`MAX_REPLY_LEN`]: dropped up to its end.
    overlong: bool,
    /// Replies carry checksums: they may end with them.
    checksummed: bool,
    /// Where the current line's `*` is.
    star: Option<usize>,
    /// A line end has followed a reply that ended at its checksum: the
    /// firmware ends its replies with line ends.
    line_ends: bool,
    /// The last reply ended at its checksum: a `\r` or `\n` next is its
    /// line end, not an empty reply.
    after_checksum: bool,
}

/// Most digits a checksum has (it is a byte).
const CHECKSUM_DIGITS: usize = 3;

impl LineSplitter {
    /// A splitter for replies with checksums (`checksummed`) or without.
    pub fn new(checksummed: bool) -> Self {
        Self {
            checksummed,
            ..Self::default()
        }
    }

    /// Forgets a line in progress (the bytes that follow start afresh).
    pub fn clear(&mut self) {
        self.line.clear();
        self.overlong = false;
        self.star = None;
        self.after_checksum = false;
    }

    /// Feeds `bytes`; each complete reply goes to `on_line`, `Err` for one
    /// that was too long or whose checksum could not be right.
    pub fn push(&mut self, bytes: &[u8], mut on_line: impl FnMut(Result<&[u8], ReplyError>)) {
        for &byte in bytes {
            let line_end = matches!(byte, b'\r' | b'\n');
            if self.after_checksum && line_end && self.line.is_empty() {
                if byte == b'\n' {
                    self.line_ends = true;
                    self.after_checksum = false;
                }
                continue;
            }
            self.after_checksum = false;
            if byte == b'\n' {
                if self.overlong {
                    on_line(Err(ReplyError::Framing));
                } else {
                    let end = self.line.len() - usize::from(self.line.last() == Some(&b'\r'));
                    on_line(Ok(&self.line[..end]));
                }
                self.clear();
                continue;
            }
            if self.line.len() >= MAX_REPLY_LEN {
                self.overlong = true;
                continue;
            }
            self.line.push(byte);
            if self.checksummed && !self.line_ends && !self.overlong {
                self.end_at_checksum(&mut on_line);
            }
        }
    }

    /// Ends the current reply at its checksum when its digits spell the
    /// XOR of its text, or when they no longer can.
    fn end_at_checksum(&mut self, on_line: &mut impl FnMut(Result<&[u8], ReplyError>)) {
        let last = self.line.len() - 1;
        let Some(star) = self.star else {
            if self.line[last] == b'*' {
                self.star = Some(last);
            }
            return;
        };
        let digits = &self.line[star + 1..];
        let byte = self.line[last];
        if byte.is_ascii_digit() {
            let sum = checksum(&self.line[..star]);
            let spelled = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<u16>().ok());
            if spelled == Some(u16::from(sum)) {
                on_line(Ok(&self.line));
            } else if digits.len() >= CHECKSUM_DIGITS {
                on_line(Err(ReplyError::Checksum));
            } else {
                return;
            }
            self.clear();
            self.after_checksum = true;
        } else {
            // Not a checksum after all: the reply so far is bad, and this
            // byte starts the next one (or ends this one's line).
            self.line.pop();
            on_line(Err(ReplyError::Checksum));
            self.clear();
            self.after_checksum = true;
            if byte != b'\r' {
                self.line.push(byte);
                self.star = (byte == b'*').then_some(0);
                self.after_checksum = false;
            }
        }
    }
}

/// How many reply lines a request line gets, from its command letter
/// alone (fw-v0.5.6 `communication/ascii_protocol.cpp`): what lets links to
/// the two axes of one board share its port ([`crate::link`]'s shared
/// port) and still pair every reply with the request that asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replies {
    /// `r` and `f`: exactly one line, the value or the complaint
    /// (275-288, 345-361).
    One,
    /// `w`, `p`, `q`, `v`, `c`, `t`, `u`, `s…`: nothing on success
    /// (133-221, 253-269, 330-339, 367-401); a line only for a request
    /// the firmware cannot carry out.
    NoneOnSuccess,
    /// Anything else (`h`, `i`, `e…`, a typo): as many lines as it takes.
    Unknown,
}

/// How many reply lines `request` (one line, its end and checksum
/// included or not) gets.
pub fn replies_to(request: &[u8]) -> Replies {
    match request.first() {
        Some(b'r' | b'f') => Replies::One,
        Some(b'w' | b'p' | b'q' | b'v' | b'c' | b't' | b'u' | b's') => Replies::NoneOnSuccess,
        _ => Replies::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_covers_every_byte_before_the_star_space_included() {
        let mut out = Vec::new();
        encode_request("f 0", true, &mut out);
        // 'f' ^ ' ' ^ '0' = 0x66 ^ 0x20 ^ 0x30 = 0x76 = 118.
        assert_eq!(out, b"f 0*118\n");
        out.clear();
        encode_request("u 1", false, &mut out);
        assert_eq!(out, b"u 1\n");
    }

    #[test]
    fn replies_are_checked_and_stripped() {
        let body = "1.500000 -0.250000";
        let line = format!("{body}*{}", checksum(body.as_bytes()));
        assert_eq!(parse_reply(line.as_bytes(), true), Ok(body));
        assert_eq!(parse_reply(b"0", false), Ok("0"));
        assert_eq!(parse_reply(b"0", true), Err(ReplyError::Checksum));
        assert_eq!(parse_reply(b"0*49", true), Err(ReplyError::Checksum));
        assert_eq!(parse_reply(b"0*48", true), Ok("0"));
        assert_eq!(parse_reply(b"0*", true), Err(ReplyError::Checksum));
        assert_eq!(parse_reply(b"0*+48", true), Err(ReplyError::Checksum));
        assert_eq!(parse_reply(b"0*999", true), Err(ReplyError::Checksum));
        assert_eq!(parse_reply(b"\xff\x00", false), Err(ReplyError::Framing));
        assert_eq!(parse_reply(b"a\x07b", false), Err(ReplyError::Framing));
    }

    #[test]
    fn lines_split_across_chunks_and_overlong_lines_are_dropped() {
        let mut splitter = LineSplitter::new(false);
        let mut lines = Vec::new();
        let stream = [
            b"0.5 1".as_slice(),
            b".0\r",
            b"\n8\r\n",
            &[b'x'; 300],
            b"\r\nok\n",
        ];
        for chunk in stream {
            splitter.push(chunk, |line| lines.push(line.map(<[u8]>::to_vec)));
        }
        assert_eq!(
            lines,
            vec![
                Ok(b"0.5 1.0".to_vec()),
                Ok(b"8".to_vec()),
                Err(ReplyError::Framing),
                Ok(b"ok".to_vec()),
            ]
        );
    }
    fn split(splitter: &mut LineSplitter, chunks: &[&[u8]]) -> Vec<Result<String, ReplyError>> {
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |line| {
                lines.push(line.map(|l| String::from_utf8_lossy(l).into_owned()));
            });
        }
        lines
    }

    #[test]
    fn checksummed_replies_without_line_ends_end_at_their_checksum() {
        // fw-v0.5.2: "0*48", "5*53", "20.000000*<sum>" back to back, cut
        // anywhere, and a checksum that is a prefix of the next digits.
        let pos_gain = format!("20.000000*{}", checksum(b"20.000000"));
        let stream = format!("0*485*53{pos_gain}4*52");
        let bytes = stream.as_bytes();
        let mut splitter = LineSplitter::new(true);
        let lines = split(&mut splitter, &[&bytes[..3], &bytes[3..9], &bytes[9..]]);
        assert_eq!(
            lines,
            [
                Ok("0*48".to_owned()),
                Ok("5*53".to_owned()),
                Ok(pos_gain),
                Ok("4*52".to_owned())
            ]
        );
        // A reply whose digits cannot be its checksum is bad; the next
        // one still comes through.
        let refusal = format!("invalid property*{}", checksum(b"invalid property"));
        let stream = format!("0*49{refusal}");
        let lines = split(&mut splitter, &[stream.as_bytes()]);
        assert_eq!(lines, [Err(ReplyError::Checksum), Ok(refusal)]);
    }

    #[test]
    fn once_a_line_end_follows_a_checksum_replies_end_at_line_ends() {
        let mut splitter = LineSplitter::new(true);
        let lines = split(&mut splitter, &[b"0*48\r", b"\n5*53\r\n"]);
        assert_eq!(lines, [Ok("0*48".to_owned()), Ok("5*53".to_owned())]);
        // A `.` turned into `*` by a noisy line no longer cuts the reply.
        let lines = split(&mut splitter, &[b"0*000000 0.000000*32\r\n"]);
        assert_eq!(lines, [Ok("0*000000 0.000000*32".to_owned())]);
    }
}
