//! [`HostTimed`]: rows of values placed by a [`HostClock`], held while it
//! holds their lines and given out as sample batches once placed, in
//! order. A row that takes its time slot without being shown (it came
//! before the device was described) is placed and dropped.

use std::collections::VecDeque;
use std::time::Instant;

use super::{HOST_TICK_HZ, HostClock, Placement};
use crate::protocol::SampleBatch;

/// Host-timed rows on their way to the app; one per stream.
#[derive(Debug)]
pub struct HostTimed {
    clock: HostClock,
    /// Rows pushed and not placed yet, oldest first; `None` for one that is
    /// not given out.
    rows: VecDeque<Option<Vec<f64>>>,
}

impl HostTimed {
    /// Rows timed by `clock`, none held yet.
    pub fn new(clock: HostClock) -> Self {
        Self {
            clock,
            rows: VecDeque::new(),
        }
    }

    /// The clock that places the rows.
    pub fn clock(&self) -> &HostClock {
        &self.clock
    }

    /// The clock, to tell it of a change of rate.
    pub fn clock_mut(&mut self) -> &mut HostClock {
        &mut self.clock
    }

    /// Rows that arrived together at `now`; every batch placed now goes to
    /// `emit`.
    pub fn push(
        &mut self,
        rows: impl IntoIterator<Item = Option<Vec<f64>>>,
        now: Instant,
        emit: &mut dyn FnMut(SampleBatch),
    ) {
        let before = self.rows.len();
        self.rows.extend(rows);
        for placement in self.clock.push(self.rows.len() - before, now) {
            self.give(placement, emit);
        }
    }

    /// Places the rows held, on the clock's fit as it is (the stream is
    /// about to change).
    pub fn release(&mut self, emit: &mut dyn FnMut(SampleBatch)) {
        for placement in self.clock.release_held() {
            self.give(placement, emit);
        }
    }

    /// Gives out the rows of `placement`: each run of rows shown, of one
    /// width, is a batch.
    fn give(&mut self, placement: Placement, emit: &mut dyn FnMut(SampleBatch)) {
        let stride = placement.stride;
        let mut run: Vec<f64> = Vec::new();
        let (mut run_start, mut run_rows, mut width) = (0, 0, 0);
        let mut flush = |run: &mut Vec<f64>, start: usize, rows: usize, width: usize| {
            if rows > 0 && width > 0 {
                emit(SampleBatch::from_exact(
                    placement.first_tick + start as i64 * i64::from(stride),
                    stride,
                    HOST_TICK_HZ,
                    width,
                    std::mem::take(run),
                ));
            }
        };
        for k in 0..placement.count {
            match self.rows.pop_front().flatten() {
                Some(values) if run_rows > 0 && values.len() == width => {
                    run.extend(values);
                    run_rows += 1;
                }
                row => {
                    flush(&mut run, run_start, run_rows, width);
                    run_rows = 0;
                    if let Some(values) = row {
                        width = values.len();
                        run = values;
                        run_start = k;
                        run_rows = 1;
                    }
                }
            }
        }
        flush(&mut run, run_start, run_rows, width);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rows_held_by_the_clock_come_out_in_order_and_dropped_rows_leave_their_slot() {
        let origin = Instant::now();
        let mut timed = HostTimed::new(HostClock::new(origin, 10_000));
        let mut batches = Vec::new();
        let row = |v: f64| Some(vec![v, v + 0.5]);
        // Before a rate is known nothing comes out; the third read, 50
        // ms after the first, gives it.
        for (k, rows) in [
            vec![None, None],
            vec![row(1.0)],
            vec![row(2.0), None, row(3.0)],
        ]
        .into_iter()
        .enumerate()
        {
            let now = origin + Duration::from_millis(25 * (k as u64 + 1));
            timed.push(rows, now, &mut |b| batches.push(b));
            assert_eq!(batches.is_empty(), k < 2, "read {k}");
        }
        // Each row at its time, the dropped one between them keeping its
        // slot: 1 and 2 a stride apart, 3 two strides after 2.
        let rows: Vec<(i64, Vec<f32>)> = batches
            .iter()
            .flat_map(|b| {
                (0..b.len()).map(|k| {
                    let tick = b.first_tick + k as i64 * i64::from(b.stride);
                    (tick, b.sample(k).to_vec())
                })
            })
            .collect();
        let values: Vec<&[f32]> = rows.iter().map(|(_, v)| v.as_slice()).collect();
        assert_eq!(values, [[1.0, 1.5], [2.0, 2.5], [3.0, 3.5]]);
        let stride = i64::from(batches[0].stride);
        assert_eq!(rows[1].0 - rows[0].0, stride);
        assert_eq!(rows[2].0 - rows[1].0, 2 * stride);
        assert!(batches.iter().all(|b| b.exact.is_none()));
    }
}
