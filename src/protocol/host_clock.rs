//! Device time for firmware that sends no timestamps, read off the host's
//! clock: microseconds since the connection opened ([`HOST_TICK_HZ`]), one
//! clock for every host-timed adapter.
//!
//! The general case is a sample stamped with its own arrival
//! ([`ArrivalClock`]): each sample's time is when its reply reached the
//! host, so a stall shows as the gap it was and a rate that differs from
//! the one asked for is read as it is. Polled firmware (ODrive) is timed
//! this way. The samples stay batches of one (a [`SampleBatch`] is evenly
//! strided), each sent on once the next has arrived, with the time to it
//! as its stride, so a history draws one continuous line through samples
//! that came unevenly; a silence of more than a few expected periods is a
//! gap, counted in `lost_before`.
//!
//! Firmware that prints lines by itself at an unknown rate, several to a
//! read, is placed on a steady clock whose period is estimated from the
//! arrivals ([`HostClock`]): lines stay continuous through serial jitter,
//! the stride follows a change of rate, and a silence becomes a gap.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::SampleBatch;

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
        let now_us = host_micros(self.origin, now);
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

/// Microseconds from `origin` to `at` on the host's clock.
fn host_micros(origin: Instant, at: Instant) -> i64 {
    at.saturating_duration_since(origin).as_micros() as i64
}

/// An arrival-timed sample is taken to follow a silence, a gap, when it
/// comes more than this many expected periods after the one before it …
const ARRIVAL_GAP_PERIODS: i64 = 5;
/// … and more than this long after it: shorter stalls of a loaded host
/// (a desktop scheduler's tens of milliseconds) are read as the uneven
/// timing they are, not as lost samples that would void a measurement.
const ARRIVAL_GAP_MIN_US: i64 = 50_000;

/// A sample as timed by [`ArrivalClock`], with the samples missing before
/// it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamped {
    pub batch: SampleBatch,
    pub lost_before: u64,
}

/// A sample waiting for the next one to know its stride.
#[derive(Debug)]
struct Held {
    tick: i64,
    values: Vec<f32>,
    lost_before: u64,
}

/// Times each sample by its own arrival; see the module documentation.
#[derive(Debug)]
pub struct ArrivalClock {
    origin: Instant,
    /// The period the samples are expected at (the poll period), µs.
    period_us: i64,
    held: Option<Held>,
}

impl ArrivalClock {
    pub fn new(origin: Instant, expected_period: Duration) -> Self {
        let mut clock = Self {
            origin,
            period_us: 1,
            held: None,
        };
        clock.expect_period(expected_period);
        clock
    }

    /// The period samples are expected at from now on.
    pub fn expect_period(&mut self, period: Duration) {
        self.period_us = (period.as_micros() as i64).max(1);
    }

    /// The longest time between two samples that is not a gap, µs.
    fn gap_limit_us(&self) -> i64 {
        (ARRIVAL_GAP_PERIODS * self.period_us).max(ARRIVAL_GAP_MIN_US)
    }

    /// A sample whose reply arrived at `arrived`, `earlier_by` before the
    /// last of the replies that arrived with it (read in the same chunk,
    /// each is taken to have been measured as much earlier as its request
    /// was sent; the last is current). Returns the sample before it, now
    /// that its stride is known.
    pub fn push(
        &mut self,
        values: &[f32],
        arrived: Instant,
        earlier_by: Duration,
    ) -> Option<Stamped> {
        let mut tick = host_micros(self.origin, arrived) - earlier_by.as_micros() as i64;
        let Some(held) = self.held.take() else {
            self.held = Some(Held {
                tick,
                values: values.to_vec(),
                lost_before: 0,
            });
            return None;
        };
        // Strictly after the sample before it, whatever the arrivals say.
        tick = tick.max(held.tick + 1);
        let interval = tick - held.tick;
        let (stride, lost_before) = if interval > self.gap_limit_us() {
            let missing = (interval as f64 / self.period_us as f64).round() as u64;
            (self.period_us, missing.saturating_sub(1).max(1))
        } else {
            (interval, 0)
        };
        self.held = Some(Held {
            tick,
            values: values.to_vec(),
            lost_before,
        });
        Some(Self::stamped(held, stride))
    }

    /// The sample held back, with the expected period as its stride: when
    /// no sample follows (polling stopped).
    pub fn flush(&mut self) -> Option<Stamped> {
        let period = self.period_us;
        self.held.take().map(|held| Self::stamped(held, period))
    }

    fn stamped(held: Held, stride_us: i64) -> Stamped {
        Stamped {
            batch: SampleBatch {
                first_tick: held.tick,
                stride: stride_us.clamp(1, i64::from(u32::MAX)) as u32,
                tick_hz: HOST_TICK_HZ,
                channel_count: held.values.len(),
                values: held.values,
            },
            lost_before: held.lost_before,
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
    /// Every sample of `stamped`, as (time in µs, lost before it).
    fn times(stamped: &[Stamped]) -> Vec<(i64, u64)> {
        stamped
            .iter()
            .map(|s| (s.batch.first_tick, s.lost_before))
            .collect()
    }

    #[test]
    fn arrivals_are_the_times_and_only_a_silence_is_a_gap() {
        let origin = Instant::now();
        let mut clock = ArrivalClock::new(origin, Duration::from_millis(5));
        // Polls asked every 5 ms answered unevenly, then a 199 ms silence.
        let arrivals = [5_000, 9_000, 16_000, 20_500, 25_000, 224_000, 229_000];
        let mut stamped = Vec::new();
        for &us in &arrivals {
            stamped.extend(clock.push(&[us as f32], at(origin, us), Duration::ZERO));
        }
        stamped.extend(clock.flush());
        assert_eq!(
            times(&stamped),
            [
                (5_000, 0),
                (9_000, 0),
                (16_000, 0),
                (20_500, 0),
                (25_000, 0),
                // 40 periods later: 39 polls' worth of samples missing.
                (224_000, 39),
                (229_000, 0),
            ]
        );
        // Each batch says when the next comes, except across the gap: a
        // history draws one line through the uneven ones and breaks at it.
        for pair in stamped.windows(2) {
            let next = pair[0].batch.first_tick + i64::from(pair[0].batch.stride);
            assert_eq!(next == pair[1].batch.first_tick, pair[1].lost_before == 0);
        }
        assert_eq!(stamped.last().map(|s| s.batch.stride), Some(5_000));
        assert!(stamped.iter().all(|s| s.batch.tick_hz == HOST_TICK_HZ));
    }

    #[test]
    fn replies_read_together_are_dated_back_by_their_requests_spacing() {
        let origin = Instant::now();
        let mut clock = ArrivalClock::new(origin, Duration::from_millis(5));
        let mut stamped = Vec::new();
        stamped.extend(clock.push(&[1.0], at(origin, 10_000), Duration::ZERO));
        // Two replies in one read at 21 ms, their polls sent 5 ms apart.
        stamped.extend(clock.push(&[2.0], at(origin, 21_000), Duration::from_millis(5)));
        stamped.extend(clock.push(&[3.0], at(origin, 21_000), Duration::ZERO));
        // One dated back past the sample before it stays after it.
        stamped.extend(clock.push(&[4.0], at(origin, 21_500), Duration::from_millis(20)));
        stamped.extend(clock.flush());
        assert_eq!(
            times(&stamped),
            [(10_000, 0), (16_000, 0), (21_000, 0), (21_001, 0)]
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
