//! The time column of a history, stored as runs of evenly spaced device
//! ticks instead of one timestamp per sample: a device streams at a fixed
//! stride, so a run costs a few bytes for millions of samples, and a new run
//! starts only where the stride changes or ticks were lost.
//!
//! Samples are addressed by their absolute index (counted from the first
//! sample the history ever received), which eviction never shifts.
//! Device time never goes backwards here: a tick that does (the device
//! restarted) continues after the last time held, marked as a gap by the
//! store.

use std::collections::VecDeque;

/// Evenly spaced samples from `first_index` up to the next run.
#[derive(Clone, Copy, Debug)]
struct TickRun {
    first_index: u64,
    first_tick: i64,
    stride: u32,
    tick_hz: f64,
    /// Added to the device time, so time keeps rising across a device
    /// restart.
    offset_s: f64,
}

impl TickRun {
    fn time_of(&self, index: u64) -> f64 {
        let ticks =
            self.first_tick as f64 + (index - self.first_index) as f64 * f64::from(self.stride);
        ticks / self.tick_hz + self.offset_s
    }

    fn period_s(&self) -> f64 {
        f64::from(self.stride) / self.tick_hz
    }
}

/// Evenly spaced samples: index from time by one multiplication.
#[derive(Clone, Debug)]
pub struct StraightLine {
    indices: std::ops::Range<u64>,
    first_time: f64,
    samples_per_s: f64,
}

impl StraightLine {
    /// The first index at or after `time` (to within rounding at an exact
    /// sample time), clamped to the line's indices.
    pub fn first_at_or_after(&self, time: f64) -> u64 {
        let steps = ((time - self.first_time) * self.samples_per_s).ceil();
        if steps <= 0.0 {
            self.indices.start
        } else {
            (self.indices.start + steps as u64).min(self.indices.end)
        }
    }
}

/// How a batch joins the samples before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Continuity {
    /// The batch follows the last sample at its own stride.
    Continuous,
    /// Device time jumped (lost samples, a restarted stream or device): the
    /// line must not be drawn across.
    Break,
}

/// Times of all samples held, as tick runs.
#[derive(Debug, Default)]
pub struct Timeline {
    runs: VecDeque<TickRun>,
    /// Absolute index one past the newest sample.
    end_index: u64,
    /// The tick the next sample would have if it follows the last one.
    next_tick: Option<i64>,
}

impl Timeline {
    /// Appends `count` samples starting at `first_tick`, every `stride`
    /// ticks of a `tick_hz` clock, and says whether they continue the
    /// samples before.
    pub fn append(
        &mut self,
        first_tick: i64,
        stride: u32,
        tick_hz: f64,
        count: usize,
    ) -> Continuity {
        let stride = stride.max(1);
        let continuity = match (self.runs.back(), self.next_tick) {
            (Some(last), Some(next_tick))
                if next_tick == first_tick && last.tick_hz == tick_hz && last.stride == stride =>
            {
                Continuity::Continuous
            }
            (Some(last), Some(next_tick)) => {
                let last_time = last.time_of(self.end_index - 1);
                let mut run = TickRun {
                    first_index: self.end_index,
                    first_tick,
                    stride,
                    tick_hz,
                    offset_s: last.offset_s,
                };
                // A restarted device counts from zero again: keep time rising.
                if run.time_of(self.end_index) <= last_time {
                    run.offset_s += last_time + run.period_s() - run.time_of(self.end_index);
                }
                let continuity = if next_tick == first_tick && last.tick_hz == tick_hz {
                    // Same clock, new stride (the divider changed): no gap.
                    Continuity::Continuous
                } else {
                    Continuity::Break
                };
                self.runs.push_back(run);
                continuity
            }
            _ => {
                self.runs.push_back(TickRun {
                    first_index: self.end_index,
                    first_tick,
                    stride,
                    tick_hz,
                    offset_s: 0.0,
                });
                Continuity::Continuous
            }
        };
        self.end_index += count as u64;
        self.next_tick = Some(first_tick + count as i64 * i64::from(stride));
        continuity
    }

    /// Forgets the runs that end at or before `first_kept`.
    pub fn evict_before(&mut self, first_kept: u64) {
        while self.runs.len() > 1 && self.runs[1].first_index <= first_kept {
            self.runs.pop_front();
        }
    }

    fn run_of(&self, index: u64) -> Option<&TickRun> {
        let position = self.runs.partition_point(|run| run.first_index <= index);
        self.runs.get(position.checked_sub(1)?)
    }

    /// Device time of the sample at `index`, seconds.
    pub fn time_of(&self, index: u64) -> f64 {
        self.run_of(index)
            .map_or(f64::NAN, |run| run.time_of(index))
    }

    /// The first index in `range` whose time is at or after `time`
    /// (`range.end` if none is).
    pub fn first_at_or_after(&self, time: f64, range: std::ops::Range<u64>) -> u64 {
        if range.is_empty() {
            return range.end;
        }
        // The last run starting at or before `time` holds the answer, or the
        // answer is the start of the run after it.
        let position = self
            .runs
            .partition_point(|run| run.time_of(run.first_index) <= time);
        let Some(run) = position.checked_sub(1).map(|p| &self.runs[p]) else {
            return range.start;
        };
        let run_end = self
            .runs
            .get(position)
            .map_or(self.end_index, |next| next.first_index);
        let ticks_in = (time - run.offset_s) * run.tick_hz - run.first_tick as f64;
        let steps = (ticks_in / f64::from(run.stride)).ceil().max(0.0);
        let index = if steps >= (run_end - run.first_index) as f64 {
            run_end
        } else {
            let mut index = run.first_index + steps as u64;
            // Guard against rounding on either side of an exact sample time.
            while index > run.first_index && run.time_of(index - 1) >= time {
                index -= 1;
            }
            while index < run_end && run.time_of(index) < time {
                index += 1;
            }
            index
        };
        index.clamp(range.start, range.end)
    }

    /// The device tick of the sample at `index`, the run's stride and
    /// clock, and the end of its run (the first index after it).
    pub fn tick_of(&self, index: u64) -> Option<(i64, u32, f64, u64)> {
        let position = self.runs.partition_point(|run| run.first_index <= index);
        let run = self.runs.get(position.checked_sub(1)?)?;
        let run_end = self
            .runs
            .get(position)
            .map_or(self.end_index, |next| next.first_index);
        let tick = run.first_tick + (index - run.first_index) as i64 * i64::from(run.stride);
        Some((tick, run.stride, run.tick_hz, run_end))
    }

    /// When `indices` lie in one run, its times as a straight line, for
    /// finding many indices by arithmetic alone.
    pub fn straight_line(&self, indices: std::ops::Range<u64>) -> Option<StraightLine> {
        let position = self
            .runs
            .partition_point(|run| run.first_index <= indices.start);
        let run = self.runs.get(position.checked_sub(1)?)?;
        let run_end = self
            .runs
            .get(position)
            .map_or(self.end_index, |next| next.first_index);
        (indices.end <= run_end).then(|| StraightLine {
            indices: indices.clone(),
            first_time: run.time_of(indices.start),
            samples_per_s: run.tick_hz / f64::from(run.stride),
        })
    }

    /// The stream's sample period at `index`, seconds.
    pub fn period_at(&self, index: u64) -> f64 {
        self.run_of(index).map_or(f64::NAN, TickRun::period_s)
    }

    /// Bytes held by the runs.
    pub fn bytes_used(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<TickRun>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evenly_spaced_batches_form_one_run() {
        let mut timeline = Timeline::default();
        assert_eq!(timeline.append(100, 2, 1000.0, 10), Continuity::Continuous);
        assert_eq!(timeline.append(120, 2, 1000.0, 10), Continuity::Continuous);
        assert_eq!(timeline.runs.len(), 1);
        assert!((timeline.time_of(0) - 0.100).abs() < 1e-12);
        assert!((timeline.time_of(19) - 0.138).abs() < 1e-12);
    }

    #[test]
    fn skipped_ticks_break_and_stride_changes_do_not() {
        let mut timeline = Timeline::default();
        timeline.append(0, 1, 1000.0, 10);
        assert_eq!(timeline.append(15, 1, 1000.0, 10), Continuity::Break);
        assert_eq!(timeline.append(25, 4, 1000.0, 10), Continuity::Continuous);
        assert!((timeline.time_of(10) - 0.015).abs() < 1e-12);
        assert!((timeline.time_of(21) - 0.029).abs() < 1e-12);
        assert_eq!(timeline.runs.len(), 3);
    }

    #[test]
    fn a_restarted_device_keeps_time_rising() {
        let mut timeline = Timeline::default();
        timeline.append(5000, 1, 1000.0, 10);
        assert_eq!(timeline.append(0, 1, 1000.0, 10), Continuity::Break);
        let times: Vec<f64> = (0..20).map(|i| timeline.time_of(i)).collect();
        assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
    }

    #[test]
    fn a_straight_line_agrees_with_the_search() {
        let mut timeline = Timeline::default();
        timeline.append(0, 1, 1000.0, 100);
        timeline.append(200, 10, 1000.0, 100);
        assert!(timeline.straight_line(50..150).is_none(), "spans two runs");
        let line = timeline.straight_line(100..200).expect("one run");
        for k in 0..300 {
            let t = 0.19 + k as f64 * 0.0037;
            let (straight, searched) = (
                line.first_at_or_after(t),
                timeline.first_at_or_after(t, 100..200),
            );
            // Only a time on a sample may round to its neighbour.
            let on_a_sample = (timeline.time_of(searched) - t).abs() < 1e-9;
            assert!(
                straight == searched || (on_a_sample && straight.abs_diff(searched) == 1),
                "t = {t}"
            );
        }
    }

    #[test]
    fn finds_the_first_sample_at_or_after_a_time() {
        let mut timeline = Timeline::default();
        timeline.append(0, 1, 1000.0, 100);
        timeline.append(200, 10, 1000.0, 100);
        let all = 0..200;
        assert_eq!(timeline.first_at_or_after(-1.0, all.clone()), 0);
        assert_eq!(timeline.first_at_or_after(0.0, all.clone()), 0);
        assert_eq!(timeline.first_at_or_after(0.0505, all.clone()), 51);
        assert_eq!(timeline.first_at_or_after(0.099, all.clone()), 99);
        // Between the runs: the first sample of the second run.
        assert_eq!(timeline.first_at_or_after(0.150, all.clone()), 100);
        assert_eq!(timeline.first_at_or_after(0.210, all.clone()), 101);
        assert_eq!(timeline.first_at_or_after(0.215, all.clone()), 102);
        assert_eq!(timeline.first_at_or_after(10.0, all.clone()), 200);
        assert_eq!(timeline.first_at_or_after(0.0505, 60..200), 60);
        // Every answer agrees with a linear scan.
        for k in 0..2000 {
            let t = k as f64 * 0.0007 - 0.1;
            let expected = (0..200).find(|&i| timeline.time_of(i) >= t).unwrap_or(200);
            assert_eq!(
                timeline.first_at_or_after(t, all.clone()),
                expected,
                "t = {t}"
            );
        }
    }
}
