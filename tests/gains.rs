//! The tuning workflow's safety and bookkeeping, on the real `App` driven
//! headless against the simulated drive behind a real pty: gain history
//! with undo, redo and restore; profiles saved, loaded, diffed and written
//! only after confirmation; rate-limited slider drags; the confirmation
//! gate for large changes; the fault banner; ENABLE 0 on close.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::{
    app_on_port, run_for, set_slider, step_until, type_into, wait_connected, wait_settled,
};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::App;
use motiontune::profile::Profile;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;

fn serve_with(settings: DeviceSettings) -> PtyServer {
    PtyServer::start(SimDevice::new(DriveConfig::default(), settings)).expect("pty available")
}

fn serve() -> PtyServer {
    serve_with(DeviceSettings::default())
}

fn connected(server: &PtyServer) -> Harness<'static, App> {
    let mut harness = app_on_port(server.path());
    wait_connected(&mut harness);
    harness
}

fn kp(server: &PtyServer) -> f64 {
    server.with_device(|d| d.drive.config.gains.kp)
}

fn ki(server: &PtyServer) -> f64 {
    server.with_device(|d| d.drive.config.gains.ki)
}

/// Replaces the text of the field labelled `label`.
/// Confirmed writes of `name` the app has seen.
fn confirmed_writes(harness: &Harness<'static, App>, name: &str) -> usize {
    harness
        .state()
        .session()
        .map_or(0, |s| s.writes.iter().filter(|w| w.name == name).count())
}

#[test]
fn undo_redo_and_restore_step_through_gain_sets() {
    let server = serve();
    let mut harness = connected(&server);
    set_slider(&mut harness, "pos.kp", 30.0);
    wait_settled(&mut harness);
    set_slider(&mut harness, "pos.ki", 40.0);
    wait_settled(&mut harness);
    assert_eq!((kp(&server), ki(&server)), (30.0, 40.0));

    // The timeline shows each write, old -> new; the sets show each step.
    harness.get_by_label_contains("pos.kp: 20 -> 30 A/rad");
    harness.get_by_label_contains("pos.ki: 20 -> 40");
    harness.get_by_label("Set 1: as connected");
    harness.get_by_label("Set 2: pos.kp 20 -> 30");
    harness.get_by_label("Set 3: pos.ki 20 -> 40");
    let gains = harness.state().session().expect("session").gain_set();
    assert!(gains.contains(&("pos.kp".to_owned(), 30.0)));
    assert!(gains.iter().all(|(name, _)| name != "pos.setpoint"));

    harness.get_by_label("Undo gain change").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!((kp(&server), ki(&server)), (30.0, 20.0));

    harness.get_by_label("Redo gain change").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!((kp(&server), ki(&server)), (30.0, 40.0));

    // One click takes both gains back to the connected set, as a new set
    // at the top; the sets after set 1 all stay.
    harness.get_by_label("Restore set 1").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!((kp(&server), ki(&server)), (20.0, 20.0));
    harness.get_by_label("Set 4: restored set 1: pos.kp 30 -> 20, pos.ki 40 -> 20");
    harness.get_by_label("Set 3: pos.ki 20 -> 40");
    harness.get_by_label("Set 2: pos.kp 20 -> 30");
    // Undo goes back to where the restore came from.
    harness.get_by_label("Undo gain change").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!((kp(&server), ki(&server)), (30.0, 40.0));
}

#[test]
fn a_loaded_profile_lists_its_changes_and_refusals_and_writes_only_on_confirm() {
    let server = serve();
    let mut harness = connected(&server);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("faster.toml");
    std::fs::write(
        &path,
        r#"name = "faster"
device = "motiontune simulated drive"
firmware = "sim"
saved = "2026-11-27T03:00:00Z"

[[param]]
name = "pos.kp"
value = 35.0
unit = "A/rad"

[[param]]
name = "pos.kx"
value = 1.0

[[param]]
name = "pos.ki"
value = 1000000.0

[[param]]
name = "plant.resonance"
value = 3.0
"#,
    )
    .expect("profile written");

    type_into(&mut harness, "Profile file", &path.display().to_string());
    harness.get_by_label("Load profile").click_accesskit();
    harness.run_steps(2);

    harness.get_by_label("pos.kp: 20 -> 35 A/rad");
    harness.get_by_label("pos.kx: the device has no such parameter");
    harness.get_by_label_contains("pos.ki: 1000000 is outside the device's limits 0");
    harness.get_by_label("plant.resonance: not loaded from a profile: it is read-only");
    harness.get_by_label("3 entries are refused and will not be written:");
    run_for(&mut harness, 0.3);
    assert_eq!(
        kp(&server),
        20.0,
        "nothing is written before the confirmation"
    );
    assert_eq!(ki(&server), 20.0);

    harness.get_by_label("Write 1 changes").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!(kp(&server), 35.0);
    assert_eq!(ki(&server), 20.0);
    harness.get_by_label_contains("Sent 1 changes from");
}

#[test]
fn a_saved_profile_holds_every_gain_and_setting_with_its_unit() {
    let server = serve();
    let mut harness = connected(&server);
    set_slider(&mut harness, "pos.kp", 25.0);
    wait_settled(&mut harness);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("saved.toml");
    type_into(&mut harness, "Profile name", "bench");
    type_into(&mut harness, "Profile file", &path.display().to_string());
    harness.get_by_label("Save profile").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains("Saved 14 gains and settings to");

    let profile = Profile::load(&path).expect("the saved profile loads");
    assert_eq!(profile.name, "bench");
    assert_eq!(profile.device, "motiontune simulated drive");
    // The sim's 28 parameters but the setpoint, the read-only resonance,
    // the relay mode's five and the excitation's seven (modes).
    assert_eq!(profile.params.len(), 14);
    assert!(
        profile.params.iter().all(|p| p.name != "pos.setpoint"
            && p.name != "plant.resonance"
            && !p.name.starts_with("relay.")),
        "{:?}",
        profile.params
    );
    let kp = profile
        .params
        .iter()
        .find(|p| p.name == "pos.kp")
        .expect("kp saved");
    assert_eq!((kp.value, kp.unit.as_str()), (25.0, "A/rad"));
}

#[test]
fn a_bad_profile_is_one_line_naming_the_file_and_line() {
    let server = serve();
    let mut harness = connected(&server);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, "name = \"x\"\ndevice = \"d\"\nfirmware = \"f\"\nsaved = \"s\"\n[[param]]\nname = \"pos.kp\"\nvalue = fast\n")
        .expect("file written");
    type_into(&mut harness, "Profile file", &path.display().to_string());
    harness.get_by_label("Load profile").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains(&format!("{}: line 7:", path.display()));
    assert!(harness.query_by_label_contains(" changes").is_none());
}

#[test]
fn a_large_change_waits_for_confirmation() {
    let server = serve();
    let mut harness = connected(&server);

    // ×10 is more than the default ×3 per write of a log-scale gain.
    set_slider(&mut harness, "pos.kp", 200.0);
    harness.run_steps(2);
    harness.get_by_label("Confirm large change");
    harness.get_by_label("pos.kp: 20 -> 200 A/rad");
    run_for(&mut harness, 0.3);
    assert_eq!(
        kp(&server),
        20.0,
        "nothing is written before the confirmation"
    );
    assert_eq!(confirmed_writes(&harness, "pos.kp"), 0);

    harness.get_by_label("Cancel").click_accesskit();
    harness.run_steps(2);
    assert!(harness.query_by_label("Confirm large change").is_none());
    run_for(&mut harness, 0.2);
    assert_eq!(kp(&server), 20.0);

    set_slider(&mut harness, "pos.kp", 200.0);
    harness.run_steps(2);
    harness
        .get_by_label("Confirm large change")
        .click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!(kp(&server), 200.0);

    // Undo is the same jump back, through the same gate.
    harness.get_by_label("Undo gain change").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("pos.kp: 200 -> 20 A/rad");
    run_for(&mut harness, 0.2);
    assert_eq!(kp(&server), 200.0);
    harness
        .get_by_label("Confirm large change")
        .click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    assert_eq!(kp(&server), 20.0);

    // A raised limit lets the same jump through at once.
    harness.get_by_label("Write safety").click_accesskit();
    harness.run_steps(2);
    type_into(&mut harness, "Max change pos.kp", "20");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    set_slider(&mut harness, "pos.kp", 200.0);
    harness.run_steps(2);
    assert!(harness.query_by_label("Confirm large change").is_none());
    wait_settled(&mut harness);
    assert_eq!(kp(&server), 200.0);
}

/// Drags the `name` slider from `from` to `to` (shares of its width) in
/// `moves` pointer moves, one frame and ~10 ms apart; returns the seconds
/// the drag took.
fn drag_slider(
    harness: &mut Harness<'static, App>,
    name: &str,
    from: f32,
    to: f32,
    moves: usize,
) -> f64 {
    let rect = harness.get_by_role_and_label(Role::Slider, name).rect();
    let at = |share: f32| egui::pos2(rect.left() + share * rect.width(), rect.center().y);
    let started = Instant::now();
    harness.hover_at(at(from));
    harness.step();
    harness.drag_at(at(from));
    harness.step();
    for i in 1..=moves {
        let share = from + (to - from) * i as f32 / moves as f32;
        harness.hover_at(at(share));
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.drop_at(at(to));
    harness.step();
    started.elapsed().as_secs_f64()
}

#[test]
fn a_held_slider_writes_at_the_configured_rate_and_sends_its_last_value() {
    let server = serve();
    let mut harness = connected(&server);
    harness.get_by_label("Write safety").click_accesskit();
    harness.run_steps(2);
    type_into(&mut harness, "Writes while dragging", "5");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);

    let moves = 80;
    let seconds = drag_slider(&mut harness, "pos.output_limit", 0.3, 0.5, moves);
    wait_settled(&mut harness);

    let writes = confirmed_writes(&harness, "pos.output_limit");
    // The first move is sent at once, then one per 1/5 s, then the release.
    let allowed = (seconds * 5.0).floor() as usize + 2;
    eprintln!("{writes} writes in {seconds:.2} s at 5 /s from {moves} moves");
    assert!(
        (2..=allowed).contains(&writes),
        "{writes} writes in {seconds:.2} s at 5 /s from {moves} moves"
    );
    let session = harness.state().session().expect("session");
    let last = session.writes.last().expect("a write");
    let device = server.with_device(|d| d.drive.config.gains.output_limit);
    assert_eq!(
        f64::from(last.value),
        device,
        "the value the slider ended on is sent"
    );
    assert!(
        device > 5.0,
        "the drag moved the limit up from 5 A: {device}"
    );

    // At 0 writes per second a drag writes once, when it is let go.
    type_into(&mut harness, "Writes while dragging", "0");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    let before = confirmed_writes(&harness, "pos.output_limit");
    drag_slider(&mut harness, "pos.output_limit", 0.5, 0.4, 30);
    wait_settled(&mut harness);
    assert_eq!(confirmed_writes(&harness, "pos.output_limit"), before + 1);
    let device = server.with_device(|d| d.drive.config.gains.output_limit);
    assert!(
        device < 10.0,
        "the release wrote where the drag ended: {device}"
    );
}

#[test]
fn a_watchdog_trip_shows_a_red_banner_until_acknowledged() {
    use std::sync::atomic::Ordering;

    // A real trip: the proxy drops the app's bytes, heartbeat and all,
    // as from a host that froze, while the device's replies still arrive.
    let server = serve_with(DeviceSettings {
        watchdog_ms: 100,
        ..DeviceSettings::default()
    });
    let proxy = common::Proxy::start(server.path());
    let host_frozen = |frozen: bool| proxy.faults.host_dropped.store(frozen, Ordering::Relaxed);
    let mut harness = app_on_port(&proxy.path);
    wait_connected(&mut harness);
    assert!(harness.query_by_label_contains("WATCHDOG TRIP").is_none());
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the output on", |_| {
        server.with_device(|d| d.enabled())
    });
    host_frozen(true);
    step_until(&mut harness, "the device's watchdog to trip", |_| {
        server.with_device(|d| d.watchdog_tripped())
    });
    host_frozen(false);
    step_until(&mut harness, "the banner", |h| {
        h.query_by_label_contains("WATCHDOG TRIP").is_some()
    });
    assert!(!server.with_device(|d| d.enabled()));

    harness.get_by_label("Acknowledge").click();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("WATCHDOG TRIP").is_none());

    // A new trip shows it again.
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the output on again", |_| {
        server.with_device(|d| d.enabled())
    });
    host_frozen(true);
    step_until(&mut harness, "the banner again", |h| {
        h.query_by_label_contains("WATCHDOG TRIP").is_some()
    });
}

#[test]
fn closing_the_app_disables_the_drive_before_the_port_closes() {
    let server = serve();
    let mut harness = connected(&server);
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "output enabled", |_| {
        server.with_device(|d| d.enabled())
    });

    drop(harness);
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.with_device(|d| d.enabled()) {
        assert!(Instant::now() < deadline, "the drive stayed enabled");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !server.with_device(|d| d.watchdog_tripped()),
        "the app must send ENABLE 0 itself, not leave it to the watchdog"
    );
}
