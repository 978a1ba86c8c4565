//! Each device's own pane state: the gains panel's gain history, typed
//! edits and refusals, the Auto-tune tab's work (not its choices, which
//! are the window's) and the Bode tab's measurements. The panels hold the
//! shown device's; [`PerDevice`] keeps every other device's under its id.
//!
//! What it promises: whatever changes the device shown (*Select*, a fault
//! banner's *Show*, *Add device*, *Disconnect*) goes through
//! [`App::panes_follow_selection`], which keeps the outgoing device's state
//! and gives back the incoming one's (fresh if it has none), so a pane
//! never shows one device's results as another's. A held slider and an
//! open *Large change* confirmation are dropped, never carried over. State
//! is only ever given back to the device it was kept for, and none is kept
//! for a device that is gone, was connected afresh in place, or came back
//! as another device ([`App::forget_panes_of`]).

use std::collections::HashMap;

use super::App;
use super::autotune::AutoTuneDeviceState;
use super::gains::GainsDeviceState;
use crate::device::DeviceId;
use crate::tuning::FrequencyMeasurement;

/// What the panes keep of one device.
#[derive(Default)]
pub struct DevicePanes {
    gains: GainsDeviceState,
    autotune: AutoTuneDeviceState,
    bode: Vec<FrequencyMeasurement>,
}

/// The pane state of every device not shown, by id.
#[derive(Default)]
pub struct PerDevice {
    kept: HashMap<DeviceId, DevicePanes>,
}

impl PerDevice {
    /// Keeps `panes` for `id` while another device is shown.
    fn keep(&mut self, id: DeviceId, panes: DevicePanes) {
        self.kept.insert(id, panes);
    }

    /// What was kept for `id`, taken out; fresh state if nothing was.
    fn take(&mut self, id: DeviceId) -> DevicePanes {
        self.kept.remove(&id).unwrap_or_default()
    }

    /// Drops what was kept for `id`.
    fn forget(&mut self, id: DeviceId) {
        self.kept.remove(&id);
    }
}

impl App {
    /// After anything that may have changed the device shown, which was
    /// `shown_before`: the panes' state moves with the selection, and the
    /// scope follows the new device's newest sample.
    pub(super) fn panes_follow_selection(&mut self, shown_before: Option<DeviceId>) {
        let shown = self.devices.selected_id();
        if shown == shown_before {
            return;
        }
        self.scope.follow_newest();
        // With no device shown before there is none to keep it for: the
        // first device takes over what the panes hold (only what was made
        // over a recording; the last device's went with it).
        let Some(before) = shown_before else {
            return;
        };
        let outgoing = self.take_panes();
        self.device_panes.keep(before, outgoing);
        let incoming = shown.map(|id| self.device_panes.take(id));
        self.give_panes(incoming.unwrap_or_default());
    }

    /// What the panes kept about `id` no longer applies: it is gone, a new
    /// connection took its place, or it came back as another device.
    pub(super) fn forget_panes_of(&mut self, id: DeviceId) {
        if self.devices.selected_id() == Some(id) {
            self.give_panes(DevicePanes::default());
        } else {
            self.device_panes.forget(id);
        }
    }

    /// The shown device's state, taken out of the panels.
    fn take_panes(&mut self) -> DevicePanes {
        DevicePanes {
            gains: self.gains.take_device_state(),
            autotune: self.autotune.take_device_state(),
            bode: self.bode.take_device_state(),
        }
    }

    /// `panes` into the panels, in place of what they held.
    fn give_panes(&mut self, panes: DevicePanes) {
        let DevicePanes {
            gains,
            autotune,
            bode,
        } = panes;
        self.gains.restore_device_state(gains);
        self.autotune.restore_device_state(autotune);
        self.bode.restore_device_state(bode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::bode::BodePanel;

    /// A measurement with no points: enough to tell one device's from none.
    fn measurement() -> FrequencyMeasurement {
        FrequencyMeasurement {
            plan: BodePanel::default().plan,
            record: Default::default(),
            points: Vec::new(),
            figures: Default::default(),
        }
    }

    /// Pane state with `count` Bode measurements.
    fn measured(count: usize) -> DevicePanes {
        DevicePanes {
            bode: vec![measurement(); count],
            ..DevicePanes::default()
        }
    }

    #[test]
    fn each_device_gets_back_its_own_and_a_new_one_starts_afresh() {
        let mut per_device = PerDevice::default();
        per_device.keep(DeviceId(1), measured(1));
        per_device.keep(DeviceId(2), measured(2));
        assert_eq!(per_device.take(DeviceId(2)).bode.len(), 2);
        assert_eq!(per_device.take(DeviceId(1)).bode.len(), 1);
        assert!(per_device.take(DeviceId(3)).bode.is_empty(), "never kept");
        // Taken means shown: the panels hold it now, not the store.
        assert!(per_device.take(DeviceId(1)).bode.is_empty());
    }

    #[test]
    fn a_device_forgotten_gets_nothing_back() {
        let mut per_device = PerDevice::default();
        per_device.keep(DeviceId(1), measured(1));
        per_device.keep(DeviceId(2), measured(1));
        per_device.forget(DeviceId(1));
        assert!(per_device.take(DeviceId(1)).bode.is_empty());
        assert_eq!(
            per_device.take(DeviceId(2)).bode.len(),
            1,
            "another device's kept state stays"
        );
    }

    #[test]
    fn the_bode_tab_hands_over_its_measurements_and_takes_others_back() {
        let mut bode = BodePanel::default();
        bode.measurements.push(measurement());
        let first = bode.take_device_state();
        assert_eq!(first.len(), 1);
        assert!(bode.measurements.is_empty(), "the next device sees none");
        bode.restore_device_state(first);
        assert_eq!(bode.measurements.len(), 1);
    }
}
