//! Triggered capture, as on an oscilloscope: watch the samples as they
//! arrive for a channel crossing a level (or a parameter write), then keep
//! the samples from `pre_s` before to `post_s` after the trigger as a
//! [`Capture`] that stays on screen.
//!
//! It runs on the batches as they come off the link, in device time, so a
//! capture is complete and exact whatever the screen is doing. Modes:
//! - single: one capture, then disarmed;
//! - normal: re-arms after each capture;
//! - auto: like normal, and when nothing triggers within the capture's
//!   length it captures anyway (marked as forced), so the screen never
//!   goes stale.

mod edge;

use std::collections::VecDeque;

pub use edge::{Edge, EdgeDetector};

use crate::history::History;
use crate::protocol::SampleBatch;

/// Captures kept; normal and auto modes keep capturing, so the oldest go
/// first and memory and drawing stay bounded.
pub const MAX_CAPTURES: usize = 20;

/// Seconds of samples kept while disarmed, ready for the pre-trigger
/// window of the next arming.
const IDLE_PRE_TRIGGER_S: f64 = 1.0;

/// What starts a capture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TriggerSource {
    /// A channel crossing `level` on `edge`.
    Level {
        /// The channel's index.
        channel: usize,
        /// The level, in the channel's unit.
        level: f32,
        /// Which crossing counts.
        edge: Edge,
    },
    /// Any confirmed parameter write.
    ParameterWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// When a capture is taken, as on an oscilloscope.
pub enum TriggerMode {
    /// One capture, then idle.
    Single,
    /// A capture at every trigger.
    Normal,
    /// A capture at every trigger, or one anyway when none comes in time.
    Auto,
}

impl TriggerMode {
    /// Every mode, in the order the UI lists them.
    pub const ALL: [Self; 3] = [Self::Single, Self::Normal, Self::Auto];

    /// The mode's name as the UI shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Normal => "normal",
            Self::Auto => "auto",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
/// How captures are triggered and how much they keep.
pub struct TriggerSettings {
    /// What starts a capture.
    pub source: TriggerSource,
    /// When captures are taken.
    pub mode: TriggerMode,
    /// Seconds kept before the trigger.
    pub pre_s: f64,
    /// Seconds kept after it.
    pub post_s: f64,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        Self {
            source: TriggerSource::Level {
                channel: 0,
                level: 0.5,
                edge: Edge::Rising,
            },
            mode: TriggerMode::Single,
            pre_s: 0.05,
            post_s: 0.5,
        }
    }
}

/// Samples around one trigger.
#[derive(Debug)]
pub struct Capture {
    /// Counts captures since the app started, from 1.
    pub number: u32,
    /// The samples kept, pre- and post-trigger.
    pub history: History,
    /// Device time of the trigger; the capture is drawn relative to it.
    pub trigger_time: f64,
    /// Nothing triggered: auto mode captured anyway.
    pub forced: bool,
}

/// Where the capture engine stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArmState {
    /// Not armed.
    Idle,
    /// Waiting for the trigger since this device time (unknown until the
    /// first batch after arming).
    Armed {
        /// Device time the wait began, seconds.
        since: Option<f64>,
    },
    /// Triggered at this device time; collecting the post-trigger samples.
    Triggered {
        /// Device time of the trigger, seconds.
        at: f64,
        /// Nothing triggered: auto mode captured anyway.
        forced: bool,
    },
}

/// Watches batches for the trigger and assembles captures.
#[derive(Debug)]
pub struct CaptureEngine {
    channel_count: usize,
    settings: TriggerSettings,
    state: ArmState,
    detector: EdgeDetector,
    /// Batches (and the samples lost before each) reaching back at least
    /// `pre_s` from the newest.
    recent: VecDeque<(SampleBatch, u64)>,
    captures: Vec<Capture>,
    captures_made: u32,
}

impl CaptureEngine {
    /// An idle engine for a device with `channel_count` channels.
    pub fn new(channel_count: usize) -> Self {
        Self {
            channel_count,
            settings: TriggerSettings::default(),
            state: ArmState::Idle,
            detector: EdgeDetector::default(),
            recent: VecDeque::new(),
            captures: Vec::new(),
            captures_made: 0,
        }
    }

    /// The settings of the present or last arming.
    pub fn settings(&self) -> TriggerSettings {
        self.settings
    }

    /// Where the engine stands.
    pub fn state(&self) -> ArmState {
        self.state
    }

    /// Captures kept, oldest first.
    pub fn captures(&self) -> &[Capture] {
        &self.captures
    }

    /// Forgets every capture.
    pub fn clear(&mut self) {
        self.captures.clear();
    }

    /// Starts waiting for a trigger with `settings` (replacing any wait in
    /// progress).
    pub fn arm(&mut self, settings: TriggerSettings) {
        self.settings = TriggerSettings {
            pre_s: settings.pre_s.max(0.0),
            post_s: settings.post_s.max(0.0),
            ..settings
        };
        self.state = ArmState::Armed { since: None };
        self.detector = EdgeDetector::default();
    }

    /// Stops waiting for a trigger; captures are kept.
    pub fn disarm(&mut self) {
        self.state = ArmState::Idle;
    }

    /// A parameter write confirmed at device time `time`.
    pub fn on_write(&mut self, time: f64) {
        if matches!(self.state, ArmState::Armed { .. })
            && self.settings.source == TriggerSource::ParameterWrite
        {
            self.state = ArmState::Triggered {
                at: time,
                forced: false,
            };
        }
    }

    /// Takes the next batch off the link; returns true when it completed a
    /// capture.
    pub fn on_samples(&mut self, batch: &SampleBatch, lost_before: u64) -> bool {
        if batch.channel_count != self.channel_count || batch.is_empty() {
            return false;
        }
        self.recent.push_back((batch.clone(), lost_before));
        let newest = batch.time_of(batch.len() - 1);
        if let ArmState::Armed { since } = self.state {
            let since = since.unwrap_or_else(|| batch.time_of(0));
            self.state = ArmState::Armed { since: Some(since) };
            if lost_before > 0 {
                self.detector = EdgeDetector::default();
            }
            if let TriggerSource::Level {
                channel,
                level,
                edge,
            } = self.settings.source
                && let Some(k) = self.detector.scan(batch, channel, level, edge)
            {
                self.state = ArmState::Triggered {
                    at: batch.time_of(k),
                    forced: false,
                };
            } else if self.settings.mode == TriggerMode::Auto
                && newest - since >= self.settings.pre_s + self.settings.post_s
            {
                self.state = ArmState::Triggered {
                    at: newest,
                    forced: true,
                };
            }
        }
        let completed = match self.state {
            ArmState::Triggered { at, forced } if newest >= at + self.settings.post_s => {
                self.finish_capture(at, forced);
                true
            }
            _ => false,
        };
        self.forget_old_batches(newest);
        completed
    }

    fn finish_capture(&mut self, at: f64, forced: bool) {
        let (start, end) = (at - self.settings.pre_s, at + self.settings.post_s);
        let within = |batch: &SampleBatch| {
            let first = (0..batch.len())
                .position(|k| batch.time_of(k) >= start)
                .unwrap_or(batch.len());
            let last = (0..batch.len())
                .rposition(|k| batch.time_of(k) <= end)
                .map_or(0, |k| k + 1);
            first..last.max(first)
        };
        let total: usize = self
            .recent
            .iter()
            .map(|(batch, _)| within(batch).len())
            .sum();
        let mut history = History::new(self.channel_count, total as u64);
        for (batch, lost_before) in &self.recent {
            let range = within(batch);
            if !range.is_empty() {
                history.push_batch(&batch.slice(range), *lost_before);
            }
        }
        self.captures_made += 1;
        if self.captures.len() >= MAX_CAPTURES {
            self.captures.remove(0);
        }
        self.captures.push(Capture {
            number: self.captures_made,
            history,
            trigger_time: at,
            forced,
        });
        self.state = match self.settings.mode {
            TriggerMode::Single => ArmState::Idle,
            TriggerMode::Normal | TriggerMode::Auto => ArmState::Armed { since: None },
        };
        self.detector = EdgeDetector::default();
    }

    /// Keeps only the batches a capture could still need.
    fn forget_old_batches(&mut self, newest: f64) {
        let keep_from = match self.state {
            // Kept while idle too, so a trigger just after arming still
            // has its pre-trigger samples.
            ArmState::Idle => newest - self.settings.pre_s.max(IDLE_PRE_TRIGGER_S),
            ArmState::Armed { .. } => newest - self.settings.pre_s,
            ArmState::Triggered { at, .. } => at - self.settings.pre_s,
        };
        while let Some((batch, _)) = self.recent.front() {
            if batch.time_of(batch.len().saturating_sub(1)) >= keep_from {
                break;
            }
            self.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches of 100 samples at 1 kHz of one channel following `signal`.
    fn feed(engine: &mut CaptureEngine, seconds: f64, signal: impl Fn(f64) -> f32) -> Vec<u32> {
        let mut completed = Vec::new();
        let batches = (seconds * 10.0) as i64;
        for b in 0..batches {
            let batch = SampleBatch {
                first_tick: b * 100,
                stride: 1,
                tick_hz: 1000.0,
                channel_count: 1,
                values: (0..100)
                    .map(|k| signal((b * 100 + k) as f64 / 1000.0))
                    .collect(),
                exact: None,
            };
            if engine.on_samples(&batch, 0) {
                completed.push(engine.captures().last().map_or(0, |c| c.number));
            }
        }
        completed
    }

    fn square(t: f64) -> f32 {
        // Rises at 0.25, 1.25, 2.25 … and falls at 0.75, 1.75 …
        if (t - 0.25).rem_euclid(1.0) < 0.5 {
            1.0
        } else {
            0.0
        }
    }

    fn settings(mode: TriggerMode, edge: Edge) -> TriggerSettings {
        TriggerSettings {
            source: TriggerSource::Level {
                channel: 0,
                level: 0.5,
                edge,
            },
            mode,
            pre_s: 0.1,
            post_s: 0.2,
        }
    }

    #[test]
    fn single_captures_once_around_the_first_rising_edge() {
        let mut engine = CaptureEngine::new(1);
        engine.arm(settings(TriggerMode::Single, Edge::Rising));
        assert_eq!(feed(&mut engine, 3.0, square), [1]);
        assert_eq!(engine.state(), ArmState::Idle);
        let capture = &engine.captures()[0];
        assert!((capture.trigger_time - 0.25).abs() < 1e-9);
        assert!(!capture.forced);
        let (t0, t1) = capture.history.time_span().expect("samples");
        assert!(
            (t0 - 0.15).abs() < 1e-9 && (t1 - 0.45).abs() < 1e-9,
            "{t0} … {t1}"
        );
        assert_eq!(capture.history.len(), 301);
        // The pre-trigger samples are low, the trigger sample high.
        let trigger = capture.history.first_at_or_after(0.25);
        assert_eq!(capture.history.value(0, trigger - 1), 0.0);
        assert_eq!(capture.history.value(0, trigger), 1.0);
    }

    #[test]
    fn normal_rearms_and_falling_edges_are_found() {
        let mut engine = CaptureEngine::new(1);
        engine.arm(settings(TriggerMode::Normal, Edge::Falling));
        assert_eq!(feed(&mut engine, 3.0, square), [1, 2, 3]);
        let times: Vec<f64> = engine.captures().iter().map(|c| c.trigger_time).collect();
        for (got, want) in times.iter().zip([0.75, 1.75, 2.75]) {
            assert!((got - want).abs() < 1e-9, "{times:?}");
        }
    }

    #[test]
    fn only_the_newest_captures_are_kept() {
        let mut engine = CaptureEngine::new(1);
        engine.arm(settings(TriggerMode::Normal, Edge::Rising));
        let made = feed(&mut engine, MAX_CAPTURES as f64 + 5.0, square);
        assert_eq!(made.len(), MAX_CAPTURES + 5);
        let kept: Vec<u32> = engine.captures().iter().map(|c| c.number).collect();
        assert_eq!(kept, (6..=MAX_CAPTURES as u32 + 5).collect::<Vec<_>>());
    }

    #[test]
    fn auto_captures_without_a_trigger_and_normal_does_not() {
        let mut engine = CaptureEngine::new(1);
        engine.arm(settings(TriggerMode::Normal, Edge::Rising));
        assert!(feed(&mut engine, 2.0, |_| 0.0).is_empty());
        let mut engine = CaptureEngine::new(1);
        engine.arm(settings(TriggerMode::Auto, Edge::Rising));
        assert!(!feed(&mut engine, 2.0, |_| 0.0).is_empty());
        assert!(engine.captures().iter().all(|c| c.forced));
    }

    #[test]
    fn a_parameter_write_triggers() {
        let mut engine = CaptureEngine::new(1);
        engine.arm(TriggerSettings {
            source: TriggerSource::ParameterWrite,
            ..settings(TriggerMode::Single, Edge::Rising)
        });
        assert!(feed(&mut engine, 1.0, square).is_empty());
        engine.on_write(0.9);
        let batch = SampleBatch {
            first_tick: 1000,
            stride: 1,
            tick_hz: 1000.0,
            channel_count: 1,
            values: vec![0.0; 200],
            exact: None,
        };
        assert!(engine.on_samples(&batch, 0));
        let capture = &engine.captures()[0];
        assert!((capture.trigger_time - 0.9).abs() < 1e-9);
        assert_eq!(capture.history.len(), 301);
    }
}
