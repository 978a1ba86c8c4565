//! Ingest: bytes on the wire to sample batches ready for the history, as the
//! link thread does it, against the naive way in the same run. The input is
//! one second of the simulated drive's own stream (10 kHz × 8 channels,
//! every sample, a step in the middle), fed in 4 KiB reads as a serial port
//! delivers it. Throughput is in bytes of wire traffic.

// `missing_docs` is for the library's public items; `criterion_group!`
// defines an undocumented `pub fn` here.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use motiontune::protocol::native::{
    DeviceMessage, FrameDecoder, HostSession, encode_command, encode_frame,
};
use motiontune::protocol::{Command, Event};
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::{DriveConfig, SETPOINT_INDEX};

/// Bytes a serial read typically returns at this rate.
const READ_SIZE: usize = 4096;

fn command(device: &mut SimDevice, command: Command) {
    let mut wire = Vec::new();
    encode_frame(&encode_command(&command), &mut wire);
    device.receive(&wire);
}

/// The device's answer to HELLO, then one second of its full-rate stream
/// with the output on and a 1 rad step after half a second.
fn description_and_one_second() -> (Vec<u8>, Vec<u8>) {
    let mut device = SimDevice::new(DriveConfig::default(), DeviceSettings::default());
    command(&mut device, Command::Hello);
    let description = device.take_output();
    command(&mut device, Command::Enable(true));
    command(&mut device, Command::Stream { divider: 1 });
    device.advance(5_000);
    command(
        &mut device,
        Command::Set {
            index: SETPOINT_INDEX,
            value: 1.0,
        },
    );
    device.advance(5_000);
    // Stopping the stream sends the last, partial frame.
    command(&mut device, Command::Stream { divider: 0 });
    (description, device.take_output())
}

/// A host session that has seen the device describe itself.
fn described_session(description: &[u8]) -> HostSession {
    let mut session = HostSession::new();
    FrameDecoder::new().push(description, |frame| {
        let message = DeviceMessage::decode(frame.expect("valid frame")).expect("valid message");
        session.handle(message).expect("valid description");
    });
    assert!(session.device().is_some());
    session
}

/// What both ways must agree on: samples and values delivered.
#[derive(Debug, Default, PartialEq)]
struct Delivered {
    samples: usize,
    value_sum: f64,
}

impl Delivered {
    fn take(&mut self, event: Event) {
        if let Event::Samples { batch, .. } = event {
            self.samples += batch.len();
            self.value_sum += batch.values.iter().map(|&v| f64::from(v)).sum::<f64>();
        }
    }
}

/// The link thread's path: the streaming frame decoder and the session.
fn ingest(session: &mut HostSession, wire: &[u8], mut deliver: impl FnMut(Event)) {
    let mut decoder = FrameDecoder::new();
    for read in wire.chunks(READ_SIZE) {
        decoder.push(read, |frame| {
            if let Ok(payload) = frame
                && let Ok(message) = DeviceMessage::decode(payload)
                && let Ok(Some(event)) = session.handle(message)
            {
                deliver(event);
            }
        });
    }
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

/// The naive way: split the whole buffer on delimiters, decode each frame
/// into a fresh allocation, check a bit-by-bit CRC, parse the generic
/// message and hand it to the session.
fn ingest_naive(session: &mut HostSession, wire: &[u8], mut deliver: impl FnMut(Event)) {
    for encoded in wire.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let Ok(body) = cobs::decode_vec(encoded) else {
            continue;
        };
        let (payload, crc) = body.split_at(body.len() - 2);
        if crc16_bitwise(payload).to_le_bytes() != [crc[0], crc[1]] {
            continue;
        }
        if let Ok(message) = DeviceMessage::decode(payload)
            && let Ok(Some(event)) = session.handle(message)
        {
            deliver(event);
        }
    }
}

fn bench(c: &mut Criterion) {
    let (description, wire) = description_and_one_second();
    let mut ours = Delivered::default();
    ingest(&mut described_session(&description), &wire, |e| {
        ours.take(e)
    });
    let mut naive = Delivered::default();
    ingest_naive(&mut described_session(&description), &wire, |e| {
        naive.take(e)
    });
    assert_eq!(ours.samples, 10_000);
    assert_eq!(ours, naive);

    let mut group = c.benchmark_group("ingest 1 s of the simulated drive, 10 kHz x 8 ch");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("streaming decoder", |b| {
        b.iter_batched_ref(
            || described_session(&description),
            |session| ingest(session, black_box(&wire), |e| drop(black_box(e))),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("naive split + alloc + bitwise CRC", |b| {
        b.iter_batched_ref(
            || described_session(&description),
            |session| ingest_naive(session, black_box(&wire), |e| drop(black_box(e))),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
