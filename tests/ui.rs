//! The real `App`, driven headless with egui_kittest: sliders write to the
//! device and show its answer; the emergency stop and Esc disable the output.
#![cfg(unix)]

mod common;

use common::{app_on, app_on_port, step_until, wait_connected, wait_for_samples};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::{App, ConnectionState, WriteState};
use motiontune::link::LinkError;
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

/// Clicks "Enable output" and waits until the device and the app agree.
fn enable_output(harness: &mut Harness<'static, App>, server: &PtyServer) {
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(harness, "output enabled", |_| {
        server.with_device(|d| d.enabled())
    });
    step_until(harness, "the app to see it", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.step();
}

#[test]
fn moving_a_gain_slider_writes_the_device_and_shows_the_confirmation() {
    let server = serve();
    let mut harness = app_on_port(server.path());
    wait_connected(&mut harness);

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
        .set_value_accesskit(12.5);
    harness.step();
    step_until(&mut harness, "output limit applied", |_| {
        server.with_device(|d| d.drive.config.gains.output_limit) == 12.5
    });
}

#[test]
fn emergency_stop_disables_the_output() {
    let server = serve();
    let mut harness = app_on_port(server.path());
    wait_connected(&mut harness);
    enable_output(&mut harness, &server);
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
    let mut harness = app_on_port(server.path());
    wait_connected(&mut harness);
    enable_output(&mut harness, &server);

    harness.key_press(egui::Key::Escape);
    harness.step();
    step_until(&mut harness, "output disabled by Esc", |_| {
        !server.with_device(|d| d.enabled())
    });
}

#[test]
fn disconnect_button_disables_the_drive() {
    let server = serve();
    let mut harness = app_on_port(server.path());
    wait_connected(&mut harness);
    enable_output(&mut harness, &server);

    harness.get_by_label("Disconnect").click();
    harness.step();
    step_until(&mut harness, "output disabled on disconnect", |_| {
        !server.with_device(|d| d.enabled())
    });
    assert!(
        !server.with_device(|d| d.watchdog_tripped()),
        "the app must disable the drive itself, not leave it to the watchdog"
    );
    harness.step();
    harness.get_by_label("Connect");
}

#[test]
fn default_app_streams_the_built_in_drive_into_the_plot() {
    let mut harness = app_on(PortTarget::Sim);
    wait_connected(&mut harness);
    wait_for_samples(&mut harness, 1_000);
    harness.get_by_role_and_label(Role::Slider, "pos.kp");
    harness.get_by_label("EMERGENCY STOP");
}

#[test]
fn a_vanished_device_is_reported_and_can_be_reconnected() {
    let server = serve();
    let path = server.path().to_owned();
    let mut harness = app_on_port(&path);
    wait_connected(&mut harness);
    server.stop().expect("server stops");
    step_until(&mut harness, "the loss to show", |h| {
        h.state().session().is_some_and(|s| {
            matches!(&s.state, ConnectionState::Reconnecting { lost: LinkError::Lost { port, .. }, .. } if *port == path)
        })
    });
    harness.step();
    assert!(harness.query_by_label_contains("connection to").is_some());
    // The app keeps trying the port until told to stop.
    harness.get_by_label("Stop reconnecting").click_accesskit();
    harness.step();
    harness.step();
    harness.get_by_label("Connect");
}
