//! The native frame decoder over a byte stream cut into arbitrary chunks:
//! no panic; the frames and errors are the same however the stream is cut;
//! every payload is 1..=250 bytes and survives encode → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::chunks;
use motiontune_fuzz::protocol::native::frame::{
    FrameDecoder, FrameError, MAX_PAYLOAD, encode_frame,
};

fn decode<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> Vec<Result<Vec<u8>, FrameError>> {
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    for piece in pieces {
        decoder.push(piece, |frame| frames.push(frame.map(<[u8]>::to_vec)));
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    // The first eight bytes choose the chunk lengths; the rest is the stream.
    let (lengths, stream) = data.split_at(data.len().min(8));
    let whole = decode(std::iter::once(stream));
    let chunked = decode(chunks(stream, lengths));
    assert_eq!(whole, chunked, "chunking changed the frames");
    let delimiters = stream.iter().filter(|&&b| b == 0).count();
    assert_eq!(whole.len(), delimiters, "one result per delimiter");
    for payload in whole.iter().flatten() {
        assert!((1..=MAX_PAYLOAD).contains(&payload.len()));
        let mut wire = Vec::new();
        encode_frame(payload, &mut wire);
        assert_eq!(
            decode(std::iter::once(&wire[..])),
            vec![Ok(payload.clone())]
        );
    }
});
