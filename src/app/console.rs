//! The *Console* tab, a serial monitor beside the plots: a command line
//! that sends a typed line to the device on Enter (Up and Down recall the
//! lines sent), a filter, *Show data lines*, a typed path to save the
//! console to as CSV, then the session's [`Console`], newest last, each
//! line with its wall time (UTC) and device time. Only the visible rows
//! are laid out, so ten thousand lines cost what a screenful does. The tab
//! sends nothing itself: it hands the typed line back to the app.

use std::path::Path;

use egui::text::{CCursor, CCursorRange};

use crate::device::{Console, ConsoleLine, LineSource};
use crate::protocol::TextLevel;

/// What the tab keeps between frames.
pub struct ConsolePane {
    /// The line being typed.
    typing: String,
    filter: String,
    path: String,
    /// The outcome of the last save: Ok is news, Err a problem.
    message: Option<Result<String, String>>,
}

impl Default for ConsolePane {
    fn default() -> Self {
        Self {
            typing: String::new(),
            filter: String::new(),
            path: "motiontune-console.csv".to_owned(),
            message: None,
        }
    }
}

impl ConsolePane {
    /// Draws the tab; returns a line the user typed and sent (Enter or
    /// *Send*), kept in the console's history.
    pub fn ui(&mut self, ui: &mut egui::Ui, console: &mut Console) -> Option<String> {
        let typed = ui.horizontal(|ui| self.command_line_ui(ui, console)).inner;
        ui.horizontal(|ui| {
            let label = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .desired_width(200.0)
                    .hint_text("text in the line"),
            )
            .labelled_by(label.id)
            .on_hover_text("Shows only the lines that hold this text (any case)");
            let mut show_data = console.shows_data();
            if ui
                .checkbox(&mut show_data, "Show data lines")
                .on_hover_text(
                    "Each sample as it arrives, name:value per channel at its device time: the \
                     values the adapter read (the newest 1000 kept apart from the text)",
                )
                .changed()
            {
                console.set_show_data(show_data);
            }
            ui.separator();
            let label = ui.label("Console file");
            ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(260.0))
                .labelled_by(label.id);
            if ui.button("Save console").clicked() {
                self.message = Some(
                    console
                        .save(Path::new(&self.path))
                        .map(|count| format!("Saved {count} lines to {}", self.path))
                        .map_err(|e| e.to_string()),
                );
            }
            super::outcome_ui(ui, &self.message);
        });
        let lines = console.matching(&self.filter);
        ui.weak(summary(console, lines.len(), !self.filter.is_empty()));
        ui.separator();
        lines_ui(ui, &lines);
        typed
    }

    /// The line typed for the device, Up and Down walking the history
    /// while it has the keyboard; returns the line sent.
    fn command_line_ui(&mut self, ui: &mut egui::Ui, console: &mut Console) -> Option<String> {
        let label = ui.label("Command line");
        let id = ui.make_persistent_id("console command line");
        let mut recalled = false;
        if ui.memory(|memory| memory.has_focus(id)) {
            let (up, down) = ui.input_mut(|input| {
                (
                    input.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp),
                    input.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown),
                )
            });
            let line = if up {
                console.history.older(&self.typing)
            } else if down {
                console.history.newer()
            } else {
                None
            };
            if let Some(line) = line {
                self.typing = line.to_owned();
                recalled = true;
            }
        }
        let mut output = egui::TextEdit::singleline(&mut self.typing)
            .id(id)
            .desired_width(420.0)
            .font(egui::TextStyle::Monospace)
            .hint_text("a line for the device: Enter sends it, Up and Down recall")
            .show(ui);
        let response = output
            .response
            .response
            .clone()
            .labelled_by(label.id)
            .on_hover_text(
                "Sent as typed with the device's line end. The device's replies appear below; \
             every line sent is also in the event log.",
            );
        if recalled {
            let end = CCursor::new(self.typing.chars().count());
            output
                .state
                .cursor
                .set_char_range(Some(CCursorRange::one(end)));
            output.state.store(ui.ctx(), id);
        }
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let clicked = ui
            .button("Send")
            .on_hover_text("Send the typed line (as Enter does)")
            .clicked();
        if entered {
            // Keep the keyboard for the next line.
            response.request_focus();
        }
        if !(entered || clicked) || self.typing.is_empty() {
            return None;
        }
        let line = std::mem::take(&mut self.typing);
        console.history.push(&line);
        Some(line)
    }
}

/// How many lines there are and what the columns are, in one line.
fn summary(console: &Console, shown: usize, filtered: bool) -> String {
    let mut text = format!("{} lines, newest last", console.len());
    if filtered {
        text += &format!(", {shown} match the filter");
    }
    let (text_dropped, data_dropped) = console.dropped();
    if text_dropped > 0 {
        text += &format!(" ({text_dropped} older lines dropped)");
    }
    if console.shows_data() && data_dropped > 0 {
        text += &format!(" ({data_dropped} older data lines dropped)");
    }
    text + ". Wall time (UTC), device time, the line; > marks a line sent."
}

/// The lines, newest last, following the newest unless scrolled up.
fn lines_ui(ui: &mut egui::Ui, lines: &[&ConsoleLine]) {
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
    egui::ScrollArea::both()
        .id_salt("console lines")
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .show_rows(ui, row_height, lines.len(), |ui, rows| {
            ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
            for line in &lines[rows] {
                let device = line
                    .device_time_s
                    .map_or_else(|| "-".to_owned(), |t| format!("{t:.3} s"));
                let text = format!("{}  {device:>10}  {}", line.wall_clock(), line.shown());
                let visuals = ui.visuals();
                let color = match line.source {
                    LineSource::Device(TextLevel::Info) => visuals.text_color(),
                    LineSource::Device(TextLevel::Warning) | LineSource::NotSent(_) => {
                        visuals.warn_fg_color
                    }
                    LineSource::Device(TextLevel::Error) => visuals.error_fg_color,
                    LineSource::Sent => visuals.strong_text_color(),
                    LineSource::Data => visuals.weak_text_color(),
                };
                ui.label(egui::RichText::new(text).monospace().color(color));
            }
        });
}
