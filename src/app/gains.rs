//! One slider per parameter the device declares, grouped by the dotted
//! prefix of its name, with numeric entry, the device's limits and unit, and
//! the state of the last write (pending, confirmed, clamped, refused);
//! below them the gain history, profiles and write-safety sections.
//!
//! Every write the user asks for (a slider, undo, redo, restore, a
//! profile) goes through [`GainsPanel::submit`]: a write larger than its
//! parameter's limit opens a confirmation and nothing is sent until the
//! user confirms. A held slider writes at the configured rate and always
//! sends the value it is let go at.

use std::time::Instant;

use super::gain_history::GainHistory;
use super::profiles::ProfilesPanel;
use super::session::{DeviceSession, ParamView, WriteState};
use crate::device::WriteSource;
use crate::tuning::write_guard::{
    DragThrottle, LargeChange, MaxChange, Review, WriteGuard, WriteOrigin as GuardOrigin,
};

/// Why a batch of writes is sent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum WriteOrigin {
    /// The user moved a slider or typed a value.
    Edit,
    /// Undo to this gain set.
    Undo(usize),
    /// Redo to this gain set.
    Redo(usize),
    /// Restore this gain set.
    Restore(usize),
    Profile,
    AutoTune,
}

impl WriteOrigin {
    fn guard_origin(self) -> GuardOrigin {
        match self {
            Self::Edit => GuardOrigin::Edit,
            Self::Undo(_) | Self::Redo(_) | Self::Restore(_) => GuardOrigin::GainSet,
            Self::Profile => GuardOrigin::Profile,
            Self::AutoTune => GuardOrigin::AutoTune,
        }
    }

    /// How the event log names it.
    fn source(self) -> WriteSource {
        match self {
            Self::Edit => WriteSource::Edit,
            Self::Undo(_) => WriteSource::Undo,
            Self::Redo(_) => WriteSource::Redo,
            Self::Restore(_) => WriteSource::Restore,
            Self::Profile => WriteSource::Profile,
            Self::AutoTune => WriteSource::AutoTune,
        }
    }
}

/// Writes (parameter index, value) waiting to be sent.
#[derive(Clone, Debug)]
struct WriteBatch {
    origin: WriteOrigin,
    writes: Vec<(u8, f32)>,
}

/// A batch held back until the user confirms its large changes.
struct PendingConfirmation {
    batch: WriteBatch,
    large: Vec<LargeChange>,
}

/// What one slider did this frame.
enum SliderEdit {
    /// A new value, not from a held slider (keyboard, typing, accessibility).
    Set(f32),
    /// The slider is held at this value.
    Drag(f32),
    /// The slider was let go, at this value if it moved in the same frame.
    Release(Option<f32>),
}

/// The left panel's state: write guards, gain history and profiles.
#[derive(Default)]
pub struct GainsPanel {
    guard: WriteGuard,
    throttle: DragThrottle,
    history: GainHistory,
    confirmation: Option<PendingConfirmation>,
    profiles: ProfilesPanel,
}

impl GainsPanel {
    /// A new connection: its history starts afresh; the user's limits and
    /// profile path stay.
    pub fn forget_device(&mut self) {
        self.throttle = DragThrottle::default();
        self.history = GainHistory::default();
        self.confirmation = None;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        ui.heading("Parameters");
        let Some(session) = session else {
            ui.label("Connect a device to see its parameters.");
            return;
        };
        if session.params.is_empty() {
            ui.label("Waiting for the device to describe itself…");
            return;
        }
        if !session.write_in_flight() && !self.throttle.is_holding() && self.confirmation.is_none()
        {
            self.history.observe(session.gain_set());
        }
        let mut requests = Vec::new();
        egui::ScrollArea::vertical().show(ui, |ui| {
            self.sliders_ui(ui, session, &mut requests);
            ui.add_space(8.0);
            egui::CollapsingHeader::new("Gain history")
                .default_open(true)
                .show(ui, |ui| {
                    if let Some(batch) = self.history_ui(ui, session) {
                        requests.push(batch);
                    }
                });
            egui::CollapsingHeader::new("Profiles")
                .default_open(true)
                .show(ui, |ui| {
                    if let Some(writes) = self.profiles.ui(ui, session) {
                        requests.push(WriteBatch {
                            origin: WriteOrigin::Profile,
                            writes,
                        });
                    }
                });
            egui::CollapsingHeader::new("Write safety")
                .default_open(false)
                .show(ui, |ui| self.safety_ui(ui, session));
        });
        for batch in requests {
            self.submit(batch, session);
        }
        self.confirmation_ui(ui, session);
    }

    fn sliders_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &DeviceSession,
        requests: &mut Vec<WriteBatch>,
    ) {
        let now = Instant::now();
        let mut group: Option<&str> = None;
        for (index, view) in session.params.iter().enumerate() {
            let index = index as u8;
            let prefix = view.info.name.split_once('.').map(|(g, _)| g);
            if prefix != group && prefix.is_some() {
                ui.add_space(6.0);
                ui.strong(prefix.unwrap_or_default());
            }
            group = prefix;
            let write = match param_row(ui, view, self.throttle.shown(index)) {
                Some(SliderEdit::Set(value)) => Some(value),
                Some(SliderEdit::Drag(value)) => {
                    self.throttle.drag(index, value, now, self.guard.drag_rate)
                }
                Some(SliderEdit::Release(moved)) => {
                    if let Some(value) = moved {
                        // Rate 0: only remember where it ended.
                        self.throttle.drag(index, value, now, 0.0);
                    }
                    self.throttle.release(index)
                }
                None => None,
            };
            if let Some(value) = write {
                requests.push(WriteBatch {
                    origin: WriteOrigin::Edit,
                    writes: vec![(index, value)],
                });
            }
        }
    }

    /// Writes from another panel (the auto-tune's proposed gains): sent
    /// through the same guard as an edit, so a large change waits for the
    /// user's confirmation.
    pub fn request_writes(&mut self, writes: Vec<(u8, f32)>, session: &mut DeviceSession) {
        self.submit(
            WriteBatch {
                origin: WriteOrigin::AutoTune,
                writes,
            },
            session,
        );
    }

    /// Sends `batch`, or holds it for confirmation when a write in it is
    /// larger than its parameter's limit.
    fn submit(&mut self, batch: WriteBatch, session: &mut DeviceSession) {
        let params: Vec<_> = session.params.iter().map(|p| p.info.clone()).collect();
        let Review {
            writes,
            large,
            refused: _,
        } = self
            .guard
            .review(batch.origin.guard_origin(), &params, &batch.writes);
        let batch = WriteBatch {
            origin: batch.origin,
            writes,
        };
        if large.is_empty() {
            self.send(batch, session);
        } else {
            self.confirmation = Some(PendingConfirmation { batch, large });
        }
    }

    fn send(&mut self, batch: WriteBatch, session: &mut DeviceSession) {
        let source = batch.origin.source();
        for &(index, value) in &batch.writes {
            session.write_param(index, value, source);
        }
        if let WriteOrigin::Undo(index) | WriteOrigin::Redo(index) | WriteOrigin::Restore(index) =
            batch.origin
        {
            self.history.moved_to(index);
        }
    }

    fn confirmation_ui(&mut self, ui: &mut egui::Ui, session: &mut DeviceSession) {
        let Some(pending) = &self.confirmation else {
            return;
        };
        let mut confirm = false;
        let mut cancel = false;
        let modal =
            egui::Modal::new(egui::Id::unique("confirm large change")).show(ui.ctx(), |ui| {
                ui.heading("Large change");
                ui.label("These writes move a parameter further than its limit per write:");
                for change in &pending.large {
                    ui.label(format!(
                        "{}: {} -> {} {}",
                        change.name, change.from, change.to, change.unit
                    ));
                }
                ui.label("Nothing has been written yet.");
                ui.horizontal(|ui| {
                    confirm = ui.button("Confirm large change").clicked();
                    cancel = ui.button("Cancel").clicked();
                });
            });
        if confirm {
            if let Some(pending) = self.confirmation.take() {
                self.send(pending.batch, session);
            }
        } else if cancel || modal.should_close() {
            self.confirmation = None;
        }
    }

    /// Undo, redo, the timeline of writes and the earlier gain sets;
    /// returns the writes to go to another set.
    fn history_ui(&mut self, ui: &mut egui::Ui, session: &DeviceSession) -> Option<WriteBatch> {
        let mut origin = None;
        ui.horizontal(|ui| {
            let undo = self.history.undo_target();
            if ui
                .add_enabled(undo.is_some(), egui::Button::new("Undo gain change"))
                .clicked()
            {
                origin = undo.map(WriteOrigin::Undo);
            }
            let redo = self.history.redo_target();
            if ui
                .add_enabled(redo.is_some(), egui::Button::new("Redo gain change"))
                .clicked()
            {
                origin = redo.map(WriteOrigin::Redo);
            }
        });

        ui.label("Gain sets, newest first:");
        let sets = self.history.sets();
        for (index, set) in sets.iter().enumerate().rev() {
            ui.horizontal(|ui| {
                let description = match index.checked_sub(1).and_then(|i| sets.get(i)) {
                    None => "as connected".to_owned(),
                    Some(before) => set_difference(before, set),
                };
                ui.label(format!("Set {}: {description}", index + 1));
                if index == self.history.cursor() {
                    ui.weak("in force");
                } else if ui.button(format!("Restore set {}", index + 1)).clicked() {
                    origin = Some(WriteOrigin::Restore(index));
                }
            });
        }

        ui.label("Writes, newest first:");
        let marks: Vec<_> = session
            .writes
            .iter()
            .rev()
            .filter(|m| !m.setpoint)
            .collect();
        let row_height = ui.text_style_height(&egui::TextStyle::Body);
        // Only the visible rows are laid out: a long session has thousands.
        egui::ScrollArea::vertical()
            .id_salt("gain timeline")
            .max_height(160.0)
            .show_rows(ui, row_height, marks.len(), |ui, rows| {
                for mark in &marks[rows] {
                    let time = if mark.time_s.is_finite() {
                        format!("{:.3} s", mark.time_s)
                    } else {
                        "-".to_owned()
                    };
                    ui.label(format!(
                        "{time}  {}: {} -> {} {}",
                        mark.name, mark.previous, mark.value, mark.unit
                    ));
                }
            });

        let origin = origin?;
        let (WriteOrigin::Undo(target) | WriteOrigin::Redo(target) | WriteOrigin::Restore(target)) =
            origin
        else {
            return None;
        };
        let writes = self
            .history
            .changes_to(target, &session.gain_set())
            .into_iter()
            .filter_map(|(name, value)| {
                let index = session.params.iter().position(|p| p.info.name == name)?;
                Some((index as u8, value))
            })
            .collect();
        Some(WriteBatch {
            origin,
            writes,
        })
    }

    fn safety_ui(&mut self, ui: &mut egui::Ui, session: &DeviceSession) {
        ui.horizontal(|ui| {
            let label = ui.label("Writes while dragging");
            ui.add(
                egui::DragValue::new(&mut self.guard.drag_rate)
                    .range(0.0..=200.0)
                    .speed(1.0)
                    .suffix(" /s"),
            )
            .labelled_by(label.id)
            .on_hover_text("0 writes only when the slider is let go");
        });
        ui.label("Largest change per write before a confirmation:");
        for view in &session.params {
            let info = &view.info;
            if info.flags.read_only() {
                continue;
            }
            ui.horizontal(|ui| {
                let label = ui.label(format!("Max change {}", info.name));
                let mut limit = self.guard.max_change(info);
                let edited = match &mut limit {
                    MaxChange::Factor(factor) => ui.add(
                        egui::DragValue::new(factor)
                            .range(1.0..=1.0e6)
                            .speed(0.05)
                            .prefix("x"),
                    ),
                    MaxChange::PercentOfRange(percent) => ui.add(
                        egui::DragValue::new(percent)
                            .range(0.01..=100.0)
                            .speed(0.5)
                            .suffix(" % of range"),
                    ),
                }
                .labelled_by(label.id);
                if edited.changed() {
                    self.guard.set_max_change(&info.name, limit);
                }
            });
        }
    }
}

/// "pos.kp 20 -> 50, pos.ki 5 -> 8": what changed from one set to the next.
fn set_difference(before: &[(String, f32)], after: &[(String, f32)]) -> String {
    let changed: Vec<String> = after
        .iter()
        .filter_map(|(name, value)| {
            let old = before.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            match old {
                Some(old) if old == *value => None,
                Some(old) => Some(format!("{name} {old} -> {value}")),
                None => Some(format!("{name} {value}")),
            }
        })
        .collect();
    if changed.is_empty() {
        "no change".to_owned()
    } else {
        changed.join(", ")
    }
}

/// Draws one parameter; returns what the user did to its slider.
fn param_row(ui: &mut egui::Ui, view: &ParamView, held: Option<f32>) -> Option<SliderEdit> {
    let info = &view.info;
    let mut edit = None;
    ui.horizontal(|ui| {
        if info.flags.read_only() {
            let label = ui.label(&info.name);
            let value = if info.unit.is_empty() {
                info.value.to_string()
            } else {
                format!("{} {}", info.value, info.unit)
            };
            ui.label(value).labelled_by(label.id);
            ui.weak("read-only");
            return;
        }
        let mut value = held.unwrap_or_else(|| view.shown_value());
        let mut slider = egui::Slider::new(&mut value, info.min..=info.max)
            .text(&info.name)
            .logarithmic(info.flags.log_scale())
            // A log slider from 0 spans four decades below the maximum,
            // not egui's default of many more that no gain needs.
            .smallest_positive(f64::from(info.max) * 1e-4);
        if !info.unit.is_empty() {
            slider = slider.suffix(format!(" {}", info.unit));
        }
        let response = ui.add(slider).on_hover_text(format!(
            "{}: {} … {} {}",
            info.name, info.min, info.max, info.unit
        ));
        edit = if response.drag_stopped() {
            Some(SliderEdit::Release(response.changed().then_some(value)))
        } else if response.changed() && response.dragged() {
            Some(SliderEdit::Drag(value))
        } else if response.changed() {
            Some(SliderEdit::Set(value))
        } else {
            None
        };
        write_state_badge(ui, &view.write, &info.unit, info.value);
    });
    edit
}

fn write_state_badge(ui: &mut egui::Ui, state: &WriteState, unit: &str, in_force: f32) {
    match state {
        WriteState::Idle => {}
        WriteState::Pending { .. } => {
            ui.weak("pending")
                .on_hover_text("Sent; waiting for the device");
        }
        WriteState::Confirmed => {
            ui.colored_label(egui::Color32::from_rgb(60, 170, 60), "confirmed")
                .on_hover_text("The device applied the value");
        }
        WriteState::Clamped { requested } => {
            ui.colored_label(ui.visuals().warn_fg_color, "clamped")
                .on_hover_text(format!(
                    "Asked {requested} {unit}; the device applied {in_force} {unit}"
                ));
        }
        WriteState::Refused(code) => {
            ui.colored_label(ui.visuals().error_fg_color, "refused")
                .on_hover_text(format!("The device refused the write: {code}"));
        }
        WriteState::Unanswered { requested } => {
            ui.colored_label(ui.visuals().error_fg_color, "no answer")
                .on_hover_text(format!(
                    "The device did not answer the write of {requested} {unit}"
                ));
        }
    }
}
