//! Warnings on proposed gains, before anything is written: a predicted
//! response that diverges or never settles, an overshoot beyond the
//! user's threshold, or a gain more than [`WILD_RATIO`] times (or a
//! tenth of) the one in force. Each warning has a short form for a table
//! cell and a sentence for hover text and screen readers.

use crate::analysis::{ParallelGains, PredictionError, Settling};
use crate::app::numbers::significant_digits;
use crate::tuning::{AutoTuneError, Preview};

/// A gain this many times the one in force, or this fraction of it, is
/// flagged: tuning rules disagree by factors of two or three, not ten.
pub(super) const WILD_RATIO: f64 = 10.0;

/// Colour of a warning, readable on the dark and the light theme.
pub(super) fn warning_color(ui: &egui::Ui) -> egui::Color32 {
    ui.visuals().warn_fg_color
}

/// Something about proposed gains the user should look at before writing.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Warning {
    /// A word or two, for a table cell.
    pub short: String,
    /// The whole sentence.
    pub full: String,
}

/// The error text of a prediction that diverged, as the caches keep it.
fn diverged_text() -> String {
    AutoTuneError::Prediction(PredictionError::Diverged).to_string()
}

/// The warnings for `proposed`, given its prediction (when there is a
/// model to predict on) and the gains in force (when known).
pub(super) fn warnings(
    predicted: Option<&Result<Preview, String>>,
    proposed: &ParallelGains,
    in_force: Option<&ParallelGains>,
    overshoot_limit_percent: f64,
) -> Vec<Warning> {
    let mut found = Vec::new();
    match predicted {
        Some(Err(error)) if *error == diverged_text() => found.push(Warning {
            short: "unstable".into(),
            full: "predicted unstable: the response diverges on the model".into(),
        }),
        Some(Ok(preview)) => {
            if let Ok(metrics) = &preview.metrics {
                if metrics.settling == Settling::NotSettled {
                    found.push(Warning {
                        short: "no settling".into(),
                        full: "predicted not to settle within the step's hold".into(),
                    });
                }
                let overshoot = metrics.overshoot_percent;
                if overshoot > overshoot_limit_percent {
                    found.push(Warning {
                        short: format!("{overshoot:.0} %"),
                        full: format!(
                            "predicted overshoot {overshoot:.1} %, above the {overshoot_limit_percent:.0} % warning threshold"
                        ),
                    });
                }
            }
        }
        _ => {}
    }
    if let Some(now) = in_force {
        let pairs = [
            ("kp", now.kp, proposed.kp),
            ("ki", now.ki, proposed.ki),
            ("kd", now.kd, proposed.kd),
        ];
        for (name, now, new) in pairs {
            // A gain that is off (0) now has no scale to compare with.
            if now == 0.0 || new == 0.0 {
                continue;
            }
            let ratio = (new / now).abs();
            if !(1.0 / WILD_RATIO..=WILD_RATIO).contains(&ratio) {
                found.push(Warning {
                    short: format!("{name} ×{}", significant_digits(ratio, 3)),
                    full: format!(
                        "{name} {} is {}× the {} in force",
                        significant_digits(new, 3),
                        significant_digits(ratio, 3),
                        significant_digits(now, 3)
                    ),
                });
            }
        }
    }
    found
}

/// The warnings of `rule` in full, one coloured line each; every line is
/// its own accessible label ("Warning for …: …").
pub(super) fn warnings_ui(ui: &mut egui::Ui, rule: &str, warnings: &[Warning]) {
    for warning in warnings {
        ui.colored_label(
            warning_color(ui),
            format!("Warning for {rule}: {}", warning.full),
        );
    }
}

/// A table cell with the first warning's short form and how many more;
/// every sentence on hover and for screen readers.
pub(super) fn warning_cell(ui: &mut egui::Ui, rule: &str, warnings: &[Warning]) {
    let Some(first) = warnings.first() else {
        ui.label("");
        return;
    };
    let short = match warnings.len() {
        1 => first.short.clone(),
        n => format!("{} +{}", first.short, n - 1),
    };
    let full: Vec<&str> = warnings.iter().map(|w| w.full.as_str()).collect();
    let full = format!("Warning for {rule}: {}", full.join("; "));
    ui.colored_label(warning_color(ui), short)
        .on_hover_text(&full)
        .accessible_name(full);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Prediction;
    use crate::analysis::{StepOptions, StepRecord, step_metrics};

    const NOW: ParallelGains = ParallelGains {
        kp: 20.0,
        ki: 20.0,
        kd: 0.2,
    };

    /// A predicted second-order step of damping `zeta`: it overshoots by
    /// exp(−πζ/√(1−ζ²)) and settles within the 2 s.
    fn preview(zeta: f64) -> Preview {
        let omega = 60.0;
        let damped = omega * (1.0 - zeta * zeta).sqrt();
        let time: Vec<f64> = (0..2100).map(|i| i as f64 * 1e-3 - 0.1).collect();
        let reference: Vec<f64> = time.iter().map(|&t| f64::from(t >= 0.0)).collect();
        let feedback: Vec<f64> = time
            .iter()
            .map(|&t| {
                if t < 0.0 {
                    0.0
                } else {
                    let decay = (-zeta * omega * t).exp();
                    let ring =
                        (damped * t).cos() + zeta / (1.0 - zeta * zeta).sqrt() * (damped * t).sin();
                    1.0 - decay * ring
                }
            })
            .collect();
        let metrics = step_metrics(
            &StepRecord {
                time: &time,
                reference: &reference,
                feedback: &feedback,
                effort: None,
            },
            &StepOptions::default(),
        );
        Preview {
            prediction: Prediction {
                time,
                reference,
                feedback,
                effort: Vec::new(),
            },
            metrics,
        }
    }

    fn shorts(found: &[Warning]) -> Vec<&str> {
        found.iter().map(|w| w.short.as_str()).collect()
    }

    #[test]
    fn a_calm_proposal_near_the_gains_in_force_has_no_warning() {
        let calm = preview(0.9);
        let proposed = ParallelGains {
            kp: 40.0,
            ki: 5.0,
            kd: 0.5,
        };
        let found = warnings(Some(&Ok(calm)), &proposed, Some(&NOW), 25.0);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn divergence_overshoot_and_tenfold_gains_are_each_flagged() {
        let diverged = Err(diverged_text());
        let found = warnings(Some(&diverged), &NOW, Some(&NOW), 25.0);
        assert_eq!(shorts(&found), ["unstable"]);

        let ringing = preview(0.1);
        let overshoot = ringing.metrics.as_ref().expect("metrics").overshoot_percent;
        // exp(−π·0.1/√0.99) = 72.9 %, a Ziegler–Nichols PID kind of ring.
        assert!((overshoot - 72.9).abs() < 1.0, "{overshoot}");
        let found = warnings(Some(&Ok(ringing.clone())), &NOW, Some(&NOW), 25.0);
        assert_eq!(shorts(&found), [format!("{overshoot:.0} %")]);
        let found = warnings(Some(&Ok(ringing)), &NOW, Some(&NOW), overshoot + 1.0);
        assert!(found.is_empty(), "under a higher threshold: {found:?}");

        // Ziegler–Nichols PID on the sim: ki 50 169 against 20.
        let wild = ParallelGains {
            kp: 240.0,
            ki: 50_169.0,
            kd: 0.01,
        };
        let found = warnings(None, &wild, Some(&NOW), 25.0);
        assert_eq!(shorts(&found), ["kp ×12.0", "ki ×2508", "kd ×0.0500"]);
        assert!(found[1].full.contains("50169"), "{}", found[1].full);
    }

    #[test]
    fn a_gain_that_is_off_now_is_not_compared() {
        let off = ParallelGains {
            kp: 20.0,
            ki: 0.0,
            kd: 0.0,
        };
        let found = warnings(None, &NOW, Some(&off), 25.0);
        assert!(found.is_empty(), "{found:?}");
        assert!(warnings(None, &NOW, None, 25.0).is_empty());
    }
}
