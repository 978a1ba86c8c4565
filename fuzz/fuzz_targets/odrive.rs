//! ODrive ASCII both ways, in arbitrary chunks: the adapter, once it has
//! described the emulator, fed arbitrary device bytes between its polls
//! (no panic, every sample whole and finite, every event from a parsed
//! reply); the emulator fed arbitrary host bytes (no panic, every reply a
//! line ending in `\r\n`, or cut at the firmware's 64-byte reply buffer,
//! its NUL last).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::chunks;
use motiontune_fuzz::protocol::adapter::{Adapter, AdapterSettings, DecodeTally};
use motiontune_fuzz::protocol::odrive::OdriveAdapter;
use motiontune_fuzz::protocol::{Command, Event};
use motiontune_fuzz::sim::EmulatedDevice;
use motiontune_fuzz::sim::drive::DriveConfig;
use motiontune_fuzz::sim::firmware::odrive::OdriveSim;

fuzz_target!(|data: &[u8]| {
    let (lengths, stream) = data.split_at(data.len().min(8));
    let mut now = Instant::now();
    let mut adapter = OdriveAdapter::new(&AdapterSettings::default(), now);
    let mut device = OdriveSim::new(DriveConfig::default());
    let mut tally = DecodeTally::default();
    let mut check = |event: Event| {
        if let Event::Samples { batch, .. } = event {
            assert_eq!(batch.channel_count, 4);
            assert_eq!(batch.values.len(), 4);
            assert!(batch.values.iter().all(|v| v.is_finite()));
        }
    };
    let mut out = Vec::new();
    // Past the drain of an earlier client's replies.
    now += Duration::from_millis(200);
    adapter.poll(now, &mut out);
    device.receive(&out);
    let replies = device.take_output();
    adapter
        .receive(&replies, now, &mut tally, &mut check)
        .expect("the emulator is 0.5.x");
    assert!(adapter.device().is_some(), "described by the emulator");
    let mut out = Vec::new();
    let _ = adapter.encode(&Command::Stream { divider: 1 }, now, &mut out);
    for chunk in chunks(stream, lengths) {
        now += Duration::from_millis(u64::from(chunk[0] % 8));
        out.clear();
        adapter.poll(now, &mut out);
        // Errors are how the adapter gives up on a device; it must not panic.
        let _ = adapter.receive(chunk, now, &mut tally, &mut check);

        device.receive(chunk);
        device.advance(u64::from(chunk[0] % 16));
        let output = device.take_output();
        assert!(output.is_empty() || output.ends_with(b"\r\n") || output.ends_with(b"\0"));
    }
});
