//! The procedure engine's runner: one [`Procedure`] at a time, hosted by the
//! link thread and fed there every sample batch, parameter value and
//! status the link decodes, so a procedure runs at the stream's rate
//! whatever the app's frame rate, and the command line and the app run it
//! the same way.
//!
//! It promises:
//! - the procedure's writes go out as soon as it asks for them, each
//!   reported ([`ProcedureEvent::Wrote`]) before it is written, so whoever
//!   pairs answers with requests sees it first;
//! - a fault, a watchdog trip, the output going off while it runs, or the
//!   link closing aborts it, and its restoring writes go out once;
//! - [`ProcedureEvent::Ended`] comes exactly once per procedure started
//!   or refused, after its last outcome and state; nothing of it follows.
//!
//! It decides; the link thread writes: every call answers with
//! [`Action`]s, so it is tested without a port.

use std::time::{Duration, Instant};

use crate::protocol::{Event, StatusFlags};
use crate::tuning::{Outcome, ParamWrite, Procedure, ProcedureState};

/// Shortest time between two [`ProcedureEvent::State`] reports (the final
/// state is always reported): a state that changes every batch would
/// otherwise flood the app with a thousand reports a second.
const STATE_INTERVAL: Duration = Duration::from_millis(50);

/// What a procedure did, as the link reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum ProcedureEvent {
    /// It started.
    Started {
        /// [`Procedure::name`].
        name: &'static str,
    },
    /// A write it sent to the device, reported before the device answers.
    Wrote {
        /// The parameter and value written.
        write: ParamWrite,
        /// One of many fast writes that make a signal (an excitation's
        /// setpoint), not its last: shown as a trace, not as a mark.
        signal: bool,
    },
    /// Where it stands: on a change, at most every [`STATE_INTERVAL`],
    /// and always the final state.
    State(Box<ProcedureState>),
    /// Something it measured.
    Outcome(Box<Outcome>),
    /// It ended: finished, failed, aborted or refused. Nothing of it
    /// follows.
    Ended {
        /// [`Procedure::name`].
        name: &'static str,
        /// Why it ended without finishing, in one line.
        failure: Option<String>,
        /// It was stopped (by the user, a fault, the output going off or
        /// the link closing) rather than ending by itself.
        aborted: bool,
    },
}

/// What the link thread does for the runner, in order.
#[derive(Debug, PartialEq)]
pub(super) enum Action {
    /// Write this parameter now.
    Write(ParamWrite),
    /// Report this to the app.
    Report(ProcedureEvent),
}

/// The procedure in progress, if any, and what it last reported.
#[derive(Debug, Default)]
pub(super) struct Runner {
    running: Option<Box<dyn Procedure>>,
    reported_state: Option<(ProcedureState, Instant)>,
    /// The output as the device last reported it, procedure or not.
    output_on: Option<bool>,
}

impl Runner {
    /// Starts `procedure`, or refuses it while another runs.
    pub fn start(&mut self, procedure: Box<dyn Procedure>, now: Instant) -> Vec<Action> {
        if let Some(running) = &self.running {
            return vec![Action::Report(ProcedureEvent::Ended {
                name: procedure.name(),
                failure: Some(format!("not started: a {} is running", running.name())),
                aborted: false,
            })];
        }
        let mut actions = vec![Action::Report(ProcedureEvent::Started {
            name: procedure.name(),
        })];
        // A procedure may be done before it starts (nothing to do).
        let done = procedure.is_done();
        self.reported_state = None;
        self.running = Some(procedure);
        if done {
            self.end(None, false, &mut actions);
        } else {
            self.report_state(now, &mut actions);
        }
        actions
    }

    /// A procedure is in progress.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Stops the procedure in progress at the user's request.
    pub fn abort(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        self.abort_with(None, &mut actions);
        actions
    }

    /// The link is closing: the procedure is stopped and its restoring
    /// writes go out while the port is still open.
    pub fn on_close(&mut self, why: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        self.abort_with(Some(why.to_owned()), &mut actions);
        actions
    }

    /// Something the device said.
    pub fn on_event(&mut self, event: &Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Event::Status { flags, .. } = event {
            let was_on = self.output_on.replace(flags.enabled());
            if let Some(problem) = stopped_by(*flags, was_on) {
                self.abort_with(Some(problem.to_owned()), &mut actions);
            }
            return actions;
        }
        let Some(procedure) = self.running.as_mut() else {
            return actions;
        };
        let writes = match event {
            Event::Samples { batch, .. } if !batch.is_empty() => procedure.on_samples(batch),
            Event::Value { index, value } => procedure.on_value(*index, *value),
            _ => return actions,
        };
        self.wrote(writes, &mut actions);
        self.after_feed(now, &mut actions);
        actions
    }

    /// The time passing (every turn of the link's loop): what the
    /// procedure does at an instant rather than on a sample.
    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(procedure) = self.running.as_mut() else {
            return actions;
        };
        let writes = procedure.on_tick(now);
        if writes.is_empty() && !procedure.is_done() {
            return actions;
        }
        self.wrote(writes, &mut actions);
        self.after_feed(now, &mut actions);
        actions
    }

    fn abort_with(&mut self, why: Option<String>, actions: &mut Vec<Action>) {
        let Some(procedure) = self.running.as_mut() else {
            return;
        };
        let restoring = procedure.abort();
        self.wrote(restoring, actions);
        let failure = why.or_else(|| self.running.as_ref().and_then(|p| p.failure()));
        self.end(failure, true, actions);
    }

    fn wrote(&self, writes: Vec<ParamWrite>, actions: &mut Vec<Action>) {
        let Some(procedure) = &self.running else {
            return;
        };
        let signal = procedure.writes_are_a_signal() && !procedure.is_done();
        let count = writes.len();
        for (k, write) in writes.into_iter().enumerate() {
            // The last write of a procedure that ended is what it leaves:
            // never part of the signal.
            let signal = signal || (procedure.writes_are_a_signal() && k + 1 < count);
            actions.push(Action::Report(ProcedureEvent::Wrote { write, signal }));
            actions.push(Action::Write(write));
        }
    }

    fn after_feed(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let Some(procedure) = self.running.as_mut() else {
            return;
        };
        for outcome in procedure.take_outcomes() {
            actions.push(Action::Report(ProcedureEvent::Outcome(Box::new(outcome))));
        }
        if procedure.is_done() {
            let failure = procedure.failure();
            self.end(failure, false, actions);
        } else {
            self.report_state(now, actions);
        }
    }

    fn report_state(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let Some(procedure) = &self.running else {
            return;
        };
        let state = procedure.state();
        let due = match &self.reported_state {
            None => true,
            Some((last, at)) => *last != state && now.duration_since(*at) >= STATE_INTERVAL,
        };
        if due {
            self.reported_state = Some((state.clone(), now));
            actions.push(Action::Report(ProcedureEvent::State(Box::new(state))));
        }
    }

    fn end(&mut self, failure: Option<String>, aborted: bool, actions: &mut Vec<Action>) {
        let Some(mut procedure) = self.running.take() else {
            return;
        };
        for outcome in procedure.take_outcomes() {
            actions.push(Action::Report(ProcedureEvent::Outcome(Box::new(outcome))));
        }
        let state = procedure.state();
        if self
            .reported_state
            .as_ref()
            .is_none_or(|(last, _)| *last != state)
        {
            actions.push(Action::Report(ProcedureEvent::State(Box::new(state))));
        }
        self.reported_state = None;
        actions.push(Action::Report(ProcedureEvent::Ended {
            name: procedure.name(),
            failure,
            aborted,
        }));
    }
}

/// Why a status stops a procedure: a fault, a trip, or the output going
/// off (`was_on`: the output as last reported before).
fn stopped_by(flags: StatusFlags, was_on: Option<bool>) -> Option<&'static str> {
    if flags.fault() {
        Some("the device reports a fault")
    } else if flags.watchdog_tripped() {
        Some("the device's watchdog tripped")
    } else if !flags.enabled() && was_on == Some(true) {
        Some("the device turned its output off")
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
