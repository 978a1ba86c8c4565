//! Which step runs compare on one axis: runs are grouped by the device
//! they were measured on and the unit of their signal, and a [`RunFilter`]
//! picks one device's group or every run in one unit. A filter always
//! resolves to runs of a single unit, so no overlay mixes turns with
//! radians. A filter naming a group that no longer has runs falls back to
//! the newest run's group rather than showing nothing.

use serde::{Deserialize, Serialize};

use super::StepRun;

/// A device and a signal unit: runs that share both compare directly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunGroup {
    /// The device's name (empty when it was not known).
    pub device: String,
    /// The unit of the reference and feedback.
    pub unit: String,
}

impl RunGroup {
    /// The group `run` belongs to.
    pub fn of(run: &StepRun) -> Self {
        Self {
            device: run.device.clone(),
            unit: run.signal_unit.clone(),
        }
    }

    /// The group as the UI names it: "device · unit".
    pub fn label(&self) -> String {
        let device = if self.device.is_empty() {
            "unknown device"
        } else {
            &self.device
        };
        format!("{device} · {}", unit_label(&self.unit))
    }
}

fn unit_label(unit: &str) -> &str {
    if unit.is_empty() { "no unit" } else { unit }
}

/// The runs shown together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunFilter {
    /// The group of the newest run, whichever it is.
    #[default]
    Newest,
    /// One device's runs in one unit.
    Group(RunGroup),
    /// Every device's runs in one unit.
    Unit(String),
}

impl RunFilter {
    /// The filter as the UI names it.
    pub fn label(&self) -> String {
        match self {
            Self::Newest => "newest run's device".to_owned(),
            Self::Group(group) => group.label(),
            Self::Unit(unit) => format!("every device · {}", unit_label(unit)),
        }
    }

    /// This filter made concrete for `runs`: [`RunFilter::Newest`], or a
    /// group or unit no run has, becomes the newest run's group. `None`
    /// when there are no runs.
    pub fn resolve(&self, runs: &[StepRun]) -> Option<RunFilter> {
        let newest = RunFilter::Group(RunGroup::of(runs.last()?));
        let has_runs = runs.iter().any(|r| self.keeps(r));
        Some(match self {
            Self::Group(_) | Self::Unit(_) if has_runs => self.clone(),
            _ => newest,
        })
    }

    /// Whether `run` passes this (resolved) filter.
    pub fn keeps(&self, run: &StepRun) -> bool {
        match self {
            Self::Newest => false,
            Self::Group(group) => run.device == group.device && run.signal_unit == group.unit,
            Self::Unit(unit) => run.signal_unit == *unit,
        }
    }

    /// The signal unit of the runs this (resolved) filter keeps.
    pub fn unit(&self) -> Option<&str> {
        match self {
            Self::Newest => None,
            Self::Group(group) => Some(&group.unit),
            Self::Unit(unit) => Some(unit),
        }
    }
}

/// Every filter worth offering for `runs`: each device's group, newest
/// first, then each unit that more than one device shares.
pub fn filter_choices(runs: &[StepRun]) -> Vec<RunFilter> {
    let mut groups: Vec<RunGroup> = Vec::new();
    for run in runs.iter().rev() {
        let group = RunGroup::of(run);
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    let mut units: Vec<String> = Vec::new();
    for group in &groups {
        let devices = groups.iter().filter(|g| g.unit == group.unit).count();
        if devices > 1 && !units.contains(&group.unit) {
            units.push(group.unit.clone());
        }
    }
    groups
        .into_iter()
        .map(RunFilter::Group)
        .chain(units.into_iter().map(RunFilter::Unit))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Trace;

    fn run(id: u64, device: &str, unit: &str) -> StepRun {
        StepRun {
            id,
            name: format!("run {id}"),
            visible: true,
            recorded_at: String::new(),
            device: device.into(),
            from: 0.0,
            to: 1.0,
            signal_unit: unit.into(),
            effort_unit: "A".into(),
            gains: Vec::new(),
            metrics: Default::default(),
            error: None,
            source: String::new(),
            trace: Trace::default(),
        }
    }

    fn kept(filter: &RunFilter, runs: &[StepRun]) -> Vec<u64> {
        let resolved = filter.resolve(runs).expect("runs");
        runs.iter()
            .filter(|r| resolved.keeps(r))
            .map(|r| r.id)
            .collect()
    }

    fn bench() -> Vec<StepRun> {
        vec![
            run(1, "sim", "rad"),
            run(2, "ODrive", "turn"),
            run(3, "sim", "rad"),
            run(4, "pty drive", "rad"),
            run(5, "ODrive", "turn"),
        ]
    }

    #[test]
    fn the_default_keeps_the_newest_runs_device_and_unit() {
        assert_eq!(kept(&RunFilter::Newest, &bench()), [2, 5]);
        let mut runs = bench();
        runs.push(run(6, "sim", "rad"));
        assert_eq!(kept(&RunFilter::Newest, &runs), [1, 3, 6]);
        assert_eq!(RunFilter::Newest.resolve(&[]), None);
    }

    #[test]
    fn every_filter_keeps_a_single_unit() {
        let runs = bench();
        for filter in filter_choices(&runs) {
            let resolved = filter.resolve(&runs).expect("runs");
            let units: Vec<&str> = runs
                .iter()
                .filter(|r| resolved.keeps(r))
                .map(|r| r.signal_unit.as_str())
                .collect();
            assert!(!units.is_empty(), "{filter:?} keeps runs");
            assert!(
                units.iter().all(|u| Some(*u) == resolved.unit()),
                "{filter:?}: {units:?}"
            );
        }
    }

    #[test]
    fn choices_list_groups_newest_first_then_shared_units() {
        let labels: Vec<String> = filter_choices(&bench())
            .iter()
            .map(RunFilter::label)
            .collect();
        assert_eq!(
            labels,
            [
                "ODrive · turn",
                "pty drive · rad",
                "sim · rad",
                "every device · rad"
            ]
        );
        let unit = RunFilter::Unit("rad".into());
        assert_eq!(kept(&unit, &bench()), [1, 3, 4]);
    }

    #[test]
    fn a_filter_without_runs_falls_back_to_the_newest_group() {
        let gone = RunFilter::Group(RunGroup {
            device: "deleted drive".into(),
            unit: "mm".into(),
        });
        assert_eq!(kept(&gone, &bench()), [2, 5]);
        let sim = RunFilter::Group(RunGroup::of(&bench()[0]));
        assert_eq!(kept(&sim, &bench()), [1, 3]);
    }
}
