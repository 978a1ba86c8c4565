//! The "Profiles" section: save the device's gains and plain settings to a
//! TOML file, or load one and see what it would change before anything is
//! written. Entries that are not for a profile (the setpoint, modes,
//! read-only values) or that the device cannot take are listed as refused,
//! with why; the rest go out only when the user clicks "Write N changes",
//! through the same guarded path as every other write. The file is typed
//! or chosen in a native dialog. With several devices connected, a
//! machine's profile covers them all ([`super::machine_profile`]).

use std::path::{Path, PathBuf};

use super::file_dialog::{Ask, FileDialog};
use super::machine_profile::MachineProfile;
use crate::device::Devices;
use crate::device::session::DeviceSession;
use crate::profile::devices::DevicesProfile;
use crate::profile::{Profile, ProfileDiff};
use crate::tuning::write_guard::WriteGuard;

/// A profile read from a file, waiting for the user's decision.
struct LoadedProfile {
    path: String,
    profile: Profile,
    diff: ProfileDiff,
}

/// What the section keeps between frames.
pub struct ProfilesPanel {
    name: String,
    path: String,
    /// The outcome of the last save or load: Ok is news, Err a problem.
    message: Option<Result<String, String>>,
    loaded: Option<LoadedProfile>,
    dialog: FileDialog,
    /// What the open dialog's answer is for: load (true) or save.
    dialog_loads: bool,
    /// A profile of several devices: saved from, and loaded onto, every
    /// device connected.
    machine: MachineProfile,
}

impl Default for ProfilesPanel {
    fn default() -> Self {
        Self {
            name: "tuned".to_owned(),
            path: "motiontune-profile.toml".to_owned(),
            message: None,
            loaded: None,
            dialog: FileDialog::default(),
            dialog_loads: true,
            machine: MachineProfile::default(),
        }
    }
}

impl ProfilesPanel {
    /// Draws the section; returns the writes (index, value) the user
    /// confirmed.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: &DeviceSession) -> Option<Vec<(u8, f32)>> {
        let mut confirmed = None;
        if let Some(path) = self.dialog.take() {
            self.path = path.display().to_string();
            if self.dialog_loads {
                self.load(session);
            } else {
                self.message = Some(self.save(session));
            }
        }
        ui.horizontal(|ui| {
            let label = ui.label("Profile name");
            ui.text_edit_singleline(&mut self.name)
                .labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            let label = ui.label("Profile file");
            ui.text_edit_singleline(&mut self.path)
                .labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            if ui.button("Save profile").clicked() {
                self.message = Some(self.save(session));
            }
            if ui.button("Load profile").clicked() {
                self.load(session);
            }
            if self.machine.several()
                && ui
                    .button("Save all devices")
                    .on_hover_text("One profile file with a section per device, by label")
                    .clicked()
            {
                self.message = None;
                self.machine.save(PathBuf::from(&self.path), &self.name);
            }
        });
        ui.add_enabled_ui(!self.dialog.is_open(), |ui| {
            ui.horizontal(|ui| {
                let folder = Path::new(&self.path).parent().map(Path::to_path_buf);
                if ui
                    .button("Open profile…")
                    .on_hover_text("Choose a profile file to load")
                    .clicked()
                {
                    self.dialog_loads = true;
                    self.dialog.open(
                        Ask::Open {
                            title: "Load a profile",
                            filter: ("Profiles", &["toml"]),
                        },
                        folder.clone(),
                        ui.ctx(),
                    );
                }
                if ui
                    .button("Save profile as…")
                    .on_hover_text("Choose where to save the profile")
                    .clicked()
                {
                    self.dialog_loads = false;
                    let name = Path::new(&self.path).file_name().map_or_else(
                        || "profile.toml".to_owned(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    self.dialog.open(
                        Ask::Save {
                            title: "Save the profile",
                            name,
                        },
                        folder,
                        ui.ctx(),
                    );
                }
            });
        });
        super::outcome_ui(ui, &self.message);
        if self.machine.loaded_ui(ui) {
            self.message = None;
        }
        if let Some(loaded) = &self.loaded {
            let (write, discard) = loaded_ui(ui, loaded, session);
            if write {
                let changes = &loaded.diff.changes;
                self.message = Some(Ok(format!(
                    "Sent {} changes from {}",
                    changes.len(),
                    loaded.path
                )));
                confirmed = Some(changes.iter().map(|c| (c.index, c.new)).collect());
            }
            if write || discard {
                self.loaded = None;
            }
        }
        confirmed
    }

    /// The profile file's path, as typed or chosen.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Takes a remembered profile path.
    pub fn set_path(&mut self, path: PathBuf) {
        self.path = path.display().to_string();
    }

    fn save(&self, session: &DeviceSession) -> Result<String, String> {
        let Some(info) = &session.info else {
            return Err("Connect a device before saving a profile.".to_owned());
        };
        let params: Vec<_> = session.params.iter().map(|p| p.info.clone()).collect();
        let profile = Profile::from_device(&self.name, info, &params);
        profile
            .save(Path::new(&self.path))
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "Saved {} gains and settings to {}",
            profile.params.len(),
            self.path
        ))
    }

    /// After the panes, with every device: the machine's profile saved,
    /// compared or written as the section asked.
    pub fn machine_frame(&mut self, devices: &mut Devices, guard: &WriteGuard) {
        if let Some(outcome) = self.machine.frame(devices, guard) {
            self.message = Some(outcome);
        }
    }

    fn load(&mut self, session: &DeviceSession) {
        self.loaded = None;
        if session.info.is_none() {
            self.message = Some(Err("Connect a device before loading a profile.".to_owned()));
            return;
        }
        // A machine's profile goes to every device, by label.
        if let Ok(text) = std::fs::read_to_string(&self.path)
            && DevicesProfile::is_several(&text)
        {
            match DevicesProfile::from_toml(&text, &self.path) {
                Ok(profile) => {
                    self.message = None;
                    self.machine.compare(profile, self.path.clone());
                }
                Err(error) => self.message = Some(Err(error.to_string())),
            }
            return;
        }
        match Profile::load(Path::new(&self.path)) {
            Ok(profile) => {
                let params: Vec<_> = session.params.iter().map(|p| p.info.clone()).collect();
                let diff = profile.diff(&params);
                self.message = None;
                self.loaded = Some(LoadedProfile {
                    path: self.path.clone(),
                    profile,
                    diff,
                });
            }
            Err(error) => self.message = Some(Err(error.to_string())),
        }
    }
}

/// Lists what a loaded profile would do; returns (write, discard) clicks.
fn loaded_ui(ui: &mut egui::Ui, loaded: &LoadedProfile, session: &DeviceSession) -> (bool, bool) {
    let profile = &loaded.profile;
    let diff = &loaded.diff;
    ui.separator();
    ui.strong(format!(
        "Profile \"{}\" from {} (saved {})",
        profile.name, loaded.path, profile.saved
    ));
    if let Some(info) = &session.info
        && (info.name != profile.device || info.firmware != profile.firmware)
    {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "Saved from {} firmware {}; this device is {} firmware {}.",
                profile.device, profile.firmware, info.name, info.firmware
            ),
        );
    }
    if diff.changes.is_empty() {
        ui.label("No parameter would change.");
    } else {
        ui.label(format!("{} parameters would change:", diff.changes.len()));
        for change in &diff.changes {
            ui.label(format!(
                "{}: {} -> {} {}",
                change.name, change.old, change.new, change.unit
            ));
        }
    }
    if !diff.refused.is_empty() {
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!(
                "{} entries are refused and will not be written:",
                diff.refused.len()
            ),
        );
        for refusal in &diff.refused {
            ui.colored_label(ui.visuals().error_fg_color, refusal.to_string());
        }
    }
    let mut write = false;
    let mut discard = false;
    ui.horizontal(|ui| {
        let count = diff.changes.len();
        write = ui
            .add_enabled(
                count > 0,
                egui::Button::new(format!("Write {count} changes")),
            )
            .clicked();
        discard = ui.button("Discard profile").clicked();
    });
    (write, discard)
}
