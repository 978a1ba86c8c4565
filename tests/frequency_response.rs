//! The frequency response tab in the real `App`, driven headless against
//! the simulated drive behind a pty: a band above what the tab's writes can
//! excite is refused, a short chirp is measured, its figures appear in the
//! table, and the setpoint is back where it was. On the built-in drive the
//! tab measures as high as `motiontune bode` does.
#![cfg(unix)]

mod common;

use common::{app_with, serial, step_until, wait_connected};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::{App, AppOptions};
use motiontune::device::session::ProcedureKind;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;

/// The tests here take turns: each runs a drive simulated in real time,
/// and a measurement against the command line's must not share two cores
/// with the others' drives.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn a_short_host_written_stepped_sine_is_measured_and_its_figures_shown() {
    let _turn = take_turn();
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
    step_until(&mut harness, "the stream's batch rate", |h| {
        h.state()
            .session()
            .is_some_and(|s| s.setpoint_write_hz().is_some())
    });
    // The simulated drive excites a chirp or a PRBS itself; a stepped sine
    // is always written by the host.
    harness.get_by_label("Excitation").click();
    harness.run_steps(2);
    harness.get_by_label("stepped sine").click();
    harness.run_steps(2);
    for (label, value) in [
        ("Lowest frequency", 8.0),
        ("Highest frequency", 12.0),
        ("Excitation amplitude", 0.02),
        ("Duration", 3.0),
    ] {
        harness.get_by_label(label).set_value_accesskit(value);
        harness.step();
    }
    // The tab writes once a sample batch (about 143 a second at divider
    // 10): above a fifth of that it refuses.
    harness
        .get_by_label("Highest frequency")
        .set_value_accesskit(50.0);
    harness.step();
    harness.get_by_label("Run frequency response").click();
    harness.run_steps(2);
    harness.get_by_label_contains("above what the setpoint writes can excite");
    assert!(harness.state().session().is_some_and(|s| {
        s.procedures
            .last(ProcedureKind::FrequencyResponse)
            .is_none()
    }));
    harness
        .get_by_label("Highest frequency")
        .set_value_accesskit(12.0);
    harness.step();
    harness.get_by_label("Run frequency response").click();
    harness.step();
    step_until(&mut harness, "the measurement to end", |h| {
        h.state().session().is_some_and(|s| {
            s.procedures
                .last(ProcedureKind::FrequencyResponse)
                .is_some_and(|r| r.is_done())
        })
    });
    harness.run_steps(2);
    harness.get_by_label_contains("Done; setpoint back at 0");
    // The measurement is listed with its figures and drawn in both plots.
    let named = harness.query_all_by_label("1 stepped sine").count();
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
    let _turn = take_turn();
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

/// How many points are coherent, and the highest frequency of one.
fn coherent(points: impl Iterator<Item = (f64, f64)>) -> (usize, f64) {
    points
        .filter(|(_, coherence)| *coherence >= motiontune::analysis::COHERENT)
        .fold((0, 0.0), |(count, highest), (hz, _)| {
            (count + 1, f64::max(highest, hz))
        })
}

/// The tab starts its measurement as `motiontune bode` does, on the link's
/// runner: on the built-in drive, which excites itself (a PRBS added to its
/// output), the tab's defaults are the command line's, 5 … 500 Hz, and it
/// measures as well, far past the 100 Hz the host's writes reach (and the
/// 12 Hz the tab reached writing once a frame). Which points are coherent
/// near the top is chance (the encoder's noise, and the load of the
/// machine, as the drive is simulated in real time): the tab must find
/// about as many coherent points as the command line did just before it,
/// some of them above 100 Hz.
#[test]
fn the_tab_reaches_what_motiontune_bode_reaches_on_the_same_drive() {
    let _turn = take_turn();
    use egui_kittest::kittest::NodeT;
    use std::time::{Duration, Instant};

    let output = common::motiontune(&["bode", "--port", "sim", "--json"]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let cli_to = json["to_hz"].as_f64().expect("to_hz");
    let (cli_count, cli_highest) =
        coherent(json["points"].as_array().expect("points").iter().map(|p| {
            (
                p["frequency_hz"].as_f64().unwrap_or(0.0),
                p["coherence"].as_f64().unwrap_or(0.0),
            )
        }));

    let mut harness = app_with(AppOptions::default());
    wait_connected(&mut harness);
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the app to see the output on", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.get_by_label("Frequency response").click();
    harness.step();
    let highest_field = |h: &Harness<'static, App>| {
        h.get_by_label("Highest frequency")
            .accesskit_node()
            .numeric_value()
            .unwrap_or(0.0)
    };
    step_until(&mut harness, "the stream's batch rate", |h| {
        h.state()
            .session()
            .is_some_and(|s| s.setpoint_write_hz().is_some())
    });
    harness.step();
    let gui_to = highest_field(&harness);
    assert!(
        (gui_to / cli_to - 1.0).abs() < 0.01,
        "the tab plans {gui_to} Hz, the command line {cli_to} Hz"
    );
    harness.get_by_label("Run frequency response").click();
    harness.step();
    let deadline = Instant::now() + Duration::from_secs(120);
    let ended = |h: &Harness<'static, App>| {
        h.state().session().is_some_and(|s| {
            s.procedures
                .last(ProcedureKind::FrequencyResponse)
                .is_some_and(|r| r.is_done())
        })
    };
    while !ended(&harness) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the measurement: {:?}",
            harness
                .state()
                .session()
                .map(|s| s.procedures.running().cloned())
        );
        // Frames at the app's pace while a procedure runs (16 ms).
        std::thread::sleep(Duration::from_millis(16));
        harness.step();
    }
    harness.step();
    let ending = harness.state().session().and_then(|s| {
        s.procedures
            .last(ProcedureKind::FrequencyResponse)
            .and_then(|r| r.ended.clone())
    });
    assert!(
        !harness.state().frequency_responses().is_empty(),
        "no measurement: {ending:?}"
    );
    let measured = &harness.state().frequency_responses()[0];
    let (gui_count, gui_highest) = coherent(
        measured
            .points
            .iter()
            .map(|p| (p.frequency_hz, p.coherence)),
    );
    eprintln!(
        "{gui_count} points coherent, to {gui_highest:.1} Hz, in the tab; \
         {cli_count}, to {cli_highest:.1} Hz, from motiontune bode"
    );
    assert!(
        gui_count as f64 >= 0.8 * cli_count as f64 && gui_highest > 100.0,
        "the tab measured {gui_count} coherent points, to {gui_highest} Hz; \
         motiontune bode {cli_count}, to {cli_highest} Hz"
    );
}
