//! The console's side of a session: a line the user typed goes to the
//! device through the link, only while connected and no procedure runs
//! (its reply may hold the adapter's own requests a moment), and never
//! waits. The
//! console records it once the link has taken it (marked sent, and in the
//! event log) or refused it (with why, in one line); a line the link never
//! answered for is marked not sent when the connection ends. What the
//! device says back arrives as text like any other.

use super::DeviceSession;
use crate::device::LoggedEvent;
use crate::protocol::{Command, SampleBatch, TextLevel, UNSENDABLE_LINE, is_sendable_line};

/// Why a typed line was not sent while no device is connected.
pub const NOT_CONNECTED: &str = "not sent: no device is connected";

/// Why a typed line was not sent while a procedure runs.
const PROCEDURE_RUNNING: &str =
    "not sent: a step test, frequency response or relay run is under way; type once it ends";

impl DeviceSession {
    /// Text from the device: into the console, and the status bar's last.
    pub(super) fn on_text(&mut self, level: TextLevel, message: String) {
        let time = self.device_time();
        self.console.device_text(time, level, &message);
        self.last_text = Some((level, message));
    }

    /// The samples as data lines, while the console shows them.
    pub(super) fn show_data_lines(&mut self, batch: &SampleBatch) {
        if !self.console.shows_data() {
            return;
        }
        let names: Vec<String> = self
            .info
            .iter()
            .flat_map(|info| &info.channels)
            .map(|channel| channel.name.clone())
            .collect();
        self.console.samples(batch, &names);
    }

    /// Sends a line the user typed, as it is with the wire format's line
    /// end.
    pub fn send_line(&mut self, line: &str) {
        let time = self.device_time();
        if !is_sendable_line(line) {
            self.console.not_sent(time, line, UNSENDABLE_LINE);
        } else if !self.is_connected() {
            self.console.not_sent(time, line, NOT_CONNECTED);
        } else if self.procedure_running() {
            // A typed line holds the adapter's own requests while its reply
            // may come: the procedure's writes and polls must not wait.
            self.console.not_sent(time, line, PROCEDURE_RUNNING);
        } else if self.send(Command::Text(line.to_owned())) {
            self.typed_waiting.push_back(line.to_owned());
        } else {
            self.console
                .not_sent(time, line, "not sent: the connection has closed");
        }
    }

    /// The link took a typed line to write, or refused it (`refused` says
    /// why).
    pub(super) fn on_typed_line(&mut self, line: String, refused: Option<String>) {
        if self.typed_waiting.front() == Some(&line) {
            self.typed_waiting.pop_front();
        }
        let time = self.device_time();
        match refused {
            None => {
                self.console.sent(time, &line);
                self.log(LoggedEvent::TypedLine { line });
            }
            Some(why) => self.console.not_sent(time, &line, &why),
        }
    }

    /// The connection ended with typed lines the link never took.
    pub(super) fn typed_lines_lost(&mut self) {
        let time = self.device_time();
        for line in std::mem::take(&mut self.typed_waiting) {
            self.console
                .not_sent(time, &line, "not sent: the connection ended first");
        }
    }
}
