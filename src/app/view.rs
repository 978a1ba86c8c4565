//! The *View* menu and what it sets: the theme (following the system by
//! default), the most frames a second the app draws while something moves,
//! *Reset layout*, and the closed panes to reopen.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::workspace::{Pane, Workspace};

/// Light, dark, or as the system says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    /// Follow the system's setting.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

impl Theme {
    const ALL: [Self; 3] = [Self::System, Self::Light, Self::Dark];

    fn label(self) -> &'static str {
        match self {
            Self::System => "Follow the system",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }

    fn preference(self) -> egui::ThemePreference {
        match self {
            Self::System => egui::ThemePreference::System,
            Self::Light => egui::ThemePreference::Light,
            Self::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// The frame rates offered while something on screen moves.
const FRAME_RATES: [u32; 4] = [15, 30, 60, 120];

/// How the app looks and paces itself; remembered between launches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewSettings {
    /// Light or dark.
    pub theme: Theme,
    /// The most frames a second while the plots move.
    pub max_fps: u32,
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            max_fps: 60,
        }
    }
}

impl ViewSettings {
    /// The time between frames while something moves.
    pub fn moving_frame(self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.max_fps.clamp(1, 240)))
    }

    /// Applies the theme to `ctx`.
    pub fn apply(self, ctx: &egui::Context) {
        ctx.set_theme(self.theme.preference());
    }
}

/// The *View* menu.
pub fn menu(ui: &mut egui::Ui, view: &mut ViewSettings, workspace: &mut Workspace) {
    ui.menu_button("View", |ui| {
        if ui
            .button("Reset layout")
            .on_hover_text("Every pane back where it starts, at its starting size")
            .clicked()
        {
            *workspace = Workspace::default();
            ui.close();
        }
        let closed = workspace.closed();
        ui.add_enabled_ui(!closed.is_empty(), |ui| {
            ui.menu_button("Reopen pane", |ui| {
                for pane in closed {
                    if ui.button(pane.title()).clicked() {
                        workspace.reopen(pane);
                        ui.close();
                    }
                }
            });
        });
        ui.menu_button("Show pane", |ui| {
            for pane in Pane::ALL {
                if ui.button(pane.title()).clicked() {
                    workspace.reopen(pane);
                    ui.close();
                }
            }
        });
        ui.separator();
        ui.label("Theme");
        for theme in Theme::ALL {
            if ui
                .radio_value(&mut view.theme, theme, theme.label())
                .changed()
            {
                view.apply(ui.ctx());
            }
        }
        ui.separator();
        ui.label("Frames a second while the plots move");
        ui.horizontal(|ui| {
            for fps in FRAME_RATES {
                ui.radio_value(&mut view.max_fps, fps, fps.to_string())
                    .on_hover_text(
                        "Fewer frames cost less processor; a still view draws only on input",
                    );
            }
        });
    });
}
