//! The status bar: connection, device, traffic rates, decode errors, lost
//! samples and round-trip time.

use super::session::{ConnectionState, DeviceSession};

/// `frame_ms`: the app's CPU time per frame, mean and worst over the last
/// second, when known.
pub fn ui(ui: &mut egui::Ui, session: Option<&mut DeviceSession>, frame_ms: Option<(f32, f32)>) {
    ui.horizontal_wrapped(|ui| {
        if let Some((mean, worst)) = frame_ms {
            ui.label(format!("frame {mean:.1} ms (max {worst:.1})"))
                .on_hover_text("the app's CPU time per frame over the last second");
            ui.separator();
        }
        let Some(session) = session else {
            ui.label("disconnected");
            return;
        };
        match &session.state {
            ConnectionState::Connecting => {
                ui.label(format!("connecting to {}…", session.target().name()));
            }
            ConnectionState::Connected => {
                let device = session
                    .info
                    .as_ref()
                    .map(|i| format!("{} ({})", i.name, i.firmware))
                    .unwrap_or_default();
                ui.label(format!(
                    "connected: {device} on {}",
                    session.target().name()
                ));
            }
            ConnectionState::Failed(error) => {
                ui.colored_label(ui.visuals().error_fg_color, error.to_string());
            }
        }
        let Some((health, samples_per_s, bytes_per_s)) = session.health() else {
            return;
        };
        ui.separator();
        ui.label(format!("{samples_per_s:.0} samples/s"));
        ui.separator();
        ui.label(format!("{:.1} kB/s", bytes_per_s / 1000.0));
        ui.separator();
        let errors = health.framing_errors + health.crc_errors + health.message_errors;
        let error_text = format!(
            "errors: framing {} · CRC {} · message {}",
            health.framing_errors, health.crc_errors, health.message_errors
        );
        if errors > 0 {
            ui.colored_label(ui.visuals().warn_fg_color, error_text);
        } else {
            ui.label(error_text);
        }
        ui.separator();
        let lost = format!("lost samples: {}", health.lost_samples);
        if health.lost_samples > 0 {
            ui.colored_label(ui.visuals().warn_fg_color, lost);
        } else {
            ui.label(lost);
        }
        ui.separator();
        match health.rtt_ms {
            Some(rtt) => ui.label(format!("RTT {rtt:.2} ms")),
            None => ui.label("RTT –"),
        };
        if session.is_connected() && health.silent_s > 1.0 {
            ui.separator();
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("device silent for {:.0} s", health.silent_s),
            );
        }
        if let Some((_, text)) = &session.last_text {
            ui.separator();
            ui.label(format!("device: {text}"));
        }
    });
}
