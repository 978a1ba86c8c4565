//! What is known about a connected device, kept apart from egui so the app
//! and the command line read the same model: the session (link,
//! description, parameters in force, history, procedures, health), its
//! event log and its console; and the store of the devices connected at
//! once, one of them selected, each with a label ([`label`]), and their
//! recording into one file ([`record_all`]), and what of them is
//! remembered for the next launch ([`remembered`]).

pub mod console;
pub mod devices;
pub mod event_log;
pub mod label;
pub mod record_all;
pub mod recorded;
pub mod remembered;
pub mod session;

pub use console::{Console, ConsoleLine, LineSource, SentHistory};
pub use devices::{Device, DeviceId, Devices};
pub use event_log::{EventLog, LogEntry, LoggedEvent, OutputCause, StopSource, WriteSource};

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

/// `wall` as `hh:mm:ss.mmm` (UTC), as the log and the console show it.
pub fn time_of_day(wall: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_millis(wall).to_string();
    // "2026-12-07T07:16:14.123Z": the time of day sits in 11..23.
    stamp.get(11..23).unwrap_or(&stamp).to_owned()
}

/// Why a file of the device's could not be written; one line for the user.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the {what} to {path}: {source}")]
pub struct SaveError {
    /// What was being saved: "console", "event log".
    what: &'static str,
    path: String,
    source: std::io::Error,
}

/// Creates `path` and fills it with `write`, buffered; `what` names the
/// file's contents in the error.
fn write_file(
    what: &'static str,
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), SaveError> {
    let fill = || {
        let mut writer = BufWriter::new(std::fs::File::create(path)?);
        write(&mut writer)?;
        writer.flush()
    };
    fill().map_err(|source| SaveError {
        what,
        path: path.display().to_string(),
        source,
    })
}
