//! What is known about a connected device, kept apart from egui so the app
//! and later the command line read the same model. Today: its event log
//! and its console.

pub mod console;
pub mod event_log;

pub use console::{Console, ConsoleLine, LineSource, SentHistory};
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

/// Creates `path` and fills it with `write`, buffered.
fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut writer = BufWriter::new(std::fs::File::create(path)?);
    write(&mut writer)?;
    writer.flush()
}
