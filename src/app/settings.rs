//! What the app remembers between launches, kept in eframe's storage
//! (`app.ron` in the user's data folder; eframe writes it on a normal
//! close and every 30 s). Every struct here defaults field by field
//! (`#[serde(default)]`), so a file from an older version loads what it
//! has; one that does not parse at all is reported once, in one line, and
//! the defaults are used: never a crash, and the bad file is replaced at
//! the next save.

use serde::{Deserialize, Serialize};

use super::autotune::AutoTuneSettings;
use super::connection::ConnectionSettings;
use super::recordings::RecordingsSettings;
use super::runs_tab::RunsSettings;
use super::scope::ScopeSettings;
use super::view::ViewSettings;
use super::workspace::Workspace;
use crate::device::remembered::RememberedDevices;
use crate::tuning::StepPlan;
use crate::tuning::write_guard::WriteGuard;

/// The storage key the settings are kept under.
const KEY: &str = "motiontune settings";

/// Everything remembered.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The panes and their sizes.
    pub workspace: Workspace,
    /// The port, its protocol and settings, and the ports used lately.
    pub connection: ConnectionSettings,
    /// Theme and frame rate.
    pub view: ViewSettings,
    /// The step test's plan.
    pub step_plan: StepPlan,
    /// The write rate of a held slider and the most a gain may move in
    /// one write before it asks.
    pub write_guard: WriteGuard,
    /// The profile file last used; empty for the default.
    pub profile_file: String,
    /// The scope's window, channel styles per device, trigger and export
    /// size.
    pub scope: ScopeSettings,
    /// Which runs are compared, and how.
    pub runs: RunsSettings,
    /// The Auto-tune tab's method, rule and speed.
    pub autotune: AutoTuneSettings,
    /// Recordings opened lately.
    pub recordings: RecordingsSettings,
    /// The devices connected when the app closed, offered back at the
    /// next launch (never opened unasked).
    pub devices: RememberedDevices,
}

impl Settings {
    /// The settings in `storage`: the defaults when there are none, and
    /// with the one-line reason when what is there cannot be read.
    pub fn load(storage: Option<&dyn eframe::Storage>) -> (Self, Option<String>) {
        let Some(text) = storage.and_then(|s| s.get_string(KEY)) else {
            return (Self::default(), None);
        };
        match serde_json::from_str::<Self>(&text) {
            Ok(mut settings) => {
                let (workspace, repaired) = settings.workspace.repaired();
                settings.workspace = workspace;
                let note = repaired.map(|what| format!("stored layout repaired: {what}"));
                (settings, note)
            }
            Err(e) => (
                Self::default(),
                Some(format!(
                    "stored settings unreadable ({e}); starting from the defaults"
                )),
            ),
        }
    }

    /// Writes the settings to `storage`.
    pub fn save(&self, storage: &mut dyn eframe::Storage) {
        // Nothing here fails to serialise; were it to, the last good
        // settings stay.
        if let Ok(text) = serde_json::to_string(self) {
            storage.set_string(KEY, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::tuning::write_guard::MaxChange;

    /// Storage in memory, as eframe's file storage behaves.
    #[derive(Default)]
    struct Memory(HashMap<String, String>);

    impl eframe::Storage for Memory {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }

    #[test]
    fn settings_round_trip_through_storage() {
        let mut settings = Settings::default();
        settings.connection.recent.push("/dev/ttyACM0".to_owned());
        settings.step_plan.amplitude = 0.25;
        settings
            .write_guard
            .set_max_change("pos.kp", MaxChange::Factor(3.0));
        let mut storage = Memory::default();
        settings.save(&mut storage);
        let (loaded, problem) = Settings::load(Some(&storage));
        assert_eq!(problem, None);
        assert_eq!(loaded.connection.recent, vec!["/dev/ttyACM0".to_owned()]);
        assert_eq!(loaded.step_plan.amplitude, 0.25);
        assert_eq!(loaded.write_guard, settings.write_guard);
        assert!(loaded.workspace.closed().is_empty());
    }

    #[test]
    fn an_older_file_loads_what_it_has_and_defaults_the_rest() {
        let mut storage = Memory::default();
        storage.0.insert(
            KEY.to_owned(),
            r#"{"connection": {"recent": ["COM3"]}, "a_setting_from_the_future": 1}"#.to_owned(),
        );
        let (loaded, problem) = Settings::load(Some(&storage));
        assert_eq!(problem, None);
        assert_eq!(loaded.connection.recent, vec!["COM3".to_owned()]);
        assert_eq!(loaded.step_plan, StepPlan::default());
    }

    #[test]
    fn a_corrupt_file_is_reported_once_and_the_defaults_used() {
        let mut storage = Memory::default();
        storage
            .0
            .insert(KEY.to_owned(), "{\"workspace\": [1, 2".to_owned());
        let (loaded, problem) = Settings::load(Some(&storage));
        let problem = problem.expect("reported");
        assert!(
            problem.starts_with("stored settings unreadable"),
            "{problem}"
        );
        assert!(!problem.contains('\n'));
        assert!(loaded.connection.recent.is_empty());
    }
}
