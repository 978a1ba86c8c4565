//! `motiontune bode` on a drive that excites itself (docs/PROTOCOL.md 4.6):
//! on the built-in simulated drive it injects on the output and measures
//! the open-loop plant through its mechanical resonance, far above what
//! setpoint writes reach; terminated mid-run, the device's excitation is
//! stopped, its settings put back and the output turned off.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{assert_one_line_error, motiontune as run, stderr};
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;
use serde_json::Value;

/// Where setpoint writes stop: one a batch, at most 500 a second, five a
/// period (`motiontune bode --host-writes` refuses above it).
const HOST_WRITES_TOP_HZ: f64 = 100.0;

#[test]
fn the_built_in_drive_measures_its_plant_through_the_resonance() {
    let output = run(&[
        "bode", "--port", "sim", "--from", "5", "--to", "400", "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(document["excited_by"], "device");
    assert_eq!(document["injected_at"], "effort");
    assert_eq!(document["unit"], "A");

    let resonance = DriveConfig::default().plant.resonance_hz();
    let peak = document["plant_peak_hz"]
        .as_f64()
        .unwrap_or_else(|| panic!("no plant peak: {}", document["figures"]));
    assert!(
        (peak / resonance - 1.0).abs() < 0.05,
        "plant peaks at {peak} Hz, plant.resonance is {resonance} Hz"
    );
    // Far above what the host's writes reach: through the resonance to
    // 300 Hz and more, which the drive's 16-bit encoder resolves (with
    // 4096 counts it stopped at ~240 Hz; docs/TUNING.md).
    let top = document["coherent_max_hz"]
        .as_f64()
        .expect("coherent points");
    assert!(top >= 3.0 * HOST_WRITES_TOP_HZ, "coherent only to {top} Hz");

    // Every point has the plant, and the coherent ones the JSON counts.
    let points = document["points"].as_array().expect("points");
    assert!(points.iter().all(|p| p["plant_db"].is_f64()));
    let coherent = points
        .iter()
        .filter(|p| p["coherence"].as_f64().is_some_and(|c| c >= 0.9))
        .count();
    assert_eq!(document["coherent_points"], coherent);
}

/// The device's excitation settings as the drive holds them.
fn excite_settings(server: &PtyServer) -> Vec<(String, f32)> {
    server.with_device(|d| {
        d.drive
            .params()
            .into_iter()
            .filter(|p| p.name.starts_with("excite."))
            .map(|p| (p.name, p.value))
            .collect()
    })
}

#[test]
fn a_terminated_run_stops_the_device_s_excitation_and_restores_it() {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available");
    let before = excite_settings(&server);
    let child = Command::new(common::BIN)
        .args(["bode", "--port", server.path(), "--duration", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bode");
    // Wait (in the device's own state, not a fixed time) for the run.
    let mut running = false;
    for _ in 0..200 {
        if server.with_device(|d| d.drive.excite_active()) {
            running = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(running, "the device never started its excitation");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("bode ends");
    assert_one_line_error(
        &output,
        "interrupted: excitation stopped and its settings restored, output off",
    );
    assert!(!server.with_device(|d| d.drive.excite_active()));
    assert!(!server.with_device(|d| d.enabled()));
    assert_eq!(excite_settings(&server), before);
}

/// `--host-writes` keeps the host's excitation and its limit.
#[test]
fn host_writes_keep_the_write_rate_limit() {
    let output = run(&["bode", "--port", "sim", "--host-writes", "--to", "400"]);
    assert_one_line_error(&output, "is above what the setpoint writes can excite");
}
