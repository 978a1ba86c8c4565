//! The SimpleFOC adapter over a device's byte stream cut into arbitrary
//! chunks, once described (by the emulated sketch, as a Commander it
//! answers in `@3`) and monitoring: no panic, every batch whole and of the
//! described width, every value finite, every line sent within the
//! Commander's 20 bytes.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::chunks;
use motiontune_fuzz::protocol::adapter::{Adapter, AdapterSettings, DecodeTally};
use motiontune_fuzz::protocol::simplefoc::adapter::SimpleFocAdapter;
use motiontune_fuzz::protocol::{Command, Event};
use motiontune_fuzz::sim::EmulatedDevice;
use motiontune_fuzz::sim::drive::DriveConfig;
use motiontune_fuzz::sim::firmware::simplefoc::{SimpleFocFirmware, SketchSettings};

fuzz_target!(|data: &[u8]| {
    let (lengths, stream) = data.split_at(data.len().min(8));
    let mut now = Instant::now();
    let mut adapter = SimpleFocAdapter::new(&AdapterSettings::default(), now);
    let mut sketch = SimpleFocFirmware::with_settings(
        DriveConfig::default(),
        SketchSettings {
            boot: false,
            ..SketchSettings::default()
        },
    );
    let mut tally = DecodeTally::default();
    let mut check = |event: Event| {
        if let Event::Samples { batch, .. } = event {
            assert_eq!(batch.channel_count, 7);
            assert_eq!(batch.values.len(), batch.len() * 7);
            assert!(batch.values.iter().all(|v| v.is_finite()));
        }
    };
    // Described, then monitoring, by the emulated sketch.
    let mut streaming = false;
    for ms in 0..1000 {
        let mut out = Vec::new();
        adapter.poll(now, &mut out);
        if adapter.device().is_some() && !streaming {
            streaming = true;
            adapter
                .encode(&Command::Stream { divider: 1 }, now, &mut out)
                .expect("streams");
        }
        sketch.receive(&out);
        sketch.advance(10);
        let reply = sketch.take_output();
        adapter
            .receive(&reply, now, &mut tally, &mut check)
            .expect("no fatal error");
        now += Duration::from_millis(1);
        if streaming && ms > 600 {
            break;
        }
    }
    assert!(adapter.device().is_some());
    for (k, chunk) in chunks(stream, lengths).enumerate() {
        now += Duration::from_micros(137 * k as u64 % 5000);
        let mut out = Vec::new();
        adapter.poll(now, &mut out);
        if chunk.first() == Some(&b'!') {
            let value = f32::from(chunk.get(1).copied().unwrap_or(0)) - 100.0;
            let index = chunk.get(2).copied().unwrap_or(0) % 32;
            let _ = adapter.encode(&Command::Set { index, value }, now, &mut out);
        }
        assert!(out.split(|&b| b == b'\n').all(|line| line.len() < 20));
        adapter
            .receive(chunk, now, &mut tally, &mut check)
            .expect("no fatal error");
    }
});
