//! `motiontune autotune --method relay`: the device's relay mode run
//! ([`RelayTest`]), Ku and Tu, every rule's gains, and the chosen rule's
//! written only with `--write` (through the write guard, as the step
//! method's). However the run ends (its end, a failure, the device
//! stopping, Ctrl+C or SIGTERM), `relay.active` is written 0, the setpoint
//! put back and the output turned off before the command exits.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::super::connect::{Wait, connect, next_event};
use super::super::params::apply;
use super::super::report;
use super::super::step::{closed, fault, signals, wait_enabled};
use super::super::{AutotuneArgs, RuleArg};
use super::{GainNames, relay_rule, reviewed_gains};
use crate::analysis::{ParallelGains, Ultimate, UltimateRule};
use crate::link::{Link, LinkEvent};
use crate::protocol::{Command, DeviceInfo, Event};
use crate::tuning::{LoopParams, ParamWrite, RelayPlan, RelayResult, RelayTest, relay_gains};

/// Device time the loop holds its setpoint after ENABLE before a relay run.
const RELAY_SETTLE_S: f64 = 0.5;
/// Wall-clock slack on top of the relay's device time before the command
/// decides the device stopped streaming.
const RELAY_STREAM_SLACK: Duration = Duration::from_secs(5);

pub fn run(args: &AutotuneArgs) -> anyhow::Result<()> {
    let rule = relay_rule(args.rule).with_context(|| {
        format!(
            "--rule {} is for --method step: the relay takes {}",
            if args.rule == RuleArg::Simc {
                "simc"
            } else {
                "lambda"
            },
            UltimateRule::ALL.map(UltimateRule::key).join(", ")
        )
    })?;
    let (link, mut info) = connect(args.port.target(), 1)?;
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
    let test = RelayTest::start(plan, &info, true)?;
    let in_force = loop_params.gains(&info.params);

    link.send(Command::Enable(true));
    let outcome =
        wait_enabled(&link, &mut info.params).and_then(|()| run_relay_test(&link, test, &mut info));
    link.send(Command::Enable(false));
    let result = outcome?;

    let ultimate = result.ultimate();
    let proposed = result.gains(rule).parallel;
    let reviewed = args.write.then(|| {
        reviewed_gains(
            &info.params,
            &loop_params.writes(&proposed),
            args.allow_large_change,
        )
    });
    if let Some(Ok(writes)) = &reviewed {
        apply(&link, writes, &mut info)?;
    }
    print_relay(
        args,
        &link,
        &info,
        &loop_params,
        rule,
        &result,
        in_force,
        ultimate,
        matches!(reviewed, Some(Ok(_))),
    )?;
    match reviewed {
        Some(Err(refused)) => Err(refused),
        _ => Ok(()),
    }
}

/// Feeds the relay run every batch and value and sends its writes until it
/// ends; however it ends, sends the restoring writes and waits for the
/// device to confirm them.
fn run_relay_test(
    link: &Link,
    mut test: RelayTest,
    info: &mut DeviceInfo,
) -> anyhow::Result<RelayResult> {
    let device_time =
        RELAY_SETTLE_S + crate::tuning::RELAY_REST_TIMEOUT_S + test.plan().time_limit_s + 2.0;
    let wall_limit = Duration::from_secs_f64(device_time) * 2 + RELAY_STREAM_SLACK;
    let started = Instant::now();
    let mut feed_from = None;
    let mut stopped = None;
    while !test.is_done() {
        let event = match next_event(link, Instant::now() + Duration::from_millis(100)) {
            Wait::Interrupted => {
                test.abort();
                stopped = Some("interrupted".to_owned());
                break;
            }
            _ if started.elapsed() > wall_limit => {
                test.abort();
                stopped = Some("the device stopped streaming during the relay run".to_owned());
                break;
            }
            Wait::Event(event) => event,
            Wait::TimedOut => continue,
        };
        match event {
            LinkEvent::Device(Event::Samples { batch, .. }) => {
                let from = *feed_from.get_or_insert(batch.time_of(0) + RELAY_SETTLE_S);
                if batch.time_of(0) < from {
                    continue;
                }
                send(link, &test.on_samples(&batch));
            }
            LinkEvent::Device(Event::Value { index, value }) => {
                if let Some(param) = info.params.get_mut(usize::from(index)) {
                    param.value = value;
                }
                // A device leaving relay mode ends the run: restore at once.
                send(link, &test.on_value(index, value));
            }
            LinkEvent::Device(Event::Status { flags, .. })
                if !flags.enabled() || fault(flags).is_some() =>
            {
                test.abort();
                let problem = fault(flags).unwrap_or("it turned its output off");
                stopped = Some(format!("the device stopped the relay run ({problem})"));
                break;
            }
            LinkEvent::Closed(error) => return Err(closed(error)),
            _ => {}
        }
    }
    let restored = restore(link, &test.restoring_writes(), &mut info.params);
    let said = match &restored {
        Ok(()) => "relay off and setpoint restored".to_owned(),
        Err(error) => {
            format!("the relay could not be taken down and the setpoint restored ({error:#})")
        }
    };
    if let Some(reason) = stopped {
        bail!("{reason}: {said}, output off");
    }
    if let Some(failure) = test.failure() {
        bail!("{failure}: {said}");
    }
    match (test.result(), restored) {
        (Some(result), Ok(())) => Ok(result.clone()),
        (Some(_), Err(_)) => bail!("the relay run ended but {said}"),
        (None, _) => bail!("the relay run ended without a result: {said}"),
    }
}

fn send(link: &Link, writes: &[ParamWrite]) {
    for write in writes {
        link.send(Command::Set {
            index: write.index,
            value: write.value,
        });
    }
}

/// Sends the restoring writes one by one, each confirmed by the device.
fn restore(
    link: &Link,
    writes: &[ParamWrite],
    params: &mut [crate::protocol::ParamInfo],
) -> anyhow::Result<()> {
    for write in writes {
        super::super::params::write_one(link, write.index, write.value, params)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn print_relay(
    args: &AutotuneArgs,
    link: &Link,
    info: &DeviceInfo,
    loop_params: &LoopParams,
    rule: UltimateRule,
    result: &RelayResult,
    in_force: ParallelGains,
    ultimate: Ultimate,
    written: bool,
) -> anyhow::Result<()> {
    let signals = signals(info);
    let gain_names = GainNames::of(&info.params, loop_params);
    let proposed = relay_gains(ultimate, rule);
    let cycle = &result.cycle;
    if args.json {
        let gains = |g: &ParallelGains| gain_names.json(g);
        let finite = |v: f64| v.is_finite().then_some(v);
        let rules: Vec<serde_json::Value> = UltimateRule::ALL
            .iter()
            .map(|&r| {
                let g = relay_gains(ultimate, r);
                serde_json::json!({
                    "rule": r.key(),
                    "label": r.label(),
                    "kp": g.standard.kp,
                    "ti_s": finite(g.standard.ti),
                    "td_s": g.standard.td,
                    "parallel": gains(&g.parallel),
                })
            })
            .collect();
        let document = serde_json::json!({
            "device": info.name,
            "port": link.target().name(),
            "method": "relay",
            "rule": rule.key(),
            "relay": {
                "amplitude": cycle.relay_amplitude,
                "hysteresis": result.hysteresis,
                "oscillation_amplitude": cycle.amplitude,
                "amplitude_spread": cycle.amplitude_spread,
                "period_spread": cycle.period_spread,
                "cycles": cycle.cycles.len(),
            },
            "ultimate_gain": ultimate.gain,
            "ultimate_period_s": ultimate.period,
            "standard": {
                "kp": proposed.standard.kp,
                "ti_s": finite(proposed.standard.ti),
                "td_s": proposed.standard.td,
            },
            "in_force": gains(&in_force),
            "proposed": gains(&proposed.parallel),
            "rules": rules,
            "written": written,
            "predicted": serde_json::Value::Null,
            "measured": serde_json::Value::Null,
        });
        report::print(&format!("{}\n", serde_json::to_string_pretty(&document)?))?;
        return Ok(());
    }
    let mut out = format!(
        "{} on {}: relay d = {:.4} {}, hysteresis {:.3e} {}\n",
        info.name,
        link.target().name(),
        cycle.relay_amplitude,
        signals.effort_unit,
        result.hysteresis,
        signals.signal_unit,
    );
    out += &format!(
        "  oscillation amplitude a = {:.4e} {} (spread {:.1} %), period Tu = {:.5} s (spread {:.1} %), over {} cycles\n",
        cycle.amplitude,
        signals.signal_unit,
        cycle.amplitude_spread * 100.0,
        ultimate.period,
        cycle.period_spread * 100.0,
        cycle.cycles.len(),
    );
    out += &format!(
        "  ultimate gain Ku = {:.4} {}/{}\n",
        ultimate.gain, signals.effort_unit, signals.signal_unit
    );
    out += &format!(
        "{:<22}{:>12}{:>12}{:>12}{:>14}{:>14}{:>14}\n",
        "rule", "Kp", "Ti s", "Td s", gain_names.0[0], gain_names.0[1], gain_names.0[2]
    );
    for r in UltimateRule::ALL {
        let g = relay_gains(ultimate, r);
        let marker = if r == rule { "*" } else { " " };
        out += &format!(
            "{marker}{:<21}{:>12.4}{:>12}{:>12.5}{:>14.4}{:>14.4}{:>14.6}\n",
            r.label(),
            g.standard.kp,
            if g.standard.ti.is_finite() {
                format!("{:.5}", g.standard.ti)
            } else {
                "∞".to_owned()
            },
            g.standard.td,
            g.parallel.kp,
            g.parallel.ki,
            g.parallel.kd,
        );
    }
    out += &gain_names.changes(rule.label(), &in_force, &proposed.parallel);
    if !args.write {
        out += "Nothing written: add --write to write the proposed gains.\n";
    }
    report::print(&out)
}
