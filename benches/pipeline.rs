//! The decode path from the wire, against the naive way in the same run
//! (the plot's frame is in `benches/plot.rs`):
//!
//! - `decode`: one second of a 10 kHz × 4-channel SAMPLES stream through the
//!   streaming frame decoder and message parser, against splitting the
//!   buffer on delimiters and decoding each frame into fresh allocations with
//!   a bit-by-bit CRC.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use motiontune::protocol::native::message::SAMPLES_HEADER_LEN;
use motiontune::protocol::native::{DeviceMessage, FrameDecoder, encode_frame};

const LOOP_HZ: u32 = 10_000;
const CHANNELS: usize = 4;

/// One second of the simulated drive's stream, as bytes on the wire.
fn one_second_of_stream() -> Vec<u8> {
    let per_frame = (250 - SAMPLES_HEADER_LEN) / (4 * CHANNELS);
    let mut wire = Vec::new();
    let mut tick = 0u32;
    while tick < LOOP_HZ {
        let values = (0..per_frame * CHANNELS)
            .map(|i| ((tick as usize + i) as f32 * 1e-3).sin())
            .collect();
        let message = DeviceMessage::Samples {
            tick,
            stride: 1,
            count: per_frame as u8,
            values,
        };
        encode_frame(&message.encode(), &mut wire);
        tick += per_frame as u32;
    }
    wire
}

/// CRC-16/IBM-3740 one bit at a time, as a first implementation would.
fn crc16_bitwise(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn decode_streaming(wire: &[u8]) -> usize {
    let mut decoder = FrameDecoder::new();
    let mut samples = 0;
    // Serial reads arrive in chunks; 4 KiB is a typical read size.
    for chunk in wire.chunks(4096) {
        decoder.push(chunk, |frame| {
            if let Ok(payload) = frame
                && let Ok(DeviceMessage::Samples { count, .. }) = DeviceMessage::decode(payload)
            {
                samples += count as usize;
            }
        });
    }
    samples
}

fn decode_naive(wire: &[u8]) -> usize {
    let mut samples = 0;
    for encoded in wire.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let Ok(body) = cobs::decode_vec(encoded) else {
            continue;
        };
        let (payload, crc) = body.split_at(body.len() - 2);
        if crc16_bitwise(payload).to_le_bytes() != [crc[0], crc[1]] {
            continue;
        }
        if let Ok(DeviceMessage::Samples { count, .. }) = DeviceMessage::decode(payload) {
            samples += count as usize;
        }
    }
    samples
}

fn decode(c: &mut Criterion) {
    let wire = one_second_of_stream();
    assert_eq!(decode_streaming(&wire), decode_naive(&wire));
    let mut group = c.benchmark_group("decode 1 s of 10 kHz x 4 ch");
    group.throughput(criterion::Throughput::Bytes(wire.len() as u64));
    group.bench_function("streaming decoder", |b| {
        b.iter(|| decode_streaming(black_box(&wire)))
    });
    group.bench_function("naive split + alloc + bitwise CRC", |b| {
        b.iter(|| decode_naive(black_box(&wire)))
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
