//! Metrics of one step response with MATLAB `stepinfo`'s definitions, plus
//! the error integrals and effort use, measured on recorded samples.
//!
//! The contract:
//! - Input is one step: `time`, `reference`, `feedback` and optionally
//!   `effort`, sampled together, time strictly increasing, every value
//!   finite. The reference is constant before the step and constant after
//!   it; no change, or a second change, is an error, never a guess.
//! - The step time is the time of the first sample showing the new
//!   reference; the hold runs from that sample to the last one.
//! - The initial value is the mean feedback before the step. The final value
//!   is the mean feedback over the last 10 % of the hold unless given.
//!   Δ = final − initial, as in `stepinfo`. Percentages are of |Δ|; a step
//!   down is measured as the mirror image of a step up.
//! - Times are seconds after the step time (except [`StepMetrics::step_time`]).
//!   Threshold crossings are interpolated linearly between samples; peaks
//!   are sample values.
//! - A response that never reaches the upper rise threshold is
//!   [`Rise::NotReached`]. One that leaves the settling band during the last
//!   10 % of the hold (the window the final value is measured on) is
//!   [`Settling::NotSettled`]: a hold too short to show the response staying
//!   in the band cannot vouch for a settling time.

/// Share of the hold, at its end, that gives the final value and must stay
/// in the settling band.
pub(super) const FINAL_WINDOW_FRACTION: f64 = 0.1;
/// Fewest samples from the step on: enough to interpolate a crossing and
/// still have a sample after it.
const MIN_HOLD_SAMPLES: usize = 3;
/// Fewest samples in a record: one before the step and a minimal hold.
const MIN_SAMPLES: usize = 1 + MIN_HOLD_SAMPLES;
/// Relative change of the reference that counts as a step. Setpoints are
/// recorded as written, so anything above rounding is a deliberate change.
pub(super) const REFERENCE_CHANGE_TOLERANCE: f64 = 1e-9;

/// One recorded step: channels sampled at the same instants.
#[derive(Clone, Copy, Debug)]
pub struct StepRecord<'a> {
    /// Sample times in seconds, strictly increasing.
    pub time: &'a [f64],
    /// The setpoint: constant, one step, constant.
    pub reference: &'a [f64],
    /// The measured response, in the reference's unit.
    pub feedback: &'a [f64],
    /// The controller output, when the device reports it.
    pub effort: Option<&'a [f64]>,
}

/// How to measure: `stepinfo`'s options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOptions {
    /// Rise thresholds as fractions of Δ, low then high.
    pub rise_limits: (f64, f64),
    /// Half-width of the settling band as a fraction of |Δ|.
    pub settling_band: f64,
    /// The final value to measure against, instead of the mean of the last
    /// 10 % of the hold.
    pub final_value: Option<f64>,
    /// |effort| at or above which the drive counts as saturated.
    pub effort_limit: Option<f64>,
}

impl Default for StepOptions {
    /// 10 % → 90 % rise, 2 % settling band, measured final value, no
    /// saturation limit.
    fn default() -> Self {
        Self {
            rise_limits: (0.1, 0.9),
            settling_band: 0.02,
            final_value: None,
            effort_limit: None,
        }
    }
}

/// When the response crossed the rise thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rise {
    /// `start`: seconds from the step to the last crossing of the low
    /// threshold before the high one (dead time shows here);
    /// `duration`: seconds from there to the first crossing of the high
    /// threshold, the rise time.
    Reached {
        /// Seconds from the step to the start of the rise.
        start: f64,
        /// The rise time, in seconds.
        duration: f64,
    },
    /// The response never reached the high threshold within the hold.
    NotReached,
}

impl Rise {
    /// The rise time, s, when the response rose.
    pub fn time(self) -> Option<f64> {
        match self {
            Self::Reached { duration, .. } => Some(duration),
            Self::NotReached => None,
        }
    }
}

/// Whether and when the response entered the settling band for good.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Settling {
    /// Seconds from the step after which the response stays in the band.
    Settled(f64),
    /// The response was outside the band during the last 10 % of the hold.
    NotSettled,
}

impl Settling {
    /// The settling time, s, when the response settled.
    pub fn time(self) -> Option<f64> {
        match self {
            Self::Settled(t) => Some(t),
            Self::NotSettled => None,
        }
    }
}

/// Lowest and highest feedback once the response has risen (from the first
/// sample at or past the high rise threshold to the end of the hold).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SettlingExtremes {
    /// The lowest feedback, in its unit.
    pub min: f64,
    /// The highest feedback, in its unit.
    pub max: f64,
}

/// How hard the controller pushed during the hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EffortMetrics {
    /// The effort sample farthest from zero, with its sign.
    pub peak: f64,
    /// Seconds with |effort| at or above the limit, each sample held until
    /// the next (drives apply effort piecewise constant); `None` without a
    /// limit.
    pub time_in_saturation: Option<f64>,
}

/// Everything measured on one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepMetrics {
    /// Time of the first sample with the new reference, in record time.
    pub step_time: f64,
    /// Mean feedback before the step.
    pub initial_value: f64,
    /// Mean feedback over the last 10 % of the hold, or the given one.
    pub final_value: f64,
    /// When the response crossed the rise thresholds.
    pub rise: Rise,
    /// Whether and when it settled.
    pub settling: Settling,
    /// `None` when the response never reached the high rise threshold.
    pub settling_extremes: Option<SettlingExtremes>,
    /// How far the response went past the final value, in % of |Δ|.
    pub overshoot_percent: f64,
    /// How far the response went the wrong way from the initial value, in %
    /// of |Δ|.
    pub undershoot_percent: f64,
    /// The feedback sample farthest from the initial value.
    pub peak: f64,
    /// Seconds from the step to [`StepMetrics::peak`].
    pub peak_time: f64,
    /// Reference after the step minus the final value.
    pub steady_state_error: f64,
    /// ∫|e| dt over the hold, e = reference − feedback.
    pub iae: f64,
    /// ∫e² dt over the hold.
    pub ise: f64,
    /// ∫(t − step time)·|e| dt over the hold.
    pub itae: f64,
    /// `None` when the record has no effort channel.
    pub effort: Option<EffortMetrics>,
}

/// Why a record cannot be measured.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StepMetricsError {
    #[error(
        "{channel} has {len} samples but time has {time_len}: the channels must be sampled together"
    )]
    /// A channel has a different length from the time column.
    LengthMismatch {
        /// The channel's name.
        channel: &'static str,
        /// Its length.
        len: usize,
        /// The time column's length.
        time_len: usize,
    },
    #[error("only {len} samples: a step needs at least {min}, one of them before the step")]
    /// Too few samples for a step.
    TooFewSamples {
        /// Samples given.
        len: usize,
        /// Samples needed.
        min: usize,
    },
    #[error("{channel} sample {index} is not a finite number: cut the record around the gap")]
    /// A sample is NaN or infinite.
    NotFinite {
        /// The channel's name.
        channel: &'static str,
        /// The sample's index.
        index: usize,
    },
    #[error("time does not increase at sample {index}: sort the samples and drop duplicates")]
    /// Time goes backwards or repeats.
    TimeNotIncreasing {
        /// The first sample where it does.
        index: usize,
    },
    #[error("the reference never changes: there is no step to measure")]
    /// The reference never changes.
    NoStep,
    #[error("the reference changes again at {time} s: measure one step at a time")]
    /// The reference changes more than once.
    MoreThanOneStep {
        /// Record time of the second change, in seconds.
        time: f64,
    },
    #[error("only {len} samples from the step on: the hold needs at least {min}")]
    /// Too few samples after the step.
    HoldTooShort {
        /// Samples from the step on.
        len: usize,
        /// Samples needed.
        min: usize,
    },
    #[error("the feedback did not move across the step: is the drive enabled?")]
    /// The feedback did not move.
    NoResponse,
    #[error("rise limits {low} → {high} must satisfy 0 ≤ low < high ≤ 1")]
    /// The rise thresholds are not 0 ≤ low < high ≤ 1.
    InvalidRiseLimits {
        /// The low threshold, a fraction of the change.
        low: f64,
        /// The high threshold, a fraction of the change.
        high: f64,
    },
    #[error("settling band {0} must be a fraction above 0 and below 1")]
    /// The settling band is not a fraction in (0, 1).
    InvalidSettlingBand(f64),
    #[error("the given final value {0} is not a finite number")]
    /// The given final value is not finite.
    InvalidFinalValue(f64),
    #[error("effort limit {0} must be a finite number above 0")]
    /// The effort limit is not a finite number above 0.
    InvalidEffortLimit(f64),
}

/// Measure one step: see the module documentation for the definitions.
pub fn step_metrics(
    record: &StepRecord<'_>,
    options: &StepOptions,
) -> Result<StepMetrics, StepMetricsError> {
    validate_options(options)?;
    validate_record(record)?;
    let StepRecord {
        time,
        reference,
        feedback,
        effort,
    } = *record;

    let step = find_step(time, reference)?;
    let hold_len = time.len() - step;
    if hold_len < MIN_HOLD_SAMPLES {
        return Err(StepMetricsError::HoldTooShort {
            len: hold_len,
            min: MIN_HOLD_SAMPLES,
        });
    }
    let step_time = time[step];
    let end_time = time[time.len() - 1];
    let final_window_start = end_time - FINAL_WINDOW_FRACTION * (end_time - step_time);

    let initial_value = mean(&feedback[..step]);
    let final_value = match options.final_value {
        Some(given) => given,
        None => mean(&feedback[time.partition_point(|&t| t < final_window_start)..]),
    };
    let delta = final_value - initial_value;
    if delta.abs() <= f64::EPSILON * initial_value.abs().max(final_value.abs()) {
        return Err(StepMetricsError::NoResponse);
    }

    let hold_time = &time[step..];
    let hold_feedback = &feedback[step..];
    // The response as a fraction of the way from initial to final value:
    // one set of thresholds serves steps up and down alike.
    let progress: Vec<f64> = hold_feedback
        .iter()
        .map(|y| (y - initial_value) / delta)
        .collect();

    let (low, high) = options.rise_limits;
    let high_index = progress.iter().position(|&p| p >= high);
    let rise = match high_index {
        Some(high_index) => {
            let (start, end) = rise_crossings(hold_time, &progress, high_index, low, high);
            Rise::Reached {
                start: start - step_time,
                duration: end - start,
            }
        }
        None => Rise::NotReached,
    };
    let settling_extremes = high_index.map(|high_index| SettlingExtremes {
        min: hold_feedback[high_index..]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min),
        max: hold_feedback[high_index..]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max),
    });
    let settling = settling(
        hold_time,
        &progress,
        options.settling_band,
        final_window_start,
    );

    let most_progress = progress.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let least_progress = progress.iter().copied().fold(f64::INFINITY, f64::min);
    let peak_index = index_of_largest_magnitude(&progress);

    let reference_after = reference[step];
    let error: Vec<f64> = hold_feedback.iter().map(|y| reference_after - y).collect();
    let since_step: Vec<f64> = hold_time.iter().map(|t| t - step_time).collect();

    Ok(StepMetrics {
        step_time,
        initial_value,
        final_value,
        rise,
        settling,
        settling_extremes,
        overshoot_percent: 100.0 * (most_progress - 1.0).max(0.0),
        undershoot_percent: 100.0 * (-least_progress).max(0.0),
        peak: hold_feedback[peak_index],
        peak_time: since_step[peak_index],
        steady_state_error: reference_after - final_value,
        iae: trapezoid(hold_time, error.iter().map(|e| e.abs())),
        ise: trapezoid(hold_time, error.iter().map(|e| e * e)),
        itae: trapezoid(
            hold_time,
            error.iter().zip(&since_step).map(|(e, t)| t * e.abs()),
        ),
        effort: effort.map(|effort| effort_metrics(hold_time, &effort[step..], options)),
    })
}

fn validate_options(options: &StepOptions) -> Result<(), StepMetricsError> {
    let (low, high) = options.rise_limits;
    // Written so that NaN fails every comparison and is refused.
    if !(0.0 <= low && low < high && high <= 1.0) {
        return Err(StepMetricsError::InvalidRiseLimits { low, high });
    }
    let band = options.settling_band;
    if !(band > 0.0 && band < 1.0) {
        return Err(StepMetricsError::InvalidSettlingBand(band));
    }
    if let Some(given) = options.final_value.filter(|v| !v.is_finite()) {
        return Err(StepMetricsError::InvalidFinalValue(given));
    }
    if let Some(limit) = options
        .effort_limit
        .filter(|&limit| !(limit.is_finite() && limit > 0.0))
    {
        return Err(StepMetricsError::InvalidEffortLimit(limit));
    }
    Ok(())
}

fn validate_record(record: &StepRecord<'_>) -> Result<(), StepMetricsError> {
    let time_len = record.time.len();
    let channels = [
        ("time", Some(record.time)),
        ("reference", Some(record.reference)),
        ("feedback", Some(record.feedback)),
        ("effort", record.effort),
    ];
    let channels = channels
        .into_iter()
        .filter_map(|(name, values)| values.map(|values| (name, values)));
    for (channel, values) in channels.clone() {
        if values.len() != time_len {
            return Err(StepMetricsError::LengthMismatch {
                channel,
                len: values.len(),
                time_len,
            });
        }
    }
    if time_len < MIN_SAMPLES {
        return Err(StepMetricsError::TooFewSamples {
            len: time_len,
            min: MIN_SAMPLES,
        });
    }
    for (channel, values) in channels {
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(StepMetricsError::NotFinite { channel, index });
        }
    }
    if let Some(index) = record.time.windows(2).position(|pair| pair[1] <= pair[0]) {
        return Err(StepMetricsError::TimeNotIncreasing { index: index + 1 });
    }
    Ok(())
}

/// Index of the first sample with the new reference, after checking that
/// the reference holds still from there on.
fn find_step(time: &[f64], reference: &[f64]) -> Result<usize, StepMetricsError> {
    let changed =
        |a: f64, b: f64| (a - b).abs() > REFERENCE_CHANGE_TOLERANCE * a.abs().max(b.abs());
    let step = reference
        .iter()
        .position(|&r| changed(r, reference[0]))
        .ok_or(StepMetricsError::NoStep)?;
    match reference[step..]
        .iter()
        .position(|&r| changed(r, reference[step]))
    {
        Some(offset) => Err(StepMetricsError::MoreThanOneStep {
            time: time[step + offset],
        }),
        None => Ok(step),
    }
}

/// Times of the low and high rise crossings, as `stepinfo` takes them: the
/// first reach of the high threshold, and the last crossing of the low one
/// before it, so that a dip below the start (undershoot) is not counted as
/// rising.
fn rise_crossings(
    time: &[f64],
    progress: &[f64],
    high_index: usize,
    low: f64,
    high: f64,
) -> (f64, f64) {
    let end = match high_index {
        0 => time[0],
        _ => crossing(time, progress, high_index - 1, high),
    };
    let start = match progress[..high_index].iter().rposition(|&p| p < low) {
        Some(below) => crossing(time, progress, below, low),
        None => time[0],
    };
    (start, end)
}

fn settling(time: &[f64], progress: &[f64], band: f64, confirm_from: f64) -> Settling {
    let Some(last_outside) = progress.iter().rposition(|&p| (p - 1.0).abs() > band) else {
        return Settling::Settled(0.0);
    };
    if last_outside + 1 == progress.len() {
        return Settling::NotSettled;
    }
    let edge = if progress[last_outside] > 1.0 {
        1.0 + band
    } else {
        1.0 - band
    };
    let entered = crossing(time, progress, last_outside, edge);
    if entered >= confirm_from {
        Settling::NotSettled
    } else {
        Settling::Settled(entered - time[0])
    }
}

/// Time at which the straight line between samples `i` and `i + 1` meets
/// `level`; the caller guarantees the two samples lie on either side of it.
fn crossing(time: &[f64], values: &[f64], i: usize, level: f64) -> f64 {
    let fraction = (level - values[i]) / (values[i + 1] - values[i]);
    time[i] + fraction * (time[i + 1] - time[i])
}

fn effort_metrics(time: &[f64], effort: &[f64], options: &StepOptions) -> EffortMetrics {
    let time_in_saturation = options.effort_limit.map(|limit| {
        time.windows(2)
            .zip(effort)
            .filter(|(_, e)| e.abs() >= limit)
            .map(|(pair, _)| pair[1] - pair[0])
            .sum()
    });
    EffortMetrics {
        peak: effort[index_of_largest_magnitude(effort)],
        time_in_saturation,
    }
}

/// First index of the value farthest from zero; `values` is not empty.
fn index_of_largest_magnitude(values: &[f64]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, v)| {
            if v.abs() > best.1 { (i, v.abs()) } else { best }
        })
        .0
}

/// Mean of a slice the caller knows is not empty.
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Trapezoidal integral of `values` over the actual sample times.
fn trapezoid(time: &[f64], values: impl Iterator<Item = f64>) -> f64 {
    let mut values = values;
    let Some(mut previous) = values.next() else {
        return 0.0;
    };
    time.windows(2)
        .zip(values)
        .map(|(t, value)| {
            let area = (t[1] - t[0]) * (previous + value) / 2.0;
            previous = value;
            area
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// 10 kHz, finely enough that interpolated crossings land within a small
    /// fraction of a sample of the analytic answer.
    const DT: f64 = 1e-4;
    /// Time before the step in every synthetic record.
    const PRE: f64 = 0.05;

    /// A record sampled every `DT`: `PRE` seconds at `initial`, then a
    /// reference step of `delta` held for `hold` seconds, with feedback
    /// `initial + delta · response(seconds since the step)`.
    struct Synthetic {
        time: Vec<f64>,
        reference: Vec<f64>,
        feedback: Vec<f64>,
    }

    impl Synthetic {
        fn new(initial: f64, delta: f64, hold: f64, response: impl Fn(f64) -> f64) -> Self {
            let step = (PRE / DT).round() as usize;
            let len = step + (hold / DT).round() as usize + 1;
            // Times since the step from integer indices, so the step sample
            // sits exactly at zero.
            let since_step = |k: usize| (k as f64 - step as f64) * DT;
            let after_step = |k: usize| k >= step;
            Self {
                time: (0..len).map(|k| PRE + since_step(k)).collect(),
                reference: (0..len)
                    .map(|k| initial + if after_step(k) { delta } else { 0.0 })
                    .collect(),
                feedback: (0..len)
                    .map(|k| {
                        initial
                            + if after_step(k) {
                                delta * response(since_step(k))
                            } else {
                                0.0
                            }
                    })
                    .collect(),
            }
        }

        fn record(&self) -> StepRecord<'_> {
            StepRecord {
                time: &self.time,
                reference: &self.reference,
                feedback: &self.feedback,
                effort: None,
            }
        }

        fn metrics(&self, options: &StepOptions) -> StepMetrics {
            match step_metrics(&self.record(), options) {
                Ok(metrics) => metrics,
                Err(error) => panic!("synthetic record refused: {error}"),
            }
        }
    }

    fn first_order(tau: f64) -> impl Fn(f64) -> f64 {
        move |t| 1.0 - (-t / tau).exp()
    }

    fn delayed_first_order(delay: f64, tau: f64) -> impl Fn(f64) -> f64 {
        move |t| {
            if t < delay {
                0.0
            } else {
                1.0 - (-(t - delay) / tau).exp()
            }
        }
    }

    /// Unit step response of ωn² / (s² + 2ζωn s + ωn²), 0 < ζ < 1.
    fn second_order(zeta: f64, omega_n: f64) -> impl Fn(f64) -> f64 {
        let root = (1.0 - zeta * zeta).sqrt();
        move |t| 1.0 - (-zeta * omega_n * t).exp() / root * (omega_n * root * t + zeta.acos()).sin()
    }

    /// Root of `f` in [lo, hi] where `f` changes sign once.
    fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
        let lo_sign = f(lo) > 0.0;
        assert_ne!(lo_sign, f(hi) > 0.0, "no sign change in [{lo}, {hi}]");
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if (f(mid) > 0.0) == lo_sign {
                lo = mid
            } else {
                hi = mid
            }
        }
        0.5 * (lo + hi)
    }

    fn assert_close(what: &str, got: f64, want: f64, tolerance: f64) {
        assert!(
            (got - want).abs() <= tolerance,
            "{what}: got {got}, want {want} ± {tolerance}"
        );
    }

    fn reached(rise: Rise) -> (f64, f64) {
        match rise {
            Rise::Reached { start, duration } => (start, duration),
            Rise::NotReached => panic!("rise not reached"),
        }
    }

    fn settled(settling: Settling) -> f64 {
        match settling {
            Settling::Settled(time) => time,
            Settling::NotSettled => panic!("not settled"),
        }
    }

    /// Crossings are interpolated, so they are good to a small fraction of
    /// a sample; sample-valued times (peak time) to half a sample.
    const CROSSING_TOLERANCE: f64 = 0.01 * DT;
    const SAMPLE_TOLERANCE: f64 = 0.5 * DT;
    /// Settling extremes are sample values: where the lowest one is the
    /// first sample past 90 %, it overshoots the threshold by up to one
    /// sample's travel (slope · DT, below 1e-3 of Δ in these responses).
    const EXTREME_TOLERANCE: f64 = 1e-3;

    /// Checks the settling extremes against the lowest and highest progress
    /// (fractions of the way from initial to final value) after the rise;
    /// for a step down the lowest progress is the highest value.
    fn assert_settling_extremes(
        case: &str,
        metrics: &StepMetrics,
        initial: f64,
        delta: f64,
        (lowest, highest): (f64, f64),
    ) {
        let Some(extremes) = metrics.settling_extremes else {
            panic!("{case}: no settling extremes")
        };
        let (min, max) = if delta > 0.0 {
            (lowest, highest)
        } else {
            (highest, lowest)
        };
        let tolerance = EXTREME_TOLERANCE * delta.abs();
        assert_close(case, extremes.min, initial + delta * min, tolerance);
        assert_close(case, extremes.max, initial + delta * max, tolerance);
    }

    #[test]
    fn first_order_lag_matches_analytic_metrics() {
        let tau = 0.1;
        // (initial, Δ): up, down, and away from zero.
        for (initial, delta) in [(0.0, 1.0), (2.0, -1.5), (-3.0, 0.25), (10.0, -40.0)] {
            let case = format!("initial {initial}, Δ {delta}");
            // 20 τ: the tail left out of the analytic integrals is e^-20, and the
            // final value measured on the last tenth is off by under e^-18.
            let record = Synthetic::new(initial, delta, 20.0 * tau, first_order(tau));
            let metrics = record.metrics(&StepOptions::default());

            assert_close(&case, metrics.step_time, PRE, 1e-12);
            assert_close(&case, metrics.initial_value, initial, 1e-12);
            assert_close(
                &case,
                metrics.final_value,
                initial + delta,
                1e-7 * delta.abs(),
            );
            let (start, duration) = reached(metrics.rise);
            assert_close(
                &case,
                start,
                tau * (10.0_f64 / 9.0).ln(),
                CROSSING_TOLERANCE,
            );
            assert_close(&case, duration, tau * 9.0_f64.ln(), CROSSING_TOLERANCE);
            assert_close(
                &case,
                settled(metrics.settling),
                tau * 50.0_f64.ln(),
                CROSSING_TOLERANCE,
            );
            // The samples after the final-value window's mean count as a
            // sliver of overshoot, as they would in `stepinfo`.
            assert_close(&case, metrics.overshoot_percent, 0.0, 1e-3);
            assert_eq!(metrics.undershoot_percent, 0.0, "{case}");
            assert_close(&case, metrics.steady_state_error, 0.0, 1e-7 * delta.abs());
            // The largest sample of a monotone response is the last one.
            assert_close(&case, metrics.peak_time, 20.0 * tau, SAMPLE_TOLERANCE);
            assert_eq!(
                Some(metrics.peak),
                record.feedback.last().copied(),
                "{case}"
            );
            assert_settling_extremes(&case, &metrics, initial, delta, (0.9, 1.0));
            // ∫|Δ|e^(-t/τ) = τ|Δ|, ∫Δ²e^(-2t/τ) = τΔ²/2, ∫t|Δ|e^(-t/τ) = τ²|Δ|.
            let relative = 1e-5;
            assert_close(
                &case,
                metrics.iae,
                tau * delta.abs(),
                relative * tau * delta.abs(),
            );
            assert_close(
                &case,
                metrics.ise,
                tau * delta * delta / 2.0,
                relative * tau * delta * delta,
            );
            assert_close(
                &case,
                metrics.itae,
                tau * tau * delta.abs(),
                relative * tau * tau * delta.abs(),
            );
            assert_eq!(metrics.effort, None, "{case}");
        }
    }

    #[test]
    fn second_order_underdamped_matches_analytic_metrics() {
        // (ζ, ωn, initial, Δ)
        for (zeta, omega_n, initial, delta) in [
            (0.3, 20.0, 0.0, 1.0),
            (0.3, 20.0, 1.0, -2.5),
            (0.1, 50.0, -0.5, 3.0),
            (0.6, 10.0, 4.0, -1.0),
        ] {
            let case = format!("ζ {zeta}, ωn {omega_n}, initial {initial}, Δ {delta}");
            let response = second_order(zeta, omega_n);
            let root = (1.0 - zeta * zeta).sqrt();
            let omega_d = omega_n * root;
            let decay = zeta * omega_n;
            // Hold long enough for the oscillation to die out (e^-18) in the
            // window the final value is measured on.
            let record = Synthetic::new(initial, delta, 20.0 / decay, &response);
            let metrics = record.metrics(&StepOptions::default());

            let overshoot = (-PI * zeta / root).exp();
            assert_close(&case, metrics.overshoot_percent, 100.0 * overshoot, 1e-3);
            assert_eq!(metrics.undershoot_percent, 0.0, "{case}");
            assert_close(&case, metrics.peak_time, PI / omega_d, SAMPLE_TOLERANCE);
            assert_close(
                &case,
                metrics.peak,
                initial + delta * (1.0 + overshoot),
                1e-5 * delta.abs(),
            );

            // Until the first peak the response rises monotonically, so each
            // threshold is crossed once there.
            let first_peak = PI / omega_d;
            let at_10 = bisect(|t| response(t) - 0.1, 0.0, first_peak);
            let at_90 = bisect(|t| response(t) - 0.9, 0.0, first_peak);
            let (start, duration) = reached(metrics.rise);
            assert_close(&case, start, at_10, CROSSING_TOLERANCE);
            assert_close(&case, duration, at_90 - at_10, CROSSING_TOLERANCE);

            // Extremes of the response sit at kπ/ωd with |y − 1| = e^(−ζωn t):
            // it settles just after the last extremum outside the band.
            let last_outside = ((1.0 / 0.02_f64).ln() / decay * omega_d / PI).floor();
            let extremum = |k: f64| k * PI / omega_d;
            let exact_settling = bisect(
                |t| (response(t) - 1.0).abs() - 0.02,
                extremum(last_outside),
                extremum(last_outside + 1.0),
            );
            assert_close(
                &case,
                settled(metrics.settling),
                exact_settling,
                CROSSING_TOLERANCE,
            );

            // After the rise: the first peak above, the first trough below.
            let trough = 1.0 - overshoot * overshoot;
            let range = (trough.min(0.9), 1.0 + overshoot);
            assert_settling_extremes(&case, &metrics, initial, delta, range);
        }
    }

    #[test]
    fn dead_time_delays_the_rise_start_but_not_the_rise_time() {
        let (delay, tau, delta) = (0.05, 0.1, 2.0);
        let record = Synthetic::new(0.0, delta, 2.0, delayed_first_order(delay, tau));
        let metrics = record.metrics(&StepOptions::default());

        let (start, duration) = reached(metrics.rise);
        assert_close(
            "rise start",
            start,
            delay + tau * (10.0_f64 / 9.0).ln(),
            CROSSING_TOLERANCE,
        );
        assert_close(
            "rise time",
            duration,
            tau * 9.0_f64.ln(),
            CROSSING_TOLERANCE,
        );
        assert_close(
            "settling",
            settled(metrics.settling),
            delay + tau * 50.0_f64.ln(),
            CROSSING_TOLERANCE,
        );
        // The error is the whole step during the delay: IAE = |Δ|(L + τ).
        assert_close("iae", metrics.iae, delta * (delay + tau), 1e-5 * delta);
    }

    #[test]
    fn non_minimum_phase_response_reports_undershoot_and_rises_after_the_dip() {
        // Step response of (1 − 2τs) / (1 + τs)²: 1 − e^(−t/τ)(1 + 3t/τ), which
        // dips to 1 − 3e^(−2/3) at t = 2τ/3 and then climbs monotonically.
        let tau = 0.1;
        let response = |t: f64| 1.0 - (-t / tau).exp() * (1.0 + 3.0 * t / tau);
        let record = Synthetic::new(0.0, 1.0, 20.0 * tau, response);
        let metrics = record.metrics(&StepOptions::default());

        assert_close(
            "undershoot",
            metrics.undershoot_percent,
            100.0 * (3.0 * (-2.0_f64 / 3.0).exp() - 1.0),
            1e-3,
        );
        assert_close("overshoot", metrics.overshoot_percent, 0.0, 1e-3);
        let dip = 2.0 * tau / 3.0;
        let at_10 = bisect(|t| response(t) - 0.1, dip, 20.0 * tau);
        let at_90 = bisect(|t| response(t) - 0.9, dip, 20.0 * tau);
        let (start, duration) = reached(metrics.rise);
        assert_close("rise start", start, at_10, CROSSING_TOLERANCE);
        assert_close("rise time", duration, at_90 - at_10, CROSSING_TOLERANCE);
    }

    #[test]
    fn sustained_oscillation_is_not_settled() {
        // ζ = 0: 1 − cos(ωn t) swings between 0 and 2 for ever.
        let omega_n = 2.0 * PI * 5.0;
        for hold in [1.0, 1.03, 1.07] {
            let record = Synthetic::new(0.0, 1.0, hold, |t| 1.0 - (omega_n * t).cos());
            let metrics = record.metrics(&StepOptions::default());
            assert_eq!(metrics.settling, Settling::NotSettled, "hold {hold}");
        }
    }

    #[test]
    fn settling_counts_only_when_the_last_tenth_of_the_hold_stays_in_the_band() {
        // First order with the final value given as 1: it enters the 2 % band
        // at τ ln 50 ≈ 0.391 s.
        let tau = 0.1;
        let options = StepOptions {
            final_value: Some(1.0),
            ..StepOptions::default()
        };
        // (hold, settled?): the last tenth starts at 0.9 · hold.
        for (hold, expect_settled) in [(0.42, false), (0.5, true)] {
            let record = Synthetic::new(0.0, 1.0, hold, first_order(tau));
            let settling = record.metrics(&options).settling;
            assert_eq!(
                matches!(settling, Settling::Settled(_)),
                expect_settled,
                "hold {hold}"
            );
        }
    }

    #[test]
    fn response_short_of_the_given_final_value_neither_rises_nor_settles() {
        // Stalls at half the step while the final value is given as the full step.
        let record = Synthetic::new(0.0, 1.0, 2.0, |t| 0.5 * (1.0 - (-t / 0.1).exp()));
        let options = StepOptions {
            final_value: Some(1.0),
            ..StepOptions::default()
        };
        let metrics = record.metrics(&options);
        assert_eq!(metrics.rise, Rise::NotReached);
        assert_eq!(metrics.settling, Settling::NotSettled);
        assert_eq!(metrics.settling_extremes, None);
        assert_eq!(metrics.steady_state_error, 0.0);
    }

    #[test]
    fn rise_limits_and_settling_band_are_honoured() {
        // 5 % → 95 % of a first-order lag takes τ ln 19; a 5 % band is
        // entered at τ ln 20.
        let tau = 0.1;
        let record = Synthetic::new(0.0, 1.0, 2.0, first_order(tau));
        let options = StepOptions {
            rise_limits: (0.05, 0.95),
            settling_band: 0.05,
            ..StepOptions::default()
        };
        let metrics = record.metrics(&options);
        assert_close(
            "rise time",
            reached(metrics.rise).1,
            tau * 19.0_f64.ln(),
            CROSSING_TOLERANCE,
        );
        assert_close(
            "settling",
            settled(metrics.settling),
            tau * 20.0_f64.ln(),
            CROSSING_TOLERANCE,
        );
    }

    #[test]
    fn effort_peak_and_time_in_saturation() {
        // Proportional effort K·e on a first-order lag, clipped at ±limit:
        // saturated while K·e^(−t/τ) ≥ limit, that is for τ ln(K/limit).
        let (tau, gain, limit) = (0.1, 5.0, 2.0);
        for delta in [1.0, -1.0] {
            let record = Synthetic::new(0.0, delta, 1.0, first_order(tau));
            let effort: Vec<f64> = record
                .reference
                .iter()
                .zip(&record.feedback)
                .map(|(r, y)| (gain * (r - y)).clamp(-limit, limit))
                .collect();
            let with_effort = StepRecord {
                effort: Some(&effort),
                ..record.record()
            };
            let options = StepOptions {
                effort_limit: Some(limit),
                ..StepOptions::default()
            };
            let Ok(metrics) = step_metrics(&with_effort, &options) else {
                panic!("record with effort refused")
            };
            let Some(effort) = metrics.effort else {
                panic!("no effort metrics")
            };
            assert_eq!(effort.peak, limit * delta);
            let Some(saturated) = effort.time_in_saturation else {
                panic!("no time in saturation")
            };
            // Each sample counts for the whole interval after it.
            assert_close("saturated", saturated, tau * (gain / limit).ln(), DT);

            let Ok(without_limit) = step_metrics(&with_effort, &StepOptions::default()) else {
                panic!("record with effort refused")
            };
            assert_eq!(
                without_limit.effort.and_then(|e| e.time_in_saturation),
                None
            );
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let time = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5];
        let reference = [0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let feedback = [0.0, 0.0, 0.5, 0.9, 1.0, 1.0];
        let good = StepRecord {
            time: &time,
            reference: &reference,
            feedback: &feedback,
            effort: None,
        };
        let nan_feedback = [0.0, 0.0, f64::NAN, 0.9, 1.0, 1.0];
        let backwards_time = [0.0, 0.1, 0.2, 0.2, 0.4, 0.5];
        let flat_reference = [1.0; 6];
        let two_steps = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let late_step = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0];
        let still_feedback = [0.3; 6];
        let defaults = StepOptions::default();
        use StepMetricsError as E;
        let cases: [(&str, StepRecord<'_>, StepOptions, StepMetricsError); 13] = [
            (
                "short feedback",
                StepRecord {
                    feedback: &feedback[..5],
                    ..good
                },
                defaults,
                E::LengthMismatch {
                    channel: "feedback",
                    len: 5,
                    time_len: 6,
                },
            ),
            (
                "long effort",
                StepRecord {
                    effort: Some(&[0.0; 7]),
                    ..good
                },
                defaults,
                E::LengthMismatch {
                    channel: "effort",
                    len: 7,
                    time_len: 6,
                },
            ),
            (
                "three samples",
                StepRecord {
                    time: &time[..3],
                    reference: &reference[..3],
                    feedback: &feedback[..3],
                    effort: None,
                },
                defaults,
                E::TooFewSamples {
                    len: 3,
                    min: MIN_SAMPLES,
                },
            ),
            (
                "NaN feedback",
                StepRecord {
                    feedback: &nan_feedback,
                    ..good
                },
                defaults,
                E::NotFinite {
                    channel: "feedback",
                    index: 2,
                },
            ),
            (
                "repeated time",
                StepRecord {
                    time: &backwards_time,
                    ..good
                },
                defaults,
                E::TimeNotIncreasing { index: 3 },
            ),
            (
                "no step",
                StepRecord {
                    reference: &flat_reference,
                    ..good
                },
                defaults,
                E::NoStep,
            ),
            (
                "two steps",
                StepRecord {
                    reference: &two_steps,
                    ..good
                },
                defaults,
                E::MoreThanOneStep { time: 0.4 },
            ),
            (
                "step too late",
                StepRecord {
                    reference: &late_step,
                    ..good
                },
                defaults,
                E::HoldTooShort {
                    len: 2,
                    min: MIN_HOLD_SAMPLES,
                },
            ),
            (
                "feedback still",
                StepRecord {
                    feedback: &still_feedback,
                    ..good
                },
                defaults,
                E::NoResponse,
            ),
            (
                "rise limits reversed",
                good,
                StepOptions {
                    rise_limits: (0.9, 0.1),
                    ..defaults
                },
                E::InvalidRiseLimits {
                    low: 0.9,
                    high: 0.1,
                },
            ),
            (
                "zero band",
                good,
                StepOptions {
                    settling_band: 0.0,
                    ..defaults
                },
                E::InvalidSettlingBand(0.0),
            ),
            (
                "infinite final value",
                good,
                StepOptions {
                    final_value: Some(f64::INFINITY),
                    ..defaults
                },
                E::InvalidFinalValue(f64::INFINITY),
            ),
            (
                "negative effort limit",
                good,
                StepOptions {
                    effort_limit: Some(-1.0),
                    ..defaults
                },
                E::InvalidEffortLimit(-1.0),
            ),
        ];
        assert!(
            step_metrics(&good, &defaults).is_ok(),
            "the base case must be valid"
        );
        for (case, record, options, expected) in cases {
            assert_eq!(step_metrics(&record, &options), Err(expected), "{case}");
        }
    }
}
