//! The frequency response tab in the real `App`, driven headless against
//! the simulated drive behind a pty: a band above what the tab's writes can
//! excite is refused, a short chirp is measured, its figures appear in the
//! table, and the setpoint is back where it was.
#![cfg(unix)]

mod common;

use common::{app_with, serial, step_until, wait_connected};
use egui_kittest::kittest::Queryable;
use motiontune::app::AppOptions;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;

#[test]
fn a_short_chirp_is_measured_and_its_figures_shown() {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available");
    let folder = tempfile::tempdir().expect("temp dir");
    let mut harness = app_with(AppOptions {
        target: serial(server.path()),
        stream_divider: 10,
        runs_file: Some(folder.path().join("runs.json")),
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the app to see the output on", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });

    harness.get_by_label("Frequency response").click();
    harness.step();
    for (label, value) in [
        ("Lowest frequency", 2.0),
        ("Highest frequency", 12.0),
        ("Excitation amplitude", 0.02),
        ("Duration", 3.0),
    ] {
        harness.get_by_label(label).set_value_accesskit(value);
        harness.step();
    }
    // The tab writes once a frame: above a fifth of that it refuses.
    harness
        .get_by_label("Highest frequency")
        .set_value_accesskit(50.0);
    harness.step();
    harness.get_by_label("Run frequency response").click();
    harness.run_steps(2);
    harness.get_by_label_contains("above what the setpoint writes can excite");
    assert!(
        harness
            .state()
            .session()
            .is_some_and(|s| s.excitation.is_none())
    );
    harness
        .get_by_label("Highest frequency")
        .set_value_accesskit(12.0);
    harness.step();
    harness.get_by_label("Run frequency response").click();
    harness.step();
    step_until(&mut harness, "the measurement to end", |h| {
        h.state()
            .session()
            .is_some_and(|s| s.excitation.as_ref().is_some_and(|e| e.is_done()))
    });
    harness.run_steps(2);
    harness.get_by_label_contains("Done; setpoint back at 0");
    // The measurement is listed with its figures and drawn in both plots.
    let named = harness.query_all_by_label("1 chirp").count();
    assert!(named >= 2, "table row and plot legends: {named}");
    harness.get_by_label("Bandwidth");
    harness.get_by_label("Phase margin");
    step_until(&mut harness, "the setpoint restored on the device", |_| {
        server.with_device(|d| d.drive.config.setpoint) == 0.0
    });
    // Excitation writes leave no write marks on the scope; the restoring
    // write does.
    let marks = harness
        .state()
        .session()
        .map_or(0, |s| s.writes.iter().filter(|w| w.setpoint).count());
    assert!(marks <= 1, "{marks} setpoint marks");
}

/// On an ODrive, whose axis has a velocity limit, the tab's default
/// amplitude keeps the excitation's fastest sine within half of it, as
/// `motiontune bode` does: the default of a drive with no such limit (a
/// share of the setpoint's range) would run an emulated ODrive at 2 turns
/// and 10 Hz, far past `vel_limit`.
#[test]
fn the_default_amplitude_keeps_an_odrive_within_its_velocity_limit() {
    use egui_kittest::kittest::NodeT;
    use motiontune::link::PortTarget;
    use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
    use motiontune::sim::firmware::odrive::OdriveSim;

    let server = PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty available");
    let mut harness = app_with(AppOptions {
        target: PortTarget::parse(server.path(), 115_200).speaking(
            ProtocolChoice::Only(Protocol::Odrive),
            AdapterSettings::default(),
        ),
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    harness.get_by_label("Frequency response").click();
    harness.run_steps(2);
    let amplitude = harness
        .get_by_label("Excitation amplitude")
        .accesskit_node()
        .numeric_value()
        .expect("a number");
    let highest = harness
        .get_by_label("Highest frequency")
        .accesskit_node()
        .numeric_value()
        .expect("a number");
    let vel_limit = harness
        .state()
        .session()
        .and_then(|s| {
            s.params
                .iter()
                .find(|p| p.info.name == "controller.config.vel_limit")
        })
        .map(|p| f64::from(p.info.value))
        .expect("vel_limit read");
    let peak_speed = std::f64::consts::TAU * highest * amplitude;
    assert!(
        peak_speed <= 0.5 * vel_limit * 1.001,
        "{amplitude} turn at {highest} Hz is {peak_speed} turn/s against vel_limit {vel_limit}"
    );
    assert!(amplitude > 0.0);
}
