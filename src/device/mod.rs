//! What is known about a connected device, kept apart from egui so the app
//! and later the command line read the same model. Today: its event log
//! and its console.

pub mod console;
pub mod event_log;

pub use console::{Console, ConsoleLine, LineSource, SentHistory};
pub use event_log::{EventLog, LogEntry, LoggedEvent, OutputCause, StopSource, WriteSource};
