use super::*;
use crate::analysis::{LimitCycleOptions, Ultimate, UltimateRule};
use crate::protocol::SampleBatch;
use crate::sim::drive::{DriveConfig, SimDrive};

const LOOP_HZ: f64 = 10_000.0;
const BATCH: usize = 50;

/// Runs `test` on `drive` ticked in-process, every sample streamed in
/// batches of [`BATCH`], the writes applied at once, the values the
/// drive changes by itself reported; at most `seconds` of device time.
fn run(test: &mut RelayTest, drive: &mut SimDrive, seconds: f64) {
    let dt = 1.0 / LOOP_HZ;
    let mut tick = 0i64;
    while !test.is_done() && (tick as f64) * dt < seconds {
        let mut values = Vec::new();
        for _ in 0..BATCH {
            let was_active = drive.relay_active();
            values.extend_from_slice(&drive.tick(dt).as_array());
            if was_active && !drive.relay_active() {
                for write in test.on_value(crate::sim::drive::RELAY_ACTIVE_INDEX, 0.0) {
                    apply(drive, write);
                }
            }
        }
        let batch = SampleBatch {
            first_tick: tick,
            stride: 1,
            tick_hz: LOOP_HZ,
            channel_count: values.len() / BATCH,
            values,
            exact: None,
        };
        tick += BATCH as i64;
        for write in test.on_samples(&batch) {
            apply(drive, write);
        }
    }
}

fn apply(drive: &mut SimDrive, write: ParamWrite) {
    drive
        .set_param(write.index, write.value)
        .expect("the engine writes only the drive's parameters");
}

fn enabled(config: DriveConfig) -> SimDrive {
    let mut drive = SimDrive::new(config);
    drive.set_enabled(true);
    drive
}

/// Fraction by which the loop with P control `kp` grows (> 1) or
/// decays (< 1) over 1 s, and its period: the linear drive, ki = kd = 0,
/// started 1 mrad off its setpoint.
fn p_loop(kp: f64) -> (f64, f64) {
    let mut config = DriveConfig::linear();
    config.gains.kp = kp;
    config.gains.ki = 0.0;
    config.gains.kd = 0.0;
    config.gains.output_limit = 1e6;
    let mut drive = enabled(config);
    drive.plant.state.position = 1e-3;
    let dt = 1.0 / LOOP_HZ;
    let feedback: Vec<f64> = (0..40_000)
        .map(|_| f64::from(drive.tick(dt).position))
        .collect();
    let peak = |s: &[f64]| s.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let growth = peak(&feedback[30_000..]) / peak(&feedback[20_000..30_000]);
    let ups: Vec<usize> = (30_001..40_000)
        .filter(|&k| feedback[k - 1] < 0.0 && feedback[k] >= 0.0)
        .collect();
    let period = match (ups.first(), ups.last()) {
        (Some(first), Some(last)) if ups.len() > 1 => {
            (last - first) as f64 * dt / (ups.len() - 1) as f64
        }
        _ => f64::NAN,
    };
    (growth, period)
}

/// The true ultimate gain and period: kp bisected (geometrically)
/// until the oscillation neither grows nor decays.
fn true_ultimate() -> Ultimate {
    let (mut stable, mut unstable) = (1.0, 1000.0);
    assert!(p_loop(stable).0 < 1.0 && p_loop(unstable).0 > 1.0);
    for _ in 0..30 {
        let mid = f64::sqrt(stable * unstable);
        if p_loop(mid).0 > 1.0 {
            unstable = mid;
        } else {
            stable = mid;
        }
    }
    Ultimate {
        gain: stable,
        period: p_loop(stable).1,
    }
}

fn plan() -> RelayPlan {
    RelayPlan {
        amplitude: 1.0,
        hysteresis: Some(0.0),
        travel: 0.5,
        time_limit_s: 5.0,
        cycles: LimitCycleOptions::default(),
    }
}

#[test]
fn relay_on_the_linear_drive_finds_ku_and_tu_and_restores_everything() {
    let mut drive = enabled(DriveConfig::linear());
    // At rest away from zero. (Started from a loop that has just
    // settled, the sampled relay loop can fall into another of its
    // coexisting limit cycles: docs/TUNING.md.)
    drive.config.setpoint = 0.25;
    drive.plant.state.position = 0.25;
    let mut test =
        RelayTest::start(plan(), &drive.device_info(LOOP_HZ as u32), true).expect("starts");
    run(&mut test, &mut drive, 20.0);
    assert_eq!(test.state(), &RelayState::Finished, "{:?}", test.failure());
    let result = test.result().expect("a result");
    let ultimate = result.ultimate();
    // Analytic, continuous: J·ω²/Kt at ω² = 2b/(J·T) (where the
    // viscous lead equals the half-tick lag): 400 A/rad, 19.9 ms.
    assert!((ultimate.gain / 400.0 - 1.0).abs() < 0.2, "{ultimate:?}");
    assert!((ultimate.period / 0.0199 - 1.0).abs() < 0.2, "{ultimate:?}");
    assert!(result.cycle.period_spread < 0.05 && result.cycle.amplitude_spread < 0.05);
    assert!((result.cycle.relay_amplitude - 1.0).abs() < 1e-6);
    assert!(!drive.relay_active());
    assert_eq!(drive.config.setpoint as f32, 0.25f32);
    assert_eq!((drive.config.gains.kp, drive.config.gains.ki), (20.0, 20.0));
}

/// The bar of issue 5: from the default gains, the proposal is within
/// 20 % of the rule applied to the loop's true Ku and Tu.
#[test]
fn relay_proposal_is_within_20_percent_of_the_rule_on_the_true_ultimate_point() {
    let truth = true_ultimate();
    assert!(
        (truth.gain / 400.0 - 1.0).abs() < 0.05,
        "bisected Ku {truth:?}"
    );
    let mut drive = enabled(DriveConfig::linear());
    let mut test =
        RelayTest::start(plan(), &drive.device_info(LOOP_HZ as u32), true).expect("starts");
    run(&mut test, &mut drive, 10.0);
    let measured = test.result().expect("a steady limit cycle").ultimate();
    eprintln!("true {truth:?}, relay {measured:?}");
    for rule in [
        UltimateRule::ZieglerNicholsPid,
        UltimateRule::ZieglerNicholsPi,
        UltimateRule::TyreusLuybenPid,
        UltimateRule::SomeOvershoot,
    ] {
        let want = relay_gains(truth, rule).standard;
        let got = relay_gains(measured, rule).standard;
        let off = |a: f64, b: f64| {
            if b.is_finite() && b != 0.0 {
                a / b - 1.0
            } else {
                a - b
            }
        };
        for (name, error) in [
            ("Kp", off(got.kp, want.kp)),
            ("Ti", off(got.ti, want.ti)),
            ("Td", off(got.td, want.td)),
        ] {
            eprintln!("{rule:?} {name}: {:+.1} %", error * 100.0);
            assert!(
                error.abs() < 0.2,
                "{rule:?} {name} off by {:.1} %",
                error * 100.0
            );
        }
    }
}

#[test]
fn leaving_the_travel_fails_and_takes_the_relay_down() {
    let mut drive = enabled(DriveConfig::linear());
    // A relay about a bias that pushes one way walks off its travel.
    let mut test = RelayTest::start(
        RelayPlan {
            travel: 0.002,
            ..plan()
        },
        &drive.device_info(LOOP_HZ as u32),
        true,
    )
    .expect("starts");
    run(&mut test, &mut drive, 5.0);
    assert!(
        matches!(
            test.failure(),
            Some(RelayError::TravelExceeded { .. } | RelayError::LeftRelayMode)
        ),
        "{:?}",
        test.state()
    );
    assert!(!drive.relay_active());
}

#[test]
fn abort_and_refusals() {
    let drive = enabled(DriveConfig::linear());
    let info = drive.device_info(LOOP_HZ as u32);
    assert_eq!(
        RelayTest::start(plan(), &info, false).err(),
        Some(RelayError::OutputOff)
    );
    let mut no_relay = info.clone();
    no_relay.params.retain(|p| !p.name.starts_with("relay."));
    assert_eq!(
        RelayTest::start(plan(), &no_relay, true).err(),
        Some(RelayError::NoRelayMode)
    );
    assert_eq!(
        RelayTest::start(
            RelayPlan {
                amplitude: -1.0,
                ..plan()
            },
            &info,
            true
        )
        .err(),
        Some(RelayError::BadAmplitude(-1.0))
    );
    let mut test = RelayTest::start(plan(), &info, true).expect("starts");
    let writes = test.abort();
    assert_eq!(test.state(), &RelayState::Aborted);
    assert_eq!(
        writes[0],
        ParamWrite {
            index: crate::sim::drive::RELAY_ACTIVE_INDEX,
            value: 0.0
        }
    );
    let defaults = RelayPlan::for_device(&info);
    assert_eq!(defaults.amplitude, 1.0, "a fifth of the 5 A limit");
    assert_eq!(defaults.hysteresis, None);
}
