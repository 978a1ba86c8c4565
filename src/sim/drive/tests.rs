//! The drive's loop against analytic answers, its parameter table, and
//! its relay and excitation modes.

use super::*;

/// Step response of Jθ'' + (b + kt·kd)θ' + kt·kp·θ = kt·kp·r for a unit
/// step: the closed loop of a PD position controller with derivative on
/// the measurement around an ideal motor.
fn analytic_pd_step(config: &DriveConfig, t: f64) -> f64 {
    let p = &config.plant;
    let g = &config.gains;
    let wn = (p.torque_constant * g.kp / p.inertia).sqrt();
    let zeta = (p.viscous + p.torque_constant * g.kd) / (2.0 * p.inertia * wn);
    assert!(zeta < 1.0, "test expects an underdamped loop");
    let wd = wn * (1.0 - zeta * zeta).sqrt();
    1.0 - (-zeta * wn * t).exp()
        * ((wd * t).cos() + zeta / (1.0 - zeta * zeta).sqrt() * (wd * t).sin())
}

#[test]
fn linear_step_matches_the_analytic_second_order_within_one_percent() {
    let mut config = DriveConfig::linear();
    config.gains = PidGains {
        kp: 2.0,
        ki: 0.0,
        kd: 0.17,
        derivative_filter: 0.0,
        output_limit: 1e6,
    };
    config.plant.inertia = 1e-3;
    config.plant.viscous = 1e-3;
    config.plant.torque_constant = 0.05;
    let mut drive = SimDrive::new(config.clone());
    drive.set_enabled(true);
    drive.tick(1e-4);
    drive
        .set_param(SETPOINT_INDEX, 1.0)
        .expect("setpoint is writable");
    let dt = 1e-4;
    let mut worst: f64 = 0.0;
    let mut overshoot: f64 = 0.0;
    for k in 0..20_000 {
        let t = k as f64 * dt;
        let sample = drive.tick(dt);
        let expected = analytic_pd_step(&config, t);
        worst = worst.max((f64::from(sample.position) - expected).abs());
        overshoot = overshoot.max(f64::from(sample.position) - 1.0);
    }
    assert!(worst < 0.01, "worst deviation {worst} of a unit step");
    // Make sure the test exercises real dynamics: ζ ≈ 0.47 overshoots ~19 %.
    assert!(overshoot > 0.1, "overshoot {overshoot}");
}

#[test]
fn linear_pid_step_settles_on_the_setpoint() {
    let mut drive = SimDrive::new(DriveConfig::linear());
    drive.set_enabled(true);
    drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
    let mut last = 0.0;
    // The PI zero at ki/kp = 1 rad/s leaves a slow tail: give it 8 s.
    for _ in 0..80_000 {
        last = drive.tick(1e-4).position;
    }
    assert!((last - 1.0).abs() < 1e-3, "{last}");
}

#[test]
fn default_drive_with_load_and_friction_is_stable() {
    let mut drive = SimDrive::new(DriveConfig::default());
    drive.set_enabled(true);
    drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
    let mut samples = Vec::new();
    for _ in 0..40_000 {
        samples.push(drive.tick(1e-4));
    }
    let tail = &samples[30_000..];
    let worst = tail
        .iter()
        .map(|s| (s.position - 1.0).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 0.01, "still moving after 3 s: {worst}");
    assert!(
        samples.iter().any(|s| s.effort.abs() >= 4.99),
        "a 1 rad step saturates"
    );
}

#[test]
fn writes_clamp_and_read_only_is_refused() {
    let mut drive = SimDrive::new(DriveConfig::default());
    assert_eq!(drive.set_param(0, 5000.0), Ok(1000.0));
    assert_eq!(drive.set_param(0, -3.0), Ok(0.0));
    assert_eq!(
        drive.set_param(RESONANCE_INDEX, 1.0),
        Err(WriteRefusal::ReadOnly)
    );
    assert_eq!(drive.set_param(200, 1.0), Err(WriteRefusal::BadIndex));
    assert_eq!(drive.set_param(2, f32::NAN), Ok(0.2));
    assert_eq!(drive.params().len(), SimDrive::param_count());
}

#[test]
fn disabled_drive_outputs_nothing() {
    let mut drive = SimDrive::new(DriveConfig::default());
    drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
    for _ in 0..1000 {
        let sample = drive.tick(1e-4);
        assert_eq!(sample.effort, 0.0);
        assert_eq!([sample.p_term, sample.i_term, sample.d_term], [0.0; 3]);
        assert_eq!(sample.following_error, 1.0 - sample.position);
    }
}

#[test]
fn streamed_terms_explain_the_effort() {
    assert_eq!(SimDrive::channels().len(), CHANNEL_COUNT);
    let mut drive = SimDrive::new(DriveConfig::default());
    drive.set_enabled(true);
    drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
    let (mut saturated, mut linear) = (0, 0);
    for _ in 0..20_000 {
        let s = drive.tick(1e-4);
        let error = s.setpoint - s.position;
        assert!((s.following_error - error).abs() <= 1e-6 * error.abs().max(1.0));
        let sum = s.p_term + s.i_term + s.d_term;
        if drive.saturated() {
            saturated += 1;
            assert_eq!(s.effort.abs(), 5.0, "clamped at the output limit");
            assert!(sum.abs() > 5.0, "{s:?}");
        } else {
            linear += 1;
            assert!((sum - s.effort).abs() < 1e-4, "{s:?}");
        }
    }
    // The step saturates first, then the loop settles within its limit.
    assert!(saturated > 0 && linear > 10_000, "{saturated} {linear}");
}

fn index_of(name: &str) -> u8 {
    let params = SimDrive::new(DriveConfig::default()).params();
    params
        .iter()
        .position(|p| p.name == name)
        .map(|k| k as u8)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// At the setpoint point the controller follows setpoint + excitation and
/// the setpoint channel streams it; the effort is the PID's.
#[test]
fn a_setpoint_excitation_moves_the_streamed_reference() {
    let mut drive = SimDrive::new(DriveConfig::linear());
    drive.set_enabled(true);
    for (name, value) in [
        ("excite.amplitude", 0.1),
        ("excite.f0", 10.0),
        ("excite.f1", 20.0),
        ("excite.duration", 0.1),
    ] {
        drive.set_param(index_of(name), value).expect("writable");
    }
    assert_eq!(drive.set_param(EXCITE_ACTIVE_INDEX, 1.0), Ok(1.0));
    let samples: Vec<DriveSample> = (0..2000).map(|_| drive.tick(1e-4)).collect();
    let during = &samples[..1000];
    let peak = during.iter().map(|s| s.setpoint.abs()).fold(0.0, f32::max);
    assert!((0.09..=0.1).contains(&peak), "{peak}");
    for s in during {
        assert!((s.following_error - (s.setpoint - s.position)).abs() < 1e-6);
    }
    // After 0.1 s it is over: back to the setpoint, 0.
    assert!(!drive.excite_active());
    assert!(samples[1000..].iter().all(|s| s.setpoint == 0.0));
}

/// At the effort point the injection is added to the controller's output
/// and streamed on the setpoint channel; the setpoint stays.
#[test]
fn an_effort_excitation_adds_to_the_output_and_streams_the_injection() {
    let mut drive = SimDrive::new(DriveConfig::linear());
    drive.set_enabled(true);
    drive
        .set_param(index_of("excite.point"), 1.0)
        .expect("writable");
    drive
        .set_param(index_of("excite.amplitude"), 0.5)
        .expect("writable");
    drive.set_param(EXCITE_ACTIVE_INDEX, 1.0).expect("writable");
    let mut moved = 0;
    for _ in 0..5000 {
        let s = drive.tick(1e-4);
        let pid = s.p_term + s.i_term + s.d_term;
        assert!((s.effort - (pid + s.setpoint)).abs() < 1e-5, "{s:?}");
        assert!(s.setpoint.abs() <= 0.5);
        assert_eq!(s.following_error, -s.position, "the setpoint stays 0");
        if s.setpoint.abs() > 0.1 {
            moved += 1;
        }
    }
    assert!(moved > 1000, "the injection hardly moved: {moved}");
}

/// Only with the output on and a band, never beside the relay; settings
/// hold while a run uses them; the output going off ends it.
#[test]
fn the_excitation_starts_only_when_it_can() {
    let mut drive = SimDrive::new(DriveConfig::default());
    assert_eq!(
        drive.set_param(EXCITE_ACTIVE_INDEX, 1.0),
        Ok(0.0),
        "output off"
    );
    drive.set_enabled(true);
    drive
        .set_param(index_of("excite.f1"), 0.5)
        .expect("writable");
    assert_eq!(
        drive.set_param(EXCITE_ACTIVE_INDEX, 1.0),
        Ok(0.0),
        "f1 < f0"
    );
    drive
        .set_param(index_of("excite.f1"), 50.0)
        .expect("writable");
    drive.set_param(RELAY_ACTIVE_INDEX, 1.0).expect("writable");
    assert_eq!(
        drive.set_param(EXCITE_ACTIVE_INDEX, 1.0),
        Ok(0.0),
        "relay on"
    );
    drive.set_param(RELAY_ACTIVE_INDEX, 0.0).expect("writable");
    assert_eq!(drive.set_param(EXCITE_ACTIVE_INDEX, 1.0), Ok(1.0));
    assert_eq!(
        drive.set_param(RELAY_ACTIVE_INDEX, 1.0),
        Ok(0.0),
        "excite on"
    );
    assert_eq!(drive.set_param(index_of("excite.f1"), 80.0), Ok(50.0));
    drive.set_enabled(false);
    assert!(!drive.excite_active());
    let kind = &drive.params()[usize::from(index_of("excite.kind"))];
    assert_eq!(kind.kind.names(), ["chirp", "prbs"]);
}

#[test]
fn a_cascade_drive_declares_the_protocol_s_loops_and_follows_its_setpoint() {
    let config = DriveConfig {
        cascade: Some(crate::sim::cascade::CascadeConfig::default()),
        ..DriveConfig::linear()
    };
    let mut drive = SimDrive::new(config);
    let params = drive.params();
    assert_eq!(params.len(), SimDrive::param_count() + 1);
    assert_eq!(params[usize::from(SETPOINT_INDEX)].name, "pos.setpoint");
    let info = drive.device_info(10_000);
    let loops = crate::protocol::loops::CascadeLoops::find(&info).expect("a cascade");
    assert_eq!(loops.velocity_channel, Some(2));
    assert_eq!(
        crate::protocol::loops::CascadeLoops::limit(&info.params, &loops.velocity_limits),
        30.0
    );
    // The velocity limit, added at the end, reads and writes like the rest.
    let limit = u8::try_from(params.len() - 1).expect("an index");
    assert_eq!(drive.set_param(limit, 12.0), Ok(12.0));
    assert_eq!(drive.param(limit), Some(12.0));

    drive.set_enabled(true);
    drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
    let mut fastest: f64 = 0.0;
    let mut sample = drive.tick(1e-4);
    for _ in 0..30_000 {
        sample = drive.tick(1e-4);
        fastest = fastest.max(f64::from(sample.velocity).abs());
    }
    assert!(
        (f64::from(sample.position) - 1.0).abs() < 1e-3,
        "{sample:?}"
    );
    // The command never asked for more than the 12 rad/s limit; the PI
    // overshoots it a little.
    assert!(fastest < 12.0 * 1.2, "{fastest}");
    assert_eq!(sample.d_term, 0.0);
}
