//! Time-axis ticks that carry labels at every zoom: steps of 1, 2, 2.5 or
//! 5 times a power of ten, chosen so labelled ticks are at least a label's
//! width plus a gap apart. egui_plot's own spacer steps by powers of ten
//! only, so a window just too narrow for one step jumps to the next, ten
//! times coarser, and can show a single label; with these steps the
//! spacing between labels stays within 2× of the smallest that fits, so
//! a plot shows at least three labels once it is six labels wide (about
//! 400 points for `12.35`, 700 for `98765.43211`). The axis lets labels
//! come as close as [`LABEL_SPACING`]; this spacer keeps them apart.

use egui_plot::{GridInput, GridMark};

/// egui_plot's default grid spacing minimum (points), which
/// `GridInput::base_step_size` is scaled by.
pub const GRID_SPACING_MIN: f32 = 8.0;

/// The time axis's label spacing (points): egui_plot drops labels of
/// ticks closer than the low end and fades them up to the high end. Lower
/// than egui_plot's default for x (60–80), which is meant for a spacer
/// that does not know how wide its labels are.
pub const LABEL_SPACING: std::ops::RangeInclusive<f32> = 30.0..=40.0;

/// The closest labelled ticks come, points: at full strength on a
/// narrow plot, further apart on a wide one (a twelfth of its width, up
/// to egui_plot's default of 80), so a wide plot is not crowded.
fn closest_labels(width_points: f64) -> f64 {
    (width_points / 12.0).clamp(40.0, 80.0)
}

/// Width of one digit of egui's body font (12.5 points, digits about
/// 0.56 em), points.
const DIGIT_WIDTH: f64 = 7.0;

/// Room left between two labels, points.
const LABEL_GAP: f64 = 14.0;

/// Decimals that show multiples of `step` exactly (2.5 ms needs one
/// more than 2 ms).
pub fn decimals_for(step: f64) -> usize {
    let first = (-step.log10().floor()).clamp(0.0, 12.0) as usize;
    (first..12)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(12)
}

/// A tick's label: the time with the decimals its step needs.
pub fn label(value: f64, step: f64) -> String {
    let decimals = decimals_for(step);
    // `-0.000` reads as noise.
    let value = if value.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
        0.0
    } else {
        value
    };
    format!("{value:.decimals$}")
}

/// Estimated width of the widest label over `bounds` at `step`, points.
fn label_width(bounds: (f64, f64), step: f64) -> f64 {
    let widest = label(bounds.0, step).len().max(label(bounds.1, step).len());
    widest as f64 * DIGIT_WIDTH
}

/// The labelled step for `bounds` drawn at `seconds_per_point`.
pub fn major_step(bounds: (f64, f64), seconds_per_point: f64) -> f64 {
    let span = (bounds.1 - bounds.0).abs().max(f64::MIN_POSITIVE);
    let seconds_per_point = seconds_per_point.max(f64::MIN_POSITIVE);
    let smallest = closest_labels(span / seconds_per_point) * seconds_per_point;
    let mut power = 10f64.powf(smallest.log10().floor());
    // At most a few dozen candidates: each is ≥ 2× the one before.
    for _ in 0..64 {
        for mantissa in [1.0, 2.0, 2.5, 5.0] {
            let step = mantissa * power;
            if step < smallest {
                continue;
            }
            let spacing = step / seconds_per_point;
            if spacing >= label_width(bounds, step) + LABEL_GAP {
                return step;
            }
        }
        power *= 10.0;
    }
    span
}

/// The grid marks for the time axis: labelled ticks at [`major_step`] and
/// unlabelled ones at a fifth of it (a quarter for a 2× step). Each mark's
/// `step_size` is the step it was made for, which the formatter reads for
/// its decimals: every label has the same number.
pub fn marks(input: GridInput) -> Vec<GridMark> {
    let seconds_per_point = input.base_step_size / f64::from(GRID_SPACING_MIN);
    let (low, high) = input.bounds;
    if !(seconds_per_point > 0.0 && low.is_finite() && high.is_finite() && low < high) {
        return Vec::new();
    }
    let major = major_step(input.bounds, seconds_per_point);
    // Unlabelled ticks between, only as close as stays under the label
    // spacing (egui_plot would label them otherwise).
    let closest_label = f64::from(*LABEL_SPACING.start()) * seconds_per_point;
    let minor = [5.0, 10.0, 20.0]
        .into_iter()
        .map(|parts| major / parts)
        .find(|&minor| minor < closest_label)
        .unwrap_or(major);
    let mut out = Vec::new();
    let first = (low / minor).ceil() as i64;
    let last = (high / minor).floor() as i64;
    // A sliver of the axis at most a few hundred marks wide.
    for i in first..=last.min(first + 2000) {
        let value = i as f64 * minor;
        let step_size = if is_multiple(value, major) {
            major
        } else {
            minor
        };
        out.push(GridMark { value, step_size });
    }
    out
}

/// The time axis: its title, these labels, and their spacing.
pub fn axis_hints<'a>(title: &str) -> egui_plot::AxisHints<'a> {
    egui_plot::AxisHints::new_x()
        .label(title)
        .formatter(format)
        .label_spacing(LABEL_SPACING)
}

fn is_multiple(value: f64, step: f64) -> bool {
    let ratio = value / step;
    (ratio - ratio.round()).abs() < 1e-6
}

/// The formatter for the time axis.
pub fn format(mark: GridMark, _range: &std::ops::RangeInclusive<f64>) -> String {
    label(mark.value, mark.step_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labels egui_plot paints for `marks` at `seconds_per_point`: those
    /// whose step is far enough apart to be labelled.
    fn painted_labels(marks: &[GridMark], seconds_per_point: f64) -> Vec<String> {
        marks
            .iter()
            .filter(|mark| mark.step_size / seconds_per_point > f64::from(*LABEL_SPACING.start()))
            .map(|mark| label(mark.value, mark.step_size))
            .collect()
    }

    fn labels_for(bounds: (f64, f64), width_points: f64) -> Vec<String> {
        let seconds_per_point = (bounds.1 - bounds.0) / width_points;
        let input = GridInput {
            bounds,
            base_step_size: seconds_per_point * f64::from(GRID_SPACING_MIN),
        };
        painted_labels(&marks(input), seconds_per_point)
    }

    #[test]
    fn at_least_three_labels_at_every_window_and_offset() {
        let windows = [
            2e-6, 5e-6, 1e-5, 3e-5, 1e-4, 1e-3, 0.01, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
            60.0, 300.0, 600.0, 3600.0,
        ];
        // Narrow plots with short labels, wide ones with any.
        let cases = [
            (300.0, &[0.0, -0.3, 12.345][..]),
            (400.0, &[0.0, -0.3, 12.345, 1_234.5][..]),
            (
                700.0,
                &[0.0, -0.3, 12.345_678_9, 1_234.567_891, 98_765.432_1][..],
            ),
            (
                1200.0,
                &[0.0, 12.345_678_9, 1_234.567_891, 98_765.432_1][..],
            ),
        ];
        for (width_points, starts) in cases {
            for &start in starts {
                for window in windows {
                    if width_points < 700.0 && window < 1e-3 {
                        continue; // labels of 8 digits and more
                    }
                    let labels = labels_for((start, start + window), width_points);
                    assert!(
                        labels.len() >= 3,
                        "{window} s from {start} on {width_points} points: {labels:?}"
                    );
                    // Labels differ: enough decimals for the step.
                    let mut unique = labels.clone();
                    unique.dedup();
                    assert_eq!(unique.len(), labels.len(), "{labels:?}");
                    // And they fit side by side.
                    let spacing = width_points / (labels.len() as f64);
                    let widest = labels.iter().map(String::len).max().unwrap_or(0) as f64;
                    assert!(
                        spacing > widest * DIGIT_WIDTH,
                        "{labels:?} on {width_points}"
                    );
                }
            }
        }
    }

    #[test]
    fn steps_are_one_two_two_and_a_half_or_five_times_a_power_of_ten() {
        for seconds_per_point in [1e-9, 3e-7, 1e-3, 0.0123, 7.0] {
            let step = major_step((0.0, 1.0), seconds_per_point);
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 2.5, 5.0]
                    .iter()
                    .any(|m| (mantissa - m).abs() < 1e-9),
                "{step}"
            );
        }
        assert_eq!(label(-1e-18, 0.1), "0.0");
        assert_eq!(label(-0.004, 0.01), "0.00");
        assert_eq!(label(1.25, 0.05), "1.25");
        assert_eq!(label(0.75, 0.25), "0.75");
        assert_eq!(label(3.0, 2.0), "3");
    }
}
