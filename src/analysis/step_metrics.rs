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
const FINAL_WINDOW_FRACTION: f64 = 0.1;
/// Fewest samples from the step on: enough to interpolate a crossing and
/// still have a sample after it.
const MIN_HOLD_SAMPLES: usize = 3;
/// Fewest samples in a record: one before the step and a minimal hold.
const MIN_SAMPLES: usize = 1 + MIN_HOLD_SAMPLES;
/// Relative change of the reference that counts as a step. Setpoints are
/// recorded as written, so anything above rounding is a deliberate change.
const REFERENCE_CHANGE_TOLERANCE: f64 = 1e-9;

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
    Reached { start: f64, duration: f64 },
    /// The response never reached the high threshold within the hold.
    NotReached,
}

/// Whether and when the response entered the settling band for good.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Settling {
    /// Seconds from the step after which the response stays in the band.
    Settled(f64),
    /// The response was outside the band during the last 10 % of the hold.
    NotSettled,
}

/// Lowest and highest feedback once the response has risen (from the first
/// sample at or past the high rise threshold to the end of the hold).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SettlingExtremes {
    pub min: f64,
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
    pub rise: Rise,
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
    LengthMismatch {
        channel: &'static str,
        len: usize,
        time_len: usize,
    },
    #[error("only {len} samples: a step needs at least {min}, one of them before the step")]
    TooFewSamples { len: usize, min: usize },
    #[error("{channel} sample {index} is not a finite number: cut the record around the gap")]
    NotFinite { channel: &'static str, index: usize },
    #[error("time does not increase at sample {index}: sort the samples and drop duplicates")]
    TimeNotIncreasing { index: usize },
    #[error("the reference never changes: there is no step to measure")]
    NoStep,
    #[error("the reference changes again at {time} s: measure one step at a time")]
    MoreThanOneStep { time: f64 },
    #[error("only {len} samples from the step on: the hold needs at least {min}")]
    HoldTooShort { len: usize, min: usize },
    #[error("the feedback did not move across the step: is the drive enabled?")]
    NoResponse,
    #[error("rise limits {low} → {high} must satisfy 0 ≤ low < high ≤ 1")]
    InvalidRiseLimits { low: f64, high: f64 },
    #[error("settling band {0} must be a fraction above 0 and below 1")]
    InvalidSettlingBand(f64),
    #[error("the given final value {0} is not a finite number")]
    InvalidFinalValue(f64),
    #[error("effort limit {0} must be a finite number above 0")]
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

