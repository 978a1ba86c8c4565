//! The Run and Abort of every procedure tab, one widget: Run (only with
//! the output on and no procedure under way), the red Abort while the
//! tab's procedure runs (Esc also aborts it, with the emergency stop), why
//! the last Run was refused, and where the tab's last run stands. The
//! procedure itself runs on the link thread; this reads the session's
//! [`Procedures`](crate::device::session::Procedures) and sends intents.

use crate::device::session::{DeviceSession, ProcedureKind, ProcedureRun, StartError};
use crate::tuning::{ExcitationState, ProcedureState, RelayState, StepTestState};

/// Red of the abort button, as the emergency stop's.
const ABORT_RED: egui::Color32 = egui::Color32::from_rgb(200, 30, 30);

/// One tab's Run/Abort and state line.
#[derive(Default)]
pub struct ProcedureControls {
    /// Why the last Run was refused.
    refusal: Option<String>,
}

/// The Run button's label for `kind`, as the accessibility tree names it.
fn run_label(kind: ProcedureKind) -> &'static str {
    match kind {
        ProcedureKind::StepTest => "Run step test",
        ProcedureKind::FrequencyResponse => "Run frequency response",
        ProcedureKind::Relay => "Run relay",
    }
}

/// The Abort button's label for `kind`.
fn abort_label(kind: ProcedureKind) -> &'static str {
    match kind {
        ProcedureKind::StepTest => "Abort step test",
        ProcedureKind::FrequencyResponse => "Abort frequency response",
        ProcedureKind::Relay => "Abort relay",
    }
}

impl ProcedureControls {
    /// Run or Abort for a procedure of `kind`, the refusal, and the state of
    /// the last run of `kind`; a click on Run calls `start`. `unit` is the
    /// setpoint's, for the value a run put back.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &mut DeviceSession,
        kind: ProcedureKind,
        unit: &str,
        start: impl FnOnce(&mut DeviceSession) -> Result<(), StartError>,
    ) {
        let running = session.procedures.running().map(ProcedureRun::kind);
        if running == Some(kind) {
            let abort = egui::Button::new(
                egui::RichText::new(abort_label(kind))
                    .strong()
                    .color(egui::Color32::WHITE),
            )
            .fill(ABORT_RED);
            if ui
                .add(abort)
                .on_hover_text("Stop now and restore the setpoint (Esc also stops the drive)")
                .clicked()
            {
                session.abort_procedure();
            }
        } else {
            let ready = session.is_connected() && session.output_enabled() && running.is_none();
            let why_not = match running {
                Some(other) => format!("A {} is under way", other.label()),
                None => "Enable the drive's output first".to_owned(),
            };
            let run = ui
                .add_enabled(ready, egui::Button::new(run_label(kind)))
                .on_disabled_hover_text(why_not);
            if run.clicked() {
                self.refusal = start(session).err().map(|e| e.to_string());
            }
        }
        if let Some(refusal) = &self.refusal {
            ui.colored_label(ui.visuals().error_fg_color, refusal);
        }
        if let Some(run) = session.procedures.last(kind) {
            state_ui(ui, run, unit);
        }
    }
}

/// Where `run` stands, in one line (a progress bar for a measurement).
fn state_ui(ui: &mut egui::Ui, run: &ProcedureRun, unit: &str) {
    let restored = format!("{} {unit}", run.setpoint_before);
    let relay = run.kind() == ProcedureKind::Relay;
    if let Some(ending) = &run.ended {
        let (text, color) = match (&ending.failure, ending.aborted, relay) {
            (Some(failure), _, false) => (
                format!("Failed: {failure}; setpoint restored to {restored}"),
                Some(ui.visuals().error_fg_color),
            ),
            (Some(failure), _, true) => (
                format!("Relay failed: {failure}"),
                Some(ui.visuals().error_fg_color),
            ),
            (None, true, false) => (
                format!("Aborted; setpoint restored to {restored}"),
                Some(ui.visuals().warn_fg_color),
            ),
            (None, true, true) => (
                "Relay: aborted; relay off, setpoint restored".to_owned(),
                Some(ui.visuals().warn_fg_color),
            ),
            (None, false, false) => (format!("Done; setpoint back at {restored}"), None),
            (None, false, true) => ("Relay: done; relay off, setpoint restored".to_owned(), None),
        };
        match color {
            Some(color) => ui.colored_label(color, text),
            None => ui.label(text),
        };
        return;
    }
    let text = match (&run.state, run.kind()) {
        (Some(ProcedureState::Excitation(ExcitationState::Running { done })), _) => {
            ui.add(
                egui::ProgressBar::new(*done as f32)
                    .show_percentage()
                    .desired_width(200.0),
            )
            .on_hover_text("Measurement progress");
            return;
        }
        (Some(ProcedureState::Step(StepTestState::Running { target, of })), _) => {
            format!("Step {target} of {of}")
        }
        (Some(ProcedureState::Relay(RelayState::Oscillating { cycles })), _) => {
            format!("Relay: oscillating, {cycles} cycles")
        }
        (_, ProcedureKind::Relay) => "Relay: waiting for the loop to rest".to_owned(),
        (_, ProcedureKind::StepTest) => "Measuring the loop at rest…".to_owned(),
        (_, ProcedureKind::FrequencyResponse) => "Starting…".to_owned(),
    };
    ui.label(text);
}
