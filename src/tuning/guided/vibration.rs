//! Whether a motor holding still vibrates, from the spectrum of its
//! velocity: the "exhibits some vibration" of ODrive's manual procedure
//! (fw-v0.5.6 docs/control.rst:121), made a measurement.
//!
//! Contract: the velocity record is uniformly sampled and taken while the
//! position is held (after a step has settled). Its linear trend is
//! removed and it is Hann-windowed before the FFT, so a drift and the
//! record's ends put nothing above [`VibrationCriterion::min_hz`]. The
//! vibration level is the RMS of the spectrum above `min_hz` (Parseval
//! over those bins); it is compared with the same level measured at the
//! starting gains, the baseline, held to at least `floor`. Not finite
//! samples, fewer than [`MIN_SAMPLES`] or a rate that is not above 0 give
//! an error, never a verdict.

use realfft::RealFftPlanner;

use crate::analysis::detrend;

/// The fewest samples a spectrum is computed from.
pub const MIN_SAMPLES: usize = 32;

/// Why a velocity record gives no spectrum.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpectrumError {
    #[error("a vibration check needs at least {MIN_SAMPLES} velocity samples, not {0}")]
    /// Too few samples.
    TooShort(usize),
    #[error("the velocity record holds a value that is not a number")]
    /// A sample is NaN or infinite.
    NotFinite,
    #[error("the sample rate must be above 0 Hz, not {0}")]
    /// The rate is not above 0.
    BadRate(f64),
}

/// The part of a velocity record's spectrum the verdict is made from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VelocitySpectrum {
    /// RMS of the velocity above [`VibrationCriterion::min_hz`], in the
    /// velocity's unit.
    pub band_rms: f64,
    /// Frequency of the largest bin above `min_hz`, Hz (an alias when the
    /// vibration is above half the sample rate).
    pub peak_hz: f64,
}

/// When a hold counts as vibrating.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VibrationCriterion {
    /// Frequencies below this are drift and the step's tail, not
    /// vibration, Hz.
    pub min_hz: f64,
    /// The band RMS must be at least this many times the baseline's.
    pub ratio: f64,
    /// The smallest baseline RMS compared with, in the velocity's unit:
    /// an encoder estimate can be exactly still at rest, and a vibration
    /// must be at least `ratio × floor`.
    pub floor: f64,
}

impl Default for VibrationCriterion {
    /// 10 × the baseline above 5 Hz, and at least 0.01 turn/s RMS
    /// (floor 0.001 turn/s, ODrive's velocity unit).
    fn default() -> Self {
        Self {
            min_hz: 5.0,
            ratio: 10.0,
            floor: 1e-3,
        }
    }
}

/// A hold's vibration against the baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vibration {
    /// The criterion was met.
    pub vibrating: bool,
    /// Band RMS over the baseline's (held to the floor).
    pub ratio: f64,
    /// The hold's largest frequency above `min_hz`, Hz.
    pub peak_hz: f64,
}

impl VibrationCriterion {
    /// The band RMS and peak of `velocity` sampled at `sample_hz`.
    pub fn spectrum(
        &self,
        velocity: &[f64],
        sample_hz: f64,
    ) -> Result<VelocitySpectrum, SpectrumError> {
        let n = velocity.len();
        if n < MIN_SAMPLES {
            return Err(SpectrumError::TooShort(n));
        }
        if !(sample_hz.is_finite() && sample_hz > 0.0) {
            return Err(SpectrumError::BadRate(sample_hz));
        }
        if velocity.iter().any(|v| !v.is_finite()) {
            return Err(SpectrumError::NotFinite);
        }
        let detrended = detrend(velocity);
        let window: Vec<f64> = (0..n)
            .map(|k| 0.5 - 0.5 * (std::f64::consts::TAU * k as f64 / n as f64).cos())
            .collect();
        // The window's mean square, so the band power is of the signal.
        let window_power = window.iter().map(|w| w * w).sum::<f64>() / n as f64;
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
        let mut input: Vec<f64> = detrended.iter().zip(&window).map(|(v, w)| v * w).collect();
        let mut output = fft.make_output_vec();
        // Lengths come from the same plan, so the transform cannot fail.
        let _ = fft.process(&mut input, &mut output);
        let bin_hz = sample_hz / n as f64;
        let (mut power, mut peak, mut peak_hz) = (0.0, 0.0, 0.0);
        for (k, bin) in output.iter().enumerate() {
            let hz = k as f64 * bin_hz;
            if hz < self.min_hz {
                continue;
            }
            // One-sided: every bin but DC and Nyquist stands for two.
            let two_sided = if k == 0 || 2 * k == n { 1.0 } else { 2.0 };
            let p = two_sided * bin.norm_sqr() / (n as f64 * n as f64);
            power += p;
            if p > peak {
                (peak, peak_hz) = (p, hz);
            }
        }
        Ok(VelocitySpectrum {
            band_rms: (power / window_power).sqrt(),
            peak_hz,
        })
    }

    /// The hold's verdict against the baseline measured at the starting
    /// gains.
    pub fn judge(&self, hold: &VelocitySpectrum, baseline: &VelocitySpectrum) -> Vibration {
        let reference = baseline.band_rms.max(self.floor);
        let ratio = hold.band_rms / reference;
        Vibration {
            vibrating: ratio >= self.ratio,
            ratio,
            peak_hz: hold.peak_hz,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const HZ: f64 = 200.0;

    /// Uniform noise of RMS `rms` from a fixed xorshift seed.
    fn noise(n: usize, rms: f64, seed: u64) -> Vec<f64> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
                // Uniform on ±a has RMS a/√3.
                (unit * 2.0 - 1.0) * rms * 3f64.sqrt()
            })
            .collect()
    }

    fn sine(n: usize, amplitude: f64, hz: f64) -> Vec<f64> {
        (0..n)
            .map(|k| amplitude * (TAU * hz * k as f64 / HZ).sin())
            .collect()
    }

    fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
        a.iter().zip(b).map(|(x, y)| x + y).collect()
    }

    #[test]
    fn the_band_rms_of_a_sinusoid_is_its_amplitude_over_root_two() {
        let c = VibrationCriterion::default();
        let s = c.spectrum(&sine(400, 0.1, 40.0), HZ).expect("a spectrum");
        assert!((s.band_rms - 0.1 / 2f64.sqrt()).abs() < 0.005, "{s:?}");
        assert!((s.peak_hz - 40.0).abs() <= HZ / 400.0, "{s:?}");
    }

    #[test]
    fn noise_alone_is_not_vibration() {
        let c = VibrationCriterion::default();
        let baseline = c.spectrum(&noise(400, 0.01, 1), HZ).expect("a spectrum");
        let hold = c.spectrum(&noise(400, 0.01, 2), HZ).expect("a spectrum");
        let verdict = c.judge(&hold, &baseline);
        assert!(!verdict.vibrating, "{verdict:?}");
        assert!((0.5..2.0).contains(&verdict.ratio), "{verdict:?}");
    }

    #[test]
    fn noise_and_a_sinusoid_vibrate_at_its_frequency() {
        let c = VibrationCriterion::default();
        let baseline = c.spectrum(&noise(400, 0.005, 1), HZ).expect("a spectrum");
        let hold = add(&noise(400, 0.005, 2), &sine(400, 0.2, 62.0));
        let verdict = c.judge(&c.spectrum(&hold, HZ).expect("a spectrum"), &baseline);
        assert!(verdict.vibrating, "{verdict:?}");
        assert!((verdict.peak_hz - 62.0).abs() <= HZ / 400.0, "{verdict:?}");
        assert!(verdict.ratio > 20.0, "{verdict:?}");
    }

    #[test]
    fn a_slow_drift_is_not_vibration() {
        let c = VibrationCriterion::default();
        let baseline = c.spectrum(&noise(400, 0.002, 1), HZ).expect("a spectrum");
        // A ramp of 0.5 turn/s over the record and a 0.5 Hz wander.
        let drift: Vec<f64> = (0..400)
            .map(|k| {
                let t = k as f64 / HZ;
                0.25 * t + 0.3 * (TAU * 0.5 * t).sin()
            })
            .collect();
        let hold = add(&noise(400, 0.002, 2), &drift);
        let verdict = c.judge(&c.spectrum(&hold, HZ).expect("a spectrum"), &baseline);
        assert!(!verdict.vibrating, "{verdict:?}");
    }

    #[test]
    fn a_still_baseline_is_held_to_the_floor() {
        let c = VibrationCriterion::default();
        let still = c.spectrum(&[0.0; 64], HZ).expect("a spectrum");
        assert_eq!(still.band_rms, 0.0);
        // Quantization-sized jitter over a still baseline: below 10 × floor.
        let jitter = c.spectrum(&noise(400, 0.003, 3), HZ).expect("a spectrum");
        assert!(!c.judge(&jitter, &still).vibrating);
        let ringing = c.spectrum(&sine(400, 0.05, 60.0), HZ).expect("a spectrum");
        assert!(c.judge(&ringing, &still).vibrating);
    }

    #[test]
    fn bad_records_are_errors() {
        let c = VibrationCriterion::default();
        assert_eq!(c.spectrum(&[0.0; 8], HZ), Err(SpectrumError::TooShort(8)));
        assert_eq!(
            c.spectrum(&[f64::NAN; 64], HZ),
            Err(SpectrumError::NotFinite)
        );
        assert_eq!(
            c.spectrum(&[0.0; 64], 0.0),
            Err(SpectrumError::BadRate(0.0))
        );
    }
}
