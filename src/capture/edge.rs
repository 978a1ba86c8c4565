//! Finding where a channel crosses a level, across batch boundaries.

use crate::protocol::SampleBatch;

/// Which crossing of the level triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// Crossing the level upwards.
    Rising,
    /// Crossing the level downwards.
    Falling,
    /// Crossing it either way.
    Either,
}

impl Edge {
    /// Every edge, in the order the UI lists them.
    pub const ALL: [Self; 3] = [Self::Rising, Self::Falling, Self::Either];

    /// The edge's name as the UI shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rising => "rising",
            Self::Falling => "falling",
            Self::Either => "either",
        }
    }

    /// Whether going from `before` to `after` crosses `level` this way: a
    /// rising edge goes from below the level to at or above it.
    pub fn crosses(self, before: f32, after: f32, level: f32) -> bool {
        let rising = before < level && after >= level;
        let falling = before > level && after <= level;
        match self {
            Self::Rising => rising,
            Self::Falling => falling,
            Self::Either => rising || falling,
        }
    }
}

/// Remembers the last value seen so a crossing between two batches is
/// found too. NaN values are skipped: a crossing is never taken across one.
#[derive(Clone, Copy, Debug, Default)]
pub struct EdgeDetector {
    last: Option<f32>,
}

impl EdgeDetector {
    /// The first sample of `batch` at which `channel` crosses `level`.
    pub fn scan(
        &mut self,
        batch: &SampleBatch,
        channel: usize,
        level: f32,
        edge: Edge,
    ) -> Option<usize> {
        if channel >= batch.channel_count {
            return None;
        }
        for k in 0..batch.len() {
            let value = batch.sample(k)[channel];
            if value.is_nan() {
                self.last = None;
                continue;
            }
            let crossed = self
                .last
                .is_some_and(|before| edge.crosses(before, value, level));
            self.last = Some(value);
            if crossed {
                return Some(k);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_by_direction() {
        let cases = [
            (Edge::Rising, 0.0, 1.0, true),
            (Edge::Rising, 1.0, 0.0, false),
            (Edge::Rising, 0.5, 1.0, false),
            (Edge::Rising, 0.0, 0.5, true),
            (Edge::Falling, 1.0, 0.0, true),
            (Edge::Falling, 0.0, 1.0, false),
            (Edge::Either, 0.0, 1.0, true),
            (Edge::Either, 1.0, 0.0, true),
            (Edge::Either, 0.2, 0.3, false),
        ];
        for (edge, before, after, expected) in cases {
            assert_eq!(
                edge.crosses(before, after, 0.5),
                expected,
                "{edge:?} {before} → {after}"
            );
        }
    }

    #[test]
    fn a_crossing_between_batches_is_found_and_nan_is_not_bridged() {
        let batch = |first_tick, values: Vec<f32>| SampleBatch {
            first_tick,
            stride: 1,
            tick_hz: 1000.0,
            channel_count: 1,
            values,
            exact: None,
        };
        let mut detector = EdgeDetector::default();
        assert_eq!(
            detector.scan(&batch(0, vec![0.0, 0.1]), 0, 0.5, Edge::Rising),
            None
        );
        assert_eq!(
            detector.scan(&batch(2, vec![0.9, 0.9]), 0, 0.5, Edge::Rising),
            Some(0)
        );
        let mut detector = EdgeDetector::default();
        assert_eq!(
            detector.scan(&batch(0, vec![0.0, f32::NAN, 1.0]), 0, 0.5, Edge::Rising),
            None
        );
        assert_eq!(
            detector.scan(&batch(0, vec![1.0]), 3, 0.5, Edge::Rising),
            None
        );
    }
}
