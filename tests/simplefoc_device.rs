//! The SimpleFOC adapter against the emulated SimpleFOC sketch behind a real
//! pseudo-terminal: the description read from the Commander, the
//! monitoring stream, a gain written and read back, enable and disable,
//! garbage in the stream, and the CLI (`params`, `record`) with
//! `--protocol simplefoc`.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::{DeviceProcess, connect_simplefoc, motiontune as run, stderr, wait_for};
use motiontune::link::{Link, PortTarget};
use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use motiontune::protocol::{ChannelRole, Command, DeviceInfo, Event};
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::simplefoc::SimpleFocFirmware;
use motiontune::sim::pty::PtyServer;

fn serve() -> PtyServer<SimpleFocFirmware> {
    PtyServer::start(SimpleFocFirmware::new(DriveConfig::default())).expect("pty available")
}

fn index_of(info: &DeviceInfo, name: &str) -> u8 {
    info.params
        .iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not described")) as u8
}

/// Samples (time, values) received for `seconds`.
fn collect(link: &Link, seconds: f64) -> Vec<(f64, Vec<f32>)> {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let mut rows = Vec::new();
    while Instant::now() < until {
        if let Some(batch) = wait_for(link, 2, |event| match event {
            Event::Samples { batch, .. } => Some(Some(batch)),
            _ => None,
        }) {
            rows.extend((0..batch.len()).map(|k| (batch.time_of(k), batch.sample(k).to_vec())));
        }
    }
    rows
}

#[test]
fn describes_the_motor_from_its_replies() {
    let server = serve();
    let (_link, info) = connect_simplefoc(server.path(), 0);
    assert_eq!(info.watchdog_ms, 0, "SimpleFOC has no watchdog");
    let names: Vec<_> = info.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["target", "Vq", "Vd", "Iq", "Id", "velocity", "angle"]
    );
    let roles: Vec<_> = info.channels.iter().map(|c| c.role).collect();
    assert_eq!(roles[0], ChannelRole::Reference);
    assert_eq!(roles[1], ChannelRole::Effort);
    assert_eq!(roles[6], ChannelRole::Feedback);
    let kp = &info.params[usize::from(index_of(&info, "angle.P"))];
    assert!(kp.flags.tuning_gain());
    assert_eq!(kp.value, 20.0);
    let vel_p = &info.params[usize::from(index_of(&info, "vel.P"))];
    assert_eq!(vel_p.value, 0.5);
    assert!(
        info.params[usize::from(index_of(&info, "target"))]
            .flags
            .setpoint()
    );
}

#[test]
fn streams_host_timed_samples_that_follow_the_target() {
    let server = serve();
    let (link, info) = connect_simplefoc(server.path(), 1);
    let rows = collect(&link, 1.0);
    // MMD80 at a 10 kHz loop (70 % of 115200 baud for 7 variables): 125
    // lines a second.
    assert!((90..=140).contains(&rows.len()), "{} samples", rows.len());
    let span = rows.last().expect("rows").0 - rows[0].0;
    let rate = (rows.len() - 1) as f64 / span;
    assert!((110.0..=140.0).contains(&rate), "{rate} samples/s");

    let target = index_of(&info, "target");
    link.send(Command::Set {
        index: target,
        value: 1.0,
    });
    let rows = collect(&link, 1.0);
    let last = &rows.last().expect("rows").1;
    assert_eq!(last[0], 1.0, "target channel");
    assert!((last[6] - 1.0).abs() < 0.05, "angle {}", last[6]);
    let health = link.health().snapshot();
    assert_eq!(health.framing_errors + health.message_errors, 0);
}

#[test]
fn a_gain_written_is_read_back_and_in_force() {
    let server = serve();
    let (link, info) = connect_simplefoc(server.path(), 0);
    let kp = index_of(&info, "angle.P");
    assert_eq!(common::set(&link, kp, 12.5), 12.5);
    assert_eq!(server.with_device(|d| d.motor.p_angle.p), 12.5);
    assert_eq!(common::get(&link, kp), 12.5);
    let vel_i = index_of(&info, "vel.I");
    assert_eq!(common::set(&link, vel_i, 0.125), 0.125);
}

#[test]
fn enable_and_disable_report_the_status() {
    let server = serve();
    let (link, _) = connect_simplefoc(server.path(), 0);
    // The description comes with the state the sketch left the motor in.
    let enabled = wait_for(&link, 2, |event| match event {
        Event::Status { flags, .. } => Some(flags.enabled()),
        _ => None,
    });
    assert!(enabled);
    for on in [false, true, false] {
        link.send(Command::Enable(on));
        let enabled = wait_for(&link, 2, |event| match event {
            Event::Status { flags, .. } => Some(flags.enabled()),
            _ => None,
        });
        assert_eq!(enabled, on);
        assert_eq!(server.with_device(|d| d.enabled()), on);
    }
}

#[test]
fn garbage_in_the_stream_is_counted_and_the_stream_goes_on() {
    use std::io::Write;

    // A second writer on the pty's device side cannot be had; garbage goes
    // through the emulator's output instead, as a noisy cable would.
    let server = serve();
    let (link, _) = connect_simplefoc(server.path(), 1);
    collect(&link, 0.2);
    let before = link.health().snapshot();
    server.with_device(|d| {
        let mut junk = Vec::new();
        let _ = junk.write_all(b"\xff\xfe\x01\n1.0\tnot a number\t2\n1\t2\t3\n");
        d.inject_output(&junk);
    });
    let rows = collect(&link, 0.5);
    let after = link.health().snapshot();
    assert_eq!(after.framing_errors, before.framing_errors + 1);
    assert_eq!(after.message_errors, before.message_errors + 2);
    assert!(rows.len() > 40, "{} samples after the garbage", rows.len());
    assert!(rows.iter().all(|(_, v)| v.len() == 7));
}

fn start_sim() -> DeviceProcess {
    DeviceProcess::start(common::BIN, &["sim", "--pty", "--firmware", "simplefoc"])
}

#[test]
fn the_cli_lists_and_writes_parameters() {
    let sim = start_sim();
    let output = run(&["params", "--port", &sim.path, "--protocol", "simplefoc"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for name in ["vel.P", "angle.P", "limit.voltage", "motion", "target"] {
        assert!(text.contains(name), "{name} missing in {text}");
    }
    let output = run(&[
        "params",
        "--port",
        &sim.path,
        "--protocol",
        "simplefoc",
        "--json",
        "angle.D=0.5",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let params: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let value = params
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == "angle.D")
        .and_then(|p| p["value"].as_f64());
    assert_eq!(value, Some(0.5));
}

#[test]
fn the_cli_records_rows() {
    let sim = start_sim();
    let (header, rows) = common::record_with(&sim.path, "1", &["--protocol", "simplefoc"]);
    assert_eq!(header.len(), 8, "{header:?}");
    assert!(rows.len() > 80, "{} rows", rows.len());
}

#[test]
fn the_cli_runs_a_step_test_on_the_target() {
    let device = start_sim();
    let output = run(&[
        "step",
        "--port",
        &device.path,
        "--protocol",
        "simplefoc",
        "--amplitude",
        "0.5",
        "--hold",
        "0.6",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let step = &document["steps"][0];
    let rise = step["rise_time"].as_f64().expect("rise time");
    assert!((0.005..0.5).contains(&rise), "{step}");
    let settled = step["final_value"].as_f64().expect("final") - step["to"].as_f64().expect("to");
    assert!(settled.abs() < 0.02, "{step}");
}

#[test]
fn the_app_plots_the_monitor_and_its_gain_slider_reaches_the_sketch() {
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;

    let server = serve();
    let target = PortTarget::parse(server.path(), 115_200).speaking(
        ProtocolChoice::Only(Protocol::SimpleFoc),
        AdapterSettings::default(),
    );
    let mut harness = common::app_on(target);
    common::wait_connected(&mut harness);
    common::wait_for_samples(&mut harness, 50);
    for gain in ["angle.P", "vel.P", "vel.I"] {
        harness.get_by_role_and_label(Role::Slider, gain);
    }
    harness
        .get_by_role_and_label(Role::Slider, "angle.P")
        .set_value_accesskit(35.0);
    harness.step();
    common::step_until(&mut harness, "the sketch to apply angle.P", |_| {
        server.with_device(|d| d.motor.p_angle.p) == 35.0
    });
}
