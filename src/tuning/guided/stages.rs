//! ODrive's manual tuning procedure (fw-v0.5.6 docs/control.rst:118-131)
//! as a state machine over tests: it says which gains the next test runs
//! at, takes that test's result (a small position step and the hold after
//! it) and moves on. The caller writes the gains, runs the test, measures
//! it and hands the result back; nothing here talks to a device.
//!
//! The stages, each its document line:
//! - Start (119-120): the gains in force are remembered, the integrator
//!   is set to 0, and one test measures the baseline; it must settle.
//! - Raise velocity gain (121): ×[`RAISE`] per test until the hold
//!   vibrates ([`super::VibrationCriterion`]).
//! - Back off velocity gain (122): 50 % of the vibrating gain, tested at
//!   the starting position gain.
//! - Raise position gain (123): ×[`RAISE`] per test until the step
//!   overshoots more than [`GuidedOptions::overshoot_percent`] (or the
//!   hold vibrates).
//! - Back off position gain (124): the last gain tested without
//!   overshoot; when even the first one overshot, ÷[`RAISE`] per test
//!   until one does not.
//! - Set integrator (125-131): `vel_integrator_gain = 0.5 · bandwidth ·
//!   vel_gain`, bandwidth = 1 / the settling time of the step at the final
//!   gains; one last test at them, shown, then Done.
//!
//! Every stage that raises or lowers stops after
//! [`GuidedOptions::max_tests_per_stage`] tests: the velocity gain then
//! fails ("no vibration found"), the position gain keeps the highest
//! tested. Abort, or restore at Done, gives back the gains found at Start.

use super::vibration::{VelocitySpectrum, Vibration, VibrationCriterion};

/// The step between tests, "around 30% per iteration" (control.rst:121, 123).
pub const RAISE: f64 = 1.3;

/// A cascade's three gains as the device holds them, in its units
/// (ODrive: `pos_gain` (turn/s)/turn, `vel_gain` Nm/(turn/s),
/// `vel_integrator_gain` Nm/turn).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeviceGains {
    /// The position loop's P (`pos_gain`).
    pub position_p: f64,
    /// The velocity loop's P (`vel_gain`).
    pub velocity_p: f64,
    /// The velocity loop's I (`vel_integrator_gain`).
    pub velocity_i: f64,
}

/// The procedure's thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GuidedOptions {
    /// A step overshooting more than this, %, has "some overshoot".
    pub overshoot_percent: f64,
    /// When a hold vibrates.
    pub vibration: VibrationCriterion,
    /// Tests at most in a stage that raises or lowers a gain.
    pub max_tests_per_stage: u32,
}

impl Default for GuidedOptions {
    /// Overshoot above 2 %, the default vibration criterion, 15 tests.
    fn default() -> Self {
        Self {
            overshoot_percent: 2.0,
            vibration: VibrationCriterion::default(),
            max_tests_per_stage: 15,
        }
    }
}

/// Where the procedure stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// The baseline test at the gains found, integrator 0.
    Start,
    /// Raising `vel_gain` until vibration.
    RaiseVelocityGain,
    /// `vel_gain` at 50 % of the vibrating value.
    BackOffVelocityGain,
    /// Raising `pos_gain` until overshoot.
    RaisePositionGain,
    /// Lowering `pos_gain` until no overshoot.
    BackOffPositionGain,
    /// The integrator set from the settling time; its test.
    SetIntegrator,
    /// Finished: the final gains are in force.
    Done,
    /// Stopped, with why in one line; the gains found should be restored.
    Failed(String),
    /// Aborted by the user; the gains found should be restored.
    Aborted,
}

impl Stage {
    /// The stage in the user's words.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Start => "Start: baseline at the gains found, integrator 0",
            Self::RaiseVelocityGain => "Raise vel_gain ×1.3 until vibration",
            Self::BackOffVelocityGain => "Back vel_gain off to 50 % of the vibrating value",
            Self::RaisePositionGain => "Raise pos_gain ×1.3 until overshoot",
            Self::BackOffPositionGain => "Back pos_gain off until no overshoot",
            Self::SetIntegrator => "Set vel_integrator_gain = 0.5 · bandwidth · vel_gain",
            Self::Done => "Done",
            Self::Failed(_) => "Failed",
            Self::Aborted => "Aborted",
        }
    }

    /// Whether tests are still to run.
    pub fn is_running(&self) -> bool {
        !matches!(self, Self::Done | Self::Failed(_) | Self::Aborted)
    }
}

/// What one test measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestResult {
    /// The step's overshoot, %.
    pub overshoot_percent: f64,
    /// Seconds from the step to settled; `None` when it did not settle.
    pub settling_s: Option<f64>,
    /// The hold's velocity spectrum.
    pub spectrum: VelocitySpectrum,
}

/// One test as the procedure judged it.
#[derive(Clone, Debug, PartialEq)]
pub struct TestRecord {
    /// The test's number, from 1.
    pub number: usize,
    /// The stage it ran in.
    pub stage: Stage,
    /// The gains it ran at.
    pub gains: DeviceGains,
    /// What it measured.
    pub result: TestResult,
    /// Its hold against the baseline.
    pub vibration: Vibration,
    /// It overshot more than the threshold.
    pub overshot: bool,
}

/// The procedure, from the gains found to the final ones.
#[derive(Clone, Debug, PartialEq)]
pub struct GuidedTuning {
    options: GuidedOptions,
    found: DeviceGains,
    stage: Stage,
    /// The gains the next test runs at (the final ones at Done).
    next: DeviceGains,
    tests: Vec<TestRecord>,
    /// Tests run in the current stage.
    in_stage: u32,
    baseline: Option<VelocitySpectrum>,
    /// The `vel_gain` the hold first vibrated at.
    vibrating_velocity_p: Option<f64>,
    /// The last test without overshoot in the position stages.
    last_clean: Option<(DeviceGains, Option<f64>)>,
}

impl GuidedTuning {
    /// The procedure on a device whose gains in force are `found`: its
    /// first test runs at them with the integrator at 0.
    pub fn new(found: DeviceGains, options: GuidedOptions) -> Self {
        Self {
            options,
            found,
            stage: Stage::Start,
            next: DeviceGains {
                velocity_i: 0.0,
                ..found
            },
            tests: Vec::new(),
            in_stage: 0,
            baseline: None,
            vibrating_velocity_p: None,
            last_clean: None,
        }
    }

    /// Where it stands.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// The gains found at Start, which abort and restore put back.
    pub fn found(&self) -> DeviceGains {
        self.found
    }

    /// The gains the next test runs at while running; the final gains at
    /// Done; `None` once failed or aborted.
    pub fn next_gains(&self) -> Option<DeviceGains> {
        match self.stage {
            Stage::Failed(_) | Stage::Aborted => None,
            _ => Some(self.next),
        }
    }

    /// Every test so far, oldest first.
    pub fn tests(&self) -> &[TestRecord] {
        &self.tests
    }

    /// The thresholds in use.
    pub fn options(&self) -> &GuidedOptions {
        &self.options
    }

    /// The `vel_gain` the hold first vibrated at.
    pub fn vibrating_velocity_p(&self) -> Option<f64> {
        self.vibrating_velocity_p
    }

    /// Stops; the gains to write back are [`Self::found`].
    pub fn abort(&mut self) -> DeviceGains {
        self.stage = Stage::Aborted;
        self.found
    }

    /// Takes the result of the test run at [`Self::next_gains`] and moves
    /// on. Ignored once the procedure is not running.
    pub fn record(&mut self, result: TestResult) {
        if !self.stage.is_running() {
            return;
        }
        let baseline = *self.baseline.get_or_insert(result.spectrum);
        let vibration = self.options.vibration.judge(&result.spectrum, &baseline);
        let overshot = result.overshoot_percent > self.options.overshoot_percent;
        let gains = self.next;
        self.tests.push(TestRecord {
            number: self.tests.len() + 1,
            stage: self.stage.clone(),
            gains,
            result,
            vibration,
            overshot,
        });
        self.in_stage += 1;
        let limit = self.options.max_tests_per_stage;
        match self.stage {
            Stage::Start => {
                if result.settling_s.is_none() {
                    self.fail(
                        "the step at the gains found did not settle: lower the gains \
                         until it does, then start again (control.rst:120)",
                    );
                } else {
                    self.enter(Stage::RaiseVelocityGain);
                    self.next.velocity_p = gains.velocity_p * RAISE;
                }
            }
            Stage::RaiseVelocityGain => {
                if vibration.vibrating {
                    self.vibrating_velocity_p = Some(gains.velocity_p);
                    self.enter(Stage::BackOffVelocityGain);
                    self.next.velocity_p = 0.5 * gains.velocity_p;
                } else if self.in_stage >= limit {
                    self.fail(&format!(
                        "no vibration found: vel_gain raised {limit} times up to {:.4}",
                        gains.velocity_p
                    ));
                } else {
                    self.next.velocity_p = gains.velocity_p * RAISE;
                }
            }
            Stage::BackOffVelocityGain => {
                if overshot || vibration.vibrating {
                    self.enter(Stage::BackOffPositionGain);
                    self.next.position_p = gains.position_p / RAISE;
                } else {
                    self.last_clean = Some((gains, result.settling_s));
                    self.enter(Stage::RaisePositionGain);
                    self.next.position_p = gains.position_p * RAISE;
                }
            }
            Stage::RaisePositionGain => {
                if overshot || vibration.vibrating || self.in_stage >= limit {
                    if !(overshot || vibration.vibrating) {
                        self.last_clean = Some((gains, result.settling_s));
                    }
                    self.set_integrator();
                } else {
                    self.last_clean = Some((gains, result.settling_s));
                    self.next.position_p = gains.position_p * RAISE;
                }
            }
            Stage::BackOffPositionGain => {
                if !(overshot || vibration.vibrating) {
                    self.last_clean = Some((gains, result.settling_s));
                    self.set_integrator();
                } else if self.in_stage >= limit {
                    self.fail(&format!(
                        "the step still overshoots with pos_gain lowered {limit} times to {:.4}",
                        gains.position_p
                    ));
                } else {
                    self.next.position_p = gains.position_p / RAISE;
                }
            }
            Stage::SetIntegrator => self.enter(Stage::Done),
            Stage::Done | Stage::Failed(_) | Stage::Aborted => {}
        }
    }

    /// The bandwidth the integrator was set from, 1/s: 1 / the settling
    /// time of the step at the final position gain (control.rst:125-126).
    pub fn bandwidth(&self) -> Option<f64> {
        self.last_clean
            .and_then(|(_, settling)| settling)
            .filter(|s| *s > 0.0)
            .map(|s| 1.0 / s)
    }

    /// Leaves the position stages for the integrator: the last gains
    /// without overshoot and the integrator from their settling time.
    fn set_integrator(&mut self) {
        let Some((clean, _)) = self.last_clean else {
            self.fail("no position gain was found without overshoot");
            return;
        };
        let Some(bandwidth) = self.bandwidth() else {
            self.fail(&format!(
                "the step at pos_gain {:.4} did not settle, so there is no bandwidth to set \
                 the integrator from",
                clean.position_p
            ));
            return;
        };
        self.next = DeviceGains {
            velocity_i: 0.5 * bandwidth * clean.velocity_p,
            ..clean
        };
        self.enter(Stage::SetIntegrator);
    }

    fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        self.in_stage = 0;
    }

    fn fail(&mut self, why: &str) {
        self.stage = Stage::Failed(why.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUND: DeviceGains = DeviceGains {
        position_p: 20.0,
        velocity_p: 1.0 / 6.0,
        velocity_i: 1.0 / 3.0,
    };

    fn still() -> VelocitySpectrum {
        VelocitySpectrum {
            band_rms: 0.0,
            peak_hz: 0.0,
        }
    }

    fn result(overshoot_percent: f64, settling_s: f64, band_rms: f64) -> TestResult {
        TestResult {
            overshoot_percent,
            settling_s: Some(settling_s),
            spectrum: VelocitySpectrum {
                band_rms,
                peak_hz: 60.0,
            },
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// A scripted device: vibrates from `vibrates_at` vel_gain, overshoots
    /// from `overshoots_at` pos_gain, settles in 0.1 s.
    fn run(vibrates_at: f64, overshoots_at: f64) -> GuidedTuning {
        let mut tuning = GuidedTuning::new(FOUND, GuidedOptions::default());
        for _ in 0..60 {
            let Some(g) = tuning.next_gains() else { break };
            if !tuning.stage().is_running() {
                break;
            }
            let rms = if g.velocity_p >= vibrates_at {
                0.05
            } else {
                0.0
            };
            let overshoot = if g.position_p >= overshoots_at {
                8.0
            } else {
                0.5
            };
            tuning.record(result(overshoot, 0.1, rms));
        }
        tuning
    }

    #[test]
    fn the_first_test_zeroes_the_integrator_and_keeps_the_rest() {
        let tuning = GuidedTuning::new(FOUND, GuidedOptions::default());
        assert_eq!(tuning.stage(), &Stage::Start);
        assert_eq!(
            tuning.next_gains(),
            Some(DeviceGains {
                velocity_i: 0.0,
                ..FOUND
            })
        );
    }

    #[test]
    fn runs_every_stage_to_the_documented_gains() {
        let tuning = run(1.0, 40.0);
        assert_eq!(tuning.stage(), &Stage::Done);
        // 1/6 × 1.3^k: k = 7 is the first at or above 1.0.
        let vibrating = FOUND.velocity_p * RAISE.powi(7);
        assert!(close(
            tuning.vibrating_velocity_p().expect("vibrated"),
            vibrating
        ));
        let last = tuning.next_gains().expect("final gains");
        assert!(close(last.velocity_p, 0.5 * vibrating));
        // 20 × 1.3² = 33.8 is the last below 40.
        assert!(close(last.position_p, 20.0 * RAISE.powi(2)));
        assert!(close(last.velocity_i, 0.5 * 10.0 * last.velocity_p));
        let stages: Vec<_> = tuning.tests().iter().map(|t| t.stage.clone()).collect();
        let count = |s: Stage| stages.iter().filter(|x| **x == s).count();
        assert_eq!(count(Stage::Start), 1);
        assert_eq!(count(Stage::RaiseVelocityGain), 7);
        assert_eq!(count(Stage::BackOffVelocityGain), 1);
        assert_eq!(count(Stage::RaisePositionGain), 3);
        assert_eq!(count(Stage::SetIntegrator), 1);
        assert!(
            tuning
                .tests()
                .iter()
                .take(7)
                .all(|t| !t.vibration.vibrating)
        );
        assert!(tuning.tests()[7].vibration.vibrating);
    }

    #[test]
    fn a_position_gain_that_overshoots_at_once_is_lowered_until_it_does_not() {
        let tuning = run(1.0, 15.0);
        assert_eq!(tuning.stage(), &Stage::Done);
        let last = tuning.next_gains().expect("final gains");
        // 20 / 1.3 = 15.4 still overshoots; 20 / 1.3² = 11.8 does not.
        assert!(close(last.position_p, 20.0 / RAISE.powi(2)));
    }

    #[test]
    fn no_vibration_after_the_cap_fails_in_one_line() {
        let tuning = run(f64::INFINITY, 40.0);
        let Stage::Failed(why) = tuning.stage() else {
            panic!("{:?}", tuning.stage());
        };
        assert!(why.starts_with("no vibration found: vel_gain raised 15 times"));
        assert!(!why.contains('\n'));
        assert_eq!(tuning.tests().len(), 16);
        assert_eq!(tuning.next_gains(), None);
    }

    #[test]
    fn an_unsettled_start_fails_and_abort_gives_back_the_gains_found() {
        let mut tuning = GuidedTuning::new(FOUND, GuidedOptions::default());
        tuning.record(TestResult {
            overshoot_percent: 0.0,
            settling_s: None,
            spectrum: still(),
        });
        assert!(matches!(tuning.stage(), Stage::Failed(_)));

        let mut tuning = GuidedTuning::new(FOUND, GuidedOptions::default());
        tuning.record(result(0.0, 0.1, 0.0));
        tuning.record(result(0.0, 0.1, 0.0));
        assert_eq!(tuning.abort(), FOUND);
        assert_eq!(tuning.stage(), &Stage::Aborted);
        // A result after the abort changes nothing.
        tuning.record(result(0.0, 0.1, 1.0));
        assert_eq!(tuning.tests().len(), 2);
    }
}
