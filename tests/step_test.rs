//! The step test in the real `App`, driven headless against the simulated
//! drive behind a pty: a run measures the drive's step and restores its
//! setpoint; Abort and Esc stop a test at once; runs are compared in the
//! table, renamed, deleted, survive a restart of the app, and are offered
//! for export and import.
#![cfg(unix)]

mod common;

use common::{app_with, serial, step_until, wait_connected};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use motiontune::app::{App, AppOptions};
use motiontune::device::session::ProcedureKind;
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

fn app(server: &PtyServer, runs_file: &std::path::Path) -> Harness<'static, App> {
    let mut harness = app_with(AppOptions {
        target: serial(server.path()),
        stream_divider: 10,
        runs_file: Some(runs_file.to_path_buf()),
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    harness
}

fn enable_output(harness: &mut Harness<'static, App>, server: &PtyServer) {
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(harness, "output enabled", |_| {
        server.with_device(|d| d.enabled())
    });
    step_until(harness, "the app to see it", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
}

fn set_field(harness: &mut Harness<'static, App>, label: &str, value: f64) {
    harness.get_by_label(label).set_value_accesskit(value);
    harness.step();
}

fn run_count(harness: &Harness<'static, App>) -> usize {
    harness.state().runs().runs().len()
}

/// Clicks Run and waits until the test has ended and its steps are kept.
fn run_step_test(harness: &mut Harness<'static, App>, runs_before: usize, steps: usize) {
    harness.get_by_label("Run step test").click();
    harness.step();
    step_until(harness, "the step test to end", |h| {
        h.state().session().is_some_and(|s| {
            s.procedures
                .last(ProcedureKind::StepTest)
                .is_some_and(|r| r.is_done())
        })
    });
    harness.step();
    assert_eq!(run_count(harness), runs_before + steps);
}

fn overshoot(harness: &Harness<'static, App>, run: usize) -> f64 {
    harness.state().runs().runs()[run]
        .metric("overshoot")
        .expect("the step was measured")
}

#[test]
fn tuning_the_sim_from_its_ringing_defaults_to_under_five_percent_overshoot() {
    let server = serve();
    let folder = tempfile::tempdir().expect("temp dir");
    let runs_file = folder.path().join("runs.json");
    let mut harness = app(&server, &runs_file);
    enable_output(&mut harness, &server);
    set_field(&mut harness, "Amplitude", 0.5);
    set_field(&mut harness, "Hold", 0.8);

    run_step_test(&mut harness, 0, 1);
    let before = overshoot(&harness, 0);
    assert!(before > 30.0, "the default gains ring: {before} %");
    // The setpoint is back where it was, on the device itself.
    step_until(&mut harness, "the setpoint restored", |_| {
        server.with_device(|d| d.drive.config.setpoint) == 0.0
    });

    harness
        .get_by_role_and_label(Role::Slider, "pos.kd")
        .set_value_accesskit(0.8);
    harness.run_steps(2);
    // ×4 is more than one write may change a gain unasked.
    harness
        .get_by_label("Confirm large change")
        .click_accesskit();
    harness.step();
    step_until(&mut harness, "kd applied", |_| {
        server.with_device(|d| d.drive.config.gains.kd) == f64::from(0.8f32)
    });
    run_step_test(&mut harness, 1, 1);
    let after = overshoot(&harness, 1);
    assert!(after < 5.0, "kd = 0.8 damps the loop: {after} %");

    // Each run carries the gains in force when it was measured.
    let kd = |run: usize| {
        harness.state().runs().runs()[run]
            .gains
            .iter()
            .find(|g| g.name == "pos.kd")
            .map(|g| g.value)
    };
    assert_eq!((kd(0), kd(1)), (Some(0.2), Some(0.8)));
    // Both are overlaid under their names, and compared in the table.
    harness.get_by_label("run 1");
    harness.get_by_label("run 2");
    harness.get_by_label_contains("Overshoot [%]");
    // Four significant digits, as the table shows them.
    let shown = if after >= 1.0 {
        format!("{after:.3}")
    } else {
        format!("{after:.4}")
    };
    harness.get_by_label(&shown);
}

#[test]
fn up_then_down_with_repeats_measures_every_step() {
    let server = serve();
    let folder = tempfile::tempdir().expect("temp dir");
    let mut harness = app(&server, &folder.path().join("runs.json"));
    enable_output(&mut harness, &server);
    set_field(&mut harness, "Amplitude", 0.25);
    set_field(&mut harness, "Hold", 0.4);
    set_field(&mut harness, "Repeats", 2.0);
    harness.get_by_label("Direction").click();
    harness.step();
    harness.step();
    harness.get_by_label("up then down").click();
    harness.step();

    run_step_test(&mut harness, 0, 4);
    let steps: Vec<(f32, f32)> = harness
        .state()
        .runs()
        .runs()
        .iter()
        .map(|r| (r.from, r.to))
        .collect();
    assert_eq!(steps, [(0.0, 0.25), (0.25, 0.0), (0.0, 0.25), (0.25, 0.0)]);
}

#[test]
fn abort_and_escape_stop_the_test_and_restore_the_setpoint() {
    let server = serve();
    let folder = tempfile::tempdir().expect("temp dir");
    let mut harness = app(&server, &folder.path().join("runs.json"));
    enable_output(&mut harness, &server);
    set_field(&mut harness, "Hold", 30.0);

    harness.get_by_label("Run step test").click();
    harness.step();
    step_until(&mut harness, "the step on the device", |_| {
        server.with_device(|d| d.drive.config.setpoint) == 1.0
    });
    harness.get_by_label("Abort step test").click();
    harness.step();
    step_until(&mut harness, "the setpoint restored", |_| {
        server.with_device(|d| d.drive.config.setpoint) == 0.0
    });
    // The test runs on the link thread: its end reaches the app after the
    // restoring write has gone out.
    step_until(&mut harness, "the app to see the test end", |h| {
        h.state().session().is_some_and(|s| {
            s.procedures
                .last(ProcedureKind::StepTest)
                .is_some_and(|r| r.is_done())
        })
    });
    harness.step();
    harness.get_by_label_contains("Aborted; setpoint restored to 0");
    assert!(
        server.with_device(|d| d.enabled()),
        "Abort leaves the drive on"
    );
    // The frame that handled the click still drew the Abort button.
    harness.step();

    harness.get_by_label("Run step test").click();
    harness.step();
    step_until(&mut harness, "the step on the device", |_| {
        server.with_device(|d| d.drive.config.setpoint) == 1.0
    });
    harness.key_press(egui::Key::Escape);
    harness.step();
    step_until(&mut harness, "Esc to stop the drive and restore", |_| {
        server.with_device(|d| !d.enabled() && d.drive.config.setpoint == 0.0)
    });
    assert_eq!(run_count(&harness), 0, "no step was held to its end");
}

#[test]
fn runs_are_renamed_deleted_and_survive_a_restart() {
    let server = serve();
    let folder = tempfile::tempdir().expect("temp dir");
    let runs_file = folder.path().join("runs.json");
    {
        let mut harness = app(&server, &runs_file);
        enable_output(&mut harness, &server);
        set_field(&mut harness, "Hold", 0.3);
        set_field(&mut harness, "Repeats", 2.0);
        run_step_test(&mut harness, 0, 2);

        harness.get_by_label("Name of run 1").focus();
        harness.step();
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        harness.get_by_label("Name of run 1").type_text("baseline");
        harness.step();
        harness.get_by_label("Show run 2").click();
        harness.step();
        assert!(!harness.state().runs().runs()[1].visible);
        harness.get_by_label("Delete run 2").click();
        harness.step();
        let names: Vec<String> = harness
            .state()
            .runs()
            .runs()
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(names, ["baseline"]);
        harness.state().runs().flush();
    }
    let harness = app(&server, &runs_file);
    let runs = harness.state().runs().runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].name, "baseline");
    assert!(runs[0].metric("rise_time").is_some());
    harness.get_by_label("baseline");
}

#[test]
fn an_unreadable_runs_file_is_reported_and_kept() {
    let server = serve();
    let folder = tempfile::tempdir().expect("temp dir");
    let runs_file = folder.path().join("runs.json");
    std::fs::write(&runs_file, "not json").expect("write");
    let harness = app(&server, &runs_file);
    harness.get_by_label_contains("cannot read step runs from");
    assert_eq!(
        std::fs::read_to_string(&runs_file).expect("kept"),
        "not json"
    );
}

#[test]
fn run_waits_for_the_output_to_be_enabled() {
    let server = serve();
    let folder = tempfile::tempdir().expect("temp dir");
    let mut harness = app(&server, &folder.path().join("runs.json"));
    harness.get_by_label("Run step test").click();
    harness.step();
    assert!(
        harness
            .state()
            .session()
            .is_some_and(|s| s.procedures.last(ProcedureKind::StepTest).is_none())
    );
    assert_eq!(server.with_device(|d| d.drive.config.setpoint), 0.0);
}

/// A kept run of `device` in `unit`, as a runs file holds it.
fn kept_run(id: u64, device: &str, unit: &str) -> motiontune::record::StepRun {
    motiontune::record::StepRun {
        id,
        name: format!("{device} run"),
        visible: true,
        recorded_at: "2026-12-06T12:00:00Z".into(),
        device: device.into(),
        from: 0.0,
        to: 0.5,
        signal_unit: unit.into(),
        effort_unit: "A".into(),
        gains: Vec::new(),
        metrics: Default::default(),
        error: None,
        source: String::new(),
        trace: motiontune::record::Trace {
            time: vec![-0.1, 0.0, 0.1],
            reference: vec![0.0, 0.5, 0.5],
            feedback: vec![0.0, 0.2, 0.5],
            effort: None,
        },
    }
}

#[test]
fn runs_in_two_units_are_never_shown_together() {
    let server = serve();
    let folder = tempfile::tempdir().expect("temp dir");
    let runs_file = folder.path().join("runs.json");
    let runs = [kept_run(1, "sim", "rad"), kept_run(2, "ODrive", "turn")];
    let json = serde_json::json!({ "runs": runs });
    std::fs::write(&runs_file, json.to_string()).expect("write runs");
    let mut harness = app(&server, &runs_file);
    harness.run_steps(2);

    // The newest run's device and unit by default; the other is left out.
    harness.get_by_label("Name of run 2");
    assert!(harness.query_by_label("Name of run 1").is_none());
    harness.get_by_label_contains("1 of other devices or units not shown");

    harness.get_by_label("Runs of").click();
    harness.run_steps(2);
    harness.get_by_label("sim · rad").click();
    harness.run_steps(2);
    harness.get_by_label("Name of run 1");
    assert!(harness.query_by_label("Name of run 2").is_none());
}

#[test]
fn the_runs_pane_offers_export_and_import() {
    let server = serve();
    let folder = tempfile::tempdir().expect("temp dir");
    let runs_file = folder.path().join("runs.json");
    let imported = motiontune::record::StepRun {
        source: "ab.json".into(),
        ..kept_run(1, "sim", "rad")
    };
    let json = serde_json::json!({ "runs": [imported] });
    std::fs::write(&runs_file, json.to_string()).expect("write runs");
    let mut harness = app(&server, &runs_file);
    harness.run_steps(2);

    // The native dialog cannot be driven headless: what the pane does with
    // the file chosen is unit-tested in the runs view and the run store.
    for label in ["Export runs…", "Import runs…"] {
        let button = harness.get_by_role_and_label(Role::Button, label);
        assert!(!button.accesskit_node().is_disabled(), "{label} is enabled");
    }
    assert_eq!(harness.state().runs().runs()[0].source, "ab.json");
}
