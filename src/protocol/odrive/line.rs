//! The line format of ODrive's ASCII protocol (firmware 0.5.x,
//! `Firmware/communication/ascii_protocol.cpp`): a request is one line,
//! optionally followed by `*N` where N is the decimal XOR of every byte
//! before the `*`; the firmware then appends the same kind of checksum to
//! its reply. Replies end in `\r\n`. A request line ends at `\r`, `\n` or
//! `!`, so requests end in `\n` alone: `\r\n` would add an empty line the
//! firmware answers with "unknown command".

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

/// Cuts a byte stream into reply lines at `\n` (a `\r` before it is
/// dropped), in whatever chunks the bytes arrive.
#[derive(Debug, Default)]
pub struct LineSplitter {
    line: Vec<u8>,
    /// The current line grew past [`MAX_REPLY_LEN`]: dropped up to its end.
    overlong: bool,
}

impl LineSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `bytes`; each complete line goes to `on_line`, `Err` for one
    /// that was too long.
    pub fn push(&mut self, bytes: &[u8], mut on_line: impl FnMut(Result<&[u8], ReplyError>)) {
        for &byte in bytes {
            if byte == b'\n' {
                if self.overlong {
                    on_line(Err(ReplyError::Framing));
                } else {
                    let end = self.line.len() - usize::from(self.line.last() == Some(&b'\r'));
                    on_line(Ok(&self.line[..end]));
                }
                self.line.clear();
                self.overlong = false;
            } else if self.line.len() >= MAX_REPLY_LEN {
                self.overlong = true;
            } else {
                self.line.push(byte);
            }
        }
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
        let mut splitter = LineSplitter::new();
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
}
