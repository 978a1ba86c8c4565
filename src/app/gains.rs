//! The Parameters pane: one row per parameter the device declares,
//! grouped by the dotted prefix of its name, each edited as its kind says
//! ([`param_editor`](super::param_editor)) with the device's limits and
//! unit and the state of the last write (pending, confirmed, clamped,
//! refused); below them the profiles and write-safety sections. The Gain
//! history pane (undo, redo, the gain sets) is drawn from here too.
//!
//! Every write the user asks for (a slider, a typed value, a checkbox, a
//! drop-down, undo, redo, restore, a profile, auto-tune) goes through
//! [`GainsPanel::submit`] and the one [`WriteGuard`]: what it refuses is
//! listed, one line each, and not sent; a write larger than its
//! parameter's limit opens a confirmation and nothing is sent until the
//! user confirms. A held slider writes at the configured rate and always
//! sends the value it is let go at. The confirmation is closed only by its
//! buttons: Esc is the emergency stop, there as everywhere.

use std::path::PathBuf;
use std::time::Instant;

use super::gain_history::GainHistory;
use super::param_editor::{RowAction, TypedEdits, param_row};
use super::profiles::ProfilesPanel;
use crate::device::WriteSource;
use crate::device::session::DeviceSession;
use crate::protocol::ParamKind;
use crate::tuning::write_guard::{
    DragThrottle, LargeChange, MaxChange, Review, WriteGuard, WriteOrigin as GuardOrigin,
};

/// Why a batch of writes is sent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum WriteOrigin {
    /// The user set this very parameter.
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

    /// The gain set it goes to, for undo, redo and restore.
    fn gain_set(self) -> Option<usize> {
        match self {
            Self::Undo(index) | Self::Redo(index) | Self::Restore(index) => Some(index),
            Self::Edit | Self::Profile | Self::AutoTune => None,
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

/// What the gains panel keeps of one device while another is shown: its
/// gain history, its typed values not written yet (by parameter index,
/// which only this device's description gives a meaning) and what the
/// guard last refused.
#[derive(Default)]
pub struct GainsDeviceState {
    edits: TypedEdits,
    history: GainHistory,
    refusals: Vec<String>,
}

/// The left panel's state: write guards, typed values, gain history and
/// profiles.
#[derive(Default)]
pub struct GainsPanel {
    guard: WriteGuard,
    throttle: DragThrottle,
    edits: TypedEdits,
    history: GainHistory,
    confirmation: Option<PendingConfirmation>,
    /// What the guard refused in the last batch, one line each.
    refusals: Vec<String>,
    profiles: ProfilesPanel,
}

impl GainsPanel {
    /// The user's limits on writes.
    pub fn guard(&self) -> &WriteGuard {
        &self.guard
    }

    /// Takes remembered limits on writes.
    pub fn set_guard(&mut self, guard: WriteGuard) {
        self.guard = guard;
    }

    /// The profile file's path.
    pub fn profile_path(&self) -> &str {
        self.profiles.path()
    }

    /// Takes a remembered profile path.
    pub fn set_profile_path(&mut self, path: PathBuf) {
        self.profiles.set_path(path);
    }

    /// Another device is shown: hands over the shown one's gain history,
    /// typed edits and refusals, to be kept for it, and starts afresh. A
    /// held slider and an open confirmation are dropped, never carried to
    /// another device; the user's limits and profile path stay.
    pub fn take_device_state(&mut self) -> GainsDeviceState {
        self.throttle = DragThrottle::default();
        self.confirmation = None;
        GainsDeviceState {
            edits: std::mem::take(&mut self.edits),
            history: std::mem::take(&mut self.history),
            refusals: std::mem::take(&mut self.refusals),
        }
    }

    /// The device shown now had `state` kept for it (or starts afresh
    /// with the default), in place of what the panel held.
    pub fn restore_device_state(&mut self, state: GainsDeviceState) {
        let GainsDeviceState {
            edits,
            history,
            refusals,
        } = state;
        self.throttle = DragThrottle::default();
        self.confirmation = None;
        self.edits = edits;
        self.history = history;
        self.refusals = refusals;
    }

    /// After the panes, with every device: a machine's profile saved,
    /// compared or written as the Profiles section asked.
    pub fn machine_frame(&mut self, devices: &mut crate::device::Devices) {
        self.profiles.machine_frame(devices, &self.guard);
    }

    /// Every frame, whichever panes show: the gain history notes the set
    /// in force, and the *Large change* dialog stays up until answered.
    pub fn frame(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let Some(session) = session else {
            return;
        };
        if !session.params.is_empty()
            && !session.write_in_flight()
            && !self.throttle.is_holding()
            && self.confirmation.is_none()
        {
            self.history.observe(session.gain_set());
        }
        self.confirmation_ui(ui, session);
    }

    /// The Parameters pane: the rows, profiles and write safety.
    pub fn parameters_ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let Some(session) = session else {
            ui.label("Connect a device to see its parameters.");
            return;
        };
        if session.params.is_empty() {
            ui.label("Waiting for the device to describe itself…");
            return;
        }
        let mut requests = Vec::new();
        self.refusals_ui(ui);
        egui::ScrollArea::vertical().show(ui, |ui| {
            self.params_ui(ui, session, &mut requests);
            ui.add_space(8.0);
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
    }

    /// The Gain history pane.
    pub fn history_pane_ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let Some(session) = session.filter(|s| !s.params.is_empty()) else {
            ui.weak("The gain sets written to a device are listed here.");
            return;
        };
        let batch = egui::ScrollArea::vertical()
            .show(ui, |ui| self.history_ui(ui, session))
            .inner;
        if let Some(batch) = batch {
            self.submit(batch, session);
        }
    }

    fn refusals_ui(&mut self, ui: &mut egui::Ui) {
        if self.refusals.is_empty() {
            return;
        }
        ui.colored_label(ui.visuals().error_fg_color, "Not written:");
        for refusal in &self.refusals {
            ui.colored_label(ui.visuals().error_fg_color, refusal);
        }
        if ui.small_button("Dismiss").clicked() {
            self.refusals.clear();
        }
        ui.separator();
    }

    fn params_ui(
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
            let action = param_row(ui, index, view, self.throttle.shown(index), &mut self.edits);
            if action.is_some_and(RowAction::is_slider) {
                self.edits.discard(index);
            }
            let write = match action {
                Some(RowAction::Write(value)) => Some(value),
                Some(RowAction::Drag(value)) => {
                    self.throttle.drag(index, value, now, self.guard.drag_rate)
                }
                Some(RowAction::Release(moved)) => {
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
    /// user's confirmation and what is not a gain is refused.
    pub fn request_writes(&mut self, writes: Vec<(u8, f32)>, session: &mut DeviceSession) {
        self.submit(
            WriteBatch {
                origin: WriteOrigin::AutoTune,
                writes,
            },
            session,
        );
    }

    /// Sends what the guard lets through of `batch`, or holds it for
    /// confirmation when a write in it is larger than its parameter's
    /// limit; lists what it refused.
    fn submit(&mut self, batch: WriteBatch, session: &mut DeviceSession) {
        let params: Vec<_> = session.params.iter().map(|p| p.info.clone()).collect();
        let Review {
            writes,
            large,
            refused,
        } = self
            .guard
            .review(batch.origin.guard_origin(), &params, &batch.writes);
        self.refusals = refused.iter().map(ToString::to_string).collect();
        if writes.is_empty() {
            // Undo or redo to a set equal to the one in force moves the mark
            // all the same; a restore of one adds nothing.
            if let WriteOrigin::Undo(index) | WriteOrigin::Redo(index) = batch.origin {
                self.history.moved_to(index);
            }
            return;
        }
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
        match batch.origin {
            WriteOrigin::Undo(index) | WriteOrigin::Redo(index) => self.history.moved_to(index),
            WriteOrigin::Restore(index) => self.history.restored(index),
            WriteOrigin::Edit | WriteOrigin::Profile | WriteOrigin::AutoTune => {}
        }
    }

    /// The *Large change* dialog. Only its buttons close it: Esc stops the
    /// drive (in `App::ui`) and leaves it open, and a click beside it does
    /// nothing, so no key or stray click decides a write.
    fn confirmation_ui(&mut self, ui: &mut egui::Ui, session: &mut DeviceSession) {
        let Some(pending) = &self.confirmation else {
            return;
        };
        let mut confirm = false;
        let mut cancel = false;
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
            ui.separator();
            ui.horizontal(|ui| {
                // The backdrop covers the top bar's stop: the dialog has its own.
                super::safety::stop_button(ui, session.is_connected());
                ui.weak("Esc stops the drive; Cancel closes this.");
            });
        });
        if confirm {
            if let Some(pending) = self.confirmation.take() {
                self.send(pending.batch, session);
            }
        } else if cancel {
            self.confirmation = None;
        }
    }

    /// Undo, redo, the gain sets and the timeline of writes; returns the
    /// writes to go to another set.
    fn history_ui(&mut self, ui: &mut egui::Ui, session: &DeviceSession) -> Option<WriteBatch> {
        let mut origin = None;
        ui.horizontal(|ui| {
            let undo = self.history.undo_target();
            if ui
                .add_enabled(undo.is_some(), egui::Button::new("Undo gain change"))
                .on_hover_text("Back to the set in force before this one")
                .clicked()
            {
                origin = undo.map(WriteOrigin::Undo);
            }
            let redo = self.history.redo_target();
            if ui
                .add_enabled(redo.is_some(), egui::Button::new("Redo gain change"))
                .on_hover_text("Take the last undo back")
                .clicked()
            {
                origin = redo.map(WriteOrigin::Redo);
            }
        });

        ui.label("Gain sets, newest first (restoring one adds a copy at the top):");
        let count = self.history.sets().len();
        let row_height = ui.spacing().interact_size.y;
        // Only the visible rows are laid out: every edit adds a set.
        // As tall as it may be wherever it sits in the panel: a nested
        // scroll area otherwise takes the height left on screen, and below
        // the fold that is next to none.
        egui::ScrollArea::vertical()
            .id_salt("gain sets")
            .max_height(200.0)
            .min_scrolled_height(200.0)
            .show_rows(ui, row_height, count, |ui, rows| {
                for index in rows.map(|row| count - 1 - row) {
                    ui.horizontal(|ui| {
                        let description = self.history.describe(index);
                        ui.label(format!("Set {}: {description}", index + 1));
                        if index == self.history.in_force() {
                            ui.weak("in force");
                        } else if ui.button(format!("Restore set {}", index + 1)).clicked() {
                            origin = Some(WriteOrigin::Restore(index));
                        }
                    });
                }
            });

        ui.label("Writes of gains and settings, newest first:");
        let tunable = |name: &str| {
            session
                .params
                .iter()
                .any(|p| p.info.name == name && p.info.is_tunable())
        };
        let marks: Vec<_> = session
            .writes
            .iter()
            .rev()
            .filter(|m| tunable(&m.name))
            .collect();
        let row_height = ui.text_style_height(&egui::TextStyle::Body);
        // Only the visible rows are laid out: a long session has thousands.
        egui::ScrollArea::vertical()
            .id_salt("gain timeline")
            .max_height(160.0)
            .min_scrolled_height(160.0)
            .show_rows(ui, row_height, marks.len(), |ui, rows| {
                for mark in &marks[rows] {
                    let time = if mark.time_s.is_finite() {
                        format!("{:.3} s", mark.time_s)
                    } else {
                        "-".to_owned()
                    };
                    ui.label(format!(
                        "{time}  {}: {} -> {} {} ({})",
                        mark.name, mark.previous, mark.value, mark.unit, mark.source
                    ));
                }
            });

        let origin = origin?;
        let target = origin.gain_set()?;
        let writes = self
            .history
            .changes_to(target, &session.gain_set())
            .into_iter()
            .filter_map(|(name, value)| {
                let index = session.params.iter().position(|p| p.info.name == name)?;
                Some((index as u8, value))
            })
            .collect();
        Some(WriteBatch { origin, writes })
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
            // Switches and choices have no "how far": the click is the act.
            if info.flags.read_only() || !matches!(info.kind, ParamKind::Real | ParamKind::Integer)
            {
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
