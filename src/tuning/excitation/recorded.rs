//! The frequency response of a recorded broadband excitation: a chirp or
//! PRBS run that motiontune, or the drive's own tool, recorded. The same
//! Welch estimate a live measurement makes ([`estimate_response`]), over
//! the whole record put on an even grid, from the lowest frequency two
//! periods of a Welch segment resolve (an eighth of the record, so about
//! fifteen segments are averaged) up to the Nyquist frequency. What the
//! excitation's band was is not known from a file: points outside it show
//! as incoherent, as the Bode tab draws them.

use super::{
    ExcitationError, ExcitationKind, ExcitationPlan, ExcitationRecord, FrequencyMeasurement,
    evenly_spaced, prev_power_of_two,
};
use crate::analysis::{estimate_response, loop_figures};

/// Fewest samples a Welch segment holds.
const MIN_SEGMENT: usize = 64;

/// The response `record` shows, estimated as a live broadband measurement
/// would; its plan says what was found (band, amplitude, duration).
pub fn recorded_response(
    record: ExcitationRecord,
) -> Result<FrequencyMeasurement, ExcitationError> {
    let record = evenly_spaced(record);
    let n = record.reference.len();
    let segment = prev_power_of_two((n / 8).max(MIN_SEGMENT));
    let points = estimate_response(
        record.sample_hz,
        &record.reference,
        &record.feedback,
        record.effort.as_deref(),
        segment,
    )?;
    let (low, high) = record
        .reference
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let from_hz = 2.0 * record.sample_hz / segment as f64;
    let points: Vec<_> = points
        .into_iter()
        .filter(|p| p.frequency_hz >= from_hz * 0.999)
        .collect();
    let plan = ExcitationPlan {
        kind: ExcitationKind::Chirp,
        from_hz,
        to_hz: record.sample_hz / 2.0,
        amplitude: (high - low) / 2.0,
        duration_s: record.time.last().copied().unwrap_or(0.0)
            - record.time.first().copied().unwrap_or(0.0),
        max_write_hz: record.sample_hz,
    };
    let figures = loop_figures(&points);
    Ok(FrequencyMeasurement {
        plan,
        record,
        points,
        figures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A first-order loop, 1/(1 + s/ω), driven by a noise reference at
    /// 1 kHz: its −3 dB bandwidth is at ω/2π.
    #[test]
    fn a_recorded_noise_run_gives_the_loop_s_bandwidth() {
        let (sample_hz, pole_hz) = (1000.0, 20.0);
        let alpha = 1.0 - (-2.0 * std::f64::consts::PI * pole_hz / sample_hz).exp();
        let mut noise: u32 = 0x2545_f491;
        let (mut time, mut reference, mut feedback) = (Vec::new(), Vec::new(), Vec::new());
        let mut y = 0.0;
        for k in 0..60_000 {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let r = if noise & 1 == 1 { 1.0 } else { -1.0 };
            time.push(f64::from(k) / sample_hz);
            reference.push(r);
            feedback.push(y);
            y += alpha * (r - y);
        }
        let measurement = recorded_response(ExcitationRecord {
            sample_hz,
            time,
            reference,
            feedback,
            effort: None,
        })
        .expect("estimates");
        assert_eq!(measurement.plan.amplitude, 1.0);
        assert!((measurement.plan.duration_s - 59.999).abs() < 1e-9);
        let bandwidth = measurement.figures.bandwidth_hz.expect("a bandwidth");
        assert!(
            (bandwidth - pole_hz).abs() < 0.15 * pole_hz,
            "bandwidth {bandwidth} Hz against the pole's {pole_hz} Hz"
        );
        assert!(
            measurement
                .points
                .iter()
                .all(|p| p.frequency_hz >= measurement.plan.from_hz * 0.999)
        );
    }

    #[test]
    fn a_record_with_gaps_is_an_error_not_a_panic() {
        let time: Vec<f64> = (0..1000).map(|k| f64::from(k) / 100.0).collect();
        let mut reference: Vec<f64> = time.iter().map(|t| (t * 3.0).sin()).collect();
        reference[500] = f64::NAN;
        let record = ExcitationRecord {
            sample_hz: 100.0,
            feedback: reference.clone(),
            time,
            reference,
            effort: None,
        };
        assert!(recorded_response(record).is_err());
    }
}
