//! The simulated drive's firmware fed arbitrary host bytes in arbitrary
//! chunks, with device time moving between them: no panic, and every byte
//! it sends back is a valid frame holding a valid message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::chunks;
use motiontune_fuzz::protocol::native::{DeviceMessage, FrameDecoder};
use motiontune_fuzz::sim::SimDevice;
use motiontune_fuzz::sim::device::DeviceSettings;
use motiontune_fuzz::sim::drive::DriveConfig;

fuzz_target!(|data: &[u8]| {
    let (lengths, stream) = data.split_at(data.len().min(8));
    let settings = DeviceSettings {
        loop_hz: 1000,
        watchdog_ms: 20,
        ..DeviceSettings::default()
    };
    let mut device = SimDevice::new(DriveConfig::default(), settings);
    let mut replies = FrameDecoder::new();
    for chunk in chunks(stream, lengths) {
        device.receive(chunk);
        device.advance(u64::from(chunk[0] % 16));
        replies.push(&device.take_output(), |frame| {
            let payload = frame.expect("the device sends valid frames");
            DeviceMessage::decode(payload).expect("the device sends valid messages");
        });
    }
});
