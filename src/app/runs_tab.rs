//! A/B comparison of step runs: the shown runs overlaid, aligned at their
//! step, and their gains and metrics side by side in a table with the best
//! value of each metric highlighted. Runs are renamed, shown, hidden and
//! deleted here; the [`RunStore`] keeps them across restarts.

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};

use crate::analysis::{METRICS, MetricInfo};
use crate::record::{RunStore, StepRun};

/// Colours of the runs, in order; they repeat after the last.
const RUN_COLORS: [egui::Color32; 8] = [
    egui::Color32::from_rgb(66, 135, 245),
    egui::Color32::from_rgb(240, 120, 40),
    egui::Color32::from_rgb(70, 180, 90),
    egui::Color32::from_rgb(210, 70, 160),
    egui::Color32::from_rgb(150, 110, 230),
    egui::Color32::from_rgb(200, 180, 40),
    egui::Color32::from_rgb(60, 190, 200),
    egui::Color32::from_rgb(180, 80, 60),
];
/// Colour of the best value in each metric row.
const BEST_GREEN: egui::Color32 = egui::Color32::from_rgb(60, 170, 60);

/// How the runs are shown.
#[derive(Default)]
pub struct RunsView {
    /// Plot each response as the fraction of its own step, so steps of
    /// different size and direction compare.
    normalized: bool,
}

fn run_color(run: &StepRun) -> egui::Color32 {
    RUN_COLORS[(run.id as usize).wrapping_sub(1) % RUN_COLORS.len()]
}

impl RunsView {
    /// The overlay of the shown runs.
    pub fn overlay_ui(&mut self, ui: &mut egui::Ui, store: &RunStore) {
        ui.horizontal(|ui| {
            ui.strong("Step responses");
            ui.checkbox(&mut self.normalized, "Normalized")
                .on_hover_text(
                    "Each response as the fraction of its own step: 0 before, 1 at its final value",
                );
        });
        if store.runs().is_empty() {
            ui.weak("Run a step test: each measured step appears here.");
        }
        let normalized = self.normalized;
        Plot::new("step overlay")
            .legend(Legend::default())
            .x_axis_label("time from step [s]")
            .y_axis_label(if normalized { "fraction of step" } else { "" })
            .show(ui, |plot| {
                for run in store.runs().iter().filter(|r| r.visible) {
                    let scale = normalization(run, normalized);
                    let points = |values: &[f32]| -> PlotPoints<'static> {
                        run.trace
                            .time
                            .iter()
                            .zip(values)
                            .map(|(&t, &y)| [f64::from(t), scale(f64::from(y))])
                            .collect()
                    };
                    let color = run_color(run);
                    plot.add(
                        Line::new(run.name.clone(), points(&run.trace.feedback))
                            .color(color)
                            .width(1.5),
                    );
                    plot.add(
                        Line::new(run.name.clone(), points(&run.trace.reference))
                            // The same colour as the response: the legend
                            // shows a name's colour only when its lines agree.
                            .color(color)
                            .style(LineStyle::dashed_loose())
                            .width(1.0),
                    );
                }
            });
    }

    /// The table: one column per run, its controls on top, then its gains,
    /// then its metrics.
    pub fn table_ui(&mut self, ui: &mut egui::Ui, store: &mut RunStore) {
        if store.runs().is_empty() {
            ui.weak("Gains and metrics of every run appear here, side by side, the best of each highlighted.");
            return;
        }
        let mut renames = Vec::new();
        let mut visibility = Vec::new();
        let mut deletions = Vec::new();
        egui::ScrollArea::both()
            .id_salt("runs table")
            .show(ui, |ui| {
                egui::Grid::new("metrics table")
                    .striped(true)
                    .spacing([12.0, 3.0])
                    .show(ui, |ui| {
                        let runs = store.runs();
                        ui.label("");
                        for run in runs {
                            let mut visible = run.visible;
                            let label = format!("Show run {}", run.id);
                            let checkbox = ui
                                .checkbox(&mut visible, "")
                                .on_hover_text("Show in the overlay and compare")
                                .accessible_name(label);
                            if checkbox.changed() {
                                visibility.push((run.id, visible));
                            }
                        }
                        ui.end_row();

                        ui.label("Name");
                        for run in runs {
                            let mut name = run.name.clone();
                            let edit = ui
                                .add(
                                    egui::TextEdit::singleline(&mut name)
                                        .desired_width(90.0)
                                        .text_color(run_color(run)),
                                )
                                .accessible_name(format!("Name of run {}", run.id));
                            if edit.changed() {
                                renames.push((run.id, name));
                            }
                        }
                        ui.end_row();

                        ui.label("");
                        for run in runs {
                            let delete = ui
                                .small_button("Delete")
                                .on_hover_text(format!("Measured {}", run.recorded_at))
                                .accessible_name(format!("Delete run {}", run.id));
                            if delete.clicked() {
                                deletions.push(run.id);
                            }
                        }
                        ui.end_row();

                        ui.label("Step");
                        for run in runs {
                            ui.label(format!("{} to {} {}", run.from, run.to, run.signal_unit));
                        }
                        ui.end_row();
                        gain_rows(ui, runs);
                        metric_rows(ui, runs);
                    });
            });
        for (id, visible) in visibility {
            store.set_visible(id, visible);
        }
        for (id, name) in renames {
            store.rename(id, &name);
        }
        for id in deletions {
            store.delete(id);
        }
    }
}

/// Maps a value to the fraction of the run's step when normalizing.
fn normalization(run: &StepRun, normalized: bool) -> impl Fn(f64) -> f64 {
    let (initial, final_value) = (run.metric("initial_value"), run.metric("final_value"));
    let (offset, span) = match (normalized, initial, final_value) {
        (true, Some(initial), Some(final_value)) if final_value != initial => {
            (initial, final_value - initial)
        }
        _ => (0.0, 1.0),
    };
    move |y| (y - offset) / span
}

/// One row per gain any run was measured with; a gain that differs from
/// the first shown run's is emphasised.
fn gain_rows(ui: &mut egui::Ui, runs: &[StepRun]) {
    let mut names: Vec<&str> = Vec::new();
    for gain in runs.iter().flat_map(|r| &r.gains) {
        if !names.contains(&gain.name.as_str()) {
            names.push(&gain.name);
        }
    }
    let value_of =
        |run: &StepRun, name: &str| run.gains.iter().find(|g| g.name == name).map(|g| g.value);
    for name in names {
        ui.label(name);
        let first = runs.first().and_then(|r| value_of(r, name));
        for run in runs {
            match value_of(run, name) {
                Some(value) if Some(value) != first => ui.strong(format!("{value}")),
                Some(value) => ui.label(format!("{value}")),
                None => ui.weak("—"),
            };
        }
        ui.end_row();
    }
}

fn metric_rows(ui: &mut egui::Ui, runs: &[StepRun]) {
    if runs.iter().any(|r| r.error.is_some()) {
        ui.label("Error");
        for run in runs {
            match &run.error {
                Some(error) => ui
                    .colored_label(ui.visuals().error_fg_color, "not measured")
                    .on_hover_text(error.as_str()),
                None => ui.label(""),
            };
        }
        ui.end_row();
    }
    for metric in METRICS {
        let values: Vec<Option<f64>> = runs
            .iter()
            .map(|r| r.metric(metric.key).filter(|_| r.visible))
            .collect();
        if runs
            .iter()
            .all(|r| r.metric(metric.key).is_none() && r.error.is_some())
        {
            continue;
        }
        let best = metric
            .better
            .best_of(&values)
            .filter(|_| values.iter().flatten().count() > 1);
        ui.label(metric_label(&metric, runs));
        for (i, run) in runs.iter().enumerate() {
            let cell = match run.metric(metric.key) {
                Some(value) if best == Some(i) => egui::RichText::new(format_metric(value))
                    .strong()
                    .color(BEST_GREEN),
                Some(value) => egui::RichText::new(format_metric(value)),
                None if run.error.is_some() => egui::RichText::new("—").weak(),
                None => egui::RichText::new(metric.missing_reason).weak(),
            };
            let cell = if run.visible { cell } else { cell.weak() };
            ui.label(cell);
        }
        ui.end_row();
    }
}

fn metric_label(metric: &MetricInfo, runs: &[StepRun]) -> String {
    let (signal, effort) = runs.first().map_or(("", ""), |r| {
        (r.signal_unit.as_str(), r.effort_unit.as_str())
    });
    format!("{} [{}]", metric.label, metric.unit.text(signal, effort))
}

/// Four significant digits, without an exponent for everyday magnitudes.
fn format_metric(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{value:.3e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::format_metric;

    #[test]
    fn metrics_show_four_significant_digits() {
        assert_eq!(format_metric(0.123456), "0.1235");
        assert_eq!(format_metric(12.3456), "12.35");
        assert_eq!(format_metric(-1234.5), "-1234");
        assert_eq!(format_metric(0.0), "0");
        assert_eq!(format_metric(1.5e-7), "1.500e-7");
    }
}
