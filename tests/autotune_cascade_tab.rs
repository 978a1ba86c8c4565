//! The Auto-tune tab's Cascade method in the real `App`, driven headless
//! against the ODrive emulator in process (`sim:odrive`): identification
//! writes nothing, each stage is written only on its click (through the
//! guard's confirmation), verified by a step against its prediction, and
//! "Put back the gains found" restores the gains exactly.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::wait_connected;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use motiontune::app::{App, AppOptions};
use motiontune::link::PortTarget;

/// The ODrive's position P, velocity P and velocity I.
const ODRIVE: [&str; 3] = [
    "controller.config.pos_gain",
    "controller.config.vel_gain",
    "controller.config.vel_integrator_gain",
];
/// SimpleFOC's.
const SIMPLEFOC: [&str; 3] = ["angle.P", "vel.P", "vel.I"];

/// The three cascade gains named `names` as the app has them.
fn gains(harness: &Harness<'static, App>, names: [&str; 3]) -> [f32; 3] {
    let session = harness.state().session().expect("a session");
    names.map(|name| {
        session
            .params
            .iter()
            .find(|p| p.info.name == name)
            .map(|p| p.info.value)
            .expect("the gain is declared")
    })
}

/// Steps until `condition` holds, for up to `seconds` of wall time.
fn wait(
    harness: &mut Harness<'static, App>,
    what: &str,
    seconds: u64,
    mut condition: impl FnMut(&mut Harness<'static, App>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !condition(harness) {
        if Instant::now() > deadline {
            let texts: Vec<String> = harness
                .root()
                .query_all(egui_kittest::kittest::by())
                .map(|n| text(&n))
                .collect();
            panic!("timed out waiting for {what}; on screen: {texts:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
}

fn shown(harness: &Harness<'static, App>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// The text of the first label containing `text`.
fn label(harness: &Harness<'static, App>, contains: &str) -> String {
    text(&harness.get_by_label_contains(contains))
}

/// What a node says: its label, or a label's text.
fn text(node: &egui_kittest::Node<'_>) -> String {
    let node = node.accesskit_node();
    node.label().or_else(|| node.value()).unwrap_or_default()
}

/// Clicks `button`, then the guard's confirmation if it asks, and waits
/// for the writes to be answered.
fn write(harness: &mut Harness<'static, App>, button: &str) {
    harness.get_by_label(button).click_accesskit();
    harness.run_steps(2);
    if let Some(confirm) = harness.query_by_label("Confirm large change") {
        confirm.click_accesskit();
        harness.run_steps(2);
    }
    wait(harness, "the writes answered", 10, |h| {
        h.state().session().is_some_and(|s| !s.write_in_flight())
    });
    harness.run_steps(3);
}

/// Clicks `button` and waits until the steps it starts are shown.
fn run_steps(harness: &mut Harness<'static, App>, button: &str, shown_after: &str) {
    harness.get_by_label(button).click_accesskit();
    harness.run_steps(2);
    wait(harness, shown_after, 60, |h| shown(h, shown_after));
}

/// The "+x.x %" in a "Predicted rise time +x.x % of the measured" line.
fn rise_error(line: &str) -> f64 {
    let number = line
        .split_whitespace()
        .find(|w| w.starts_with('+') || w.starts_with('-'))
        .unwrap_or_else(|| panic!("a signed percentage in {line:?}"));
    number.parse().expect("a number")
}

/// The number after `name ` in "rise 0.1 s, settling 0.2 s, overshoot 1.0 %".
fn metric(line: &str, name: &str) -> f64 {
    line.split(", ")
        .find_map(|part| part.split(&format!("{name} ")).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

#[test]
fn the_cascade_method_tunes_the_odrive_stage_by_stage_and_puts_the_gains_back() {
    tunes_stage_by_stage("sim:odrive", ODRIVE);
}

#[test]
fn the_cascade_method_tunes_simplefoc_stage_by_stage_and_puts_the_gains_back() {
    tunes_stage_by_stage("sim:simplefoc", SIMPLEFOC);
}

/// The app on the emulator `port`, tall, so the tab's column shows every
/// line (a label below its scroll fold is not in the accessibility tree),
/// with every sample, as the command line has them.
fn app(port: &str) -> Harness<'static, App> {
    let target = PortTarget::parse(port, 115_200);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 2400.0))
        .build_eframe(|cc| {
            App::new(
                cc,
                AppOptions {
                    target,
                    stream_divider: 1,
                    ..AppOptions::default()
                },
            )
        });
    harness.step();
    harness
}

fn tunes_stage_by_stage(port: &str, names: [&str; 3]) {
    let mut harness = app(port);
    wait_connected(&mut harness);
    let found = gains(&harness, names);
    // SimpleFOC's motor is on from its setup; the ODrive's is idle.
    if let Some(enable) = harness.query_by_label("Enable output") {
        enable.click();
        harness.step();
    }
    wait(&mut harness, "the output on", 10, |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.get_by_label("Hold").set_value_accesskit(1.0);
    harness.step();
    harness.get_by_label("Auto-tune").click();
    harness.step();
    harness.get_by_label("Cascade").click();
    harness.step();

    run_steps(&mut harness, "Identify", "Velocity stage");
    assert!(shown(&harness, "Motor: acceleration"));
    assert_eq!(gains(&harness, names), found, "identification wrote a gain");

    write(&mut harness, "Write velocity gains");
    let velocity = gains(&harness, names);
    assert_eq!(
        velocity[0], found[0],
        "the velocity stage moved the position gain"
    );
    assert_ne!(
        velocity[1..],
        found[1..],
        "the velocity gains were not written"
    );
    run_steps(&mut harness, "Verify velocity stage", "Measured up");

    write(&mut harness, "Write position gain");
    let position = gains(&harness, names);
    assert_eq!(
        position[1..],
        velocity[1..],
        "the position stage moved a velocity gain"
    );
    run_steps(&mut harness, "Verify position stage", "Predicted rise time");
    // Both stages verified: each prediction within 20 % of its step.
    wait(&mut harness, "both verifications", 60, |h| {
        h.query_all_by_label_contains("Predicted rise time").count() == 2
    });
    for line in harness
        .query_all_by_label_contains("Predicted rise time")
        .map(|n| text(&n))
    {
        let error = rise_error(&line);
        eprintln!("{line}");
        assert!(error.abs() <= 20.0, "{line}");
    }
    eprintln!("{}", label(&harness, "Identified from"));
    eprintln!("{}", label(&harness, "Velocity loop"));
    // The position stage's step (the last "Measured up") settles faster
    // than the gains found settled the same step, overshooting ≤ 10 %.
    let found_step = label(&harness, "Measured with the gains found");
    let tuned_step = harness
        .query_all_by_label_contains("Measured up")
        .map(|n| text(&n))
        .next_back()
        .expect("the position stage's step");
    eprintln!("{found_step}\nposition stage: {tuned_step}");
    assert!(metric(&tuned_step, "settling") < metric(&found_step, "settling"));
    assert!(metric(&tuned_step, "overshoot") <= 10.0, "{tuned_step}");

    write(&mut harness, "Put back the gains found");
    assert_eq!(
        gains(&harness, names),
        found,
        "the gains found were not put back"
    );
}

#[test]
fn an_identification_step_that_would_saturate_is_halved_then_refused_with_nothing_run_or_written() {
    let mut harness = app("sim:odrive");
    wait_connected(&mut harness);
    let found = gains(&harness, ODRIVE);
    harness.get_by_label("Enable output").click();
    harness.step();
    wait(&mut harness, "the output on", 10, |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.get_by_label("Auto-tune").click();
    harness.step();
    harness.get_by_label("Cascade").click();
    harness.step();
    harness
        .get_by_label("size from the velocity limit")
        .click_accesskit();
    harness.step();
    // pos_gain 20 (turn/s)/turn times 5 turns is 100 turn/s of command,
    // against vel_limit 2: a quarter of it still is.
    harness
        .get_by_role_and_label(egui::accesskit::Role::SpinButton, "Identification step")
        .set_value_accesskit(5.0);
    harness.step();
    harness.get_by_label("Identify").click_accesskit();
    harness.run_steps(3);
    let refusal = label(&harness, "still saturates");
    assert!(
        refusal.contains("after halving it twice") && refusal.ends_with("nothing was written"),
        "{refusal}"
    );
    assert!(shown(&harness, "halved"), "the halving is not shown");
    assert!(
        harness.state().runs().runs().is_empty(),
        "a step ran although its command would saturate"
    );
    assert_eq!(gains(&harness, ODRIVE), found);
}

#[test]
fn a_drive_without_a_cascade_is_pointed_to_the_single_loop_methods() {
    let mut harness = app("sim");
    wait_connected(&mut harness);
    harness.get_by_label("Auto-tune").click();
    harness.step();
    harness.get_by_label("Cascade").click();
    harness.run_steps(2);
    assert!(shown(
        &harness,
        "declares no position–velocity cascade (docs/PROTOCOL.md 4.7): tune its single loop with the Step model or Relay method."
    ));
    assert!(harness.query_by_label("Identify").is_none());
}

#[test]
fn an_identification_step_that_reaches_the_current_limit_is_halved_and_run_again() {
    let mut harness = app("sim:odrive");
    wait_connected(&mut harness);
    // A current limit the default step's 2.8 A peak reaches: the steps
    // run, are seen to saturate, and are halved until the refusal.
    common::set_slider(&mut harness, "motor.config.current_lim", 0.5);
    if let Some(confirm) = harness.query_by_label("Confirm large change") {
        confirm.click_accesskit();
        harness.run_steps(2);
    }
    wait(&mut harness, "the limit written", 10, |h| {
        h.state().session().is_some_and(|s| {
            !s.write_in_flight()
                && s.params
                    .iter()
                    .any(|p| p.info.name == "motor.config.current_lim" && p.info.value == 0.5)
        })
    });
    let found = gains(&harness, ODRIVE);
    harness.get_by_label("Enable output").click();
    harness.step();
    wait(&mut harness, "the output on", 10, |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.get_by_label("Hold").set_value_accesskit(0.5);
    harness.step();
    harness.get_by_label("Auto-tune").click();
    harness.step();
    harness.get_by_label("Cascade").click();
    harness.step();
    harness.get_by_label("Identify").click_accesskit();
    wait(&mut harness, "the refusal", 60, |h| {
        shown(h, "still saturates")
    });
    let refusal = label(&harness, "still saturates");
    eprintln!("{refusal}");
    assert!(
        refusal.starts_with("the identification step of 0.012 turn still saturates (the effort"),
        "{refusal}"
    );
    // Three identifications ran, up and back: 0.05, 0.025, 0.012 turn.
    assert_eq!(harness.state().runs().runs().len(), 6);
    assert_eq!(gains(&harness, ODRIVE), found);
}
