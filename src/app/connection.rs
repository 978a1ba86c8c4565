//! The connection bar: port picker (the simulated drive and the firmware
//! emulators first, then serial ports with their USB descriptions), baud
//! rate, protocol, the DTR and RTS lines (a serial port only), stream divider,
//! connect/disconnect, and the state of a lost connection being reopened
//! with the button that stops it.

use super::AppOptions;
use crate::device::session::{ConnectionState, DeviceSession};
use crate::link::{
    ControlLines, PortEntry, PortTarget, REPLAY_PREFIX, SIM_PORT, emulator_port, list_ports,
};
use crate::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};

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
    protocol: ProtocolChoice,
    /// What the command line told the adapters (a sketch's parameters and
    /// templates, ODrive's axis …), kept for every connection.
    adapter_settings: AdapterSettings,
    /// DTR and RTS for a serial port.
    lines: ControlLines,
    divider: u16,
    port_error: Option<String>,
}

impl ConnectionPanel {
    pub fn new(options: &AppOptions, ports: Vec<PortEntry>, port_error: Option<String>) -> Self {
        let (selected, baud, protocol, adapter_settings, lines) = match &options.target {
            PortTarget::Sim => (
                SIM_PORT.to_owned(),
                115_200,
                ProtocolChoice::Auto,
                AdapterSettings::default(),
                ControlLines::default(),
            ),
            PortTarget::Emulated {
                firmware,
                protocol,
                settings,
            } => (
                emulator_port(*firmware).to_owned(),
                115_200,
                *protocol,
                settings.clone(),
                ControlLines::default(),
            ),
            PortTarget::Replay { path, .. } => (
                format!("{REPLAY_PREFIX}{path}"),
                115_200,
                ProtocolChoice::Auto,
                AdapterSettings::default(),
                ControlLines::default(),
            ),
            PortTarget::Serial {
                path,
                baud,
                protocol,
                settings,
                control,
            } => (path.clone(), *baud, *protocol, settings.clone(), *control),
        };
        Self {
            ports,
            selected,
            baud,
            protocol,
            adapter_settings,
            lines,
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
        let is_serial = matches!(
            PortTarget::parse(&self.selected, self.baud),
            PortTarget::Serial { .. }
        );
        ui.add_enabled_ui(is_serial, |ui| {
            egui::ComboBox::from_label("Baud")
                .selected_text(self.baud.to_string())
                .show_ui(ui, |ui| {
                    for &rate in BAUD_RATES {
                        ui.selectable_value(&mut self.baud, rate, rate.to_string());
                    }
                });
        });
        // Only a serial port has the lines: shown for one alone, so the
        // simulated drive and the emulators keep the bar short.
        if is_serial {
            ui.checkbox(&mut self.lines.dtr, "DTR").on_hover_text(
                "Raise Data Terminal Ready on opening. Most boards wait for it \
                 (native USB: Leonardo, RP2040, ESP32-S3); untick for a board \
                 that resets or stops while it is up",
            );
            ui.checkbox(&mut self.lines.rts, "RTS").on_hover_text(
                "Raise Request To Send on opening; untick for a board that \
                 resets or stops while it is up",
            );
        }
        ui.add_enabled_ui(!is_sim, |ui| {
            egui::ComboBox::from_label("Protocol")
                .selected_text(protocol_text(self.protocol))
                .show_ui(ui, |ui| {
                    let choices = std::iter::once(ProtocolChoice::Auto)
                        .chain(Protocol::ALL.into_iter().map(ProtocolChoice::Only));
                    for choice in choices {
                        ui.selectable_value(&mut self.protocol, choice, protocol_text(choice));
                    }
                })
                .response
                .on_hover_text(
                    "The firmware's wire format; Auto listens first, then tries each \
                     protocol's read-only handshake",
                );
        });
        let divider_label = ui.label("Divider");
        ui.add(egui::DragValue::new(&mut self.divider).range(1..=1000))
            .labelled_by(divider_label.id)
            .on_hover_text("Stream every Nth control-loop sample (1 = full rate)");

        // A saturated link: reconnecting at the divider that fits is one
        // click (the divider applies from the stream's start).
        if let Some(session) = session
            && let Some(saturated) = session.saturation()
            && ui
                .button(format!("Use divider {}", saturated.divider))
                .on_hover_text(saturated.sentence())
                .clicked()
        {
            self.divider = saturated.divider;
            request = Some(Request::Connect {
                target: session.target().clone(),
                divider: self.divider,
            });
        }

        let connected_here = session.is_some_and(|s| s.is_live());
        if connected_here {
            if ui.button("Disconnect").clicked() {
                request = Some(Request::Disconnect);
            }
        } else if ui.button("Connect").clicked() {
            request = Some(Request::Connect {
                target: PortTarget::parse(&self.selected, self.baud)
                    .speaking(self.protocol, self.adapter_settings.clone())
                    .with_control_lines(self.lines),
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

fn protocol_text(choice: ProtocolChoice) -> String {
    match choice {
        ProtocolChoice::Auto => "Auto".to_owned(),
        ProtocolChoice::Only(protocol) => protocol.title().to_owned(),
    }
}
