//! Safety controls, always in view: the emergency stop (also the Esc key),
//! which sends ENABLE 0 at once, and the output enable toggle; the red
//! banner for a drive fault or watchdog trip; and the guards on parameter
//! writes: the largest change one write may make without a confirmation,
//! and the rate at which a held slider writes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::session::DeviceSession;
use crate::protocol::{ParamInfo, StatusFlags};

/// Red of the emergency stop button.
const STOP_RED: egui::Color32 = egui::Color32::from_rgb(200, 30, 30);

pub fn ui(ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
    let Some(session) = session else {
        ui.label("no device");
        return;
    };
    let connected = session.is_connected();
    let stop = egui::Button::new(
        egui::RichText::new("EMERGENCY STOP")
            .size(20.0)
            .strong()
            .color(egui::Color32::WHITE),
    )
    .fill(STOP_RED)
    .min_size(egui::vec2(200.0, 40.0));
    if ui
        .add_enabled(connected, stop)
        .on_hover_text("Disable the drive's output now (Esc)")
        .clicked()
    {
        session.emergency_stop();
    }

    let enabled = session.output_enabled();
    let (text, turn_on) = if enabled {
        ("Disable output", false)
    } else {
        ("Enable output", true)
    };
    if ui.add_enabled(connected, egui::Button::new(text)).clicked() {
        session.set_enabled(turn_on);
    }
    let state = match session.status {
        Some(flags) if flags.fault() => egui::RichText::new("DRIVE FAULT")
            .strong()
            .color(ui.visuals().error_fg_color),
        Some(flags) if flags.enabled() => egui::RichText::new("OUTPUT ON")
            .strong()
            .color(egui::Color32::from_rgb(230, 160, 0)),
        Some(flags) if flags.watchdog_tripped() => {
            egui::RichText::new("output off (watchdog)").color(ui.visuals().warn_fg_color)
        }
        Some(_) => egui::RichText::new("output off"),
        None => egui::RichText::new("output unknown").weak(),
    };
    ui.label(state);
}

/// Writes per second while a slider is held, unless the user sets another.
pub const DEFAULT_DRAG_RATE: f32 = 20.0;
/// Largest factor one write may move a log-scale parameter by.
pub const DEFAULT_LOG_FACTOR: f32 = 3.0;
/// Largest share of its range one write may move a linear parameter by.
pub const DEFAULT_RANGE_PERCENT: f32 = 40.0;

/// How far one write may move a parameter before it needs a confirmation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxChange {
    /// New and old within this factor of each other (log-scale parameters).
    Factor(f32),
    /// At most this percentage of the parameter's range.
    PercentOfRange(f32),
}

impl MaxChange {
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
}

/// A write that exceeds its parameter's limit, for the confirmation.
#[derive(Clone, Debug, PartialEq)]
pub struct LargeChange {
    pub name: String,
    pub from: f32,
    pub to: f32,
    pub unit: String,
}

/// The user's limits on writes.
#[derive(Clone, Debug)]
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
    pub fn max_change(&self, info: &ParamInfo) -> MaxChange {
        self.max_change
            .get(&info.name)
            .copied()
            .unwrap_or_else(|| MaxChange::default_for(info))
    }

    pub fn set_max_change(&mut self, name: &str, limit: MaxChange) {
        self.max_change.insert(name.to_owned(), limit);
    }

    /// The writes among `writes` (index, value) that exceed their limit,
    /// measured from the device's value now.
    pub fn large_changes(&self, params: &[ParamInfo], writes: &[(u8, f32)]) -> Vec<LargeChange> {
        writes
            .iter()
            .filter_map(|&(index, to)| {
                let info = params.get(index as usize)?;
                (!self.max_change(info).allows(info, info.value, to)).then(|| LargeChange {
                    name: info.name.clone(),
                    from: info.value,
                    to,
                    unit: info.unit.clone(),
                })
            })
            .collect()
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

    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }
}

/// The red banner across the top for a fault or watchdog trip, shown
/// until the user acknowledges it; a new kind of trip shows it again.
#[derive(Debug, Default)]
pub struct FaultBanner {
    acknowledged: u8,
}

const TRIP_FLAGS: u8 = StatusFlags::FAULT | StatusFlags::WATCHDOG;

impl FaultBanner {
    /// Draws the banner as a top panel when there is something to say.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&DeviceSession>) {
        let trips = session.and_then(|s| s.status).map_or(0, |f| f.0) & TRIP_FLAGS;
        if trips == 0 {
            self.acknowledged = 0;
            return;
        }
        if trips & !self.acknowledged == 0 {
            return;
        }
        let flags = StatusFlags(trips);
        let mut what = Vec::new();
        if flags.fault() {
            what.push("DRIVE FAULT: the device reports a fault and has disabled its output.");
        }
        if flags.watchdog_tripped() {
            what.push(
                "WATCHDOG TRIP: the device heard nothing from the app within its watchdog time and disabled its output.",
            );
        }
        egui::Panel::top("fault banner")
            .frame(egui::Frame::new().fill(STOP_RED).inner_margin(8.0))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(
                        egui::RichText::new(what.join("  "))
                            .size(18.0)
                            .strong()
                            .color(egui::Color32::WHITE),
                    );
                    if ui.button("Acknowledge").clicked() {
                        self.acknowledged = trips;
                    }
                });
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ParamFlags;

    fn param(flags: u8, min: f32, max: f32, value: f32) -> ParamInfo {
        ParamInfo {
            name: "p".into(),
            unit: String::new(),
            flags: ParamFlags(flags),
            min,
            max,
            value,
        }
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
    fn the_guard_reports_only_the_writes_over_their_limit() {
        let mut guard = WriteGuard::default();
        let params = vec![
            param(ParamFlags::LOG_SCALE, 0.0, 1000.0, 20.0),
            param(0, 0.0, 20.0, 5.0),
        ];
        assert!(
            guard
                .large_changes(&params, &[(0, 50.0), (1, 6.0)])
                .is_empty()
        );
        let large = guard.large_changes(&params, &[(0, 200.0), (1, 6.0), (9, 1.0)]);
        assert_eq!(large.len(), 1);
        assert_eq!((large[0].from, large[0].to), (20.0, 200.0));

        guard.set_max_change("p", MaxChange::Factor(20.0));
        assert!(guard.large_changes(&params, &[(0, 200.0)]).is_empty());
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
