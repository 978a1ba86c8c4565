//! An independent device: `tests/python_device/device.py` was written from
//! `docs/PROTOCOL.md` alone (standard-library Python on a pseudo-terminal),
//! without reading this crate. The app must stream from it, show and write
//! its parameters, and the document's worked examples must match it.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};

use common::{DeviceProcess, motiontune as run};

const DEVICE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python_device/device.py");

/// The Python device in another process (.ci/run installs python3).
fn start_device() -> DeviceProcess {
    DeviceProcess::start("python3", &[DEVICE])
}

fn record(path: &str, seconds: &str, divider: &str) -> Vec<Vec<f64>> {
    let (header, rows) = common::record(path, seconds, divider);
    assert_eq!(
        header,
        ["time_s", "reference [V]", "response [V]", "counter"]
    );
    rows
}

#[test]
fn document_examples_match_the_independent_implementation() {
    let status = Command::new("python3")
        .args([DEVICE, "--selftest"])
        .stdout(Stdio::null())
        .status()
        .expect("python3");
    assert!(status.success());
}

#[test]
fn app_records_the_independent_device_without_a_gap() {
    let device = start_device();
    // A divider-10 stream first: the next recording must not inherit it.
    let coarse = record(&device.path, "1", "10");
    assert_eq!(coarse.len(), 100);
    let rows = record(&device.path, "2", "1");
    assert_eq!(rows.len(), 2000, "2 s at 1 kHz");
    let times: Vec<f64> = rows.iter().map(|row| row[0]).collect();
    common::assert_evenly_spaced(&times, 1e-3);
    for pair in rows.windows(2) {
        assert_eq!(
            pair[1][3] - pair[0][3],
            1.0,
            "counter must rise by one tick"
        );
    }
}

#[test]
fn app_writes_the_independent_devices_parameters() {
    let device = start_device();
    let output = run(&[
        "params",
        "--port",
        &device.path,
        "amplitude=20",
        "tau=0.1",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("amplitude: asked 20, device applied 10")
    );
    let params: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let value = |name: &str| {
        params
            .as_array()
            .expect("array")
            .iter()
            .find(|p| p["name"] == name)
            .expect("listed")["value"]
            .as_f64()
            .expect("number")
    };
    assert_eq!(value("amplitude"), 10.0);
    assert!((value("tau") - 0.1).abs() < 1e-6);

    let output = run(&["params", "--port", &device.path, "serial=1"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("read-only"));
}

#[test]
fn gui_writes_the_independent_devices_parameters() {
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;
    use motiontune::app::WriteState;

    let device = start_device();
    let mut harness = common::app_on_port(&device.path);
    common::wait_connected(&mut harness);
    harness
        .get_by_role_and_label(Role::Slider, "amplitude")
        .set_value_accesskit(4.0);
    harness.step();
    common::step_until(&mut harness, "the device's confirmation", |h| {
        h.state().session().is_some_and(|s| {
            s.params.iter().any(|p| {
                p.info.name == "amplitude"
                    && p.info.value == 4.0
                    && p.write == WriteState::Confirmed
            })
        })
    });
    // The read-only serial number is shown, not offered as a slider.
    assert!(
        harness
            .query_by_role_and_label(Role::Slider, "serial")
            .is_none()
    );
    harness.get_by_label("4242");
}

/// Kinds as section 3 of PROTOCOL.md declares them, read from a device
/// written from the document alone: a named choice that is a mode, and an
/// integer the device rounds.
#[test]
fn the_independent_devices_kinds_and_modes_reach_the_app() {
    use motiontune::protocol::{ParamKind, ParamRole};

    let device = start_device();
    let (link, info) = common::connect(&device.path, 0);
    let waveform = info
        .params
        .iter()
        .position(|p| p.name == "waveform")
        .expect("waveform declared");
    let period = info
        .params
        .iter()
        .position(|p| p.name == "period")
        .expect("period declared");
    let names = ["square", "sine", "triangle"].map(String::from).to_vec();
    assert_eq!(info.params[waveform].kind, ParamKind::Choice(names));
    assert_eq!(info.params[waveform].role(), ParamRole::Mode);
    assert!(!info.params[waveform].is_tunable());
    assert_eq!(info.params[period].kind, ParamKind::Integer);
    assert_eq!(info.params[period].role(), ParamRole::Setting);
    assert_eq!(
        info.params[waveform].display(1.0),
        "sine (1)",
        "a choice reads by its name"
    );
    assert_eq!(common::set(&link, period as u8, 1234.6), 1235.0);
    assert_eq!(common::set(&link, waveform as u8, 2.0), 2.0);
}
