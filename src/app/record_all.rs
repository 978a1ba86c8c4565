//! The window's control for recording every device into one file
//! ([`crate::device::record_all`], the file `record --port A --port B`
//! writes), beside *Record* in the scope's toolbar once two or more
//! devices are connected: *Record all devices*; while it runs, each
//! device's rows (and why one ended early) and *Stop recording all
//! devices*; then where the file went with each device's rows, until the
//! next. The control only asks; the app does it on [`Devices`] at the end
//! of the frame ([`App::record_all_frame`]).

use std::path::PathBuf;

use super::App;
use crate::device::Devices;
use crate::device::record_all::PartStatus;

/// What the user asked this frame.
#[derive(Clone, Debug, PartialEq)]
enum Ask {
    /// Start recording into this file.
    Start(PathBuf),
    Stop,
}

/// The control's state: what the devices said at the frame's start, the
/// ask, and the last outcome.
#[derive(Debug, Default)]
pub struct RecordAllControl {
    /// Devices connected at the frame's start.
    connected: usize,
    /// Each device's part while recording.
    parts: Option<Vec<PartStatus>>,
    asked: Option<Ask>,
    /// News or a problem, shown until the next.
    message: Option<Result<String, String>>,
}

impl RecordAllControl {
    /// Takes in how the recording stands, before the panes draw.
    fn update(&mut self, devices: &mut Devices) {
        if let Some(outcome) = devices.take_recording_all_outcome() {
            self.message = Some(outcome);
        }
        self.connected = devices.connected_count();
        self.parts = devices
            .recording_all()
            .filter(|all| all.is_running())
            .map(|all| all.parts());
    }

    /// The control, in the toolbar's row. True when the user asks to
    /// start: the toolbar names the file ([`Self::start_into`]).
    pub fn ui(&mut self, ui: &mut egui::Ui) -> bool {
        let mut start = false;
        if let Some(parts) = &self.parts {
            let each: Vec<String> = parts
                .iter()
                .map(|p| match &p.ended {
                    None => format!("{} {}", p.label, p.rows),
                    Some(_) => format!("{} {} (ended)", p.label, p.rows),
                })
                .collect();
            ui.colored_label(
                egui::Color32::from_rgb(230, 60, 60),
                format!("REC all: {} rows", each.join(", ")),
            )
            .on_hover_text(
                parts
                    .iter()
                    .filter_map(|p| Some(format!("{}: {}", p.label, p.ended.as_ref()?)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            if ui.button("Stop recording all devices").clicked() {
                self.asked = Some(Ask::Stop);
            }
        } else if self.connected >= 2 {
            start = ui
                .button("Record all devices")
                .on_hover_text(
                    "every connected device's samples into one CSV until stopped, \
                     as `record --port A --port B` writes it",
                )
                .clicked();
        }
        super::outcome_ui(ui, &self.message);
        start
    }

    /// Asks to start recording into `path`.
    pub fn start_into(&mut self, path: PathBuf) {
        self.asked = Some(Ask::Start(path));
    }
}

impl App {
    /// Before the panes: how the recording of every device stands.
    pub(super) fn record_all_update(&mut self) {
        self.scope.record_all().update(&mut self.devices);
    }

    /// After the panes: does what the control asked.
    pub(super) fn record_all_frame(&mut self) {
        let control = self.scope.record_all();
        match control.asked.take() {
            Some(Ask::Start(path)) => {
                control.message = Some(self.devices.start_recording_all(&path).map(|labels| {
                    format!("recording {} to {}", labels.join(", "), path.display())
                }));
            }
            Some(Ask::Stop) => self.devices.stop_recording_all(),
            None => {}
        }
    }
}
