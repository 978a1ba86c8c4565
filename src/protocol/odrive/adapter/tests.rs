//! The adapter against the emulated firmware, back to back in device time,
//! release by release.

use std::collections::VecDeque;

use super::*;
use crate::protocol::odrive::axis::STATE_CLOSED_LOOP;
use crate::protocol::odrive::line::checksum;
use crate::protocol::odrive::params::PARAMS;
use crate::protocol::{DeviceErrorCode, SampleBatch, StatusFlags};
use crate::sim::drive::DriveConfig;
use crate::sim::emulated::EmulatedDevice;
use crate::sim::firmware::odrive::{ERROR_WATCHDOG, OdriveSim, OdriveVersion};

/// The adapter and the emulator wired back to back, in device time.
struct Bench {
    adapter: OdriveAdapter,
    device: OdriveSim,
    /// When the adapter was made: its clock's origin.
    opened: Instant,
    now: Instant,
    tally: DecodeTally,
    events: Vec<Event>,
    /// Replies on their way: when each reaches the host.
    on_the_way: VecDeque<(Instant, Vec<u8>)>,
    /// When the device answered each `f`, in order.
    measured: Vec<Instant>,
}

impl Bench {
    fn new(settings: OdriveSettings) -> Self {
        Self::on(settings, OdriveVersion::LATEST)
    }

    fn on(settings: OdriveSettings, version: OdriveVersion) -> Self {
        let now = Instant::now();
        let settings = AdapterSettings {
            odrive: settings,
            ..AdapterSettings::default()
        };
        Self {
            adapter: OdriveAdapter::new(&settings, now),
            device: OdriveSim::with_version(DriveConfig::default(), version),
            opened: now,
            now,
            tally: DecodeTally::default(),
            events: Vec::new(),
            on_the_way: VecDeque::new(),
            measured: Vec::new(),
        }
    }

    fn deliver(&mut self, bytes: &[u8]) -> Result<(), AdapterError> {
        let events = &mut self.events;
        self.adapter
            .receive(bytes, self.now, &mut self.tally, &mut |e| events.push(e))
    }

    /// One millisecond: poll (unless the host is stalled), the device, and
    /// the replies that reach the host `delay_ms` after they were sent.
    fn step(&mut self, delay_ms: u64, host_stalled: bool) -> Result<(), AdapterError> {
        if !host_stalled {
            let mut out = Vec::new();
            self.adapter.poll(self.now, &mut out);
            let polls = out.windows(2).filter(|w| w == b"f ").count();
            self.measured.extend(std::iter::repeat_n(self.now, polls));
            self.device.receive(&out);
        }
        self.device.advance(8);
        let reply = self.device.take_output();
        let arrives = self.now + Duration::from_millis(delay_ms);
        self.on_the_way.push_back((arrives, reply));
        if !host_stalled {
            let mut bytes = Vec::new();
            while self
                .on_the_way
                .front()
                .is_some_and(|(at, _)| *at <= self.now)
            {
                bytes.extend(
                    self.on_the_way
                        .pop_front()
                        .map(|(_, b)| b)
                        .unwrap_or_default(),
                );
            }
            self.deliver(&bytes)?;
        }
        self.now += Duration::from_millis(1);
        Ok(())
    }

    /// `ms` milliseconds, replies delivered at once.
    fn run(&mut self, ms: u64) -> Result<(), AdapterError> {
        (0..ms).try_for_each(|_| self.step(0, false))
    }

    /// Runs until `lines` reply lines have been lost on the way, as
    /// through a cable that drops out, after passing `kept` more; then
    /// delivers the rest.
    fn run_losing(&mut self, mut kept: usize, mut lines: usize) {
        while lines > 0 {
            let mut out = Vec::new();
            self.adapter.poll(self.now, &mut out);
            self.device.receive(&out);
            self.device.advance(8);
            let reply = self.device.take_output();
            let mut delivered = Vec::new();
            for line in reply.split_inclusive(|&b| b == b'\n') {
                if kept > 0 {
                    kept -= 1;
                } else if lines > 0 {
                    lines -= 1;
                    continue;
                }
                delivered.extend_from_slice(line);
            }
            self.deliver(&delivered).expect("delivered");
            self.now += Duration::from_millis(1);
        }
    }

    fn command(&mut self, command: Command) {
        let mut out = Vec::new();
        self.adapter
            .encode(&command, self.now, &mut out)
            .expect("supported");
        self.device.receive(&out);
    }

    fn samples(&self) -> Vec<Vec<f32>> {
        self.batches()
            .map(|(batch, _)| batch.values.clone())
            .collect()
    }

    fn batches(&self) -> impl Iterator<Item = (&SampleBatch, u64)> {
        self.events.iter().filter_map(|e| match e {
            Event::Samples { batch, lost_before } => Some((batch, *lost_before)),
            _ => None,
        })
    }

    fn values_of(&self, index: u8) -> Vec<f32> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Value { index: i, value } if *i == index => Some(*value),
                _ => None,
            })
            .collect()
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

    fn statuses(&self) -> Vec<StatusFlags> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Status { flags, .. } => Some(*flags),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn describes_after_the_version_and_every_property_are_read() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("0.5 is compatible");
    let info = bench.adapter.device().expect("described").clone();
    assert_eq!(info.firmware, "0.5");
    assert_eq!(info.loop_hz, 200);
    let roles: Vec<_> = info.channels.iter().map(|c| c.role).collect();
    assert_eq!(
        roles,
        [
            ChannelRole::Reference,
            ChannelRole::Feedback,
            ChannelRole::Other,
            ChannelRole::Effort
        ]
    );
    assert_eq!(info.params[0].name, "controller.config.pos_gain");
    assert_eq!(info.params[0].value, 20.0);
    assert!(info.params[5].flags.setpoint());
    assert!(info.params[8].flags.read_only());
    assert_eq!(bench.device.bad_checksums, 0);
    assert_eq!(bench.tally.checksum_errors, 0);
}

#[test]
fn every_release_describes_streams_writes_and_enables() {
    for version in OdriveVersion::ALL {
        let mut bench = Bench::on(OdriveSettings::default(), version);
        bench.run(200).expect("compatible");
        assert!(bench.adapter.device().is_some(), "{version}: described");
        bench.command(Command::Enable(true));
        bench.command(Command::Stream { divider: 1 });
        bench.command(Command::Set {
            index: INPUT_POS_INDEX,
            value: 0.25,
        });
        bench.command(Command::Set {
            index: 1,
            value: 0.05,
        });
        bench.run(1000).expect("streams");
        let samples = bench.samples();
        assert!(samples.len() > 150, "{version}: {} samples", samples.len());
        let last = samples.last().expect("samples");
        assert_eq!(last[0], 0.25, "{version}: reference");
        assert!((last[1] - 0.25).abs() < 0.02, "{version}: {last:?}");
        assert_eq!(bench.device.axes[0].vel_gain, 0.05, "{version}");
        assert!(bench.values_of(1).contains(&0.05), "{version}");
        assert!(
            bench
                .statuses()
                .contains(&StatusFlags(StatusFlags::ENABLED)),
            "{version}"
        );
        assert_eq!(bench.tally.checksum_errors, 0, "{version}");
        assert_eq!(bench.tally.message_errors, 0, "{version}");
        bench.command(Command::Enable(false));
        bench.run(20).expect("disables");
        assert_eq!(bench.device.axes[0].current_state, STATE_IDLE, "{version}");
    }
}

#[test]
fn streams_one_sample_per_feedback_and_effort_pair() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("described");
    bench.command(Command::Enable(true));
    bench.command(Command::Stream { divider: 2 });
    bench.command(Command::Set {
        index: INPUT_POS_INDEX,
        value: 0.25,
    });
    bench.run(1000).expect("streams");
    let samples = bench.samples();
    // 100 Hz for one second, the last one held until the next comes.
    assert!((95..=101).contains(&samples.len()), "{}", samples.len());
    let last = samples.last().expect("samples");
    assert_eq!(last[0], 0.25, "reference");
    assert!((last[1] - 0.25).abs() < 0.02, "position {last:?}");
    assert!(samples.iter().all(|s| s.len() == 4));
    assert!(samples.iter().any(|s| s[3].abs() > 1.0), "effort moves");
    assert!(bench.events.contains(&Event::Status {
        flags: StatusFlags(StatusFlags::ENABLED),
        tick: 0
    }));
    bench.command(Command::Stream { divider: 0 });
    bench.run(50).expect("stops");
    let before = bench.samples().len();
    bench.run(100).expect("stopped");
    assert_eq!(bench.samples().len(), before, "Stream 0 stops polling");
}

#[test]
fn closed_loop_is_reported_from_where_the_axis_is_after_it_began() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("described");
    bench.command(Command::Stream { divider: 1 });
    bench.run(50).expect("streams");
    // A previous session left the rotor at 3.7 turns and input_pos at 0.
    bench.device.place_rotor(3.7);
    bench.run(20).expect("streams");
    bench.events.clear();
    bench.command(Command::Enable(true));
    bench.run(30).expect("enables");
    // The encoder's estimate is of whole counts (8192 a turn): 3.7 turns
    // reads as count 30310.
    let at = ((3.7f64 * 8192.0).floor() / 8192.0) as f32;
    let enabled = bench
        .events
        .iter()
        .position(|e| matches!(e, Event::Status { flags, .. } if flags.enabled()))
        .expect("enabled");
    let reseeded = bench
        .events
        .iter()
        .position(|e| matches!(e, Event::Value { index, value } if *index == INPUT_POS_INDEX && (*value - at).abs() < 1e-6))
        .expect("input_pos read after closed loop began");
    assert_eq!(reseeded, enabled + 1, "the setpoint follows the status");
    bench.run(100).expect("streams");
    let last = bench.samples().last().cloned().expect("samples");
    assert!((last[0] - at).abs() < 1e-6, "reference {last:?}");
    assert!((last[1] - at).abs() < 0.01, "held where it was {last:?}");
}

#[test]
fn a_write_the_firmware_holds_exactly_is_reported_as_written() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("described");
    for (index, value) in [(1, 0.012_345_679), (3, 1e10), (3, 1234.5678), (0, 35.5)] {
        bench.command(Command::Set { index, value });
        bench.run(5).expect("read back");
        assert_eq!(bench.values_of(index).last(), Some(&value), "{value}");
    }
    assert_eq!(bench.device.axes[0].vel_gain, 0.012_345_679);
    assert_eq!(bench.tally.message_errors, 0);
    // Only read, a value says how many digits the reply carried.
    bench.command(Command::Get { index: 1 });
    bench.run(5).expect("read");
    assert_eq!(bench.values_of(1).last(), Some(&0.012_346));
    assert!(
        bench
            .texts()
            .contains(&"controller.config.vel_gain 0.012346 as read back, 5 digits"),
        "{:?}",
        bench.texts()
    );
}

#[test]
fn enabling_the_watchdog_feeds_it_first_so_it_does_not_trip() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("described");
    bench.command(Command::Set {
        index: WATCHDOG_TIMEOUT_INDEX,
        value: 0.5,
    });
    bench.command(Command::Set {
        index: WATCHDOG_ON_INDEX,
        value: 1.0,
    });
    bench.run(5).expect("written");
    assert_eq!(bench.device.axes[0].error, 0, "not tripped");
    assert!(bench.device.axes[0].enable_watchdog);
    bench.command(Command::Enable(true));
    // No heartbeat here: the adapter feeds it itself.
    bench.run(2000).expect("runs");
    assert_eq!(bench.device.axes[0].error, 0);
    assert_eq!(bench.device.axes[0].current_state, STATE_CLOSED_LOOP);
}

#[test]
fn a_failed_enable_names_the_axis_error_in_words() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("described");
    // A watchdog enabled with a 0 s timeout trips at every loop.
    bench.device.receive(b"w axis0.config.enable_watchdog 1\n");
    bench.command(Command::Enable(true));
    bench.run(50).expect("tries");
    assert_eq!(bench.device.axes[0].current_state, STATE_IDLE);
    let problem = bench
        .texts()
        .into_iter()
        .find(|t| t.contains("did not enter closed loop"))
        .map(str::to_owned)
        .expect("said why");
    assert!(problem.contains("its watchdog expired"), "{problem}");
    assert!(problem.contains("axis0.error = 0x800"), "{problem}");
    let status = bench.statuses().last().copied().expect("a status");
    assert!(!status.enabled() && status.watchdog_tripped(), "{status:?}");
    assert_eq!(bench.device.axes[0].error, ERROR_WATCHDOG);
}

/// What the time axis of a 1 Hz motion polled for 6 s came to.
struct TimeAxis {
    /// Each sample's time minus when the device measured it, s.
    errors: Vec<f64>,
    /// The motion's frequency read from the samples' times.
    frequency_hz: f64,
    /// The most samples a batch said were missing before it.
    most_lost: u64,
}

/// Polls a rotor moving at 1 Hz for 6 s, each reply reaching the host
/// `delay_ms(ms)` after it was sent, the host stalled during `stall`.
fn time_axis(delay_ms: fn(u64) -> u64, stall: std::ops::Range<u64>) -> TimeAxis {
    let mut bench = Bench::new(OdriveSettings {
        poll_effort: false,
        ..OdriveSettings::default()
    });
    bench.run(150).expect("described");
    bench.command(Command::Stream { divider: 1 });
    let start = bench.now;
    let first = bench.measured.len();
    for ms in 0..6000u64 {
        let t = bench.now.duration_since(start).as_secs_f64();
        bench.device.place_rotor((std::f64::consts::TAU * t).sin());
        bench
            .step(delay_ms(ms), stall.contains(&ms))
            .expect("streams");
    }
    let truth = &bench.measured[first..];
    let batches: Vec<(f64, u64, f32)> = bench
        .batches()
        .map(|(b, lost)| (b.time_of(0), lost, b.values[1]))
        .collect();
    assert!(batches.len() > 900, "{} samples", batches.len());
    let errors = batches
        .iter()
        .zip(truth)
        .map(|((time, ..), measured)| time - measured.duration_since(bench.opened).as_secs_f64())
        .collect();
    // The motion's frequency from its upward zero crossings.
    let crossings: Vec<f64> = batches
        .windows(2)
        .filter(|pair| pair[0].2 < 0.0 && pair[1].2 >= 0.0)
        .map(|pair| pair[1].0)
        .collect();
    let cycles = (crossings.len() - 1) as f64;
    let frequency_hz = cycles / (crossings[crossings.len() - 1] - crossings[0]);
    let most_lost = batches.iter().map(|&(_, lost, _)| lost).max().unwrap_or(0);
    TimeAxis {
        errors,
        frequency_hz,
        most_lost,
    }
}

#[test]
fn samples_are_timed_by_the_arrival_of_their_replies() {
    // Answered after 1 to 4 ms, the host stalled for 199 ms once (the
    // steady clock read this 1 Hz motion as 1.049 Hz, its times up to
    // 0.17 s off).
    let axis = time_axis(|ms| 1 + ms % 4, 2000..2199);
    let worst = axis.errors.iter().fold(0.0f64, |w, e| w.max(e.abs()));
    eprintln!(
        "stalled host: 1 Hz read as {:.4} Hz, times up to {worst:.4} s late",
        axis.frequency_hz
    );
    // Each sample is timed between its poll and its reply's arrival: here
    // 1 to 4 ms after, but up to the stall for a reply it held back.
    assert!(axis.errors.iter().all(|e| (-1e-6..0.2).contains(e)));
    let late = axis.errors.iter().filter(|&&e| e > 0.0045).count();
    assert!(late <= 2, "{late} samples more than their round trip late");
    assert!(axis.most_lost >= 30, "the stall is a gap");
    assert!(
        (axis.frequency_hz - 1.0).abs() < 0.005,
        "{} Hz",
        axis.frequency_hz
    );

    // A link slower than the poll rate asked (the steady clock: 1.029 Hz).
    let axis = time_axis(|ms| [10, 10, 11, 10, 11][(ms % 5) as usize], 0..0);
    let worst = axis.errors.iter().fold(0.0f64, |w, e| w.max(e.abs()));
    eprintln!(
        "slow link: 1 Hz read as {:.4} Hz, times up to {worst:.4} s late",
        axis.frequency_hz
    );
    assert!(worst <= 0.0115, "{worst} s");
    assert_eq!(axis.most_lost, 0, "no gap");
    assert!(
        (axis.frequency_hz - 1.0).abs() < 0.005,
        "{} Hz",
        axis.frequency_hz
    );
}

#[test]
fn writes_are_read_back_and_unknown_properties_refused() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("described");
    bench.command(Command::Set {
        index: 1,
        value: 0.05,
    });
    bench.run(5).expect("read back");
    assert!(bench.events.contains(&Event::Value {
        index: 1,
        value: 0.05
    }));
    assert_eq!(bench.device.axes[0].vel_gain, 0.05);
    assert_eq!(
        bench.adapter.encode(
            &Command::Set {
                index: CURRENT_STATE_INDEX,
                value: 8.0
            },
            bench.now,
            &mut Vec::new()
        ),
        Err(Unsupported)
    );
    // A reply "invalid property" to an app's read is a refusal.
    bench.adapter.due.push_back((
        Expect::Param(ParamRead {
            index: 0,
            answer: Some(Command::Get { index: 0 }.type_code()),
            written: None,
        }),
        bench.now,
    ));
    let refusal = format!("invalid property*{}\r\n", checksum(b"invalid property"));
    bench.deliver(refusal.as_bytes()).expect("a refusal");
    assert!(matches!(
        bench.events.last(),
        Some(Event::Refused {
            code: DeviceErrorCode::BadIndex,
            ..
        })
    ));
}

#[test]
fn corrupted_replies_are_counted_and_never_become_samples() {
    let mut bench = Bench::new(OdriveSettings {
        poll_effort: false,
        ..OdriveSettings::default()
    });
    bench.run(150).expect("described");
    bench.command(Command::Stream { divider: 1 });
    bench.run(100).expect("streams");
    let before = bench.samples().len();
    bench
        .adapter
        .due
        .push_back((Expect::Feedback { reference: 0.0 }, bench.now));
    bench.deliver(b"9.000000 0.000000*99\r\n").expect("counted");
    assert_eq!(bench.tally.checksum_errors, 1);
    bench
        .adapter
        .due
        .push_back((Expect::Feedback { reference: 0.0 }, bench.now));
    // Split across chunks, and without the checksum the request asked.
    bench.deliver(b"9.0000").expect("partial");
    bench.deliver(b"00 1\r\n").expect("counted");
    assert_eq!(bench.tally.checksum_errors, 2);
    assert_eq!(bench.samples().len(), before);
    bench.run(100).expect("streams on");
    // 200 Hz for 0.1 s.
    assert!(bench.samples().len() > before + 15);
    assert!(bench.samples().iter().all(|s| s[1] != 9.0));
}

#[test]
fn replies_lost_in_a_dropout_never_shift_the_next_ones_onto_other_requests() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("described");
    bench.command(Command::Stream { divider: 1 });
    bench.run(100).expect("streams");
    // Idle at rest: every true sample has Iq exactly 0, while a
    // `current_state` reply (1, IDLE) taken for Iq would read 1.
    let rest = bench.device.pos_estimate() as f32;
    // Dropouts of one to six replies, each starting and ending at
    // another point of the poll cycle (feedback, Iq, and every 250 ms
    // the state).
    for (kept, dropped) in (0..=2).flat_map(|kept| (1..=6).map(move |n| (kept, n))) {
        let before = bench.samples().len();
        bench.run_losing(kept, dropped);
        // Within the reply timeout and the quiet after it, then 100 ms
        // of polls at 200 a second.
        bench.run(450).expect("streams on");
        let resumed = bench.samples().len() - before;
        assert!(
            resumed >= 15,
            "{resumed} samples after {dropped} lost replies from the {kept}th"
        );
    }
    let samples = bench.samples();
    for sample in &samples {
        assert_eq!(sample[3], 0.0, "a wrong value taken for Iq: {sample:?}");
        assert!(
            (sample[1] - rest).abs() < 1e-3,
            "a wrong position: {sample:?}"
        );
    }
    assert!(bench.tally.message_errors > 0, "the shifts were noticed");
}

#[test]
fn a_state_reply_in_place_of_a_lost_iq_reply_is_not_taken_for_iq() {
    let mut bench = Bench::new(OdriveSettings {
        checksum: false,
        ..OdriveSettings::default()
    });
    bench.run(150).expect("described");
    let errors = bench.tally.message_errors;
    let now = bench.now;
    bench.adapter.due.extend([
        (Expect::Feedback { reference: 0.0 }, now),
        (Expect::Effort, now),
        (Expect::State, now),
    ]);
    // The Iq reply between these two was lost.
    bench
        .deliver(b"0.500000 0.000000\r\n1\r\n")
        .expect("counted");
    assert!(bench.samples().is_empty(), "{:?}", bench.samples());
    assert_eq!(bench.tally.message_errors, errors + 1);
    assert!(bench.adapter.due.is_empty(), "resynchronising");
}

#[test]
fn saving_reboots_from_0_5_2_and_everything_is_read_again() {
    let mut bench = Bench::on(OdriveSettings::default(), OdriveVersion { revision: 3 });
    bench.run(150).expect("described");
    bench.command(Command::Set {
        index: 0,
        value: 30.0,
    });
    bench.command(Command::Enable(true));
    bench.run(20).expect("enabled");
    let mut out = Vec::new();
    assert_eq!(
        bench.adapter.encode(&Command::Save, bench.now, &mut out),
        Err(Unsupported),
        "0.5.2 and later save only while idle"
    );
    bench.command(Command::Enable(false));
    bench.run(20).expect("idle");
    bench.events.clear();
    bench.command(Command::Save);
    bench.run(2000).expect("rebooted and read again");
    assert_eq!(bench.device.reboots, 1);
    assert_eq!(
        bench.device.saved.as_ref().map(|s| s[0].pos_gain),
        Some(30.0)
    );
    assert!(bench.values_of(0).contains(&30.0));
    assert!(bench.texts().iter().any(|t| t.contains("reboots to save")));
    assert_eq!(bench.statuses().last(), Some(&StatusFlags(0)));
}

#[test]
fn saving_is_refused_saying_why_while_the_other_axis_is_armed() {
    let mut bench = Bench::new(OdriveSettings::default());
    bench.run(150).expect("described");
    // Axis1 in closed loop, from another window: the firmware would
    // ignore `ss` in silence (fw-v0.5.6 main.cpp:159-184).
    bench.device.receive(b"w axis1.requested_state 8\n");
    bench.run(20).expect("axis1 armed");
    bench.events.clear();
    bench.command(Command::Save);
    bench.run(600).expect("refused");
    assert_eq!(bench.device.reboots, 0);
    assert!(
        bench.device.saved.is_none(),
        "nothing saved, nothing claimed"
    );
    assert!(bench.events.iter().any(|e| matches!(
        e,
        Event::Refused { request, code: DeviceErrorCode::Unsupported }
            if *request == Command::Save.type_code()
    )));
    assert!(
        bench
            .texts()
            .iter()
            .any(|t| t.contains("not saved: axis1 is not idle")),
        "{:?}",
        bench.texts()
    );
    assert!(!bench.texts().iter().any(|t| t.contains("reboots to save")));
    // Idle again: the save goes out, the board reboots.
    bench.device.receive(b"w axis1.requested_state 1\n");
    bench.run(20).expect("axis1 idle");
    bench.command(Command::Save);
    bench.run(2000).expect("rebooted and read again");
    assert_eq!(bench.device.reboots, 1);
}

#[test]
fn another_firmware_version_is_refused_and_other_devices_never_describe() {
    let opened = Instant::now();
    let mut adapter = OdriveAdapter::new(&AdapterSettings::default(), opened);
    // Replies left from an earlier client are drained unread.
    let mut tally = DecodeTally::default();
    adapter
        .receive(b"1*49\r\n0*48\r\n", opened, &mut tally, &mut |_| {})
        .expect("drained");
    let now = opened + DRAIN;
    adapter.poll(now, &mut Vec::new());
    let result = adapter.receive(b"0*48\r\n6*54\r\n", now, &mut tally, &mut |_| {});
    assert!(
        matches!(&result, Err(AdapterError::Incompatible(m)) if m.contains("found an ODrive running firmware 0.6")),
        "{result:?}"
    );
    // A plain-text sketch printing numbers has no checksums.
    let mut adapter = OdriveAdapter::new(&AdapterSettings::default(), opened);
    let mut out = Vec::new();
    adapter.poll(now, &mut out);
    assert!(out.starts_with(b"r fw_version_major*"));
    assert!(
        out.split(|&b| b == b'\n')
            .all(|l| l.is_empty() || l.starts_with(b"r ")),
        "read-only until described"
    );
    for _ in 0..50 {
        adapter
            .receive(b"0\r\n5\r\n1.0 2.0\r\n", now, &mut tally, &mut |_| {})
            .expect("no error");
    }
    assert!(adapter.device().is_none());
    assert!(tally.checksum_errors > 0);
    assert_eq!(PARAMS.len(), 11);
}

mod typed;
