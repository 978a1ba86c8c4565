//! `motiontune autotune`: auto-tune, headless. `--method step` runs an
//! identification step with the gains in force, fits a model from effort
//! to position, proposes gains by SIMC or lambda tuning, and prints the
//! model, the gains and the predicted step metrics; only with `--write` are
//! the gains written, and then a verification step is run and its metrics
//! printed next to the prediction. `--method relay` runs the device's relay
//! mode ([`RelayTest`]), prints Ku, Tu, how steady they were and the gains
//! of every rule, and writes the chosen rule's gains only with `--write`.
//! However a relay run ends, `relay.active` is written 0, the setpoint put
//! back and the output turned off before the command exits.
//!
//! Proposed gains pass the write guard as auto-tune's
//! ([`WriteOrigin::AutoTune`]): a gain moved beyond its per-write limit is
//! not written without `--allow-large-change`, and the command says which,
//! from what to what, and the limit, in one line. Ctrl+C or SIGTERM ends
//! every stage as `motiontune step` does; the gains are written as a set,
//! so an interrupt during their writes takes effect after the last.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::connect::{Wait, connect, next_event};
use super::params::apply;
use super::report;
use super::step::{closed, fault, measure, signals, wait_enabled};
use super::{AutotuneArgs, AutotuneMethod, ModelArg, RuleArg};
use crate::analysis::{ClosedLoopSpeed, ParallelGains, Rise, Settling, StepMetrics, StepOptions};
use crate::analysis::{TuningRule, Ultimate};
use crate::link::{Link, LinkEvent};
use crate::protocol::{Command, DeviceInfo, Event};
use crate::tuning::write_guard::{WriteGuard, WriteOrigin};
use crate::tuning::{
    LoopParams, ModelKind, ParamWrite, PreviewPlan, RelayPlan, RelayResult, RelayTest,
    StepDirection, StepPlan, StepResponse, TuneRule, identify, model_parameters, preview, propose,
    relay_gains,
};

/// Seconds of the record kept before each step.
const PRE_STEP_S: f64 = 0.1;
/// Seconds of device time the loop holds the setpoint before each step.
const SETTLE_S: f64 = 0.5;

/// Device time the loop holds its setpoint after ENABLE before a relay run.
const RELAY_SETTLE_S: f64 = 0.5;
/// Wall-clock slack on top of the relay's device time before the command
/// decides the device stopped streaming.
const RELAY_STREAM_SLACK: Duration = Duration::from_secs(5);

pub fn run(args: &AutotuneArgs) -> anyhow::Result<()> {
    if args.method == AutotuneMethod::Relay {
        return run_relay(args);
    }
    let rule = match args.rule {
        RuleArg::Simc => TuneRule::Simc,
        RuleArg::Lambda => TuneRule::Lambda,
        other => bail!(
            "--rule {} is a rule for --method relay: --method step takes simc or lambda",
            relay_rule(other).map_or("?", TuningRule::key)
        ),
    };
    let kind = match args.model {
        ModelArg::Motor => ModelKind::Motor,
        ModelArg::Fopdt => ModelKind::Fopdt,
        ModelArg::Ipdt => ModelKind::Ipdt,
    };
    let speed = match (args.tau, args.bandwidth) {
        (Some(tau), _) => ClosedLoopSpeed::TimeConstant(tau),
        (None, Some(hz)) => ClosedLoopSpeed::BandwidthHz(hz),
        (None, None) if kind == ModelKind::Motor => {
            bail!(
                "the motor model has no dead time to set the speed: give --tau SECONDS or --bandwidth HZ"
            )
        }
        (None, None) => ClosedLoopSpeed::DeadTime,
    };
    let plan = StepPlan {
        amplitude: args.amplitude,
        direction: StepDirection::Up,
        hold_s: args.hold,
        repeats: 1,
        pre_s: PRE_STEP_S.min(args.hold / 2.0),
    };
    let options = StepOptions::default();
    let (link, mut info) = connect(args.port.target(), 1)?;
    let loop_params = LoopParams::find(&info.params)
        .context("the device has no kp, ki and kd tuning gains to propose values for")?;

    let identification = first_step(measure(&link, &mut info, plan, SETTLE_S, options)?)?;
    let in_force = loop_params.gains(&info.params);
    let (derivative_filter, output_limit) = loop_params.filter_and_limit(&info.params);
    let preview_plan = PreviewPlan {
        from: f64::from(identification.from),
        to: f64::from(identification.to),
        before_s: plan.pre_s,
        hold_s: plan.hold_s,
        loop_hz: f64::from(info.loop_hz),
        derivative_filter,
        output_limit,
    };
    let (identified, proposal, predicted) = interruptible(move || {
        let identified = identify(
            kind,
            &identification.time,
            identification.effort.as_deref(),
            &identification.feedback,
        )?;
        let proposal = propose(&identified.model, rule, speed)?;
        let predicted = preview(
            &identified.model,
            &proposal.parallel,
            &preview_plan,
            &options,
        )?;
        anyhow::Ok((identified, proposal, predicted))
    })??;
    let predicted_metrics = predicted
        .metrics
        .map_err(|e| anyhow::anyhow!("the predicted step cannot be measured: {e}"))?;

    let reviewed = args.write.then(|| {
        let writes = loop_params.writes(&proposal.parallel);
        reviewed_gains(&info.params, &writes, args.allow_large_change)
    });
    let verification = match &reviewed {
        Some(Ok(writes)) => {
            apply(&link, writes, &mut info.params)?;
            if crate::interrupt::requested() {
                bail!(
                    "interrupted before the verification step: the gains were written, the output is off"
                );
            }
            Some(first_step(measure(
                &link, &mut info, plan, SETTLE_S, options,
            )?)?)
        }
        _ => None,
    };
    let written = matches!(reviewed, Some(Ok(_)));
    let measured_metrics = verification
        .as_ref()
        .map(|step| {
            step.metrics
                .clone()
                .map_err(|e| anyhow::anyhow!("the verification step cannot be measured: {e}"))
        })
        .transpose()?;

    let signals = signals(&info);
    let gain_names = GainNames::of(&info.params, &loop_params);
    let parameters = model_parameters(
        &identified.model,
        &signals.signal_unit,
        &signals.effort_unit,
    );
    if args.json {
        let gains = |g: &ParallelGains| gain_names.json(g);
        let document = serde_json::json!({
            "device": info.name,
            "port": link.target().name(),
            "model": kind.label(),
            "parameters": parameters.iter().map(|(n, v)| (n.clone(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
            "fit_rms": identified.rms,
            "rule": rule.label(),
            "in_force": gains(&in_force),
            "proposed": gains(&proposal.parallel),
            "written": written,
            "predicted": metrics_json(&predicted_metrics),
            "measured": measured_metrics.as_ref().map(metrics_json),
        });
        report::print(&format!("{}\n", serde_json::to_string_pretty(&document)?))?;
    } else {
        let mut out = format!(
            "{} on {}: {} fitted to a step of {} {} (fit RMS {:.3e} {})\n",
            info.name,
            link.target().name(),
            kind.label(),
            args.amplitude,
            signals.signal_unit,
            identified.rms,
            signals.signal_unit,
        );
        for (name, value) in &parameters {
            out += &format!("  {name}: {value:.6}\n");
        }
        out += &gain_names.changes(rule.label(), &in_force, &proposal.parallel);
        out += &format!("{:<16}{:>14}{:>14}\n", "", "predicted", "measured");
        let measured = measured_metrics.as_ref();
        for (label, _, of) in METRIC_ROWS {
            let cell = |m: Option<&StepMetrics>| {
                m.and_then(of)
                    .map_or_else(|| "—".to_owned(), |v| format!("{v:.4}"))
            };
            out += &format!(
                "{label:<16}{:>14}{:>14}\n",
                cell(Some(&predicted_metrics)),
                cell(measured)
            );
        }
        if !args.write {
            out += "Nothing written: add --write to write the proposed gains and verify them.\n";
        }
        report::print(&out)?;
    }
    match reviewed {
        Some(Err(refused)) => Err(refused),
        _ => Ok(()),
    }
}

/// Runs `work` on a thread of its own, looking for Ctrl-C or SIGTERM while
/// it runs: fitting a model takes about a second in a debug build, longer
/// on a loaded machine, and an interrupt must not wait for it. Interrupted,
/// the command ends at once (the output is off between the steps) and the
/// thread ends with the process.
fn interruptible<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (done, result) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("fit".into())
        .spawn(move || {
            let _ = done.send(work());
        })
        .context("cannot start the model fit")?;
    loop {
        if crate::interrupt::requested() {
            bail!("interrupted while fitting the model: nothing was written, the output is off");
        }
        match result.recv_timeout(Duration::from_millis(50)) {
            Ok(value) => return Ok(value),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                bail!("the model fit ended without a result")
            }
        }
    }
}

/// The proposed gains' writes as the write guard lets auto-tune send them;
/// an error naming each gain it refuses, or moves beyond its per-write
/// limit unless `allow_large`.
fn reviewed_gains(
    params: &[crate::protocol::ParamInfo],
    writes: &[(u8, f32)],
    allow_large: bool,
) -> anyhow::Result<Vec<(u8, f32)>> {
    let review = WriteGuard::default().review(WriteOrigin::AutoTune, params, writes);
    let listed = |items: Vec<String>| items.join("; ");
    if !review.refused.is_empty() {
        bail!(
            "gains not written: {}",
            listed(review.refused.iter().map(ToString::to_string).collect())
        );
    }
    if !allow_large && !review.large.is_empty() {
        bail!(
            "gains not written: {}; add --allow-large-change to write {}",
            listed(review.large.iter().map(ToString::to_string).collect()),
            if review.large.len() == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
    Ok(review.writes)
}

/// The device's names of its kp, ki and kd parameters.
struct GainNames([String; 3]);

impl GainNames {
    fn of(params: &[crate::protocol::ParamInfo], loop_params: &LoopParams) -> Self {
        let name = |i: u8| params[usize::from(i)].name.clone();
        Self([
            name(loop_params.kp),
            name(loop_params.ki),
            name(loop_params.kd),
        ])
    }

    /// `gains` as a JSON object keyed by the device's names.
    fn json(&self, gains: &ParallelGains) -> serde_json::Value {
        serde_json::json!({
            self.0[0].clone(): gains.kp,
            self.0[1].clone(): gains.ki,
            self.0[2].clone(): gains.kd,
        })
    }

    /// The lines "name: in force → proposed" under a heading naming `rule`.
    fn changes(&self, rule: &str, in_force: &ParallelGains, proposed: &ParallelGains) -> String {
        let mut out = format!("{rule} gains (in force → proposed):\n");
        let rows = [
            (in_force.kp, proposed.kp),
            (in_force.ki, proposed.ki),
            (in_force.kd, proposed.kd),
        ];
        for (name, (now, new)) in self.0.iter().zip(rows) {
            out += &format!("  {name}: {now:.6} → {new:.6}\n");
        }
        out
    }
}

/// The one step the plan measures.
fn first_step(responses: Vec<StepResponse>) -> anyhow::Result<StepResponse> {
    responses
        .into_iter()
        .next()
        .context("the step test measured no step")
}

type MetricOf = fn(&StepMetrics) -> Option<f64>;

/// The metrics printed for the prediction and the verification.
const METRIC_ROWS: [(&str, &str, MetricOf); 3] = [
    ("overshoot %", "overshoot_percent", |m| {
        Some(m.overshoot_percent)
    }),
    ("rise time s", "rise_time_s", |m| match m.rise {
        Rise::Reached { duration, .. } => Some(duration),
        Rise::NotReached => None,
    }),
    ("settling time s", "settling_time_s", |m| match m.settling {
        Settling::Settled(t) => Some(t),
        _ => None,
    }),
];

fn metrics_json(metrics: &StepMetrics) -> serde_json::Value {
    METRIC_ROWS
        .iter()
        .map(|(_, key, of)| (key.to_string(), of(metrics).into()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The Ku/Tu rule a `--rule` names; `None` for the model rules.
fn relay_rule(rule: RuleArg) -> Option<TuningRule> {
    Some(match rule {
        RuleArg::Simc | RuleArg::Lambda => return None,
        RuleArg::ZnP => TuningRule::ZieglerNicholsP,
        RuleArg::ZnPi => TuningRule::ZieglerNicholsPi,
        RuleArg::ZnPd => TuningRule::ZieglerNicholsPd,
        RuleArg::ZnPid => TuningRule::ZieglerNicholsPid,
        RuleArg::TlPi => TuningRule::TyreusLuybenPi,
        RuleArg::TlPid => TuningRule::TyreusLuybenPid,
        RuleArg::Pessen => TuningRule::PessenIntegral,
        RuleArg::SomeOvershoot => TuningRule::SomeOvershoot,
        RuleArg::NoOvershoot => TuningRule::NoOvershoot,
    })
}

fn run_relay(args: &AutotuneArgs) -> anyhow::Result<()> {
    let rule = relay_rule(args.rule).with_context(|| {
        format!(
            "--rule {} is for --method step: the relay takes {}",
            if args.rule == RuleArg::Simc {
                "simc"
            } else {
                "lambda"
            },
            TuningRule::ALL.map(TuningRule::key).join(", ")
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
    let outcome = wait_enabled(&link).and_then(|()| run_relay_test(&link, test, &mut info));
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
        apply(&link, writes, &mut info.params)?;
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
        super::params::write_one(link, write.index, write.value, params)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn print_relay(
    args: &AutotuneArgs,
    link: &Link,
    info: &DeviceInfo,
    loop_params: &LoopParams,
    rule: TuningRule,
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
        let rules: Vec<serde_json::Value> = TuningRule::ALL
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
    for r in TuningRule::ALL {
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
