//! Reopening a lost connection: every [`RECONNECT_INTERVAL`] with the
//! same options until the device is back or the user stops it; then one
//! history goes on, with a gap, if the device describes itself as before,
//! and the output the app had switched on is switched off at once.

use std::time::Instant;

use super::{ConnectionState, DeviceSession, RECONNECT_INTERVAL, WriteState};
use crate::device::{LoggedEvent, OutputCause};
use crate::link::{Link, LinkError};
use crate::protocol::{Command, DeviceInfo};

/// Whether a connection that ended with `error` is worth opening again: the
/// device went away, or is not back yet. A device speaking another protocol
/// version will not change its mind.
pub(super) fn worth_retrying(error: &LinkError) -> bool {
    !matches!(error, LinkError::Version(_))
}

/// Whether two descriptions stream the same channels at about the same
/// rate with the same parameters, so one history can hold both devices'
/// samples (its capacity was sized from the rate). About: a firmware timed
/// by the host (a serial-plotter sketch) reports the rate it was measured
/// at, which differs by a few hertz from one connection to the next.
fn same_layout(before: &DeviceInfo, after: &DeviceInfo) -> bool {
    let names =
        |info: &DeviceInfo| -> Vec<String> { info.params.iter().map(|p| p.name.clone()).collect() };
    let (rate_before, rate_after) = (f64::from(before.loop_hz), f64::from(after.loop_hz));
    before.channels == after.channels
        && (rate_before - rate_after).abs() <= SAME_RATE_TOLERANCE * rate_before.max(rate_after)
        && names(before) == names(after)
}

/// How far two loop rates may differ and still be one device's.
const SAME_RATE_TOLERANCE: f64 = 0.1;

/// A lost connection being reopened.
pub(super) struct Reconnect {
    pub(super) lost_at: Instant,
    pub(super) next_attempt: Instant,
    /// The current link is an attempt that has not ended yet.
    pub(super) attempt_open: bool,
    /// The app had switched the output on before the outage, so the drive
    /// is switched off as soon as it is back; an output the app found on
    /// is left to whoever switched it on.
    pub(super) switch_off: bool,
}

impl DeviceSession {
    /// Opens the port again with the same options once the interval since
    /// the last attempt has passed and that attempt has ended.
    pub(super) fn retry_when_due(&mut self) {
        let ConnectionState::Reconnecting { attempts, .. } = &mut self.state else {
            return;
        };
        let Some(reconnect) = &mut self.reconnect else {
            return;
        };
        let now = Instant::now();
        if reconnect.attempt_open || now < reconnect.next_attempt {
            return;
        }
        *attempts += 1;
        reconnect.attempt_open = true;
        reconnect.next_attempt = now + RECONNECT_INTERVAL;
        let switch_off = reconnect.switch_off;
        self.link = Some(Link::open(self.options.clone()));
        self.switched_on = false;
        // The output the app switched on is never switched back on by
        // itself: a drive that kept it on through a short outage (within
        // its watchdog time) is switched off as soon as it is back.
        if switch_off && self.send(Command::Enable(false)) {
            self.output_asked = Some((false, OutputCause::Reconnected));
        }
        // Counters start again with the new link; rates must not mix them.
        self.health_window.clear();
    }

    /// The device described itself again after an outage: one history goes
    /// on if it is the same layout, otherwise a new one starts.
    pub(super) fn on_reconnected(&mut self, info: &DeviceInfo) {
        let (outage_s, switched_off) = self.reconnect.take().map_or((0.0, false), |r| {
            (r.lost_at.elapsed().as_secs_f64(), r.switch_off)
        });
        let same = self
            .info
            .as_ref()
            .is_some_and(|before| same_layout(before, info));
        let output = if switched_off {
            "output left off"
        } else {
            "output as the device keeps it"
        };
        self.reconnect_note = Some(if same {
            format!(
                "reconnected after {outage_s:.1} s: same device, history kept with a gap; {output}"
            )
        } else {
            format!(
                "reconnected after {outage_s:.1} s to a device with another description: \
                 new history started; {output}"
            )
        });
        if let Some(note) = self.reconnect_note.clone() {
            self.log(LoggedEvent::Reconnected { note });
        }
        if same {
            for (view, param) in self.params.iter_mut().zip(&info.params) {
                view.info = param.clone();
                view.write = WriteState::Idle;
            }
            self.info = Some(info.clone());
        } else {
            self.device_changed = true;
            if let Some(recording) = &mut self.recording {
                // Its columns are the old device's.
                recording.stop();
            }
            self.writes.clear();
            self.history = None;
        }
    }
}
