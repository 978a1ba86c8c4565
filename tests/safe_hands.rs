//! Safe hands on a live drive (issue 15), on the real `App` driven
//! headless against a device behind a real pty whose received SETs are
//! known exactly (the simulated drive's own log of SETs; for the emulated
//! ODrive, the proxy's copy of the host's lines): a typed value is written
//! once, on Enter, and never while typing; undo, restore and profiles move
//! only gains and settings; restoring keeps every set; switches and
//! choices are checkboxes and drop-downs written once per click; Esc stops
//! the drive and closes no dialog; the event log records stops, output
//! changes and writes, and saves.
#![cfg(unix)]

mod common;

use common::{
    app_on_port, app_with, run_for, set_slider, step_until, wait_connected, wait_settled,
};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::{App, AppOptions};
use motiontune::device::session::ProcedureKind;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::{DriveConfig, RELAY_ACTIVE_INDEX, SETPOINT_INDEX};
use motiontune::sim::pty::PtyServer;

/// Indices of the simulated drive's parameters the tests write.
const KP: u8 = 0;
const KD: u8 = 2;

fn serve_config(config: DriveConfig) -> PtyServer {
    PtyServer::start(SimDevice::new(config, DeviceSettings::default())).expect("pty available")
}

fn serve() -> PtyServer {
    serve_config(DriveConfig::default())
}

fn connected(server: &PtyServer) -> Harness<'static, App> {
    let mut harness = app_on_port(server.path());
    wait_connected(&mut harness);
    harness
}

/// Every SET the simulated drive received, oldest first.
fn sets(server: &PtyServer) -> Vec<(u8, f32)> {
    server.with_device(|d| d.sets_received())
}

/// Selects the text of `name`'s typed field and types `text` over it one
/// keystroke a frame, as a user does.
fn type_keys(harness: &mut Harness<'static, App>, name: &str, text: &str) {
    harness.get_by_role_and_label(Role::TextInput, name).focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.step();
    for key in text.chars() {
        harness
            .get_by_role_and_label(Role::TextInput, name)
            .type_text(&key.to_string());
        harness.step();
    }
}

fn field_text(harness: &Harness<'static, App>, name: &str) -> Option<String> {
    harness.get_by_role_and_label(Role::TextInput, name).value()
}

/// Clicks "Enable output" and waits until the app sees the output on.
fn enable_output(harness: &mut Harness<'static, App>) {
    harness.get_by_label("Enable output").click_accesskit();
    harness.step();
    step_until(harness, "the app to see the output on", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
}

#[test]
fn a_typed_value_is_written_once_on_enter_and_never_while_typing() {
    let server = serve();
    let mut harness = connected(&server);
    type_keys(&mut harness, "pos.kd", "0.35");
    run_for(&mut harness, 0.2);
    assert_eq!(sets(&server), [], "nothing is written while typing");

    harness.key_press(egui::Key::Enter);
    harness.step();
    wait_settled(&mut harness);
    assert_eq!(sets(&server), [(KD, 0.35)]);
    assert_eq!(field_text(&harness, "pos.kd").as_deref(), Some("0.35"));

    // Typing over a gain digit by digit opens no confirmation for the
    // first digit (35 over 20 once read as 3).
    type_keys(&mut harness, "pos.kp", "35");
    harness.run_steps(2);
    assert!(harness.query_by_label("Confirm large change").is_none());
    harness.key_press(egui::Key::Enter);
    harness.step();
    wait_settled(&mut harness);
    assert_eq!(sets(&server), [(KD, 0.35), (KP, 35.0)]);
}

#[test]
fn leaving_a_field_keeps_the_edit_unwritten_until_write_and_esc_drops_it() {
    let server = serve();
    let mut harness = connected(&server);
    type_keys(&mut harness, "pos.kp", "35");
    // Click somewhere else: the field loses the keyboard.
    harness.get_by_label("Parameters").click();
    harness.run_steps(2);
    run_for(&mut harness, 0.2);
    assert_eq!(sets(&server), [], "leaving the field writes nothing");
    harness.get_by_label("unwritten edit");
    assert_eq!(field_text(&harness, "pos.kp").as_deref(), Some("35"));

    harness.get_by_label("Write pos.kp").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!(sets(&server), [(KP, 35.0)]);
    assert!(harness.query_by_label("unwritten edit").is_none());

    // Esc in the field drops the edit (and, as everywhere, stops the drive).
    type_keys(&mut harness, "pos.kp", "50");
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    run_for(&mut harness, 0.2);
    assert_eq!(sets(&server), [(KP, 35.0)]);
    assert!(harness.query_by_label("unwritten edit").is_none());
    assert_eq!(field_text(&harness, "pos.kp").as_deref(), Some("35"));

    // A value that does not parse is one line, and writes nothing.
    type_keys(&mut harness, "pos.kp", "3x");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    harness.get_by_label("\"3x\" is not a number; nothing written");
    run_for(&mut harness, 0.2);
    assert_eq!(sets(&server), [(KP, 35.0)]);
}

#[test]
fn undo_after_a_relay_run_moves_the_gains_and_never_the_relay_mode() {
    let server = serve_config(DriveConfig::linear());
    let mut harness = connected(&server);
    set_slider(&mut harness, "pos.kp", 30.0);
    wait_settled(&mut harness);

    enable_output(&mut harness);
    harness.get_by_label("Auto-tune").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Relay").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Run relay").click_accesskit();
    harness.step();
    step_until(&mut harness, "the relay run to end", |h| {
        h.state().session().is_some_and(|s| {
            s.procedures
                .last(ProcedureKind::Relay)
                .is_some_and(|r| r.is_done())
        })
    });
    step_until(&mut harness, "the relay off on the device", |_| {
        !server.with_device(|d| d.drive.config.relay.active)
    });
    wait_settled(&mut harness);
    let relay = RELAY_ACTIVE_INDEX..=RELAY_ACTIVE_INDEX + 4;
    assert!(
        sets(&server).iter().any(|(i, _)| relay.contains(i)),
        "the run itself wrote the relay mode"
    );

    let before_undo = sets(&server).len();
    harness.get_by_label("Undo gain change").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    run_for(&mut harness, 0.2);
    assert_eq!(sets(&server)[before_undo..], [(KP, 20.0)]);
    // Nothing of the run became a gain set.
    harness.get_by_label("Set 2: pos.kp 20 -> 30");
    assert!(harness.query_by_label_contains("Set 3").is_none());
}

#[test]
fn restoring_a_set_appends_it_and_keeps_every_later_set() {
    let server = serve();
    let mut harness = connected(&server);
    for kp in [25.0, 30.0, 35.0] {
        set_slider(&mut harness, "pos.kp", kp);
        wait_settled(&mut harness);
    }
    harness.get_by_label("Restore set 2").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!(sets(&server).last(), Some(&(KP, 25.0)));
    for set in [
        "Set 1: as connected",
        "Set 2: pos.kp 20 -> 25",
        "Set 3: pos.kp 25 -> 30",
        "Set 4: pos.kp 30 -> 35",
        "Set 5: restored set 2: pos.kp 35 -> 25",
    ] {
        harness.get_by_label(set);
    }
    // A write after the restore adds a set; none is lost.
    set_slider(&mut harness, "pos.kp", 28.0);
    wait_settled(&mut harness);
    harness.get_by_label("Set 6: pos.kp 25 -> 28");
    harness.get_by_label("Set 4: pos.kp 30 -> 35");
    harness.get_by_label("Restore set 4");
}

/// Opens the Large change dialog with the output on: kp ×10.
fn open_large_change(harness: &mut Harness<'static, App>) {
    enable_output(harness);
    harness
        .get_by_role_and_label(Role::Slider, "pos.kp")
        .set_value_accesskit(200.0);
    harness.run_steps(2);
    harness.get_by_label("Confirm large change");
}

#[test]
fn esc_in_the_large_change_dialog_stops_the_drive_and_leaves_the_dialog_open() {
    let server = serve();
    let mut harness = connected(&server);
    open_large_change(&mut harness);
    harness.key_press(egui::Key::Escape);
    harness.step();
    step_until(&mut harness, "the drive stopped", |_| {
        !server.with_device(|d| d.enabled())
    });
    harness.run_steps(2);
    harness.get_by_label("Confirm large change");
    harness.get_by_label("Esc stops the drive; Cancel closes this.");
    run_for(&mut harness, 0.2);
    assert_eq!(sets(&server), [], "nothing written");
    harness.get_by_label("Cancel").click_accesskit();
    harness.run_steps(2);
    assert!(harness.query_by_label("Confirm large change").is_none());

    // The backdrop covers the top bar: the dialog has its own stop.
    open_large_change(&mut harness);
    let top_bar = 60.0;
    harness
        .query_all_by_label("EMERGENCY STOP")
        .find(|button| button.rect().center().y > top_bar)
        .expect("a stop button in the dialog")
        .click_accesskit();
    harness.step();
    step_until(&mut harness, "the drive stopped again", |_| {
        !server.with_device(|d| d.enabled())
    });
    harness.run_steps(2);
    harness.get_by_label("Confirm large change");
    harness.get_by_label("Cancel").click_accesskit();
    harness.run_steps(2);
    run_for(&mut harness, 0.2);
    assert_eq!(sets(&server), []);
}

#[test]
fn a_switch_is_a_checkbox_written_once_per_click_and_marked_a_mode() {
    let server = serve();
    let mut harness = connected(&server);
    assert!(
        harness
            .query_by_role_and_label(Role::Slider, "relay.active")
            .is_none()
    );
    // relay.active and the relay mode's four settings are tagged modes,
    // and the device-side excitation's seven parameters (flagged modes).
    assert_eq!(harness.query_all_by_label("mode").count(), 5 + 7);
    let relay_active = |h: &Harness<'static, App>| {
        h.state()
            .session()
            .map(|s| s.params[usize::from(RELAY_ACTIVE_INDEX)].info.value)
    };
    harness
        .get_by_role_and_label(Role::CheckBox, "relay.active")
        .click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!(sets(&server), [(RELAY_ACTIVE_INDEX, 1.0)]);
    // The sim runs its relay only with the output on: it applied 0, and
    // the box shows what the device applied.
    assert_eq!(relay_active(&harness), Some(0.0));
    harness.get_by_label("clamped");

    // Each click is one write of the value it picks, nothing more.
    harness
        .get_by_role_and_label(Role::CheckBox, "relay.active")
        .click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    run_for(&mut harness, 0.2);
    assert_eq!(
        sets(&server),
        [(RELAY_ACTIVE_INDEX, 1.0), (RELAY_ACTIVE_INDEX, 1.0)]
    );
}

#[test]
fn a_choice_is_a_drop_down_of_its_names_written_once() {
    use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
    use motiontune::sim::firmware::odrive::OdriveSim;

    let server = PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty available");
    let proxy = common::Proxy::start_framed(server.path(), common::Framing::Lines);
    let mut harness = app_with(AppOptions {
        target: motiontune::link::PortTarget::parse(&proxy.path, 115_200).speaking(
            ProtocolChoice::Only(Protocol::Odrive),
            AdapterSettings::default(),
        ),
        stream_divider: 10,
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    proxy.keep_host_bytes();
    let mode = "controller.config.control_mode";
    assert!(
        harness
            .query_by_role_and_label(Role::Slider, mode)
            .is_none()
    );
    // The read-only state reads as its name.
    harness.get_by_label_contains("idle (1)");

    harness
        .get_by_role_and_label(Role::ComboBox, mode)
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("velocity").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    step_until(&mut harness, "the ODrive in velocity control", |_| {
        server.with_device(|d| d.axes[0].control_mode) == 2
    });
    run_for(&mut harness, 0.2);
    let writes: Vec<String> = proxy
        .host_lines()
        .into_iter()
        .filter(|line| line.starts_with("w "))
        // Without the checksum the adapter appends ("*117").
        .map(|line| line.split('*').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(writes, ["w axis0.controller.config.control_mode 2"]);
}

#[test]
fn a_profile_naming_the_setpoint_a_mode_and_a_read_only_value_refuses_them() {
    let server = serve();
    let mut harness = connected(&server);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("unsafe.toml");
    std::fs::write(
        &path,
        r#"name = "unsafe"
device = "motiontune simulated drive"
firmware = "sim"
saved = "2026-11-27T03:00:00Z"

[[param]]
name = "pos.kp"
value = 25.0

[[param]]
name = "pos.setpoint"
value = 5.0

[[param]]
name = "relay.active"
value = 1.0

[[param]]
name = "plant.resonance"
value = 3.0
"#,
    )
    .expect("profile written");
    harness.get_by_label("Profile file").focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("Profile file")
        .type_text(&path.display().to_string());
    harness.step();
    harness.get_by_label("Load profile").click_accesskit();
    harness.run_steps(2);

    harness.get_by_label("3 entries are refused and will not be written:");
    harness.get_by_label(
        "pos.setpoint: not loaded from a profile: it is the setpoint: writing it moves the axis",
    );
    harness.get_by_label(
        "relay.active: not loaded from a profile: it switches the drive's mode or state",
    );
    harness.get_by_label("plant.resonance: not loaded from a profile: it is read-only");
    harness.get_by_label("Write 1 changes").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    run_for(&mut harness, 0.2);
    assert_eq!(sets(&server), [(KP, 25.0)]);
    assert!(!sets(&server).iter().any(|&(i, _)| i == SETPOINT_INDEX));
}

#[test]
fn the_event_log_lists_stops_output_changes_and_writes_and_saves_them() {
    let server = serve();
    let mut harness = connected(&server);
    enable_output(&mut harness);
    set_slider(&mut harness, "pos.kp", 30.0);
    wait_settled(&mut harness);
    harness.get_by_label("EMERGENCY STOP").click();
    harness.step();
    step_until(&mut harness, "the app to see the output off", |h| {
        h.state().session().is_some_and(|s| !s.output_enabled())
    });
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);

    harness.get_by_label("Event log").click_accesskit();
    harness.run_steps(2);
    for entry in [
        "connected to motiontune simulated drive",
        "output on (user)",
        "pos.kp 20 -> 30 A/rad (edit)",
        "EMERGENCY STOP (button)",
        "output off (emergency stop)",
        "EMERGENCY STOP (Esc key)",
    ] {
        harness.get_by_label_contains(entry);
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.csv");
    let set_path = |harness: &mut Harness<'static, App>, path: &str| {
        harness.get_by_label("Event log file").focus();
        harness.step();
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        harness.get_by_label("Event log file").type_text(path);
        harness.step();
    };
    set_path(&mut harness, &path.display().to_string());
    harness.get_by_label("Save event log").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains("Saved 6 events to");
    let text = std::fs::read_to_string(&path).expect("the log saved");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "wall_time,device_time_s,event,detail");
    assert_eq!(lines.len(), 7, "{text}");
    assert!(
        lines[3].ends_with(",write,pos.kp 20 -> 30 A/rad (edit)"),
        "{text}"
    );
    assert!(
        lines[4].ends_with(",emergency stop,EMERGENCY STOP (button)"),
        "{text}"
    );

    let missing = dir.path().join("no such folder").join("events.csv");
    set_path(&mut harness, &missing.display().to_string());
    harness.get_by_label("Save event log").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains(&format!(
        "cannot write the event log to {}: ",
        missing.display()
    ));
}

/// A first connection's log carries on across Disconnect and Connect.
#[test]
fn the_event_log_outlives_a_disconnect() {
    let server = serve();
    let mut harness = connected(&server);
    enable_output(&mut harness);
    harness.get_by_label("Disconnect").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Event log").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains("output off (disconnect)");
    harness.get_by_label_contains("disconnected by the user");
    let log = harness.state().event_log();
    assert!(log.len() >= 4, "{log:?}");
}

/// A drive found enabled is left on at Disconnect (the link's close rule),
/// and the log says so rather than claiming it was switched off.
#[test]
fn the_event_log_says_when_a_disconnect_leaves_a_found_output_on() {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings {
            enable_on_hello: true,
            ..DeviceSettings::default()
        },
    ))
    .expect("pty available");
    let mut harness = connected(&server);
    step_until(&mut harness, "the app to see the output on", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.get_by_label("Disconnect").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Event log").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains("output on (device)");
    harness.get_by_label_contains(
        "disconnected by the user; the output was left on as found (the app did not switch it on)",
    );
    assert!(harness.query_by_label_contains("output off").is_none());
    assert!(server.with_device(|d| d.enabled()));
}
