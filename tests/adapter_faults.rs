//! The fault-injection proxy between the app and each emulated text
//! firmware (a serial-plotter sketch, SimpleFOC, ODrive), as
//! `reliability.rs` does for the native protocol: corrupted lines are
//! counted and never cost a clean one, a stall is shown and survived, and
//! an unplugged device is found again by auto-detection with its output
//! left off.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::{Framing, Proxy, step_until, wait_connected, wait_for};
use egui_kittest::kittest::Queryable;
use motiontune::app::AppOptions;
use motiontune::link::{HealthSnapshot, Link, LinkEvent, LinkOptions, PortTarget};
use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use motiontune::protocol::lines::{CommandTemplate, LinesSettings};
use motiontune::protocol::{Event, SampleBatch};
use motiontune::sim::EmulatedDevice;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::lines::{LinesSketch, LinesSketchSettings};
use motiontune::sim::firmware::odrive::{OdriveSim, STATE_CLOSED_LOOP};
use motiontune::sim::firmware::simplefoc::{SimpleFocFirmware, SketchSettings};
use motiontune::sim::pty::PtyServer;

/// An emulated firmware and what a user tells the app about it.
trait Firmware: EmulatedDevice + Sized {
    const PROTOCOL: Protocol;
    fn start() -> Self;
    /// Whether the firmware's output stage drives the motor.
    fn output_on(&self) -> bool;
    /// Whether the firmware has finished starting up (its output as it
    /// will stay).
    fn started(&self) -> bool {
        true
    }
    /// The adapter settings a user gives for it (only the sketch needs
    /// any: its roles and its enable and disable commands).
    fn settings() -> AdapterSettings {
        AdapterSettings::default()
    }
}

impl Firmware for LinesSketch {
    const PROTOCOL: Protocol = Protocol::Lines;
    fn start() -> Self {
        LinesSketch::new(DriveConfig::default(), LinesSketchSettings::default())
    }
    fn output_on(&self) -> bool {
        self.drive.enabled()
    }
    fn settings() -> AdapterSettings {
        #[allow(clippy::needless_update)] // other protocols' settings sit beside
        AdapterSettings {
            lines: Box::new(LinesSettings {
                roles: "ref=setpoint,fb=position,effort=effort"
                    .parse()
                    .expect("roles"),
                enable: Some(CommandTemplate::fixed("enable").expect("template")),
                disable: Some(CommandTemplate::fixed("disable").expect("template")),
                ..LinesSettings::default()
            }),
            ..AdapterSettings::default()
        }
    }
}

impl Firmware for SimpleFocFirmware {
    const PROTOCOL: Protocol = Protocol::SimpleFoc;
    fn start() -> Self {
        // Off after setup(), as the other firmware start: the app is to
        // switch the output on (a motor the sketch enabled is left alone).
        SimpleFocFirmware::with_settings(
            DriveConfig::default(),
            SketchSettings {
                enabled: false,
                ..SketchSettings::default()
            },
        )
    }
    fn output_on(&self) -> bool {
        self.enabled()
    }
    fn started(&self) -> bool {
        !self.booting()
    }
}

impl Firmware for OdriveSim {
    const PROTOCOL: Protocol = Protocol::Odrive;
    fn start() -> Self {
        OdriveSim::new(DriveConfig::default())
    }
    fn output_on(&self) -> bool {
        // The emulator runs ODrive's own cascade, not the drive's loop.
        self.axes[0].current_state == STATE_CLOSED_LOOP
    }
}

/// The firmware on a pty and the proxy in front of it.
fn behind_a_proxy<F: Firmware>() -> (PtyServer<F>, Proxy) {
    let server = PtyServer::start(F::start()).expect("pty server");
    while !server.with_device(|d| d.started()) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let proxy = Proxy::start_framed(server.path(), Framing::Lines);
    (server, proxy)
}

fn target<F: Firmware>(path: &str, choice: ProtocolChoice) -> PortTarget {
    PortTarget::parse(path, 115_200).speaking(choice, F::settings())
}

/// Samples the link delivered while `wait` ran its course.
fn drain_for(link: &Link, time: Duration) -> Vec<SampleBatch> {
    let until = Instant::now() + time;
    let mut batches = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Device(Event::Samples { batch, .. })) => batches.push(batch),
            Ok(LinkEvent::Closed(reason)) => panic!("link closed: {reason:?}"),
            _ => {}
        }
    }
    batches
}

/// Holds the device's lines back until the link has taken in everything
/// already passed on (no byte for 300 ms), and returns the counts then:
/// lines the proxy forwarded, lines it corrupted, and the link's tally.
fn quiet_counts(link: &Link, proxy: &Proxy) -> (u64, u64, HealthSnapshot) {
    proxy.set_stalled(true);
    let mut last = link.health().snapshot().bytes_in;
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(300) {
        drain_for(link, Duration::from_millis(20));
        let now = link.health().snapshot().bytes_in;
        if now != last {
            (last, quiet_since) = (now, Instant::now());
        }
    }
    (
        proxy.frames_forwarded(),
        proxy.corrupted_frames(),
        link.health().snapshot(),
    )
}

/// Streams for three seconds with `fraction` of the firmware's lines
/// corrupted (one bit flipped, never into a line end), then checks that
/// every line that reached the link was decoded or counted bad exactly
/// once, and that no clean line was counted bad.
fn every_line_accounted_for<F: Firmware>(fraction: f64) -> (u64, u64, u64, HealthSnapshot) {
    let (_server, proxy) = behind_a_proxy::<F>();
    let link = Link::open(LinkOptions::new(target::<F>(
        &proxy.path,
        ProtocolChoice::Only(F::PROTOCOL),
    )));
    wait_for(&link, 10, |event| match event {
        Event::Described(_) => Some(()),
        _ => None,
    });
    drain_for(&link, Duration::from_millis(500));
    let (lines_before, corrupted_before, before) = quiet_counts(&link, &proxy);

    proxy.set_corruption(fraction);
    proxy.set_stalled(false);
    let batches = drain_for(&link, Duration::from_secs(3));
    proxy.set_corruption(0.0);
    let (lines_after, corrupted_after, after) = quiet_counts(&link, &proxy);

    let lines = lines_after - lines_before;
    let corrupted = corrupted_after - corrupted_before;
    let decoded = after.frames_ok - before.frames_ok;
    let framing = after.framing_errors - before.framing_errors;
    let checksum = after.crc_errors - before.crc_errors;
    let message = after.message_errors - before.message_errors;
    let samples: usize = batches.iter().map(SampleBatch::len).sum();
    eprintln!(
        "{:?} at {:.0} %: {lines} lines, {corrupted} corrupted; {decoded} decoded, \
         {framing} framing, {checksum} checksum, {message} message errors; {samples} samples",
        F::PROTOCOL,
        fraction * 100.0,
    );
    assert!(corrupted > 0, "the proxy corrupted nothing");
    assert!(samples > 0, "the stream went on");
    assert_eq!(
        decoded + framing + checksum,
        lines,
        "every line that arrived is decoded or dropped, once"
    );
    assert!(
        framing + checksum + message <= corrupted,
        "a clean line was counted bad: {} errors for {corrupted} corrupted lines",
        framing + checksum + message
    );
    let difference = |a: &HealthSnapshot, b: &HealthSnapshot| {
        a.framing_errors + a.crc_errors + a.message_errors
            - b.framing_errors
            - b.crc_errors
            - b.message_errors
    };
    (
        lines,
        corrupted,
        difference(&after, &before),
        link.health().snapshot(),
    )
}

#[test]
fn sketch_lines_corrupted_at_one_percent_are_counted_and_cost_no_clean_line() {
    every_line_accounted_for::<LinesSketch>(0.01);
}

#[test]
fn sketch_lines_corrupted_at_ten_percent_are_counted_and_cost_no_clean_line() {
    every_line_accounted_for::<LinesSketch>(0.10);
}

#[test]
fn simplefoc_lines_corrupted_at_one_percent_are_counted_and_cost_no_clean_line() {
    every_line_accounted_for::<SimpleFocFirmware>(0.01);
}

#[test]
fn simplefoc_lines_corrupted_at_ten_percent_are_counted_and_cost_no_clean_line() {
    every_line_accounted_for::<SimpleFocFirmware>(0.10);
}

/// ODrive replies carry a checksum when the request did, and the adapter
/// asks for one on every request: every corrupted reply is caught.
fn odrive_catches_every_corrupted_reply(fraction: f64) {
    let (_, corrupted, counted, _) = every_line_accounted_for::<OdriveSim>(fraction);
    assert_eq!(counted, corrupted, "every corrupted reply counted, once");
}

#[test]
fn odrive_replies_corrupted_at_one_percent_are_all_caught_by_their_checksum() {
    odrive_catches_every_corrupted_reply(0.01);
}

#[test]
fn odrive_replies_corrupted_at_ten_percent_are_all_caught_by_their_checksum() {
    odrive_catches_every_corrupted_reply(0.10);
}

/// ODrive's ASCII protocol pairs replies with requests by order alone: with
/// 2 % of its reply lines lost on the way, the stream goes on, and no reply
/// is taken for another request's (idle at rest, every true sample has
/// Iq 0 and the same position).
#[test]
fn odrive_replies_lost_on_the_way_never_pair_with_the_wrong_request() {
    let (server, proxy) = behind_a_proxy::<OdriveSim>();
    let link = Link::open(LinkOptions::new(target::<OdriveSim>(
        &proxy.path,
        ProtocolChoice::Only(Protocol::Odrive),
    )));
    wait_for(&link, 10, |event| match event {
        Event::Described(_) => Some(()),
        _ => None,
    });
    let rest = server.with_device(|d| d.pos_estimate()) as f32;
    proxy.set_dropping(0.02);
    let batches = drain_for(&link, Duration::from_secs(4));
    let dropped = proxy.dropped_frames();
    let health = link.health().snapshot();
    let samples: Vec<&[f32]> = batches
        .iter()
        .flat_map(|b| (0..b.len()).map(move |k| b.sample(k)))
        .collect();
    eprintln!(
        "{dropped} replies lost: {} samples in 4 s, {} message errors",
        samples.len(),
        health.message_errors
    );
    assert!(dropped > 0, "the proxy lost nothing");
    // 200 polls a second; each loss costs a wait for quiet and a poll.
    assert!(samples.len() > 400, "the stream stalled: {}", samples.len());
    for sample in samples {
        assert_eq!(sample[3], 0.0, "a wrong value taken for Iq: {sample:?}");
        assert!(
            (sample[1] - rest).abs() < 1e-3,
            "a wrong position: {sample:?}"
        );
    }
}

/// The status bar names a device silent once it has said nothing for more
/// than this (`src/app/status.rs`); the UI steps every 10 ms, and 200 ms
/// more covers a step on a busy machine.
const SILENCE_SHOWN_WITHIN: Duration = Duration::from_millis(1200);

/// The app on the firmware behind the proxy, found by auto-detection.
fn app_behind_a_proxy<F: Firmware>(
    proxy: &Proxy,
) -> egui_kittest::Harness<'static, motiontune::app::App> {
    let mut harness = common::app_with(AppOptions {
        target: target::<F>(&proxy.path, ProtocolChoice::Auto),
        stream_divider: 10,
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    let speaking = harness.state().session().and_then(|s| s.protocol);
    assert_eq!(speaking, Some(F::PROTOCOL), "auto-detection found it");
    harness
}

fn history_len(harness: &egui_kittest::Harness<'static, motiontune::app::App>) -> usize {
    harness
        .state()
        .session()
        .and_then(|s| s.history.as_ref())
        .map_or(0, |history| history.len())
}

/// A stall (the firmware's lines held back) is shown within a second and
/// the stream comes back after it, with every sample a real one.
fn stall_is_shown_and_survived<F: Firmware>() {
    let (_server, proxy) = behind_a_proxy::<F>();
    let mut harness = app_behind_a_proxy::<F>(&proxy);
    step_until(&mut harness, "samples", |h| history_len(h) > 50);
    assert!(harness.query_by_label_contains("device silent").is_none());

    proxy.set_stalled(true);
    let stalled_at = Instant::now();
    step_until(&mut harness, "the silence shown", |h| {
        h.query_by_label_contains("device silent").is_some()
    });
    let shown_after = stalled_at.elapsed();
    eprintln!(
        "{:?}: stall shown after {} ms",
        F::PROTOCOL,
        shown_after.as_millis()
    );
    assert!(
        shown_after <= SILENCE_SHOWN_WITHIN,
        "shown {} ms after the stall",
        shown_after.as_millis()
    );
    let before = history_len(&harness);
    std::thread::sleep(Duration::from_millis(500));

    proxy.set_stalled(false);
    step_until(&mut harness, "the device heard again", |h| {
        h.query_by_label_contains("device silent").is_none()
    });
    step_until(&mut harness, "samples after the stall", |h| {
        history_len(h) > before + 50
    });
    let session = harness.state().session().expect("session");
    assert!(session.is_connected(), "the link survived the stall");
}

#[test]
fn a_stalled_sketch_is_shown_silent_and_recovers() {
    stall_is_shown_and_survived::<LinesSketch>();
}

#[test]
fn a_stalled_simplefoc_is_shown_silent_and_recovers() {
    stall_is_shown_and_survived::<SimpleFocFirmware>();
}

#[test]
fn a_stalled_odrive_is_shown_silent_and_recovers() {
    stall_is_shown_and_survived::<OdriveSim>();
}

/// Enables the output, unplugs the firmware and plugs it back in: the app
/// reconnects on its own, detects the firmware again, keeps the history
/// and leaves the output off, though the firmware kept it on throughout.
fn unplugged_firmware_is_found_again_with_its_output_off<F: Firmware>() {
    let (server, proxy) = behind_a_proxy::<F>();
    let mut harness = app_behind_a_proxy::<F>(&proxy);
    harness.get_by_label("Enable output").click_accesskit();
    step_until(&mut harness, "the output on", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    assert!(server.with_device(|d| d.output_on()));
    step_until(&mut harness, "samples", |h| history_len(h) > 50);

    proxy.unplug();
    step_until(&mut harness, "reconnecting", |h| {
        h.state().session().is_some_and(|s| s.is_reconnecting())
    });
    std::thread::sleep(Duration::from_millis(600));
    harness.step();
    let before = history_len(&harness);
    assert!(
        server.with_device(|d| d.output_on()),
        "the firmware kept its output on: only the app can switch it off"
    );

    proxy.replug();
    // Auto-detection runs again: up to about two seconds for a sketch.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !harness.state().session().is_some_and(|s| s.is_connected()) {
        assert!(Instant::now() < deadline, "not reconnected");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    let speaking = harness.state().session().and_then(|s| s.protocol);
    assert_eq!(speaking, Some(F::PROTOCOL), "detected again");
    step_until(&mut harness, "samples after the outage", |h| {
        history_len(h) > before + 50
    });
    step_until(&mut harness, "the firmware's output off", |_| {
        !server.with_device(|d| d.output_on())
    });
    let session = harness.state().session().expect("session");
    assert!(!session.output_enabled(), "the app shows the output off");
    assert!(
        harness
            .query_by_label_contains("history kept with a gap; output left off")
            .is_some(),
        "the history carried on across the outage"
    );
}

#[test]
fn an_unplugged_sketch_is_found_again_with_its_output_off() {
    unplugged_firmware_is_found_again_with_its_output_off::<LinesSketch>();
}

#[test]
fn an_unplugged_simplefoc_is_found_again_with_its_output_off() {
    unplugged_firmware_is_found_again_with_its_output_off::<SimpleFocFirmware>();
}

#[test]
fn an_unplugged_odrive_is_found_again_with_its_output_off() {
    unplugged_firmware_is_found_again_with_its_output_off::<OdriveSim>();
}

/// Each firmware at another baud rate (every byte scrambled on the way):
/// auto-detection gives up with one line that names the baud rate, the
/// firmware's output is as it was (the probes only read), and the UI kept
/// stepping meanwhile.
fn a_baud_mismatch_is_one_line_and_changes_nothing<F: Firmware>() {
    use motiontune::app::ConnectionState;
    use std::sync::atomic::Ordering;

    let (server, proxy) = behind_a_proxy::<F>();
    let output_before = server.with_device(|d| d.output_on());
    proxy.faults.garble.store(true, Ordering::Relaxed);
    let mut harness = common::app_with(AppOptions {
        target: target::<F>(&proxy.path, ProtocolChoice::Auto),
        ..AppOptions::default()
    });
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let error = loop {
        let state = harness.state().session().map(|s| s.state.clone());
        if let Some(ConnectionState::Failed(error)) = state {
            break error;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never gave up");
        std::thread::sleep(Duration::from_millis(10));
        let step = Instant::now();
        harness.step();
        slowest = slowest.max(step.elapsed());
    };
    let message = error.to_string();
    eprintln!(
        "{:?} garbled: \"{message}\" after {:.1} s, slowest frame {} ms",
        F::PROTOCOL,
        started.elapsed().as_secs_f64(),
        slowest.as_millis()
    );
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(message.contains("the baud rate"), "{message}");
    assert_eq!(
        server.with_device(|d| d.output_on()),
        output_before,
        "a probe changed the output"
    );
    harness.step();
    let shown = harness.get_all_by_label_contains("check the firmware, the baud rate");
    assert!(shown.count() >= 1, "the error is shown");
}

#[test]
fn a_sketch_at_another_baud_rate_is_one_line_and_changes_nothing() {
    a_baud_mismatch_is_one_line_and_changes_nothing::<LinesSketch>();
}

#[test]
fn a_simplefoc_at_another_baud_rate_is_one_line_and_changes_nothing() {
    a_baud_mismatch_is_one_line_and_changes_nothing::<SimpleFocFirmware>();
}

#[test]
fn an_odrive_at_another_baud_rate_is_one_line_and_changes_nothing() {
    a_baud_mismatch_is_one_line_and_changes_nothing::<OdriveSim>();
}

/// A sketch printing as fast as its loop runs: 10 000 lines a second with
/// `micros()` first, about 330 kB/s. Every line the proxy passed on is a
/// sample in the history, the sketch never had to drop output, and the UI
/// kept its frame rate.
#[test]
fn a_sketch_printing_ten_thousand_lines_a_second_is_taken_whole() {
    use motiontune::sim::firmware::lines::SketchFormat;

    let server = PtyServer::start(LinesSketch::new(
        DriveConfig::default(),
        LinesSketchSettings {
            loop_hz: 10_000,
            print_every: 1,
            format: SketchFormat::Header,
            time_column: true,
            enabled_at_start: false,
            ..LinesSketchSettings::default()
        },
    ))
    .expect("pty server");
    let proxy = Proxy::start_framed(server.path(), Framing::Lines);
    let mut settings = LinesSketch::settings();
    settings.lines.time_column = Some("1:us".parse().expect("time column"));
    let mut harness = common::app_with(AppOptions {
        target: PortTarget::parse(&proxy.path, 115_200)
            .speaking(ProtocolChoice::Only(Protocol::Lines), settings),
        stream_divider: 1,
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    let counts = |h: &mut egui_kittest::Harness<'static, motiontune::app::App>| {
        // Held back until the app has taken everything passed on.
        proxy.set_stalled(true);
        let taken = |h: &egui_kittest::Harness<'static, motiontune::app::App>| {
            let session = h.state().session().expect("session");
            let pushed = session.history.as_ref().map_or(0, |x| x.total_pushed());
            (session.health().expect("health").0, pushed)
        };
        let mut last = taken(h);
        let mut quiet_since = Instant::now();
        while quiet_since.elapsed() < Duration::from_millis(300) {
            std::thread::sleep(Duration::from_millis(10));
            h.step();
            let now = taken(h);
            if (now.0.bytes_in, now.1) != (last.0.bytes_in, last.1) {
                quiet_since = Instant::now();
            }
            last = now;
        }
        (proxy.frames_forwarded(), last.0, last.1)
    };
    let (lines_before, health_before, pushed_before) = counts(&mut harness);

    proxy.set_stalled(false);
    let started = Instant::now();
    let (mut frames, mut total, mut slowest) = (0u32, Duration::ZERO, Duration::ZERO);
    while started.elapsed() < Duration::from_secs(3) {
        let step = Instant::now();
        harness.step();
        let took = step.elapsed();
        (frames, total, slowest) = (frames + 1, total + took, slowest.max(took));
        std::thread::sleep(Duration::from_millis(16).saturating_sub(took));
    }
    let streamed_s = started.elapsed().as_secs_f64();
    let (lines_after, health_after, pushed_after) = counts(&mut harness);

    let lines = lines_after - lines_before;
    let decoded = health_after.frames_ok - health_before.frames_ok;
    let errors = health_after.framing_errors - health_before.framing_errors
        + health_after.message_errors
        - health_before.message_errors;
    let samples = pushed_after - pushed_before;
    let session = harness.state().session().expect("session");
    eprintln!(
        "sketch flood: {lines} lines in {streamed_s:.1} s ({:.0}/s), {decoded} decoded, \
         {errors} errors, {samples} samples kept, {} dropped by the app; \
         frame {:.1} ms mean, {:.1} ms max; sketch overruns {:?}",
        lines as f64 / streamed_s,
        session.dropped_samples,
        total.as_secs_f64() * 1e3 / f64::from(frames),
        slowest.as_secs_f64() * 1e3,
        server.overruns(),
    );
    assert!(session.is_connected(), "{:?}", session.state);
    assert!(
        lines as f64 / streamed_s > 8_000.0,
        "the sketch's lines did not get through: {lines} in {streamed_s:.1} s"
    );
    assert_eq!(errors, 0, "every line is well formed");
    assert_eq!(decoded, lines, "every line passed on was decoded");
    assert_eq!(
        samples, decoded,
        "every decoded line is a sample in the history"
    );
    assert_eq!(session.dropped_samples, 0);
    assert_eq!(
        server.overruns().output_bytes_dropped,
        0,
        "the sketch had to drop output: the app fell behind"
    );
}
