use super::*;
use crate::analysis::{CascadeTarget, cascade_gains};
use crate::protocol::{ChannelInfo, ParamFlags, ParamInfo};
use crate::tuning::{ModelKind, identify};

/// An ODrive axis as its adapter describes it, with the 0.5.x defaults.
fn odrive_like() -> DeviceInfo {
    let gain = ParamFlags::TUNING_GAIN | ParamFlags::LOG_SCALE;
    let channel = |name: &str, role| ChannelInfo {
        name: name.into(),
        unit: String::new(),
        role,
    };
    DeviceInfo {
        name: "ODrive axis0".into(),
        firmware: String::new(),
        protocol_version: 0,
        loop_hz: 200,
        watchdog_ms: 0,
        channels: vec![
            channel("input_pos", ChannelRole::Reference),
            channel("pos_estimate", ChannelRole::Feedback),
            channel("vel_estimate", ChannelRole::Other),
            channel("Iq_measured", ChannelRole::Effort),
        ],
        params: vec![
            ParamInfo::real("controller.config.pos_gain", "", gain, 0.1, 1000.0, 20.0),
            ParamInfo::real(
                "controller.config.vel_gain",
                "",
                gain,
                1e-3,
                20.0,
                1.0 / 6.0,
            ),
            ParamInfo::real(
                "controller.config.vel_integrator_gain",
                "",
                gain,
                0.0,
                200.0,
                2.0 / 6.0,
            ),
            ParamInfo::real("controller.config.vel_limit", "", 0, 0.0, 1000.0, 2.0),
            ParamInfo::real("motor.config.current_lim", "", 0, 0.0, 120.0, 10.0),
            ParamInfo::real(
                "motor.config.torque_constant",
                "",
                ParamFlags::READ_ONLY,
                0.0,
                10.0,
                0.05,
            ),
        ],
        other_axes: Vec::new(),
    }
}

#[test]
fn an_odrive_s_cascade_is_read_in_the_model_s_units() {
    let setup = CascadeSetup::of(&odrive_like()).expect("a cascade");
    assert!((setup.output_per_effort - 0.05).abs() < 1e-9);
    // vel_gain 1/6 Nm/(turn/s) over 0.05 Nm/A.
    assert!((setup.in_force.velocity_kp - 10.0 / 3.0).abs() < 1e-5);
    assert!((setup.in_force.velocity_ki - 20.0 / 3.0).abs() < 1e-5);
    assert_eq!(setup.limits.velocity, 2.0);
    assert_eq!(setup.limits.effort, 10.0);
    assert_eq!(setup.limits.loop_hz, 8000.0);
    assert_eq!(setup.overspeed(), Some(2.4));
    // Half of 2 turn/s at 20 (turn/s)/turn.
    assert!((setup.identification_amplitude().expect("a velocity limit") - 0.05).abs() < 1e-9);
    let writes = setup.velocity_writes(&CascadeGains {
        position_kp: 50.0,
        velocity_kp: 10.0,
        velocity_ki: 100.0,
    });
    assert_eq!(writes, vec![(1, 0.5), (2, 5.0)]);
}

#[test]
fn a_device_without_a_cascade_or_an_effort_is_refused() {
    let mut single = odrive_like();
    single.params.remove(0);
    assert_eq!(CascadeSetup::of(&single), Err(CascadeError::NoCascade));
    let mut no_effort = odrive_like();
    no_effort.channels.pop();
    assert_eq!(CascadeSetup::of(&no_effort), Err(CascadeError::NoEffort));
}

/// The emulated ODrive's motor and load taken as rigid, in turns.
fn true_model() -> MotorModel {
    let inertia = 2e-4 + 5e-4;
    MotorModel {
        acceleration_gain: 0.05 / inertia / std::f64::consts::TAU,
        damping_rate: 1e-3 / inertia,
    }
}

/// A measured step as a host sees it: the cascade in force run at its
/// 8 kHz, sampled every 16th tick, position quantized to 8192 counts a
/// turn.
fn measured(setup: &CascadeSetup, model: &MotorModel, amplitude: f64) -> StepResponse {
    let prediction = predict_stage(setup, model, &setup.in_force, amplitude, 0.1, 0.6)
        .expect("a prediction")
        .response;
    let every = 16;
    let pick = |values: &[f64]| values.iter().step_by(every).copied().collect::<Vec<_>>();
    let time: Vec<f64> = pick(&prediction.step.time)
        .iter()
        .map(|t| t - 0.1)
        .collect();
    let feedback = pick(&prediction.step.feedback)
        .iter()
        .map(|x| (x * 8192.0).round() / 8192.0)
        .collect();
    StepResponse {
        number: 1,
        from: 0.0,
        to: amplitude as f32,
        step_time_s: 0.1,
        reference: pick(&prediction.step.reference),
        effort: Some(pick(&prediction.step.effort)),
        time,
        feedback,
        metrics: Err(crate::analysis::StepMetricsError::NoStep),
    }
}

#[test]
fn the_motor_is_identified_from_a_small_closed_loop_step_and_tuned_as_from_the_truth() {
    let setup = CascadeSetup::of(&odrive_like()).expect("a cascade");
    let truth = true_model();
    let amplitude = setup.identification_amplitude().expect("a velocity limit");
    let step = measured(&setup, &truth, amplitude);
    assert_eq!(
        setup.saturation(&step),
        None,
        "the identification step stays inside"
    );
    let fitted = identify(
        ModelKind::Motor,
        &step.time,
        step.effort.as_deref(),
        &step.feedback,
    )
    .expect("a fit");
    let crate::analysis::PlantModel::Motor(model) = fitted.model else {
        panic!("a motor model");
    };
    let error = model.acceleration_gain / truth.acceleration_gain - 1.0;
    assert!(error.abs() < 0.05, "K/J off by {:.1} %", error * 100.0);

    let target = CascadeTarget {
        velocity_hz: DEFAULT_VELOCITY_HZ,
        factor: 4.0,
        lambda: false,
    };
    let ideal = cascade_gains(&truth, &target, &setup.limits).expect("gains");
    let proposed = cascade_gains(&model, &target, &setup.limits).expect("gains");
    for (name, got, want) in [
        ("velocity kp", proposed.velocity_kp, ideal.velocity_kp),
        ("velocity ki", proposed.velocity_ki, ideal.velocity_ki),
        ("position kp", proposed.position_kp, ideal.position_kp),
    ] {
        assert!(
            (got / want - 1.0).abs() < 0.05,
            "{name}: {got} against {want}"
        );
    }
}

#[test]
fn a_step_that_reaches_a_limit_is_named() {
    let setup = CascadeSetup::of(&odrive_like()).expect("a cascade");
    // 0.5 turn at 20 (turn/s)/turn asks for 10 turn/s: the 2 turn/s limit.
    let step = measured(&setup, &true_model(), 0.5);
    let saturation = setup.saturation(&step).expect("a limit reached");
    assert_eq!(saturation.what, Limit::Velocity);
    assert!((saturation.peak - 2.0).abs() < 0.2, "{saturation}");
}

#[test]
fn the_tuned_cascade_s_large_step_is_predicted_with_its_limits_and_margins() {
    let setup = CascadeSetup::of(&odrive_like()).expect("a cascade");
    let target = CascadeTarget {
        velocity_hz: DEFAULT_VELOCITY_HZ,
        factor: 4.0,
        lambda: false,
    };
    let gains = cascade_gains(&true_model(), &target, &setup.limits).expect("gains");
    let stage = predict_stage(&setup, &true_model(), &gains, 0.5, 0.1, 1.0).expect("a prediction");
    assert!(stage.response.velocity_limited > 0);
    assert!(
        stage.metrics.overshoot_percent < 10.0,
        "{:?}",
        stage.metrics
    );
    let velocity = stage.velocity_margins.expect("a crossover");
    assert!(
        (velocity.crossover_hz / DEFAULT_VELOCITY_HZ - 1.0).abs() < 0.3,
        "{velocity:?}"
    );
    assert!(velocity.phase_margin_deg > 45.0, "{velocity:?}");
    assert!(
        stage
            .position_margins
            .expect("a crossover")
            .phase_margin_deg
            > 45.0
    );
    assert!(stage.warnings.is_empty(), "{:?}", stage.warnings);
}

#[test]
fn step_sizes_keep_two_significant_digits_rounded_down() {
    assert_eq!(step_size(0.4162066), 0.41);
    assert_eq!(step_size(0.05), 0.05);
    assert_eq!(step_size(0.05125), 0.051);
    assert_eq!(step_size(2.5), 2.5);
    assert_eq!(step_size(123.0), 120.0);
}

#[test]
fn the_chosen_factor_settles_first_within_the_overshoot_and_margin_asked() {
    let setup = CascadeSetup::of(&odrive_like()).expect("a cascade");
    let target = CascadeTarget {
        velocity_hz: DEFAULT_VELOCITY_HZ,
        factor: 4.0,
        lambda: false,
    };
    let amplitudes = [0.05, 0.5];
    let (factor, gains) = choose_factor(
        &setup,
        &true_model(),
        &target,
        None,
        &amplitudes,
        (0.1, 1.0),
    )
    .expect("a factor");
    assert!(FACTORS.contains(&factor));
    let settling = |gains: &CascadeGains| {
        amplitudes
            .iter()
            .map(|&a| {
                let stage =
                    predict_stage(&setup, &true_model(), gains, a, 0.1, 1.0).expect("a prediction");
                assert!(stage.metrics.overshoot_percent <= CHOSEN_OVERSHOOT);
                match stage.metrics.settling {
                    Settling::Settled(t) => t,
                    Settling::NotSettled => f64::INFINITY,
                }
            })
            .fold(0.0, f64::max)
    };
    let chosen = settling(&gains);
    // No slower than the usual factor of 4.
    let four = cascade_gains(&true_model(), &target, &setup.limits).expect("gains");
    assert!(
        chosen <= settling(&four),
        "{chosen} against {}",
        settling(&four)
    );
}

#[test]
fn the_effort_a_drive_applies_is_fitted_to_a_saturated_step() {
    let mut setup = CascadeSetup::of(&odrive_like()).expect("a cascade");
    // The truth: 4 A applied of a 10 A limit; the tuner assumes 2.
    setup.limits.applied_effort = 4.0;
    let step = measured(&setup, &true_model(), 0.3);
    setup.limits.applied_effort = 2.0;
    assert!(setup.applied_effort_uncertain());
    let fitted = setup.fit_applied_effort(&true_model(), &step, 0.1, 0.6);
    assert!((fitted - 4.0).abs() < 0.2, "{fitted}");
}
