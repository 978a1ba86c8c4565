//! Device time read from the lines themselves: a declared time column
//! (`micros()`, `millis()`, seconds) or Teleplot's millisecond timestamps.
//!
//! Ticks are whole units of the device's clock (µs for `micros()`,
//! seconds and Teleplot's milliseconds, ms for `millis()`). A `u32` counter
//! (`micros()`, `millis()`) that steps back by more than half its range has
//! wrapped: its range is added from then on, so time runs on. Any other
//! step back, or a repeat, is a break (the sketch restarted): the line
//! continues one stride after the last sample, keeping time increasing.
//! The stride of a batch is the median of the last differences; rows that
//! do not fall on it start a new batch at their own tick, so no sample is
//! moved.

use std::collections::VecDeque;

use super::settings::TimeUnit;
use crate::protocol::SampleBatch;

/// Differences kept for the median stride.
const STRIDE_WINDOW: usize = 15;

/// How a column's numbers become ticks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeScale {
    /// Ticks in one unit of the column.
    pub ticks_per_unit: f64,
    /// Ticks per second.
    pub tick_hz: f64,
    /// The counter's wrap, in ticks, for a `u32` counter.
    pub wrap_ticks: Option<i64>,
}

impl TimeScale {
    /// The scale of a column in `unit`.
    pub fn of(unit: TimeUnit) -> Self {
        Self {
            ticks_per_unit: unit.ticks_per_unit(),
            tick_hz: unit.tick_hz(),
            wrap_ticks: unit.wrap_ticks(),
        }
    }

    /// Teleplot's timestamps: milliseconds, most often `millis()`, placed
    /// on a microsecond tick (they may carry decimals).
    pub fn teleplot() -> Self {
        Self {
            ticks_per_unit: 1e3,
            tick_hz: 1e6,
            wrap_ticks: Some((1 << 32) * 1000),
        }
    }
}

/// Device time of rows, in order; see the module documentation.
#[derive(Debug)]
pub struct DeviceTime {
    scale: TimeScale,
    wrap_offset: i64,
    rebase: i64,
    last_raw: Option<i64>,
    last_tick: Option<i64>,
    differences: VecDeque<i64>,
}

impl DeviceTime {
    /// Device time read from a column of this scale.
    pub fn new(scale: TimeScale) -> Self {
        Self {
            scale,
            wrap_offset: 0,
            rebase: 0,
            last_raw: None,
            last_tick: None,
            differences: VecDeque::new(),
        }
    }

    /// Ticks per second.
    pub fn tick_hz(&self) -> f64 {
        self.scale.tick_hz
    }

    /// The median difference between consecutive rows, in ticks.
    pub fn stride(&self) -> Option<i64> {
        let mut sorted: Vec<i64> = self.differences.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }

    /// The tick of a row whose time reads `value`; `None` when the value
    /// is no time (a gap, or outside ±2⁵³ ticks).
    pub fn place(&mut self, value: f64) -> Option<i64> {
        let ticks = (value * self.scale.ticks_per_unit).round();
        if !ticks.is_finite() || ticks.abs() > 9.0e15 {
            return None;
        }
        let raw = ticks as i64;
        if let (Some(last_raw), Some(wrap)) = (self.last_raw, self.scale.wrap_ticks)
            && raw < last_raw
            && last_raw - raw > wrap / 2
        {
            self.wrap_offset += wrap;
        }
        self.last_raw = Some(raw);
        let mut tick = raw + self.wrap_offset + self.rebase;
        if let Some(last) = self.last_tick {
            if tick <= last {
                let stride = self.stride().unwrap_or(1).max(1);
                self.rebase += last + stride - tick;
                tick = last + stride;
            } else {
                if self.differences.len() == STRIDE_WINDOW {
                    self.differences.pop_front();
                }
                self.differences.push_back(tick - last);
            }
        }
        self.last_tick = Some(tick);
        Some(tick)
    }

    /// Rows `(tick, values)` of `width` values each as batches: a batch
    /// ends where a row is off its stride.
    pub fn batches(&self, rows: &[(i64, Vec<f64>)], width: usize) -> Vec<SampleBatch> {
        let fallback = self.stride().unwrap_or(1).clamp(1, i64::from(u32::MAX));
        let mut batches = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let first = rows[start].0;
            let stride = rows
                .get(start + 1)
                .map(|(next, _)| next - first)
                .filter(|&d| d > 0 && d <= i64::from(u32::MAX))
                .unwrap_or(fallback);
            let mut end = start + 1;
            while end < rows.len() && rows[end].0 == first + (end - start) as i64 * stride {
                end += 1;
            }
            let values = rows[start..end]
                .iter()
                .flat_map(|(_, values)| values.iter().copied())
                .collect();
            batches.push(SampleBatch::from_exact(
                first,
                stride as u32,
                self.scale.tick_hz,
                width,
                values,
            ));
            start = end;
        }
        batches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapping_counter_runs_on_and_a_restart_continues_the_line() {
        let mut time = DeviceTime::new(TimeScale::of(TimeUnit::Micros));
        let near_wrap = u32::MAX - 2500;
        let ticks: Vec<i64> = [near_wrap, near_wrap + 1000, near_wrap + 2000]
            .into_iter()
            .chain([near_wrap.wrapping_add(3000), near_wrap.wrapping_add(4000)])
            .map(|raw| time.place(f64::from(raw)).expect("a time"))
            .collect();
        let base = i64::from(near_wrap);
        assert_eq!(
            ticks,
            [base, base + 1000, base + 2000, base + 3000, base + 4000]
        );
        // The sketch restarts: its counter starts again near 0.
        let after = time.place(5.0).expect("a time");
        assert_eq!(after, base + 5000, "one stride after the last sample");
        assert_eq!(time.place(1005.0), Some(base + 6000));
        // Seconds as decimals land on microsecond ticks.
        let mut seconds = DeviceTime::new(TimeScale::of(TimeUnit::Seconds));
        assert_eq!(seconds.place(1.5), Some(1_500_000));
        assert_eq!(seconds.place(f64::MAX), None);
        assert_eq!(seconds.place(f64::NAN), None);
        // Teleplot's millis() with decimals, wrapping at 2³² ms.
        let mut teleplot = DeviceTime::new(TimeScale::teleplot());
        assert_eq!(teleplot.place(4_294_967_295.5), Some(4_294_967_295_500));
        assert_eq!(teleplot.place(0.5), Some(4_294_967_296_500));
    }
}
