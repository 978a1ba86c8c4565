//! One recording once loaded: its read-only session, what the pane shows of
//! it (rows, clock, channels, how it was read, the rows that could not be
//! read, the steps found), the steps kept as runs on request, an armed
//! trigger moved through the file a slice a frame, and, for a CSV, the
//! reader's choices to correct and open again with.

use std::time::{Duration, SystemTime};

use crate::capture::ArmState;
use crate::device::recorded::RecordedDevice;
use crate::device::session::DeviceSession;
use crate::protocol::ChannelRole;
use crate::record::read::{CsvLayout, FileFormat, ReadOptions, TimeColumn, TimeUnit};
use crate::record::{RunContext, RunStore};
use crate::tuning::{FrequencyMeasurement, StepResponse};

/// Samples a frame's trigger scan of a file reads: a few milliseconds.
const SCAN_PER_FRAME: u64 = 200_000;

/// A loaded file: its session and what the pane shows of it.
pub(super) struct OpenFile {
    /// `None` only while lent to the workspace for a frame.
    pub(super) session: Option<DeviceSession>,
    rows: usize,
    exact: bool,
    /// The clock its times were put on.
    clock_hz: f64,
    /// The first and last sample's time.
    pub(super) span_s: (f64, f64),
    how_read: String,
    problems: Vec<String>,
    steps: Vec<StepResponse>,
    no_steps: Option<String>,
    /// The steps were kept as runs.
    kept: bool,
    loaded_in: Duration,
    /// Where the trigger scan goes on (absolute sample index).
    scanned_to: u64,
    /// An armed trigger scanned to the end of the file.
    scan_ended: bool,
    /// `name [unit]` of every channel.
    channels: Vec<String>,
    /// The units runs are kept with.
    signal_unit: String,
    effort_unit: String,
    /// When the file was written, RFC 3339: the runs' date.
    written_at: String,
    /// How a CSV was read, to correct; `None` for Parquet.
    layout: Option<CsvLayout>,
    /// The reader's choices being edited.
    read_as: ReadOptions,
    /// The response of an excitation in the file, or why it has none.
    response: Option<Result<FrequencyMeasurement, String>>,
    /// The response was handed to the Frequency response pane.
    response_shown: bool,
}

impl OpenFile {
    pub(super) fn new(device: RecordedDevice, options: ReadOptions, loaded_in: Duration) -> Self {
        let span_s = device.history.time_span().unwrap_or((0.0, 0.0));
        let how_read = match &device.format {
            FileFormat::Csv(layout) => format!("CSV, {}", layout.describe()),
            FileFormat::Parquet(info) => format!("Parquet, {}", info.describe()),
        };
        let mut problems: Vec<String> = device.problems.iter().map(ToString::to_string).collect();
        if device.problems_not_listed > 0 {
            problems.push(format!("and {} more", device.problems_not_listed));
        }
        let scanned_to = device.history.indices().start;
        let unit_of = |role| {
            device
                .info
                .channels
                .iter()
                .find(|c| c.role == role)
                .map(|c| c.unit.clone())
                .unwrap_or_default()
        };
        let written_at = std::fs::metadata(&device.path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| SystemTime::now());
        Self {
            scan_ended: false,
            channels: device.info.channels.iter().map(|c| c.label()).collect(),
            signal_unit: unit_of(ChannelRole::Feedback),
            effort_unit: unit_of(ChannelRole::Effort),
            written_at: humantime::format_rfc3339_seconds(written_at).to_string(),
            layout: match &device.format {
                FileFormat::Csv(layout) => Some(layout.clone()),
                FileFormat::Parquet(_) => None,
            },
            read_as: options,
            response: device.response,
            response_shown: false,
            rows: device.rows,
            exact: device.exact,
            clock_hz: device.rate_hz,
            span_s,
            how_read,
            problems,
            steps: device.steps,
            no_steps: device.no_steps,
            kept: false,
            loaded_in,
            scanned_to,
            session: Some(DeviceSession::recorded(
                device.path,
                device.info,
                device.history,
            )),
        }
    }

    /// A trigger is armed and has more of the file to scan.
    pub(super) fn scanning(&self) -> bool {
        let Some(session) = &self.session else {
            return false;
        };
        let end = session.history.as_ref().map_or(0, |h| h.indices().end);
        match session.capture.state() {
            ArmState::Idle => false,
            // Armed anew: it starts again from the top at the end.
            ArmState::Armed { since: None } => true,
            _ => self.scanned_to < end,
        }
    }

    /// Feeds the armed trigger the next slice of the file, from where the
    /// last scan stopped; one armed anew at the end starts again from the
    /// file's first sample.
    pub(super) fn scan_trigger(&mut self) {
        if !self.scanning() {
            return;
        }
        let Some(session) = &mut self.session else {
            return;
        };
        let Some(history) = &session.history else {
            return;
        };
        let indices = history.indices();
        if self.scanned_to >= indices.end {
            self.scanned_to = indices.start;
        }
        let end = indices.end.min(self.scanned_to + SCAN_PER_FRAME);
        for batch in history.batches(self.scanned_to..end, 4096) {
            session.capture.on_samples(&batch, 0);
            self.scanned_to += batch.len() as u64;
            if matches!(session.capture.state(), ArmState::Idle) {
                break;
            }
        }
        self.scan_ended =
            self.scanned_to >= indices.end && !matches!(session.capture.state(), ArmState::Idle);
    }

    /// The file's entry; returns the reader's choices when the user asks
    /// to open it again with them.
    pub(super) fn ui(
        &mut self,
        ui: &mut egui::Ui,
        name: &str,
        runs: &mut RunStore,
        responses: &mut Vec<FrequencyMeasurement>,
    ) -> Option<ReadOptions> {
        let seconds = self.span_s.1 - self.span_s.0;
        let rate = if seconds > 0.0 {
            format!(" ({:.1} rows/s)", (self.rows - 1) as f64 / seconds)
        } else {
            String::new()
        };
        let rounded = if self.exact {
            String::new()
        } else {
            format!(", times rounded to a {} Hz clock", self.clock_hz)
        };
        ui.label(format!(
            "{} rows over {seconds:.3} s{rate}{rounded}; opened in {:.2} s",
            self.rows,
            self.loaded_in.as_secs_f64()
        ));
        ui.label(format!("Channels: {}", self.channels.join(", ")));
        ui.weak(&self.how_read);
        if self.scan_ended {
            ui.weak("The trigger has scanned to the end of the file; arm it again to start over.");
        }
        if !self.problems.is_empty() {
            egui::CollapsingHeader::new(format!(
                "{} rows could not be read whole",
                self.problems.len()
            ))
            .show(ui, |ui| {
                for problem in &self.problems {
                    ui.colored_label(ui.visuals().warn_fg_color, problem);
                }
            });
        }
        match &self.no_steps {
            Some(why) => {
                ui.weak(why);
            }
            None => {
                ui.horizontal(|ui| {
                    let count = self.steps.len();
                    ui.label(format!("{count} step{} found", plural(count)));
                    let keep = ui
                        .add_enabled(!self.kept, egui::Button::new("Keep as runs"))
                        .on_hover_text("Add every step to the runs, to compare with others");
                    if keep.clicked() {
                        self.keep_steps(name, runs);
                    }
                    if self.kept {
                        ui.weak("kept");
                    }
                });
            }
        }
        self.response_ui(ui, responses);
        let layout = self.layout.as_ref()?;
        let mut reopen = false;
        egui::CollapsingHeader::new("Read as…").show(ui, |ui| {
            reopen = read_as_ui(ui, Some(layout), &mut self.read_as);
        });
        reopen.then(|| self.read_as.clone())
    }

    /// The excitation's response, and the button that hands it to the
    /// Frequency response pane.
    fn response_ui(&mut self, ui: &mut egui::Ui, responses: &mut Vec<FrequencyMeasurement>) {
        match &self.response {
            None => {}
            Some(Err(why)) => {
                ui.weak(why);
            }
            Some(Ok(measurement)) => {
                ui.horizontal_wrapped(|ui| {
                    let bandwidth = measurement.figures.bandwidth_hz.map_or_else(
                        || "no bandwidth".to_owned(),
                        |hz| format!("bandwidth {hz:.1} Hz"),
                    );
                    ui.label(format!(
                        "Frequency response of its excitation: {} points, {bandwidth}",
                        measurement.points.len()
                    ));
                    let show = ui.add_enabled(
                        !self.response_shown,
                        egui::Button::new("Add to Frequency response"),
                    );
                    if show.clicked() {
                        responses.push(measurement.clone());
                        self.response_shown = true;
                    }
                });
            }
        }
    }

    /// Adds every step to `runs`, named for the file and dated by it.
    fn keep_steps(&mut self, name: &str, runs: &mut RunStore) {
        let context = RunContext {
            device: name.to_owned(),
            signal_unit: self.signal_unit.clone(),
            effort_unit: self.effort_unit.clone(),
            gains: Vec::new(),
        };
        for step in &self.steps {
            runs.add(step, &context, self.written_at.clone());
        }
        self.kept = true;
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The reader's choices for a CSV: the time column and its unit, the
/// separator, decimal commas and the header row, each "as detected" or
/// set; `layout` is how the file was read, when it could be. Returns true
/// when *Open again* is clicked.
pub(super) fn read_as_ui(
    ui: &mut egui::Ui,
    layout: Option<&CsvLayout>,
    options: &mut ReadOptions,
) -> bool {
    let default_layout = CsvLayout::default();
    let detected = layout.unwrap_or(&default_layout);
    let detected_text = |what: &str| match layout {
        Some(_) => format!("detected: {what}"),
        None => "detect".to_owned(),
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    egui::Grid::new("read as").num_columns(2).show(ui, |ui| {
        let label = ui.label("Time column");
        match layout {
            Some(layout) => time_column_choice(ui, layout, options, label.id),
            None => typed_time_column(ui, options, label.id),
        }
        ui.end_row();

        let label = ui.label("Time unit");
        let shown = match options.time_unit {
            None => detected_text(detected.time_unit.symbol()),
            Some(unit) => unit.symbol().to_owned(),
        };
        egui::ComboBox::from_id_salt("time unit")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut options.time_unit, None, "detect");
                for unit in [
                    TimeUnit::Seconds,
                    TimeUnit::Milliseconds,
                    TimeUnit::Microseconds,
                ] {
                    ui.selectable_value(&mut options.time_unit, Some(unit), unit.symbol());
                }
            })
            .response
            .labelled_by(label.id);
        ui.end_row();

        let label = ui.label("Separator");
        let shown = match options.separator {
            None => detected_text(separator_name(detected.separator)),
            Some(byte) => separator_name(byte).to_owned(),
        };
        egui::ComboBox::from_id_salt("separator")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut options.separator, None, "detect");
                for byte in [b',', b';', b'\t', b' '] {
                    ui.selectable_value(&mut options.separator, Some(byte), separator_name(byte));
                }
            })
            .response
            .labelled_by(label.id);
        ui.end_row();

        let decimal = detected_text(yes_no(detected.decimal_comma));
        tri_state(ui, "Decimal comma", &mut options.decimal_comma, decimal);
        let header = detected_text(yes_no(detected.header));
        tri_state(ui, "Header row", &mut options.header, header);
    });
    ui.button("Open again").clicked()
}

fn separator_name(byte: u8) -> &'static str {
    match byte {
        b',' => "comma",
        b';' => "semicolon",
        b'\t' => "tab",
        b' ' => "space",
        _ => "other",
    }
}

/// The time column, chosen among the file's columns.
fn time_column_choice(
    ui: &mut egui::Ui,
    layout: &CsvLayout,
    options: &mut ReadOptions,
    label: egui::Id,
) {
    let column_name = |index: usize| {
        layout
            .headers
            .get(index)
            .filter(|h| !h.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("column {}", index + 1))
    };
    let shown = match &options.time_column {
        TimeColumn::Detect => format!("detected: {}", column_name(layout.time_column)),
        TimeColumn::Named(name) => name.clone(),
        TimeColumn::Index(index) => column_name(*index),
    };
    egui::ComboBox::from_id_salt("time column")
        .selected_text(shown)
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut options.time_column, TimeColumn::Detect, "detect");
            for index in 0..layout.column_count {
                ui.selectable_value(
                    &mut options.time_column,
                    TimeColumn::Index(index),
                    column_name(index),
                );
            }
        })
        .response
        .labelled_by(label);
}

/// The time column of a file not yet read: by name, or by number from 1.
fn typed_time_column(ui: &mut egui::Ui, options: &mut ReadOptions, label: egui::Id) {
    let mut typed = match &options.time_column {
        TimeColumn::Detect => String::new(),
        TimeColumn::Named(name) => name.clone(),
        TimeColumn::Index(index) => (index + 1).to_string(),
    };
    let field = ui.add(
        egui::TextEdit::singleline(&mut typed)
            .hint_text("name, or number from 1")
            .desired_width(140.0),
    );
    if field.labelled_by(label).changed() {
        options.time_column = match typed.trim() {
            "" => TimeColumn::Detect,
            text => match text.parse::<usize>() {
                Ok(number) if number > 0 => TimeColumn::Index(number - 1),
                _ => TimeColumn::Named(text.to_owned()),
            },
        };
    }
}

/// A choice of "as detected", yes or no.
fn tri_state(ui: &mut egui::Ui, name: &str, value: &mut Option<bool>, detected: String) {
    let label = ui.label(name);
    let shown = match value {
        None => detected,
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
    };
    egui::ComboBox::from_id_salt(name)
        .selected_text(shown)
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, "detect");
            ui.selectable_value(value, Some(true), "yes");
            ui.selectable_value(value, Some(false), "no");
        })
        .response
        .labelled_by(label.id);
    ui.end_row();
}
