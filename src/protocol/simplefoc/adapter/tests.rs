//! The adapter against the emulated sketch in simulated time (the real
//! library's turn is `tests/simplefoc_real*.rs`).

use super::replies::status;
use super::*;
use crate::protocol::ChannelRole;
use crate::protocol::adapter::AdapterSettings;
use crate::protocol::simplefoc::params::{MOTION_INDEX, TARGET_INDEX};
use crate::sim::EmulatedDevice;
use crate::sim::drive::DriveConfig;
use crate::sim::firmware::simplefoc::{SimpleFocFirmware, SketchSettings};

/// The adapter and the emulated sketch wired together in simulated
/// time, device output delivered in chunks of `chunk` bytes.
struct Bench {
    adapter: SimpleFocAdapter,
    firmware: SimpleFocFirmware,
    now: Instant,
    tally: DecodeTally,
    events: Vec<Event>,
    chunk: usize,
    error: Option<AdapterError>,
    /// Every byte the adapter sent.
    sent: Vec<u8>,
}

impl Bench {
    fn new(sketch: SketchSettings, chunk: usize) -> Self {
        Self::with(sketch, AdapterSettings::default(), chunk)
    }

    fn with(sketch: SketchSettings, settings: AdapterSettings, chunk: usize) -> Self {
        let now = Instant::now();
        Self {
            adapter: SimpleFocAdapter::new(&settings, now),
            firmware: SimpleFocFirmware::with_settings(DriveConfig::default(), sketch),
            now,
            tally: DecodeTally::default(),
            events: Vec::new(),
            chunk,
            error: None,
            sent: Vec::new(),
        }
    }

    fn deliver(&mut self, bytes: &[u8]) {
        for piece in bytes.chunks(self.chunk.max(1)) {
            let events = &mut self.events;
            if let Err(error) = self
                .adapter
                .receive(piece, self.now, &mut self.tally, &mut |e| events.push(e))
            {
                self.error = Some(error);
            }
        }
    }

    fn pass_to_firmware(&mut self, out: &[u8]) {
        self.sent.extend_from_slice(out);
        self.firmware.receive(out);
    }

    /// Runs `ms` milliseconds, one at a time.
    fn run(&mut self, ms: u32) {
        for _ in 0..ms {
            let mut out = Vec::new();
            self.adapter.poll(self.now, &mut out);
            self.pass_to_firmware(&out);
            self.firmware.advance(10);
            let output = self.firmware.take_output();
            self.deliver(&output);
            self.now += Duration::from_millis(1);
        }
    }

    /// Runs until the adapter has described the motor.
    fn describe(&mut self) -> DeviceInfo {
        for _ in 0..5000 {
            if let Some(info) = self.adapter.device() {
                let info = info.clone();
                self.run(5);
                return info;
            }
            self.run(1);
        }
        panic!("never described; error {:?}", self.error);
    }

    fn send(&mut self, command: Command) {
        let mut out = Vec::new();
        self.adapter
            .encode(&command, self.now, &mut out)
            .expect("supported");
        self.pass_to_firmware(&out);
    }

    fn close(&mut self) -> String {
        let mut out = Vec::new();
        self.adapter.close(self.now, &mut out);
        self.pass_to_firmware(&out);
        self.firmware.advance(10);
        String::from_utf8(out).expect("text")
    }

    fn texts(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Text { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .collect()
    }

    fn values(&self, index: u8) -> Vec<f32> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Value { index: i, value } if *i == index => Some(*value),
                _ => None,
            })
            .collect()
    }
}

fn index(info: &DeviceInfo, name: &str) -> u8 {
    info.params
        .iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name}")) as u8
}

#[test]
fn describes_in_every_verbosity_and_puts_the_commander_back() {
    for (verbose, chunk) in [(0, 3), (1, 1), (2, 7), (3, 4096)] {
        let mut bench = Bench::new(
            SketchSettings {
                verbose,
                ..SketchSettings::default()
            },
            chunk,
        );
        let info = bench.describe();
        let announced = bench
            .events
            .iter()
            .filter(|e| matches!(e, Event::Described(_)));
        assert_eq!(announced.count(), 1);
        let kp = &info.params[6];
        assert_eq!(kp.name, "angle.P");
        assert_eq!(kp.value, 20.0, "@{verbose}");
        assert_eq!(info.params[usize::from(MOTION_INDEX)].value, 2.0);
        let target = &info.params[usize::from(TARGET_INDEX)];
        assert!(target.flags.setpoint());
        assert_eq!(target.unit, "rad");
        assert_eq!(info.channels.len(), 7);
        assert_eq!(info.channels[0].role, ChannelRole::Reference);
        assert_eq!(info.channels[1].role, ChannelRole::Effort);
        assert_eq!(info.channels[6].role, ChannelRole::Feedback);
        assert_eq!(bench.tally.framing_errors + bench.tally.message_errors, 0);
        assert!(bench.events.contains(&status(true)), "the enable state");
        let restore = bench.close();
        assert!(
            restore.ends_with(&format!("#3\n@{verbose}\n")) || verbose == 3,
            "{restore}"
        );
        assert_eq!(bench.firmware.commander.verbose, verbose);
        assert_eq!(bench.firmware.commander.decimal_places, 3);
    }
}

#[test]
fn nothing_is_sent_while_the_sketch_is_in_setup_and_its_text_is_shown() {
    let mut bench = Bench::new(
        SketchSettings {
            boot_ms: 800,
            ..SketchSettings::default()
        },
        16,
    );
    while bench.firmware.booting() {
        bench.run(1);
        assert!(bench.sent.is_empty(), "sent during setup()");
    }
    bench.describe();
    let texts = bench.texts();
    assert!(texts.contains(&"MOT:Ready."), "{texts:?}");
    assert_eq!(bench.firmware.rx_dropped, 0);
}

/// Before: a sketch monitoring since boot (the library's default) behind
/// a UART bridge was never asked anything: lines arriving ~11 bytes a
/// millisecond end most reads halfway, and each half line counted as boot
/// text, so the probe waited for a quiet that never came and auto-detection
/// took the sketch for plain text lines (found on the simulated Uno,
/// tests/simavr_sketches.rs).
#[test]
fn monitoring_arriving_a_few_bytes_at_a_time_does_not_hold_the_probe() {
    let opened = Instant::now();
    let mut adapter = SimpleFocAdapter::new(&AdapterSettings::default(), opened);
    let stream = b"0.0000\t3.0000\t-0.1250\t12.5000\r\n".repeat(100);
    let mut tally = DecodeTally::default();
    let mut first_request = None;
    for (ms, piece) in stream.chunks(11).enumerate().take(1000) {
        let now = opened + Duration::from_millis(ms as u64);
        adapter
            .receive(piece, now, &mut tally, &mut |_| {})
            .expect("monitoring is no error");
        let mut out = Vec::new();
        adapter.poll(now, &mut out);
        if !out.is_empty() {
            first_request = Some(ms);
            break;
        }
    }
    let ms = first_request.expect("the probe asked nothing in a second");
    assert!(ms < 500, "asked after {ms} ms");
}

#[test]
fn every_value_is_read_exactly_and_not_set_stays_not_set() {
    let mut bench = Bench::new(SketchSettings::default(), 64);
    let info = bench.describe();
    let value = |name| info.params[usize::from(index(&info, name))].value;
    assert_eq!(value("curr_q.Tf"), 1.0 / (std::f32::consts::TAU * 300.0));
    assert_eq!(value("vel.ramp"), NOT_SET_VALUE);
    assert_eq!(value("angle.I"), 0.0);
    let vel_p = index(&info, "vel.P");
    bench.send(Command::Set {
        index: vel_p,
        value: 0.123_456_7,
    });
    bench.run(20);
    assert_eq!(bench.values(vel_p), [0.123_456_7], "not 'clamped' to 0.123");
    assert_eq!(bench.firmware.motor.pid_velocity.p, 0.123_456_7);
}

const NOT_SET_VALUE: f32 = crate::protocol::simplefoc::NOT_SET;

#[test]
fn a_write_is_answered_after_the_values_it_moved() {
    let mut bench = Bench::new(SketchSettings::default(), 64);
    let info = bench.describe();
    let voltage = index(&info, "limit.voltage");
    let vel_limit = index(&info, "vel.limit");
    bench.events.clear();
    bench.send(Command::Set {
        index: voltage,
        value: 5.0,
    });
    bench.run(30);
    let order: Vec<u8> = bench
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Value { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(order.last(), Some(&voltage), "{order:?}");
    assert_eq!(bench.values(vel_limit), [5.0]);
    assert_eq!(
        bench.adapter.device().expect("described").params[usize::from(vel_limit)].value,
        5.0
    );

    // A new motion type moves the target and changes what is measured.
    let motion = index(&info, "motion");
    bench.firmware.motor.shaft_angle = 0.0;
    bench.send(Command::Set {
        index: motion,
        value: 1.0,
    });
    bench.run(30);
    let redescribed = bench
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Described(info) => Some(info.clone()),
            _ => None,
        })
        .expect("described again");
    let feedback = redescribed
        .channels
        .iter()
        .find(|c| c.role == ChannelRole::Feedback)
        .expect("feedback");
    assert_eq!(feedback.name, "velocity");
    assert_eq!(redescribed.params[usize::from(TARGET_INDEX)].unit, "rad/s");
    assert_eq!(bench.values(motion), [1.0]);
}

#[test]
fn a_target_handler_is_never_read_and_never_taken_for_a_motor() {
    let mut bench = Bench::new(
        SketchSettings {
            target_letter: Some('T'),
            ..SketchSettings::default()
        },
        64,
    );
    bench.describe();
    assert_eq!(bench.firmware.handler_calls('T'), 0);

    let mut settings = AdapterSettings::default();
    settings.simplefoc.letter = 'T';
    let mut only_target = Bench::with(
        SketchSettings {
            motor_handler: false,
            target_letter: Some('T'),
            target: 1.5,
            ..SketchSettings::default()
        },
        settings,
        64,
    );
    only_target.run(3000);
    assert!(only_target.adapter.device().is_none());
    let Some(AdapterError::Incompatible(message)) = &only_target.error else {
        panic!("no failure: {:?}", only_target.error);
    };
    assert!(message.contains("command.motion"), "{message}");
    assert_eq!(
        only_target.firmware.motor.target, 1.5,
        "the target untouched"
    );
    assert_eq!(only_target.firmware.handler_calls('T'), 1, "only TC");
    assert_eq!(only_target.firmware.commander.verbose, 2, "@ put back");
}

#[test]
fn a_one_variable_monitor_is_never_taken_for_a_reply() {
    let mut bench = Bench::new(
        SketchSettings {
            monitor_variables: 0b000_0001,
            monitor_downsample: 1,
            ..SketchSettings::default()
        },
        64,
    );
    let info = bench.describe();
    assert_eq!(info.params[6].value, 20.0);
    assert_eq!(info.params[usize::from(TARGET_INDEX)].value, 0.0);
}

fn sample_rows(events: &[Event]) -> usize {
    events
        .iter()
        .map(|e| match e {
            Event::Samples { batch, .. } => {
                assert_eq!(batch.channel_count, 7);
                batch.len()
            }
            _ => 0,
        })
        .sum()
}

#[test]
fn streams_the_sketch_s_format_within_the_port_s_capacity() {
    let mut bench = Bench::new(
        SketchSettings {
            monitor_separator: ',',
            monitor_start_char: Some('>'),
            monitor_end_char: Some('<'),
            ..SketchSettings::default()
        },
        13,
    );
    bench.describe();
    bench.events.clear();
    bench.send(Command::Stream { divider: 1 });
    bench.run(1000);
    let downsample = bench.firmware.motor.monitor.downsample;
    // 7 variables at the assumed 10 kHz loop and 115200 baud: 70 % of
    // 11520 bytes a second.
    assert_eq!(downsample, 80);
    let rows = sample_rows(&bench.events);
    assert!((100..=130).contains(&rows), "{rows}");
    bench.run(1500);
    assert!(
        bench.texts().iter().any(|t| t.starts_with("monitoring ")),
        "{:?}",
        bench.texts()
    );
    assert_eq!(bench.tally.framing_errors + bench.tally.message_errors, 0);
    let restore = bench.close();
    assert!(restore.starts_with("MMS1100011\nMMD100\n"), "{restore}");
}

#[test]
fn a_sketch_that_never_calls_monitor_is_told_what_to_add() {
    let mut bench = Bench::new(
        SketchSettings {
            monitor_in_loop: false,
            ..SketchSettings::default()
        },
        64,
    );
    bench.describe();
    bench.send(Command::Stream { divider: 1 });
    bench.run(3000);
    let told: Vec<_> = bench
        .events
        .iter()
        .filter(|e| matches!(e, Event::Text { level: TextLevel::Error, message } if message.contains("motor.monitor()")))
        .collect();
    assert_eq!(told.len(), 1);
}

#[test]
fn writes_enables_and_skips_garbage() {
    let mut bench = Bench::new(SketchSettings::default(), 13);
    let info = bench.describe();
    bench.send(Command::Stream { divider: 1 });
    bench.run(300);
    let kp = index(&info, "angle.P");
    bench.send(Command::Set {
        index: kp,
        value: 12.5,
    });
    bench.run(20);
    assert_eq!(bench.values(kp), [12.5]);
    assert_eq!(bench.firmware.motor.p_angle.p, 12.5);

    bench.send(Command::Enable(false));
    bench.run(20);
    assert!(bench.events.contains(&status(false)));
    assert!(!bench.firmware.enabled());

    let before = bench.tally;
    bench.deliver(b"\xff\xfe\x00junk\n1.0\tx\t3\n1\t2\n");
    assert_eq!(bench.tally.framing_errors, before.framing_errors + 1);
    assert_eq!(bench.tally.message_errors, before.message_errors + 2);
    bench.events.clear();
    bench.run(100);
    assert!(sample_rows(&bench.events) > 0);
}

#[test]
fn a_value_too_long_for_the_commander_is_refused_not_sent() {
    let mut bench = Bench::new(SketchSettings::default(), 64);
    bench.describe();
    let mut out = Vec::new();
    let refused = bench.adapter.encode(
        &Command::Set {
            index: 0,
            value: f32::INFINITY,
        },
        bench.now,
        &mut out,
    );
    assert_eq!(refused, Err(Unsupported));
    assert!(out.is_empty());
}

#[test]
fn a_plain_text_sketch_is_never_described() {
    let now = Instant::now();
    let mut adapter = SimpleFocAdapter::new(&AdapterSettings::default(), now);
    let mut tally = DecodeTally::default();
    for ms in 0..3000 {
        let at = now + Duration::from_millis(ms);
        let mut out = Vec::new();
        adapter.poll(at, &mut out);
        adapter
            .receive(b"1.5\n2.5\nkp 3\n", at, &mut tally, &mut |_| {})
            .expect("no fatal error");
    }
    assert!(adapter.device().is_none());
}

mod typed;

#[test]
fn another_motor_s_tagged_lines_are_never_this_motor_s_samples() {
    // A second motor under T tags its lines with its letter; this motor
    // (M) tags its own with M. T's lines come first, two in a row, before
    // the handlers are known.
    let mut bench = Bench::new(
        SketchSettings {
            monitor_start_char: Some('M'),
            target_letter: Some('T'),
            ..SketchSettings::default()
        },
        64,
    );
    let other = b"T9.0000\t9.0000\t9.0000\t9.0000\t9.0000\t9.0000\t9.0000\r\n";
    bench.deliver(other);
    bench.deliver(other);
    let info = bench.describe();
    bench.send(Command::Stream { divider: 1 });
    let mut injected = 0;
    for _ in 0..1000 {
        let mut out = Vec::new();
        bench.adapter.poll(bench.now, &mut out);
        bench.pass_to_firmware(&out);
        bench.firmware.advance(10);
        let output = bench.firmware.take_output();
        bench.deliver(&output);
        // Between two whole lines of M's.
        if output.ends_with(b"\n") {
            bench.deliver(other);
            injected += 1;
        }
        bench.now += Duration::from_millis(1);
    }
    assert!(injected > 50, "{injected}");
    let mut rows = 0;
    for event in &bench.events {
        if let Event::Samples { batch, .. } = event {
            for k in 0..batch.len() {
                rows += 1;
                assert!(
                    batch.sample(k).iter().all(|&v| v != 9.0),
                    "T's line read as M's: {:?}",
                    batch.sample(k)
                );
            }
        }
    }
    assert!(rows > 50, "{rows} rows of M's own");
    assert_eq!(bench.tally.message_errors, 0);
    assert_eq!(info.name, "SimpleFOC motor 'M'");
}
