//! A session's batches kept for a recording outside it (the recording of
//! every device, [`crate::device::record_all`]): once started, every
//! sample batch the session takes in is kept, in order, until taken; the
//! link's loss (or close) ends the tap for good, with why, so a device that
//! comes back after an outage adds nothing more to it.

use super::DeviceSession;
use crate::protocol::SampleBatch;

/// The batches kept since they were last taken, and why the tap ended.
#[derive(Debug, Default)]
pub(super) struct Tap {
    batches: Vec<SampleBatch>,
    ended: Option<String>,
}

/// What a tap held when it was taken.
#[derive(Debug, Default)]
pub struct Tapped {
    /// Every batch taken in since the last take, oldest first.
    pub batches: Vec<SampleBatch>,
    /// Why the tap ended (the link was lost or closed); no batch comes
    /// after it.
    pub ended: Option<String>,
}

impl DeviceSession {
    /// Starts keeping every batch taken in from now on (a tap already on
    /// starts afresh).
    pub fn start_tap(&mut self) {
        self.tap = Some(Tap::default());
    }

    /// Stops keeping batches; what was kept is dropped.
    pub fn stop_tap(&mut self) {
        self.tap = None;
    }

    /// The batches kept since the last take, and why the tap ended if it
    /// did; `None` when no tap is on.
    pub fn take_tapped(&mut self) -> Option<Tapped> {
        let tap = self.tap.as_mut()?;
        Some(Tapped {
            batches: std::mem::take(&mut tap.batches),
            ended: tap.ended.clone(),
        })
    }

    /// Host time minus device time as the link estimates it now (see
    /// [`crate::link::HostAlignment`]); `None` before the first batch or
    /// with no link.
    pub fn host_offset_s(&self) -> Option<f64> {
        self.link.as_ref()?.health().host_offset_s()
    }

    /// Keeps `batch` if a tap is on and has not ended.
    pub(super) fn tap_batch(&mut self, batch: &SampleBatch) {
        if let Some(tap) = &mut self.tap
            && tap.ended.is_none()
        {
            tap.batches.push(batch.clone());
        }
    }

    /// The link was lost or closed: a tap on ends here.
    pub(super) fn end_tap(&mut self, why: &str) {
        if let Some(tap) = &mut self.tap {
            tap.ended.get_or_insert_with(|| why.to_owned());
        }
    }
}
