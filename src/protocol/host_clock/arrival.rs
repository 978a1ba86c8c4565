//! Samples stamped with their own arrival: each sample's time is when its
//! reply reached the host, so a stall shows as the gap it was and a rate
//! that differs from the one asked for is read as it is. Polled firmware
//! (ODrive) is timed this way: the host knows which request each reply
//! answers, so every sample has an arrival of its own, unlike lines a
//! sketch prints by itself ([`super::HostClock`]). The samples stay batches
//! of one (a [`SampleBatch`] is evenly strided), each sent on once the next
//! has arrived, with the time to it as its stride, so a history draws one
//! continuous line through samples that came unevenly; a silence of more
//! than a few expected periods is a gap, counted in `lost_before`.
//!
//! What such a time is worth ([`ArrivalClock::timing`]): the device
//! measured a sample between the poll going out and its reply arriving,
//! so the round trip of the polls (its 95th percentile over the last
//! [`ROUND_TRIPS_KEPT`]) bounds how far a sample's time may be off.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{HOST_TICK_HZ, HostTiming, host_micros};
use crate::protocol::SampleBatch;

/// An arrival-timed sample is taken to follow a silence, a gap, when it
/// comes more than this many expected periods after the one before it …
const ARRIVAL_GAP_PERIODS: i64 = 5;
/// … and more than this long after it: shorter stalls of a loaded host
/// (a desktop scheduler's tens of milliseconds) are read as the uneven
/// timing they are, not as lost samples that would void a measurement.
const ARRIVAL_GAP_MIN_US: i64 = 50_000;
/// Round trips of polls kept for the uncertainty.
const ROUND_TRIPS_KEPT: usize = 256;

/// A sample as timed by [`ArrivalClock`], with the samples missing before
/// it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamped {
    /// The sample, timed.
    pub batch: SampleBatch,
    /// Samples missing just before it.
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
    /// The last polls' round trips, µs, oldest first.
    round_trips: VecDeque<i64>,
    gaps: u64,
}

impl ArrivalClock {
    /// A clock for samples expected every `expected_period`, from `origin`.
    pub fn new(origin: Instant, expected_period: Duration) -> Self {
        let mut clock = Self {
            origin,
            period_us: 1,
            held: None,
            round_trips: VecDeque::new(),
            gaps: 0,
        };
        clock.expect_period(expected_period);
        clock
    }

    /// The period samples are expected at from now on.
    pub fn expect_period(&mut self, period: Duration) {
        self.period_us = (period.as_micros() as i64).max(1);
    }

    /// A poll answered `round_trip` after it went out.
    pub fn note_round_trip(&mut self, round_trip: Duration) {
        if self.round_trips.len() == ROUND_TRIPS_KEPT {
            self.round_trips.pop_front();
        }
        self.round_trips.push_back(round_trip.as_micros() as i64);
    }

    /// How host timing is holding up: the poll period, the round trips'
    /// 95th percentile, and the silences taken as gaps.
    pub fn timing(&self) -> HostTiming {
        let mut trips: Vec<i64> = self.round_trips.iter().copied().collect();
        trips.sort_unstable();
        let rank = (trips.len().saturating_sub(1) as f64 * 0.95).round() as usize;
        HostTiming {
            period_s: self.period_us as f64 * 1e-6,
            uncertainty_s: trips.get(rank).map_or(0.0, |&us| us as f64 * 1e-6),
            gaps: self.gaps,
        }
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
            self.gaps += 1;
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
                exact: None,
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
        // Polls answered in 1 to 20 ms: a sample's time is worth about
        // the 95th percentile of that, 19 ms.
        for ms in 1..=20 {
            clock.note_round_trip(Duration::from_millis(ms));
        }
        let timing = clock.timing();
        assert_eq!((timing.period_s, timing.gaps), (0.005, 1));
        assert!((timing.uncertainty_s - 0.019).abs() < 1e-9, "{timing:?}");
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
}
