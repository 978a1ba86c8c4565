//! The command line against the ODrive emulator where the real firmware
//! differs from a simple reading of its protocol (issue 16): closed loop
//! moves `input_pos` to where the axis is, the watchdog counts from the
//! moment it is enabled, replies come when they come, fw-v0.5.2 ends a
//! checksummed reply at its checksum, and a Bode default must respect the
//! axis's velocity limit. The emulator's own variables are watched while
//! each command runs.
#![cfg(unix)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use common::{DeviceProcess, assert_one_line_error, motiontune as run, stderr};
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::odrive::{OdriveSim, OdriveVersion, STATE_IDLE};
use motiontune::sim::pty::PtyServer;
use serde_json::Value;

/// One emulated drive at a time: each test times a real command against
/// an emulator on its own thread, and six of those at once on a two-core
/// machine starve the emulator's clock (polls late, samples counted lost).
fn one_drive_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn serve(version: OdriveVersion, set_up: impl FnOnce(&mut OdriveSim)) -> PtyServer<OdriveSim> {
    let mut odrive = OdriveSim::with_version(DriveConfig::default(), version);
    set_up(&mut odrive);
    PtyServer::start(odrive).expect("pty available")
}

/// The lowest and highest of `probe` while `command` runs.
struct Range {
    low: f64,
    high: f64,
}

/// Runs `command` while another thread reads `probe` from the emulator
/// every 2 ms; returns the command's result and the range seen.
fn watching<T>(
    server: &PtyServer<OdriveSim>,
    probe: fn(&OdriveSim) -> f64,
    command: impl FnOnce() -> T,
) -> (T, Range) {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut range = Range {
                low: f64::INFINITY,
                high: f64::NEG_INFINITY,
            };
            while !done.load(Ordering::Relaxed) {
                let value = server.with_device(|d| probe(d));
                range.low = range.low.min(value);
                range.high = range.high.max(value);
                std::thread::sleep(Duration::from_millis(2));
            }
            range
        });
        let result = command();
        done.store(true, Ordering::Relaxed);
        (result, watcher.join().expect("watcher"))
    })
}

fn step_json(path: &str, args: &[&str]) -> Value {
    let mut all = vec!["step", "--port", path, "--protocol", "odrive"];
    all.extend_from_slice(args);
    all.push("--json");
    let output = run(&all);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("json")
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {value}"))
}

#[test]
fn a_step_goes_from_where_the_axis_is_whatever_the_setpoint_read_before() {
    let _turn = one_drive_at_a_time();
    // A previous session left the rotor at 3.7 turns, input_pos at 0.
    let server = serve(OdriveVersion::LATEST, |d| d.place_rotor(3.7));
    let (document, range) = watching(&server, OdriveSim::pos_estimate, || {
        step_json(server.path(), &["--amplitude", "0.5", "--hold", "0.6"])
    });
    let step = &document["steps"][0];
    assert!((number(step, "from") - 3.7).abs() < 0.01, "{step}");
    assert!((number(step, "to") - 4.2).abs() < 0.01, "{step}");
    eprintln!("rotor between {} and {} turns", range.low, range.high);
    assert!(
        range.low > 3.6 && range.high < 4.4,
        "moved {}..{}",
        range.low,
        range.high
    );
    // The output off, the setpoint is as it was found.
    common::settled(&server);
    let (state, input_pos) = server.with_device(|d| (d.axes[0].current_state, d.axes[0].input_pos));
    assert_eq!((state, input_pos), (STATE_IDLE, 0.0));

    // A setpoint written while idle is overwritten by closed loop's start:
    // the step goes from the rotor's 0.7, not from 5.
    let server = serve(OdriveVersion::LATEST, |d| d.place_rotor(0.7));
    let (document, range) = watching(&server, OdriveSim::pos_estimate, || {
        step_json(
            server.path(),
            &[
                "--set",
                "controller.input_pos=5",
                "--amplitude",
                "0.2",
                "--hold",
                "0.6",
            ],
        )
    });
    let step = &document["steps"][0];
    assert!((number(step, "from") - 0.7).abs() < 0.01, "{step}");
    assert!(
        range.low > 0.6 && range.high < 1.0,
        "moved {}..{}",
        range.low,
        range.high
    );
    common::settled(&server);
    let input_pos = server.with_device(|d| d.axes[0].input_pos);
    assert_eq!(input_pos, 5.0, "--set stays in force");
}

#[test]
fn the_watchdog_set_with_the_step_does_not_trip_the_first_time() {
    let _turn = one_drive_at_a_time();
    let server = serve(OdriveVersion::LATEST, |_| {});
    let document = step_json(
        server.path(),
        &[
            "--set",
            "config.watchdog_timeout=1",
            "--set",
            "config.enable_watchdog=1",
            "--amplitude",
            "0.25",
            "--hold",
            "0.6",
        ],
    );
    assert_eq!(document["steps"].as_array().map(Vec::len), Some(1));
    assert_eq!(document["set"]["config.enable_watchdog"], 1.0);
}

#[test]
fn a_refused_enable_names_the_axis_error() {
    let _turn = one_drive_at_a_time();
    // Enabled with no timeout, the watchdog trips at every control loop.
    let server = serve(OdriveVersion::LATEST, |d| d.axes[0].enable_watchdog = true);
    let output = run(&[
        "step",
        "--port",
        server.path(),
        "--protocol",
        "odrive",
        "--amplitude",
        "0.25",
        "--hold",
        "0.6",
    ]);
    assert_one_line_error(
        &output,
        "the device did not enable its output: axis0 did not enter closed loop: its watchdog expired",
    );
    assert!(stderr(&output).contains("axis0.error = 0x800"));
}

#[test]
fn every_release_is_read_written_and_stepped_from_the_command_line() {
    let _turn = one_drive_at_a_time();
    for version in OdriveVersion::ALL {
        let name = version.to_string();
        let device = DeviceProcess::start(
            common::BIN,
            &[
                "sim",
                "--pty",
                "--firmware",
                "odrive",
                "--odrive-version",
                &name,
            ],
        );
        let output = run(&[
            "params",
            "--port",
            &device.path,
            "--protocol",
            "odrive",
            "controller.config.vel_integrator_gain=0.0123456789",
        ]);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        assert!(
            !stderr(&output).contains("clamped"),
            "{name}: {}",
            stderr(&output)
        );
        assert!(text.contains("0.012345679"), "{name}: {text}");
        let document = step_json(&device.path, &["--amplitude", "0.25", "--hold", "0.6"]);
        let step = &document["steps"][0];
        assert!(
            (number(step, "final_value") - number(step, "to")).abs() < 0.02,
            "{name}: {step}"
        );
    }
}

#[test]
fn bode_by_default_keeps_the_axis_within_its_velocity_limit() {
    let _turn = one_drive_at_a_time();
    let server = serve(OdriveVersion::LATEST, |_| {});
    let (output, speed) = watching(
        &server,
        |d| d.vel_estimate().abs(),
        || {
            run(&[
                "bode",
                "--port",
                server.path(),
                "--protocol",
                "odrive",
                "--duration",
                "4",
                "--json",
            ])
        },
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value = serde_json::from_slice(&output.stdout).expect("json");
    let (to_hz, amplitude) = (number(&document, "to_hz"), number(&document, "amplitude"));
    // vel_limit is 2 turn/s: half of it at the top of the band.
    let peak_speed = std::f64::consts::TAU * to_hz * amplitude;
    assert!(
        (peak_speed - 1.0).abs() < 1e-6,
        "{to_hz} Hz × {amplitude} turn"
    );
    eprintln!("the rotor reached {} turn/s", speed.high);
    assert!(speed.high < 2.0, "{} turn/s", speed.high);
    assert!(number(&document, "coherent_points") >= 8.0, "{document}");
    common::settled(&server);
    let (state, input_pos) = server.with_device(|d| (d.axes[0].current_state, d.axes[0].input_pos));
    assert_eq!((state, input_pos), (STATE_IDLE, 0.0));
}

#[test]
fn a_recording_spans_the_time_it_took_and_shows_a_stall_as_a_gap() {
    let _turn = one_drive_at_a_time();
    let server = serve(OdriveVersion::LATEST, |_| {});
    let proxy = common::Proxy::start_framed(server.path(), common::Framing::Lines);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("odrive.csv");
    let out = out.to_str().expect("utf-8 path");
    let started = std::time::Instant::now();
    let output = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Well into the recording, the replies are held back 300 ms.
            std::thread::sleep(Duration::from_millis(1200));
            proxy.set_stalled(true);
            std::thread::sleep(Duration::from_millis(300));
            proxy.set_stalled(false);
        });
        run(&[
            "record",
            "--port",
            &proxy.path,
            "--protocol",
            "odrive",
            "--seconds",
            "2",
            "--out",
            out,
        ])
    });
    let took = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "{}", stderr(&output));
    let (_, rows) = common::read_recording(std::path::Path::new(out));
    let times: Vec<f64> = rows.iter().map(|row| row[0]).collect();
    let span = times[times.len() - 1] - times[0];
    let widest = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    eprintln!(
        "{} rows over {span:.3} s in {took:.3} s; widest gap {widest:.3} s",
        rows.len()
    );
    // Two seconds of the device are two seconds of the host's clock, the
    // stall in them as the gap it was.
    assert!((span - 2.0).abs() < 0.15, "{span} s");
    assert!(took > span, "{took} s");
    assert!(widest > 0.25, "{widest} s");
    assert!(
        stderr(&output).contains("samples lost"),
        "{}",
        stderr(&output)
    );
}
