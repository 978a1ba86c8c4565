//! Each device keeps its own pane state (docs/ARCHITECTURE.md, "Several
//! devices"), on the real `App` driven headless against two simulated
//! drives behind real ptys: the first device's gain history and the value
//! typed for it and not written are not shown on the second, come back
//! with the first, and its undo writes to it alone; a device shown after
//! the other is disconnected shows its own.
#![cfg(unix)]

mod common;

use common::devices::{FIRST, SECOND, select, serve, two_devices};
use common::{run_for, set_slider, step_until, type_into_text_field, wait_settled};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use motiontune::app::App;

/// The simulated drive's index of `pos.kp`.
const KP: u8 = 0;

fn undo_enabled(harness: &Harness<'static, App>) -> bool {
    !harness
        .get_by_label("Undo gain change")
        .accesskit_node()
        .is_disabled()
}

#[test]
fn each_device_keeps_its_own_gain_history_and_typed_values() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    select(&mut harness, FIRST);
    set_slider(&mut harness, "pos.kp", 30.0);
    wait_settled(&mut harness);
    harness.get_by_label("Set 2: pos.kp 20 -> 30");
    assert!(undo_enabled(&harness), "the first has a set to undo to");
    // A value typed for the first and left unwritten.
    type_into_text_field(&mut harness, "pos.ki", "33");
    harness.get_by_label("Parameters").click();
    harness.run_steps(2);
    harness.get_by_label("Write pos.ki");

    // The second has a history of its own, and nothing typed.
    select(&mut harness, SECOND);
    harness.get_by_label("Set 1: as connected");
    assert!(
        harness.query_by_label_contains("pos.kp 20 -> 30").is_none(),
        "the first's gain set is shown on the second"
    );
    assert!(!undo_enabled(&harness), "undo offered on the second");
    assert!(
        harness.query_by_label("Write pos.ki").is_none(),
        "the first's typed value is shown on the second"
    );

    // Back on the first, all of it is there again, and its undo writes
    // to it alone.
    select(&mut harness, FIRST);
    harness.get_by_label("Set 2: pos.kp 20 -> 30");
    harness.get_by_label("Write pos.ki");
    assert!(undo_enabled(&harness), "the first's history was lost");
    harness.get_by_label("Undo gain change").click_accesskit();
    harness.step();
    wait_settled(&mut harness);
    step_until(&mut harness, "the first's kp back to 20", |_| {
        a.with_device(|d| d.sets_received()).last() == Some(&(KP, 20.0))
    });
    run_for(&mut harness, 0.2);
    assert_eq!(
        b.with_device(|d| d.sets_received()),
        [],
        "the second written"
    );

    // The first disconnected, the second is shown with its own state.
    harness
        .get_by_label("Disconnect device 1")
        .click_accesskit();
    harness.run_steps(2);
    assert_eq!(harness.state().devices().selected_id(), Some(SECOND));
    harness.get_by_label("Set 1: as connected");
    assert!(harness.query_by_label_contains("Set 2").is_none());
    assert!(harness.query_by_label("Write pos.ki").is_none());
}
