//! A/B comparison of step runs: the runs of one device and unit (see
//! [`RunFilter`]) overlaid, aligned at their step, and their gains and
//! metrics side by side in a table with the best value of each metric
//! highlighted. The table's row names stay put while its run columns
//! scroll sideways, by the mouse wheel over them. Runs are renamed,
//! shown, hidden and deleted here, and exported to a file or imported from
//! one (the file chosen in a native dialog); the [`RunStore`] keeps them
//! across restarts, [`RunsSettings`] the view's choices.

use std::path::{Path, PathBuf};

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};
use serde::{Deserialize, Serialize};

use super::file_dialog::{Ask, FileDialog};
use super::numbers::significant_digits;
use crate::analysis::{METRICS, MetricInfo};
use crate::record::{RunFilter, RunStore, StepRun, filter_choices};

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
/// Width of the frozen column of row names.
const NAME_COLUMN: f32 = 150.0;
/// Width of one run's column: four of them and the names fit in 520 px.
const RUN_COLUMN: f32 = 86.0;
/// Height of every row, so the frozen names line up with the cells.
const ROW_HEIGHT: f32 = 22.0;

/// What the runs view remembers between launches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunsSettings {
    /// Plot each response as the fraction of its own step, so steps of
    /// different size and direction compare.
    pub normalized: bool,
    /// Which runs are shown: a device and unit, or one unit.
    pub filter: RunFilter,
}

/// How the runs are shown.
#[derive(Default)]
pub struct RunsView {
    settings: RunsSettings,
    /// The export or import dialog.
    dialog: FileDialog,
    /// What the open dialog's answer is for.
    dialog_for: Option<Exchange>,
    /// The outcome of the last export or import: Ok is news, Err a problem.
    exchange_outcome: Option<Result<String, String>>,
    /// Where the last exported or imported file was: the next dialog opens
    /// there.
    exchange_folder: Option<PathBuf>,
}

/// What a file dialog of the runs view was opened for.
enum Exchange {
    /// Export these runs: those shown when the user asked.
    Export(Vec<u64>),
    /// Import the file chosen.
    Import,
}

fn run_color(run: &StepRun) -> egui::Color32 {
    RUN_COLORS[(run.id as usize).wrapping_sub(1) % RUN_COLORS.len()]
}

/// The runs `filter` keeps, and the filter as resolved for them.
fn shown<'a>(filter: &RunFilter, runs: &'a [StepRun]) -> (Option<RunFilter>, Vec<&'a StepRun>) {
    let resolved = filter.resolve(runs);
    let kept = runs
        .iter()
        .filter(|r| resolved.as_ref().is_some_and(|f| f.keeps(r)))
        .collect();
    (resolved, kept)
}

/// One row of the table.
enum Row {
    /// Show and delete.
    Controls,
    Name,
    Step,
    Gain(String),
    Error,
    Metric(&'static MetricInfo),
}

impl RunsView {
    /// The choices to remember between launches.
    pub fn settings(&self) -> RunsSettings {
        self.settings.clone()
    }

    /// Restores remembered choices.
    pub fn apply_settings(&mut self, settings: RunsSettings) {
        self.settings = settings;
    }
}

impl RunsView {
    /// The overlay of the shown runs of the filter's device and unit.
    pub fn overlay_ui(&mut self, ui: &mut egui::Ui, store: &RunStore) {
        let (resolved, runs) = shown(&self.settings.filter, store.runs());
        ui.horizontal_wrapped(|ui| {
            ui.strong("Step responses");
            if let Some(filter) = &resolved {
                ui.weak(filter.label());
            }
            ui.checkbox(&mut self.settings.normalized, "Normalized")
                .on_hover_text(
                    "Each response as the fraction of its own step: 0 before, 1 at its final value",
                );
        });
        if runs.is_empty() {
            ui.weak("Run a step test: each measured step appears here.");
        }
        let normalized = self.settings.normalized;
        let unit = resolved.as_ref().and_then(RunFilter::unit).unwrap_or("");
        Plot::new("step overlay")
            .legend(Legend::default())
            .x_axis_label("time from step [s]")
            .y_axis_label(match (normalized, unit) {
                (true, _) => "fraction of step".to_owned(),
                // No runs yet: no unit, and no empty brackets.
                (false, "") => String::new(),
                (false, unit) => format!("[{unit}]"),
            })
            .show(ui, |plot| {
                for run in runs.into_iter().filter(|r| r.visible) {
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

    /// The table of the filter's runs: one column per run, its controls on
    /// top, then its gains, then its metrics; the row names frozen on the
    /// left.
    pub fn table_ui(&mut self, ui: &mut egui::Ui, store: &mut RunStore) {
        if !store.runs().is_empty() {
            self.filter_ui(ui, store.runs());
        }
        self.exchange_ui(ui, store);
        if store.runs().is_empty() {
            ui.weak("Gains and metrics of every run appear here, side by side, the best of each highlighted.");
            return;
        }
        let (_, runs) = shown(&self.settings.filter, store.runs());
        let rows = rows_of(&runs);
        let mut changes = Changes::default();
        egui::ScrollArea::vertical()
            .id_salt("runs table")
            .show(ui, |ui| {
                ui.horizontal_top(|ui| {
                    ui.spacing_mut().item_spacing = egui::Vec2::ZERO;
                    ui.vertical(|ui| {
                        for (i, row) in rows.iter().enumerate() {
                            cell(ui, NAME_COLUMN, i % 2 == 1, |ui| {
                                ui.add(egui::Label::new(row_name(row, &runs)).truncate());
                            });
                        }
                    });
                    // The only direction this area scrolls in: the wheel
                    // scrolls it sideways without Shift.
                    ui.scope(|ui| {
                        ui.style_mut().always_scroll_the_only_direction = true;
                        egui::ScrollArea::horizontal()
                            .id_salt("runs columns")
                            .stick_to_right(true)
                            .show(ui, |ui| {
                                ui.vertical(|ui| {
                                    for (i, row) in rows.iter().enumerate() {
                                        ui.horizontal(|ui| {
                                            row_cells(ui, row, &runs, i % 2 == 1, &mut changes);
                                        });
                                    }
                                });
                            });
                    });
                });
            });
        changes.apply(store);
    }

    fn filter_ui(&mut self, ui: &mut egui::Ui, runs: &[StepRun]) {
        let resolved = self.settings.filter.resolve(runs);
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Runs of");
            let selected = resolved.as_ref().map_or_else(String::new, RunFilter::label);
            egui::ComboBox::from_id_salt("runs filter")
                .selected_text(selected)
                .show_ui(ui, |ui| {
                    ui.selectable_value(
                        &mut self.settings.filter,
                        RunFilter::Newest,
                        RunFilter::Newest.label(),
                    );
                    for choice in filter_choices(runs) {
                        let label = choice.label();
                        ui.selectable_value(&mut self.settings.filter, choice, label);
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text(
                    "Runs compare within one device and unit. The mouse wheel over the run \
                     columns scrolls them sideways; over the row names, up and down.",
                );
            let hidden = runs
                .iter()
                .filter(|r| !resolved.as_ref().is_some_and(|f| f.keeps(r)))
                .count();
            if hidden > 0 {
                ui.weak(format!("({hidden} of other devices or units not shown)"));
            }
        });
    }
}

impl RunsView {
    /// *Export runs…* (the runs the filter shows) and *Import runs…*, and
    /// how the last of them went; the dialog's answer is acted on the frame
    /// it arrives.
    fn exchange_ui(&mut self, ui: &mut egui::Ui, store: &mut RunStore) {
        if let Some(path) = self.dialog.take() {
            match self.dialog_for.take() {
                Some(Exchange::Export(ids)) => self.export_to(store, &ids, &path),
                Some(Exchange::Import) => self.import_from(store, &path),
                None => {}
            }
        }
        let (_, runs) = shown(&self.settings.filter, store.runs());
        let ids: Vec<u64> = runs.iter().map(|r| r.id).collect();
        ui.add_enabled_ui(!self.dialog.is_open(), |ui| {
            ui.horizontal_wrapped(|ui| {
                let export = ui
                    .add_enabled(!ids.is_empty(), egui::Button::new("Export runs…"))
                    .on_hover_text(
                        "Save the runs listed here to a file another motiontune can import",
                    );
                if export.clicked() {
                    self.ask(Exchange::Export(ids), ui.ctx());
                }
                let import = ui.button("Import runs…").on_hover_text(
                    "Add the runs of an exported file; runs kept already are skipped",
                );
                if import.clicked() {
                    self.ask(Exchange::Import, ui.ctx());
                }
            });
        });
        super::outcome_ui(ui, &self.exchange_outcome);
    }

    /// Opens the dialog for `exchange` where the last file was.
    fn ask(&mut self, exchange: Exchange, ctx: &egui::Context) {
        let ask = match exchange {
            Exchange::Export(_) => Ask::Save {
                title: "Export step runs",
                name: "exported-step-runs.json".to_owned(),
            },
            Exchange::Import => Ask::Open {
                title: "Import step runs",
                filter: ("Step runs", &["json"]),
            },
        };
        self.dialog.open(ask, self.exchange_folder.clone(), ctx);
        self.dialog_for = Some(exchange);
    }

    /// Exports the runs of `ids` to `path` and says how it went; what
    /// *Export runs…* does with the file chosen.
    pub fn export_to(&mut self, store: &RunStore, ids: &[u64], path: &Path) {
        self.exchange_folder = path.parent().map(Path::to_path_buf);
        self.exchange_outcome = Some(
            store
                .export(ids, path)
                .map(|count| format!("Exported {} to {}", runs(count), path.display()))
                .map_err(|e| e.to_string()),
        );
    }

    /// Imports the runs of the file at `path` into `store` and says how it
    /// went; what *Import runs…* does with the file chosen.
    pub fn import_from(&mut self, store: &mut RunStore, path: &Path) {
        self.exchange_folder = path.parent().map(Path::to_path_buf);
        self.exchange_outcome = Some(
            store
                .import(path)
                .map(|outcome| {
                    let mut news = format!(
                        "Imported {} from {}",
                        runs(outcome.imported),
                        path.display()
                    );
                    if outcome.skipped > 0 {
                        news += &format!(", skipped {} kept already", runs(outcome.skipped));
                    }
                    news
                })
                .map_err(|e| e.to_string()),
        );
    }
}

/// "1 run", "2 runs".
fn runs(count: usize) -> String {
    match count {
        1 => "1 run".to_owned(),
        count => format!("{count} runs"),
    }
}

/// Edits asked for this frame, applied once the table is drawn.
#[derive(Default)]
struct Changes {
    renames: Vec<(u64, String)>,
    visibility: Vec<(u64, bool)>,
    deletions: Vec<u64>,
}

impl Changes {
    fn apply(self, store: &mut RunStore) {
        for (id, visible) in self.visibility {
            store.set_visible(id, visible);
        }
        for (id, name) in self.renames {
            store.rename(id, &name);
        }
        for id in self.deletions {
            store.delete(id);
        }
    }
}

/// A cell of `width` and the row's height, striped on odd rows.
fn cell(ui: &mut egui::Ui, width: f32, stripe: bool, add: impl FnOnce(&mut egui::Ui)) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, ROW_HEIGHT), egui::Sense::hover());
    if stripe {
        ui.painter()
            .rect_filled(rect, 0.0, ui.visuals().faint_bg_color);
    }
    let inner = rect.shrink2(egui::vec2(4.0, 1.0));
    let mut child = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(inner)
            .layout(egui::Layout::left_to_right(egui::Align::Center)),
    );
    child.set_clip_rect(inner.intersect(ui.clip_rect()));
    // The rows are laid edge to edge; widgets inside a cell keep a gap.
    child.spacing_mut().item_spacing = egui::vec2(6.0, 0.0);
    add(&mut child);
}

/// The rows for `runs`: controls, gains any of them was measured with,
/// then the metrics any of them has.
fn rows_of(runs: &[&StepRun]) -> Vec<Row> {
    let mut rows = vec![Row::Controls, Row::Name, Row::Step];
    for gain in runs.iter().flat_map(|r| &r.gains) {
        if !rows
            .iter()
            .any(|row| matches!(row, Row::Gain(name) if *name == gain.name))
        {
            rows.push(Row::Gain(gain.name.clone()));
        }
    }
    if runs.iter().any(|r| r.error.is_some()) {
        rows.push(Row::Error);
    }
    for metric in &METRICS {
        if !runs
            .iter()
            .all(|r| r.metric(metric.key).is_none() && r.error.is_some())
        {
            rows.push(Row::Metric(metric));
        }
    }
    rows
}

fn row_name(row: &Row, runs: &[&StepRun]) -> String {
    let unit = runs.first().map_or("", |r| r.signal_unit.as_str());
    match row {
        Row::Controls => "Show".to_owned(),
        Row::Name => "Name".to_owned(),
        Row::Step => with_unit("Step", unit),
        Row::Gain(name) => {
            let gain_unit = runs
                .iter()
                .flat_map(|r| &r.gains)
                .find(|g| g.name == *name && !g.unit.is_empty())
                .map(|g| format!(" [{}]", g.unit));
            format!("{name}{}", gain_unit.unwrap_or_default())
        }
        Row::Error => "Error".to_owned(),
        Row::Metric(metric) => metric_label(metric, runs),
    }
}

/// The cells of `row`, one per run.
fn row_cells(ui: &mut egui::Ui, row: &Row, runs: &[&StepRun], stripe: bool, changes: &mut Changes) {
    let best = match row {
        Row::Metric(metric) => {
            let values: Vec<Option<f64>> = runs
                .iter()
                .map(|r| r.metric(metric.key).filter(|_| r.visible))
                .collect();
            metric
                .better
                .best_of(&values)
                .filter(|_| values.iter().flatten().count() > 1)
        }
        _ => None,
    };
    let first_gain = |name: &str| runs.first().and_then(|r| gain_of(r, name));
    for (i, run) in runs.iter().enumerate() {
        cell(ui, RUN_COLUMN, stripe, |ui| match row {
            Row::Controls => {
                let mut visible = run.visible;
                let checkbox = ui
                    .checkbox(&mut visible, "")
                    .on_hover_text("Show in the overlay and compare")
                    .accessible_name(format!("Show run {}", run.id));
                if checkbox.changed() {
                    changes.visibility.push((run.id, visible));
                }
                let delete = ui
                    .small_button("Delete")
                    .on_hover_text(format!("Measured {}", run.recorded_at))
                    .accessible_name(format!("Delete run {}", run.id));
                if delete.clicked() {
                    changes.deletions.push(run.id);
                }
            }
            Row::Name => {
                let mut name = run.name.clone();
                let edit = ui
                    .add(
                        egui::TextEdit::singleline(&mut name)
                            .desired_width(RUN_COLUMN - 8.0)
                            .text_color(run_color(run)),
                    )
                    .accessible_name(format!("Name of run {}", run.id));
                let edit = if run.source.is_empty() {
                    edit
                } else {
                    edit.on_hover_text(format!("Imported from {}", run.source))
                };
                if edit.changed() {
                    changes.renames.push((run.id, name));
                }
            }
            Row::Step => {
                ui.add(egui::Label::new(format!("{} to {}", run.from, run.to)).truncate());
            }
            Row::Gain(name) => {
                let text = match gain_of(run, name) {
                    Some(value) if Some(value) != first_gain(name) => {
                        egui::RichText::new(format!("{value}")).strong()
                    }
                    Some(value) => egui::RichText::new(format!("{value}")),
                    None => egui::RichText::new("—").weak(),
                };
                ui.add(egui::Label::new(text).truncate());
            }
            Row::Error => {
                if let Some(error) = &run.error {
                    ui.colored_label(ui.visuals().error_fg_color, "not measured")
                        .on_hover_text(error.as_str());
                }
            }
            Row::Metric(metric) => {
                let text = match run.metric(metric.key) {
                    Some(value) if best == Some(i) => {
                        egui::RichText::new(significant_digits(value, 4))
                            .strong()
                            .color(BEST_GREEN)
                    }
                    Some(value) => egui::RichText::new(significant_digits(value, 4)),
                    None if run.error.is_some() => egui::RichText::new("—").weak(),
                    None => egui::RichText::new(metric.missing_reason).weak(),
                };
                let text = if run.visible { text } else { text.weak() };
                ui.add(egui::Label::new(text).truncate());
            }
        });
    }
}

fn gain_of(run: &StepRun, name: &str) -> Option<f32> {
    run.gains.iter().find(|g| g.name == name).map(|g| g.value)
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

fn metric_label(metric: &MetricInfo, runs: &[&StepRun]) -> String {
    let (signal, effort) = runs.first().map_or(("", ""), |r| {
        (r.signal_unit.as_str(), r.effort_unit.as_str())
    });
    with_unit(metric.label, &metric.unit.text(signal, effort))
}

/// `label [unit]`, or the label alone when there is no unit.
fn with_unit(label: &str, unit: &str) -> String {
    if unit.is_empty() {
        label.to_owned()
    } else {
        format!("{label} [{unit}]")
    }
}

#[cfg(test)]
mod tests {
    use super::{RunsSettings, RunsView};
    use crate::record::{RunFilter, RunGroup, RunStore, StepRun, Trace};

    #[test]
    fn settings_survive_a_round_trip_and_missing_fields_take_defaults() {
        let mut view = RunsView::default();
        let settings = RunsSettings {
            normalized: true,
            filter: RunFilter::Group(RunGroup {
                device: "ODrive".into(),
                unit: "turn".into(),
            }),
        };
        view.apply_settings(settings.clone());
        let json = serde_json::to_string(&view.settings()).expect("serializes");
        let back: RunsSettings = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, settings);
        let old: RunsSettings = serde_json::from_str(r#"{"normalized": true}"#).expect("old");
        assert_eq!((old.normalized, old.filter), (true, RunFilter::Newest));
    }

    /// A runs file of one run, as another engineer's motiontune writes it.
    fn shared_file(path: &std::path::Path) {
        let run = StepRun {
            id: 7,
            name: "kp 20".into(),
            visible: true,
            recorded_at: "2026-12-06T12:00:00Z".into(),
            device: "sim".into(),
            from: 0.0,
            to: 0.5,
            signal_unit: "rad".into(),
            effort_unit: "A".into(),
            gains: Vec::new(),
            metrics: Default::default(),
            error: None,
            source: String::new(),
            trace: Trace {
                time: vec![-0.1, 0.0, 0.1],
                reference: vec![0.0, 0.5, 0.5],
                feedback: vec![0.0, 0.2, 0.5],
                effort: None,
            },
        };
        let json = serde_json::json!({ "runs": [run] });
        std::fs::write(path, json.to_string()).expect("write");
    }

    #[test]
    fn the_file_chosen_is_exported_or_imported_and_the_outcome_told_in_one_line() {
        let folder = tempfile::tempdir().expect("temp dir");
        let shared = folder.path().join("ab.json");
        shared_file(&shared);
        let mut view = RunsView::default();
        let mut store = RunStore::in_memory();

        view.import_from(&mut store, &shared);
        let told = format!("Imported 1 run from {}", shared.display());
        assert_eq!(view.exchange_outcome, Some(Ok(told)));
        assert_eq!(store.runs()[0].source, "ab.json");
        assert_eq!(view.exchange_folder.as_deref(), Some(folder.path()));

        view.import_from(&mut store, &shared);
        let told = format!(
            "Imported 0 runs from {}, skipped 1 run kept already",
            shared.display()
        );
        assert_eq!(view.exchange_outcome, Some(Ok(told)));

        let out = folder.path().join("out.json");
        view.export_to(&store, &[1], &out);
        let told = format!("Exported 1 run to {}", out.display());
        assert_eq!(view.exchange_outcome, Some(Ok(told)));

        let missing = folder.path().join("missing.json");
        view.import_from(&mut store, &missing);
        let Some(Err(problem)) = &view.exchange_outcome else {
            panic!("a problem: {:?}", view.exchange_outcome);
        };
        assert!(
            problem.starts_with("cannot import step runs from"),
            "{problem}"
        );
        assert_eq!(store.runs().len(), 1);
    }
}
