//! The gain sets a device has been through: a timeline that only grows.
//!
//! A set is every gain and plain setting in force
//! ([`DeviceSession::gain_set`](super::DeviceSession::gain_set)), never the
//! setpoint, a mode or a read-only value. One set is marked *in force*.
//! The rules, so that nothing surprises:
//!
//! - When the device settles (no write in flight, no slider held, no
//!   confirmation open) on values that differ from the set in force, they
//!   are appended as a new set: after an edit, a profile, auto-tune or a
//!   change the device made itself. Its *parent* is the set that was in
//!   force before it.
//! - *Restore set N* writes what differs from set N and appends a copy of
//!   it, whose parent is the set it was restored from. Nothing is ever
//!   removed: every set stays listed and can be restored.
//! - *Undo* goes to the parent of the set in force: what was in force
//!   before it came. *Redo* takes an undo back: it goes to the newest set
//!   whose parent is the set in force. Neither appends; they move the
//!   in-force mark along sets already listed.
//! - The mark moves once the writes that go there are sent, so a cancelled
//!   confirmation leaves the history as it was. A device that then settles
//!   elsewhere (it clamped a value) makes a new set, as any change does.
//!
//! The timeline of single writes is the session's list of confirmed
//! writes; this keeps whole sets.

/// Each tunable parameter's name and value, in device order.
pub type GainSet = Vec<(String, f32)>;

/// One set of the timeline and how it came.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedSet {
    pub values: GainSet,
    /// The set in force before this one came; none for the first.
    pub parent: Option<usize>,
    /// The set this one is a restored copy of.
    pub restored_from: Option<usize>,
}

/// The timeline of gain sets and which one is in force.
#[derive(Clone, Debug, Default)]
pub struct GainHistory {
    sets: Vec<RecordedSet>,
    in_force: usize,
}

impl GainHistory {
    /// Appends `current` if it differs from the set in force.
    pub fn observe(&mut self, current: GainSet) {
        if self.sets.get(self.in_force).map(|s| &s.values) == Some(&current) {
            return;
        }
        let parent = (!self.sets.is_empty()).then_some(self.in_force);
        self.append(current, parent, None);
    }

    fn append(&mut self, values: GainSet, parent: Option<usize>, restored_from: Option<usize>) {
        self.sets.push(RecordedSet {
            values,
            parent,
            restored_from,
        });
        self.in_force = self.sets.len() - 1;
    }

    pub fn sets(&self) -> &[RecordedSet] {
        &self.sets
    }

    /// Index of the set the device is in.
    pub fn in_force(&self) -> usize {
        self.in_force
    }

    /// The set undo goes back to: the parent of the set in force.
    pub fn undo_target(&self) -> Option<usize> {
        self.sets.get(self.in_force)?.parent
    }

    /// The set redo goes forward to: the newest set whose parent is the
    /// set in force.
    pub fn redo_target(&self) -> Option<usize> {
        self.sets
            .iter()
            .rposition(|set| set.parent == Some(self.in_force))
    }

    /// The writes that take a device from `current` to set `index`: each
    /// named parameter whose value differs.
    pub fn changes_to(&self, index: usize, current: &GainSet) -> Vec<(String, f32)> {
        let Some(target) = self.sets.get(index) else {
            return Vec::new();
        };
        target
            .values
            .iter()
            .filter(|(name, value)| {
                current
                    .iter()
                    .find(|(n, _)| n == name)
                    .is_none_or(|(_, now)| now != value)
            })
            .cloned()
            .collect()
    }

    /// Undo or redo sent the writes to set `index`: it is in force now.
    pub fn moved_to(&mut self, index: usize) {
        if index < self.sets.len() {
            self.in_force = index;
        }
    }

    /// A restore sent the writes to set `index`: a copy of it is appended
    /// and in force.
    pub fn restored(&mut self, index: usize) {
        if let Some(set) = self.sets.get(index) {
            let values = set.values.clone();
            self.append(values, Some(self.in_force), Some(index));
        }
    }

    /// What set `index` changed from its parent, for its row: "as
    /// connected", "pos.kp 20 -> 50, pos.ki 5 -> 8", "restored set 2:
    /// pos.kp 50 -> 20".
    pub fn describe(&self, index: usize) -> String {
        let Some(set) = self.sets.get(index) else {
            return String::new();
        };
        let Some(parent) = set.parent.and_then(|p| self.sets.get(p)) else {
            return "as connected".to_owned();
        };
        let difference = set_difference(&parent.values, &set.values);
        match set.restored_from {
            Some(from) => format!("restored set {}: {difference}", from + 1),
            None => difference,
        }
    }
}

/// "pos.kp 20 -> 50, pos.ki 5 -> 8": what changed from one set to the next.
fn set_difference(before: &[(String, f32)], after: &[(String, f32)]) -> String {
    let changed: Vec<String> = after
        .iter()
        .filter_map(|(name, value)| {
            let old = before.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            match old {
                Some(old) if old == *value => None,
                Some(old) => Some(format!("{name} {old} -> {value}")),
                None => Some(format!("{name} {value}")),
            }
        })
        .collect();
    if changed.is_empty() {
        "no change".to_owned()
    } else {
        changed.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(kp: f32, ki: f32) -> GainSet {
        vec![("kp".into(), kp), ("ki".into(), ki)]
    }

    fn values(history: &GainHistory) -> Vec<GainSet> {
        history.sets().iter().map(|s| s.values.clone()).collect()
    }

    #[test]
    fn an_empty_history_has_nothing_to_undo_or_redo() {
        let history = GainHistory::default();
        assert_eq!(history.undo_target(), None);
        assert_eq!(history.redo_target(), None);
        assert!(history.changes_to(0, &set(1.0, 1.0)).is_empty());
    }

    #[test]
    fn observing_the_same_set_twice_records_it_once() {
        let mut history = GainHistory::default();
        history.observe(set(1.0, 1.0));
        history.observe(set(1.0, 1.0));
        assert_eq!(history.sets().len(), 1);
        assert_eq!(history.undo_target(), None);
        assert_eq!(history.describe(0), "as connected");
    }

    #[test]
    fn undo_and_redo_step_through_the_sets_without_adding_any() {
        let mut history = GainHistory::default();
        history.observe(set(1.0, 1.0));
        history.observe(set(2.0, 1.0));
        history.observe(set(2.0, 3.0));
        assert_eq!(history.in_force(), 2);
        assert_eq!(history.describe(2), "ki 1 -> 3");

        let back = history.undo_target().expect("something to undo");
        assert_eq!(back, 1);
        assert_eq!(
            history.changes_to(back, &set(2.0, 3.0)),
            vec![("ki".to_owned(), 1.0)]
        );
        history.moved_to(back);
        // The device confirms the undo: the same set, nothing new recorded.
        history.observe(set(2.0, 1.0));
        assert_eq!(history.sets().len(), 3);
        assert_eq!(history.redo_target(), Some(2));

        history.moved_to(0);
        assert_eq!(history.undo_target(), None);
        assert_eq!(history.redo_target(), Some(1));
    }

    #[test]
    fn a_new_set_after_undo_keeps_every_set_and_undo_returns_to_where_it_came_from() {
        let mut history = GainHistory::default();
        history.observe(set(1.0, 1.0));
        history.observe(set(2.0, 1.0));
        history.moved_to(0);
        history.observe(set(5.0, 1.0));
        assert_eq!(
            values(&history),
            [set(1.0, 1.0), set(2.0, 1.0), set(5.0, 1.0)]
        );
        assert_eq!(history.in_force(), 2);
        assert_eq!(history.describe(2), "kp 1 -> 5");
        assert_eq!(history.redo_target(), None);
        // Undo goes back to the set the edit was made on, not the one
        // listed before it; redo from there comes back to the newest edit.
        assert_eq!(history.undo_target(), Some(0));
        history.moved_to(0);
        assert_eq!(history.redo_target(), Some(2));
    }

    #[test]
    fn restoring_appends_a_copy_and_keeps_every_later_set() {
        let mut history = GainHistory::default();
        for kp in [1.0, 2.0, 3.0, 4.0] {
            history.observe(set(kp, 1.0));
        }
        assert_eq!(
            history.changes_to(1, &set(4.0, 1.0)),
            vec![("kp".to_owned(), 2.0)]
        );
        history.restored(1);
        history.observe(set(2.0, 1.0));
        assert_eq!(
            values(&history),
            [
                set(1.0, 1.0),
                set(2.0, 1.0),
                set(3.0, 1.0),
                set(4.0, 1.0),
                set(2.0, 1.0)
            ]
        );
        assert_eq!(history.in_force(), 4);
        assert_eq!(history.describe(4), "restored set 2: kp 4 -> 2");
        // Undo returns to the set the restore left.
        assert_eq!(history.undo_target(), Some(3));
        history.moved_to(3);
        assert_eq!(history.redo_target(), Some(4));
    }

    #[test]
    fn restoring_writes_every_parameter_that_differs() {
        let mut history = GainHistory::default();
        history.observe(set(1.0, 1.0));
        history.observe(set(2.0, 3.0));
        assert_eq!(
            history.changes_to(0, &set(2.0, 3.0)),
            vec![("kp".to_owned(), 1.0), ("ki".to_owned(), 1.0)]
        );
        assert!(history.changes_to(1, &set(2.0, 3.0)).is_empty());
        assert!(history.changes_to(7, &set(2.0, 3.0)).is_empty());
    }
}
