//! Framing: `COBS(payload ‖ crc16_le)` then one `0x00` delimiter.
//!
//! The CRC is CRC-16/IBM-3740 (CCITT-FALSE). A payload is 1..=250 bytes. The
//! decoder is fed arbitrary chunks of a byte stream; it drops empty,
//! oversize, badly stuffed and bad-CRC frames, reports each one, and resyncs
//! at the next delimiter, so garbage never costs more than one frame.

use crc::{CRC_16_IBM_3740, Crc};

/// The frame check used on every payload.
pub const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

/// Largest payload a frame may carry.
pub const MAX_PAYLOAD: usize = 250;

/// Largest COBS-encoded frame body (payload + CRC + one overhead byte),
/// not counting the delimiter.
pub const MAX_ENCODED: usize = MAX_PAYLOAD + 2 + 1;

/// Why a frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("empty frame")]
    Empty,
    #[error("oversize frame")]
    Oversize,
    #[error("bad COBS stuffing")]
    BadStuffing,
    #[error("frame too short to hold a payload and CRC")]
    TooShort,
    #[error("CRC mismatch")]
    BadCrc,
}

impl FrameError {
    /// CRC failures are counted apart from other framing errors.
    pub fn is_crc(self) -> bool {
        self == Self::BadCrc
    }
}

/// Encodes one payload as a complete frame, delimiter included, appending it
/// to `out`.
///
/// # Panics
/// If the payload is empty or longer than [`MAX_PAYLOAD`]; payloads are built
/// by this crate, never taken from outside, so that is a bug.
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    assert!(
        (1..=MAX_PAYLOAD).contains(&payload.len()),
        "payload of {} bytes cannot be framed",
        payload.len()
    );
    let mut body = Vec::with_capacity(payload.len() + 2);
    body.extend_from_slice(payload);
    body.extend_from_slice(&CRC16.checksum(payload).to_le_bytes());
    let start = out.len();
    out.resize(start + cobs::max_encoding_length(body.len()), 0);
    let written = cobs::encode(&body, &mut out[start..]);
    out.truncate(start + written);
    out.push(0);
}

/// Cuts a byte stream into checked payloads.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    /// Set once the current frame has grown past [`MAX_ENCODED`]; the rest
    /// of it is skipped up to the next delimiter.
    overflowed: bool,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self {
            buffer: Vec::with_capacity(MAX_ENCODED),
            overflowed: false,
        }
    }

    /// Feeds bytes; calls `on_frame` with each complete payload or the reason
    /// a frame was dropped, in stream order.
    pub fn push(&mut self, mut bytes: &[u8], mut on_frame: impl FnMut(Result<&[u8], FrameError>)) {
        while let Some(end) = bytes.iter().position(|&b| b == 0) {
            self.append(&bytes[..end]);
            self.finish_frame(&mut on_frame);
            bytes = &bytes[end + 1..];
        }
        self.append(bytes);
    }

    /// Adds the body bytes of the current frame, up to the size limit.
    fn append(&mut self, chunk: &[u8]) {
        let room = MAX_ENCODED - self.buffer.len();
        if chunk.len() > room {
            self.buffer.extend_from_slice(&chunk[..room]);
            self.overflowed = true;
        } else {
            self.buffer.extend_from_slice(chunk);
        }
    }

    /// A delimiter arrived: report the frame and start the next one.
    fn finish_frame(&mut self, on_frame: &mut impl FnMut(Result<&[u8], FrameError>)) {
        if self.overflowed {
            on_frame(Err(FrameError::Oversize));
        } else {
            match Self::unstuff(&mut self.buffer) {
                Ok(payload_len) => on_frame(Ok(&self.buffer[..payload_len])),
                Err(error) => on_frame(Err(error)),
            }
        }
        self.buffer.clear();
        self.overflowed = false;
    }

    /// Decodes `body` in place; returns the payload length.
    fn unstuff(body: &mut [u8]) -> Result<usize, FrameError> {
        if body.is_empty() {
            return Err(FrameError::Empty);
        }
        let decoded_len = cobs::decode_in_place(body).map_err(|_| FrameError::BadStuffing)?;
        if decoded_len < 3 {
            return Err(FrameError::TooShort);
        }
        let payload_len = decoded_len - 2;
        if payload_len > MAX_PAYLOAD {
            return Err(FrameError::Oversize);
        }
        let received = u16::from_le_bytes([body[payload_len], body[payload_len + 1]]);
        if CRC16.checksum(&body[..payload_len]) != received {
            return Err(FrameError::BadCrc);
        }
        Ok(payload_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut decoder = FrameDecoder::new();
        let mut out = Vec::new();
        decoder.push(bytes, |r| out.push(r.map(<[u8]>::to_vec)));
        out
    }

    #[test]
    fn crc_check_value() {
        assert_eq!(CRC16.checksum(b"123456789"), 0x29B1);
    }

    #[test]
    fn cobs_known_vectors() {
        // Vectors from the COBS paper / Wikipedia examples.
        let cases: &[(&[u8], &[u8])] = &[
            (&[0x00], &[0x01, 0x01]),
            (&[0x00, 0x00], &[0x01, 0x01, 0x01]),
            (&[0x11, 0x22, 0x00, 0x33], &[0x03, 0x11, 0x22, 0x02, 0x33]),
            (&[0x11, 0x22, 0x33, 0x44], &[0x05, 0x11, 0x22, 0x33, 0x44]),
            (&[0x11, 0x00, 0x00, 0x00], &[0x02, 0x11, 0x01, 0x01, 0x01]),
        ];
        for (raw, stuffed) in cases {
            let mut out = vec![0; cobs::max_encoding_length(raw.len())];
            let n = cobs::encode(raw, &mut out);
            assert_eq!(&out[..n], *stuffed, "encode {raw:02x?}");
            let mut back = stuffed.to_vec();
            let m = cobs::decode_in_place(&mut back).expect("valid vector");
            assert_eq!(&back[..m], *raw, "decode {stuffed:02x?}");
        }
        // 254 non-zero bytes need a 0xFF code block.
        let raw: Vec<u8> = (1..=254).collect();
        let mut out = vec![0; cobs::max_encoding_length(raw.len())];
        let n = cobs::encode(&raw, &mut out);
        assert_eq!(out[0], 0xFF);
        assert_eq!(&out[1..255], &raw[..]);
        assert_eq!(n, 255);
    }

    #[test]
    fn round_trip_every_length() {
        for len in 1..=MAX_PAYLOAD {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let mut wire = Vec::new();
            encode_frame(&payload, &mut wire);
            assert_eq!(wire.iter().filter(|&&b| b == 0).count(), 1);
            assert!(wire.len() <= MAX_ENCODED + 1);
            assert_eq!(decode_all(&wire), vec![Ok(payload)]);
        }
    }

    #[test]
    fn resyncs_after_garbage_and_counts_each_error() {
        let mut wire = vec![0x13, 0x37, 0x42, 0x00]; // garbage ending in a delimiter
        encode_frame(&[0x06, 1, 2, 3, 4], &mut wire);
        wire.push(0x00); // empty frame
        // A well-stuffed frame whose CRC is off by one bit.
        let payload = [0x84, 0, 0, 0, 0x80, 0x3f];
        let mut body = payload.to_vec();
        body.extend_from_slice(&(CRC16.checksum(&payload) ^ 0x0100).to_le_bytes());
        wire.extend_from_slice(&cobs::encode_vec(&body));
        wire.push(0);
        wire.extend(std::iter::repeat_n(0x55, 400)); // oversize run
        wire.push(0x00);
        encode_frame(&[0x01], &mut wire);

        let results = decode_all(&wire);
        assert_eq!(results.len(), 6, "{results:?}");
        assert!(
            results[0].is_err(),
            "garbage must not pass: {:?}",
            results[0]
        );
        assert_eq!(results[1], Ok(vec![0x06, 1, 2, 3, 4]));
        assert_eq!(results[2], Err(FrameError::Empty));
        assert_eq!(results[3], Err(FrameError::BadCrc));
        assert_eq!(results[4], Err(FrameError::Oversize));
        assert_eq!(results[5], Ok(vec![0x01]));
    }

    #[test]
    fn truncated_frame_is_dropped_and_next_one_decodes() {
        let mut full = Vec::new();
        encode_frame(&[0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9], &mut full);
        let mut wire = full[..full.len() / 2].to_vec(); // cut mid-frame, no delimiter
        wire.push(0x00); // the link resumes with a delimiter
        encode_frame(&[0x87, 9, 9, 9, 9], &mut wire);
        let results = decode_all(&wire);
        assert_eq!(results.len(), 2);
        assert!(results[0].is_err());
        assert_eq!(results[1], Ok(vec![0x87, 9, 9, 9, 9]));
    }

    #[test]
    fn split_across_chunks_decodes_the_same() {
        let mut wire = Vec::new();
        for i in 0..20u8 {
            encode_frame(&[0x84, i, 0, 0, 0, i], &mut wire);
        }
        let whole = decode_all(&wire);
        let mut decoder = FrameDecoder::new();
        let mut chunked = Vec::new();
        for chunk in wire.chunks(3) {
            decoder.push(chunk, |r| chunked.push(r.map(<[u8]>::to_vec)));
        }
        assert_eq!(whole, chunked);
        assert_eq!(whole.len(), 20);
    }
}
