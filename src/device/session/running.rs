//! The procedures a session ran on its device, as the panels show them:
//! what was asked for (the plan), where each stands (the runner's last
//! [`ProcedureState`]), how it ended, and what it measured that the app has
//! not taken yet. The procedures themselves run on the link thread
//! ([`crate::link::Link::run`]); this model only keeps what their events
//! said, so it holds no state machine and sends nothing.
//!
//! At most one procedure runs at a time. The last one of each kind stays
//! after it ended, so each tab keeps showing how its own last run ended
//! while another kind runs.

use crate::tuning::{
    ExcitationPlan, FrequencyMeasurement, Outcome, ProcedureState, RelayPlan, RelayResult,
    StepPlan, StepResponse,
};

/// The kinds of procedure a session starts, one tab each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcedureKind {
    /// A step test.
    StepTest,
    /// A frequency-response measurement.
    FrequencyResponse,
    /// A relay run.
    Relay,
}

impl ProcedureKind {
    const ALL: [Self; 3] = [Self::StepTest, Self::FrequencyResponse, Self::Relay];

    fn slot(self) -> usize {
        self as usize
    }
}

/// What the user asked a procedure to do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ProcedurePlan {
    /// A step test with this plan.
    StepTest(StepPlan),
    /// A frequency-response measurement with this plan.
    FrequencyResponse(ExcitationPlan),
    /// A relay run with this plan.
    Relay(RelayPlan),
}

impl ProcedurePlan {
    /// Which kind of procedure the plan is for.
    pub fn kind(&self) -> ProcedureKind {
        match self {
            Self::StepTest(_) => ProcedureKind::StepTest,
            Self::FrequencyResponse(_) => ProcedureKind::FrequencyResponse,
            Self::Relay(_) => ProcedureKind::Relay,
        }
    }
}

/// How a procedure ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Ending {
    /// Why it ended without finishing, in one line; `None` when it finished
    /// or was aborted.
    pub failure: Option<String>,
    /// The user (or the emergency stop) aborted it.
    pub aborted: bool,
}

/// One procedure the session started: running until it [`Self::ended`].
#[derive(Clone, Debug, PartialEq)]
pub struct ProcedureRun {
    /// What the user asked for.
    pub plan: ProcedurePlan,
    /// The setpoint in force when it started: what its end puts back.
    pub setpoint_before: f32,
    /// Where it stands, as the runner last said; `None` before it said.
    pub state: Option<ProcedureState>,
    /// How it ended; `None` while it runs.
    pub ended: Option<Ending>,
}

impl ProcedureRun {
    /// Which kind of procedure it is.
    pub fn kind(&self) -> ProcedureKind {
        self.plan.kind()
    }

    /// It has ended: finished, failed or aborted.
    pub fn is_done(&self) -> bool {
        self.ended.is_some()
    }
}

/// The session's procedures and what they measured.
#[derive(Debug, Default)]
pub struct Procedures {
    /// The last run of each kind, by [`ProcedureKind::slot`].
    runs: [Option<ProcedureRun>; 3],
    /// Steps measured that the app has not taken yet.
    measured_steps: Vec<StepResponse>,
    /// Frequency responses measured that the app has not taken yet.
    measured_responses: Vec<FrequencyMeasurement>,
    /// The last relay run's result; a new relay run clears it.
    relay_result: Option<RelayResult>,
}

impl Procedures {
    /// The procedure running now, if any.
    pub fn running(&self) -> Option<&ProcedureRun> {
        self.runs.iter().flatten().find(|run| !run.is_done())
    }

    fn running_mut(&mut self) -> Option<&mut ProcedureRun> {
        self.runs.iter_mut().flatten().find(|run| !run.is_done())
    }

    /// The last run of `kind`, running or ended.
    pub fn last(&self, kind: ProcedureKind) -> Option<&ProcedureRun> {
        self.runs[kind.slot()].as_ref()
    }

    /// The last relay run's result, kept until the next relay run starts.
    pub fn relay_result(&self) -> Option<&RelayResult> {
        self.relay_result.as_ref()
    }

    /// A procedure was handed to the runner. Refused (false) while another
    /// runs: the runner would refuse it too.
    pub fn started(&mut self, plan: ProcedurePlan, setpoint_before: f32) -> bool {
        if self.running().is_some() {
            return false;
        }
        if plan.kind() == ProcedureKind::Relay {
            self.relay_result = None;
        }
        self.runs[plan.kind().slot()] = Some(ProcedureRun {
            plan,
            setpoint_before,
            state: None,
            ended: None,
        });
        true
    }

    /// Where the running procedure stands now.
    pub fn on_state(&mut self, state: ProcedureState) {
        if let Some(run) = self.running_mut() {
            run.state = Some(state);
        }
    }

    /// Something the running procedure measured.
    pub fn on_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Step(step) => self.measured_steps.push(step),
            Outcome::FrequencyResponse(response) => self.measured_responses.push(response),
            Outcome::Relay(result) => self.relay_result = Some(result),
        }
    }

    /// The running procedure ended (nothing of it follows).
    pub fn on_ended(&mut self, failure: Option<String>, aborted: bool) {
        if let Some(run) = self.running_mut() {
            run.ended = Some(Ending { failure, aborted });
        }
    }

    /// The link is gone with the procedure on it: it ended, whatever its
    /// runner could still say.
    pub fn link_lost(&mut self, why: &str) {
        self.on_ended(Some(why.to_owned()), false);
    }

    /// The steps measured since last taken, oldest first.
    pub fn take_measured_steps(&mut self) -> Vec<StepResponse> {
        std::mem::take(&mut self.measured_steps)
    }

    /// The frequency responses measured since last taken, oldest first.
    pub fn take_measured_responses(&mut self) -> Vec<FrequencyMeasurement> {
        std::mem::take(&mut self.measured_responses)
    }

    /// Every kind's last run, for whoever lists them.
    pub fn all(&self) -> impl Iterator<Item = &ProcedureRun> {
        ProcedureKind::ALL
            .into_iter()
            .filter_map(|kind| self.last(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::{ExcitationState, StepTestState};

    fn step_plan() -> ProcedurePlan {
        ProcedurePlan::StepTest(StepPlan::default())
    }

    #[test]
    fn one_runs_at_a_time_and_each_kind_keeps_its_last() {
        let mut procedures = Procedures::default();
        assert!(procedures.running().is_none());
        assert!(procedures.started(step_plan(), 0.5));
        let relay = ProcedurePlan::Relay(RelayPlan {
            amplitude: 1.0,
            hysteresis: None,
            travel: 0.5,
            time_limit_s: 10.0,
            cycles: Default::default(),
        });
        assert!(!procedures.started(relay, 0.5), "a step test runs");
        procedures.on_state(ProcedureState::Step(StepTestState::Running {
            target: 1,
            of: 2,
        }));
        procedures.on_ended(None, false);
        assert!(procedures.running().is_none());
        assert!(procedures.started(relay, 0.5));
        assert_eq!(
            procedures.running().map(ProcedureRun::kind),
            Some(ProcedureKind::Relay)
        );
        // The step test's last state stays for its tab.
        let step = procedures.last(ProcedureKind::StepTest).expect("kept");
        assert!(step.is_done());
        assert_eq!(step.setpoint_before, 0.5);
        assert_eq!(
            step.state,
            Some(ProcedureState::Step(StepTestState::Running {
                target: 1,
                of: 2
            }))
        );
        assert_eq!(procedures.all().count(), 2);
    }

    #[test]
    fn states_and_endings_go_to_the_running_procedure_only() {
        let mut procedures = Procedures::default();
        // Nothing runs: nothing to update.
        procedures.on_state(ProcedureState::Step(StepTestState::Starting));
        procedures.on_ended(Some("late".into()), false);
        assert_eq!(procedures.all().count(), 0);

        let plan = ProcedurePlan::FrequencyResponse(ExcitationPlan::for_device(
            1000.0, 1000.0, 100.0, 1.0,
        ));
        assert!(procedures.started(plan, 0.0));
        procedures.on_state(ProcedureState::Excitation(ExcitationState::Running {
            done: 0.5,
        }));
        procedures.on_ended(None, true);
        // A second ending (a link closing after the runner's own) changes nothing.
        procedures.link_lost("the connection was lost");
        let run = procedures
            .last(ProcedureKind::FrequencyResponse)
            .expect("kept");
        assert_eq!(
            run.ended,
            Some(Ending {
                failure: None,
                aborted: true
            })
        );
    }

    #[test]
    fn a_lost_link_ends_the_running_procedure_with_its_reason() {
        let mut procedures = Procedures::default();
        assert!(procedures.started(step_plan(), 0.0));
        procedures.link_lost("the connection was lost");
        let run = procedures.last(ProcedureKind::StepTest).expect("kept");
        assert_eq!(
            run.ended.as_ref().and_then(|e| e.failure.as_deref()),
            Some("the connection was lost")
        );
        assert!(procedures.started(step_plan(), 0.0), "free again");
    }

    #[test]
    fn measurements_wait_until_taken() {
        let mut procedures = Procedures::default();
        assert!(procedures.take_measured_steps().is_empty());
        let step = |number| StepResponse {
            number,
            from: 0.0,
            to: 0.1,
            step_time_s: 1.0,
            time: Vec::new(),
            reference: Vec::new(),
            feedback: Vec::new(),
            effort: None,
            metrics: Err(crate::analysis::StepMetricsError::LengthMismatch {
                channel: "feedback",
                len: 0,
                time_len: 1,
            }),
        };
        assert!(procedures.started(step_plan(), 0.0));
        procedures.on_outcome(Outcome::Step(step(1)));
        procedures.on_outcome(Outcome::Step(step(2)));
        let taken: Vec<usize> = procedures
            .take_measured_steps()
            .iter()
            .map(|s| s.number)
            .collect();
        assert_eq!(taken, [1, 2]);
        assert!(procedures.take_measured_steps().is_empty(), "taken once");
        assert!(procedures.take_measured_responses().is_empty());
        assert!(procedures.relay_result().is_none());
    }
}
