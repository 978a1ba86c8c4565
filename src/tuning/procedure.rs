//! What every procedure is to the engine that runs it: a state machine fed
//! every sample batch and every parameter value the device reports, in the
//! order they arrive, answering with the writes to send at once. A
//! procedure owns what it changed: [`Procedure::abort`] and its own end
//! give back the writes that put the drive as it was. The runner (on the
//! link thread, [`crate::link`]) drives it at the stream's rate; the app
//! and the command line only start it, watch its [`ProcedureState`] and
//! take its [`Outcome`]s.

use super::{
    ExcitationState, FrequencyMeasurement, RelayResult, RelayState, StepResponse, StepTestState,
};
use crate::protocol::SampleBatch;

/// A parameter write a procedure asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamWrite {
    /// The parameter's index in the device's table.
    pub index: u8,
    /// The value to write.
    pub value: f32,
}

/// What a procedure measured, handed over as soon as it is known.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// One measured step of a step test (or a verification step).
    Step(StepResponse),
    /// A finished frequency-response measurement.
    FrequencyResponse(FrequencyMeasurement),
    /// A finished relay run.
    Relay(RelayResult),
}

/// Where a procedure stands, for whoever shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum ProcedureState {
    /// A step test.
    Step(StepTestState),
    /// A frequency-response excitation.
    Excitation(ExcitationState),
    /// A relay run.
    Relay(RelayState),
}

/// A procedure the engine runs on a device.
pub trait Procedure: Send + std::fmt::Debug {
    /// What it is, in a few words for the user ("step test").
    fn name(&self) -> &'static str;

    /// Every sample batch as it arrives, in order; the writes to send now.
    fn on_samples(&mut self, batch: &SampleBatch) -> Vec<ParamWrite>;

    /// A value the device reported for a parameter (an answer to a write
    /// or a read, or unprompted); the writes to send now.
    fn on_value(&mut self, index: u8, value: f32) -> Vec<ParamWrite> {
        let _ = (index, value);
        Vec::new()
    }

    /// The time passing, called by the link a few milliseconds apart at
    /// most whatever the stream does; the writes to send now. Nothing by
    /// default: most procedures act on what the device says.
    fn on_tick(&mut self, now: std::time::Instant) -> Vec<ParamWrite> {
        let _ = now;
        Vec::new()
    }

    /// Stops at once; the writes that put back what it changed. Nothing
    /// once it is done.
    fn abort(&mut self) -> Vec<ParamWrite>;

    /// Ended: finished, failed or aborted; it asks for nothing more.
    fn is_done(&self) -> bool;

    /// What it measured since last asked.
    fn take_outcomes(&mut self) -> Vec<Outcome>;

    /// Why it ended without finishing, in one line.
    fn failure(&self) -> Option<String>;

    /// Where it stands now.
    fn state(&self) -> ProcedureState;

    /// Whether its writes other than the last are many and fast (an
    /// excitation's setpoint, once a batch): shown as a trace, not each as
    /// a mark on the scope.
    fn writes_are_a_signal(&self) -> bool {
        false
    }
}

impl Procedure for super::StepTest {
    fn name(&self) -> &'static str {
        "step test"
    }

    fn on_samples(&mut self, batch: &SampleBatch) -> Vec<ParamWrite> {
        super::StepTest::on_samples(self, batch)
            .into_iter()
            .collect()
    }

    fn on_tick(&mut self, now: std::time::Instant) -> Vec<ParamWrite> {
        super::StepTest::on_tick(self, now).into_iter().collect()
    }

    fn abort(&mut self) -> Vec<ParamWrite> {
        if self.is_done() {
            return Vec::new();
        }
        vec![super::StepTest::abort(self)]
    }

    fn is_done(&self) -> bool {
        super::StepTest::is_done(self)
    }

    fn take_outcomes(&mut self) -> Vec<Outcome> {
        let steps = self.take_responses();
        steps.into_iter().map(Outcome::Step).collect()
    }

    fn failure(&self) -> Option<String> {
        super::StepTest::failure(self).map(ToString::to_string)
    }

    fn state(&self) -> ProcedureState {
        ProcedureState::Step(super::StepTest::state(self).clone())
    }
}

impl Procedure for super::Excitation {
    fn name(&self) -> &'static str {
        "frequency response"
    }

    fn on_samples(&mut self, batch: &SampleBatch) -> Vec<ParamWrite> {
        super::Excitation::on_samples(self, batch)
            .into_iter()
            .collect()
    }

    fn abort(&mut self) -> Vec<ParamWrite> {
        if self.is_done() {
            return Vec::new();
        }
        vec![super::Excitation::abort(self)]
    }

    fn is_done(&self) -> bool {
        super::Excitation::is_done(self)
    }

    fn take_outcomes(&mut self) -> Vec<Outcome> {
        self.take_result()
            .map(Outcome::FrequencyResponse)
            .into_iter()
            .collect()
    }

    fn failure(&self) -> Option<String> {
        match super::Excitation::state(self) {
            ExcitationState::Failed(error) => Some(error.to_string()),
            _ => None,
        }
    }

    fn state(&self) -> ProcedureState {
        ProcedureState::Excitation(super::Excitation::state(self).clone())
    }

    fn writes_are_a_signal(&self) -> bool {
        true
    }
}

impl Procedure for super::RelayTest {
    fn name(&self) -> &'static str {
        "relay run"
    }

    fn on_samples(&mut self, batch: &SampleBatch) -> Vec<ParamWrite> {
        super::RelayTest::on_samples(self, batch)
    }

    fn on_value(&mut self, index: u8, value: f32) -> Vec<ParamWrite> {
        super::RelayTest::on_value(self, index, value)
    }

    fn abort(&mut self) -> Vec<ParamWrite> {
        if self.is_done() {
            return Vec::new();
        }
        super::RelayTest::abort(self)
    }

    fn is_done(&self) -> bool {
        super::RelayTest::is_done(self)
    }

    fn take_outcomes(&mut self) -> Vec<Outcome> {
        self.take_result().map(Outcome::Relay).into_iter().collect()
    }

    fn failure(&self) -> Option<String> {
        super::RelayTest::failure(self).map(ToString::to_string)
    }

    fn state(&self) -> ProcedureState {
        ProcedureState::Relay(super::RelayTest::state(self).clone())
    }
}
