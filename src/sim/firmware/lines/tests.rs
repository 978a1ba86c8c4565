//! The emulated sketch prints as a real one and misbehaves as one does.

use super::*;

fn sketch(format: SketchFormat, time_column: bool) -> LinesSketch {
    LinesSketch::new(
        DriveConfig::linear(),
        LinesSketchSettings {
            format,
            time_column,
            ..LinesSketchSettings::default()
        },
    )
}

fn text(sketch: &mut LinesSketch) -> String {
    String::from_utf8(sketch.take_output()).expect("the sketch prints text")
}

#[test]
fn prints_plotter_lines_in_either_format() {
    let mut labelled = sketch(SketchFormat::Labelled, false);
    labelled.advance(4);
    assert_eq!(
        text(&mut labelled),
        "setpoint:0.0000,position:0.0000,effort:0.0000\r\n".repeat(2)
    );
    let mut header = sketch(SketchFormat::Header, true);
    header.advance(2);
    assert_eq!(
        text(&mut header),
        "time\tsetpoint\tposition\teffort\r\n2000\t0.0000\t0.0000\t0.0000\r\n"
    );
}

#[test]
fn takes_commands_as_a_typical_sketch_parses_them() {
    let mut device = sketch(SketchFormat::Labelled, false);
    device.receive(b"kp 12.5\r\nki 3");
    device.receive(b"\nkd 0.75xyz\nsp 0.5\nhello\nkp\n");
    let gains = &device.drive.config.gains;
    assert_eq!((gains.ki, gains.kd), (3.0, 0.75));
    assert_eq!(gains.kp, 12.5, "`kp` without a space is no command");
    assert_eq!(device.drive.config.setpoint, 0.5);
    assert_eq!((device.commands, device.ignored_lines), (4, 2));
    device.receive(b"kp abc\n");
    assert_eq!(
        device.drive.config.gains.kp, 0.0,
        "toFloat of no number is 0"
    );
    device.receive(b"disable\n");
    assert!(!device.drive.enabled());
    device.receive(b"enable\n");
    assert!(device.drive.enabled());
    device.advance(400);
    let printed = text(&mut device);
    let last = printed.lines().last().expect("lines");
    assert!(last.starts_with("setpoint:0.5000,"), "{last}");
}

fn scheduled(at: u64, every: Option<u64>, mishap: Mishap) -> Scheduled {
    Scheduled { at, every, mishap }
}

#[test]
fn mishaps_come_when_scheduled_and_a_stall_lets_time_run_on() {
    let mut device = LinesSketch::new(
        DriveConfig::linear(),
        LinesSketchSettings {
            format: SketchFormat::Plain,
            time_column: true,
            banner: vec!["Booting...".into()],
            keep_log: true,
            mishaps: vec![
                scheduled(
                    1,
                    Some(3),
                    Mishap::BadValue {
                        field: 1,
                        text: "nan".into(),
                    },
                ),
                scheduled(2, None, Mishap::Text("IMU found, starting".into())),
                scheduled(3, None, Mishap::Stall { ms: 10 }),
            ],
            ..LinesSketchSettings::default()
        },
    );
    device.advance(30);
    let printed = text(&mut device);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines[..6],
        [
            "Booting...",
            "2000,0.0000,0.0000,0.0000",
            "4000,0.0000,nan,0.0000",
            "IMU found, starting",
            "6000,0.0000,0.0000,0.0000",
            // 10 ms blocked before the fourth sample.
            "18000,0.0000,0.0000,0.0000",
        ]
    );
    assert_eq!(lines[6], "20000,0.0000,nan,0.0000");
    let log = device.log();
    assert_eq!(log.len(), 10);
    assert_eq!(log[3].micros, 18_000);
}

#[test]
fn a_hiccup_holds_the_bytes_back_and_then_gives_them_all() {
    let mut device = LinesSketch::new(
        DriveConfig::linear(),
        LinesSketchSettings {
            mishaps: vec![scheduled(2, None, Mishap::Hiccup { ms: 10 })],
            powered: false,
            ..LinesSketchSettings::default()
        },
    );
    device.advance(10);
    assert!(text(&mut device).is_empty(), "not powered yet");
    device.power_on();
    device.advance(4);
    assert_eq!(text(&mut device).lines().count(), 2);
    device.advance(6);
    assert!(text(&mut device).is_empty(), "held up on the way");
    device.advance(6);
    assert_eq!(text(&mut device).lines().count(), 6);
}

#[test]
fn every_format_names_its_channels_as_a_reader_should() {
    for format in SketchFormat::ALL {
        let mut device = sketch(format, false);
        device.advance(2);
        let printed = text(&mut device);
        if matches!(format, SketchFormat::Labelled | SketchFormat::SpacedLabels) {
            for name in format.names() {
                assert!(
                    printed.contains(&format!("{name}:")),
                    "{format:?}: {printed}"
                );
            }
        }
        assert!(printed.ends_with("\r\n"), "{format:?}");
    }
}
