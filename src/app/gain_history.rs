//! The gain sets a device has been through, with a cursor for undo and
//! redo. A set is recorded when the device has settled on a new one (no
//! write in flight, no slider held); moving the cursor only happens once
//! the writes that take the device there have been sent, so a cancelled
//! confirmation leaves the history as it was. The timeline of single
//! writes is the session's list of confirmed writes; this keeps whole sets.

/// Each writable non-setpoint parameter's name and value, in device order.
pub type GainSet = Vec<(String, f32)>;

/// The stack of gain sets and where the device is in it.
#[derive(Clone, Debug, Default)]
pub struct GainHistory {
    sets: Vec<GainSet>,
    cursor: usize,
}

impl GainHistory {
    /// Records `current` if it differs from the set at the cursor; a new
    /// set drops the sets that redo would have returned to.
    pub fn observe(&mut self, current: GainSet) {
        if self.sets.get(self.cursor) == Some(&current) {
            return;
        }
        if !self.sets.is_empty() {
            self.sets.truncate(self.cursor + 1);
        }
        self.sets.push(current);
        self.cursor = self.sets.len() - 1;
    }

    pub fn sets(&self) -> &[GainSet] {
        &self.sets
    }

    /// Index of the set the device is in.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The set undo goes back to.
    pub fn undo_target(&self) -> Option<usize> {
        self.cursor.checked_sub(1).filter(|_| !self.sets.is_empty())
    }

    /// The set redo goes forward to.
    pub fn redo_target(&self) -> Option<usize> {
        let next = self.cursor + 1;
        (next < self.sets.len()).then_some(next)
    }

    /// The writes that take a device from `current` to set `index`: each
    /// named parameter whose value differs.
    pub fn changes_to(&self, index: usize, current: &GainSet) -> Vec<(String, f32)> {
        let Some(target) = self.sets.get(index) else {
            return Vec::new();
        };
        target
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

    /// The writes to set `index` were sent: the device is now there.
    pub fn moved_to(&mut self, index: usize) {
        if index < self.sets.len() {
            self.cursor = index;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(kp: f32, ki: f32) -> GainSet {
        vec![("kp".into(), kp), ("ki".into(), ki)]
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
    }

    #[test]
    fn undo_and_redo_step_through_the_sets() {
        let mut history = GainHistory::default();
        history.observe(set(1.0, 1.0));
        history.observe(set(2.0, 1.0));
        history.observe(set(2.0, 3.0));
        assert_eq!(history.cursor(), 2);

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
    fn a_new_set_after_undo_drops_the_redo_branch() {
        let mut history = GainHistory::default();
        history.observe(set(1.0, 1.0));
        history.observe(set(2.0, 1.0));
        history.moved_to(0);
        history.observe(set(5.0, 1.0));
        assert_eq!(history.sets(), &[set(1.0, 1.0), set(5.0, 1.0)]);
        assert_eq!(history.cursor(), 1);
        assert_eq!(history.redo_target(), None);
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
