//! The row above the plots: follow or freeze, window length, live or
//! captured data, XY view, and saving: recording every sample to CSV,
//! exporting what is shown to CSV, the plots to PNG and SVG at a chosen
//! size. Files go to a folder the user picks, named by date and time;
//! writing happens off the UI thread and the outcome shows here.

use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender};

use super::figure::Figure;
use super::{Display, WINDOWS_S, window_name};
use crate::app::record_all::RecordAllControl;
use crate::app::save_folder::SaveFolder;
use crate::device::session::DeviceSession;
use crate::record::{RecordFormat, Recording};

/// What a save ended with: a message for the user either way.
type SaveOutcome = Result<String, String>;

/// What the user asked of the scope itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Back to the newest samples.
    Follow,
    /// Stop the view.
    Freeze,
    /// Every sample in view to CSV.
    ExportView,
    /// The plots as PNG and SVG.
    SaveImage,
}

/// The scope settings the toolbar edits.
pub struct ToolbarState<'a> {
    /// The view follows the newest sample.
    pub follow: bool,
    /// Rolling window length, seconds.
    pub window_s: &'a mut f64,
    /// Live or captures.
    pub display: &'a mut Display,
    /// Whether there is a capture to show.
    pub has_captures: bool,
    /// The XY view is on.
    pub xy: &'a mut bool,
    /// Size of saved images, pixels.
    pub export_size: &'a mut [u32; 2],
}

/// The toolbar's own state: the save folder and the saves under way.
pub struct Toolbar {
    folder: SaveFolder,
    /// The last outcome of a save, shown until the next.
    message: Option<Result<String, String>>,
    exports: Vec<Recording>,
    image_results: (Sender<SaveOutcome>, Receiver<SaveOutcome>),
    /// The format *Record* writes.
    pub record_format: RecordFormat,
    /// *Record all devices*, beside *Record*.
    pub record_all: RecordAllControl,
}

impl Default for Toolbar {
    fn default() -> Self {
        Self {
            folder: SaveFolder::load(None).0,
            message: None,
            exports: Vec::new(),
            image_results: crossbeam_channel::unbounded(),
            record_format: RecordFormat::default(),
            record_all: RecordAllControl::default(),
        }
    }
}

impl Toolbar {
    /// Draws the row; returns what the user asked of the scope.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        state: ToolbarState<'_>,
        session: &mut DeviceSession,
    ) -> Option<Action> {
        let mut action = None;
        ui.horizontal_wrapped(|ui| {
            if state.follow && *state.display == Display::Live {
                if ui
                    .button("Freeze")
                    .on_hover_text("stop the view; capture goes on")
                    .clicked()
                {
                    action = Some(Action::Freeze);
                }
            } else if ui
                .button("Follow")
                .on_hover_text("back to the newest samples (Home or F, or double-click a plot)")
                .clicked()
            {
                action = Some(Action::Follow);
            }
            egui::ComboBox::from_label("Window")
                .selected_text(window_name(*state.window_s))
                .show_ui(ui, |ui| {
                    for &w in WINDOWS_S {
                        ui.selectable_value(state.window_s, w, window_name(w));
                    }
                });
            ui.separator();
            ui.selectable_value(state.display, Display::Live, "Live");
            ui.add_enabled_ui(state.has_captures, |ui| {
                ui.selectable_value(state.display, Display::Captures, "Captures");
            });
            ui.checkbox(state.xy, "XY");
            ui.separator();
            self.recording_ui(ui, session);
            if self.record_all.ui(ui) {
                let path = self.file_path("devices", "csv");
                self.record_all.start_into(path);
            }
            if ui
                .button("Export CSV")
                .on_hover_text("every sample in view, or the captures")
                .clicked()
            {
                action = Some(Action::ExportView);
            }
            if ui
                .button("Save image")
                .on_hover_text("the plots as PNG and SVG, drawn from the data at the size beside")
                .clicked()
            {
                action = Some(Action::SaveImage);
            }
            let [width, height] = state.export_size;
            ui.add(egui::DragValue::new(width).range(200..=8000).suffix(" px"))
                .accessible_name("Image width")
                .on_hover_text("width of saved images");
            ui.label("×");
            ui.add(egui::DragValue::new(height).range(150..=8000).suffix(" px"))
                .accessible_name("Image height")
                .on_hover_text("height of saved images");
            let hint = self.folder.hint();
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.folder.text)
                        .hint_text(hint)
                        .desired_width(160.0),
                )
                .accessible_name("Save folder")
                .on_hover_text("folder for recordings and exports, remembered once changed");
            let browsed = self.folder.browse_ui(ui);
            if (field.lost_focus() || browsed)
                && let Err(error) = self.folder.remember()
            {
                self.message = Some(Err(error));
            }
            super::super::outcome_ui(ui, &self.message);
        });
        action
    }

    fn recording_ui(&mut self, ui: &mut egui::Ui, session: &mut DeviceSession) {
        let running = session
            .recording
            .as_ref()
            .is_some_and(Recording::is_running);
        if running {
            if let Some(recording) = &session.recording {
                ui.colored_label(
                    egui::Color32::from_rgb(230, 60, 60),
                    format!("REC {} rows", recording.rows_written()),
                );
            }
            if ui.button("Stop recording").clicked()
                && let Some(recording) = &mut session.recording
            {
                recording.stop();
            }
        } else {
            // A recording shown has no samples coming: Export CSV saves it.
            let live = session.recorded_from.is_none();
            let record = ui
                .add_enabled(live, egui::Button::new("Record"))
                .on_hover_text(format!(
                    "every sample to {} until stopped",
                    self.record_format.name()
                ))
                .on_disabled_hover_text("a recording shown: Export CSV saves what is in view")
                .clicked();
            egui::ComboBox::from_id_salt("record format")
                .selected_text(self.record_format.name())
                .width(70.0)
                .show_ui(ui, |ui| {
                    for format in [RecordFormat::Csv, RecordFormat::Parquet] {
                        ui.selectable_value(&mut self.record_format, format, format.name());
                    }
                })
                .response
                .on_hover_text("CSV opens anywhere; Parquet is 2.4× smaller, for long recordings")
                .widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "Record format")
                });
            if !record {
                return;
            }
            let Some(info) = &session.info else {
                return;
            };
            let path = self.file_path("recording", self.record_format.extension());
            match Recording::start(&path, &info.channels) {
                Ok(recording) => {
                    self.message = Some(Ok(format!("recording to {}", path.display())));
                    session.recording = Some(recording);
                }
                Err(error) => self.message = Some(Err(error.to_string())),
            }
        }
    }

    fn file_path(&self, kind: &str, extension: &str) -> PathBuf {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "-")
            .trim_end_matches('Z')
            .to_owned();
        let folder = self.folder.path();
        let mut path = folder.join(format!("motiontune-{kind}-{stamp}.{extension}"));
        // Two saves in one second get distinct names.
        let mut copy = 2;
        while path.exists() {
            path = folder.join(format!("motiontune-{kind}-{stamp}-{copy}.{extension}"));
            copy += 1;
        }
        path
    }

    /// Writes the samples of `range` (live) or the newest capture to CSV
    /// on a writer thread.
    pub fn export_csv(&mut self, session: &DeviceSession, display: Display, range: (f64, f64)) {
        let Some(info) = &session.info else {
            return;
        };
        let (history, kind) = match display {
            Display::Live => (session.history.as_ref(), "view"),
            Display::Captures => (
                session.capture.captures().last().map(|c| &c.history),
                "capture",
            ),
        };
        let Some(history) = history else {
            return;
        };
        let indices = match display {
            Display::Live => history.index_range(range.0, range.1),
            Display::Captures => history.indices(),
        };
        let path = self.file_path(kind, "csv");
        match Recording::start(&path, &info.channels) {
            Ok(mut export) => {
                for batch in history.batches(indices.clone(), 4096) {
                    export.write(&batch);
                }
                export.stop();
                self.message = Some(Ok(format!(
                    "exporting {} rows to {}",
                    indices.end - indices.start,
                    path.display()
                )));
                self.exports.push(export);
            }
            Err(error) => self.message = Some(Err(error.to_string())),
        }
    }

    /// Where files go, and why the remembered folder could not be read.
    pub fn set_save_folder(&mut self, folder: SaveFolder, error: Option<String>) {
        self.folder = folder;
        if let Some(error) = error {
            self.message = Some(Err(error));
        }
    }

    /// Writes `figure` as PNG and SVG side by side on a writer thread.
    pub fn save_image(&mut self, ctx: &egui::Context, figure: Figure) {
        let png = self.file_path("plot", "png");
        let svg = png.with_extension("svg");
        let results = self.image_results.0.clone();
        let ctx = ctx.clone();
        // Rasterizing and encoding take tens of milliseconds: not on the
        // UI thread.
        std::thread::spawn(move || {
            let outcome = figure
                .save_png(&png)
                .map_err(|error| format!("cannot save {}: {error}", png.display()))
                .and_then(|()| {
                    figure
                        .save_svg(&svg)
                        .map_err(|error| format!("cannot save {}: {error}", svg.display()))
                })
                .map(|()| format!("saved {} and {}", png.display(), svg.display()));
            let _ = results.send(outcome);
            ctx.request_repaint();
        });
        self.message = Some(Ok("saving the image…".to_owned()));
    }

    /// Collects the outcomes of saves and recordings that ended.
    pub fn poll(&mut self, session: &mut DeviceSession) {
        while let Ok(outcome) = self.image_results.1.try_recv() {
            self.message = Some(outcome);
        }
        self.exports.retain_mut(|export| match export.outcome() {
            Some(outcome) => {
                self.message = Some(match outcome {
                    Ok(rows) => Ok(format!(
                        "exported {rows} rows to {}",
                        export.path().display()
                    )),
                    Err(error) => Err(error),
                });
                false
            }
            None => true,
        });
        if let Some(recording) = &mut session.recording
            && let Some(outcome) = recording.outcome()
        {
            self.message = Some(match outcome {
                Ok(rows) => Ok(format!(
                    "recorded {rows} rows to {}",
                    recording.path().display()
                )),
                Err(error) => Err(format!(
                    "recording stopped: {error}; {} keeps the rows up to then",
                    recording.path().display()
                )),
            });
            session.recording = None;
        }
    }
}
