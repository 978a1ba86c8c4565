//! The workspace a user lives in, driven headless through the real `App`:
//! panes resize and the scope keeps its minimum at 1280×720, what the user
//! set up survives a restart (and a stored file from an older version or a
//! corrupt one loads the defaults), a typed port path connects, and a still
//! view asks for no frames of its own.
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::{Memory, step_until, wait_connected};
use eframe::App as _;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::view::Theme;
use motiontune::app::workspace::{Pane, SCOPE_MIN};
use motiontune::app::{App, AppOptions};
use motiontune::link::STREAM_WAKE;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;

/// The app on the built-in drive in a window of `size`, from `storage`.
fn app(size: egui::Vec2, options: AppOptions, storage: Option<&Memory>) -> Harness<'static, App> {
    let stored = storage.map(|s| Memory(s.0.clone()));
    let mut harness = Harness::builder().with_size(size).build_eframe(move |cc| {
        App::with_storage(
            cc,
            options,
            stored.as_ref().map(|s| s as &dyn eframe::Storage),
        )
    });
    harness.step();
    harness
}

fn small() -> egui::Vec2 {
    egui::vec2(1280.0, 720.0)
}

fn sim() -> AppOptions {
    AppOptions {
        stream_divider: 10,
        ..AppOptions::default()
    }
}

/// Drags the pointer from `from` to `to` over a few frames.
fn drag(harness: &mut Harness<'static, App>, from: egui::Pos2, to: egui::Pos2) {
    harness.hover_at(from);
    harness.step();
    harness.drag_at(from);
    harness.step();
    for i in 1..=8 {
        let at = from + (to - from) * (i as f32 / 8.0);
        harness.hover_at(at);
        harness.step();
    }
    harness.drop_at(to);
    harness.run_steps(3);
}

fn rect(harness: &Harness<'static, App>, pane: Pane) -> egui::Rect {
    harness
        .state()
        .workspace()
        .rect(pane)
        .unwrap_or_else(|| panic!("{pane:?} is not shown"))
}

#[test]
fn panes_resize_and_the_scope_keeps_its_minimum_at_1280_by_720() {
    let mut harness = app(small(), sim(), None);
    wait_connected(&mut harness);
    harness.run_steps(3);
    let scope = rect(&harness, Pane::Scope);
    let parameters = rect(&harness, Pane::Parameters);
    assert!(
        scope.width() >= SCOPE_MIN.x && scope.height() >= SCOPE_MIN.y,
        "the default layout crushes the scope at 1280×720: {scope:?}"
    );

    // The edge between the parameters and the scope, dragged right by 100
    // points, widens the parameters.
    let edge = egui::pos2((parameters.right() + scope.left()) / 2.0, scope.center().y);
    drag(&mut harness, edge, edge + egui::vec2(100.0, 0.0));
    let wider = rect(&harness, Pane::Parameters);
    assert!(
        wider.width() > parameters.width() + 60.0,
        "the pane did not resize: {parameters:?} -> {wider:?}"
    );

    // Dragged on, right across the scope, it stops where the scope keeps
    // its minimum width.
    let edge = egui::pos2(
        (wider.right() + rect(&harness, Pane::Scope).left()) / 2.0,
        scope.center().y,
    );
    drag(&mut harness, edge, egui::pos2(1250.0, edge.y));
    harness.run_steps(3);
    let squeezed = rect(&harness, Pane::Scope);
    assert!(
        squeezed.width() >= SCOPE_MIN.x - 1.0,
        "the scope was crushed to {squeezed:?}"
    );

    // The edge above the procedures, dragged up to the top bar, leaves the
    // scope its minimum height.
    let procedures = rect(&harness, Pane::StepTest);
    let edge = egui::pos2(squeezed.center().x, procedures.top() - 26.0);
    drag(&mut harness, edge, egui::pos2(edge.x, 60.0));
    harness.run_steps(3);
    let squeezed = rect(&harness, Pane::Scope);
    assert!(
        squeezed.height() >= SCOPE_MIN.y - 1.0,
        "the scope was crushed to {squeezed:?}"
    );
}

#[test]
fn reset_layout_brings_back_a_closed_pane() {
    let mut harness = app(small(), sim(), None);
    wait_connected(&mut harness);
    // The Runs pane's tab has a close button of its own.
    let runs_tab = harness.get_by_label("Runs").rect();
    let closes: Vec<egui::Rect> = harness
        .get_all_by_label("Close")
        .map(|n| n.rect())
        .collect();
    let close = closes
        .into_iter()
        .find(|c| runs_tab.contains(c.center()))
        .expect("the Runs tab's close button");
    harness.hover_at(close.center());
    harness.step();
    harness.drag_at(close.center());
    harness.step();
    harness.drop_at(close.center());
    harness.run_steps(2);
    assert_eq!(harness.state().workspace().closed(), vec![Pane::Runs]);
    assert!(harness.query_by_label("Runs").is_none());

    harness.get_by_label("View").click();
    harness.run_steps(2);
    harness.get_by_label("Reset layout").click_accesskit();
    harness.run_steps(2);
    assert!(harness.state().workspace().closed().is_empty());
    harness.get_by_label("Runs");
}

#[test]
fn what_the_user_set_up_survives_a_restart() {
    let mut harness = app(small(), sim(), None);
    wait_connected(&mut harness);
    harness.get_by_label("View").click();
    harness.run_steps(2);
    harness.get_by_label("Light").click_accesskit();
    harness.run_steps(2);
    if harness.query_by_label("30").is_none() {
        harness.get_by_label("View").click();
        harness.run_steps(2);
    }
    harness.get_by_label("30").click_accesskit();
    harness.run_steps(2);
    harness.key_press(egui::Key::Escape);
    harness.step();
    harness.get_by_label("Amplitude").set_value_accesskit(0.3);
    harness.run_steps(2);
    let mut storage = Memory::default();
    harness.state_mut().save(&mut storage);
    let before = harness.state().settings();
    drop(harness);

    let harness = app(small(), sim(), Some(&storage));
    assert_eq!(harness.state().settings_problem(), None);
    let after = harness.state().settings();
    assert_eq!(after.view.theme, Theme::Light);
    assert_eq!(after.view.max_fps, 30);
    assert_eq!(after.step_plan.amplitude, 0.3);
    assert_eq!(after.connection, before.connection);
}

#[test]
fn a_corrupt_stored_file_is_reported_once_and_the_defaults_used() {
    let mut storage = Memory::default();
    storage.0.insert(
        "motiontune settings".to_owned(),
        "{\"view\": {\"max_fps\": ".to_owned(),
    );
    let mut harness = app(small(), sim(), Some(&storage));
    wait_connected(&mut harness);
    let problem = harness
        .state()
        .settings_problem()
        .expect("reported")
        .to_owned();
    assert!(
        problem.starts_with("stored settings unreadable"),
        "{problem}"
    );
    harness.get_by_label(&problem);
    assert!(harness.state().workspace().closed().is_empty());
    harness.get_by_label("Dismiss").click();
    harness.run_steps(2);
    assert!(harness.query_by_label(&problem).is_none());

    // A file from an older version: what it has is used, the rest defaults.
    let mut storage = Memory::default();
    storage.0.insert(
        "motiontune settings".to_owned(),
        r#"{"view": {"max_fps": 15}, "gone_setting": true}"#.to_owned(),
    );
    let harness = app(small(), sim(), Some(&storage));
    assert_eq!(harness.state().settings_problem(), None);
    assert_eq!(harness.state().settings().view.max_fps, 15);
    assert!(harness.state().workspace().closed().is_empty());
}

#[test]
fn a_typed_port_path_connects_and_is_remembered() {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available");
    let mut harness = app(small(), sim(), None);
    wait_connected(&mut harness);
    harness.get_by_label("Disconnect").click();
    harness.run_steps(2);

    harness
        .get_by_role_and_label(Role::TextInput, "Port")
        .set_text_value_accesskit(server.path());
    harness.run_steps(2);
    harness.get_by_label("Connect").click();
    harness.step();
    wait_connected(&mut harness);
    let session = harness.state().session().expect("a session");
    assert_eq!(session.target().name(), server.path());
    step_until(&mut harness, "the device to be asked to stream", |_| {
        server.with_device(|d| d.stream_divider()) == 10
    });
    assert_eq!(
        harness
            .state()
            .settings()
            .connection
            .recent
            .first()
            .map(String::as_str),
        Some(server.path())
    );
}

#[test]
fn a_still_view_asks_for_no_frames_of_its_own() {
    let mut harness = app(small(), sim(), None);
    wait_connected(&mut harness);
    harness.run_steps(2);
    assert!(
        harness.state().next_frame().is_some(),
        "a followed live view moves"
    );

    harness.get_by_label("Freeze").click();
    harness.run_steps(2);
    assert!(!harness.state().scope_follows());
    assert_eq!(harness.state().next_frame(), None, "a frozen view is still");

    harness.get_by_label("Disconnect").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().next_frame(),
        None,
        "a disconnected app is still"
    );
}

/// A frozen view draws only when the link wakes it, every
/// [`STREAM_WAKE`] for the stream: the frame it then draws takes the whole
/// backlog of the full-rate stream, and no sample is dropped.
#[test]
fn a_still_app_woken_by_the_stream_takes_every_sample() {
    let mut harness = app(
        small(),
        AppOptions {
            stream_divider: 1,
            ..AppOptions::default()
        },
        None,
    );
    wait_connected(&mut harness);
    harness.get_by_label("Freeze").click();
    harness.run_steps(2);
    for _ in 0..2 {
        std::thread::sleep(STREAM_WAKE + Duration::from_millis(500));
        harness.step();
        let session = harness.state().session().expect("a session");
        assert_eq!(session.dropped_samples, 0, "samples dropped unread");
        assert!(
            session.event_backlog() < 2_000,
            "the frame left {} events waiting",
            session.event_backlog()
        );
    }
}

#[test]
fn the_shortcuts_sheet_opens_on_f1() {
    let mut harness = app(small(), sim(), None);
    harness.key_press(egui::Key::F1);
    harness.run_steps(2);
    harness.get_by_label("Keyboard shortcuts");
    harness.get_by_label("Emergency stop: output off, whatever has the keyboard");
}
