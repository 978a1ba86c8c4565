//! What each pane draws: [`Panes`] lends the workspace the app's panels
//! for one frame and tells `egui_tiles` how panes look and behave (titles,
//! minimum size, which close, tabs on every pane so each can be dragged by
//! its title).

use egui_tiles::{Behavior, SimplificationOptions, TileId, Tiles, UiResponse};

use super::{PANE_MIN, Pane};
use crate::app::autotune::AutoTunePanel;
use crate::app::bode::BodePanel;
use crate::app::console::ConsolePane;
use crate::app::event_log::EventLogPane;
use crate::app::gains::GainsPanel;
use crate::app::recordings::Recordings;
use crate::app::runs_tab::RunsView;
use crate::app::scope::{OtherDevice, Scope};
use crate::app::step_test_tab::StepTestPanel;
use crate::device::session::{DeviceSession, NOT_CONNECTED};
use crate::device::{Console, EventLog};
use crate::record::RunStore;

/// The app's panels, lent to the workspace for a frame.
pub struct Panes<'a> {
    /// The selected device's session, or the shown recording's.
    pub session: Option<&'a mut DeviceSession>,
    /// The other connected devices, read beside the selected one (none
    /// while a recording is shown).
    pub others: Vec<OtherDevice<'a>>,
    /// Why no device is connected: none asked for, or the connection
    /// failed.
    pub not_connected: Option<String>,
    /// The scope.
    pub scope: &'a mut Scope,
    /// Parameters, gain history, profiles, write limits.
    pub gains: &'a mut GainsPanel,
    /// Step test controls.
    pub step_test: &'a mut StepTestPanel,
    /// The Auto-tune tab.
    pub autotune: &'a mut AutoTunePanel,
    /// The Frequency response tab.
    pub bode: &'a mut BodePanel,
    /// Kept step runs.
    pub runs: &'a mut RunStore,
    /// How the runs are shown.
    pub runs_view: &'a mut RunsView,
    /// Why the runs file could not be read or written.
    pub runs_error: Option<&'a str>,
    /// The event log's view.
    pub event_log: &'a mut EventLogPane,
    /// The log of the last session while none is connected.
    pub closed_log: &'a EventLog,
    /// The console's view.
    pub console: &'a mut ConsolePane,
    /// The console of the last session while none is connected.
    pub closed_console: &'a mut Console,
    /// The recordings opened beside the device.
    pub recordings: &'a mut Recordings,
}

impl Panes<'_> {
    fn pane(&mut self, ui: &mut egui::Ui, pane: Pane) {
        match pane {
            Pane::Scope => self.scope.ui(ui, self.session.as_deref_mut(), &self.others),
            Pane::Parameters => match &self.not_connected {
                // Not "waiting for the device" when none will come.
                Some(why) => {
                    ui.colored_label(ui.visuals().warn_fg_color, why);
                }
                None => self.gains.parameters_ui(ui, self.session.as_deref_mut()),
            },
            Pane::GainHistory => self.gains.history_pane_ui(ui, self.session.as_deref_mut()),
            Pane::Channels => {
                self.scope
                    .channels_ui(ui, self.session.as_deref_mut(), &self.others);
            }
            Pane::Trigger => {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.scope.trigger_ui(ui, self.session.as_deref_mut());
                });
            }
            Pane::StepTest => self.step_test_ui(ui),
            Pane::Runs => {
                if let Some(error) = self.runs_error {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                self.runs_view.table_ui(ui, self.runs);
            }
            Pane::AutoTune => self.autotune.ui(
                ui,
                self.session.as_deref_mut(),
                self.runs,
                self.gains,
                self.step_test.plan,
            ),
            Pane::FrequencyResponse => self.bode.ui(ui, self.session.as_deref_mut()),
            Pane::Recordings => self
                .recordings
                .pane_ui(ui, self.runs, &mut self.bode.measurements),
            Pane::EventLog => {
                let log = self
                    .session
                    .as_deref()
                    .map_or(self.closed_log, |s| &s.event_log);
                self.event_log.ui(ui, log);
            }
            Pane::Console => {
                let console = match self.session.as_deref_mut() {
                    Some(session) => &mut session.console,
                    None => &mut *self.closed_console,
                };
                if let Some(line) = self.console.ui(ui, console) {
                    match self.session.as_deref_mut() {
                        Some(session) => session.send_line(&line),
                        None => self.closed_console.not_sent(None, &line, NOT_CONNECTED),
                    }
                }
            }
        }
    }

    /// Step test controls beside the overlay of the shown runs.
    fn step_test_ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::left("step test controls")
            .resizable(false)
            .exact_size(230.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.step_test.ui(ui, self.session.as_deref_mut());
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.runs_view.overlay_ui(ui, self.runs);
        });
    }
}

impl Behavior<Pane> for Panes<'_> {
    fn pane_ui(&mut self, ui: &mut egui::Ui, _tile_id: TileId, pane: &mut Pane) -> UiResponse {
        let pane = *pane;
        // Clipped to the tile: a pane too small for its content is cut at
        // its edge, never drawn over its neighbour.
        ui.set_clip_rect(ui.max_rect());
        egui::Frame::new()
            .inner_margin(egui::Margin::same(4))
            .show(ui, |ui| {
                ui.set_min_size(ui.available_size());
                self.pane(ui, pane);
            });
        UiResponse::None
    }

    fn tab_title_for_pane(&mut self, pane: &Pane) -> egui::WidgetText {
        pane.title().into()
    }

    /// Every pane but the scope closes; the *View* menu reopens it.
    fn is_tab_closable(&self, tiles: &Tiles<Pane>, tile_id: TileId) -> bool {
        tiles
            .get_pane(&tile_id)
            .is_some_and(|pane| *pane != Pane::Scope)
    }

    /// A tab clicked shows its pane in the same frame: egui_tiles lays out
    /// only the active tab, so the frame is drawn once more (egui's
    /// discard) rather than a frame later. The pane's own first pass may
    /// ask for one more (a grid sizing itself): [`super::MAX_PASSES`].
    fn on_tab_button(
        &mut self,
        _tiles: &mut Tiles<Pane>,
        _tile_id: TileId,
        response: egui::Response,
    ) -> egui::Response {
        if response.clicked() {
            response.ctx.request_discard("a tab was chosen");
        }
        response
    }

    fn min_size(&self) -> f32 {
        PANE_MIN
    }

    fn gap_width(&self, _style: &egui::Style) -> f32 {
        super::GAP
    }

    fn simplification_options(&self) -> SimplificationOptions {
        SimplificationOptions {
            all_panes_must_have_tabs: true,
            ..SimplificationOptions::default()
        }
    }
}
