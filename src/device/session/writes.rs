//! Parameter writes: what the app sent, what the device answered, and
//! what became of each (pending, confirmed, clamped, refused, unanswered).
//! A confirmed write becomes a [`WriteMark`] on the device's time axis and
//! an event-log entry naming who asked for it.

use std::time::{Duration, Instant};

use super::DeviceSession;
use crate::device::{LoggedEvent, WriteSource};
use crate::protocol::{Command, DeviceErrorCode, ParamInfo};

/// A write the device has not answered within this is marked as lost.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the device applied the value asked for (float noise aside).
fn same_value(applied: f32, asked: f32) -> bool {
    (applied - asked).abs() <= 1e-6 * asked.abs().max(1e-12)
}

/// The state of the last write to one parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteState {
    Idle,
    Pending {
        requested: f32,
        since: Instant,
    },
    Confirmed,
    /// The device applied a different value (its limits).
    Clamped {
        requested: f32,
    },
    Refused(DeviceErrorCode),
    /// No answer arrived in time.
    Unanswered {
        requested: f32,
    },
}

/// A confirmed parameter write, placed on the device's time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteMark {
    /// Device time of the newest sample when the device confirmed it.
    pub time_s: f64,
    pub name: String,
    pub value: f32,
    /// The value in force before the write.
    pub previous: f32,
    pub unit: String,
    /// A write of the setpoint, not of a gain or setting.
    pub setpoint: bool,
    /// Who asked for it.
    pub source: WriteSource,
}

/// Most SETs of a signal (an excitation's setpoint) left waiting for an
/// answer before the oldest is forgotten: several seconds of writes at
/// [`DEFAULT_MAX_WRITE_HZ`](crate::tuning::DEFAULT_MAX_WRITE_HZ), so a
/// device that answers none costs bounded memory.
const MOST_SIGNAL_SETS_WAITING: usize = 4_096;

/// A SET sent and not answered yet.
#[derive(Clone, Copy, Debug)]
pub(super) struct SentSet {
    pub(super) index: u8,
    value: f32,
    source: WriteSource,
    /// One of a procedure's many fast writes (a signal): its answer moves
    /// the value in force and leaves no mark, log entry or write state.
    pub(super) signal: bool,
}

/// One parameter as the app shows it.
#[derive(Clone, Debug)]
pub struct ParamView {
    pub info: ParamInfo,
    pub write: WriteState,
}

impl ParamView {
    /// The value to show: the request while it is pending, else the
    /// device's value.
    pub fn shown_value(&self) -> f32 {
        match self.write {
            WriteState::Pending { requested, .. } => requested,
            _ => self.info.value,
        }
    }
}

impl DeviceSession {
    pub(super) fn confirm_write(&mut self, index: u8, value: f32) {
        // A VALUE answering our SET is a write; one answering a GET is not.
        // The device answers SETs in order: this one answers the oldest.
        let answered = self
            .pending_sets
            .iter()
            .position(|set| set.index == index)
            .and_then(|at| self.pending_sets.remove(at));
        let still_pending = self.pending_sets.iter().any(|set| set.index == index);
        let time = self.device_time();
        let Some(view) = self.params.get_mut(index as usize) else {
            return;
        };
        let previous = view.info.value;
        view.info.value = value;
        if let Some(sent) = answered.filter(|sent| !sent.signal) {
            self.writes.push(WriteMark {
                time_s: time.unwrap_or(f64::NAN),
                name: view.info.name.clone(),
                value,
                previous,
                unit: view.info.unit.clone(),
                setpoint: view.info.flags.setpoint(),
                source: sent.source,
            });
            self.event_log.record(
                time,
                LoggedEvent::Write {
                    name: view.info.name.clone(),
                    from: previous,
                    to: value,
                    unit: view.info.unit.clone(),
                    source: sent.source,
                    asked: (!same_value(value, sent.value)).then_some(sent.value),
                },
            );
            self.capture.on_write(time.unwrap_or(f64::NAN));
        }
        if let WriteState::Pending { requested, .. } = view.write {
            // The device answers every SET; a drag sends several, so only
            // the answer to the last one decides the state.
            if still_pending {
                return;
            }
            view.write = if same_value(value, requested) {
                WriteState::Confirmed
            } else {
                WriteState::Clamped { requested }
            };
        }
    }

    pub(super) fn expire_writes(&mut self) {
        for view in &mut self.params {
            if let WriteState::Pending { requested, since } = view.write
                && since.elapsed() > WRITE_TIMEOUT
            {
                view.write = WriteState::Unanswered { requested };
            }
        }
    }

    /// Writes a parameter for `source`; the answer arrives later as a state
    /// change, and the event log records it with its source.
    pub fn write_param(&mut self, index: u8, value: f32, source: WriteSource) {
        if index as usize >= self.params.len() || !self.send(Command::Set { index, value }) {
            return;
        }
        if let Some(view) = self.params.get_mut(index as usize) {
            view.write = WriteState::Pending {
                requested: value,
                since: Instant::now(),
            };
            self.pending_sets.push_back(SentSet {
                index,
                value,
                source,
                signal: false,
            });
        }
    }

    /// A write the link's runner sent for a procedure: queued with the
    /// session's own so every answer (a refusal carries no index) pairs
    /// with the SET it answers. A `signal` write (an excitation writes
    /// hundreds a second, and its reference channel already shows what
    /// the device followed) gets no pending state, mark or log entry; the
    /// procedure's other writes (its restore) are ordinary writes.
    pub(super) fn sent_by_procedure(&mut self, index: u8, value: f32, signal: bool) {
        let Some(view) = self.params.get_mut(index as usize) else {
            return;
        };
        if !signal {
            view.write = WriteState::Pending {
                requested: value,
                since: Instant::now(),
            };
        }
        self.pending_sets.push_back(SentSet {
            index,
            value,
            source: WriteSource::Procedure,
            signal,
        });
        if self.pending_sets.len() > MOST_SIGNAL_SETS_WAITING
            && let Some(at) = self.pending_sets.iter().position(|set| set.signal)
        {
            self.pending_sets.remove(at);
        }
    }

    /// Some write has been sent and not yet answered.
    pub fn write_in_flight(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p.write, WriteState::Pending { .. }))
    }
}
