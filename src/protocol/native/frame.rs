//! Framing: `COBS(payload ‖ crc16_le)` then one `0x00` delimiter.
//!
//! The CRC is CRC-16/IBM-3740 (CCITT-FALSE). A payload is 1..=250 bytes. The
//! decoder is fed arbitrary chunks of a byte stream; it drops empty,
//! oversize, badly stuffed and bad-CRC frames, reports each one, and resyncs
//! at the next delimiter, so garbage never costs more than one frame.
//!
//! Decoding is the ingest hot path (every streamed sample passes through
//! it), so a frame that lies whole inside the chunk it arrived in is
//! unstuffed straight from that chunk into one reused buffer: the input is
//! scanned for delimiters with SIMD (`memchr`), the frame is copied as one
//! block and its zeros put back where the COBS codes point, and the CRC
//! runs slice-by-16. Only a frame split across two chunks is first gathered
//! in a second buffer.

use crc::{CRC_16_IBM_3740, Crc, Table};

/// The frame check used on every payload, sixteen table lanes wide: on a
/// 250-byte payload that is several times faster than a byte-wise table.
pub static CRC16: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_IBM_3740);

/// Largest payload a frame may carry.
pub const MAX_PAYLOAD: usize = 250;

/// Largest COBS-encoded frame body (payload + CRC + one overhead byte),
/// not counting the delimiter.
pub const MAX_ENCODED: usize = MAX_PAYLOAD + 2 + 1;

/// Why a frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("empty frame")]
    /// Two delimiters with nothing between them.
    Empty,
    #[error("oversize frame")]
    /// More bytes than the largest frame before a delimiter.
    Oversize,
    #[error("bad COBS stuffing")]
    /// The COBS encoding is broken.
    BadStuffing,
    #[error("frame too short to hold a payload and CRC")]
    /// Too short to hold a payload and its CRC.
    TooShort,
    #[error("CRC mismatch")]
    /// The CRC does not match the payload.
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
#[derive(Debug)]
pub struct FrameDecoder {
    /// Encoded bytes of a frame whose start arrived in an earlier chunk.
    partial: Vec<u8>,
    /// Set once the current frame has grown past [`MAX_ENCODED`]; the rest
    /// of it is skipped up to the next delimiter.
    overflowed: bool,
    /// The last frame unstuffed: payload, then CRC. A decoded frame is
    /// always at least one byte shorter than its encoding.
    decoded: [u8; MAX_ENCODED],
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder waiting for its first frame.
    pub fn new() -> Self {
        Self {
            partial: Vec::with_capacity(MAX_ENCODED),
            overflowed: false,
            decoded: [0; MAX_ENCODED],
        }
    }

    /// Feeds bytes; calls `on_frame` with each complete payload or the reason
    /// a frame was dropped, in stream order.
    pub fn push(&mut self, mut bytes: &[u8], mut on_frame: impl FnMut(Result<&[u8], FrameError>)) {
        while let Some(end) = memchr::memchr(0, bytes) {
            let result = if self.partial.is_empty() && !self.overflowed {
                check_frame(&bytes[..end], &mut self.decoded)
            } else {
                self.append(&bytes[..end]);
                if self.overflowed {
                    Err(FrameError::Oversize)
                } else {
                    check_frame(&self.partial, &mut self.decoded)
                }
            };
            on_frame(result.map(|payload_len| &self.decoded[..payload_len]));
            self.partial.clear();
            self.overflowed = false;
            bytes = &bytes[end + 1..];
        }
        self.append(bytes);
    }

    /// Keeps the start of a frame until its delimiter arrives, up to the
    /// size limit.
    fn append(&mut self, chunk: &[u8]) {
        let room = MAX_ENCODED - self.partial.len();
        if chunk.len() > room {
            self.partial.extend_from_slice(&chunk[..room]);
            self.overflowed = true;
        } else {
            self.partial.extend_from_slice(chunk);
        }
    }
}

/// Unstuffs one encoded frame (the bytes before its delimiter) into
/// `decoded` and checks its CRC; returns the payload length.
fn check_frame(encoded: &[u8], decoded: &mut [u8; MAX_ENCODED]) -> Result<usize, FrameError> {
    if encoded.is_empty() {
        return Err(FrameError::Empty);
    }
    if encoded.len() > MAX_ENCODED {
        return Err(FrameError::Oversize);
    }
    let decoded_len = unstuff(encoded, decoded)?;
    // At most MAX_ENCODED − 1 bytes, so the payload is within MAX_PAYLOAD.
    let Some(payload_len) = decoded_len.checked_sub(2).filter(|&n| n > 0) else {
        return Err(FrameError::TooShort);
    };
    let (payload, crc) = decoded[..decoded_len].split_at(payload_len);
    if CRC16.checksum(payload) != u16::from_le_bytes([crc[0], crc[1]]) {
        return Err(FrameError::BadCrc);
    }
    Ok(payload_len)
}

/// COBS-decodes `encoded`, which holds no zero byte and at most
/// [`MAX_ENCODED`] bytes, into `decoded`; returns the decoded length.
///
/// A frame that short cannot hold a full group (code `0xFF`, 254 data
/// bytes), so every group but the last ends in an implied zero and the
/// decoded frame is the encoding without its first byte, with a zero where
/// each later code byte stood: one block copy, then a walk along the codes.
fn unstuff(encoded: &[u8], decoded: &mut [u8; MAX_ENCODED]) -> Result<usize, FrameError> {
    // A zero code would never advance the walk; delimiters are cut off first.
    debug_assert!(!encoded.contains(&0));
    let decoded_len = encoded.len() - 1;
    decoded[..decoded_len].copy_from_slice(&encoded[1..]);
    let mut code_at = usize::from(encoded[0]);
    while code_at < encoded.len() {
        decoded[code_at - 1] = 0;
        code_at += usize::from(encoded[code_at]);
    }
    // The last group must end exactly at the end of the frame.
    if code_at == encoded.len() {
        Ok(decoded_len)
    } else {
        Err(FrameError::BadStuffing)
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
            let mut back = [0; MAX_ENCODED];
            let m = unstuff(stuffed, &mut back).expect("valid vector");
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
    fn bad_stuffing_is_refused() {
        let mut out = [0; MAX_ENCODED];
        // A group that runs past the end of the frame.
        assert_eq!(
            unstuff(&[0x05, 0x11, 0x22], &mut out),
            Err(FrameError::BadStuffing)
        );
        assert_eq!(
            unstuff(&[0x02, 0x11, 0x04, 0x22], &mut out),
            Err(FrameError::BadStuffing)
        );
        // A full group (254 data bytes) cannot fit in a frame.
        let full: Vec<u8> = std::iter::once(0xFF).chain(1..=252).collect();
        assert_eq!(unstuff(&full, &mut out), Err(FrameError::BadStuffing));
        // On the wire: counted, and the next frame decodes.
        let mut wire = vec![0x05, 0x11, 0x22, 0x00];
        encode_frame(&[0x87, 1, 0, 0, 0], &mut wire);
        assert_eq!(
            decode_all(&wire),
            vec![Err(FrameError::BadStuffing), Ok(vec![0x87, 1, 0, 0, 0])]
        );
    }

    #[test]
    fn every_cut_of_the_stream_decodes_the_same() {
        let mut wire = Vec::new();
        encode_frame(&[0x85, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x80, 0x3f], &mut wire);
        wire.extend_from_slice(&[0x03, 0x11, 0x00]); // bad stuffing
        wire.extend(std::iter::repeat_n(0x55, 300)); // oversize
        wire.push(0x00);
        encode_frame(&(1..=MAX_PAYLOAD as u8).collect::<Vec<_>>(), &mut wire);
        let whole = decode_all(&wire);
        assert_eq!(whole.len(), 4);
        assert!(whole[0].is_ok() && whole[3].is_ok());
        assert_eq!(whole[1], Err(FrameError::BadStuffing));
        assert_eq!(whole[2], Err(FrameError::Oversize));
        for cut in 1..wire.len() {
            for second_cut in [cut + 1, cut + 7, cut + 260] {
                let second_cut = second_cut.min(wire.len());
                let mut decoder = FrameDecoder::new();
                let mut pieces = Vec::new();
                for piece in [&wire[..cut], &wire[cut..second_cut], &wire[second_cut..]] {
                    decoder.push(piece, |r| pieces.push(r.map(<[u8]>::to_vec)));
                }
                assert_eq!(pieces, whole, "cut at {cut} and {second_cut}");
            }
        }
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
