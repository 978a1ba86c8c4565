//! The devices connected at once, each its own [`DeviceSession`] (link
//! thread, adapter, history, parameters, procedures, event log, console),
//! with an id, a label and a colour; and the one *selected*, whose session
//! the app's panes show. No egui: the app draws the list and sends intents.
//!
//! What the store promises: every session is drained every frame whether
//! selected or not ([`Devices::drain_all`]); an emergency stop reaches every
//! session in the same call ([`Devices::emergency_stop_all`]); a lost link
//! is one session's business, so losing it changes no other. A label starts
//! as the port's name, becomes the device's described name once it gives
//! one (made unique with a suffix: "Simulated drive 2"), and stays as the
//! user typed it once edited. Every device can be recorded into one file
//! ([`Devices::start_recording_all`], fed in [`Devices::drain_all`]).

use std::path::Path;

use super::StopSource;
use super::label;
use super::record_all::RecordAll;
use super::session::DeviceSession;

/// Colours given to devices in the order they are added (RGB), far enough
/// apart to tell the rows (and later their traces) apart on a dark or a
/// light background.
pub const PALETTE: [[u8; 3]; 8] = [
    [66, 150, 250],
    [240, 120, 40],
    [60, 180, 90],
    [210, 70, 160],
    [200, 180, 40],
    [40, 190, 200],
    [150, 100, 230],
    [170, 120, 80],
];

/// Names one device for as long as the app runs; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub u32);

/// One connected device: its session and how the user tells it apart.
pub struct Device {
    /// Its id, shown as `#n` and used in the controls' names.
    pub id: DeviceId,
    /// What the user calls it.
    label: String,
    /// The user typed the label: the description no longer renames it.
    label_edited: bool,
    /// Its colour from [`PALETTE`].
    pub colour: [u8; 3],
    /// The connection and all that is known about the device.
    pub session: DeviceSession,
}

impl Device {
    /// What the user calls it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether the user typed the label (rather than it coming from the
    /// port or the device's description).
    pub fn label_typed(&self) -> bool {
        self.label_edited
    }
}

/// The devices connected at once, oldest first, and the selected one.
#[derive(Default)]
pub struct Devices {
    list: Vec<Device>,
    selected: Option<DeviceId>,
    next_id: u32,
    /// The recording of every device, from start until its file is
    /// finished.
    record_all: Option<RecordAll>,
}

impl Devices {
    /// Adds `session` as a new device and selects it.
    pub fn add(&mut self, session: DeviceSession) -> DeviceId {
        self.next_id += 1;
        let id = DeviceId(self.next_id);
        let label = self.unique_label(&label::from_name(session.target().name()), None);
        let colour = PALETTE[(id.0 as usize - 1) % PALETTE.len()];
        self.list.push(Device {
            id,
            label,
            label_edited: false,
            colour,
            session,
        });
        self.selected = Some(id);
        id
    }

    /// Opens a session in place of the selected device's, keeping its id,
    /// label and colour; with none selected, adds one. `open` is handed the
    /// old session first, so it can close it (letting go of its port)
    /// before the new one opens.
    pub fn replace_selected(&mut self, open: impl FnOnce(Option<DeviceSession>) -> DeviceSession) {
        let at = self
            .selected
            .and_then(|id| self.list.iter().position(|d| d.id == id));
        match at {
            Some(at) => {
                let mut old = self.list.remove(at);
                if let Some(all) = &mut self.record_all {
                    all.device_gone(old.id, &mut old.session, "another connection replaced it");
                }
                let session = open(Some(old.session));
                self.list.insert(at, Device { session, ..old });
            }
            None => {
                let session = open(None);
                self.add(session);
            }
        }
    }

    /// Takes `id` out of the store; the oldest remaining device is selected
    /// if `id` was.
    pub fn remove(&mut self, id: DeviceId) -> Option<DeviceSession> {
        let at = self.list.iter().position(|d| d.id == id)?;
        let mut device = self.list.remove(at);
        if let Some(all) = &mut self.record_all {
            all.device_gone(id, &mut device.session, "disconnected");
        }
        if self.selected == Some(id) {
            self.selected = self.list.first().map(|d| d.id);
        }
        Some(device.session)
    }

    /// Selects `id`; false if there is no such device.
    pub fn select(&mut self, id: DeviceId) -> bool {
        let known = self.get(id).is_some();
        if known {
            self.selected = Some(id);
        }
        known
    }

    /// The selected device's id.
    pub fn selected_id(&self) -> Option<DeviceId> {
        self.selected
    }

    /// The selected device.
    pub fn selected_device(&self) -> Option<&Device> {
        self.selected.and_then(|id| self.get(id))
    }

    fn selected_device_mut(&mut self) -> Option<&mut Device> {
        let id = self.selected?;
        self.list.iter_mut().find(|d| d.id == id)
    }

    /// The selected device's session: what the panes show.
    pub fn selected(&self) -> Option<&DeviceSession> {
        self.selected_device().map(|d| &d.session)
    }

    /// The selected device's session, to send intents to.
    pub fn selected_mut(&mut self) -> Option<&mut DeviceSession> {
        self.selected_device_mut().map(|d| &mut d.session)
    }

    /// The selected device's session, to send intents to, and every other
    /// device, to read beside it (the scope draws their channels).
    pub fn selected_mut_and_others(&mut self) -> (Option<&mut DeviceSession>, Vec<&Device>) {
        let selected = self.selected;
        let mut shown = None;
        let mut others = Vec::new();
        for device in &mut self.list {
            if Some(device.id) == selected {
                shown = Some(&mut device.session);
            } else {
                others.push(&*device);
            }
        }
        (shown, others)
    }

    /// The device `id`.
    pub fn get(&self, id: DeviceId) -> Option<&Device> {
        self.list.iter().find(|d| d.id == id)
    }

    /// Every device, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.list.iter()
    }

    /// Every device's session, oldest first.
    pub fn sessions_mut(&mut self) -> impl Iterator<Item = &mut DeviceSession> {
        self.list.iter_mut().map(|d| &mut d.session)
    }

    /// Every session with its device's id, in list order.
    pub fn sessions_with_ids_mut(
        &mut self,
    ) -> impl Iterator<Item = (DeviceId, &mut DeviceSession)> {
        self.list.iter_mut().map(|d| (d.id, &mut d.session))
    }

    /// How many devices there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether any device is described and streaming.
    pub fn any_connected(&self) -> bool {
        self.list.iter().any(|d| d.session.is_connected())
    }

    /// The user renames `id`. A label [`label::check`] refuses, or one
    /// another device carries, is refused with why: a label names the
    /// device's columns and profile section, so it must be one of a kind.
    pub fn set_label(&mut self, id: DeviceId, label: &str) -> Result<(), String> {
        let label = label.trim();
        label::check(label)?;
        if self.list.iter().any(|d| d.id != id && d.label == label) {
            return Err(format!("another device is labelled {label:?}"));
        }
        let Some(device) = self.list.iter_mut().find(|d| d.id == id) else {
            return Err("no such device".into());
        };
        device.label = label.to_owned();
        device.label_edited = true;
        Ok(())
    }

    /// Sends the emergency stop to every device at once, selected or not,
    /// in one pass: ENABLE 0 is queued on each link before this returns.
    pub fn emergency_stop_all(&mut self, by: StopSource) {
        for session in self.sessions_mut() {
            session.emergency_stop(by);
        }
    }

    /// Takes in every device's events (see [`DeviceSession::drain_events`]),
    /// hands each one's batches to the recording of every device while it
    /// runs, and names a device after its description the first time it
    /// gives one. Returns the devices that came back as another device,
    /// shown or not, so what the app kept about them no longer applies.
    pub fn drain_all(&mut self) -> Vec<DeviceId> {
        let mut changed = Vec::new();
        for at in 0..self.list.len() {
            let device = &mut self.list[at];
            device.session.drain_events();
            if let Some(all) = &mut self.record_all {
                all.take(device.id, &mut device.session);
            }
            if device.session.take_device_changed() {
                changed.push(device.id);
            }
            self.name_from_description(at);
        }
        changed
    }

    /// Starts recording every connected device into one CSV at `path`
    /// ([`super::record_all`]); refused with why when fewer than two are
    /// connected, one is being recorded already, or the file cannot be
    /// created. Returns the labels of the devices recorded.
    pub fn start_recording_all(&mut self, path: &Path) -> Result<Vec<String>, String> {
        if self.record_all.is_some() {
            return Err("every device is being recorded already".into());
        }
        let connected = self.connected_count();
        if connected < 2 {
            return Err(format!(
                "recording every device takes two connected; {connected} is"
            ));
        }
        let all = RecordAll::start(path, &mut self.list).map_err(|e| e.to_string())?;
        let labels = all.parts().into_iter().map(|p| p.label).collect();
        self.record_all = Some(all);
        Ok(labels)
    }

    /// Stops the recording of every device: what the sessions took in
    /// goes in, and the file is finished on its own thread
    /// ([`Self::take_recording_all_outcome`] says when).
    pub fn stop_recording_all(&mut self) {
        if let Some(all) = &mut self.record_all {
            all.stop(&mut self.list);
        }
    }

    /// The recording of every device, while it runs or finishes.
    pub fn recording_all(&self) -> Option<&RecordAll> {
        self.record_all.as_ref()
    }

    /// Once the recording of every device has ended (stopped, or the
    /// writer failed): where the file went and each device's rows, or why
    /// it stopped, in one line. Never blocks.
    pub fn take_recording_all_outcome(&mut self) -> Option<Result<String, String>> {
        let outcome = self.record_all.as_mut()?.outcome()?;
        if let Some(mut all) = self.record_all.take() {
            // A writer that failed leaves the taps on: no batch is kept
            // for nobody.
            all.stop(&mut self.list);
        }
        Some(outcome)
    }

    /// How many devices are described and streaming.
    pub fn connected_count(&self) -> usize {
        self.list
            .iter()
            .filter(|d| d.session.is_connected())
            .count()
    }

    /// Renames the device at `at` after its description, unless the user
    /// named it or it already is.
    fn name_from_description(&mut self, at: usize) {
        let device = &self.list[at];
        if device.label_edited {
            return;
        }
        let Some(name) = device
            .session
            .info
            .as_ref()
            .map(|i| label::from_name(&i.name))
        else {
            return;
        };
        let id = device.id;
        let current = &device.label;
        if current == &name || label::is_numbered(current, &name) {
            return;
        }
        let label = self.unique_label(&name, Some(id));
        self.list[at].label = label;
    }

    /// `base`, or `base 2`, `base 3` … whichever no other device than
    /// `except` carries.
    fn unique_label(&self, base: &str, except: Option<DeviceId>) -> String {
        label::unique(base, |label| {
            self.list
                .iter()
                .any(|d| Some(d.id) != except && d.label == label)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::history::History;
    use crate::protocol::DeviceInfo;

    /// A session with no link, described as `name` (a recording's: it
    /// needs no port).
    pub(crate) fn described(name: &str) -> DeviceSession {
        let info = DeviceInfo {
            name: name.to_owned(),
            firmware: "test".to_owned(),
            protocol_version: 1,
            loop_hz: 1_000,
            watchdog_ms: 0,
            channels: Vec::new(),
            params: Vec::new(),
            other_axes: Vec::new(),
        };
        DeviceSession::recorded(PathBuf::from("x.csv"), info, History::new(0, 1))
    }

    fn labels(devices: &Devices) -> Vec<&str> {
        devices.iter().map(Device::label).collect()
    }

    #[test]
    fn labels_follow_the_description_made_unique_until_the_user_types_one() {
        let mut devices = Devices::default();
        for name in ["drive", "drive", "load", "drive"] {
            devices.add(described(name));
        }
        assert_eq!(
            labels(&devices),
            ["x_csv", "x_csv 2", "x_csv 3", "x_csv 4"],
            "the port's name at first"
        );
        devices.drain_all();
        assert_eq!(labels(&devices), ["drive", "drive 2", "load", "drive 3"]);
        // Frames later nothing moves.
        devices.drain_all();
        assert_eq!(labels(&devices), ["drive", "drive 2", "load", "drive 3"]);

        assert_eq!(devices.set_label(DeviceId(3), " Load motor "), Ok(()));
        assert!(
            devices.set_label(DeviceId(3), "  ").is_err(),
            "a blank label is refused"
        );
        assert!(devices.set_label(DeviceId(9), "nobody").is_err());
        assert_eq!(
            devices.set_label(DeviceId(2), "Load motor"),
            Err("another device is labelled \"Load motor\"".into())
        );
        assert!(
            devices.set_label(DeviceId(2), "x.y").is_err(),
            "a column name ends at ."
        );
        devices.drain_all();
        assert_eq!(
            labels(&devices),
            ["drive", "drive 2", "Load motor", "drive 3"]
        );
    }

    #[test]
    fn removing_the_selected_device_selects_the_oldest_left_and_ids_are_not_reused() {
        let mut devices = Devices::default();
        let first = devices.add(described("a"));
        let second = devices.add(described("b"));
        assert_eq!(
            devices.selected_id(),
            Some(second),
            "the device added is shown"
        );
        assert!(devices.remove(second).is_some());
        assert_eq!(devices.selected_id(), Some(first));
        assert!(devices.remove(second).is_none());
        let third = devices.add(described("c"));
        assert_eq!(third, DeviceId(3));
        assert!(devices.select(first));
        assert!(devices.remove(third).is_some());
        assert_eq!(
            devices.selected_id(),
            Some(first),
            "another's removal keeps it"
        );
        assert!(devices.remove(first).is_some());
        assert_eq!(devices.selected_id(), None);
        assert!(!devices.select(first));
    }

    #[test]
    fn replacing_the_selected_session_keeps_its_id_label_and_colour() {
        let mut devices = Devices::default();
        devices.add(described("a"));
        let second = devices.add(described("b"));
        devices.drain_all();
        devices.set_label(second, "mine").expect("a good label");
        let colour = devices.get(second).map(|d| d.colour);
        let mut handed = None;
        devices.replace_selected(|old| {
            handed = old.map(|s| s.info.map(|i| i.name));
            described("c")
        });
        assert_eq!(
            handed,
            Some(Some("b".to_owned())),
            "the old session is handed over"
        );
        let device = devices.get(second).expect("still there");
        assert_eq!(device.label(), "mine");
        assert_eq!(Some(device.colour), colour);
        assert_eq!(devices.len(), 2);
        assert_eq!(labels(&devices), ["a", "mine"], "in its place in the list");
    }
}
