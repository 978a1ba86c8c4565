//! The console (issue 17) on the real `App` driven headless, against
//! devices behind real ptys: a device's text lines appear with their time
//! and its data lines do not; the filter narrows them; *Save console*
//! writes them; a typed line reaches the device exactly once with its line
//! end (the SimpleFOC sketch answers in the console and the adapter's
//! values and stream are untouched; the ODrive answers a read while
//! polling goes on; a plain-text sketch takes it as a command); the
//! native drive says "not supported" in one line and is sent nothing; Up
//! recalls the last line; the event log lists every line sent.
#![cfg(unix)]

mod common;

use common::{
    Framing, Proxy, app_with, step_until, type_into_text_field, wait_connected, wait_for_samples,
};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::{App, AppOptions};
use motiontune::device::LineSource;
use motiontune::link::PortTarget;
use motiontune::protocol::TextLevel;
use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::lines::{LinesSketch, LinesSketchSettings};
use motiontune::sim::firmware::odrive::OdriveSim;
use motiontune::sim::firmware::simplefoc::SimpleFocFirmware;
use motiontune::sim::pty::PtyServer;

/// A line of the device's, as a reply to a typed line is.
const REPLY: LineSource = LineSource::Device(TextLevel::Info);

/// The app on `path`, speaking `protocol`, connected and streaming.
fn app_speaking(
    path: &str,
    protocol: Protocol,
    settings: AdapterSettings,
) -> Harness<'static, App> {
    let mut harness = app_with(AppOptions {
        target: PortTarget::parse(path, 115_200).speaking(ProtocolChoice::Only(protocol), settings),
        stream_divider: 1,
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    wait_for_samples(&mut harness, 5);
    harness
}

fn open_console(harness: &mut Harness<'static, App>) {
    harness.get_by_label("Console").click_accesskit();
    harness.run_steps(2);
}

/// Types `line` on the command line and presses Enter.
fn send_line(harness: &mut Harness<'static, App>, line: &str) {
    type_into_text_field(harness, "Command line", line);
    harness.key_press(egui::Key::Enter);
    harness.step();
}

/// Steps until the console holds a line of `source` whose text is `text`.
fn wait_for_line(harness: &mut Harness<'static, App>, source: LineSource, text: &str) {
    step_until(harness, &format!("{text:?} in the console"), |h| {
        h.state()
            .console()
            .lines()
            .any(|line| line.source == source && line.text == text)
    });
    harness.run_steps(2);
}

fn device_lines(harness: &Harness<'static, App>) -> Vec<String> {
    harness
        .state()
        .console()
        .lines()
        .filter(|line| matches!(line.source, LineSource::Device(_)))
        .map(|line| line.text.clone())
        .collect()
}

/// The whole label of the widget whose label holds `part`.
fn label_holding(harness: &Harness<'static, App>, part: &str) -> String {
    harness
        .get_by_label_contains(part)
        .value()
        .unwrap_or_default()
}

/// How often `wire` went to the device in the bytes the proxy kept.
fn times_in(proxy: &Proxy, wire: &[u8]) -> usize {
    let bytes = proxy.log.host_bytes.lock().expect("log lock");
    bytes.windows(wire.len()).filter(|w| *w == wire).count()
}

/// The emulated SimpleFOC sketch, and the app streaming from it with its
/// console open.
fn simplefoc_console() -> (PtyServer<SimpleFocFirmware>, Harness<'static, App>) {
    let server =
        PtyServer::start(SimpleFocFirmware::new(DriveConfig::default())).expect("pty available");
    let mut harness = app_speaking(
        server.path(),
        Protocol::SimpleFoc,
        AdapterSettings::default(),
    );
    open_console(&mut harness);
    (server, harness)
}

/// How many times the sketch read `line` with its line end.
fn times_read(server: &PtyServer<SimpleFocFirmware>, line: &str) -> usize {
    let wire = format!("{line}\n");
    server.with_device(|d| {
        d.lines_read
            .iter()
            .filter(|read| read.as_slice() == wire.as_bytes())
            .count()
    })
}

#[test]
fn a_sketch_s_text_appears_with_its_time_and_its_monitoring_lines_do_not() {
    let (_server, mut harness) = simplefoc_console();
    // The library's setup text, before any sample: wall time, no device
    // time.
    let ready = harness
        .state()
        .console()
        .lines()
        .find(|line| line.text == "MOT:Ready.")
        .cloned()
        .expect("setup text in the console");
    assert_eq!(ready.device_time_s, None);
    let shown = label_holding(&harness, "-  MOT:Ready.");
    assert!(shown.starts_with(&ready.wall_clock()), "{shown}");
    assert!(shown.contains(" - "), "no device time yet: {shown}");

    // Monitoring lines are samples, never console lines.
    wait_for_samples(&mut harness, 100);
    for line in device_lines(&harness) {
        let numbers = line
            .split('\t')
            .all(|field| field.trim().parse::<f32>().is_ok());
        assert!(!numbers, "a data line in the console: {line:?}");
    }

    // A reply arrives with the device time of the stream.
    send_line(&mut harness, "MVP");
    wait_for_line(&mut harness, REPLY, "MVP0.500000000000");
    let reply = harness
        .state()
        .console()
        .lines()
        .find(|line| line.text == "MVP0.500000000000")
        .cloned()
        .expect("the reply");
    assert!(reply.device_time_s.is_some_and(|t| t > 0.0), "{reply:?}");
    harness.get_by_label_contains(&format!(
        "{:.3} s  MVP0.500000000000",
        reply.device_time_s.unwrap_or_default()
    ));

    // Asked for, the samples show as data lines; unasked, they go.
    harness.get_by_label("Show data lines").click_accesskit();
    harness.step();
    step_until(&mut harness, "data lines", |h| {
        h.state()
            .console()
            .lines()
            .any(|l| l.source == LineSource::Data)
    });
    harness.run_steps(2);
    let data = harness
        .query_all_by_label_contains("  angle:")
        .next()
        .and_then(|node| node.value())
        .expect("a data line shown");
    assert!(data.contains("target:"), "{data}");
    harness.get_by_label("Show data lines").click_accesskit();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("  angle:").is_none());
}

#[test]
fn a_typed_line_reaches_the_sketch_once_and_its_reply_leaves_values_and_stream_alone() {
    let (server, mut harness) = simplefoc_console();
    let session = |h: &Harness<'static, App>| {
        let s = h.state().session().expect("a session");
        let vel_p = s
            .params
            .iter()
            .find(|p| p.info.name == "vel.P")
            .map(|p| p.info.value);
        let health = s.health().map(|(snapshot, _, _)| snapshot);
        (vel_p, s.history.as_ref().map_or(0, |h| h.len()), health)
    };
    let (vel_p, samples_before, health_before) = session(&harness);
    assert_eq!(vel_p, Some(0.5));
    let read_before = times_read(&server, "MVP");

    send_line(&mut harness, "MVP");
    wait_for_line(&mut harness, LineSource::Sent, "MVP");
    harness.get_by_label_contains("> MVP");
    wait_for_line(&mut harness, REPLY, "MVP0.500000000000");
    // (The status bar shows the device's last text too.)
    harness.get_by_label_contains("s  MVP0.500000000000");
    common::run_for(&mut harness, 0.3);

    assert_eq!(
        times_read(&server, "MVP") - read_before,
        1,
        "once, with \\n"
    );
    let (vel_p, samples_after, health_after) = session(&harness);
    assert_eq!(vel_p, Some(0.5), "the adapter's value untouched");
    assert!(samples_after > samples_before, "the stream goes on");
    let errors = |h: Option<motiontune::link::HealthSnapshot>| {
        h.map(|h| h.message_errors + h.framing_errors)
    };
    assert_eq!(errors(health_after), errors(health_before));
    assert!(
        harness
            .state()
            .session()
            .is_some_and(|s| s.writes.is_empty()),
        "no write"
    );

    // Up gives the line back; the event log has it.
    harness.key_press(egui::Key::ArrowUp);
    harness.run_steps(2);
    assert_eq!(
        harness
            .get_by_role_and_label(Role::TextInput, "Command line")
            .value()
            .as_deref(),
        Some("MVP")
    );
    harness.get_by_label("Event log").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains("typed line sent: MVP");
}

#[test]
fn the_filter_narrows_the_lines_and_save_console_writes_them() {
    let (_server, mut harness) = simplefoc_console();
    send_line(&mut harness, "MVI");
    wait_for_line(&mut harness, LineSource::Sent, "MVI");
    harness.get_by_label_contains("MOT:Ready.");

    type_into_text_field(&mut harness, "Filter", "> mv");
    harness.run_steps(2);
    harness.get_by_label_contains("> MVI");
    assert!(
        harness.query_by_label_contains("MOT:Ready.").is_none(),
        "filtered out"
    );
    harness.get_by_label_contains("1 match the filter");
    type_into_text_field(&mut harness, "Filter", "");
    harness.key_press(egui::Key::Backspace);
    harness.run_steps(2);
    harness.get_by_label_contains("-  MOT:Ready.");

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("console.csv");
    type_into_text_field(&mut harness, "Console file", &path.display().to_string());
    harness.get_by_label("Save console").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label_contains("Saved ");
    let text = std::fs::read_to_string(&path).expect("the console saved");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "wall_time,device_time_s,source,text,note");
    assert!(
        lines.iter().any(|l| l.ends_with(",device,MOT:Ready.,")),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.ends_with(",sent,MVI,")), "{text}");

    let missing = dir.path().join("no such folder").join("console.csv");
    type_into_text_field(&mut harness, "Console file", &missing.display().to_string());
    harness.get_by_label("Save console").click_accesskit();
    harness.run_steps(2);
    let error = label_holding(&harness, "cannot write the console to ");
    assert_eq!(error.lines().count(), 1, "{error}");
}

#[test]
fn the_odrive_answers_a_typed_read_in_the_console_while_polling_goes_on() {
    let server = PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty available");
    let proxy = Proxy::start_framed(server.path(), Framing::Lines);
    let mut harness = app_speaking(&proxy.path, Protocol::Odrive, AdapterSettings::default());
    proxy.keep_host_bytes();
    open_console(&mut harness);
    let samples = |h: &Harness<'static, App>| {
        h.state()
            .session()
            .and_then(|s| s.history.as_ref())
            .map_or(0, |h| h.len())
    };
    let errors = |h: &Harness<'static, App>| {
        h.state()
            .session()
            .and_then(|s| s.health())
            .map(|(snapshot, _, _)| snapshot.message_errors)
    };
    let (before, errors_before) = (samples(&harness), errors(&harness));

    let line = "r axis0.controller.config.pos_gain";
    send_line(&mut harness, line);
    wait_for_line(&mut harness, LineSource::Sent, line);
    wait_for_line(&mut harness, REPLY, "20.000000");
    harness.get_by_label_contains("s  20.000000");
    common::run_for(&mut harness, 0.5);

    // Once, with the adapter's checksum and the line end.
    let sent: Vec<String> = proxy
        .host_lines()
        .into_iter()
        .filter(|l| l.starts_with(line))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0][line.len()..].starts_with('*'), "{sent:?}");
    assert_eq!(times_in(&proxy, format!("{}\n", sent[0]).as_bytes()), 1);
    assert!(samples(&harness) > before + 20, "polling went on");
    assert_eq!(errors(&harness), errors_before, "no reply misread");
    let gain = harness
        .state()
        .session()
        .and_then(|s| s.params.first())
        .map(|p| p.info.value);
    assert_eq!(gain, Some(20.0));
}

#[test]
fn the_native_drive_says_not_supported_in_one_line_and_is_sent_nothing() {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available");
    let proxy = Proxy::start(server.path());
    let mut harness = app_speaking(&proxy.path, Protocol::Native, AdapterSettings::default());
    proxy.keep_host_bytes();
    open_console(&mut harness);

    send_line(&mut harness, "hello drive");
    step_until(&mut harness, "the refusal", |h| {
        h.state()
            .console()
            .lines()
            .any(|line| matches!(line.source, LineSource::NotSent(_)))
    });
    harness.run_steps(2);
    let refusal = label_holding(&harness, "> hello drive");
    assert!(refusal.contains("not supported"), "{refusal}");
    assert_eq!(refusal.lines().count(), 1);
    common::run_for(&mut harness, 0.3);
    assert_eq!(times_in(&proxy, b"hello"), 0, "nothing sent");
    assert!(
        !harness
            .state()
            .event_log()
            .entries()
            .any(|e| e.event.kind() == "typed line"),
        "nothing sent, nothing logged"
    );

    // With no device at all, the line is not sent either, and says why.
    harness.get_by_label("Disconnect").click_accesskit();
    harness.run_steps(2);
    send_line(&mut harness, "anyone there");
    harness.run_steps(2);
    let alone = label_holding(&harness, "> anyone there");
    assert!(
        alone.ends_with("(not sent: no device is connected)"),
        "{alone}"
    );
}

#[test]
fn a_plain_text_sketch_takes_a_typed_line_once_as_a_command() {
    let server = PtyServer::start(LinesSketch::new(
        DriveConfig::default(),
        LinesSketchSettings::default(),
    ))
    .expect("pty available");
    let proxy = Proxy::start_framed(server.path(), Framing::Lines);
    let mut harness = app_speaking(&proxy.path, Protocol::Lines, AdapterSettings::default());
    proxy.keep_host_bytes();
    open_console(&mut harness);
    let commands_before = server.with_device(|d| d.commands);

    send_line(&mut harness, "kp 3");
    wait_for_line(&mut harness, LineSource::Sent, "kp 3");
    step_until(&mut harness, "the sketch to take kp 3", |_| {
        server.with_device(|d| d.commands) > commands_before
    });
    common::run_for(&mut harness, 0.3);
    assert_eq!(times_in(&proxy, b"kp 3\n"), 1);
    assert_eq!(server.with_device(|d| d.commands), commands_before + 1);
}

#[test]
fn no_line_is_sent_while_a_step_test_runs() {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available");
    let mut harness = app_speaking(server.path(), Protocol::Native, AdapterSettings::default());
    harness.get_by_label("Enable output").click_accesskit();
    harness.step();
    step_until(&mut harness, "the output on", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    // Held long enough that it is still running whatever the machine's load.
    harness.get_by_label("Hold").set_value_accesskit(30.0);
    harness.step();
    harness.get_by_label("Run step test").click_accesskit();
    harness.step();
    open_console(&mut harness);
    assert!(
        harness
            .state()
            .session()
            .is_some_and(|s| s.procedure_running())
    );
    send_line(&mut harness, "MVP");
    let refusal = label_holding(&harness, "> MVP");
    assert!(refusal.contains("a step test"), "{refusal}");
}
