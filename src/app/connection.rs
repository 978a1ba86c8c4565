//! The connection bar: the port, typed (any path: a pty,
//! `/dev/serial/by-id/…`, `replay:FILE`) or picked from a list (the
//! simulated drive and the firmware emulators first, then serial ports with
//! their USB descriptions, then the ports used lately), a recording to
//! replay through a file dialog, baud rate, protocol (and an ODrive's axis), the DTR and RTS lines
//! (a serial port only), stream divider, connect/disconnect, *Add device*
//! (the port as one more device beside those connected), and the state
//! of a lost connection being reopened with the button that stops it. A
//! failed connection says why on a line of its own under the bar.

use serde::{Deserialize, Serialize};

use super::AppOptions;
use super::file_dialog::{Ask, FileDialog};
use crate::device::session::{ConnectionState, DeviceSession};
use crate::link::{
    ControlLines, PortEntry, PortTarget, REPLAY_PREFIX, SIM_PORT, emulator_port, list_ports,
};
use crate::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};

/// Baud rates offered; USB CDC devices ignore the choice.
const BAUD_RATES: &[u32] = &[
    9_600, 57_600, 115_200, 230_400, 460_800, 921_600, 1_000_000, 2_000_000,
];

/// How many ports used lately are remembered.
const RECENT: usize = 8;

/// The connection settings remembered between launches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionSettings {
    /// The port last connected to, as typed.
    pub port: String,
    /// Its baud rate.
    pub baud: u32,
    /// Its protocol, as `--protocol` spells it.
    pub protocol: String,
    /// Raise DTR on opening.
    pub dtr: bool,
    /// Raise RTS on opening.
    pub rts: bool,
    /// Stream every Nth sample.
    pub divider: u16,
    /// The ports connected to lately, newest first.
    pub recent: Vec<String>,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        let lines = ControlLines::default();
        Self {
            port: SIM_PORT.to_owned(),
            baud: 115_200,
            protocol: ProtocolChoice::Auto.key().to_owned(),
            dtr: lines.dtr,
            rts: lines.rts,
            divider: 1,
            recent: Vec::new(),
        }
    }
}

/// What the user asked for this frame.
pub enum Request {
    /// Connect in place of the selected device (or as the first).
    Connect {
        target: PortTarget,
        divider: u16,
    },
    /// Connect as one more device, beside those connected.
    AddDevice {
        target: PortTarget,
        divider: u16,
    },
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
    /// Ports connected to lately, newest first.
    recent: Vec<String>,
    /// The *Replay a recording…* dialog.
    dialog: FileDialog,
    /// A replay's pace, times the recorded one.
    replay_speed: f64,
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
            recent: Vec::new(),
            dialog: FileDialog::default(),
            replay_speed: match &options.target {
                PortTarget::Replay { speed, .. } => *speed,
                _ => 1.0,
            },
        }
    }

    /// What to remember of this panel.
    pub fn settings(&self) -> ConnectionSettings {
        ConnectionSettings {
            port: self.selected.clone(),
            baud: self.baud,
            protocol: self.protocol.key().to_owned(),
            dtr: self.lines.dtr,
            rts: self.lines.rts,
            divider: self.divider,
            recent: self.recent.clone(),
        }
    }

    /// Takes the ports used lately from `settings`, and, when `port_too`,
    /// the port and its settings as well (no port was asked for at start).
    pub fn restore(&mut self, settings: &ConnectionSettings, port_too: bool) {
        self.recent = settings.recent.iter().take(RECENT).cloned().collect();
        if port_too && !settings.port.trim().is_empty() {
            self.selected = settings.port.clone();
            self.baud = settings.baud;
            self.protocol = settings.protocol.parse().unwrap_or_default();
            self.lines = ControlLines {
                dtr: settings.dtr,
                rts: settings.rts,
            };
            self.divider = settings.divider.max(1);
        }
    }

    /// The target the panel's settings name.
    pub fn target(&self) -> PortTarget {
        PortTarget::parse(self.selected.trim(), self.baud)
            .speaking(self.protocol, self.adapter_settings.clone())
            .with_control_lines(self.lines)
            .with_replay_speed(self.replay_speed)
    }

    /// What the command line told the adapters, with the ODrive axis
    /// chosen.
    pub fn adapter_settings(&self) -> &AdapterSettings {
        &self.adapter_settings
    }

    /// The stream divider chosen.
    pub fn divider(&self) -> u16 {
        self.divider
    }

    /// Whether a port is typed or picked.
    fn has_port(&self) -> bool {
        !self.selected.trim().is_empty()
    }

    /// The port chosen, noted as used lately, with the divider.
    fn chosen(&mut self) -> (PortTarget, u16) {
        let port = self.selected.trim().to_owned();
        self.remember(&port);
        (self.target(), self.divider)
    }

    /// Notes `port` as used lately.
    fn remember(&mut self, port: &str) {
        self.recent.retain(|p| p != port);
        self.recent.insert(0, port.to_owned());
        self.recent.truncate(RECENT);
    }

    fn describe(&self, name: &str) -> String {
        match self.ports.iter().find(|p| p.name == name) {
            Some(port) if port.name == SIM_PORT => port.description.clone(),
            Some(port) => format!("{} — {}", port.name, port.description),
            None => name.to_owned(),
        }
    }

    /// The SimpleFOC motor's Commander letter: each motor of a sketch is a
    /// device, and the motors of one port share it.
    fn motor_letter_ui(&mut self, ui: &mut egui::Ui) {
        let letter = &mut self.adapter_settings.simplefoc.letter;
        let mut text = letter.to_string();
        let label = ui.label("Motor letter");
        let edited = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .char_limit(2)
                    .desired_width(30.0),
            )
            .labelled_by(label.id)
            .on_hover_text(
                "The motor's letter in the sketch's Commander (command.add('M', doMotor)); the \
                 motors of one sketch are devices sharing its port (Add device with another \
                 letter)",
            )
            .changed();
        // The letter typed last wins: typing N after M gives N.
        if edited && let Some(typed) = text.chars().rev().find(char::is_ascii_alphabetic) {
            *letter = typed;
        }
    }

    /// The protocol's combo box, labelled "Protocol" for assistive tools.
    fn protocol_ui(&mut self, ui: &mut egui::Ui) {
        egui::ComboBox::from_id_salt("protocol")
            // Named in the box, not beside it: a box with its label beside
            // it is one block a narrow bar cannot move to the next row.
            .selected_text(format!("Protocol: {}", protocol_short(self.protocol)))
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
            )
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "Protocol"));
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&DeviceSession>) -> Option<Request> {
        let mut request = None;
        if let Some(path) = self.dialog.take() {
            self.selected = format!("{REPLAY_PREFIX}{}", path.display());
        }
        // On a narrow window a control that does not fit goes to the next
        // row whole, rather than its text wrapping a letter a line.
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
        let port_label = ui.label("Port");
        ui.add(
            egui::TextEdit::singleline(&mut self.selected)
                .desired_width(170.0)
                .hint_text("sim, /dev/ttyACM0, COM3, replay:FILE"),
        )
        .labelled_by(port_label.id)
        .on_hover_text(self.describe(&self.selected));
        egui::ComboBox::from_id_salt("port list")
            .selected_text("")
            .width(8.0)
            .show_ui(ui, |ui| {
                ui.set_min_width(320.0);
                for port in &self.ports {
                    let text = if port.name == SIM_PORT {
                        port.description.clone()
                    } else {
                        format!("{} — {}", port.name, port.description)
                    };
                    ui.selectable_value(&mut self.selected, port.name.clone(), text);
                }
                if !self.recent.is_empty() {
                    ui.separator();
                    ui.weak("Used lately");
                    for port in &self.recent {
                        ui.selectable_value(&mut self.selected, port.clone(), port.as_str());
                    }
                }
            })
            .response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "Choose port"));
        if ui
            .add_enabled(!self.dialog.is_open(), egui::Button::new("Replay…"))
            .on_hover_text("Play a recording (CSV or Parquet) as if it were a device")
            .clicked()
        {
            self.dialog.open(
                Ask::Open {
                    title: "Replay a recording",
                    filter: ("Recordings", &["csv", "parquet"]),
                },
                None,
                ui.ctx(),
            );
        }
        if ui
            .button("Refresh")
            .on_hover_text("List serial ports again")
            .clicked()
        {
            let (ports, error) = list_ports();
            self.ports = ports;
            self.port_error = error;
        }
        let is_sim = self.selected.trim() == SIM_PORT;
        if self.selected.trim().starts_with(REPLAY_PREFIX) {
            let label = ui.label("Speed");
            ui.add(
                egui::DragValue::new(&mut self.replay_speed)
                    .range(0.1..=1000.0)
                    .speed(0.1)
                    .prefix("×"),
            )
            .labelled_by(label.id)
            .on_hover_text("Play the recording this many times faster; applies on Connect");
        }
        let is_serial = matches!(
            PortTarget::parse(self.selected.trim(), self.baud),
            PortTarget::Serial { .. }
        );
        // Only a serial port has a baud rate and the lines: shown for one
        // alone, so the simulated drive and the emulators keep the bar short.
        if is_serial {
            egui::ComboBox::from_label("Baud")
                .selected_text(self.baud.to_string())
                .show_ui(ui, |ui| {
                    for &rate in BAUD_RATES {
                        ui.selectable_value(&mut self.baud, rate, rate.to_string());
                    }
                });
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
        // Disabled through a scope only on the simulated drive, whose bar is
        // short: a scope is one block that would not move to the next row.
        if is_sim {
            ui.add_enabled_ui(false, |ui| self.protocol_ui(ui));
        } else {
            self.protocol_ui(ui);
        }
        if self.protocol == ProtocolChoice::Only(Protocol::Odrive) {
            // Each axis is a device: connect one, then *Add device* the
            // other over the same port.
            let axis = &mut self.adapter_settings.odrive.axis;
            egui::ComboBox::from_id_salt("odrive axis")
                .selected_text(format!("ODrive axis{axis}"))
                .show_ui(ui, |ui| {
                    for choice in 0..=1 {
                        ui.selectable_value(axis, choice, format!("axis{choice}"));
                    }
                })
                .response
                .on_hover_text(
                    "The axis this connection tunes; both axes of one board are two \
                     devices sharing its port (Add device with the other axis)",
                )
                .widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::ComboBox, true, "ODrive axis")
                });
        }
        if self.protocol == ProtocolChoice::Only(Protocol::Native) {
            // A device naming several axes by prefix: one of them alone.
            let mut text = self
                .adapter_settings
                .native_axis
                .clone()
                .unwrap_or_default();
            let label = ui.label("Axis");
            let edited = ui
                .add(
                    egui::TextEdit::singleline(&mut text)
                        .desired_width(40.0)
                        .hint_text("all"),
                )
                .labelled_by(label.id)
                .on_hover_text(
                    "One axis of a device that names several by prefix (x of x.position), as \
                     a device of its own; empty for the whole device",
                )
                .changed();
            if edited {
                let axis = text.trim();
                self.adapter_settings.native_axis = (!axis.is_empty()).then(|| axis.to_owned());
            }
        }
        if self.protocol == ProtocolChoice::Only(Protocol::SimpleFoc) {
            self.motor_letter_ui(ui);
        }
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
            // The new device is shown once added: switching panes in the
            // middle of a procedure would hand them another's samples.
            let busy = session.is_some_and(DeviceSession::procedure_running);
            let add = ui
                .add_enabled(self.has_port() && !busy, egui::Button::new("Add device"))
                .on_hover_text(
                    "Connect the port above as one more device; those connected stay connected",
                )
                .on_disabled_hover_text("A procedure runs on the shown device");
            if add.clicked() {
                let (target, divider) = self.chosen();
                request = Some(Request::AddDevice { target, divider });
            }
        } else if ui
            .add_enabled(self.has_port(), egui::Button::new("Connect"))
            .clicked()
        {
            let (target, divider) = self.chosen();
            request = Some(Request::Connect { target, divider });
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
            _ => {}
        }
        request
    }

    /// What went wrong, on a line of its own under the bar: a failed
    /// connection, or ports that could not be listed.
    pub fn problems_ui(&self, ui: &mut egui::Ui, session: Option<&DeviceSession>) {
        if let Some(ConnectionState::Failed(error)) = session.map(|s| &s.state) {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
        if let Some(error) = &self.port_error {
            ui.colored_label(ui.visuals().warn_fg_color, error);
        }
    }

    /// Whether [`Self::problems_ui`] has anything to say.
    pub fn has_problems(&self, session: Option<&DeviceSession>) -> bool {
        self.port_error.is_some()
            || matches!(session.map(|s| &s.state), Some(ConnectionState::Failed(_)))
    }
}

/// The protocol as the closed combo box shows it: short, so the bar fits a
/// narrow window (the list shows each in full).
fn protocol_short(choice: ProtocolChoice) -> &'static str {
    match choice {
        ProtocolChoice::Auto => "Auto",
        ProtocolChoice::Only(Protocol::Native) => "Native",
        ProtocolChoice::Only(Protocol::Lines) => "Text lines",
        ProtocolChoice::Only(Protocol::SimpleFoc) => "SimpleFOC",
        ProtocolChoice::Only(Protocol::Odrive) => "ODrive",
    }
}

fn protocol_text(choice: ProtocolChoice) -> String {
    match choice {
        ProtocolChoice::Auto => "Auto".to_owned(),
        ProtocolChoice::Only(protocol) => protocol.title().to_owned(),
    }
}
