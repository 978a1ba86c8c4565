//! The ODrive adapter against the ODrive 0.5.x emulator on a real
//! pseudo-terminal, through the app's link and the `motiontune` binary:
//! description, polled stream, gains written and read back, enable and
//! disable, garbage and corrupted replies, the watchdog fed by the link's
//! heartbeat, and `params`, `record` and `step` from the command line.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::{DeviceProcess, motiontune as run, stderr, wait_for};
use motiontune::link::{Link, LinkOptions, PortTarget};
use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use motiontune::protocol::{ChannelRole, Command, DeviceInfo, Event};
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::odrive::{OdriveSim, STATE_CLOSED_LOOP, STATE_IDLE};
use motiontune::sim::pty::PtyServer;

const POS_GAIN: u8 = 0;
const VEL_GAIN: u8 = 1;
const INPUT_POS: u8 = 5;

fn serve() -> PtyServer<OdriveSim> {
    PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty available")
}

fn target(path: &str) -> PortTarget {
    PortTarget::parse(path, 115_200).speaking(
        ProtocolChoice::Only(Protocol::Odrive),
        AdapterSettings::default(),
    )
}

fn connect(path: &str, divider: u16) -> (Link, DeviceInfo) {
    let mut options = LinkOptions::new(target(path));
    options.stream_divider = divider;
    let link = Link::open(options);
    let info = wait_for(&link, 5, |event| match event {
        Event::Described(info) => Some(info),
        _ => None,
    });
    (link, info)
}

/// Samples received for `seconds`.
fn collect(link: &Link, seconds: f64) -> Vec<Vec<f32>> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        if let Ok(motiontune::link::LinkEvent::Device(Event::Samples { batch, .. })) =
            link.events().recv_timeout(Duration::from_millis(50))
        {
            for k in 0..batch.len() {
                samples.push(batch.sample(k).to_vec());
            }
        }
    }
    samples
}

fn set(link: &Link, index: u8, value: f32) -> f32 {
    link.send(Command::Set { index, value });
    wait_for(link, 2, |event| match event {
        Event::Value { index: i, value } if i == index => Some(value),
        _ => None,
    })
}

/// Sends Enable and waits for a status that reports it done.
fn enable(link: &Link, on: bool) {
    link.send(Command::Enable(on));
    wait_for(link, 2, |event| match event {
        Event::Status { flags, .. } if flags.enabled() == on => Some(()),
        _ => None,
    });
}

#[test]
fn describes_with_roles_gains_and_the_setpoint() {
    let server = serve();
    let (_link, info) = connect(server.path(), 0);
    assert_eq!(info.firmware, "0.5");
    let roles: Vec<_> = info
        .channels
        .iter()
        .map(|c| (c.name.as_str(), c.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("input_pos", ChannelRole::Reference),
            ("pos_estimate", ChannelRole::Feedback),
            ("vel_estimate", ChannelRole::Other),
            ("Iq_measured", ChannelRole::Effort),
        ]
    );
    let gains: Vec<_> = info
        .params
        .iter()
        .filter(|p| p.flags.tuning_gain())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        gains,
        [
            "controller.config.pos_gain",
            "controller.config.vel_gain",
            "controller.config.vel_integrator_gain"
        ]
    );
    assert!(info.params[usize::from(INPUT_POS)].flags.setpoint());
    assert_eq!(info.params[usize::from(POS_GAIN)].value, 20.0);
}

#[test]
fn streams_at_the_poll_rate_and_follows_the_setpoint() {
    let server = serve();
    let (link, _) = connect(server.path(), 1);
    enable(&link, true);
    assert_eq!(
        server.with_device(|d| d.axes[0].current_state),
        STATE_CLOSED_LOOP
    );
    // Closed loop starts from where the motor is: input_pos is read again.
    let held = wait_for(&link, 2, |event| match event {
        Event::Value { index, value } if index == INPUT_POS => Some(value),
        _ => None,
    });
    assert_eq!(held, 0.0);
    assert_eq!(set(&link, INPUT_POS, 0.5), 0.5);
    let samples = collect(&link, 2.0);
    // 200 Hz asked; the pty and the link loop allow most of it.
    assert!(samples.len() >= 250, "{} samples in 2 s", samples.len());
    let last = samples.last().expect("samples");
    assert_eq!(last[0], 0.5);
    assert!((last[1] - 0.5).abs() < 0.02, "{last:?}");
    assert!(samples.iter().any(|s| s[3].abs() > 1.0), "effort moved");
    enable(&link, false);
    assert_eq!(server.with_device(|d| d.axes[0].current_state), STATE_IDLE);
    assert_eq!(link.health().snapshot().crc_errors, 0);
}

#[test]
fn a_gain_written_is_read_back_from_the_device() {
    let server = serve();
    let (link, _) = connect(server.path(), 0);
    assert_eq!(set(&link, VEL_GAIN, 0.05), 0.05);
    assert_eq!(server.with_device(|d| d.axes[0].vel_gain), 0.05);
    assert_eq!(set(&link, POS_GAIN, 35.5), 35.5);
    assert_eq!(server.with_device(|d| d.axes[0].pos_gain), 35.5);
    link.send(Command::Save);
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.with_device(|d| d.saved.is_none()) {
        assert!(Instant::now() < deadline, "ss reached the device");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_heartbeat_feeds_the_watchdog_while_connected() {
    let server = serve();
    let (link, _) = connect(server.path(), 0);
    assert_eq!(set(&link, 7, 0.5), 0.5);
    assert_eq!(set(&link, 6, 1.0), 1.0);
    enable(&link, true);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        server.with_device(|d| d.axes[0].current_state),
        STATE_CLOSED_LOOP,
        "`u 0` every 200 ms keeps the axis in closed loop"
    );
    drop(link);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.with_device(|d| d.axes[0].current_state),
        STATE_IDLE,
        "closing the link idles the axis"
    );
}

#[test]
fn garbage_and_corrupted_replies_are_counted_and_the_stream_goes_on() {
    let server = serve();
    let (link, _) = connect(server.path(), 1);
    collect(&link, 0.3);
    // Bytes the adapter never asked for, one line with a bad checksum, as
    // a noisy line would deliver them.
    let before = link.health().snapshot();
    inject(&server, b"\x00\xffgarbage\r\n1.000000 2.000000*7\r\n");
    let samples = collect(&link, 1.0);
    let after = link.health().snapshot();
    assert!(
        after.crc_errors + after.framing_errors + after.message_errors
            > before.crc_errors + before.framing_errors + before.message_errors,
        "{after:?}"
    );
    assert!(samples.len() > 100, "{}", samples.len());
    assert!(samples.iter().all(|s| s[1] != 1.0 && s.len() == 4));
}

/// Makes the device send `bytes` ahead of its next replies.
fn inject(server: &PtyServer<OdriveSim>, bytes: &[u8]) {
    server.with_device(|d| d.inject_output(bytes));
}

#[test]
fn the_command_line_lists_records_and_steps() {
    let device = DeviceProcess::start(common::BIN, &["sim", "--pty", "--firmware", "odrive"]);
    let output = run(&["params", "--port", &device.path, "--protocol", "odrive"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("controller.config.pos_gain"), "{text}");
    assert!(text.contains("20"), "{text}");

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("odrive.csv");
    let output = run(&[
        "record",
        "--port",
        &device.path,
        "--protocol",
        "odrive",
        "--seconds",
        "1",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (header, rows) = common::read_recording(&out);
    assert_eq!(header[2], "pos_estimate [turn]");
    assert!(rows.len() >= 100, "{} rows", rows.len());

    let output = run(&[
        "step",
        "--port",
        &device.path,
        "--protocol",
        "odrive",
        "--amplitude",
        "0.25",
        "--hold",
        "1.0",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let step = &document["steps"][0];
    let rise = step["rise_time"].as_f64().expect("rise time");
    assert!((0.01..0.5).contains(&rise), "{step}");
    assert!(
        (step["final_value"].as_f64().expect("final") - step["to"].as_f64().expect("to")).abs()
            < 0.02,
        "{step}"
    );
}

#[test]
fn the_app_plots_the_odrive_and_its_gain_sliders_write_it() {
    use common::{app_with, step_until, wait_connected, wait_for_samples};
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;

    let server = serve();
    let mut harness = app_with(motiontune::app::AppOptions {
        target: target(server.path()),
        stream_divider: 1,
        ..motiontune::app::AppOptions::default()
    });
    wait_connected(&mut harness);
    wait_for_samples(&mut harness, 100);
    // Timed by the replies' arrival: the status bar says how far to trust
    // the times (the polls' round trip).
    step_until(&mut harness, "host timing in the status bar", |h| {
        h.query_by_label_contains("timed by the host ±").is_some()
    });
    for gain in [
        "controller.config.pos_gain",
        "controller.config.vel_gain",
        "controller.config.vel_integrator_gain",
    ] {
        harness.get_by_role_and_label(Role::Slider, gain);
    }
    harness
        .get_by_role_and_label(Role::Slider, "controller.config.vel_gain")
        .set_value_accesskit(0.08);
    harness.step();
    step_until(&mut harness, "the ODrive to take vel_gain", |_| {
        server.with_device(|d| d.axes[0].vel_gain) == 0.08
    });
}

fn connect_axis(path: &str, axis: u8) -> (Link, DeviceInfo) {
    let mut settings = AdapterSettings::default();
    settings.odrive.axis = axis;
    let target =
        PortTarget::parse(path, 115_200).speaking(ProtocolChoice::Only(Protocol::Odrive), settings);
    common::connect_to(target, 1, 5)
}

#[test]
fn both_axes_of_one_board_stream_and_step_apart_over_its_one_port() {
    let server = serve();
    let (axis0, info0) = connect_axis(server.path(), 0);
    let (axis1, info1) = connect_axis(server.path(), 1);
    assert_eq!(
        (info0.name.as_str(), info1.name.as_str()),
        ("ODrive axis0", "ODrive axis1")
    );
    for link in [&axis0, &axis1] {
        enable(link, true);
        // Closed loop starts from where the motor is: input_pos is read again.
        let held = wait_for(link, 2, |event| match event {
            Event::Value { index, value } if index == INPUT_POS => Some(value),
            _ => None,
        });
        assert_eq!(held, 0.0);
    }
    assert_eq!(set(&axis1, INPUT_POS, 0.5), 0.5);
    assert_eq!(set(&axis0, VEL_GAIN, 0.2), 0.2);
    let (samples0, samples1) = std::thread::scope(|scope| {
        let first = scope.spawn(|| collect(&axis0, 2.0));
        let second = collect(&axis1, 2.0);
        (first.join().expect("collected"), second)
    });
    for (name, samples) in [("axis0", &samples0), ("axis1", &samples1)] {
        // 200 Hz asked of each axis; both share the port's time.
        assert!(
            samples.len() >= 200,
            "{name}: {} samples in 2 s",
            samples.len()
        );
    }
    let last1 = samples1.last().expect("samples");
    assert!((last1[1] - 0.5).abs() < 0.02, "axis1 stepped: {last1:?}");
    let last0 = samples0.last().expect("samples");
    assert!(last0[1].abs() < 0.02, "axis0 held: {last0:?}");
    server.with_device(|d| {
        assert_eq!(d.axes[0].vel_gain, 0.2, "written to axis0");
        assert_ne!(d.axes[1].vel_gain, 0.2, "not to axis1");
    });
    for link in [&axis0, &axis1] {
        let health = link.health().snapshot();
        assert_eq!(
            (
                health.crc_errors,
                health.framing_errors,
                health.message_errors,
                health.lost_samples
            ),
            (0, 0, 0, 0),
            "every reply went to the axis that asked"
        );
    }
    // The same axis twice is refused in one line.
    let again = Link::open(LinkOptions::new(
        PortTarget::parse(server.path(), 115_200).speaking(
            ProtocolChoice::Only(Protocol::Odrive),
            AdapterSettings::default(),
        ),
    ));
    let refused = wait_for_closed(&again);
    assert!(refused.contains("axis 0 is already connected"), "{refused}");
    // Letting go of axis0 switches it off and leaves axis1 streaming.
    drop(axis0);
    let after = collect(&axis1, 0.5);
    assert!(
        after.len() >= 50,
        "{} samples after axis0 closed",
        after.len()
    );
    server.with_device(|d| {
        assert_eq!(d.axes[0].current_state, STATE_IDLE);
        assert_eq!(d.axes[1].current_state, STATE_CLOSED_LOOP);
    });
    enable(&axis1, false);
}

/// Why a link ended, waiting up to 5 s.
fn wait_for_closed(link: &Link) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(motiontune::link::LinkEvent::Closed(why)) =
            link.events().recv_timeout(Duration::from_millis(50))
        {
            return why.map(|e| e.to_string()).unwrap_or_default();
        }
    }
    panic!("the link did not end");
}
