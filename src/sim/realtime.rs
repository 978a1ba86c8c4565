//! Runs the simulated device against the wall clock: device time advances
//! with real time, in whole ticks, whenever the owner calls
//! [`RealtimeSim::catch_up`].

use std::time::{Duration, Instant};

use super::device::SimDevice;
use super::emulated::EmulatedDevice;

/// Most device time simulated in one catch-up; if the host falls further
/// behind (a debugger pause, a suspended laptop) the device skips ahead
/// rather than spinning through minutes of backlog.
const MAX_CATCH_UP: Duration = Duration::from_millis(250);

/// A simulated device paced by the wall clock.
pub struct RealtimeSim<D: EmulatedDevice = SimDevice> {
    /// The device it runs.
    pub device: D,
    origin: Instant,
    ticks_done: u64,
    ticks_skipped: u64,
}

impl<D: EmulatedDevice> RealtimeSim<D> {
    /// Paces `device` against the wall clock from now.
    pub fn new(device: D) -> Self {
        Self {
            device,
            origin: Instant::now(),
            ticks_done: 0,
            ticks_skipped: 0,
        }
    }

    /// Wall-clock ticks never simulated because the owner fell more than
    /// [`MAX_CATCH_UP`] behind: how long the device was, in effect, paused.
    pub fn ticks_skipped(&self) -> u64 {
        self.ticks_skipped
    }

    /// Advances device time to now.
    pub fn catch_up(&mut self) {
        let loop_hz = u64::from(self.device.loop_hz());
        let due = (self.origin.elapsed().as_secs_f64() * loop_hz as f64) as u64;
        let max_ticks = (MAX_CATCH_UP.as_secs_f64() * loop_hz as f64) as u64;
        let mut pending = due.saturating_sub(self.ticks_done);
        if pending > max_ticks {
            // Drop the backlog beyond the cap; device time stays continuous.
            self.ticks_done += pending - max_ticks;
            self.ticks_skipped += pending - max_ticks;
            pending = max_ticks;
        }
        self.device.advance(pending);
        self.ticks_done += pending;
    }
}
