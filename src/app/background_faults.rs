//! A banner for each device that is not shown and is in trouble: a drive
//! fault or watchdog trip it reports, or its link lost (reopening) or down
//! for good. The red banner of [`super::safety::FaultBanner`] speaks for
//! the shown device; this one names the other device by its label, says
//! what happened, and offers *Show LABEL* (select it, as its row's
//! *Select* does, and not while a procedure runs on the shown device) and
//! *Acknowledge* (hidden until a new kind of trouble comes from that
//! device). What counts as trouble is [`trouble_of`], no egui.

use std::collections::BTreeMap;

use super::App;
use crate::device::session::{ConnectionState, DeviceSession};
use crate::device::{DeviceId, Devices};

/// Banner colour: the fault banner's red, a shade darker, so the two
/// read as one kind and still tell apart.
const BANNER_RED: egui::Color32 = egui::Color32::from_rgb(170, 25, 25);

/// A kind of trouble, one bit each, so an acknowledged kind stays hidden
/// and a new one shows the banner again.
const FAULT: u8 = 1;
const WATCHDOG: u8 = 1 << 1;
const LINK_LOST: u8 = 1 << 2;
const LINK_DOWN: u8 = 1 << 3;

/// What is wrong with a device, in words, with the kinds as bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trouble {
    /// The kinds, as bits.
    kinds: u8,
    /// One sentence per kind.
    pub what: Vec<String>,
}

/// What is wrong with `session`, if anything.
pub fn trouble_of(session: &DeviceSession) -> Option<Trouble> {
    let mut kinds = 0;
    let mut what = Vec::new();
    match &session.state {
        ConnectionState::Reconnecting { lost, .. } => {
            kinds |= LINK_LOST;
            what.push(format!("LINK LOST: {lost}; reopening the port"));
        }
        ConnectionState::Failed(error) if session.info.is_some() => {
            kinds |= LINK_DOWN;
            what.push(format!("LINK DOWN: {error}"));
        }
        _ => {}
    }
    if let Some(flags) = session.status {
        if flags.fault() {
            kinds |= FAULT;
            what.push("DRIVE FAULT: the device reports a fault and has disabled its output".into());
        }
        if flags.watchdog_tripped() {
            kinds |= WATCHDOG;
            what.push(
                "WATCHDOG TRIP: it heard nothing from the app in time and disabled its output"
                    .into(),
            );
        }
    }
    (kinds != 0).then_some(Trouble { kinds, what })
}

/// The banners' state: the kinds of trouble acknowledged per device.
#[derive(Debug, Default)]
pub struct BackgroundFaults {
    acknowledged: BTreeMap<DeviceId, u8>,
}

/// What the user asked of a banner.
enum BannerRequest {
    Show(DeviceId),
    Acknowledge(DeviceId, u8),
}

impl BackgroundFaults {
    /// A banner per device not shown whose trouble is not acknowledged.
    fn ui(&mut self, ui: &mut egui::Ui, devices: &Devices) -> Option<BannerRequest> {
        let shown = devices.selected_id();
        let busy = devices.selected().is_some_and(|s| s.procedure_running());
        let mut request = None;
        let mut troubled = Vec::new();
        for device in devices.iter().filter(|d| Some(d.id) != shown) {
            let Some(trouble) = trouble_of(&device.session) else {
                continue;
            };
            troubled.push(device.id);
            let seen = self.acknowledged.get(&device.id).copied().unwrap_or(0);
            // Kinds that went away may come back: they are shown again.
            let seen = seen & trouble.kinds;
            self.acknowledged.insert(device.id, seen);
            if trouble.kinds & !seen == 0 {
                continue;
            }
            let label = device.label();
            egui::Panel::top(("device trouble", device.id.0))
                .frame(egui::Frame::new().fill(BANNER_RED).inner_margin(6.0))
                .show(ui, |ui| {
                    ui.horizontal_wrapped(|ui| {
                        ui.label(
                            egui::RichText::new(format!(
                                "{label} (not shown): {}.",
                                trouble.what.join("; ")
                            ))
                            .size(16.0)
                            .strong()
                            .color(egui::Color32::WHITE),
                        );
                        let show = ui
                            .add_enabled(!busy, egui::Button::new(format!("Show {label}")))
                            .on_hover_text("Show this device in the panes")
                            .on_disabled_hover_text("A procedure runs on the shown device");
                        if show.clicked() {
                            request = Some(BannerRequest::Show(device.id));
                        }
                        if ui
                            .button("Acknowledge")
                            .accessible_name(format!("Acknowledge {label}"))
                            .clicked()
                        {
                            request = Some(BannerRequest::Acknowledge(device.id, trouble.kinds));
                        }
                    });
                });
        }
        // A device out of trouble, or gone, starts afresh.
        self.acknowledged.retain(|id, _| troubled.contains(id));
        request
    }
}

impl App {
    /// The banners of the devices not shown; what they ask is done at once.
    pub(super) fn background_faults_ui(&mut self, ui: &mut egui::Ui) {
        match self.background_faults.ui(ui, &self.devices) {
            Some(BannerRequest::Show(id)) => self.select_device(id),
            Some(BannerRequest::Acknowledge(id, kinds)) => {
                self.background_faults.acknowledged.insert(id, kinds);
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::devices::tests::described;
    use crate::link::LinkError;
    use crate::protocol::StatusFlags;

    fn lost_link() -> LinkError {
        LinkError::Lost {
            port: "/dev/ttyACM1".into(),
            reason: "the device went away".into(),
        }
    }

    fn session() -> DeviceSession {
        described("drive")
    }

    #[test]
    fn each_kind_of_trouble_is_named_and_a_healthy_device_has_none() {
        let mut healthy = session();
        assert_eq!(trouble_of(&healthy), None);
        healthy.status = Some(StatusFlags(StatusFlags::ENABLED));
        assert_eq!(trouble_of(&healthy), None, "an output on is no trouble");

        let mut tripped = session();
        tripped.status = Some(StatusFlags(StatusFlags::FAULT | StatusFlags::WATCHDOG));
        let trouble = trouble_of(&tripped).expect("a fault and a trip");
        assert_eq!(trouble.kinds, FAULT | WATCHDOG);
        assert!(trouble.what[0].starts_with("DRIVE FAULT"), "{trouble:?}");
        assert!(trouble.what[1].starts_with("WATCHDOG TRIP"), "{trouble:?}");

        let mut lost = session();
        lost.state = ConnectionState::Reconnecting {
            lost: lost_link(),
            attempts: 1,
            last_error: None,
        };
        let trouble = trouble_of(&lost).expect("a lost link");
        assert_eq!(trouble.kinds, LINK_LOST);
        assert!(trouble.what[0].starts_with("LINK LOST: "), "{trouble:?}");

        let mut down = session();
        down.state = ConnectionState::Failed(lost_link());
        assert_eq!(trouble_of(&down).map(|t| t.kinds), Some(LINK_DOWN));
    }
}
