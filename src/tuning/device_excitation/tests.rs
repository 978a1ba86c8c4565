//! The device-side excitation run against the simulated drive in-process:
//! writes applied one batch late, the device's VALUE answers fed back, the
//! end reported before the batch holding the last samples.

use super::*;
use crate::analysis::{COHERENT, decibels, plant_peak};
use crate::sim::SimDrive;
use crate::sim::drive::{DriveConfig, EXCITE_ACTIVE_INDEX};

const TICK_HZ: f64 = 10_000.0;
const BATCH: usize = 20;

/// What a run did besides its result.
struct Run {
    /// Every write, in the order sent.
    writes: Vec<ParamWrite>,
    peak_effort: f64,
}

/// Runs the procedure in device time against `drive`: each batch's writes
/// reach the drive before the next batch, each answered with a VALUE; the
/// drive's own end of the run is reported as soon as it happens.
fn run(procedure: &mut DeviceExcitation, drive: &mut SimDrive, limit_s: f64) -> Run {
    run_from(procedure, drive, limit_s, &mut 0)
}

/// [`run`] from device tick `tick`, for `limit_s` more seconds.
fn run_from(
    procedure: &mut DeviceExcitation,
    drive: &mut SimDrive,
    limit_s: f64,
    tick: &mut i64,
) -> Run {
    let mut writes = Vec::new();
    let mut pending: Vec<ParamWrite> = Vec::new();
    let mut peak_effort: f64 = 0.0;
    let end = *tick + (limit_s * TICK_HZ) as i64;
    while !procedure.is_done() && *tick < end {
        for write in std::mem::take(&mut pending) {
            let value = drive.set_param(write.index, write.value).expect("writable");
            pending.extend(procedure.on_value(write.index, value));
        }
        let mut values = Vec::with_capacity(BATCH * 8);
        for _ in 0..BATCH {
            let was_active = drive.excite_active();
            let sample = drive.tick(1.0 / TICK_HZ);
            if was_active && !drive.excite_active() {
                pending.extend(procedure.on_value(EXCITE_ACTIVE_INDEX, 0.0));
            }
            peak_effort = peak_effort.max(f64::from(sample.effort).abs());
            values.extend(sample.as_array());
        }
        let batch = SampleBatch {
            first_tick: *tick,
            stride: 1,
            tick_hz: TICK_HZ,
            channel_count: 8,
            values,
            exact: None,
        };
        *tick += BATCH as i64;
        let answer = procedure.on_samples(&batch);
        writes.extend(answer.iter().copied());
        pending.extend(answer);
    }
    // The answers to the last batch, already in `writes`.
    for write in pending {
        drive.set_param(write.index, write.value).expect("writable");
    }
    Run {
        writes,
        peak_effort,
    }
}

fn plan(kind: ExcitationKind, from_hz: f64, to_hz: f64, amplitude: f64) -> ExcitationPlan {
    ExcitationPlan {
        kind,
        from_hz,
        to_hz,
        amplitude,
        duration_s: 10.0,
        // Irrelevant here: the device excites itself.
        max_write_hz: 1.0,
    }
}

/// The default drive (friction, load, quantized noisy encoder), effort
/// injection: the plant's resonance is where the drive says it is, and
/// the points are coherent to 300 Hz and beyond, three times what setpoint
/// writes could excite.
fn measure_default(kind: ExcitationKind) -> (FrequencyMeasurement, f64, Run) {
    let mut drive = SimDrive::new(DriveConfig::default());
    drive.set_enabled(true);
    let resonance = drive.config.plant.resonance_hz();
    let info = drive.device_info(TICK_HZ as u32);
    let params = ExciteParams::find(&info.params).expect("the sim declares its excitation");
    let amplitude = default_effort_amplitude(&info, &params);
    let plan = plan(kind, 5.0, 400.0, amplitude);
    let chosen = frequency_response(plan, InjectionPoint::Effort, &info, 0.0).expect("valid plan");
    assert_eq!(chosen.name(), DEVICE_EXCITATION_NAME);
    let mut procedure =
        DeviceExcitation::start(plan, InjectionPoint::Effort, &info, 0.0).expect("valid plan");
    assert_eq!(procedure.point(), InjectionPoint::Effort);
    let run = run(&mut procedure, &mut drive, 15.0);
    assert_eq!(procedure.state(), &ExcitationState::Finished);
    let measurement = procedure.take_result().expect("a result");
    (measurement, resonance, run)
}

/// The motor-side position of the two-mass plant per ampere, with the
/// half tick the zero-order hold delays: Kt·(J_L·s² + c·s + k) /
/// ((J_M·s² + b·s + c·s + k)·(J_L·s² + c·s + k) − (c·s + k)²).
fn analytic_plant(config: &DriveConfig, frequency_hz: f64) -> realfft::num_complex::Complex64 {
    let p = &config.plant;
    let s = realfft::num_complex::Complex64::new(0.0, std::f64::consts::TAU * frequency_hz);
    let (jm, jl, c, k) = (
        p.inertia,
        p.load_inertia,
        p.coupling_damping,
        p.coupling_stiffness,
    );
    let coupling = c * s + k;
    let load = jl * s * s + coupling;
    let motor = jm * s * s + p.viscous * s + coupling;
    p.torque_constant * load / (motor * load - coupling * coupling) * (-s * 0.5 / TICK_HZ).exp()
}

/// The plant peaks within 5 % of the drive's resonance, its coherent
/// points reach `top_hz`, and those above `from_hz` (clear of the Coulomb
/// friction's low frequencies) match the analytic plant within `db`, but
/// within 15 % of the resonance or the anti-resonance: the Hann
/// window's 2.4 Hz bins smooth a peak whose half-power width is 2.2 Hz.
fn assert_finds_the_plant(
    measurement: &FrequencyMeasurement,
    resonance: f64,
    top_hz: f64,
    from_hz: f64,
    db: f64,
) {
    let (peak_hz, rise) = plant_peak(&measurement.points).expect("a plant peak");
    assert!(
        (peak_hz / resonance - 1.0).abs() < 0.05,
        "plant peaks at {peak_hz} Hz (rise {rise} dB), resonance {resonance} Hz"
    );
    let coherent: Vec<&BodePoint> = measurement
        .points
        .iter()
        .filter(|p| p.coherence >= COHERENT)
        .collect();
    let top = coherent.iter().map(|p| p.frequency_hz).fold(0.0, f64::max);
    assert!(top >= top_hz, "coherent only to {top} Hz");
    let config = DriveConfig::default();
    let p = &config.plant;
    let anti_resonance = (p.coupling_stiffness / p.load_inertia).sqrt() / std::f64::consts::TAU;
    let near = |f: f64, mode: f64| (f / mode - 1.0).abs() < 0.15;
    for point in coherent.iter().filter(|p| {
        p.frequency_hz >= from_hz
            && !near(p.frequency_hz, resonance)
            && !near(p.frequency_hz, anti_resonance)
    }) {
        let expected = analytic_plant(&config, point.frequency_hz);
        let error = decibels(point.plant.expect("effort streamed")) - decibels(expected);
        assert!(error.abs() < db, "{} Hz: {error} dB", point.frequency_hz);
    }
}

#[test]
fn an_effort_prbs_finds_the_plant_and_its_resonance() {
    let (measurement, resonance, run) = measure_default(ExcitationKind::Prbs);
    // 4 A of the 5 A limit: the 16-bit encoder resolves the plant's
    // motion through the resonance and beyond 300 Hz at coherence 0.9.
    assert_finds_the_plant(&measurement, resonance, 300.0, 20.0, 1.0);
    assert!(run.peak_effort <= 5.0, "within the output limit");
}

#[test]
fn an_effort_chirp_finds_the_plant_and_its_resonance() {
    let (measurement, resonance, _) = measure_default(ExcitationKind::Chirp);
    // The sweep passes each frequency once: where the encoder barely
    // resolves the motion (above ~130 Hz) its points are coherent but
    // less exact than the PRBS's, which moves the axis all the time.
    assert_finds_the_plant(&measurement, resonance, 150.0, 20.0, 2.0);
}

/// The ideal linear drive without a load is Kt / (J·s² + b·s) through a
/// zero-order hold: the effort injection's plant estimate matches it.
#[test]
fn the_plant_estimate_matches_the_analytic_motor() {
    let config = DriveConfig::linear();
    let mut drive = SimDrive::new(config.clone());
    drive.set_enabled(true);
    let info = drive.device_info(TICK_HZ as u32);
    let plan = plan(ExcitationKind::Chirp, 5.0, 1000.0, 1.0);
    let mut procedure =
        DeviceExcitation::start(plan, InjectionPoint::Effort, &info, 0.0).expect("valid plan");
    run(&mut procedure, &mut drive, 15.0);
    let measurement = procedure.take_result().expect("a result");
    let p = &config.plant;
    let mut checked = 0;
    for point in measurement.points.iter().filter(|p| p.frequency_hz >= 20.0) {
        let w = std::f64::consts::TAU * point.frequency_hz;
        let s = realfft::num_complex::Complex64::new(0.0, w);
        // The hold delays half a tick on top.
        let hold = (-s * 0.5 / TICK_HZ).exp();
        let expected = p.torque_constant / (p.inertia * s * s + p.viscous * s) * hold;
        let measured = point.plant.expect("effort streamed");
        let error_db = decibels(measured) - decibels(expected);
        let error_deg = (measured / expected).arg().to_degrees();
        assert!(
            error_db.abs() < 0.5 && error_deg.abs() < 3.0,
            "{} Hz: {error_db} dB, {error_deg}°",
            point.frequency_hz
        );
        checked += 1;
    }
    assert!(checked > 50, "{checked} points");
}

/// At the setpoint point the device's chirp measures the closed loop as
/// the host's does, but far above what writes could reach.
#[test]
fn a_setpoint_chirp_measures_the_closed_loop_past_the_write_rate() {
    let mut drive = SimDrive::new(DriveConfig::linear());
    drive.set_enabled(true);
    let info = drive.device_info(TICK_HZ as u32);
    let plan = plan(ExcitationKind::Chirp, 2.0, 400.0, 0.01);
    let mut procedure =
        DeviceExcitation::start(plan, InjectionPoint::Setpoint, &info, 0.0).expect("valid plan");
    run(&mut procedure, &mut drive, 15.0);
    assert_eq!(procedure.state(), &ExcitationState::Finished);
    let measurement = procedure.take_result().expect("a result");
    // A loop that follows at low frequencies and falls off at high ones.
    let low = measurement.points.first().expect("points");
    let high = measurement.points.last().expect("points");
    assert!(decibels(low.closed_loop).abs() < 1.0, "{low:?}");
    assert!(decibels(high.closed_loop) < -10.0, "{high:?}");
    assert!(measurement.figures.bandwidth_hz.is_some());
}

/// Settings first, `excite.active` = 1 last; the settings back at the end,
/// and nothing else written.
#[test]
fn it_writes_its_settings_then_starts_and_restores_them() {
    let (_, _, run) = measure_default(ExcitationKind::Chirp);
    let drive = SimDrive::new(DriveConfig::default());
    let before = drive.params();
    let start = run
        .writes
        .iter()
        .position(|w| w.index == EXCITE_ACTIVE_INDEX)
        .expect("excite.active written");
    assert_eq!(run.writes[start].value, 1.0);
    let (setup, after) = run.writes.split_at(start);
    assert!(!setup.is_empty());
    assert!(
        after[1..].iter().all(|w| w.index != EXCITE_ACTIVE_INDEX),
        "the device ended the run itself: {after:?}"
    );
    let mut restored: Vec<u8> = after[1..].iter().map(|w| w.index).collect();
    restored.sort_unstable();
    let mut changed: Vec<u8> = setup.iter().map(|w| w.index).collect();
    changed.sort_unstable();
    assert_eq!(restored, changed);
    for write in &after[1..] {
        assert_eq!(write.value, before[usize::from(write.index)].value);
    }
}

/// Abort stops the device's run and restores what it changed.
#[test]
fn abort_stops_the_run_and_restores_the_settings() {
    let mut drive = SimDrive::new(DriveConfig::default());
    drive.set_enabled(true);
    let before = drive.params();
    let info = drive.device_info(TICK_HZ as u32);
    let plan = plan(ExcitationKind::Prbs, 5.0, 400.0, 0.5);
    let mut procedure =
        DeviceExcitation::start(plan, InjectionPoint::Effort, &info, 0.0).expect("valid plan");
    // One second in, then abort.
    run(&mut procedure, &mut drive, 1.0);
    assert!(drive.excite_active());
    let writes = procedure.abort();
    assert_eq!(
        writes[0],
        ParamWrite {
            index: EXCITE_ACTIVE_INDEX,
            value: 0.0
        }
    );
    for write in &writes {
        drive.set_param(write.index, write.value).expect("writable");
    }
    assert!(!drive.excite_active());
    assert_eq!(drive.params(), before);
    assert_eq!(procedure.state(), &ExcitationState::Aborted);
    assert!(
        procedure.abort().is_empty(),
        "a second abort writes nothing"
    );
}

/// A device that turns its output off ends the run early: a failure, not
/// a measurement of half a sweep.
#[test]
fn a_run_the_device_cut_short_fails() {
    let mut drive = SimDrive::new(DriveConfig::default());
    drive.set_enabled(true);
    let info = drive.device_info(TICK_HZ as u32);
    let plan = plan(ExcitationKind::Chirp, 5.0, 400.0, 0.5);
    let mut procedure =
        DeviceExcitation::start(plan, InjectionPoint::Effort, &info, 0.0).expect("valid plan");
    let mut tick = 0;
    run_from(&mut procedure, &mut drive, 1.0, &mut tick);
    drive.set_enabled(false);
    procedure.on_value(EXCITE_ACTIVE_INDEX, 0.0);
    let run_rest = run_from(&mut procedure, &mut drive, 1.0, &mut tick);
    assert!(
        matches!(
            procedure.failure(),
            Some(ExcitationError::DeviceEndedEarly { .. })
        ),
        "{:?}",
        procedure.state()
    );
    assert!(
        run_rest
            .writes
            .iter()
            .all(|w| w.index != EXCITE_ACTIVE_INDEX)
    );
}

/// A device that answers `excite.active` = 0 (its output is off) refused.
#[test]
fn a_device_that_will_not_start_fails_at_once() {
    let mut drive = SimDrive::new(DriveConfig::default());
    let info = drive.device_info(TICK_HZ as u32);
    let plan = plan(ExcitationKind::Chirp, 5.0, 400.0, 0.5);
    let mut procedure =
        DeviceExcitation::start(plan, InjectionPoint::Effort, &info, 0.0).expect("valid plan");
    run(&mut procedure, &mut drive, 1.0);
    assert_eq!(procedure.failure(), Some(&ExcitationError::DeviceRefused));
}

/// Plans the device's limits cannot hold are refused before any write;
/// a device without the excitation gets the host's, as does a stepped sine.
#[test]
fn the_chooser_and_the_limits() {
    let drive = SimDrive::new(DriveConfig::default());
    let info = drive.device_info(TICK_HZ as u32);
    let too_high = plan(ExcitationKind::Chirp, 5.0, 6000.0, 0.5);
    assert!(matches!(
        DeviceExcitation::start(too_high, InjectionPoint::Effort, &info, 0.0),
        Err(ExcitationError::OutsideDeviceLimits { name, .. }) if name == "excite.f1"
    ));
    let too_strong = plan(ExcitationKind::Chirp, 5.0, 400.0, 50.0);
    assert!(matches!(
        DeviceExcitation::start(too_strong, InjectionPoint::Effort, &info, 0.0),
        Err(ExcitationError::OutsideDeviceLimits { name, .. }) if name == "excite.amplitude"
    ));
    // At the setpoint the setpoint's own limits hold too.
    let off_range = plan(ExcitationKind::Chirp, 5.0, 400.0, 1.0);
    assert!(matches!(
        DeviceExcitation::start(off_range, InjectionPoint::Setpoint, &info, 99.5),
        Err(ExcitationError::OutOfLimits { .. })
    ));

    let mut without = info.clone();
    without.params.retain(|p| !p.name.starts_with("excite."));
    let slow = ExcitationPlan {
        max_write_hz: 500.0,
        ..plan(ExcitationKind::Chirp, 1.0, 50.0, 0.01)
    };
    let name = |plan, info: &DeviceInfo| {
        frequency_response(plan, InjectionPoint::Effort, info, 0.0)
            .expect("valid plan")
            .name()
    };
    assert_eq!(name(slow, &without), "frequency response");
    let sine = ExcitationPlan {
        kind: ExcitationKind::SteppedSine,
        duration_s: 100.0,
        ..slow
    };
    assert_eq!(name(sine, &info), "frequency response");
    assert_eq!(name(slow, &info), DEVICE_EXCITATION_NAME);
}
