//! [`HostClock`]: lines a device prints by itself, at a rate of its own,
//! placed on the host's clock by a fit of arrival time against line count
//! that is kept for the whole session.
//!
//! Contract:
//! - Every line pushed is placed once, in order, in evenly strided runs
//!   that continue each other; times are never negative and never run
//!   backwards. The stride changes only when the runs drift more than
//!   half a period from the fit (a history stores one run per stride).
//! - The fit: a line reaches the host at or after the device sent it, so
//!   the last line of each read gives a point (line count, arrival) on or
//!   above the line the device sent along. The fit is the lower envelope
//!   of the last seconds' points: the edge of their lower convex hull over
//!   their mean line count, which is the linear-programming fit of Moon,
//!   Skelly and Towsley ("Estimation and removal of clock skew from
//!   network delay measurements", IEEE INFOCOM 1999). Reads the host made
//!   late (scheduling, a USB hiccup, a burst) lie above it and do not move
//!   it; it is fitted again as points come, so the rate follows the device
//!   all session, not only its first lines.
//! - Lines arriving more than 5 periods (and at least 50 ms) behind the
//!   fit, when one of the 4 reads before them was on time, are held while
//!   the clock judges why. If the lines after them
//!   catch up (more lines than the time allows), they were sent on time
//!   and held up on the way: they are placed on the fit, with no gap. If
//!   they keep arriving as late, at the device's pace, over 3 reads and
//!   20 ms (or 3 periods), the device was silent (a sketch blocking, a
//!   stalled loop): time jumps by the least lateness seen, a gap, and the
//!   fit starts again from those lines.
//! - Lines that fall behind the fit bit by bit, not all at once, come at
//!   a slower rate: the fit starts again from them, without a gap.
//! - The first lines are held until their arrivals give a rate (3 reads
//!   over 50 ms, after the last silence among them), so no line is placed
//!   on a guess; a silence among them is then judged as any other.
//! - [`HostClock::timing`] says how far arrivals spread behind the fit.

use std::collections::VecDeque;
use std::time::Instant;

use super::{HostTiming, host_micros};

/// Lines this many periods behind the fit (and [`STALL_MIN_US`]) are held
/// while the clock judges whether the device fell silent.
const STALL_PERIODS: f64 = 5.0;
const STALL_MIN_US: f64 = 50_000.0;
/// Held lines that keep arriving late over this many reads, and this long
/// (the larger of [`CONFIRM_MIN_US`] and [`CONFIRM_PERIODS`] periods), are
/// judged to follow a silence of the device.
const CONFIRM_READS: usize = 3;
const CONFIRM_MIN_US: f64 = 20_000.0;
const CONFIRM_PERIODS: f64 = 3.0;
/// A read far behind the fit after any of this many reads on time is
/// late all at once (a silence of the device's, maybe), not bit by bit.
const RECENT_READS: usize = 4;
/// However it looks, this many held lines are placed at once.
const MOST_HELD: usize = 1 << 16;
/// Points older than this leave the fit (unless fewer than
/// [`MIN_POINTS`] would stay); never more than [`MAX_POINTS`] are kept.
const WINDOW_US: f64 = 2_000_000.0;
const MIN_POINTS: usize = 8;
const MAX_POINTS: usize = 1024;
/// The fit's own rate needs this many points over this long; before,
/// the period assumed runs through the earliest-arriving point.
const RATE_POINTS: usize = 3;
const RATE_SPAN_US: f64 = 50_000.0;
/// The fit is made again at least every this many points (a point below
/// it, or the window sliding, also changes it).
const REFIT_EVERY: usize = 16;
/// The stride is kept while runs stay within this much of the fit: the
/// larger of [`DRIFT_PERIODS`] periods and [`DRIFT_MIN_US`].
const DRIFT_PERIODS: f64 = 0.5;
const DRIFT_MIN_US: f64 = 200.0;
/// The uncertainty reported: this quantile of how late points arrive.
const UNCERTAINTY_QUANTILE: f64 = 0.95;

/// Where a run of lines sits on the host's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Host tick (µs since the connection opened) of the run's first line.
    pub first_tick: i64,
    /// Microseconds between lines.
    pub stride: u32,
    /// Lines in the run.
    pub count: usize,
}

/// A read's last line: its count since the connection opened and when it
/// arrived, µs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Point {
    x: f64,
    y: f64,
}

/// The line the device sends along: line `x` at `y0 + period·(x − x0)` µs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Fit {
    x0: f64,
    y0: f64,
    period: f64,
}

impl Fit {
    fn at(&self, x: f64) -> f64 {
        self.y0 + self.period * (x - self.x0)
    }
}

/// Reads that arrived late, while the clock judges why.
#[derive(Debug)]
struct Judging {
    first_y: f64,
    points: Vec<Point>,
    /// How far behind the fit each read's last line arrived, µs.
    lateness: Vec<f64>,
}

impl Judging {
    /// Whether the reads follow a silence of the device: late over enough
    /// reads and time, and no longer catching up.
    fn after_silence(&self, period: f64, stall_us: f64) -> bool {
        let (Some(last), Some(&late)) = (self.points.last(), self.lateness.last()) else {
            return false;
        };
        let steady = self
            .lateness
            .iter()
            .rev()
            .nth(1)
            .is_some_and(|&before| (before - late).abs() <= stall_us / 4.0);
        self.points.len() >= CONFIRM_READS
            && last.y - self.first_y >= (CONFIRM_PERIODS * period).max(CONFIRM_MIN_US)
            && steady
    }
}

/// Places lines a device prints by itself; one per connection. See the
/// module documentation.
#[derive(Debug)]
pub struct HostClock {
    origin: Instant,
    /// The period assumed where the arrivals do not say yet, µs: the one
    /// expected, then the last one fitted.
    prior: f64,
    /// The arrivals have given a rate (or one was asked for): lines are
    /// placed as they come, not held until they say it.
    rate_known: bool,
    fit: Option<Fit>,
    /// The fit runs at the period assumed, not yet one of its points'.
    provisional: bool,
    /// Points since the device last fell silent, oldest first.
    points: VecDeque<Point>,
    /// Points added since the fit was made.
    since_fit: usize,
    /// Lines pushed so far.
    lines: f64,
    /// The first line not placed yet: lines are placed in order, so the
    /// ones held are the last `lines - unplaced` pushed.
    unplaced: f64,
    judging: Option<Judging>,
    /// How far behind the fit the last reads placed arrived, µs, newest
    /// last ([`RECENT_READS`] of them).
    recent_late: VecDeque<f64>,
    /// The tick the line after the last run would have, and the stride
    /// the next run tries first.
    chain: Option<(i64, u32)>,
    /// The next run starts at its own time, not where the last one ended.
    after_gap: bool,
    /// The next run takes the assumed period as its stride (a new rate).
    new_rate: bool,
    gaps: u64,
    uncertainty_us: f64,
}

impl HostClock {
    /// A clock that assumes `expected_period_us` until arrivals say
    /// otherwise; it holds the first lines until they give a rate.
    pub fn new(origin: Instant, expected_period_us: u32) -> Self {
        Self {
            origin,
            prior: f64::from(expected_period_us.max(1)),
            rate_known: false,
            fit: None,
            provisional: true,
            points: VecDeque::new(),
            since_fit: 0,
            lines: 0.0,
            unplaced: 0.0,
            judging: None,
            recent_late: VecDeque::new(),
            chain: None,
            after_gap: false,
            new_rate: false,
            gaps: 0,
            uncertainty_us: 0.0,
        }
    }

    /// The period lines are placed at now, µs.
    pub fn period_us(&self) -> u32 {
        self.period().round().clamp(1.0, f64::from(u32::MAX)) as u32
    }

    fn period(&self) -> f64 {
        self.fit.map_or(self.prior, |fit| fit.period)
    }

    /// Whether the arrivals have given a rate yet.
    pub fn rate_known(&self) -> bool {
        self.rate_known
    }

    /// How host timing is holding up (see [`HostTiming`]).
    pub fn timing(&self) -> HostTiming {
        HostTiming {
            period_s: self.period() * 1e-6,
            uncertainty_s: self.uncertainty_us * 1e-6,
            gaps: self.gaps,
        }
    }

    /// Lines pushed and not placed yet.
    pub fn held(&self) -> usize {
        (self.lines - self.unplaced) as usize
    }

    /// The device was asked for another rate, about one line every
    /// `period_us`: lines are spaced by it from the next one on, and the
    /// fit starts again from their arrivals, without a gap.
    pub fn rate_changed(&mut self, period_us: u32) {
        self.prior = f64::from(period_us.max(1));
        self.rate_known = true;
        self.fit = None;
        self.points.clear();
        self.new_rate = true;
    }

    /// `count` lines arrived together at `now`, the last of them the
    /// newest the device had sent; returns the runs placed now (these
    /// lines with any held before them), or none while they are held.
    pub fn push(&mut self, count: usize, now: Instant) -> Vec<Placement> {
        if count == 0 {
            return Vec::new();
        }
        let first_x = self.lines;
        self.lines += count as f64;
        let point = Point {
            x: self.lines - 1.0,
            y: host_micros(self.origin, now) as f64,
        };
        if self.rate_known {
            return self.judge(point, first_x);
        }
        self.add_point(point);
        if self.rate_known {
            // Every read held so far is judged by the rate just found, as
            // if it had been known from the first: a silence among them is
            // a gap too.
            let reads: Vec<Point> = std::mem::take(&mut self.points).into();
            self.fit = None;
            let mut first_x = self.unplaced;
            let mut runs = Vec::new();
            for read in reads {
                runs.extend(self.judge(read, first_x));
                first_x = read.x + 1.0;
            }
            return runs;
        }
        if self.held() >= MOST_HELD {
            return self.place_held(self.lines);
        }
        Vec::new()
    }

    /// Judges a read whose lines are `first_x ..= point.x` against the fit:
    /// placed, or held while a silence is judged.
    fn judge(&mut self, point: Point, first_x: f64) -> Vec<Placement> {
        let end = point.x + 1.0;
        let late = self.fit.map_or(0.0, |fit| point.y - fit.at(point.x));
        let stall_us = (STALL_PERIODS * self.period()).max(STALL_MIN_US);
        match self.judging.take() {
            // Late all at once: the device may have fallen silent. (Late
            // bit by bit is a rate the fit has not caught up with yet.)
            // One read the host made late just before (a busy scheduler)
            // does not make it so: any recent read on time will do.
            None if late > stall_us
                && (self.recent_late.is_empty()
                    || self.recent_late.iter().any(|&l| l <= stall_us / 2.0)) =>
            {
                self.judging = Some(Judging {
                    first_y: point.y,
                    points: vec![point],
                    lateness: vec![late],
                });
                return Vec::new();
            }
            None if late > stall_us => {
                // The device slowed down: the fit starts again from the
                // reads since, without a gap.
                if let Some(fit) = self.fit {
                    self.points.retain(|p| p.y - fit.at(p.x) > stall_us / 4.0);
                }
                self.add_point(point);
                self.refit();
            }
            None => self.add_point(point),
            Some(mut judging) => {
                let before = judging.lateness.last().copied().unwrap_or(late);
                if late > before + stall_us / 2.0 && self.held() < MOST_HELD {
                    // Later still: the reads judged so far followed one
                    // silence, and this one another.
                    self.fall_silent(&judging);
                    let mut runs = self.place_held(first_x);
                    runs.extend(self.judge(point, first_x));
                    return runs;
                }
                judging.points.push(point);
                judging.lateness.push(late);
                if late <= stall_us / 2.0 {
                    // Caught up: held up on the way, sent on time.
                } else if judging.after_silence(self.period(), stall_us) || self.held() >= MOST_HELD
                {
                    self.fall_silent(&judging);
                    return self.place_held(end);
                } else {
                    self.judging = Some(judging);
                    return Vec::new();
                }
                judging.points.iter().for_each(|&p| self.add_point(p));
            }
        }
        if self.recent_late.len() == RECENT_READS {
            self.recent_late.pop_front();
        }
        self.recent_late
            .push_back(self.fit.map_or(0.0, |fit| point.y - fit.at(point.x)));
        self.place_held(end)
    }

    /// The reads judged followed a silence of the device: time jumps to
    /// them, a gap, and the fit starts again from them at the rate it had.
    fn fall_silent(&mut self, judging: &Judging) {
        self.gaps += 1;
        self.after_gap = true;
        self.points.clear();
        self.fit = None;
        judging.points.iter().for_each(|&p| self.add_point(p));
    }

    /// Places the lines held, on the fit as it is: the stream changes
    /// before a silence is judged, or a rate is known.
    pub fn release_held(&mut self) -> Vec<Placement> {
        if let Some(judging) = self.judging.take() {
            judging.points.iter().for_each(|&p| self.add_point(p));
        }
        if self.held() == 0 {
            return Vec::new();
        }
        self.place_held(self.lines)
    }

    fn add_point(&mut self, point: Point) {
        let below = self.fit.is_none_or(|fit| point.y < fit.at(point.x));
        self.points.push_back(point);
        while self.points.len() > MAX_POINTS
            || (self.points.len() > MIN_POINTS
                && self
                    .points
                    .front()
                    .is_some_and(|oldest| point.y - oldest.y > WINDOW_US))
        {
            self.points.pop_front();
        }
        self.since_fit += 1;
        // Every point while the window is young, then now and then.
        let young = self.points.len() < 4 * REFIT_EVERY;
        if below || self.provisional || young || self.since_fit >= REFIT_EVERY {
            self.refit();
        }
    }

    fn refit(&mut self) {
        self.since_fit = 0;
        let all = self.points.make_contiguous();
        // Before a rate is known a silence among the first reads is not
        // judged yet: the rate comes from the reads after it alone.
        let points = match self.rate_known {
            true => &all[..],
            false => &all[since_silence(all)..],
        };
        let (Some(&oldest), Some(&newest)) = (points.first(), points.last()) else {
            return;
        };
        let enough = points.len() >= RATE_POINTS && newest.y - oldest.y >= RATE_SPAN_US;
        let fit = match enough.then(|| envelope_fit(points)).flatten() {
            Some(fit) => {
                self.prior = fit.period;
                self.rate_known = true;
                self.provisional = false;
                fit
            }
            None => {
                // The rate assumed, through the point that arrived earliest
                // for its count: every point on or above it.
                let prior = self.prior;
                self.provisional = true;
                let lowest = points
                    .iter()
                    .min_by(|a, b| (a.y - prior * a.x).total_cmp(&(b.y - prior * b.x)))
                    .copied()
                    .unwrap_or(newest);
                Fit {
                    x0: lowest.x,
                    y0: lowest.y,
                    period: prior,
                }
            }
        };
        self.fit = Some(fit);
        let mut late: Vec<f64> = points.iter().map(|p| p.y - fit.at(p.x)).collect();
        let rank = ((late.len() - 1) as f64 * UNCERTAINTY_QUANTILE).round() as usize;
        let (_, &mut quantile, _) = late.select_nth_unstable_by(rank, f64::total_cmp);
        self.uncertainty_us = quantile.max(0.0);
    }

    /// Places the lines not placed yet up to (not including) line `end`:
    /// one run, or two when the first lines of all were sent before the
    /// port opened.
    fn place_held(&mut self, end: f64) -> Vec<Placement> {
        let first_x = self.unplaced;
        let count = (end - first_x) as usize;
        self.unplaced = end;
        if count == 0 {
            return Vec::new();
        }
        let fit = self.fit.unwrap_or(Fit {
            x0: 0.0,
            y0: 0.0,
            period: self.prior,
        });
        let Some((next_tick, preferred)) = self.chain.filter(|_| !self.after_gap) else {
            // The first run, or the first after a silence: at its own time,
            // but never before 0 or the end of the last run. Lines that
            // would be earlier (sent before the port opened) are squeezed
            // in after it, in a run of their own.
            self.after_gap = false;
            let earliest = self.chain.map_or(0.0, |(next_tick, _)| next_tick as f64);
            let early = ((earliest - fit.at(first_x)) / fit.period).ceil();
            let early = (early.max(0.0) as usize).min(count);
            let mut runs = Vec::new();
            if early > 0 {
                let end = fit.at(first_x + early as f64).max(earliest + early as f64);
                let stride = (end - earliest) / early as f64;
                runs.push(self.run(earliest.round() as i64, stride, early, Some(fit.period)));
            }
            if early < count {
                let own = fit.at(first_x + early as f64).round() as i64;
                let first_tick = match self.chain {
                    // Straight after the squeezed lines.
                    Some((next, _)) if early > 0 => next,
                    Some((next, _)) => own.max(next),
                    None => own.max(0),
                };
                runs.push(self.run(first_tick, fit.period, count - early, None));
            }
            self.new_rate = false;
            return runs;
        };
        // Where the line after this run belongs, and how far each stride
        // would leave the run from it.
        let lines = count as f64;
        let next_at = fit.at(first_x + lines);
        let drift = |stride: f64| next_tick as f64 + lines * stride - next_at;
        let tolerance = (DRIFT_PERIODS * fit.period).max(DRIFT_MIN_US);
        // Toward the fit by less than a microsecond a line.
        let steer = |drift: f64| {
            if drift > 0.0 {
                fit.period.floor()
            } else {
                fit.period.ceil()
            }
        };
        let preferred = f64::from(preferred);
        let (stride, closing) = if self.new_rate {
            (fit.period, None)
        } else if drift(preferred).abs() <= tolerance {
            (preferred, None)
        } else if drift(preferred).abs() <= 3.0 * tolerance {
            (steer(drift(preferred)), None)
        } else {
            // Far off (the fit moved): this run alone closes the distance.
            let closing = (next_at - next_tick as f64) / lines;
            let closing = closing.clamp(fit.period / 4.0, fit.period * 4.0);
            (closing, Some(fit.period))
        };
        self.new_rate = false;
        vec![self.run(next_tick, stride, count, closing)]
    }

    /// A run of `count` lines from `first_tick`; the next run tries its
    /// stride first, or the period after a `closing` run.
    fn run(
        &mut self,
        first_tick: i64,
        stride: f64,
        count: usize,
        closing: Option<f64>,
    ) -> Placement {
        let stride = stride.round().clamp(1.0, f64::from(u32::MAX)) as u32;
        let preferred = closing.map_or(stride, |period| {
            period.round().clamp(1.0, f64::from(u32::MAX)) as u32
        });
        self.chain = Some((first_tick + count as i64 * i64::from(stride), preferred));
        Placement {
            first_tick,
            stride,
            count,
        }
    }
}

/// Where the reads after the last silence among `points` start (0 for
/// none): a gap between two reads of over [`STALL_MIN_US`] and
/// [`STALL_PERIODS`] times the pace of the reads after it (two at least),
/// per line. A USB hiccup's lines come at once, at that pace: no silence.
fn since_silence(points: &[Point]) -> usize {
    let Some(&last) = points.last() else {
        return 0;
    };
    (1..points.len().saturating_sub(1))
        .rev()
        .find(|&i| {
            let (before, first) = (points[i - 1], points[i]);
            let gap = first.y - before.y;
            let pace = (last.y - first.y) / (last.x - first.x);
            gap > STALL_MIN_US && pace > 0.0 && gap / (first.x - before.x) > STALL_PERIODS * pace
        })
        .unwrap_or(0)
}

/// The lower-envelope fit of `points` (sorted by count): the edge of their
/// lower convex hull over their mean count, if its slope is a period.
fn envelope_fit(points: &[Point]) -> Option<Fit> {
    let mut hull: Vec<Point> = Vec::with_capacity(points.len());
    for &p in points {
        while let [.., a, b] = hull[..] {
            // `b` is dropped when it lies on or above the chord from `a`.
            if (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x) <= 0.0 {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    let mean = points.iter().map(|p| p.x).sum::<f64>() / points.len() as f64;
    let edge = hull.windows(2).find(|w| w[1].x >= mean)?;
    let period = (edge[1].y - edge[0].y) / (edge[1].x - edge[0].x);
    (period.is_finite() && period > 0.0).then_some(Fit {
        x0: edge[0].x,
        y0: edge[0].y,
        period,
    })
}

#[cfg(test)]
mod tests;
