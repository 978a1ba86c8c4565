//! The Auto-tune tab in the real `App`, driven headless against the
//! simulated drive behind a pty: an identification step, the proposed
//! gains (nothing written before the click), "Write proposed gains" with
//! its large-change confirmation, and a verification step whose overshoot
//! comes close to the prediction and which never becomes the run
//! identified from.
#![cfg(unix)]

mod common;

use common::{app_with, serial, step_until, wait_connected};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::analysis::ClosedLoopSpeed;
use motiontune::app::{App, AppOptions};
use motiontune::device::session::ProcedureKind;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;
use motiontune::tuning::{ModelKind, ModelRule, identify, propose};

fn f64s(values: &[f32]) -> Vec<f64> {
    values.iter().map(|v| f64::from(*v)).collect()
}

/// Clicks `button` and waits until the step test it starts has ended and
/// its step is kept.
fn run_step(harness: &mut Harness<'static, App>, button: &str) {
    let before = harness.state().runs().runs().len();
    // Accessibility click: the button may sit below the tab's scroll fold.
    harness.get_by_label(button).click_accesskit();
    harness.step();
    // Waits for this test to start, not on the last one having ended: on
    // a loaded machine the app may still be taking in the answers to the
    // writes before it, and the button waits for them.
    step_until(harness, "the step test to start", |h| {
        h.state().session().is_some_and(|s| s.procedure_running())
            || h.state().runs().runs().len() > before
    });
    step_until(harness, "the step test to end", |h| {
        h.state().session().is_some_and(|s| {
            s.procedures
                .last(ProcedureKind::StepTest)
                .is_some_and(|r| r.is_done())
        })
    });
    step_until(harness, "its step kept", |h| {
        h.state().runs().runs().len() == before + 1
    });
}

#[test]
fn auto_tune_writes_only_on_the_click_and_the_verification_matches_the_prediction() {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available");
    let mut harness = app_with(AppOptions {
        target: serial(server.path()),
        stream_divider: 10,
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the app to see the output on", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.get_by_label("Amplitude").set_value_accesskit(0.1);
    harness.step();
    harness.get_by_label("Hold").set_value_accesskit(1.0);
    harness.step();

    harness.get_by_label("Auto-tune").click();
    harness.step();
    run_step(&mut harness, "Run identification step");

    // The tab proposes what the tuning module gives for that run.
    let run = harness.state().runs().runs()[0].clone();
    let effort = run.trace.effort.as_deref().map(f64s).expect("effort");
    let identified = identify(
        ModelKind::Motor,
        &f64s(&run.trace.time),
        Some(&effort),
        &f64s(&run.trace.feedback),
    )
    .expect("the step fits");
    let proposal = propose(
        &identified.model,
        ModelRule::Simc,
        ClosedLoopSpeed::TimeConstant(0.01),
    )
    .expect("gains")
    .parallel;
    harness.run_steps(3);
    let gains = |s: &PtyServer| s.with_device(|d| d.drive.config.gains.clone());
    let untouched = gains(&server);
    assert_eq!(
        (untouched.kp, untouched.ki, untouched.kd),
        (20.0, 20.0, 0.2)
    );

    harness
        .get_by_label("Write proposed gains")
        .click_accesskit();
    harness.run_steps(2);
    // The proposal changes ki more than one write may unasked.
    assert_eq!(gains(&server).ki, 20.0, "written before the confirmation");
    harness
        .get_by_label("Confirm large change")
        .click_accesskit();
    harness.step();
    let close = |device: f64, proposed: f64| (device - proposed).abs() <= 1e-5 * proposed;
    step_until(&mut harness, "the proposed gains on the device", |_| {
        let g = gains(&server);
        close(g.kp, proposal.kp) && close(g.ki, proposal.ki) && close(g.kd, proposal.kd)
    });
    step_until(&mut harness, "the app to see them confirmed", |h| {
        h.state().session().is_some_and(|s| !s.write_in_flight())
    });

    // The tab identifies from the run it measured.
    let source = |h: &Harness<'static, App>| h.get_by_label("Identify from").value();
    assert_eq!(source(&harness).as_deref(), Some("run 1"));
    run_step(&mut harness, "Verify");
    harness.run_steps(2);
    // The verification is kept among the runs, but the source stays.
    assert_eq!(
        source(&harness).as_deref(),
        Some("run 1"),
        "the verification run became the source"
    );
    harness.get_by_label_contains("Verification (run 2)");
    let predicted = harness
        .state()
        .autotune_prediction()
        .and_then(|p| p.metrics.as_ref().ok())
        .map(|m| m.overshoot_percent)
        .expect("a predicted overshoot");
    let measured = harness.state().runs().runs()[1]
        .metric("overshoot")
        .expect("the verification was measured");
    eprintln!("overshoot predicted {predicted:.2} %, measured {measured:.2} %");
    assert!(
        (predicted - measured).abs() < 3.0,
        "overshoot predicted {predicted} %, measured {measured} %"
    );
}
