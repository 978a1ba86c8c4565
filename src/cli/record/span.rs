//! The span `motiontune record` writes: the samples of each batch that
//! fall within it, to the sample file, and the device's text lines to
//! theirs.

use std::time::Instant;

use crate::link::LinkEvent;
use crate::protocol::{Event, SampleBatch, TextLevel};
use crate::record::{RecordError, SampleWriter, TextLog};

/// The recording under way: the file and what the span needs.
pub(super) struct Recording {
    pub(super) recorder: SampleWriter,
    /// Where the device's text lines go, with `--text-out`.
    pub(super) text: Option<TextLog>,
    /// When the command started connecting: the text lines' host time.
    pub(super) origin: Instant,
    pub(super) seconds: f64,
    /// Device time of the first sample.
    pub(super) first_time: Option<f64>,
    /// Device time of the last sample written.
    pub(super) last_time: Option<f64>,
    pub(super) lost: u64,
}

impl Recording {
    /// Writes the samples of `event` that fall within the span; true once
    /// the span is complete.
    pub(super) fn take(&mut self, event: LinkEvent) -> anyhow::Result<bool> {
        let (batch, lost_before) = match event {
            LinkEvent::Device(Event::Samples { batch, lost_before }) => (batch, lost_before),
            LinkEvent::Device(Event::Text { level, message }) => {
                self.text(level, &message)?;
                return Ok(false);
            }
            _ => return Ok(false),
        };
        let start = *self.first_time.get_or_insert(batch.time_of(0));
        if self.recorder.rows() > 0 {
            self.lost += lost_before;
        }
        let keep = within(&batch, start, self.seconds);
        self.recorder.write_batch(&batch.slice(0..keep))?;
        if keep > 0 {
            self.last_time = Some(batch.time_of(keep - 1));
        }
        Ok(keep < batch.len())
    }

    /// Writes a text line of the device's, with `--text-out`.
    pub(super) fn text(&mut self, level: TextLevel, message: &str) -> Result<(), RecordError> {
        let host_s = self.origin.elapsed().as_secs_f64();
        match &mut self.text {
            Some(text) => text.write(host_s, self.last_time, level, message),
            None => Ok(()),
        }
    }

    /// Hands what was written so far to the files.
    pub(super) fn flush(&mut self) -> Result<(), RecordError> {
        self.recorder.flush()?;
        self.text.as_mut().map_or(Ok(()), TextLog::flush)
    }

    /// Seconds of device time from the first sample to the last.
    pub(super) fn span(&self) -> f64 {
        match (self.first_time, self.last_time) {
            (Some(first), Some(last)) => last - first,
            _ => 0.0,
        }
    }
}

/// How many of `batch`'s samples fall within `seconds` of device time
/// from `start`: a span of 3 s at 1 kHz is 3000 samples, not 3001.
pub(super) fn within(batch: &SampleBatch, start: f64, seconds: f64) -> usize {
    let end = start + seconds;
    (0..batch.len())
        .take_while(|&k| batch.time_of(k) < end - batch.period_s() * 1e-3)
        .count()
}
