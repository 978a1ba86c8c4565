//! The workspace: every pane (scope, parameters, gain history, channels,
//! step test, runs, auto-tune, frequency response, event log, console) is a
//! tile the user resizes, drags, tabs and closes ([`egui_tiles`]). Its
//! promises:
//!
//! - the default layout suits 1280×720 and up, and *Reset layout* brings
//!   it back;
//! - the scope never drops below [`SCOPE_MIN`]: when a neighbour is
//!   dragged over it, its share is given back the next frame;
//! - each pane appears exactly once: a closed pane is listed to reopen, and
//!   a stored layout missing a pane (from an older version) gets it back,
//!   one with a pane twice or none is replaced by the default.

mod panes;

use egui_tiles::{Container, Linear, LinearDir, Tile, TileId, Tiles, Tree};
use serde::{Deserialize, Serialize};

pub use self::panes::Panes;

/// The smallest the scope gets, points: room for the toolbar and two
/// readable plots.
pub const SCOPE_MIN: egui::Vec2 = egui::vec2(360.0, 240.0);

/// egui's passes a frame may take: one for a tab click, one for the
/// newly shown pane to size itself, one to draw it.
pub const MAX_PASSES: usize = 3;

/// The gap between tiles, where a drag resizes them, points.
pub const GAP: f32 = 3.0;

/// No pane gets smaller than this in either direction, points: a tab bar
/// and a line of content.
const PANE_MIN: f32 = 60.0;

/// One pane of the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pane {
    /// The live plots.
    Scope,
    /// The device's parameters, profiles and write limits.
    Parameters,
    /// Undo, redo and the gain sets.
    GainHistory,
    /// Channel styles and the XY view's channels.
    Channels,
    /// The trigger, arming and the captures.
    Trigger,
    /// Step test controls and the overlay of runs.
    StepTest,
    /// The table of kept step runs.
    Runs,
    /// Identification and proposed gains.
    AutoTune,
    /// Bode measurements.
    FrequencyResponse,
    /// What happened, with times.
    EventLog,
    /// The device's text, and lines to send.
    Console,
    /// Recordings opened beside the device.
    Recordings,
}

impl Pane {
    /// Every pane, in the order the *View* menu lists them.
    pub const ALL: [Self; 12] = [
        Self::Scope,
        Self::Parameters,
        Self::GainHistory,
        Self::Channels,
        Self::Trigger,
        Self::StepTest,
        Self::Runs,
        Self::AutoTune,
        Self::FrequencyResponse,
        Self::EventLog,
        Self::Console,
        Self::Recordings,
    ];

    /// The pane's tab title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Scope => "Scope",
            Self::Parameters => "Parameters",
            Self::GainHistory => "Gain history",
            Self::Channels => "Channels",
            Self::Trigger => "Trigger",
            Self::StepTest => "Step test",
            Self::Runs => "Runs",
            Self::AutoTune => "Auto-tune",
            Self::FrequencyResponse => "Frequency response",
            Self::EventLog => "Event log",
            Self::Console => "Console",
            Self::Recordings => "Recordings",
        }
    }
}

/// The tiles and where each pane is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Workspace {
    tree: Tree<Pane>,
}

impl Default for Workspace {
    /// Parameters over gain history on the left, the scope in the middle,
    /// its channels over its trigger on the right; below, the procedures in
    /// tabs beside the runs.
    fn default() -> Self {
        let mut tiles = Tiles::default();
        let pane = |tiles: &mut Tiles<Pane>, pane| tiles.insert_pane(pane);
        let parameters = pane(&mut tiles, Pane::Parameters);
        let history = pane(&mut tiles, Pane::GainHistory);
        let left = linear(
            &mut tiles,
            LinearDir::Vertical,
            &[(parameters, 0.62), (history, 0.38)],
        );
        let scope = pane(&mut tiles, Pane::Scope);
        let channels = pane(&mut tiles, Pane::Channels);
        let trigger = pane(&mut tiles, Pane::Trigger);
        let right = linear(
            &mut tiles,
            LinearDir::Vertical,
            &[(channels, 0.5), (trigger, 0.5)],
        );
        let top = linear(
            &mut tiles,
            LinearDir::Horizontal,
            &[(left, 0.24), (scope, 0.54), (right, 0.22)],
        );
        let procedures: Vec<TileId> = [
            Pane::StepTest,
            Pane::AutoTune,
            Pane::FrequencyResponse,
            Pane::EventLog,
            Pane::Console,
            Pane::Recordings,
        ]
        .into_iter()
        .map(|p| pane(&mut tiles, p))
        .collect();
        let procedures = tiles.insert_tab_tile(procedures);
        let runs = pane(&mut tiles, Pane::Runs);
        let bottom = linear(
            &mut tiles,
            LinearDir::Horizontal,
            &[(procedures, 0.64), (runs, 0.36)],
        );
        let root = linear(
            &mut tiles,
            LinearDir::Vertical,
            &[(top, 0.66), (bottom, 0.34)],
        );
        Self {
            tree: Tree::new(egui::Id::unique("workspace"), root, tiles),
        }
    }
}

/// A linear container of `children` with these shares.
fn linear(tiles: &mut Tiles<Pane>, dir: LinearDir, children: &[(TileId, f32)]) -> TileId {
    let mut container = Linear::new(dir, children.iter().map(|(id, _)| *id).collect());
    for &(id, share) in children {
        container.shares.set_share(id, share);
    }
    tiles.insert_container(container)
}

impl Workspace {
    /// A stored workspace made whole: panes it lacks are added, and one
    /// that is not a layout of these panes (a pane twice, no root) is
    /// replaced by the default. Says which, when it did anything.
    pub fn repaired(mut self) -> (Self, Option<String>) {
        let mut seen = Vec::new();
        for tile in self.tree.tiles.tiles() {
            if let Tile::Pane(pane) = tile {
                if seen.contains(pane) {
                    return (Self::default(), Some(format!("{} twice", pane.title())));
                }
                seen.push(*pane);
            }
        }
        if self.tree.root().is_none() || seen.is_empty() {
            return (Self::default(), Some("no panes".to_owned()));
        }
        let missing = self.closed();
        for &pane in &missing {
            self.reopen(pane);
        }
        let note = (!missing.is_empty()).then(|| {
            let names: Vec<&str> = missing.iter().map(|p| p.title()).collect();
            format!("added {}", names.join(", "))
        });
        (self, note)
    }

    /// The panes the user closed.
    pub fn closed(&self) -> Vec<Pane> {
        Pane::ALL
            .into_iter()
            .filter(|pane| self.tree.tiles.find_pane(pane).is_none())
            .collect()
    }

    /// Puts a closed pane back, as a tab beside the scope's neighbours (in
    /// the root's last container), and shows it.
    pub fn reopen(&mut self, pane: Pane) {
        if self.tree.tiles.find_pane(&pane).is_some() {
            self.show(pane);
            return;
        }
        let id = self.tree.tiles.insert_pane(pane);
        let target = self.tree.root().and_then(|root| {
            match self.tree.tiles.get(root) {
                Some(Tile::Container(container)) => container.children().last().copied(),
                _ => None,
            }
            .or(Some(root))
        });
        match target.and_then(|t| self.tree.tiles.get_mut(t)) {
            Some(Tile::Container(container)) => container.add_child(id),
            Some(Tile::Pane(_)) => {
                let target = target.unwrap_or(id);
                let tabs = self.tree.tiles.insert_tab_tile(vec![id]);
                self.wrap_with(target, tabs);
            }
            None => {
                self.tree = Tree::new(
                    egui::Id::unique("workspace"),
                    id,
                    std::mem::take(&mut self.tree.tiles),
                )
            }
        }
        self.show(pane);
    }

    /// Puts `tile` into the tabs `tabs` (which hold other panes), where
    /// `tile` was.
    fn wrap_with(&mut self, tile: TileId, tabs: TileId) {
        let parent = self.tree.tiles.parent_of(tile);
        match parent.and_then(|p| self.tree.tiles.get_mut(p)) {
            Some(Tile::Container(container)) => {
                let _ = container.replace_child(tile, tabs);
            }
            _ => self.tree.root = Some(tabs),
        }
        if let Some(Tile::Container(container)) = self.tree.tiles.get_mut(tabs) {
            container.add_child(tile);
        }
    }

    /// Brings `pane` to the front of its tabs.
    pub fn show(&mut self, pane: Pane) {
        self.tree
            .make_active(|_, tile| matches!(tile, Tile::Pane(p) if *p == pane));
    }

    /// Where `pane` was drawn last frame; `None` when hidden behind a tab
    /// or closed.
    pub fn rect(&self, pane: Pane) -> Option<egui::Rect> {
        let id = self.tree.tiles.find_pane(&pane)?;
        self.tree
            .active_tiles()
            .contains(&id)
            .then(|| self.tree.tiles.rect(id))
            .flatten()
    }

    /// Lays the panes out in `ui`, each drawn by `panes`.
    pub fn ui(&mut self, ui: &mut egui::Ui, panes: &mut Panes<'_>) {
        self.tree.ui(panes, ui);
        self.keep_scope_size();
    }

    /// Gives the scope back its minimum size where a drag took it: along
    /// every linear container above it, its branch grows by what the scope
    /// lacks, the other branches keeping their proportions. Applies from
    /// the next frame.
    fn keep_scope_size(&mut self) {
        let Some(scope) = self.tree.tiles.find_pane(&Pane::Scope) else {
            return;
        };
        let Some(rect) = self.tree.tiles.rect(scope) else {
            return;
        };
        let lacking = SCOPE_MIN - rect.size();
        if lacking.x <= 0.5 && lacking.y <= 0.5 {
            return;
        }
        let mut child = scope;
        while let Some(parent) = self.tree.tiles.parent_of(child) {
            let (Some(parent_rect), Some(child_rect)) =
                (self.tree.tiles.rect(parent), self.tree.tiles.rect(child))
            else {
                break;
            };
            if let Some(Tile::Container(Container::Linear(linear))) =
                self.tree.tiles.get_mut(parent)
            {
                let (lack, size, room) = match linear.dir {
                    LinearDir::Horizontal => (lacking.x, child_rect.width(), parent_rect.width()),
                    LinearDir::Vertical => (lacking.y, child_rect.height(), parent_rect.height()),
                };
                let gaps = GAP * linear.children.len().saturating_sub(1) as f32;
                let available = room - gaps;
                let wanted = size + lack + 1.0;
                if lack > 0.5 && available > wanted {
                    grow_share(linear, child, wanted / available);
                }
            }
            child = parent;
        }
    }
}

/// Sets `child`'s share of `linear` to `fraction` of the whole, the
/// others keeping their proportions.
fn grow_share(linear: &mut Linear, child: TileId, fraction: f32) {
    let others: f32 = linear
        .children
        .iter()
        .filter(|&&c| c != child)
        .map(|&c| linear.shares[c])
        .sum();
    let fraction = fraction.clamp(0.0, 0.95);
    if others > 0.0 {
        linear
            .shares
            .set_share(child, others * fraction / (1.0 - fraction));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_layout_holds_every_pane_once() {
        let workspace = Workspace::default();
        assert!(workspace.closed().is_empty());
        let (_, note) = workspace.repaired();
        assert_eq!(note, None);
    }

    #[test]
    fn a_closed_pane_reopens_once() {
        let mut workspace = Workspace::default();
        let id = workspace
            .tree
            .tiles
            .find_pane(&Pane::Console)
            .expect("console");
        workspace.tree.remove_recursively(id);
        assert_eq!(workspace.closed(), vec![Pane::Console]);
        workspace.reopen(Pane::Console);
        workspace.reopen(Pane::Console);
        assert!(workspace.closed().is_empty());
        let count = workspace
            .tree
            .tiles
            .tiles()
            .filter(|t| matches!(t, Tile::Pane(Pane::Console)))
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn a_stored_layout_with_a_pane_twice_is_replaced() {
        let mut workspace = Workspace::default();
        let extra = workspace.tree.tiles.insert_pane(Pane::Scope);
        let root = workspace.tree.root().expect("a root");
        if let Some(Tile::Container(c)) = workspace.tree.tiles.get_mut(root) {
            c.add_child(extra);
        }
        let (repaired, note) = workspace.repaired();
        assert_eq!(note.as_deref(), Some("Scope twice"));
        assert!(repaired.closed().is_empty());
    }

    #[test]
    fn growing_a_share_gives_the_child_its_fraction() {
        let mut tiles: Tiles<Pane> = Tiles::default();
        let a = tiles.insert_pane(Pane::Scope);
        let b = tiles.insert_pane(Pane::Runs);
        let mut linear = Linear::new(LinearDir::Horizontal, vec![a, b]);
        linear.shares.set_share(a, 0.1);
        linear.shares.set_share(b, 0.9);
        grow_share(&mut linear, a, 0.4);
        let total = linear.shares[a] + linear.shares[b];
        assert!((linear.shares[a] / total - 0.4).abs() < 1e-5);
    }
}
