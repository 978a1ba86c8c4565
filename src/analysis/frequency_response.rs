//! Frequency response of a closed loop from a record of its reference,
//! feedback and (optionally) effort, and the figures read off it.
//!
//! The contract:
//! - Input is uniformly sampled at `sample_hz`; the channels have equal
//!   length. NaN or infinite samples are refused, not skipped.
//! - [`estimate_response`] is the H1 estimator with Welch averaging: Hann
//!   segments of `segment_len` samples, each with its mean removed, a
//!   quarter segment apart, and one more ending at the record's end. At
//!   that overlap the squared Hann windows sum to a constant, so every
//!   instant weighs the same: a swept sine passes each frequency at one
//!   instant, and with half overlap the weight there depended on where
//!   the segments fell, which biased a short chirp by degrees where the
//!   loop delays most. The end segment covers the sweep's last frequencies.
//!   The closed loop is `T = S_rf / S_rr`, its coherence
//!   `|S_rf|² / (S_rr·S_ff)`. The reference is the one the device actually
//!   followed (its reference channel), so how the setpoint was written does
//!   not bias T.
//! - With an effort channel the plant is estimated with the reference as
//!   instrument, `P = S_rf / S_ru`, which noise entering inside the loop
//!   does not bias.
//! - The open loop is `L = T / (1 − T)`. That is exact for a controller
//!   acting on the error alone; for one with derivative on the measurement
//!   it is the loop as the reference sees it, and its margins are an
//!   estimate.
//! - [`sine_response`] measures one frequency of a stepped sine by
//!   correlation over whole periods, after removing a straight-line drift;
//!   its coherence is the share of the feedback's sample-to-sample change
//!   that the sine explains.
//! - The lowest bin or two of a Welch estimate are shaped by the removed
//!   mean; an excitation should start two bins up (segments of two periods
//!   of its lowest frequency).
//! - [`loop_figures`] reads bandwidth, resonance, crossover and margins off
//!   the points whose coherence is at least [`COHERENT`], interpolating
//!   crossings in log frequency; a figure whose crossing is not in the
//!   measured band is `None`.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex64;

/// Coherence from which a point counts as measured.
pub const COHERENT: f64 = 0.9;

/// Why a record cannot give a frequency response.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FrequencyResponseError {
    #[error("the channels differ in length ({reference}, {feedback} and {effort} samples)")]
    /// The channels differ in length.
    LengthMismatch {
        /// The reference's length.
        reference: usize,
        /// The feedback's length.
        feedback: usize,
        /// The effort's length.
        effort: usize,
    },
    #[error("the record has {got} samples; a segment of {needed} needs at least that many")]
    /// The record is shorter than one segment.
    TooShort {
        /// Samples in the record.
        got: usize,
        /// Samples in a segment.
        needed: usize,
    },
    #[error("the segment length must be at least 8 samples, not {0}")]
    /// The segment length is below 8 samples.
    BadSegment(usize),
    #[error("the sample rate must be above 0 Hz, not {0}")]
    /// The sample rate is not above 0 Hz.
    BadSampleRate(f64),
    #[error("the record holds a sample that is not a finite number")]
    /// A sample is NaN or infinite.
    NotFinite,
    #[error("the reference does not move: nothing excites the loop")]
    /// The reference does not move.
    NoExcitation,
}

/// The response at one frequency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BodePoint {
    /// The point's frequency, Hz.
    pub frequency_hz: f64,
    /// Reference → feedback.
    pub closed_loop: Complex64,
    /// Reference → feedback coherence, 0 … 1.
    pub coherence: f64,
    /// Effort → feedback, when effort was recorded.
    pub plant: Option<Complex64>,
    /// `T / (1 − T)`.
    pub open_loop: Complex64,
}

impl BodePoint {
    fn new(
        frequency_hz: f64,
        closed_loop: Complex64,
        coherence: f64,
        plant: Option<Complex64>,
    ) -> Self {
        Self {
            frequency_hz,
            closed_loop,
            coherence,
            plant,
            open_loop: closed_loop / (Complex64::new(1.0, 0.0) - closed_loop),
        }
    }
}

/// Magnitude in dB.
pub fn decibels(value: Complex64) -> f64 {
    20.0 * value.norm().log10()
}

/// Phases in degrees, unwrapped along the points whose coherence is at
/// least [`COHERENT`]; the others are shown near them but never move them.
///
/// Why not along every point: where coherence is low the phase is noise,
/// and plain unwrapping adds a turn whenever two noisy neighbours differ by
/// more than 180°. The curve then wanders by hundreds of degrees, and every
/// coherent point after the noise inherits those extra turns. Here each
/// coherent point is put in the turn nearest the last coherent point's
/// phase; an incoherent point is put in the turn nearest that same phase
/// (before the first coherent point, nearest the first coherent one's), so
/// it lies within ±180° of the trusted curve and cannot shift it. With no
/// coherent point at all, phases stay in −180° … 180°. The cost: a gap of
/// incoherent points across which the true phase turns by more than 180°
/// loses that turn, which no estimate of noise could have recovered.
pub fn unwrapped_phase_deg(values: &[Complex64], coherence: &[f64]) -> Vec<f64> {
    let principal: Vec<f64> = values.iter().map(|v| v.arg().to_degrees()).collect();
    let nearest_turn = |phase: f64, anchor: f64| phase + 360.0 * ((anchor - phase) / 360.0).round();
    let trusted = |k: usize| coherence.get(k).is_some_and(|c| *c >= COHERENT);
    let mut anchor = (0..values.len())
        .find(|&k| trusted(k))
        .map(|k| principal[k]);
    principal
        .iter()
        .enumerate()
        .map(|(k, &phase)| match anchor {
            Some(last) => {
                let placed = nearest_turn(phase, last);
                if trusted(k) {
                    anchor = Some(placed);
                }
                placed
            }
            None => phase,
        })
        .collect()
}

/// Welch H1 estimate of the loop; see the module documentation. Returns the
/// points from the first bin above 0 Hz to the Nyquist frequency.
pub fn estimate_response(
    sample_hz: f64,
    reference: &[f64],
    feedback: &[f64],
    effort: Option<&[f64]>,
    segment_len: usize,
) -> Result<Vec<BodePoint>, FrequencyResponseError> {
    check_record(sample_hz, reference, feedback, effort)?;
    let n = reference.len();
    if segment_len < 8 {
        return Err(FrequencyResponseError::BadSegment(segment_len));
    }
    if n < segment_len {
        return Err(FrequencyResponseError::TooShort {
            got: n,
            needed: segment_len,
        });
    }
    let all = reference
        .iter()
        .chain(feedback)
        .chain(effort.unwrap_or(&[]));
    if all.clone().any(|v| !v.is_finite()) {
        return Err(FrequencyResponseError::NotFinite);
    }

    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(segment_len);
    let window: Vec<f64> = (0..segment_len)
        .map(|k| 0.5 - 0.5 * (std::f64::consts::TAU * k as f64 / segment_len as f64).cos())
        .collect();
    let bins = segment_len / 2 + 1;
    let mut s_rr = vec![0.0; bins];
    let mut s_ff = vec![0.0; bins];
    let mut s_rf = vec![Complex64::default(); bins];
    let mut s_ru = vec![Complex64::default(); bins];
    let mut input = fft.make_input_vec();
    let mut spectrum = |signal: &[f64]| -> Vec<Complex64> {
        // The window-weighted mean, so that the windowed segment holds no DC.
        let weight: f64 = window.iter().sum();
        let mean = signal.iter().zip(&window).map(|(v, w)| v * w).sum::<f64>() / weight;
        for ((slot, value), w) in input.iter_mut().zip(signal).zip(&window) {
            *slot = (value - mean) * w;
        }
        let mut out = fft.make_output_vec();
        // Lengths come from the same plan, so the transform cannot fail.
        fft.process(&mut input, &mut out)
            .map(|()| out)
            .unwrap_or_default()
    };
    let hop = (segment_len / 4).max(1);
    let mut starts: Vec<usize> = (0..=n - segment_len).step_by(hop).collect();
    if starts.last().is_some_and(|&last| last + segment_len < n) {
        starts.push(n - segment_len);
    }
    for start in starts {
        let end = start + segment_len;
        let r = spectrum(&reference[start..end]);
        let f = spectrum(&feedback[start..end]);
        let u = effort.map(|u| spectrum(&u[start..end]));
        for k in 0..bins.min(r.len()).min(f.len()) {
            s_rr[k] += r[k].norm_sqr();
            s_ff[k] += f[k].norm_sqr();
            s_rf[k] += r[k].conj() * f[k];
            if let Some(u) = &u {
                s_ru[k] += r[k].conj() * u[k];
            }
        }
    }
    let peak = s_rr.iter().copied().fold(0.0, f64::max);
    if peak <= 0.0 {
        return Err(FrequencyResponseError::NoExcitation);
    }
    let resolution = sample_hz / segment_len as f64;
    Ok((1..bins)
        .map(|k| {
            let closed_loop = s_rf[k] / s_rr[k];
            let coherence = if s_rr[k] * s_ff[k] > 0.0 {
                (s_rf[k].norm_sqr() / (s_rr[k] * s_ff[k])).min(1.0)
            } else {
                0.0
            };
            let plant = effort.map(|_| s_rf[k] / s_ru[k]);
            BodePoint::new(k as f64 * resolution, closed_loop, coherence, plant)
        })
        .collect())
}

/// The response at `frequency_hz` of a record holding a sine of that
/// frequency, by correlation over the largest whole number of periods.
/// Coherence is the share of the feedback's variance the sine explains.
pub fn sine_response(
    sample_hz: f64,
    frequency_hz: f64,
    reference: &[f64],
    feedback: &[f64],
    effort: Option<&[f64]>,
) -> Result<BodePoint, FrequencyResponseError> {
    check_record(sample_hz, reference, feedback, effort)?;
    let n = reference.len();
    let per_period = sample_hz / frequency_hz;
    let periods = (n as f64 / per_period).floor();
    let used = (periods * per_period).round() as usize;
    if periods < 1.0 || used < 8 {
        return Err(FrequencyResponseError::TooShort {
            got: n,
            needed: per_period.ceil() as usize,
        });
    }
    let all = reference
        .iter()
        .chain(feedback)
        .chain(effort.unwrap_or(&[]));
    if all.clone().any(|v| !v.is_finite()) {
        return Err(FrequencyResponseError::NotFinite);
    }
    let phasor = |signal: &[f64]| phasor_of(&signal[..used], frequency_hz / sample_hz);
    let (r, _) = phasor(reference);
    let (f, _) = phasor(feedback);
    if r.norm() == 0.0 {
        return Err(FrequencyResponseError::NoExcitation);
    }
    // The share is taken of the feedback's first difference, which keeps
    // the sine and damps what is left of the loop settling from the last
    // frequency by ω·dt relative to it. A sine of amplitude a holds a²·N/2
    // of variance and |Σ| = a·N/2.
    let steps: Vec<f64> = feedback[..used].windows(2).map(|w| w[1] - w[0]).collect();
    let (step_phasor, step_variance) = phasor_of(&steps, frequency_hz / sample_hz);
    let explained = 2.0 * step_phasor.norm_sqr() / steps.len() as f64;
    let coherence = if step_variance > 0.0 {
        (explained / step_variance).min(1.0)
    } else {
        0.0
    };
    let plant = effort.map(|u| f / phasor(u).0);
    Ok(BodePoint::new(frequency_hz, f / r, coherence, plant))
}

/// The correlation of `signal`, less its straight-line drift, with a
/// complex sine of `cycles_per_sample`, and the detrended variance (sum of
/// squares).
fn phasor_of(signal: &[f64], cycles_per_sample: f64) -> (Complex64, f64) {
    let detrended = detrend(signal);
    let omega = std::f64::consts::TAU * cycles_per_sample;
    let sum: Complex64 = detrended
        .iter()
        .enumerate()
        .map(|(k, v)| v * Complex64::from_polar(1.0, -omega * k as f64))
        .sum();
    (sum, detrended.iter().map(|v| v * v).sum())
}

/// `signal` less its least-squares straight line: a loop still settling
/// from the previous frequency drifts, and the drift is not the response
/// (nor a vibration, `tuning::guided`).
pub(crate) fn detrend(signal: &[f64]) -> Vec<f64> {
    let n = signal.len() as f64;
    let mean_k = (n - 1.0) / 2.0;
    let mean = signal.iter().sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (k, v) in signal.iter().enumerate() {
        let dk = k as f64 - mean_k;
        covariance += dk * (v - mean);
        variance += dk * dk;
    }
    let slope = if variance > 0.0 {
        covariance / variance
    } else {
        0.0
    };
    signal
        .iter()
        .enumerate()
        .map(|(k, v)| v - mean - slope * (k as f64 - mean_k))
        .collect()
}

/// The figures a tuner reads off a Bode plot.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoopFigures {
    /// Where |T| first falls below −3 dB.
    pub bandwidth_hz: Option<f64>,
    /// Highest |T|, dB, and where.
    pub resonance_db: Option<f64>,
    /// Where the resonance peak is, Hz.
    pub resonance_hz: Option<f64>,
    /// Where |L| crosses 0 dB, and 180° plus L's phase there.
    pub crossover_hz: Option<f64>,
    /// Phase margin, degrees.
    pub phase_margin_deg: Option<f64>,
    /// Where L's phase crosses −180°, and −|L| in dB there.
    pub phase_crossover_hz: Option<f64>,
    /// Gain margin, dB.
    pub gain_margin_db: Option<f64>,
}

/// Reads the figures off `points` (sorted by frequency); see the module
/// documentation.
pub fn loop_figures(points: &[BodePoint]) -> LoopFigures {
    let good: Vec<&BodePoint> = points.iter().filter(|p| p.coherence >= COHERENT).collect();
    let log_f: Vec<f64> = good.iter().map(|p| p.frequency_hz.log10()).collect();
    let t_db: Vec<f64> = good.iter().map(|p| decibels(p.closed_loop)).collect();
    let l_db: Vec<f64> = good.iter().map(|p| decibels(p.open_loop)).collect();
    let open: Vec<Complex64> = good.iter().map(|p| p.open_loop).collect();
    let coherence: Vec<f64> = good.iter().map(|p| p.coherence).collect();
    let l_phase = unwrapped_phase_deg(&open, &coherence);

    let mut figures = LoopFigures::default();
    if let Some((k, &peak)) = t_db.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) {
        figures.resonance_db = Some(peak);
        figures.resonance_hz = Some(good[k].frequency_hz);
    }
    let minus_3db = -3.0103;
    figures.bandwidth_hz = first_crossing(&log_f, &t_db, minus_3db).map(|(x, _)| 10f64.powf(x));
    if let Some((x, k)) = first_crossing(&log_f, &l_db, 0.0) {
        figures.crossover_hz = Some(10f64.powf(x));
        let phase = interpolate(&log_f, &l_phase, k, x);
        figures.phase_margin_deg = Some(180.0 + phase);
    }
    // The phase of a stable loop starts above −180°; find where it falls
    // through, whichever turn of the phase it is in.
    let turn = l_phase
        .first()
        .map_or(0.0, |p| 360.0 * ((p + 180.0) / 360.0).floor());
    if let Some((x, k)) = first_crossing(&log_f, &l_phase, turn - 180.0) {
        figures.phase_crossover_hz = Some(10f64.powf(x));
        figures.gain_margin_db = Some(-interpolate(&log_f, &l_db, k, x));
    }
    figures
}

/// Least rise, dB, of the plant's magnitude above its lowest point at
/// lower frequencies for [`plant_peak`] to call it a resonance.
pub const PLANT_PEAK_RISE_DB: f64 = 3.0;

/// The plant's resonance among the coherent points (sorted by frequency):
/// the point whose magnitude rises most above the lowest magnitude at any
/// coherent point below it, and that rise in dB. A mechanical resonance
/// shows as an anti-resonance dip followed by a peak on a falling curve,
/// so its highest point is not the plant's highest magnitude (the low
/// frequencies are, through the integrations); the rise out of the dip
/// finds it whatever the curve's slope. `None` without a plant estimate
/// or with no rise of [`PLANT_PEAK_RISE_DB`].
pub fn plant_peak(points: &[BodePoint]) -> Option<(f64, f64)> {
    let mut lowest = f64::INFINITY;
    let mut best: Option<(f64, f64)> = None;
    for point in points.iter().filter(|p| p.coherence >= COHERENT) {
        let db = decibels(point.plant?);
        let rise = db - lowest;
        if rise >= PLANT_PEAK_RISE_DB && best.is_none_or(|(_, most)| rise > most) {
            best = Some((point.frequency_hz, rise));
        }
        lowest = lowest.min(db);
    }
    best
}

/// The first `x` where `y` crosses `level` going down, linearly
/// interpolated, and the index of the point after it.
fn first_crossing(x: &[f64], y: &[f64], level: f64) -> Option<(f64, usize)> {
    (1..y.len()).find_map(|k| {
        let (a, b) = (y[k - 1] - level, y[k] - level);
        (a >= 0.0 && b < 0.0).then(|| (x[k - 1] + (x[k] - x[k - 1]) * a / (a - b), k))
    })
}

/// `y` at `at`, between points `k − 1` and `k` of `x`.
fn interpolate(x: &[f64], y: &[f64], k: usize, at: f64) -> f64 {
    let span = x[k] - x[k - 1];
    if span == 0.0 {
        return y[k];
    }
    y[k - 1] + (y[k] - y[k - 1]) * (at - x[k - 1]) / span
}

/// Refuses a sample rate that is not a positive number and channels of
/// different lengths.
fn check_record(
    sample_hz: f64,
    reference: &[f64],
    feedback: &[f64],
    effort: Option<&[f64]>,
) -> Result<(), FrequencyResponseError> {
    if !(sample_hz.is_finite() && sample_hz > 0.0) {
        return Err(FrequencyResponseError::BadSampleRate(sample_hz));
    }
    let n = reference.len();
    if feedback.len() != n || effort.is_some_and(|u| u.len() != n) {
        return Err(FrequencyResponseError::LengthMismatch {
            reference: n,
            feedback: feedback.len(),
            effort: effort.map_or(n, <[f64]>::len),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic white-ish noise in −1 … 1 (xorshift).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
            })
            .collect()
    }

    /// y[k] = b0·x[k] + b1·x[k−1] − a1·y[k−1], and its response at `f`.
    struct FirstOrder {
        b0: f64,
        b1: f64,
        a1: f64,
    }

    impl FirstOrder {
        fn filter(&self, x: &[f64]) -> Vec<f64> {
            let mut y = Vec::with_capacity(x.len());
            let (mut last_x, mut last_y) = (0.0, 0.0);
            for &value in x {
                let out = self.b0 * value + self.b1 * last_x - self.a1 * last_y;
                y.push(out);
                last_x = value;
                last_y = out;
            }
            y
        }

        fn response(&self, f: f64, sample_hz: f64) -> Complex64 {
            let z_inv = Complex64::from_polar(1.0, -std::f64::consts::TAU * f / sample_hz);
            (self.b0 + self.b1 * z_inv) / (1.0 + self.a1 * z_inv)
        }
    }

    fn unit_at_deg(phase: f64) -> Complex64 {
        Complex64::from_polar(1.0, phase.to_radians())
    }

    #[test]
    fn noise_between_coherent_points_does_not_shift_their_phase() {
        // A true phase falling through almost two turns, with a run of
        // noise where it falls only 105°, whose phase climbs 170° a point:
        // unwrapping along every point climbs with it, by 3400° over the run.
        let noisy = 10..30;
        let truth: Vec<f64> = (0..40)
            .map(|k| match k {
                0..10 => -30.0 * k as f64,
                10..30 => -270.0 - 5.0 * (k - 9) as f64,
                _ => -375.0 - 30.0 * (k - 30) as f64,
            })
            .collect();
        let values: Vec<Complex64> = truth
            .iter()
            .enumerate()
            .map(|(k, &phase)| {
                if noisy.contains(&k) {
                    unit_at_deg(170.0 * (k - noisy.start + 1) as f64)
                } else {
                    unit_at_deg(phase)
                }
            })
            .collect();
        let coherence: Vec<f64> = (0..40)
            .map(|k| if noisy.contains(&k) { 0.2 } else { 0.99 })
            .collect();
        let phase = unwrapped_phase_deg(&values, &coherence);
        let last_trusted = truth[noisy.start - 1];
        for (k, (&got, &expected)) in phase.iter().zip(&truth).enumerate() {
            if noisy.contains(&k) {
                assert!(
                    (got - last_trusted).abs() <= 180.0,
                    "point {k} at {got}° strays from the curve at {last_trusted}°"
                );
            } else {
                assert!(
                    (got - expected).abs() < 1e-9,
                    "point {k}: {got}° ≠ {expected}°"
                );
            }
        }
    }

    #[test]
    fn points_before_the_first_coherent_one_follow_it() {
        let values = [unit_at_deg(100.0), unit_at_deg(-170.0), unit_at_deg(170.0)];
        let phase = unwrapped_phase_deg(&values, &[0.1, 0.95, 0.95]);
        let expected = [-260.0, -170.0, -190.0];
        for (got, want) in phase.iter().zip(expected) {
            assert!((got - want).abs() < 1e-9, "{phase:?}");
        }
        // Nothing to trust: every phase stays principal.
        let phase = unwrapped_phase_deg(&values, &[0.1, 0.1, 0.1]);
        let expected = [100.0, -170.0, 170.0];
        for (got, want) in phase.iter().zip(expected) {
            assert!((got - want).abs() < 1e-9, "{phase:?}");
        }
    }

    #[test]
    fn recovers_a_known_digital_filter_with_full_coherence() {
        let sample_hz = 1000.0;
        let filter = FirstOrder {
            b0: 0.2,
            b1: 0.1,
            a1: -0.7,
        };
        let x = noise(64 * 1024, 7);
        let y = filter.filter(&x);
        let points = estimate_response(sample_hz, &x, &y, None, 1024).expect("valid record");
        assert_eq!(points.len(), 512);
        for point in points.iter().filter(|p| p.frequency_hz < 400.0) {
            let expected = filter.response(point.frequency_hz, sample_hz);
            let error_db = (decibels(point.closed_loop) - decibels(expected)).abs();
            let error_deg = (point.closed_loop / expected).arg().to_degrees().abs();
            assert!(error_db < 0.1, "{} Hz: {error_db} dB", point.frequency_hz);
            assert!(error_deg < 1.0, "{} Hz: {error_deg}°", point.frequency_hz);
            assert!(point.coherence > 0.99, "{point:?}");
        }
    }

    #[test]
    fn noise_on_the_output_lowers_coherence_but_not_the_estimate() {
        let sample_hz = 1000.0;
        let filter = FirstOrder {
            b0: 1.0,
            b1: 0.0,
            a1: -0.5,
        };
        let x = noise(128 * 1024, 3);
        let disturbance = noise(x.len(), 99);
        let y: Vec<f64> = filter
            .filter(&x)
            .iter()
            .zip(&disturbance)
            .map(|(y, d)| y + d)
            .collect();
        let points = estimate_response(sample_hz, &x, &y, None, 512).expect("valid");
        let mean_coherence = points.iter().map(|p| p.coherence).sum::<f64>() / points.len() as f64;
        assert!(mean_coherence < 0.9, "{mean_coherence}");
        let worst = points
            .iter()
            .map(|p| (p.closed_loop - filter.response(p.frequency_hz, sample_hz)).norm())
            .fold(0.0, f64::max);
        assert!(
            worst < 0.15,
            "H1 stays unbiased under output noise: {worst}"
        );
    }

    #[test]
    fn plant_through_the_reference_as_instrument() {
        // u = C·(r − y), y = P·u with C = 2 and P a first-order lag.
        let sample_hz = 1000.0;
        let plant = FirstOrder {
            b0: 0.0,
            b1: 0.1,
            a1: -0.9,
        };
        let r = noise(32 * 1024, 5);
        let (mut u, mut y) = (Vec::new(), Vec::new());
        let (mut last_u, mut last_y) = (0.0, 0.0);
        for &reference in &r {
            let output = plant.b1 * last_u - plant.a1 * last_y;
            let effort = 2.0 * (reference - output);
            y.push(output);
            u.push(effort);
            last_u = effort;
            last_y = output;
        }
        let points = estimate_response(sample_hz, &r, &y, Some(&u), 1024).expect("valid");
        // From the third bin: the lowest ones are shaped by the removed mean.
        for point in points
            .iter()
            .filter(|p| (2.0..300.0).contains(&p.frequency_hz))
        {
            let p = point.plant.expect("effort given");
            let expected = plant.response(point.frequency_hz, sample_hz);
            assert!((p / expected - 1.0).norm() < 0.01, "{point:?}");
            let l = 2.0 * expected;
            assert!((point.open_loop / l - 1.0).norm() < 0.01, "{point:?}");
        }
    }

    #[test]
    fn a_sine_is_measured_at_its_frequency() {
        let sample_hz = 2000.0;
        let f = 37.0;
        let omega = std::f64::consts::TAU * f / sample_hz;
        let r: Vec<f64> = (0..4000).map(|k| 1.0 + (omega * k as f64).sin()).collect();
        let y: Vec<f64> = (0..4000)
            .map(|k| 0.5 * (omega * k as f64 - 0.6).sin())
            .collect();
        let point = sine_response(sample_hz, f, &r, &y, None).expect("valid");
        assert!((point.closed_loop.norm() - 0.5).abs() < 1e-3, "{point:?}");
        assert!((point.closed_loop.arg() + 0.6).abs() < 1e-3, "{point:?}");
        assert!(point.coherence > 0.999);
    }

    /// Points of an analytic open loop L, with T = L / (1 + L).
    fn analytic_points(open_loop: impl Fn(Complex64) -> Complex64) -> Vec<BodePoint> {
        (0..2000)
            .map(|k| {
                let f = 10f64.powf(-1.0 + 4.0 * k as f64 / 2000.0);
                let l = open_loop(Complex64::new(0.0, std::f64::consts::TAU * f));
                BodePoint::new(f, l / (1.0 + l), 1.0, None)
            })
            .collect()
    }

    #[test]
    fn margins_of_an_analytic_loop() {
        // L = K / (s·(s/a + 1)·(s/b + 1)), a = 10, b = 100 rad/s, K = 20.
        let (k, a, b) = (20.0, 10.0, 100.0);
        let points = analytic_points(|s| k / (s * (s / a + 1.0) * (s / b + 1.0)));
        for point in points.iter().step_by(97) {
            let s = Complex64::new(0.0, std::f64::consts::TAU * point.frequency_hz);
            let l = k / (s * (s / a + 1.0) * (s / b + 1.0));
            assert!(
                (point.open_loop / l - 1.0).norm() < 1e-9,
                "T/(1 − T) gives L back"
            );
        }
        let figures = loop_figures(&points);
        // Phase −180° where ω² = a·b; there |L| = K/(ω·(1 + ω²/a²)^½·(1 + ω²/b²)^½).
        let w180 = (a * b).sqrt();
        let l180 = k
            / (w180 * (1.0 + w180 * w180 / (a * a)).sqrt() * (1.0 + w180 * w180 / (b * b)).sqrt());
        let gain_margin = -20.0 * l180.log10();
        let pc = figures.phase_crossover_hz.expect("crosses −180°");
        assert!(
            (pc / (w180 / std::f64::consts::TAU) - 1.0).abs() < 2e-3,
            "{pc}"
        );
        let gm = figures.gain_margin_db.expect("has a gain margin");
        assert!((gm - gain_margin).abs() < 0.05, "{gm} vs {gain_margin}");
        // Crossover: solve |L(jω)| = 1 by bisection, then the phase margin.
        let magnitude =
            |w: f64| k / (w * (1.0 + w * w / (a * a)).sqrt() * (1.0 + w * w / (b * b)).sqrt());
        let (mut lo, mut hi) = (0.1_f64, 1000.0_f64);
        for _ in 0..100 {
            let mid = (lo * hi).sqrt();
            if magnitude(mid) > 1.0 {
                lo = mid
            } else {
                hi = mid
            }
        }
        let wc = lo;
        let phase_margin = 90.0 - (wc / a).atan().to_degrees() - (wc / b).atan().to_degrees();
        let crossover = figures.crossover_hz.expect("crosses 0 dB");
        assert!(
            (crossover / (wc / std::f64::consts::TAU) - 1.0).abs() < 2e-3,
            "{crossover}"
        );
        let pm = figures.phase_margin_deg.expect("has a phase margin");
        assert!((pm - phase_margin).abs() < 0.1, "{pm} vs {phase_margin}");
    }

    #[test]
    fn bandwidth_and_resonance_of_a_second_order_loop() {
        // T = ωn² / (s² + 2ζωn·s + ωn²): peak 1/(2ζ√(1−ζ²)) at ωn·√(1−2ζ²).
        let (wn, zeta) = (50.0, 0.2);
        let points = analytic_points(|s| wn * wn / (s * (s + 2.0 * zeta * wn)));
        let figures = loop_figures(&points);
        let peak_db = -20.0 * (2.0 * zeta * (1.0 - zeta * zeta).sqrt()).log10();
        let peak_hz = wn * (1.0 - 2.0 * zeta * zeta).sqrt() / std::f64::consts::TAU;
        assert!((figures.resonance_db.expect("peak") - peak_db).abs() < 0.01);
        assert!((figures.resonance_hz.expect("peak") / peak_hz - 1.0).abs() < 5e-3);
        let q = 1.0 - 2.0 * zeta * zeta;
        let bandwidth = wn * (q + (q * q + 1.0).sqrt()).sqrt() / std::f64::consts::TAU;
        let measured = figures.bandwidth_hz.expect("falls below −3 dB");
        assert!(
            (measured / bandwidth - 1.0).abs() < 2e-3,
            "{measured} vs {bandwidth}"
        );
    }

    #[test]
    fn low_coherence_points_are_left_out_and_bad_records_refused() {
        let mut points = analytic_points(|s| 20.0 / (s * (s / 10.0 + 1.0)));
        for point in &mut points {
            point.coherence = 0.5;
        }
        assert_eq!(loop_figures(&points), LoopFigures::default());
        let x = [0.0; 16];
        assert_eq!(
            estimate_response(100.0, &x, &x[..8], None, 8),
            Err(FrequencyResponseError::LengthMismatch {
                reference: 16,
                feedback: 8,
                effort: 16
            })
        );
        assert_eq!(
            estimate_response(100.0, &x, &x, None, 8),
            Err(FrequencyResponseError::NoExcitation)
        );
        assert_eq!(
            estimate_response(100.0, &x, &x, None, 32),
            Err(FrequencyResponseError::TooShort {
                got: 16,
                needed: 32
            })
        );
        let mut bad = x;
        bad[3] = f64::NAN;
        assert_eq!(
            estimate_response(100.0, &bad, &x, None, 8),
            Err(FrequencyResponseError::NotFinite)
        );
    }

    /// A two-mass plant, Kt·(J_L·s² + k) / (s²·(J_M·J_L·s² + k·(J_M + J_L)))
    /// with light damping: it falls through the low frequencies, dips at
    /// the anti-resonance √(k/J_L) and peaks at √(k·(J_M + J_L)/(J_M·J_L)).
    /// The peak is found there, not at the lowest (highest) frequency.
    #[test]
    fn plant_peak_is_the_resonance_after_the_dip() {
        let (jm, jl, k, c): (f64, f64, f64, f64) = (2e-4, 5e-4, 50.0, 2e-3);
        let resonance = (k * (jm + jl) / (jm * jl)).sqrt() / std::f64::consts::TAU;
        let points: Vec<BodePoint> = (0..400)
            .map(|i| {
                let f = 5.0 * 1.01f64.powi(i);
                let s = Complex64::new(0.0, std::f64::consts::TAU * f);
                let coupling = c * s + k;
                let plant = 0.05 * (jl * s * s + coupling)
                    / ((jm * s * s + coupling) * (jl * s * s + coupling) - coupling * coupling);
                let mut point = BodePoint::new(f, Complex64::new(0.5, 0.0), 1.0, Some(plant));
                if (f - 200.0).abs() < 10.0 {
                    // An incoherent spike does not count.
                    point.plant = Some(plant * 1e6);
                    point.coherence = 0.5;
                }
                point
            })
            .collect();
        let (peak, rise) = plant_peak(&points).expect("a peak");
        assert!(
            (peak / resonance - 1.0).abs() < 0.01,
            "{peak} vs {resonance}"
        );
        assert!(rise > 20.0, "{rise}");
        // A plain double integrator never rises: no peak.
        let falling: Vec<BodePoint> = points
            .iter()
            .map(|p| {
                let w = std::f64::consts::TAU * p.frequency_hz;
                BodePoint::new(
                    p.frequency_hz,
                    p.closed_loop,
                    1.0,
                    Some(Complex64::new(-1.0 / (w * w), 0.0)),
                )
            })
            .collect();
        assert_eq!(plant_peak(&falling), None);
    }
}
