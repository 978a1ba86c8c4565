//! The connection bar: port picker (the simulated drive first, then serial
//! ports with their USB descriptions), baud rate, stream divider,
//! connect/disconnect, and the state of a lost connection being reopened
//! with the button that stops it.

use super::AppOptions;
use super::session::{ConnectionState, DeviceSession};
use crate::link::{PortEntry, PortTarget, SIM_PORT, list_ports};

/// Baud rates offered; USB CDC devices ignore the choice.
const BAUD_RATES: &[u32] = &[
    9_600, 57_600, 115_200, 230_400, 460_800, 921_600, 1_000_000, 2_000_000,
];

/// What the user asked for this frame.
pub enum Request {
    Connect { target: PortTarget, divider: u16 },
    Disconnect,
    StopReconnecting,
}

pub struct ConnectionPanel {
    ports: Vec<PortEntry>,
    selected: String,
    baud: u32,
    divider: u16,
    port_error: Option<String>,
}

impl ConnectionPanel {
    pub fn new(options: &AppOptions, ports: Vec<PortEntry>, port_error: Option<String>) -> Self {
        let (selected, baud) = match &options.target {
            PortTarget::Sim => (SIM_PORT.to_owned(), 115_200),
            PortTarget::Serial { path, baud, .. } => (path.clone(), *baud),
        };
        Self {
            ports,
            selected,
            baud,
            divider: options.stream_divider,
            port_error,
        }
    }

    fn describe(&self, name: &str) -> String {
        match self.ports.iter().find(|p| p.name == name) {
            Some(port) if port.name == SIM_PORT => port.description.clone(),
            Some(port) => format!("{} — {}", port.name, port.description),
            None => name.to_owned(),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&DeviceSession>) -> Option<Request> {
        let mut request = None;
        egui::ComboBox::from_label("Port")
            .selected_text(self.describe(&self.selected))
            .width(280.0)
            .show_ui(ui, |ui| {
                for port in &self.ports {
                    let text = if port.name == SIM_PORT {
                        port.description.clone()
                    } else {
                        format!("{} — {}", port.name, port.description)
                    };
                    ui.selectable_value(&mut self.selected, port.name.clone(), text);
                }
            });
        if ui
            .button("Refresh ports")
            .on_hover_text("List serial ports again")
            .clicked()
        {
            let (ports, error) = list_ports();
            self.ports = ports;
            self.port_error = error;
        }
        let is_sim = self.selected == SIM_PORT;
        ui.add_enabled_ui(!is_sim, |ui| {
            egui::ComboBox::from_label("Baud")
                .selected_text(self.baud.to_string())
                .show_ui(ui, |ui| {
                    for &rate in BAUD_RATES {
                        ui.selectable_value(&mut self.baud, rate, rate.to_string());
                    }
                });
        });
        let divider_label = ui.label("Divider");
        ui.add(egui::DragValue::new(&mut self.divider).range(1..=1000))
            .labelled_by(divider_label.id)
            .on_hover_text("Stream every Nth control-loop sample (1 = full rate)");

        let connected_here = session.is_some_and(|s| s.is_live());
        if connected_here {
            if ui.button("Disconnect").clicked() {
                request = Some(Request::Disconnect);
            }
        } else if ui.button("Connect").clicked() {
            request = Some(Request::Connect {
                target: PortTarget::parse(&self.selected, self.baud),
                divider: self.divider,
            });
        }
        match session.map(|s| &s.state) {
            Some(ConnectionState::Connecting) => {
                ui.spinner();
                ui.label("connecting…");
            }
            Some(ConnectionState::Reconnecting {
                attempts,
                last_error,
                ..
            }) => {
                ui.spinner();
                let mut text = format!("reconnecting… (attempt {attempts}");
                if let Some(error) = last_error {
                    text.push_str(&format!(": {error}"));
                }
                text.push(')');
                ui.colored_label(ui.visuals().warn_fg_color, text)
                    .on_hover_text(
                        "The connection was lost; the port is opened again every 0.5 s. \
                         The output stays off when the device is back.",
                    );
                if ui.button("Stop reconnecting").clicked() {
                    request = Some(Request::StopReconnecting);
                }
            }
            Some(ConnectionState::Failed(error)) => {
                ui.colored_label(ui.visuals().error_fg_color, error.to_string());
            }
            _ => {}
        }
        if let Some(error) = &self.port_error {
            ui.colored_label(ui.visuals().warn_fg_color, error);
        }
        request
    }
}
