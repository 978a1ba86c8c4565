//! From the gains in force to a proposal in increments the write guard
//! lets through one at a time: no single write moves a gain further than
//! its per-write limit (a factor of 3 for a log-scale gain), and the
//! caller measures a step between increments, so a proposal that turns
//! out wrong on the real axis shows itself while the gains are still
//! near the ones that worked. Gains above 0 at both ends move by equal
//! factors; a gain from or to 0 moves in equal amounts.

use crate::protocol::ParamInfo;
use crate::tuning::write_guard::{WriteGuard, WriteOrigin};

/// Most increments a walk may take.
pub const MAX_INCREMENTS: usize = 12;

/// The writes of each increment from `params` (the values in force) to
/// `writes`, the last exactly `writes`; `None` when no walk of
/// [`MAX_INCREMENTS`] or fewer passes the guard, or the guard refuses a
/// write outright.
pub fn gain_walk(params: &[ParamInfo], writes: &[(u8, f32)]) -> Option<Vec<Vec<(u8, f32)>>> {
    let guard = WriteGuard::default();
    let from = |index: u8| params.get(usize::from(index)).map(|p| p.value);
    let starts: Vec<f32> = writes
        .iter()
        .map(|&(i, _)| from(i))
        .collect::<Option<_>>()?;
    (1..=MAX_INCREMENTS).find_map(|n| {
        let increments: Vec<Vec<(u8, f32)>> = (1..=n)
            .map(|k| {
                writes
                    .iter()
                    .zip(&starts)
                    .map(|(&(index, to), &start)| (index, between(start, to, k, n)))
                    .collect()
            })
            .collect();
        let mut current = params.to_vec();
        let passes = increments.iter().all(|increment| {
            let review = guard.review(WriteOrigin::AutoTune, &current, increment);
            for &(index, value) in increment {
                current[usize::from(index)].value = value;
            }
            review.refused.is_empty() && review.large.is_empty()
        });
        passes.then_some(increments)
    })
}

/// Increment `k` of `n` from `from` to `to`.
fn between(from: f32, to: f32, k: usize, n: usize) -> f32 {
    if k == n {
        return to;
    }
    let share = k as f64 / n as f64;
    let (from, to) = (f64::from(from), f64::from(to));
    let value = if from > 0.0 && to > 0.0 {
        from * (to / from).powf(share)
    } else {
        from + (to - from) * share
    };
    value as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ParamFlags;

    fn gains(values: &[f32]) -> Vec<ParamInfo> {
        let flags = ParamFlags::TUNING_GAIN | ParamFlags::LOG_SCALE;
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| ParamInfo::real(&format!("g{i}"), "", flags, 0.0, 1000.0, v))
            .collect()
    }

    #[test]
    fn a_large_proposal_is_walked_in_factors_the_guard_allows() {
        let params = gains(&[0.1667, 0.3333]);
        let walk = gain_walk(&params, &[(0, 0.83), (1, 39.0)]).expect("a walk");
        // 39/0.3333 = 117 needs five factors of at most 3.
        assert_eq!(walk.len(), 5);
        assert_eq!(
            walk.last().expect("a last increment"),
            &vec![(0, 0.83), (1, 39.0)]
        );
        let mut before = [0.1667_f32, 0.3333];
        for increment in &walk {
            for &(index, value) in increment {
                let ratio = value / before[usize::from(index)];
                assert!(ratio <= 3.0 && ratio > 1.0, "{increment:?}");
                before[usize::from(index)] = value;
            }
        }
    }

    #[test]
    fn a_small_proposal_is_one_write_and_a_gain_from_zero_moves_linearly() {
        let params = gains(&[2.0, 0.0]);
        assert_eq!(
            gain_walk(&params, &[(0, 3.0)]).expect("a walk"),
            vec![vec![(0, 3.0)]]
        );
        // From 0 the guard allows 40 % of the range a write: 900 takes 3.
        let walk = gain_walk(&params, &[(1, 900.0)]).expect("a walk");
        assert_eq!(walk.len(), 3);
        assert_eq!(walk[0], vec![(1, 300.0)]);
    }

    #[test]
    fn a_read_only_or_unknown_parameter_is_no_walk() {
        let mut params = gains(&[1.0]);
        params[0].flags = ParamFlags(ParamFlags::READ_ONLY);
        assert_eq!(gain_walk(&params, &[(0, 2.0)]), None);
        assert_eq!(gain_walk(&gains(&[1.0]), &[(3, 2.0)]), None);
    }
}
