//! The row above the plots: follow or freeze, window length, live or
//! captured data, XY view, and saving: recording every sample to CSV,
//! exporting what is shown to CSV, the plots to PNG. Files go to a folder
//! the user picks, named by date and time; writing happens off the UI
//! thread and the outcome shows here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::{Display, WINDOWS_S, window_name};
use crate::app::save_folder::SaveFolder;
use crate::device::session::DeviceSession;
use crate::record::Recording;

/// What a save ended with: a message for the user either way.
type SaveOutcome = Result<String, String>;

/// What the user asked of the scope itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Follow,
    Freeze,
    ExportView,
}

/// The scope settings the toolbar edits.
pub struct ToolbarState<'a> {
    pub follow: bool,
    pub window_s: &'a mut f64,
    pub display: &'a mut Display,
    pub has_captures: bool,
    pub xy: &'a mut bool,
}

pub struct Toolbar {
    folder: SaveFolder,
    /// The last outcome of a save, shown until the next.
    message: Option<Result<String, String>>,
    exports: Vec<Recording>,
    png_results: (Sender<SaveOutcome>, Receiver<SaveOutcome>),
    /// Where the plots were last drawn, for cropping the screenshot.
    plot_rect: Option<egui::Rect>,
}

impl Default for Toolbar {
    fn default() -> Self {
        Self {
            folder: SaveFolder::load(None).0,
            message: None,
            exports: Vec::new(),
            png_results: crossbeam_channel::unbounded(),
            plot_rect: None,
        }
    }
}

impl Toolbar {
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
            if ui
                .button("Export CSV")
                .on_hover_text("every sample in view, or the captures")
                .clicked()
            {
                action = Some(Action::ExportView);
            }
            if ui
                .button("Save PNG")
                .on_hover_text("the plots as an image")
                .clicked()
            {
                self.request_png(ui);
            }
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
        } else if ui
            .button("Record")
            .on_hover_text("every sample to CSV until stopped")
            .clicked()
        {
            let Some(info) = &session.info else {
                return;
            };
            let path = self.file_path("recording", "csv");
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

    /// Remembers where the plots are, for the PNG.
    pub fn set_plot_rect(&mut self, rect: egui::Rect) {
        self.plot_rect = Some(rect);
    }

    fn request_png(&mut self, ui: &egui::Ui) {
        let path = self.file_path("plot", "png");
        let crop = self.plot_rect;
        let results = self.png_results.0.clone();
        let pixels_per_point = ui.ctx().pixels_per_point();
        let ctx = ui.ctx().clone();
        ui.ctx()
            .request_screenshot(move |image: Arc<egui::ColorImage>| {
                // Encoding takes tens of milliseconds: not on the render thread.
                std::thread::spawn(move || {
                    let outcome = save_png(&path, &image, crop.map(|rect| rect * pixels_per_point))
                        .map(|()| format!("saved {}", path.display()))
                        .map_err(|error| format!("cannot save {}: {error}", path.display()));
                    let _ = results.send(outcome);
                    ctx.request_repaint();
                });
            });
        self.message = Some(Ok("saving the plot…".to_owned()));
    }

    /// Collects the outcomes of saves and recordings that ended.
    pub fn poll(&mut self, session: &mut DeviceSession) {
        while let Ok(outcome) = self.png_results.1.try_recv() {
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

/// Writes `image` (cropped to `crop`, in pixels, when given) as a PNG.
pub fn save_png(
    path: &Path,
    image: &egui::ColorImage,
    crop: Option<egui::Rect>,
) -> Result<(), String> {
    let [width, height] = image.size;
    let full = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(width as f32, height as f32));
    let area = crop.map_or(full, |rect| rect.intersect(full));
    let (x0, y0) = (area.min.x.max(0.0) as usize, area.min.y.max(0.0) as usize);
    let (x1, y1) = (
        area.max.x.min(width as f32) as usize,
        area.max.y.min(height as f32) as usize,
    );
    if x1 <= x0 || y1 <= y0 {
        return Err("nothing to save".to_owned());
    }
    let mut rgba = Vec::with_capacity((x1 - x0) * (y1 - y0) * 4);
    for y in y0..y1 {
        for pixel in &image.pixels[y * width + x0..y * width + x1] {
            rgba.extend_from_slice(&pixel.to_array());
        }
    }
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        (x1 - x0) as u32,
        (y1 - y0) as u32,
    );
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&rgba).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_holds_the_cropped_pixels() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plot.png");
        let mut image = egui::ColorImage::new([8, 6], vec![egui::Color32::BLACK; 48]);
        image.pixels[2 * 8 + 3] = egui::Color32::from_rgb(255, 0, 0);
        let crop = egui::Rect::from_min_max(egui::pos2(3.0, 2.0), egui::pos2(5.0, 4.0));
        save_png(&path, &image, Some(crop)).expect("saved");
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&path).expect("file"),
        ));
        let mut reader = decoder.read_info().expect("png");
        let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut pixels).expect("frame");
        assert_eq!((info.width, info.height), (2, 2));
        assert_eq!(&pixels[..4], &[255, 0, 0, 255]);
        assert_eq!(&pixels[4..8], &[0, 0, 0, 255]);
        assert!(
            save_png(
                &path,
                &image,
                Some(egui::Rect::from_min_max(
                    egui::pos2(20.0, 20.0),
                    egui::pos2(30.0, 30.0)
                ))
            )
            .is_err()
        );
    }
}
