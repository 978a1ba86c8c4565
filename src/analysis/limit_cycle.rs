//! The limit cycle of a recorded relay experiment (Åström–Hägglund): its
//! amplitude and period over the last whole cycles, how steady they were,
//! and the ultimate gain and period they imply.
//!
//! The contract:
//! - Input is `time`, the relay `output` (the setpoint offset written, two
//!   levels `centre ± d`), the `feedback`, all sampled together, time
//!   strictly increasing, every value finite; and the relay's hysteresis ε
//!   in the feedback's unit (0 for an ideal relay).
//! - The centre and d come from the output's extremes: `centre = (max +
//!   min)/2`, `d = (max − min)/2`.
//! - A whole cycle runs from one switch of the output to its high level to
//!   the next; the record's first whole cycle is never used, as it carries
//!   the start transient. The last [`LimitCycleOptions::cycles`] whole
//!   cycles are measured: the period is the time between their switches,
//!   the amplitude a is half the feedback's peak-to-peak within the cycle.
//!   Tu and a are the means over those cycles; the spread of each is
//!   `(max − min)/mean` across them.
//! - `Ku = 4d/(π·√(a² − ε²))`: the describing function of a relay with
//!   hysteresis, real part only. With ε = 0 it is `4d/(πa)`. How close this
//!   is to the true ultimate gain is in docs/TUNING.md.
//! - Too few cycles, a spread above [`LimitCycleOptions::max_spread`], or an
//!   amplitude not above the hysteresis is an error, never a guess.

use super::ultimate_rules::Ultimate;

/// One recorded relay experiment.
#[derive(Clone, Copy, Debug)]
pub struct RelayRecord<'a> {
    /// Sample times, s, strictly increasing.
    pub time: &'a [f64],
    /// The relay output: `centre ± d`.
    pub output: &'a [f64],
    /// The measured response.
    pub feedback: &'a [f64],
    /// Hysteresis ε of the relay, in the feedback's unit; 0 for none.
    pub hysteresis: f64,
}

/// How many cycles to measure and how steady they must be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimitCycleOptions {
    /// Whole cycles measured, counted back from the end of the record.
    pub cycles: usize,
    /// Largest spread `(max − min)/mean` of period or amplitude accepted.
    pub max_spread: f64,
}

impl Default for LimitCycleOptions {
    /// The last 4 cycles, steady within 5 %.
    fn default() -> Self {
        Self {
            cycles: 4,
            max_spread: 0.05,
        }
    }
}

/// One whole cycle of the oscillation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RelayCycle {
    /// Time of the switch that starts it, s.
    pub start: f64,
    /// Its length, s.
    pub period: f64,
    /// Half the feedback's peak-to-peak within it.
    pub amplitude: f64,
}

/// What the limit cycle shows.
#[derive(Clone, Debug, PartialEq)]
pub struct LimitCycle {
    /// Centre of the relay output.
    pub centre: f64,
    /// Relay amplitude d: half the output's peak-to-peak.
    pub relay_amplitude: f64,
    /// Mean oscillation amplitude a of the feedback.
    pub amplitude: f64,
    /// Mean period, s.
    pub period: f64,
    /// `(max − min)/mean` of the amplitude across the measured cycles.
    pub amplitude_spread: f64,
    /// `(max − min)/mean` of the period across the measured cycles.
    pub period_spread: f64,
    /// The measured cycles, oldest first.
    pub cycles: Vec<RelayCycle>,
    /// Ku (hysteresis-corrected) and Tu.
    pub ultimate: Ultimate,
}

/// Why a relay record gives no limit cycle.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LimitCycleError {
    #[error("time, output and feedback have different lengths ({time}, {output}, {feedback})")]
    LengthMismatch {
        time: usize,
        output: usize,
        feedback: usize,
    },
    #[error("{channel} sample {index} is not a finite number: cut the record around the gap")]
    NotFinite { channel: &'static str, index: usize },
    #[error("time does not increase at sample {index}: sort the samples and drop duplicates")]
    TimeNotIncreasing { index: usize },
    #[error("hysteresis {0} must be a finite number, 0 or above")]
    InvalidHysteresis(f64),
    #[error("cycles to measure must be at least 1, and the spread limit above 0")]
    InvalidOptions,
    #[error("the relay output never switches: there is no oscillation to measure")]
    NoSwitching,
    #[error("only {found} whole cycles after the first: {needed} are needed; run the relay longer")]
    TooFewCycles { found: usize, needed: usize },
    #[error(
        "the oscillation is not steady: period spread {period_spread:.1} %, amplitude spread \
         {amplitude_spread:.1} % (limit {limit:.1} %); run the relay longer"
    )]
    NotSteady {
        period_spread: f64,
        amplitude_spread: f64,
        limit: f64,
    },
    #[error(
        "oscillation amplitude {amplitude} is not above the hysteresis {hysteresis}: \
         lower the hysteresis or raise the relay amplitude"
    )]
    AmplitudeWithinHysteresis { amplitude: f64, hysteresis: f64 },
}

/// Measures the limit cycle of a relay record; see the module contract.
pub fn limit_cycle(
    record: &RelayRecord<'_>,
    options: &LimitCycleOptions,
) -> Result<LimitCycle, LimitCycleError> {
    let RelayRecord {
        time,
        output,
        feedback,
        hysteresis,
    } = *record;
    if time.len() != output.len() || time.len() != feedback.len() {
        return Err(LimitCycleError::LengthMismatch {
            time: time.len(),
            output: output.len(),
            feedback: feedback.len(),
        });
    }
    for (channel, values) in [("time", time), ("output", output), ("feedback", feedback)] {
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(LimitCycleError::NotFinite { channel, index });
        }
    }
    if let Some(index) = (1..time.len()).find(|&i| time[i] <= time[i - 1]) {
        return Err(LimitCycleError::TimeNotIncreasing { index });
    }
    if !(hysteresis.is_finite() && hysteresis >= 0.0) {
        return Err(LimitCycleError::InvalidHysteresis(hysteresis));
    }
    if options.cycles == 0 || options.max_spread.is_nan() || options.max_spread <= 0.0 {
        return Err(LimitCycleError::InvalidOptions);
    }

    let (low, high) = output
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let relay_amplitude = (high - low) / 2.0;
    if relay_amplitude <= 0.0 {
        return Err(LimitCycleError::NoSwitching);
    }
    let centre = (high + low) / 2.0;
    let switches_up: Vec<usize> = (1..output.len())
        .filter(|&i| output[i] > centre && output[i - 1] <= centre)
        .collect();
    if switches_up.len() < 2 {
        return Err(LimitCycleError::NoSwitching);
    }
    // Whole cycles after the first one.
    let usable = switches_up.len().saturating_sub(2);
    if usable < options.cycles {
        return Err(LimitCycleError::TooFewCycles {
            found: usable,
            needed: options.cycles,
        });
    }
    let measured = &switches_up[switches_up.len() - options.cycles - 1..];
    let cycles: Vec<RelayCycle> = measured
        .windows(2)
        .map(|edges| {
            let (begin, end) = (edges[0], edges[1]);
            let (lo, hi) = feedback[begin..end]
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            RelayCycle {
                start: time[begin],
                period: time[end] - time[begin],
                amplitude: (hi - lo) / 2.0,
            }
        })
        .collect();

    let (period, period_spread) = mean_and_spread(cycles.iter().map(|c| c.period));
    let (amplitude, amplitude_spread) = mean_and_spread(cycles.iter().map(|c| c.amplitude));
    if period_spread > options.max_spread || amplitude_spread > options.max_spread {
        return Err(LimitCycleError::NotSteady {
            period_spread: period_spread * 100.0,
            amplitude_spread: amplitude_spread * 100.0,
            limit: options.max_spread * 100.0,
        });
    }
    if amplitude <= hysteresis {
        return Err(LimitCycleError::AmplitudeWithinHysteresis {
            amplitude,
            hysteresis,
        });
    }
    let ultimate_gain = 4.0 * relay_amplitude
        / (std::f64::consts::PI * (amplitude * amplitude - hysteresis * hysteresis).sqrt());
    Ok(LimitCycle {
        centre,
        relay_amplitude,
        amplitude,
        period,
        amplitude_spread,
        period_spread,
        cycles,
        ultimate: Ultimate {
            gain: ultimate_gain,
            period,
        },
    })
}

/// Mean and `(max − min)/|mean|` of a non-empty sequence.
fn mean_and_spread(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let count = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / count;
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let spread = if mean.abs() > 0.0 {
        (hi - lo) / mean.abs()
    } else {
        f64::INFINITY
    };
    (mean, spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A relay with hysteresis around `1/(s+1)³`, integrated by RK4 at
    /// `dt`; returns time, relay output and feedback, both about `centre`.
    fn relay_on_third_order_lag(
        relay: f64,
        hysteresis: f64,
        centre: f64,
        duration: f64,
        dt: f64,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let derivative = |x: [f64; 3], u: f64| [u - x[0], x[0] - x[1], x[1] - x[2]];
        let mut state = [0.0; 3];
        let mut u = relay;
        let steps = (duration / dt).round() as usize;
        let (mut time, mut output, mut feedback) = (
            Vec::with_capacity(steps),
            Vec::with_capacity(steps),
            Vec::with_capacity(steps),
        );
        for k in 0..steps {
            let y = state[2];
            let error = -y;
            if error > hysteresis {
                u = relay;
            } else if error < -hysteresis {
                u = -relay;
            }
            time.push(k as f64 * dt);
            output.push(centre + u);
            feedback.push(centre + y);
            let add = |a: [f64; 3], b: [f64; 3], h: f64| {
                [a[0] + h * b[0], a[1] + h * b[1], a[2] + h * b[2]]
            };
            let k1 = derivative(state, u);
            let k2 = derivative(add(state, k1, dt / 2.0), u);
            let k3 = derivative(add(state, k2, dt / 2.0), u);
            let k4 = derivative(add(state, k3, dt), u);
            for i in 0..3 {
                state[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
        }
        (time, output, feedback)
    }

    const TRUE_KU: f64 = 8.0;
    fn true_tu() -> f64 {
        std::f64::consts::TAU / 3.0_f64.sqrt()
    }

    #[test]
    fn relay_on_third_order_lag_finds_ku_8_and_tu_within_5_percent() {
        for hysteresis in [0.0, 0.001] {
            let (time, output, feedback) =
                relay_on_third_order_lag(1.0, hysteresis, 1.5, 60.0, 1e-3);
            let record = RelayRecord {
                time: &time,
                output: &output,
                feedback: &feedback,
                hysteresis,
            };
            let cycle = limit_cycle(&record, &LimitCycleOptions::default()).expect("a limit cycle");
            let ku_error = (cycle.ultimate.gain - TRUE_KU) / TRUE_KU;
            let tu_error = (cycle.ultimate.period - true_tu()) / true_tu();
            assert!(
                ku_error.abs() < 0.05 && tu_error.abs() < 0.05,
                "ε {hysteresis}: Ku {} ({:+.2} %), Tu {} ({:+.2} %)",
                cycle.ultimate.gain,
                ku_error * 100.0,
                cycle.ultimate.period,
                tu_error * 100.0
            );
            assert!(
                (cycle.centre - 1.5).abs() < 1e-12 && (cycle.relay_amplitude - 1.0).abs() < 1e-12
            );
            assert!(
                cycle.period_spread < 0.01 && cycle.amplitude_spread < 0.01,
                "{cycle:?}"
            );
            assert_eq!(cycle.cycles.len(), 4);
        }
    }

    #[test]
    fn hysteresis_correction_uses_the_root_of_a_squared_minus_epsilon_squared() {
        // A square relay output and a triangle-free feedback of known
        // amplitude: a = 0.5, ε = 0.3 → √(a² − ε²) = 0.4.
        let dt = 0.01;
        let time: Vec<f64> = (0..1000).map(|k| k as f64 * dt).collect();
        let output: Vec<f64> = time
            .iter()
            .map(|t| if (t % 1.0) < 0.5 { 2.0 } else { -2.0 })
            .collect();
        let feedback: Vec<f64> = time
            .iter()
            .map(|t| 0.5 * (std::f64::consts::TAU * t).sin())
            .collect();
        let record = RelayRecord {
            time: &time,
            output: &output,
            feedback: &feedback,
            hysteresis: 0.3,
        };
        let cycle = limit_cycle(&record, &LimitCycleOptions::default()).expect("a limit cycle");
        assert!((cycle.period - 1.0).abs() < 1e-9, "{}", cycle.period);
        assert!((cycle.amplitude - 0.5).abs() < 1e-3, "{}", cycle.amplitude);
        let expected = 4.0 * 2.0 / (std::f64::consts::PI * 0.4);
        assert!((cycle.ultimate.gain - expected).abs() / expected < 1e-2);
    }

    #[test]
    fn too_few_cycles_and_unsteady_oscillations_are_errors() {
        // The last 12 s of a steady oscillation: three whole cycles, the
        // first of which is not counted.
        let (time, output, feedback) = relay_on_third_order_lag(1.0, 0.0, 0.0, 60.0, 1e-3);
        let tail = time.len() - 12_000;
        let short = RelayRecord {
            time: &time[tail..],
            output: &output[tail..],
            feedback: &feedback[tail..],
            hysteresis: 0.0,
        };
        assert!(matches!(
            limit_cycle(&short, &LimitCycleOptions::default()),
            Err(LimitCycleError::TooFewCycles { needed: 4, .. })
        ));

        // The amplitude grows by a third across the record.
        let dt = 0.01;
        let time: Vec<f64> = (0..1000).map(|k| k as f64 * dt).collect();
        let output: Vec<f64> = time
            .iter()
            .map(|t| if (t % 1.0) < 0.5 { 1.0 } else { -1.0 })
            .collect();
        let feedback: Vec<f64> = time
            .iter()
            .map(|t| (1.0 + t / 30.0) * (std::f64::consts::TAU * t).sin())
            .collect();
        let growing = RelayRecord {
            time: &time,
            output: &output,
            feedback: &feedback,
            hysteresis: 0.0,
        };
        assert!(matches!(
            limit_cycle(&growing, &LimitCycleOptions::default()),
            Err(LimitCycleError::NotSteady { .. })
        ));

        let flat = vec![0.0; time.len()];
        let silent = RelayRecord {
            output: &flat,
            ..growing
        };
        assert_eq!(
            limit_cycle(&silent, &LimitCycleOptions::default()),
            Err(LimitCycleError::NoSwitching)
        );
    }

    #[test]
    fn amplitude_inside_the_hysteresis_is_an_error() {
        let (time, output, feedback) = relay_on_third_order_lag(1.0, 0.0, 0.0, 60.0, 1e-3);
        let record = RelayRecord {
            time: &time,
            output: &output,
            feedback: &feedback,
            hysteresis: 1.0,
        };
        assert!(matches!(
            limit_cycle(&record, &LimitCycleOptions::default()),
            Err(LimitCycleError::AmplitudeWithinHysteresis { .. })
        ));
    }
}
