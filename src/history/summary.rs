//! The multi-level min/max summary of one channel: level 1 holds the min and
//! max of every block of [`FANOUT`] samples, level 2 of every
//! [`FANOUT`]² samples, and so on. Blocks are aligned on absolute sample
//! indices, so eviction at the front never shifts them.
//!
//! The min and max of any index range then take at most about
//! 2·[`FANOUT`] lookups per level: O(log n), whatever the range's length.
//! NaN samples are ignored (a block of only NaN has no extremes); the store
//! tracks them as gaps.

use std::collections::VecDeque;

/// Samples (or lower-level blocks) per block.
pub const FANOUT: u64 = 16;

/// The extremes of a set of samples; empty when `min > max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinMax {
    /// The lowest sample.
    pub min: f32,
    /// The highest sample.
    pub max: f32,
}

impl MinMax {
    /// Holds nothing yet: every sample widens it.
    pub const EMPTY: Self = Self {
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
    };

    /// Whether it holds no sample.
    pub fn is_empty(&self) -> bool {
        self.min > self.max
    }

    /// Widens to include `value`; NaN changes nothing (it compares false),
    /// and the plain comparison compiles to single min/max instructions.
    #[inline]
    pub fn add(&mut self, value: f32) {
        self.min = if value < self.min { value } else { self.min };
        self.max = if value > self.max { value } else { self.max };
    }

    #[inline]
    /// Widens it to hold `other` too.
    pub fn merge(&mut self, other: Self) {
        self.min = if other.min < self.min {
            other.min
        } else {
            self.min
        };
        self.max = if other.max > self.max {
            other.max
        } else {
            self.max
        };
    }
}

/// One level: the extremes of consecutive blocks, the first of which is
/// block number `first_block`.
#[derive(Debug)]
struct Level {
    block_len: u64,
    first_block: u64,
    blocks: VecDeque<MinMax>,
}

/// The summary levels of one channel.
#[derive(Debug)]
pub struct Summary {
    levels: Vec<Level>,
}

impl Summary {
    /// Enough levels that a history of at most `capacity` samples has at
    /// most [`FANOUT`] blocks on the top level; the memory for a full
    /// history is taken now, so it never grows.
    pub fn new(capacity: u64) -> Self {
        let mut levels = Vec::new();
        let mut block_len = FANOUT;
        loop {
            // A range of `capacity` samples touches at most this many blocks.
            let most_blocks = capacity / block_len + 2;
            levels.push(Level {
                block_len,
                first_block: 0,
                blocks: VecDeque::with_capacity(most_blocks as usize),
            });
            if block_len.saturating_mul(FANOUT) > capacity {
                break;
            }
            block_len *= FANOUT;
        }
        Self { levels }
    }

    /// Takes the value of the sample at absolute `index` (the next one
    /// after the last pushed).
    #[inline]
    pub fn push(&mut self, index: u64, value: f32) {
        for level in &mut self.levels {
            let block = index / level.block_len;
            if level.blocks.is_empty() {
                level.first_block = block;
            }
            if block >= level.first_block + level.blocks.len() as u64 {
                level.blocks.push_back(MinMax::EMPTY);
            }
            if let Some(last) = level.blocks.back_mut() {
                last.add(value);
            }
        }
    }

    /// Forgets blocks that end at or before `first_kept`.
    pub fn evict_before(&mut self, first_kept: u64) {
        for level in &mut self.levels {
            while !level.blocks.is_empty()
                && (level.first_block + 1) * level.block_len <= first_kept
            {
                level.blocks.pop_front();
                level.first_block += 1;
            }
        }
    }

    /// The extremes of samples `[start, end)`, asking `raw` for the
    /// extremes of the samples themselves at the unaligned edges (each such
    /// request lies within one block of [`FANOUT`] samples, unless the
    /// whole range is short). Every block used lies wholly inside the
    /// range, so a block partly evicted is never read.
    pub fn range(&self, start: u64, end: u64, raw: impl Fn(u64, u64) -> MinMax) -> MinMax {
        let mut result = MinMax::EMPTY;
        if start >= end {
            return result;
        }
        // Short ranges: reading the samples is cheaper than walking levels.
        if end - start <= 2 * FANOUT {
            return raw(start, end);
        }
        // Walk up from the samples: at each level, take the unaligned ends
        // one unit at a time, then continue with the aligned middle.
        let mut low = start;
        let mut high = end;
        let mut unit = 1;
        let mut level_index = 0;
        loop {
            let next_unit = unit * FANOUT;
            let is_top = level_index == self.levels.len();
            let aligned_low = if is_top {
                high
            } else {
                low.div_ceil(next_unit) * next_unit
            };
            let aligned_high = if is_top {
                high
            } else {
                high / next_unit * next_unit
            };
            if aligned_low >= aligned_high || is_top {
                // No whole higher block fits: finish at this level.
                self.add_units(level_index, low, high, unit, &raw, &mut result);
                return result;
            }
            self.add_units(level_index, low, aligned_low, unit, &raw, &mut result);
            self.add_units(level_index, aligned_high, high, unit, &raw, &mut result);
            low = aligned_low;
            high = aligned_high;
            unit = next_unit;
            level_index += 1;
        }
    }

    /// Adds the units `[from, to)` of one level (0 is the samples).
    fn add_units(
        &self,
        level_index: usize,
        from: u64,
        to: u64,
        unit: u64,
        raw: &impl Fn(u64, u64) -> MinMax,
        result: &mut MinMax,
    ) {
        if level_index == 0 {
            if from < to {
                result.merge(raw(from, to));
            }
            return;
        }
        let Some(level) = self.levels.get(level_index - 1) else {
            return;
        };
        // Blocks `[from / unit, to / unit)`, read as a slice range.
        let first = (from / unit).saturating_sub(level.first_block) as usize;
        let last = ((to / unit).saturating_sub(level.first_block) as usize).min(level.blocks.len());
        if first < last {
            for extremes in level.blocks.range(first..last) {
                result.merge(*extremes);
            }
        }
    }

    /// Bytes held by the levels.
    pub fn bytes_used(&self) -> usize {
        self.levels
            .iter()
            .map(|level| level.blocks.capacity() * std::mem::size_of::<MinMax>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(values: &[f32], start: u64, end: u64) -> MinMax {
        let mut result = MinMax::EMPTY;
        for &v in &values[start as usize..end as usize] {
            result.add(v);
        }
        result
    }

    #[test]
    fn every_range_matches_a_linear_scan() {
        let n = 20_000u64;
        let values: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1013) as f32 - 500.0 + if i % 997 == 0 { f32::NAN } else { 0.0 })
            .collect();
        let mut summary = Summary::new(n);
        for (i, &v) in values.iter().enumerate() {
            summary.push(i as u64, v);
        }
        let raw = |start: u64, end: u64| naive(&values, start, end);
        let mut state = 12345u64;
        for _ in 0..3000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = (state >> 33) % n;
            let b = (state >> 13) % (n + 1);
            let (start, end) = (a.min(b), a.max(b));
            assert_eq!(
                summary.range(start, end, raw),
                naive(&values, start, end),
                "[{start}, {end})"
            );
        }
        assert_eq!(summary.range(0, n, raw), naive(&values, 0, n));
    }

    #[test]
    fn eviction_never_reads_a_partly_evicted_block() {
        let n = 10_000u64;
        let mut summary = Summary::new(n);
        for i in 0..n {
            // The evicted samples hold the extremes.
            summary.push(i, if i < 5000 { 1000.0 } else { (i % 10) as f32 });
        }
        summary.evict_before(5000);
        let raw = |start: u64, end: u64| {
            let mut result = MinMax::EMPTY;
            (start..end).for_each(|i| result.add((i % 10) as f32));
            result
        };
        assert_eq!(summary.range(5000, n, raw), MinMax { min: 0.0, max: 9.0 });
        assert_eq!(
            summary.range(5003, 9000, raw),
            MinMax { min: 0.0, max: 9.0 }
        );
    }

    #[test]
    fn only_nan_is_empty() {
        let mut summary = Summary::new(100);
        for i in 0..100 {
            summary.push(i, f32::NAN);
        }
        assert!(
            summary
                .range(0, 100, |_, _| MinMax {
                    min: f32::NAN,
                    max: f32::NAN
                })
                .is_empty()
        );
    }
}
