//! The Cascade method's stages designed from what identification found:
//! the gains for the choices (kept once the velocity gains are written),
//! each stage's prediction, and after the velocity stage's verification
//! the position gain designed again on the motor refitted to its step.

use super::cascade::{DesignKey, Designed, Stage, StageKind, Tuned};
use crate::analysis::{CascadeGains, CascadeTarget};
use crate::tuning::StepResponse;
use crate::tuning::cascade::{DesignInputs, design, predict_stage, refit_position};

impl Tuned {
    /// Designs the stages for `key` unless they are designed for it, or
    /// their writes were asked for (then they stay as written).
    pub(super) fn design(&mut self, key: DesignKey, target: CascadeTarget) {
        let written = matches!(&self.designed, Some((_, Ok(d))) if d.stages[0].write_asked);
        if written || self.designed.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let designed = self.designed_for(key, target);
        self.designed = Some((key, designed));
    }

    fn inputs<'a>(
        &self,
        key: DesignKey,
        target: CascadeTarget,
        sizes: &'a [f64],
    ) -> DesignInputs<'a> {
        DesignInputs {
            target,
            factor: key.1.map(f64::from_bits),
            sizes,
            times: self.times,
        }
    }

    fn designed_for(&self, key: DesignKey, target: CascadeTarget) -> Result<Designed, String> {
        let verify = f64::from_bits(key.3);
        let sizes = [self.amplitude, verify];
        let inputs = self.inputs(key, target, &sizes);
        let (target, proposed) =
            design(&self.setup, &self.fit.model, &inputs, None).map_err(|e| e.to_string())?;
        let (pre, hold) = self.times;
        let predict = |gains: &CascadeGains, amplitude: f64| {
            predict_stage(&self.setup, &self.fit.model, gains, amplitude, pre, hold)
                .map_err(|e| e.to_string())
        };
        let velocity_first = CascadeGains {
            position_kp: self.setup.in_force.position_kp,
            ..proposed
        };
        let stage = |kind, gains: CascadeGains, amplitude| Stage {
            kind,
            gains,
            amplitude,
            predicted: predict(&gains, amplitude),
            write_asked: false,
            measured: Vec::new(),
        };
        Ok(Designed {
            target,
            factor_chosen: key.1.is_none(),
            check: predict(&self.setup.in_force, self.amplitude),
            stages: [
                stage(StageKind::Velocity, velocity_first, self.amplitude),
                stage(StageKind::Position, proposed, verify),
            ],
            refit: None,
        })
    }

    /// A stage's verification steps; after the velocity stage, the motor
    /// refitted on its step designs the position gain again when it fits
    /// better.
    pub(super) fn verified(
        &mut self,
        kind: StageKind,
        steps: Vec<StepResponse>,
        key: DesignKey,
        target: CascadeTarget,
    ) {
        let verify = f64::from_bits(key.3);
        let sizes = [self.amplitude, verify];
        let inputs = self.inputs(key, target, &sizes);
        let first_rms = self.fit.rms;
        let Some((_, Ok(designed))) = &mut self.designed else {
            return;
        };
        let [velocity, position] = &mut designed.stages;
        if kind == StageKind::Position {
            position.measured = steps;
            return;
        }
        if !position.write_asked
            && let Some((fit, retarget, gains, predicted)) = steps.first().and_then(|step| {
                refit_position(
                    &self.setup,
                    step,
                    first_rms,
                    &inputs,
                    &velocity.gains,
                    position.amplitude,
                )
            })
        {
            position.gains = gains;
            position.predicted = Ok(predicted);
            designed.target = retarget;
            designed.refit = Some(fit);
        }
        velocity.measured = steps;
    }
}
