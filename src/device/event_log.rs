//! The event log of a device session: what happened that a user needs to
//! read back after a session on a live drive. It promises to hold
//!
//! - every emergency stop, with what sent it (the button or the Esc key);
//! - every change of the drive's output, with its cause (the user, an
//!   emergency stop, a disconnect, the switch-off after a reconnection, the
//!   watchdog, a fault, or the device on its own);
//! - faults and watchdog trips; the connection found, lost, found again and
//!   closed;
//! - every confirmed parameter write: name, old -> new, unit and where it
//!   came from (an edit, undo, redo, restore, a profile, auto-tune or a
//!   procedure), and every write the device refused;
//! - every line typed in the console that the link took to write;
//!
//! each with the wall time it was recorded and the device time when one is
//! known. Memory is bounded: the newest [`KEPT`] entries are kept and the
//! older ones counted as dropped. No egui; [`EventLog::save`] writes it as
//! CSV, oldest first.

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::time::SystemTime;

use crate::protocol::StatusFlags;

/// Entries kept; older ones are dropped and counted.
pub const KEPT: usize = 10_000;

/// What sent an emergency stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSource {
    /// The **EMERGENCY STOP** button.
    Button,
    /// The Esc key.
    EscKey,
}

impl fmt::Display for StopSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Button => "button",
            Self::EscKey => "Esc key",
        })
    }
}

/// Why the drive's output went on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputCause {
    /// *Enable output* or *Disable output*.
    User,
    /// The emergency stop (button or Esc).
    EmergencyStop,
    /// The user disconnected or connected elsewhere: the app sent ENABLE 0
    /// before it let go of the port.
    Disconnect,
    /// The app switches the output off as soon as a lost device is back.
    Reconnected,
    /// The device's watchdog tripped.
    Watchdog,
    /// The device reported a fault.
    Fault,
    /// Nobody on this side asked: the device changed it by itself.
    Device,
}

impl fmt::Display for OutputCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::EmergencyStop => "emergency stop",
            Self::Disconnect => "disconnect",
            Self::Reconnected => "reconnection",
            Self::Watchdog => "watchdog",
            Self::Fault => "fault",
            Self::Device => "device",
        })
    }
}

/// Who asked for a parameter write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteSource {
    /// A slider, a typed value, a checkbox or a drop-down.
    Edit,
    /// *Undo gain change*.
    Undo,
    /// *Redo gain change*.
    Redo,
    /// *Restore set N* of the gain history.
    Restore,
    /// A profile loaded and written.
    Profile,
    /// Gains auto-tune proposed.
    AutoTune,
    /// A step test, frequency response or relay run.
    Procedure,
}

impl fmt::Display for WriteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Edit => "edit",
            Self::Undo => "undo",
            Self::Redo => "redo",
            Self::Restore => "restore",
            Self::Profile => "profile",
            Self::AutoTune => "auto-tune",
            Self::Procedure => "procedure",
        })
    }
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq)]
pub enum LoggedEvent {
    /// An emergency stop was sent.
    EmergencyStop {
        /// What sent it.
        by: StopSource,
    },
    /// The drive's output went on or off.
    Output {
        /// Whether it is now on.
        enabled: bool,
        /// Why.
        cause: OutputCause,
    },
    /// The device reported a fault.
    Fault,
    /// The device's watchdog tripped.
    WatchdogTrip,
    /// The device described itself.
    Connected {
        /// The device's name and firmware.
        device: String,
    },
    /// The connection was lost.
    ConnectionLost {
        /// Why, in words for the user.
        reason: String,
    },
    /// The device is back after an outage; what the app made of it.
    Reconnected {
        /// What the app made of the device it found back.
        note: String,
    },
    /// The user closed the connection. An output found on and never
    /// switched on by the app is left on: whoever enabled it owns it.
    Disconnected {
        /// Whether the drive's output was left on.
        output_left_on: bool,
    },
    /// The device confirmed a write: `from` -> `to`.
    Write {
        /// The parameter's name.
        name: String,
        /// Its value before, in its unit.
        from: f32,
        /// Its value in force now, in its unit.
        to: f32,
        /// Its unit.
        unit: String,
        /// Who asked for the write.
        source: WriteSource,
        /// The value asked for, when the device applied another (its limits).
        asked: Option<f32>,
    },
    /// The device refused a write.
    WriteRefused {
        /// The parameter's name.
        name: String,
        /// Why, as the device or the app said it.
        reason: String,
    },
    /// A line typed in the console, taken by the link to write.
    TypedLine {
        /// The line as typed, without its line end.
        line: String,
    },
}

impl LoggedEvent {
    /// A word or two naming the kind of event (the CSV's `event` column).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::EmergencyStop { .. } => "emergency stop",
            Self::Output { .. } => "output",
            Self::Fault => "fault",
            Self::WatchdogTrip => "watchdog trip",
            Self::Connected { .. }
            | Self::ConnectionLost { .. }
            | Self::Reconnected { .. }
            | Self::Disconnected { .. } => "connection",
            Self::Write { .. } => "write",
            Self::WriteRefused { .. } => "write refused",
            Self::TypedLine { .. } => "typed line",
        }
    }
}

impl fmt::Display for LoggedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmergencyStop { by } => write!(f, "EMERGENCY STOP ({by})"),
            Self::Output { enabled, cause } => {
                let state = if *enabled { "on" } else { "off" };
                write!(f, "output {state} ({cause})")
            }
            Self::Fault => write!(f, "DRIVE FAULT: the device reports a fault"),
            Self::WatchdogTrip => write!(
                f,
                "WATCHDOG TRIP: the device heard nothing from the app within its watchdog time"
            ),
            Self::Connected { device } => write!(f, "connected to {device}"),
            Self::ConnectionLost { reason } => write!(f, "connection lost: {reason}"),
            Self::Reconnected { note } => f.write_str(note),
            Self::Disconnected { output_left_on } => {
                write!(f, "disconnected by the user")?;
                if *output_left_on {
                    write!(
                        f,
                        "; the output was left on as found (the app did not switch it on)"
                    )?;
                }
                Ok(())
            }
            Self::Write {
                name,
                from,
                to,
                unit,
                source,
                asked,
            } => {
                write!(f, "{name} {from} -> {to}")?;
                if !unit.is_empty() {
                    write!(f, " {unit}")?;
                }
                write!(f, " ({source}")?;
                if let Some(asked) = asked {
                    write!(f, "; asked {asked}, the device applied its limit")?;
                }
                write!(f, ")")
            }
            Self::WriteRefused { name, reason } => {
                write!(f, "the device refused a write of {name}: {reason}")
            }
            Self::TypedLine { line } => write!(f, "typed line sent: {line}"),
        }
    }
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// When the app recorded it.
    pub wall: SystemTime,
    /// Device time of the newest sample then, seconds, when there was one.
    pub device_time_s: Option<f64>,
    /// What happened.
    pub event: LoggedEvent,
}

impl LogEntry {
    /// The wall time as `hh:mm:ss.mmm` (UTC).
    pub fn wall_clock(&self) -> String {
        super::time_of_day(self.wall)
    }
}

/// The newest [`KEPT`] events of a session, oldest first.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    entries: VecDeque<LogEntry>,
    dropped: u64,
}

impl EventLog {
    /// Records `event` now, at `device_time_s` if known.
    pub fn record(&mut self, device_time_s: Option<f64>, event: LoggedEvent) {
        if self.entries.len() >= KEPT {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(LogEntry {
            wall: SystemTime::now(),
            device_time_s: device_time_s.filter(|t| t.is_finite()),
            event,
        });
    }

    /// Records what a status report changed since the one `before` it: the
    /// output going on or off, a fault, a watchdog trip. The cause of an
    /// output change is the device's own flags first (a trip or a fault),
    /// then what the app asked for last (`asked`, taken once it is seen),
    /// else the device. A first report records only an output already on.
    pub fn status_changed(
        &mut self,
        device_time_s: Option<f64>,
        before: Option<StatusFlags>,
        now: StatusFlags,
        asked: &mut Option<(bool, OutputCause)>,
    ) {
        let was = |flag: fn(StatusFlags) -> bool| before.is_some_and(flag);
        if now.fault() && !was(StatusFlags::fault) {
            self.record(device_time_s, LoggedEvent::Fault);
        }
        if now.watchdog_tripped() && !was(StatusFlags::watchdog_tripped) {
            self.record(device_time_s, LoggedEvent::WatchdogTrip);
        }
        let enabled = now.enabled();
        if enabled == was(StatusFlags::enabled) {
            return;
        }
        let cause = if !enabled && now.watchdog_tripped() {
            OutputCause::Watchdog
        } else if !enabled && now.fault() {
            OutputCause::Fault
        } else {
            match asked.take() {
                Some((state, cause)) if state == enabled => cause,
                _ => OutputCause::Device,
            }
        };
        self.record(device_time_s, LoggedEvent::Output { enabled, cause });
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries dropped to keep the newest [`KEPT`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The `n`th newest entry (0 is the newest).
    pub fn newest(&self, n: usize) -> Option<&LogEntry> {
        self.entries
            .len()
            .checked_sub(n + 1)
            .map(|i| &self.entries[i])
    }

    /// Every entry kept, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// Writes the log as CSV, oldest first: `wall_time` (RFC 3339, UTC),
    /// `device_time_s` (empty when unknown), `event`, `detail`.
    pub fn write_csv(&self, writer: impl std::io::Write) -> std::io::Result<()> {
        let mut csv = csv::Writer::from_writer(writer);
        csv.write_record(["wall_time", "device_time_s", "event", "detail"])?;
        for entry in &self.entries {
            let wall = humantime::format_rfc3339_millis(entry.wall).to_string();
            let device = entry
                .device_time_s
                .map(|t| format!("{t:.4}"))
                .unwrap_or_default();
            let detail = entry.event.to_string();
            csv.write_record([
                wall.as_str(),
                device.as_str(),
                entry.event.kind(),
                detail.as_str(),
            ])?;
        }
        csv.flush()
    }

    /// Saves the log to `path` as CSV; returns how many entries it wrote.
    pub fn save(&self, path: &Path) -> Result<usize, super::SaveError> {
        super::write_file("event log", path, |writer| self.write_csv(writer))?;
        Ok(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(bits: u8) -> StatusFlags {
        StatusFlags(bits)
    }

    const ON: u8 = StatusFlags::ENABLED;

    fn events(log: &EventLog) -> Vec<String> {
        log.entries().map(|e| e.event.to_string()).collect()
    }

    #[test]
    fn output_changes_take_their_cause_from_the_flags_then_the_request() {
        let mut log = EventLog::default();
        let mut asked = None;
        // A first report of an output that is off says nothing.
        log.status_changed(None, None, flags(0), &mut asked);
        assert!(log.is_empty());

        asked = Some((true, OutputCause::User));
        log.status_changed(Some(1.0), Some(flags(0)), flags(ON), &mut asked);
        assert_eq!(asked, None, "the request is taken once seen");
        // The same state again is no change.
        log.status_changed(Some(1.1), Some(flags(ON)), flags(ON), &mut asked);

        asked = Some((false, OutputCause::EmergencyStop));
        log.status_changed(Some(2.0), Some(flags(ON)), flags(0), &mut asked);

        // Nobody asked: the device did it.
        log.status_changed(Some(3.0), Some(flags(0)), flags(ON), &mut asked);
        // A trip names itself, whatever the app asked for.
        asked = Some((false, OutputCause::User));
        log.status_changed(
            Some(4.0),
            Some(flags(ON)),
            flags(StatusFlags::WATCHDOG),
            &mut asked,
        );
        log.status_changed(
            Some(5.0),
            Some(flags(StatusFlags::WATCHDOG)),
            flags(ON | StatusFlags::FAULT),
            &mut asked,
        );
        log.status_changed(
            Some(6.0),
            Some(flags(ON | StatusFlags::FAULT)),
            flags(StatusFlags::FAULT),
            &mut asked,
        );
        assert_eq!(
            events(&log),
            [
                "output on (user)",
                "output off (emergency stop)",
                "output on (device)",
                "WATCHDOG TRIP: the device heard nothing from the app within its watchdog time",
                "output off (watchdog)",
                "DRIVE FAULT: the device reports a fault",
                "output on (device)",
                "output off (fault)",
            ]
        );
        // A first report of an output already on is recorded.
        let mut fresh = EventLog::default();
        fresh.status_changed(None, None, flags(ON), &mut None);
        assert_eq!(events(&fresh), ["output on (device)"]);
    }

    #[test]
    fn the_log_keeps_the_newest_entries_and_counts_the_rest() {
        let mut log = EventLog::default();
        for i in 0..KEPT + 5 {
            log.record(
                Some(i as f64),
                LoggedEvent::EmergencyStop {
                    by: StopSource::Button,
                },
            );
        }
        assert_eq!(log.len(), KEPT);
        assert_eq!(log.dropped(), 5);
        assert_eq!(
            log.newest(0).and_then(|e| e.device_time_s),
            Some((KEPT + 4) as f64)
        );
        assert_eq!(
            log.newest(KEPT - 1).and_then(|e| e.device_time_s),
            Some(5.0)
        );
        assert!(log.newest(KEPT).is_none());
    }

    #[test]
    fn a_write_reads_as_name_old_new_unit_and_origin() {
        let write = |asked| LoggedEvent::Write {
            name: "pos.kp".into(),
            from: 20.0,
            to: 35.0,
            unit: "A/rad".into(),
            source: WriteSource::Restore,
            asked,
        };
        assert_eq!(write(None).to_string(), "pos.kp 20 -> 35 A/rad (restore)");
        assert_eq!(
            write(Some(40.0)).to_string(),
            "pos.kp 20 -> 35 A/rad (restore; asked 40, the device applied its limit)"
        );
    }

    #[test]
    fn the_csv_holds_every_entry_oldest_first_and_a_bad_folder_is_one_line() {
        let mut log = EventLog::default();
        log.record(
            Some(1.5),
            LoggedEvent::EmergencyStop {
                by: StopSource::EscKey,
            },
        );
        log.record(
            None,
            LoggedEvent::Disconnected {
                output_left_on: false,
            },
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("events.csv");
        assert_eq!(log.save(&path).expect("saved"), 2);
        let text = std::fs::read_to_string(&path).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "wall_time,device_time_s,event,detail");
        assert!(
            lines[1].ends_with(",1.5000,emergency stop,EMERGENCY STOP (Esc key)"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].ends_with(",,connection,disconnected by the user"),
            "{}",
            lines[2]
        );
        assert!(humantime::parse_rfc3339(&lines[1][..24]).is_ok(), "{text}");

        let error = log
            .save(&dir.path().join("missing").join("events.csv"))
            .expect_err("no such folder");
        let message = error.to_string();
        assert!(
            message.starts_with("cannot write the event log to "),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1);
    }
}
