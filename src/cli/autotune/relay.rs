//! `motiontune autotune --method relay`: the device's relay mode run
//! ([`RelayTest`]), Ku and Tu, every rule's gains, and the chosen rule's
//! written only with `--write` (through the write guard, as the step
//! method's). However the run ends (its end, a failure, the device
//! stopping, Ctrl+C or SIGTERM), `relay.active` is written 0, the setpoint
//! put back and the output turned off before the command exits
//! ([`super::super::procedure`]).

use anyhow::Context;

use super::super::connect::connect;
use super::super::guarded_writes::{apply, reviewed_gains};
use super::super::procedure::{self, Setup};
use super::super::report;
use super::super::{AutotuneArgs, RuleArg};
use super::report::{GainNames, RelayTuning};
use crate::analysis::UltimateRule;
use crate::tuning::write_guard::WriteOrigin;
use crate::tuning::{LoopParams, Outcome, RelayPlan, RelayTest};

/// Device time the loop holds its setpoint after ENABLE before a relay run.
const RELAY_SETTLE_S: f64 = 0.5;

pub fn run(args: &AutotuneArgs) -> anyhow::Result<()> {
    // clap requires --rule for the relay.
    let given = args.rule.unwrap_or(RuleArg::ZnPid);
    let rule = given.ultimate_rule().with_context(|| {
        format!(
            "--rule {} is for --method step: the relay takes {}",
            if given == RuleArg::Simc {
                "simc"
            } else {
                "lambda"
            },
            UltimateRule::ALL.map(UltimateRule::key).join(", ")
        )
    })?;
    let (link, mut info) = connect(args.port.target()?, 1)?;
    let loop_params = LoopParams::find(&info.params)
        .context("the device has no kp, ki and kd tuning gains to propose values for")?;
    let mut plan = RelayPlan::for_device(&info);
    if let Some(amplitude) = args.relay_amplitude {
        plan.amplitude = amplitude;
    }
    if args.hysteresis.is_some() {
        plan.hysteresis = args.hysteresis;
    }
    if let Some(travel) = args.travel {
        plan.travel = travel;
    }
    plan.time_limit_s = args.time_limit;
    // Checked before the output goes on, so a bad plan changes nothing.
    RelayTest::start(plan, &info, true)?;
    let in_force = loop_params.gains(&info.params);

    let setup = Setup {
        what: "the relay run",
        settle_s: RELAY_SETTLE_S,
        device_time_s: crate::tuning::RELAY_REST_TIMEOUT_S + plan.time_limit_s + 2.0,
    };
    let outcomes = procedure::run(&link, &mut info, setup, |info| {
        Ok(Box::new(RelayTest::start(plan, info, true)?))
    })?;
    let result = outcomes
        .into_iter()
        .find_map(|outcome| match outcome {
            Outcome::Relay(result) => Some(result),
            _ => None,
        })
        .context("the relay run ended without a result")?;

    let proposed = result.gains(rule).parallel;
    let reviewed = args.write.then(|| {
        reviewed_gains(
            WriteOrigin::AutoTune,
            &info.params,
            &loop_params.writes(&proposed),
            args.allow_large_change,
        )
    });
    if let Some(Ok(writes)) = &reviewed {
        apply(&link, writes, &mut info)?;
    }
    let tuning = RelayTuning {
        info: &info,
        port: link.target().name(),
        gain_names: GainNames::of(&info.params, &loop_params),
        rule,
        result: &result,
        in_force,
        write: args.write,
        written: matches!(reviewed, Some(Ok(_))),
    };
    if args.json {
        let document = serde_json::to_string_pretty(&tuning.json())?;
        report::print(&format!("{document}\n"))?;
    } else {
        report::print(&tuning.text())?;
    }
    match reviewed {
        Some(Err(refused)) => Err(refused),
        _ => Ok(()),
    }
}
