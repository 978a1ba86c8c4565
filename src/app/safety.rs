//! Safety controls, always in view: the emergency stop (also the Esc key),
//! which sends ENABLE 0 at once, and the output enable toggle.

use super::session::DeviceSession;

/// Red of the emergency stop button.
const STOP_RED: egui::Color32 = egui::Color32::from_rgb(200, 30, 30);

pub fn ui(ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
    let Some(session) = session else {
        ui.label("no device");
        return;
    };
    let connected = session.is_connected();
    let stop = egui::Button::new(
        egui::RichText::new("EMERGENCY STOP")
            .size(20.0)
            .strong()
            .color(egui::Color32::WHITE),
    )
    .fill(STOP_RED)
    .min_size(egui::vec2(200.0, 40.0));
    if ui
        .add_enabled(connected, stop)
        .on_hover_text("Disable the drive's output now (Esc)")
        .clicked()
    {
        session.emergency_stop();
    }

    let enabled = session.output_enabled();
    let (text, turn_on) = if enabled {
        ("Disable output", false)
    } else {
        ("Enable output", true)
    };
    if ui.add_enabled(connected, egui::Button::new(text)).clicked() {
        session.set_enabled(turn_on);
    }
    let state = match session.status {
        Some(flags) if flags.fault() => egui::RichText::new("DRIVE FAULT")
            .strong()
            .color(ui.visuals().error_fg_color),
        Some(flags) if flags.enabled() => egui::RichText::new("OUTPUT ON")
            .strong()
            .color(egui::Color32::from_rgb(230, 160, 0)),
        Some(flags) if flags.watchdog_tripped() => {
            egui::RichText::new("output off (watchdog)").color(ui.visuals().warn_fg_color)
        }
        Some(_) => egui::RichText::new("output off"),
        None => egui::RichText::new("output unknown").weak(),
    };
    ui.label(state);
}
