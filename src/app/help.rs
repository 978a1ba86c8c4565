//! The *Help* menu and the shortcuts sheet (F1 or `?`): every key the app
//! answers to, in one window.

/// Every shortcut: keys, what they do.
pub const SHORTCUTS: &[(&str, &str)] = &[
    (
        "Esc",
        "Emergency stop: output off, whatever has the keyboard",
    ),
    ("F1 or ?", "This sheet"),
    ("Left, Right", "Scope: pan the frozen view"),
    ("+ and -", "Scope: zoom in and out on time"),
    ("Home or F", "Scope: follow the newest sample again"),
    ("Wheel, drag", "Scope: zoom and pan (the view freezes)"),
    (
        "Click, Shift+click",
        "Scope: place the first and second cursor",
    ),
    ("Double-click", "Scope: reset the view"),
    ("Ctrl+Tab", "Next tab of the pane under the pointer"),
    ("Up, Down", "Console: earlier lines sent"),
    ("Enter", "Console: send the line; a typed value: write it"),
    ("Middle click", "Close a pane's tab"),
];

/// Whether the shortcuts sheet is open.
#[derive(Default)]
pub struct Help {
    open: bool,
}

impl Help {
    /// F1 or `?` (with no text field focused) toggles the sheet.
    pub fn handle_keys(&mut self, ctx: &egui::Context) {
        let typing = ctx.memory(|m| m.focused().is_some());
        let toggle = ctx.input(|i| {
            i.key_pressed(egui::Key::F1) || (!typing && i.key_pressed(egui::Key::Questionmark))
        });
        if toggle {
            self.open = !self.open;
        }
    }

    /// The *Help* menu.
    pub fn menu(&mut self, ui: &mut egui::Ui) {
        ui.menu_button("Help", |ui| {
            if ui.button("Keyboard shortcuts (F1)").clicked() {
                self.open = true;
                ui.close();
            }
            ui.label("The user guide is docs/USER_GUIDE.md beside the program's source.");
        });
    }

    /// The sheet, when open.
    pub fn ui(&mut self, ctx: &egui::Context) {
        egui::Window::new("Keyboard shortcuts")
            .open(&mut self.open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts")
                    .striped(true)
                    .num_columns(2)
                    .show(ui, |ui| {
                        for (keys, what) in SHORTCUTS {
                            ui.strong(*keys);
                            ui.label(*what);
                            ui.end_row();
                        }
                    });
            });
    }
}
