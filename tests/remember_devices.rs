//! Several devices across launches and an ODrive's second axis (issue 23),
//! on the real `App` driven headless against simulated drives and an
//! emulated ODrive behind real ptys: the devices connected when the app
//! closes come back on one click at the next launch, typed labels
//! included, and no port opens before it; a stored entry that makes no
//! sense is said in one line and connects nothing; an ODrive axis's row
//! adds the board's other axis, and both stream.
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::devices::{FIRST, SECOND, newest, serve, session, two_devices};
use common::{Memory, app_on, run_for, step_until};
use eframe::App as _;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::{App, AppOptions};
use motiontune::link::PortTarget;
use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::odrive::OdriveSim;
use motiontune::sim::pty::PtyServer;

/// The app launched as with no port named (the built-in drive), its
/// settings from `storage`.
fn launch(storage: &Memory) -> Harness<'static, App> {
    let stored = Memory(storage.0.clone());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            let options = AppOptions {
                stream_divider: 10,
                ..AppOptions::default()
            };
            App::with_storage(cc, options, Some(&stored as &dyn eframe::Storage))
        });
    harness.step();
    harness
}

/// The ports each device's session opens, in the list's order.
fn ports(harness: &Harness<'static, App>) -> Vec<String> {
    harness
        .state()
        .devices()
        .iter()
        .map(|d| d.session.target().name().to_owned())
        .collect()
}

#[test]
fn the_last_devices_come_back_on_one_click_with_the_label_typed() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    harness
        .get_by_role_and_label(Role::TextInput, "Label of device 2")
        .set_text_value_accesskit("Load motor");
    harness.run_steps(2);
    harness.key_press(egui::Key::Tab);
    harness.step();
    let mut storage = Memory::default();
    harness.state_mut().save(&mut storage);
    let remembered = harness.state().settings().devices;
    drop(harness);
    // The closed links' last words are in before the new launch counts.
    std::thread::sleep(Duration::from_millis(100));
    let heard = (a.bytes_from_host(), b.bytes_from_host());

    let mut harness = launch(&storage);
    run_for(&mut harness, 0.3);
    assert_eq!(ports(&harness), ["simulated drive"], "only the default");
    assert_eq!(
        (a.bytes_from_host(), b.bytes_from_host()),
        heard,
        "no remembered port opened unasked"
    );
    // A launch that leaves the offer untaken forgets nothing.
    assert_eq!(harness.state().settings().devices, remembered);

    let button = format!("Reconnect last devices ({}, Load motor)", a.path());
    harness.get_by_label(&button).click();
    harness.step();
    common::wait_devices_connected(&mut harness, 2);
    // The descriptions have come in and named the other device.
    run_for(&mut harness, 0.2);
    assert_eq!(ports(&harness), [a.path(), b.path()]);
    let devices = harness.state().devices();
    assert_eq!(devices.get(SECOND).map(|d| d.label()), Some("Load motor"));
    assert_ne!(devices.get(FIRST).map(|d| d.label()), Some("Load motor"));
    assert!(a.bytes_from_host() > heard.0 && b.bytes_from_host() > heard.1);
    assert!(harness.query_by_label(&button).is_none(), "offered once");
    assert_eq!(harness.state().settings().devices, remembered);
}

#[test]
fn a_stored_entry_that_makes_no_sense_is_said_and_connects_nothing() {
    let mut storage = Memory::default();
    storage.0.insert(
        "motiontune settings".to_owned(),
        r#"{"view": {"max_fps": 15},
            "devices": [{"port": "sim"}, {"port": "/dev/ttyACM9", "protocol": "modbus"}]}"#
            .to_owned(),
    );
    let mut harness = launch(&storage);
    harness.run_steps(2);
    // The rest of the settings are used as they were.
    assert_eq!(harness.state().settings_problem(), None);
    assert_eq!(harness.state().settings().view.max_fps, 15);
    let problem = "Last devices not offered: remembered device 2 (/dev/ttyACM9): \
                   unknown protocol \"modbus\"";
    harness.get_by_label_contains(problem);
    assert!(
        harness
            .query_by_label_contains("Reconnect last devices")
            .is_none()
    );
    assert_eq!(ports(&harness), ["simulated drive"]);
    harness
        .get_by_label("Dismiss the last devices' problem")
        .click();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains(problem).is_none());
    assert_eq!(ports(&harness), ["simulated drive"]);
}

#[test]
fn an_odrive_axis_adds_the_other_and_both_stream() {
    let odrive = PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty available");
    while odrive.with_device(|d| d.is_booting()) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let target = PortTarget::parse(odrive.path(), 115_200).speaking(
        ProtocolChoice::Only(Protocol::Odrive),
        AdapterSettings::default(),
    );
    let mut harness = app_on(target);
    common::wait_connected(&mut harness);
    run_for(&mut harness, 0.1);
    let label = harness
        .state()
        .devices()
        .get(FIRST)
        .map(|d| d.label().to_owned())
        .expect("axis0 connected");
    assert_eq!(label, "ODrive axis0");
    assert!(
        harness
            .query_by_label("Add axis0 of ODrive axis0")
            .is_none()
    );
    harness
        .get_by_label(&format!("Add axis1 of {label}"))
        .click();
    harness.step();
    common::wait_devices_connected(&mut harness, 2);
    let (_, settings) = session(&harness, SECOND).target().protocol();
    assert_eq!(settings.odrive.axis, 1);
    assert_eq!(session(&harness, SECOND).target().name(), odrive.path());
    let start = (newest(&harness, FIRST), newest(&harness, SECOND));
    step_until(&mut harness, "both axes to stream on", |h| {
        newest(h, FIRST) > start.0 + 0.3 && newest(h, SECOND) > start.1 + 0.3
    });
    // Both axes connected: neither row offers one more.
    assert!(harness.query_by_label_contains("Add axis").is_none());
}
