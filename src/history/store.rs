//! The bounded history of one device: every sample of every channel as
//! `f32` in fixed-size chunks, their times as tick runs ([`Timeline`]), a
//! min/max [`Summary`] per channel updated as samples arrive, and the gaps
//! (lost samples, NaN values) where a line must break.
//!
//! When full, the oldest chunk goes (its memory is reused for the newest),
//! so memory stays flat at the capacity. Pushing never blocks and costs a
//! few comparisons per value.
//!
//! Samples are addressed by absolute index: the count of samples pushed
//! before them, which eviction never changes.

use std::collections::VecDeque;
use std::ops::Range;

use super::summary::{MinMax, Summary};
use super::timeline::{Continuity, StraightLine, Timeline};
use crate::protocol::SampleBatch;

/// Samples per chunk; memory is taken and given back a chunk at a time.
pub const CHUNK_LEN: usize = 4096;

/// The default memory for a history: 10 minutes at 10 kHz × 8 channels.
pub const DEFAULT_CHANNEL_SAMPLES: u64 = 10 * 60 * 10_000 * 8;

/// How much a history keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HistorySize {
    /// Values over all channels: the memory stays the same whatever the
    /// device streams. The default is [`DEFAULT_CHANNEL_SAMPLES`].
    ChannelSamples(u64),
    /// The newest seconds of the stream, whatever that costs.
    Seconds(f64),
}

impl Default for HistorySize {
    fn default() -> Self {
        Self::ChannelSamples(DEFAULT_CHANNEL_SAMPLES)
    }
}

impl HistorySize {
    /// Samples to keep of a stream of `channel_count` channels at
    /// `samples_per_s`.
    pub fn samples(self, channel_count: usize, samples_per_s: f64) -> u64 {
        match self {
            Self::ChannelSamples(values) => values / channel_count.max(1) as u64,
            Self::Seconds(seconds) => (seconds * samples_per_s).ceil().max(1.0) as u64,
        }
    }
}

/// Samples `[start, end)` of one channel where the line breaks: NaN values,
/// or (when empty) samples the device lost between `start - 1` and `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// Index of the first sample of the gap.
    pub start: u64,
    /// Index one past its last sample.
    pub end: u64,
}

/// Samples of one device, oldest first.
#[derive(Debug)]
pub struct History {
    channel_count: usize,
    /// Samples always held once that many arrived: a whole number of
    /// chunks. One chunk more is held while the newest fills.
    capacity: u64,
    /// Each chunk holds [`CHUNK_LEN`] samples of every channel, channel
    /// after channel.
    chunks: VecDeque<Box<[f32]>>,
    /// Absolute index of the oldest sample held.
    first_index: u64,
    /// Absolute index one past the newest sample.
    end_index: u64,
    timeline: Timeline,
    summaries: Vec<Summary>,
    /// Per channel, in index order.
    gaps: Vec<VecDeque<Gap>>,
}

impl History {
    /// A store for `channel_count` channels holding at least `capacity`
    /// samples (rounded up to whole chunks).
    pub fn new(channel_count: usize, capacity: u64) -> Self {
        let capacity = capacity.max(1).div_ceil(CHUNK_LEN as u64) * CHUNK_LEN as u64;
        Self {
            channel_count,
            capacity,
            chunks: VecDeque::new(),
            first_index: 0,
            end_index: 0,
            timeline: Timeline::default(),
            summaries: (0..channel_count)
                .map(|_| Summary::new(capacity + CHUNK_LEN as u64))
                .collect(),
            gaps: vec![VecDeque::new(); channel_count],
        }
    }

    /// Channels per sample.
    pub fn channel_count(&self) -> usize {
        self.channel_count
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        (self.end_index - self.first_index) as usize
    }

    /// Whether no sample is stored.
    pub fn is_empty(&self) -> bool {
        self.end_index == self.first_index
    }

    /// Samples always held once that many arrived.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Samples pushed over the store's lifetime, evicted ones included.
    pub fn total_pushed(&self) -> u64 {
        self.end_index
    }

    /// Absolute indices of the samples held.
    pub fn indices(&self) -> Range<u64> {
        self.first_index..self.end_index
    }

    /// Time of the oldest and newest sample held.
    pub fn time_span(&self) -> Option<(f64, f64)> {
        (!self.is_empty()).then(|| {
            (
                self.timeline.time_of(self.first_index),
                self.timeline.time_of(self.end_index - 1),
            )
        })
    }

    /// Device time of the sample at absolute `index`, seconds.
    pub fn time_of(&self, index: u64) -> f64 {
        self.timeline.time_of(index)
    }

    /// The stream's sample period at `index`, seconds.
    pub fn period_at(&self, index: u64) -> f64 {
        self.timeline.period_at(index)
    }

    /// Value of `channel` at absolute `index`; NaN when not held.
    #[inline]
    pub fn value(&self, channel: usize, index: u64) -> f32 {
        if channel >= self.channel_count || !self.indices().contains(&index) {
            return f32::NAN;
        }
        let chunk = (index / CHUNK_LEN as u64 - self.first_index / CHUNK_LEN as u64) as usize;
        let offset = index as usize % CHUNK_LEN;
        self.chunks[chunk][channel * CHUNK_LEN + offset]
    }

    /// Absolute indices of the samples with time in `[t0, t1]`.
    pub fn index_range(&self, t0: f64, t1: f64) -> Range<u64> {
        let start = self.timeline.first_at_or_after(t0, self.indices());
        let mut end = self.timeline.first_at_or_after(t1, start..self.end_index);
        if end < self.end_index && self.time_of(end) <= t1 {
            end += 1;
        }
        start..end
    }

    /// When `indices` are evenly spaced (no stride change or restart among
    /// them), their times as a line: cheap index lookups.
    pub fn straight_line(&self, indices: Range<u64>) -> Option<StraightLine> {
        self.timeline.straight_line(indices)
    }

    /// The first held index at or after `time` (the end if none).
    pub fn first_at_or_after(&self, time: f64) -> u64 {
        self.timeline.first_at_or_after(time, self.indices())
    }

    /// The min and max of `channel` over `indices`, NaN ignored, in
    /// O(log n).
    pub fn extremes(&self, channel: usize, indices: Range<u64>) -> MinMax {
        let Some(summary) = self.summaries.get(channel) else {
            return MinMax::EMPTY;
        };
        let start = indices.start.max(self.first_index);
        let end = indices.end.min(self.end_index);
        summary.range(start, end, |from, to| {
            self.sample_extremes(channel, from, to)
        })
    }

    /// The min and max of samples `[from, to)` (all held), read straight
    /// from the chunks.
    fn sample_extremes(&self, channel: usize, from: u64, to: u64) -> MinMax {
        let mut result = MinMax::EMPTY;
        let first_chunk = self.first_index / CHUNK_LEN as u64;
        let mut index = from;
        while index < to {
            let chunk_number = index / CHUNK_LEN as u64;
            let end = to.min((chunk_number + 1) * CHUNK_LEN as u64);
            let offset = channel * CHUNK_LEN + index as usize % CHUNK_LEN;
            let samples = &self.chunks[(chunk_number - first_chunk) as usize]
                [offset..offset + (end - index) as usize];
            for &value in samples {
                result.add(value);
            }
            index = end;
        }
        result
    }

    /// The gaps of `channel` that touch `indices`, in order, a break just
    /// before its first sample included.
    pub fn gaps(&self, channel: usize, indices: Range<u64>) -> impl Iterator<Item = Gap> + '_ {
        let gaps = self.gaps.get(channel);
        let first = gaps.map_or(0, |gaps| {
            gaps.partition_point(|gap| gap.end < indices.start)
        });
        gaps.into_iter()
            .flat_map(move |gaps| gaps.range(first.min(gaps.len())..))
            .take_while(move |gap| gap.start < indices.end)
            .copied()
    }

    /// Appends a batch; `lost_before > 0` (or a jump in device time) breaks
    /// every channel's line before it. A batch whose channel count does not
    /// match is ignored.
    pub fn push_batch(&mut self, batch: &SampleBatch, lost_before: u64) {
        if batch.channel_count != self.channel_count || batch.is_empty() {
            return;
        }
        let continuity =
            self.timeline
                .append(batch.first_tick, batch.stride, batch.tick_hz, batch.len());
        if (lost_before > 0 || continuity == Continuity::Break) && !self.is_empty() {
            let at = self.end_index;
            for gaps in &mut self.gaps {
                if gaps.back().is_none_or(|gap| gap.end < at) {
                    gaps.push_back(Gap { start: at, end: at });
                }
            }
        }
        for k in 0..batch.len() {
            self.push_sample(batch.sample(k));
        }
    }

    fn push_sample(&mut self, values: &[f32]) {
        let index = self.end_index;
        let offset = index as usize % CHUNK_LEN;
        if offset == 0 {
            self.start_chunk();
        }
        let Some(chunk) = self.chunks.back_mut() else {
            return;
        };
        for (channel, &value) in values.iter().enumerate() {
            chunk[channel * CHUNK_LEN + offset] = value;
            self.summaries[channel].push(index, value);
            if value.is_nan() {
                let gaps = &mut self.gaps[channel];
                match gaps.back_mut() {
                    Some(gap) if gap.end == index => gap.end = index + 1,
                    _ => gaps.push_back(Gap {
                        start: index,
                        end: index + 1,
                    }),
                }
            }
        }
        self.end_index += 1;
    }

    /// Makes room for the next chunk, reusing the oldest one's memory when
    /// the store is full.
    fn start_chunk(&mut self) {
        // Keep one chunk beyond the capacity, so that at least `capacity`
        // samples are held even just after an eviction.
        let chunk = if self.chunks.len() as u64 * CHUNK_LEN as u64 > self.capacity {
            self.first_index += CHUNK_LEN as u64;
            self.timeline.evict_before(self.first_index);
            for summary in &mut self.summaries {
                summary.evict_before(self.first_index);
            }
            for gaps in &mut self.gaps {
                while gaps.front().is_some_and(|gap| gap.end <= self.first_index) {
                    gaps.pop_front();
                }
            }
            self.chunks.pop_front()
        } else {
            None
        };
        let chunk = chunk
            .unwrap_or_else(|| vec![f32::NAN; CHUNK_LEN * self.channel_count].into_boxed_slice());
        self.chunks.push_back(chunk);
    }

    /// The samples of `indices` (clamped to those held) as batches of at
    /// most `max_len` samples, with their device ticks: for writing out.
    pub fn batches(&self, indices: Range<u64>, max_len: usize) -> Vec<SampleBatch> {
        let mut batches = Vec::new();
        let mut index = indices.start.max(self.first_index);
        let end = indices.end.min(self.end_index);
        while index < end {
            let Some((first_tick, stride, tick_hz, run_end)) = self.timeline.tick_of(index) else {
                break;
            };
            let batch_end = run_end.min(end).min(index + max_len.max(1) as u64);
            let mut values = Vec::with_capacity((batch_end - index) as usize * self.channel_count);
            for i in index..batch_end {
                values.extend((0..self.channel_count).map(|channel| self.value(channel, i)));
            }
            batches.push(SampleBatch {
                first_tick,
                stride,
                tick_hz,
                channel_count: self.channel_count,
                values,
                exact: None,
            });
            index = batch_end;
        }
        batches
    }

    /// Bytes held: samples, times, summaries and gaps.
    pub fn bytes_used(&self) -> usize {
        let samples =
            self.chunks.len() * CHUNK_LEN * self.channel_count * std::mem::size_of::<f32>();
        let summaries: usize = self.summaries.iter().map(Summary::bytes_used).sum();
        let gaps: usize = self
            .gaps
            .iter()
            .map(|gaps| gaps.capacity() * std::mem::size_of::<Gap>())
            .sum();
        samples + summaries + gaps + self.timeline.bytes_used() + std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A one-channel batch at 1 kHz starting at `first_time_s`.
    pub(crate) fn batch(first_time_s: f64, values: Vec<f32>) -> SampleBatch {
        SampleBatch {
            first_tick: (first_time_s * 1000.0).round() as i64,
            stride: 1,
            tick_hz: 1000.0,
            channel_count: 1,
            values,
            exact: None,
        }
    }

    #[test]
    fn drops_the_oldest_chunk_when_full() {
        let mut history = History::new(1, 2 * CHUNK_LEN as u64);
        let n = 5 * CHUNK_LEN + 100;
        history.push_batch(&batch(0.0, (0..n).map(|i| i as f32).collect()), 0);
        assert_eq!(history.total_pushed(), n as u64);
        assert_eq!(history.len(), 2 * CHUNK_LEN + 100);
        let first = history.indices().start;
        assert_eq!(first, 3 * CHUNK_LEN as u64);
        assert_eq!(history.value(0, first), first as f32);
        assert_eq!(history.value(0, first - 1).to_bits(), f32::NAN.to_bits());
        let (t0, t1) = history.time_span().expect("not empty");
        assert!(
            (t0 - first as f64 * 1e-3).abs() < 1e-9 && (t1 - (n - 1) as f64 * 1e-3).abs() < 1e-9
        );
        assert_eq!(
            history.extremes(0, 0..u64::MAX),
            MinMax {
                min: first as f32,
                max: (n - 1) as f32
            }
        );
    }

    #[test]
    fn memory_stays_flat_once_full() {
        let mut history = History::new(4, 10 * CHUNK_LEN as u64);
        let one_chunk = SampleBatch {
            first_tick: 0,
            stride: 1,
            tick_hz: 10_000.0,
            channel_count: 4,
            values: vec![1.0; 4 * CHUNK_LEN],
            exact: None,
        };
        let push = |history: &mut History, k: i64| {
            let batch = SampleBatch {
                first_tick: k * CHUNK_LEN as i64,
                ..one_chunk.clone()
            };
            history.push_batch(&batch, 0);
        };
        for k in 0..20 {
            push(&mut history, k);
        }
        let full = history.bytes_used();
        for k in 20..200 {
            push(&mut history, k);
        }
        assert_eq!(history.bytes_used(), full);
        let per_channel_sample = full as f64 / (history.len() * 4) as f64;
        assert!(
            per_channel_sample < 4.6,
            "{per_channel_sample} bytes per channel-sample"
        );
    }

    #[test]
    fn lost_samples_and_nan_are_gaps() {
        let mut history = History::new(1, 1000);
        history.push_batch(&batch(0.0, vec![1.0; 10]), 0);
        history.push_batch(&batch(0.020, vec![2.0, f32::NAN, f32::NAN, 3.0]), 10);
        let gaps: Vec<Gap> = history.gaps(0, history.indices()).collect();
        assert_eq!(
            gaps,
            [Gap { start: 10, end: 10 }, Gap { start: 11, end: 13 }]
        );
        assert_eq!(history.gaps(0, 14..15).count(), 0);
        assert_eq!(
            history.gaps(0, 10..11).next(),
            Some(Gap { start: 10, end: 10 })
        );
    }

    #[test]
    fn index_range_is_inclusive_of_both_ends() {
        let mut history = History::new(1, 1000);
        history.push_batch(&batch(0.0, vec![0.0; 100]), 0);
        assert_eq!(history.index_range(0.010, 0.020), 10..21);
        assert_eq!(history.index_range(0.0105, 0.0195), 11..20);
        assert_eq!(history.index_range(-5.0, 5.0), 0..100);
        assert!(history.index_range(1.0, 2.0).is_empty());
    }

    #[test]
    fn batches_give_back_the_samples_with_their_ticks() {
        let mut history = History::new(2, 10_000);
        let two_channels = |first_tick, stride, n: usize| SampleBatch {
            first_tick,
            stride,
            tick_hz: 1000.0,
            channel_count: 2,
            values: (0..2 * n)
                .map(|v| (first_tick as usize * 10 + v) as f32)
                .collect(),
            exact: None,
        };
        let pushed = [two_channels(0, 1, 300), two_channels(400, 2, 50)];
        for batch in &pushed {
            history.push_batch(batch, 0);
        }
        let batches = history.batches(0..u64::MAX, 128);
        assert_eq!(
            batches.iter().map(SampleBatch::len).collect::<Vec<_>>(),
            [128, 128, 44, 50]
        );
        let rows = |batches: &[SampleBatch]| -> Vec<(f64, Vec<f32>)> {
            batches
                .iter()
                .flat_map(|b| (0..b.len()).map(move |k| (b.time_of(k), b.sample(k).to_vec())))
                .collect()
        };
        assert_eq!(rows(&batches), rows(&pushed));
        assert_eq!(
            history
                .batches(299..301, 10)
                .iter()
                .map(|b| b.first_tick)
                .collect::<Vec<_>>(),
            [299, 400]
        );
    }

    #[test]
    fn mismatched_batch_changes_nothing() {
        let mut history = History::new(2, 1000);
        history.push_batch(&batch(0.0, vec![1.0; 10]), 0);
        assert!(history.is_empty());
    }
}
