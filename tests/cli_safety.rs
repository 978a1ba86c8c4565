//! The command line's writes pass the one write guard, and its output ends
//! quietly when the reader goes away: `autotune --write` refuses a proposal
//! beyond the per-write limits in one line and writes it only with
//! `--allow-large-change`; `params` refuses a read-only parameter, a switch
//! given 2 and a choice out of range before anything is written, and shows
//! a choice by name and a switch as on/off; `params`, `ports` and `analyze`
//! with their stdout closed (`| head -1`) exit 0 with nothing on stderr.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};

use common::{assert_one_line_error, motiontune as run, stderr};
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::odrive::OdriveSim;
use motiontune::sim::firmware::simplefoc::SimpleFocFirmware;
use motiontune::sim::pty::PtyServer;
use motiontune::sim::{SimDevice, device::DeviceSettings};
use serde_json::Value;

fn native() -> PtyServer<SimDevice> {
    PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available")
}

fn gains(server: &PtyServer<SimDevice>) -> (f64, f64, f64) {
    server.with_device(|d| {
        let g = &d.drive.config.gains;
        (g.kp, g.ki, g.kd)
    })
}

/// Ziegler–Nichols PID on the sim proposes ki in the tens of thousands
/// from 20: far more than a factor of 3 in one write.
#[test]
fn autotune_write_refuses_a_large_change_unless_allowed() {
    let server = native();
    let path = server.path().to_owned();
    let autotune = |extra: &[&str]| {
        let mut args = vec![
            "autotune",
            "--port",
            &path,
            "--protocol",
            "native",
            "--method",
            "relay",
            "--rule",
            "zn-pid",
            "--relay-amplitude",
            "1",
            "--write",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let before = gains(&server);
    let refused = autotune(&[]);
    assert_one_line_error(&refused, "gains not written: ");
    let line = stderr(&refused);
    assert!(
        line.contains("pos.ki 20 -> ") && line.contains("(more than a factor of 3 in one write)"),
        "{line}"
    );
    assert!(line.contains("--allow-large-change"), "{line}");
    assert_eq!(gains(&server), before, "nothing written");

    let written = autotune(&["--allow-large-change", "--json"]);
    assert!(written.status.success(), "{}", stderr(&written));
    let document: Value = serde_json::from_slice(&written.stdout).expect("json");
    assert_eq!(document["written"], true);
    let (kp, ki, _) = gains(&server);
    let proposed = |name: &str| document["proposed"][name].as_f64().expect("proposed");
    assert!((kp - proposed("pos.kp")).abs() < 1e-3 * kp, "kp {kp}");
    // The sim clamps ki to its 10 000 limit.
    assert_eq!(ki, proposed("pos.ki").min(10_000.0));
}

#[test]
fn params_refuses_what_a_parameter_cannot_take_before_writing_anything() {
    let server = native();
    let path = server.path().to_owned();
    let before = gains(&server);
    for (write, expected) in [
        (
            "plant.resonance=3",
            "plant.resonance = 3: not written: it is read-only",
        ),
        (
            "relay.active=2",
            "relay.active = 2: a switch is 0 (off) or 1 (on)",
        ),
    ] {
        // The good write comes first: nothing at all may be written.
        let output = run(&["params", "--port", &path, "pos.kp=30", write]);
        assert_one_line_error(&output, expected);
        assert!(stderr(&output).contains("nothing was written"));
        assert_eq!(gains(&server), before, "{write}");
    }

    let odrive = PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty");
    let output = run(&[
        "params",
        "--port",
        odrive.path(),
        "--protocol",
        "odrive",
        "controller.config.control_mode=7",
    ]);
    assert_one_line_error(&output, "not one of its choices (0 to 3)");
    assert_eq!(odrive.with_device(|d| d.axes[0].control_mode), 3);
}

#[test]
fn params_names_choices_and_switches_and_keeps_the_number() {
    let sketch = PtyServer::start(SimpleFocFirmware::new(DriveConfig::default())).expect("pty");
    let output = run(&["params", "--port", sketch.path(), "--protocol", "simplefoc"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let motion = text
        .lines()
        .find(|l| l.starts_with("motion "))
        .expect("motion row");
    assert!(motion.contains("angle (2)"), "{motion}");

    let server = native();
    let output = run(&["params", "--port", server.path()]);
    let text = String::from_utf8_lossy(&output.stdout);
    let relay = text
        .lines()
        .find(|l| l.starts_with("relay.active "))
        .expect("relay.active row");
    assert!(relay.contains("off (0)"), "{relay}");

    let output = run(&[
        "params",
        "--port",
        sketch.path(),
        "--protocol",
        "simplefoc",
        "--json",
    ]);
    let params: Value = serde_json::from_slice(&output.stdout).expect("json");
    let motion = params
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == "motion")
        .expect("motion");
    assert_eq!(motion["kind"], "choice");
    assert_eq!(motion["value"], 2.0);
    assert_eq!(motion["choices"][2], "angle");
    assert_eq!(params[0]["kind"], "real");
}

/// Runs `motiontune ARGS…` with its stdout a pipe whose reader is already
/// gone, as after `| head -1` has read its line.
fn with_stdout_closed(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(common::BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start motiontune");
    drop(child.stdout.take());
    child.wait_with_output().expect("motiontune ends")
}

#[test]
fn a_reader_that_went_away_ends_the_command_quietly() {
    let server = native();
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("steps.csv");
    // A first-order response to a step at 0.1 s: one step to measure.
    let mut text = String::from("time_s,setpoint [rad],position [rad]\n");
    for k in 0..1000 {
        let t = f64::from(k) * 1e-3;
        let (setpoint, position) = if t < 0.1 {
            (0.0, 0.0)
        } else {
            (1.0, 1.0 - (-(t - 0.1) / 0.02).exp())
        };
        text += &format!("{t},{setpoint},{position}\n");
    }
    std::fs::write(&csv, text).expect("write csv");
    let runs: [Vec<&str>; 4] = [
        vec!["params", "--port", server.path()],
        vec!["params", "--port", server.path(), "--json"],
        vec!["ports"],
        vec!["analyze", csv.to_str().expect("utf-8")],
    ];
    for args in runs {
        let output = with_stdout_closed(&args);
        assert_eq!(
            (output.status.code(), stderr(&output)),
            (Some(0), String::new()),
            "{args:?}"
        );
    }
    // And through a shell, as a user types it.
    let script = format!(
        "set -o pipefail; '{}' params --port '{}' | head -1",
        common::BIN,
        server.path()
    );
    let output = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
}
