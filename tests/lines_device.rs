//! The plain-text-lines adapter against the emulated Arduino sketch behind
//! a real pseudo-terminal: describe, stream, write a gain, enable and
//! disable, survive garbage, and the CLI (params, record, step) and the
//! GUI on it.
#![cfg(unix)]

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{motiontune, read_recording, step_until, wait_connected, wait_for};
use motiontune::app::AppOptions;
use motiontune::link::{Link, LinkOptions, PortTarget};
use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use motiontune::protocol::lines::{CommandTemplate, LinesSettings};
use motiontune::protocol::{ChannelRole, Command, DeviceInfo, Event};
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::lines::{LinesSketch, LinesSketchSettings};
use motiontune::sim::pty::PtyServer;

/// The arguments a user gives for the emulated sketch.
const PARAMS: [&str; 4] = [
    "kp:0:1000:A/rad:gain+log=kp {value}",
    "ki:0:10000:A/(rad·s):gain+log=ki {value}",
    "kd:0:50:A·s/rad:gain+log=kd {value}",
    "sp:-100:100:rad:setpoint=sp {value}",
];
const ROLES: &str = "ref=setpoint,fb=position,effort=effort";

fn serve() -> PtyServer<LinesSketch> {
    PtyServer::start(LinesSketch::new(
        DriveConfig::default(),
        LinesSketchSettings::default(),
    ))
    .expect("pty available")
}

fn settings() -> AdapterSettings {
    #[allow(clippy::needless_update)] // other protocols' settings sit beside
    AdapterSettings {
        lines: Box::new(LinesSettings {
            roles: ROLES.parse().expect("roles"),
            params: PARAMS.iter().map(|p| p.parse().expect("param")).collect(),
            enable: Some(CommandTemplate::fixed("enable").expect("template")),
            disable: Some(CommandTemplate::fixed("disable").expect("template")),
            ..LinesSettings::default()
        }),
        ..AdapterSettings::default()
    }
}

fn target(path: &str) -> PortTarget {
    PortTarget::parse(path, 115_200).speaking(ProtocolChoice::Only(Protocol::Lines), settings())
}

fn connect(path: &str) -> (Link, DeviceInfo) {
    let link = Link::open(LinkOptions::new(target(path)));
    let info = wait_for(&link, 6, |event| match event {
        Event::Described(info) => Some(info),
        _ => None,
    });
    (link, info)
}

/// The samples that arrive within `seconds` of wall time.
fn collect(link: &Link, seconds: f64) -> Vec<Vec<f32>> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut rows = vec![];
    while Instant::now() < deadline {
        if let Ok(motiontune::link::LinkEvent::Device(Event::Samples { batch, .. })) =
            link.events().recv_timeout(Duration::from_millis(20))
        {
            rows.extend((0..batch.len()).map(|k| batch.sample(k).to_vec()));
        }
    }
    rows
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn describes_and_streams_and_follows_the_setpoint() {
    let server = serve();
    let (link, info) = connect(server.path());
    assert_eq!(info.name, "serial-plotter sketch");
    let channels: Vec<_> = info
        .channels
        .iter()
        .map(|c| (c.name.as_str(), c.role))
        .collect();
    assert_eq!(
        channels,
        [
            ("setpoint", ChannelRole::Reference),
            ("position", ChannelRole::Feedback),
            ("effort", ChannelRole::Effort)
        ]
    );
    let names: Vec<_> = info.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["kp", "ki", "kd", "sp"]);
    assert!(
        (300..=800).contains(&info.loop_hz),
        "{} lines/s",
        info.loop_hz
    );
    // The sketch prints 500 lines a second; the pty delivers them all.
    let rows = collect(&link, 1.0);
    assert!(
        (350..=650).contains(&rows.len()),
        "{} samples in 1 s",
        rows.len()
    );

    link.send(Command::Set {
        index: 3,
        value: 1.0,
    });
    let after = collect(&link, 1.5);
    let last = after.last().expect("samples after the step");
    assert_eq!(last[0], 1.0, "setpoint channel");
    assert!(
        (last[1] - 1.0).abs() < 0.1,
        "position settles near 1: {last:?}"
    );
    assert!(after.iter().any(|r| r[2].abs() > 0.1), "the effort moved");
}

#[test]
fn a_written_gain_reaches_the_sketch_and_reads_back_as_sent() {
    let server = serve();
    let (link, _) = connect(server.path());
    link.send(Command::Set {
        index: 0,
        value: 12.5,
    });
    let answer = wait_for(&link, 2, |event| match event {
        Event::Value { index: 0, value } => Some(value),
        _ => None,
    });
    assert_eq!(answer, 12.5);
    wait_until("kp in the sketch", || {
        server.with_device(|d| d.drive.config.gains.kp) == 12.5
    });
    link.send(Command::Get { index: 0 });
    let read = wait_for(&link, 2, |event| match event {
        Event::Value { index: 0, value } => Some(value),
        _ => None,
    });
    assert_eq!(read, 12.5);
    // Past the declared limit: clamped before it is sent.
    link.send(Command::Set {
        index: 2,
        value: 80.0,
    });
    wait_until("kd clamped in the sketch", || {
        server.with_device(|d| d.drive.config.gains.kd) == 50.0
    });
}

#[test]
fn enable_and_disable_switch_the_sketch_and_report_status() {
    let server = serve();
    let (link, _) = connect(server.path());
    for on in [false, true, false] {
        link.send(Command::Enable(on));
        let enabled = wait_for(&link, 2, |event| match event {
            Event::Status { flags, .. } => Some(flags.enabled()),
            _ => None,
        });
        assert_eq!(enabled, on);
        wait_until("the sketch's output", || {
            server.with_device(|d| d.drive.enabled()) == on
        });
    }
}

/// Noise is counted and skipped; a bad value is a gap in its channel only,
/// and a line of another shape a gap in every channel, in its time slot.
#[test]
fn garbage_in_the_stream_is_counted_and_the_plot_continues() {
    let server = serve();
    let (link, info) = connect(server.path());
    let _ = collect(&link, 0.2);
    let errors_before = link.health().framing_errors.load(Ordering::Relaxed);
    server.with_device(|d| {
        d.print_raw(b"setpoint:1,position:oops,effort:2\r\n");
        d.print_raw(b"\xff\xfe\x00garbage\x01\r\n");
        d.print_raw(b"1 2\r\n");
        d.print_raw(b"setpoint:nan,position:1,effort:2\r\n");
    });
    let rows = collect(&link, 0.5);
    let errors = link.health().framing_errors.load(Ordering::Relaxed) - errors_before;
    assert_eq!(errors, 2, "the binary line and the line of two fields");
    assert!(rows.len() > 100, "{} samples after the garbage", rows.len());
    assert!(rows.iter().all(|r| r.len() == info.channels.len()));
    let shown = |r: &Vec<f32>| {
        r.iter()
            .map(|v| (!v.is_nan()).then_some(*v))
            .collect::<Vec<_>>()
    };
    let odd: Vec<Vec<Option<f32>>> = rows
        .iter()
        .map(shown)
        .filter(|r| r[0] != Some(0.0))
        .collect();
    assert_eq!(
        odd,
        [
            vec![Some(1.0), None, Some(2.0)],
            vec![None, None, None],
            vec![None, Some(1.0), Some(2.0)]
        ]
    );
    assert!(rows.iter().flatten().all(|v| !v.is_infinite()));
}

fn lines_args(path: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        path,
        "--protocol",
        "lines",
        "--lines-roles",
        ROLES,
    ]
    .map(String::from)
    .into();
    for param in PARAMS {
        args.extend(["--lines-param".into(), param.into()]);
    }
    args.extend(["--lines-enable", "enable", "--lines-disable", "disable"].map(String::from));
    args
}

fn run(command: &[&str], path: &str) -> std::process::Output {
    let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    args.extend(lines_args(path));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    motiontune(&args)
}

#[test]
fn cli_params_writes_and_prints_the_declared_parameters() {
    let server = serve();
    let output = run(&["params", "kp=7.5"], server.path());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let kp = text.lines().find(|l| l.starts_with("kp ")).expect("kp row");
    assert!(kp.contains("7.5") && kp.contains("A/rad"), "{kp}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("sp ") && l.contains("rad")),
        "{text}"
    );
    assert_eq!(server.with_device(|d| d.drive.config.gains.kp), 7.5);
}

#[test]
fn cli_record_writes_rows_of_the_sketch() {
    let server = serve();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("lines.csv");
    let out_text = out.to_str().expect("utf-8 path");
    let output = run(
        &["record", "--seconds", "0.5", "--out", out_text],
        server.path(),
    );
    assert!(output.status.success(), "{}", common::stderr(&output));
    let (header, rows) = read_recording(&out);
    assert_eq!(header.len(), 4, "{header:?}");
    assert!(header[1].contains("setpoint"), "{header:?}");
    assert!(rows.len() > 150, "{} rows in 0.5 s", rows.len());
}

/// The step test runs on device time: the sketch prints `micros()` first
/// (`time:…`), 2000 µs apart.
#[test]
fn cli_step_runs_a_step_test_on_the_sketch() {
    let server = PtyServer::start(LinesSketch::new(
        DriveConfig::default(),
        LinesSketchSettings {
            time_column: true,
            ..LinesSketchSettings::default()
        },
    ))
    .expect("pty available");
    let output = run(
        &[
            "step",
            "--amplitude",
            "0.5",
            "--hold",
            "1",
            "--json",
            "--lines-time-column",
            "1:us",
        ],
        server.path(),
    );
    assert!(output.status.success(), "{}", common::stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let text = json.to_string();
    assert!(text.contains("overshoot"), "{text}");
    assert!(
        !server.with_device(|d| d.drive.enabled()),
        "output off afterwards"
    );
}

#[test]
fn the_app_plots_the_sketch_and_writes_a_gain_from_the_gains_panel() {
    let server = serve();
    let mut harness = common::app_with(AppOptions {
        target: target(server.path()),
        stream_divider: 1,
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    common::wait_for_samples(&mut harness, 50);
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;
    // Timed by the host: the status bar says how far to trust the times.
    step_until(&mut harness, "host timing in the status bar", |h| {
        h.query_by_label_contains("timed by the host ±").is_some()
    });
    // The channels plot and the gains panel shows the declared gains.
    for name in ["kp", "ki", "kd"] {
        let _ = harness.get_by_role_and_label(Role::Slider, name);
    }
    harness
        .get_by_role_and_label(Role::Slider, "kp")
        .set_value_accesskit(30.0);
    harness.step();
    step_until(&mut harness, "the gain written to the sketch", |_| {
        server.with_device(|d| d.drive.config.gains.kp) == 30.0
    });
}
