//! Lines typed in the console, against the emulated sketch: each goes out
//! once, its reply is text and nothing else, the adapter's own requests
//! and the stream are untouched, and what a typed write changed is read
//! back.

use super::*;
use crate::protocol::adapter::Unsupported;

/// A described sketch streaming its monitoring, events forgotten.
fn streaming() -> (Bench, DeviceInfo) {
    let mut bench = Bench::new(SketchSettings::default(), 64);
    let info = bench.describe();
    bench.send(Command::Stream { divider: 1 });
    bench.run(300);
    bench.events.clear();
    bench.sent.clear();
    (bench, info)
}

fn typed(bench: &mut Bench, line: &str) {
    bench.send(Command::Text(line.to_owned()));
}

/// How often `line` with its line end went to the sketch.
fn times_sent(bench: &Bench, line: &str) -> usize {
    let wire = format!("{line}\n");
    bench
        .sent
        .windows(wire.len())
        .filter(|w| *w == wire.as_bytes())
        .count()
}

fn times_read(bench: &Bench, line: &str) -> usize {
    let wire = format!("{line}\n");
    bench
        .firmware
        .lines_read
        .iter()
        .filter(|read| read.as_slice() == wire.as_bytes())
        .count()
}

#[test]
fn a_typed_read_goes_out_once_and_its_reply_is_text_not_a_value() {
    let (mut bench, info) = streaming();
    let vel_p = index(&info, "vel.P");
    let errors_before = bench.tally.message_errors + bench.tally.framing_errors;
    let read_before = times_read(&bench, "MVP");
    typed(&mut bench, "MVP");
    // The adapter's own read of the same value, which waits its turn.
    bench.send(Command::Get { index: vel_p });
    bench.run(400);
    assert_eq!(times_sent(&bench, "MVP"), 2, "the typed line and the read");
    assert_eq!(times_read(&bench, "MVP") - read_before, 2);
    let replies: Vec<&str> = bench
        .texts()
        .into_iter()
        .filter(|t| t.starts_with("MVP"))
        .collect();
    assert_eq!(replies, ["MVP0.500000000000"], "one reply, as text");
    assert_eq!(bench.values(vel_p), [0.5], "the read's own reply");
    assert_eq!(info.params[usize::from(vel_p)].value, 0.5);
    assert!(sample_rows(&bench.events) > 20, "the stream goes on");
    assert_eq!(
        bench.tally.message_errors + bench.tally.framing_errors,
        errors_before
    );
}

#[test]
fn a_reply_of_many_lines_is_all_text_and_a_stop_meanwhile_is_read_as_its_own() {
    let (mut bench, _) = streaming();
    typed(&mut bench, "?");
    bench.send(Command::Enable(false));
    bench.run(400);
    let texts = bench.texts();
    assert!(texts.contains(&"?M:motor"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.starts_with("ME")), "{texts:?}");
    assert!(bench.events.contains(&status(false)), "the stop confirmed");
    assert!(!bench.firmware.motor.enabled);
}

#[test]
fn a_typed_write_is_read_back_so_the_app_shows_the_device_s_value() {
    let (mut bench, info) = streaming();
    let vel_p = index(&info, "vel.P");
    typed(&mut bench, "MVP0.25");
    bench.run(400);
    assert_eq!(bench.firmware.motor.pid_velocity.p, 0.25);
    assert_eq!(times_read(&bench, "MVP0.25"), 1, "sent once");
    assert!(bench.texts().contains(&"MVP0.250000000000"));
    assert_eq!(bench.values(vel_p), [0.25]);

    // A new motion type typed: units follow, as after a write of the app.
    bench.events.clear();
    typed(&mut bench, "MC1");
    typed(&mut bench, "ME0");
    bench.run(600);
    let redescribed = bench.events.iter().rev().find_map(|e| match e {
        Event::Described(info) => Some(info.clone()),
        _ => None,
    });
    let target = redescribed.expect("described again").params[usize::from(TARGET_INDEX)].clone();
    assert_eq!(target.unit, "rad/s");
    assert_eq!(bench.values(MOTION_INDEX), [1.0]);
    assert!(bench.events.contains(&status(false)), "ME0 read back");
}

#[test]
fn a_line_nobody_answers_holds_the_adapter_a_moment_only() {
    let (mut bench, info) = streaming();
    let vel_i = index(&info, "vel.I");
    typed(&mut bench, "X42");
    bench.send(Command::Get { index: vel_i });
    bench.run(super::super::typed::TYPED_REPLY_WAIT.as_millis() as u32 + 200);
    assert_eq!(times_read(&bench, "X42"), 1, "never sent again");
    assert_eq!(bench.values(vel_i), [info.params[usize::from(vel_i)].value]);
    let texts = bench.texts();
    assert!(!texts.iter().any(|t| t.starts_with('X')), "{texts:?}");
}

#[test]
fn lines_that_would_take_the_session_away_are_refused_unsent() {
    let (mut bench, _) = streaming();
    for line in [
        "@1",
        "#3",
        "MMS0000001",
        "MMD10",
        "MMC",
        "MM#2",
        "MVP0.123456789012345",
        "",
        "M\tVP",
    ] {
        let mut out = Vec::new();
        let refused = bench
            .adapter
            .encode(&Command::Text(line.to_owned()), bench.now, &mut out);
        assert_eq!(refused, Err(Unsupported), "{line:?}");
        assert!(out.is_empty(), "{line:?}");
        let why = bench.adapter.text_refusal(line);
        assert!(why.starts_with("not sent: "), "{why}");
        assert_eq!(why.lines().count(), 1);
    }
    assert!(bench.adapter.text_refusal("@1").contains("@3"));
    // Reads of the same are fine.
    for line in ["@", "#", "MMS", "MMD", "MMG6"] {
        typed(&mut bench, line);
    }
    bench.run(1500);
    assert!(bench.texts().contains(&"@machine"), "{:?}", bench.texts());
    assert_eq!(bench.firmware.commander.verbose, 3);
}
