//! One time axis for several devices (issue 23), on the real `App` driven
//! headless against two simulated drives behind real ptys: a channel of
//! the device not shown, ticked in the Channels pane, is drawn in the
//! scope beside the shown device's, named `LABEL.channel`, its times
//! mapped onto the shown device's through the host clock, and the
//! mapping's uncertainty stated. The second drive's clock starts 1000 s
//! ahead, so a trace drawn on its own clock would fall far outside the
//! view.
#![cfg(unix)]

mod common;

use common::{app_on_port, run_for, step_until, wait_connected};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::App;
use motiontune::device::DeviceId;
use motiontune::device::session::DeviceSession;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;

const FIRST: DeviceId = DeviceId(1);
const SECOND: DeviceId = DeviceId(2);

/// A simulated drive whose clock starts at `start_s` seconds.
fn serve(start_s: u32) -> PtyServer {
    let settings = DeviceSettings::default();
    let settings = DeviceSettings {
        first_tick: start_s * settings.loop_hz,
        ..settings
    };
    PtyServer::start(SimDevice::new(DriveConfig::default(), settings)).expect("pty available")
}

fn session<'h>(harness: &'h Harness<'static, App>, id: DeviceId) -> &'h DeviceSession {
    &harness
        .state()
        .devices()
        .get(id)
        .unwrap_or_else(|| panic!("no device {id:?}"))
        .session
}

fn label(harness: &Harness<'static, App>, id: DeviceId) -> String {
    harness
        .state()
        .devices()
        .get(id)
        .map(|d| d.label().to_owned())
        .unwrap_or_else(|| panic!("no device {id:?}"))
}

/// Whether some node's label or value starts with `text`.
fn shows(harness: &Harness<'static, App>, text: &str) -> bool {
    harness
        .query_all_by(|node| {
            node.label()
                .or_else(|| node.value())
                .is_some_and(|shown| shown.starts_with(text))
        })
        .next()
        .is_some()
}

#[test]
fn another_device_s_channel_is_drawn_on_the_shown_device_s_time_axis() {
    let (a, b) = (serve(0), serve(1000));
    let mut harness = app_on_port(a.path());
    wait_connected(&mut harness);
    harness
        .get_by_role_and_label(Role::TextInput, "Port")
        .set_text_value_accesskit(b.path());
    harness.run_steps(2);
    harness.get_by_label("Add device").click_accesskit();
    harness.step();
    common::wait_devices_connected(&mut harness, 2);
    // Show the first device; the second is the other one.
    harness.get_by_label("Select device 1").click_accesskit();
    harness.run_steps(2);
    assert_eq!(harness.state().devices().selected_id(), Some(FIRST));
    step_until(&mut harness, "both clocks mapped", |h| {
        [FIRST, SECOND]
            .iter()
            .all(|&id| session(h, id).host_alignment().is_some())
    });
    run_for(&mut harness, 0.3);

    let other = label(&harness, SECOND);
    let name = format!("{other}.position");
    assert!(
        harness.state().scope_other_traces().is_empty(),
        "nothing of the other device before it is asked for"
    );
    harness
        .get_by_role_and_label(Role::CheckBox, &format!("Show {name}"))
        .click_accesskit();
    run_for(&mut harness, 0.3);

    assert!(
        harness.state().scope_follows(),
        "the view still follows the newest sample"
    );
    // Named in the legend, with the mapping's uncertainty, here and in the
    // Channels pane.
    assert!(shows(&harness, &name), "no legend entry {name}");
    let stated = harness
        .query_all_by(|node| {
            node.label()
                .or_else(|| node.value())
                .is_some_and(|shown| shown.starts_with('±') && shown.ends_with(" ms"))
        })
        .count();
    assert!(stated > 0, "no uncertainty (±x ms) in the legend");
    assert!(
        shows(&harness, &format!("{other} on host clock ±")),
        "the Channels pane does not say how {other}'s clock is mapped"
    );

    // The drawn points lie in the shown device's view, at the other
    // device's times moved by the difference of the two offsets.
    let clock = |id| session(&harness, id).host_alignment().expect("mapped");
    let shift = clock(SECOND).offset_s - clock(FIRST).offset_s;
    assert!(
        (shift + 1000.0).abs() < 1.0,
        "the second clock runs 1000 s ahead: shift {shift}"
    );
    let span = |id| {
        session(&harness, id)
            .history
            .as_ref()
            .and_then(|h| h.time_span())
            .expect("samples")
    };
    let (shown_oldest, shown_newest) = span(FIRST);
    let (other_oldest, other_newest) = span(SECOND);
    let traces = harness.state().scope_other_traces();
    assert_eq!(traces.len(), 1, "one trace asked for");
    let trace = &traces[0];
    assert_eq!(trace.name, name);
    assert!(
        (trace.map.shift_s - shift).abs() < 0.005,
        "drawn with shift {} against the offsets' {shift}",
        trace.map.shift_s
    );
    let points: Vec<_> = trace.points().collect();
    assert!(points.len() > 10, "{} points drawn", points.len());
    // The offsets may tighten by a little between the frame and now.
    let slack = 0.02;
    for point in points {
        assert!(
            point.x > shown_oldest - slack && point.x < shown_newest + 0.5,
            "a point at {} outside the shown device's {shown_oldest}..{shown_newest}",
            point.x
        );
        let device_time = point.x - shift;
        assert!(
            device_time > other_oldest - slack && device_time < other_newest + slack,
            "a point at {} maps back to {device_time}, outside the other device's {other_oldest}..{other_newest}",
            point.x
        );
    }

    // Unticked, it is gone.
    harness
        .get_by_role_and_label(Role::CheckBox, &format!("Show {name}"))
        .click_accesskit();
    harness.run_steps(2);
    assert!(harness.state().scope_other_traces().is_empty());
}
