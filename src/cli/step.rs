//! `motiontune step`: a step test on a connected device, headless. It
//! applies the `--set` writes (they stay in force, as with `params`),
//! enables the output, lets the loop settle on the setpoint for `--settle`
//! seconds of device time, runs [`StepTest`], and prints the metrics of
//! every measured step as `analyze` does.
//!
//! Whatever happens once the output is on (the test ends, fails, the
//! device stops streaming, Ctrl+C or SIGTERM) the setpoint is put back to
//! its value from before the test and the output is turned off before the
//! command exits ([`super::procedure`]). Ctrl+C or SIGTERM before that
//! (connecting, the `--set` writes) ends the command with the output never
//! switched on. Bad arguments and plans that do not fit the device are
//! refused before anything is written.

use anyhow::bail;

use super::connect::connect;
use super::guarded_writes::{apply, resolve};
use super::procedure::{self, Setup, setpoint_in_force};
use super::report::{self, MeasuredSignals, StepReport};
use super::{StepArgs, StepDirectionArg};
use crate::analysis::StepOptions;
use crate::link::Link;
use crate::protocol::DeviceInfo;
use crate::tuning::{
    Outcome, STEP_SEEN_TIMEOUT_S, StepDirection, StepPlan, StepResponse, StepTest,
};

/// Longest pre-step window; shorter holds get half the hold.
const PRE_STEP_S: f64 = 0.1;

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
    let (link, mut info) = connect(args.port.target()?, args.divider)?;
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

    let signals = MeasuredSignals::of(&info);
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

/// Runs the step test in `plan` after `settle_s` of device time with the
/// output on ([`procedure::run`]); the steps it measured.
pub fn measure(
    link: &Link,
    info: &mut DeviceInfo,
    plan: StepPlan,
    settle_s: f64,
    options: StepOptions,
) -> anyhow::Result<Vec<StepResponse>> {
    // Every check the test makes, before anything moves.
    StepTest::start(plan, info, setpoint_in_force(info), options)?;
    // Each repeat goes away from the setpoint and back.
    let targets = 2.0 * f64::from(plan.repeats);
    let setup = Setup {
        what: "the test",
        settle_s,
        device_time_s: plan.pre_s + targets * (plan.hold_s + STEP_SEEN_TIMEOUT_S),
    };
    let outcomes = procedure::run(link, info, setup, |info| {
        let test = StepTest::start(plan, info, setpoint_in_force(info), options)?;
        Ok(Box::new(test))
    })?;
    Ok(outcomes
        .into_iter()
        .filter_map(|outcome| match outcome {
            Outcome::Step(response) => Some(response),
            _ => None,
        })
        .collect())
}
