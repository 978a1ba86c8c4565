//! Where motiontune's SimpleFOC support disagreed with the real library
//! (Arduino-FOC 2.4.0 run on the host, `tests/common/simplefoc_real.rs`),
//! found by running it and fixed in issue 16: a sketch still in `setup()`,
//! values a write moves besides its own, values finer than the Commander's
//! 3 decimals, a monitor of one variable, a monitor in another format.
#![cfg(unix)]

mod common;

use common::{
    SketchConfig, assert_lists_what_the_firmware_holds, connect_simplefoc, motiontune as run,
    simplefoc_params, stderr, wait_for,
};
use motiontune::protocol::Event;

#[test]
fn params_connects_to_a_sketch_still_in_setup() {
    let config = SketchConfig {
        boot_ms: 1500,
        ..SketchConfig::default()
    };
    let Some(mut sketch) = config.start_booting() else {
        return;
    };
    let listed = simplefoc_params(sketch.path(), &[]);
    assert_lists_what_the_firmware_holds(&listed, &sketch.state());
}

#[test]
fn params_lists_what_a_write_changed_besides_the_value_written() {
    let Some(mut sketch) = SketchConfig::default().start() else {
        return;
    };
    let listed = simplefoc_params(
        sketch.path(),
        &[
            "target=1.5",
            "motion=1",
            "limit.voltage=5",
            "limit.velocity=9",
        ],
    );
    assert_lists_what_the_firmware_holds(&listed, &sketch.state());
}

#[test]
fn a_value_finer_than_three_decimals_is_kept_as_written() {
    let Some(mut sketch) = SketchConfig::default().start() else {
        return;
    };
    let output = run(&[
        "params",
        "--port",
        sketch.path(),
        "--protocol",
        "simplefoc",
        "vel.P=0.1234567",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(sketch.state().pid_velocity.p, 0.123_456_7);
    let said = stderr(&output);
    assert!(!said.contains("clamped"), "{said}");
}

#[test]
fn a_sketch_monitoring_one_variable_is_read_correctly() {
    let config = SketchConfig {
        monitor_variables: 0b000_0010,
        monitor_downsample: 10,
        ..SketchConfig::default()
    };
    let Some(mut sketch) = config.start() else {
        return;
    };
    let listed = simplefoc_params(sketch.path(), &[]);
    assert_lists_what_the_firmware_holds(&listed, &sketch.state());
}

#[test]
fn a_monitor_with_another_separator_streams() {
    for config in [
        SketchConfig {
            monitor_separator: ' ',
            ..SketchConfig::default()
        },
        SketchConfig {
            monitor_start_char: Some('>'),
            monitor_end_char: Some('<'),
            ..SketchConfig::default()
        },
    ] {
        let Some(sketch) = config.start() else {
            return;
        };
        let (link, _) = connect_simplefoc(sketch.path(), 1);
        let batch = wait_for(&link, 5, |event| match event {
            Event::Samples { batch, .. } => Some(batch),
            _ => None,
        });
        assert_eq!(batch.channel_count, 7);
    }
}
