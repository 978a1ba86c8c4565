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
//! adds to the run store to compare with live runs. An armed trigger on a
//! shown file scans it from where it last stopped, a bounded slice a frame.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::Receiver;
use serde::{Deserialize, Serialize};

use super::file_dialog::{Ask, FileDialog};
use crate::capture::ArmState;
use crate::device::recorded::{self, LoadProgress, RecordedDevice};
use crate::device::session::DeviceSession;
use crate::protocol::ChannelRole;
use crate::record::read::{FileFormat, ReadOptions};
use crate::record::{RunContext, RunStore};
use crate::tuning::StepResponse;

/// Recent files remembered.
pub const MAX_RECENT: usize = 8;

/// Samples a frame's trigger scan of a file reads: a few milliseconds.
const SCAN_PER_FRAME: u64 = 200_000;

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
        progress: Arc<LoadProgress>,
        done: Receiver<Result<RecordedDevice, String>>,
        started: Instant,
    },
    Open(Box<OpenFile>),
    Failed(String),
}

/// A loaded file: its session and what the pane shows of it.
struct OpenFile {
    /// `None` only while lent to the workspace for a frame.
    session: Option<DeviceSession>,
    rows: usize,
    rate_hz: f64,
    exact: bool,
    span_s: (f64, f64),
    how_read: String,
    problems: Vec<String>,
    steps: Vec<StepResponse>,
    no_steps: Option<String>,
    /// The steps were kept as runs.
    kept: bool,
    loaded_in: Duration,
    /// Where the trigger scan goes on (absolute sample index).
    scanned_to: u64,
    /// An armed trigger scanned to the end of the file.
    scan_ended: bool,
    /// `name [unit]` of every channel.
    channels: Vec<String>,
    /// The units runs are kept with.
    signal_unit: String,
    effort_unit: String,
    /// When the file was written, RFC 3339: the runs' date.
    written_at: String,
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
#[derive(Clone, Copy, Debug)]
enum Asked {
    Show(usize),
    Close(usize),
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

    /// Opens `path` on a thread of its own (or shows it, when it is open
    /// already); it is shown once loaded.
    pub fn open(&mut self, path: PathBuf, ctx: &egui::Context) {
        if let Some(at) = self.files.iter().position(|f| f.path == path) {
            if matches!(self.files[at].state, FileState::Open(_)) {
                self.shown = Some(at);
            }
            return;
        }
        self.remember(&path);
        let progress = Arc::new(LoadProgress::default());
        let (tx, done) = crossbeam_channel::bounded(1);
        let (thread_path, thread_progress, ctx) = (path.clone(), progress.clone(), ctx.clone());
        let spawned = std::thread::Builder::new()
            .name("open recording".into())
            .spawn(move || {
                let loaded =
                    recorded::load(&thread_path, &ReadOptions::default(), &thread_progress);
                let _ = tx.send(loaded);
                ctx.request_repaint();
            });
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let state = match spawned {
            Ok(_) => FileState::Loading {
                progress,
                done,
                started: Instant::now(),
            },
            Err(error) => FileState::Failed(format!("cannot open {name}: {error}")),
        };
        self.files.push(OpenedFile { path, name, state });
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
                done, started: t0, ..
            } = &file.state
                && let Ok(loaded) = done.try_recv()
            {
                let loaded_in = t0.elapsed();
                file.state = match loaded {
                    Ok(device) => {
                        show = Some(Showing::File(at));
                        FileState::Open(Box::new(OpenFile::new(device, loaded_in)))
                    }
                    Err(error) => FileState::Failed(error),
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
            FileState::Failed(_) => false,
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
                FileState::Failed(why) => Some(why.as_str()),
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
    pub fn put_back(&mut self, lent: Option<Lent>) -> Option<Showing> {
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
    pub fn pane_ui(&mut self, ui: &mut egui::Ui, runs: &mut RunStore) {
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
                    file_ui(ui, file, runs);
                    ui.separator();
                });
            }
        });
    }
}

/// One file's entry in the pane.
fn file_ui(ui: &mut egui::Ui, file: &mut OpenedFile, runs: &mut RunStore) {
    match &mut file.state {
        FileState::Loading { progress, .. } => {
            let (stage, done) = progress.get();
            ui.add(egui::ProgressBar::new(done).show_percentage().text(format!(
                "{}… {:.0} %",
                stage.label(),
                done * 100.0
            )));
        }
        FileState::Failed(error) => {
            ui.colored_label(ui.visuals().error_fg_color, error.as_str());
        }
        FileState::Open(open) => open.ui(ui, &file.name, runs),
    }
}

impl OpenFile {
    fn new(device: RecordedDevice, loaded_in: Duration) -> Self {
        let span_s = device.history.time_span().unwrap_or((0.0, 0.0));
        let how_read = match &device.format {
            FileFormat::Csv(layout) => format!("CSV, {}", layout.describe()),
            FileFormat::Parquet(info) => format!("Parquet, {}", info.describe()),
        };
        let mut problems: Vec<String> = device.problems.iter().map(ToString::to_string).collect();
        if device.problems_not_listed > 0 {
            problems.push(format!("and {} more", device.problems_not_listed));
        }
        let scanned_to = device.history.indices().start;
        let unit_of = |role| {
            device
                .info
                .channels
                .iter()
                .find(|c| c.role == role)
                .map(|c| c.unit.clone())
                .unwrap_or_default()
        };
        let written_at = std::fs::metadata(&device.path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| SystemTime::now());
        Self {
            scan_ended: false,
            channels: device.info.channels.iter().map(|c| c.label()).collect(),
            signal_unit: unit_of(ChannelRole::Feedback),
            effort_unit: unit_of(ChannelRole::Effort),
            written_at: humantime::format_rfc3339_seconds(written_at).to_string(),
            rows: device.rows,
            rate_hz: device.rate_hz,
            exact: device.exact,
            span_s,
            how_read,
            problems,
            steps: device.steps,
            no_steps: device.no_steps,
            kept: false,
            loaded_in,
            scanned_to,
            session: Some(DeviceSession::recorded(
                device.path,
                device.info,
                device.history,
            )),
        }
    }

    /// A trigger is armed and has more of the file to scan.
    fn scanning(&self) -> bool {
        let Some(session) = &self.session else {
            return false;
        };
        let end = session.history.as_ref().map_or(0, |h| h.indices().end);
        match session.capture.state() {
            ArmState::Idle => false,
            // Armed anew: it starts again from the top at the end.
            ArmState::Armed { since: None } => true,
            _ => self.scanned_to < end,
        }
    }

    /// Feeds the armed trigger the next slice of the file, from where the
    /// last scan stopped; one armed anew at the end starts again from the
    /// file's first sample.
    fn scan_trigger(&mut self) {
        if !self.scanning() {
            return;
        }
        let Some(session) = &mut self.session else {
            return;
        };
        let Some(history) = &session.history else {
            return;
        };
        let indices = history.indices();
        if self.scanned_to >= indices.end {
            self.scanned_to = indices.start;
        }
        let end = indices.end.min(self.scanned_to + SCAN_PER_FRAME);
        for batch in history.batches(self.scanned_to..end, 4096) {
            session.capture.on_samples(&batch, 0);
            self.scanned_to += batch.len() as u64;
            if matches!(session.capture.state(), ArmState::Idle) {
                break;
            }
        }
        self.scan_ended =
            self.scanned_to >= indices.end && !matches!(session.capture.state(), ArmState::Idle);
    }

    fn ui(&mut self, ui: &mut egui::Ui, name: &str, runs: &mut RunStore) {
        let seconds = self.span_s.1 - self.span_s.0;
        ui.label(format!(
            "{} rows over {seconds:.3} s at {} Hz{}; opened in {:.2} s",
            self.rows,
            self.rate_hz,
            if self.exact {
                ""
            } else {
                " (times rounded to that clock)"
            },
            self.loaded_in.as_secs_f64()
        ));
        ui.label(format!("Channels: {}", self.channels.join(", ")));
        ui.weak(&self.how_read);
        if self.scan_ended {
            ui.weak("The trigger has scanned to the end of the file; arm it again to start over.");
        }
        if !self.problems.is_empty() {
            egui::CollapsingHeader::new(format!(
                "{} rows could not be read whole",
                self.problems.len()
            ))
            .show(ui, |ui| {
                for problem in &self.problems {
                    ui.colored_label(ui.visuals().warn_fg_color, problem);
                }
            });
        }
        match &self.no_steps {
            Some(why) => {
                ui.weak(why);
            }
            None => {
                ui.horizontal(|ui| {
                    let count = self.steps.len();
                    ui.label(format!("{count} step{} found", plural(count)));
                    let keep = ui
                        .add_enabled(!self.kept, egui::Button::new("Keep as runs"))
                        .on_hover_text("Add every step to the runs, to compare with others");
                    if keep.clicked() {
                        self.keep_steps(name, runs);
                    }
                    if self.kept {
                        ui.weak("kept");
                    }
                });
            }
        }
    }

    /// Adds every step to `runs`, named for the file and dated by it.
    fn keep_steps(&mut self, name: &str, runs: &mut RunStore) {
        let context = RunContext {
            device: name.to_owned(),
            signal_unit: self.signal_unit.clone(),
            effort_unit: self.effort_unit.clone(),
            gains: Vec::new(),
        };
        for step in &self.steps {
            runs.add(step, &context, self.written_at.clone());
        }
        self.kept = true;
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
