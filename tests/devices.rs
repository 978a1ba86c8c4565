//! Several devices in one window (issue 23, the GUI's first slice), on the
//! real `App` driven headless against two simulated drives, each behind
//! its own real pty: both stream into their own history whether shown or
//! not; the EMERGENCY STOP button and Esc each queue ENABLE 0 on both links
//! in the frame they are pressed, and both drives switch off (two native
//! drives, and a native drive beside an emulated ODrive); closing or
//! losing one link leaves the other streaming; selecting a device moves
//! the panes (and their writes) to it; a label the user typed sticks.
#![cfg(unix)]

mod common;

use common::devices::{FIRST, SECOND, add_device, newest, select, serve, session, two_devices};
use common::{
    app_on_port, run_for, set_slider, step_until, type_into, wait_connected, wait_settled,
};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use motiontune::app::{App, ConnectionState};
use motiontune::device::session::{DeviceSession, ProcedureKind};
use motiontune::device::{DeviceId, LoggedEvent, StopSource};
use motiontune::profile::devices::DevicesProfile;
use motiontune::protocol::adapter::Protocol;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::odrive::{OdriveSim, STATE_CLOSED_LOOP};
use motiontune::sim::pty::PtyServer;

/// The simulated drive's index of `pos.kp`.
const KP: u8 = 0;

/// A simulated drive, then an emulated ODrive added beside it (shown).
fn native_beside_odrive() -> (PtyServer, PtyServer<OdriveSim>, Harness<'static, App>) {
    let native = serve();
    let odrive = PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty available");
    while odrive.with_device(|d| d.is_booting()) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut harness = app_on_port(native.path());
    wait_connected(&mut harness);
    add_device(&mut harness, odrive.path(), Some("ODrive ASCII"));
    (native, odrive, harness)
}

/// Switches on the output of every device, one after the other from its
/// row and the top bar's toggle, and waits until drives and app agree;
/// `on[i]` says whether the `i`th device's drive is on.
fn enable_all(harness: &mut Harness<'static, App>, on: &[&dyn Fn() -> bool]) {
    for (n, drive_on) in (1..).zip(on) {
        let id = DeviceId(n);
        select(harness, id);
        harness.get_by_label("Enable output").click_accesskit();
        harness.step();
        step_until(harness, "the drive on", |_| drive_on());
        step_until(harness, "the app to see it", |h| {
            session(h, id).output_enabled()
        });
    }
}

/// Presses `stop` and steps one frame: by then every device has logged
/// the stop and had ENABLE 0 queued on its link (the second device is
/// shown; the first must stop all the same). The drive's answer may be in
/// already: the link is fast enough to answer within the step. Then every
/// drive goes off.
fn stop_all_in_one_frame(
    harness: &mut Harness<'static, App>,
    on: &[&dyn Fn() -> bool],
    by: StopSource,
    stop: impl FnOnce(&mut Harness<'static, App>),
) {
    enable_all(harness, on);
    let ids: Vec<DeviceId> = (1..).take(on.len()).map(DeviceId).collect();
    let stops = |h: &Harness<'static, App>, id| {
        session(h, id)
            .event_log
            .entries()
            .filter(|e| e.event == LoggedEvent::EmergencyStop { by })
            .count()
    };
    for &id in &ids {
        assert_eq!(stops(harness, id), 0, "{id:?} stopped before the stop");
    }
    stop(harness);
    harness.step();
    for &id in &ids {
        assert!(
            stops(harness, id) > 0,
            "{id:?}: not stopped in the frame of the stop"
        );
        let session = session(harness, id);
        assert!(
            session.stop_pending || !session.output_enabled(),
            "{id:?}: no ENABLE 0 went out in the frame of the stop"
        );
    }
    step_until(harness, "every drive off", |_| on.iter().all(|on| !on()));
    step_until(harness, "the app to see every output off", |h| {
        ids.iter().all(|&id| !session(h, id).output_enabled())
    });
}

/// Two simulated drives, both on, then `stop`.
fn stop_disables_both(by: StopSource, stop: impl FnOnce(&mut Harness<'static, App>)) {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    let on: [&dyn Fn() -> bool; 2] = [&|| a.with_device(|d| d.enabled()), &|| {
        b.with_device(|d| d.enabled())
    }];
    stop_all_in_one_frame(&mut harness, &on, by, stop);
}

#[test]
fn two_devices_stream_at_once_each_into_its_own_history() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    let name = session(&harness, FIRST)
        .info
        .as_ref()
        .map(|i| i.name.clone())
        .expect("described");
    let devices = harness.state().devices();
    assert_eq!(devices.get(FIRST).map(|d| d.label()), Some(name.as_str()));
    let second = format!("{name} 2");
    assert_eq!(
        devices.get(SECOND).map(|d| d.label()),
        Some(second.as_str())
    );
    assert_ne!(
        devices.get(FIRST).map(|d| d.colour),
        devices.get(SECOND).map(|d| d.colour)
    );
    assert_eq!(session(&harness, SECOND).target().name(), b.path());

    let before = [newest(&harness, FIRST), newest(&harness, SECOND)];
    run_for(&mut harness, 0.6);
    let after = [newest(&harness, FIRST), newest(&harness, SECOND)];
    // Device time: the drive's own clock, 0.6 s of wall time and a little
    // less for the pty's and the frames' slack.
    for (id, (before, after)) in [FIRST, SECOND]
        .into_iter()
        .zip(before.into_iter().zip(after))
    {
        assert!(
            after - before > 0.3,
            "{id:?} streamed {:.3} s in 0.6 s",
            after - before
        );
        // Each device's clock is mapped onto the host's by its own link,
        // and the row says how well.
        let clock = session(&harness, id)
            .host_alignment()
            .expect("batches arrived");
        assert!(clock.spread_s >= 0.0 && clock.settled_s >= 0.0, "{clock:?}");
        assert!(clock.spread_s < 1.0, "{clock:?}");
    }
    let shown = harness
        .query_all_by(|node| {
            node.label()
                .or_else(|| node.value())
                .is_some_and(|text| text.starts_with("clock ±"))
        })
        .count();
    // As many as the rows' numbers (a label may show as more than one
    // node).
    let numbers = harness
        .query_all_by(|node| {
            node.label()
                .or_else(|| node.value())
                .is_some_and(|text| text == "#1" || text == "#2")
        })
        .count();
    assert!(numbers >= 2);
    assert_eq!(shown, numbers, "a clock for each row");
}

#[test]
fn the_emergency_stop_button_disables_every_device_in_one_frame() {
    stop_disables_both(StopSource::Button, |h| {
        h.get_by_label("EMERGENCY STOP").click_accesskit();
    });
}

#[test]
fn esc_disables_every_device_in_one_frame() {
    stop_disables_both(StopSource::EscKey, |h| h.key_press(egui::Key::Escape));
}

#[test]
fn esc_disables_a_native_drive_and_an_emulated_odrive_together() {
    let (native, odrive, mut harness) = native_beside_odrive();
    assert_eq!(session(&harness, SECOND).protocol, Some(Protocol::Odrive));
    let on: [&dyn Fn() -> bool; 2] = [&|| native.with_device(|d| d.enabled()), &|| {
        odrive.with_device(|d| d.axes[0].current_state == STATE_CLOSED_LOOP)
    }];
    stop_all_in_one_frame(&mut harness, &on, StopSource::EscKey, |h| {
        h.key_press(egui::Key::Escape);
    });
}

#[test]
fn both_axes_of_an_odrive_beside_a_drive_stop_together_in_one_frame() {
    let (native, odrive, mut harness) = native_beside_odrive();
    harness
        .get_by_role_and_label(Role::ComboBox, "ODrive axis")
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("axis1").click_accesskit();
    harness.run_steps(2);
    add_device(&mut harness, odrive.path(), None);
    let third = DeviceId(3);
    let names: Vec<String> = harness
        .state()
        .devices()
        .iter()
        .map(|d| d.label().to_owned())
        .collect();
    assert_eq!(names[1..], ["ODrive axis0", "ODrive axis1"]);
    // Each axis streams into its own history over the one port.
    let start = (newest(&harness, SECOND), newest(&harness, third));
    step_until(&mut harness, "both axes to stream on", |h| {
        newest(h, SECOND) > start.0 + 0.3 && newest(h, third) > start.1 + 0.3
    });
    let axis_on =
        |axis: usize| odrive.with_device(|d| d.axes[axis].current_state == STATE_CLOSED_LOOP);
    let on: [&dyn Fn() -> bool; 3] = [
        &|| native.with_device(|d| d.enabled()),
        &|| axis_on(0),
        &|| axis_on(1),
    ];
    stop_all_in_one_frame(&mut harness, &on, StopSource::EscKey, |h| {
        h.key_press(egui::Key::Escape);
    });
    for id in [SECOND, third] {
        let (health, _, _) = session(&harness, id).health().expect("a link");
        assert_eq!(
            (health.crc_errors, health.message_errors),
            (0, 0),
            "{id:?}: every reply went to the axis that asked"
        );
    }
}

#[test]
fn disconnecting_one_device_leaves_the_other_streaming() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    harness
        .get_by_label("Disconnect device 2")
        .click_accesskit();
    harness.run_steps(2);
    let devices = harness.state().devices();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices.selected_id(), Some(FIRST), "the one left is shown");

    let before = newest(&harness, FIRST);
    run_for(&mut harness, 0.4);
    assert!(
        newest(&harness, FIRST) - before > 0.2,
        "the first stopped streaming"
    );
    assert!(session(&harness, FIRST).is_connected());
    // One device left: the list folds away, the bar's controls stay.
    assert!(harness.query_by_label("Select device 1").is_none());
    harness.get_by_label("Disconnect");
}

#[test]
fn losing_one_link_says_so_and_leaves_the_other_streaming() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    // The first is shown: the loss is of a device in the background.
    select(&mut harness, FIRST);
    b.stop().expect("the second device goes away");
    let before = newest(&harness, FIRST);
    step_until(&mut harness, "the second's loss", |h| {
        matches!(
            session(h, SECOND).state,
            ConnectionState::Reconnecting { .. }
        )
    });
    harness.step();
    assert!(
        harness.query_by_label_contains("link lost").is_some(),
        "its row says the link is lost"
    );
    let logged = session(&harness, SECOND)
        .event_log
        .entries()
        .any(|e| matches!(e.event, LoggedEvent::ConnectionLost { .. }));
    assert!(logged, "the loss is in the second's event log");

    run_for(&mut harness, 0.4);
    assert!(
        session(&harness, FIRST).is_connected(),
        "the first is undisturbed"
    );
    assert!(
        newest(&harness, FIRST) - before > 0.2,
        "the first stopped streaming"
    );
    assert_eq!(harness.state().devices().selected_id(), Some(FIRST));
}

#[test]
fn selecting_a_device_moves_the_panes_and_their_writes_to_it() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    select(&mut harness, FIRST);
    assert_eq!(
        harness.state().session().map(|s| s.target().name()),
        Some(a.path())
    );
    select(&mut harness, SECOND);
    assert_eq!(
        harness.state().session().map(|s| s.target().name()),
        Some(b.path())
    );
    // The parameters pane now writes to the second device only.
    harness
        .get_by_role_and_label(Role::Slider, "pos.kp")
        .set_value_accesskit(50.0);
    harness.step();
    step_until(&mut harness, "the second to take kp", |_| {
        b.with_device(|d| d.sets_received()).contains(&(KP, 50.0))
    });
    run_for(&mut harness, 0.2);
    assert_eq!(
        a.with_device(|d| d.sets_received()),
        [],
        "the first was written"
    );
}

#[test]
fn a_label_typed_for_a_device_sticks() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    harness
        .get_by_role_and_label(Role::TextInput, "Label of device 2")
        .set_text_value_accesskit("Load motor");
    harness.run_steps(2);
    // The keyboard goes elsewhere; frames pass, the description arrives
    // again with every frame's events: the label stays.
    harness.key_press(egui::Key::Tab);
    run_for(&mut harness, 0.2);
    let devices = harness.state().devices();
    assert_eq!(devices.get(SECOND).map(|d| d.label()), Some("Load motor"));
    assert_ne!(devices.get(FIRST).map(|d| d.label()), Some("Load motor"));
    // The controls keep their names by number.
    harness.get_by_label("Select device 2");
    assert_eq!(
        harness
            .get_by_role_and_label(Role::TextInput, "Label of device 2")
            .value()
            .as_deref(),
        Some("Load motor")
    );

    // A label another device carries, or one a column name could not
    // hold, is refused with why; the device keeps its label.
    for (typed, why) in [
        ("Load motor", "another device is labelled \"Load motor\""),
        ("axis.1", "holds '.'"),
    ] {
        harness
            .get_by_role_and_label(Role::TextInput, "Label of device 1")
            .set_text_value_accesskit(typed);
        harness.run_steps(2);
        let shown = harness
            .query_all_by(|node| {
                node.label()
                    .or_else(|| node.value())
                    .is_some_and(|text| text.contains(why))
            })
            .count();
        assert!(shown > 0, "{why:?} is not shown");
        let devices = harness.state().devices();
        assert_ne!(devices.get(FIRST).map(|d| d.label()), Some(typed));
    }
}

#[test]
fn switching_device_leaves_the_auto_tune_work_of_the_last_one_with_it() {
    let (_native, _odrive, mut harness) = native_beside_odrive();
    assert_eq!(harness.state().devices().selected_id(), Some(SECOND));
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the ODrive's output on", |h| {
        h.state()
            .session()
            .is_some_and(DeviceSession::output_enabled)
    });
    harness.get_by_label("Auto-tune").click();
    harness.step();
    harness.get_by_label("Guided (ODrive manual)").click();
    harness.step();
    harness
        .get_by_label("Start guided tuning")
        .click_accesskit();
    harness.step();
    assert!(
        harness.state().guided_tuning().is_some(),
        "started on the ODrive"
    );
    // The ODrive's guided procedure is its own: the native drive shown
    // next does not inherit it.
    harness.get_by_label("Select device 1").click_accesskit();
    harness.run_steps(2);
    assert_eq!(harness.state().devices().selected_id(), Some(FIRST));
    assert!(harness.state().guided_tuning().is_none());
    // Shown again, the ODrive has its procedure back.
    select(&mut harness, SECOND);
    assert!(
        harness.state().guided_tuning().is_some(),
        "the ODrive's guided procedure was lost"
    );
}

fn kp_of(server: &PtyServer) -> f64 {
    server.with_device(|d| d.drive.config.gains.kp)
}

#[test]
fn a_machine_profile_saves_every_device_and_loads_onto_each_by_label() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    set_slider(&mut harness, "pos.kp", 25.0);
    wait_settled(&mut harness);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gantry.toml");
    type_into(&mut harness, "Profile name", "gantry");
    type_into(&mut harness, "Profile file", &path.display().to_string());
    harness.get_by_label("Save all devices").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains("gains and settings of 2 devices to");
    let text = std::fs::read_to_string(&path).expect("saved");
    let saved = DevicesProfile::from_toml(&text, "gantry.toml").expect("a machine's profile");
    let labels: Vec<&str> = saved.devices.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(
        labels,
        ["motiontune simulated drive", "motiontune simulated drive 2"]
    );

    // Both gains move, each on its own device.
    set_slider(&mut harness, "pos.kp", 30.0);
    wait_settled(&mut harness);
    select(&mut harness, FIRST);
    set_slider(&mut harness, "pos.kp", 15.0);
    wait_settled(&mut harness);
    assert_eq!((kp_of(&a), kp_of(&b)), (15.0, 30.0));

    harness.get_by_label("Load profile").click_accesskit();
    harness.run_steps(3);
    harness.get_by_label("pos.kp: 15 -> 20 A/rad");
    harness.get_by_label("pos.kp: 30 -> 25 A/rad");
    run_for(&mut harness, 0.2);
    assert_eq!((kp_of(&a), kp_of(&b)), (15.0, 30.0), "shown, not written");
    harness
        .get_by_label("Write 2 changes to 2 devices")
        .click_accesskit();
    harness.run_steps(3);
    wait_settled(&mut harness);
    step_until(&mut harness, "both devices written", |_| {
        (kp_of(&a), kp_of(&b)) == (20.0, 25.0)
    });
    harness.get_by_label_contains("Sent 2 changes to 2 devices");

    // More than a factor of 3 on one device: nothing is written to either.
    // (The slider moves there in two writes the guard lets through.)
    for kp in [10.0, 5.0] {
        set_slider(&mut harness, "pos.kp", kp);
        wait_settled(&mut harness);
    }
    assert_eq!(kp_of(&a), 5.0);
    harness.get_by_label("Load profile").click_accesskit();
    harness.run_steps(3);
    harness
        .get_by_label("Write 1 changes to 1 devices")
        .click_accesskit();
    harness.run_steps(3);
    harness.get_by_label_contains("Nothing was written to any device: motiontune simulated drive:");
    run_for(&mut harness, 0.2);
    assert_eq!((kp_of(&a), kp_of(&b)), (5.0, 25.0));
}

#[test]
fn a_step_test_on_one_device_while_the_other_streams_on() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the second drive's output on", |_| {
        b.with_device(|d| d.enabled())
    });
    harness.get_by_label("Amplitude").set_value_accesskit(0.2);
    harness.get_by_label("Hold").set_value_accesskit(0.3);
    harness.step();
    let first_before = newest(&harness, FIRST);
    harness.get_by_label("Run step test").click();
    harness.step();
    step_until(&mut harness, "the step test to end", |h| {
        session(h, SECOND)
            .procedures
            .last(ProcedureKind::StepTest)
            .is_some_and(|r| r.is_done())
    });
    harness.step();
    // The step ran on the shown device only; the other kept streaming,
    // its output off, nothing lost.
    assert_eq!(harness.state().runs().runs().len(), 1);
    assert!(
        !a.with_device(|d| d.enabled()),
        "the first drive was never enabled"
    );
    assert!(
        newest(&harness, FIRST) > first_before + 0.3,
        "the first device's stream went on during the step"
    );
    let lost = session(&harness, FIRST)
        .health()
        .map_or(0, |(health, _, _)| health.lost_samples);
    assert_eq!(lost, 0);
}

#[test]
fn one_click_steps_every_device_whose_output_is_on() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    harness.get_by_label("Amplitude").set_value_accesskit(0.2);
    harness.get_by_label("Hold").set_value_accesskit(0.3);
    harness.step();
    // Only the second drive's output is on: the first is named, not
    // stepped.
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the second drive's output on", |h| {
        session(h, SECOND).output_enabled()
    });
    harness
        .get_by_label("Run on every device")
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains("not on motiontune simulated drive: the drive's output is off");
    let done = |h: &Harness<'static, App>, id| {
        session(h, id)
            .procedures
            .last(ProcedureKind::StepTest)
            .is_some_and(|r| r.is_done())
    };
    step_until(&mut harness, "the second drive's step", |h| done(h, SECOND));
    assert!(!done(&harness, FIRST) && !a.with_device(|d| d.enabled()));

    // Both on: one click starts both in the same frame, each kept as its
    // own run.
    select(&mut harness, FIRST);
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the first drive's output on", |h| {
        session(h, FIRST).output_enabled()
    });
    let runs_before = harness.state().runs().runs().len();
    harness
        .get_by_label("Run on every device")
        .click_accesskit();
    harness.run_steps(2);
    assert!(
        [FIRST, SECOND]
            .iter()
            .all(|&id| session(&harness, id).procedure_running()),
        "both started in one frame"
    );
    harness.get_by_label_contains(
        "Started on motiontune simulated drive, motiontune simulated drive 2",
    );
    // Adding a device would show it, switching the panes mid-procedure.
    assert!(
        harness
            .get_by_label("Add device")
            .accesskit_node()
            .is_disabled(),
        "Add device is off while the shown device steps"
    );
    step_until(&mut harness, "both steps", |h| {
        done(h, FIRST) && done(h, SECOND)
    });
    harness.step();
    assert_eq!(harness.state().runs().runs().len(), runs_before + 2);
    // How far apart the two first steps were, on the host clock: both
    // written at one shared instant, each link's loop a few ms apart at
    // most, and measured where each reference showed it.
    let node = harness.get_by_label_contains("ms apart on the host clock");
    let node = node.accesskit_node();
    let said = node.label().or_else(|| node.value()).unwrap_or_default();
    let apart_ms: f64 = said
        .split("first steps ")
        .nth(1)
        .and_then(|rest| rest.split(" ms").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no figure in {said:?}"));
    eprintln!("{said}");
    assert!((0.0..100.0).contains(&apart_ms), "{said}");
}
