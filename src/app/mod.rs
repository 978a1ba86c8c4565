//! The egui application. [`App`](crate::app::App) owns the devices
//! connected at once ([`Devices`]: each its own session, one selected) and
//! the workspace of panes around the selected one: the connection bar, the
//! device list, *View* and *Help* menus and the safety controls at the top,
//! the link's health in the status bar, and between them the tiles of
//! [`workspace`](self::workspace) (scope, parameters, gain history,
//! channels, step test, runs, auto-tune, frequency response, event log,
//! console), each pane in its own file. Every device's events are taken in
//! every frame, selected or not. Esc is the emergency stop of every device
//! wherever the keyboard focus is, a dialog open or not. The event log
//! outlives a connection: a new one carries on the log of the last. What
//! the user set up is remembered between launches ([`settings`]), the
//! devices connected too, offered back on a click ([`reconnect`]).
//!
//! Frames are drawn when something changes: at the chosen rate while the
//! plots move by themselves, on input, and when the link wakes the app
//! with news ([`crate::link::Wake`]); a frozen view, a static capture and a
//! disconnected app draw nothing on their own.

mod autotune;
mod background_faults;
mod bode;
mod connection;
mod console;
mod device_list;
mod device_panes;
mod event_log;
mod file_dialog;
mod gain_history;
mod gains;
mod help;
mod icon;
mod machine_profile;
mod numbers;
mod options;
mod param_editor;
mod procedure_controls;
mod profiles;
mod reconnect;
mod record_all;
pub mod recordings;
mod runs_tab;
mod safety;
mod save_folder;
pub mod scope;
pub mod settings;
mod status;
mod step_test_tab;
pub mod view;
mod window;
pub mod workspace;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

pub use crate::device::session::{ConnectionState, DeviceSession, NOT_CONNECTED, WriteState};
pub use options::AppOptions;
pub use window::run_native;

use self::settings::Settings;
use self::workspace::{Pane, Panes, Workspace};
use crate::capture::ArmState;
use crate::device::{Console, Devices, EventLog, StopSource};
use crate::history::HistorySize;
use crate::link::{PortTarget, Wake, list_ports};
use crate::record::RunStore;

/// The pace of frames while a connection is being made or remade, whose
/// steps the session times.
const CONNECTING_FRAME: Duration = Duration::from_millis(250);

/// The motiontune window.
pub struct App {
    connection: connection::ConnectionPanel,
    /// The devices connected at once, and the one the panes show.
    devices: Devices,
    device_list: device_list::DeviceList,
    scope: scope::Scope,
    gains: gains::GainsPanel,
    fault_banner: safety::FaultBanner,
    background_faults: background_faults::BackgroundFaults,
    history_size: HistorySize,
    frame_times: status::FrameTimes,
    step_test: step_test_tab::StepTestPanel,
    autotune: autotune::AutoTunePanel,
    bode: bode::BodePanel,
    /// The pane state of each device not shown.
    device_panes: device_panes::PerDevice,
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
    /// Recordings opened beside the device, and which is shown.
    recordings: recordings::Recordings,
    workspace: Workspace,
    view: view::ViewSettings,
    help: help::Help,
    /// Why the stored settings were not used as they were, shown until
    /// dismissed.
    settings_problem: Option<String>,
    /// The devices connected when the app last closed, offered back.
    reconnect: reconnect::ReconnectOffer,
    /// Wakes the UI from the link thread.
    wake: Wake,
}

impl App {
    /// Builds the app from eframe's stored settings and starts connecting.
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Self {
        Self::with_storage(cc, options, cc.storage)
    }

    /// Builds the app from the settings in `storage` (none: the defaults)
    /// and starts connecting.
    pub fn with_storage(
        cc: &eframe::CreationContext<'_>,
        options: AppOptions,
        storage: Option<&dyn eframe::Storage>,
    ) -> Self {
        let (settings, settings_problem) = Settings::load(storage);
        let wake = {
            let ctx = cc.egui_ctx.clone();
            Wake::new(move || ctx.request_repaint())
        };
        let (ports, port_error) = list_ports();
        let mut connection = connection::ConnectionPanel::new(&options, ports, port_error);
        connection.restore(&settings.connection, options.remembered_port);
        let reconnect =
            reconnect::ReconnectOffer::new(settings.devices.clone(), connection.adapter_settings());
        let (target, divider) = if options.remembered_port {
            (connection.target(), connection.divider())
        } else {
            (options.target.clone(), options.stream_divider)
        };
        // A serial port remembered from last time waits for a click.
        let connect_now = !options.remembered_port || !matches!(target, PortTarget::Serial { .. });
        let mut devices = Devices::default();
        if connect_now {
            devices.add(DeviceSession::connect(
                target,
                divider,
                options.history_size,
                Some(wake.clone()),
            ));
        }
        let (runs, runs_error) = match &options.runs_file {
            Some(path) => RunStore::open(path),
            None => (RunStore::in_memory(), None),
        };
        let mut scope = scope::Scope::default();
        scope.apply_settings(settings.scope.clone());
        let (save_folder, settings_error) =
            save_folder::SaveFolder::load(options.settings_file.clone());
        scope.set_save_folder(save_folder, settings_error);
        let mut gains = gains::GainsPanel::default();
        gains.set_guard(settings.write_guard.clone());
        if !settings.profile_file.trim().is_empty() {
            gains.set_profile_path(PathBuf::from(&settings.profile_file));
        }
        let mut autotune = autotune::AutoTunePanel::default();
        autotune.apply_settings(settings.autotune.clone());
        let mut runs_view = runs_tab::RunsView::default();
        runs_view.apply_settings(settings.runs.clone());
        let mut step_test = step_test_tab::StepTestPanel::default();
        step_test.plan = settings.step_plan;
        let mut recordings = recordings::Recordings::new(settings.recordings.clone());
        for path in options.open {
            recordings.open(path, &cc.egui_ctx);
        }
        settings.view.apply(&cc.egui_ctx);
        cc.egui_ctx.options_mut(|o| {
            o.max_passes =
                std::num::NonZeroUsize::new(workspace::MAX_PASSES).unwrap_or(o.max_passes);
        });
        Self {
            connection,
            devices,
            device_list: device_list::DeviceList::default(),
            scope,
            gains,
            fault_banner: safety::FaultBanner::default(),
            background_faults: background_faults::BackgroundFaults::default(),
            history_size: options.history_size,
            frame_times: status::FrameTimes::default(),
            step_test,
            autotune,
            bode: bode::BodePanel::default(),
            device_panes: device_panes::PerDevice::default(),
            runs,
            runs_view,
            runs_error: runs_error.map(|e| e.to_string()),
            event_log: event_log::EventLogPane::default(),
            closed_log: EventLog::default(),
            console: console::ConsolePane::default(),
            closed_console: Console::default(),
            recordings,
            workspace: settings.workspace,
            view: settings.view,
            help: help::Help::default(),
            settings_problem,
            reconnect,
            wake,
        }
    }

    /// What is remembered of this session for the next.
    pub fn settings(&self) -> Settings {
        Settings {
            workspace: self.workspace.clone(),
            connection: self.connection.settings(),
            view: self.view,
            step_plan: self.step_test.plan,
            write_guard: self.gains.guard().clone(),
            profile_file: self.gains.profile_path().to_owned(),
            scope: self.scope.settings(),
            runs: self.runs_view.settings(),
            autotune: self.autotune.settings(),
            recordings: self.recordings.settings(),
            devices: self.reconnect.to_remember(&self.devices),
        }
    }

    /// The workspace's panes.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// Why the stored settings were not used as they were.
    pub fn settings_problem(&self) -> Option<&str> {
        self.settings_problem.as_deref()
    }

    /// The event log: the selected device's, or the last one's while none
    /// is connected.
    pub fn event_log(&self) -> &EventLog {
        self.devices
            .selected()
            .map_or(&self.closed_log, |s| &s.event_log)
    }

    /// The console: the selected device's, or the last one's while none is
    /// connected.
    pub fn console(&self) -> &Console {
        self.devices
            .selected()
            .map_or(&self.closed_console, |s| &s.console)
    }

    /// The recordings opened beside the device.
    pub fn recordings(&self) -> &recordings::Recordings {
        &self.recordings
    }

    /// The kept step runs.
    pub fn runs(&self) -> &RunStore {
        &self.runs
    }

    /// Moves the steps every device measured into the run store, each
    /// with the gains in force.
    fn keep_measured_steps(&mut self) {
        let selected = self.devices.selected_id();
        for (id, session) in self.devices.sessions_with_ids_mut() {
            let measured = session.procedures.take_measured_steps();
            if measured.is_empty() {
                continue;
            }
            let context = session.run_context();
            let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
            for response in measured {
                // The Auto-tune tab works on the device shown: another
                // device's step is kept as a run, never taken as a stage.
                if Some(id) == selected {
                    self.autotune.step_measured(&response, session);
                }
                self.step_test.step_measured(id, &response, session);
                self.runs.add(&response, &context, now.clone());
            }
        }
    }

    /// The frequency responses the Bode tab shows, oldest first.
    pub fn frequency_responses(&self) -> &[crate::tuning::FrequencyMeasurement] {
        &self.bode.measurements
    }

    /// The Auto-tune tab's guided procedure, once started.
    pub fn guided_tuning(&self) -> Option<&crate::tuning::guided::GuidedTuning> {
        self.autotune.guided_tuning()
    }

    /// The predicted step of the gains last written from the Auto-tune tab.
    pub fn autotune_prediction(&self) -> Option<&crate::tuning::Preview> {
        self.autotune.written_prediction()
    }

    /// When the next frame is due without input (egui draws one on any
    /// input of its own): at the chosen rate while something on screen
    /// moves by itself (a followed live view, a procedure under way on any
    /// device, an armed trigger), every [`CONNECTING_FRAME`] while a
    /// connection is being made or remade, and otherwise none: each link
    /// wakes the app for news and, at most every
    /// [`crate::link::STREAM_WAKE`], for the stream, whose events wait in
    /// their channel meanwhile; nothing is lost.
    pub fn next_frame(&self) -> Option<Duration> {
        let recordings = self.recordings.busy().then_some(recordings::BUSY_FRAME);
        let mut live = self
            .devices
            .iter()
            .map(|d| &d.session)
            .filter(|s| s.is_live())
            .peekable();
        if live.peek().is_none() {
            return recordings;
        }
        let (mut busy, mut connecting) = (false, false);
        for session in live {
            busy |=
                session.procedure_running() || !matches!(session.capture.state(), ArmState::Idle);
            connecting |= !session.is_connected();
        }
        if self.scope.moves() || busy {
            Some(self.view.moving_frame())
        } else if connecting {
            Some(CONNECTING_FRAME)
        } else {
            recordings
        }
    }

    /// The scope's view follows the newest sample.
    pub fn scope_follows(&self) -> bool {
        self.scope.is_following()
    }

    /// The other devices' channels the scope drew last frame, on the
    /// selected device's time axis.
    pub fn scope_other_traces(&self) -> &[scope::OtherTrace] {
        self.scope.other_traces()
    }

    /// The selected device's session, the one the panes show.
    pub fn session(&self) -> Option<&DeviceSession> {
        self.devices.selected()
    }

    /// Every device connected, and which is selected.
    pub fn devices(&self) -> &Devices {
        &self.devices
    }

    /// The top bar: menus, the connection, and the safety controls, which
    /// keep their place on the right however narrow the window.
    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(4.0);
        let mut request = None;
        let mut switched = None;
        ui.horizontal(|ui| {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                safety::ui(ui, &mut self.devices);
                ui.with_layout(
                    egui::Layout::left_to_right(egui::Align::Center).with_main_wrap(true),
                    |ui| {
                        self.recordings.menu(ui);
                        view::menu(ui, &mut self.view, &mut self.workspace);
                        self.help.menu(ui);
                        ui.separator();
                        request = self.connection.ui(ui, self.devices.selected());
                        let device = self.devices.selected_device().map_or("none", |d| d.label());
                        switched = self.recordings.showing_ui(ui, device);
                    },
                );
            });
        });
        if self.connection.has_problems(self.devices.selected()) {
            self.connection.problems_ui(ui, self.devices.selected());
        }
        self.device_list_ui(ui);
        self.reconnect_ui(ui);
        if let Some(problem) = &self.settings_problem {
            let mut dismiss = false;
            ui.horizontal(|ui| {
                ui.colored_label(ui.visuals().warn_fg_color, problem);
                dismiss = ui.small_button("Dismiss").clicked();
            });
            if dismiss {
                self.settings_problem = None;
            }
        }
        ui.add_space(4.0);
        if let Some(showing) = switched {
            self.show(showing);
        }
        if let Some(request) = request {
            self.connection_request(request);
        }
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
        // Every device, selected or not, so each one's history keeps up.
        for id in self.devices.drain_all() {
            self.forget_panes_of(id);
        }
        self.keep_measured_steps();
        if let Some(showing) = self.recordings.poll() {
            self.show(showing);
        }
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
        if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            self.devices.emergency_stop_all(StopSource::EscKey);
        }
        self.help.handle_keys(ui.ctx());
        self.recordings.take_drops(ui.ctx());

        self.record_all_update();
        egui::Panel::top("connection").show(ui, |ui| self.top_bar_ui(ui));
        self.fault_banner.ui(ui, self.devices.selected());
        self.background_faults_ui(ui);
        egui::Panel::bottom("status").show(ui, |ui| {
            status::ui(ui, self.devices.selected_mut(), &self.frame_times);
        });
        egui::CentralPanel::default()
            .frame(egui::Frame::central_panel(ui.style()).inner_margin(2))
            .show(ui, |ui| self.workspace_ui(ui));
        // After the panes, so a write asked for in one this frame shows
        // its confirmation this frame.
        self.gains.frame(ui, self.devices.selected_mut());
        self.gains.machine_frame(&mut self.devices);
        self.step_test.every_device(&mut self.devices);
        self.record_all_frame();
        // A stop button pressed anywhere this frame stops every device
        // before the frame ends.
        if let Some(by) = safety::take_stop(ui.ctx()) {
            self.devices.emergency_stop_all(by);
        }
        self.help.ui(ui.ctx());
        self.frame_times
            .record(frame.info().cpu_usage, ui_started.elapsed().as_secs_f32());
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings().save(storage);
    }
}

impl App {
    /// The tiles, each pane drawn by its panel, over the device or the
    /// recording shown.
    fn workspace_ui(&mut self, ui: &mut egui::Ui) {
        let mut lent = self.recordings.lend_shown();
        let not_connected = if let Some(name) = self.recordings.shown_name() {
            Some(format!(
                "{name} is a recording: it has no parameters. Choose the device under Showing to tune it."
            ))
        } else {
            match self.devices.selected().map(|s| &s.state) {
                None => Some(format!(
                    "Not connected: Connect opens {}.",
                    self.connection.target().name()
                )),
                Some(ConnectionState::Failed(error)) => Some(format!("Not connected: {error}")),
                Some(_) => None,
            }
        };
        let Self {
            devices,
            scope,
            gains,
            step_test,
            autotune,
            bode,
            runs,
            runs_view,
            runs_error,
            event_log,
            closed_log,
            console,
            closed_console,
            recordings,
            workspace,
            ..
        } = self;
        // A recording shown has its own time axis: the other devices'
        // channels are drawn beside a device only.
        let (session, others) = match lent.as_mut() {
            Some(lent) => (lent.session.as_mut(), Vec::new()),
            None => devices.selected_mut_and_others(),
        };
        let others: Vec<scope::OtherDevice<'_>> = others
            .into_iter()
            .map(|device| scope::OtherDevice {
                id: device.id,
                label: device.label(),
                colour: device.colour,
                info: device.session.info.as_ref(),
                history: device.session.history.as_ref(),
                alignment: device.session.host_alignment(),
            })
            .collect();
        let mut panes = Panes {
            session,
            others,
            not_connected,
            scope,
            gains,
            step_test,
            autotune,
            bode,
            runs,
            runs_view,
            runs_error: runs_error.as_deref(),
            event_log,
            closed_log,
            console,
            closed_console,
            recordings,
        };
        workspace.ui(ui, &mut panes);
        if let Some(showing) = self.recordings.put_back(lent, ui.ctx()) {
            self.show(showing);
        }
    }

    /// Shows the device or a recording: the scope follows the device, or
    /// shows the whole file.
    fn show(&mut self, showing: recordings::Showing) {
        match showing {
            recordings::Showing::Device => self.scope.follow_newest(),
            recordings::Showing::File(_) => self.scope.show_span(self.recordings.shown_span()),
        }
    }

    /// Brings `pane` to the front (reopening it if closed).
    pub fn show_pane(&mut self, pane: Pane) {
        self.workspace.reopen(pane);
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
