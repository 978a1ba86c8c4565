//! `motiontune autotune --method relay` as a user runs it against
//! `motiontune sim --pty`: the device's relay mode runs, Ku and Tu come
//! out near the loop's true ultimate point, the relay is off and the
//! setpoint back afterwards, and the gains change only with `--write`.
#![cfg(unix)]

mod common;

use common::{DeviceProcess, motiontune as run, stderr};
use serde_json::Value;

const GAINS: [&str; 3] = ["pos.kp", "pos.ki", "pos.kd"];

fn params(path: &str, set: &[&str]) -> Value {
    let mut args = vec!["params", "--port", path, "--json"];
    args.extend_from_slice(set);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("json")
}

fn param(params: &Value, name: &str) -> f64 {
    params
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_f64())
        .unwrap_or_else(|| panic!("{name} not listed"))
}

fn autotune(path: &str, rule: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "autotune",
        "--port",
        path,
        "--method",
        "relay",
        "--rule",
        rule,
        "--relay-amplitude",
        "1",
        "--hysteresis",
        "0",
        "--json",
    ];
    args.extend_from_slice(extra);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("json")
}

#[test]
fn relay_autotune_over_a_pty_measures_ku_and_writes_only_with_write() {
    let sim = DeviceProcess::start(common::BIN, &["sim", "--pty"]);
    // The linear drive (docs/TUNING.md says why): no friction, load,
    // quantization or noise. Its true ultimate point is Ku ≈ 400 A/rad,
    // Tu ≈ 19.9 ms (bisected in src/tuning/relay/tests.rs).
    let before = params(
        &sim.path,
        &[
            "plant.coulomb=0",
            "plant.load_inertia=0",
            "encoder.cpr=0",
            "encoder.noise=0",
        ],
    );

    let proposal = autotune(&sim.path, "zn-pid", &[]);
    assert_eq!(proposal["method"], "relay");
    assert_eq!(proposal["written"], false);
    let ku = proposal["ultimate_gain"].as_f64().expect("Ku");
    let tu = proposal["ultimate_period_s"].as_f64().expect("Tu");
    assert!((ku / 400.0 - 1.0).abs() < 0.2, "Ku {ku}");
    assert!((tu / 0.0199 - 1.0).abs() < 0.2, "Tu {tu}");
    assert!(proposal["relay"]["period_spread"].as_f64().expect("spread") < 0.05);
    assert_eq!(proposal["rules"].as_array().expect("rules").len(), 9);
    let kp = proposal["proposed"]["pos.kp"].as_f64().expect("kp");
    assert!(
        (kp - 0.6 * ku).abs() < 1e-9 * ku,
        "ZN PID Kp = 0.6 Ku: {kp}"
    );

    let after = params(&sim.path, &[]);
    assert_eq!(param(&after, "relay.active"), 0.0);
    assert_eq!(
        param(&after, "pos.setpoint"),
        param(&before, "pos.setpoint")
    );
    for name in GAINS {
        assert_eq!(param(&after, name), param(&before, name), "{name} changed");
    }

    // Every gain moves by more than the write guard's factor of 3.
    let written = autotune(
        &sim.path,
        "no-overshoot",
        &["--write", "--allow-large-change"],
    );
    assert_eq!(written["written"], true);
    let after = params(&sim.path, &[]);
    assert_eq!(param(&after, "relay.active"), 0.0);
    for name in GAINS {
        // The sim clamps pos.ki to its 10 000 A/(rad·s) limit.
        let proposed = written["proposed"][name]
            .as_f64()
            .expect("proposed")
            .min(10_000.0);
        let in_force = param(&after, name);
        assert!(
            (in_force - proposed).abs() <= 1e-5 * proposed.abs().max(1.0),
            "{name}: device has {in_force}, proposed {proposed}"
        );
    }
}

#[test]
fn a_relay_that_leaves_its_travel_is_stopped_in_one_line_and_leaves_nothing_on() {
    let sim = DeviceProcess::start(common::BIN, &["sim", "--pty"]);
    let before = params(
        &sim.path,
        &[
            "plant.coulomb=0",
            "plant.load_inertia=0",
            "encoder.cpr=0",
            "encoder.noise=0",
        ],
    );
    // 2 A makes a limit cycle of about 7 mrad: more than the travel.
    let output = run(&[
        "autotune",
        "--port",
        &sim.path,
        "--method",
        "relay",
        "--rule",
        "zn-pid",
        "--relay-amplitude",
        "2",
        "--hysteresis",
        "0",
        "--travel",
        "0.001",
    ]);
    common::assert_one_line_error(&output, "relay off and setpoint restored");
    let after = params(&sim.path, &[]);
    assert_eq!(param(&after, "relay.active"), 0.0);
    for name in GAINS.iter().chain(&["pos.setpoint"]) {
        assert_eq!(param(&after, name), param(&before, name), "{name} changed");
    }
}
