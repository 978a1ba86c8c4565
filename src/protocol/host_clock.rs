//! Device time for firmware that sends no timestamps: samples are numbered
//! on a steady clock whose period is estimated from their arrival times on
//! the host, so lines stay continuous through serial jitter, the stride
//! follows a change of rate, and a silence of the device becomes a gap.

use std::collections::VecDeque;
use std::time::Instant;

/// Ticks per second of the clock host-timed samples are placed on.
pub const HOST_TICK_HZ: f64 = 1_000_000.0;

/// How far arrival time may run ahead of the steady clock before the
/// samples are taken to have followed a silence: the larger of this and
/// [`GAP_PERIODS`] sample periods.
const GAP_MIN_US: i64 = 200_000;
const GAP_PERIODS: i64 = 20;
/// Arrivals older than this are dropped from the rate estimate.
const RATE_WINDOW_US: i64 = 2_000_000;
/// The stride changes when the estimated period differs by more than this.
const STRIDE_TOLERANCE: f64 = 0.05;

/// Where a group of host-timed samples sits on the steady clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub first_tick: i64,
    /// Microseconds between samples.
    pub stride: u32,
}

/// Numbers host-timed samples; one per connection.
#[derive(Debug)]
pub struct HostClock {
    origin: Instant,
    stride_us: u32,
    next_tick: Option<i64>,
    /// (arrival µs, samples that arrived then), newest last.
    arrivals: VecDeque<(i64, u64)>,
}

impl HostClock {
    /// A clock that assumes `expected_period_us` until arrivals say
    /// otherwise (the poll interval, or a guess).
    pub fn new(origin: Instant, expected_period_us: u32) -> Self {
        Self {
            origin,
            stride_us: expected_period_us.max(1),
            next_tick: None,
            arrivals: VecDeque::new(),
        }
    }

    /// The current estimate of the sample period, µs.
    pub fn period_us(&self) -> u32 {
        self.stride_us
    }

    /// The device was asked for another rate, about one sample every
    /// `period_us`: samples are spaced by it from now on, until their
    /// arrivals (at the new rate only) say otherwise.
    pub fn rate_changed(&mut self, period_us: u32) {
        self.stride_us = period_us.max(1);
        self.arrivals.clear();
    }

    /// Places `count` samples that arrived together at `now`, the last of
    /// them taken to be current.
    pub fn place(&mut self, count: usize, now: Instant) -> Placement {
        let now_us = now.saturating_duration_since(self.origin).as_micros() as i64;
        let count = count.max(1) as i64;
        self.learn_rate(now_us, count as u64);
        let stride = i64::from(self.stride_us);
        let behind_limit = GAP_MIN_US.max(GAP_PERIODS * stride);
        let first_tick = match self.next_tick {
            Some(next) if now_us - (next + (count - 1) * stride) <= behind_limit => next,
            // First samples, or after a silence: start at their arrival.
            _ => now_us - (count - 1) * stride,
        };
        self.next_tick = Some(first_tick + count * stride);
        Placement {
            first_tick,
            stride: self.stride_us,
        }
    }

    fn learn_rate(&mut self, now_us: i64, count: u64) {
        // A silence restarts the estimate: it says nothing about the rate.
        if let Some(&(last_us, _)) = self.arrivals.back()
            && now_us - last_us > GAP_MIN_US.max(GAP_PERIODS * i64::from(self.stride_us))
        {
            self.arrivals.clear();
        }
        self.arrivals.push_back((now_us, count));
        while let Some(&(oldest_us, _)) = self.arrivals.front() {
            if now_us - oldest_us <= RATE_WINDOW_US {
                break;
            }
            self.arrivals.pop_front();
        }
        let Some(&(oldest_us, oldest_count)) = self.arrivals.front() else {
            return;
        };
        // Samples that arrived after the oldest arrival span its interval.
        let samples: u64 = self.arrivals.iter().map(|(_, n)| n).sum::<u64>() - oldest_count;
        let span_us = now_us - oldest_us;
        if samples < 8 || span_us < 50_000 {
            return;
        }
        let period = span_us as f64 / samples as f64;
        if (period / f64::from(self.stride_us) - 1.0).abs() > STRIDE_TOLERANCE {
            self.stride_us = period.round().max(1.0) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(origin: Instant, us: u64) -> Instant {
        origin + Duration::from_micros(us)
    }

    #[test]
    fn a_steady_stream_with_jitter_stays_contiguous_at_its_rate() {
        let origin = Instant::now();
        let mut clock = HostClock::new(origin, 50_000);
        let mut next = None;
        let mut strides = vec![];
        // 1 kHz, read in chunks of 10 every 10 ms with ±3 ms jitter.
        for k in 0..500u64 {
            let jitter = [0, 3000, 1000, 2500, 500][k as usize % 5];
            let placed = clock.place(10, at(origin, 10_000 * (k + 1) + jitter));
            if let Some(next) = next {
                assert_eq!(placed.first_tick, next, "chunk {k} broke the line");
            }
            next = Some(placed.first_tick + 10 * i64::from(placed.stride));
            strides.push(placed.stride);
        }
        let last = *strides.last().expect("500 chunks placed");
        assert!((950..=1050).contains(&last), "stride {last} µs");
        // The stride settles: it changes only while the estimate converges.
        assert!(strides[100..].iter().all(|&s| s == last), "{strides:?}");
    }

    #[test]
    fn a_silence_becomes_a_gap_at_the_arrival_time() {
        let origin = Instant::now();
        let mut clock = HostClock::new(origin, 10_000);
        for k in 0..100u64 {
            clock.place(1, at(origin, 10_000 * k));
        }
        let before = clock.next_tick.expect("samples placed");
        let after = clock.place(1, at(origin, 3_000_000));
        assert_ne!(after.first_tick, before);
        assert_eq!(after.first_tick, 3_000_000);
        assert_eq!(after.stride, 10_000);
    }

    #[test]
    fn a_change_of_rate_changes_the_stride_without_a_gap() {
        let origin = Instant::now();
        let mut clock = HostClock::new(origin, 10_000);
        let mut t = 0;
        for _ in 0..300 {
            t += 10_000;
            clock.place(1, at(origin, t));
        }
        assert_eq!(clock.period_us(), 10_000);
        let mut next = clock.next_tick.expect("samples placed");
        for _ in 0..600 {
            t += 5_000;
            let placed = clock.place(1, at(origin, t));
            assert_eq!(placed.first_tick, next);
            next = placed.first_tick + i64::from(placed.stride);
        }
        assert!(
            (4_750..=5_250).contains(&clock.period_us()),
            "{}",
            clock.period_us()
        );
    }

    #[test]
    fn a_rate_asked_for_is_taken_at_once_and_the_line_goes_on() {
        let origin = Instant::now();
        let mut clock = HostClock::new(origin, 10_000);
        let mut t = 0;
        for _ in 0..300 {
            t += 10_000;
            clock.place(1, at(origin, t));
        }
        clock.rate_changed(5_000);
        let next = clock.next_tick.expect("samples placed");
        t += 5_000;
        let placed = clock.place(1, at(origin, t));
        assert_eq!((placed.first_tick, placed.stride), (next, 5_000));
        // The ticks keep pace with the arrivals from the first sample on.
        for _ in 0..100 {
            t += 5_000;
            clock.place(1, at(origin, t));
        }
        let lead = clock.next_tick.expect("placed") - t as i64;
        assert!(lead.abs() <= 10_000, "{lead} µs off the arrivals");
    }
}
