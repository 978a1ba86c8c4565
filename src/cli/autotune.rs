//! `motiontune autotune`: auto-tune, headless. `--method step` runs an
//! identification step with the gains in force, fits a model from effort
//! to position, proposes gains by SIMC or lambda tuning, and prints the
//! model, the gains and the predicted step metrics; only with `--write` are
//! the gains written, and then a verification step is run and its metrics
//! printed next to the prediction. `--method relay` ([`relay`]) runs the
//! device's relay mode, prints Ku, Tu, how steady they were and the gains
//! of every rule, and writes the chosen rule's gains only with `--write`.
//!
//! Proposed gains pass the write guard as auto-tune's
//! ([`WriteOrigin::AutoTune`]): a gain moved beyond its per-write limit is
//! not written without `--allow-large-change`, and the command says which,
//! from what to what, and the limit, in one line. Ctrl+C or SIGTERM ends
//! every stage as `motiontune step` does; the gains are written as a set,
//! so an interrupt during their writes takes effect after the last.

mod relay;

use std::time::Duration;

use anyhow::{Context, bail};

use super::connect::connect;
use super::params::apply;
use super::report;
use super::step::{measure, signals};
use super::{AutotuneArgs, AutotuneMethod, ModelArg, RuleArg};
use crate::analysis::UltimateRule;
use crate::analysis::{ClosedLoopSpeed, ParallelGains, Rise, Settling, StepMetrics, StepOptions};
use crate::tuning::write_guard::{WriteGuard, WriteOrigin};
use crate::tuning::{
    LoopParams, ModelKind, ModelRule, PreviewPlan, StepDirection, StepPlan, StepResponse, identify,
    model_parameters, preview, propose,
};

/// Seconds of the record kept before each step.
const PRE_STEP_S: f64 = 0.1;
/// Seconds of device time the loop holds the setpoint before each step.
const SETTLE_S: f64 = 0.5;

pub fn run(args: &AutotuneArgs) -> anyhow::Result<()> {
    if args.method == AutotuneMethod::Relay {
        return relay::run(args);
    }
    let rule = match args.rule {
        RuleArg::Simc => ModelRule::Simc,
        RuleArg::Lambda => ModelRule::Lambda,
        other => bail!(
            "--rule {} is a rule for --method relay: --method step takes simc or lambda",
            relay_rule(other).map_or("?", UltimateRule::key)
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
            apply(&link, writes, &mut info)?;
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
fn relay_rule(rule: RuleArg) -> Option<UltimateRule> {
    Some(match rule {
        RuleArg::Simc | RuleArg::Lambda => return None,
        RuleArg::ZnP => UltimateRule::ZieglerNicholsP,
        RuleArg::ZnPi => UltimateRule::ZieglerNicholsPi,
        RuleArg::ZnPd => UltimateRule::ZieglerNicholsPd,
        RuleArg::ZnPid => UltimateRule::ZieglerNicholsPid,
        RuleArg::TlPi => UltimateRule::TyreusLuybenPi,
        RuleArg::TlPid => UltimateRule::TyreusLuybenPid,
        RuleArg::Pessen => UltimateRule::PessenIntegral,
        RuleArg::SomeOvershoot => UltimateRule::SomeOvershoot,
        RuleArg::NoOvershoot => UltimateRule::NoOvershoot,
    })
}
