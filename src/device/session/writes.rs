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
    /// Nothing written since the device described it.
    Idle,
    /// Sent; no answer yet.
    Pending {
        /// The value asked for.
        requested: f32,
        /// When it was sent.
        since: Instant,
    },
    /// The device took the value asked for.
    Confirmed,
    /// The device applied a different value (its limits).
    Clamped {
        /// The value asked for.
        requested: f32,
    },
    /// The device refused it.
    Refused(DeviceErrorCode),
    /// No answer arrived in time.
    Unanswered {
        /// The value asked for.
        requested: f32,
    },
}

/// A confirmed parameter write, placed on the device's time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteMark {
    /// Device time of the newest sample when the device confirmed it.
    pub time_s: f64,
    /// The parameter's name.
    pub name: String,
    /// The value in force after the write, in its unit.
    pub value: f32,
    /// The value in force before the write.
    pub previous: f32,
    /// Its unit.
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
    /// What the device declared, with the value in force.
    pub info: ParamInfo,
    /// The state of the last write to it.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::session::ProcedureKind;
    use crate::history::HistorySize;
    use crate::link::{LinkEvent, LinkOptions, PortTarget, ProcedureEvent};
    use crate::protocol::native::message::host_type;
    use crate::protocol::{DeviceInfo, Event, ParamFlags};
    use crate::tuning::ParamWrite;

    const SETPOINT: u8 = 0;

    /// A session with no link, told of a drive with a setpoint and a gain.
    fn session() -> DeviceSession {
        let options = LinkOptions::new(PortTarget::Sim);
        let mut session = DeviceSession::with_link(None, options, HistorySize::default());
        session.apply(LinkEvent::Device(Event::Described(DeviceInfo {
            name: "bench drive".into(),
            firmware: "1".into(),
            protocol_version: 1,
            loop_hz: 1000,
            watchdog_ms: 0,
            channels: Vec::new(),
            params: vec![
                ParamInfo::real(
                    "pos.setpoint",
                    "rad",
                    ParamFlags::SETPOINT,
                    -10.0,
                    10.0,
                    0.0,
                ),
                ParamInfo::real("pos.kp", "A/rad", ParamFlags::TUNING_GAIN, 0.0, 100.0, 20.0),
            ],
            other_axes: Vec::new(),
        })));
        session
    }

    /// The runner reports a write of the setpoint.
    fn wrote(session: &mut DeviceSession, value: f32, signal: bool) {
        session.apply(LinkEvent::Procedure(ProcedureEvent::Wrote {
            write: ParamWrite {
                index: SETPOINT,
                value,
            },
            signal,
        }));
    }

    fn answer(session: &mut DeviceSession, value: f32) {
        session.apply(LinkEvent::Device(Event::Value {
            index: SETPOINT,
            value,
        }));
    }

    fn refuse(session: &mut DeviceSession) {
        session.apply(LinkEvent::Device(Event::Refused {
            request: host_type::SET,
            code: crate::protocol::DeviceErrorCode::ReadOnly,
        }));
    }

    /// An excitation's writes pair with the device's answers in order (a
    /// refusal carries no index), move the value in force, and leave one
    /// mark and one logged write: its restoring write's.
    #[test]
    fn a_procedure_s_signal_pairs_with_its_answers_and_only_its_restore_is_marked() {
        let mut session = session();
        for value in [0.1, 0.2, 0.3] {
            wrote(&mut session, value, true);
        }
        assert_eq!(
            session.params[0].write,
            WriteState::Idle,
            "no pending state"
        );
        answer(&mut session, 0.1);
        refuse(&mut session);
        answer(&mut session, 0.3);
        assert_eq!(session.params[0].info.value, 0.3);
        wrote(&mut session, 0.0, false);
        assert!(
            session.write_in_flight(),
            "the restore is an ordinary write"
        );
        answer(&mut session, 0.0);

        assert!(session.pending_sets.is_empty());
        assert_eq!(session.params[0].write, WriteState::Confirmed);
        assert_eq!(session.writes.len(), 1, "{:?}", session.writes);
        let mark = &session.writes[0];
        assert_eq!((mark.value, mark.previous), (0.0, 0.3));
        assert_eq!(mark.source, WriteSource::Procedure);
        let logged: Vec<&LoggedEvent> = session
            .event_log
            .entries()
            .map(|e| &e.event)
            .filter(|e| {
                matches!(
                    e,
                    LoggedEvent::Write { .. } | LoggedEvent::WriteRefused { .. }
                )
            })
            .collect();
        assert_eq!(logged.len(), 2, "the refusal and the restore: {logged:?}");
        // The same refusal write after write is logged once.
        let refusals = |session: &DeviceSession| {
            session
                .event_log
                .entries()
                .filter(|e| matches!(e.event, LoggedEvent::WriteRefused { .. }))
                .count()
        };
        let before = refusals(&session);
        wrote(&mut session, 0.1, true);
        wrote(&mut session, 0.2, true);
        refuse(&mut session);
        refuse(&mut session);
        assert_eq!(refusals(&session), before + 1);
    }

    /// A device that answers no SET keeps the queue of a signal bounded,
    /// and the ordinary writes in it are kept.
    #[test]
    fn unanswered_signal_writes_cost_bounded_memory() {
        let mut session = session();
        wrote(&mut session, 1.0, false);
        for k in 0..(MOST_SIGNAL_SETS_WAITING + 500) {
            wrote(&mut session, k as f32 * 1e-3, true);
        }
        assert_eq!(session.pending_sets.len(), MOST_SIGNAL_SETS_WAITING);
        assert!(
            !session.pending_sets[0].signal,
            "the restore-like write stays"
        );
    }

    /// The runner's word is the session's model: started, state, ended.
    #[test]
    fn the_running_procedure_follows_the_runner_s_events() {
        let mut session = session();
        assert!(session.procedures.started(
            crate::device::session::ProcedurePlan::StepTest(Default::default()),
            0.0
        ));
        assert!(session.procedure_running());
        session.apply(LinkEvent::Procedure(ProcedureEvent::Ended {
            name: "step test",
            failure: Some("the output went off".into()),
            aborted: true,
        }));
        assert!(!session.procedure_running());
        let run = session
            .procedures
            .last(ProcedureKind::StepTest)
            .expect("kept");
        assert_eq!(
            run.ended.as_ref().and_then(|e| e.failure.as_deref()),
            Some("the output went off")
        );
    }
}
