use super::*;
use crate::analysis::{StepOptions, StepRecord, step_metrics};

/// No delay, no filter, no limits.
fn ideal() -> CascadeLimits {
    CascadeLimits {
        velocity: f64::INFINITY,
        effort: f64::INFINITY,
        applied_effort: f64::INFINITY,
        velocity_filter: 0.0,
        loop_hz: f64::INFINITY,
        anti_windup: AntiWindup::Hold,
        output_ramp: f64::INFINITY,
    }
}

fn target(velocity_hz: f64, factor: f64) -> CascadeTarget {
    CascadeTarget {
        velocity_hz,
        factor,
        lambda: false,
    }
}

#[test]
fn an_integrator_plant_gets_simc_s_integrating_pi_and_a_p_a_factor_below() {
    let model = MotorModel {
        acceleration_gain: 250.0,
        damping_rate: 0.0,
    };
    let gains = cascade_gains(&model, &target(20.0, 4.0), &ideal()).expect("gains");
    let omega = TAU * 20.0;
    let lambda = 1.0 / omega;
    // SIMC for a/s: Kc = 1/(a·τc), τI = 4·τc.
    assert!((gains.velocity_kp - 1.0 / (250.0 * lambda)).abs() < 1e-12);
    assert!((gains.velocity_ki - gains.velocity_kp / (4.0 * lambda)).abs() < 1e-9);
    assert!((gains.position_kp - omega / 4.0).abs() < 1e-12);
}

#[test]
fn a_damped_plant_gets_simc_s_first_order_pi_with_the_delay_counted() {
    let model = MotorModel {
        acceleration_gain: 100.0,
        damping_rate: 20.0,
    };
    let limits = CascadeLimits {
        velocity_filter: 2e-3,
        loop_hz: 1000.0,
        ..ideal()
    };
    let gains = cascade_gains(&model, &target(5.0, 3.0), &limits).expect("gains");
    let theta = 1e-3 + 2e-3;
    let lambda = 1.0 / (TAU * 5.0);
    // FOPDT K = a/c, τ = 1/c: Kc = τ/(K(τc+θ)) = 1/(a(τc+θ)),
    // τI = min(1/c, 4(τc+θ)) = 1/c = 0.05 s here.
    let kc = 1.0 / (100.0 * (lambda + theta));
    assert!((gains.velocity_kp - kc).abs() < 1e-12, "{gains:?}");
    assert!((gains.velocity_ki - kc * 20.0).abs() < 1e-9, "{gains:?}");
    // Lambda keeps τI = 1/c whatever the speed.
    let lambda_gains = cascade_gains(
        &model,
        &CascadeTarget {
            lambda: true,
            ..target(50.0, 3.0)
        },
        &limits,
    )
    .expect("gains");
    assert!((lambda_gains.velocity_ki / lambda_gains.velocity_kp - 20.0).abs() < 1e-9);
}

#[test]
fn bad_targets_and_models_are_refused() {
    let model = MotorModel {
        acceleration_gain: 100.0,
        damping_rate: 1.0,
    };
    assert!(cascade_gains(&model, &target(0.0, 4.0), &ideal()).is_err());
    assert!(cascade_gains(&model, &target(f64::NAN, 4.0), &ideal()).is_err());
    assert!(cascade_gains(&model, &target(10.0, 0.5), &ideal()).is_err());
    let backwards = MotorModel {
        acceleration_gain: -100.0,
        damping_rate: 1.0,
    };
    assert!(cascade_gains(&backwards, &target(10.0, 4.0), &ideal()).is_err());
}

fn metrics_of(prediction: &CascadePrediction) -> crate::analysis::StepMetrics {
    step_metrics(
        &StepRecord {
            time: &prediction.step.time,
            reference: &prediction.step.reference,
            feedback: &prediction.step.feedback,
            effort: Some(&prediction.step.effort),
        },
        &StepOptions::default(),
    )
    .expect("a measurable step")
}

fn rise_of(metrics: &crate::analysis::StepMetrics) -> f64 {
    match metrics.rise {
        crate::analysis::Rise::Reached { duration, .. } => duration,
        crate::analysis::Rise::NotReached => panic!("no rise: {metrics:?}"),
    }
}

#[test]
fn a_well_separated_cascade_answers_a_small_step_like_its_outer_loop() {
    let model = MotorModel {
        acceleration_gain: 500.0,
        damping_rate: 1.0,
    };
    let limits = CascadeLimits {
        loop_hz: 10_000.0,
        ..ideal()
    };
    let gains = cascade_gains(&model, &target(40.0, 5.0), &limits).expect("gains");
    let plan = StepPlan {
        initial: 0.0,
        size: 0.01,
        before: 0.01,
        after: 1.0,
        loop_hz: 10_000.0,
    };
    let prediction = predict_cascade_step(&model, &gains, &limits, &plan).expect("prediction");
    let metrics = metrics_of(&prediction);
    // A first-order loop of bandwidth ωp rises 10–90 % in ln(9)/ωp; the
    // inner loop's lag and its PI zero add a little.
    let first_order = 9f64.ln() / gains.position_kp;
    let rise = rise_of(&metrics);
    assert!(
        (rise / first_order - 1.0).abs() < 0.25,
        "rise {rise} s against {first_order} s"
    );
    assert!(metrics.overshoot_percent < 10.0, "{metrics:?}");
    assert_eq!(prediction.velocity_limited, 0);
    assert_eq!(prediction.effort_limited, 0);
}

#[test]
fn a_large_step_ramps_at_the_velocity_limit_within_the_effort_limit() {
    let model = MotorModel {
        acceleration_gain: 500.0,
        damping_rate: 1.0,
    };
    let limits = CascadeLimits {
        velocity: 2.0,
        effort: 0.5,
        applied_effort: 0.5,
        velocity_filter: 0.0,
        loop_hz: 8000.0,
        anti_windup: AntiWindup::Hold,
        output_ramp: f64::INFINITY,
    };
    let gains = cascade_gains(&model, &target(30.0, 4.0), &limits).expect("gains");
    let plan = StepPlan {
        initial: 0.0,
        size: 1.0,
        before: 0.01,
        after: 1.5,
        loop_hz: 8000.0,
    };
    let prediction = predict_cascade_step(&model, &gains, &limits, &plan).expect("prediction");
    assert!(prediction.velocity_limited > 0);
    assert!(prediction.effort_limited > 0);
    let fastest = prediction
        .velocity
        .iter()
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    // The velocity PI overshoots its command (SIMC's integrating PI
    // does, by some 10 %), but not by the 20 % that trips ODrive's
    // overspeed check (vel_limit_tolerance).
    assert!(fastest > 2.0 && fastest < 2.0 * 1.2, "{fastest}");
    assert!(prediction.step.effort.iter().all(|e| e.abs() <= 0.5));
    // 10 → 90 % of 1 at 2 units/s takes 0.4 s.
    let rise = rise_of(&metrics_of(&prediction));
    assert!((rise - 0.4).abs() < 0.02, "{rise}");
}

#[test]
fn margins_of_a_p_velocity_loop_on_an_integrator_are_known() {
    // kp·a/s crosses 0 dB at kp·a with 90° of phase margin and no phase
    // crossover.
    let model = MotorModel {
        acceleration_gain: 200.0,
        damping_rate: 0.0,
    };
    let gains = CascadeGains {
        position_kp: 10.0,
        velocity_kp: 0.5,
        velocity_ki: 0.0,
    };
    let (velocity, position) = cascade_margins(&model, &gains, &ideal());
    let velocity = velocity.expect("a crossover");
    assert!((velocity.crossover_hz - 100.0 / TAU).abs() < 0.01 * 100.0 / TAU);
    assert!(
        (velocity.phase_margin_deg - 90.0).abs() < 0.5,
        "{velocity:?}"
    );
    assert!(velocity.gain_margin_db.is_infinite());
    // The position loop sees 10/s · 100/(s + 100): crossover just under
    // 10 rad/s, phase margin 90° − atan(ω/100) ≈ 84°.
    let position = position.expect("a crossover");
    let omega = position.crossover_hz * TAU;
    assert!((omega - 9.95).abs() < 0.1, "{position:?}");
    assert!(
        (position.phase_margin_deg - 84.3).abs() < 0.5,
        "{position:?}"
    );
}

#[test]
fn a_delay_gives_a_finite_gain_margin() {
    let model = MotorModel {
        acceleration_gain: 200.0,
        damping_rate: 0.0,
    };
    let gains = CascadeGains {
        position_kp: 10.0,
        velocity_kp: 0.5,
        velocity_ki: 0.0,
    };
    let limits = CascadeLimits {
        loop_hz: 1000.0,
        ..ideal()
    };
    let velocity = cascade_margins(&model, &gains, &limits)
        .0
        .expect("a crossover");
    // 100/s with 1 ms of delay: −180° at ω = π/2/1e-3 = 1571 rad/s, where
    // the gain is 100/1571: 23.9 dB of margin.
    assert!((velocity.gain_margin_db - 23.9).abs() < 0.3, "{velocity:?}");
    assert!(
        (velocity.phase_margin_deg - (90.0 - 5.73)).abs() < 0.5,
        "{velocity:?}"
    );
}
