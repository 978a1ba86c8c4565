//! Ctrl-C (SIGINT) at random moments of every command that moves the
//! drive, on every firmware that runs it: `step` (native, SimpleFOC,
//! ODrive, a plain-text sketch with a setpoint command), `bode` (native,
//! SimpleFOC, ODrive) and `autotune --write` (step method, in the
//! identification, between it and the verification, and in the
//! verification; relay method: the native drive, the only one with
//! kp, ki and kd to tune until cascaded loops are tuned). Each
//! time the command must exit within 2 s of the signal with status 130 and
//! one line on stderr, and the drive must have its setpoint back where it
//! was and its output off; `step`'s and `bode`'s line says what was put
//! back, in the words every procedure's run shares.
//!
//! The GUI, sent SIGINT in its terminal, closes its window the normal way:
//! its link closes as a dropped session's does.
//!
//! The moments come from a seeded generator: the seed is printed, and
//! `MOTIONTUNE_SEED=N cargo test --test interrupt_cli` repeats a run.
#![cfg(unix)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use motiontune::sim::EmulatedDevice;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::{DriveConfig, RELAY_ACTIVE_INDEX};
use motiontune::sim::firmware::lines::{LinesSketch, LinesSketchSettings};
use motiontune::sim::firmware::odrive::{OdriveSim, STATE_CLOSED_LOOP};
use motiontune::sim::firmware::simplefoc::{SimpleFocFirmware, SketchSettings};
use motiontune::sim::pty::PtyServer;

/// The exit promised after a signal.
const EXIT_WITHIN: Duration = Duration::from_secs(2);

/// xorshift64*: small, and the same moments on every machine for a seed.
struct Moments(u64);

impl Moments {
    fn new(test: &str) -> Self {
        let seed = std::env::var("MOTIONTUNE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5afe_0015_u64);
        eprintln!("{test}: seed {seed} (MOTIONTUNE_SEED repeats it)");
        // Each test its own sequence from the one seed.
        let salt = test
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
        Self((seed ^ salt) | 1)
    }

    /// A delay drawn evenly from `from_s` to `to_s` seconds.
    fn between(&mut self, from_s: f64, to_s: f64) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let unit = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_secs_f64(from_s + unit * (to_s - from_s))
    }
}

/// What the checks read from a device: its setpoint and whether its
/// output is on.
type Probe<D> = fn(&mut D) -> (f64, bool);

/// When the signal goes: a delay after the command first wrote to the
/// device, or after `ready` first holds and then the delay.
struct Moment<'a, D> {
    ready: Option<&'a dyn Fn(&mut D) -> bool>,
    delay: Duration,
}

/// Runs `motiontune ARGS…` against `server`, sends SIGINT at `moment`, and
/// checks how it ended; returns the time from signal to exit and the line
/// on stderr.
fn interrupt<D: EmulatedDevice>(
    server: &PtyServer<D>,
    args: &[&str],
    moment: Moment<'_, D>,
    probe: Probe<D>,
) -> (Duration, String) {
    common::settled(server);
    let (setpoint, _) = server.with_device(probe);
    let written = server.bytes_from_host();
    let mut child = Command::new(common::BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start motiontune");
    // The handler is in place once the command writes to the device.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.bytes_from_host() == written {
        assert!(
            Instant::now() < deadline,
            "{args:?} never wrote to the device"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    if let Some(ready) = moment.ready {
        while !server.with_device(ready) {
            assert!(Instant::now() < deadline, "{args:?} never got ready");
            if child.try_wait().expect("wait").is_some() {
                let mut said = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
                }
                panic!("{args:?} ended early: {said}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    std::thread::sleep(moment.delay);
    assert!(
        child.try_wait().expect("wait").is_none(),
        "{args:?} ended before the signal at {:?}: the moment is too late",
        moment.delay
    );
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("{args:?} did not end 15 s after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let exited = signalled.elapsed();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    eprintln!(
        "{} at {:?}: exit {:?} {} ms after SIGINT: {}",
        args[0],
        moment.delay,
        status.code(),
        exited.as_millis(),
        stderr.trim_end()
    );
    assert_eq!(status.code(), Some(130), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(exited <= EXIT_WITHIN, "{args:?} took {exited:?} to exit");
    common::settled(server);
    let (after, on) = server.with_device(probe);
    assert!(
        (after - setpoint).abs() < 1e-6,
        "{args:?}: setpoint {after}, was {setpoint}"
    );
    assert!(!on, "{args:?}: output left on");
    (exited, stderr)
}

/// The one line of a `step` or `bode` ended by the signal says what the
/// command put back, in the words every procedure's run shares
/// (`cli/procedure.rs`), or that it had not switched the output on yet.
fn says_what_it_put_back(args: &[&str], stderr: &str) {
    let line = stderr.trim_end();
    let before = [
        "error: interrupted while connecting to ",
        "error: interrupted while watching the stream: the output was never switched on",
        "error: interrupted before the test: the output was never switched on",
        "error: interrupted: setpoint untouched, output off",
    ];
    // What a run of the host's writes or of the device's own excitation
    // put back.
    let put_back = line
        .strip_prefix("error: interrupted: ")
        .and_then(|rest| rest.strip_suffix(", output off"))
        .is_some_and(|words| {
            words.starts_with("setpoint restored to ")
                || words == "excitation stopped and its settings restored"
                || words == "its settings restored"
        });
    assert!(
        put_back || before.iter().any(|said| line.starts_with(said)),
        "{args:?}: {line}"
    );
}

fn after_first_write<D>(delay: Duration) -> Moment<'static, D> {
    Moment { ready: None, delay }
}

fn native() -> PtyServer<SimDevice> {
    PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty available")
}

fn native_probe(d: &mut SimDevice) -> (f64, bool) {
    (d.drive.config.setpoint, d.enabled())
}

/// `step` with `port_args` (after `--port PATH`), interrupted at `count`
/// moments: connect, 0.5 s settle, 0.1 s before the step, 1 s up, 1 s back.
fn steps_interrupted<D: EmulatedDevice>(
    test: &str,
    server: &PtyServer<D>,
    port_args: &[&str],
    amplitude: &str,
    count: usize,
    probe: Probe<D>,
) {
    let mut moments = Moments::new(test);
    let mut args = vec!["step", "--port", server.path()];
    args.extend_from_slice(port_args);
    args.extend(["--amplitude", amplitude, "--hold", "1"]);
    for _ in 0..count {
        let moment = after_first_write(moments.between(0.0, 2.3));
        let (_, said) = interrupt(server, &args, moment, probe);
        says_what_it_put_back(&args, &said);
    }
}

#[test]
fn step_on_the_native_drive() {
    let server = native();
    let protocol = ["--protocol", "native"];
    steps_interrupted("step_native", &server, &protocol, "0.5", 3, native_probe);
}

#[test]
fn bode_on_the_native_drive() {
    let mut moments = Moments::new("bode_on_the_native_drive");
    let server = native();
    let path = server.path().to_owned();
    // 0.3 s watching the stream, 0.2 s settle, 2 s of excitation.
    for _ in 0..3 {
        let args = [
            "bode",
            "--port",
            &path,
            "--protocol",
            "native",
            "--duration",
            "2",
            "--settle",
            "0.2",
            "--to",
            "40",
        ];
        let (_, said) = interrupt(
            &server,
            &args,
            after_first_write(moments.between(0.0, 2.3)),
            native_probe,
        );
        says_what_it_put_back(&args, &said);
    }
}

/// `autotune --method step --write`, interrupted in the identification,
/// between it and the verification, and in the verification step (after
/// the second ENABLE 1), each on a fresh drive.
#[test]
fn autotune_step_write_on_the_native_drive() {
    let mut moments = Moments::new("autotune_step_write_on_the_native_drive");
    let identifying: Moment<'_, SimDevice> = after_first_write(moments.between(0.0, 1.4));
    let between = moments.between(0.0, 0.03);
    let verifying = moments.between(0.0, 1.0);
    // Output changes seen so far: (switched on, switched off).
    let seen = std::cell::Cell::new((0usize, 0usize));
    let count_changes = |d: &mut SimDevice| {
        let (ons, offs) = seen.get();
        let changes = d.take_output_changes();
        let ons = ons + changes.iter().filter(|c| c.enabled).count();
        let offs = offs + changes.iter().filter(|c| !c.enabled).count();
        seen.set((ons, offs));
        (ons, offs)
    };
    let after_identification = |d: &mut SimDevice| count_changes(d).1 >= 1;
    let in_verification = |d: &mut SimDevice| count_changes(d).0 >= 2;
    let moments: [Moment<'_, SimDevice>; 3] = [
        identifying,
        Moment {
            ready: Some(&after_identification),
            delay: between,
        },
        Moment {
            ready: Some(&in_verification),
            delay: verifying,
        },
    ];
    let tune = |path: &str, write: bool| {
        let mut args = vec!["autotune".to_owned(), "--port".to_owned(), path.to_owned()];
        args.extend(
            [
                "--protocol",
                "native",
                "--method",
                "step",
                "--rule",
                "simc",
                "--tau",
                "0.01",
                "--amplitude",
                "0.1",
                "--hold",
                "0.5",
                "--json",
            ]
            .map(String::from),
        );
        if write {
            // A re-identification under load may propose a jump the guard
            // holds back; the guard has its own tests (cli_safety.rs), and
            // this one is about the interrupt at every stage.
            args.push("--write".to_owned());
            args.push("--allow-large-change".to_owned());
        }
        args
    };
    // The gains a first tuning left: the proposal then stays within the
    // write guard's limits and is written, as it would be on a re-tune.
    let proposed = {
        let server = native();
        let args = tune(server.path(), false);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = common::motiontune(&args);
        assert!(output.status.success(), "{}", common::stderr(&output));
        let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        ["pos.kp", "pos.ki", "pos.kd"].map(|name| {
            let value = document["proposed"][name].as_f64().expect("proposed");
            format!("{name}={value}")
        })
    };
    for moment in moments {
        let server = native();
        let mut set = vec!["params", "--port", server.path(), "--protocol", "native"];
        set.extend(proposed.iter().map(String::as_str));
        let output = common::motiontune(&set);
        assert!(output.status.success(), "{}", common::stderr(&output));
        server.with_device(|d| d.take_output_changes());
        seen.set((0, 0));
        let args = tune(server.path(), true);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        interrupt(&server, &args, moment, native_probe);
    }
}

#[test]
fn autotune_relay_write_on_the_native_drive() {
    let mut moments = Moments::new("autotune_relay_write_on_the_native_drive");
    let server = native();
    let path = server.path().to_owned();
    let args = [
        "autotune",
        "--port",
        &path,
        "--protocol",
        "native",
        "--method",
        "relay",
        "--rule",
        "zn-pi",
        "--relay-amplitude",
        "1",
        "--time-limit",
        "3",
        "--write",
    ];
    interrupt(
        &server,
        &args,
        // Connect, 0.5 s settle, then the relay finds its cycles within
        // about half a second on this drive.
        after_first_write(moments.between(0.0, 0.6)),
        native_probe,
    );
    assert_eq!(
        server.with_device(|d| d.drive.param(RELAY_ACTIVE_INDEX)),
        Some(0.0),
        "relay mode left on"
    );
}

#[test]
fn step_on_the_simplefoc_sketch() {
    // The sketch enabled its motor in setup(); the test is about the
    // output the step switched on, so start from off.
    let sketch = SimpleFocFirmware::with_settings(
        DriveConfig::default(),
        SketchSettings {
            enabled: false,
            ..SketchSettings::default()
        },
    );
    let server = PtyServer::start(sketch).expect("pty available");
    let protocol = ["--protocol", "simplefoc"];
    steps_interrupted("step_simplefoc", &server, &protocol, "0.5", 2, |d| {
        (f64::from(d.motor.target), d.enabled())
    });
}

#[test]
fn step_on_the_odrive() {
    let server = PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty available");
    let protocol = ["--protocol", "odrive"];
    steps_interrupted("step_odrive", &server, &protocol, "0.25", 2, |d| {
        let axis = &d.axes[0];
        let closed_loop = axis.current_state == STATE_CLOSED_LOOP;
        (f64::from(axis.input_pos), closed_loop)
    });
}

/// `bode` with `port_args`, interrupted at `count` moments: watching the
/// stream, the settle, the excitation.
fn bode_interrupted<D: EmulatedDevice>(
    test: &str,
    server: &PtyServer<D>,
    port_args: &[&str],
    count: usize,
    probe: Probe<D>,
) {
    let mut moments = Moments::new(test);
    let mut args = vec!["bode", "--port", server.path()];
    args.extend_from_slice(port_args);
    args.extend(["--duration", "2", "--settle", "0.2", "--to", "5"]);
    for _ in 0..count {
        let moment = after_first_write(moments.between(0.0, 2.3));
        let (_, said) = interrupt(server, &args, moment, probe);
        says_what_it_put_back(&args, &said);
    }
}

#[test]
fn bode_on_the_simplefoc_sketch() {
    let sketch = SimpleFocFirmware::with_settings(
        DriveConfig::default(),
        SketchSettings {
            enabled: false,
            ..SketchSettings::default()
        },
    );
    let server = PtyServer::start(sketch).expect("pty available");
    let protocol = ["--protocol", "simplefoc"];
    bode_interrupted("bode_simplefoc", &server, &protocol, 2, |d| {
        (f64::from(d.motor.target), d.enabled())
    });
}

#[test]
fn bode_on_the_odrive() {
    let server = PtyServer::start(OdriveSim::new(DriveConfig::default())).expect("pty available");
    let protocol = ["--protocol", "odrive"];
    bode_interrupted("bode_odrive", &server, &protocol, 2, |d| {
        let axis = &d.axes[0];
        let closed_loop = axis.current_state == STATE_CLOSED_LOOP;
        (f64::from(axis.input_pos), closed_loop)
    });
}

#[test]
fn step_on_a_plain_text_sketch_with_a_setpoint_command() {
    let server = PtyServer::start(LinesSketch::new(
        DriveConfig::default(),
        LinesSketchSettings {
            time_column: true,
            enabled_at_start: false,
            ..LinesSketchSettings::default()
        },
    ))
    .expect("pty available");
    let declared = [
        "--protocol",
        "lines",
        "--lines-time-column",
        "1:us",
        "--lines-roles",
        "ref=setpoint,fb=position,effort=effort",
        "--lines-param",
        "kp:0:1000:A/rad:gain=kp {value}",
        "--lines-param",
        "sp:-100:100:rad:setpoint=sp {value}",
        "--lines-enable",
        "enable",
        "--lines-disable",
        "disable",
    ];
    steps_interrupted("step_lines", &server, &declared, "0.5", 2, |d| {
        (d.drive.config.setpoint, d.drive.enabled())
    });
}

/// Linux only: the window opens on Xvfb.
#[cfg(target_os = "linux")]
#[test]
fn the_gui_closes_its_window_on_ctrl_c() {
    let server = native();
    let display = common::VirtualDisplay::start();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut gui = display.run_app(
        &["--port", server.path(), "--protocol", "native"],
        &logs.path().join("gui.log"),
    );
    // A debug build starting a window on a busy machine can be slow.
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.with_device(|d| d.stream_divider()) == 0 {
        assert!(
            Instant::now() < deadline,
            "the GUI never streamed: {}",
            gui.stderr()
        );
        gui.assert_running();
        std::thread::sleep(Duration::from_millis(20));
    }
    gui.interrupt();
    let status = gui
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("the GUI still runs 10 s after SIGINT: {}", gui.stderr()));
    assert!(status.success(), "{status}: {}", gui.stderr());
    common::settled(&server);
    // Only a link closed by a dropped session stops the stream it started;
    // a process ended by the signal leaves it running.
    assert_eq!(server.with_device(|d| d.stream_divider()), 0);
}

/// `record` stopped by SIGINT keeps every sample that reached it: the file
/// holds as many rows as the message says, one tick apart, up to the end.
#[test]
fn record_keeps_every_sample_up_to_ctrl_c() {
    let mut moments = Moments::new("record_keeps_every_sample_up_to_ctrl_c");
    let server = native();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("interrupted.csv");
    let out_text = out.to_str().expect("utf-8 path");
    let args = [
        "record",
        "--port",
        server.path(),
        "--protocol",
        "native",
        "--seconds",
        "30",
        "--out",
        out_text,
    ];
    let (_, said) = interrupt(
        &server,
        &args,
        after_first_write(moments.between(0.3, 1.5)),
        native_probe,
    );
    let (header, rows) = common::read_recording(&out);
    assert!(
        said.contains(&format!("recorded {} samples", rows.len())),
        "{said} but the file has {} rows",
        rows.len()
    );
    assert_eq!(header[0], "time_s");
    assert!(rows.len() > 1000, "{} rows", rows.len());
    let period = 1.0 / 10_000.0;
    for pair in rows.windows(2) {
        let step = pair[1][0] - pair[0][0];
        assert!(
            (step - period).abs() < period * 1e-3,
            "a gap in the recording: {} -> {}",
            pair[0][0],
            pair[1][0]
        );
    }
}
