//! Counters the link thread updates and the UI reads without locking:
//! traffic, decode errors, lost samples, round-trip time, and how well
//! host timing holds up for a device timed by the host. And the device's
//! clock mapped onto the host's, from the batches' arrivals (behind a
//! lock held for an update or a copy).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::host_alignment::{Alignment, HostAlignment};
use crate::protocol::SampleBatch;
use crate::protocol::host_clock::HostTiming;

/// Live counters of one link.
#[derive(Debug)]
pub struct LinkHealth {
    origin: Instant,
    /// Bytes read from the device.
    pub bytes_in: AtomicU64,
    /// Bytes written to the device.
    pub bytes_out: AtomicU64,
    /// Frames decoded whole.
    pub frames_ok: AtomicU64,
    /// Dropped frames: empty, oversize, bad stuffing.
    pub framing_errors: AtomicU64,
    /// Frames dropped for a CRC mismatch.
    pub crc_errors: AtomicU64,
    /// Frames whose payload was not a valid message.
    pub message_errors: AtomicU64,
    /// Samples received.
    pub samples: AtomicU64,
    /// Samples missing from the tick sequence.
    pub lost_samples: AtomicU64,
    /// Last PING round trip in microseconds; `u64::MAX` until one returns.
    pub rtt_us: AtomicU64,
    /// Microseconds since the link started when the last byte arrived.
    last_byte_us: AtomicU64,
    /// Host timing ([`LinkHealth::host_timing`]): period and uncertainty
    /// as `f64` bits (`u64::MAX` for device time), and the gaps.
    host_period_s: AtomicU64,
    host_uncertainty_s: AtomicU64,
    host_gaps: AtomicU64,
    /// The device's clock against the host's ([`LinkHealth::host_alignment`]).
    alignment: Mutex<HostAlignment>,
}

impl Default for LinkHealth {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            frames_ok: AtomicU64::new(0),
            framing_errors: AtomicU64::new(0),
            crc_errors: AtomicU64::new(0),
            message_errors: AtomicU64::new(0),
            samples: AtomicU64::new(0),
            lost_samples: AtomicU64::new(0),
            rtt_us: AtomicU64::new(u64::MAX),
            last_byte_us: AtomicU64::new(0),
            host_period_s: AtomicU64::new(u64::MAX),
            host_uncertainty_s: AtomicU64::new(0),
            host_gaps: AtomicU64::new(0),
            alignment: Mutex::new(HostAlignment::default()),
        }
    }
}

/// A consistent-enough copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HealthSnapshot {
    /// Seconds since the link started.
    pub at_s: f64,
    /// Bytes read from the device.
    pub bytes_in: u64,
    /// Bytes written to the device.
    pub bytes_out: u64,
    /// Frames decoded whole.
    pub frames_ok: u64,
    /// Frames dropped: empty, oversize, bad stuffing.
    pub framing_errors: u64,
    /// Frames dropped for a CRC mismatch.
    pub crc_errors: u64,
    /// Frames whose payload was not a valid message.
    pub message_errors: u64,
    /// Samples received.
    pub samples: u64,
    /// Samples missing from the tick sequence.
    pub lost_samples: u64,
    /// Last PING round trip, ms; `None` until one returns.
    pub rtt_ms: Option<f64>,
    /// Seconds since the last byte arrived.
    pub silent_s: f64,
    /// How well host timing holds up, for a host-timed device.
    pub host_timing: Option<HostTiming>,
}

impl LinkHealth {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// `batch` was read at `read_s` on [`super::host_seconds`]' clock: its last
    /// sample was taken no later.
    pub(crate) fn batch_arrived(&self, read_s: f64, batch: &SampleBatch) {
        if batch.is_empty() {
            return;
        }
        if let Ok(mut alignment) = self.alignment.lock() {
            alignment.observe(read_s, batch.time_of(batch.len() - 1));
        }
    }

    /// Host time ([`super::host_seconds`]) minus device time, as estimated so far.
    pub fn host_offset_s(&self) -> Option<f64> {
        self.alignment.lock().ok()?.offset_s()
    }

    /// How the device's clock is mapped onto the host's, with how far the
    /// estimate moved and how far arrivals spread.
    pub fn host_alignment(&self) -> Option<Alignment> {
        self.alignment.lock().ok()?.alignment()
    }

    pub(crate) fn mark_byte_received(&self) {
        self.last_byte_us
            .store(self.origin.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    pub(crate) fn set_host_timing(&self, timing: Option<HostTiming>) {
        let period = timing.map_or(u64::MAX, |t| t.period_s.to_bits());
        self.host_period_s.store(period, Ordering::Relaxed);
        if let Some(timing) = timing {
            self.host_uncertainty_s
                .store(timing.uncertainty_s.to_bits(), Ordering::Relaxed);
            self.host_gaps.store(timing.gaps, Ordering::Relaxed);
        }
    }

    /// How well host timing holds up, when the device's samples are timed
    /// by their arrival on the host (plain text lines without a time
    /// column, SimpleFOC monitoring); `None` for device time, or before the
    /// device is described. For the status bar: "timed by the host, ±X ms".
    pub fn host_timing(&self) -> Option<HostTiming> {
        let period = self.host_period_s.load(Ordering::Relaxed);
        (period != u64::MAX).then(|| HostTiming {
            period_s: f64::from_bits(period),
            uncertainty_s: f64::from_bits(self.host_uncertainty_s.load(Ordering::Relaxed)),
            gaps: self.host_gaps.load(Ordering::Relaxed),
        })
    }

    /// A copy of the counters now.
    pub fn snapshot(&self) -> HealthSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let now_us = self.origin.elapsed().as_micros() as u64;
        let rtt = get(&self.rtt_us);
        HealthSnapshot {
            at_s: now_us as f64 * 1e-6,
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            frames_ok: get(&self.frames_ok),
            framing_errors: get(&self.framing_errors),
            crc_errors: get(&self.crc_errors),
            message_errors: get(&self.message_errors),
            samples: get(&self.samples),
            lost_samples: get(&self.lost_samples),
            rtt_ms: (rtt != u64::MAX).then(|| rtt as f64 / 1000.0),
            silent_s: now_us.saturating_sub(get(&self.last_byte_us)) as f64 * 1e-6,
            host_timing: self.host_timing(),
        }
    }
}

impl HealthSnapshot {
    /// Per-second rates between an earlier snapshot and this one:
    /// (samples/s, bytes in/s).
    pub fn rates_since(&self, earlier: &HealthSnapshot) -> (f64, f64) {
        let dt = self.at_s - earlier.at_s;
        if dt <= 0.0 {
            return (0.0, 0.0);
        }
        (
            (self.samples - earlier.samples) as f64 / dt,
            (self.bytes_in - earlier.bytes_in) as f64 / dt,
        )
    }
}
