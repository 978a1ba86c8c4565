//! Device time for firmware that sends no timestamps, read off the host's
//! clock: microseconds since the connection opened ([`HOST_TICK_HZ`]), one
//! clock for every host-timed adapter.
//!
//! - Lines a sketch prints by itself (plain text lines, Teleplot, SimpleFOC
//!   monitoring) are placed by [`HostClock`]: a fit of arrival time
//!   against line count, kept for the whole session, that sees through
//!   bursts and hiccups and turns a silence of the device into a gap
//!   ([`HostTimed`] holds the rows while it judges one).
//! - Replies to polls (ODrive) are stamped with their own arrival
//!   ([`ArrivalClock`]).
//!
//! Either way times start at 0, never run backwards, and a gap in time is
//! a silence of the device's, never an artefact of the host's reading.

mod arrival;
mod line;
mod rows;

use std::time::Instant;

pub use arrival::{ArrivalClock, Stamped};
pub use line::{HostClock, Placement};
pub use rows::HostTimed;

/// Ticks per second of the clock host-timed samples are placed on.
pub const HOST_TICK_HZ: f64 = 1_000_000.0;

/// How well host timing is holding up, for the status bar: what a
/// host-timed sample's time is worth.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HostTiming {
    /// Seconds between samples, as fitted to their arrivals (for polled
    /// replies, the poll period).
    pub period_s: f64,
    /// How far arrivals spread behind the fitted line (their 95th
    /// percentile over the last seconds), in seconds: a sample's time may
    /// be off by about this much from when the device sent it. For polled
    /// replies, the polls' round trip (95th percentile).
    pub uncertainty_s: f64,
    /// Silences of the device taken as gaps in time so far.
    pub gaps: u64,
}

/// Microseconds from `origin` to `at` on the host's clock (0 before it).
fn host_micros(origin: Instant, at: Instant) -> i64 {
    at.saturating_duration_since(origin).as_micros() as i64
}
