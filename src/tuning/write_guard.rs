//! The one guard every parameter write passes, whoever asks for it: a
//! slider, a typed value, undo, restore, a profile, auto-tune, the command
//! line. It promises:
//!
//! - a read-only parameter is never written, and a switch or a choice only
//!   with a value it can take (whole kinds are rounded, never clamped: the
//!   device's limits are its own to apply);
//! - undo, restore, profiles and auto-tune move only gains and plain
//!   settings ([`ParamInfo::is_tunable`]): never the setpoint, a mode switch
//!   or a read-only value; each such entry comes back refused, with why;
//! - a write that moves a number further than its limit per write
//!   ([`MaxChange`]) is held for the user's confirmation, never sent by
//!   itself (a switch or a choice has no "how far": the click that picks
//!   its value is the user's act);
//! - a held slider writes at most at the drag rate ([`DragThrottle`]).
//!
//! No egui, no I/O: the app and the command line ask the same guard.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::protocol::{ParamInfo, ParamKind};

/// Writes per second while a slider is held, unless the user sets another.
pub const DEFAULT_DRAG_RATE: f32 = 20.0;
/// Largest factor one write may move a log-scale parameter by.
pub const DEFAULT_LOG_FACTOR: f32 = 3.0;
/// Largest share of its range one write may move a linear parameter by.
pub const DEFAULT_RANGE_PERCENT: f32 = 40.0;

/// Who asks for a write, which decides what it may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOrigin {
    /// The user set this very parameter: a slider, a typed value, a
    /// checkbox, `params NAME=VALUE`. Any writable parameter.
    Edit,
    /// Undo, redo or restoring a gain set.
    GainSet,
    /// Loading a profile.
    Profile,
    /// Gains an auto-tune proposed.
    AutoTune,
}

impl WriteOrigin {
    /// Whether this origin moves only gains and plain settings.
    fn tunable_only(self) -> bool {
        self != Self::Edit
    }
}

/// How far one write may move a parameter before it needs a confirmation.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MaxChange {
    /// New and old within this factor of each other (log-scale parameters).
    Factor(f32),
    /// At most this percentage of the parameter's range.
    PercentOfRange(f32),
}

impl MaxChange {
    /// The default limit for a parameter: a factor for a log-scale one, a share of the range otherwise.
    pub fn default_for(info: &ParamInfo) -> Self {
        if info.flags.log_scale() {
            Self::Factor(DEFAULT_LOG_FACTOR)
        } else {
            Self::PercentOfRange(DEFAULT_RANGE_PERCENT)
        }
    }

    /// Whether a write from `from` to `to` stays within the limit. A factor
    /// says nothing about a move from or to zero: that falls back to the
    /// default share of the range.
    pub fn allows(self, info: &ParamInfo, from: f32, to: f32) -> bool {
        // Float noise from a slider must not turn a limit-sized step into a
        // confirmation.
        const SLACK: f32 = 1.0 + 1e-5;
        let within_share = |percent: f32| {
            let range = (info.max - info.min).abs();
            (to - from).abs() <= range * percent / 100.0 * SLACK
        };
        match self {
            Self::Factor(factor) if from > 0.0 && to > 0.0 => {
                (to / from).max(from / to) <= factor * SLACK
            }
            Self::Factor(_) => within_share(DEFAULT_RANGE_PERCENT),
            Self::PercentOfRange(percent) => within_share(percent),
        }
    }

    /// The limit in words: "x3" or "40 % of its range".
    pub fn describe(self) -> String {
        match self {
            Self::Factor(factor) => format!("a factor of {factor}"),
            Self::PercentOfRange(percent) => format!("{percent} % of its range"),
        }
    }
}

/// A write that exceeds its parameter's limit, for the confirmation.
#[derive(Clone, Debug, PartialEq)]
pub struct LargeChange {
    /// The parameter's index.
    pub index: u8,
    /// Its name.
    pub name: String,
    /// Its value in force, in its unit.
    pub from: f32,
    /// The value asked for.
    pub to: f32,
    /// Its unit.
    pub unit: String,
    /// The limit it exceeds.
    pub limit: MaxChange,
}

impl fmt::Display for LargeChange {
    /// `pos.kp 20 -> 200 A/rad (more than a factor of 3 in one write)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.name, self.from, self.to)?;
        if !self.unit.is_empty() {
            write!(f, " {}", self.unit)?;
        }
        write!(f, " (more than {} in one write)", self.limit.describe())
    }
}

/// A write the guard will not send, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The parameter's name (or index, when the device has no such index).
    pub name: String,
    /// The value asked for.
    pub value: f32,
    /// Why it is refused, in words for the user.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}: {}", self.name, self.value, self.reason)
    }
}

/// What the guard made of a batch of writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Review {
    /// Writes (index, value) that may go out, as the parameter holds them
    /// (whole kinds rounded); includes the large ones.
    pub writes: Vec<(u8, f32)>,
    /// Those of `writes` that need the user's confirmation first.
    pub large: Vec<LargeChange>,
    /// Writes that will not be sent at all.
    pub refused: Vec<Refusal>,
}

impl Review {
    /// Nothing needs a confirmation.
    pub fn is_within_limits(&self) -> bool {
        self.large.is_empty()
    }
}

/// The user's limits on writes; remembered between launches.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WriteGuard {
    /// Writes per second while a slider is held; 0 writes only on release.
    pub drag_rate: f32,
    /// Limits the user changed, by parameter name.
    max_change: HashMap<String, MaxChange>,
}

impl Default for WriteGuard {
    fn default() -> Self {
        Self {
            drag_rate: DEFAULT_DRAG_RATE,
            max_change: HashMap::new(),
        }
    }
}

impl WriteGuard {
    /// The limit in force for a parameter: the user's, or its default.
    pub fn max_change(&self, info: &ParamInfo) -> MaxChange {
        self.max_change
            .get(&info.name)
            .copied()
            .unwrap_or_else(|| MaxChange::default_for(info))
    }

    /// Sets the limit for the parameter named `name`.
    pub fn set_max_change(&mut self, name: &str, limit: MaxChange) {
        self.max_change.insert(name.to_owned(), limit);
    }

    /// Reviews `writes` (index, value) asked for by `origin`, against the
    /// parameters' values in force now.
    pub fn review(
        &self,
        origin: WriteOrigin,
        params: &[ParamInfo],
        writes: &[(u8, f32)],
    ) -> Review {
        let mut review = Review::default();
        for &(index, asked) in writes {
            let Some(info) = params.get(usize::from(index)) else {
                review.refused.push(Refusal {
                    name: format!("parameter {index}"),
                    value: asked,
                    reason: "the device has no such parameter".to_owned(),
                });
                continue;
            };
            if let Some(reason) = refusal_reason(origin, info, asked) {
                review.refused.push(Refusal {
                    name: info.name.clone(),
                    value: asked,
                    reason,
                });
                continue;
            }
            let value = info.fit(asked);
            let limit = self.max_change(info);
            let magnitude = matches!(info.kind, ParamKind::Real | ParamKind::Integer);
            if magnitude && !limit.allows(info, info.value, value) {
                review.large.push(LargeChange {
                    index,
                    name: info.name.clone(),
                    from: info.value,
                    to: value,
                    unit: info.unit.clone(),
                    limit,
                });
            }
            review.writes.push((index, value));
        }
        review
    }
}

/// Why `origin` may not write `value` to `info`, if it may not.
fn refusal_reason(origin: WriteOrigin, info: &ParamInfo, value: f32) -> Option<String> {
    if let Some(reason) = info.role().not_tunable_reason()
        && (origin.tunable_only() || info.flags.read_only())
    {
        return Some(format!("not written: {reason}"));
    }
    if !value.is_finite() {
        return Some("not a finite number".to_owned());
    }
    let whole = value.round();
    match &info.kind {
        ParamKind::Switch if whole != 0.0 && whole != 1.0 => {
            Some("a switch is 0 (off) or 1 (on)".to_owned())
        }
        ParamKind::Choice(names) => {
            let at = whole - info.min;
            (at < 0.0 || at >= names.len() as f32).then(|| {
                format!(
                    "not one of its choices ({} to {})",
                    info.min,
                    info.min + names.len() as f32 - 1.0
                )
            })
        }
        _ => None,
    }
}

/// Paces the writes of a held slider: at most `rate` a second, and the
/// value it ends on is always sent on release.
#[derive(Clone, Debug, Default)]
pub struct DragThrottle {
    /// The parameter being dragged and the value the slider is at.
    held: Option<(u8, f32)>,
    /// The value last sent for it and when.
    last_sent: Option<(f32, Instant)>,
}

impl DragThrottle {
    /// The slider moved to `value` while held; returns the value to send
    /// now, if the rate allows one.
    pub fn drag(&mut self, index: u8, value: f32, now: Instant, rate: f32) -> Option<f32> {
        if self.held.is_some_and(|(held, _)| held != index) {
            self.last_sent = None;
        }
        self.held = Some((index, value));
        if rate <= 0.0 || !rate.is_finite() {
            return None;
        }
        let interval = Duration::from_nanos((1e9 / f64::from(rate)).round() as u64);
        let due = self
            .last_sent
            .is_none_or(|(_, at)| now.saturating_duration_since(at) >= interval);
        if due {
            self.last_sent = Some((value, now));
            Some(value)
        } else {
            None
        }
    }

    /// The slider was let go: returns the value it ended on if that was
    /// not the last one sent.
    pub fn release(&mut self, index: u8) -> Option<f32> {
        let held = self.held.take().filter(|(held, _)| *held == index);
        let last = self.last_sent.take();
        let (_, value) = held?;
        match last {
            Some((sent, _)) if sent == value => None,
            _ => Some(value),
        }
    }

    /// The value to show for `index` while it is held.
    pub fn shown(&self, index: u8) -> Option<f32> {
        self.held
            .filter(|(held, _)| *held == index)
            .map(|(_, value)| value)
    }

    /// Whether a slider is being held.
    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ParamFlags, ParamRole};

    fn param(flags: u8, min: f32, max: f32, value: f32) -> ParamInfo {
        ParamInfo::real("p", "", flags, min, max, value)
    }

    #[test]
    fn log_parameters_are_limited_by_a_factor_and_linear_ones_by_a_share() {
        let gain = param(ParamFlags::LOG_SCALE, 0.0, 1000.0, 20.0);
        let limit = MaxChange::default_for(&gain);
        assert_eq!(limit, MaxChange::Factor(DEFAULT_LOG_FACTOR));
        assert!(limit.allows(&gain, 20.0, 60.0));
        assert!(limit.allows(&gain, 20.0, 20.0 / 3.0));
        assert!(!limit.allows(&gain, 20.0, 61.0));
        assert!(!limit.allows(&gain, 20.0, 6.0));
        // From zero a factor means nothing: the share of the range decides.
        assert!(limit.allows(&gain, 0.0, 400.0));
        assert!(!limit.allows(&gain, 0.0, 401.0));

        let linear = param(0, 0.0, 20.0, 5.0);
        let limit = MaxChange::default_for(&linear);
        assert_eq!(limit, MaxChange::PercentOfRange(DEFAULT_RANGE_PERCENT));
        assert!(limit.allows(&linear, 5.0, 13.0));
        assert!(!limit.allows(&linear, 5.0, 13.5));
    }

    #[test]
    fn the_guard_holds_only_the_writes_over_their_limit() {
        let mut guard = WriteGuard::default();
        let params = vec![
            param(ParamFlags::LOG_SCALE, 0.0, 1000.0, 20.0),
            param(0, 0.0, 20.0, 5.0),
        ];
        let review = guard.review(WriteOrigin::Edit, &params, &[(0, 50.0), (1, 6.0)]);
        assert!(review.is_within_limits());
        assert_eq!(review.writes, vec![(0, 50.0), (1, 6.0)]);
        let review = guard.review(
            WriteOrigin::Edit,
            &params,
            &[(0, 200.0), (1, 6.0), (9, 1.0)],
        );
        assert_eq!(review.large.len(), 1);
        assert_eq!((review.large[0].from, review.large[0].to), (20.0, 200.0));
        assert_eq!(review.writes, vec![(0, 200.0), (1, 6.0)]);
        assert_eq!(review.refused.len(), 1, "no parameter 9");
        assert_eq!(
            review.large[0].to_string(),
            "p 20 -> 200 (more than a factor of 3 in one write)"
        );

        guard.set_max_change("p", MaxChange::Factor(20.0));
        let review = guard.review(WriteOrigin::Edit, &params, &[(0, 200.0)]);
        assert!(review.is_within_limits());
    }

    /// Every role against every origin: only an edit of a writable
    /// parameter, or any origin on a gain or setting, gets through.
    #[test]
    fn only_gains_and_settings_move_with_undo_profiles_and_auto_tune() {
        let guard = WriteGuard::default();
        let mut relay = param(ParamFlags::KIND_SWITCH, 0.0, 1.0, 0.0);
        relay.name = "relay.active".into();
        relay.kind = ParamKind::Switch;
        let cases = [
            (
                param(ParamFlags::TUNING_GAIN, 0.0, 10.0, 1.0),
                ParamRole::Gain,
            ),
            (param(0, 0.0, 10.0, 1.0), ParamRole::Setting),
            (
                param(ParamFlags::SETPOINT, 0.0, 10.0, 1.0),
                ParamRole::Setpoint,
            ),
            (param(ParamFlags::MODE, 0.0, 10.0, 1.0), ParamRole::Mode),
            (relay, ParamRole::Mode),
            (
                param(ParamFlags::READ_ONLY, 0.0, 10.0, 1.0),
                ParamRole::ReadOnly,
            ),
        ];
        let origins = [
            WriteOrigin::Edit,
            WriteOrigin::GainSet,
            WriteOrigin::Profile,
            WriteOrigin::AutoTune,
        ];
        for (info, role) in cases {
            assert_eq!(info.role(), role, "{}", info.name);
            for origin in origins {
                let review = guard.review(origin, std::slice::from_ref(&info), &[(0, 1.0)]);
                let allowed = match role {
                    ParamRole::Gain | ParamRole::Setting => true,
                    ParamRole::ReadOnly => false,
                    ParamRole::Setpoint | ParamRole::Mode => origin == WriteOrigin::Edit,
                };
                assert_eq!(
                    review.writes.len(),
                    usize::from(allowed),
                    "{role:?} {origin:?}"
                );
                assert_eq!(
                    review.refused.len(),
                    usize::from(!allowed),
                    "{role:?} {origin:?}"
                );
            }
        }
    }

    #[test]
    fn whole_kinds_are_rounded_and_switches_and_choices_keep_to_their_values() {
        let guard = WriteGuard::default();
        let params = vec![
            param(0, 0.0, 10_000.0, 100.0).with_kind(ParamKind::Integer),
            param(0, 0.0, 1.0, 0.0).with_kind(ParamKind::Switch),
            param(0, 1.0, 3.0, 1.0).with_kind(ParamKind::Choice(vec![
                "a".into(),
                "b".into(),
                "c".into(),
            ])),
        ];
        let review = guard.review(
            WriteOrigin::Edit,
            &params,
            &[(0, 120.4), (1, 1.0), (1, 2.0), (2, 3.0), (2, 4.0), (2, 0.0)],
        );
        assert_eq!(review.writes, vec![(0, 120.0), (1, 1.0), (2, 3.0)]);
        // The switch's and the choice's whole-range moves need no
        // confirmation; the integer's large one does.
        assert!(review.large.is_empty(), "{:?}", review.large);
        let large = guard.review(WriteOrigin::Edit, &params, &[(0, 9000.0)]);
        assert_eq!(large.large.len(), 1);
        let refused: Vec<String> = review.refused.iter().map(ToString::to_string).collect();
        assert_eq!(
            refused,
            [
                "p = 2: a switch is 0 (off) or 1 (on)",
                "p = 4: not one of its choices (1 to 3)",
                "p = 0: not one of its choices (1 to 3)",
            ]
        );
        let nan = guard.review(WriteOrigin::Edit, &params, &[(0, f32::NAN)]);
        assert!(nan.writes.is_empty() && nan.refused.len() == 1);
    }

    #[test]
    fn a_held_slider_writes_at_most_at_the_rate_and_its_last_value_on_release() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut throttle = DragThrottle::default();
        assert_eq!(throttle.drag(0, 1.0, at(0), 20.0), Some(1.0));
        assert_eq!(throttle.drag(0, 2.0, at(10), 20.0), None);
        assert_eq!(throttle.drag(0, 3.0, at(49), 20.0), None);
        assert_eq!(throttle.shown(0), Some(3.0));
        assert_eq!(throttle.drag(0, 4.0, at(50), 20.0), Some(4.0));
        assert_eq!(throttle.drag(0, 5.0, at(60), 20.0), None);
        assert_eq!(throttle.release(0), Some(5.0));
        assert!(!throttle.is_holding());
        assert_eq!(throttle.shown(0), None);
    }

    #[test]
    fn release_sends_nothing_when_the_last_value_went_out() {
        let now = Instant::now();
        let mut throttle = DragThrottle::default();
        assert_eq!(throttle.drag(2, 1.0, now, 20.0), Some(1.0));
        assert_eq!(throttle.release(2), None);
        assert_eq!(throttle.release(2), None);
    }

    #[test]
    fn a_rate_of_zero_writes_only_on_release() {
        let start = Instant::now();
        let mut throttle = DragThrottle::default();
        for ms in 0..100 {
            let value = ms as f32;
            assert_eq!(
                throttle.drag(1, value, start + Duration::from_millis(ms * 100), 0.0),
                None
            );
        }
        assert_eq!(throttle.release(1), Some(99.0));
    }
}
