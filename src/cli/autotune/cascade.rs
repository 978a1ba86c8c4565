//! `motiontune autotune --method cascade`: a device's position P around
//! its velocity PI, tuned inner loop first ([`crate::tuning::cascade`]).
//!
//! 1. An identification step up and back with the gains in force, sized
//!    so the velocity command stays at half its limit; a step whose
//!    command would reach the velocity limit, or that came within 5 % of
//!    the velocity or effort limit, is halved and run again (twice at
//!    most), then refused in one line with nothing written.
//! 2. The motor model fitted to both steps and averaged; the velocity PI for `--bandwidth`
//!    (default 30 Hz) and the position P `--factor` below it (by default
//!    the factor from 2 to 6 whose predicted steps, at the identification
//!    and the verification size, settle first with at most 2 % overshoot
//!    and 45° of phase margin); each stage predicted with every limit,
//!    with its margins.
//! 3. Only with `--write`: the velocity gains, then the position gain, each
//!    walked from the gains in force in increments the write guard allows
//!    (one write with `--allow-large-change`), a step measured after each
//!    increment. A step that does not settle, or overshoots 20 points more
//!    than predicted, walks the stage's gains back to those in force and
//!    ends the command in one line. The last increment's steps, up and
//!    back, are the stage's verification, printed next to the prediction.
//!
//! Every step runs through [`super::super::step::measure`]: the output on,
//! the setpoint put back and the output off however it ends.

use anyhow::{Context, bail};

use super::super::connect::{connect, interruptible};
use super::super::guarded_writes::{apply, reviewed_gains};
use super::super::step::measure;
use super::super::{AutotuneArgs, report};
use super::cascade_report::{CascadeReport, StageReport};
use super::{PRE_STEP_S, SETTLE_S, model_rule};
use crate::analysis::{CascadeGains, CascadeTarget, MotorModel, Settling, StepOptions};
use crate::link::Link;
use crate::protocol::DeviceInfo;
use crate::tuning::cascade::{
    CascadeSetup, DEFAULT_VELOCITY_HZ, DesignInputs, FACTORS, MotorFit, StagePrediction, design,
    fit_motor, gain_walk, predict_stage, refit_position, step_size,
};
use crate::tuning::write_guard::WriteOrigin;
use crate::tuning::{ModelRule, StepDirection, StepPlan, StepResponse};

/// Times the identification step is halved before the run is refused.
const MAX_HALVINGS: u32 = 2;
/// A step between increments may overshoot this many points more than
/// predicted before the walk turns back.
const OVERSHOOT_SLACK: f64 = 20.0;

pub fn run(args: &AutotuneArgs) -> anyhow::Result<()> {
    let lambda = model_rule(args, "cascade")? == ModelRule::Lambda;
    if args.tau.is_some() {
        bail!("--tau is for --method step: give the velocity loop's --bandwidth HZ");
    }
    let target = CascadeTarget {
        velocity_hz: args.bandwidth.unwrap_or(DEFAULT_VELOCITY_HZ),
        factor: args.factor.unwrap_or(FACTORS[0]),
        lambda,
    };
    let (link, mut info) = connect(args.port.target()?, 1)?;
    let mut setup = CascadeSetup::of(&info)?;
    if let Some(hz) = args.loop_hz {
        setup.limits.loop_hz = hz;
    }
    let unit = report::MeasuredSignals::of(&info).signal_unit;
    let mut amplitude = args
        .amplitude
        .or(setup.identification_amplitude())
        .context(
            "the device has no velocity limit to size the identification step by: give --amplitude",
        )?;
    let (pre, hold) = (PRE_STEP_S.min(args.hold / 2.0), args.hold);

    let mut halvings = 0;
    let identification = loop {
        let reached = match setup.command_saturation(amplitude) {
            Some(reached) => reached,
            None => {
                let steps = measure_steps(
                    &link,
                    &mut info,
                    amplitude,
                    (pre, hold),
                    StepDirection::UpThenDown,
                )?;
                match steps.iter().find_map(|step| setup.saturation(step)) {
                    None => break steps,
                    Some(reached) => reached,
                }
            }
        };
        if halvings == MAX_HALVINGS {
            bail!(
                "the identification step of {amplitude} {unit} still saturates ({reached}) after halving it twice: give a smaller --amplitude; nothing was written"
            );
        }
        eprintln!("identification step of {amplitude} {unit}: {reached}; halving it");
        amplitude = step_size(amplitude / 2.0);
        halvings += 1;
    };
    let verify_amplitude = args.verify_amplitude.unwrap_or(amplitude);
    let MotorFit {
        model,
        rms: fit_rms,
    } = {
        let steps = identification.clone();
        interruptible(move || fit_motor(&steps))??
    };
    // Where the drive may apply less than the loop commands (SimpleFOC in
    // voltage mode), a verification step that the model says would reach
    // that ceiling first measures it, with the gains in force.
    let mut ceiling = None;
    if setup.applied_effort_uncertain()
        && predict_stage(&setup, &model, &setup.in_force, verify_amplitude, pre, hold)
            .is_ok_and(|stage| stage.response.effort_limited > 0)
    {
        let step = measure_steps(
            &link,
            &mut info,
            verify_amplitude,
            (pre, hold),
            StepDirection::Up,
        )?
        .swap_remove(0);
        let applied = setup.fit_applied_effort(&model, &step, pre, hold);
        setup.limits.applied_effort = applied;
        ceiling = Some(applied);
    }
    let sizes = [amplitude, verify_amplitude];
    let inputs = DesignInputs {
        target,
        factor: args.factor,
        sizes: &sizes,
        times: (pre, hold),
    };
    let (mut target, mut proposed) = design(&setup, &model, &inputs, None)?;
    let velocity_first = CascadeGains {
        position_kp: setup.in_force.position_kp,
        ..proposed
    };
    // The model and the loops as modelled, checked against the step they
    // came from: the gains in force predicted on the model.
    let mut check = StageReport::new("in force", &setup, &setup.in_force, &setup.in_force, &info);
    check.predicted = Some(predict_stage(
        &setup,
        &model,
        &setup.in_force,
        amplitude,
        pre,
        hold,
    )?);
    check.measured = identification.clone();
    let velocity_predicted = predict_stage(&setup, &model, &velocity_first, amplitude, pre, hold)?;
    let mut position_predicted =
        predict_stage(&setup, &model, &proposed, verify_amplitude, pre, hold)?;
    let velocity_gains = velocity_first;

    let mut velocity =
        StageReport::new("velocity", &setup, &setup.in_force, &velocity_first, &info);
    velocity.predicted = Some(velocity_predicted);
    let mut position = StageReport::new("position", &setup, &velocity_first, &proposed, &info);
    let mut refit = None;
    let mut written = false;
    if args.write {
        let stage = Stage {
            link: &link,
            setup: &setup,
            model: &model,
            allow_large: args.allow_large_change,
            pre,
            hold,
        };
        let walked = stage.walk(
            &mut info,
            &setup.velocity_writes(&velocity_first),
            &setup.in_force,
            &velocity_first,
            amplitude,
        )?;
        velocity.increments = walked.increments;
        velocity.measured = walked.last;
        // Stage 2 identifies the motor again from the new velocity loop's
        // steps, and tunes the position loop on it.
        let last = velocity
            .measured
            .first()
            .context("the stage measured no step")?;
        if let Some((fit, retarget, reproposed, prediction)) = refit_position(
            &setup,
            last,
            fit_rms,
            &inputs,
            &velocity_gains,
            verify_amplitude,
        ) {
            (target, proposed) = (retarget, reproposed);
            position = StageReport::new("position", &setup, &velocity_first, &proposed, &info);
            position_predicted = prediction;
            refit = Some((fit.model, fit.rms));
        }
        let walked = stage.walk(
            &mut info,
            &setup.position_writes(&proposed),
            &velocity_first,
            &proposed,
            verify_amplitude,
        )?;
        position.increments = walked.increments;
        position.measured = walked.last;
        written = true;
    }
    position.predicted = Some(position_predicted);

    let cascade = CascadeReport {
        info: &info,
        port: link.target().name(),
        target,
        factor_chosen: args.factor.is_none(),
        ceiling,
        amplitude,
        halvings,
        verify_amplitude,
        model,
        fit_rms,
        refit,
        check,
        peaks: identification
            .iter()
            .map(|step| setup.peaks(step))
            .fold((0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1))),
        limits: setup.limits,
        stages: [velocity, position],
        write: args.write,
        written,
    };
    if args.json {
        let document = serde_json::to_string_pretty(&cascade.json())?;
        report::print(&format!("{document}\n"))
    } else {
        report::print(&cascade.text())
    }
}

/// What one stage's writes need.
struct Stage<'a> {
    link: &'a Link,
    setup: &'a CascadeSetup,
    model: &'a MotorModel,
    allow_large: bool,
    pre: f64,
    hold: f64,
}

/// A stage's writes done: how many increments, and the steps after the
/// last.
struct Walked {
    increments: usize,
    last: Vec<StepResponse>,
}

impl Stage<'_> {
    /// Writes `writes` in guarded increments from `from` towards `to`
    /// (their model-unit gains), a step of `amplitude` measured after each;
    /// walks back and fails if a step goes wrong.
    fn walk(
        &self,
        info: &mut DeviceInfo,
        writes: &[(u8, f32)],
        from: &CascadeGains,
        to: &CascadeGains,
        amplitude: f64,
    ) -> anyhow::Result<Walked> {
        let increments = if self.allow_large {
            vec![reviewed_gains(
                WriteOrigin::AutoTune,
                &info.params,
                writes,
                true,
            )?]
        } else {
            gain_walk(&info.params, writes).with_context(|| {
                format!(
                    "gains not written: {}",
                    reviewed_gains(WriteOrigin::AutoTune, &info.params, writes, false)
                        .err()
                        .map_or_else(
                            || "no walk the write guard allows".to_owned(),
                            |e| e.to_string()
                        )
                )
            })?
        };
        let before: Vec<(u8, f32)> = writes
            .iter()
            .map(|&(index, _)| (index, info.params[usize::from(index)].value))
            .collect();
        let count = increments.len();
        let mut done: Vec<Vec<(u8, f32)>> = Vec::new();
        for (k, increment) in increments.iter().enumerate() {
            apply(
                self.link,
                &reviewed_gains(
                    WriteOrigin::AutoTune,
                    &info.params,
                    increment,
                    self.allow_large,
                )?,
                info,
            )?;
            done.push(increment.clone());
            if crate::interrupt::requested() {
                bail!(
                    "interrupted during the gain writes: {} of {count} increments written, the output is off",
                    k + 1
                );
            }
            let share = (k + 1) as f64 / count as f64;
            let gains = blend(from, to, share);
            // The last increment's steps verify the stage: up and back.
            let direction = if k + 1 == count {
                StepDirection::UpThenDown
            } else {
                StepDirection::Up
            };
            let measured =
                measure_steps(self.link, info, amplitude, (self.pre, self.hold), direction)?;
            if let Some(wrong) = measured
                .iter()
                .find_map(|step| self.went_wrong(step, &gains, amplitude))
            {
                self.walk_back(info, &before, &done)?;
                bail!(
                    "increment {} of {count}: {wrong}; the stage's gains were put back to those in force",
                    k + 1
                );
            }
            if k + 1 == count {
                return Ok(Walked {
                    increments: count,
                    last: measured,
                });
            }
        }
        bail!("no gains to write: the walk has no increment")
    }

    /// Why a measured step says the gains are wrong, if it does.
    fn went_wrong(
        &self,
        step: &StepResponse,
        gains: &CascadeGains,
        amplitude: f64,
    ) -> Option<String> {
        let measured = step.metrics.as_ref().ok()?;
        if measured.settling == Settling::NotSettled {
            return Some("the step did not settle".to_owned());
        }
        let predicted = predict_stage(
            self.setup, self.model, gains, amplitude, self.pre, self.hold,
        )
        .map(|p: StagePrediction| p.metrics.overshoot_percent)
        .unwrap_or(0.0);
        (measured.overshoot_percent > predicted + OVERSHOOT_SLACK).then(|| {
            format!(
                "the step overshot {:.1} % against {predicted:.1} % predicted",
                measured.overshoot_percent
            )
        })
    }

    /// The increments done, undone in reverse, each the size it was.
    fn walk_back(
        &self,
        info: &mut DeviceInfo,
        before: &[(u8, f32)],
        done: &[Vec<(u8, f32)>],
    ) -> anyhow::Result<()> {
        let mut back: Vec<&[(u8, f32)]> = done.iter().rev().skip(1).map(Vec::as_slice).collect();
        back.push(before);
        for writes in back {
            apply(
                self.link,
                &reviewed_gains(WriteOrigin::AutoTune, &info.params, writes, true)?,
                info,
            )?;
        }
        Ok(())
    }
}

/// The steps of one step test of `amplitude` (`pre_s` before, held
/// `hold_s`) through [`measure`]; an error when it measured none.
fn measure_steps(
    link: &Link,
    info: &mut DeviceInfo,
    amplitude: f64,
    (pre_s, hold_s): (f64, f64),
    direction: StepDirection,
) -> anyhow::Result<Vec<StepResponse>> {
    let plan = StepPlan::once(amplitude, direction, pre_s, hold_s);
    let steps = measure(link, info, plan, SETTLE_S, StepOptions::default())?;
    if steps.is_empty() {
        bail!("the step test measured no step");
    }
    Ok(steps)
}

/// The gains `share` of the way from `from` to `to`, geometric where both
/// are above 0 (as the walk moves them).
fn blend(from: &CascadeGains, to: &CascadeGains, share: f64) -> CascadeGains {
    let mix = |a: f64, b: f64| {
        if a > 0.0 && b > 0.0 {
            a * (b / a).powf(share)
        } else {
            a + (b - a) * share
        }
    };
    CascadeGains {
        position_kp: mix(from.position_kp, to.position_kp),
        velocity_kp: mix(from.velocity_kp, to.velocity_kp),
        velocity_ki: mix(from.velocity_ki, to.velocity_ki),
    }
}
