//! *Reconnect last devices*: the devices connected when the app last
//! closed, offered back in one button under the connection bar (two or
//! more of them; one alone is the connection bar's remembered port). No
//! port opens until the button is pressed. The first device connects as
//! *Connect* does (in place of the selected one), the others as *Add
//! device*, and each typed label is given back. A remembered list that
//! cannot be used ([`crate::device::remembered`]) is said in one line and
//! connects nothing.
//!
//! What is remembered at the next save: while the offer stands untaken
//! (the user connected nothing of their own), the offer itself, so a
//! launch spent without pressing it does not forget the set; after that,
//! the devices connected then.

use super::App;
use super::connection::Request;
use crate::device::Devices;
use crate::device::remembered::{RememberedDevices, Restored};
use crate::protocol::adapter::AdapterSettings;

/// The offer, from launch until it is taken or the user connects
/// something else.
#[derive(Default)]
pub struct ReconnectOffer {
    /// What was stored, kept as it was while the offer stands.
    stored: Option<RememberedDevices>,
    /// The devices the button connects; empty when there is no offer.
    devices: Vec<Restored>,
    /// Why the stored list is not offered, until dismissed.
    problem: Option<String>,
}

impl ReconnectOffer {
    /// The offer of `stored`, its adapters' settings from `base`.
    pub fn new(stored: RememberedDevices, base: &AdapterSettings) -> Self {
        if stored.is_empty() {
            return Self::default();
        }
        match stored.restore(base) {
            Ok(devices) if devices.len() >= 2 => Self {
                stored: Some(stored),
                devices,
                problem: None,
            },
            // One device is the connection bar's remembered port.
            Ok(_) => Self::default(),
            Err(why) => Self {
                stored: Some(stored),
                devices: Vec::new(),
                problem: Some(format!("Last devices not offered: {why}")),
            },
        }
    }

    /// What to remember of the devices: the offer while it stands, else
    /// `devices`.
    pub fn to_remember(&self, devices: &Devices) -> RememberedDevices {
        match &self.stored {
            Some(stored) => stored.clone(),
            None => RememberedDevices::of(devices),
        }
    }

    /// The user connected something of their own: the offer is gone, and
    /// what is connected from now on is what is remembered.
    pub fn withdraw(&mut self) {
        self.stored = None;
        self.devices.clear();
        self.problem = None;
    }

    /// The button's text: `Reconnect last devices (A, B)`.
    fn button_text(&self) -> String {
        let names: Vec<String> = self.devices.iter().map(Restored::name).collect();
        format!("Reconnect last devices ({})", names.join(", "))
    }
}

impl App {
    /// The offer's button, or why there is none, on a line of its own.
    pub(super) fn reconnect_ui(&mut self, ui: &mut egui::Ui) {
        let offer = &mut self.reconnect;
        let mut take = false;
        if !offer.devices.is_empty() {
            ui.horizontal(|ui| {
                take = ui
                    .button(offer.button_text())
                    .on_hover_text(
                        "Connect the devices connected when the app last closed: the first \
                         in place of the one shown, the others beside it, with the labels typed",
                    )
                    .clicked();
            });
        }
        if let Some(problem) = &offer.problem {
            let mut dismiss = false;
            ui.horizontal(|ui| {
                ui.colored_label(ui.visuals().warn_fg_color, problem);
                dismiss = ui
                    .small_button("Dismiss")
                    .accessible_name("Dismiss the last devices' problem")
                    .clicked();
            });
            if dismiss {
                offer.problem = None;
            }
        }
        if take {
            self.reconnect_last();
        }
    }

    /// Connects every device offered, first as *Connect*, then as *Add
    /// device*, giving back each typed label.
    fn reconnect_last(&mut self) {
        let devices = std::mem::take(&mut self.reconnect.devices);
        let mut refused = Vec::new();
        for (n, device) in devices.into_iter().enumerate() {
            let Restored {
                target,
                divider,
                label,
            } = device;
            let request = if n == 0 {
                Request::Connect { target, divider }
            } else {
                Request::AddDevice { target, divider }
            };
            // Withdraws the offer: what connects now is what is remembered.
            self.connection_request(request);
            if let (Some(id), Some(label)) = (self.devices.selected_id(), label)
                && let Err(why) = self.devices.set_label(id, &label)
            {
                refused.push(why);
            }
        }
        if !refused.is_empty() {
            self.reconnect.problem = Some(format!("Labels not given back: {}", refused.join("; ")));
        }
    }
}
