//! `motiontune record`: stream a device to CSV for a span of device time.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::RecordArgs;
use super::connect::connect;
use crate::link::LinkEvent;
use crate::protocol::Event;
use crate::record::{CsvRecorder, FLUSH_INTERVAL, RowFile};

pub fn run(args: &RecordArgs) -> anyhow::Result<()> {
    let (link, info) = connect(args.port.target(), args.divider)?;
    let file = RowFile::create(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut recorder = CsvRecorder::new(file, &info.channels)?;

    // Device time decides the span; the wall clock only guards against a
    // device that stops streaming.
    let wall_limit = Duration::from_secs_f64(args.seconds * 2.0 + 5.0);
    let started = Instant::now();
    let mut first_time: Option<f64> = None;
    let mut lost = 0u64;
    let mut last_flush = Instant::now();
    'stream: loop {
        if started.elapsed() > wall_limit {
            recorder.flush()?;
            bail!(
                "{} stopped streaming: recorded {} samples before giving up",
                link.target().name(),
                recorder.rows()
            );
        }
        let event = match link.events().recv_timeout(Duration::from_millis(200)) {
            Ok(event) => event,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        match event {
            LinkEvent::Device(Event::Samples { batch, lost_before }) => {
                let start = *first_time.get_or_insert(batch.time_of(0));
                if recorder.rows() > 0 {
                    lost += lost_before;
                }
                let end = start + args.seconds;
                let keep = (0..batch.len())
                    .take_while(|&k| batch.time_of(k) < end - batch.period_s() * 1e-3)
                    .count();
                recorder.write_batch(&batch.slice(0..keep))?;
                if keep < batch.len() {
                    break 'stream;
                }
            }
            LinkEvent::Closed(Some(error)) => {
                recorder.flush()?;
                bail!(error);
            }
            LinkEvent::Closed(None) => break,
            _ => {}
        }
        // As often as the GUI's recorder: a kill loses at most this much.
        if last_flush.elapsed() >= FLUSH_INTERVAL {
            recorder.flush()?;
            last_flush = Instant::now();
        }
    }
    let rows = recorder.rows();
    recorder.finish()?;
    drop(link);
    eprintln!(
        "recorded {rows} samples ({} s of device time) to {}{}",
        args.seconds,
        args.out.display(),
        if lost > 0 {
            format!("; the device reports {lost} samples lost")
        } else {
            String::new()
        }
    );
    Ok(())
}
