//! `motiontune bode` as a user runs it against a simulated drive behind a
//! pty: the bandwidth it reports on the linear drive matches the loop's
//! analytic transfer function within 1 %, the setpoint is put back and the
//! output turned off (also when the command is terminated mid-measurement
//! or the drive switches its output off),
//! the CSV holds every point under its header, and every mistake is one
//! clear line that changes nothing on the device.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{assert_one_line_error, motiontune as run, stderr};
use motiontune::protocol::Command as ProtocolCommand;
use motiontune::protocol::native::{encode_command, encode_frame};
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::{DriveConfig, SETPOINT_INDEX};
use motiontune::sim::pty::PtyServer;
use realfft::num_complex::Complex64;
use serde_json::Value;

/// The simulated drive's loop rate (the default device settings).
const LOOP_HZ: f64 = 10_000.0;
/// Where the setpoint stands before each measurement.
const SETPOINT: f64 = 0.25;

fn start_linear_sim() -> PtyServer {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::linear(),
        DeviceSettings::default(),
    ))
    .expect("pty available");
    server.with_device(|d| {
        d.drive
            .set_param(SETPOINT_INDEX, SETPOINT as f32)
            .expect("writable")
    });
    server
}

/// (setpoint, output on) on the device.
fn device_state(server: &PtyServer) -> (f64, bool) {
    server.with_device(|d| (d.drive.config.setpoint, d.drive.enabled()))
}

/// The linear simulated loop's reference → position response at `f`, as
/// derived in src/tuning/excitation.rs (`analytic_closed_loop`): the plant
/// Kt/(J·s² + b·s) through a one-tick hold, PI on the error, the derivative
/// on the measurement through its backward-Euler filter.
fn analytic_closed_loop(config: &DriveConfig, f: f64) -> Complex64 {
    let dt = 1.0 / LOOP_HZ;
    let p = &config.plant;
    let g = &config.gains;
    let z = Complex64::from_polar(1.0, std::f64::consts::TAU * f * dt);
    let one = Complex64::new(1.0, 0.0);
    let (k, a) = (p.torque_constant / p.inertia, p.viscous / p.inertia);
    let e = (-a * dt).exp();
    let plant =
        k * ((a * dt - 1.0 + e) * z + (1.0 - e - a * dt * e)) / (a * a * (z - 1.0) * (z - e));
    let z_inv = one / z;
    let on_error = g.kp + g.ki * dt / (one - z_inv);
    let on_measurement =
        on_error + g.kd * (one - z_inv) / (g.derivative_filter + dt - g.derivative_filter * z_inv);
    plant * on_error / (one + plant * on_measurement)
}

/// Where |T| first falls below −3 dB, by a log scan then bisection.
fn analytic_bandwidth(config: &DriveConfig) -> f64 {
    let below = |f: f64| 20.0 * analytic_closed_loop(config, f).norm().log10() < -3.0103;
    let mut low = 0.5;
    while !below(low * 1.05) {
        low *= 1.05;
        assert!(low < 1000.0, "no bandwidth below 1 kHz");
    }
    let mut high = low * 1.05;
    for _ in 0..60 {
        let mid = (low * high).sqrt();
        if below(mid) { high = mid } else { low = mid }
    }
    low
}

/// `bode` with the host's setpoint writes, which this file tests: the
/// simulated drive also excites itself (tests/bode_device_cli.rs).
fn bode(path: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["bode", "--port", path, "--host-writes"];
    all.extend_from_slice(args);
    run(&all)
}

const PLAN: [&str; 6] = ["--from", "2", "--to", "40", "--duration", "8"];

#[test]
fn bandwidth_matches_the_analytic_loop_and_the_setpoint_is_put_back() {
    let server = start_linear_sim();
    let mut args = PLAN.to_vec();
    args.extend(["--amplitude", "0.01", "--json"]);
    let output = bode(server.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value = serde_json::from_slice(&output.stdout).expect("json");

    let expected = analytic_bandwidth(&DriveConfig::linear());
    let measured = document["figures"]["bandwidth_hz"]
        .as_f64()
        .unwrap_or_else(|| panic!("no bandwidth in {}", document["figures"]));
    assert!(
        (measured / expected - 1.0).abs() < 0.01,
        "bandwidth {measured} Hz, analytic {expected} Hz"
    );
    // The effort channel gives the open loop and its margins.
    assert!(document["figures"]["phase_margin_deg"].as_f64().is_some());
    assert!(document["figures"]["crossover_hz"].as_f64().is_some());

    let points = document["points"].as_array().expect("points");
    assert!(points.len() > 20, "{} points", points.len());
    // The chirp reaches the top of its band as the record ends and the
    // loop's answer to the last cycles is cut off, so the top fifth is held
    // to a looser bound (docs/TUNING.md, "How close a short chirp is").
    // The phase must be in the analytic one's turn everywhere.
    let mut compared = 0;
    for point in points {
        let number = |key: &str| point[key].as_f64().unwrap_or_else(|| panic!("{key}"));
        let f = number("frequency_hz");
        assert!((2.0..=40.0).contains(&f), "{f} Hz outside the band");
        if number("coherence") < 0.9 {
            continue;
        }
        compared += 1;
        let t = analytic_closed_loop(&DriveConfig::linear(), f);
        let error_db = number("magnitude_db") - 20.0 * t.norm().log10();
        let error_deg = number("phase_deg") - t.arg().to_degrees();
        let (db, deg) = if f <= 32.0 { (0.5, 3.0) } else { (1.0, 10.0) };
        assert!(
            error_db.abs() < db && error_deg.abs() < deg,
            "{f} Hz: {error_db:.2} dB, {error_deg:.1}° off the analytic T"
        );
    }
    assert!(
        compared * 10 >= points.len() * 9,
        "{compared} of {} points coherent",
        points.len()
    );
    assert_eq!(document["coherent_points"], compared);
    assert_eq!(document["signal"], "chirp");
    assert_eq!(document["unit"], "rad");

    assert_eq!(
        device_state(&server),
        (SETPOINT, false),
        "setpoint back, output off"
    );
}

#[test]
fn csv_holds_every_point_under_its_header() {
    let server = start_linear_sim();
    let folder = tempfile::tempdir().expect("temp dir");
    let file = folder.path().join("bode.csv");
    let mut args = PLAN.to_vec();
    args.extend(["--signal", "prbs", "--amplitude", "0.005", "--csv"]);
    let file_arg = file.to_string_lossy().into_owned();
    args.push(&file_arg);
    let output = bode(server.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));

    // The summary names how many points there are; the file holds them.
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next().expect("summary");
    let count: usize = first
        .split("; ")
        .nth(1)
        .and_then(|part| part.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no point count in {first:?}"));
    assert!(first.contains("PRBS 2–40 Hz"), "{first}");
    assert!(text.contains("  Bandwidth (−3 dB)"), "{text}");

    let (header, rows) = common::read_recording(&file);
    assert_eq!(
        header,
        [
            "frequency_hz",
            "magnitude_db",
            "phase_deg",
            "coherence",
            "plant_db",
            "plant_phase_deg",
            "open_loop_db",
            "open_loop_phase_deg"
        ]
    );
    assert_eq!(rows.len(), count);
    assert!(
        rows.windows(2).all(|w| w[0][0] < w[1][0]),
        "sorted by frequency"
    );
    assert!(
        rows.iter()
            .all(|r| r.len() == 8 && (0.0..=1.0).contains(&r[3]))
    );
    assert_eq!(device_state(&server), (SETPOINT, false));
}

#[test]
fn a_terminated_measurement_puts_the_setpoint_back_and_turns_the_output_off() {
    let server = start_linear_sim();
    let child = Command::new(common::BIN)
        .args([
            "bode",
            "--port",
            server.path(),
            "--host-writes",
            "--duration",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bode");
    // Well into the excitation.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(device_state(&server).1, "the output is on while measuring");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("bode ends");
    assert_one_line_error(
        &output,
        "interrupted: setpoint restored to 0.25, output off",
    );
    assert_eq!(device_state(&server), (SETPOINT, false));
}

/// The drive switching its output off by itself (a panel's stop button)
/// ends the run as the command's own stop does: one
/// line saying so, the setpoint put back, exit 1.
#[test]
fn a_drive_that_turns_its_output_off_mid_measurement_gets_its_setpoint_back() {
    let server = start_linear_sim();
    let child = Command::new(common::BIN)
        .args([
            "bode",
            "--port",
            server.path(),
            "--host-writes",
            "--duration",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bode");
    // Well into the excitation.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(device_state(&server).1, "the output is on while measuring");
    // As if its panel sent ENABLE 0: the drive reports its output off.
    let mut stop = Vec::new();
    encode_frame(&encode_command(&ProtocolCommand::Enable(false)), &mut stop);
    server.with_device(|d| d.receive(&stop));
    let output = child.wait_with_output().expect("bode ends");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_one_line_error(
        &output,
        "the device stopped the measurement (it turned its output off): setpoint restored to 0.25, output off",
    );
    assert_eq!(device_state(&server), (SETPOINT, false));
}

#[test]
fn bad_values_change_nothing() {
    let server = start_linear_sim();
    let cases: [(&[&str], &str); 8] = [
        (&["--from", "10", "--to", "5"], "--from must be below --to"),
        (&["--amplitude", "-1"], "'-1' is not an amplitude"),
        (&["--to", "-3"], "'-3' is not a frequency in Hz"),
        (&["--signal", "square"], "square"),
        (
            &["--duration", "1000"],
            "the duration must be above 0 s and at most 600 s",
        ),
        (
            &["--amplitude", "500"],
            "an excursion of 500 about 0.25 leaves the setpoint's limits -100 … 100",
        ),
        // 1000 samples a second: Nyquist at 500 Hz.
        (
            &["--divider", "10", "--to", "600"],
            "--to 600 Hz is at or above the stream's Nyquist frequency, 500 Hz",
        ),
        // 7 samples a batch: about 143 batches, so writes, a second.
        (
            &["--divider", "10", "--to", "100"],
            "--to 100 Hz is above what the setpoint writes can excite: one goes per sample batch, 14",
        ),
    ];
    for (args, expected) in cases {
        assert_one_line_error(&bode(server.path(), args), expected);
        assert_eq!(device_state(&server), (SETPOINT, false), "{args:?}");
    }
}
