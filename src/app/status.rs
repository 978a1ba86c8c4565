//! The status bar: connection, device, traffic rates, decode errors, lost
//! samples, round-trip time, and for a device timed by the host how far
//! its samples' times can be trusted.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::device::session::{ConnectionState, DeviceSession};
use crate::protocol::adapter::Protocol;
use crate::protocol::host_clock::HostTiming;

/// What frames cost over the last second: eframe's CPU time per frame
/// (painting included, when the integration measures it) and the part
/// spent in the app's own UI code.
#[derive(Default)]
pub struct FrameTimes {
    /// (when, frame CPU seconds, UI seconds), oldest first.
    recent: VecDeque<(Instant, Option<f32>, f32)>,
}

impl FrameTimes {
    pub fn record(&mut self, frame_cpu_s: Option<f32>, ui_s: f32) {
        let now = Instant::now();
        self.recent.push_back((now, frame_cpu_s, ui_s));
        while self
            .recent
            .front()
            .is_some_and(|(at, _, _)| now - *at > Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
    }

    fn ui(&self, ui: &mut egui::Ui) {
        if self.recent.is_empty() {
            return;
        }
        let count = self.recent.len() as f32;
        let ui_ms = self.recent.iter().map(|(_, _, ui_s)| ui_s * 1e3);
        let frame_ms: Vec<f32> = self
            .recent
            .iter()
            .filter_map(|(_, cpu_s, _)| cpu_s.map(|s| s * 1e3))
            .collect();
        let mut text = format!(
            "ui {:.2} ms (max {:.2}), {count} frames/s",
            ui_ms.clone().sum::<f32>() / count,
            ui_ms.fold(0.0, f32::max)
        );
        if !frame_ms.is_empty() {
            let mean = frame_ms.iter().sum::<f32>() / frame_ms.len() as f32;
            text = format!("frame {mean:.1} ms, {text}");
        }
        ui.label(text).on_hover_text(
            "per frame over the last second: CPU time of the whole frame (painting included), \
             and of the app's own UI code; and how many frames were drawn in that second (a \
             still view draws only on input, on news from the device and every 10 s for the stream)",
        );
    }
}

/// The bar: one line, whatever the window's width (what does not fit
/// scrolls with the wheel); the link's health first, the frame costs last.
pub fn ui(ui: &mut egui::Ui, session: Option<&mut DeviceSession>, frame_times: &FrameTimes) {
    egui::ScrollArea::horizontal()
        .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysHidden)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                session_ui(ui, session);
                ui.separator();
                frame_times.ui(ui);
            });
        });
}

fn session_ui(ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
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
            // The native protocol goes without saying; another firmware
            // is named, since auto-detection chose it.
            let device = match session.protocol {
                Some(protocol) if protocol != Protocol::Native => {
                    format!("{device}, {protocol}")
                }
                _ => device,
            };
            ui.label(format!(
                "connected: {device} on {}",
                session.target().name()
            ));
        }
        ConnectionState::Reconnecting { lost, .. } => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("reconnecting to {}… ({lost})", session.target().name()),
            );
        }
        ConnectionState::Failed(error) => {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
    }
    if let Some(note) = &session.reconnect_note {
        ui.separator();
        ui.label(note);
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
    if let Some(saturated) = session.saturation() {
        ui.separator();
        ui.colored_label(ui.visuals().warn_fg_color, saturated.sentence())
            .on_hover_text(
                "the device streams more than the link carries and drops samples; \
                 the connection bar offers the divider that fits",
            );
    }
    if session.dropped_samples > 0 {
        ui.separator();
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("dropped (app behind): {}", session.dropped_samples),
        )
        .on_hover_text(
            "samples the link received faster than the app could take them in, \
             dropped so the window stays responsive",
        );
    }
    if let Some(timing) = health.host_timing {
        ui.separator();
        host_timing(ui, timing);
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
}

/// "timed by the host ±X ms", with what it means on hover: the device
/// sends no time of its own, so its samples are placed by when they
/// arrived (see `protocol::host_clock`).
fn host_timing(ui: &mut egui::Ui, timing: HostTiming) {
    let text = format!("timed by the host ±{:.1} ms", timing.uncertainty_s * 1e3);
    let gaps = match timing.gaps {
        0 => String::new(),
        1 => "\nOne silence of the device's is a gap in time.".to_owned(),
        n => format!("\n{n} silences of the device's are gaps in time."),
    };
    ui.label(text).on_hover_text(format!(
        "This device sends no time of its own: its samples are timed by their arrival \
         on the host (one every {:.3} ms). A sample's time may be off by about ±{:.1} ms \
         from when the device measured it: the 95th percentile of how late lines arrived \
         behind the line fitted to their arrivals (a sketch printing by itself), or of a \
         poll's round trip (ODrive).{gaps}",
        timing.period_s * 1e3,
        timing.uncertainty_s * 1e3,
    ));
}
