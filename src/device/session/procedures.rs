//! The procedures a session runs on its device: step tests,
//! frequency-response measurements and relay runs. Each is checked against
//! what the session knows, then handed to the link's runner, which feeds it
//! every sample batch and reply at the stream's rate and owns its writes,
//! its end and its restore ([`Link::run`](crate::link::Link::run)). The
//! session only keeps what the runner says ([`Procedures`]) and pairs the
//! procedure's writes with the device's answers like its own.

use super::DeviceSession;
use super::running::{ProcedureKind, ProcedurePlan};
use crate::link::ProcedureEvent;
use crate::protocol::ChannelRole;
use crate::record::{GainValue, RunContext};
use crate::tuning::{
    DEFAULT_MAX_WRITE_HZ, ExcitationError, ExcitationKind, ExcitationPlan, ExciteParams,
    InjectionPoint, Procedure, RelayError, RelayPlan, RelayTest, StepPlan, StepTest, StepTestError,
    device_excites, frequency_response,
};

/// Why a procedure did not start; one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    /// The step test could not start.
    StepTest(#[from] StepTestError),
    #[error(transparent)]
    /// The frequency response could not start.
    FrequencyResponse(#[from] ExcitationError),
    #[error(transparent)]
    /// The relay run could not start.
    Relay(#[from] RelayError),
    /// Another procedure runs: one at a time.
    #[error("a {0} is under way: abort it or wait for it to end")]
    Busy(&'static str),
    /// The stream has not shown yet how often writes can reach the device.
    #[error(
        "the device's stream has not yet shown how often the setpoint can be written; try again in a moment"
    )]
    StreamRateUnknown,
    /// The link is gone.
    #[error("not connected: the device's link has closed")]
    NotConnected,
    /// The session shows a recording: nothing runs on a file.
    #[error("{0} is a recording: procedures run on a connected device (choose it under Showing)")]
    Recording(String),
}

impl ProcedureKind {
    /// What it is, in the user's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::StepTest => "step test",
            Self::FrequencyResponse => "frequency response",
            Self::Relay => "relay run",
        }
    }
}

impl DeviceSession {
    /// The device, units and gains a step measured now is kept with.
    pub fn run_context(&self) -> RunContext {
        let info = self.info.as_ref();
        let unit_of = |role| {
            info.and_then(|i| i.channels.iter().find(|c| c.role == role))
                .map(|c| c.unit.clone())
                .unwrap_or_default()
        };
        RunContext {
            device: info.map(|i| i.name.clone()).unwrap_or_default(),
            signal_unit: unit_of(ChannelRole::Feedback),
            effort_unit: unit_of(ChannelRole::Effort),
            gains: self
                .params
                .iter()
                .filter(|p| p.info.flags.tuning_gain())
                .map(|p| GainValue {
                    name: p.info.name.clone(),
                    value: p.info.value,
                    unit: p.info.unit.clone(),
                })
                .collect(),
        }
    }

    /// The setpoint parameter's value in force.
    fn setpoint_now(&self) -> Option<f32> {
        self.params
            .iter()
            .find(|p| p.info.flags.setpoint() && !p.info.flags.read_only())
            .map(|p| p.info.value)
    }

    /// The most setpoint writes a second a procedure can make: one per
    /// sample batch, at most [`DEFAULT_MAX_WRITE_HZ`]; `None` until the
    /// stream has been watched long enough to tell.
    pub fn setpoint_write_hz(&self) -> Option<f64> {
        self.batch_rate
            .per_second()
            .map(|rate| rate.min(DEFAULT_MAX_WRITE_HZ))
    }

    /// A procedure is under way.
    pub fn procedure_running(&self) -> bool {
        self.procedures.running().is_some()
    }

    /// Hands `procedure` to the link's runner and notes it as running.
    fn run(
        &mut self,
        procedure: Box<dyn Procedure>,
        plan: ProcedurePlan,
        setpoint_before: f32,
    ) -> Result<(), StartError> {
        if let Some(running) = self.procedures.running() {
            return Err(StartError::Busy(running.kind().label()));
        }
        let Some(link) = self.link.as_ref().filter(|_| self.is_connected()) else {
            return Err(StartError::NotConnected);
        };
        if !link.run(procedure) {
            return Err(StartError::NotConnected);
        }
        self.procedures.started(plan, setpoint_before);
        Ok(())
    }

    /// Refuses any procedure on a recording.
    fn refuse_recording(&self) -> Result<(), StartError> {
        match &self.recorded_from {
            Some(path) => Err(StartError::Recording(path.display().to_string())),
            None => Ok(()),
        }
    }

    /// Starts a step test on the setpoint parameter.
    pub fn start_step_test(&mut self, plan: StepPlan) -> Result<(), StartError> {
        self.start_step_test_at(plan, None)
    }

    /// Starts a step test whose first step is written at `at`, a host
    /// instant shared with other devices' tests ([`StepTest::starting_at`]);
    /// `None` steps once the loop is at rest.
    pub fn start_step_test_at(
        &mut self,
        plan: StepPlan,
        at: Option<std::time::Instant>,
    ) -> Result<(), StartError> {
        self.refuse_recording()?;
        let info = self.info.as_ref().ok_or(StepTestError::NoSetpoint)?;
        if !self.output_enabled() {
            return Err(StepTestError::OutputOff.into());
        }
        let setpoint_now = self.setpoint_now().ok_or(StepTestError::NoSetpoint)?;
        let mut test = StepTest::start(plan, info, setpoint_now, Default::default())?;
        if let Some(at) = at {
            test = test.starting_at(at);
        }
        self.run(Box::new(test), ProcedurePlan::StepTest(plan), setpoint_now)
    }

    /// Where the device excites a measurement of `kind` itself, as
    /// `motiontune bode` has it: on its output when it can inject there,
    /// else on its setpoint; `None` when the host's setpoint writes must.
    pub fn device_excitation_point(&self, kind: ExcitationKind) -> Option<InjectionPoint> {
        let info = self.info.as_ref()?;
        let params = ExciteParams::find(&info.params)?;
        let probe = ExcitationPlan {
            kind,
            ..ExcitationPlan::for_device(1.0, 1.0, 1.0, 1.0)
        };
        device_excites(&probe, info).then(|| {
            if params.can_inject_effort(info) {
                InjectionPoint::Effort
            } else {
                InjectionPoint::Setpoint
            }
        })
    }

    /// Starts a frequency-response measurement: excited by the device
    /// itself when it can ([`Self::device_excitation_point`]), else by
    /// setpoint writes limited to what the stream carries
    /// ([`Self::setpoint_write_hz`]).
    pub fn start_frequency_response(&mut self, plan: ExcitationPlan) -> Result<(), StartError> {
        self.refuse_recording()?;
        let info = self.info.as_ref().ok_or(ExcitationError::NoSetpoint)?;
        let setpoint_now = self.setpoint_now().ok_or(ExcitationError::NoSetpoint)?;
        let point = self.device_excitation_point(plan.kind);
        let write_hz = match (self.setpoint_write_hz(), point) {
            (Some(write_hz), _) => write_hz,
            // The device's own excitation needs no writes a batch.
            (None, Some(_)) => plan.max_write_hz,
            (None, None) => return Err(StartError::StreamRateUnknown),
        };
        let plan = ExcitationPlan {
            max_write_hz: write_hz,
            ..plan
        };
        let procedure = frequency_response(
            plan,
            point.unwrap_or(InjectionPoint::Setpoint),
            info,
            setpoint_now,
        )?;
        self.run(
            procedure,
            ProcedurePlan::FrequencyResponse(plan),
            setpoint_now,
        )
    }

    /// Starts a relay auto-tune run in the device's relay mode.
    pub fn start_relay(&mut self, plan: RelayPlan) -> Result<(), StartError> {
        self.refuse_recording()?;
        let info = self.info.as_ref().ok_or(RelayError::NoRelayMode)?;
        let mut info = info.clone();
        for (param, view) in info.params.iter_mut().zip(&self.params) {
            param.value = view.info.value;
        }
        let setpoint_now = self.setpoint_now().unwrap_or_default();
        let relay = RelayTest::start(plan, &info, self.output_enabled())?;
        self.run(Box::new(relay), ProcedurePlan::Relay(plan), setpoint_now)
    }

    /// Stops the running procedure: the runner sends its restoring writes
    /// at once.
    pub fn abort_procedure(&mut self) {
        if self.procedure_running()
            && let Some(link) = &self.link
        {
            link.abort_procedure();
        }
    }

    /// What the runner said about the running procedure.
    pub(super) fn on_procedure(&mut self, event: ProcedureEvent) {
        match event {
            ProcedureEvent::Started { .. } => {}
            ProcedureEvent::Wrote { write, signal } => {
                self.sent_by_procedure(write.index, write.value, signal);
            }
            ProcedureEvent::State(state) => self.procedures.on_state(*state),
            ProcedureEvent::Outcome(outcome) => self.procedures.on_outcome(*outcome),
            ProcedureEvent::Ended {
                failure, aborted, ..
            } => self.procedures.on_ended(failure, aborted),
        }
    }
}
