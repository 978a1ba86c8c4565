//! What is known about a connected device, kept apart from egui so the app
//! and later the command line read the same model. Today: its event log.

pub mod event_log;

pub use event_log::{EventLog, LogEntry, LoggedEvent, OutputCause, StopSource, WriteSource};
