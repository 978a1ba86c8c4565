//! A device's own clock mapped onto the host's, from when its samples
//! arrive, so several devices' samples share one time axis.
//!
//! A sample cannot reach the host before the device took it: its arrival
//! minus its device time is the clocks' offset plus a delay that is never
//! negative (the wire, the USB poll, the link's batching). The smallest
//! such difference seen is the offset with the least delay in it, and the
//! estimate only gets better as arrivals come. What it cannot see is the
//! shortest delay itself (a USB full-speed poll is 1 ms), nor a device
//! clock that runs slower than the host's, which shows as arrivals
//! spreading further behind the estimate; both are why [`Alignment`]
//! states how far the estimate moved and how far arrivals spread.
//!
//! The link thread stamps each batch as its bytes are read
//! ([`super::LinkHealth::host_alignment`]), on one clock for every link
//! of the process ([`host_seconds`]).

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::Instant;

/// Arrivals the spread is taken over: the newest, a few seconds of stream.
const SPREAD_OVER: usize = 4096;

/// The host clock every device is mapped onto: seconds since the process
/// first asked for it.
pub fn host_seconds() -> f64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// One device's clock against the host's.
#[derive(Clone, Debug, Default)]
pub struct HostAlignment {
    /// The first estimate, for how far it moved.
    first: Option<f64>,
    offset: Option<f64>,
    /// The newest arrivals' differences, arrival minus device time (one
    /// per batch), at most [`SPREAD_OVER`].
    delays: VecDeque<f64>,
}

/// How well a device's clock was mapped onto the host's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Alignment {
    /// Host time minus device time, seconds.
    pub offset_s: f64,
    /// How much earlier the final estimate put the device than the first
    /// one did: the most a time mapped early on is late by, against the
    /// final estimate.
    pub settled_s: f64,
    /// How far the newest arrivals (a few thousand batches) came behind
    /// the final estimate, 95th percentile: the spread of the delay the
    /// estimate sees through.
    pub spread_s: f64,
}

impl HostAlignment {
    /// A sample taken at `device_s` on the device's clock reached the
    /// host at `arrival_s` on the host's.
    pub fn observe(&mut self, arrival_s: f64, device_s: f64) {
        let difference = arrival_s - device_s;
        if !difference.is_finite() {
            return;
        }
        let offset = self.offset.map_or(difference, |o| o.min(difference));
        self.first.get_or_insert(offset);
        self.offset = Some(offset);
        if self.delays.len() == SPREAD_OVER {
            self.delays.pop_front();
        }
        self.delays.push_back(difference);
    }

    /// Host time minus device time as estimated so far; `None` before the
    /// first arrival.
    pub fn offset_s(&self) -> Option<f64> {
        self.offset
    }

    /// The mapping and its uncertainty; `None` before the first arrival.
    pub fn alignment(&self) -> Option<Alignment> {
        let (first, offset) = (self.first?, self.offset?);
        let mut delays: Vec<f64> = self.delays.iter().map(|d| d - offset).collect();
        delays.sort_by(f64::total_cmp);
        let at = ((delays.len() as f64 - 1.0) * 0.95).round() as usize;
        Some(Alignment {
            offset_s: offset,
            settled_s: first - offset,
            spread_s: delays.get(at).copied().unwrap_or(0.0),
        })
    }
}

impl Alignment {
    /// In a few words, in milliseconds: `offset 1234.5 ms, settled 0.8 ms,
    /// arrivals within 2.1 ms`.
    pub fn describe(&self) -> String {
        format!(
            "offset {:.1} ms, settled by {:.1} ms, arrivals within {:.1} ms",
            self.offset_s * 1e3,
            self.settled_s * 1e3,
            self.spread_s * 1e3
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_delayed_arrival_gives_the_offset() {
        let mut clock = HostAlignment::default();
        assert_eq!(clock.offset_s(), None);
        assert!(clock.alignment().is_none());
        // Device time t arrives at 2.0 + t + a delay of 1 to 5 ms.
        let delays = [0.005, 0.003, 0.001, 0.004, 0.002];
        for (k, delay) in delays.iter().cycle().take(100).enumerate() {
            let t = k as f64 * 0.01;
            clock.observe(2.0 + t + delay, t);
        }
        clock.observe(f64::NAN, 1.0);
        assert!(host_seconds() <= host_seconds());
        let alignment = clock.alignment().expect("arrivals seen");
        assert!((alignment.offset_s - 2.001).abs() < 1e-9, "{alignment:?}");
        assert!((alignment.settled_s - 0.004).abs() < 1e-9, "{alignment:?}");
        assert!((alignment.spread_s - 0.004).abs() < 1e-9, "{alignment:?}");
        assert_eq!(
            alignment.describe(),
            "offset 2001.0 ms, settled by 4.0 ms, arrivals within 4.0 ms"
        );
    }
}
