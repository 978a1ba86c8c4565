//! `motiontune step` as a user runs it against `motiontune sim --pty`: the
//! metrics of each step, gains given with `--set`, the setpoint put back
//! and the output off afterwards (also when the command is terminated
//! mid-test), and one clear line for every mistake.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{DeviceProcess, assert_one_line_error, motiontune as run, stderr};
use motiontune::protocol::Event;
use serde_json::Value;

fn start_sim() -> DeviceProcess {
    DeviceProcess::start(common::BIN, &["sim", "--pty"])
}

/// Runs `motiontune step --port PATH ARGS… --json` and returns the document.
fn step_json(path: &str, args: &[&str]) -> Value {
    let mut all = vec!["step", "--port", path];
    all.extend_from_slice(args);
    all.push("--json");
    let output = run(&all);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("json")
}

fn number(step: &Value, key: &str) -> f64 {
    step[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {step}"))
}

/// Every parameter's value in force, by `motiontune params --json`.
fn param(path: &str, name: &str) -> f64 {
    let output = run(&["params", "--port", path, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let params: Value = serde_json::from_slice(&output.stdout).expect("json");
    params
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_f64())
        .unwrap_or_else(|| panic!("{name} not listed"))
}

/// Whether the drive's output is on, from the status it sends when a
/// client starts its stream.
fn output_enabled(path: &str) -> bool {
    let (_link, _) = common::connect(path, 10);
    common::wait_for(&_link, 2, |event| match event {
        Event::Status { flags, .. } => Some(flags.enabled()),
        _ => None,
    })
}

#[test]
fn each_step_is_measured_and_the_setpoint_is_put_back() {
    let sim = start_sim();
    let set = run(&["params", "--port", &sim.path, "pos.setpoint=0.25"]);
    assert!(set.status.success(), "{}", stderr(&set));

    let document = step_json(
        &sim.path,
        &[
            "--amplitude",
            "0.5",
            "--hold",
            "0.4",
            "--direction",
            "up-down",
            "--repeats",
            "2",
        ],
    );
    let steps = document["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 4, "{document}");
    let mut last_time = 0.0;
    for (k, step) in steps.iter().enumerate() {
        let case = format!("step {}", k + 1);
        let (from, to) = if k % 2 == 0 {
            (0.25, 0.75)
        } else {
            (0.75, 0.25)
        };
        assert_eq!(
            (number(step, "from"), number(step, "to")),
            (from, to),
            "{case}"
        );
        assert!(number(step, "step_time") > last_time, "{case}");
        last_time = number(step, "step_time");
        // The sim's loop with its untuned gains: tens of milliseconds to
        // rise, then it rings; settled within the hold, or said not to be.
        let rise = number(step, "rise_time");
        assert!((0.01..0.2).contains(&rise), "{case}: rise {rise}");
        assert!(number(step, "overshoot") > 10.0, "{case}: {step}");
        match step["settling_time"].as_f64() {
            Some(settled) => assert!(settled < 0.4, "{case}: {step}"),
            None => assert_eq!(step["missing"]["settling_time"], "not settled"),
        }
        assert!((number(step, "final_value") - to).abs() < 0.05, "{case}");
        assert!(
            (number(step, "initial_value") - from).abs() < 0.05,
            "{case}"
        );
        // Effort is measured, limited by pos.output_limit (5 A).
        assert_eq!(number(step, "peak_effort").abs(), 5.0, "{case}");
        assert!(number(step, "time_in_saturation") > 0.0, "{case}");
    }
    assert_eq!(document["units"]["peak_effort"], "A");
    assert_eq!(document["device"], "motiontune simulated drive");

    assert_eq!(param(&sim.path, "pos.setpoint"), 0.25);
    assert!(
        !output_enabled(&sim.path),
        "the output is off after the test"
    );

    // The same test as text: a summary line and a block per step.
    let output = run(&[
        "step",
        "--port",
        &sim.path,
        "--amplitude",
        "0.5",
        "--hold",
        "0.3",
        "--direction",
        "down",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            format!(
                "motiontune simulated drive on {}: 1 down step of 0.5 rad, held 0.3 s",
                sim.path
            )
            .as_str()
        )
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.ends_with(": setpoint 0.25000 → -0.25000 rad")),
        "{text}"
    );
    assert!(text.contains("  Settling time "), "{text}");
}

#[test]
fn gains_given_with_set_change_the_response_and_stay_in_force() {
    let sim = start_sim();
    let plan = ["--amplitude", "0.5", "--hold", "0.5"];
    let default = step_json(&sim.path, &plan);
    let mut with_gains = plan.to_vec();
    with_gains.extend(["--set", "pos.kp=40", "pos.kd=2"]);
    let tuned = step_json(&sim.path, &with_gains);
    assert_eq!(tuned["set"]["pos.kp"], 40.0);
    assert_eq!(tuned["set"]["pos.kd"], 2.0);

    let [default, tuned] = [&default, &tuned].map(|d| &d["steps"][0]);
    // Damping: slower, with far less overshoot.
    assert!(
        number(tuned, "rise_time") > 1.2 * number(default, "rise_time"),
        "default {default}\ntuned {tuned}"
    );
    assert!(
        number(tuned, "overshoot") < 5.0 && number(default, "overshoot") > 20.0,
        "default {default}\ntuned {tuned}"
    );
    assert_eq!(param(&sim.path, "pos.kp"), 40.0);
}

#[test]
fn a_terminated_test_puts_the_setpoint_back_and_turns_the_output_off() {
    let sim = start_sim();
    let child = Command::new(common::BIN)
        .args([
            "step",
            "--port",
            &sim.path,
            "--amplitude",
            "1",
            "--hold",
            "10",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start step");
    // Well into the hold of the first step.
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("step ends");
    assert_one_line_error(&output, "interrupted: setpoint restored to 0, output off");
    assert_eq!(param(&sim.path, "pos.setpoint"), 0.0);
    assert!(!output_enabled(&sim.path));
}

#[test]
fn bad_values_change_nothing() {
    let sim = start_sim();
    let step = |args: &[&str]| {
        let mut all = vec!["step", "--port", &sim.path];
        all.extend_from_slice(args);
        run(&all)
    };
    let plan = ["--amplitude", "0.5", "--hold", "0.5"];
    let with = |extra: &[&'static str]| {
        let mut all = plan.to_vec();
        all.extend_from_slice(extra);
        all
    };
    let cases: [(Vec<&str>, &str); 7] = [
        (
            vec!["--amplitude", "0.5", "--hold", "-1"],
            "'-1' is not a duration in seconds",
        ),
        (
            vec!["--amplitude", "-0.5", "--hold", "1"],
            "is not an amplitude",
        ),
        (
            vec!["--amplitude", "0.5", "--hold", "100"],
            "the hold must be above 0 s and at most 60 s",
        ),
        (
            vec!["--amplitude", "500", "--hold", "0.5"],
            "a step to 500 rad leaves the setpoint's limits -100 … 100 rad",
        ),
        (with(&["--repeats", "0"]), "--repeats"),
        (with(&["--direction", "sideways"]), "sideways"),
        (
            with(&["--set", "pos.kp=7", "pos.nope=1"]),
            "unknown parameter 'pos.nope'",
        ),
    ];
    for (args, expected) in cases {
        assert_one_line_error(&step(&args), expected);
    }
    // A plan the device refuses writes none of the --set values either.
    let output = step(&["--amplitude", "500", "--hold", "0.5", "--set", "pos.kp=7"]);
    assert_one_line_error(&output, "leaves the setpoint's limits");
    assert_eq!(param(&sim.path, "pos.kp"), 20.0, "nothing was written");
    assert!(!output_enabled(&sim.path));
}
