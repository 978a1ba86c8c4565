//! The device list under the connection bar, shown once two or more
//! devices are connected: one row per device with its colour, its number,
//! its label (editable), where its connection stands, its output, how
//! well its clock maps onto the host's, and
//! *Select* (*Shown* on the selected row) and *Disconnect*. Each control is named after the device's
//! number (`Select device 2`), which a rename does not change. A row of
//! one axis of an ODrive on a serial port has *Add axisN* for the board's
//! other axis while it is not connected (named `Add axis1 of LABEL`), and
//! a SimpleFOC motor *Add motor N* for each other motor its sketch names;
//! a lone device gets those buttons on a row of its own, so the list
//! starts from it. And the app's side of the connection requests: connect
//! in place of the selected device, add a device beside the others,
//! disconnect one.

use std::collections::BTreeMap;

use super::App;
use super::connection::Request;
use crate::device::session::{ConnectionState, DeviceSession};
use crate::device::{DeviceId, Devices};
use crate::link::PortTarget;
use crate::protocol::adapter::{Protocol, ProtocolChoice};

/// What the user asked of a row this frame.
enum RowRequest {
    Select(DeviceId),
    Disconnect(DeviceId),
    Rename(DeviceId, String),
    /// Connect another axis of a board's port (an ODrive's other axis, a
    /// SimpleFOC sketch's other motor) as a new device.
    AddAxis(PortTarget, u16),
    /// Connect each axis of a native device in place of the whole device.
    SplitAxes(DeviceId, Vec<PortTarget>, u16),
}

/// The axes a native device on a serial port names (docs/PROTOCOL.md,
/// "Several axes"), each as a target of its own; `None` for a device
/// that names none, or one already connected as an axis.
fn axis_targets(session: &DeviceSession) -> Option<(Vec<String>, Vec<PortTarget>)> {
    let target = session.target();
    let PortTarget::Serial { .. } = target else {
        return None;
    };
    let (_, settings) = target.protocol();
    if session.protocol != Some(Protocol::Native) || settings.native_axis.is_some() {
        return None;
    }
    let info = session.info.as_ref()?;
    let channels = info.channels.iter().map(|c| {
        (
            c.name.as_str(),
            c.role == crate::protocol::ChannelRole::Feedback,
        )
    });
    let params = info.params.iter().map(|p| p.name.as_str());
    let axes = crate::protocol::native::axes::axes(channels, params);
    if axes.is_empty() {
        return None;
    }
    let names: Vec<String> = axes.into_iter().map(|a| a.name).collect();
    let targets = names
        .iter()
        .map(|axis| {
            let mut settings = settings.clone();
            settings.native_axis = Some(axis.clone());
            target
                .clone()
                .speaking(ProtocolChoice::Only(Protocol::Native), settings)
        })
        .collect();
    Some((names, targets))
}

/// *Connect axes x, y* for a native device that names several: each axis
/// a device of its own over the same port, in place of the whole device.
fn split_axes_ui(ui: &mut egui::Ui, device: &crate::device::Device) -> Option<RowRequest> {
    let (names, targets) = axis_targets(&device.session)?;
    let text = format!("Connect axes {}", names.join(", "));
    ui.small_button(&text)
        .accessible_name(format!("{text} of {}", device.label()))
        .on_hover_text(
            "Each axis as a device of its own over the same port, in place of the whole \
             device; the device has one output for all of them",
        )
        .clicked()
        .then(|| RowRequest::SplitAxes(device.id, targets, device.session.stream_divider()))
}

/// The other axis of the ODrive on `target`'s serial port, and its target
/// (same port, baud, lines and settings), when no target in `connected`
/// is that axis already; `None` for anything but an ODrive on a serial
/// port.
fn missing_axis<'a>(
    target: &PortTarget,
    mut connected: impl Iterator<Item = &'a PortTarget>,
) -> Option<(u8, PortTarget)> {
    let PortTarget::Serial {
        path,
        protocol: ProtocolChoice::Only(Protocol::Odrive),
        settings,
        ..
    } = target
    else {
        return None;
    };
    let other = 1 - settings.odrive.axis.min(1);
    let is_other = |t: &PortTarget| {
        matches!(t, PortTarget::Serial {
            path: p,
            protocol: ProtocolChoice::Only(Protocol::Odrive),
            settings: s,
            ..
        } if p == path && s.odrive.axis == other)
    };
    if connected.any(is_other) {
        return None;
    }
    let mut settings = settings.clone();
    settings.odrive.axis = other;
    let target = target
        .clone()
        .speaking(ProtocolChoice::Only(Protocol::Odrive), settings);
    Some((other, target))
}

/// The other motors of the SimpleFOC sketch on `target`'s serial port,
/// as its description names them (`others`), that no target in
/// `connected` is already, each with its target (same port, baud, lines
/// and settings, its own letter).
fn missing_motors<'a>(
    target: &PortTarget,
    others: &[String],
    connected: impl Iterator<Item = &'a PortTarget> + Clone,
) -> Vec<(char, PortTarget)> {
    let PortTarget::Serial {
        path,
        protocol: ProtocolChoice::Only(Protocol::SimpleFoc),
        settings,
        ..
    } = target
    else {
        return Vec::new();
    };
    let is_motor = |t: &PortTarget, letter: char| {
        matches!(t, PortTarget::Serial {
            path: p,
            protocol: ProtocolChoice::Only(Protocol::SimpleFoc),
            settings: s,
            ..
        } if p == path && s.simplefoc.letter == letter)
    };
    others
        .iter()
        .filter_map(|other| other.chars().next())
        .filter(|&letter| !connected.clone().any(|t| is_motor(t, letter)))
        .map(|letter| {
            let mut settings = settings.clone();
            settings.simplefoc.letter = letter;
            let target = target
                .clone()
                .speaking(ProtocolChoice::Only(Protocol::SimpleFoc), settings);
            (letter, target)
        })
        .collect()
}

/// *Add axisN* for `device`, when it is one axis of an ODrive whose other
/// axis is not connected; *Add motor N* for each motor of a SimpleFOC
/// sketch its description names and is not connected. Off while a
/// procedure runs on the shown device: the device added is shown.
fn add_axis_ui(
    ui: &mut egui::Ui,
    devices: &Devices,
    device: &crate::device::Device,
    busy: bool,
) -> Option<RowRequest> {
    let targets: Vec<&PortTarget> = devices.iter().map(|d| d.session.target()).collect();
    let mut offers: Vec<(String, &str, PortTarget)> = Vec::new();
    if let Some((axis, target)) = missing_axis(device.session.target(), targets.iter().copied()) {
        let hover = "Connect the board's other axis over the same port, as a device of its own";
        offers.push((format!("Add axis{axis}"), hover, target));
    }
    let others = device
        .session
        .info
        .as_ref()
        .map_or(&[][..], |info| &info.other_axes[..]);
    for (letter, target) in missing_motors(device.session.target(), others, targets.iter().copied())
    {
        let hover = "Connect the sketch's other motor over the same port, as a device of its own";
        offers.push((format!("Add motor {letter}"), hover, target));
    }
    let mut request = None;
    for (text, hover, target) in offers {
        let clicked = ui
            .add_enabled(!busy, egui::Button::new(&text).small())
            .accessible_name(format!("{text} of {}", device.label()))
            .on_hover_text(hover)
            .on_disabled_hover_text("A procedure runs on the shown device")
            .clicked();
        if clicked {
            request = Some(RowRequest::AddAxis(target, device.session.stream_divider()));
        }
    }
    request
}

/// The list's own state: labels being typed, kept as typed (a trailing
/// space included) until the field lets go of the keyboard, and why the
/// last one typed was refused.
#[derive(Default)]
pub struct DeviceList {
    typing: BTreeMap<DeviceId, String>,
    refused: BTreeMap<DeviceId, String>,
}

impl DeviceList {
    /// The rows, when there are two devices or more.
    fn ui(&mut self, ui: &mut egui::Ui, devices: &Devices) -> Vec<RowRequest> {
        let mut requests = Vec::new();
        if devices.len() < 2 {
            self.typing.clear();
            if let Some(device) = devices.iter().next() {
                let busy = device.session.procedure_running();
                ui.horizontal(|ui| {
                    requests.extend(add_axis_ui(ui, devices, device, busy));
                    requests.extend(split_axes_ui(ui, device));
                });
            }
            return requests;
        }
        // Switching mid-procedure would hand its panes another device's
        // samples: the procedure is finished or stopped first.
        let busy = devices.selected().is_some_and(|s| s.procedure_running());
        for device in devices.iter() {
            let id = device.id;
            let n = id.0;
            ui.horizontal(|ui| {
                let [r, g, b] = device.colour;
                let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
                ui.painter()
                    .rect_filled(rect, 3.0, egui::Color32::from_rgb(r, g, b));
                ui.label(format!("#{n}"));
                let mut text = self
                    .typing
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| device.label().to_owned());
                let field = ui
                    .add(egui::TextEdit::singleline(&mut text).desired_width(220.0))
                    .accessible_name(format!("Label of device {n}"));
                if field.changed() {
                    requests.push(RowRequest::Rename(id, text.clone()));
                    self.typing.insert(id, text);
                }
                if field.lost_focus() {
                    self.typing.remove(&id);
                    self.refused.remove(&id);
                }
                if let Some(why) = self.refused.get(&id) {
                    ui.colored_label(ui.visuals().warn_fg_color, why);
                }
                state_ui(ui, &device.session);
                let selected = devices.selected_id() == Some(id);
                let text = if selected { "Shown" } else { "Select" };
                let select = ui
                    .add_enabled(!busy || selected, egui::Button::selectable(selected, text))
                    .accessible_name(format!("Select device {n}"))
                    .on_hover_text("Show this device in the panes")
                    .on_disabled_hover_text("A procedure runs on the shown device");
                if select.clicked() && !selected {
                    requests.push(RowRequest::Select(id));
                }
                if ui
                    .small_button("Disconnect")
                    .accessible_name(format!("Disconnect device {n}"))
                    .on_hover_text("Close this device's connection (its output goes off if this app switched it on)")
                    .clicked()
                {
                    requests.push(RowRequest::Disconnect(id));
                }
                requests.extend(add_axis_ui(ui, devices, device, busy));
                requests.extend(split_axes_ui(ui, device));
                if let Some(clock) = device.session.host_alignment() {
                    ui.weak(format!("clock ±{:.1} ms", clock.spread_s * 1e3))
                        .on_hover_text(format!(
                            "The device's clock on the host's, from its samples' arrivals: {}",
                            clock.describe()
                        ));
                }
            });
        }
        requests
    }
}

/// Where a device's connection stands and its output, in a few words; a
/// lost or failed link in warning or error colour with the reason.
fn state_ui(ui: &mut egui::Ui, session: &DeviceSession) {
    let visuals = ui.visuals();
    let (text, colour) = match &session.state {
        ConnectionState::Connecting => ("connecting…".to_owned(), visuals.weak_text_color()),
        ConnectionState::Connected => ("connected".to_owned(), visuals.text_color()),
        ConnectionState::Reconnecting { lost, .. } => (
            format!("link lost, reopening: {lost}"),
            visuals.warn_fg_color,
        ),
        ConnectionState::Failed(error) => (format!("disabled: {error}"), visuals.error_fg_color),
    };
    ui.colored_label(colour, text);
    // The shown device's fault has the fault banner; another's has its
    // row and a banner of its own (`background_faults`).
    match session.status {
        Some(flags) if flags.fault() => {
            ui.colored_label(ui.visuals().error_fg_color, "output: DRIVE FAULT");
        }
        Some(flags) if flags.enabled() => {
            ui.label("output: ON");
        }
        Some(flags) if flags.watchdog_tripped() => {
            ui.colored_label(ui.visuals().warn_fg_color, "output: off (watchdog)");
        }
        Some(_) => {
            ui.weak("output: off");
        }
        None => {
            ui.weak("output: unknown");
        }
    }
}

impl App {
    /// The device list's rows, under the connection bar; what they ask is
    /// done at once.
    pub(super) fn device_list_ui(&mut self, ui: &mut egui::Ui) {
        for request in self.device_list.ui(ui, &self.devices) {
            match request {
                RowRequest::Select(id) => self.select_device(id),
                RowRequest::Disconnect(id) => self.close_device(id),
                RowRequest::AddAxis(target, divider) => {
                    self.connection_request(Request::AddDevice { target, divider });
                }
                RowRequest::SplitAxes(id, targets, divider) => {
                    // The whole device lets go of the port first: each axis
                    // then opens it through the port's router.
                    self.close_device(id);
                    for target in targets {
                        self.connection_request(Request::AddDevice { target, divider });
                    }
                }
                RowRequest::Rename(id, label) => match self.devices.set_label(id, &label) {
                    Ok(()) => {
                        self.device_list.refused.remove(&id);
                    }
                    Err(why) => {
                        self.device_list.refused.insert(id, why);
                    }
                },
            }
        }
    }

    /// Does what the connection bar asked.
    pub(super) fn connection_request(&mut self, request: Request) {
        match request {
            Request::Connect { target, divider } => {
                self.reconnect.withdraw();
                self.connect(target, divider);
            }
            Request::AddDevice { target, divider } => {
                self.reconnect.withdraw();
                let session = self.open(target, divider);
                let shown = self.devices.selected_id();
                self.devices.add(session);
                self.panes_follow_selection(shown);
            }
            Request::Disconnect => {
                if let Some(id) = self.devices.selected_id() {
                    self.close_device(id);
                }
            }
            Request::StopReconnecting => {
                if let Some(session) = self.devices.selected_mut() {
                    session.stop_reconnecting();
                }
            }
        }
    }

    /// Opens a session on `target`.
    fn open(&self, target: PortTarget, divider: u16) -> DeviceSession {
        DeviceSession::connect(target, divider, self.history_size, Some(self.wake.clone()))
    }

    /// Opens a session on `target` in place of the selected device's (or
    /// as the first device), carrying on its log and console.
    fn connect(&mut self, target: PortTarget, divider: u16) {
        let shown = self.devices.selected_id();
        let (history_size, wake) = (self.history_size, self.wake.clone());
        let (closed_log, closed_console) = (&mut self.closed_log, &mut self.closed_console);
        self.devices.replace_selected(|old| {
            // Closing disables its drive first and lets go of the port the
            // new session may open.
            let (log, console) = match old {
                Some(old) => old.close(),
                None => (std::mem::take(closed_log), std::mem::take(closed_console)),
            };
            let mut session = DeviceSession::connect(target, divider, history_size, Some(wake));
            session.event_log = log;
            session.console = console;
            session
        });
        match shown {
            // The device keeps its id, but nothing the panes kept about the
            // connection replaced applies to the new one.
            Some(id) => self.forget_panes_of(id),
            None => self.panes_follow_selection(None),
        }
    }

    /// Closes device `id`, keeping its event log and console for when no
    /// device is left (its pane state goes with it); the others carry on.
    fn close_device(&mut self, id: DeviceId) {
        let shown = self.devices.selected_id();
        if let Some(session) = self.devices.remove(id) {
            // Closing disables its drive first.
            (self.closed_log, self.closed_console) = session.close();
        }
        self.panes_follow_selection(shown);
        self.forget_panes_of(id);
    }

    /// Shows device `id` (asked from its row or its fault banner).
    pub(super) fn select_device(&mut self, id: DeviceId) {
        let shown = self.devices.selected_id();
        self.devices.select(id);
        self.panes_follow_selection(shown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::adapter::AdapterSettings;

    fn odrive(path: &str, axis: u8) -> PortTarget {
        let mut settings = AdapterSettings::default();
        settings.odrive.axis = axis;
        PortTarget::parse(path, 115_200).speaking(ProtocolChoice::Only(Protocol::Odrive), settings)
    }

    #[test]
    fn a_simplefoc_motor_offers_the_sketch_s_others_until_connected() {
        let motor = |letter| {
            let mut settings = AdapterSettings::default();
            settings.simplefoc.letter = letter;
            PortTarget::parse("/dev/ttyACM0", 115_200)
                .speaking(ProtocolChoice::Only(Protocol::SimpleFoc), settings)
        };
        let (m, n, t) = (motor('M'), motor('N'), motor('T'));
        let others = ["N".to_owned(), "T".to_owned()];
        let offered = missing_motors(&m, &others, [&m].into_iter());
        assert_eq!(offered, [('N', n.clone()), ('T', t.clone())]);
        assert_eq!(
            missing_motors(&m, &others, [&m, &n].into_iter()),
            [('T', t)]
        );
        // Another port's N is not this sketch's; auto names no motors.
        let elsewhere = PortTarget::parse("/dev/ttyACM1", 115_200)
            .speaking(ProtocolChoice::Only(Protocol::SimpleFoc), n.protocol().1);
        assert_eq!(
            missing_motors(&m, &others, [&elsewhere].into_iter()).len(),
            2
        );
        let auto = PortTarget::parse("/dev/ttyACM0", 115_200)
            .speaking(ProtocolChoice::Auto, AdapterSettings::default());
        assert!(missing_motors(&auto, &others, std::iter::empty()).is_empty());
    }

    #[test]
    fn an_odrive_axis_offers_the_other_until_it_is_connected() {
        let axis0 = odrive("/dev/ttyACM0", 0);
        let (axis, target) = missing_axis(&axis0, [&axis0].into_iter()).expect("offered");
        assert_eq!((axis, target), (1, odrive("/dev/ttyACM0", 1)));
        let axis1 = odrive("/dev/ttyACM0", 1);
        assert_eq!(
            missing_axis(&axis1, [&axis1].into_iter()),
            Some((0, axis0.clone()))
        );
        assert_eq!(missing_axis(&axis0, [&axis0, &axis1].into_iter()), None);
        assert_eq!(missing_axis(&axis1, [&axis0, &axis1].into_iter()), None);
        // Another board's axis1 is not this one's.
        let elsewhere = odrive("/dev/ttyACM1", 1);
        assert!(missing_axis(&axis0, [&axis0, &elsewhere].into_iter()).is_some());
    }

    #[test]
    fn nothing_but_an_odrive_on_a_serial_port_has_axes_to_add() {
        let auto = PortTarget::parse("/dev/ttyACM0", 115_200);
        let emulated = PortTarget::parse("sim:odrive", 115_200).speaking(
            ProtocolChoice::Only(Protocol::Odrive),
            AdapterSettings::default(),
        );
        for target in [PortTarget::Sim, auto, emulated] {
            assert_eq!(missing_axis(&target, [&target].into_iter()), None);
        }
    }
}
