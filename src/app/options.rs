//! How the app starts: the device to connect to, the stream's divider,
//! the history's size, and the files kept between sessions.

use std::path::PathBuf;

use super::save_folder;
use crate::history::HistorySize;
use crate::link::PortTarget;

/// How the app starts.
#[derive(Clone, Debug)]
pub struct AppOptions {
    /// The device to connect to at start.
    pub target: PortTarget,
    /// No port was named at start: open the picker on the port remembered
    /// from the last session instead of `target`. The simulated drive, an
    /// emulator or a recording is connected to at once; a serial port
    /// waits for *Connect*, so no hardware is opened unasked.
    pub remembered_port: bool,
    /// Stream every Nth control-loop sample.
    pub stream_divider: u16,
    /// How much of the stream the scope keeps.
    pub history_size: HistorySize,
    /// Where step runs are kept between sessions; `None` keeps them in
    /// memory only.
    pub runs_file: Option<PathBuf>,
    /// Where the save folder is kept between sessions; `None` keeps it for
    /// this run only.
    pub settings_file: Option<PathBuf>,
    /// Recordings to open beside the device.
    pub open: Vec<PathBuf>,
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
            remembered_port: false,
            stream_divider: 1,
            history_size: HistorySize::default(),
            runs_file: None,
            settings_file: None,
            open: Vec::new(),
        }
    }
}
