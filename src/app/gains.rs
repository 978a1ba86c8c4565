//! One slider per parameter the device declares, grouped by the dotted
//! prefix of its name, with numeric entry, the device's limits and unit, and
//! the state of the last write (pending, confirmed, clamped, refused).

use super::session::{DeviceSession, ParamView, WriteState};

pub fn ui(ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
    ui.heading("Parameters");
    let Some(session) = session else {
        ui.label("Connect a device to see its parameters.");
        return;
    };
    if session.params.is_empty() {
        ui.label("Waiting for the device to describe itself…");
        return;
    }
    let mut writes = Vec::new();
    egui::ScrollArea::vertical().show(ui, |ui| {
        let mut group: Option<&str> = None;
        for (index, view) in session.params.iter().enumerate() {
            let prefix = view.info.name.split_once('.').map(|(g, _)| g);
            if prefix != group && prefix.is_some() {
                ui.add_space(6.0);
                ui.strong(prefix.unwrap_or_default());
            }
            group = prefix;
            if let Some(value) = param_row(ui, view) {
                writes.push((index as u8, value));
            }
        }
    });
    for (index, value) in writes {
        session.write_param(index, value);
    }
}

/// Draws one parameter; returns a value to write when the user changed it.
fn param_row(ui: &mut egui::Ui, view: &ParamView) -> Option<f32> {
    let info = &view.info;
    let mut changed = None;
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
        let mut value = view.shown_value();
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
        if response.changed() {
            changed = Some(value);
        }
        write_state_badge(ui, &view.write, &info.unit, info.value);
    });
    changed
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
