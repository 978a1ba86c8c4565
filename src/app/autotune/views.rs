//! What the Auto-tune tab shows of its results: the predicted metrics with
//! their units, predicted against measured after "Verify", and the plot of
//! the identification run, its fit, the prediction and the verification.

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};

use crate::analysis::{METRICS, MetricInfo, metric_values};
use crate::record::StepRun;
use crate::tuning::{Identified, Preview};

/// Metrics compared between the prediction and the verification step.
pub(super) const COMPARED: [&str; 3] = ["overshoot", "rise_time", "settling_time"];

pub(super) fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|v| f64::from(*v)).collect()
}

pub(super) fn points(time: &[f64], values: &[f64]) -> PlotPoints<'static> {
    time.iter().zip(values).map(|(t, v)| [*t, *v]).collect()
}

/// The compared metrics, each with its index in [`METRICS`].
fn compared() -> impl Iterator<Item = (usize, &'static MetricInfo)> {
    METRICS
        .iter()
        .enumerate()
        .filter(|(_, info)| COMPARED.contains(&info.key))
}

/// A value with its unit, or a dash.
fn with_unit(value: Option<f64>, unit: &str) -> String {
    value.map_or("—".to_owned(), |v| format!("{v:.4} {unit}"))
}

/// The compared metrics of a prediction, one line each, with units.
pub(super) fn predicted_metrics_ui(
    ui: &mut egui::Ui,
    predicted: &Preview,
    signal_unit: &str,
    effort_unit: &str,
) {
    if let Ok(metrics) = &predicted.metrics {
        let values = metric_values(metrics);
        for (i, info) in compared() {
            let unit = info.unit.text(signal_unit, effort_unit);
            ui.label(format!(
                "Predicted {}: {}",
                info.label,
                with_unit(values[i], &unit)
            ));
        }
    }
}

/// Predicted against measured metrics after "Verify".
pub(super) fn verification_ui(ui: &mut egui::Ui, written: &Preview, measured: &StepRun) {
    ui.strong(format!("Verification ({})", measured.name));
    let predicted = written.metrics.as_ref().ok().map(metric_values);
    egui::Grid::new("verification metrics")
        .num_columns(3)
        .show(ui, |ui| {
            ui.strong("Metric");
            ui.strong("Predicted");
            ui.strong("Measured");
            ui.end_row();
            for (i, info) in compared() {
                let unit = info.unit.text(&measured.signal_unit, &measured.effort_unit);
                ui.label(info.label);
                ui.label(with_unit(predicted.and_then(|p| p[i]), &unit));
                ui.label(with_unit(measured.metric(info.key), &unit));
                ui.end_row();
            }
        });
}

/// The identification run, its fit, the prediction, and the verification.
pub(super) fn overlay_ui(
    ui: &mut egui::Ui,
    run: Option<&StepRun>,
    fit: Option<&Identified>,
    predicted: Option<&Preview>,
    verification: Option<&StepRun>,
    written: Option<&Preview>,
) {
    let unit = run.map_or("", |r| r.signal_unit.as_str());
    Plot::new("auto-tune overlay")
        .legend(Legend::default())
        .x_axis_label("time from step [s]")
        .y_axis_label(format!("[{unit}]"))
        .show(ui, |plot| {
            if let Some(run) = run {
                let time = f64s(&run.trace.time);
                plot.line(Line::new(
                    format!("measured ({})", run.name),
                    points(&time, &f64s(&run.trace.feedback)),
                ));
                if let Some(fit) = fit {
                    plot.line(
                        Line::new("model fit", points(&time[..fit.fitted.len()], &fit.fitted))
                            .style(LineStyle::dashed_loose()),
                    );
                }
            }
            if let Some(p) = predicted {
                let p = &p.prediction;
                plot.line(Line::new("predicted", points(&p.time, &p.feedback)));
            }
            if let (Some(v), Some(w)) = (verification, written) {
                let time = f64s(&v.trace.time);
                plot.line(Line::new(
                    format!("verification ({})", v.name),
                    points(&time, &f64s(&v.trace.feedback)),
                ));
                let p = &w.prediction;
                plot.line(
                    Line::new("predicted (written)", points(&p.time, &p.feedback))
                        .style(LineStyle::dashed_dense()),
                );
            }
        });
}
