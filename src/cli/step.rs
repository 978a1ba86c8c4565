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
use crate::protocol::{ChannelRole, Command, DeviceInfo, Event, ParamInfo, StatusFlags, TextLevel};
use crate::tuning::{
    ParamWrite, STEP_SEEN_TIMEOUT_S, StepDirection, StepPlan, StepResponse, StepTest,
};

/// How long the device has to confirm ENABLE with its status.
const ENABLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest pre-step window; shorter holds get half the hold.
const PRE_STEP_S: f64 = 0.1;
/// Wall-clock slack on top of the plan's device time before the command
/// decides the device stopped streaming.
const STREAM_SLACK: Duration = Duration::from_secs(5);
/// How long the device has to report its output off at the end.
const DISABLE_TIMEOUT: Duration = Duration::from_secs(1);

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
    // Every check the test makes, before anything moves.
    StepTest::start(plan, info, setpoint_in_force(info), options)?;
    let found = setpoint_in_force(info);
    link.send(Command::Enable(true));
    let outcome = wait_enabled(link, &mut info.params)
        .and_then(|()| run_test(link, plan, options, settle_s, info));
    link.send(Command::Enable(false));
    put_back_setpoint(link, found, &mut info.params);
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

/// Keeps `params` at the values the device reports.
pub(super) fn note_value(event: &Event, params: &mut [ParamInfo]) {
    if let Event::Value { index, value } = *event
        && let Some(param) = params.get_mut(usize::from(index))
    {
        param.value = value;
    }
}

/// Waits until the device's status says the output is on, keeping
/// `params` at the values it reports meanwhile. Interrupted, it says so:
/// the caller turns the output off, and the setpoint has not moved yet.
pub(super) fn wait_enabled(link: &Link, params: &mut [ParamInfo]) -> anyhow::Result<()> {
    let deadline = Instant::now() + ENABLE_TIMEOUT;
    // The device's own words on what went wrong, when it says any.
    let mut said = None;
    loop {
        match next_event(link, deadline) {
            Wait::Event(LinkEvent::Device(Event::Status { flags, .. })) => {
                if let Some(problem) = fault(flags) {
                    bail!(
                        "the device did not enable its output: {}",
                        said.unwrap_or_else(|| problem.to_owned())
                    );
                }
                if flags.enabled() {
                    return Ok(());
                }
            }
            Wait::Event(LinkEvent::Device(Event::Text {
                level: TextLevel::Error,
                message,
            })) => said = Some(message),
            Wait::Event(LinkEvent::Device(event)) => note_value(&event, params),
            Wait::Event(LinkEvent::Closed(error)) => bail!(closed(error)),
            Wait::Event(_) => {}
            Wait::Interrupted => bail!("interrupted: setpoint untouched, output off"),
            Wait::TimedOut => bail!("the device did not confirm ENABLE within 2 s"),
        }
    }
}

/// Once the device reports its output off, puts the setpoint back to
/// `found` if the firmware moved it meanwhile (an ODrive's closed loop
/// re-seeds `input_pos`); with the output off the write moves nothing.
/// Best effort: the command's own outcome is what it reports.
pub(super) fn put_back_setpoint(link: &Link, found: f32, params: &mut [ParamInfo]) {
    let deadline = Instant::now() + DISABLE_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Device(Event::Status { flags, .. })) if !flags.enabled() => break,
            Ok(LinkEvent::Device(event)) => note_value(&event, params),
            Ok(_) => {}
            Err(_) => return,
        }
    }
    let Some(index) = params
        .iter()
        .position(|p| p.flags.setpoint() && !p.flags.read_only())
    else {
        return;
    };
    if params[index].value != found {
        let _ = write_one(link, index as u8, found, params);
    }
}

/// Starts the test once the loop has had `settle_s` of device time after
/// ENABLE, from the setpoint the device reports then; feeds it every batch
/// and sends its writes until it ends; on any way out but the plan's end,
/// puts the setpoint back first.
fn run_test(
    link: &Link,
    plan: StepPlan,
    options: StepOptions,
    settle_s: f64,
    info: &mut DeviceInfo,
) -> anyhow::Result<Vec<StepResponse>> {
    // Each repeat goes away from the setpoint and back.
    let targets = 2.0 * f64::from(plan.repeats);
    let device_time = settle_s + plan.pre_s + targets * (plan.hold_s + STEP_SEEN_TIMEOUT_S);
    let wall_limit = Duration::from_secs_f64(device_time) * 2 + STREAM_SLACK;
    let started = Instant::now();
    let mut responses = Vec::new();
    // Device time from which batches go to the test.
    let mut feed_from = None;
    let mut test: Option<StepTest> = None;
    while !test.as_ref().is_some_and(StepTest::is_done) {
        let event = match next_event(link, Instant::now() + Duration::from_millis(100)) {
            Wait::Interrupted => {
                let restored = abort(link, test.as_mut(), &mut info.params);
                bail!("interrupted: {restored}, output off");
            }
            _ if started.elapsed() > wall_limit => {
                let restored = abort(link, test.as_mut(), &mut info.params);
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
                let test = match &mut test {
                    Some(test) => test,
                    None => test.insert(StepTest::start(
                        plan,
                        info,
                        setpoint_in_force(info),
                        options,
                    )?),
                };
                if let Some(write) = test.on_samples(&batch) {
                    send(link, write);
                }
                responses.extend(test.take_responses());
            }
            LinkEvent::Device(Event::Status { flags, .. })
                if !flags.enabled() || fault(flags).is_some() =>
            {
                let restored = abort(link, test.as_mut(), &mut info.params);
                let problem = fault(flags).unwrap_or("it turned its output off");
                bail!("the device stopped the test ({problem}): {restored}");
            }
            LinkEvent::Device(event) => note_value(&event, &mut info.params),
            LinkEvent::Closed(error) => bail!(closed(error)),
            _ => {}
        }
    }
    if let Some(failure) = test.as_ref().and_then(StepTest::failure) {
        // The test sent the restoring write itself, if it had moved it.
        bail!("{failure}");
    }
    Ok(responses)
}

/// Stops a test under way and puts its setpoint back; says how it went.
fn abort(link: &Link, test: Option<&mut StepTest>, params: &mut [ParamInfo]) -> String {
    match test {
        Some(test) => restore(link, test.abort(), params),
        None => "setpoint untouched".to_owned(),
    }
}

pub(super) fn send(link: &Link, write: ParamWrite) {
    link.send(Command::Set {
        index: write.index,
        value: write.value,
    });
}

/// Sends the restoring write and waits for the device's answer; says
/// how it went.
fn restore(link: &Link, write: ParamWrite, params: &mut [ParamInfo]) -> String {
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
