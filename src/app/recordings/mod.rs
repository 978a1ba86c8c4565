//! Recordings opened beside the device: each file is read on its own
//! thread (a progress bar meanwhile; the UI never waits) into a read-only
//! [`DeviceSession`] of its own ([`crate::device::recorded`]), and the
//! workspace shows either the live device or one of them (*Showing* in the
//! top bar). The scope, channels, captures and readout work on a file as on
//! a device; the stop, the output and every write stay with the device.
//!
//! Files open from the *File* menu (a native dialog), a typed path, the
//! recent files, a drop onto the window, or the command line. The
//! Recordings pane lists them: rows, rate, channels, the rows that could
//! not be read (by line number), and the steps found, which *Keep as runs*
//! adds to the run store to compare with live runs; a CSV read wrongly can
//! be opened again with the reader's choices corrected ([`open_file`]).

mod open_file;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use serde::{Deserialize, Serialize};

use self::open_file::OpenFile;
use super::file_dialog::{Ask, FileDialog};
use crate::device::recorded::{self, LoadProgress, RecordedDevice};
use crate::device::session::DeviceSession;
use crate::record::RunStore;
use crate::record::read::ReadOptions;
use crate::tuning::FrequencyMeasurement;

/// Recent files remembered.
pub const MAX_RECENT: usize = 8;

/// The pace of frames while a file loads or a trigger scans one.
pub const BUSY_FRAME: Duration = Duration::from_millis(100);

/// What is remembered between launches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordingsSettings {
    /// Files opened lately, newest first.
    pub recent: Vec<String>,
}

/// One file, loading or open.
struct OpenedFile {
    path: PathBuf,
    name: String,
    state: FileState,
}

enum FileState {
    Loading {
        options: ReadOptions,
        progress: Arc<LoadProgress>,
        done: Receiver<Result<RecordedDevice, String>>,
        started: Instant,
    },
    Open(Box<OpenFile>),
    /// It could not be opened: why, in one line, and the reader's choices
    /// to try again with.
    Failed(String, ReadOptions),
}

/// The files opened, and which one the workspace shows.
#[derive(Default)]
pub struct Recordings {
    files: Vec<OpenedFile>,
    /// The file shown; `None`: the live device.
    shown: Option<usize>,
    dialog: FileDialog,
    typed: String,
    recent: Vec<String>,
    /// What the pane asked for, done once the shown session is back.
    asked: Option<Asked>,
}

/// A change to the list the pane asks for.
#[derive(Clone, Debug)]
enum Asked {
    Show(usize),
    Close(usize),
    /// Open the file again, read with these choices.
    Reopen(usize, ReadOptions),
}

/// The shown file's session, lent to the workspace for a frame.
pub struct Lent {
    at: usize,
    /// The session (always there: an `Option` as the workspace takes it).
    pub session: Option<DeviceSession>,
}

/// What the workspace shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Showing {
    /// The connected device.
    Device,
    /// An open recording, by its place in the list.
    File(usize),
}

impl Recordings {
    /// Starts from what was remembered.
    pub fn new(settings: RecordingsSettings) -> Self {
        Self {
            recent: settings.recent,
            ..Self::default()
        }
    }

    /// What is remembered between launches.
    pub fn settings(&self) -> RecordingsSettings {
        RecordingsSettings {
            recent: self.recent.clone(),
        }
    }

    /// Opens `path` on a thread of its own (shows it, when it is open
    /// already; tries again, when it failed); it is shown once loaded.
    pub fn open(&mut self, path: PathBuf, ctx: &egui::Context) {
        if let Some(at) = self.files.iter().position(|f| f.path == path) {
            let file = &mut self.files[at];
            match &file.state {
                FileState::Open(_) => self.shown = Some(at),
                FileState::Loading { .. } => {}
                // Opened again after it failed: the file may be mended.
                FileState::Failed(..) => {
                    file.state = Self::load(&path, ReadOptions::default(), ctx)
                }
            }
            return;
        }
        self.remember(&path);
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let state = Self::load(&path, ReadOptions::default(), ctx);
        self.files.push(OpenedFile { path, name, state });
    }

    /// Starts reading `path` with `options` on a thread of its own.
    fn load(path: &Path, options: ReadOptions, ctx: &egui::Context) -> FileState {
        let progress = Arc::new(LoadProgress::default());
        let (tx, done) = crossbeam_channel::bounded(1);
        let (thread_path, thread_progress, ctx) = (path.to_owned(), progress.clone(), ctx.clone());
        let thread_options = options.clone();
        let spawned = std::thread::Builder::new()
            .name("open recording".into())
            .spawn(move || {
                let loaded = recorded::load(&thread_path, &thread_options, &thread_progress);
                let _ = tx.send(loaded);
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => FileState::Loading {
                options,
                progress,
                done,
                started: Instant::now(),
            },
            Err(error) => {
                FileState::Failed(format!("cannot open {}: {error}", path.display()), options)
            }
        }
    }

    /// Opens the files dropped on the window this frame; while files are
    /// held over it, says they will open as recordings.
    pub fn take_drops(&mut self, ctx: &egui::Context) {
        let (dropped, hovered) = ctx.input(|i| {
            let dropped: Vec<PathBuf> = i
                .raw
                .dropped_files
                .iter()
                .map(|file| file.path().to_path_buf())
                .collect();
            (dropped, !i.raw.hovered_files.is_empty())
        });
        for path in dropped {
            self.open(path, ctx);
        }
        if hovered {
            let screen = ctx.content_rect();
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop hint"),
            ));
            painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(160));
            painter.text(
                screen.center(),
                egui::Align2::CENTER_CENTER,
                "Drop to open as a recording (CSV or Parquet)",
                egui::FontId::proportional(24.0),
                egui::Color32::WHITE,
            );
        }
    }

    fn remember(&mut self, path: &Path) {
        let shown = path.display().to_string();
        self.recent.retain(|p| *p != shown);
        self.recent.insert(0, shown);
        self.recent.truncate(MAX_RECENT);
    }

    /// Takes in loads that finished and moves armed triggers on through
    /// their files. Returns the file to show when one just finished
    /// loading.
    pub fn poll(&mut self) -> Option<Showing> {
        let mut show = None;
        for (at, file) in self.files.iter_mut().enumerate() {
            if let FileState::Loading {
                options,
                done,
                started,
                ..
            } = &file.state
                && let Ok(loaded) = done.try_recv()
            {
                let (loaded_in, options) = (started.elapsed(), options.clone());
                file.state = match loaded {
                    Ok(device) => {
                        show = Some(Showing::File(at));
                        FileState::Open(Box::new(OpenFile::new(device, options, loaded_in)))
                    }
                    Err(error) => FileState::Failed(error, options),
                };
            }
            if let FileState::Open(open) = &mut file.state {
                open.scan_trigger();
            }
        }
        if let Some(Showing::File(at)) = show {
            self.shown = Some(at);
        }
        show
    }

    /// A file loads or a trigger scans one: frames are worth drawing.
    pub fn busy(&self) -> bool {
        self.files.iter().any(|f| match &f.state {
            FileState::Loading { .. } => true,
            FileState::Open(open) => open.scanning(),
            FileState::Failed(..) => false,
        })
    }

    /// What the workspace shows.
    pub fn showing(&self) -> Showing {
        self.shown.map_or(Showing::Device, Showing::File)
    }

    /// The names of the files loaded, in the order opened.
    pub fn loaded(&self) -> Vec<&str> {
        self.files
            .iter()
            .filter(|f| matches!(f.state, FileState::Open(_)))
            .map(|f| f.name.as_str())
            .collect()
    }

    /// Why each file that could not be opened was not, one line each.
    pub fn failures(&self) -> Vec<&str> {
        self.files
            .iter()
            .filter_map(|f| match &f.state {
                FileState::Failed(why, _) => Some(why.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The shown file's session, between frames.
    pub fn shown_session(&self) -> Option<&DeviceSession> {
        match &self.files.get(self.shown?)?.state {
            FileState::Open(open) => open.session.as_ref(),
            _ => None,
        }
    }

    /// The shown file's name, when a file is shown.
    pub fn shown_name(&self) -> Option<&str> {
        self.shown.map(|at| self.files[at].name.as_str())
    }

    /// The shown file's session, lent for a frame; give it back with
    /// [`Self::put_back`].
    pub fn lend_shown(&mut self) -> Option<Lent> {
        let at = self.shown?;
        match &mut self.files.get_mut(at)?.state {
            FileState::Open(open) => open.session.take().map(|session| Lent {
                at,
                session: Some(session),
            }),
            _ => None,
        }
    }

    /// Gives back the session [`Self::lend_shown`] lent, then does what the
    /// pane asked for meanwhile; returns what is shown now when that
    /// changed.
    pub fn put_back(&mut self, lent: Option<Lent>, ctx: &egui::Context) -> Option<Showing> {
        if let Some(Lent { at, session }) = lent
            && let Some(FileState::Open(open)) = self.files.get_mut(at).map(|f| &mut f.state)
        {
            open.session = session;
        }
        match self.asked.take()? {
            Asked::Show(at) => {
                self.shown = Some(at);
                Some(Showing::File(at))
            }
            Asked::Reopen(at, options) => {
                let file = self.files.get_mut(at)?;
                file.state = Self::load(&file.path, options, ctx);
                // The device is shown until the file is back.
                (self.shown == Some(at)).then(|| {
                    self.shown = None;
                    Showing::Device
                })
            }
            Asked::Close(at) => {
                self.files.remove(at);
                let (shown, switched) = match self.shown {
                    Some(shown) if shown == at => (None, Some(Showing::Device)),
                    Some(shown) if shown > at => (Some(shown - 1), None),
                    other => (other, None),
                };
                self.shown = shown;
                switched
            }
        }
    }

    /// The time span of the shown file.
    pub fn shown_span(&self) -> Option<(f64, f64)> {
        match &self.files.get(self.shown?)?.state {
            FileState::Open(open) => Some(open.span_s),
            _ => None,
        }
    }

    /// The *File* menu: open a recording, or one opened lately.
    pub fn menu(&mut self, ui: &mut egui::Ui) {
        let mut open = None;
        ui.menu_button("File", |ui| {
            if ui.button("Open recording…").clicked() {
                self.ask(ui.ctx());
                ui.close();
            }
            ui.menu_button("Recent recordings", |ui| {
                if self.recent.is_empty() {
                    ui.weak("None yet");
                }
                for path in &self.recent {
                    if ui.button(path).clicked() {
                        open = Some(PathBuf::from(path));
                        ui.close();
                    }
                }
            });
        });
        if let Some(path) = open {
            self.open(path, ui.ctx());
        }
    }

    fn ask(&mut self, ctx: &egui::Context) {
        let start_in = self
            .recent
            .first()
            .and_then(|p| Path::new(p).parent().map(Path::to_path_buf));
        self.dialog.open(
            Ask::Open {
                title: "Open a recording",
                filter: ("Recordings", &["csv", "parquet", "txt", "log", "tsv"]),
            },
            start_in,
            ctx,
        );
    }

    /// *Showing*: the live device or one of the open files. Returns what
    /// the user switched to.
    pub fn showing_ui(&mut self, ui: &mut egui::Ui, device_name: &str) -> Option<Showing> {
        if let Some(path) = self.dialog.take() {
            self.open(path, ui.ctx());
        }
        if !self
            .files
            .iter()
            .any(|f| matches!(f.state, FileState::Open(_)))
        {
            return None;
        }
        let before = self.showing();
        let mut chosen = before;
        let label = ui.label("Showing");
        let text = match before {
            Showing::Device => format!("device: {device_name}"),
            Showing::File(at) => format!("file: {}", self.files[at].name),
        };
        egui::ComboBox::from_id_salt("showing")
            .selected_text(text)
            .show_ui(ui, |ui| {
                ui.selectable_value(
                    &mut chosen,
                    Showing::Device,
                    format!("device: {device_name}"),
                );
                for (at, file) in self.files.iter().enumerate() {
                    if matches!(file.state, FileState::Open(_)) {
                        ui.selectable_value(
                            &mut chosen,
                            Showing::File(at),
                            format!("file: {}", file.name),
                        );
                    }
                }
            })
            .response
            .labelled_by(label.id);
        (chosen != before).then(|| {
            self.shown = match chosen {
                Showing::Device => None,
                Showing::File(at) => Some(at),
            };
            chosen
        })
    }

    /// The Recordings pane. A *Show* or *Close* is done when the shown
    /// session is given back ([`Self::put_back`]).
    pub fn pane_ui(
        &mut self,
        ui: &mut egui::Ui,
        runs: &mut RunStore,
        responses: &mut Vec<FrequencyMeasurement>,
    ) {
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(!self.dialog.is_open(), egui::Button::new("Open recording…"))
                .clicked()
            {
                self.ask(ui.ctx());
            }
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.typed)
                    .hint_text("or type a path: run.csv, run.parquet")
                    .desired_width(220.0),
            );
            let typed = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let open_typed = ui
                .add_enabled(!self.typed.trim().is_empty(), egui::Button::new("Open"))
                .on_hover_text("Open the typed file");
            if (typed || open_typed.clicked()) && !self.typed.trim().is_empty() {
                let path = PathBuf::from(self.typed.trim());
                self.typed.clear();
                self.open(path, ui.ctx());
            }
        });
        ui.weak("A file dropped on the window opens too. Files are read-only.");
        ui.separator();
        if self.files.is_empty() {
            ui.weak("No recording open.");
            return;
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (at, file) in self.files.iter_mut().enumerate() {
                ui.push_id(at, |ui| {
                    let shown = self.shown == Some(at);
                    ui.horizontal(|ui| {
                        ui.strong(&file.name)
                            .on_hover_text(file.path.display().to_string());
                        if shown {
                            ui.weak("(shown)");
                        } else if matches!(file.state, FileState::Open(_))
                            && ui.button(format!("Show {}", file.name)).clicked()
                        {
                            self.asked = Some(Asked::Show(at));
                        }
                        if ui.button(format!("Close {}", file.name)).clicked() {
                            self.asked = Some(Asked::Close(at));
                        }
                    });
                    if let Some(options) = file_ui(ui, file, runs, responses) {
                        self.asked = Some(Asked::Reopen(at, options));
                    }
                    ui.separator();
                });
            }
        });
    }
}

/// One file's entry in the pane; the reader's choices when the user asks
/// to open it again with them.
fn file_ui(
    ui: &mut egui::Ui,
    file: &mut OpenedFile,
    runs: &mut RunStore,
    responses: &mut Vec<FrequencyMeasurement>,
) -> Option<ReadOptions> {
    match &mut file.state {
        FileState::Loading { progress, .. } => {
            let (stage, done) = progress.get();
            ui.add(egui::ProgressBar::new(done).show_percentage().text(format!(
                "{}… {:.0} %",
                stage.label(),
                done * 100.0
            )));
            None
        }
        FileState::Failed(error, options) => {
            ui.colored_label(ui.visuals().error_fg_color, error.as_str());
            let is_parquet = file.path.extension().is_some_and(|e| e == "parquet");
            if is_parquet {
                return None;
            }
            let mut again = false;
            egui::CollapsingHeader::new("Read as…")
                .default_open(true)
                .show(ui, |ui| again = open_file::read_as_ui(ui, None, options));
            again.then(|| options.clone())
        }
        FileState::Open(open) => open.ui(ui, &file.name, runs, responses),
    }
}
