use std::time::{Duration, Instant};

use super::{Action, ProcedureEvent, Runner};
use crate::protocol::{Event, SampleBatch, StatusFlags};
use crate::tuning::{ExcitationState, Outcome, ParamWrite, Procedure, ProcedureState};

/// A procedure that writes index 1 once per batch for `batches` batches,
/// then ends by restoring index 1 to 0; abort restores it too.
#[derive(Debug)]
struct Scripted {
    batches: usize,
    fed: usize,
    done: bool,
    aborted: bool,
    signal: bool,
}

impl Scripted {
    fn new(batches: usize) -> Box<Self> {
        Box::new(Self {
            batches,
            fed: 0,
            done: false,
            aborted: false,
            signal: false,
        })
    }
}

const RESTORE: ParamWrite = ParamWrite {
    index: 1,
    value: 0.0,
};

impl Procedure for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn on_samples(&mut self, _batch: &SampleBatch) -> Vec<ParamWrite> {
        if self.done {
            return Vec::new();
        }
        self.fed += 1;
        if self.fed >= self.batches {
            self.done = true;
            return vec![RESTORE];
        }
        vec![ParamWrite {
            index: 1,
            value: self.fed as f32,
        }]
    }

    fn abort(&mut self) -> Vec<ParamWrite> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        self.aborted = true;
        vec![RESTORE]
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn take_outcomes(&mut self) -> Vec<Outcome> {
        Vec::new()
    }

    fn failure(&self) -> Option<String> {
        None
    }

    fn state(&self) -> ProcedureState {
        ProcedureState::Excitation(if self.aborted {
            ExcitationState::Aborted
        } else if self.done {
            ExcitationState::Finished
        } else {
            ExcitationState::Running {
                done: self.fed as f64 / self.batches as f64,
            }
        })
    }

    fn writes_are_a_signal(&self) -> bool {
        self.signal
    }
}

fn batch(k: i64) -> Event {
    Event::Samples {
        batch: SampleBatch {
            first_tick: k,
            stride: 1,
            tick_hz: 1000.0,
            channel_count: 1,
            values: vec![0.0],
            exact: None,
        },
        lost_before: 0,
    }
}

fn status(flags: u8) -> Event {
    Event::Status {
        flags: StatusFlags(flags),
        tick: 0,
    }
}

fn writes(actions: &[Action]) -> Vec<ParamWrite> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Write(w) => Some(*w),
            Action::Report(_) => None,
        })
        .collect()
}

fn ended(actions: &[Action]) -> Vec<(Option<String>, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Report(ProcedureEvent::Ended {
                failure, aborted, ..
            }) => Some((failure.clone(), *aborted)),
            _ => None,
        })
        .collect()
}

#[test]
fn every_write_is_reported_before_it_is_written_and_the_end_comes_once() {
    let mut runner = Runner::default();
    let now = Instant::now();
    let mut all = runner.start(Scripted::new(3), now);
    for k in 0..6 {
        all.extend(runner.on_event(&batch(k), now));
    }
    assert_eq!(
        writes(&all),
        vec![
            ParamWrite {
                index: 1,
                value: 1.0
            },
            ParamWrite {
                index: 1,
                value: 2.0
            },
            RESTORE
        ]
    );
    for (k, action) in all.iter().enumerate() {
        if let Action::Write(write) = action {
            assert!(
                matches!(&all[k - 1], Action::Report(ProcedureEvent::Wrote { write: w, .. }) if w == write),
                "write {k} not reported just before: {all:?}"
            );
        }
    }
    assert_eq!(ended(&all), vec![(None, false)]);
    assert!(matches!(
        all.last(),
        Some(Action::Report(ProcedureEvent::Ended { .. }))
    ));
    assert!(!runner.is_running());
}

#[test]
fn a_fault_or_a_trip_aborts_with_the_restoring_write() {
    for (flags, why) in [
        (StatusFlags::ENABLED | StatusFlags::FAULT, "fault"),
        (StatusFlags::WATCHDOG, "watchdog"),
    ] {
        let mut runner = Runner::default();
        let now = Instant::now();
        runner.start(Scripted::new(100), now);
        runner.on_event(&batch(0), now);
        let actions = runner.on_event(&status(flags), now);
        assert_eq!(writes(&actions), vec![RESTORE]);
        let end = ended(&actions);
        assert_eq!(end.len(), 1);
        assert!(end[0].1, "aborted");
        assert!(
            end[0].0.as_deref().is_some_and(|f| f.contains(why)),
            "{end:?}"
        );
        assert!(
            runner.on_event(&batch(1), now).is_empty(),
            "nothing after the end"
        );
    }
}

#[test]
fn the_output_going_off_aborts_but_an_output_found_off_does_not() {
    let mut runner = Runner::default();
    let now = Instant::now();
    runner.start(Scripted::new(100), now);
    assert!(ended(&runner.on_event(&status(0), now)).is_empty());
    runner.on_event(&status(StatusFlags::ENABLED), now);
    assert!(ended(&runner.on_event(&batch(0), now)).is_empty());
    let actions = runner.on_event(&status(0), now);
    assert_eq!(writes(&actions), vec![RESTORE]);
    assert_eq!(
        ended(&actions),
        vec![(Some("the device turned its output off".into()), true)]
    );
}

#[test]
fn a_second_procedure_is_refused_and_the_first_runs_on() {
    let mut runner = Runner::default();
    let now = Instant::now();
    runner.start(Scripted::new(2), now);
    let refused = runner.start(Scripted::new(2), now);
    assert!(writes(&refused).is_empty());
    let end = ended(&refused);
    assert!(
        end[0]
            .0
            .as_deref()
            .is_some_and(|f| f.contains("is running"))
    );
    assert!(runner.is_running());
    let actions = runner.on_event(&batch(0), now);
    assert_eq!(writes(&actions).len(), 1);
}

#[test]
fn abort_and_close_restore_once_and_abort_without_a_procedure_does_nothing() {
    let mut runner = Runner::default();
    let now = Instant::now();
    assert!(runner.abort().is_empty());
    runner.start(Scripted::new(10), now);
    let actions = runner.abort();
    assert_eq!(writes(&actions), vec![RESTORE]);
    assert_eq!(ended(&actions), vec![(None, true)]);
    assert!(runner.abort().is_empty());

    runner.start(Scripted::new(10), now);
    let actions = runner.on_close("the link was closed");
    assert_eq!(writes(&actions), vec![RESTORE]);
    assert_eq!(
        ended(&actions),
        vec![(Some("the link was closed".into()), true)]
    );
}

#[test]
fn states_are_reported_at_most_every_interval_and_the_last_always() {
    let mut runner = Runner::default();
    let now = Instant::now();
    let mut all = runner.start(Scripted::new(50), now);
    for k in 0..50 {
        // 49 batches within 1 ms of each other, then the last one.
        all.extend(runner.on_event(&batch(k), now + Duration::from_micros(k as u64 * 20)));
    }
    let states: Vec<_> = all
        .iter()
        .filter_map(|a| match a {
            Action::Report(ProcedureEvent::State(state)) => Some((**state).clone()),
            _ => None,
        })
        .collect();
    assert_eq!(states.len(), 2, "{states:?}");
    assert_eq!(
        states.last(),
        Some(&ProcedureState::Excitation(ExcitationState::Finished))
    );
}

#[test]
fn a_signal_procedure_marks_every_write_but_its_last() {
    let mut runner = Runner::default();
    let now = Instant::now();
    let mut procedure = Scripted::new(3);
    procedure.signal = true;
    let mut all = runner.start(procedure, now);
    for k in 0..3 {
        all.extend(runner.on_event(&batch(k), now));
    }
    let signals: Vec<bool> = all
        .iter()
        .filter_map(|a| match a {
            Action::Report(ProcedureEvent::Wrote { signal, .. }) => Some(*signal),
            _ => None,
        })
        .collect();
    assert_eq!(signals, vec![true, true, false]);
}

/// Through a real link on the built-in drive: a step test started with
/// [`Link::run`](crate::link::Link::run) measures its steps on the link
/// thread, each write is reported before the device's answer to it, the
/// setpoint ends where it was, and the output going off mid-test aborts.
#[test]
fn a_step_test_runs_on_the_link_thread_of_the_simulated_drive() {
    use crate::link::{Link, LinkEvent, LinkOptions, PortTarget};
    use crate::protocol::{Command, DeviceInfo};
    use crate::tuning::{StepPlan, StepTest};

    let link = Link::open(LinkOptions::new(PortTarget::Sim));
    let deadline = Instant::now() + Duration::from_secs(20);
    let next = || {
        link.events()
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the link went quiet")
    };
    let info: DeviceInfo = loop {
        if let LinkEvent::Device(Event::Described(info)) = next() {
            break info;
        }
    };
    let setpoint = info
        .params
        .iter()
        .position(|p| p.flags.setpoint() && !p.flags.read_only())
        .expect("a setpoint");
    let before = info.params[setpoint].value;
    link.send(Command::Enable(true));
    while !matches!(next(), LinkEvent::Device(Event::Status { flags, .. }) if flags.enabled()) {}

    let plan = StepPlan {
        amplitude: 0.5,
        hold_s: 0.3,
        ..StepPlan::default()
    };
    let test = StepTest::start(plan, &info, before, Default::default()).expect("starts");
    assert!(link.run(Box::new(test)));
    let (mut steps, mut wrote, mut last_value) = (0, Vec::new(), None);
    let end = loop {
        match next() {
            LinkEvent::Procedure(ProcedureEvent::Outcome(outcome))
                if matches!(*outcome, Outcome::Step(_)) =>
            {
                steps += 1;
            }
            LinkEvent::Procedure(ProcedureEvent::Wrote { write, .. }) => wrote.push(write.value),
            LinkEvent::Procedure(ProcedureEvent::Ended {
                failure, aborted, ..
            }) => {
                break (failure, aborted);
            }
            LinkEvent::Device(Event::Value { index, value }) if usize::from(index) == setpoint => {
                assert!(
                    wrote.contains(&value),
                    "VALUE {value} before its write was reported"
                );
                last_value = Some(value);
            }
            _ => {}
        }
    };
    assert_eq!(end, (None, false));
    assert_eq!(steps, 1, "one step up");
    assert_eq!(wrote.last(), Some(&before));
    while last_value != Some(before) {
        if let LinkEvent::Device(Event::Value { index, value }) = next()
            && usize::from(index) == setpoint
        {
            last_value = Some(value);
        }
    }

    // The output going off aborts the next one and puts the setpoint back.
    let test = StepTest::start(plan, &info, before, Default::default()).expect("starts");
    assert!(link.run(Box::new(test)));
    while !matches!(next(), LinkEvent::Procedure(ProcedureEvent::Started { .. })) {}
    link.send(Command::Enable(false));
    let failure = loop {
        if let LinkEvent::Procedure(ProcedureEvent::Ended {
            failure, aborted, ..
        }) = next()
        {
            assert!(aborted);
            break failure;
        }
    };
    assert_eq!(failure.as_deref(), Some("the device turned its output off"));
}
