//! A machine's profile in the Profiles section, with two or more devices
//! connected: *Save all devices* writes one file with a section per
//! device label ([`crate::profile::devices`]); loading such a file lists,
//! per device present, what its section would change and what it
//! refuses, names the sections whose device is absent and the devices the
//! file has no section for, and writes nothing until *Write N changes to
//! M devices*. Then each device's changes, compared again with the values
//! in force, pass the write guard as a profile's; a change the guard would
//! ask to confirm (only the device shown has that dialog) or refuses
//! holds the whole write back, on every device, and says which.
//!
//! The section draws in the Parameters pane, which sees only the shown
//! device; what needs every device is asked for there and done after the
//! panes ([`MachineProfile::frame`]).

use std::path::PathBuf;

use crate::device::session::DeviceSession;
use crate::device::{DeviceId, Devices, WriteSource};
use crate::profile::devices::{Connected, DevicesDiff, DevicesProfile};
use crate::protocol::ParamInfo;
use crate::tuning::write_guard::{WriteGuard, WriteOrigin};

/// What the Parameters pane asked for this frame.
enum Ask {
    /// Save every device to this file, under this profile name.
    Save(PathBuf, String),
    /// Compare this profile, read from this file, with the devices.
    Compare(DevicesProfile, String),
    /// Write the loaded profile's changes.
    Write,
}

/// A profile of several devices read and compared, waiting for the user.
struct Loaded {
    path: String,
    profile: DevicesProfile,
    diff: DevicesDiff,
}

/// The machine's part of the Profiles section.
#[derive(Default)]
pub(super) struct MachineProfile {
    asked: Option<Ask>,
    loaded: Option<Loaded>,
    /// Devices connected, as of the last frame.
    devices: usize,
}

impl MachineProfile {
    /// Whether there are devices enough for a machine's profile.
    pub(super) fn several(&self) -> bool {
        self.devices > 1
    }

    /// Saves every device to `path` after the panes.
    pub(super) fn save(&mut self, path: PathBuf, name: &str) {
        self.asked = Some(Ask::Save(path, name.to_owned()));
    }

    /// Compares `profile` with every device after the panes.
    pub(super) fn compare(&mut self, profile: DevicesProfile, path: String) {
        self.loaded = None;
        self.asked = Some(Ask::Compare(profile, path));
    }

    /// The loaded profile's changes per device, and its buttons; a click
    /// on *Write* is done after the panes. Returns whether one is loaded.
    pub(super) fn loaded_ui(&mut self, ui: &mut egui::Ui) -> bool {
        let Some(loaded) = &self.loaded else {
            return false;
        };
        ui.separator();
        ui.strong(format!(
            "Profile \"{}\" of {} devices from {} (saved {})",
            loaded.profile.name,
            loaded.profile.devices.len(),
            loaded.path,
            loaded.profile.saved
        ));
        for (label, diff) in &loaded.diff.devices {
            ui.label(egui::RichText::new(label).strong());
            if diff.changes.is_empty() {
                ui.label("No parameter would change.");
            }
            for change in &diff.changes {
                ui.label(format!(
                    "{}: {} -> {} {}",
                    change.name, change.old, change.new, change.unit
                ));
            }
            for refusal in &diff.refused {
                ui.colored_label(ui.visuals().error_fg_color, format!("refused: {refusal}"));
            }
        }
        for label in &loaded.diff.absent {
            ui.weak(format!("{label}: not connected, nothing is written for it"));
        }
        for label in &loaded.diff.not_in_profile {
            ui.weak(format!("{label}: not in the profile, left as it is"));
        }
        let count = loaded.diff.change_count();
        let devices = loaded
            .diff
            .devices
            .iter()
            .filter(|(_, d)| !d.changes.is_empty())
            .count();
        let mut discard = false;
        ui.horizontal(|ui| {
            let write = ui.add_enabled(
                count > 0,
                egui::Button::new(format!("Write {count} changes to {devices} devices")),
            );
            if write.clicked() {
                self.asked = Some(Ask::Write);
            }
            discard = ui.button("Discard profile").clicked();
        });
        if discard {
            self.loaded = None;
        }
        true
    }

    /// After the panes, with every device: does what was asked; returns
    /// the news or the problem for the section to show.
    pub(super) fn frame(
        &mut self,
        devices: &mut Devices,
        guard: &WriteGuard,
    ) -> Option<Result<String, String>> {
        self.devices = devices.len();
        match self.asked.take()? {
            Ask::Save(path, name) => Some(save(devices, &path, &name)),
            Ask::Compare(profile, path) => {
                let diff = diff(&profile, devices);
                self.loaded = Some(Loaded {
                    path,
                    profile,
                    diff,
                });
                None
            }
            Ask::Write => {
                let loaded = self.loaded.take()?;
                Some(write(devices, &loaded, guard))
            }
        }
    }
}

/// Every described device's label and its parameters as they are.
fn described(devices: &Devices) -> Vec<(String, Vec<ParamInfo>)> {
    devices
        .iter()
        .filter(|d| d.session.info.is_some())
        .map(|d| (d.label().to_owned(), params_of(&d.session)))
        .collect()
}

fn params_of(session: &DeviceSession) -> Vec<ParamInfo> {
    session.params.iter().map(|p| p.info.clone()).collect()
}

/// `profile` compared with the described devices.
fn diff(profile: &DevicesProfile, devices: &Devices) -> DevicesDiff {
    let described = described(devices);
    let connected: Vec<Connected<'_>> = described
        .iter()
        .map(|(label, params)| Connected { label, params })
        .collect();
    profile.diff(&connected)
}

fn save(devices: &Devices, path: &std::path::Path, name: &str) -> Result<String, String> {
    let params: Vec<Vec<ParamInfo>> = devices.iter().map(|d| params_of(&d.session)).collect();
    let listed: Vec<_> = devices
        .iter()
        .zip(&params)
        .filter_map(|(d, params)| Some((d.label(), d.session.info.as_ref()?, params.as_slice())))
        .collect();
    if listed.len() < 2 {
        return Err("Connect two devices or more to save a machine's profile.".into());
    }
    let profile = DevicesProfile::from_devices(name, &listed);
    profile.save(path).map_err(|e| e.to_string())?;
    let count: usize = profile.devices.iter().map(|d| d.profile.params.len()).sum();
    Ok(format!(
        "Saved {count} gains and settings of {} devices to {}",
        profile.devices.len(),
        path.display()
    ))
}

/// Sends every device's changes, compared again with the values in force,
/// once all of them passed the guard.
fn write(devices: &mut Devices, loaded: &Loaded, guard: &WriteGuard) -> Result<String, String> {
    let diff = diff(&loaded.profile, devices);
    let mut reviewed: Vec<(DeviceId, Vec<(u8, f32)>)> = Vec::new();
    for (label, device_diff) in &diff.devices {
        let Some(device) = devices.iter().find(|d| d.label() == label) else {
            continue;
        };
        let writes: Vec<(u8, f32)> = device_diff
            .changes
            .iter()
            .map(|c| (c.index, c.new))
            .collect();
        let review = guard.review(WriteOrigin::Profile, &params_of(&device.session), &writes);
        let held: Vec<String> = review
            .large
            .iter()
            .map(ToString::to_string)
            .chain(review.refused.iter().map(ToString::to_string))
            .collect();
        if !held.is_empty() {
            return Err(format!(
                "Nothing was written to any device: {label}: {}. Load the profile with {label} shown to confirm it there.",
                held.join("; ")
            ));
        }
        reviewed.push((device.id, review.writes));
    }
    let mut sent = 0;
    for (id, session) in devices.sessions_with_ids_mut() {
        if let Some((_, writes)) = reviewed.iter().find(|(d, _)| *d == id) {
            for &(index, value) in writes {
                session.write_param(index, value, WriteSource::Profile);
            }
            sent += writes.len();
        }
    }
    Ok(format!(
        "Sent {sent} changes to {} devices from {}",
        reviewed.iter().filter(|(_, w)| !w.is_empty()).count(),
        loaded.path
    ))
}
