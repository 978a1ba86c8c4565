//! Reading a history for drawing: one channel over a time range, reduced to
//! at most two points per pixel column (its min and max, from the summary),
//! split into runs wherever the line has a gap. The work is O(columns ·
//! log n), whatever the number of samples in the range, and a range with
//! few samples comes through unthinned.
//!
//! Column boundaries are moved to the nearest boundary of a summary block
//! at most an eighth of a column long, so a column is made of whole blocks
//! and a frame reads only the coarse summary levels (which stay in the
//! cache) instead of the samples at every edge (which do not).
//!
//! The contract:
//! - every sample's value lies within the drawn extremes of its column or,
//!   within an eighth of a column of a boundary, of the column next to it,
//!   so a one-sample spike always shows;
//! - points are in time order within a run, and runs in time order;
//! - a gap (lost samples or NaN) ends a run: no line bridges it;
//! - a column holding several gaps shows its samples as one isolated
//!   min–max stroke, so the point count stays bounded.

use std::ops::Range;

use super::store::History;
use super::summary::FANOUT;

/// Points of one channel ready to draw: `[time, value]` pairs in runs, each
/// run a line with no gap inside.
#[derive(Clone, Debug, Default)]
pub struct ThinnedLine {
    /// Every point, runs one after another.
    pub points: Vec<[f64; 2]>,
    run_starts: Vec<usize>,
}

impl ThinnedLine {
    /// Empties it, keeping its memory for the next frame.
    pub fn clear(&mut self) {
        self.points.clear();
        self.run_starts.clear();
    }

    /// The runs, each a slice of [`Self::points`].
    pub fn runs(&self) -> impl Iterator<Item = &[[f64; 2]]> {
        self.run_starts.iter().enumerate().map(|(k, &start)| {
            let end = self
                .run_starts
                .get(k + 1)
                .copied()
                .unwrap_or(self.points.len());
            &self.points[start..end]
        })
    }

    /// Ends the current run; the next point starts a new one.
    fn break_line(&mut self) {
        self.run_starts.push(self.points.len());
    }

    fn push(&mut self, point: [f64; 2]) {
        if self.run_starts.is_empty() {
            self.run_starts.push(0);
        }
        self.points.push(point);
    }

    /// Drops empty runs left by breaks with nothing after them.
    fn finish(&mut self) {
        let len = self.points.len();
        self.run_starts.dedup();
        while self.run_starts.last().is_some_and(|&start| start == len) {
            self.run_starts.pop();
        }
    }
}

impl History {
    /// Channel `channel` between `t0` and `t1` into `out`, at most about
    /// two points per each of `columns` equal time buckets, plus one sample
    /// beyond each end so lines reach the edges of the view.
    pub fn thin(&self, channel: usize, t0: f64, t1: f64, columns: usize, out: &mut ThinnedLine) {
        out.clear();
        if channel >= self.channel_count()
            || self.is_empty()
            || t1.partial_cmp(&t0).is_none_or(|order| order.is_lt())
        {
            return;
        }
        let held = self.indices();
        let visible = self.index_range(t0, t1);
        if visible.is_empty() && (visible.start == held.start || visible.start == held.end) {
            // The whole history lies on one side of the view.
            return;
        }
        let start = visible.start.saturating_sub(1).max(held.start);
        let end = (visible.end + 1).min(held.end);
        if start >= end {
            return;
        }
        let columns = columns.max(1);
        let mut thinner = Thinner {
            history: self,
            channel,
            next: start,
            out,
        };
        if end - start <= 2 * columns as u64 {
            thinner.add_bucket(end, Drawing::Raw);
        } else {
            let width = (t1 - t0) / columns as f64;
            let snap = snap_unit((end - start) / columns as u64);
            let line = self.straight_line(start..end);
            for column in 1..columns {
                let time = t0 + width * column as f64;
                let exact = match &line {
                    Some(line) => line.first_at_or_after(time),
                    None => self.first_at_or_after(time),
                };
                let boundary = ((exact + snap / 2) / snap * snap).clamp(start, end);
                thinner.add_bucket(boundary, Drawing::Extremes);
            }
            thinner.add_bucket(end, Drawing::Extremes);
        }
        out.finish();
    }
}

/// The longest summary block that fits eight times in a column of
/// `samples_per_column`: boundaries on it are off by at most an eighth of
/// a column.
fn snap_unit(samples_per_column: u64) -> u64 {
    let mut unit = 1;
    while unit * FANOUT * 8 <= samples_per_column {
        unit *= FANOUT;
    }
    unit
}

#[derive(Clone, Copy, PartialEq)]
enum Drawing {
    /// Every sample.
    Raw,
    /// The min and max of each piece.
    Extremes,
}

/// Walks the samples of one channel bucket by bucket.
struct Thinner<'a> {
    history: &'a History,
    channel: usize,
    /// The first sample not yet drawn.
    next: u64,
    out: &'a mut ThinnedLine,
}

impl Thinner<'_> {
    /// Draws the samples from `self.next` up to `end`, breaking the line at
    /// each gap among them.
    fn add_bucket(&mut self, end: u64, drawing: Drawing) {
        if self.next >= end {
            return;
        }
        let gaps: Vec<_> = self.history.gaps(self.channel, self.next..end).collect();
        let (Some(first_gap), Some(last_gap)) = (gaps.first(), gaps.last()) else {
            self.add_piece(self.next..end, drawing);
            self.next = end;
            return;
        };
        if drawing == Drawing::Extremes && gaps.len() > 2 {
            // Many gaps in one column: draw what lies between the first and
            // the last as one isolated stroke.
            self.add_piece(self.next..first_gap.start.max(self.next), drawing);
            self.out.break_line();
            self.add_piece(
                first_gap.end.max(self.next)..last_gap.start.min(end),
                drawing,
            );
            self.out.break_line();
            self.next = last_gap.end.max(self.next);
        } else {
            for gap in gaps {
                self.add_piece(self.next..gap.start.max(self.next), drawing);
                self.out.break_line();
                self.next = gap.end.max(self.next);
            }
        }
        if self.next < end {
            self.add_piece(self.next..end, drawing);
        }
        self.next = self.next.max(end);
    }

    /// Draws samples with no gap among them (NaN aside, which the summary
    /// skips) as raw points or as their extremes.
    fn add_piece(&mut self, piece: Range<u64>, drawing: Drawing) {
        if piece.is_empty() {
            return;
        }
        let history = self.history;
        let point = |index: u64| {
            [
                history.time_of(index),
                f64::from(history.value(self.channel, index)),
            ]
        };
        if drawing == Drawing::Raw || piece.end - piece.start <= 2 {
            for index in piece {
                let p = point(index);
                if !p[1].is_nan() {
                    self.out.push(p);
                }
            }
            return;
        }
        let extremes = history.extremes(self.channel, piece.clone());
        if extremes.is_empty() {
            return;
        }
        // Start with the extreme nearer the previous point, so the stroke
        // joins it on the near side; no sample is read for that.
        let previous = self.out.points.last().map_or(f64::NAN, |p| p[1]);
        let (min, max) = (f64::from(extremes.min), f64::from(extremes.max));
        let (a, b) = if (previous - max).abs() < (previous - min).abs() {
            (max, min)
        } else {
            (min, max)
        };
        self.out.push([history.time_of(piece.start), a]);
        if a != b {
            self.out.push([history.time_of(piece.end - 1), b]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::tests::batch;

    fn thinned(history: &History, t0: f64, t1: f64, columns: usize) -> ThinnedLine {
        let mut out = ThinnedLine::default();
        history.thin(0, t0, t1, columns, &mut out);
        out
    }

    #[test]
    fn few_samples_come_through_unthinned() {
        let mut history = History::new(1, 1000);
        history.push_batch(&batch(0.0, (0..50).map(|i| i as f32).collect()), 0);
        let line = thinned(&history, 0.010, 0.020, 100);
        // Samples 10..=20 plus one beyond each end.
        let expected: Vec<[f64; 2]> = (9..=21).map(|i| [i as f64 * 1e-3, i as f64]).collect();
        assert_eq!(line.runs().count(), 1);
        for (got, want) in line.points.iter().zip(&expected) {
            assert!((got[0] - want[0]).abs() < 1e-12 && got[1] == want[1]);
        }
        assert_eq!(line.points.len(), expected.len());
    }

    #[test]
    fn thinning_keeps_every_extreme_and_bounds_the_point_count() {
        let mut history = History::new(1, 1_000_000);
        let n = 200_000;
        let mut values: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.01).sin()).collect();
        values[123_457] = 50.0;
        values[7] = -20.0;
        history.push_batch(&batch(0.0, values.clone()), 0);
        let columns = 500;
        let line = thinned(&history, 0.0, n as f64 * 1e-3, columns);
        assert!(
            line.points.len() <= 2 * columns + 4,
            "{} points",
            line.points.len()
        );
        assert_eq!(line.runs().count(), 1);
        let max = line.points.iter().map(|p| p[1]).fold(f64::MIN, f64::max);
        let min = line.points.iter().map(|p| p[1]).fold(f64::MAX, f64::min);
        assert_eq!((min, max), (-20.0, 50.0), "one-sample spikes survive");
        assert!(
            line.points.windows(2).all(|w| w[0][0] <= w[1][0]),
            "time order"
        );
        // Every sample lies within the extremes drawn in its column or the
        // next one (boundaries move by up to an eighth of a column).
        let width = n as f64 * 1e-3 / columns as f64;
        let column_of = |t: f64| ((t / width) as usize).min(columns - 1);
        let mut drawn = vec![(f64::MAX, f64::MIN); columns];
        for p in &line.points {
            let extremes = &mut drawn[column_of(p[0])];
            *extremes = (extremes.0.min(p[1]), extremes.1.max(p[1]));
        }
        for (i, &v) in values.iter().enumerate() {
            let column = column_of(history.time_of(i as u64));
            let neighbours = &drawn[column.saturating_sub(1)..(column + 2).min(columns)];
            let min = neighbours.iter().map(|e| e.0).fold(f64::MAX, f64::min);
            let max = neighbours.iter().map(|e| e.1).fold(f64::MIN, f64::max);
            assert!(
                f64::from(v) >= min && f64::from(v) <= max,
                "sample {i} in column {column}"
            );
        }
        // Every point drawn is a sample's value from within about a
        // column of where it is drawn: nothing is invented or moved far.
        for p in &line.points {
            let near = history.index_range(p[0] - 1.2 * width, p[0] + 1.2 * width);
            assert!(
                (near.start..near.end).any(|i| f64::from(values[i as usize]) == p[1]),
                "point {p:?}"
            );
        }
    }

    #[test]
    fn boundaries_snap_to_blocks_an_eighth_of_a_column_at_most() {
        assert_eq!(snap_unit(0), 1);
        assert_eq!(snap_unit(127), 1);
        assert_eq!(snap_unit(128), 16);
        assert_eq!(snap_unit(7000), 256);
        assert!((1..100_000).all(|n| snap_unit(n) * 8 <= n.max(8)));
    }

    #[test]
    fn lost_samples_and_nan_break_the_line() {
        let mut history = History::new(1, 1_000_000);
        history.push_batch(&batch(0.0, vec![1.0; 10_000]), 0);
        history.push_batch(&batch(11.0, vec![2.0; 10_000]), 1000);
        let mut with_nan = vec![3.0; 10_000];
        with_nan[5_000] = f32::NAN;
        history.push_batch(&batch(21.0, with_nan), 0);
        for columns in [100, 1000, 100_000] {
            let line = thinned(&history, 0.0, 31.0, columns);
            let runs: Vec<_> = line.runs().collect();
            assert_eq!(runs.len(), 3, "{columns} columns");
            assert!(runs[0].iter().all(|p| p[1] == 1.0 && p[0] < 10.0));
            // The third batch follows the second without a gap, up to its NaN.
            assert!(runs[1].iter().all(|p| p[0] >= 11.0 && p[0] < 26.0));
            assert!(runs[2].iter().all(|p| p[1] == 3.0 && p[0] > 26.0));
            assert!(line.points.iter().all(|p| !p[1].is_nan()));
        }
    }

    #[test]
    fn many_gaps_in_a_column_stay_bounded() {
        let mut history = History::new(1, 1_000_000);
        // Every other sample is NaN.
        let values: Vec<f32> = (0..100_000)
            .map(|i| if i % 2 == 0 { f32::NAN } else { 1.0 })
            .collect();
        history.push_batch(&batch(0.0, values), 0);
        let line = thinned(&history, 0.0, 100.0, 200);
        assert!(line.points.len() <= 200 * 6, "{} points", line.points.len());
        assert!(line.points.iter().all(|p| p[1] == 1.0));
    }

    #[test]
    fn empty_or_inverted_ranges_draw_nothing() {
        let mut history = History::new(1, 1000);
        history.push_batch(&batch(10.0, vec![1.0; 10]), 0);
        assert!(thinned(&history, 0.0, 1.0, 100).points.is_empty());
        assert!(thinned(&history, 5.0, 4.0, 100).points.is_empty());
        let mut out = ThinnedLine::default();
        history.thin(3, 0.0, 100.0, 100, &mut out);
        assert!(out.points.is_empty());
    }
}
