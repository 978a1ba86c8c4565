//! From measured steps to proposed gains, the same for the command line and
//! the Auto-tune tab: the motor fitted to the identification steps and
//! averaged, the gains for the target (the factor between the loops given
//! or chosen by prediction), and stage 2's refit of the motor on the new
//! velocity loop's step, used only when it fits better.

use crate::analysis::{CascadeGains, CascadeTarget, ModelTuningError, MotorModel, cascade_gains};
use crate::tuning::{AutoTuneError, ModelKind, StepResponse, identify};

use super::{CascadeSetup, StagePrediction, choose_factor, predict_stage};

/// Why no gains could be designed; each ends with "nothing was written".
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DesignError {
    #[error("the step test measured no step; nothing was written")]
    /// No step to fit.
    NoStep,
    #[error("{0}; nothing was written")]
    /// The fit failed.
    Fit(#[from] AutoTuneError),
    #[error(
        "the fitted motor accelerates {0} per unit of effort: the effort and the position move opposite ways (check the encoder's direction); nothing was written"
    )]
    /// The fitted motor moves against its effort.
    WrongDirection(f64),
    #[error("the fit gave no motor model; nothing was written")]
    /// The fit gave another kind of model.
    NotAMotor,
    #[error("{0}; nothing was written")]
    /// The gains could not be computed for the target.
    Gains(#[from] ModelTuningError),
    #[error(
        "no factor between the loops gives a prediction: the model is not usable; nothing was written"
    )]
    /// No factor gave gains and predictions.
    NoFactor,
}

/// The motor fitted to the identification steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotorFit {
    /// The model, averaged over the steps.
    pub model: MotorModel,
    /// The worst step's fit residual (RMS), in the feedback's unit.
    pub rms: f64,
}

/// The motor model fitted to each of `steps` and averaged: the step up and
/// the step back give half the variance of one, on a device whose samples
/// come a few hundred a second.
pub fn fit_motor(steps: &[StepResponse]) -> Result<MotorFit, DesignError> {
    if steps.is_empty() {
        return Err(DesignError::NoStep);
    }
    let mut models = Vec::with_capacity(steps.len());
    let mut rms = 0.0_f64;
    for step in steps {
        let fit = identify(
            ModelKind::Motor,
            &step.time,
            step.effort.as_deref(),
            &step.feedback,
        )?;
        models.push(motor(&fit.model)?);
        rms = rms.max(fit.rms);
    }
    let count = models.len() as f64;
    Ok(MotorFit {
        model: MotorModel {
            acceleration_gain: models.iter().map(|m| m.acceleration_gain).sum::<f64>() / count,
            damping_rate: models.iter().map(|m| m.damping_rate).sum::<f64>() / count,
        },
        rms,
    })
}

/// The motor out of a fit that can only give one.
fn motor(model: &crate::analysis::PlantModel) -> Result<MotorModel, DesignError> {
    match model {
        crate::analysis::PlantModel::Motor(m) if m.acceleration_gain > 0.0 => Ok(*m),
        crate::analysis::PlantModel::Motor(m) => {
            Err(DesignError::WrongDirection(m.acceleration_gain))
        }
        _ => Err(DesignError::NotAMotor),
    }
}

/// What a design needs beside the model: the target, the factor when the
/// user gave one, the step sizes the chosen factor must suit and the
/// steps' times (before, held).
#[derive(Clone, Copy, Debug)]
pub struct DesignInputs<'a> {
    /// The bandwidths and rule asked for.
    pub target: CascadeTarget,
    /// The factor between the loops, when given; chosen otherwise.
    pub factor: Option<f64>,
    /// The step sizes predicted to choose a factor.
    pub sizes: &'a [f64],
    /// Seconds before the step and held after it.
    pub times: (f64, f64),
}

/// The gains for the target on `model`: the position gain a given factor
/// below the velocity loop, or the factor chosen by prediction; with
/// `velocity`, those velocity gains are kept.
pub fn design(
    setup: &CascadeSetup,
    model: &MotorModel,
    inputs: &DesignInputs<'_>,
    velocity: Option<&CascadeGains>,
) -> Result<(CascadeTarget, CascadeGains), DesignError> {
    if let Some(factor) = inputs.factor {
        let target = CascadeTarget {
            factor,
            ..inputs.target
        };
        let designed = cascade_gains(model, &target, &setup.limits)?;
        let gains = velocity.map_or(designed, |kept| CascadeGains {
            position_kp: designed.position_kp,
            ..*kept
        });
        return Ok((target, gains));
    }
    let (factor, gains) = choose_factor(
        setup,
        model,
        &inputs.target,
        velocity,
        inputs.sizes,
        inputs.times,
    )
    .ok_or(DesignError::NoFactor)?;
    Ok((
        CascadeTarget {
            factor,
            ..inputs.target
        },
        gains,
    ))
}

/// Stage 2's position loop designed again on the motor refitted from
/// `step` (measured with the new velocity gains), when that fit's residual
/// is no worse than the first fit's `first_rms`: a stiffer loop's record is
/// not always the more informative. Its model, residual, target, gains and
/// the prediction at `verify_amplitude`.
pub fn refit_position(
    setup: &CascadeSetup,
    step: &StepResponse,
    first_rms: f64,
    inputs: &DesignInputs<'_>,
    velocity: &CascadeGains,
    verify_amplitude: f64,
) -> Option<(MotorFit, CascadeTarget, CascadeGains, StagePrediction)> {
    let fit = fit_motor(std::slice::from_ref(step)).ok()?;
    if fit.rms > first_rms {
        return None;
    }
    let (target, gains) = design(setup, &fit.model, inputs, Some(velocity)).ok()?;
    let (pre, hold) = inputs.times;
    let predicted = predict_stage(setup, &fit.model, &gains, verify_amplitude, pre, hold).ok()?;
    Some((fit, target, gains, predicted))
}
