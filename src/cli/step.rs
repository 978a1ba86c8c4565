//! `motiontune step`: a step test on a connected device, headless. It
//! applies the `--set` writes (they stay in force, as with `params`),
//! enables the output, lets the loop settle on the setpoint for `--settle`
//! seconds of device time, runs [`StepTest`], and prints the metrics of
//! every measured step as `analyze` does.
//!
//! Whatever happens once the output is on (the test ends, fails, the
//! device stops streaming, Ctrl+C or SIGTERM) the setpoint is put back to
//! its value from before the test and the output is turned off before the
//! command exits. Ctrl+C or SIGTERM before that (connecting, the `--set`
//! writes) ends the command with the output never switched on. Bad
//! arguments and plans that do not fit the device are refused before
//! anything is written.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::connect::{Wait, connect, next_event};
use super::params::{apply, resolve, write_one};
use super::report::{self, MeasuredSignals, StepReport};
use super::{StepArgs, StepDirectionArg};
use crate::analysis::StepOptions;
use crate::link::{Link, LinkError, LinkEvent};
use crate::protocol::{ChannelRole, Command, DeviceInfo, Event, ParamInfo, StatusFlags};
use crate::tuning::{
    STEP_SEEN_TIMEOUT_S, SetpointWrite, StepDirection, StepPlan, StepResponse, StepTest,
};

/// How long the device has to confirm ENABLE with its status.
const ENABLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest pre-step window; shorter holds get half the hold.
const PRE_STEP_S: f64 = 0.1;
/// Wall-clock slack on top of the plan's device time before the command
/// decides the device stopped streaming.
const STREAM_SLACK: Duration = Duration::from_secs(5);

pub fn run(args: &StepArgs) -> anyhow::Result<()> {
    let plan = StepPlan {
        amplitude: args.amplitude,
        direction: match args.direction {
            StepDirectionArg::Up => StepDirection::Up,
            StepDirectionArg::Down => StepDirection::Down,
            StepDirectionArg::UpDown => StepDirection::UpThenDown,
        },
        hold_s: args.hold,
        repeats: args.repeats,
        pre_s: PRE_STEP_S.min(args.hold / 2.0),
    };
    let options = args.metrics.step_options();
    let (link, mut info) = connect(args.port.target(), args.divider)?;
    let writes = resolve(&info.params, &args.set)?;

    // The plan must fit the device as it will be after the writes: checked
    // before the first write, so a bad plan changes nothing.
    let mut planned = info.clone();
    for &(index, value) in &writes {
        planned.params[index as usize].value = value;
    }
    StepTest::start(plan, &planned, setpoint_in_force(&planned), options)?;

    apply(&link, &writes, &mut info)?;
    if crate::interrupt::requested() {
        bail!("interrupted before the test: the output was never switched on");
    }
    let responses = measure(&link, &mut info, plan, args.settle, options)?;

    let signals = signals(&info);
    let reports: Vec<StepReport> = responses
        .into_iter()
        .map(|response| StepReport {
            step_time: response.step_time_s,
            from: f64::from(response.from),
            to: f64::from(response.to),
            metrics: response.metrics.map_err(|error| error.to_string()),
        })
        .collect();
    let set: serde_json::Map<String, serde_json::Value> = writes
        .iter()
        .map(|&(index, _)| {
            let param = &info.params[index as usize];
            (param.name.clone(), f64::from(param.value).into())
        })
        .collect();
    if args.json {
        let mut document = report::json(&signals, &reports);
        document["device"] = info.name.clone().into();
        document["port"] = link.target().name().into();
        document["set"] = set.into();
        report::print(&format!("{}\n", serde_json::to_string_pretty(&document)?))?;
    } else {
        let header = format!(
            "{} on {}: {} {} step{} of {} {}, held {} s\n",
            info.name,
            link.target().name(),
            reports.len(),
            args.direction.label(),
            if reports.len() == 1 { "" } else { "s" },
            args.amplitude,
            signals.signal_unit,
            args.hold,
        );
        report::print(&(header + &report::text(&signals, &reports)))?;
    }
    Ok(())
}

/// Enables the output, runs the step test in `plan` after `settle_s` of
/// device time, and turns the output off again however it ends, Ctrl+C
/// and SIGTERM included ([`crate::interrupt`]).
pub fn measure(
    link: &Link,
    info: &mut DeviceInfo,
    plan: StepPlan,
    settle_s: f64,
    options: StepOptions,
) -> anyhow::Result<Vec<StepResponse>> {
    let test = StepTest::start(plan, info, setpoint_in_force(info), options)?;
    link.send(Command::Enable(true));
    let outcome =
        wait_enabled(link).and_then(|()| run_test(link, test, settle_s, &mut info.params));
    link.send(Command::Enable(false));
    outcome
}

/// The setpoint parameter's value in force; a device without one is
/// refused by [`StepTest::start`].
pub fn setpoint_in_force(info: &DeviceInfo) -> f32 {
    info.params
        .iter()
        .find(|p| p.flags.setpoint() && !p.flags.read_only())
        .map_or(0.0, |p| p.value)
}

/// Waits until the device's status says the output is on. Interrupted,
/// it says so: the caller turns the output off, and the setpoint has not
/// moved yet.
pub(super) fn wait_enabled(link: &Link) -> anyhow::Result<()> {
    let deadline = Instant::now() + ENABLE_TIMEOUT;
    loop {
        match next_event(link, deadline) {
            Wait::Event(LinkEvent::Device(Event::Status { flags, .. })) => {
                if let Some(problem) = fault(flags) {
                    bail!("the device did not enable its output: {problem}");
                }
                if flags.enabled() {
                    return Ok(());
                }
            }
            Wait::Event(LinkEvent::Closed(error)) => bail!(closed(error)),
            Wait::Event(_) => {}
            Wait::Interrupted => bail!("interrupted: setpoint untouched, output off"),
            Wait::TimedOut => bail!("the device did not confirm ENABLE within 2 s"),
        }
    }
}

/// Feeds the test every batch and sends its writes until it ends; on any
/// way out but the plan's end, puts the setpoint back first.
fn run_test(
    link: &Link,
    mut test: StepTest,
    settle_s: f64,
    params: &mut [ParamInfo],
) -> anyhow::Result<Vec<StepResponse>> {
    let plan = *test.plan();
    // Each repeat goes away from the setpoint and back.
    let targets = 2.0 * f64::from(plan.repeats);
    let device_time = settle_s + plan.pre_s + targets * (plan.hold_s + STEP_SEEN_TIMEOUT_S);
    let wall_limit = Duration::from_secs_f64(device_time) * 2 + STREAM_SLACK;
    let started = Instant::now();
    let mut responses = Vec::new();
    // Device time from which batches go to the test: once the loop has had
    // `settle_s` to pull the feedback to the setpoint after ENABLE.
    let mut feed_from = None;
    while !test.is_done() {
        let event = match next_event(link, Instant::now() + Duration::from_millis(100)) {
            Wait::Interrupted => {
                let restored = restore(link, test.abort(), params);
                bail!("interrupted: {restored}, output off");
            }
            _ if started.elapsed() > wall_limit => {
                let restored = restore(link, test.abort(), params);
                bail!("the device stopped streaming during the test: {restored}, output off");
            }
            Wait::Event(event) => event,
            Wait::TimedOut => continue,
        };
        match event {
            LinkEvent::Device(Event::Samples { batch, .. }) => {
                let from = *feed_from.get_or_insert(batch.time_of(0) + settle_s);
                if batch.time_of(0) < from {
                    continue;
                }
                if let Some(write) = test.on_samples(&batch) {
                    send(link, write);
                }
                responses.extend(test.take_responses());
            }
            LinkEvent::Device(Event::Status { flags, .. })
                if !flags.enabled() || fault(flags).is_some() =>
            {
                let restored = restore(link, test.abort(), params);
                let problem = fault(flags).unwrap_or("it turned its output off");
                bail!("the device stopped the test ({problem}): {restored}");
            }
            LinkEvent::Closed(error) => bail!(closed(error)),
            _ => {}
        }
    }
    if let Some(failure) = test.failure() {
        // The test sent the restoring write itself.
        bail!("{failure}");
    }
    Ok(responses)
}

pub(super) fn send(link: &Link, write: SetpointWrite) {
    link.send(Command::Set {
        index: write.index,
        value: write.value,
    });
}

/// Sends the restoring write and waits for the device's answer; says
/// how it went.
fn restore(link: &Link, write: SetpointWrite, params: &mut [ParamInfo]) -> String {
    match write_one(link, write.index, write.value, params) {
        Ok(value) => format!("setpoint restored to {value}"),
        Err(error) => format!("the setpoint could not be restored ({error:#})"),
    }
}

pub(super) fn fault(flags: StatusFlags) -> Option<&'static str> {
    if flags.fault() {
        Some("the device reports a fault")
    } else if flags.watchdog_tripped() {
        Some("the device's watchdog tripped")
    } else {
        None
    }
}

pub(super) fn closed(error: Option<LinkError>) -> anyhow::Error {
    match error {
        Some(error) => anyhow::anyhow!("the link closed during the test: {error}"),
        None => anyhow::anyhow!("the link closed during the test"),
    }
}

/// The channels the test measures, by role, for the report.
pub fn signals(info: &DeviceInfo) -> MeasuredSignals {
    let channel = |role| info.channels.iter().find(|c| c.role == role);
    let name = |role| channel(role).map(|c| c.name.clone());
    MeasuredSignals {
        reference: name(ChannelRole::Reference).unwrap_or_default(),
        feedback: name(ChannelRole::Feedback).unwrap_or_default(),
        effort: name(ChannelRole::Effort),
        signal_unit: channel(ChannelRole::Feedback)
            .map(|c| c.unit.clone())
            .unwrap_or_default(),
        effort_unit: channel(ChannelRole::Effort)
            .map(|c| c.unit.clone())
            .unwrap_or_default(),
    }
}
