//! The egui application. [`App`](crate::app::App) owns the connection to one device and lays
//! out the panels, each in its own file: connection bar and safety controls
//! at the top, parameter sliders on the left, the scope in the middle with
//! its channel and trigger controls on the right, the tuning procedures
//! below (step test with its overlay and comparison table, frequency
//! response with its Bode plot, the event log), link health in the status
//! bar. Esc is the emergency stop wherever the keyboard focus is, a dialog
//! open or not. The event log outlives a connection: a new one carries on
//! the log of the last.

mod autotune;
mod bode;
mod connection;
mod console;
mod event_log;
mod gain_history;
mod gains;
mod icon;
mod param_editor;
mod procedure_controls;
mod profiles;
mod runs_tab;
mod safety;
mod save_folder;
pub mod scope;
mod status;
mod step_test_tab;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

pub use crate::device::session::{ConnectionState, DeviceSession, NOT_CONNECTED, WriteState};

use crate::capture::ArmState;
use crate::device::{Console, EventLog, StopSource};
use crate::history::HistorySize;
use crate::link::{PortTarget, list_ports};
use crate::protocol::ChannelRole;
use crate::record::{GainValue, RunContext, RunStore};

/// The pace of frames while something on screen moves by itself.
const MOVING_FRAME: Duration = Duration::from_millis(16);
/// The pace otherwise, for the status bar's counters.
const STILL_FRAME: Duration = Duration::from_millis(250);

/// How the app starts.
#[derive(Clone, Debug)]
pub struct AppOptions {
    /// The device to connect to at start.
    pub target: PortTarget,
    /// Stream every Nth control-loop sample.
    pub stream_divider: u16,
    /// How much of the stream the scope keeps.
    pub history_size: HistorySize,
    /// Where step runs are kept between sessions; `None` keeps them in
    /// memory only.
    pub runs_file: Option<PathBuf>,
    /// Where settings (the save folder) are kept between sessions; `None`
    /// keeps them for this run only.
    pub settings_file: Option<PathBuf>,
}

impl AppOptions {
    /// The runs file in the user's data folder, where one exists.
    pub fn default_runs_file() -> Option<PathBuf> {
        dirs::data_dir().map(|dir| dir.join("motiontune").join("step-runs.json"))
    }

    /// The settings file in the user's config folder, where one exists.
    pub fn default_settings_file() -> Option<PathBuf> {
        save_folder::SaveFolder::default_settings_file()
    }
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            target: PortTarget::Sim,
            stream_divider: 1,
            history_size: HistorySize::default(),
            runs_file: None,
            settings_file: None,
        }
    }
}

/// The motiontune window.
pub struct App {
    connection: connection::ConnectionPanel,
    session: Option<DeviceSession>,
    scope: scope::Scope,
    gains: gains::GainsPanel,
    fault_banner: safety::FaultBanner,
    history_size: HistorySize,
    frame_times: status::FrameTimes,
    tuning_tab: TuningTab,
    step_test: step_test_tab::StepTestPanel,
    autotune: autotune::AutoTunePanel,
    bode: bode::BodePanel,
    runs: RunStore,
    runs_view: runs_tab::RunsView,
    /// Why the runs file could not be read or written.
    runs_error: Option<String>,
    event_log: event_log::EventLogPane,
    /// The log of the last session while none is connected.
    closed_log: EventLog,
    console: console::ConsolePane,
    /// The console of the last session while none is connected.
    closed_console: Console,
}

impl App {
    /// Builds the app and starts connecting to `options.target`.
    pub fn new(_cc: &eframe::CreationContext<'_>, options: AppOptions) -> Self {
        let (ports, port_error) = list_ports();
        let connection = connection::ConnectionPanel::new(&options, ports, port_error);
        let session = Some(DeviceSession::connect(
            options.target.clone(),
            options.stream_divider,
            options.history_size,
        ));
        let (runs, runs_error) = match &options.runs_file {
            Some(path) => RunStore::open(path),
            None => (RunStore::in_memory(), None),
        };
        let mut scope = scope::Scope::default();
        let (save_folder, settings_error) =
            save_folder::SaveFolder::load(options.settings_file.clone());
        scope.set_save_folder(save_folder, settings_error);
        Self {
            connection,
            session,
            scope,
            gains: gains::GainsPanel::default(),
            fault_banner: safety::FaultBanner::default(),
            history_size: options.history_size,
            frame_times: status::FrameTimes::default(),
            tuning_tab: TuningTab::default(),
            step_test: step_test_tab::StepTestPanel::default(),
            autotune: autotune::AutoTunePanel::default(),
            bode: bode::BodePanel::default(),
            runs,
            runs_view: runs_tab::RunsView::default(),
            runs_error: runs_error.map(|e| e.to_string()),
            event_log: event_log::EventLogPane::default(),
            closed_log: EventLog::default(),
            console: console::ConsolePane::default(),
            closed_console: Console::default(),
        }
    }

    /// The event log: the session's, or the last one's while none is
    /// connected.
    pub fn event_log(&self) -> &EventLog {
        self.session
            .as_ref()
            .map_or(&self.closed_log, |s| &s.event_log)
    }

    /// The console: the session's, or the last one's while none is
    /// connected.
    pub fn console(&self) -> &Console {
        self.session
            .as_ref()
            .map_or(&self.closed_console, |s| &s.console)
    }

    /// Closes the session, if any, keeping its event log and console.
    fn close_session(&mut self) {
        if let Some(session) = self.session.take() {
            // Closing disables its drive first.
            (self.closed_log, self.closed_console) = session.close();
        }
    }

    /// The kept step runs.
    pub fn runs(&self) -> &RunStore {
        &self.runs
    }

    /// Moves the steps the session measured into the run store, each with
    /// the gains in force.
    fn keep_measured_steps(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        let measured = session.procedures.take_measured_steps();
        if measured.is_empty() {
            return;
        }
        let context = run_context(session);
        let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        for response in measured {
            self.runs.add(&response, &context, now.clone());
        }
    }

    /// The frequency responses the Bode tab shows, oldest first.
    pub fn frequency_responses(&self) -> &[crate::tuning::FrequencyMeasurement] {
        &self.bode.measurements
    }

    /// The predicted step of the gains last written from the Auto-tune tab.
    pub fn autotune_prediction(&self) -> Option<&crate::tuning::Preview> {
        self.autotune.written_prediction()
    }

    /// When the next frame is due without input (egui asks for one on any
    /// input of its own): at the display's pace while something on screen
    /// moves by itself (a followed live view, a procedure under way, an
    /// armed trigger), a few a second otherwise for the status bar's
    /// counters, and none without a connection. The link's events wait in
    /// their channel between frames; nothing is lost.
    pub fn next_frame(&self) -> Option<Duration> {
        let session = self.session.as_ref().filter(|s| s.is_live())?;
        let procedure = session.procedure_running();
        let armed = !matches!(session.capture.state(), ArmState::Idle);
        Some(if self.scope.moves() || procedure || armed {
            MOVING_FRAME
        } else {
            STILL_FRAME
        })
    }

    /// The scope's view follows the newest sample.
    pub fn scope_follows(&self) -> bool {
        self.scope.is_following()
    }

    /// The connected (or last) device session.
    pub fn session(&self) -> Option<&DeviceSession> {
        self.session.as_ref()
    }
}

impl eframe::App for App {
    /// Runs before every frame and, unlike `ui`, also while the window is
    /// hidden or minimised: the link's events go into the bounded history
    /// here, so nothing piles up in the channel while nobody looks.
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if crate::interrupt::requested() {
            // Ctrl-C or SIGTERM in the terminal closes the window the normal
            // way, so the session is dropped and the drive left safe.
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if let Some(session) = &mut self.session {
            session.drain_events();
            if session.take_device_changed() {
                self.gains.forget_device();
            }
        }
        self.keep_measured_steps();
        if let Some(error) = self.runs.take_save_error() {
            self.runs_error = Some(error.to_string());
        }
        if let Some(after) = self.next_frame() {
            ctx.request_repaint_after(after);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let ui_started = Instant::now();

        // The emergency stop comes before anything else can take the key:
        // a focused field, an open drop-down or a dialog sees Esc only
        // after this (and no dialog closes on it).
        if ui.input(|i| i.key_pressed(egui::Key::Escape))
            && let Some(session) = &mut self.session
        {
            session.emergency_stop(StopSource::EscKey);
        }

        egui::Panel::top("connection").show(ui, |ui| {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                if let Some(request) = self.connection.ui(ui, self.session.as_ref()) {
                    match request {
                        connection::Request::Connect { target, divider } => {
                            self.close_session();
                            let mut session =
                                DeviceSession::connect(target, divider, self.history_size);
                            session.event_log = std::mem::take(&mut self.closed_log);
                            session.console = std::mem::take(&mut self.closed_console);
                            self.session = Some(session);
                            self.gains.forget_device();
                        }
                        connection::Request::Disconnect => self.close_session(),
                        connection::Request::StopReconnecting => {
                            if let Some(session) = &mut self.session {
                                session.stop_reconnecting();
                            }
                        }
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    safety::ui(ui, self.session.as_mut());
                });
            });
            ui.add_space(4.0);
        });
        self.fault_banner.ui(ui, self.session.as_ref());
        egui::Panel::bottom("status").show(ui, |ui| {
            status::ui(ui, self.session.as_mut(), &self.frame_times);
        });
        egui::Panel::bottom("step tests")
            .default_size(330.0)
            .resizable(true)
            .show(ui, |ui| self.tuning_ui(ui));
        egui::Panel::left("gains")
            .default_size(340.0)
            .resizable(true)
            .show(ui, |ui| {
                self.gains.ui(ui, self.session.as_mut());
            });
        egui::Panel::right("scope settings")
            .default_size(330.0)
            .resizable(true)
            .show(ui, |ui| {
                self.scope.side_ui(ui, self.session.as_mut());
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.scope.ui(ui, self.session.as_mut());
        });
        self.frame_times
            .record(frame.info().cpu_usage, ui_started.elapsed().as_secs_f32());
    }
}

/// The tuning procedures, one tab each in the bottom panel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum TuningTab {
    #[default]
    StepTest,
    AutoTune,
    FrequencyResponse,
    EventLog,
    Console,
}

impl TuningTab {
    const ALL: [Self; 5] = [
        Self::StepTest,
        Self::AutoTune,
        Self::FrequencyResponse,
        Self::EventLog,
        Self::Console,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::StepTest => "Step test",
            Self::AutoTune => "Auto-tune",
            Self::FrequencyResponse => "Frequency response",
            Self::EventLog => "Event log",
            Self::Console => "Console",
        }
    }
}

impl App {
    /// The tab bar, then the chosen tuning procedure.
    fn tuning_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            for tab in TuningTab::ALL {
                ui.selectable_value(&mut self.tuning_tab, tab, tab.label());
            }
        });
        ui.separator();
        match self.tuning_tab {
            TuningTab::StepTest => self.step_tests_ui(ui),
            TuningTab::AutoTune => self.autotune.ui(
                ui,
                self.session.as_mut(),
                &self.runs,
                &mut self.gains,
                self.step_test.plan,
            ),
            TuningTab::FrequencyResponse => self.bode.ui(ui, self.session.as_mut()),
            TuningTab::EventLog => {
                let log = self
                    .session
                    .as_ref()
                    .map_or(&self.closed_log, |s| &s.event_log);
                self.event_log.ui(ui, log);
            }
            TuningTab::Console => {
                let console = match &mut self.session {
                    Some(session) => &mut session.console,
                    None => &mut self.closed_console,
                };
                if let Some(line) = self.console.ui(ui, console) {
                    match &mut self.session {
                        Some(session) => session.send_line(&line),
                        None => self.closed_console.not_sent(None, &line, NOT_CONNECTED),
                    }
                }
            }
        }
    }

    /// Step test controls, the overlay of runs and their table, side by side.
    fn step_tests_ui(&mut self, ui: &mut egui::Ui) {
        if let Some(error) = &self.runs_error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        egui::Panel::left("step test controls")
            .resizable(false)
            .exact_size(230.0)
            .show(ui, |ui| self.step_test.ui(ui, self.session.as_mut()));
        egui::Panel::right("runs table")
            .resizable(true)
            .min_size(320.0)
            .default_size(520.0)
            .show(ui, |ui| self.runs_view.table_ui(ui, &mut self.runs));
        egui::CentralPanel::default().show(ui, |ui| {
            self.runs_view.overlay_ui(ui, &self.runs);
        });
    }
}

/// The outcome of a save or a load, in one line: news, or a problem in red.
fn outcome_ui(ui: &mut egui::Ui, outcome: &Option<Result<String, String>>) {
    match outcome {
        Some(Ok(news)) => {
            ui.label(news);
        }
        Some(Err(problem)) => {
            ui.colored_label(ui.visuals().error_fg_color, problem);
        }
        None => {}
    }
}

/// The device, units and gains a measured step is kept with.
fn run_context(session: &DeviceSession) -> RunContext {
    let info = session.info.as_ref();
    let unit_of = |role| {
        info.and_then(|i| i.channels.iter().find(|c| c.role == role))
            .map(|c| c.unit.clone())
            .unwrap_or_default()
    };
    RunContext {
        device: info.map(|i| i.name.clone()).unwrap_or_default(),
        signal_unit: unit_of(ChannelRole::Feedback),
        effort_unit: unit_of(ChannelRole::Effort),
        gains: session
            .params
            .iter()
            .filter(|p| p.info.flags.tuning_gain())
            .map(|p| GainValue {
                name: p.info.name.clone(),
                value: p.info.value,
                unit: p.info.unit.clone(),
            })
            .collect(),
    }
}

/// Opens the native window.
pub fn run_native(options: AppOptions) -> anyhow::Result<()> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("motiontune")
        .with_inner_size([1400.0, 900.0])
        .with_min_inner_size([800.0, 500.0]);
    if let Some(icon) = icon::icon() {
        viewport = viewport.with_icon(icon);
    }
    let native = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "motiontune",
        native,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            crate::interrupt::wake_with(move || ctx.request_repaint());
            Ok(Box::new(App::new(cc, options)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
