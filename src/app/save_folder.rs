//! Where recordings and exports are saved: the user's documents folder
//! (`~/Documents`, Windows' *Documents*, macOS' *Documents*) until they
//! type or choose (in a native dialog) another, which is remembered across runs in `settings.toml` in
//! the user's config folder. Never the current directory: started from
//! Finder that is `/`, from Explorer the program's own folder.
//!
//! An empty field means the documents folder (shown as the field's hint).
//! A settings file that cannot be read is reported once and left alone
//! until the folder is changed again.

use std::path::{Path, PathBuf};

use super::file_dialog::{Ask, FileDialog};

/// What is kept in the settings file. Unknown keys are ignored and
/// missing ones take their defaults, so older and newer files load.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Settings {
    /// The folder the user chose for recordings and exports.
    save_folder: Option<String>,
}

/// The save folder as the toolbar edits it.
pub struct SaveFolder {
    /// The field's text: the folder chosen, or empty for the default.
    pub text: String,
    /// The folder used when the field is empty.
    default: PathBuf,
    /// What the settings file holds, to write only on a change.
    remembered: String,
    /// Where the choice is kept; `None` keeps it for this run only.
    file: Option<PathBuf>,
    dialog: FileDialog,
}

impl SaveFolder {
    /// The settings file in the user's config folder, where one exists.
    pub fn default_settings_file() -> Option<PathBuf> {
        dirs::config_dir().map(|dir| dir.join("motiontune").join("settings.toml"))
    }

    /// The folder remembered in `file`, or the documents folder. An
    /// unreadable file is returned as a message for the user.
    pub fn load(file: Option<PathBuf>) -> (Self, Option<String>) {
        let default = default_folder();
        let (remembered, error) = match file.as_deref().map(read_settings) {
            Some(Ok(settings)) => (settings.save_folder.unwrap_or_default(), None),
            Some(Err(error)) => (String::new(), Some(error)),
            None => (String::new(), None),
        };
        let folder = Self {
            text: remembered.clone(),
            default,
            remembered,
            file,
            dialog: FileDialog::default(),
        };
        (folder, error)
    }

    /// The folder files go to now.
    pub fn path(&self) -> PathBuf {
        match self.text.trim() {
            "" => self.default.clone(),
            chosen => PathBuf::from(chosen),
        }
    }

    /// The *Browse…* button beside the field; true on the frame a folder
    /// chosen in the dialog replaces the text.
    pub fn browse_ui(&mut self, ui: &mut egui::Ui) -> bool {
        if ui
            .add_enabled(!self.dialog.is_open(), egui::Button::new("…"))
            .on_hover_text("Choose the save folder")
            .accessible_name("Choose the save folder")
            .clicked()
        {
            self.dialog.open(
                Ask::Folder {
                    title: "Save recordings and exports in",
                },
                Some(self.path()),
                ui.ctx(),
            );
        }
        match self.dialog.take() {
            Some(folder) => {
                self.text = folder.display().to_string();
                true
            }
            None => false,
        }
    }

    /// The hint shown in the empty field.
    pub fn hint(&self) -> String {
        format!("save to: {}", self.default.display())
    }

    /// Writes the folder to the settings file if it changed since it was
    /// last written. Fails with a message for the user.
    pub fn remember(&mut self) -> Result<(), String> {
        let chosen = self.text.trim().to_owned();
        if chosen == self.remembered {
            return Ok(());
        }
        let Some(file) = &self.file else {
            return Ok(());
        };
        let settings = Settings {
            save_folder: (!chosen.is_empty()).then(|| chosen.clone()),
        };
        write_settings(file, &settings)?;
        self.remembered = chosen;
        Ok(())
    }
}

/// The documents folder; the home folder where the system names none (a
/// Linux desktop without XDG user folders); the current one only where
/// there is not even a home.
fn default_folder() -> PathBuf {
    dirs::document_dir()
        .or_else(dirs::home_dir)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn read_settings(file: &Path) -> Result<Settings, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            format!(
                "settings file {} is not valid: {}",
                file.display(),
                e.message()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
        Err(e) => Err(format!("cannot read settings file {}: {e}", file.display())),
    }
}

fn write_settings(file: &Path, settings: &Settings) -> Result<(), String> {
    let fail =
        |e: &dyn std::fmt::Display| format!("cannot save settings to {}: {e}", file.display());
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder).map_err(|e| fail(&e))?;
    }
    let text = toml::to_string(settings).map_err(|e| fail(&e))?;
    std::fs::write(file, text).map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_documents_folder_and_never_the_current_one() {
        let (folder, error) = SaveFolder::load(None);
        assert_eq!(error, None);
        assert_eq!(folder.text, "");
        let expected = dirs::document_dir()
            .or_else(dirs::home_dir)
            .expect("a home folder");
        assert_eq!(folder.path(), expected);
        assert!(folder.hint().starts_with("save to: "));
    }

    #[test]
    fn a_changed_folder_is_remembered_for_the_next_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("motiontune").join("settings.toml");
        let (mut folder, _) = SaveFolder::load(Some(file.clone()));
        folder.remember().expect("nothing to write");
        assert!(!file.exists(), "written without a change");

        folder.text = " /bench/runs ".into();
        folder.remember().expect("written");
        assert_eq!(folder.path(), PathBuf::from("/bench/runs"));
        let (again, error) = SaveFolder::load(Some(file.clone()));
        assert_eq!(error, None);
        assert_eq!(again.text, "/bench/runs");
        assert_eq!(again.path(), PathBuf::from("/bench/runs"));

        // Emptied: back to the documents folder, next time too.
        let (mut cleared, _) = SaveFolder::load(Some(file.clone()));
        cleared.text.clear();
        cleared.remember().expect("written");
        let (again, _) = SaveFolder::load(Some(file));
        assert_eq!(again.text, "");
    }

    #[test]
    fn a_broken_settings_file_is_one_message_and_the_default() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("settings.toml");
        std::fs::write(&file, "save_folder = [unclosed").expect("write");
        let (folder, error) = SaveFolder::load(Some(file.clone()));
        let error = error.expect("reported");
        assert!(error.starts_with("settings file "), "{error}");
        assert_eq!(error.lines().count(), 1, "{error}");
        assert_eq!(folder.text, "");
        // Unknown keys from another version are no error.
        std::fs::write(&file, "save_folder = \"/x\"\ntheme = \"dark\"\n").expect("write");
        let (folder, error) = SaveFolder::load(Some(file));
        assert_eq!((folder.text.as_str(), error), ("/x", None));
    }
}
