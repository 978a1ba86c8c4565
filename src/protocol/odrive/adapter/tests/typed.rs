//! Lines typed in the console, against the emulated ODrive: a typed read
//! is answered as text while polling goes on without a misread sample; a
//! line with no or many replies goes out alone and polling resumes; what
//! a typed line may have changed is read back; a reboot is refused.

use super::*;

/// A described axis in closed loop, streaming, events forgotten.
fn streaming(settings: OdriveSettings) -> Bench {
    let mut bench = Bench::new(settings);
    bench.run(150).expect("described");
    bench.command(Command::Enable(true));
    bench.command(Command::Stream { divider: 1 });
    bench.run(300).expect("streams");
    bench.events.clear();
    bench
}

fn typed(bench: &mut Bench, line: &str) {
    bench.command(Command::Text(line.to_owned()));
}

/// Every sample's reference is `reference` and its position near it.
fn assert_samples_read_right(bench: &Bench, reference: f32) {
    for sample in bench.samples() {
        assert_eq!(sample[0], reference, "{sample:?}");
        assert!((sample[1] - reference).abs() < 0.05, "{sample:?}");
        assert!(sample[2].abs() < 5.0, "{sample:?}");
    }
}

#[test]
fn a_typed_read_is_answered_as_text_while_polling_goes_on() {
    for checksum in [true, false] {
        let mut bench = streaming(OdriveSettings {
            checksum,
            ..OdriveSettings::default()
        });
        for _ in 0..20 {
            typed(&mut bench, "r axis0.controller.config.pos_gain");
            bench.run(7).expect("streams");
        }
        bench.run(100).expect("streams");
        let replies = bench.texts().iter().filter(|t| **t == "20.000000").count();
        assert_eq!(replies, 20, "{:?}", bench.texts());
        // 200 Hz over 240 ms: polling never paused.
        let samples = bench.samples().len();
        assert!(samples > 40, "{samples} samples");
        assert_samples_read_right(&bench, 0.0);
        assert!(bench.values_of(0).is_empty(), "no value of the app's");
        assert_eq!(bench.tally.message_errors, 0, "no reply misplaced");
        assert_eq!(bench.tally.checksum_errors, 0);
    }
}

#[test]
fn a_line_of_many_replies_goes_out_alone_and_polling_resumes() {
    let mut bench = streaming(OdriveSettings::default());
    typed(&mut bench, "h");
    typed(&mut bench, "r vbus_voltage");
    bench.run(600).expect("streams");
    let texts = bench.texts();
    // (The firmware cuts a reply at 64 bytes: its longest help line runs
    // into the next, which is dropped as framing.)
    assert!(texts.contains(&"Write: w property value"), "{texts:?}");
    assert!(texts.contains(&"Reboot: sr"), "{texts:?}");
    assert_eq!(
        texts.iter().filter(|t| t.starts_with("Please see")).count(),
        1
    );
    let last = texts.last().copied().unwrap_or_default();
    assert!(
        last.parse::<f32>().is_ok(),
        "the read answered last: {texts:?}"
    );
    let samples = bench.samples().len();
    assert!(samples > 60, "polling resumed: {samples} samples");
    assert_samples_read_right(&bench, 0.0);
    assert_eq!(bench.tally.message_errors, 0);
}

#[test]
fn what_a_typed_line_changed_is_read_back() {
    let mut bench = streaming(OdriveSettings::default());
    typed(&mut bench, "w axis0.controller.config.pos_gain 30");
    bench.run(600).expect("streams");
    assert_eq!(bench.device.axes[0].pos_gain, 30.0);
    assert_eq!(bench.values_of(0), [30.0]);

    // A move typed: the reference the samples carry follows.
    typed(&mut bench, "p 0 0.25");
    bench.run(600).expect("streams");
    assert_eq!(bench.values_of(INPUT_POS_INDEX), [0.25]);
    let last = bench.samples().last().cloned().expect("samples");
    assert_eq!(last[0], 0.25, "{last:?}");
    assert_eq!(bench.tally.message_errors, 0);
}

#[test]
fn a_reboot_and_an_empty_line_are_refused_unsent() {
    let mut bench = streaming(OdriveSettings::default());
    for line in ["ss", "se", "sr", "", "r\taxis0"] {
        let mut out = Vec::new();
        let refused = bench
            .adapter
            .encode(&Command::Text(line.to_owned()), bench.now, &mut out);
        assert_eq!(refused, Err(Unsupported), "{line:?}");
        assert!(out.is_empty(), "{line:?}");
        let why = bench.adapter.text_refusal(line);
        assert!(why.starts_with("not sent: "), "{why}");
    }
    assert!(bench.adapter.text_refusal("sr").contains("reboot"));
    typed(&mut bench, "sc");
    bench.run(400).expect("clearing errors is fine");
    assert_eq!(bench.tally.message_errors, 0);
}
