//! How many sample batches a second the device streams, counted in device
//! time over the last second: a procedure's runner writes at most once a
//! batch, so this is the most setpoint writes a second a frequency response
//! can make (as `motiontune bode` measures it before it plans).

use std::collections::VecDeque;

/// The span of device time counted.
const WINDOW_S: f64 = 1.0;
/// Device time watched before a rate is given.
const LEAST_SPAN_S: f64 = 0.1;
/// Batches seen before a rate is given.
const LEAST_BATCHES: usize = 3;

/// Batch start times over the last [`WINDOW_S`] of device time.
#[derive(Debug, Default)]
pub struct BatchRate {
    starts: VecDeque<f64>,
}

impl BatchRate {
    /// A batch whose first sample is at device time `start_s`. Time that
    /// goes back (a device that restarted) starts the count again.
    pub fn on_batch(&mut self, start_s: f64) {
        if !start_s.is_finite() {
            return;
        }
        if self.starts.back().is_some_and(|&last| start_s < last) {
            self.starts.clear();
        }
        self.starts.push_back(start_s);
        while self
            .starts
            .front()
            .is_some_and(|&first| start_s - first > WINDOW_S)
        {
            self.starts.pop_front();
        }
    }

    /// Batches a second, once [`LEAST_SPAN_S`] of the stream was seen.
    pub fn per_second(&self) -> Option<f64> {
        let (first, last) = (self.starts.front()?, self.starts.back()?);
        let span = last - first;
        (span >= LEAST_SPAN_S && self.starts.len() >= LEAST_BATCHES)
            .then(|| (self.starts.len() - 1) as f64 / span)
    }

    /// Forgets what was counted (the stream broke off).
    pub fn clear(&mut self) {
        self.starts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_batches_a_second_of_device_time() {
        let mut rate = BatchRate::default();
        // 10 kHz in batches of 7 samples: 1428.6 batches a second.
        for k in 0..3_000 {
            rate.on_batch(f64::from(k) * 7.0 / 10_000.0);
            if k == 140 {
                assert_eq!(rate.per_second(), None, "less than 0.1 s seen");
            }
        }
        let per_second = rate.per_second().expect("a rate");
        assert!((per_second - 10_000.0 / 7.0).abs() < 1e-6, "{per_second}");
    }

    #[test]
    fn time_going_back_starts_again() {
        let mut rate = BatchRate::default();
        for k in 0..1_000 {
            rate.on_batch(f64::from(k) / 100.0);
        }
        assert!((rate.per_second().expect("a rate") - 100.0).abs() < 1e-9);
        rate.on_batch(0.0);
        assert_eq!(rate.per_second(), None);
        rate.on_batch(f64::NAN);
        rate.clear();
        assert_eq!(rate.per_second(), None);
        // Two batches tell no rate, however far apart.
        rate.on_batch(0.0);
        rate.on_batch(0.5);
        assert_eq!(rate.per_second(), None);
    }
}
