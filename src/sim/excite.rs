//! The simulated drive's device-side excitation (docs/PROTOCOL.md 4.6):
//! a log chirp or a PRBS generated tick by tick at the loop rate, added to
//! the setpoint or to the controller's output, ending by itself after its
//! duration.
//!
//! The generator promises what the protocol asks of a device: the value
//! at tick k depends only on the settings and k (so a host that knows the
//! settings could check it), a run starts at tick 0 when `excite.active`
//! goes to 1, and it ends after `duration` seconds of ticks.

/// Which signal the device generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExciteKind {
    /// A sine sweeping from f0 to f1 at a constant rate in octaves a second.
    #[default]
    Chirp,
    /// A maximal-length binary sequence of ±amplitude, its bit 0.4 / f1 long.
    Prbs,
}

/// Where the excitation enters the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExcitePoint {
    /// Added to the setpoint the controller follows.
    #[default]
    Setpoint,
    /// Added to the controller's output: the loop stays closed and the
    /// injection excites the plant at every frequency, including far above
    /// the loop's bandwidth where a setpoint excitation no longer reaches it.
    Effort,
}

/// The excitation's settings, as the `excite.*` parameters hold them.
#[derive(Clone, Debug, PartialEq)]
pub struct ExciteConfig {
    pub active: bool,
    pub kind: ExciteKind,
    pub point: ExcitePoint,
    /// Peak value, in the point's unit (rad at the setpoint, A at the effort).
    pub amplitude: f64,
    /// Start and end frequency, Hz.
    pub f0: f64,
    pub f1: f64,
    /// Length of a run, s.
    pub duration: f64,
}

impl Default for ExciteConfig {
    fn default() -> Self {
        Self {
            active: false,
            kind: ExciteKind::Chirp,
            point: ExcitePoint::Setpoint,
            amplitude: 0.01,
            f0: 1.0,
            f1: 100.0,
            duration: 10.0,
        }
    }
}

impl ExciteConfig {
    /// Whether a run with these settings can start: a band 0 < f0 < f1 and
    /// a duration and amplitude above 0. The drive refuses `excite.active`
    /// = 1 otherwise (it stays 0), rather than run a signal that means
    /// nothing.
    pub fn runnable(&self) -> bool {
        self.f0 > 0.0 && self.f1 > self.f0 && self.duration > 0.0 && self.amplitude > 0.0
    }
}

/// A run in progress: the tick count since it started and the PRBS's
/// register.
#[derive(Clone, Debug)]
pub struct ExciteRun {
    tick: u64,
    lfsr: u16,
    bit: f64,
}

impl Default for ExciteRun {
    fn default() -> Self {
        Self {
            tick: 0,
            lfsr: LFSR_SEED,
            bit: 1.0,
        }
    }
}

/// Any non-zero state starts the 15-bit sequence; all ones is the usual.
const LFSR_SEED: u16 = 0x7FFF;

impl ExciteRun {
    /// The value for this tick of `dt` seconds, or `None` once the run has
    /// lasted its duration.
    pub fn next(&mut self, config: &ExciteConfig, dt: f64) -> Option<f64> {
        // Counted in whole ticks, so a duration of n ticks is n samples
        // however the division rounds.
        if self.tick >= (config.duration / dt).round() as u64 {
            return None;
        }
        let t = self.tick as f64 * dt;
        let value = match config.kind {
            ExciteKind::Chirp => {
                let rate = (config.f1 / config.f0).ln() / config.duration;
                let phase = std::f64::consts::TAU * config.f0 * ((rate * t).exp() - 1.0) / rate;
                config.amplitude * phase.sin()
            }
            ExciteKind::Prbs => {
                // A whole number of ticks a bit, so the bits are even; the
                // spectrum is flat within 3 dB to about 0.44 / bit.
                let bit_ticks = ((0.4 / config.f1 / dt).floor() as u64).max(1);
                if self.tick.is_multiple_of(bit_ticks) {
                    // x¹⁵ + x¹⁴ + 1, maximal length: 32 767 bits a period.
                    let feedback = ((self.lfsr >> 14) ^ (self.lfsr >> 13)) & 1;
                    self.lfsr = ((self.lfsr << 1) | feedback) & 0x7FFF;
                    self.bit = if self.lfsr & 1 == 1 { 1.0 } else { -1.0 };
                }
                config.amplitude * self.bit
            }
        };
        self.tick += 1;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: &ExciteConfig, dt: f64) -> Vec<f64> {
        let mut run = ExciteRun::default();
        std::iter::from_fn(|| run.next(config, dt)).collect()
    }

    #[test]
    fn a_chirp_lasts_its_duration_and_sweeps_from_f0_to_f1() {
        let config = ExciteConfig {
            f0: 10.0,
            f1: 1000.0,
            duration: 1.0,
            amplitude: 2.0,
            ..ExciteConfig::default()
        };
        let dt = 1e-5;
        let values = run(&config, dt);
        assert_eq!(values.len(), 100_000);
        assert!(values.iter().all(|v| v.abs() <= 2.0));
        // The instantaneous frequency from the zero crossings: at the start
        // f0, at the end f1 (log sweep: f0·(f1/f0)^(t/T)).
        let crossings: Vec<usize> = (1..values.len())
            .filter(|&k| values[k - 1] < 0.0 && values[k] >= 0.0)
            .collect();
        let n = crossings.len();
        let expected = |k: usize| {
            let middle = (crossings[k] + crossings[k + 1]) as f64 * dt / 2.0;
            10.0 * 100f64.powf(middle)
        };
        for k in [0, n / 2, n - 2] {
            let measured = 1.0 / ((crossings[k + 1] - crossings[k]) as f64 * dt);
            let wanted = expected(k);
            assert!(
                (measured / wanted - 1.0).abs() < 0.02,
                "{measured} vs {wanted}"
            );
        }
        assert!(expected(n - 2) > 900.0, "the sweep reaches f1");
        // The phase integrates to f0·T·(f1/f0 − 1)/ln(f1/f0) ≈ 215 cycles.
        let cycles = 10.0 * (100.0 - 1.0) / 100f64.ln();
        assert!((n as f64 - cycles).abs() <= 1.0, "{n} vs {cycles}");
    }

    #[test]
    fn a_prbs_is_plus_minus_amplitude_in_whole_bits_and_balanced() {
        let config = ExciteConfig {
            kind: ExciteKind::Prbs,
            f1: 400.0,
            duration: 2.0,
            amplitude: 0.5,
            ..ExciteConfig::default()
        };
        let dt = 1e-4;
        let values = run(&config, dt);
        assert_eq!(values.len(), 20_000);
        assert!(values.iter().all(|v| v.abs() == 0.5));
        // 0.4 / 400 Hz = 1 ms: ten ticks a bit, so runs are multiples of 10.
        let mut length = 1;
        for k in 1..values.len() {
            if values[k] == values[k - 1] {
                length += 1;
            } else {
                assert_eq!(length % 10, 0, "a run of {length} ticks ending at {k}");
                length = 1;
            }
        }
    }

    #[test]
    fn one_period_of_the_prbs_is_the_maximal_length_sequence() {
        // One tick a bit, one period: 2¹⁵ − 1 bits, 2¹⁴ of them ones.
        let config = ExciteConfig {
            kind: ExciteKind::Prbs,
            f1: 4000.0,
            duration: 32_767.0 * 1e-4,
            amplitude: 1.0,
            ..ExciteConfig::default()
        };
        let values = run(&config, 1e-4);
        assert_eq!(values.len(), 32_767);
        let ones = values.iter().filter(|v| **v > 0.0).count();
        assert_eq!(ones, 16_384);
    }

    #[test]
    fn settings_without_a_band_do_not_run() {
        let good = ExciteConfig::default();
        assert!(good.runnable());
        for bad in [
            ExciteConfig {
                f1: 1.0,
                ..good.clone()
            },
            ExciteConfig {
                f0: 0.0,
                ..good.clone()
            },
            ExciteConfig {
                duration: 0.0,
                ..good.clone()
            },
            ExciteConfig {
                amplitude: 0.0,
                ..good.clone()
            },
        ] {
            assert!(!bad.runnable(), "{bad:?}");
        }
    }
}
