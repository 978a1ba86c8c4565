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
//! ([`super::guarded_writes::reviewed_gains`]): a gain moved beyond its per-write
//! limit is not written without `--allow-large-change`, and the command
//! says which, from what to what, and the limit, in one line. Ctrl+C or
//! SIGTERM ends every stage as `motiontune step` does; the gains are
//! written as a set, so an interrupt during their writes takes effect
//! after the last.

mod cascade;
mod cascade_report;
mod relay;
mod report;

use anyhow::{Context, bail};

use super::connect::{connect, interruptible};
use super::guarded_writes::{apply, reviewed_gains};
use super::step::measure;
use super::{AutotuneArgs, AutotuneMethod};
use crate::analysis::{ClosedLoopSpeed, StepOptions, UltimateRule};
use crate::tuning::write_guard::WriteOrigin;
use crate::tuning::{
    LoopParams, ModelKind, ModelRule, PreviewPlan, StepDirection, StepPlan, StepResponse, identify,
    preview, propose,
};

/// The identification step's size when none is given.
const DEFAULT_AMPLITUDE: f64 = 0.1;
/// Seconds of the record kept before each step.
const PRE_STEP_S: f64 = 0.1;
/// Seconds of device time the loop holds the setpoint before each step.
const SETTLE_S: f64 = 0.5;

pub fn run(args: &AutotuneArgs) -> anyhow::Result<()> {
    match args.method {
        AutotuneMethod::Relay => return relay::run(args),
        AutotuneMethod::Cascade => return cascade::run(args),
        AutotuneMethod::Step => {}
    }
    let rule = model_rule(args, "step")?;
    let kind = args.model.kind();
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
    let amplitude = args.amplitude.unwrap_or(DEFAULT_AMPLITUDE);
    let plan = StepPlan::once(
        amplitude,
        StepDirection::Up,
        PRE_STEP_S.min(args.hold / 2.0),
        args.hold,
    );
    let options = StepOptions::default();
    let (link, mut info) = connect(args.port.target()?, 1)?;
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
    let predicted = predicted
        .metrics
        .map_err(|e| anyhow::anyhow!("the predicted step cannot be measured: {e}"))?;

    let reviewed = args.write.then(|| {
        let writes = loop_params.writes(&proposal.parallel);
        reviewed_gains(
            WriteOrigin::AutoTune,
            &info.params,
            &writes,
            args.allow_large_change,
        )
    });
    let mut measured = None;
    if let Some(Ok(writes)) = &reviewed {
        apply(&link, writes, &mut info)?;
        if crate::interrupt::requested() {
            bail!(
                "interrupted before the verification step: the gains were written, the output is off"
            );
        }
        let verification = first_step(measure(&link, &mut info, plan, SETTLE_S, options)?)?;
        measured = Some(
            verification
                .metrics
                .map_err(|e| anyhow::anyhow!("the verification step cannot be measured: {e}"))?,
        );
    }
    let tuning = report::StepTuning {
        info: &info,
        port: link.target().name(),
        kind,
        amplitude,
        identified: &identified,
        rule,
        gain_names: report::GainNames::of(&info.params, &loop_params),
        in_force,
        proposed: proposal.parallel,
        write: args.write,
        written: matches!(reviewed, Some(Ok(_))),
        predicted: &predicted,
        measured: measured.as_ref(),
    };
    if args.json {
        let document = serde_json::to_string_pretty(&tuning.json())?;
        super::report::print(&format!("{document}\n"))?;
    } else {
        super::report::print(&tuning.text())?;
    }
    match reviewed {
        Some(Err(refused)) => Err(refused),
        _ => Ok(()),
    }
}

/// `--rule` as a model rule (simc when a cascade is given none); an error
/// naming `method` for a relay rule.
fn model_rule(args: &AutotuneArgs, method: &str) -> anyhow::Result<ModelRule> {
    let Some(rule) = args.rule else {
        return Ok(ModelRule::Simc);
    };
    rule.model_rule().with_context(|| {
        format!(
            "--rule {} is a rule for --method relay: --method {method} takes simc or lambda",
            rule.ultimate_rule().map_or("?", UltimateRule::key)
        )
    })
}

/// The one step the plan measures.
fn first_step(responses: Vec<StepResponse>) -> anyhow::Result<StepResponse> {
    responses
        .into_iter()
        .next()
        .context("the step test measured no step")
}
