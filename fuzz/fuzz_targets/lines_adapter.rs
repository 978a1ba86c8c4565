//! The plain-text-lines adapter over a byte stream cut into arbitrary
//! chunks: no panic; every batch is whole and holds only finite values
//! (nothing malformed becomes a number); with a device-time column, the
//! samples and their times are the same however the stream is cut, and
//! time never runs backwards.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::chunks;
use motiontune_fuzz::protocol::Event;
use motiontune_fuzz::protocol::adapter::{Adapter, AdapterSettings, DecodeTally};
use motiontune_fuzz::protocol::lines::LinesAdapter;

fn samples<'a>(settings: &AdapterSettings, pieces: impl Iterator<Item = &'a [u8]>) -> Vec<(f64, Vec<f32>)> {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(settings, start);
    let mut out = Vec::new();
    let mut tally = DecodeTally::default();
    for (k, piece) in pieces.enumerate() {
        let now = start + Duration::from_millis(k as u64);
        let _ = adapter.receive(piece, now, &mut tally, &mut |event| {
            if let Event::Samples { batch, .. } = event {
                assert_eq!(batch.values.len(), batch.len() * batch.channel_count);
                for k in 0..batch.len() {
                    let values = batch.sample(k);
                    assert!(values.iter().all(|v| v.is_finite()), "{values:?}");
                    out.push((batch.time_of(k), values.to_vec()));
                }
            }
        });
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (choice, data) = data.split_first().unwrap_or((&0, &[]));
    let (lengths, stream) = data.split_at(data.len().min(8));
    let mut settings = AdapterSettings::default();
    let unit = ["us", "ms", "s"][usize::from(choice % 3)];
    let column = 1 + usize::from(choice / 3 % 3);
    settings.lines.time_column = format!("{column}:{unit}").parse().ok();
    let whole = samples(&settings, std::iter::once(stream));
    let chunked = samples(&settings, chunks(stream, lengths));
    assert_eq!(whole, chunked, "chunking changed the samples");
    assert!(whole.windows(2).all(|w| w[1].0 > w[0].0), "time ran backwards");
    // Timed by the host: no panic, whole batches, finite values.
    let _ = samples(&AdapterSettings::default(), chunks(stream, lengths));
});
