//! `motiontune autotune`: model-based auto-tune, headless. Runs an
//! identification step with the gains in force, fits a model from effort
//! to position, proposes gains by SIMC or lambda tuning, and prints the
//! model, the gains and the predicted step metrics. Only with `--write` are
//! the gains written, and then a verification step is run and its metrics
//! printed next to the prediction.

use anyhow::{Context, bail};

use super::connect::connect;
use super::params::apply;
use super::step::{measure, signals};
use super::{AutotuneArgs, AutotuneMethod, ModelArg, RuleArg};
use crate::analysis::{ClosedLoopSpeed, ParallelGains, Rise, Settling, StepMetrics, StepOptions};
use crate::tuning::{
    LoopParams, ModelKind, PreviewPlan, StepDirection, StepPlan, StepResponse, TuneRule, identify,
    model_parameters, preview, propose,
};

/// Seconds of the record kept before each step.
const PRE_STEP_S: f64 = 0.1;
/// Seconds of device time the loop holds the setpoint before each step.
const SETTLE_S: f64 = 0.5;

pub fn run(args: &AutotuneArgs) -> anyhow::Result<()> {
    if args.method == AutotuneMethod::Relay {
        bail!(
            "--method relay is not available: a relay switched by the host acts on samples that arrive in 10 ms batches, so it would measure the link's latency, not the loop; it needs a device-side relay mode. Use --method step"
        );
    }
    let kind = match args.model {
        ModelArg::Motor => ModelKind::Motor,
        ModelArg::Fopdt => ModelKind::Fopdt,
        ModelArg::Ipdt => ModelKind::Ipdt,
    };
    let rule = match args.rule {
        RuleArg::Simc => TuneRule::Simc,
        RuleArg::Lambda => TuneRule::Lambda,
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
    let identified = identify(
        kind,
        &identification.time,
        identification.effort.as_deref(),
        &identification.feedback,
    )?;
    let proposal = propose(&identified.model, rule, speed)?;
    let in_force = loop_params.gains(&info.params);
    let (derivative_filter, output_limit) = loop_params.filter_and_limit(&info.params);
    let predicted = preview(
        &identified.model,
        &proposal.parallel,
        &PreviewPlan {
            from: f64::from(identification.from),
            to: f64::from(identification.to),
            before_s: plan.pre_s,
            hold_s: plan.hold_s,
            loop_hz: f64::from(info.loop_hz),
            derivative_filter,
            output_limit,
        },
        &options,
    )?;
    let predicted_metrics = predicted
        .metrics
        .map_err(|e| anyhow::anyhow!("the predicted step cannot be measured: {e}"))?;

    let verification = if args.write {
        let writes = loop_params.writes(&proposal.parallel);
        apply(&link, &writes, &mut info.params)?;
        Some(first_step(measure(
            &link, &mut info, plan, SETTLE_S, options,
        )?)?)
    } else {
        None
    };
    let measured_metrics = verification
        .as_ref()
        .map(|step| {
            step.metrics
                .clone()
                .map_err(|e| anyhow::anyhow!("the verification step cannot be measured: {e}"))
        })
        .transpose()?;

    let signals = signals(&info);
    let names = |i: u8| info.params[usize::from(i)].name.clone();
    let gain_names = [
        names(loop_params.kp),
        names(loop_params.ki),
        names(loop_params.kd),
    ];
    let parameters = model_parameters(
        &identified.model,
        &signals.signal_unit,
        &signals.effort_unit,
    );
    if args.json {
        let gains = |g: &ParallelGains| {
            serde_json::json!({
                gain_names[0].clone(): g.kp,
                gain_names[1].clone(): g.ki,
                gain_names[2].clone(): g.kd,
            })
        };
        let document = serde_json::json!({
            "device": info.name,
            "port": link.target().name(),
            "model": kind.label(),
            "parameters": parameters.iter().map(|(n, v)| (n.clone(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
            "fit_rms": identified.rms,
            "rule": rule.label(),
            "in_force": gains(&in_force),
            "proposed": gains(&proposal.parallel),
            "written": args.write,
            "predicted": metrics_json(&predicted_metrics),
            "measured": measured_metrics.as_ref().map(metrics_json),
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
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
        out += &format!("{} gains (in force → proposed):\n", rule.label());
        let rows = [
            (in_force.kp, proposal.parallel.kp),
            (in_force.ki, proposal.parallel.ki),
            (in_force.kd, proposal.parallel.kd),
        ];
        for (name, (now, proposed)) in gain_names.iter().zip(rows) {
            out += &format!("  {name}: {now:.6} → {proposed:.6}\n");
        }
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
        print!("{out}");
    }
    Ok(())
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
