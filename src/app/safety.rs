//! Safety controls, always in view: the emergency stop (also the Esc key),
//! which sends ENABLE 0 at once to every connected device, and the output
//! enable toggle of the selected one; and the red banner for a drive fault
//! or watchdog trip. The guard on parameter writes is
//! [`crate::tuning::write_guard`].
//!
//! A stop button anywhere (the top bar, a dialog over it) only asks for the
//! stop ([`ask_stop`]); the app takes the ask at the end of the same frame
//! ([`take_stop`]) and stops every device, so a dialog that holds one
//! device's session still stops them all.

use crate::device::session::DeviceSession;
use crate::device::{Devices, StopSource};
use crate::protocol::StatusFlags;

/// Red of the emergency stop button.
const STOP_RED: egui::Color32 = egui::Color32::from_rgb(200, 30, 30);

/// Where a stop asked for this frame waits in egui's memory.
fn stop_id() -> egui::Id {
    egui::Id::unique("emergency stop asked")
}

/// Asks for the emergency stop of every device, done by the app before
/// this frame ends.
pub fn ask_stop(ctx: &egui::Context, by: StopSource) {
    ctx.data_mut(|d| d.insert_temp(stop_id(), by));
}

/// The stop asked for this frame, once.
pub fn take_stop(ctx: &egui::Context) -> Option<StopSource> {
    ctx.data_mut(|d| {
        let by = d.get_temp::<StopSource>(stop_id());
        d.remove::<StopSource>(stop_id());
        by
    })
}

/// The stop for every device, then the selected device's output toggle
/// and state.
pub fn ui(ui: &mut egui::Ui, devices: &mut Devices) {
    if devices.is_empty() {
        ui.label("no device");
        return;
    }
    stop_button(ui, devices.any_connected());
    let Some(session) = devices.selected_mut() else {
        return;
    };
    let connected = session.is_connected();

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

/// The red EMERGENCY STOP button: ENABLE 0 at once to every device,
/// `enabled` while one is connected. A dialog shows one too, since its
/// backdrop covers the one in the top bar.
pub fn stop_button(ui: &mut egui::Ui, enabled: bool) {
    let stop = egui::Button::new(
        egui::RichText::new("EMERGENCY STOP")
            .size(20.0)
            .strong()
            .color(egui::Color32::WHITE),
    )
    .fill(STOP_RED)
    .min_size(egui::vec2(200.0, 40.0));
    if ui
        .add_enabled(enabled, stop)
        .on_hover_text("Disable every connected drive's output now (Esc)")
        .clicked()
    {
        ask_stop(ui.ctx(), StopSource::Button);
    }
}

/// The red banner across the top for a fault or watchdog trip, shown
/// until the user acknowledges it; a new kind of trip shows it again.
#[derive(Debug, Default)]
pub struct FaultBanner {
    acknowledged: u8,
}

const TRIP_FLAGS: u8 = StatusFlags::FAULT | StatusFlags::WATCHDOG;

impl FaultBanner {
    /// Draws the banner as a top panel when there is something to say.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&DeviceSession>) {
        let trips = session.and_then(|s| s.status).map_or(0, |f| f.0) & TRIP_FLAGS;
        if trips == 0 {
            self.acknowledged = 0;
            return;
        }
        if trips & !self.acknowledged == 0 {
            return;
        }
        let flags = StatusFlags(trips);
        let mut what = Vec::new();
        if flags.fault() {
            what.push("DRIVE FAULT: the device reports a fault and has disabled its output.");
        }
        if flags.watchdog_tripped() {
            what.push(
                "WATCHDOG TRIP: the device heard nothing from the app within its watchdog time and disabled its output.",
            );
        }
        egui::Panel::top("fault banner")
            .frame(egui::Frame::new().fill(STOP_RED).inner_margin(8.0))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(
                        egui::RichText::new(what.join("  "))
                            .size(18.0)
                            .strong()
                            .color(egui::Color32::WHITE),
                    );
                    if ui.button("Acknowledge").clicked() {
                        self.acknowledged = trips;
                    }
                });
            });
    }
}
