//! A bounded history of one device's samples: a time column and one `f32`
//! column per channel. When full, the oldest samples go first. Samples the
//! device lost are recorded as a NaN row, so a plot shows a gap instead of
//! bridging it.
//!
//! Reading for a plot is [`History::thin`]: the samples of a time range
//! reduced to the first, min, max and last point of each pixel column, which
//! keeps a frame's work proportional to the range's samples once and to the
//! plot's width afterwards, never handing the plot widget raw history.

use std::collections::VecDeque;

use crate::protocol::SampleBatch;

/// Samples of one device, oldest first.
#[derive(Debug)]
pub struct History {
    capacity: usize,
    times: VecDeque<f64>,
    columns: Vec<VecDeque<f32>>,
    /// Samples pushed over the store's lifetime, evicted ones included.
    total_pushed: u64,
}

/// Points for one channel, thinned for drawing: `[time, value]` pairs in
/// time order; NaN values mark gaps.
pub type ThinnedSeries = Vec<[f64; 2]>;

impl History {
    /// A store for `channel_count` channels holding at most `capacity`
    /// samples.
    pub fn new(channel_count: usize, capacity: usize) -> Self {
        Self {
            capacity: capacity.max(2),
            times: VecDeque::new(),
            columns: vec![VecDeque::new(); channel_count],
            total_pushed: 0,
        }
    }

    pub fn channel_count(&self) -> usize {
        self.columns.len()
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn total_pushed(&self) -> u64 {
        self.total_pushed
    }

    /// Time of the oldest and newest sample held.
    pub fn time_span(&self) -> Option<(f64, f64)> {
        Some((*self.times.front()?, *self.times.back()?))
    }

    fn push_row(&mut self, time: f64, values: impl Iterator<Item = f32>) {
        if self.times.len() >= self.capacity {
            self.times.pop_front();
            for column in &mut self.columns {
                column.pop_front();
            }
        }
        self.times.push_back(time);
        for (column, value) in self.columns.iter_mut().zip(values) {
            column.push_back(value);
        }
    }

    /// Appends a batch; `lost_before > 0` inserts a gap marker first.
    /// A batch whose channel count does not match is ignored.
    pub fn push_batch(&mut self, batch: &SampleBatch, lost_before: u64) {
        if batch.channel_count != self.columns.len() {
            return;
        }
        if lost_before > 0 && !self.is_empty() {
            let gap_time = batch.time_of(0) - batch.period_s() / 2.0;
            let n = self.columns.len();
            self.push_row(gap_time, std::iter::repeat_n(f32::NAN, n));
        }
        for k in 0..batch.len() {
            let time = batch.time_of(k);
            let sample = batch.sample(k).iter().copied();
            self.push_row(time, sample);
            self.total_pushed += 1;
        }
    }

    /// Index range of the samples with time in `[t0, t1]`, widened by one
    /// sample on each side so lines run to the edge of the view.
    fn index_range(&self, t0: f64, t1: f64) -> std::ops::Range<usize> {
        let start = self.times.partition_point(|&t| t < t0).saturating_sub(1);
        let end = (self.times.partition_point(|&t| t <= t1) + 1).min(self.times.len());
        start..end.max(start)
    }

    /// Channel `channel` between `t0` and `t1`, reduced to at most four
    /// points (first, min, max, last, in time order) per each of `columns`
    /// equal time buckets. NaN samples come through as gap markers.
    pub fn thin(&self, channel: usize, t0: f64, t1: f64, columns: usize) -> ThinnedSeries {
        let Some(values) = self.columns.get(channel) else {
            return Vec::new();
        };
        let range = self.index_range(t0, t1);
        let columns = columns.max(1);
        let bucket_width = (t1 - t0) / columns as f64;
        let mut out = Vec::with_capacity(columns.min(range.len()) * 4);
        let mut bucket = Bucket::default();
        let mut current_bucket = i64::MIN;
        for i in range {
            let t = self.times[i];
            let v = values[i];
            let b = if bucket_width > 0.0 {
                ((t - t0) / bucket_width).floor() as i64
            } else {
                0
            };
            if b != current_bucket {
                bucket.flush(&mut out);
                current_bucket = b;
            }
            if v.is_nan() {
                bucket.flush(&mut out);
                out.push([t, f64::NAN]);
                continue;
            }
            bucket.add(t, f64::from(v));
        }
        bucket.flush(&mut out);
        out
    }
}

/// The first, min, max and last point of one pixel column.
#[derive(Default)]
struct Bucket {
    first: Option<[f64; 2]>,
    min: [f64; 2],
    max: [f64; 2],
    last: [f64; 2],
}

impl Bucket {
    fn add(&mut self, t: f64, v: f64) {
        let point = [t, v];
        match self.first {
            None => {
                self.first = Some(point);
                self.min = point;
                self.max = point;
            }
            Some(_) => {
                if v < self.min[1] {
                    self.min = point;
                }
                if v > self.max[1] {
                    self.max = point;
                }
            }
        }
        self.last = point;
    }

    fn flush(&mut self, out: &mut ThinnedSeries) {
        let Some(first) = self.first.take() else {
            return;
        };
        let mut points = [first, self.min, self.max, self.last];
        points.sort_by(|a, b| a[0].total_cmp(&b[0]));
        let mut previous: Option<[f64; 2]> = None;
        for point in points {
            if previous != Some(point) {
                out.push(point);
            }
            previous = Some(point);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first_time_s: f64, values: Vec<f32>) -> SampleBatch {
        SampleBatch {
            first_tick: (first_time_s * 1000.0).round() as i64,
            stride: 1,
            tick_hz: 1000.0,
            channel_count: 1,
            values,
        }
    }

    #[test]
    fn drops_oldest_when_full() {
        let mut history = History::new(1, 100);
        history.push_batch(&batch(0.0, (0..250).map(|i| i as f32).collect()), 0);
        assert_eq!(history.len(), 100);
        assert_eq!(history.total_pushed(), 250);
        let (t0, t1) = history.time_span().expect("not empty");
        assert!((t0 - 0.150).abs() < 1e-9 && (t1 - 0.249).abs() < 1e-9);
    }

    #[test]
    fn lost_samples_become_a_gap() {
        let mut history = History::new(1, 1000);
        history.push_batch(&batch(0.0, vec![1.0; 10]), 0);
        history.push_batch(&batch(0.020, vec![2.0; 10]), 10);
        let points = history.thin(0, 0.0, 0.030, 1000);
        let gaps = points.iter().filter(|p| p[1].is_nan()).count();
        assert_eq!(gaps, 1);
        assert_eq!(points.len(), 21);
    }

    #[test]
    fn thinning_keeps_extremes_and_bounds_the_point_count() {
        let mut history = History::new(1, 1_000_000);
        let n = 100_000;
        let values: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.01).sin()).collect();
        history.push_batch(&batch(0.0, values.clone()), 0);
        let mut spike = vec![0.0; 1];
        spike[0] = 50.0;
        history.push_batch(&batch(n as f64 * 0.001, spike), 0);
        let points = history.thin(0, 0.0, 101.0, 500);
        assert!(points.len() <= 4 * 501, "{}", points.len());
        let max = points.iter().map(|p| p[1]).fold(f64::MIN, f64::max);
        let min = points.iter().map(|p| p[1]).fold(f64::MAX, f64::min);
        assert_eq!(max, 50.0, "a one-sample spike must survive thinning");
        assert!(min < -0.9999);
        assert!(points.windows(2).all(|w| w[0][0] <= w[1][0]), "time order");
    }

    #[test]
    fn range_outside_history_is_empty() {
        let mut history = History::new(1, 100);
        history.push_batch(&batch(10.0, vec![1.0; 10]), 0);
        assert!(history.thin(0, 0.0, 1.0, 100).len() <= 1);
        assert!(history.thin(3, 0.0, 100.0, 100).is_empty());
    }
}
