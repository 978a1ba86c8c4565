//! The procedures a session runs on its device: step tests, frequency-response
//! excitations and relay runs, each fed every sample batch as it arrives and
//! answered with the writes it asks for; each can be aborted, which puts the
//! setpoint (and the relay mode) back.

use super::DeviceSession;
use crate::device::WriteSource;
use crate::protocol::SampleBatch;
use crate::tuning::{
    Excitation, ExcitationError, ExcitationPlan, ParamWrite, RelayError, RelayPlan, RelayTest,
    StepPlan, StepTest, StepTestError,
};

impl DeviceSession {
    /// The setpoint parameter's value in force.
    fn setpoint_now(&self) -> Option<f32> {
        self.params
            .iter()
            .find(|p| p.info.flags.setpoint() && !p.info.flags.read_only())
            .map(|p| p.info.value)
    }

    /// Starts a frequency-response measurement on the setpoint.
    pub fn start_excitation(&mut self, plan: ExcitationPlan) -> Result<(), ExcitationError> {
        let info = self.info.as_ref().ok_or(ExcitationError::NoSetpoint)?;
        let setpoint_now = self.setpoint_now().ok_or(ExcitationError::NoSetpoint)?;
        self.excitation = Some(Excitation::start(plan, info, setpoint_now)?);
        Ok(())
    }

    /// A frequency-response measurement is in progress.
    pub fn excitation_running(&self) -> bool {
        self.excitation.as_ref().is_some_and(|e| !e.is_done())
    }

    /// Stops a running measurement and restores the setpoint at once.
    pub fn abort_excitation(&mut self) {
        if let Some(excitation) = self.excitation.as_mut().filter(|e| !e.is_done()) {
            let restore = excitation.abort();
            self.write_param(restore.index, restore.value, WriteSource::Procedure);
        }
    }

    pub(super) fn feed_excitation(&mut self, batch: &SampleBatch) {
        let Some(excitation) = &mut self.excitation else {
            return;
        };
        let write = excitation.on_samples(batch);
        let done = excitation.is_done();
        self.measured_responses.extend(excitation.take_result());
        if let Some(write) = write {
            if done {
                // The restoring write is an ordinary one: it shows on the scope.
                self.write_param(write.index, write.value, WriteSource::Procedure);
            } else {
                self.write_setpoint_quietly(write.index, write.value);
            }
        }
    }

    /// Starts a step test on the setpoint parameter; its writes and
    /// measured steps follow from the samples as they arrive.
    pub fn start_step_test(&mut self, plan: StepPlan) -> Result<(), StepTestError> {
        let info = self.info.as_ref().ok_or(StepTestError::NoSetpoint)?;
        if !self.output_enabled() {
            return Err(StepTestError::OutputOff);
        }
        let setpoint_now = self
            .params
            .iter()
            .find(|p| p.info.flags.setpoint() && !p.info.flags.read_only())
            .map(|p| p.info.value)
            .ok_or(StepTestError::NoSetpoint)?;
        let test = StepTest::start(plan, info, setpoint_now, Default::default())?;
        self.step_test = Some(test);
        Ok(())
    }

    /// A step test is in progress.
    pub fn step_test_running(&self) -> bool {
        self.step_test.as_ref().is_some_and(|t| !t.is_done())
    }

    /// Stops a running step test and restores the setpoint at once.
    pub fn abort_step_test(&mut self) {
        if let Some(test) = self.step_test.as_mut().filter(|t| !t.is_done()) {
            let restore = test.abort();
            self.write_param(restore.index, restore.value, WriteSource::Procedure);
        }
    }

    pub(super) fn feed_step_test(&mut self, batch: &SampleBatch) {
        let Some(test) = &mut self.step_test else {
            return;
        };
        let write = test.on_samples(batch);
        self.measured_steps.extend(test.take_responses());
        if let Some(write) = write {
            self.write_param(write.index, write.value, WriteSource::Procedure);
        }
    }

    /// Starts a relay auto-tune run in the device's relay mode; its writes
    /// and result follow from the samples as they arrive.
    pub fn start_relay(&mut self, plan: RelayPlan) -> Result<(), RelayError> {
        let info = self.info.as_ref().ok_or(RelayError::NoRelayMode)?;
        let mut info = info.clone();
        for (param, view) in info.params.iter_mut().zip(&self.params) {
            param.value = view.info.value;
        }
        self.relay = Some(RelayTest::start(plan, &info, self.output_enabled())?);
        Ok(())
    }

    /// A relay run is in progress.
    pub fn relay_running(&self) -> bool {
        self.relay.as_ref().is_some_and(|r| !r.is_done())
    }

    /// Stops a running relay run: relay off, setpoint restored.
    pub fn abort_relay(&mut self) {
        if let Some(relay) = self.relay.as_mut().filter(|r| !r.is_done()) {
            let writes = relay.abort();
            self.send_writes(&writes);
        }
    }

    pub(super) fn feed_relay(&mut self, batch: &SampleBatch) {
        if let Some(relay) = &mut self.relay {
            let writes = relay.on_samples(batch);
            self.send_writes(&writes);
        }
    }

    pub(super) fn send_writes(&mut self, writes: &[ParamWrite]) {
        for write in writes {
            self.write_param(write.index, write.value, WriteSource::Procedure);
        }
    }
}
