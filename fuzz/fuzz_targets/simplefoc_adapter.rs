//! The SimpleFOC adapter over a device's byte stream cut into arbitrary
//! chunks, once described (replies in `@1`) and monitoring: no panic, every
//! batch whole and of the described width, and every value finite.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::chunks;
use motiontune_fuzz::protocol::adapter::{Adapter, AdapterSettings, DecodeTally};
use motiontune_fuzz::protocol::simplefoc::adapter::SimpleFocAdapter;
use motiontune_fuzz::protocol::{Command, Event};

fuzz_target!(|data: &[u8]| {
    let (lengths, stream) = data.split_at(data.len().min(8));
    let mut now = Instant::now();
    let mut adapter = SimpleFocAdapter::new(&AdapterSettings::default(), now);
    let mut tally = DecodeTally::default();
    let mut check = |event: Event| {
        if let Event::Samples { batch, .. } = event {
            assert_eq!(batch.channel_count, 7);
            assert_eq!(batch.values.len(), batch.len() * 7);
            assert!(batch.values.iter().all(|v| v.is_finite()));
        }
    };
    // Describe: answer every read as a Commander in @1 would.
    for _ in 0..64 {
        let mut out = Vec::new();
        adapter.poll(now, &mut out);
        let reply: &[u8] = if out.ends_with(b"MC\n") { b"angle\r\n" } else { b"1.0\r\n" };
        if !out.is_empty() {
            adapter.receive(reply, now, &mut tally, &mut check).expect("no fatal error");
        }
        now += Duration::from_millis(1);
    }
    assert!(adapter.device().is_some());
    let mut out = Vec::new();
    let _ = adapter.encode(&Command::Stream { divider: 1 }, now, &mut out);
    adapter.receive(b"1111111\r\n10\r\n", now, &mut tally, &mut check).expect("no fatal error");
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
        adapter.receive(chunk, now, &mut tally, &mut check).expect("no fatal error");
    }
});
