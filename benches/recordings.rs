//! Recordings: writing and opening the same samples as CSV and as Parquet,
//! in the same run. The samples are 60 s of 8 channels at 10 kHz (4.8 M
//! values, a tenth of the 10-minute 48 M: the times scale
//! linearly), written in 1000-row batches as the link delivers them, the
//! Parquet file ended in a row group every 0.5 s of samples as the
//! recorder does. Both are written to and read from memory, so the disk
//! does not blur the comparison. Throughput is in values (channel-samples).
//!
//! The file sizes are printed once, before the timings.
//!
//! "two devices" writes the same 60 s from two devices, batches
//! interleaved as two links deliver them, into one file as `record --port
//! A --port B` does, next to the way without it: a file per device. Then
//! it opens one device of the shared file next to opening its own file.
//!
//! "open in the app" is the whole of what opening a file in the GUI costs
//! (`device::recorded::load`): reading the file from disk (the page
//! cache, after the first run), parsing it, putting every row into the
//! history and measuring its steps. It is timed on the 60 s file in both
//! formats and on the full 10 minutes (48 M values) as Parquet.

// `missing_docs` is for the library's public items; `criterion_group!`
// defines an undocumented `pub fn` here.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use motiontune::device::recorded::{LoadProgress, RecordedDevice, load};
use motiontune::protocol::{ChannelInfo, ChannelRole, SampleBatch};
use motiontune::record::devices::DevicesCsv;
use motiontune::record::read::{ReadOptions, read_csv, read_parquet};
use motiontune::record::{CsvRecorder, ParquetRecorder};

const CHANNELS: usize = 8;
const RATE_HZ: f64 = 10_000.0;
const SECONDS: usize = 60;
/// The long recording: 10 minutes.
const LONG_SECONDS: usize = 600;
const BATCH_ROWS: usize = 1000;

fn channels() -> Vec<ChannelInfo> {
    (0..CHANNELS)
        .map(|c| ChannelInfo {
            name: format!("channel{c}"),
            unit: "rad".into(),
            role: ChannelRole::Other,
        })
        .collect()
}

/// Measured-looking values: a slow sine per channel with noise in the low
/// bits, so neither format gets a free ride on repeated digits.
fn batches(seconds: usize) -> Vec<SampleBatch> {
    let rows = seconds * RATE_HZ as usize;
    let mut noise: u32 = 0x1234_5678;
    (0..rows / BATCH_ROWS)
        .map(|b| {
            let values = (0..BATCH_ROWS * CHANNELS)
                .map(|i| {
                    noise ^= noise << 13;
                    noise ^= noise >> 17;
                    noise ^= noise << 5;
                    let row = b * BATCH_ROWS + i / CHANNELS;
                    let t = row as f32 / RATE_HZ as f32;
                    (t * (1.0 + (i % CHANNELS) as f32)).sin() + (noise % 1000) as f32 * 1e-6
                })
                .collect();
            SampleBatch {
                first_tick: (b * BATCH_ROWS) as i64,
                stride: 1,
                tick_hz: RATE_HZ,
                channel_count: CHANNELS,
                values,
                exact: None,
            }
        })
        .collect()
}

fn write_csv(batches: &[SampleBatch]) -> Vec<u8> {
    let mut recorder = CsvRecorder::new(Vec::new(), &channels()).expect("header");
    for batch in batches {
        recorder.write_batch(batch).expect("rows");
    }
    recorder.finish().expect("flush")
}

fn write_parquet(batches: &[SampleBatch]) -> Vec<u8> {
    let mut recorder = ParquetRecorder::new(Vec::new(), &channels()).expect("header");
    // The recorder flushes every 0.5 s.
    let per_flush = RATE_HZ as usize / 2 / BATCH_ROWS;
    for (k, batch) in batches.iter().enumerate() {
        recorder.write_batch(batch).expect("rows");
        if (k + 1) % per_flush == 0 {
            recorder.flush().expect("row group");
        }
    }
    recorder.finish().expect("footer")
}

/// Two devices' batches into one file, as they arrive: one of each in
/// turn, the second device 3 ms behind on the host's clock.
fn write_two_devices(batches: &[SampleBatch]) -> Vec<u8> {
    let devices = [("a".to_owned(), channels()), ("b".to_owned(), channels())];
    let mut file = DevicesCsv::new(Vec::new(), &devices).expect("header");
    for batch in batches {
        file.write_batch(0, batch, 0.0).expect("rows");
        file.write_batch(1, batch, 0.003).expect("rows");
    }
    file.finish().expect("flush")
}

fn bench_two_devices(c: &mut Criterion, batches: &[SampleBatch], values: u64) {
    let shared = write_two_devices(batches);
    let own = write_csv(batches);
    eprintln!(
        "two devices: one file {:.1} MB, two files {:.1} MB",
        shared.len() as f64 / 1e6,
        2.0 * own.len() as f64 / 1e6
    );
    let mut group = c.benchmark_group("two devices, 60 s each, 10 kHz x 8 ch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(2 * values));
    group.bench_function("write one file", |b| {
        b.iter(|| black_box(write_two_devices(batches)))
    });
    group.bench_function("write a file per device", |b| {
        b.iter(|| black_box((write_csv(batches), write_csv(batches))))
    });
    group.throughput(Throughput::Elements(values));
    let one_device = ReadOptions {
        device: Some("a".into()),
        ..ReadOptions::default()
    };
    group.bench_function("open one device of the shared file", |b| {
        b.iter(|| black_box(read_csv(&shared, &one_device).expect("reads")))
    });
    group.bench_function("open the device's own file", |b| {
        b.iter(|| black_box(read_csv(&own, &ReadOptions::default()).expect("reads")))
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let batches = batches(SECONDS);
    let values = (SECONDS as f64 * RATE_HZ) as u64 * CHANNELS as u64;
    let csv = write_csv(&batches);
    let parquet = write_parquet(&batches);
    eprintln!(
        "{values} values: CSV {:.1} MB, Parquet {:.1} MB ({:.2}x smaller)",
        csv.len() as f64 / 1e6,
        parquet.len() as f64 / 1e6,
        csv.len() as f64 / parquet.len() as f64
    );

    let mut group = c.benchmark_group("recording 60 s, 10 kHz x 8 ch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(values));
    group.bench_function("write CSV", |b| b.iter(|| black_box(write_csv(&batches))));
    group.bench_function("write Parquet", |b| {
        b.iter(|| black_box(write_parquet(&batches)))
    });
    group.bench_function("open CSV", |b| {
        b.iter(|| black_box(read_csv(&csv, &ReadOptions::default()).expect("reads")))
    });
    group.bench_function("open Parquet", |b| {
        b.iter_batched(
            || parquet.clone(),
            |bytes| black_box(read_parquet(bytes).expect("reads")),
            BatchSize::LargeInput,
        )
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let (csv_path, parquet_path) = (dir.path().join("60s.csv"), dir.path().join("60s.parquet"));
    std::fs::write(&csv_path, &csv).expect("write");
    std::fs::write(&parquet_path, &parquet).expect("write");
    for (name, path) in [("CSV", &csv_path), ("Parquet", &parquet_path)] {
        group.bench_function(format!("open {name} in the app"), |b| {
            b.iter(|| black_box(open_in_app(path)))
        });
    }
    group.finish();
    bench_two_devices(c, &batches, values);
    drop((batches, csv, parquet));

    let long = write_parquet(&self::batches(LONG_SECONDS));
    let long_path = dir.path().join("10min.parquet");
    std::fs::write(&long_path, &long).expect("write");
    eprintln!("10 min: Parquet {:.1} MB", long.len() as f64 / 1e6);
    drop(long);
    let mut group = c.benchmark_group("recording 10 min, 10 kHz x 8 ch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        values * (LONG_SECONDS / SECONDS) as u64,
    ));
    group.bench_function("open Parquet in the app", |b| {
        b.iter(|| black_box(open_in_app(&long_path)))
    });
    group.finish();
}

/// What opening a file in the GUI does, on its loading thread.
fn open_in_app(path: &std::path::Path) -> RecordedDevice {
    load(path, &ReadOptions::default(), &LoadProgress::default()).expect("opens")
}

criterion_group!(benches, bench);
criterion_main!(benches);
