//! `motiontune record`: stream a device to CSV (or Parquet: `--format`,
//! or a file named `.parquet`) for a span of device time.
//! A device that says, before its first sample, that it will stream
//! nothing ends the command with what it said.
//! Ctrl+C or SIGTERM ends the recording early and keeps every sample that
//! reached the app up to then (those still in the link's queue included)
//! before the command says so and exits non-zero. The link starts the
//! stream and, closing, stops what it started; recording never touches the
//! output. With `--text-out`, the device's text lines that are not data
//! (from its first, before it described itself) go to a CSV of their own
//! ([`TextLog`]). Several ports record into one file ([`devices`]).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::RecordArgs;
use super::connect::{Wait, connect_seeing, next_event};
use crate::link::saturation::{Saturated, Throughput, saturation};
use crate::link::{Link, LinkEvent, PortTarget};
use crate::protocol::DeviceInfo;
use crate::protocol::adapter::Protocol;
use crate::protocol::{Event, TextLevel};
use crate::record::{FLUSH_INTERVAL, RecordError, RecordFormat, RowFile, SampleWriter, TextLog};
use span::Recording;

mod devices;
mod span;

pub fn run(args: &RecordArgs) -> anyhow::Result<()> {
    match (
        args.devices.targets()?.as_slice(),
        args.devices.labels.len(),
    ) {
        ([_, _, ..], _) => devices::run(args),
        ([target], 0) => record_one(args, target.clone()),
        _ => bail!("--label names the devices of several --port: one port was given"),
    }
}

/// Records one device to a file of its own columns.
fn record_one(args: &RecordArgs, target: PortTarget) -> anyhow::Result<()> {
    let origin = Instant::now();
    let mut text = match &args.text_out {
        Some(path) => {
            let file = RowFile::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            Some(TextLog::new(file)?)
        }
        None => None,
    };
    let mut early: Result<(), RecordError> = Ok(());
    let (link, info) = connect_seeing(target, args.divider, &mut |event| {
        if let (Some(text), Event::Text { level, message }, Ok(())) = (&mut text, event, &early) {
            early = text.write(origin.elapsed().as_secs_f64(), None, *level, message);
        }
    })?;
    early?;
    let format = args
        .format
        .unwrap_or_else(|| RecordFormat::for_path(&args.out));
    let mut recording = Recording {
        recorder: SampleWriter::create(&args.out, format, &info.channels)?,
        text,
        origin,
        seconds: args.seconds,
        first_time: None,
        last_time: None,
        lost: 0,
    };

    // Device time decides the span; the wall clock only guards against a
    // device that stops streaming.
    let wall_limit = Duration::from_secs_f64(args.seconds * 2.0 + 5.0);
    let started = Instant::now();
    let mut last_flush = Instant::now();
    let interrupted = loop {
        if started.elapsed() > wall_limit {
            recording.flush()?;
            bail!(
                "{} stopped streaming: recorded {} samples before giving up",
                link.target().name(),
                recording.recorder.rows()
            );
        }
        match next_event(&link, Instant::now() + Duration::from_millis(200)) {
            Wait::Event(LinkEvent::Closed(Some(error))) => {
                recording.flush()?;
                bail!(error);
            }
            Wait::Event(LinkEvent::Closed(None)) => break false,
            // The device says why it will stream nothing (a SimpleFOC
            // sketch that never calls monitor()): that line, not a wait.
            Wait::Event(LinkEvent::Device(Event::Text {
                level: TextLevel::Error,
                message,
            })) if recording.recorder.rows() == 0 => {
                recording.text(TextLevel::Error, &message)?;
                recording.flush()?;
                bail!("{} streams nothing: {message}", link.target().name())
            }
            Wait::Event(event) => {
                if recording.take(event)? {
                    break false;
                }
            }
            Wait::TimedOut => {}
            Wait::Interrupted => break true,
        }
        // As often as the GUI's recorder: a kill loses at most this much.
        if last_flush.elapsed() >= FLUSH_INTERVAL {
            recording.flush()?;
            last_flush = Instant::now();
        }
    };
    let port = link.target().name().to_owned();
    let saturated = saturation_of(&link, &info, args.divider, started);
    if interrupted {
        // Samples the link decoded before it closed reached the app too.
        for event in link.close() {
            if recording.take(event)? {
                break;
            }
        }
    } else {
        drop(link);
    }
    let rows = recording.recorder.rows();
    let span = recording.span();
    let lost = recording.lost;
    recording.recorder.finish()?;
    let mut notes = match (lost, saturated) {
        (0, _) => String::new(),
        (lost, Some(saturated)) => {
            format!(
                "; the device reports {lost} samples lost: {}",
                saturated.sentence()
            )
        }
        (lost, None) => format!("; the device reports {lost} samples lost"),
    };
    if let (Some(text), Some(path)) = (recording.text, &args.text_out) {
        notes.push_str(&format!(
            "; {} text lines to {}",
            text.lines(),
            path.display()
        ));
        text.finish()?;
    }
    if interrupted {
        bail!(
            "interrupted: recorded {rows} samples ({span:.3} s of device time) from {port} to {}{notes}",
            args.out.display()
        );
    }
    eprintln!(
        "recorded {rows} samples ({} s of device time) to {}{notes}",
        args.seconds,
        args.out.display(),
    );
    Ok(())
}

/// Whether a native device streamed more than its link carried, over the
/// whole command. Host-timed firmware has no loop rate to size a divider by.
fn saturation_of(
    link: &Link,
    info: &DeviceInfo,
    divider: u16,
    started: Instant,
) -> Option<Saturated> {
    if link.protocol() != Some(Protocol::Native) {
        return None;
    }
    let health = link.health().snapshot();
    let measured = Throughput {
        seconds: started.elapsed().as_secs_f64(),
        bytes_in: health.bytes_in,
        samples: health.samples,
        lost: health.lost_samples,
    };
    saturation(info.loop_hz, divider, measured)
}
