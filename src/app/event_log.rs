//! The *Event log* tab: the session's [`EventLog`], newest first, each
//! entry with its wall time (UTC) and device time, and a typed path to save
//! it to as CSV. Only the visible rows are laid out, so a log of ten
//! thousand entries costs what a screenful does.

use std::path::Path;

use crate::device::{EventLog, LoggedEvent};

/// What the tab keeps between frames.
pub struct EventLogPane {
    path: String,
    /// The outcome of the last save: Ok is news, Err a problem.
    message: Option<Result<String, String>>,
}

impl Default for EventLogPane {
    fn default() -> Self {
        Self {
            path: "motiontune-events.csv".to_owned(),
            message: None,
        }
    }
}

impl EventLogPane {
    pub fn ui(&mut self, ui: &mut egui::Ui, log: &EventLog) {
        ui.horizontal(|ui| {
            let label = ui.label("Event log file");
            ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(320.0))
                .labelled_by(label.id);
            if ui.button("Save event log").clicked() {
                self.message = Some(
                    log.save(Path::new(&self.path))
                        .map(|count| format!("Saved {count} events to {}", self.path))
                        .map_err(|e| e.to_string()),
                );
            }
            super::outcome_ui(ui, &self.message);
        });
        let mut summary = format!("{} events, newest first", log.len());
        if log.dropped() > 0 {
            summary += &format!(" ({} older ones dropped)", log.dropped());
        }
        ui.weak(format!(
            "{summary}. Wall time (UTC), device time, what happened."
        ));
        ui.separator();
        let row_height = ui.text_style_height(&egui::TextStyle::Body);
        egui::ScrollArea::vertical()
            .id_salt("event log")
            .auto_shrink([false, false])
            .show_rows(ui, row_height, log.len(), |ui, rows| {
                for entry in rows.filter_map(|n| log.newest(n)) {
                    let device = entry
                        .device_time_s
                        .map_or_else(|| "-".to_owned(), |t| format!("{t:.3} s"));
                    let text = format!("{}  {device}  {}", entry.wall_clock(), entry.event);
                    if is_alarm(&entry.event) {
                        ui.colored_label(ui.visuals().error_fg_color, text);
                    } else {
                        ui.label(text);
                    }
                }
            });
    }
}

/// Entries shown in red: the ones a user looks for first.
fn is_alarm(event: &LoggedEvent) -> bool {
    matches!(
        event,
        LoggedEvent::EmergencyStop { .. }
            | LoggedEvent::Fault
            | LoggedEvent::WatchdogTrip
            | LoggedEvent::ConnectionLost { .. }
            | LoggedEvent::WriteRefused { .. }
    )
}
