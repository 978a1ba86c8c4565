//! Commands that never switch the output on leave the drive as they found
//! it, on every wire format: each emulated firmware is first put in a state
//! that is not its default (enabled; SimpleFOC monitoring as a sketch set
//! it; ODrive in closed loop), then `motiontune params` and `motiontune
//! record --seconds 1` run against it, and the firmware's own state (read
//! in-process with `PtyServer::with_device`) must be exactly as before.
//! The link's rule is checked directly too: a connection disables on close
//! only an output it switched on itself. The same holds on the real
//! SimpleFOC library (Arduino-FOC 2.4.0 built on the host,
//! `tests/common/simplefoc_real.rs`), whose own variables are read back.
#![cfg(unix)]

mod common;

use std::fmt::Debug;

use common::{FirmwareState, SketchConfig, motiontune, simplefoc_params, stderr};
use motiontune::link::{Link, LinkOptions};
use motiontune::protocol::{Command, Event};
use motiontune::sim::EmulatedDevice;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::lines::{LinesSketch, LinesSketchSettings};
use motiontune::sim::firmware::odrive::{LOOP_HZ, OdriveSim, STATE_CLOSED_LOOP};
use motiontune::sim::firmware::simplefoc::{SimpleFocFirmware, SketchSettings};
use motiontune::sim::pty::PtyServer;

/// Runs `params` and then `record --seconds 1` with `port_args`, and
/// checks after each that `state` reads as it did before.
fn read_only_commands_leave<D, S>(server: &PtyServer<D>, port_args: &[&str], state: fn(&D) -> S)
where
    D: EmulatedDevice,
    S: Debug + PartialEq,
{
    common::settled(server);
    let before = server.with_device(|d| state(d));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("record.csv");
    let out = out.to_str().expect("utf-8 path");
    let runs: [&[&str]; 2] = [&["params"], &["record", "--seconds", "1", "--out", out]];
    for command in runs {
        let mut args = command.to_vec();
        args.extend(["--port", server.path()]);
        args.extend_from_slice(port_args);
        let output = motiontune(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        common::settled(server);
        let after = server.with_device(|d| state(d));
        assert_eq!(
            after, before,
            "`motiontune {}` changed the drive",
            command[0]
        );
    }
}

/// The native drive, enabled and without a watchdog, so it stays on
/// between clients as one enabled from its own panel would.
fn enabled_native() -> PtyServer<SimDevice> {
    let mut device = SimDevice::new(
        DriveConfig::default(),
        DeviceSettings {
            watchdog_ms: 0,
            ..DeviceSettings::default()
        },
    );
    device.drive.set_enabled(true);
    PtyServer::start(device).expect("pty available")
}

#[test]
fn native_drive_enabled_stays_enabled_and_quiet() {
    let server = enabled_native();
    read_only_commands_leave(&server, &["--protocol", "native"], |d: &SimDevice| {
        let values: Vec<f32> = d.drive.params().iter().map(|p| p.value).collect();
        (d.enabled(), d.stream_divider(), values)
    });
    assert!(server.with_device(|d| d.enabled()), "enabled as found");
}

#[test]
fn simplefoc_sketch_keeps_its_motor_enabled_and_its_monitoring() {
    // What a sketch's setup() may have chosen: its own monitoring and a
    // motion type other than the default.
    let sketch = SimpleFocFirmware::with_settings(
        DriveConfig::default(),
        SketchSettings {
            monitor_downsample: 250,
            monitor_variables: 0b010_0101,
            motion: 1,
            ..SketchSettings::default()
        },
    );
    let server = PtyServer::start(sketch).expect("pty available");
    // The state to keep is the one setup() leaves.
    while server.with_device(|d| d.booting()) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    read_only_commands_leave(
        &server,
        &["--protocol", "simplefoc"],
        |d: &SimpleFocFirmware| {
            (
                d.enabled(),
                d.motor.monitor.downsample,
                d.motor.monitor.variables,
                d.motor.controller,
                d.commander.verbose,
                d.commander.decimal_places,
            )
        },
    );
    let (enabled, downsample, variables) = server.with_device(|d| {
        (
            d.enabled(),
            d.motor.monitor.downsample,
            d.motor.monitor.variables,
        )
    });
    assert!(enabled);
    assert_eq!((downsample, variables), (250, 0b010_0101));
}

#[test]
fn odrive_in_closed_loop_stays_in_closed_loop() {
    let mut odrive = OdriveSim::new(DriveConfig::default());
    odrive.receive(b"w axis0.requested_state 8\n");
    // The axis thread takes the request at its next wake, a millisecond on
    // (fw-v0.5.6 axis.cpp:447, 458-485).
    odrive.advance(u64::from(LOOP_HZ) / 1000);
    odrive.receive(b"w axis0.controller.config.control_mode 2\n");
    assert_eq!(odrive.axes[0].current_state, STATE_CLOSED_LOOP);
    let server = PtyServer::start(odrive).expect("pty available");
    read_only_commands_leave(&server, &["--protocol", "odrive"], |d: &OdriveSim| {
        let a = &d.axes[0];
        (
            a.current_state,
            a.control_mode,
            a.input_pos,
            a.input_vel,
            a.error,
            a.enable_watchdog,
        )
    });
}

#[test]
fn plain_text_sketch_gets_no_disable_it_was_not_asked_for() {
    let server = PtyServer::start(LinesSketch::new(
        DriveConfig::default(),
        LinesSketchSettings::default(),
    ))
    .expect("pty available");
    read_only_commands_leave(
        &server,
        &[
            "--protocol",
            "lines",
            "--lines-roles",
            "ref=setpoint,fb=position,effort=effort",
            "--lines-param",
            "kp:0:1000:A/rad:gain=kp {value}",
            "--lines-param",
            "sp:-100:100:rad:setpoint=sp {value}",
            "--lines-enable",
            "enable",
            "--lines-disable",
            "disable",
        ],
        |d: &LinesSketch| {
            (
                d.drive.enabled(),
                d.drive.config.setpoint,
                d.drive.config.gains.kp,
                d.commands,
            )
        },
    );
}

/// The rule in the link itself, which the GUI shares: a connection that
/// never sent ENABLE 1 leaves an enabled drive enabled; one that did turns
/// it off before the port closes.
#[test]
fn a_link_turns_off_on_close_only_an_output_it_switched_on() {
    let server = enabled_native();
    let open = || {
        let mut options = LinkOptions::new(common::serial(server.path()));
        options.stream_divider = 10;
        let link = Link::open(options);
        common::wait_for(&link, 5, |event| match event {
            Event::Samples { .. } => Some(()),
            _ => None,
        });
        link
    };

    drop(open());
    common::settled(&server);
    assert!(server.with_device(|d| d.enabled()), "found on, left on");
    assert_eq!(
        server.with_device(|d| d.stream_divider()),
        0,
        "stream stopped"
    );

    let link = open();
    link.send(Command::Enable(true));
    common::wait_for(&link, 2, |event| match event {
        Event::Status { flags, .. } if flags.enabled() => Some(()),
        _ => None,
    });
    drop(link);
    common::settled(&server);
    assert!(
        !server.with_device(|d| d.enabled()),
        "switched on here, off on close"
    );
}

/// What an app that only looked at the motor should leave as it was.
fn assert_left_alone(before: &FirmwareState, after: &FirmwareState) {
    let pairs = [
        (
            "enabled",
            i64::from(before.enabled),
            i64::from(after.enabled),
        ),
        (
            "controller",
            i64::from(before.controller),
            i64::from(after.controller),
        ),
        (
            "monitor_downsample",
            i64::from(before.monitor_downsample),
            i64::from(after.monitor_downsample),
        ),
        (
            "monitor_variables",
            i64::from(before.monitor_variables),
            i64::from(after.monitor_variables),
        ),
    ];
    for (name, was, is) in pairs {
        assert_eq!(
            was, is,
            "{name} changed; the Commander read {:?}",
            after.lines
        );
    }
    assert_eq!(before.target, after.target, "target changed");
}

#[test]
fn params_leaves_the_real_simplefoc_motor_as_it_found_it() {
    let Some(mut sketch) = SketchConfig::default().start() else {
        return;
    };
    let before = sketch.state();
    simplefoc_params(sketch.path(), &[]);
    assert_left_alone(&before, &sketch.state());
}

#[test]
fn record_leaves_the_real_simplefoc_motor_as_it_found_it() {
    let Some(mut sketch) = SketchConfig::default().start() else {
        return;
    };
    let before = sketch.state();
    common::record_with(sketch.path(), "1", &["--protocol", "simplefoc"]);
    assert_left_alone(&before, &sketch.state());
}
