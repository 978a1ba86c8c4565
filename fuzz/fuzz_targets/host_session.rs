//! What the link thread does with a device's byte stream, cut into
//! arbitrary chunks: frames, then messages, then the host session
//! (description, tick unwrapping, sample batches). No panic, and every
//! batch it yields is whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::chunks;
use motiontune_fuzz::protocol::Event;
use motiontune_fuzz::protocol::native::{DeviceMessage, FrameDecoder, HostSession};

fuzz_target!(|data: &[u8]| {
    let (lengths, stream) = data.split_at(data.len().min(8));
    let mut decoder = FrameDecoder::new();
    let mut session = HostSession::new();
    for chunk in chunks(stream, lengths) {
        decoder.push(chunk, |frame| {
            let Ok(payload) = frame else { return };
            let Ok(message) = DeviceMessage::decode(payload) else {
                return;
            };
            if let Ok(Some(Event::Samples { batch, .. })) = session.handle(message) {
                for k in 0..batch.len() {
                    assert_eq!(batch.sample(k).len(), batch.channel_count);
                    let _ = batch.time_of(k);
                }
            }
        });
    }
});
