//! A replay reproduces the recorded samples exactly through the native
//! protocol's host session, and refuses every write.

use super::*;
use crate::protocol::ChannelRole;
use crate::protocol::native::{FrameDecoder, HostSession, encode_command};
use crate::protocol::{ChannelInfo, Event, SampleBatch};
use crate::record::CsvRecorder;
use crate::record::read::{ReadOptions, read_csv};

fn send(device: &mut ReplayDevice, command: Command) {
    let mut wire = Vec::new();
    encode_frame(&encode_command(&command), &mut wire);
    device.receive(&wire);
}

/// Every event the host session makes of what the device sent.
fn events(session: &mut HostSession, bytes: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    FrameDecoder::new().push(bytes, |frame| {
        let message = DeviceMessage::decode(frame.expect("valid frame")).expect("valid message");
        if let Some(event) = session.handle(message).expect("the session takes it") {
            events.push(event);
        }
    });
    events
}

/// A recording as `record` writes it: 10 kHz, three channels, the
/// second batch after a gap of 7 ticks, with NaN gaps and awkward values.
fn recording() -> RecordedFile {
    let channels: Vec<ChannelInfo> = [("setpoint", "rad"), ("position", "rad"), ("raw", "")]
        .map(|(name, unit)| ChannelInfo {
            name: name.into(),
            unit: unit.into(),
            role: ChannelRole::Other,
        })
        .to_vec();
    let mut recorder = CsvRecorder::new(Vec::new(), &channels).expect("header");
    for (first_tick, rows) in [(123_456, 150), (123_456 + 157, 40)] {
        let values = (0..rows * 3)
            .map(|k| match k % 7 {
                0 => f32::NAN,
                1 => -0.0,
                _ => (k as f32 * 0.37).sin() * 1e3,
            })
            .collect();
        let batch = SampleBatch {
            first_tick,
            stride: 1,
            tick_hz: 10_000.0,
            channel_count: 3,
            values,
            exact: None,
        };
        recorder.write_batch(&batch).expect("rows");
    }
    let text = recorder.finish().expect("flush");
    read_csv(&text, &ReadOptions::default()).expect("reads")
}

#[test]
fn a_replay_reproduces_the_recorded_samples_exactly() {
    let file = recording();
    let mut device = ReplayDevice::new(&file, "run.csv", 1.0).expect("replayable");
    assert!(device.exact());
    assert_eq!(device.rate_hz(), 10_000);
    let mut session = HostSession::new();
    send(&mut device, Command::Hello);
    send(&mut device, Command::Stream { divider: 1 });
    let described = events(&mut session, &device.take_output());
    let Some(Event::Described(info)) = described.first() else {
        panic!("{described:?}")
    };
    let names: Vec<String> = info.channels.iter().map(ChannelInfo::label).collect();
    assert_eq!(names, ["setpoint [rad]", "position [rad]", "raw"]);
    assert_eq!(info.channels[0].role, ChannelRole::Reference);
    assert_eq!(info.channels[1].role, ChannelRole::Feedback);
    assert!(info.params.is_empty());

    let (mut times, mut values) = (Vec::new(), vec![Vec::new(); 3]);
    // In steps, as a wall clock would advance it.
    while !device.finished() {
        device.advance(13);
        for event in events(&mut session, &device.take_output()) {
            if let Event::Samples { batch, .. } = event {
                for k in 0..batch.len() {
                    times.push(batch.time_of(k));
                    for (c, column) in values.iter_mut().enumerate() {
                        column.push(batch.sample(k)[c].to_bits());
                    }
                }
            }
        }
    }
    assert_eq!(times, file.times, "every time as recorded");
    for (c, column) in values.iter().enumerate() {
        let recorded: Vec<u32> = file.columns[c].iter().map(|v| v.to_bits()).collect();
        assert_eq!(column, &recorded, "channel {c} bit for bit");
    }
}

#[test]
fn writes_are_refused_and_nothing_changes() {
    let mut device = ReplayDevice::new(&recording(), "run.csv", 1.0).expect("replayable");
    let mut session = HostSession::new();
    send(&mut device, Command::Hello);
    events(&mut session, &device.take_output());
    for (command, request) in [
        (
            Command::Set {
                index: 0,
                value: 1.0,
            },
            host_type::SET,
        ),
        (Command::Enable(true), host_type::ENABLE),
        (Command::Save, host_type::SAVE),
    ] {
        send(&mut device, command);
        let replies: Vec<DeviceMessage> = {
            let mut out = Vec::new();
            FrameDecoder::new().push(&device.take_output(), |frame| {
                out.push(DeviceMessage::decode(frame.expect("frame")).expect("message"));
            });
            out
        };
        assert_eq!(
            replies,
            [DeviceMessage::Error {
                request,
                code: DeviceErrorCode::Unsupported.code()
            }]
        );
    }
}

#[test]
fn the_speed_sets_the_pace_not_the_times() {
    let file = recording();
    let fast = ReplayDevice::new(&file, "run.csv", 4.0).expect("replayable");
    assert_eq!(fast.loop_hz(), 40_000);
    assert_eq!(fast.rate_hz(), 10_000, "the device still declares 10 kHz");
    assert_eq!(
        ReplayDevice::new(&file, "run.csv", 0.0).err(),
        Some(ReplayError::BadSpeed(0.0))
    );
}

/// A stream of every 10th tick from tick 496 (the simulated drive at
/// divider 10): rows 1 ms apart, off the 1 kHz grid. The replay puts them
/// on the first finer clock they lie on exactly (5 kHz: 0.0496 s is tick
/// 248) and sends them in runs 5 ticks apart, each time as recorded.
#[test]
fn rows_several_ticks_apart_replay_exactly_in_runs() {
    let channels = vec![ChannelInfo {
        name: "position".into(),
        unit: "rad".into(),
        role: ChannelRole::Feedback,
    }];
    let mut recorder = CsvRecorder::new(Vec::new(), &channels).expect("header");
    let batch = SampleBatch {
        first_tick: 496,
        stride: 10,
        tick_hz: 10_000.0,
        channel_count: 1,
        values: (0..500).map(|k| (k as f32 * 0.1).sin()).collect(),
        exact: None,
    };
    recorder.write_batch(&batch).expect("rows");
    let file =
        read_csv(&recorder.finish().expect("flush"), &ReadOptions::default()).expect("reads");
    assert_eq!(file.times[0], 0.0496);
    let mut device = ReplayDevice::new(&file, "run.csv", 1.0).expect("replayable");
    assert!(device.exact());
    assert_eq!(device.rate_hz(), 5_000);
    let mut session = HostSession::new();
    send(&mut device, Command::Hello);
    send(&mut device, Command::Stream { divider: 1 });
    events(&mut session, &device.take_output());
    let (mut times, mut messages) = (Vec::new(), 0);
    while !device.finished() {
        device.advance(1000);
        for event in events(&mut session, &device.take_output()) {
            if let Event::Samples { batch, lost_before } = event {
                assert_eq!(lost_before, 0);
                assert_eq!(batch.stride, 5);
                messages += 1;
                times.extend((0..batch.len()).map(|k| batch.time_of(k)));
            }
        }
    }
    assert_eq!(times, file.times, "every time as recorded");
    assert!(
        messages <= 60,
        "{messages} messages for 500 rows: runs, not one row each"
    );
}
