//! The real `App`, driven headless with egui_kittest: sliders write to the
//! device and show its answer; the emergency stop disables the output.
#![cfg(unix)]

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::{App, AppOptions, WriteState};
use motiontune::link::PortTarget;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;

fn serve() -> PtyServer {
    PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available")
}

fn app_on(target: PortTarget) -> Harness<'static, App> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            App::new(
                cc,
                AppOptions {
                    target,
                    stream_divider: 10,
                },
            )
        });
    harness.step();
    harness
}

/// Steps the UI until `condition` holds (the link thread runs meanwhile).
fn step_until(
    harness: &mut Harness<'static, App>,
    what: &str,
    mut condition: impl FnMut(&mut Harness<'static, App>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition(harness) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
}

fn connected(harness: &mut Harness<'static, App>) -> bool {
    harness.state().session().is_some_and(|s| s.is_connected())
}

#[test]
fn moving_a_gain_slider_writes_the_device_and_shows_the_confirmation() {
    let server = serve();
    let mut harness = app_on(PortTarget::Serial {
        path: server.path().to_owned(),
        baud: 115_200,
    });
    step_until(&mut harness, "connection", connected);
    harness.step();

    harness
        .get_by_role_and_label(Role::Slider, "pos.kp")
        .set_value_accesskit(50.0);
    harness.step();
    step_until(&mut harness, "the device to apply kp", |_| {
        server.with_device(|d| d.drive.config.gains.kp) == 50.0
    });
    step_until(&mut harness, "the confirmation", |h| {
        h.state().session().is_some_and(|s| {
            s.params
                .iter()
                .any(|p| p.info.name == "pos.kp" && p.write == WriteState::Confirmed)
        })
    });
    harness.get_by_label("confirmed");

    // A second parameter goes through the same path.
    harness
        .get_by_role_and_label(Role::Slider, "pos.output_limit")
        .set_value_accesskit(20.0);
    harness.step();
    step_until(&mut harness, "output limit applied", |_| {
        server.with_device(|d| d.drive.config.gains.output_limit) == 20.0
    });
}

#[test]
fn emergency_stop_disables_the_output() {
    let server = serve();
    let mut harness = app_on(PortTarget::Serial {
        path: server.path().to_owned(),
        baud: 115_200,
    });
    step_until(&mut harness, "connection", connected);
    harness.step();

    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "output enabled", |_| {
        server.with_device(|d| d.enabled())
    });
    step_until(&mut harness, "the app to see it", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.step();
    harness.get_by_label("OUTPUT ON");

    harness.get_by_label("EMERGENCY STOP").click();
    harness.step();
    step_until(&mut harness, "output disabled", |_| {
        !server.with_device(|d| d.enabled())
    });
    step_until(&mut harness, "the app to see it", |h| {
        h.state().session().is_some_and(|s| !s.output_enabled())
    });
    harness.step();
    harness.get_by_label("output off");
}

#[test]
fn escape_key_is_an_emergency_stop() {
    let server = serve();
    let mut harness = app_on(PortTarget::Serial {
        path: server.path().to_owned(),
        baud: 115_200,
    });
    step_until(&mut harness, "connection", connected);
    harness.step();
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "output enabled", |_| {
        server.with_device(|d| d.enabled())
    });

    harness.key_press(egui::Key::Escape);
    harness.step();
    step_until(&mut harness, "output disabled by Esc", |_| {
        !server.with_device(|d| d.enabled())
    });
}

#[test]
fn default_app_streams_the_built_in_drive_into_the_plot() {
    let mut harness = app_on(PortTarget::Sim);
    step_until(&mut harness, "connection", connected);
    step_until(&mut harness, "samples in the history", |h| {
        h.state()
            .session()
            .and_then(|s| s.history.as_ref())
            .is_some_and(|history| history.len() > 1_000)
    });
    harness.get_by_role_and_label(Role::Slider, "pos.kp");
    harness.get_by_label("EMERGENCY STOP");
}
